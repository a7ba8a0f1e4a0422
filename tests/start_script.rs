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
if [[ "$1 $2" == "compose -p" && " $* " == *" up "* ]]; then
  printf '%s\n' "${INSTANCE_SECRET-<unset>}" >>"$STUB_LOG/compose-up-secret"
fi
case "$1 $2" in
  "compose ps") echo cafe ;;
  "inspect --format") echo healthy ;;
esac
if [[ " $* " == *" exec -T backend "* ]]; then echo 'convex-ai-chat|01admin'; fi
exit 0"#,
    );
    stub(dir, "pnpm", r#"printf '%s\n' "$*" >>"$STUB_LOG/pnpm""#);
    stub(dir, "npx", r#"printf '%s\n' "$*" >>"$STUB_LOG/npx""#);
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
        ws.env_value(".env.local", "CONVEX_SELF_HOSTED_URL")
            .as_deref(),
        Some("http://localhost:3210")
    );
    for file in [".env", ".env.local", ".portolan/secrets.env"] {
        let mode = std::fs::metadata(ws.dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    for file in [".env", ".env.local"] {
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
    // The packages are installed by a task; the frontend starts after the deploy.
    let mut pnpm = ws.wait_for_log("pnpm");
    for _ in 0..100 {
        if pnpm.lines().count() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        pnpm = ws.wait_for_log("pnpm");
    }
    assert_eq!(
        pnpm.lines().collect::<Vec<_>>(),
        ["install", "dev --host 0.0.0.0 --port 5173 --strictPort"]
    );
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
    // The admin key is made at start: render leaves it empty.
    let body = |text: &str| {
        text.lines()
            .skip(1)
            .filter(|l| !l.starts_with("CONVEX_SELF_HOSTED_ADMIN_KEY="))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(body(&written), body(&rendered));
    assert_eq!(
        ws.env_value(".env.local", "CONVEX_SELF_HOSTED_ADMIN_KEY")
            .as_deref(),
        Some("'convex-ai-chat|01admin'")
    );
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
    let before: Vec<String> = [".env", ".env.local", ".portolan/secrets.env"]
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
        let after: Vec<String> = [".env", ".env.local", ".portolan/secrets.env"]
            .iter()
            .map(|f| ws.read(f))
            .collect();
        assert_eq!(after, before, "{extra:?}");
    }
}

// --- Secrets, env files and permissions for any spec ------------------------------------------

/// A workspace rendered from the spec text `yaml`.
impl Workspace {
    fn from_spec(yaml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("portolan.yaml"), yaml).unwrap();
        let output = render(dir.path());
        assert!(
            output.status.success(),
            "render failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let log = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        stubs(bin.path());
        std::fs::write(log.path().join("codes"), "").unwrap();
        Workspace { dir, log, bin }
    }

    /// The start script as a command with stubs on PATH, outside Coder, run by `sh -c PRELUDE`.
    fn command_with(&self, prelude: &str) -> Command {
        let path = format!(
            "{}:{}",
            self.bin.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("{prelude}\nexec bash \"$0\""))
            .arg(self.dir.path().join("start-workspace.sh"))
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("STUB_LOG", self.log.path())
            .env("PORTOLAN_HEALTH_TIMEOUT", "2");
        cmd
    }

    fn start(&self) -> Output {
        self.command_with(":").output().unwrap()
    }

    /// Every `NAME=VALUE` line of secrets.env (VALUE: everything after the first `=`).
    fn stored_secrets(&self) -> Vec<(String, String)> {
        self.read(".portolan/secrets.env")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once('=').expect("NAME=VALUE");
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }
}

fn render(dir: &Path) -> Output {
    common::portolan()
        .arg("render")
        .arg(dir.join("portolan.yaml"))
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap()
}

/// The values of `keys` as bash reads them with `source FILE`.
fn bash_values(file: &Path, keys: &[&str]) -> Vec<String> {
    let output = Command::new("bash")
        .arg("-c")
        .arg(r#"f=$1; shift; source "$f" || exit 9; for k in "$@"; do printf '%s\0' "${!k-<unset>}"; done"#)
        .arg("_")
        .arg(file)
        .args(keys)
        .env_clear()
        .env("HOME", "/nonexistent-home")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "bash could not source {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    split_nul(&output.stdout)
}

fn split_nul(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut values: Vec<String> = text.split('\0').map(str::to_owned).collect();
    values.pop();
    values
}

/// The values of `keys` as python-dotenv reads them, if python-dotenv is installed.
fn dotenv_values(file: &Path, keys: &[&str]) -> Option<Vec<String>> {
    let python = common::tool("python3")?;
    let probe = Command::new(&python)
        .args(["-c", "import dotenv"])
        .output()
        .unwrap();
    if !probe.status.success() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("python-dotenv is not installed; .ci/run installs it");
        }
        eprintln!("skipped: python-dotenv is not installed");
        return None;
    }
    let output = Command::new(&python)
        .arg("-c")
        .arg("import sys, dotenv\nv = dotenv.dotenv_values(sys.argv[1])\nfor k in sys.argv[2:]:\n    sys.stdout.write((v.get(k) if v.get(k) is not None else '<unset>') + '\\0')")
        .arg(file)
        .args(keys)
        .env_clear()
        .env("HOME", "/nonexistent-home")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(split_nul(&output.stdout))
}

/// The values of `keys` in a service's environment as `docker-compose config` reads `file`, both as
/// the service's `env_file` and as `.env` for interpolation.
fn compose_values(file: &Path, keys: &[&str]) -> Option<(Vec<String>, Vec<String>)> {
    let compose = common::tool("docker-compose")?;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(file, dir.path().join("x.env")).unwrap();
    std::fs::copy(file, dir.path().join(".env")).unwrap();
    let mut yaml = String::from(
        "services:\n  s:\n    image: busybox\n    env_file: x.env\n    environment:\n",
    );
    for k in keys {
        yaml.push_str(&format!("      INTERPOLATED_{k}: ${{{k}}}\n"));
    }
    std::fs::write(dir.path().join("docker-compose.yml"), yaml).unwrap();
    let output = Command::new(compose)
        .arg("config")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "docker-compose config: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let config: serde_json::Value =
        serde_saphyr::from_str(&String::from_utf8(output.stdout).unwrap()).unwrap();
    let env = &config["services"]["s"]["environment"];
    // `config` prints a literal `$` as `$$`.
    let get = |k: String| {
        env[&k]
            .as_str()
            .map(|v| v.replace("$$", "$"))
            .unwrap_or_else(|| "<unset>".to_owned())
    };
    Some((
        keys.iter().map(|k| get(k.to_string())).collect(),
        keys.iter()
            .map(|k| get(format!("INTERPOLATED_{k}")))
            .collect(),
    ))
}

/// Asserts that bash, python-dotenv and docker-compose read `want` from `file`.
fn assert_every_reader_sees(file: &Path, want: &[(&str, &str)]) {
    let keys: Vec<&str> = want.iter().map(|(k, _)| *k).collect();
    let values: Vec<String> = want.iter().map(|(_, v)| v.to_string()).collect();
    let text = std::fs::read_to_string(file).unwrap();
    assert_eq!(bash_values(file, &keys), values, "bash source of:\n{text}");
    if let Some(read) = dotenv_values(file, &keys) {
        assert_eq!(read, values, "python-dotenv of:\n{text}");
    }
    if let Some((env_file, interpolated)) = compose_values(file, &keys) {
        assert_eq!(env_file, values, "docker-compose env_file of:\n{text}");
        assert_eq!(interpolated, values, "docker-compose .env of:\n{text}");
    }
}

const GENERATED_SECRETS: &str = r#"name: secrets
coder: { agent: main }
secrets:
  B64: { generate: base64_32 }
  HEX16: { generate: hex16 }
  HEX32: { generate: hex32 }
env_files:
  app.env:
    B64: ${secret:B64}
    HEX16: ${secret:HEX16}
    HEX32: ${secret:HEX32}
  web/deep/app.env:
    DSN: postgres://u:${secret:B64}@db/x
"#;

fn decoded_len(base64: &str) -> usize {
    let mut child = Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(base64.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "not base64: {base64}");
    output.stdout.len()
}

/// The secrets as each file holds them: secrets.env, `.env`, and the env files that use them.
fn assert_secrets_agree(ws: &Workspace) -> Vec<(String, String)> {
    let stored = ws.stored_secrets();
    let names: Vec<&str> = stored.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["B64", "HEX16", "HEX32"], "one line per secret");
    let values: Vec<&str> = stored.iter().map(|(_, v)| v.as_str()).collect();
    let want: Vec<(&str, &str)> = names.iter().copied().zip(values.iter().copied()).collect();
    assert_every_reader_sees(&ws.dir.path().join(".env"), &want);
    assert_every_reader_sees(&ws.dir.path().join("app.env"), &want);
    assert_every_reader_sees(
        &ws.dir.path().join("web/deep/app.env"),
        &[("DSN", &format!("postgres://u:{}@db/x", values[0]))],
    );
    assert_eq!(decoded_len(values[0]), 32, "{}", values[0]);
    assert!(values[1].len() == 32 && values[1].chars().all(|c| c.is_ascii_hexdigit()));
    assert!(values[2].len() == 64 && values[2].chars().all(|c| c.is_ascii_hexdigit()));
    stored
}

#[test]
fn generated_secrets_are_identical_on_every_start() {
    let ws = Workspace::from_spec(GENERATED_SECRETS);
    common::assert_shell_accepts(
        &ws.dir.path().join("start-workspace.sh"),
        "start-workspace.sh",
    );
    assert_ok(&ws.start());
    let first = assert_secrets_agree(&ws);
    let first_file = ws.read(".portolan/secrets.env");
    for _ in 0..2 {
        assert_ok(&ws.start());
        assert_eq!(assert_secrets_agree(&ws), first);
        assert_eq!(ws.read(".portolan/secrets.env"), first_file);
    }
}

#[test]
fn concurrent_starts_generate_each_secret_once() {
    let ws = Workspace::from_spec(GENERATED_SECRETS);
    let children: Vec<_> = (0..6)
        .map(|_| {
            ws.command_with(":")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        assert_ok(&child.wait_with_output().unwrap());
    }
    assert_secrets_agree(&ws);
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn under_umask_000_nothing_is_group_or_world_writable_and_secrets_are_private() {
    let spec = format!(
        "{GENERATED_SECRETS}services:\n  worker:\n    run: pnpm worker --key ${{secret:HEX16}}\n    ports: {{ http: 4000 }}\n"
    );
    let ws = Workspace::from_spec(&spec);
    let before = common::files_below(ws.dir.path());
    let output = ws.command_with("umask 000").output().unwrap();
    assert_ok(&output);
    ws.wait_for_log("pnpm");
    let state = ws.dir.path().join(".portolan");
    assert_eq!(mode(&state), 0o700, ".portolan holds the secrets");
    for private in [
        ".portolan/secrets.env",
        ".env",
        "app.env",
        "web/deep/app.env",
        ".portolan/worker.pid",
        ".portolan/logs/worker.log",
    ] {
        assert_eq!(mode(&ws.dir.path().join(private)), 0o600, "{private}");
    }
    // Everything else the script made: folders at most 0755, files at most 0644.
    let mut made = vec![
        state.join("logs"),
        ws.dir.path().join("web"),
        ws.dir.path().join("web/deep"),
    ];
    made.extend(
        common::files_below(ws.dir.path())
            .into_iter()
            .filter(|f| !before.contains(f))
            .map(|f| ws.dir.path().join(f)),
    );
    for path in made {
        assert_eq!(
            mode(&path) & 0o022,
            0,
            "{} is {:o}",
            path.display(),
            mode(&path)
        );
    }
}

#[test]
fn secrets_named_like_script_variables_keep_their_own_values() {
    // Names the start script uses for its own variables.
    let names = [
        "secrets_file",
        "state_dir",
        "key",
        "value",
        "line",
        "failed",
        "scheme",
        "domain",
        "body",
        "hash",
        "tmp",
        "path",
        "secret_lines",
        "generated",
        "env_body",
        "env_body_1",
        "user_umask",
        "workspace",
        "owner",
        "label",
        "deadline",
    ];
    let mut spec = String::from(
        "name: clash\ncoder: { agent: main }\nservices:\n  web:\n    run: pnpm dev\n    ports: { http: 3000 }\n    healthcheck: { port: http, path: / }\napps:\n  web: { target: web.http }\nsecrets:\n",
    );
    for name in names {
        spec.push_str(&format!("  {name}: {{ generate: hex16 }}\n"));
    }
    spec.push_str("env_files:\n  app.env:\n    WEB: ${origin:web.http}\n");
    for name in names {
        spec.push_str(&format!("    {name}: ${{secret:{name}}}\n"));
    }
    let ws = Workspace::from_spec(&spec);
    common::assert_shell_accepts(
        &ws.dir.path().join("start-workspace.sh"),
        "start-workspace.sh",
    );
    ws.answer("http://localhost:3000/ 200\n");
    let output = ws.start();
    assert_ok(&output);
    assert_eq!(ws.wait_for_log("pnpm").trim(), "dev");
    let stored = ws.stored_secrets();
    let stored_names: Vec<&str> = stored.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(stored_names, names);
    assert_eq!(
        ws.env_value("app.env", "WEB").as_deref(),
        Some("http://localhost:3000")
    );
    for (name, v) in &stored {
        assert!(
            v.len() == 32 && v.chars().all(|c| c.is_ascii_hexdigit()),
            "{v}"
        );
        assert_eq!(ws.env_value("app.env", name).as_ref(), Some(v), "{name}");
        assert_eq!(ws.env_value(".env", name).as_ref(), Some(v), "{name}");
    }
    // A second start reads the same values back.
    assert_ok(&ws.start());
    assert_eq!(ws.stored_secrets(), stored);
}

#[test]
fn secrets_named_like_shell_docker_or_coder_variables_are_refused_at_load() {
    let names = [
        "PATH",
        "IFS",
        "HOME",
        "SECONDS",
        "BASH_ENV",
        "DOCKER_HOST",
        "COMPOSE_FILE",
        "CODER_AGENT_TOKEN",
        "PORTOLAN_SCHEME",
        "portolan_secret",
        "LC_ALL",
        "http_proxy",
    ];
    let mut spec = String::from("name: clash\ncoder: { agent: main }\nsecrets:\n");
    for name in names {
        spec.push_str(&format!("  {name}: {{ generate: hex16 }}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("portolan.yaml"), spec).unwrap();
    let output = render(dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for (i, name) in names.iter().enumerate() {
        assert!(
            stderr.contains(&format!("portolan.yaml:{}:3", i + 4)),
            "{name}: {stderr}"
        );
        assert!(stderr.contains(&format!("secret `{name}`")), "{stderr}");
    }
    assert!(!dir.path().join("start-workspace.sh").exists());
}

/// The variables bash sets itself, as the real bash says (`compgen -v` in an empty environment),
/// with the special ones it may list only once used: none may name a secret.
#[test]
fn bash_own_variables_are_refused_as_secret_names() {
    let listed = Command::new("env")
        .args(["-i", "bash", "--norc", "--noprofile", "-c", "compgen -v"])
        .output()
        .unwrap();
    assert!(listed.status.success());
    let mut names: Vec<String> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(names.iter().any(|n| n == "BASHPID"), "{names:?}");
    for name in [
        "EPOCHSECONDS",
        "EPOCHREALTIME",
        "SRANDOM",
        "FUNCNAME",
        "GROUPS",
        "HISTCMD",
        "BASHPID",
        "PIPESTATUS",
        "REPLY",
        "COLUMNS",
        "LINES",
        "OPTARG",
        "MAPFILE",
        "COPROC",
        "READLINE_LINE",
    ] {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    let mut spec = String::from("name: clash\ncoder: { agent: main }\nsecrets:\n");
    for name in &names {
        spec.push_str(&format!("  {name}: {{ generate: hex16 }}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("portolan.yaml"), spec).unwrap();
    let output = render(dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for (i, name) in names.iter().enumerate() {
        let at = format!("portolan.yaml:{}:3: error: secret `{name}`", i + 4);
        assert!(stderr.contains(&at), "{name}: {stderr}");
    }
    assert!(!dir.path().join("start-workspace.sh").exists());
}

#[test]
fn a_secret_may_not_take_the_name_of_an_app_origin() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "name: clash\ncoder: { agent: main }\nservices:\n  web:\n    run: pnpm dev\n    ports: { http: 3000 }\napps:\n  web: { target: web.http }\nsecrets:\n  ORIGIN_WEB: { generate: hex16 }\n";
    std::fs::write(dir.path().join("portolan.yaml"), spec).unwrap();
    let output = render(dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("portolan.yaml:10:3"), "{stderr}");
    assert!(stderr.contains("ORIGIN_WEB"), "{stderr}");
    assert!(!dir.path().join("start-workspace.sh").exists());
}

/// Text that env file readers disagree on unless it is quoted with care.
const PLAIN_HOSTILE: &str = "a $b `c` \"d\" \\e f #g =h\tx\ny  ";
/// With a `'`, which single quotes cannot hold.
const QUOTE_HOSTILE: &str = "it's \"q\" \\ back\\n # h = x ";

fn hostile_spec(extra: &str) -> String {
    let yaml = |s: &str| serde_json::to_string(s).unwrap();
    format!(
        "name: hostile\ncoder: {{ agent: main }}\nservices:\n  web:\n    run: pnpm dev\n    ports: {{ http: 3000 }}\napps:\n  web: {{ target: web.http }}\nsecrets:\n  S: {{ generate: hex16 }}\nenv_files:\n  hostile.env:\n    PLAIN: {}\n    QUOTE: {}\n    ORIGIN: {}\n    SECRET: {}\n{extra}",
        yaml(PLAIN_HOSTILE),
        yaml(QUOTE_HOSTILE),
        yaml(&format!("${{origin:web.http}}/{PLAIN_HOSTILE}")),
        yaml(&format!("u:${{secret:S}}@{QUOTE_HOSTILE}")),
    )
}

fn hostile_values(origin: &str, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("PLAIN", PLAIN_HOSTILE.to_owned()),
        ("QUOTE", QUOTE_HOSTILE.to_owned()),
        ("ORIGIN", format!("{origin}/{PLAIN_HOSTILE}")),
        ("SECRET", format!("u:{secret}@{QUOTE_HOSTILE}")),
    ]
}

fn assert_hostile_file(file: &Path, want: &[(&'static str, String)]) {
    let want: Vec<(&str, &str)> = want.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_every_reader_sees(file, &want);
}

#[test]
fn hostile_env_values_read_back_alike_in_bash_compose_and_dotenv() {
    let ws = Workspace::from_spec(&hostile_spec(""));
    common::assert_shell_accepts(
        &ws.dir.path().join("start-workspace.sh"),
        "start-workspace.sh",
    );
    let file = ws.dir.path().join("hostile.env");
    // As render writes it: localhost origins, secrets not known yet.
    assert_hostile_file(&file, &hostile_values("http://localhost:3000", ""));
    let rendered = ws.read("hostile.env");

    // As the start script writes it, outside Coder: the same bytes apart from the secret.
    assert_ok(&ws.start());
    let secret = ws.stored_secrets()[0].1.clone();
    assert_hostile_file(&file, &hostile_values("http://localhost:3000", &secret));
    let lines = |text: &str| -> Vec<String> {
        text.lines()
            .skip(1)
            .filter(|l| !l.starts_with("SECRET="))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(lines(&ws.read("hostile.env")), lines(&rendered));

    // And inside a workspace, with its origins.
    let output = ws
        .command_with(":")
        .env("CODER_WORKSPACE_NAME", "ws")
        .env("CODER_WORKSPACE_OWNER_NAME", "me")
        .env("PORTOLAN_WILDCARD_DOMAIN", "coder.test")
        .output()
        .unwrap();
    assert_ok(&output);
    let origin = bash_values(&ws.dir.path().join(".env"), &["ORIGIN_WEB"]).remove(0);
    assert_eq!(origin, "https://web--main--ws--me.coder.test");
    assert_hostile_file(&file, &hostile_values(&origin, &secret));
}

#[test]
fn an_env_value_no_quoting_carries_is_refused_at_load_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let spec = hostile_spec("    BAD: \"it's $HOME\"\n");
    std::fs::write(dir.path().join("portolan.yaml"), &spec).unwrap();
    let output = render(dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let line = spec.lines().position(|l| l.contains("BAD:")).unwrap() + 1;
    assert!(
        stderr.contains(&format!("portolan.yaml:{line}:10")),
        "{stderr}"
    );
    assert!(stderr.contains("`BAD`"), "{stderr}");
    assert!(!dir.path().join("hostile.env").exists());
}

#[test]
fn a_stored_secret_no_quoting_carries_stops_the_script_before_any_env_file_changes() {
    let ws = Workspace::from_spec(&hostile_spec(""));
    assert_ok(&ws.start());
    let before: Vec<String> = [".env", "hostile.env"].iter().map(|f| ws.read(f)).collect();
    // A hand edit puts a value in secrets.env that env files cannot hold alike for every reader.
    std::fs::write(
        ws.dir.path().join(".portolan/secrets.env"),
        "S=it's $HOME\n",
    )
    .unwrap();
    let output = ws.start();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("error: S has a"), "{stderr}");
    let after: Vec<String> = [".env", "hostile.env"].iter().map(|f| ws.read(f)).collect();
    assert_eq!(after, before);
}

#[test]
fn an_env_value_with_a_carriage_return_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let spec = hostile_spec("    CR: \"a\\rb\"\n");
    std::fs::write(dir.path().join("portolan.yaml"), &spec).unwrap();
    let output = render(dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let line = spec.lines().position(|l| l.contains("CR:")).unwrap() + 1;
    assert!(
        stderr.contains(&format!("portolan.yaml:{line}:9")),
        "{stderr}"
    );
    assert!(stderr.contains("carriage return"), "{stderr}");
    assert!(!dir.path().join("hostile.env").exists());
}

#[test]
fn a_stored_secret_with_a_carriage_return_stops_the_script_before_any_env_file_changes() {
    let ws = Workspace::from_spec(&hostile_spec(""));
    assert_ok(&ws.start());
    let before: Vec<String> = [".env", "hostile.env"].iter().map(|f| ws.read(f)).collect();
    // secrets.env saved with Windows line endings.
    let secrets = ws.read(".portolan/secrets.env").replace('\n', "\r\n");
    std::fs::write(ws.dir.path().join(".portolan/secrets.env"), secrets).unwrap();
    let output = ws.start();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("error: S holds a carriage return"),
        "{stderr}"
    );
    let after: Vec<String> = [".env", "hostile.env"].iter().map(|f| ws.read(f)).collect();
    assert_eq!(after, before);
}

#[test]
fn without_flock_the_script_says_so_and_writes_no_secret() {
    let ws = Workspace::from_spec(GENERATED_SECRETS);
    // A PATH with every program of the system but flock.
    let bin = tempfile::tempdir().unwrap();
    for dir in ["/usr/bin", "/bin"] {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let name = entry.file_name();
            if name != "flock" && !bin.path().join(&name).exists() {
                std::os::unix::fs::symlink(entry.path(), bin.path().join(&name)).unwrap();
            }
        }
    }
    let output = ws
        .command_with(":")
        .env(
            "PATH",
            format!("{}:{}", ws.bin.path().display(), bin.path().display()),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: flock (util-linux) is needed"),
        "{stderr}"
    );
    assert!(!ws.dir.path().join(".portolan/secrets.env").exists());
    assert!(!ws.dir.path().join(".env").exists());
}

/// A seeded walk over values made of the characters env file readers treat specially: whatever
/// `env_quote` accepts, render and the start script write the same bytes, and bash, docker
/// compose and python-dotenv read back the value.
#[test]
fn every_value_env_quote_accepts_reads_back_alike() {
    use portolan::render::value::env_quote;
    const ALPHABET: &[char] = &[
        'a', 'Z', '0', ' ', '\t', '\n', '\'', '"', '$', '`', '\\', '#', '=', '{', '}', ':', '-',
        '!', '*', ';', '(', 'é',
    ];
    let mut state: u64 = 0x5eed_1234_abcd_0007;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut accepted: Vec<String> = Vec::new();
    let mut forms = std::collections::BTreeSet::new();
    let mut refused = 0;
    while accepted.len() < 150 {
        let len = (next() % 12) as usize;
        let value: String = (0..len)
            .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
            .collect();
        if value.contains("${") {
            // A reference in spec syntax; `$${` writes it literally, which env files refuse.
            refused += 1;
            continue;
        }
        match env_quote(&value) {
            Ok(form) => {
                forms.insert(format!("{form:?}"));
                accepted.push(value);
            }
            Err(_) => refused += 1,
        }
    }
    assert!(refused > 0, "the walk never reached a refused value");
    assert_eq!(
        forms.len(),
        3,
        "the walk wrote values in every form: {forms:?}"
    );
    let mut spec = String::from("name: walk\ncoder: { agent: main }\nenv_files:\n  walk.env:\n");
    for (i, value) in accepted.iter().enumerate() {
        spec.push_str(&format!(
            "    V{i}: {}\n",
            serde_json::to_string(value).unwrap()
        ));
    }
    let ws = Workspace::from_spec(&spec);
    let names: Vec<String> = (0..accepted.len()).map(|i| format!("V{i}")).collect();
    let want: Vec<(&str, &str)> = names
        .iter()
        .map(String::as_str)
        .zip(accepted.iter().map(String::as_str))
        .collect();
    let file = ws.dir.path().join("walk.env");
    assert_every_reader_sees(&file, &want);
    let body = |text: String| text.lines().skip(1).collect::<Vec<_>>().join("\n");
    let rendered = body(ws.read("walk.env"));
    assert_ok(&ws.start());
    assert_eq!(body(ws.read("walk.env")), rendered);
    assert_every_reader_sees(&file, &want);
}

#[test]
fn compose_gets_this_starts_secret_over_a_stale_one_in_the_environment() {
    let ws = Workspace::convex();
    ws.answer(ALL_HEALTHY);
    let output = ws
        .command_with(":")
        .env("INSTANCE_SECRET", "stale")
        .output()
        .unwrap();
    assert_ok(&output);
    let stored = ws.stored_secrets();
    assert_eq!(stored[0].0, "INSTANCE_SECRET");
    let seen = std::fs::read_to_string(ws.log.path().join("compose-up-secret")).unwrap();
    assert_eq!(seen.trim(), stored[0].1);
}
