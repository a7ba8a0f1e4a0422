//! Symbolic links never make `check` (or `probe`) read a file the user did not ask to check: not
//! a file outside the working folder (`/proc/self/environ`, `/etc/passwd`), not one the walk
//! skips (`.git/config`, a gitignored secrets file). A pull request can commit any link; what
//! portolan reads through it is printed in code frames and JSON replacements.

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Output;

const CANARY: &str = "LEAKED-canary-7d1f";

fn run(dir: &Path, args: &[&str]) -> Output {
    common::portolan()
        .current_dir(dir)
        .args(args)
        .env("CI_SECRET", CANARY)
        .env_remove("CODER_WORKSPACE_NAME")
        .output()
        .expect("run portolan")
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Nothing of `secret` appears anywhere in what the run printed.
fn assert_not_shown(output: &Output, secret: &str, args: &[&str]) {
    let (out, err) = text(output);
    assert!(
        !out.contains(secret) && !err.contains(secret),
        "portolan {args:?} showed `{secret}`:\n{out}\n{err}"
    );
}

/// `check --spec` and `probe --spec` with the spec a link to the process's environment: refused,
/// exit 2, the environment never shown.
#[test]
fn a_spec_linked_to_the_environment_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    symlink("/proc/self/environ", dir.path().join("portolan.yaml")).unwrap();
    for args in [
        &["check", "--spec", "portolan.yaml"][..],
        &["check", "--spec", "portolan.yaml", "--format", "json"],
        &["probe", "--spec", "portolan.yaml"],
    ]
    .into_iter()
    .filter(|a| common::in_this_build(a))
    {
        let output = run(dir.path(), args);
        let (_, err) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("portolan.yaml is a symbolic link"),
            "{args:?}: {err}"
        );
        assert_not_shown(&output, CANARY, args);
    }
}

/// `check FILE` where FILE is a link out of the working folder, or to `/proc`: refused with a
/// message naming the link and where it points, exit 2, never read.
#[test]
fn an_explicit_file_linked_out_of_the_folder_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let passwd = outside.path().join("passwd");
    std::fs::write(&passwd, "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    let dir = tempfile::tempdir().unwrap();
    symlink("/proc/self/environ", dir.path().join("docker-compose.yml")).unwrap();
    symlink(&passwd, dir.path().join("main.tf")).unwrap();
    symlink("/proc/self/environ", dir.path().join("start.sh")).unwrap();
    for (args, secret) in [
        (&["check", "docker-compose.yml"][..], CANARY),
        (&["check", "docker-compose.yml", "--format", "json"], CANARY),
        (&["check", "start.sh"], CANARY),
        (&["check", "main.tf"], "root:x:0:0"),
        (&["check", "main.tf", "--format", "json"], "root:x:0:0"),
        (&["probe", "main.tf"], "root:x:0:0"),
    ]
    .into_iter()
    .filter(|(a, _)| common::in_this_build(a))
    {
        let output = run(dir.path(), args);
        let (_, err) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(&format!("{} is a symbolic link to ", args[1]))
                && err.contains("not read"),
            "{args:?}: {err}"
        );
        assert_not_shown(&output, secret, args);
    }
    // Named by an absolute path from elsewhere: the link's own folder is the bound.
    let elsewhere = tempfile::tempdir().unwrap();
    for (name, secret) in [("main.tf", "root:x:0:0"), ("docker-compose.yml", CANARY)] {
        let path = dir.path().join(name);
        let args = ["check", path.to_str().unwrap()];
        let output = run(elsewhere.path(), &args);
        let (_, err) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("is a symbolic link to "), "{args:?}: {err}");
        assert_not_shown(&output, secret, &args);
    }
}

/// `--knowledge` is read only from a regular file, as the spec is.
#[test]
fn a_knowledge_file_linked_to_the_environment_is_never_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("start.sh"), "echo hi\n").unwrap();
    symlink("/proc/self/environ", dir.path().join("k.yaml")).unwrap();
    for args in [
        &["check", ".", "--knowledge", "k.yaml"][..],
        &["check", ".", "--knowledge", "k.yaml", "--format", "json"],
    ] {
        let output = run(dir.path(), args);
        let (_, err) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("k.yaml is a symbolic link"), "{args:?}: {err}");
        assert_not_shown(&output, CANARY, args);
    }
}

/// A repository with a credential in `.git/config` (as `actions/checkout` leaves it) and a
/// gitignored secrets file; committed links to both under names check reads. No link is
/// followed: each is said as skipped, and no output format shows what they point at. (The
/// gitignored env file is read under its own name, as every env file is, and shows nothing.)
#[test]
fn links_inside_the_tree_to_files_the_walk_skips_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join(".git")).unwrap();
    std::fs::write(
        d.join(".git/config"),
        "[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic eC1hY2Nlc3M=\n",
    )
    .unwrap();
    std::fs::write(d.join(".gitignore"), ".secret.env\n").unwrap();
    std::fs::write(d.join(".secret.env"), "export TOKEN=hunter2-secret\n").unwrap();
    std::fs::create_dir(d.join("ignored")).unwrap();
    std::fs::write(d.join("ignored/.ignore"), "*.sh\n").unwrap();
    std::fs::write(d.join("ignored/deploy.sh"), "echo 'ignored-script-body'\n").unwrap();
    symlink(".git/config", d.join("app.env")).unwrap();
    symlink(".secret.env", d.join("local.env")).unwrap();
    symlink("ignored/deploy.sh", d.join("start.sh")).unwrap();
    for args in [
        &["check", "."][..],
        &["check", ".", "--format", "json"],
        &["check", ".", "--format", "sarif"],
        &["check", ".", "--format", "github"],
    ] {
        let output = run(d, args);
        for secret in [
            "eC1hY2Nlc3M",
            "extraheader",
            "hunter2",
            "ignored-script-body",
        ] {
            assert_not_shown(&output, secret, args);
        }
        if args.len() == 2 {
            let (out, _) = text(&output);
            for link in ["app.env", "local.env", "start.sh"] {
                assert!(
                    out.contains(link)
                        && out.contains("a symbolic link to a file that is not checked itself"),
                    "{link} not said as skipped:\n{out}"
                );
            }
        }
    }
}

/// A link named on the command line to a regular file inside the working folder is checked,
/// under the name of the file it points at; one to a file the walk skips is refused.
#[test]
fn an_explicit_link_inside_the_folder_is_checked_as_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("deploy")).unwrap();
    std::fs::write(d.join("deploy/compose.yml"), "services:\n  web: [\n").unwrap();
    symlink("deploy/compose.yml", d.join("docker-compose.yml")).unwrap();
    let output = run(d, &["check", "docker-compose.yml"]);
    let (out, err) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}\n{err}");
    assert!(out.contains("deploy/compose.yml:2:"), "{out}");
    let elsewhere = tempfile::tempdir().unwrap();
    let absolute = d.join("docker-compose.yml");
    let output = run(elsewhere.path(), &["check", absolute.to_str().unwrap()]);
    let (out, err) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}\n{err}");
    assert!(out.contains("deploy/compose.yml:2:"), "{out}");

    std::fs::create_dir(d.join(".git")).unwrap();
    std::fs::write(d.join(".git/config"), "[core]\n\tsecret-core-line = 1\n").unwrap();
    std::fs::write(d.join(".gitignore"), "secret.env\n").unwrap();
    std::fs::write(d.join("secret.env"), "TOKEN=hunter2\n").unwrap();
    symlink(".git/config", d.join("app.env")).unwrap();
    symlink("secret.env", d.join("local.env")).unwrap();
    for (args, secret) in [
        (&["check", "app.env"][..], "secret-core-line"),
        (&["check", "local.env"], "hunter2"),
    ] {
        let output = run(d, args);
        let (_, err) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("not read"), "{args:?}: {err}");
        assert_not_shown(&output, secret, args);
    }
}
