//! Reading the RSA keys and key sets the start script makes: the real `openssl`, and base64url.

use std::io::Write;
use std::process::{Command, Stdio};

/// `openssl ARGS` with `input` on stdin: its stdout, or a panic naming what it said.
pub fn openssl(args: &[&str], input: &str) -> String {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Unpadded base64url (RFC 7515) decoded; a panic on any other character.
pub fn base64url(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => panic!("not base64url: {text}"),
    };
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        bits = (bits << 6) | u32::from(value(c));
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    out
}

/// Bytes as upper-case hex digits, as `openssl rsa -modulus` prints them.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The modulus of a key set's one key as `openssl rsa -noout -modulus` prints a key's.
pub fn jwks_modulus_line(jwks: &serde_json::Value) -> String {
    let n = jwks["keys"][0]["n"].as_str().expect("n");
    format!("Modulus={}\n", hex(&base64url(n)))
}
