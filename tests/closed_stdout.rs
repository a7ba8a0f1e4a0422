//! A closed stdout (`portolan rules | head -0`) ends every subcommand quietly, the way ripgrep
//! does: exit 0, no panic message, nothing on stderr about the pipe.

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
fn every_subcommand_ends_quietly_on_a_closed_stdout() {
    let root = common::root();
    let incident = root.join("tests/fixtures/convex-incident");
    let spec = root.join("examples/convex-selfhosted/portolan.yaml");
    let out = tempfile::tempdir().unwrap();
    // A workspace whose one app points at a closed port: probe has a report to print.
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
    let out = out.path().to_str().unwrap();
    let probed = probed.path().to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["rules"],
        vec!["rules", "env-undefined-reference"],
        vec!["schema"],
        vec!["completions", "bash"],
        vec!["completions", "zsh"],
        vec!["check", incident],
        vec!["check", incident, "--format", "json"],
        vec!["check", incident, "--format", "sarif"],
        vec!["check", incident, "--format", "github"],
        vec!["render", spec, "--out", out, "--check"],
        vec!["probe", probed, "--timeout", "2"],
        vec!["probe", probed, "--timeout", "2", "--format", "json"],
        vec!["--help"],
    ];
    let mut failures = Vec::new();
    for args in cases {
        let output = with_closed_stdout(&args, &root);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let code = output.status.code();
        if stderr.contains("panicked") || stderr.contains("Broken pipe") || code != Some(0) {
            failures.push(format!("portolan {args:?}: exit {code:?}\n{stderr}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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
