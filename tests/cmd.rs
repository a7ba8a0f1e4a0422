//! The command line as data: each case under `tests/cmd/` is one command line with its exit
//! code and its expected stdout and stderr (`*.toml` with `*.stdout` and `*.stderr` beside it),
//! or a short session of command lines run one after the other in one sandbox (`*.trycmd`).
//! tests/cmd/README.md says how to add a case and how to update the expected outputs.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Variables that change what portolan does (probe reads the workspace and the domain from
/// them; colours follow the terminal). Emptied for every case, so that a case gives the same
/// output inside a Coder workspace as on CI.
const NEUTRAL_ENV: &[(&str, &str)] = &[
    ("CODER", ""),
    ("CODER_WORKSPACE_NAME", ""),
    ("CODER_WORKSPACE_OWNER_NAME", ""),
    ("CODER_AGENT_URL", ""),
    ("CODER_URL", ""),
    ("CODER_SESSION_TOKEN", ""),
    ("PORTOLAN_WILDCARD_DOMAIN", ""),
    ("PORTOLAN_SCHEME", ""),
    ("HTTPS", ""),
    ("NO_COLOR", "1"),
    ("CLICOLOR_FORCE", "0"),
];

#[test]
fn cli_cases() {
    let cases = trycmd::TestCases::new();
    cases.register_bin("portolan", Path::new(env!("CARGO_BIN_EXE_portolan")));
    for (key, value) in NEUTRAL_ENV {
        cases.env(*key, *value);
    }
    cases.case("tests/cmd/*.toml").case("tests/cmd/*.trycmd");
    // A check-only build (`--no-default-features`) has no probe: its cases, and the
    // completions that list probe's flags, are the default build's; tests/cmd-check-only/ has
    // what such a build says instead.
    if !cfg!(feature = "probe") {
        cases
            .skip("tests/cmd/probe-*.toml")
            .skip("tests/cmd/completions-bash.toml")
            .case("tests/cmd-check-only/*.toml");
    }
    cases.run();
}

fn case_files(ext: &str) -> Vec<PathBuf> {
    let dir = common::root().join("tests/cmd");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

/// A case that does not say its exit code, or leaves stdout or stderr unchecked, passes
/// whatever the command does: trycmd skips what a case does not name. Every `.toml` case names
/// all three, each `.trycmd` command line is followed by its output (which trycmd always
/// compares), and a `.trycmd` session that expects a failure says so with `? CODE`.
#[test]
fn every_case_asserts_its_exit_code_and_both_outputs() {
    let tomls = case_files("toml");
    assert!(tomls.len() > 30, "cases under tests/cmd/: {tomls:?}");
    for case in &tomls {
        let text = std::fs::read_to_string(case).unwrap();
        let keys: BTreeSet<&str> = text
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
            .collect();
        let name = case.display();
        assert!(keys.contains("bin.name"), "{name}: no bin.name");
        assert!(keys.contains("args"), "{name}: no args");
        assert!(keys.contains("status.code"), "{name}: no status.code");
        for stream in ["stdout", "stderr"] {
            assert!(
                case.with_extension(stream).is_file() || keys.contains(stream),
                "{name}: {stream} is not checked (add {stream} = \"\" if it must stay empty)"
            );
        }
    }
    for case in case_files("trycmd") {
        let text = std::fs::read_to_string(&case).unwrap();
        assert!(
            text.lines().any(|l| l.starts_with("$ portolan")),
            "{}: no command line",
            case.display()
        );
    }
}

/// Every subcommand `portolan --help` lists has case files named after it, so that a new
/// subcommand comes with its cases.
#[test]
fn every_subcommand_has_cases() {
    let help = common::portolan()
        .arg("--help")
        .envs(NEUTRAL_ENV.iter().copied())
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let commands: Vec<&str> = help
        .split_once("Commands:\n")
        .expect("a Commands: section")
        .1
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() >= 7, "{commands:?}");
    let names: Vec<String> = case_files("toml")
        .into_iter()
        .chain(case_files("trycmd"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for command in commands {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(&format!("{command}-"))
                    || n.starts_with(&format!("{command}."))),
            "no case for `portolan {command}` under tests/cmd/"
        );
    }
}
