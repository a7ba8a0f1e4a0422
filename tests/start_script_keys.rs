//! RSA key and key set secrets (`generate: rsa_2048`, `generate: jwks`), made by the rendered
//! start script with the real `openssl`: the key is a 2048-bit PKCS#8 PEM key, the key set is
//! valid JSON whose modulus and exponent are the key's, both survive a restart unchanged, the key
//! reaches a process's environment with its line breaks, and neither is printed or written to an
//! env file.

mod common;

use common::keys::{base64url, hex, openssl};

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const SPEC: &str = r#"name: keys
services:
  auth:
    run: auth-server --port ${port:auth.http}
    ports:
      http: 8080
    env:
      JWT_PRIVATE_KEY: ${secret:JWT_PRIVATE_KEY}
      JWKS: ${secret:JWKS}
apps:
  auth:
    target: auth.http
    subdomain: false
env_files:
  .env.local:
    JWKS: ${secret:JWKS}
secrets:
  JWT_PRIVATE_KEY:
    generate: rsa_2048
  JWKS:
    generate: jwks
    key: JWT_PRIVATE_KEY
"#;

struct Workspace {
    dir: tempfile::TempDir,
    bin: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("portolan.yaml"), SPEC).unwrap();
        let output = common::portolan()
            .arg("render")
            .arg(dir.path().join("portolan.yaml"))
            .arg("--out")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "render failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let bin = tempfile::tempdir().unwrap();
        // The server writes the environment it got where the test can read it, and exits.
        stub(
            bin.path(),
            "auth-server",
            r#"printf '%s' "$JWT_PRIVATE_KEY" >"$SEEN/key"; printf '%s' "$JWKS" >"$SEEN/jwks""#,
        );
        stub(bin.path(), "curl", "printf 200");
        Workspace { dir, bin }
    }

    /// Starts the workspace as after a restart (the server of the last start is gone); returns
    /// the script's output once the server has written what it saw.
    fn start(&self) -> Output {
        let _ = std::fs::remove_file(self.dir.path().join(".portolan/auth.pid"));
        let seen = self.dir.path().join("seen");
        let _ = std::fs::remove_dir_all(&seen);
        std::fs::create_dir(&seen).unwrap();
        let path = format!(
            "{}:{}",
            self.bin.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let output = Command::new("bash")
            .arg(self.dir.path().join("start-workspace.sh"))
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("SEEN", &seen)
            .env("PORTOLAN_HEALTH_TIMEOUT", "2")
            .output()
            .unwrap();
        for _ in 0..100 {
            if seen.join("jwks").exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        output
    }

    fn seen(&self, what: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("seen").join(what))
            .unwrap_or_else(|e| panic!("the server saw no {what}: {e}"))
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(file)).unwrap()
    }
}

fn stub(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The key set's one key, checked against the PEM key it publishes.
fn assert_key_set_of(jwks: &str, key: &str) {
    let set: serde_json::Value = serde_json::from_str(jwks).expect("the key set is JSON");
    let keys = set["keys"].as_array().expect("a `keys` array");
    assert_eq!(keys.len(), 1, "{jwks}");
    let jwk = &keys[0];
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["use"], "sig");
    let modulus = openssl(&["rsa", "-noout", "-modulus"], key);
    let n = base64url(jwk["n"].as_str().expect("n"));
    assert_eq!(n.len(), 256, "a 2048-bit modulus without a leading zero");
    assert_eq!(format!("Modulus={}\n", hex(&n)), modulus);
    assert_eq!(base64url(jwk["e"].as_str().expect("e")), [1, 0, 1]);
}

#[test]
fn the_key_is_pkcs8_rsa_and_the_key_set_publishes_it() {
    let ws = Workspace::new();
    common::assert_shell_accepts(&ws.dir.path().join("start-workspace.sh"), "start script");
    let first = ws.start();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let key = ws.seen("key");
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{key}");
    assert!(key.ends_with("\n-----END PRIVATE KEY-----"), "{key}");
    let text = openssl(&["pkey", "-noout", "-text"], &key);
    assert!(text.contains("Private-Key: (2048 bit"), "{text}");
    assert!(text.contains("publicExponent: 65537"), "{text}");
    let jwks = ws.seen("jwks");
    assert_key_set_of(&jwks, &key);

    // Kept on one line in secrets.env, only there; the key set is derived, never stored.
    let stored = ws.read(".portolan/secrets.env");
    let lines: Vec<&str> = stored.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        [format!("JWT_PRIVATE_KEY={}", key.replace('\n', "\\n"))]
    );
    let env = ws.read(".env");
    assert!(
        !env.contains("JWT_PRIVATE_KEY") && !env.contains("PRIVATE KEY"),
        "{env}"
    );
    let local = ws.read(".env.local");
    assert!(local.contains(&format!("JWKS='{jwks}'")), "{local}");
    assert!(!local.contains("PRIVATE"), "{local}");

    // Never printed.
    let body: String = key.lines().nth(1).unwrap().to_owned();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(!said.contains(&body) && !said.contains(&jwks), "{said}");

    // A second start keeps both.
    let second = ws.start();
    assert!(second.status.success());
    assert_eq!(ws.seen("key"), key);
    assert_eq!(ws.seen("jwks"), jwks);
    assert_eq!(ws.read(".portolan/secrets.env"), stored);

    // Without secrets.env a new key is made, and the key set follows it.
    std::fs::remove_file(ws.dir.path().join(".portolan/secrets.env")).unwrap();
    let third = ws.start();
    assert!(
        third.status.success(),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
    let new_key = ws.seen("key");
    assert_ne!(new_key, key);
    assert_key_set_of(&ws.seen("jwks"), &new_key);
}

#[test]
fn a_key_that_is_not_a_pem_key_stops_the_start() {
    let ws = Workspace::new();
    std::fs::create_dir_all(ws.dir.path().join(".portolan")).unwrap();
    let secrets = ws.dir.path().join(".portolan/secrets.env");
    std::fs::write(&secrets, "JWT_PRIVATE_KEY=not a key\n").unwrap();
    let output = ws.start();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot read the public key of JWT_PRIVATE_KEY"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not a key"),
        "the value is not printed: {stderr}"
    );
}
