//! `portolan probe` end to end on the binary, against real servers on 127.0.0.1.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

/// An HTTP server on a free port that answers 200 to everything, for as long as the test runs.
fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten().take(64) {
            let mut stream = stream;
            let mut buf = [0u8; 2048];
            let _ = stream.read(&mut buf);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    port
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn reports_each_chain_and_exits_1_when_one_is_broken() {
    let up = http_server();
    let down = closed_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        format!(
            "resource \"coder_app\" \"web\" {{\n  slug = \"web\"\n  url  = \"http://localhost:{up}\"\n}}\n\nresource \"coder_app\" \"api\" {{\n  slug = \"api\"\n  url  = \"http://localhost:{down}\"\n}}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("start.sh"),
        format!("#!/bin/sh\nuvicorn web:app --port {up} &\nuvicorn api:app --port {down} &\n"),
    )
    .unwrap();
    let out = common::portolan()
        .args(["probe", "--format", "json", "--timeout", "3"])
        .arg(dir.path())
        .env_remove("CODER_WORKSPACE_NAME")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let chain = |app: &str| {
        json["chains"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["app"] == app)
            .unwrap_or_else(|| panic!("no chain {app}: {json}"))
            .clone()
    };
    let web = chain("web");
    assert_eq!(web["first_broken"], serde_json::Value::Null, "{web}");
    let api = chain("api");
    assert_eq!(api["first_broken"], "listener", "{api}");
    assert_eq!(api["links"][0]["evidence"]["observed"]["kind"], "refused");
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside a Coder workspace"));

    // --only keeps one chain: the healthy one alone exits 0.
    let only = common::portolan()
        .args(["probe", "--only", "web", "--timeout", "3"])
        .arg(dir.path())
        .env_remove("CODER_WORKSPACE_NAME")
        .output()
        .unwrap();
    assert_eq!(
        only.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&only.stdout)
    );
    assert!(String::from_utf8_lossy(&only.stdout).contains("web"));
    // The folder is outside the working folder: its files are named by their absolute paths,
    // as `check` names them.
    let main_tf = format!("{}/main.tf:", dir.path().display());
    assert!(
        String::from_utf8_lossy(&only.stdout).contains(&main_tf),
        "{}",
        String::from_utf8_lossy(&only.stdout)
    );
}

#[test]
fn exit_2_when_there_is_nothing_to_probe() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.tf"), "variable \"x\" {}\n").unwrap();
    let out = common::portolan()
        .arg("probe")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let unknown = common::portolan()
        .args(["probe", "--only", "nope"])
        .arg(common::root().join("tests/fixtures/convex-incident"))
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no app or variable named nope"));
}

/// A server that accepts connections and never answers, for as long as the test runs.
fn hanging_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().flatten().take(64).collect();
        drop(held);
    });
    port
}

/// The deadline passes while the published port hangs: the run could not finish, so it is not
/// whole, exits 2 and names the links it did not reach, in both formats.
#[test]
fn deadline_that_cuts_the_run_short_exits_2_naming_the_links_not_reached() {
    let port = hanging_server();
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("s.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: p\nservices:\n  api:\n    run: serve --port ${{port:api.http}}\n    ports:\n      http: {port}\napps:\n  api:\n    target: api.http\n    healthcheck: /health\n"
        ),
    )
    .unwrap();
    let probe = |format: &str| {
        common::portolan()
            .args([
                "probe",
                "--timeout",
                "5",
                "--deadline",
                "2",
                "--format",
                format,
                "--spec",
            ])
            .arg(&spec)
            .env_remove("CODER_WORKSPACE_NAME")
            .output()
            .unwrap()
    };

    let human = probe("human");
    let stdout = String::from_utf8_lossy(&human.stdout);
    let stderr = String::from_utf8_lossy(&human.stderr);
    assert_eq!(human.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(!stdout.contains("every chain is whole"), "{stdout}");
    assert!(stderr.contains("could not finish"), "{stderr}");
    let not_reached = stdout
        .split_once("not reached before the deadline:\n")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no list of links not reached: {stdout}"));
    assert!(
        not_reached.contains(&format!("api: published localhost:{port}")),
        "{stdout}"
    );
    assert!(
        not_reached.contains(&format!("api: healthcheck localhost:{port}/health")),
        "{stdout}"
    );
    assert!(stderr.contains("api published"), "{stderr}");

    let json = probe("json");
    assert_eq!(json.status.code(), Some(2));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["whole"], false, "{value}");
    assert_eq!(value["complete"], false, "{value}");
    assert_eq!(value["summary"]["links"]["not_reached"], 2, "{value}");
    let chain = &value["chains"][0];
    assert_eq!(chain["whole"], false, "{chain}");
    assert_eq!(
        chain["not_reached"],
        serde_json::json!(["published", "healthcheck"]),
        "{chain}"
    );
    assert_eq!(chain["links"][1]["verdict"], "not_reached", "{chain}");
    assert_eq!(chain["links"][0]["verdict"], "ok", "{chain}");
}

/// `--timeout` and `--deadline` out of range (`18446744073709551615` would overflow the clock)
/// are refused at the command line, naming the flag and the range: exit 2, never a panic. The
/// longest allowed still runs.
#[test]
fn absurd_timeouts_and_deadlines_are_refused_not_a_panic() {
    let down = closed_port();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        format!("resource \"coder_app\" \"web\" {{\n  slug = \"web\"\n  url  = \"http://localhost:{down}\"\n}}\n"),
    )
    .unwrap();
    let probe = |flag: &str, value: &str| {
        common::portolan()
            .current_dir(dir.path())
            .args(["probe", ".", flag, value])
            .env_remove("CODER_WORKSPACE_NAME")
            .output()
            .unwrap()
    };
    for flag in ["--deadline", "--timeout"] {
        for value in ["18446744073709551615", "86401", "99999999999"] {
            let out = probe(flag, value);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{flag} {value}: {stderr}");
            assert!(
                stderr.contains(&format!("invalid value '{value}' for '{flag}"))
                    && stderr.contains("86400")
                    && !stderr.contains("panicked"),
                "{flag} {value}: {stderr}"
            );
        }
        let out = probe(flag, "86400");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flag} 86400: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// Runs `portolan probe --spec SPEC` on a pseudo-terminal (util-linux `script`) with `env` set,
/// and returns everything the terminal got: stdout and stderr together, escapes included.
fn probe_on_a_terminal(spec: &std::path::Path, env: &[(&str, &str)]) -> Option<String> {
    let script = common::tool("script")?;
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let command = format!(
        "{} probe --spec {} --timeout 1 --deadline 5",
        quote(env!("CARGO_BIN_EXE_portolan")),
        quote(&spec.display().to_string()),
    );
    let mut run = std::process::Command::new(script);
    run.args(["-q", "-e", "-c", &command, "/dev/null"])
        .env_remove("CODER_WORKSPACE_NAME")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env("TERM", "xterm-256color");
    for (key, value) in env {
        run.env(key, value);
    }
    let out = run.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `text` has an SGR escape (colour, bold, dim).
fn has_colour(text: &str) -> bool {
    text.split('\x1b').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|r| {
            let end = r.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            end.is_some_and(|i| r[i..].starts_with('m'))
        })
    })
}

/// On a terminal, probe draws an indicatif progress bar on stderr while it runs, and clears it
/// before the report; in colour unless NO_COLOR is set. Piped, stderr holds only the notes (the
/// `tests/cmd/probe-*` cases compare it whole).
#[test]
fn progress_bar_on_a_terminal_respects_no_color() {
    let spec = common::root().join("tests/cmd/probe-refused.in/portolan.yaml");
    let Some(coloured) = probe_on_a_terminal(&spec, &[]) else {
        return;
    };
    assert!(coloured.contains("/4 links  "), "{coloured:?}");
    assert!(has_colour(&coloured), "{coloured:?}");
    assert!(
        coloured.contains("first broken link per chain"),
        "{coloured:?}"
    );

    let plain = probe_on_a_terminal(&spec, &[("NO_COLOR", "1")]).unwrap();
    assert!(plain.contains("probing ["), "{plain:?}");
    assert!(plain.contains("/4 links  "), "{plain:?}");
    assert!(!has_colour(&plain), "{plain:?}");

    // The piped run: no bar, no escapes.
    let piped = common::portolan()
        .args(["probe", "--spec"])
        .arg(&spec)
        .args(["--timeout", "1", "--deadline", "5"])
        .env_remove("CODER_WORKSPACE_NAME")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(
        !stderr.contains("links  ") && !stderr.contains('\x1b'),
        "{stderr:?}"
    );
}
