//! One folder per pattern of real templates, under `tests/fixtures/patterns/NAME/`: `broken/`
//! holds the pattern done wrong, `fixed/` the same template done right (its negative twin). Each
//! has `expected.txt`, the golden findings of `portolan check .` in that folder, one per line
//! (`path:line:column: severity[rule]: message`, sorted).
//!
//! A broken twin must give at least one warning or error; a fixed twin none (notes are allowed).
//! `PORTOLAN_BLESS=1 cargo test --test patterns` rewrites every `expected.txt`; read the diff.

mod common;

use std::path::{Path, PathBuf};

use portolan::check::{check_paths, CheckOptions};
use portolan::diagnostic::Severity;

struct Checked {
    lines: Vec<String>,
    problems: usize,
}

fn check(dir: &Path) -> Checked {
    let result = check_paths(&[dir.to_path_buf()], dir, &CheckOptions::default())
        .unwrap_or_else(|e| panic!("{}: check failed: {e}", dir.display()));
    let lines = common::finding_lines(&result);
    let (_, findings) = result.merged();
    let problems = findings
        .iter()
        .filter(|d| matches!(d.severity, Severity::Error | Severity::Warning))
        .count();
    Checked { lines, problems }
}

fn patterns() -> Vec<PathBuf> {
    let root = common::root().join("tests/fixtures/patterns");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_pattern_has_a_broken_and_a_fixed_twin_with_golden_findings() {
    let bless = std::env::var_os("PORTOLAN_BLESS").is_some();
    let mut failures = Vec::new();
    let patterns = patterns();
    assert!(
        !patterns.is_empty(),
        "no pattern folders under tests/fixtures/patterns"
    );
    for pattern in patterns {
        let name = pattern.file_name().unwrap().to_string_lossy().into_owned();
        for twin in ["broken", "fixed"] {
            let dir = pattern.join(twin);
            assert!(dir.is_dir(), "{name}: no {twin}/ folder");
            let checked = check(&dir);
            let expected_file = dir.join("expected.txt");
            let got = checked.lines.join("\n");
            if bless {
                std::fs::write(&expected_file, format!("{got}\n").trim_start()).unwrap();
            } else {
                let expected = std::fs::read_to_string(&expected_file)
                    .unwrap_or_else(|_| panic!("{name}/{twin}: no expected.txt"));
                if expected.trim_end() != got {
                    failures.push(format!(
                        "{name}/{twin}:\n--- expected\n{}\n--- got\n{got}",
                        expected.trim_end()
                    ));
                }
            }
            match twin {
                "broken" if checked.problems == 0 => {
                    failures.push(format!("{name}/broken: no warning or error"))
                }
                "fixed" if checked.problems > 0 => failures.push(format!(
                    "{name}/fixed: the negative twin has findings:\n{got}"
                )),
                _ => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
