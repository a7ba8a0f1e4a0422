//! `check --fix`: every rule that offers a fix has a fixture under `tests/fixtures/fix/RULE/`
//! whose findings the fix makes go away, and the fixed files still pass the tools that read them
//! (`terraform fmt -check`, `docker-compose config`, `bash -n`, python-dotenv), when installed.
//! Also: unsafe fixes wait for `--unsafe-fixes`, nothing is written before `fix::write`, fixes
//! reach a fixed point, and files portolan writes itself are left alone.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use portolan::check::{check_paths, fix_paths, CheckOptions, CheckResult};
use portolan::diagnostic::Applicability;
use portolan::fix::FixOptions;

const UNSAFE: FixOptions = FixOptions { unsafe_fixes: true };

/// The rules whose code (outside its tests) builds a fix, by name (`app_port_not_served.rs` is
/// `app-port-not-served`).
fn rules_with_fixes() -> Vec<String> {
    let mut names = Vec::new();
    let mut folders = vec![common::root().join("src/rules")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            if code.contains("Applicability::") {
                let stem = path.file_stem().unwrap().to_string_lossy();
                names.push(stem.replace('_', "-"));
            }
        }
    }
    names.sort();
    names
}

fn fixtures() -> PathBuf {
    common::root().join("tests/fixtures/fix")
}

/// Every file of a folder (no subfolders in these fixtures), by name.
fn read_folder(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

/// A copy of the fixture of `rule` in a temporary folder.
fn copy_fixture(rule: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in read_folder(&fixtures().join(rule)) {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn only(rule: &str) -> CheckOptions {
    CheckOptions {
        select: vec![rule.to_owned()],
        ..CheckOptions::default()
    }
}

fn check(dir: &Path, options: &CheckOptions) -> CheckResult {
    check_paths(&[dir.to_path_buf()], dir, options).expect("check runs")
}

/// The findings of `rule`, each with the applicability of its fix.
fn findings_of(result: &CheckResult, rule: &str) -> Vec<(String, Option<Applicability>)> {
    result
        .workspaces
        .iter()
        .flat_map(|(_, found)| found)
        .filter(|d| d.rule == Some(rule))
        .map(|d| (d.message.clone(), d.fix.as_ref().map(|f| f.applicability)))
        .collect()
}

#[test]
fn every_rule_with_a_fix_has_a_fixture() {
    let rules = rules_with_fixes();
    assert!(rules.len() >= 20, "{rules:?}");
    let mut folders: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert_eq!(
        folders, rules,
        "tests/fixtures/fix/ has one folder per rule with a fix"
    );
}

/// Each fixture's findings of its rule all have a fix; with `--unsafe-fixes` every one is
/// applied and the rule finds nothing more, on disk too, and no file became unreadable.
#[test]
fn each_fix_makes_its_finding_go_away() {
    for rule in rules_with_fixes() {
        let dir = copy_fixture(&rule);
        let before = findings_of(&check(dir.path(), &only(&rule)), &rule);
        assert!(
            !before.is_empty(),
            "{rule}: the fixture has no finding of it"
        );
        assert!(
            before.iter().all(|(_, fix)| fix.is_some()),
            "{rule}: a finding without a fix: {before:?}"
        );
        let (result, outcome) = fix_paths(
            &[dir.path().to_path_buf()],
            dir.path(),
            &only(&rule),
            UNSAFE,
        )
        .expect("fix runs");
        assert!(outcome.rounds.settled, "{rule}: {:?}", outcome.rounds);
        assert!(outcome.broken.is_empty(), "{rule}: {:?}", outcome.broken);
        assert!(
            outcome.rounds.fixed >= before.len(),
            "{rule}: {:?}",
            outcome.rounds
        );
        assert_eq!(
            findings_of(&result, &rule),
            Vec::new(),
            "{rule}: left after fixing"
        );
        assert_eq!(
            read_folder(dir.path()),
            read_folder(&fixtures().join(&rule)),
            "{rule}: nothing is written before fix::write"
        );
        portolan::fix::write(&outcome.changes).expect("written");
        let after = check(dir.path(), &CheckOptions::default());
        let left: Vec<_> = after
            .workspaces
            .iter()
            .flat_map(|(_, found)| found)
            .filter(|d| d.rule == Some(rule.as_str()) || d.rule == Some("parse-error"))
            .map(|d| d.message.clone())
            .collect();
        assert_eq!(left, Vec::<String>::new(), "{rule}: on disk after fixing");
    }
}

/// Without `--unsafe-fixes`, exactly the safe fixes are applied; the unsafe ones are counted
/// as hidden and their findings stay.
#[test]
fn unsafe_fixes_wait_for_unsafe_fixes() {
    let mut hidden_somewhere = false;
    for rule in rules_with_fixes() {
        let dir = copy_fixture(&rule);
        let before = findings_of(&check(dir.path(), &only(&rule)), &rule);
        let unsafe_ones: Vec<_> = before
            .iter()
            .filter(|(_, fix)| *fix == Some(Applicability::Unsafe))
            .cloned()
            .collect();
        let (result, outcome) = fix_paths(
            &[dir.path().to_path_buf()],
            dir.path(),
            &only(&rule),
            FixOptions::default(),
        )
        .expect("fix runs");
        assert_eq!(
            outcome.rounds.fixed,
            before.len() - unsafe_ones.len(),
            "{rule}: the safe fixes"
        );
        assert_eq!(outcome.hidden_unsafe, unsafe_ones.len(), "{rule}");
        assert_eq!(findings_of(&result, &rule), unsafe_ones, "{rule}: left");
        hidden_somewhere |= !unsafe_ones.is_empty();
    }
    assert!(hidden_somewhere, "some fixture has an unsafe fix");
}

/// What reads each kind of file accepts it (a missing tool skips its check, as in
/// tests/render.rs).
fn assert_tools_accept(path: &Path, what: &str) {
    let name = path.file_name().unwrap().to_string_lossy();
    let run = |program: &Path, args: &[&str]| {
        let out = Command::new(program)
            .args(args)
            .arg(path)
            .current_dir(path.parent().unwrap())
            .output()
            .expect("the tool runs");
        assert!(
            out.status.success(),
            "{what}: {} {args:?} {name}:\n{}{}\n{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(path).unwrap()
        );
    };
    if name.ends_with(".tf") {
        if let Some(terraform) = common::tool("terraform") {
            run(&terraform, &["fmt", "-check", "-diff"]);
        }
        let text = std::fs::read_to_string(path).unwrap();
        for script in heredocs(&text) {
            assert_bash_reads(&script, &format!("{what}: a heredoc of {name}"));
        }
    } else if name.ends_with(".sh") {
        assert_bash_reads(&std::fs::read_to_string(path).unwrap(), what);
    } else if name.ends_with(".yml") || name.ends_with(".yaml") {
        if let Some(compose) = common::tool("docker-compose") {
            run(&compose, &["config", "-q", "-f"]);
        }
    } else if name.starts_with(".env") || name.ends_with(".env") {
        assert_dotenv_parses(path, what);
    } else {
        panic!("{what}: no tool for {name}");
    }
}

/// The Terraform heredocs of `tf` as Terraform reads them: `<<-` strips the indent the lines
/// share, `$${` is `${`.
fn heredocs(tf: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = tf.lines();
    while let Some(line) = lines.next() {
        let Some((_, opener)) = line.split_once("<<") else {
            continue;
        };
        let (strip, word) = match opener.strip_prefix('-') {
            Some(word) => (true, word.trim()),
            None => (false, opener.trim()),
        };
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != word).collect();
        let indent = if strip {
            body.iter()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.len() - l.trim_start().len())
                .min()
                .unwrap_or(0)
        } else {
            0
        };
        let text: String = body
            .iter()
            .map(|l| format!("{}\n", l.get(indent..).unwrap_or("")))
            .collect();
        out.push(text.replace("$${", "${"));
    }
    out
}

/// `bash -n` reads `script` without an error or a warning (an unterminated heredoc is only a
/// warning).
fn assert_bash_reads(script: &str, what: &str) {
    use std::io::Write as _;
    let mut child = Command::new("bash")
        .arg("-n")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{what}: bash -n:\n{}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// python-dotenv reads every line of the env file (its parser flags the lines it cannot read).
fn assert_dotenv_parses(path: &Path, what: &str) {
    let has_dotenv = Command::new("python3")
        .args(["-c", "import dotenv"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_dotenv {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("python-dotenv is not installed; .ci/run installs it");
        }
        eprintln!("skipped: python-dotenv is not installed");
        return;
    }
    let out = Command::new("python3")
        .arg("-c")
        .arg("import sys\nfrom dotenv.parser import parse_stream\nbad = [b.original.line for b in parse_stream(open(sys.argv[1])) if b.error]\nprint(bad)\nsys.exit(1 if bad else 0)")
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{what}: python-dotenv cannot read lines {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The fixed files of every fixture pass the tools; so did the Terraform files and scripts
/// before (the fixtures are `terraform fmt` clean, so a fix that breaks the layout is caught).
#[test]
fn fixed_files_still_pass_the_real_tools() {
    for rule in rules_with_fixes() {
        let dir = copy_fixture(&rule);
        for name in read_folder(dir.path())
            .keys()
            .filter(|n| n.ends_with(".tf") || n.ends_with(".sh"))
        {
            assert_tools_accept(&dir.path().join(name), &format!("{rule} before fixing"));
        }
        let (_, outcome) = fix_paths(
            &[dir.path().to_path_buf()],
            dir.path(),
            &only(&rule),
            UNSAFE,
        )
        .expect("fix runs");
        assert!(!outcome.changes.is_empty(), "{rule}: nothing changed");
        portolan::fix::write(&outcome.changes).expect("written");
        for change in &outcome.changes {
            assert_tools_accept(&change.disk, &format!("{rule} after fixing"));
        }
    }
}

fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Fixes whose edits overlap are applied in turn, one round each, until nothing changes: the
/// doubled `=` and the quotes around the value both touch `A==My App`.
#[test]
fn fixes_are_applied_again_until_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[(".env", "A==My App\n")]);
    let (result, outcome) = fix_paths(
        &[dir.path().to_path_buf()],
        dir.path(),
        &CheckOptions::default(),
        UNSAFE,
    )
    .expect("fix runs");
    assert_eq!(outcome.rounds.rounds, 2, "{:?}", outcome.rounds);
    assert_eq!(outcome.rounds.fixed, 2);
    assert!(outcome.rounds.settled);
    assert_eq!(result.merged().1, Vec::new());
    assert_eq!(outcome.changes.len(), 1);
    assert_eq!(outcome.changes[0].fixed, "A=\"My App\"\n");
}

/// A file with portolan's header, rendered or written at workspace start, is not fixed: its
/// finding stays and is counted as not fixed.
#[test]
fn files_portolan_writes_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let body = "PORT = 3000\n";
    let stamped = format!(
        "# Written by portolan from portolan.yaml; edit the spec. portolan-sha256:{}\n{body}",
        "0".repeat(64)
    );
    write_files(dir.path(), &[(".env", &stamped), ("web.env", body)]);
    let (result, outcome) = fix_paths(
        &[dir.path().to_path_buf()],
        dir.path(),
        &CheckOptions::default(),
        UNSAFE,
    )
    .expect("fix runs");
    let changed: Vec<_> = outcome.changes.iter().map(|c| c.path.clone()).collect();
    assert_eq!(changed, vec![PathBuf::from("web.env")]);
    assert_eq!(outcome.in_files_not_fixed, 1);
    let left: Vec<_> = result
        .merged()
        .1
        .iter()
        .map(|d| d.rule.unwrap_or_default())
        .collect();
    assert_eq!(left, vec!["env-space-around-equals"]);
}

/// A link to a checked file is fixed through the file, never written through: the link stays
/// a link and its finding goes with the file's.
#[test]
fn a_link_is_fixed_through_its_file_only() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[("app.env", "PORT = 3000\n")]);
    std::os::unix::fs::symlink("app.env", dir.path().join(".env")).unwrap();
    let (result, outcome) = fix_paths(
        &[dir.path().to_path_buf()],
        dir.path(),
        &CheckOptions::default(),
        UNSAFE,
    )
    .expect("fix runs");
    let changed: Vec<_> = outcome.changes.iter().map(|c| c.path.clone()).collect();
    assert_eq!(changed, vec![PathBuf::from("app.env")]);
    assert_eq!(result.merged().1, Vec::new());
    portolan::fix::write(&outcome.changes).expect("written");
    assert!(std::fs::symlink_metadata(dir.path().join(".env"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app.env")).unwrap(),
        "PORT=3000\n"
    );
}

/// With `--spec`, a file the spec renders is not fixed even without its header: the change
/// belongs in the spec, and a fixed copy would be drift that `render` refuses to overwrite.
#[test]
fn files_the_spec_renders_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("portolan.yaml");
    std::fs::copy(
        common::root().join("examples/convex-selfhosted/portolan.yaml"),
        &spec,
    )
    .unwrap();
    let rendered = common::portolan()
        .arg("render")
        .arg(&spec)
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{rendered:?}");
    write_files(
        dir.path(),
        &[(".env.local", "VITE_X = 1\n"), ("extra.env", "OTHER = 1\n")],
    );
    let out = common::portolan()
        .args(["check", "--fix", "--spec"])
        .arg(&spec)
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("note: 1 fix left unapplied: it changes files portolan renders"),
        "{stderr}"
    );
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert_eq!(read(".env.local"), "VITE_X = 1\n");
    assert_eq!(read("extra.env"), "OTHER=1\n");
}

/// A file named twice (`check . .env`) is read, reported and fixed once (its fixes were once
/// applied twice, at offsets of the text before the first).
#[test]
fn a_file_named_twice_is_fixed_once() {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &[(".env", "A==My App\nB = 1\n")]);
    let paths = [dir.path().to_path_buf(), dir.path().join(".env")];
    let checked = check_paths(&paths, dir.path(), &CheckOptions::default()).unwrap();
    assert_eq!(checked.files(), 1);
    assert_eq!(checked.merged().1.len(), 3, "{:?}", checked.merged().1);
    let (_, outcome) = fix_paths(&paths, dir.path(), &CheckOptions::default(), UNSAFE).unwrap();
    assert!(outcome.rounds.settled);
    assert_eq!(outcome.changes.len(), 1);
    assert_eq!(outcome.changes[0].fixed, "A=\"My App\"\nB=1\n");
}

/// Only findings of the rules that ran, and that no comment suppresses, are fixed.
#[test]
fn suppressed_findings_and_rules_not_run_are_not_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        "# portolan: ignore[env-space-around-equals] kept for an old loader\nA = 1\nB = 2\nC==3\n";
    write_files(dir.path(), &[(".env", text)]);
    let (result, outcome) = fix_paths(
        &[dir.path().to_path_buf()],
        dir.path(),
        &only("env-space-around-equals"),
        UNSAFE,
    )
    .unwrap();
    assert_eq!(outcome.rounds.fixed, 1);
    assert_eq!(outcome.changes[0].fixed, text.replace("B = 2", "B=2"));
    assert_eq!(result.merged().1, Vec::new());
}
