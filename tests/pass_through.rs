//! `${env:NAME}`: a variable of the workspace's environment passed through to compose services,
//! `run` processes and env files. Rendered files are checked by the real tools (docker-compose,
//! shellcheck, bash) and the start script is run with `docker` stubbed.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{portolan, tool};

const SPEC: &str = r#"name: demo
services:
  db-client:
    image: postgres:16
    command: ["psql", "${env:POSTGRES_URL}"]
    env:
      POSTGRES_URL: ${env:POSTGRES_URL}
      PRICE: "costs $5, not $${PRICE}"
  web:
    run: "printf '%s|%s\n' \"$WEB_DB\" ${env:API_TOKEN} >\"$STUB_LOG/web\""
    ports: { http: 5173 }
    env:
      WEB_DB: ${env:POSTGRES_URL}
env_files:
  .env.local:
    DATABASE_URL: ${env:POSTGRES_URL}
    TOKEN: token=${env:API_TOKEN}
"#;

const DB_URL: &str = "postgres://app:p a\"s$s@db:5432/app";

fn render(spec: &str) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("portolan.yaml"), spec).unwrap();
    let output = portolan()
        .arg("render")
        .arg(dir.path().join("portolan.yaml"))
        .output()
        .unwrap();
    (dir, output)
}

fn rendered() -> tempfile::TempDir {
    let (dir, output) = render(SPEC);
    assert!(
        output.status.success(),
        "render: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    dir
}

#[test]
fn compose_interpolates_the_variable_and_fails_loudly_without_it() {
    let dir = rendered();
    let compose = std::fs::read_to_string(dir.path().join("docker-compose.yml")).unwrap();
    assert!(
        compose.contains(r#"POSTGRES_URL: "${POSTGRES_URL:?is passed through"#),
        "{compose}"
    );
    // A literal `$` stays escaped.
    assert!(
        compose.contains(r#"PRICE: "costs $$5, not $${PRICE}""#),
        "{compose}"
    );
    let Some(docker_compose) = tool("docker-compose") else {
        return;
    };
    let config = |value: Option<&str>| {
        let mut cmd = Command::new(&docker_compose);
        cmd.args(["config"])
            .current_dir(dir.path())
            .env_remove("POSTGRES_URL");
        if let Some(value) = value {
            cmd.env("POSTGRES_URL", value);
        }
        cmd.output().unwrap()
    };
    let set = config(Some(DB_URL));
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let resolved: serde_json::Value =
        serde_saphyr::from_str(&String::from_utf8_lossy(&set.stdout)).unwrap();
    let service = &resolved["services"]["db-client"];
    // `config` prints its result escaped again: `$$` is the container's `$`, taken once, not
    // interpolated a second time.
    let escaped = DB_URL.replace('$', "$$");
    assert_eq!(
        service["environment"]["POSTGRES_URL"].as_str(),
        Some(escaped.as_str())
    );
    assert_eq!(service["command"][1].as_str(), Some(escaped.as_str()));
    assert_eq!(
        service["environment"]["PRICE"].as_str(),
        Some("costs $$5, not $${PRICE}")
    );
    let unset = config(None);
    assert!(!unset.status.success());
    let stderr = String::from_utf8_lossy(&unset.stderr);
    assert!(
        stderr.contains("is passed through from the workspace's environment"),
        "{stderr}"
    );
}

#[test]
fn shellcheck_and_bash_accept_the_start_script() {
    let dir = rendered();
    common::assert_shell_accepts(&dir.path().join("start-workspace.sh"), "pass-through");
}

fn stub(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs the start script with `docker` stubbed: `compose up` records the POSTGRES_URL it sees.
fn start(dir: &Path, env: &[(&str, &str)]) -> (Output, tempfile::TempDir) {
    let bin = tempfile::tempdir().unwrap();
    let log = tempfile::tempdir().unwrap();
    stub(
        bin.path(),
        "docker",
        r#"if [[ " $* " == *" up "* ]]; then printf '%s' "${POSTGRES_URL-<unset>}" >"$STUB_LOG/up"; fi
exit 0"#,
    );
    let mut cmd = Command::new("bash");
    cmd.arg(dir.join("start-workspace.sh"))
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.path().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", dir)
        .env("STUB_LOG", log.path())
        .env("PORTOLAN_HEALTH_TIMEOUT", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    (cmd.output().unwrap(), log)
}

#[test]
fn the_start_script_passes_the_workspace_value_everywhere() {
    let dir = rendered();
    let (output, log) = start(
        dir.path(),
        &[("POSTGRES_URL", DB_URL), ("API_TOKEN", "plain-token")],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        !stderr.contains("p a\"s$s"),
        "a value was printed: {stderr}"
    );
    // compose up sees the workspace's value.
    let up = std::fs::read_to_string(log.path().join("up")).unwrap();
    assert_eq!(up, DB_URL);
    // The env file, read back by bash, holds it byte for byte.
    let read = Command::new("bash")
        .arg("-c")
        .arg("set -a; source .env.local; printf '%s\\n%s' \"$DATABASE_URL\" \"$TOKEN\"")
        .current_dir(dir.path())
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&read.stdout),
        format!("{DB_URL}\ntoken=plain-token")
    );
    // The run process got it through its env and its command line.
    let mut web = String::new();
    for _ in 0..100 {
        web = std::fs::read_to_string(log.path().join("web")).unwrap_or_default();
        if !web.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(web, format!("{DB_URL}|plain-token\n"));
    // `.env` is compose's: the passed-through value is not copied there.
    let dot_env = std::fs::read_to_string(dir.path().join(".env")).unwrap();
    assert!(!dot_env.contains("POSTGRES_URL"), "{dot_env}");
}

#[test]
fn a_missing_variable_stops_the_script_before_it_writes_or_starts_anything() {
    let dir = rendered();
    let before = std::fs::read_to_string(dir.path().join(".env.local")).unwrap();
    let (output, log) = start(dir.path(), &[("POSTGRES_URL", DB_URL), ("API_TOKEN", "")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not set in this workspace's environment: API_TOKEN"),
        "{stderr}"
    );
    assert!(!stderr.contains("POSTGRES_URL"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".env.local")).unwrap(),
        before
    );
    assert!(!dir.path().join(".portolan").exists());
    assert!(!log.path().join("up").exists());
}

#[test]
fn a_value_no_env_file_quoting_carries_stops_the_script_without_printing_it() {
    let dir = rendered();
    let before = std::fs::read_to_string(dir.path().join(".env.local")).unwrap();
    let (output, _log) = start(
        dir.path(),
        &[("POSTGRES_URL", "it's $ecret"), ("API_TOKEN", "t")],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("ecret"), "a value was printed: {stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".env.local")).unwrap(),
        before
    );
}

/// Each refused value, and the words its error must hold.
#[test]
fn a_dollar_brace_that_is_no_reference_is_refused_with_its_place_and_a_hint() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "POSTGRES_URL: ${POSTGRES_URL}",
            "portolan.yaml:7:21",
            &[
                "`${POSTGRES_URL}` is not a reference",
                "write `${env:POSTGRES_URL}`",
                "write `$${POSTGRES_URL}`",
            ],
        ),
        (
            "POSTGRES_URL: ${env.POSTGRES_URL}",
            "portolan.yaml:7:21",
            &["did you mean `${env:POSTGRES_URL}`?"],
        ),
        (
            "POSTGRES_URL: x-${VAR:-fallback}",
            "portolan.yaml:7:23",
            &["`${VAR:-fallback}` is not a reference", "`${env:VAR}`"],
        ),
        (
            "POSTGRES_URL: ${env:ORIGIN_API}",
            "portolan.yaml:7:21",
            &["cannot be passed through", "`ORIGIN_*`"],
        ),
        (
            "POSTGRES_URL: ${env:UID}",
            "portolan.yaml:7:21",
            &["bash sets it itself"],
        ),
        (
            "POSTGRES_URL: ${env:9X}",
            "portolan.yaml:7:21",
            &["needs a variable name"],
        ),
    ];
    for (line, place, words) in cases {
        let spec = SPEC.replace("POSTGRES_URL: ${env:POSTGRES_URL}", line);
        let (dir, output) = render(&spec);
        assert_eq!(output.status.code(), Some(2), "{line}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(place), "{line}: {stderr}");
        for word in *words {
            assert!(stderr.contains(word), "{line}: {word}: {stderr}");
        }
        assert!(!dir.path().join("docker-compose.yml").exists(), "{line}");
    }
    // `run` is shell code: the shell's own `${HOME}` stays, a mistyped reference does not.
    let spec = SPEC.replace("${env:API_TOKEN} >", "${HOME} ${HOME:-x} >");
    let (_dir, output) = render(&spec);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let spec = SPEC.replace("${env:API_TOKEN} >", "${env.API_TOKEN} >");
    let (_dir, output) = render(&spec);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("did you mean `${env:API_TOKEN}`?"));
}
