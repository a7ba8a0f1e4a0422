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
