//! `listener-without-app` (PT206): a port an origin needs that no coder_app exposes.

use crate::diagnostic::{RuleMeta, Severity};
use crate::knowledge::EnvKind;
use crate::model::chain::describe;
use crate::model::{Listener, Place, Workspace};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "listener-without-app",
        code: "PT206",
        default_severity: Severity::Warning,
        summary: "A port an origin needs that no coder_app exposes",
        explanation: "## What it does
For every env variable that must hold the public origin of a listener (the knowledge base gives
roles: `CONVEX_SITE_ORIGIN` needs the Convex backend's site proxy, `VITE_CONVEX_URL` its API),
checks that a `coder_app` exposes that listener in the template.

## Why is this bad?
A public origin in a Coder workspace is an app's subdomain. Without an app for the port there
is no origin to put in the variable, so it ends up holding another app's origin or a localhost
URL that browsers cannot reach.

## Example
`CONVEX_SITE_ORIGIN` is set, the backend's site proxy listens on 3211, and no `coder_app` has
`url = \"http://localhost:3211\"`: add one (`share = \"public\"` for auth discovery).
",
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    if !workspace.is_coder_template() {
        return;
    }
    let kb = &workspace.knowledge;
    let mut reported: Vec<(&str, u16)> = Vec::new();
    for var in &workspace.env {
        let Some(role) = kb.env_role(&var.name) else { continue };
        if role.kind != EnvKind::PublicOrigin {
            continue;
        }
        let Some(wanted) = role.role.as_deref() else { continue };
        let listeners = workspace.distinct_listeners();
        for listener in listeners.into_iter().filter(|l| l.role.as_deref() == Some(wanted)) {
            if reported.contains(&(wanted, listener.port))
                || exposed(workspace, listener)
                || stray_app(workspace, wanted)
            {
                continue;
            }
            reported.push((wanted, listener.port));
            let (where_, host_port) = match listener.place {
                Place::Workspace => ("in the workspace".to_owned(), Some(listener.port)),
                Place::Container(index) => {
                    let service = &workspace.services[index];
                    let host = service.published.iter().find_map(|p| p.host_for(listener.port));
                    (format!("in {}", service.name), host)
                }
            };
            let help = match host_port {
                Some(port) => format!("add a coder_app with url = \"http://localhost:{port}\""),
                None => format!("publish {} in compose, then add a coder_app for it", listener.port),
            };
            sink.report(
                var.name_span,
                format!(
                    "{} needs the public origin of {wanted}: {} {where_} listens on {}, but no coder_app exposes it",
                    var.name,
                    listener.program,
                    describe(listener)
                ),
            )
            .with_related(listener.span, format!("{} listens on {}", listener.program, describe(listener)))
            .with_help(help);
        }
    }
}

/// Whether an app of this role (a variable of the role holds its origin) targets a port where
/// nothing listens: app-port-not-served names the port it must target.
fn stray_app(workspace: &Workspace, role: &str) -> bool {
    workspace.apps.iter().any(|app| {
        app.url.as_ref().and_then(|u| u.local_port()).is_some_and(|port| {
            !workspace.served_behind_local_port_in(port, app.netns).is_served()
                && workspace.app_role(app).is_some_and(|r| r.role == role && !r.ports().is_empty())
        })
    })
}

/// Whether some app's url reaches this listener.
fn exposed(workspace: &Workspace, listener: &Listener) -> bool {
    workspace.apps.iter().any(|app| {
        app.url
            .as_ref()
            .and_then(|u| u.local_port())
            .is_some_and(|port| {
                workspace
                    .served_behind_local_port_in(port, app.netns)
                    .listeners()
                    .iter()
                    .any(|l| l.place == listener.place && l.port == listener.port)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    const COMPOSE: &str = "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports: [\"3210:3210\", \"3211:3211\"]\n";
    const ENV: &str = "CONVEX_SITE_ORIGIN=https://convex-site--ws--me.coder.example.com\n";

    #[test]
    fn fires_when_the_site_port_has_no_app() {
        let tf = "resource \"coder_app\" \"api\" {\n  slug = \"convex-api\"\n  url  = \"http://localhost:3210\"\n}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", tf), ("docker-compose.yml", COMPOSE), (".env", ENV)]),
            vec![".env:1:1: warning: CONVEX_SITE_ORIGIN needs the public origin of convex-site: ghcr.io/get-convex/convex-backend in backend listens on 3211 (default), but no coder_app exposes it"]
        );
    }

    #[test]
    fn an_app_on_the_port_satisfies_it() {
        let tf = "resource \"coder_app\" \"site\" {\n  slug = \"convex-site\"\n  url  = \"http://localhost:3211\"\n}\n";
        assert!(check(&RULE, &[("main.tf", tf), ("docker-compose.yml", COMPOSE), (".env", ENV)]).is_empty());
    }

    #[test]
    fn an_app_of_the_role_on_a_dead_port_is_app_port_not_serveds() {
        let tf = "resource \"coder_app\" \"site\" {\n  slug = \"convex-site\"\n  url  = \"http://localhost:3212\"\n}\n";
        assert!(check(&RULE, &[("main.tf", tf), ("docker-compose.yml", COMPOSE), (".env", ENV)]).is_empty());
        // An app on a dead port that no variable of the role names does not stand for it.
        let other = tf.replace("convex-site", "other");
        assert_eq!(
            check(&RULE, &[("main.tf", &other), ("docker-compose.yml", COMPOSE), (".env", ENV)]).len(),
            1
        );
    }

    #[test]
    fn without_a_template_there_are_no_apps_to_expect() {
        assert!(check(&RULE, &[("docker-compose.yml", COMPOSE), (".env", ENV)]).is_empty());
    }

    /// An app of another agent, in another container, does not expose the listener.
    #[test]
    fn an_app_of_another_agents_namespace_does_not_expose_it() {
        let tf = |agent: &str| {
            format!(
                r#"resource "coder_agent" "dev" {{
  startup_script = "convex-local-backend --port 3210 --site-proxy-port 3211 &"
  env = {{
    CONVEX_SITE_ORIGIN = "https://convex-site--ws--me.coder.example.com"
  }}
}}
resource "coder_agent" "docs" {{}}
resource "docker_container" "dev" {{
  entrypoint = ["sh", "-c", coder_agent.dev.init_script]
}}
resource "docker_container" "docs" {{
  entrypoint = ["sh", "-c", coder_agent.docs.init_script]
}}
resource "coder_app" "site" {{
  agent_id = coder_agent.{agent}.id
  slug     = "site"
  url      = "http://localhost:3211"
}}
"#
            )
        };
        assert_eq!(
            check(&RULE, &[("main.tf", &tf("docs"))]),
            vec!["main.tf:4:5: warning: CONVEX_SITE_ORIGIN needs the public origin of convex-site: convex-local-backend in the workspace listens on 3211 (--site-proxy-port), but no coder_app exposes it"]
        );
        assert!(check(&RULE, &[("main.tf", &tf("dev"))]).is_empty());
    }
}
