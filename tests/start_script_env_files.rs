//! Env files the user adds to: the start script sets its own keys and keeps every other line,
//! run for real with bash and `docker`, `curl` and `pnpm` stubbed.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn stub(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

struct Workspace {
    dir: tempfile::TempDir,
    bin: tempfile::TempDir,
}

impl Workspace {
    fn convex() -> Self {
        let dir = common::render_example("convex-selfhosted", &[]);
        let bin = tempfile::tempdir().unwrap();
        stub(
            bin.path(),
            "docker",
            r#"case "$1 $2" in
  "compose ps") echo cafe ;;
  "inspect --format") echo healthy ;;
esac
if [[ " $* " == *" exec -T backend "* ]]; then echo 'convex-ai-chat|01admin'; fi
exit 0"#,
        );
        stub(bin.path(), "curl", "printf 200");
        stub(bin.path(), "pnpm", "exit 0");
        stub(bin.path(), "npx", "exit 0");
        Workspace { dir, bin }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    fn start(&self, workspace: &str) -> Output {
        let output = Command::new("bash")
            .arg(self.path("start-workspace.sh"))
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    self.bin.path().display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("HOME", self.dir.path())
            .env("PORTOLAN_HEALTH_TIMEOUT", "1")
            .env("PORTOLAN_WILDCARD_DOMAIN", "coder.test")
            .env("CODER_WORKSPACE_NAME", workspace)
            .env("CODER_WORKSPACE_OWNER_NAME", "alice")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "start script failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Replaces the start script with the one rendered from `spec` (the example's, changed).
    fn use_start_script_of(&self, spec: &str) {
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("portolan.yaml"), spec).unwrap();
        let output = common::portolan()
            .arg("render")
            .arg(other.path().join("portolan.yaml"))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::copy(
            other.path().join("start-workspace.sh"),
            self.path("start-workspace.sh"),
        )
        .unwrap();
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// A value bash, compose and python-dotenv read alike, with spaces, quotes and `$`.
const USER_KEY_LINE: &str = "MY_DEPLOY_KEY='convex-self-hosted|01 \"ab\" $cd'";
/// The admin key portolan writes, as the stubbed backend prints it.
const MANAGED_ADMIN_KEY: &str = "CONVEX_SELF_HOSTED_ADMIN_KEY='convex-ai-chat|01admin'";

#[test]
fn a_key_the_user_adds_survives_the_next_start_and_portolans_keys_are_updated() {
    let ws = Workspace::convex();
    ws.start("chat");
    let env = ws.path(".env.local");
    // The user appends a key and a comment, deletes one of portolan's keys, and makes the
    // file readable by their group.
    let first = ws.read(".env.local");
    let edited: String = first
        .lines()
        .filter(|l| !l.starts_with("VITE_CONVEX_SITE_URL="))
        .map(|l| format!("{l}\n"))
        .collect::<String>()
        + "\n# added by hand\n"
        + USER_KEY_LINE
        + "\n";
    std::fs::write(&env, &edited).unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o640)).unwrap();

    let output = ws.start("renamed");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("01 \"ab\""),
        "a value was printed: {stderr}"
    );
    let second = ws.read(".env.local");
    let lines: Vec<&str> = second.lines().collect();
    // Header, note, then portolan's key in place, the user's lines as written, and the
    // deleted key back at the end.
    assert!(lines[0].starts_with("# Written by start-workspace.sh at workspace start"));
    assert!(lines[1].starts_with(
        "# portolan sets: VITE_CONVEX_URL VITE_CONVEX_SITE_URL CONVEX_SELF_HOSTED_URL CONVEX_SELF_HOSTED_ADMIN_KEY."
    ));
    assert_eq!(
        &lines[2..],
        [
            "VITE_CONVEX_URL=https://convex-api--chat--alice.coder.test"
                .replace("chat", "renamed")
                .as_str(),
            "CONVEX_SELF_HOSTED_URL=http://localhost:3210",
            MANAGED_ADMIN_KEY,
            "",
            "# added by hand",
            USER_KEY_LINE,
            "VITE_CONVEX_SITE_URL=https://convex-site--renamed--alice.coder.test",
        ]
    );
    assert_eq!(mode(&env), 0o640, "the file's mode is kept");

    // bash reads the user's value back byte for byte.
    let read = Command::new("bash")
        .arg("-c")
        .arg("source .env.local; printf '%s' \"$MY_DEPLOY_KEY\"")
        .current_dir(ws.dir.path())
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&read.stdout),
        "convex-self-hosted|01 \"ab\" $cd"
    );

    // A third start changes nothing, and render keeps the file: portolan's part is as the
    // start script wrote it, the rest is the user's.
    ws.start("renamed");
    assert_eq!(ws.read(".env.local"), second);
    let spec = common::root().join("examples/convex-selfhosted/portolan.yaml");
    let render = common::portolan()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(ws.dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&render.stderr);
    assert!(render.status.success(), "{err}");
    assert!(
        err.contains(".env.local (written at workspace start"),
        "{err}"
    );
    assert_eq!(ws.read(".env.local"), second);
    let check = common::portolan()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(ws.dir.path())
        .arg("--check")
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn a_key_a_later_spec_drops_goes_and_the_users_keys_stay() {
    let ws = Workspace::convex();
    ws.start("chat");
    let env = ws.path(".env.local");
    let mut text = ws.read(".env.local");
    text.push_str(USER_KEY_LINE);
    text.push('\n');
    // The user also set one of portolan's keys a second time.
    text.push_str("VITE_CONVEX_URL=http://wrong\n");
    std::fs::write(&env, &text).unwrap();

    let spec =
        std::fs::read_to_string(common::root().join("examples/convex-selfhosted/portolan.yaml"))
            .unwrap();
    let dropped = spec.replace("    VITE_CONVEX_SITE_URL: ${origin:backend.site}\n", "");
    assert_ne!(dropped, spec, "the example sets VITE_CONVEX_SITE_URL");
    ws.use_start_script_of(&dropped);
    let output = ws.start("chat");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(".env.local set VITE_CONVEX_URL twice"),
        "{stderr}"
    );
    let lines: Vec<String> = ws.read(".env.local").lines().map(str::to_owned).collect();
    assert!(
        lines[1].starts_with(
            "# portolan sets: VITE_CONVEX_URL CONVEX_SELF_HOSTED_URL CONVEX_SELF_HOSTED_ADMIN_KEY. "
        ),
        "{lines:?}"
    );
    assert_eq!(
        &lines[2..],
        [
            "VITE_CONVEX_URL=https://convex-api--chat--alice.coder.test",
            "CONVEX_SELF_HOSTED_URL=http://localhost:3210",
            MANAGED_ADMIN_KEY,
            USER_KEY_LINE,
        ]
    );
}

#[test]
fn a_file_written_before_portolan_kept_other_lines_is_taken_over_whole() {
    // Earlier start scripts rewrote the whole file under this note: every key in it was theirs.
    let ws = Workspace::convex();
    let body =
        "# Rewritten by start-workspace.sh at workspace start with this workspace's origins.\n\
                VITE_CONVEX_URL=https://old\n\
                OLD_KEY=gone\n";
    std::fs::write(
        ws.path(".env.local"),
        format!(
            "# Written by start-workspace.sh at workspace start from portolan.yaml. portolan-sha256:{}\n{body}",
            portolan::render::header::hash(body)
        ),
    )
    .unwrap();
    ws.start("chat");
    let lines: Vec<String> = ws.read(".env.local").lines().map(str::to_owned).collect();
    assert_eq!(
        &lines[1..],
        [
            "# portolan sets: VITE_CONVEX_URL VITE_CONVEX_SITE_URL CONVEX_SELF_HOSTED_URL CONVEX_SELF_HOSTED_ADMIN_KEY. Other lines are yours: start-workspace.sh keeps them at each workspace start.",
            "VITE_CONVEX_URL=https://convex-api--chat--alice.coder.test",
            "VITE_CONVEX_SITE_URL=https://convex-site--chat--alice.coder.test",
            "CONVEX_SELF_HOSTED_URL=http://localhost:3210",
            MANAGED_ADMIN_KEY,
        ]
    );
}

#[test]
fn an_interrupted_write_leaves_the_old_file_and_no_temporary_file() {
    // The new file is written beside the old one and renamed over it: a write that fails (a
    // full disk; here the write of .env.local is made to fail) leaves the old file whole.
    let ws = Workspace::convex();
    ws.start("chat");
    let before = ws.read(".env.local");
    let script = ws.read("start-workspace.sh");
    let broken = script.replacen(
        "  } >\"$tmp\"; then\n",
        "    [[ $path != .env.local ]]\n  } >\"$tmp\"; then\n",
        1,
    );
    assert_ne!(broken, script);
    std::fs::write(ws.path("start-workspace.sh"), broken).unwrap();
    let output = Command::new("bash")
        .arg(ws.path("start-workspace.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", ws.dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot write .env.local"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(ws.read(".env.local"), before);
    let leftovers: Vec<_> = common::files_below(ws.dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".env.local."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn shellcheck_and_bash_accept_the_start_script() {
    let ws = Workspace::convex();
    common::assert_shell_accepts(&ws.path("start-workspace.sh"), "start-workspace.sh");
}

#[test]
fn a_multi_line_value_the_user_added_is_kept_whole() {
    // A PEM key in double quotes spans lines; one of them even looks like portolan's key.
    let ws = Workspace::convex();
    ws.start("chat");
    let pem = "JWT_PRIVATE_KEY=\"-----BEGIN PRIVATE KEY-----\nVITE_CONVEX_URL=not-a-key \\\"q\\\"\n-----END PRIVATE KEY-----\"";
    let mut text = ws.read(".env.local");
    text.push_str(pem);
    text.push('\n');
    std::fs::write(ws.path(".env.local"), &text).unwrap();
    ws.start("other");
    let after = ws.read(".env.local");
    assert!(after.contains(&format!("{pem}\n")), "{after}");
    assert_eq!(
        after.matches("VITE_CONVEX_URL=https://").count(),
        1,
        "{after}"
    );
    assert!(after.contains("VITE_CONVEX_URL=https://convex-api--other--alice.coder.test\n"));
}
