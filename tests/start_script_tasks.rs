//! The start script's steps after the services are up, run for real on the Convex example with
//! `docker`, `curl`, `npx` and `pnpm` replaced by stubs on PATH: the admin key a command prints
//! is kept and written where it is used, tasks run in order once the backend is healthy and once
//! per workspace, `set` hands each value to its command, a failure names the task and what it
//! skips, and no secret reaches the script's output or the logs it writes. Two starts at once
//! take turns: each once-task runs once, and nothing the script leaves running holds the lock.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// What the stubbed backend prints for `./generate_admin_key.sh`: the key is the last line.
const ADMIN_KEY: &str = "convex-ai-chat|01f3c0ffee5ec12e7";

fn stub(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Stubs that append what they are asked to `$STUB_LOG/order`, one line a call: `docker`
/// (compose; `exec` prints a line of noise, the admin key and a blank line), `curl` (answers the
/// status listed for a URL in `codes`, and records `healthy URL`), `npx` (records its arguments
/// and the admin key it got; fails with status 3 when its second argument is listed in
/// `npx-fails`) and `pnpm`. `docker ... exec` and `npx` take a second when their first or
/// second argument is listed in `slow`. With a file `linger`, the admin key's command and
/// `pnpm install` leave a `sleep` running, and `pnpm dev` becomes one: each records its pid in
/// `lingering`.
fn stubs(dir: &Path) {
    stub(
        dir,
        "docker",
        &format!(
            r#"printf 'docker %s\n' "$*" >>"$STUB_LOG/order"
case "$1 $2" in
  "compose ps") echo cafe ;;
  "inspect --format") echo healthy ;;
esac
if [[ " $* " == *" exec -T backend "* ]]; then
  printf 'project=%s\n' "${{COMPOSE_PROJECT_NAME-}}" >>"$STUB_LOG/exec-env"
  if [[ -f $STUB_LOG/slow ]] && grep -qx exec "$STUB_LOG/slow"; then sleep "$(cat "$STUB_LOG/slow-seconds" 2>/dev/null || echo 1)"; fi
  if [[ -f $STUB_LOG/linger ]]; then
    sleep 30 >/dev/null 2>&1 </dev/null &
    echo $! >>"$STUB_LOG/lingering"
  fi
  echo 'Admin key:'
  echo '{ADMIN_KEY}'
  echo
fi
exit 0"#
        ),
    );
    stub(
        dir,
        "curl",
        r#"url=${!#}
while read -r u code; do
  if [[ $u == "$url" ]]; then
    printf 'healthy %s\n' "$url" >>"$STUB_LOG/order"
    printf '%s' "$code"
    exit 0
  fi
done <"$STUB_LOG/codes"
printf '000'
exit 7"#,
    );
    stub(
        dir,
        "npx",
        r#"all="$*"
printf 'npx %s\n' "${all//$'\n'/\\n}" >>"$STUB_LOG/order"
printf '%s\0' "$@" >>"$STUB_LOG/npx-argv"
calls=("$STUB_LOG"/npx-call-*)
[[ -e ${calls[0]} ]] || calls=()
printf '%s\0' "$@" >"$STUB_LOG/npx-call-$(printf '%03d' "${#calls[@]}")"
printf '%s\n' "${CONVEX_SELF_HOSTED_ADMIN_KEY-<unset>}" >>"$STUB_LOG/npx-admin-key"
printf 'project=%s file=%s\n' "${COMPOSE_PROJECT_NAME-}" "${COMPOSE_FILE-}" >>"$STUB_LOG/npx-env"
if [[ -f $STUB_LOG/slow ]] && grep -qx -- "$2" "$STUB_LOG/slow"; then sleep "$(cat "$STUB_LOG/slow-seconds" 2>/dev/null || echo 1)"; fi
echo "npx ran $2"
if [[ -f $STUB_LOG/npx-fails ]] && grep -qx -- "$2" "$STUB_LOG/npx-fails"; then
  echo "npx: $2 failed" >&2
  exit 3
fi
exit 0"#,
    );
    stub(
        dir,
        "pnpm",
        r#"printf 'pnpm %s\n' "$*" >>"$STUB_LOG/order"
if [[ -f $STUB_LOG/linger ]]; then
  if [[ $1 == dev ]]; then
    echo $$ >>"$STUB_LOG/lingering"
    exec sleep 30
  fi
  sleep 30 >/dev/null 2>&1 </dev/null &
  echo $! >>"$STUB_LOG/lingering"
fi"#,
    );
}

const ALL_HEALTHY: &str =
    "http://localhost:3210/version 200\nhttp://localhost:6791/ 307\nhttp://localhost:5173/ 404\n";

struct Workspace {
    dir: tempfile::TempDir,
    log: tempfile::TempDir,
    bin: tempfile::TempDir,
}

impl Workspace {
    fn convex() -> Self {
        Self::from_dir(common::render_example("convex-selfhosted", &[]))
    }

    /// The Convex example with `edit` applied to its spec.
    fn convex_with(edit: impl Fn(&str) -> String) -> Self {
        let spec = common::root().join("examples/convex-selfhosted/portolan.yaml");
        let text = edit(&std::fs::read_to_string(spec).unwrap());
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("portolan.yaml"), text).unwrap();
        let out = tempfile::tempdir().unwrap();
        let render = common::portolan()
            .arg("render")
            .arg(src.path().join("portolan.yaml"))
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        assert!(
            render.status.success(),
            "{}",
            String::from_utf8_lossy(&render.stderr)
        );
        Self::from_dir(out)
    }

    fn from_dir(dir: tempfile::TempDir) -> Self {
        let log = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        stubs(bin.path());
        let ws = Workspace { dir, log, bin };
        ws.answer(ALL_HEALTHY);
        ws
    }

    fn answer(&self, codes: &str) {
        std::fs::write(self.log.path().join("codes"), codes).unwrap();
    }

    /// The start script as Coder runs it for `owner`'s workspace, its output captured.
    fn command(&self, owner: &str) -> Command {
        let path = format!(
            "{}:{}",
            self.bin.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new("bash");
        command
            .arg(self.dir.path().join("start-workspace.sh"))
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("STUB_LOG", self.log.path())
            .env("PORTOLAN_HEALTH_TIMEOUT", "2")
            .env("PORTOLAN_WILDCARD_DOMAIN", "coder.test")
            .env("CODER_WORKSPACE_NAME", "chat")
            .env("CODER_WORKSPACE_OWNER_NAME", owner)
            .env("PORTOLAN_LOCK_TIMEOUT", "30")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn run(&self, owner: &str) -> Output {
        let output = self.command(owner).output().unwrap();
        // The frontend starts in the background: wait for it to record its call.
        if output.status.success() {
            self.wait_for("pnpm dev");
        }
        output
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap()
    }

    fn stub_log(&self, name: &str) -> String {
        std::fs::read_to_string(self.log.path().join(name)).unwrap_or_default()
    }

    fn env_value(&self, file: &str, key: &str) -> Option<String> {
        self.read(file)
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_owned))
    }

    /// The calls recorded in `order`, without the healthchecks of services no step waits for.
    fn order(&self) -> Vec<String> {
        self.stub_log("order")
            .lines()
            .filter(|l| {
                !l.starts_with("docker compose version")
                    && !l.contains("localhost:6791")
                    && !l.contains("localhost:5173")
            })
            .map(str::to_owned)
            .collect()
    }

    /// The `npx` calls recorded so far, but those that set the auth keys, whose values are
    /// this workspace's own (`the_auth_keys_reach_convex_env_set` checks them).
    fn npx(&self) -> Vec<String> {
        self.order()
            .into_iter()
            .filter(|l| {
                l.starts_with("npx ")
                    && !l.starts_with("npx convex env set JWT_PRIVATE_KEY -- ")
                    && !l.starts_with("npx convex env set JWKS -- ")
            })
            .collect()
    }

    /// Each `npx` call's arguments, in the order of the calls.
    fn npx_calls(&self) -> Vec<Vec<String>> {
        let mut names: Vec<_> = std::fs::read_dir(self.log.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("npx-call-"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|n| {
                let text = self.stub_log(n);
                let mut args: Vec<String> = text.split('\0').map(str::to_owned).collect();
                args.pop();
                args
            })
            .collect()
    }

    fn wait_for(&self, call: &str) {
        for _ in 0..200 {
            if self.stub_log("order").lines().any(|l| l.starts_with(call)) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("{call} was never started");
    }

    /// Every file the start script wrote under `.portolan/logs/`, by name.
    fn logs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(self.dir.path().join(".portolan/logs")).unwrap() {
            let entry = entry.unwrap();
            out.push((
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(entry.path()).unwrap(),
            ));
        }
        out.sort();
        out
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "start script failed:\n{}",
        stderr(output)
    );
}

const SITE_URL: &str = "https://app--chat--alice.coder.test";

#[test]
fn tasks_run_in_order_once_the_backend_is_healthy() {
    let ws = Workspace::convex();
    let output = ws.run("alice");
    assert_ok(&output);
    let order = ws.order();
    let at = |prefix: &str| {
        order
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` in {order:#?}"))
    };
    let healthy = at("healthy http://localhost:3210/version");
    let exec = at("docker compose -p convex-ai-chat -f docker-compose.yml exec -T backend sh -c ./generate_admin_key.sh");
    let env_set = at("npx convex env set");
    let deploy = at("npx convex deploy --yes");
    let frontend = at("pnpm dev --host 0.0.0.0 --port 5173 --strictPort");
    assert!(
        at("docker compose -p convex-ai-chat -f docker-compose.yml up -d") < healthy,
        "{order:#?}"
    );
    assert!(
        healthy < exec && exec < env_set && env_set < deploy && deploy < frontend,
        "{order:#?}"
    );
    // Each value reaches the command as NAME -- VALUE.
    assert_eq!(
        ws.npx(),
        [
            format!("npx convex env set SITE_URL -- {SITE_URL}"),
            "npx convex deploy --yes".to_owned()
        ]
    );
    // The tasks got the admin key, and the compose project of the stack the script started.
    assert_eq!(
        ws.stub_log("npx-admin-key").lines().collect::<Vec<_>>(),
        [ADMIN_KEY, ADMIN_KEY, ADMIN_KEY, "<unset>"]
    );
    let compose_file = ws.dir.path().join("docker-compose.yml");
    assert!(ws
        .stub_log("npx-env")
        .lines()
        .all(|l| l == format!("project=convex-ai-chat file={}", compose_file.display())));
    for (name, text) in [
        ("task-convex-env.log", "npx ran env\n".repeat(3).as_str()),
        ("task-deploy.log", "npx ran deploy\n"),
    ] {
        assert_eq!(ws.read(&format!(".portolan/logs/{name}")), text);
        let mode = std::fs::metadata(ws.dir.path().join(".portolan/logs").join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[test]
fn the_admin_key_is_kept_and_written_where_it_is_used() {
    let ws = Workspace::convex();
    assert_ok(&ws.run("alice"));
    let secrets = ws.read(".portolan/secrets.env");
    assert!(
        secrets
            .lines()
            .any(|l| l == format!("CONVEX_ADMIN_KEY={ADMIN_KEY}")),
        "{secrets}"
    );
    assert_eq!(
        ws.env_value(".env.local", "CONVEX_SELF_HOSTED_ADMIN_KEY"),
        Some(format!("'{ADMIN_KEY}'"))
    );
    // Compose never needs it: `.env` holds the generated secrets only.
    assert_eq!(ws.env_value(".env", "CONVEX_ADMIN_KEY"), None);
    assert!(ws.env_value(".env", "INSTANCE_SECRET").is_some());
    // The file is still portolan's own, with its header.
    assert_eq!(
        portolan::render::header::ownership(&ws.read(".env.local")),
        portolan::render::header::Ownership::Untouched
    );
}

#[test]
fn a_second_start_keeps_the_secrets_and_does_not_repeat_once_tasks() {
    let ws = Workspace::convex();
    assert_ok(&ws.run("alice"));
    let secrets = ws.read(".portolan/secrets.env");
    let npx = ws.npx();
    let output = ws.run("alice");
    assert_ok(&output);
    assert_eq!(ws.read(".portolan/secrets.env"), secrets);
    assert_eq!(ws.npx(), npx, "no task ran again");
    let execs = ws
        .order()
        .iter()
        .filter(|l| l.contains(" exec -T backend "))
        .count();
    assert_eq!(execs, 1, "the admin key is made once");
    let stderr = stderr(&output);
    assert!(
        stderr.contains("task convex-env: done at an earlier start"),
        "{stderr}"
    );
    assert!(
        stderr.contains("task deploy: done at an earlier start"),
        "{stderr}"
    );
}

#[test]
fn an_every_start_task_runs_at_each_start() {
    let ws = Workspace::convex_with(|spec| {
        spec.replace(
            "    run: npx convex deploy --yes",
            "    run: npx convex deploy --yes\n    every_start: true",
        )
    });
    assert_ok(&ws.run("alice"));
    assert_ok(&ws.run("alice"));
    assert_eq!(
        ws.npx(),
        [
            format!("npx convex env set SITE_URL -- {SITE_URL}"),
            "npx convex deploy --yes".to_owned(),
            "npx convex deploy --yes".to_owned(),
        ]
    );
}

#[test]
fn a_changed_value_runs_its_task_again() {
    let ws = Workspace::convex();
    assert_ok(&ws.run("alice"));
    // Another owner: another origin for SITE_URL; deploy's values are the same.
    assert_ok(&ws.run("bob"));
    assert_eq!(
        ws.npx(),
        [
            format!("npx convex env set SITE_URL -- {SITE_URL}"),
            "npx convex deploy --yes".to_owned(),
            "npx convex env set SITE_URL -- https://app--chat--bob.coder.test".to_owned(),
        ]
    );
}

#[test]
fn a_changed_task_runs_again() {
    let ws = Workspace::convex();
    assert_ok(&ws.run("alice"));
    // The same workspace rendered from a spec whose deploy changed.
    let spec = common::root().join("examples/convex-selfhosted/portolan.yaml");
    let text = std::fs::read_to_string(spec).unwrap().replace(
        "npx convex deploy --yes",
        "npx convex deploy --yes --typecheck disable",
    );
    std::fs::write(ws.dir.path().join("changed.yaml"), text).unwrap();
    let render = common::portolan()
        .arg("render")
        .arg(ws.dir.path().join("changed.yaml"))
        .arg("--out")
        .arg(ws.dir.path())
        .output()
        .unwrap();
    assert!(render.status.success(), "{}", stderr(&render));
    assert_ok(&ws.run("alice"));
    assert_eq!(
        ws.npx()[2..],
        ["npx convex deploy --yes --typecheck disable".to_owned()]
    );
}

#[test]
fn a_failing_task_is_named_and_what_waits_for_it_is_skipped() {
    let ws = Workspace::convex();
    std::fs::write(ws.log.path().join("npx-fails"), "env\n").unwrap();
    let output = ws.run("alice");
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr(&output);
    assert!(
        stderr.contains(
            "error: task convex-env failed (exit status 3): see .portolan/logs/task-convex-env.log"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped: deploy, which waits for convex-env"),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped: frontend, which waits for deploy"),
        "{stderr}"
    );
    // The first value's command failed: the task stopped there.
    let calls = ws.npx_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0][..4], ["convex", "env", "set", "JWT_PRIVATE_KEY"]);
    assert!(!ws.order().iter().any(|l| l.starts_with("pnpm dev")));
    assert!(ws
        .read(".portolan/logs/task-convex-env.log")
        .contains("npx: env failed"));
    // What does not wait for it was done: the admin key is kept.
    assert!(ws
        .read(".portolan/secrets.env")
        .contains("CONVEX_ADMIN_KEY="));

    // Fixed, the next start runs it and what it held back.
    std::fs::remove_file(ws.log.path().join("npx-fails")).unwrap();
    assert_ok(&ws.run("alice"));
    assert_eq!(
        ws.npx(),
        [
            format!("npx convex env set SITE_URL -- {SITE_URL}"),
            "npx convex deploy --yes".to_owned()
        ]
    );
    assert_eq!(
        ws.npx_calls().len(),
        1 + 4,
        "the failed call, then the whole task and deploy"
    );
}

#[test]
fn an_unhealthy_backend_skips_what_waits_for_it_by_name() {
    let ws = Workspace::convex();
    ws.answer("http://localhost:6791/ 307\nhttp://localhost:5173/ 404\n");
    let output = ws.run("alice");
    assert_eq!(output.status.code(), Some(1));
    let stderr = stderr(&output);
    for skipped in [
        "skipped: CONVEX_ADMIN_KEY, which waits for backend",
        "skipped: convex-env, which waits for backend",
        "skipped: deploy, which waits for convex-env",
        "skipped: frontend, which waits for deploy",
    ] {
        assert!(stderr.contains(skipped), "{skipped}: {stderr}");
    }
    assert!(ws.npx().is_empty());
    assert!(!ws.order().iter().any(|l| l.contains(" exec ")));
    // The key is not written until it is made.
    assert_eq!(
        ws.env_value(".env.local", "CONVEX_SELF_HOSTED_ADMIN_KEY"),
        None
    );
}

#[test]
fn a_key_the_user_added_to_env_local_survives() {
    let ws = Workspace::convex();
    let path = ws.dir.path().join(".env.local");
    let rendered = ws.read(".env.local");
    std::fs::write(&path, format!("{rendered}MY_TOKEN=before-start\n")).unwrap();
    assert_ok(&ws.run("alice"));
    assert_eq!(
        ws.env_value(".env.local", "MY_TOKEN").as_deref(),
        Some("before-start")
    );
    let written = ws.read(".env.local");
    std::fs::write(&path, format!("{written}# mine\nOTHER=after-first-start\n")).unwrap();
    assert_ok(&ws.run("alice"));
    let text = ws.read(".env.local");
    for line in ["MY_TOKEN=before-start", "# mine", "OTHER=after-first-start"] {
        assert!(text.lines().any(|l| l == line), "{line}: {text}");
    }
    assert_eq!(
        text.matches("CONVEX_SELF_HOSTED_ADMIN_KEY=").count(),
        1,
        "{text}"
    );
}

#[test]
fn no_secret_value_reaches_the_output_or_the_logs_portolan_writes() {
    let ws = Workspace::convex();
    let first = ws.run("alice");
    assert_ok(&first);
    // A failing start too (another owner: SITE_URL changed, so convex-env runs again): the
    // failure is reported without values.
    std::fs::write(ws.log.path().join("npx-fails"), "env\n").unwrap();
    let second = ws.run("bob");
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    let script = ws.read("start-workspace.sh");
    let instance = ws.env_value(".env", "INSTANCE_SECRET").unwrap();
    let secret_part = ADMIN_KEY.split('|').nth(1).unwrap();
    for output in [&first, &second] {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            stderr(output)
        );
        assert!(!text.contains(secret_part), "{text}");
        assert!(!text.contains(&instance), "{text}");
    }
    let logs = ws.logs();
    assert!(logs.iter().any(|(n, _)| n == "secret-CONVEX_ADMIN_KEY.log"));
    for (name, text) in logs {
        assert!(!text.contains(secret_part), "{name}: {text}");
        assert!(!text.contains(&instance), "{name}: {text}");
    }
    assert!(!script.contains("set -x"));
}

#[test]
fn the_rendered_script_passes_bash_and_shellcheck() {
    let ws = Workspace::convex();
    common::assert_shell_accepts(&ws.dir.path().join("start-workspace.sh"), "convex");
}

#[test]
fn render_again_keeps_an_env_file_written_before_its_secret_was_made() {
    // A start whose backend never came up wrote `.env.local` without the admin key: that file is
    // the workspace's state, which rendering again leaves alone, as after a full start.
    let ws = Workspace::convex();
    ws.answer("http://localhost:6791/ 307\n");
    assert_eq!(ws.run("alice").status.code(), Some(1));
    let spec = common::root().join("examples/convex-selfhosted/portolan.yaml");
    for healthy in [false, true] {
        if healthy {
            ws.answer(ALL_HEALTHY);
            assert_ok(&ws.run("alice"));
            assert!(ws
                .env_value(".env.local", "CONVEX_SELF_HOSTED_ADMIN_KEY")
                .is_some());
        }
        let before = ws.read(".env.local");
        let output = common::portolan()
            .arg("render")
            .arg(&spec)
            .arg("--out")
            .arg(ws.dir.path())
            .output()
            .unwrap();
        let stderr = stderr(&output);
        assert!(output.status.success(), "{stderr}");
        assert!(
            stderr.contains(".env.local (written at workspace start"),
            "{stderr}"
        );
        assert_eq!(ws.read(".env.local"), before);
    }
}

#[test]
fn a_set_value_reaches_the_command_as_one_argument_byte_for_byte() {
    let odd = r#"a"b $(touch pwned) `touch pwned` $HOME \ z"#;
    let ws = Workspace::convex_with(|spec| {
        spec.replace(
            "        SITE_URL: ${origin:frontend.http}\n",
            &format!("        SITE_URL: ${{origin:frontend.http}}\n        ODD: '{odd}'\n"),
        )
    });
    assert_ok(&ws.run("alice"));
    let argv = ws.stub_log("npx-argv");
    let args: Vec<&str> = argv.split('\0').collect();
    let odd_at = args.iter().position(|a| *a == "ODD").expect("ODD is set");
    assert_eq!(args[odd_at + 1], "--");
    assert_eq!(args[odd_at + 2], odd);
    assert!(!ws.dir.path().join("pwned").exists());
}

/// What @convex-dev/auth needs on a self-hosted backend reaches `npx convex env set`, against
/// the backend with its admin key, before the deploy: an RSA key as PKCS#8 PEM, its key set, and
/// the app's origin as SITE_URL; a second start sets nothing again, and the user's own lines of
/// `.env.local` survive both.
#[test]
fn the_auth_keys_reach_convex_env_set() {
    let ws = Workspace::convex();
    assert_ok(&ws.run("alice"));
    std::fs::write(
        ws.dir.path().join(".env.local"),
        format!("{}MY_OWN_KEY=kept\n", ws.read(".env.local")),
    )
    .unwrap();
    let calls = ws.npx_calls();
    let set: Vec<(&str, &str)> = calls
        .iter()
        .filter(|c| c.starts_with(&["convex".into(), "env".into(), "set".into()]))
        .map(|c| {
            assert_eq!(c.len(), 6, "convex env set NAME -- VALUE: {c:?}");
            assert_eq!(c[4], "--");
            (c[3].as_str(), c[5].as_str())
        })
        .collect();
    let names: Vec<&str> = set.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["JWT_PRIVATE_KEY", "JWKS", "SITE_URL"]);
    assert_eq!(
        calls.last().map(|c| c.join(" ")).as_deref(),
        Some("convex deploy --yes")
    );

    let key = set[0].1;
    assert!(
        key.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "PKCS#8 PEM"
    );
    assert!(key.ends_with("\n-----END PRIVATE KEY-----"), "PKCS#8 PEM");
    let text = common::keys::openssl(&["pkey", "-noout", "-text"], key);
    assert!(
        text.contains("Private-Key: (2048 bit"),
        "an RSA key: {text}"
    );
    let jwks: serde_json::Value = serde_json::from_str(set[1].1).expect("JWKS is JSON");
    let jwk = &jwks["keys"][0];
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(
        common::keys::jwks_modulus_line(&jwks),
        common::keys::openssl(&["rsa", "-noout", "-modulus"], key),
        "the key set publishes the key's modulus"
    );
    assert_eq!(set[2].1, SITE_URL);
    // Against the backend the script started, with the admin key it printed.
    assert!(ws
        .stub_log("npx-admin-key")
        .lines()
        .all(|l| l == ADMIN_KEY || l == "<unset>"));

    // A second start keeps the key, sets nothing again and keeps the user's line.
    let output = ws.run("alice");
    assert_ok(&output);
    assert_eq!(ws.npx_calls().len(), calls.len(), "no task ran again");
    let stored = ws.read(".portolan/secrets.env");
    assert!(
        stored.contains(&format!("JWT_PRIVATE_KEY={}", key.replace('\n', "\\n"))),
        "the key is kept"
    );
    assert!(ws.read(".env.local").contains("MY_OWN_KEY=kept\n"));
    let said = format!(
        "{}{}",
        stderr(&output),
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(!said.contains("PRIVATE KEY") && !said.contains(set[1].1));
}

/// Kills the processes the stubs left running (their pids in `lingering`) when dropped.
struct Lingering<'a>(&'a Workspace);

impl Lingering<'_> {
    fn pids(&self) -> Vec<String> {
        self.0
            .stub_log("lingering")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn alive(&self) -> usize {
        self.pids()
            .iter()
            .filter(|pid| {
                Command::new("kill")
                    .args(["-0", pid])
                    .status()
                    .unwrap()
                    .success()
            })
            .count()
    }
}

impl Drop for Lingering<'_> {
    fn drop(&mut self) {
        for pid in self.pids() {
            let _ = Command::new("kill").arg(&pid).status();
        }
    }
}

#[test]
fn two_starts_at_once_run_each_once_task_once() {
    let ws = Workspace::convex();
    // The admin key and the deploy take three seconds each, and the second start begins while
    // the first makes the admin key, inside its steps: it must wait for the first.
    std::fs::write(ws.log.path().join("slow"), "exec\ndeploy\n").unwrap();
    std::fs::write(ws.log.path().join("slow-seconds"), "3").unwrap();
    let first = ws.command("alice").spawn().unwrap();
    ws.wait_for("docker compose -p convex-ai-chat -f docker-compose.yml exec -T backend");
    let second = ws.command("alice").spawn().unwrap();
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    for output in &outputs {
        assert_ok(output);
    }
    ws.wait_for("pnpm dev");
    assert_eq!(
        ws.npx(),
        [
            format!("npx convex env set SITE_URL -- {SITE_URL}"),
            "npx convex deploy --yes".to_owned()
        ]
    );
    assert_eq!(ws.npx_calls().len(), 3 + 1, "three values set, one deploy");
    let execs = ws
        .order()
        .iter()
        .filter(|l| l.contains(" exec -T backend "))
        .count();
    assert_eq!(execs, 1, "the admin key is made once");
    // The one that waited found what the other did.
    let waited: Vec<String> = outputs
        .iter()
        .map(stderr)
        .filter(|e| {
            e.contains("waiting for the other start of this workspace to finish (lock: .portolan/steps.lock, up to 30s)")
        })
        .collect();
    assert_eq!(waited.len(), 1, "{outputs:#?}");
    for line in [
        "secret CONVEX_ADMIN_KEY: made by another start",
        "task convex-env: done at an earlier start",
        "task deploy: done at an earlier start",
    ] {
        assert!(waited[0].contains(line), "{line}: {}", waited[0]);
    }
    // Both wrote the key where it is used, and kept one value.
    let secrets = ws.read(".portolan/secrets.env");
    assert_eq!(secrets.matches("CONVEX_ADMIN_KEY=").count(), 1, "{secrets}");
    assert_eq!(
        ws.env_value(".env.local", "CONVEX_SELF_HOSTED_ADMIN_KEY"),
        Some(format!("'{ADMIN_KEY}'"))
    );
}

#[test]
fn what_a_start_leaves_running_does_not_hold_the_lock() {
    assert_nothing_left_running_holds_the_lock(&Workspace::convex());
}

#[test]
fn a_process_started_before_the_steps_does_not_hold_the_lock() {
    // The frontend waits for nothing: it starts with compose, before the health waits.
    let ws = Workspace::convex_with(|spec| spec.replace("    after: [deploy]\n", ""));
    let script = ws.read("start-workspace.sh");
    assert!(!script.contains("# process frontend"));
    assert!(script.contains("if should_start frontend; then"));
    assert_nothing_left_running_holds_the_lock(&ws);
}

/// A start whose dev server runs on, whose admin key's command and whose `pnpm install` leave a
/// process behind, leaves the lock free: a second start right after does not wait.
fn assert_nothing_left_running_holds_the_lock(ws: &Workspace) {
    std::fs::write(ws.log.path().join("linger"), "").unwrap();
    let lingering = Lingering(ws);
    assert_ok(&ws.run("alice"));
    // The dev server runs on, and so do what the admin key's command and a task left behind.
    assert_eq!(lingering.alive(), 3, "{:?}", lingering.pids());
    let lock = ws.dir.path().join(".portolan/steps.lock");
    let free = Command::new("flock")
        .arg("-n")
        .arg(&lock)
        .arg("true")
        .status()
        .unwrap();
    assert!(
        free.success(),
        "something the start left running holds the lock"
    );
    let started = std::time::Instant::now();
    let output = ws.run("alice");
    assert_ok(&output);
    let stderr = stderr(&output);
    assert!(!stderr.contains("waiting for"), "{stderr}");
    assert!(stderr.contains("frontend is already running"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(lingering.alive() >= 3);
}

/// Holds `.portolan/steps.lock` of `ws` as another start would, until dropped.
struct Holder(std::process::Child);

impl Holder {
    fn new(ws: &Workspace) -> Self {
        use std::io::BufRead;
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(r#"mkdir -p .portolan && exec 8>>.portolan/steps.lock && flock 8 && echo locked && exec sleep 30"#)
            .current_dir(ws.dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "locked\n");
        Holder(child)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_start_waits_for_the_lock_until_its_bound_and_names_it() {
    let ws = Workspace::convex();
    let holder = Holder::new(&ws);
    let started = std::time::Instant::now();
    let output = ws
        .command("alice")
        .env("PORTOLAN_LOCK_TIMEOUT", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    let text = stderr(&output);
    assert!(
        text.contains("waiting for the other start of this workspace to finish (lock: .portolan/steps.lock, up to 1s)"),
        "{text}"
    );
    assert!(
        text.contains("error: another start still holds .portolan/steps.lock after 1s: nothing more is started (stop it, or set PORTOLAN_LOCK_TIMEOUT to wait longer)"),
        "{text}"
    );
    // Nothing past the lock ran: no compose, no step.
    assert!(
        !ws.order().iter().any(|l| l.contains(" up -d")),
        "{:#?}",
        ws.order()
    );
    assert!(ws.npx().is_empty());
    // Once the other start is gone, a start runs through.
    drop(holder);
    assert_ok(&ws.run("alice"));
    assert_eq!(ws.npx().len(), 2);
}

#[test]
fn a_timeout_that_is_not_a_number_stops_the_script_before_it_writes() {
    for variable in ["PORTOLAN_LOCK_TIMEOUT", "PORTOLAN_HEALTH_TIMEOUT"] {
        let ws = Workspace::convex();
        let output = ws.command("alice").env(variable, "soon").output().unwrap();
        assert_eq!(output.status.code(), Some(1));
        let text = stderr(&output);
        assert!(
            text.contains(&format!(
                "error: {variable} is not a number of seconds: nothing is started"
            )),
            "{text}"
        );
        assert!(!ws.dir.path().join(".portolan").exists());
    }
}

#[test]
fn a_task_stopped_halfway_is_not_taken_for_done() {
    let ws = Workspace::convex();
    assert_ok(&ws.run("alice"));
    let spec = common::root().join("examples/convex-selfhosted/portolan.yaml");
    let render = |spec: &Path| {
        let output = common::portolan()
            .arg("render")
            .arg(spec)
            .arg("--out")
            .arg(ws.dir.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    };
    // The deploy changed: the start that runs it is killed while it runs.
    let changed = std::fs::read_to_string(&spec).unwrap().replace(
        "npx convex deploy --yes",
        "npx convex deploy --yes --dry-run",
    );
    std::fs::write(ws.dir.path().join("changed.yaml"), changed).unwrap();
    render(&ws.dir.path().join("changed.yaml"));
    std::fs::write(ws.log.path().join("slow"), "deploy\n").unwrap();
    let mut start = ws.command("alice").spawn().unwrap();
    ws.wait_for("npx convex deploy --yes --dry-run");
    start.kill().unwrap();
    start.wait().unwrap();
    std::fs::remove_file(ws.log.path().join("slow")).unwrap();
    // Back to the first deploy: its marker is gone with the run that was stopped, so it runs.
    render(&spec);
    let output = ws.run("alice");
    assert_ok(&output);
    assert_eq!(
        ws.npx()[2..],
        [
            "npx convex deploy --yes --dry-run".to_owned(),
            "npx convex deploy --yes".to_owned()
        ]
    );
    assert!(
        stderr(&output).contains("task convex-env: done at an earlier start"),
        "{}",
        stderr(&output)
    );
}
