//! `path-app-needs-subdomain` (PT208): a path-based app for a server that needs its own origin.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "path-app-needs-subdomain",
        code: "PT208",
        default_severity: Severity::Warning,
        summary: "A path-based app for a server that needs its own origin",
        explanation: "## What it does
Finds `coder_app`s without `subdomain = true` whose port is served by a program that assumes
it owns `/` of its origin (the Vite and Next.js dev servers, the Convex backend and dashboard;
the list is `own_origin_roles` in the knowledge base).

## Why is this bad?
A path-based app lives under `/@owner/workspace/apps/slug/`. The server still writes absolute
links, assets and API calls to `/`, which land on Coder instead of the app: a blank page, broken
hot reload, or 404s on every request.

## Example
```hcl
resource \"coder_app\" \"app\" {
  url = \"http://localhost:5173\" # Vite
}
```
Add `subdomain = true` (the deployment needs a wildcard access URL).
",
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    let kb = &workspace.knowledge;
    let ports = workspace.port_lookups();
    for app in &workspace.apps {
        if app.subdomain {
            continue;
        }
        let Some(port) = app.url.as_ref().and_then(|u| u.local_port()) else { continue };
        let behind = ports.served_behind_in(port, app.netns);
        let Some(listener) = behind.listeners().into_iter().find(|l| {
            l.role.as_ref().is_some_and(|role| kb.own_origin_roles.iter().any(|r| r == role))
        }) else {
            continue;
        };
        sink.report(
            app.slug_span,
            format!(
                "coder_app {} is path-based, but {} on port {port} expects to own `/` of its origin",
                app.slug, listener.program
            ),
        )
        .with_related(listener.span, format!("{} starts here", listener.program))
        .with_help("set `subdomain = true` on the app");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    const SCRIPT: &str = "#!/bin/sh\npnpm exec vite --port 5173 &\n";

    #[test]
    fn vite_behind_a_path_app() {
        let tf = "resource \"coder_app\" \"app\" {\n  slug = \"app\"\n  url  = \"http://localhost:5173\"\n}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", tf), ("start.sh", SCRIPT)]),
            vec!["main.tf:2:10: warning: coder_app app is path-based, but vite on port 5173 expects to own `/` of its origin"]
        );
    }

    #[test]
    fn subdomain_apps_and_other_servers_are_fine() {
        let tf = "resource \"coder_app\" \"app\" {\n  slug      = \"app\"\n  url       = \"http://localhost:5173\"\n  subdomain = true\n}\n";
        assert!(check(&RULE, &[("main.tf", tf), ("start.sh", SCRIPT)]).is_empty());
        let tf = "resource \"coder_app\" \"api\" {\n  slug = \"api\"\n  url  = \"http://localhost:8000\"\n}\n";
        let script = "#!/bin/sh\nuvicorn app:app --port 8000 &\n";
        assert!(check(&RULE, &[("main.tf", tf), ("start.sh", script)]).is_empty());
    }
}
