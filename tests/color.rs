//! Colour as a terminal user sees it: portolan runs with stdout and stderr each on a
//! pseudo-terminal of its own (or a pipe), and the test looks for ANSI escape codes in what
//! arrives. `--color`, NO_COLOR, FORCE_COLOR, CLICOLOR and CLICOLOR_FORCE decide for the check
//! report on stdout, the diagnostics and render's verbs on stderr, and clap's help and errors.

mod common;

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::path::Path;
use std::process::Stdio;
use std::thread::JoinHandle;

use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};

/// The variables that decide colour; each run starts without them, on a colour terminal.
const COLOR_ENV: &[&str] = &[
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "CI",
];

/// Where a stream of the child goes.
#[derive(Clone, Copy, PartialEq)]
enum To {
    Terminal,
    Pipe,
}

/// A pseudo-terminal: the side the test reads, and the side the child writes to.
fn pty() -> (File, File) {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .expect("a pseudo-terminal");
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let child = OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    (File::from(master), child)
}

/// Reads a terminal until the child's side is closed (Linux then answers EIO).
fn read_all(mut master: File) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match master.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        String::from_utf8_lossy(&out).replace("\r\n", "\n")
    })
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs portolan in `dir` with `args`, stdout and stderr where `stdout` and `stderr` say, on a
/// `TERM=xterm-256color` terminal with `env` added.
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)], stdout: To, stderr: To) -> Run {
    let mut command = common::portolan();
    command.current_dir(dir).args(args).stdin(Stdio::null());
    for key in COLOR_ENV {
        command.env_remove(key);
    }
    command
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied());
    let mut readers = Vec::new();
    for (to, is_stdout) in [(stdout, true), (stderr, false)] {
        let stdio = match to {
            To::Terminal => {
                let (master, child) = pty();
                readers.push((is_stdout, read_all(master)));
                Stdio::from(child)
            }
            To::Pipe => Stdio::piped(),
        };
        if is_stdout {
            command.stdout(stdio);
        } else {
            command.stderr(stdio);
        }
    }
    let mut child = command.spawn().unwrap();
    // The child holds the terminals now; the test's copies went with `command`.
    drop(command);
    let mut piped_out = String::new();
    let mut piped_err = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut piped_out).unwrap();
    }
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut piped_err).unwrap();
    }
    let code = child.wait().unwrap().code().unwrap();
    for (is_stdout, reader) in readers {
        let text = reader.join().unwrap();
        if is_stdout {
            piped_out = text;
        } else {
            piped_err = text;
        }
    }
    Run {
        code,
        stdout: piped_out,
        stderr: piped_err,
    }
}

fn drifted() -> std::path::PathBuf {
    common::root().join("tests/cmd/fixtures/drifted")
}

/// `check --select PT201` on the drifted fixture: one error, the report on stdout.
fn check(env: &[(&str, &str)], extra: &[&str], stdout: To) -> Run {
    let mut args = vec!["check", "--select", "PT201"];
    args.extend_from_slice(extra);
    let run = run(&drifted(), &args, env, stdout, To::Terminal);
    assert_eq!(
        run.code, 1,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.contains("PT201"), "{}", run.stdout);
    run
}

fn colored(text: &str) -> bool {
    text.contains("\x1b[")
}

#[test]
fn a_terminal_gets_colour() {
    assert!(colored(&check(&[], &[], To::Terminal).stdout));
}

#[test]
fn a_pipe_gets_no_colour() {
    assert!(!colored(&check(&[], &[], To::Pipe).stdout));
}

#[test]
fn no_color_turns_colour_off_on_a_terminal() {
    let run = check(&[("NO_COLOR", "1")], &[], To::Terminal);
    assert!(!colored(&run.stdout), "{}", run.stdout);
}

#[test]
fn an_empty_no_color_is_not_set() {
    assert!(colored(
        &check(&[("NO_COLOR", "")], &[], To::Terminal).stdout
    ));
}

#[test]
fn color_never_turns_colour_off_on_a_terminal() {
    let run = check(&[], &["--color", "never"], To::Terminal);
    assert!(!colored(&run.stdout), "{}", run.stdout);
}

#[test]
fn color_always_wins_over_no_color_and_colours_a_pipe() {
    let run = check(&[("NO_COLOR", "1")], &["--color=always"], To::Pipe);
    assert!(colored(&run.stdout), "{}", run.stdout);
}

#[test]
fn force_color_colours_a_pipe_and_a_dumb_terminal() {
    assert!(colored(
        &check(&[("FORCE_COLOR", "1")], &[], To::Pipe).stdout
    ));
    let dumb = [("FORCE_COLOR", "1"), ("TERM", "dumb")];
    assert!(colored(&check(&dumb, &[], To::Terminal).stdout));
    assert!(!colored(
        &check(&[("TERM", "dumb")], &[], To::Terminal).stdout
    ));
}

#[test]
fn no_color_wins_over_force_color() {
    let both = [("NO_COLOR", "1"), ("FORCE_COLOR", "1")];
    assert!(!colored(&check(&both, &[], To::Terminal).stdout));
}

#[test]
fn clicolor_zero_turns_colour_off_and_clicolor_force_on() {
    assert!(!colored(
        &check(&[("CLICOLOR", "0")], &[], To::Terminal).stdout
    ));
    assert!(colored(
        &check(&[("CLICOLOR_FORCE", "1")], &[], To::Pipe).stdout
    ));
}

#[test]
fn each_stream_is_decided_on_its_own() {
    // A spec error goes to stderr; stdout has nothing to colour.
    let dir = common::root().join("tests/cmd/check-bad-spec.in");
    let args = ["check", "--spec", "portolan.yaml"];
    let run_ = |env: &[(&str, &str)], stderr| run(&dir, &args, env, To::Terminal, stderr);
    let on_terminal = run_(&[], To::Terminal);
    assert_eq!(on_terminal.code, 2);
    assert!(on_terminal.stderr.contains("unknown field `prots`"));
    assert!(colored(&on_terminal.stderr), "{}", on_terminal.stderr);
    let piped = run_(&[], To::Pipe);
    assert!(!colored(&piped.stderr), "{}", piped.stderr);
    let no_color = run_(&[("NO_COLOR", "1")], To::Terminal);
    assert!(no_color.stderr.contains("unknown field `prots`"));
    assert!(!colored(&no_color.stderr), "{}", no_color.stderr);
}

#[test]
fn clap_help_and_errors_follow_the_same_decision() {
    let dir = drifted();
    let help = |env: &[(&str, &str)], args: &[&str]| {
        let run = run(&dir, args, env, To::Terminal, To::Terminal);
        assert_eq!(run.code, 0);
        assert!(run.stdout.contains("Usage:"), "{}", run.stdout);
        colored(&run.stdout)
    };
    assert!(help(&[], &["check", "--help"]));
    assert!(!help(&[("NO_COLOR", "1")], &["check", "--help"]));
    assert!(!help(&[], &["check", "--help", "--color", "never"]));
    assert!(!help(&[], &["--color=never", "--help"]));
    let error = |env: &[(&str, &str)], args: &[&str]| {
        let run = run(&dir, args, env, To::Terminal, To::Terminal);
        assert_eq!(run.code, 2);
        assert!(run.stderr.contains("unexpected argument"), "{}", run.stderr);
        colored(&run.stderr)
    };
    assert!(error(&[], &["check", "--bogus"]));
    assert!(!error(&[("NO_COLOR", "1")], &["check", "--bogus"]));
    assert!(!error(&[], &["check", "--color=never", "--bogus"]));
}

#[test]
fn render_verbs_follow_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let spec = common::root().join("examples/convex-selfhosted/portolan.yaml");
    std::fs::copy(&spec, dir.path().join("portolan.yaml")).unwrap();
    let render = |env: &[(&str, &str)], out: &str| {
        let run = run(
            dir.path(),
            &["render", "portolan.yaml", "--out", out],
            env,
            To::Pipe,
            To::Terminal,
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains("created"), "{}", run.stderr);
        colored(&run.stderr)
    };
    assert!(render(&[], "a"));
    assert!(!render(&[("NO_COLOR", "1")], "b"));
}
