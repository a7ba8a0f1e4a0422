//! Validates portolan's SARIF output against the official SARIF 2.1.0 JSON schema.
//!
//! The check itself is `tests/validate_sarif.py` (python `jsonschema`); its docstring says where
//! it finds the schema. Without python, `jsonschema` or the schema file the test passes with a
//! note on stderr: the structure GitHub needs is also covered by the unit tests in
//! `src/report/sarif.rs`.

use std::process::Command;

use portolan::diagnostic::{Applicability, Diagnostic, Edit, Fix, RuleMeta, Severity};
use portolan::report::{self, Format, Report};
use portolan::source::{SourceMap, Span};

static RULE: RuleMeta = RuleMeta {
    name: "app-port-not-served",
    code: "PT201",
    default_severity: Severity::Error,
    summary: "A coder_app points at a port nothing listens on",
    explanation:
        "## What it does\nChecks app ports.\n\n## Example\n`url = \"http://localhost:3212\"`\n",
};

fn sarif() -> String {
    let mut sources = SourceMap::new();
    let tf_text = "# café\nurl = \"http://localhost:3212\"\n";
    let tf = sources.add("main.tf", tf_text);
    let compose = sources.add("my app/docker-compose.yml", "ports:\n  - \"3212:3210\"\n");
    // A file outside the working folder: a `file://` URI, not one relative to `%SRCROOT%`.
    let outside = sources.add("/srv/other stack/.env", "A==b\n");
    let url = tf_text.find("http").unwrap_or(0);
    let mut finding = Diagnostic::error(Span::new(tf, url, url + 21), "port 3212 is not served")
        .with_label("here")
        .with_related(Span::new(compose, 10, 21), "published here")
        .with_help("use 3210")
        .with_fix(Fix {
            title: "Use 3210".into(),
            applicability: Applicability::Unsafe,
            edits: vec![Edit {
                span: Span::new(tf, url + 17, url + 21),
                replacement: "3210".into(),
            }],
        });
    finding.rule = Some(RULE.name);
    finding.code = Some(RULE.code);
    let findings = [
        finding,
        Diagnostic::new(Severity::Info, Span::new(tf, 2, 6), "a note"),
        Diagnostic::error(Span::new(compose, 0, 0), "cannot parse"),
        Diagnostic::warning(Span::new(outside, 1, 3), "`==`"),
    ];
    let report = Report {
        findings: &findings,
        sources: &sources,
        files_checked: 2,
        rules: &[&RULE],
        read_although_ignored: &[],
        root: Some(std::path::Path::new("/work/my repo")),
    };
    let mut out = Vec::new();
    report::write(Format::Sarif, &report, false, &mut out).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("SARIF is UTF-8")
}

#[test]
fn sarif_output_matches_the_sarif_2_1_0_schema() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("portolan.sarif");
    std::fs::write(&log, sarif()).expect("write SARIF");
    let helper = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/validate_sarif.py");
    let run = match Command::new("python3").arg(helper).arg(&log).output() {
        Ok(run) => run,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("SARIF schema check cannot run in CI: no python3 ({e})")
        }
        Err(e) => return eprintln!("skipped SARIF schema check: no python3 ({e})"),
    };
    let stdout = String::from_utf8_lossy(&run.stdout);
    match run.status.code() {
        Some(0) => eprintln!("{stdout}"),
        Some(77) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("SARIF schema check cannot run in CI: {stdout} (.ci/run installs what it needs)")
        }
        Some(77) => eprintln!("skipped SARIF schema check: {stdout}"),
        _ => panic!(
            "SARIF does not match the schema:\n{stdout}{}",
            String::from_utf8_lossy(&run.stderr)
        ),
    }
}

/// Microsoft's SARIF multitool (`Sarif.Multitool validate`, from the npm package
/// `@microsoft/sarif-multitool-linux`, a self-contained binary) checks what the schema cannot:
/// that URIs are valid and combine with their `uriBaseId` (SARIF1004 rejects a relative
/// reference that starts with `/`). `PORTOLAN_SARIF_MULTITOOL` names the binary (`.ci/run`
/// installs it); without it the test passes with a note on stderr.
#[test]
fn sarif_of_paths_inside_and_outside_the_working_folder_passes_the_multitool() {
    let Some(tool) = std::env::var_os("PORTOLAN_SARIF_MULTITOOL").filter(|t| !t.is_empty()) else {
        return eprintln!(
            "skipped SARIF multitool validation: PORTOLAN_SARIF_MULTITOOL is not set (see .ci/run)"
        );
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convex-incident");
    let work = dir.path().join("work");
    // Names with a space and a non-ASCII letter, to be percent-encoded.
    let inside = work.join("my stack");
    let outside = dir.path().join("other café");
    for copy in [&inside, &outside] {
        std::fs::create_dir_all(copy).expect("mkdir");
        for entry in std::fs::read_dir(&fixture).expect("fixture") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), copy.join(entry.file_name())).expect("copy");
        }
    }
    let validate = |input: &std::path::Path| -> (Vec<String>, String) {
        let output = input.with_extension("validation.sarif");
        let validate = Command::new(&tool)
            .arg("validate")
            .arg(input)
            .arg("--output")
            .arg(&output)
            .args(["--log", "ForceOverwrite"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run the SARIF multitool {tool:?}: {e}"));
        let said = String::from_utf8_lossy(&validate.stdout).into_owned();
        let text = std::fs::read_to_string(&output)
            .unwrap_or_else(|e| panic!("the multitool wrote no log ({e}):\n{said}"));
        let found: serde_json::Value = serde_json::from_str(&text).expect("the multitool's log");
        let errors = found["runs"][0]["results"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|r| r["level"] == "error")
            .map(|r| r["ruleId"].as_str().unwrap_or_default().to_owned())
            .collect();
        (errors, said)
    };
    // The check can fail: the doubled slash absolute paths once had is rejected (SARIF1004).
    let doubled = dir.path().join("doubled.sarif");
    std::fs::write(
        &doubled,
        r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "portolan", "rules": [{"id": "parse-error"}]}}, "results": [{"ruleId": "parse-error", "ruleIndex": 0, "level": "error", "message": {"text": "x"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": "//srv/main.tf"}, "region": {"startLine": 1}}}]}]}]}"#,
    )
    .expect("write SARIF");
    let (errors, said) = validate(&doubled);
    assert!(
        errors.iter().any(|e| e == "SARIF1004"),
        "not rejected:\n{said}"
    );
    for (name, target) in [("relative", inside.clone()), ("absolute", outside.clone())] {
        let arg = if name == "relative" {
            std::path::PathBuf::from("my stack")
        } else {
            target.clone()
        };
        let run = Command::new(env!("CARGO_BIN_EXE_portolan"))
            .current_dir(&work)
            .arg("check")
            .arg(&arg)
            .args(["--format", "sarif"])
            .output()
            .expect("portolan runs");
        assert_eq!(
            run.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let log: serde_json::Value = serde_json::from_slice(&run.stdout).expect("SARIF is JSON");
        let uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
            ["artifactLocation"]["uri"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let want = if name == "relative" {
            "my%20stack/"
        } else {
            "file:///"
        };
        assert!(uri.starts_with(want), "{name}: {uri}");
        let input = dir.path().join(format!("{name}.sarif"));
        std::fs::write(&input, &run.stdout).expect("write SARIF");
        let (errors, said) = validate(&input);
        assert!(
            errors.is_empty(),
            "{name}: the SARIF multitool rejects it ({errors:?}):\n{said}"
        );
        eprintln!("{name}: {said}");
    }
}
