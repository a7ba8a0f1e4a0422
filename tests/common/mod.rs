//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod keys;
pub mod sandbox;
#[cfg(feature = "probe")]
pub mod servers;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The examples shipped in `examples/`, each with a `portolan.yaml`.
pub const EXAMPLES: &[&str] = &["convex-selfhosted", "code-server-nextjs", "minio-worker"];

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether this build has the subcommand `args` runs: a check-only build
/// (`--no-default-features`) has no `probe`.
#[allow(dead_code)]
pub fn in_this_build(args: &[&str]) -> bool {
    cfg!(feature = "probe") || args.first() != Some(&"probe")
}

pub fn portolan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portolan"))
}

/// Finds an external tool on PATH. In CI (`CI=true`) a missing tool fails the test; elsewhere the
/// test is skipped with a notice.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("`{name}` is not installed; .ci/run installs it");
        }
        eprintln!("skipped: `{name}` is not installed");
    }
    found
}

/// Asserts that `bash -n` parses `script`; `what` names it in the failure.
pub fn assert_bash_parses(script: &Path, what: &str) {
    let syntax = Command::new("bash").arg("-n").arg(script).output().unwrap();
    assert!(
        syntax.status.success(),
        "{what}: bash -n: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );
}

/// Asserts that `bash -n` and shellcheck (when installed; required in CI) accept `script`.
pub fn assert_shell_accepts(script: &Path, what: &str) {
    assert_bash_parses(script, what);
    if let Some(shellcheck) = tool("shellcheck") {
        let lint = Command::new(shellcheck).arg(script).output().unwrap();
        assert!(
            lint.status.success(),
            "{what}: shellcheck:\n{}",
            String::from_utf8_lossy(&lint.stdout)
        );
    }
}

/// Renders an example into a fresh temporary folder with the binary.
pub fn render_example(example: &str, extra: &[&str]) -> tempfile::TempDir {
    let out = tempfile::tempdir().expect("tempdir");
    let spec = root().join("examples").join(example).join("portolan.yaml");
    let status = portolan()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(out.path())
        .args(extra)
        .output()
        .expect("run portolan");
    assert!(
        status.status.success(),
        "render {example} failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    out
}

/// Every file below `dir`, relative, sorted.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).expect("prefix").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// One line per finding of a check: `path:line:col: severity[rule]: message`, sorted.
pub fn finding_lines(result: &portolan::check::CheckResult) -> Vec<String> {
    let (sources, findings) = result.merged();
    let mut out: Vec<String> = findings
        .iter()
        .map(|d| {
            let (start, _) = sources.resolve(d.primary.span);
            format!(
                "{}:{}:{}: {}[{}]: {}",
                sources.path(d.primary.span).display(),
                start.line,
                start.column,
                d.severity.as_str(),
                d.rule.unwrap_or("parse"),
                d.message
            )
        })
        .collect();
    out.sort();
    out
}
