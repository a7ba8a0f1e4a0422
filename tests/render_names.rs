//! Names a project already uses, kept by render: a service's `container_name` and the compose
//! file's name and path (`compose: { file: ... }`). The rendered files pass the real tools, the
//! record, `render --check` and `check --spec` follow the file, and the start script runs
//! `docker compose` on it.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{files_below, portolan, tool};

/// A spec whose compose file lives at `file`, with fixed container names and an env file in a
/// subfolder.
fn spec(file: &str) -> String {
    format!(
        r#"name: convex
compose: {{ file: {file} }}
services:
  backend:
    image: ghcr.io/get-convex/convex-backend:latest
    container_name: convex-backend
    ports: {{ api: 3210, site: 3211 }}
    volumes: [ "./data:/convex/data" ]
    env:
      CONVEX_CLOUD_ORIGIN: ${{origin:backend.api}}
      CONVEX_SITE_ORIGIN: ${{origin:backend.site}}
    healthcheck: {{ port: api, path: /version }}
  dashboard:
    image: ghcr.io/get-convex/convex-dashboard:latest
    container_name: convex_dashboard.1
    ports: {{ http: 6791 }}
    env:
      NEXT_PUBLIC_DEPLOYMENT_URL: ${{origin:backend.api}}
    depends_on: [ backend ]
apps:
  convex-api: {{ target: backend.api, share: public }}
  convex-site: {{ target: backend.site, share: public }}
  convex: {{ target: dashboard.http }}
env_files:
  web/.env.local:
    VITE_CONVEX_URL: ${{origin:backend.api}}
"#
    )
}

/// Renders `spec(file)` into a fresh folder holding the spec too.
fn render(file: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("portolan.yaml"), spec(file)).unwrap();
    let out = run(dir.path(), &["render"]);
    assert!(out.status.success(), "render: {}", text(&out.stderr));
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    portolan().args(args).current_dir(dir).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn the_compose_file_is_written_where_the_spec_names_it() {
    let dir = render("infra/compose.yml");
    let files: Vec<String> = files_below(dir.path())
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        [
            ".portolan-render.yaml",
            "coder-apps.tf",
            "infra/compose.yml",
            "portolan.yaml",
            "start-workspace.sh",
            "web/.env.local",
        ]
    );
    let compose = read(dir.path(), "infra/compose.yml");
    insta::assert_snapshot!("names__infra_compose_yml", compose);
    let record = read(dir.path(), ".portolan-render.yaml");
    assert!(record.contains("  - \"infra/compose.yml\"\n"), "{record}");
    assert!(!record.contains("docker-compose.yml"), "{record}");
    let script = read(dir.path(), "start-workspace.sh");
    assert!(!script.contains("docker-compose.yml"), "{script}");
    assert!(
        script.contains("compose -p convex --project-directory . -f infra/compose.yml up -d"),
        "{script}"
    );
}

#[test]
fn a_compose_file_beside_the_spec_needs_no_project_directory() {
    let dir = render("docker-compose.convex.yml");
    let compose = read(dir.path(), "docker-compose.convex.yml");
    assert!(compose.contains("    container_name: \"convex-backend\"\n"));
    assert!(!compose.contains("--project-directory"), "{compose}");
    assert!(!dir.path().join("docker-compose.yml").exists());
    let script = read(dir.path(), "start-workspace.sh");
    assert!(script.contains("compose -p convex -f docker-compose.convex.yml up -d"));
    assert!(!script.contains("--project-directory"));
}

#[test]
fn render_check_and_check_spec_follow_the_compose_file() {
    let dir = render("infra/compose.yml");
    let clean = run(dir.path(), &["render", "--check"]);
    assert!(clean.status.success(), "{}", text(&clean.stderr));
    let clean = run(dir.path(), &["check", "--spec", "portolan.yaml", "."]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stdout));

    let path = dir.path().join("infra/compose.yml");
    let edited = read(dir.path(), "infra/compose.yml").replace("3211:3211", "3212:3211");
    std::fs::write(&path, edited).unwrap();
    let drift = run(dir.path(), &["render", "--check"]);
    assert_eq!(drift.status.code(), Some(1));
    let said = format!("{}{}", text(&drift.stdout), text(&drift.stderr));
    assert!(said.contains("infra/compose.yml"), "{said}");
    let drift = run(dir.path(), &["check", "--spec", "portolan.yaml", "."]);
    assert_eq!(drift.status.code(), Some(1));
    assert!(text(&drift.stdout).contains("infra/compose.yml"));

    std::fs::remove_file(&path).unwrap();
    let missing = run(dir.path(), &["render", "--check"]);
    assert_eq!(missing.status.code(), Some(1));
    let said = format!("{}{}", text(&missing.stdout), text(&missing.stderr));
    assert!(said.contains("infra/compose.yml"), "{said}");
}

#[test]
fn docker_compose_and_shellcheck_accept_what_is_rendered() {
    for file in ["infra/compose.yml", "docker-compose.convex.yml"] {
        let dir = render(file);
        common::assert_shell_accepts(&dir.path().join("start-workspace.sh"), file);
        let Some(compose) = tool("docker-compose") else {
            continue;
        };
        // Run as the start script runs it, from the project folder.
        let mut args = vec!["-p", "convex"];
        if file.contains('/') {
            args.extend(["--project-directory", "."]);
        }
        args.extend(["-f", file, "config"]);
        let out = Command::new(&compose)
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        let config = text(&out.stdout);
        assert!(
            config.contains("container_name: convex-backend"),
            "{config}"
        );
        assert!(config.contains("container_name: convex_dashboard.1"));
        // Bind mounts are the project folder's, wherever the compose file is.
        let data = std::fs::canonicalize(dir.path()).unwrap().join("data");
        assert!(
            config.contains(&format!("{}:/convex/data", data.display()))
                || config.contains(&format!("source: {}", data.display())),
            "{file}: {config}"
        );
    }
}

fn stub(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn the_start_script_runs_compose_on_the_named_file() {
    for (file, flags) in [
        (
            "infra/compose.yml",
            "-p convex --project-directory . -f infra/compose.yml",
        ),
        (
            "docker-compose.convex.yml",
            "-p convex -f docker-compose.convex.yml",
        ),
    ] {
        let dir = render(file);
        let bin = tempfile::tempdir().unwrap();
        let log = tempfile::tempdir().unwrap();
        // docker records its arguments and its folder; every URL answers 200.
        stub(
            bin.path(),
            "docker",
            r#"printf '%s | %s\n' "$PWD" "$*" >>"$STUB_LOG/docker"
case "$1 $2" in
  "compose ps") echo cafe ;;
  "inspect --format") echo healthy ;;
esac
exit 0"#,
        );
        stub(bin.path(), "curl", "printf 200");
        let output = Command::new("bash")
            .arg(dir.path().join("start-workspace.sh"))
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bin.path().display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("HOME", dir.path())
            .env("STUB_LOG", log.path())
            .env("PORTOLAN_HEALTH_TIMEOUT", "2")
            .env("PORTOLAN_WILDCARD_DOMAIN", "coder.test")
            .env("CODER_WORKSPACE_NAME", "chat")
            .env("CODER_WORKSPACE_OWNER_NAME", "alice")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{file}: start script failed:\n{}",
            text(&output.stderr)
        );
        let calls = std::fs::read_to_string(log.path().join("docker")).unwrap();
        let project = std::fs::canonicalize(dir.path()).unwrap();
        let up = format!("{} | compose {flags} up -d", project.display());
        assert!(
            calls.lines().any(|l| l == up),
            "{file}: no `{up}` in\n{calls}"
        );
        // Every compose call names the file; none the default.
        let compose_calls = calls
            .lines()
            .filter(|l| l.contains("| compose ") && !l.ends_with("| compose version"));
        for call in compose_calls {
            assert!(call.contains(&format!(" -f {file} ")), "{call}");
        }
        assert!(!calls.contains("docker-compose.yml"), "{calls}");
        // The env file in a subfolder was written with this workspace's origin.
        let env = read(dir.path(), "web/.env.local");
        assert!(
            env.contains("VITE_CONVEX_URL=https://convex-api--main--chat--alice.coder.test"),
            "{env}"
        );
    }
}
