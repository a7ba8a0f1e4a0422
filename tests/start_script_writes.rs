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
