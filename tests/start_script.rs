//! The rendered start script, run for real with `docker`, `curl` and the `run` programs replaced by
//! stubs on PATH: it writes env files with this workspace's origins, keeps secrets across runs,
//! starts compose and the processes, and names the service whose healthcheck never passes.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use portolan::render::header::{ownership, Ownership};

fn stub(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A folder of stubs: `docker` and `pnpm` record their arguments; `curl` answers the status
/// listed for a URL in `codes` (one `URL STATUS` per line), or fails to connect.
fn stubs(dir: &Path) {
    stub(
        dir,
        "docker",
        r#"printf '%s\n' "$*" >>"$STUB_LOG/docker"
case "$1 $2" in
  "compose ps") echo cafe ;;
  "inspect --format") echo healthy ;;
esac
exit 0"#,
    );
    stub(dir, "pnpm", r#"printf '%s\n' "$*" >>"$STUB_LOG/pnpm""#);
    stub(
        dir,
        "curl",
        r#"url=${!#}
while read -r u code; do
  if [[ $u == "$url" ]]; then printf '%s' "$code"; exit 0; fi
done <"$STUB_LOG/codes"
printf '000'
exit 7"#,
    );
}

struct Workspace {
    dir: tempfile::TempDir,
    log: tempfile::TempDir,
    bin: tempfile::TempDir,
}

impl Workspace {
    fn convex() -> Self {
        let dir = common::render_example("convex-selfhosted", &[]);
        let log = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        stubs(bin.path());
        Workspace { dir, log, bin }
    }

    fn answer(&self, codes: &str) {
        std::fs::write(self.log.path().join("codes"), codes).unwrap();
    }

    fn run(&self, coder: Option<(&str, &str)>) -> Output {
        let path = format!(
            "{}:{}",
            self.bin.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        cmd.arg(self.dir.path().join("start-workspace.sh"))
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("STUB_LOG", self.log.path())
            .env("PORTOLAN_HEALTH_TIMEOUT", "2")
            .env("PORTOLAN_WILDCARD_DOMAIN", "coder.test");
        if let Some((workspace, owner)) = coder {
            cmd.env("CODER_WORKSPACE_NAME", workspace)
                .env("CODER_WORKSPACE_OWNER_NAME", owner);
        }
        cmd.output().unwrap()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap()
    }

    fn env_value(&self, file: &str, key: &str) -> Option<String> {
        self.read(file)
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_owned))
    }

    /// Waits for a background stub to record its call.
    fn wait_for_log(&self, name: &str) -> String {
        let path = self.log.path().join(name);
        for _ in 0..100 {
            if let Ok(text) = std::fs::read_to_string(&path) {
                if !text.is_empty() {
                    return text;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("{name} was never started");
    }
}

const ALL_HEALTHY: &str =
    "http://localhost:3210/version 200\nhttp://localhost:6791/ 307\nhttp://localhost:5173/ 404\n";

fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "start script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn writes_coder_origins_into_every_env_file() {
    let ws = Workspace::convex();
    ws.answer(ALL_HEALTHY);
    let output = ws.run(Some(("Chat", "Alice")));
    assert_ok(&output);

    let api = "https://convex-api--chat--alice.coder.test";
    let site = "https://convex-site--chat--alice.coder.test";
    assert_eq!(
        ws.env_value(".env.local", "VITE_CONVEX_URL").as_deref(),
        Some(api)
    );
    assert_eq!(
        ws.env_value(".env.local", "VITE_CONVEX_SITE_URL")
            .as_deref(),
        Some(site)
    );
    assert_eq!(
        ws.env_value(".env", "ORIGIN_CONVEX_API").as_deref(),
        Some(api)
    );
    assert_eq!(
        ws.env_value(".env", "ORIGIN_CONVEX_SITE").as_deref(),
        Some(site)
    );
    // The CLI reaches the backend on the workspace's localhost.
    assert_eq!(
        ws.env_value(".env.convex.local", "CONVEX_SELF_HOSTED_URL")
            .as_deref(),
        Some("http://localhost:3210")
    );
    for file in [
        ".env",
        ".env.local",
        ".env.convex.local",
        ".portolan/secrets.env",
    ] {
        let mode = std::fs::metadata(ws.dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    for file in [".env", ".env.local", ".env.convex.local"] {
        assert_eq!(
            ownership(&ws.read(file)),
            Ownership::Untouched,
            "{file} header hash"
        );
    }
    let secret = ws.env_value(".env", "INSTANCE_SECRET").unwrap();
    assert_eq!(secret.len(), 64);
    assert!(secret.chars().all(|c| c.is_ascii_hexdigit()));

    let docker = std::fs::read_to_string(ws.log.path().join("docker")).unwrap();
    assert!(
        docker.contains("compose -p convex-ai-chat -f docker-compose.yml up -d"),
        "{docker}"
    );
    let pnpm = ws.wait_for_log("pnpm");
    assert_eq!(pnpm.trim(), "dev --host 0.0.0.0 --port 5173 --strictPort");
}

#[test]
fn secrets_survive_a_second_start() {
    let ws = Workspace::convex();
    ws.answer(ALL_HEALTHY);
    assert_ok(&ws.run(Some(("chat", "alice"))));
    let first = ws.env_value(".env", "INSTANCE_SECRET").unwrap();
    assert_ok(&ws.run(Some(("chat", "alice"))));
    assert_eq!(ws.env_value(".env", "INSTANCE_SECRET").unwrap(), first);
}

#[test]
fn outside_coder_origins_are_localhost_and_match_what_render_wrote() {
    let ws = Workspace::convex();
    let rendered = ws.read(".env.local");
    ws.answer(ALL_HEALTHY);
    assert_ok(&ws.run(None));
    let written = ws.read(".env.local");
    let body = |text: &str| text.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&written), body(&rendered));
    assert_eq!(
        ws.env_value(".env", "ORIGIN_CONVEX_SITE").as_deref(),
        Some("http://localhost:3211")
    );
}

#[test]
fn names_the_service_whose_healthcheck_never_passes() {
    let ws = Workspace::convex();
    // The backend never answers; the others do.
    ws.answer("http://localhost:6791/ 200\nhttp://localhost:5173/ 200\n");
    let output = ws.run(Some(("chat", "alice")));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("backend did not answer http://localhost:3210/version"),
        "{stderr}"
    );
    assert!(stderr.contains("failed: backend"), "{stderr}");
    assert!(!stderr.contains("failed: backend dashboard"), "{stderr}");
}

#[test]
fn render_again_keeps_env_files_the_start_script_wrote() {
    // The env files the start script wrote hold this workspace's origins and secrets: rendering
    // again (with or without --force) leaves them alone and says so.
    let ws = Workspace::convex();
    ws.answer(ALL_HEALTHY);
    assert_ok(&ws.run(Some(("chat", "alice"))));
    let api = "https://convex-api--chat--alice.coder.test";
    let site = "https://convex-site--chat--alice.coder.test";
    let secret = ws.env_value(".env", "INSTANCE_SECRET").unwrap();
    let before: Vec<String> = [
        ".env",
        ".env.local",
        ".env.convex.local",
        ".portolan/secrets.env",
    ]
    .iter()
    .map(|f| ws.read(f))
    .collect();
    let spec = common::root().join("examples/convex-selfhosted/portolan.yaml");
    for extra in [&[][..], &["--force"][..]] {
        let output = common::portolan()
            .arg("render")
            .arg(&spec)
            .arg("--out")
            .arg(ws.dir.path())
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert!(
            stderr.contains(".env.local (written at workspace start"),
            "{stderr}"
        );
        assert_eq!(
            ws.env_value(".env.local", "VITE_CONVEX_URL").as_deref(),
            Some(api)
        );
        assert_eq!(
            ws.env_value(".env.local", "VITE_CONVEX_SITE_URL")
                .as_deref(),
            Some(site)
        );
        assert_eq!(
            ws.env_value(".env", "ORIGIN_CONVEX_API").as_deref(),
            Some(api)
        );
        assert_eq!(
            ws.env_value(".env", "INSTANCE_SECRET").as_deref(),
            Some(secret.as_str())
        );
        let after: Vec<String> = [
            ".env",
            ".env.local",
            ".env.convex.local",
            ".portolan/secrets.env",
        ]
        .iter()
        .map(|f| ws.read(f))
        .collect();
        assert_eq!(after, before, "{extra:?}");
    }
}
