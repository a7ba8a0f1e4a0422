//! `browser-var-localhost` (PT305): A browser-side variable holding a localhost URL in a Coder template.

use std::path::{Path, PathBuf};

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::build::normalize;
use crate::model::{EnvScope, EnvVar, Workspace, WrittenFile};
use crate::render::header::MARK;
use crate::rules::{Rule, Sink};
use crate::source::FileId;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "browser-var-localhost",
        code: "PT305",
        default_severity: Severity::Warning,
        summary: "A browser-side variable holding a localhost URL in a Coder template",
        explanation: r#"## What it does
In a workspace with a Coder template, reports variables that frameworks ship to the browser
(`VITE_*`, `NEXT_PUBLIC_*`, `PUBLIC_*`, `REACT_APP_*`, `EXPO_PUBLIC_*`, and the ones the
knowledge base marks) whose value is a `http://localhost...` URL, in env files, compose
`environment` and Terraform env maps.

An env file that a script rewrites at workspace start (`cat > .env.local <<EOF`,
`... | write_managed .env.local` in portolan's start script, or a file carrying portolan's
`portolan-sha256:` header next to portolan's start script) is a fallback for use outside Coder
and is not reported.

## Why is this bad?
The code that reads the variable runs in the user's browser, which is not inside the
workspace: `localhost` there is the user's own machine. The app loads, then every request to
the backend fails with a connection error.

## Example
```dotenv
VITE_CONVEX_URL=http://localhost:3210
```
Use the public origin of the app that serves port 3210, or write the file at workspace start
from `CODER_WORKSPACE_NAME` and `CODER_WORKSPACE_OWNER_NAME`:
```dotenv
VITE_CONVEX_URL=https://convex-api--chat--alice.coder.example.com
```
"#,
    },
    check,
};

fn check(ws: &Workspace, sink: &mut Sink) {
    if !ws.is_coder_template() {
        return;
    }
    let rewritten = &ws.written_files;
    for var in &ws.env {
        let Some(port) = var.url.as_ref().and_then(|u| u.local_port()) else {
            continue;
        };
        if !ws.knowledge.is_browser_var(&var.name) || is_fallback(ws, var, rewritten) {
            continue;
        }
        let value = var.url.as_ref().map(|u| u.text.as_str()).unwrap_or("");
        let mut d = sink.report(
            var.value_span,
            format!(
                "{} is {value}, but the browser that reads it is not in the workspace: localhost there is the user's own machine",
                var.name
            ),
        );
        d.primary.message = "a localhost URL shipped to the browser".to_owned();
        let apps: Vec<&str> = ws
            .apps
            .iter()
            .filter(|a| a.url.as_ref().and_then(|u| u.local_port()) == Some(port))
            .map(|a| a.slug.as_str())
            .collect();
        let start = "or write it at workspace start from CODER_WORKSPACE_NAME and CODER_WORKSPACE_OWNER_NAME";
        d.help = Some(match apps.as_slice() {
            [slug] => format!("use the public origin of app {slug}, {start}"),
            _ => format!("use the public origin of an app with url http://localhost:{port}, {start}"),
        });
    }
}

/// Whether the value is only a fallback that the workspace replaces when it starts.
fn is_fallback(ws: &Workspace, var: &EnvVar, rewritten: &[WrittenFile]) -> bool {
    let file = var.value_span.file;
    match var.scope {
        EnvScope::EnvFile => {
            is_written(ws, file, rewritten) || (rendered(ws, file) && has_portolan_start(ws))
        }
        // `${ORIGIN:-http://localhost:3210}`: the value comes from the `.env` beside the compose
        // file when the start script writes one.
        EnvScope::Compose(_) => {
            var.interpolates() && {
                let dotenv = ws
                    .sources
                    .get(file)
                    .path
                    .parent()
                    .map_or_else(|| PathBuf::from(".env"), |dir| dir.join(".env"));
                written_path(&normalize(&dotenv), rewritten)
            }
        }
        EnvScope::AgentEnv | EnvScope::CoderEnv | EnvScope::Container => false,
        // Script values are computed at start; the spec is checked by `render`.
        EnvScope::Script | EnvScope::Spec => true,
    }
}

fn is_written(ws: &Workspace, file: FileId, rewritten: &[WrittenFile]) -> bool {
    written_path(&normalize(&ws.sources.get(file).path), rewritten)
}


fn written_path(path: &Path, rewritten: &[WrittenFile]) -> bool {
    rewritten.iter().any(|w| w.lands_on(path))
}

/// Whether a file carries portolan's header in its first lines.
fn rendered(ws: &Workspace, file: FileId) -> bool {
    ws.sources
        .get(file)
        .text
        .lines()
        .take(3)
        .any(|l| l.starts_with('#') && l.contains(MARK))
}

/// Whether the workspace has portolan's start script: a rendered script that writes env files
/// with `write_managed`.
fn has_portolan_start(ws: &Workspace) -> bool {
    ws.written_files
        .iter()
        .any(|w| w.managed && w.in_script_file && rendered(ws, w.writer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    const TF: &str = r#"resource "coder_agent" "main" {
  os   = "linux"
  arch = "amd64"
  env = {
    NEXT_PUBLIC_API = "http://localhost:8000"
    API_URL         = "http://localhost:8000"
  }
}

resource "coder_app" "convex-api" {
  agent_id = coder_agent.main.id
  slug     = "convex-api"
  url      = "http://localhost:3210"
}
"#;

    const ENV: &str = "VITE_CONVEX_URL=http://localhost:3210\nVITE_CONVEX_SITE_URL=https://convex-site--chat--alice.coder.example.com\nCONVEX_SELF_HOSTED_URL=http://localhost:3210\n";

    #[test]
    fn localhost_in_browser_variables() {
        let compose = "services:\n  dashboard:\n    image: ghcr.io/get-convex/convex-dashboard:latest\n    environment:\n      NEXT_PUBLIC_DEPLOYMENT_URL: ${CONVEX_URL:-http://localhost:3210}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", TF), (".env.local", ENV), ("docker-compose.yml", compose)]),
            vec![
                ".env.local:1:17: warning: VITE_CONVEX_URL is http://localhost:3210, but the browser that reads it is not in the workspace: localhost there is the user's own machine",
                "main.tf:5:23: warning: NEXT_PUBLIC_API is http://localhost:8000, but the browser that reads it is not in the workspace: localhost there is the user's own machine",
                "docker-compose.yml:5:35: warning: NEXT_PUBLIC_DEPLOYMENT_URL is http://localhost:3210, but the browser that reads it is not in the workspace: localhost there is the user's own machine",
            ]
        );
        // Without a Coder template, localhost is where the browser runs.
        assert_eq!(check(&RULE, &[(".env.local", ENV)]), Vec::<String>::new());
    }

    #[test]
    fn files_rewritten_at_start_are_fallbacks() {
        let tf = r#"resource "coder_agent" "main" {
  os             = "linux"
  arch           = "amd64"
  startup_script = <<-EOT
    cat > /home/coder/app/.env.local <<EOF
    VITE_CONVEX_URL=https://convex-api--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.example.com
    EOF
  EOT
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf), (".env.local", ENV)]),
            Vec::<String>::new()
        );
        let start = "#!/bin/bash\nwrite_managed() { cat >\"$1\"; }\nprintf 'ORIGIN=%s\\n' \"$ORIGIN\" | write_managed .env\nenv_line VITE_CONVEX_URL \"$ORIGIN\" | write_managed \"$PWD/web/.env.local\"\n";
        let compose = "services:\n  dashboard:\n    image: ghcr.io/get-convex/convex-dashboard:latest\n    environment:\n      NEXT_PUBLIC_DEPLOYMENT_URL: ${ORIGIN:-http://localhost:3210}\n";
        assert_eq!(
            check(
                &RULE,
                &[
                    ("main.tf", "resource \"coder_agent\" \"main\" {\n  os = \"linux\"\n}\n"),
                    ("start.sh", start),
                    ("web/.env.local", ENV),
                    ("docker-compose.yml", compose),
                ]
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_script_writes_files_relative_to_its_folder() {
        let tf = "resource \"coder_agent\" \"main\" {\n  os = \"linux\"\n}\n";
        let start = "#!/bin/bash\ncat > .env.local <<EOF\nVITE_CONVEX_URL=$ORIGIN\nEOF\n";
        assert_eq!(
            check(&RULE, &[("main.tf", tf), ("scripts/start.sh", start), ("web/.env.local", ENV)]),
            vec!["web/.env.local:1:17: warning: VITE_CONVEX_URL is http://localhost:3210, but the browser that reads it is not in the workspace: localhost there is the user's own machine"]
        );
        let start = start.replace("> .env.local", "> ../web/.env.local");
        assert_eq!(
            check(&RULE, &[("main.tf", tf), ("scripts/start.sh", &start), ("web/.env.local", ENV)]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn portolan_rendered_env_files_next_to_its_start_script() {
        let env = "# Written by portolan from portolan.yaml. portolan-sha256:00\nVITE_CONVEX_URL=http://localhost:3210\n";
        let start = "#!/usr/bin/env bash\n# Written by portolan. portolan-sha256:00\nwrite_managed() { cat >\"$1\"; }\necho | write_managed frontend/.env.local\n";
        let tf = "resource \"coder_agent\" \"main\" {\n  os = \"linux\"\n}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", tf), ("start-workspace.sh", start), (".env.local", env)]),
            Vec::<String>::new()
        );
        // The header alone, without portolan's start script, proves nothing.
        assert_eq!(
            check(&RULE, &[("main.tf", tf), (".env.local", env)]),
            vec![".env.local:2:17: warning: VITE_CONVEX_URL is http://localhost:3210, but the browser that reads it is not in the workspace: localhost there is the user's own machine"]
        );
    }
}
