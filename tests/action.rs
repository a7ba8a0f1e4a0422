//! The GitHub Action (`action.yml`), as far as it can be run without GitHub: it parses as a
//! composite action; the inputs README.md documents are the ones it has; every `run:` script
//! takes the inputs through `env:` (never `${{ }}` inside a script, which would let an input
//! inject shell code) and passes `bash -n` and shellcheck; the cache key step gives a stable key
//! that changes with the source; and the check steps, run by bash with the built portolan on
//! PATH, are valid portolan command lines: against a fixture with findings they write SARIF and
//! annotations and fail, against a clean one they pass. The install step (a release build) and
//! the `uses:` steps run only on GitHub.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn action() -> Value {
    let text = std::fs::read_to_string(common::root().join("action.yml")).unwrap();
    serde_saphyr::from_str(&text).expect("action.yml parses")
}

fn steps(action: &Value) -> &[Value] {
    action["runs"]["steps"].as_array().expect("runs.steps")
}

fn step<'a>(action: &'a Value, id: &str) -> &'a Value {
    steps(action)
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

/// A step's `env:`, with `${{ inputs.NAME }}` and `${{ steps.ID.outputs.NAME }}` replaced as
/// GitHub would replace them.
fn env_of(
    step: &Value,
    inputs: &BTreeMap<&str, &str>,
    outputs: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let Some(env) = step["env"].as_object() else {
        return Vec::new();
    };
    env.iter()
        .map(|(key, value)| {
            let expr = value.as_str().unwrap().trim();
            let inner = expr
                .strip_prefix("${{")
                .and_then(|e| e.strip_suffix("}}"))
                .unwrap_or_else(|| panic!("{key}: {expr} is not an expression"))
                .trim();
            let value = if let Some(name) = inner.strip_prefix("inputs.") {
                inputs[name].to_owned()
            } else {
                outputs
                    .get(inner)
                    .unwrap_or_else(|| panic!("{key}: {inner} is not set"))
                    .clone()
            };
            (key.clone(), value)
        })
        .collect()
}

/// The inputs with their defaults, then `given`.
fn inputs<'a>(action: &'a Value, given: &[(&'a str, &'a str)]) -> BTreeMap<&'a str, &'a str> {
    let mut inputs: BTreeMap<&str, &str> = action["inputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v["default"].as_str().unwrap_or("")))
        .collect();
    inputs.extend(given.iter().copied());
    inputs
}

/// Runs a step's script with bash as the runner would (`GITHUB_OUTPUT`, `GITHUB_ACTION_PATH`,
/// `RUNNER_*`), the built portolan first on PATH, in `cwd`; returns the output and what the step
/// wrote to `GITHUB_OUTPUT`.
fn run_step(
    step: &Value,
    cwd: &Path,
    env: &[(String, String)],
) -> (Output, BTreeMap<String, String>) {
    let script = step["run"].as_str().expect("a run step");
    let tmp = tempfile::tempdir().unwrap();
    let output_file = tmp.path().join("output");
    std::fs::write(&output_file, "").unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_portolan")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let out = Command::new("bash")
        .args([
            "--noprofile",
            "--norc",
            "-e",
            "-o",
            "pipefail",
            "-c",
            script,
        ])
        .current_dir(cwd)
        .env("PATH", path)
        .env("GITHUB_OUTPUT", &output_file)
        .env("GITHUB_ACTION_PATH", common::root())
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("RUNNER_TEMP", tmp.path())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let outputs = std::fs::read_to_string(&output_file)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    (out, outputs)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn action_yml_is_a_composite_action_whose_scripts_take_inputs_through_env() {
    let action = action();
    assert_eq!(action["runs"]["using"], "composite");
    assert!(action["name"].is_string() && action["description"].is_string());
    for step in steps(&action) {
        let id = step["id"].as_str().expect("every step has an id");
        match (step.get("run"), step.get("uses")) {
            (Some(script), None) => {
                assert_eq!(step["shell"], "bash", "{id}: a run step names its shell");
                let script = script.as_str().unwrap();
                assert!(
                    !script.contains("${{"),
                    "{id}: an expression inside the script"
                );
                let file = tempfile::NamedTempFile::new().unwrap();
                std::fs::write(file.path(), format!("#!/usr/bin/env bash\n{script}")).unwrap();
                common::assert_shell_accepts(file.path(), id);
            }
            (None, Some(uses)) => {
                let uses = uses.as_str().unwrap();
                assert!(
                    uses.rsplit_once('@')
                        .is_some_and(|(_, v)| v.starts_with('v')),
                    "{id}: {uses} is not pinned to a release"
                );
            }
            _ => panic!("{id}: a step runs a script or uses an action"),
        }
    }
    // Its inputs (in serde_json's key order).
    let names: Vec<&str> = action["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, ["args", "paths", "sarif", "version"]);
}

/// The README's table of inputs lists exactly the action's, with their defaults, and its
/// workflow example uses the action with inputs it has.
#[test]
fn the_readme_documents_the_actions_inputs() {
    let action = action();
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let documented: BTreeMap<String, String> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| input | default |"))
        .skip(2)
        .take_while(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (
                cells[1].trim_matches('`').to_owned(),
                cells[2].trim_matches('`').to_owned(),
            )
        })
        .collect();
    let actual: BTreeMap<String, String> = action["inputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["default"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert_eq!(documented, actual);

    let workflow = readme
        .split("```yaml\n")
        .filter_map(|b| b.split_once("```").map(|(yaml, _)| yaml))
        .find(|yaml| yaml.starts_with("name: portolan\n"))
        .expect("README has the workflow");
    let workflow: Value = serde_saphyr::from_str(workflow).expect("the README's workflow parses");
    let uses_action: Vec<&Value> = workflow["jobs"]["check"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.contains("/portolan@") || u == "./")
        })
        .collect();
    assert_eq!(uses_action.len(), 1, "{workflow}");
    for key in uses_action[0]["with"].as_object().unwrap().keys() {
        assert!(actual.contains_key(key), "the README passes `{key}`");
    }
}

/// The key names the OS, the architecture and the source: the same source gives the same key,
/// a version gives its own.
#[test]
fn the_cache_key_follows_the_source_or_the_version() {
    let action = action();
    let key = step(&action, "key");
    let none = BTreeMap::new();
    let run = |given: &[(&str, &str)]| {
        let (out, outputs) = run_step(
            key,
            &common::root(),
            &env_of(key, &inputs(&action, given), &none),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        outputs["key"].clone()
    };
    let source = run(&[]);
    assert!(
        source.starts_with("portolan-Linux-X64-check-only-source-") && source.len() > 40,
        "{source}"
    );
    assert_eq!(run(&[]), source);
    assert_eq!(
        run(&[("version", "0.2.0")]),
        "portolan-Linux-X64-check-only-crates-0.2.0"
    );
}

/// The check steps as the runner runs them, with the built portolan on PATH.
#[test]
fn the_check_steps_run_valid_portolan_command_lines() {
    let action = action();
    let (sarif, check) = (step(&action, "sarif"), step(&action, "check"));
    let fixtures = common::root().join("tests/cmd/fixtures");
    let none = BTreeMap::new();

    // Findings: SARIF written and named, annotations printed, the check step fails.
    let given = [
        ("paths", "drifted"),
        ("args", "--strict"),
        ("sarif", "true"),
    ];
    let work = tempfile::tempdir().unwrap();
    for fixture in ["drifted", "charted"] {
        let copy = Command::new("cp")
            .arg("-r")
            .arg(fixtures.join(fixture))
            .arg(work.path())
            .status()
            .unwrap();
        assert!(copy.success());
    }
    let env = env_of(sarif, &inputs(&action, &given), &none);
    let (out, outputs) = run_step(sarif, work.path(), &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(outputs["file"], "portolan.sarif");
    let log: Value =
        serde_json::from_str(&std::fs::read_to_string(work.path().join("portolan.sarif")).unwrap())
            .expect("SARIF is JSON");
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    let (out, _) = run_step(
        check,
        work.path(),
        &env_of(check, &inputs(&action, &given), &none),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let annotations = String::from_utf8_lossy(&out.stdout);
    assert!(
        annotations.lines().count() == results.len()
            && annotations.lines().all(|l| l.starts_with("::")),
        "{annotations}"
    );
    assert!(annotations.contains("file=drifted/"), "{annotations}");

    // Clean: both pass, and nothing is annotated.
    let given = [("paths", "charted"), ("sarif", "true")];
    let (out, _) = run_step(
        sarif,
        work.path(),
        &env_of(sarif, &inputs(&action, &given), &none),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (out, _) = run_step(
        check,
        work.path(),
        &env_of(check, &inputs(&action, &given), &none),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());

    // An argument portolan does not take: the SARIF step fails with portolan's exit 2.
    let given = [("args", "--no-such-flag"), ("sarif", "true")];
    let (out, outputs) = run_step(
        sarif,
        work.path(),
        &env_of(sarif, &inputs(&action, &given), &none),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!outputs.contains_key("file"));
}
