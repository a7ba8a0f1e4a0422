//! The pre-commit hooks as pre-commit runs them: the manifest `.pre-commit-hooks.yaml` is
//! validated by pre-commit itself, its `-system` hooks run through `pre-commit try-repo` in a
//! fresh git repository with two specs (the built binary on PATH), and the README's
//! `.pre-commit-config.yaml` snippet runs as written. The `language: rust` hooks would build
//! portolan inside pre-commit's cache (minutes): only their manifest entries are validated, and
//! they differ from their `-system` twins only in `language`. Skipped with a notice when
//! pre-commit is not installed (required in CI: `.ci/run` installs it).

mod common;

use std::path::Path;
use std::process::{Command, Output};

/// A spec with one process and one app, on `port`.
fn spec(name: &str, port: u16) -> String {
    format!(
        "name: {name}\nservices:\n  web:\n    run: python3 -m http.server ${{port:web.http}}\n    ports: {{ http: {port} }}\napps:\n  web: {{ target: web.http, display_name: {name} }}\n"
    )
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// pre-commit with the built portolan first on PATH, its cache in `home`.
fn run_pre_commit(pre_commit: &Path, dir: &Path, home: &Path, args: &[&str]) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_portolan")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    Command::new(pre_commit)
        .current_dir(dir)
        .args(args)
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", home)
        .env("NO_COLOR", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A git repository with two specs, `a/` and `b/`, rendered and committed.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    for (name, port) in [("a", 8000), ("b", 8001)] {
        std::fs::create_dir(dir.path().join(name)).unwrap();
        std::fs::write(
            dir.path().join(name).join("portolan.yaml"),
            spec(name, port),
        )
        .unwrap();
    }
    let out = common::portolan()
        .current_dir(dir.path())
        .args(["render", "a/portolan.yaml", "b/portolan.yaml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "rendered"]);
    dir
}

/// A git repository holding this checkout's hook manifest: what `try-repo` installs hooks from.
fn hook_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    std::fs::copy(
        common::root().join(".pre-commit-hooks.yaml"),
        dir.path().join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "hooks"]);
    dir
}

fn hand_edit(project: &Path) {
    let apps = project.join("b/coder-apps.tf");
    let text = std::fs::read_to_string(&apps).unwrap();
    std::fs::write(
        &apps,
        text.replace("display_name = \"b\"", "display_name = \"B\""),
    )
    .unwrap();
}

#[test]
fn the_hook_manifest_is_valid_for_pre_commit() {
    let Some(pre_commit) = common::tool("pre-commit") else {
        return;
    };
    let out = Command::new(pre_commit)
        .arg("validate-manifest")
        .arg(common::root().join(".pre-commit-hooks.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // Each rust hook has a system twin that runs the same command on the same files.
    let manifest = std::fs::read_to_string(common::root().join(".pre-commit-hooks.yaml")).unwrap();
    let hooks: Vec<&str> = manifest.split("\n- id: ").skip(1).collect();
    for id in ["portolan-check", "portolan-render-check"] {
        let find = |id: &str| {
            hooks
                .iter()
                .find(|h| h.lines().next() == Some(id))
                .unwrap_or_else(|| panic!("no hook {id}"))
                .lines()
                .skip(1)
                .filter(|l| !l.trim_start().starts_with("description:"))
                .map(str::to_owned)
                .collect::<Vec<String>>()
        };
        let rust = find(id);
        let system = find(&format!("{id}-system"));
        assert!(rust.contains(&"  language: rust".to_owned()), "{rust:?}");
        let as_system: Vec<String> = rust
            .iter()
            .map(|l| l.replace("language: rust", "language: system"))
            .collect();
        assert_eq!(as_system, system, "{id} and {id}-system differ");
    }
}

/// `portolan-render-check-system` gets both specs at once and checks each; a hand edit of one
/// rendered file fails the hook and names the file.
#[test]
fn the_render_check_hook_checks_every_spec_it_is_given() {
    let Some(pre_commit) = common::tool("pre-commit") else {
        return;
    };
    let (project, hooks, home) = (project(), hook_repo(), tempfile::tempdir().unwrap());
    let hooks_path = hooks.path().to_str().unwrap();
    let run = |hook: &str| {
        run_pre_commit(
            &pre_commit,
            project.path(),
            home.path(),
            &["try-repo", hooks_path, hook, "--all-files", "--verbose"],
        )
    };
    let out = run("portolan-render-check-system");
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("2 files match a/portolan.yaml")
            && said.contains("2 files match b/portolan.yaml"),
        "{said}"
    );
    let out = run("portolan-check-system");
    assert!(out.status.success(), "{}", text(&out));

    hand_edit(project.path());
    git(project.path(), &["add", "-A"]);
    let out = run("portolan-render-check-system");
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("2 files match a/portolan.yaml"), "{said}");
    assert!(said.contains("+++ b/b/coder-apps.tf"), "{said}");
    assert!(
        said.contains("rendered files differ from b/portolan.yaml"),
        "{said}"
    );
}

/// The README's `.pre-commit-config.yaml` works as written: it passes on the rendered specs and
/// fails on a hand edit.
#[test]
fn the_readmes_pre_commit_config_works() {
    let Some(pre_commit) = common::tool("pre-commit") else {
        return;
    };
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let config = readme
        .split("```yaml\n")
        .filter_map(|block| block.split_once("```").map(|(yaml, _)| yaml))
        .find(|yaml| yaml.starts_with("# .pre-commit-config.yaml"))
        .expect("README has a .pre-commit-config.yaml block");
    let (project, home) = (project(), tempfile::tempdir().unwrap());
    std::fs::write(project.path().join(".pre-commit-config.yaml"), config).unwrap();
    git(project.path(), &["add", "-A"]);
    let run = || {
        run_pre_commit(
            &pre_commit,
            project.path(),
            home.path(),
            &["run", "--all-files", "--verbose"],
        )
    };
    let out = run();
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("2 files match b/portolan.yaml"), "{said}");
    hand_edit(project.path());
    git(project.path(), &["add", "-A"]);
    let out = run();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}
