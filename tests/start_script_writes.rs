//! Where the rendered start script writes env files: only inside its own folder, never through a
//! symbolic link (a folder on the way, or the file itself).

mod common;

use std::path::Path;
use std::process::{Command, Output};

const SPEC: &str =
    "name: links\nenv_files:\n  sub/deep/x.env: { A: \"1\" }\n  .env.top: { B: \"2\" }\n";

fn rendered() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("portolan.yaml"), SPEC).unwrap();
    let out = common::portolan()
        .current_dir(dir.path())
        .arg("render")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

fn start(dir: &Path) -> Output {
    Command::new("bash")
        .arg(dir.join("start-workspace.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .output()
        .unwrap()
}

fn replace_with_link(path: &Path, to: &Path) {
    if path.is_dir() {
        std::fs::remove_dir_all(path).unwrap();
    } else {
        std::fs::remove_file(path).unwrap();
    }
    std::os::unix::fs::symlink(to, path).unwrap();
}

#[test]
fn the_start_script_runs_where_nothing_is_linked() {
    let dir = rendered();
    let out = start(dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let x = std::fs::read_to_string(dir.path().join("sub/deep/x.env")).unwrap();
    assert!(x.contains("A=1"), "{x}");
}

#[test]
fn the_start_script_never_writes_through_a_symlinked_folder() {
    for link in ["sub", "sub/deep"] {
        let dir = rendered();
        let elsewhere = tempfile::tempdir().unwrap();
        replace_with_link(&dir.path().join(link), elsewhere.path());
        let out = start(dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{link}: {stderr}");
        assert!(
            stderr.contains(&format!("{link} is a symbolic link")),
            "{link}: {stderr}"
        );
        assert!(
            common::files_below(elsewhere.path()).is_empty(),
            "{link}: wrote outside its folder"
        );
    }
}

#[test]
fn the_start_script_never_writes_through_a_symlinked_env_file() {
    let dir = rendered();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim");
    std::fs::write(&victim, "keep me\n").unwrap();
    replace_with_link(&dir.path().join(".env.top"), &victim);
    let folder = elsewhere.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    replace_with_link(&dir.path().join("sub/deep/x.env"), &folder);

    let out = start(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("sub/deep/x.env is a symbolic link"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    assert!(common::files_below(&folder).is_empty());
}

// --- The state folder and the files in it ---------------------------------------------------

const PROCESS_SPEC: &str = "name: links\nservices:\n  w:\n    run: \"true\"\n    ports: { http: 3000 }\nsecrets:\n  S: { generate: hex16 }\nenv_files:\n  .gitignore: { A: \"1\" }\n  package.json: { B: \"2\" }\n";

fn rendered_with(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("portolan.yaml"), spec).unwrap();
    let out = common::portolan()
        .current_dir(dir.path())
        .arg("render")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// The start script under `timeout`, so that a hang (a FIFO opened for writing) fails the test.
fn start_within(dir: &Path) -> Output {
    Command::new("timeout")
        .arg("20")
        .arg("bash")
        .arg(dir.join("start-workspace.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("PORTOLAN_HEALTH_TIMEOUT", "1")
        .output()
        .unwrap()
}

/// A folder outside the workspace with a file in it, and how it looked.
fn victim() -> (tempfile::TempDir, Vec<(std::path::PathBuf, String, u32)>) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bashrc"), "keep me\n").unwrap();
    std::fs::write(dir.path().join("sec"), "S=mine\n").unwrap();
    std::fs::set_permissions(
        dir.path().join("sec"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let state = snapshot(dir.path());
    (dir, state)
}

fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out: Vec<_> = common::files_below(dir)
        .into_iter()
        .map(|p| {
            let full = dir.join(&p);
            let mode = std::fs::metadata(&full).unwrap().permissions().mode();
            (p, std::fs::read_to_string(&full).unwrap(), mode)
        })
        .collect();
    out.push((
        std::path::PathBuf::from("."),
        String::new(),
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir).unwrap().permissions()),
    ));
    out
}

fn assert_refused(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
}

#[test]
fn a_linked_state_folder_is_refused_before_anything_is_written() {
    let dir = rendered_with(PROCESS_SPEC);
    let (victim, before) = victim();
    std::os::unix::fs::symlink(victim.path(), dir.path().join(".portolan")).unwrap();
    let out = start_within(dir.path());
    assert_refused(&out, "error: .portolan is a symbolic link");
    assert_eq!(snapshot(victim.path()), before);
}

#[test]
fn linked_or_special_files_in_the_state_folder_are_refused_before_anything_is_written() {
    let cases: &[(&str, &str)] = &[
        ("w.pid", "bashrc"),
        ("secrets.env", "sec"),
        ("lock", "newfile"),
        (".gitignore", "newfile"),
        ("logs/w.log", "bashrc"),
    ];
    for (name, target) in cases {
        let dir = rendered_with(PROCESS_SPEC);
        let (victim, before) = victim();
        let state = dir.path().join(".portolan");
        std::fs::create_dir_all(state.join("logs")).unwrap();
        std::os::unix::fs::symlink(victim.path().join(target), state.join(name)).unwrap();
        let env_before = std::fs::read_to_string(dir.path().join("package.json")).unwrap();
        let out = start_within(dir.path());
        assert_refused(&out, &format!("error: .portolan/{name} is a symbolic link"));
        assert_eq!(snapshot(victim.path()), before, "{name}");
        assert!(!dir.path().join(".env").exists(), "{name}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("package.json")).unwrap(),
            env_before
        );
    }
    // A FIFO lock would block the start forever.
    let dir = rendered_with(PROCESS_SPEC);
    std::fs::create_dir(dir.path().join(".portolan")).unwrap();
    let fifo = dir.path().join(".portolan/lock");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let out = start_within(dir.path());
    assert_refused(&out, "error: .portolan/lock is not a file");
}

#[test]
fn a_hand_written_file_named_as_an_env_file_is_not_overwritten() {
    for name in [".gitignore", "package.json"] {
        let dir = rendered_with(PROCESS_SPEC);
        let own = "{ \"name\": \"mine\" }\n";
        std::fs::write(dir.path().join(name), own).unwrap();
        let out = start_within(dir.path());
        assert_refused(&out, &format!("error: {name} was not written by portolan"));
        assert_eq!(std::fs::read_to_string(dir.path().join(name)).unwrap(), own);
        assert!(!dir.path().join(".portolan/secrets.env").exists());
    }
    // What render wrote is rewritten.
    let dir = rendered_with(PROCESS_SPEC);
    let out = start_within(dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(dir.path().join("package.json")).unwrap();
    assert!(written.contains("at workspace start"), "{written}");
}
