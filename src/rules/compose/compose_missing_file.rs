//! `compose-missing-file` (PT501): an `env_file` or a mounted file that is not there.

use std::path::{Path, PathBuf};

use crate::files::classify;
use crate::diagnostic::{RuleMeta, Severity};
use crate::model::build::normalize;
use crate::model::{FileKind, Workspace};
use crate::model::compose::{ComposeFile, ComposeText};
use crate::rules::{Rule, Sink};
use crate::spec::did_you_mean;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "compose-missing-file",
        code: "PT501",
        default_severity: Severity::Error,
        summary: "An env_file or mounted script that does not exist",
        explanation: r#"## What it does
Finds `env_file:` entries and host files mounted under `volumes:` that are not among the files
portolan checked, with paths taken relative to the compose file's folder. Only files of kinds
portolan reads (`.env`/`*.env` files, `.sh` scripts, compose and Terraform files) are judged,
and files a script writes (`cat > .env <<EOF`, the start script's `write_managed .env`) count as
present.

## Why is this bad?
Compose refuses to start a service whose `env_file` is missing (unless the entry says
`required: false`): an error. A missing bind-mount source is worse: docker creates an empty
folder in its place, so the container finds a folder where its start script should be and
fails later, far from the cause (a warning, since portolan may not see every file).

portolan skips what `.gitignore` excludes, and `.env` files are often ignored: for env files
named `.env*` the finding is a warning.

## Example
```yaml
services:
  backend:
    env_file: ./backend.env   # the file is called convex.env
    volumes:
      - ./start-backend.sh:/start.sh:ro
```
Point at files that exist, or mark optional env files:
```yaml
    env_file:
      - path: ./backend.env
        required: false
```
"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for (file, compose) in &workspace.compose_files {
        let dir = workspace
            .sources
            .get(*file)
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for service in &compose.services {
            for env_file in service.env_files.iter().filter(|e| e.required) {
                let Some(path) = missing(workspace, compose, &dir, &env_file.path) else {
                    continue;
                };
                if classify(&path, None) != Some(FileKind::EnvFile) {
                    continue;
                }
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                let severity = if name.starts_with(".env") {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                let mut d = sink.report_as(
                    severity,
                    env_file.path.span,
                    format!(
                        "service {} reads env_file {}, which is not among the checked files: compose refuses to start without it{}",
                        service.name,
                        shown(&env_file.path.value, &path),
                        hint(workspace, &path)
                    ),
                );
                d.primary.message = "no such file".to_owned();
                d.help = Some(
                    "fix the path, create the file, or mark an optional file `required: false`"
                        .to_owned(),
                );
            }
            for mount in service.volumes.iter().filter(|v| v.is_host_path()) {
                let Some(source) = &mount.source else {
                    continue;
                };
                let Some(path) = missing(workspace, compose, &dir, source) else {
                    continue;
                };
                if !matches!(classify(&path, None), Some(k) if k != FileKind::Spec) {
                    continue;
                }
                let mut d = sink.report_as(
                    Severity::Warning,
                    source.span,
                    format!(
                        "service {} mounts {} at {}, but it is not among the checked files: docker mounts an empty folder there instead{}",
                        service.name,
                        shown(&source.value, &path),
                        mount.target.value,
                        hint(workspace, &path)
                    ),
                );
                d.primary.message = "no such file".to_owned();
                d.help = Some("fix the path or create the file".to_owned());
            }
        }
    }
}

/// The path (relative to the checked folder) of a file the compose file names, when portolan
/// can judge it and did not see it: not absolute, not outside the folder, not built from an
/// unset variable, not written by a script.
fn missing(
    workspace: &Workspace,
    compose: &ComposeFile,
    dir: &Path,
    written: &ComposeText,
) -> Option<PathBuf> {
    let value = written.value.as_str();
    let unset = compose
        .missing_variables
        .iter()
        .any(|m| m.span.start < written.span.end && written.span.start < m.span.end);
    if value.is_empty() || unset || value.starts_with(['/', '~', '\\']) || value.contains([':', '$']) {
        return None;
    }
    let path = normalize(&dir.join(value));
    if path.starts_with("..") || workspace.sources.find(&path).is_some() {
        return None;
    }
    let name = path.file_name()?.to_str()?;
    let written_by_script = workspace
        .written_files
        .iter()
        .any(|w| w.name == name);
    (!written_by_script).then_some(path)
}

/// The path as written, and where it resolves to when that differs.
fn shown(written: &str, path: &Path) -> String {
    let resolved = path.display().to_string();
    if written.trim_start_matches("./") == resolved {
        format!("`{written}`")
    } else {
        format!("`{written}` ({resolved})")
    }
}

/// `; did you mean `x`?` for a file of the same folder with a close name.
fn hint(workspace: &Workspace, path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let siblings: Vec<&str> = workspace
        .sources
        .files()
        .filter(|(_, f)| f.path.parent() == path.parent())
        .filter_map(|(_, f)| f.path.file_name()?.to_str())
        .collect();
    did_you_mean(name, siblings)
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::test::check;

    const COMPOSE: &str = "services:
  backend:
    image: ghcr.io/get-convex/convex-backend:latest
    env_file:
      - backend.env
      - ./secrets.env
      - path: .env.local
        required: false
      - .env.prod
      - ../shared.env
      - config/app.conf
      - ${ENV_DIR}/x.env
    volumes:
      - ./start-backnd.sh:/start.sh:ro
      - ./data:/data
      - /var/run/docker.sock:/var/run/docker.sock
      - convex-data:/convex/data
      - ./nginx.conf:/etc/nginx/nginx.conf
      - ./generated.env:/app/.env
      - ./start-backend.sh:/ok.sh
";
    const SCRIPT: &str = "cat > generated.env <<EOF\nA=1\nEOF\n";

    #[test]
    fn env_files_and_mounts_that_are_not_there() {
        let files = [
            ("coder/docker-compose.yml", COMPOSE),
            ("coder/backend.env", "A=1\n"),
            ("coder/start-backend.sh", "exec convex-local-backend\n"),
            ("coder/start.sh", SCRIPT),
        ];
        assert_eq!(
            check(&RULE, &files),
            vec![
                "coder/docker-compose.yml:6:9: error: service backend reads env_file `./secrets.env` (coder/secrets.env), which is not among the checked files: compose refuses to start without it",
                "coder/docker-compose.yml:9:9: warning: service backend reads env_file `.env.prod` (coder/.env.prod), which is not among the checked files: compose refuses to start without it",
                "coder/docker-compose.yml:10:9: error: service backend reads env_file `../shared.env` (shared.env), which is not among the checked files: compose refuses to start without it",
                "coder/docker-compose.yml:14:9: warning: service backend mounts `./start-backnd.sh` (coder/start-backnd.sh) at /start.sh, but it is not among the checked files: docker mounts an empty folder there instead; did you mean `start-backend.sh`?",
            ]
        );
    }

    #[test]
    fn files_that_are_there() {
        let compose = "services:\n  app:\n    image: node:20\n    env_file: [.env, ../shared/app.env]\n    volumes: [\"./start.sh:/start.sh\"]\n";
        let files = [
            ("docker-compose.yml", compose),
            (".env", "A=1\n"),
            ("start.sh", "node server.js\n"),
        ];
        assert_eq!(check(&RULE, &files), Vec::<String>::new());
    }

    /// Every file a script writes counts, however it writes it: the start script's
    /// `write_managed PATH` too.
    #[test]
    fn files_the_start_script_writes_are_there() {
        let compose = "services:\n  app:\n    image: node:20\n    env_file: [app.env]\n";
        let script = "#!/bin/sh\nwrite_managed app.env <<'EOF'\nA=1\nEOF\n";
        let files = [("docker-compose.yml", compose), ("start.sh", script)];
        assert_eq!(check(&RULE, &files), Vec::<String>::new());
    }
}
