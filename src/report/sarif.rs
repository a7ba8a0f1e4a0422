//! SARIF 2.1.0 format, as GitHub code scanning reads it.
//!
//! One run whose `tool.driver.rules` lists every [`RuleMeta`] of the report plus `parse-error`
//! ([`PARSE_ERROR`], for findings without a rule). Each
//! finding becomes a result with `ruleId`/`ruleIndex`, a level (`error`/`warning`/`note`), its
//! primary location, related locations (numbered from 1) and a `partialFingerprints`
//! entry that stays the same when lines move: a hash of the rule, the path and the trimmed text of
//! the primary line, with `:N` for the N-th finding sharing that hash. Columns are Unicode scalar
//! values (`columnKind: unicodeCodePoints`). A path relative to the working folder is a relative
//! URI reference with `uriBaseId: %SRCROOT%`, and the run's `originalUriBaseIds` gives
//! `%SRCROOT%` as the working folder's `file://` URI (ending in `/`); an absolute path is a
//! `file:///...` URI. Both are percent-encoded.
//! The serde structs of the SARIF object model are in `sarif/log.rs`.

mod log;

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use sha2::{Digest, Sha256};

use log::{ArtifactLocation, BaseUri, Configuration, Driver, Help, Log, PhysicalLocation, Region};
use log::{Rule, RuleProperties, Run, SarifLocation, SarifResult, Text, Tool};

use super::{Location, Report, PARSE_ERROR};
use crate::diagnostic::{Diagnostic, Label, RuleMeta, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The URI base id of relative paths: the working folder, as GitHub code scanning names it.
pub const SRCROOT: &str = "%SRCROOT%";
/// The key of our entry in `partialFingerprints`; bump `/v1` if the hash input ever changes.
pub const FINGERPRINT_KEY: &str = "portolan/v1";

/// Writes the report as one pretty-printed SARIF log followed by a newline.
pub fn write(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let findings = report.sorted();
    let mut metas: Vec<&RuleMeta> = Vec::new();
    for meta in report.rules.iter().copied().chain([PARSE_ERROR]) {
        if metas.iter().all(|m| m.name != meta.name) {
            metas.push(meta);
        }
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut results = Vec::new();
    for d in findings {
        let id = Report::rule_id(d);
        let hash = fingerprint(report, d, id);
        let n = seen.entry(hash.clone()).or_insert(0);
        *n += 1;
        results.push(SarifResult {
            rule_id: id,
            // A rule missing from the list gets no ruleIndex rather than a wrong one.
            rule_index: metas.iter().position(|m| m.name == id),
            level: level(d.severity),
            message: Text::new(message(d)),
            locations: [location(report, &d.primary, None)],
            related_locations: d
                .related
                .iter()
                .enumerate()
                .map(|(i, l)| location(report, l, Some(i + 1)))
                .collect(),
            partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, format!("{hash}:{n}"))]),
        });
    }
    let homepage = [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")];
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "portolan",
                    version: env!("CARGO_PKG_VERSION"),
                    information_uri: homepage.into_iter().find(|u| !u.is_empty()),
                    rules: metas.iter().map(|m| rule(m)).collect(),
                },
            },
            original_uri_base_ids: report
                .root
                .map(|root| {
                    let mut uri = file_uri(&super::display_path(root));
                    if !uri.ends_with('/') {
                        uri.push('/');
                    }
                    BTreeMap::from([(SRCROOT, BaseUri { uri })])
                })
                .unwrap_or_default(),
            column_kind: "unicodeCodePoints",
            results,
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

fn rule(meta: &RuleMeta) -> Rule<'static> {
    // fullDescription: the first paragraph of the explanation that is not a heading.
    let full = meta
        .explanation
        .split("\n\n")
        .map(|p| {
            p.lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .find(|p| !p.trim().is_empty())
        .unwrap_or_else(|| meta.summary.to_string());
    Rule {
        id: meta.name,
        name: meta.name.split('-').map(capitalise).collect(),
        short_description: Text::new(meta.summary),
        full_description: Text::new(full),
        help: Help {
            text: meta.explanation,
            markdown: meta.explanation,
        },
        default_configuration: Configuration {
            level: level(meta.default_severity),
        },
        properties: (!meta.code.is_empty()).then_some(RuleProperties { code: meta.code }),
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn message(d: &Diagnostic) -> String {
    match &d.help {
        Some(help) => format!("{}\nhelp: {help}", d.message),
        None => d.message.clone(),
    }
}

fn location(report: &Report<'_>, label: &Label, id: Option<usize>) -> SarifLocation {
    SarifLocation {
        id,
        physical_location: physical(report.location(label.span)),
        message: (!label.message.is_empty()).then(|| Text::new(&label.message)),
    }
}

fn physical(loc: Location) -> PhysicalLocation {
    let region = Region {
        start_line: loc.line,
        start_column: loc.column,
        end_line: loc.end_line,
        end_column: loc.end_column,
    };
    let artifact_location = if loc.path.starts_with('/') {
        ArtifactLocation {
            uri: file_uri(&loc.path),
            uri_base_id: None,
        }
    } else {
        ArtifactLocation {
            uri: uri(&loc.path),
            uri_base_id: Some(SRCROOT),
        }
    };
    PhysicalLocation {
        artifact_location,
        region,
    }
}

/// Hex SHA-256 (first 16 bytes) of the rule, the path and the trimmed primary line.
fn fingerprint(report: &Report<'_>, d: &Diagnostic, rule: &str) -> String {
    let loc = report.location(d.primary.span);
    let line = report
        .file(d.primary.span.file)
        .map(|f| f.line_text(loc.line))
        .unwrap_or("");
    let mut hasher = Sha256::new();
    for part in [rule, &loc.path, line.trim()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An absolute path (`/srv/a b.tf`) as a `file://` URI (`file:///srv/a%20b.tf`).
fn file_uri(absolute: &str) -> String {
    format!("file://{}", uri(absolute))
}

/// A path as a URI path: every byte but unreserved characters and `/` escaped.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use crate::source::{SourceMap, Span};
    use serde_json::Value;

    fn render(findings: &[Diagnostic], sources: &SourceMap) -> String {
        let mut out = Vec::new();
        let _ = write(&fixture::report(sources, findings), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn run(findings: &[Diagnostic], sources: &SourceMap) -> Value {
        let log: Value = serde_json::from_str(&render(findings, sources)).unwrap_or_default();
        log["runs"][0].clone()
    }

    #[test]
    fn writes_a_sarif_log_github_accepts() {
        let (sources, findings) = fixture::findings();
        let out = render(&findings, &sources).replace(env!("CARGO_PKG_VERSION"), "[version]");
        insta::assert_snapshot!(out);
    }

    #[test]
    fn every_result_points_at_its_rule_and_unknown_rules_get_no_index() {
        let (sources, mut findings) = fixture::findings();
        findings[3].rule = Some("not-in-the-list");
        let run = run(&findings, &sources);
        let rules = &run["tool"]["driver"]["rules"];
        let ids: Vec<_> = (0..5)
            .map(|i| rules[i]["id"].as_str().unwrap_or(""))
            .collect();
        let want = [
            "app-port-not-served",
            "env-double-equals",
            "parse-error",
            "",
            "",
        ];
        assert_eq!(ids, want);
        for i in 0..4 {
            let result = &run["results"][i];
            match result["ruleIndex"].as_u64() {
                Some(index) => assert_eq!(rules[index as usize]["id"], result["ruleId"]),
                None => assert_eq!(result["ruleId"], "not-in-the-list"),
            }
        }
        let levels: Vec<_> = (0..4).map(|i| run["results"][i]["level"].clone()).collect();
        assert_eq!(levels, ["warning", "error", "error", "note"]);
    }

    #[test]
    fn fingerprints_survive_moved_lines_and_number_repeats() {
        let fingerprints = |text: &str| -> Vec<String> {
            let mut sources = SourceMap::new();
            let file = sources.add("main.tf", text);
            let findings: Vec<_> = text
                .match_indices("3212")
                .map(|(i, _)| Diagnostic::error(Span::new(file, i, i + 4), "port 3212"))
                .collect();
            let run = run(&findings, &sources);
            let key = |i: usize| run["results"][i]["partialFingerprints"][FINGERPRINT_KEY].clone();
            (0..findings.len())
                .map(|i| key(i).as_str().unwrap_or("").to_string())
                .collect()
        };
        let before = fingerprints("url = 3212\n");
        let after = fingerprints("# a new first line\n\n  url = 3212\nurl = 3212\n");
        assert_eq!(after[0], before[0], "same rule, path and trimmed line text");
        assert_eq!(
            after[1],
            before[0].replace(":1", ":2"),
            "the second of the same line"
        );
        assert_ne!(fingerprints("url = 3212 # other\n")[0], before[0]);
    }

    #[test]
    fn uris_are_relative_and_percent_encoded() {
        let cases = [
            ("deploy/docker-compose.yml", "deploy/docker-compose.yml"),
            ("my app/.env local", "my%20app/.env%20local"),
            ("café#1.tf", "caf%C3%A9%231.tf"),
        ];
        for (path, want) in cases {
            assert_eq!(uri(path), want);
        }
        assert_eq!(file_uri("/srv/my app/x.tf"), "file:///srv/my%20app/x.tf");
    }

    /// A relative path is relative to `%SRCROOT%`, which the run gives as the working folder;
    /// an absolute path is a `file://` URI of its own.
    #[test]
    fn relative_uris_name_their_base_and_absolute_ones_are_file_uris() {
        let mut sources = SourceMap::new();
        let inside = sources.add("deploy/compose.yml", "services: {}\n");
        let outside = sources.add("/srv/other stack/compose.yml", "services: {}\n");
        let findings = [
            Diagnostic::error(Span::new(inside, 0, 8), "inside"),
            Diagnostic::error(Span::new(outside, 0, 8), "outside"),
        ];
        let mut report = fixture::report(&sources, &findings);
        let root = std::path::Path::new("/work/my repo");
        report.root = Some(root);
        let mut out = Vec::new();
        write(&report, &mut out).unwrap();
        let log: Value = serde_json::from_slice(&out).unwrap();
        let run = &log["runs"][0];
        assert_eq!(
            run["originalUriBaseIds"]["%SRCROOT%"]["uri"],
            "file:///work/my%20repo/"
        );
        let artifact = |i: usize| {
            run["results"][i]["locations"][0]["physicalLocation"]["artifactLocation"].clone()
        };
        // Sorted by path: `/srv/...` first.
        assert_eq!(
            artifact(0),
            serde_json::json!({"uri": "file:///srv/other%20stack/compose.yml"})
        );
        assert_eq!(
            artifact(1),
            serde_json::json!({"uri": "deploy/compose.yml", "uriBaseId": "%SRCROOT%"})
        );
    }
}
