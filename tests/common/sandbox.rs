//! A sandbox for running generated shell code: a temporary folder, `docker` and `curl` replaced by
//! stubs on PATH that record their arguments, and a canary check for files nobody asked for.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The file name hostile values try to create (`$(touch PWNED)`).
pub const CANARY: &str = "PWNED";

pub struct Sandbox {
    pub bin: tempfile::TempDir,
    pub log: tempfile::TempDir,
}

impl Sandbox {
    /// Stubs: `docker` and `curl` log one line per call (`curl` logs its last argument, the URL)
    /// and succeed; every container is running and healthy, every URL answers 200.
    pub fn new() -> Self {
        let bin = tempfile::tempdir().unwrap();
        let log = tempfile::tempdir().unwrap();
        stub(
            bin.path(),
            "docker",
            r#"printf '%s\n' "$*" >>"$STUB_LOG/docker"
case " $* " in
  *" ps -q "*) echo cafe ;;
  " inspect --format "*) echo healthy ;;
esac
exit 0"#,
        );
        stub(
            bin.path(),
            "curl",
            r#"printf '%s\n' "${!#}" >>"$STUB_LOG/curl"
printf '200'"#,
        );
        Sandbox { bin, log }
    }

    /// Runs `bash SCRIPT` in `dir` with a clean environment, the stubs first on PATH.
    pub fn run(&self, script: &Path, dir: &Path, env: &[(&str, &str)]) -> Output {
        let path = format!(
            "{}:{}",
            self.bin.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        cmd.arg(script)
            .current_dir(dir)
            .env_clear()
            .env("PATH", path)
            .env("HOME", dir)
            .env("STUB_LOG", self.log.path())
            .env("PORTOLAN_HEALTH_TIMEOUT", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// What a stub logged, one call per line.
    pub fn calls(&self, stub: &str) -> String {
        std::fs::read_to_string(self.log.path().join(stub)).unwrap_or_default()
    }
}

fn stub(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Every file below `dirs` named like the canary.
pub fn canaries(dirs: &[&Path]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name() == CANARY {
                found.push(path.clone());
            }
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            }
        }
    }
    found
}
