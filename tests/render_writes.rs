//! How `portolan render` reads and writes its targets, on the binary: it never reads or writes
//! through a symbolic link, never hangs on a FIFO, never leaves the output folder, writes the whole
//! set or nothing, survives kill -9, keeps what the start script wrote, and ignores the umask.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{files_below, portolan, render_example, root};

/// A spec with every kind of file, one env file in a subfolder; `port` changes every file.
fn spec_text(port: u16) -> String {
    format!(
        "name: writes-{port}\n\
         coder: {{ agent: main, wildcard_domain: coder.example.com }}\n\
         services:\n  web: {{ image: example/web:1, ports: {{ http: {port} }} }}\n\
         apps:\n  web: {{ target: web.http }}\n\
         env_files:\n  .env.web: {{ URL: \"${{origin:web.http}}\", TOKEN: \"${{secret:S}}\" }}\n  \
         sub/deep/app.env: {{ URL: \"${{url:web.http}}\" }}\n\
         secrets: {{ S: {{ generate: hex32 }} }}\n"
    )
}

/// The files of [`spec_text`] with `--full`.
const SET: &[&str] = &[
    "coder-apps.tf",
    "main.tf",
    "docker-compose.yml",
    "start-workspace.sh",
    ".env.web",
    "sub/deep/app.env",
];

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let project = Project { dir };
        project.set_port(port);
        project
    }

    fn set_port(&self, port: u16) {
        std::fs::write(self.spec(), spec_text(port)).unwrap();
    }

    fn spec(&self) -> PathBuf {
        self.dir.path().join("portolan.yaml")
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn command(&self, extra: &[&str]) -> Command {
        let mut cmd = portolan();
        cmd.arg("render")
            .arg(self.spec())
            .arg("--out")
            .arg(self.out())
            .arg("--full")
            .args(extra);
        cmd
    }

    fn render(&self, extra: &[&str]) -> Output {
        run_with_timeout(self.command(extra))
    }

    /// Every file of the set as it is on disk (`None`: missing).
    fn snapshot(&self) -> Vec<Option<Vec<u8>>> {
        SET.iter()
            .map(|f| std::fs::read(self.out().join(f)).ok())
            .collect()
    }
}

/// Runs a command, failing the test (instead of hanging it) when it takes more than 20 s.
fn run_with_timeout(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!(
                "render hung for 20 s: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// Asserts the exit code of a run and that its stderr says `says`.
fn assert_exit(output: &Output, code: i32, says: &str) {
    assert_eq!(output.status.code(), Some(code), "{}", stderr(output));
    assert!(stderr(output).contains(says), "{}", stderr(output));
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
}

/// Files named like portolan's temporary files anywhere below `dir`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    files_below(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".portolan-"))
                // The record of the last render, not a temporary file.
                && p != Path::new(portolan::render::record::FILE)
        })
        .collect()
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

// --- Targets that are not regular files ------------------------------------------------------

/// `ln -s /proc/self/environ coder-apps.tf` must not print the environment of the machine that
/// runs `render --check` (CI, reviewing a pull request).
#[test]
fn check_never_reads_a_target_that_is_a_symlink() {
    let project = Project::new(8080);
    ok(&project.render(&[]));
    let outside = tempfile::tempdir().unwrap();
    let secret_file = outside.path().join("id_rsa");
    std::fs::write(&secret_file, "PRIVATE=canary-from-a-file\n").unwrap();
    let apps = project.out().join("coder-apps.tf");
    std::fs::remove_file(&apps).unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", &apps).unwrap();
    let env = project.out().join(".env.web");
    std::fs::remove_file(&env).unwrap();
    std::os::unix::fs::symlink(&secret_file, &env).unwrap();

    let result = run_with_timeout({
        let mut cmd = project.command(&["--check"]);
        cmd.env("CI_SECRET", "canary-from-the-environment");
        cmd
    });
    let (out, err) = (stdout(&result), stderr(&result));
    assert_eq!(result.status.code(), Some(1), "{err}");
    for canary in [
        "canary-from-the-environment",
        "canary-from-a-file",
        "PRIVATE",
    ] {
        assert!(
            !out.contains(canary) && !err.contains(canary),
            "{out}\n{err}"
        );
    }
    assert!(
        err.contains("coder-apps.tf is a symbolic link, not a regular file"),
        "{err}"
    );
    assert!(
        err.contains(".env.web is a symbolic link, not a regular file"),
        "{err}"
    );
}

/// A hard link is a second name of a file that may be outside the output folder: render --check
/// names it and never reads it; render refuses it without --force and with it replaces the name,
/// never writes the file.
#[test]
fn a_hard_linked_target_is_treated_like_a_link() {
    let project = Project::new(8080);
    ok(&project.render(&[]));
    let outside = project.dir.path().join("outside.env");
    std::fs::write(&outside, "PRIVATE=canary-from-a-file\n").unwrap();
    let env = project.out().join(".env.web");
    std::fs::remove_file(&env).unwrap();
    std::fs::hard_link(&outside, &env).unwrap();

    let result = project.render(&["--check"]);
    let (out, err) = (stdout(&result), stderr(&result));
    assert_eq!(result.status.code(), Some(1), "{err}");
    assert!(
        !out.contains("canary") && !err.contains("canary"),
        "{out}\n{err}"
    );
    assert!(
        !out.contains("PRIVATE") && !err.contains("PRIVATE"),
        "{out}\n{err}"
    );
    assert!(err.contains(".env.web is a hard link"), "{err}");

    let refused = project.render(&[]);
    assert_exit(&refused, 2, ".env.web is a hard link");
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));

    ok(&project.render(&["--force"]));
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "PRIVATE=canary-from-a-file\n"
    );
    let written = std::fs::read_to_string(&env).unwrap();
    assert!(written.contains("portolan-sha256:"), "{written}");
    assert_eq!(std::fs::metadata(&env).unwrap().nlink(), 1);
}

#[test]
fn render_refuses_a_symlinked_target_and_with_force_replaces_the_link() {
    let project = Project::new(8080);
    ok(&project.render(&[]));
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.tf");
    std::fs::write(&victim, "keep me\n").unwrap();
    let apps = project.out().join("coder-apps.tf");
    std::fs::remove_file(&apps).unwrap();
    std::os::unix::fs::symlink(&victim, &apps).unwrap();
    project.set_port(8081);
    let before = project.snapshot();

    let refused = project.render(&[]);
    assert_exit(
        &refused,
        2,
        "coder-apps.tf is a symbolic link, not a regular file",
    );
    assert_eq!(project.snapshot(), before, "nothing written");
    assert!(std::fs::symlink_metadata(&apps).unwrap().is_symlink());

    ok(&project.render(&["--force"]));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
    let meta = std::fs::symlink_metadata(&apps).unwrap();
    assert!(meta.is_file(), "the link itself was replaced");
    assert!(std::fs::read_to_string(&apps).unwrap().contains("8081"));
}

/// A FIFO is never opened (opening one blocks until a writer comes): reported, not read.
#[test]
fn a_fifo_target_is_reported_without_hanging() {
    let project = Project::new(8080);
    ok(&project.render(&[]));
    let compose = project.out().join("docker-compose.yml");
    std::fs::remove_file(&compose).unwrap();
    mkfifo(&compose);
    let env = project.out().join("sub/deep/app.env");
    std::fs::remove_file(&env).unwrap();
    mkfifo(&env);

    let check = project.render(&["--check"]);
    assert_exit(
        &check,
        1,
        "docker-compose.yml is a FIFO, not a regular file",
    );
    let refused = project.render(&[]);
    assert_exit(
        &refused,
        2,
        "sub/deep/app.env is a FIFO, not a regular file",
    );
    assert!(std::fs::symlink_metadata(&compose)
        .unwrap()
        .file_type()
        .is_fifo());

    ok(&project.render(&["--force"]));
    assert!(std::fs::symlink_metadata(&compose).unwrap().is_file());
    assert!(std::fs::symlink_metadata(&env).unwrap().is_file());
}

/// A folder where a file belongs is never removed, not even with --force.
#[test]
fn a_folder_target_is_refused_even_with_force() {
    let project = Project::new(8080);
    ok(&project.render(&[]));
    let apps = project.out().join("coder-apps.tf");
    std::fs::remove_file(&apps).unwrap();
    std::fs::create_dir(&apps).unwrap();
    std::fs::write(apps.join("mine.txt"), "x").unwrap();

    let check = project.render(&["--check"]);
    assert_exit(&check, 1, "coder-apps.tf is a folder, not a regular file");
    for extra in [&[][..], &["--force"][..]] {
        let refused = project.render(extra);
        assert_exit(&refused, 2, "coder-apps.tf is a folder, not a regular file");
        assert_eq!(std::fs::read_to_string(apps.join("mine.txt")).unwrap(), "x");
    }
}

/// A target far larger than anything portolan renders is not read into memory.
#[test]
fn a_huge_target_is_not_read() {
    let project = Project::new(8080);
    ok(&project.render(&[]));
    let apps = project.out().join("coder-apps.tf");
    let file = std::fs::File::create(&apps).unwrap();
    file.set_len(64 * 1024 * 1024).unwrap();

    let check = project.render(&["--check"]);
    assert_exit(&check, 1, "coder-apps.tf is larger than");
    assert!(check.stdout.len() < 64 * 1024, "the file was not diffed");
    let refused = project.render(&[]);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    ok(&project.render(&["--force"]));
    assert!(std::fs::metadata(&apps).unwrap().len() < 64 * 1024);
}

// --- Env file diffs name keys, never values --------------------------------------------------

#[test]
fn check_names_the_env_keys_that_differ_and_never_their_values() {
    let project = Project::new(8080);
    ok(&project.render(&[]));
    let env = project.out().join(".env.web");
    let text = std::fs::read_to_string(&env).unwrap();
    let edited = text
        .replace("TOKEN=\n", "TOKEN=hunter2-canary\n")
        .replace("URL=http://localhost:8080\n", "")
        + "EXTRA=\"another-canary\"\n";
    std::fs::write(&env, edited).unwrap();

    let result = project.render(&["--check"]);
    assert_eq!(result.status.code(), Some(1), "{}", stderr(&result));
    let (out, err) = (stdout(&result), stderr(&result));
    for value in ["hunter2-canary", "another-canary", "URL=http"] {
        assert!(!out.contains(value) && !err.contains(value), "{out}\n{err}");
    }
    assert!(out.contains("--- a/.env.web\n+++ b/.env.web\n"), "{out}");
    assert!(out.contains("changed: TOKEN"), "{out}");
    assert!(out.contains("missing: URL"), "{out}");
    assert!(out.contains("extra: EXTRA"), "{out}");
}

// --- Nothing is written outside the output folder --------------------------------------------

#[test]
fn render_never_writes_through_a_symlinked_folder() {
    let project = Project::new(8080);
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(project.out()).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), project.out().join("sub")).unwrap();

    for extra in [&[][..], &["--force"][..], &["--check"][..]] {
        let result = project.render(extra);
        assert_exit(&result, 2, "sub is a symbolic link, not a folder");
        assert!(files_below(elsewhere.path()).is_empty(), "{extra:?}");
        assert_eq!(project.snapshot(), vec![None; SET.len()], "{extra:?}");
    }
    // Deeper down too.
    std::fs::remove_file(project.out().join("sub")).unwrap();
    std::fs::create_dir(project.out().join("sub")).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), project.out().join("sub/deep")).unwrap();
    let result = project.render(&["--force"]);
    assert_exit(&result, 2, "sub/deep is a symbolic link, not a folder");
    assert!(files_below(elsewhere.path()).is_empty());
}

// --- The whole set or nothing ----------------------------------------------------------------

/// A file where a folder must be: refused before anything is written.
#[test]
fn a_file_where_a_folder_must_be_changes_nothing() {
    let project = Project::new(8080);
    ok(&project.render(&[]));
    std::fs::remove_dir_all(project.out().join("sub/deep")).unwrap();
    std::fs::write(project.out().join("sub/deep"), "not a folder\n").unwrap();
    project.set_port(8081);
    let before = project.snapshot();
    let result = project.render(&["--force"]);
    assert_exit(&result, 2, "sub/deep is not a folder");
    assert!(
        stderr(&result).contains("nothing written"),
        "{}",
        stderr(&result)
    );
    assert_eq!(project.snapshot(), before);
    assert_eq!(temp_files(&project.out()), Vec::<PathBuf>::new());
}

/// A write that fails part-way (here: the start script is larger than the file size limit of
/// 8 KiB, 16 blocks of 512 bytes as dash counts them, so its write fails with EFBIG after the
/// smaller files, main.tf among them, were staged) leaves every file as it was.
#[test]
fn a_write_error_part_way_changes_nothing() {
    let project = Project::new(8080);
    ok(&project.render(&[]));
    project.set_port(8081);
    let before = project.snapshot();
    let script = format!(
        "trap '' XFSZ; ulimit -f 16; exec '{}' render '{}' --out '{}' --full",
        env!("CARGO_BIN_EXE_portolan"),
        project.spec().display(),
        project.out().display()
    );
    let result = run_with_timeout({
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]);
        cmd
    });
    assert_exit(&result, 2, "start-workspace.sh");
    assert!(
        stderr(&result).contains("nothing written"),
        "{}",
        stderr(&result)
    );
    assert_eq!(project.snapshot(), before, "every file as it was");
    assert_eq!(temp_files(&project.out()), Vec::<PathBuf>::new());
    // And a render without the limit writes the new set.
    ok(&project.render(&[]));
    assert!(std::fs::read_to_string(project.out().join("coder-apps.tf"))
        .unwrap()
        .contains("8081"));
}

/// kill -9 at random points of a render: every file is one whole render's output, old or new,
/// and the next render removes the temporary files the killed one left.
#[test]
fn kill_9_leaves_whole_files_and_the_next_render_cleans_up() {
    // The two versions of every file.
    let versions: Vec<Vec<Vec<u8>>> = [8080, 8081]
        .iter()
        .map(|port| {
            let project = Project::new(*port);
            ok(&project.render(&[]));
            project.snapshot().into_iter().map(Option::unwrap).collect()
        })
        .collect();
    for (i, name) in SET.iter().enumerate() {
        assert_ne!(versions[0][i], versions[1][i], "{name} differs by version");
    }

    let project = Project::new(8080);
    ok(&project.render(&[]));
    let start = Instant::now();
    ok(&project.render(&["--force"]));
    let full = start.elapsed().max(Duration::from_millis(5));
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below.max(1)
    };
    let (mut left_temps, mut changed_rounds) = (0, 0);
    for round in 0..40u16 {
        project.set_port(8080 + (round % 2 + 1) % 2);
        let before_round = project.snapshot();
        let mut child = project
            .command(&[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = random(full.as_micros() as u64 * 3 / 2);
        std::thread::sleep(Duration::from_micros(delay));
        let _ = child.kill();
        let _ = child.wait();
        for (i, name) in SET.iter().enumerate() {
            let on_disk = std::fs::read(project.out().join(name))
                .unwrap_or_else(|e| panic!("round {round}: {name}: {e}"));
            assert!(
                on_disk == versions[0][i] || on_disk == versions[1][i],
                "round {round} (killed after {delay} µs): {name} is neither version:\n{}",
                String::from_utf8_lossy(&on_disk)
            );
        }
        left_temps += temp_files(&project.out()).len();
        if project
            .snapshot()
            .iter()
            .zip(&before_round)
            .any(|(a, b)| a != b)
        {
            changed_rounds += 1;
        }
        // The next render cleans what this one left.
        if round % 4 == 3 {
            ok(&project.render(&[]));
            assert_eq!(
                temp_files(&project.out()),
                Vec::<PathBuf>::new(),
                "round {round}"
            );
        }
    }
    eprintln!(
        "kill -9 left {left_temps} temporary files over 40 rounds; {changed_rounds} rounds changed files"
    );
    ok(&project.render(&[]));
    assert_eq!(temp_files(&project.out()), Vec::<PathBuf>::new());
}

/// Temporary files of an earlier, killed render (in any folder of the set) are removed: named
/// exactly like render's, and empty or starting with render's header, as a killed render leaves
/// them.
#[test]
fn stale_temporary_files_are_removed() {
    let project = Project::new(8080);
    ok(&project.render(&[]));
    let half = std::fs::read_to_string(project.out().join("coder-apps.tf")).unwrap();
    let half = &half[..half.len() / 2];
    for (stale, text) in [
        (".portolan-render-0123456789abcdef.tmp", half),
        ("sub/deep/.portolan-render-fedcba9876543210.tmp", ""),
    ] {
        std::fs::write(project.out().join(stale), text).unwrap();
    }
    // Not portolan's: kept.
    std::fs::write(project.out().join(".portolan-notes"), "mine").unwrap();
    std::fs::create_dir(project.out().join(".portolan-dir")).unwrap();
    ok(&project.render(&[]));
    assert_eq!(
        temp_files(&project.out()),
        vec![PathBuf::from(".portolan-notes")]
    );
    assert!(project.out().join(".portolan-dir").is_dir());
}

/// A user's files named `.portolan-*.tmp` are theirs: render removes only what it can have left.
#[test]
fn user_files_named_like_temporary_files_survive_a_render() {
    let project = Project::new(8080);
    ok(&project.render(&[]));
    let rendered = std::fs::read_to_string(project.out().join("coder-apps.tf")).unwrap();
    let kept = [
        (".portolan-notes.tmp", "my notes\n".to_owned()),
        ("sub/deep/.portolan-keep.tmp", "keep me\n".to_owned()),
        // Render's exact name, but not render's content.
        (".portolan-render-0123456789abcdef.tmp", "mine\n".to_owned()),
        // Render's content, but not render's name.
        ("sub/deep/.portolan-AbC123.tmp", rendered.clone()),
    ];
    for (name, text) in &kept {
        std::fs::write(project.out().join(name), text).unwrap();
    }
    // Render's name and content, but a second name elsewhere: someone else's file.
    let outside = project.dir.path().join("linked.txt");
    std::fs::write(&outside, &rendered).unwrap();
    let linked = project.out().join(".portolan-render-fedcba9876543210.tmp");
    std::fs::hard_link(&outside, &linked).unwrap();
    for extra in [&[][..], &["--force"][..]] {
        project.set_port(8081 + extra.len() as u16);
        let result = project.render(extra);
        ok(&result);
        assert!(
            !stderr(&result).contains("interrupted"),
            "{}",
            stderr(&result)
        );
        for (name, text) in &kept {
            assert_eq!(
                &std::fs::read_to_string(project.out().join(name)).unwrap(),
                text,
                "{name}"
            );
        }
        assert_eq!(std::fs::read_to_string(&linked).unwrap(), rendered);
    }
}

// --- Permissions whatever the umask ----------------------------------------------------------

#[test]
fn umask_000_gives_0755_folders_and_0600_env_files() {
    let project = Project::new(8080);
    let out = project.dir.path().join("new/out");
    let script = format!(
        "umask 000; exec '{}' render '{}' --out '{}' --full",
        env!("CARGO_BIN_EXE_portolan"),
        project.spec().display(),
        out.display()
    );
    let result = run_with_timeout({
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]);
        cmd
    });
    ok(&result);
    for folder in ["new", "new/out", "new/out/sub", "new/out/sub/deep"] {
        assert_eq!(mode(&project.dir.path().join(folder)), 0o755, "{folder}");
    }
    for (file, want) in [
        ("coder-apps.tf", 0o644),
        ("main.tf", 0o644),
        ("docker-compose.yml", 0o644),
        ("start-workspace.sh", 0o755),
        (".env.web", 0o600),
        ("sub/deep/app.env", 0o600),
    ] {
        assert_eq!(mode(&out.join(file)), want, "{file}");
    }
}

// --- Env files the start script wrote are the workspace's state ------------------------------

#[test]
fn render_keeps_env_files_the_start_script_wrote() {
    let out = render_example("convex-selfhosted", &[]);
    let env = out.path().join(".env.local");
    // What start scripts wrote before they kept the user's lines (see write_managed in
    // start-workspace.sh.j2; tests/start_script_env_files.rs has today's).
    let body =
        "# Rewritten by start-workspace.sh at workspace start with this workspace's origins.\n\
                VITE_CONVEX_URL=https://convex-api--chat--alice.coder.test\n\
                VITE_CONVEX_SITE_URL=https://convex-site--chat--alice.coder.test\n\
                CONVEX_SELF_HOSTED_URL=http://localhost:3210\n";
    let hash = portolan::render::header::hash(body);
    let started = format!(
        "# Written by start-workspace.sh at workspace start from portolan.yaml. portolan-sha256:{hash}\n{body}"
    );
    std::fs::write(&env, &started).unwrap();
    let spec = root().join("examples/convex-selfhosted/portolan.yaml");
    for extra in [&[][..], &["--force"][..]] {
        let result = run_with_timeout({
            let mut cmd = portolan();
            cmd.arg("render")
                .arg(&spec)
                .arg("--out")
                .arg(out.path())
                .args(extra);
            cmd
        });
        ok(&result);
        assert!(
            stderr(&result).contains(".env.local (written at workspace start"),
            "{}",
            stderr(&result)
        );
        assert_eq!(std::fs::read_to_string(&env).unwrap(), started, "{extra:?}");
    }
}

// --- The spec itself ------------------------------------------------------------------------

/// A pull request that makes portolan.yaml a link to /proc/self/environ must not get CI's
/// environment printed in a spec error: the spec is read only from a regular file.
#[test]
fn the_spec_is_read_only_from_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("portolan.yaml");
    std::os::unix::fs::symlink("/proc/self/environ", &spec).unwrap();
    let result = run_with_timeout({
        let mut cmd = portolan();
        cmd.current_dir(dir.path())
            .args(["render", "portolan.yaml", "--check"])
            .env("CI_SECRET", "canary-from-the-environment");
        cmd
    });
    let err = stderr(&result);
    assert_eq!(result.status.code(), Some(2), "{err}");
    assert!(
        !err.contains("canary") && !stdout(&result).contains("canary"),
        "{err}"
    );
    assert!(
        err.contains("portolan.yaml is a symbolic link, not a regular file"),
        "{err}"
    );

    std::fs::remove_file(&spec).unwrap();
    mkfifo(&spec);
    let result = run_with_timeout({
        let mut cmd = portolan();
        cmd.current_dir(dir.path())
            .args(["render", "portolan.yaml"]);
        cmd
    });
    assert_exit(&result, 2, "portolan.yaml is a FIFO, not a regular file");
    assert_eq!(
        files_below(dir.path()),
        vec![PathBuf::from("portolan.yaml")]
    );
}

/// A template override that is a link is not read either (CI may render with the repository's
/// templates).
#[test]
fn template_overrides_are_read_only_from_regular_files() {
    let project = Project::new(8080);
    let templates = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", templates.path().join("env-file.j2")).unwrap();
    let dir = templates.path().to_str().unwrap();
    let result = run_with_timeout({
        let mut cmd = project.command(&["--templates", dir]);
        cmd.env("CI_SECRET", "canary-from-the-environment");
        cmd
    });
    let err = stderr(&result);
    assert_eq!(result.status.code(), Some(2), "{err}");
    assert!(
        err.contains("env-file.j2 is a symbolic link, not a regular file"),
        "{err}"
    );
    assert!(!project.out().exists(), "nothing written");
    let written = std::fs::read_dir(project.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect::<Vec<_>>();
    assert_eq!(written, vec![std::ffi::OsString::from("portolan.yaml")]);
}

// --- What the start script wrote is compared by meaning --------------------------------------

/// A spec whose env file has a literal value, an origin, a secret and a value mixing them.
const START_SPEC: &str = "name: meaning\n\
     coder: { agent: main, wildcard_domain: coder.example.com }\n\
     services:\n  web: { image: example/web:1, ports: { http: 8080 } }\n\
     apps:\n  web: { target: web.http }\n\
     env_files:\n  app.env:\n    P: postgres\n    URL: \"${origin:web.http}\"\n    \
     TOKEN: \"${secret:S}\"\n    DSN: \"db://u:${secret:S}@${origin:web.http}/x\"\n\
     secrets: { S: { generate: hex32 } }\n";

/// The spec rendered into its own folder, then started with stubbed docker and curl.
fn started() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("portolan.yaml"), START_SPEC).unwrap();
    let mut cmd = portolan();
    cmd.arg("render")
        .arg("portolan.yaml")
        .current_dir(dir.path());
    ok(&run_with_timeout(cmd));
    let sandbox = common::sandbox::Sandbox::new();
    let start = sandbox.run(
        &dir.path().join("start-workspace.sh"),
        dir.path(),
        &[
            ("CODER_WORKSPACE_NAME", "ws"),
            ("CODER_WORKSPACE_OWNER_NAME", "me"),
        ],
    );
    ok(&start);
    dir
}

/// `render --check` and `check --spec` on the folder: (render's exit code, check's exit code,
/// check's output).
fn drift(dir: &Path) -> (Option<i32>, Option<i32>, String) {
    let mut render = portolan();
    render
        .args(["render", "portolan.yaml", "--check"])
        .current_dir(dir);
    let render = run_with_timeout(render);
    let mut check = portolan();
    check
        .args(["check", "--spec", "portolan.yaml", "."])
        .current_dir(dir);
    let check = run_with_timeout(check);
    (
        render.status.code(),
        check.status.code(),
        format!("{}{}", stdout(&check), stderr(&check)),
    )
}

#[test]
fn an_env_file_the_start_script_wrote_is_not_drift() {
    let dir = started();
    let written = std::fs::read_to_string(dir.path().join("app.env")).unwrap();
    assert!(written.contains("at workspace start"), "{written}");
    assert!(
        written.contains("URL=https://web--main--ws--me.coder.example.com"),
        "{written}"
    );
    let (render, check, output) = drift(dir.path());
    assert_eq!(render, Some(0), "{output}");
    assert_eq!(check, Some(0), "{output}");
    assert!(!output.contains("rendered-file-drift"), "{output}");
}

/// The start script's header proves only the shape: a committed env file with a forged header
/// (hash of its own body) over other keys or values is drift in `render --check` and
/// `check --spec`, and render replaces it.
#[test]
fn a_forged_start_script_header_over_another_body_is_drift() {
    let dir = started();
    let real = std::fs::read_to_string(dir.path().join("app.env")).unwrap();
    let header = |body: &str| {
        format!(
            "# Written by start-workspace.sh at workspace start from portolan.yaml. portolan-sha256:{}\n{body}",
            portolan::render::header::hash(body)
        )
    };
    let (_, real_body) = real.split_once('\n').unwrap();
    let comment = real_body.lines().next().unwrap();
    let keep = |key: &str| {
        real_body
            .lines()
            .find(|l| l.starts_with(&format!("{key}=")))
            .unwrap()
            .to_owned()
    };
    let (url, token, dsn) = (keep("URL"), keep("TOKEN"), keep("DSN"));
    let forged = [
        // The attacker's body.
        format!("{comment}\nP=attacker\nEVIL=1\n"),
        // A literal value changed.
        format!("{comment}\nP=attacker\n{url}\n{token}\n{dsn}\n"),
        // A key more.
        format!("{comment}\nP=postgres\n{url}\n{token}\n{dsn}\nEVIL=1\n"),
        // Keys in another order.
        format!("{comment}\n{url}\nP=postgres\n{token}\n{dsn}\n"),
        // An origin that is no URL.
        format!("{comment}\nP=postgres\nURL=attacker\n{token}\n{dsn}\n"),
        // An empty secret.
        format!("{comment}\nP=postgres\n{url}\nTOKEN=\n{dsn}\n"),
        // The literal part of a mixed value changed.
        format!(
            "{comment}\nP=postgres\n{url}\n{token}\n{}\n",
            dsn.replace("db://", "evil://")
        ),
    ];
    for body in &forged {
        std::fs::write(dir.path().join("app.env"), header(body)).unwrap();
        let (render, check, output) = drift(dir.path());
        assert_eq!(render, Some(1), "{body}\n{output}");
        assert_eq!(check, Some(1), "{body}\n{output}");
        assert!(output.contains("rendered-file-drift"), "{body}\n{output}");
        assert!(!output.contains("attacker"), "{output}");
    }
    // The real body under the same header is not.
    std::fs::write(dir.path().join("app.env"), header(real_body)).unwrap();
    let (render, check, output) = drift(dir.path());
    assert_eq!((render, check), (Some(0), Some(0)), "{output}");
    // Render replaces a forged file (its header says portolan's; its body is not the spec's).
    std::fs::write(dir.path().join("app.env"), header(&forged[0])).unwrap();
    let mut cmd = portolan();
    cmd.args(["render", "portolan.yaml"])
        .current_dir(dir.path());
    ok(&run_with_timeout(cmd));
    let replaced = std::fs::read_to_string(dir.path().join("app.env")).unwrap();
    assert!(!replaced.contains("EVIL"), "{replaced}");
    assert!(replaced.contains("P=postgres"), "{replaced}");
}
