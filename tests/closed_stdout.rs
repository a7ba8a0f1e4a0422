//! A closed stdout (`portolan rules | head -0`) ends every subcommand quietly, the way ripgrep
//! does: no panic message, nothing on stderr about the pipe, and the exit code the command would
//! have given with its output read (`set -o pipefail; portolan check . | head` still fails a CI
//! job on errors).

mod common;

use std::process::{Output, Stdio};

/// Runs the binary with stdout a pipe whose reading end is closed before the process starts.
fn with_closed_stdout(args: &[&str], dir: &std::path::Path) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    common::portolan()
        .args(args)
        .current_dir(dir)
        .env_remove("CODER_WORKSPACE_NAME")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run portolan")
}

#[test]
fn every_subcommand_ends_quietly_on_a_closed_stdout_with_its_verdict() {
    let root = common::root();
    let incident = root.join("tests/fixtures/convex-incident");
    let spec = root.join("examples/convex-selfhosted/portolan.yaml");
    let clean = tempfile::tempdir().unwrap();
    std::fs::write(clean.path().join("start.sh"), "echo hi\n").unwrap();
    // Nothing rendered there yet: `render --check` finds every file missing.
    let out = tempfile::tempdir().unwrap();
    // A workspace whose one app points at a closed port: probe has a broken chain to report.
    let probed = tempfile::tempdir().unwrap();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    std::fs::write(
        probed.path().join("main.tf"),
        format!("resource \"coder_app\" \"web\" {{\n  slug = \"web\"\n  url  = \"http://localhost:{closed}\"\n}}\n"),
    )
    .unwrap();
    let incident = incident.to_str().unwrap();
    let spec = spec.to_str().unwrap();
    let clean = clean.path().to_str().unwrap();
    let out = out.path().to_str().unwrap();
    let probed = probed.path().to_str().unwrap();
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["rules"], 0),
        (vec!["rules", "env-undefined-reference"], 0),
        (vec!["schema"], 0),
        (vec!["completions", "bash"], 0),
        (vec!["completions", "zsh"], 0),
        (vec!["check", clean], 0),
        (vec!["check", clean, "--format", "json"], 0),
        (vec!["check", incident], 1),
        (vec!["check", incident, "--format", "json"], 1),
        (vec!["check", incident, "--format", "sarif"], 1),
        (vec!["check", incident, "--format", "github"], 1),
        (vec!["render", spec, "--out", out, "--check"], 1),
        (vec!["probe", probed, "--timeout", "2"], 1),
        (
            vec!["probe", probed, "--timeout", "2", "--format", "json"],
            1,
        ),
        (vec!["--help"], 0),
    ];
    let mut failures = Vec::new();
    for (args, verdict) in cases.into_iter().filter(|(a, _)| common::in_this_build(a)) {
        let output = with_closed_stdout(&args, &root);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let code = output.status.code();
        if stderr.contains("panicked") || stderr.contains("Broken pipe") || code != Some(verdict) {
            failures.push(format!(
                "portolan {args:?}: exit {code:?}, expected {verdict}\n{stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A probe that could not finish (its deadline passed with links not reached) says so with
/// exit 2 whether or not its report could be written.
#[test]
#[cfg(feature = "probe")]
fn a_probe_that_could_not_finish_exits_2_on_a_closed_stdout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and never answers.
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().collect();
        drop(held);
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        format!("resource \"coder_app\" \"web\" {{\n  slug = \"web\"\n  url  = \"http://localhost:{port}\"\n}}\n"),
    )
    .unwrap();
    let dir = dir.path().to_str().unwrap();
    for format in ["human", "json"] {
        let args = [
            "probe",
            dir,
            "--timeout",
            "5",
            "--deadline",
            "1",
            "--format",
            format,
        ];
        let output = with_closed_stdout(&args, &common::root());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("could not finish") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}

/// Any other write error on stdout (a full disk) is said, with exit 2, never a panic.
#[test]
fn a_failing_stdout_is_an_error_not_a_panic() {
    let full = std::path::Path::new("/dev/full");
    if !full.exists() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    for args in [vec!["schema"], vec!["completions", "bash"], vec!["rules"]] {
        let output = common::portolan()
            .args(&args)
            .stdout(std::fs::OpenOptions::new().write(true).open(full).unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "portolan {args:?}: {stderr}");
        assert!(
            stderr.contains("error: cannot write to stdout") && !stderr.contains("panicked"),
            "portolan {args:?}: {stderr}"
        );
    }
}
