//! JSON format: the stable `--format json` contract of DESIGN.md.
//!
//! ```json
//! {"version": 1,
//!  "findings": [{"rule": "app-port-not-served", "code": "PT201", "severity": "error", "message": "...",
//!    "location": {"path": "main.tf", "line": 65, "column": 3, "end_line": 65, "end_column": 40},
//!    "related": [{"location": {...}, "message": "..."}],
//!    "fix": null | {"title": "...", "applicability": "safe" | "unsafe",
//!                   "edits": [{"location": {...}, "replacement": "..."}]}}],
//!  "summary": {"files": 5, "errors": 3, "warnings": 1, "infos": 0},
//!  "read_although_ignored": [".env.local"]}
//! ```
//! `read_although_ignored` names the env files read although an ignore file lists them (env
//! files are always read); it is left out when there are none.
//! `rule` and `code` are `null` for spec and I/O errors and skipped files (a file that does not
//! parse is rule `parse-error`, PT001). Findings come in [`Report::sorted`]
//! order. Fields are only ever added, never renamed or removed, without bumping `version`.

use std::io::{self, Write};

use serde::Serialize;

use super::{Location, Report, Summary};
use crate::diagnostic::{Applicability, Diagnostic, Severity};

/// The version of the JSON contract written in `"version"`.
pub const VERSION: u32 = 1;

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    findings: Vec<Finding<'a>>,
    summary: Summary,
    /// Env files read although an ignore file lists them; left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    read_although_ignored: Vec<String>,
}

#[derive(Serialize)]
struct Finding<'a> {
    rule: Option<&'a str>,
    code: Option<&'a str>,
    severity: Severity,
    message: &'a str,
    location: Location,
    related: Vec<Related<'a>>,
    fix: Option<Fix<'a>>,
}

#[derive(Serialize)]
struct Related<'a> {
    location: Location,
    message: &'a str,
}

#[derive(Serialize)]
struct Fix<'a> {
    title: &'a str,
    applicability: Applicability,
    edits: Vec<Edit<'a>>,
}

#[derive(Serialize)]
struct Edit<'a> {
    location: Location,
    replacement: &'a str,
}

/// Writes the report as pretty-printed JSON followed by a newline.
pub fn write(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    let json = JsonReport {
        version: VERSION,
        findings: report
            .sorted()
            .into_iter()
            .map(|d| finding(report, d))
            .collect(),
        summary: report.summary(),
        read_although_ignored: report
            .read_although_ignored
            .iter()
            .map(|p| super::display_path(p))
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &json)?;
    writeln!(out)
}

fn finding<'a>(report: &Report<'_>, d: &'a Diagnostic) -> Finding<'a> {
    Finding {
        rule: d.rule,
        code: d.code,
        severity: d.severity,
        message: &d.message,
        location: report.location(d.primary.span),
        related: d
            .related
            .iter()
            .map(|l| Related {
                location: report.location(l.span),
                message: &l.message,
            })
            .collect(),
        fix: d.fix.as_ref().map(|f| Fix {
            title: &f.title,
            applicability: f.applicability,
            edits: f
                .edits
                .iter()
                .map(|e| Edit {
                    location: report.location(e.span),
                    replacement: &e.replacement,
                })
                .collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn render(report: &Report<'_>) -> String {
        let mut out = Vec::new();
        let _ = write(report, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn writes_the_stable_contract() {
        let (sources, findings) = fixture::findings();
        let report = fixture::report(&sources, &findings);
        insta::assert_snapshot!(render(&report));
    }

    #[test]
    fn every_finding_has_every_key_even_when_empty() {
        let (sources, findings) = fixture::findings();
        let report = fixture::report(&sources, &findings);
        let value: serde_json::Value = serde_json::from_str(&render(&report)).unwrap_or_default();
        let keys = [
            "rule", "code", "severity", "message", "location", "related", "fix",
        ];
        let findings = value["findings"].as_array().cloned().unwrap_or_default();
        assert_eq!(findings.len(), 4);
        for f in &findings {
            for key in keys {
                assert!(f.get(key).is_some(), "{key} missing in {f}");
            }
        }
        // The parse error: no rule, no code, no fix.
        assert_eq!(findings[0]["rule"], serde_json::Value::Null);
        assert_eq!(findings[0]["code"], serde_json::Value::Null);
        assert_eq!(findings[0]["fix"], serde_json::Value::Null);
        assert_eq!(value["summary"]["infos"], 1);
    }

    #[test]
    fn no_findings_is_an_empty_list() {
        let sources = crate::source::SourceMap::new();
        let report = Report {
            findings: &[],
            sources: &sources,
            files_checked: 3,
            rules: &[],
            read_although_ignored: &[],
            root: None,
        };
        let value: serde_json::Value = serde_json::from_str(&render(&report)).unwrap_or_default();
        let want = serde_json::json!({"version": 1, "findings": [],
            "summary": {"files": 3, "errors": 0, "warnings": 0, "infos": 0}});
        assert_eq!(value, want);
    }
}
