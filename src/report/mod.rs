//! Reports: one module per output format of `portolan check`.
//!
//! Every format reads the same [`Report`]: the findings, the [`SourceMap`] that owns the text of
//! every file, how many files were checked and the list of rules ([`RuleMeta`]). Each writes to a
//! `&mut dyn Write`; the library never prints, `main.rs` chooses where the text goes.
//!
//! - [`human`]: rustc-style code frames (annotate-snippets) and a summary line.
//! - [`json`]: the stable `--format json` contract of DESIGN.md.
//! - [`sarif`]: SARIF 2.1.0 for GitHub code scanning.
//! - [`github`]: GitHub Actions workflow commands (`::error file=...::message`).
//!
//! Shared conventions: findings are shown in one deterministic order ([`Report::sorted`]); paths
//! use `/` separators; lines and columns are 1-based, columns count Unicode scalar values, and the
//! end column is exclusive (the column just after the last character, as in SARIF). A span whose
//! file is not in the source map is shown at line 1, column 1 of an empty path rather than panicking.

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use std::io::{self, Write};
use std::path::Path;
use std::str::FromStr;

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::source::{FileId, SourceFile, SourceMap, Span};

/// The rule id reports give findings without a rule (spec and I/O errors, skipped files):
/// `parse-error`, the rule of files that could not be parsed.
pub static PARSE_ERROR: &RuleMeta = &crate::rules::syntax::parse_error::RULE.meta;

/// An output format of `portolan check --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Github,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 4] = [Format::Human, Format::Json, Format::Sarif, Format::Github];

    /// The name users type after `--format`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Github => "github",
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown format `{s}` (expected human, json, sarif or github)"))
    }
}

/// Everything a format needs to write the outcome of one `portolan check`.
#[derive(Clone, Copy, Debug)]
pub struct Report<'a> {
    pub findings: &'a [Diagnostic],
    /// Paths in it are already as reports show them (relative to [`Report::root`] when inside it).
    pub sources: &'a SourceMap,
    /// How many files were checked (shown in summaries).
    pub files_checked: usize,
    /// Every rule portolan knows, for SARIF's `tool.driver.rules`.
    pub rules: &'a [&'a RuleMeta],
    /// Env files read although an ignore file lists them (JSON names them).
    pub read_although_ignored: &'a [std::path::PathBuf],
    /// The absolute folder that relative paths are relative to (the working folder): SARIF's
    /// `%SRCROOT%`. `None` leaves it to the reader of the log.
    pub root: Option<&'a Path>,
}

/// Counts of findings by severity, and of files checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub files: usize,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

/// A resolved span: path with `/` separators, 1-based lines and columns, end column exclusive.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Location {
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

impl<'a> Report<'a> {
    /// Findings ordered by path, line, column, rule, then message (parse errors before rules).
    pub fn sorted(&self) -> Vec<&'a Diagnostic> {
        let mut keyed: Vec<_> = self
            .findings
            .iter()
            .map(|d| (self.location(d.primary.span), d))
            .collect();
        keyed.sort_by(|(la, a), (lb, b)| {
            (la, a.rule, &a.message, a.severity).cmp(&(lb, b.rule, &b.message, b.severity))
        });
        keyed.into_iter().map(|(_, d)| d).collect()
    }

    pub fn summary(&self) -> Summary {
        let count = |s: Severity| self.findings.iter().filter(|d| d.severity == s).count();
        Summary {
            files: self.files_checked,
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
        }
    }

    /// The file a span points into, if the source map has it.
    pub fn file(&self, id: FileId) -> Option<&'a SourceFile> {
        ((id.0 as usize) < self.sources.len()).then(|| self.sources.get(id))
    }

    /// Where a span is, as lines and columns.
    pub fn location(&self, span: Span) -> Location {
        let Some(file) = self.file(span.file) else {
            return Location {
                path: String::new(),
                line: 1,
                column: 1,
                end_line: 1,
                end_column: 1,
            };
        };
        let start = file.line_col(span.start as usize);
        let end = file.line_col(span.end as usize);
        Location {
            path: display_path(&file.path),
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
        }
    }

    /// The rule id reports show for a finding: its rule, or `parse-error` ([`PARSE_ERROR`]).
    pub fn rule_id(d: &Diagnostic) -> &'static str {
        d.rule.unwrap_or(PARSE_ERROR.name)
    }
}

/// A path with `/` between its components, whatever the platform; an absolute path keeps its
/// one leading `/` (`/srv/stack.yaml`, never `//srv/stack.yaml`).
pub fn display_path(path: &Path) -> String {
    use std::path::Component;
    let mut out = String::new();
    for part in path.components() {
        match part {
            Component::Prefix(prefix) => out.push_str(&prefix.as_os_str().to_string_lossy()),
            Component::RootDir => out.push('/'),
            other => {
                if !out.is_empty() && !out.ends_with('/') {
                    out.push('/');
                }
                out.push_str(&other.as_os_str().to_string_lossy());
            }
        }
    }
    out
}

/// The byte range of `span` inside `text`, shrunk to fit the text and to fall on char boundaries.
pub(crate) fn clamp_range(text: &str, span: Span) -> std::ops::Range<usize> {
    let floor = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = floor(span.start as usize);
    start..floor(span.end as usize).max(start)
}

/// Writes `report` in `format`. `color` only affects the human format. Output is buffered here
/// (stdout is line-buffered: a report of 100,000 findings was as many system calls).
pub fn write(
    format: Format,
    report: &Report<'_>,
    color: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    match format {
        Format::Human => human::write(report, color, &mut out),
        Format::Json => json::write(report, &mut out),
        Format::Sarif => sarif::write(report, &mut out),
        Format::Github => github::write(report, &mut out),
    }?;
    out.flush()
}

/// Findings over two in-memory files that every format's snapshot test renders.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, RuleMeta, Severity};
    use crate::source::{SourceMap, Span};

    pub const MAIN_TF: &str = "resource \"coder_app\" \"convex\" {\n  slug = \"convex-api\"\n  url  = \"http://localhost:3212\"\n}\n# café: port 3212, note\n";
    pub const COMPOSE: &str = "services:\n  backend:\n    ports:\n      - \"3212:3210\"\n    environment:\n      KEY==value\n";

    pub static APP_PORT: RuleMeta = RuleMeta {
        name: "app-port-not-served",
        code: "PT201",
        default_severity: Severity::Error,
        summary: "A coder_app points at a port nothing listens on",
        explanation: "## What it does\nChecks that the port in a `coder_app` url reaches a listener.\n\n## Why is this bad?\nCoder answers 502.\n\n## Example\n```hcl\nurl = \"http://localhost:3212\"\n```\n",
    };
    pub static DOUBLE_EQUALS: RuleMeta = RuleMeta {
        name: "env-double-equals",
        code: "PT301",
        default_severity: Severity::Warning,
        summary: "An env assignment has `==`",
        explanation: "## What it does\nFinds `KEY==value`.\n\n## Why is this bad?\nThe value starts with `=`.\n",
    };
    pub static RULES: [&RuleMeta; 2] = [&APP_PORT, &DOUBLE_EQUALS];

    /// A report of `findings` over two checked files with [`RULES`].
    pub fn report<'a>(sources: &'a SourceMap, findings: &'a [Diagnostic]) -> super::Report<'a> {
        super::Report {
            findings,
            sources,
            files_checked: 2,
            rules: &RULES,
            read_although_ignored: &[],
            root: None,
        }
    }

    /// The source map (main.tf is file 0, docker-compose.yml file 1) and four findings, not sorted.
    pub fn findings() -> (SourceMap, Vec<Diagnostic>) {
        let mut sources = SourceMap::new();
        let tf = sources.add("main.tf", MAIN_TF);
        let compose = sources.add("deploy/docker-compose.yml", COMPOSE);
        let at = |file, text: &str, needle: &str| {
            let start = text.find(needle).unwrap_or(0);
            Span::new(file, start, start + needle.len())
        };
        let key = at(compose, COMPOSE, "KEY==value");
        let diagnostics = vec![
            Diagnostic::warning(key, "KEY is set to `=value`: `==` puts an `=` in the value")
                .with_label("the value starts with `=`")
                .with_fix(Fix {
                    title: "Remove the second `=`".into(),
                    applicability: Applicability::Safe,
                    edits: vec![Edit {
                        span: key.sub(3, 5),
                        replacement: "=".into(),
                    }],
                }),
            Diagnostic::error(
                at(tf, MAIN_TF, "http://localhost:3212"),
                "coder_app `convex-api` points at port 3212, but the container listens on 3210",
            )
            .with_label("port 3212 on the agent's localhost")
            .with_related(
                at(compose, COMPOSE, "\"3212:3210\""),
                "publishes 3212 to container port 3210",
            )
            .with_help("point the app at the port the backend serves, or publish 3212 to it"),
            Diagnostic::new(
                Severity::Info,
                at(tf, MAIN_TF, "port 3212"),
                "comment names port 3212, a port with no listener",
            )
            .with_label("after a multi-byte character"),
            Diagnostic::error(
                at(compose, COMPOSE, "KEY==value"),
                "docker-compose.yml: expected a mapping, found a plain scalar",
            ),
        ];
        let mut diagnostics = diagnostics;
        for (d, rule) in diagnostics.iter_mut().zip([
            Some(&DOUBLE_EQUALS),
            Some(&APP_PORT),
            Some(&APP_PORT),
            None,
        ]) {
            d.rule = rule.map(|r| r.name);
            d.code = rule.map(|r| r.code);
        }
        (sources, diagnostics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_orders_by_path_line_column_then_rule() {
        let (sources, findings) = fixture::findings();
        let report = fixture::report(&sources, &findings);
        let order: Vec<_> = report
            .sorted()
            .iter()
            .map(|d| {
                let l = report.location(d.primary.span);
                format!("{}:{}:{} {}", l.path, l.line, l.column, Report::rule_id(d))
            })
            .collect();
        assert_eq!(
            order,
            [
                "deploy/docker-compose.yml:6:7 parse-error",
                "deploy/docker-compose.yml:6:7 env-double-equals",
                "main.tf:3:11 app-port-not-served",
                "main.tf:5:9 app-port-not-served",
            ]
        );
    }

    #[test]
    fn location_counts_characters_and_survives_bad_spans() {
        let (sources, _) = fixture::findings();
        let report = Report {
            findings: &[],
            sources: &sources,
            files_checked: 2,
            rules: &[],
            read_although_ignored: &[],
            root: None,
        };
        // "# café: port 3212": the 'é' is two bytes but one column.
        let start = fixture::MAIN_TF.find("port 3212,").unwrap_or(0);
        let loc = report.location(Span::new(FileId(0), start, start + 9));
        assert_eq!(
            (loc.line, loc.column, loc.end_line, loc.end_column),
            (5, 9, 5, 18)
        );
        let missing = report.location(Span::new(FileId(7), 3, 9));
        assert_eq!(
            (missing.path.as_str(), missing.line, missing.column),
            ("", 1, 1)
        );
        // Inside the 'é' and past the end: clamped, not a panic.
        let e = fixture::MAIN_TF.find('é').unwrap_or(0);
        assert_eq!(
            clamp_range(fixture::MAIN_TF, Span::new(FileId(0), e + 1, 9999)),
            e..fixture::MAIN_TF.len()
        );
    }

    #[test]
    fn summary_counts_severities_and_format_names_round_trip() {
        let (sources, findings) = fixture::findings();
        let report = Report {
            findings: &findings,
            sources: &sources,
            files_checked: 5,
            rules: &[],
            read_although_ignored: &[],
            root: None,
        };
        assert_eq!(
            report.summary(),
            Summary {
                files: 5,
                errors: 2,
                warnings: 1,
                infos: 1
            }
        );
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>(), Ok(f));
        }
        assert!("xml".parse::<Format>().is_err());
        assert_eq!(
            display_path(Path::new("deploy/docker-compose.yml")),
            "deploy/docker-compose.yml"
        );
        assert_eq!(
            display_path(Path::new("/srv/stack/docker-compose.yml")),
            "/srv/stack/docker-compose.yml"
        );
        assert_eq!(display_path(Path::new("/")), "/");
    }
}
