//! `public-admin-app` (PT601): share = public on an admin surface.

use crate::diagnostic::{Applicability, Edit, Fix, Label, RuleMeta, Severity};
use crate::model::{AppOrigin, Place, Share, Workspace};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "public-admin-app",
        code: "PT601",
        default_severity: Severity::Warning,
        summary: "share = public on an admin surface",
        explanation: r#"## What it does
Reports apps with `share = "public"` that reach an admin surface: a listener (or registry
module) whose role the knowledge base lists as admin, such as code-server, a web terminal,
Jupyter, a file browser or the Convex dashboard.

## Why is this bad?
A public app answers anyone who has its URL, without a Coder login. An editor, a terminal or a
notebook hands that person a shell in the workspace, with its credentials and source code; a
database dashboard hands out the data.

## Example
```hcl
module "code-server" {
  source   = "registry.coder.com/coder/code-server/coder"
  agent_id = coder_agent.main.id
  share    = "public"
}
```
Share it with the owner (the default) or with authenticated users:
```hcl
  share    = "owner"
```
"#,
    },
    check,
};

fn check(ws: &Workspace, sink: &mut Sink) {
    for app in &ws.apps {
        if app.share != Share::Public {
            continue;
        }
        let Some(share_span) = app.share_span else {
            continue;
        };
        let route = app
            .url
            .as_ref()
            .map(|u| ws.listeners_behind_url(u))
            .unwrap_or_default();
        let listener = route.listeners.iter().find(|l| {
            l.role
                .as_deref()
                .is_some_and(|r| ws.knowledge.is_admin_role(r))
        });
        let module_role = match &app.declared_by {
            AppOrigin::Module(label) => ws
                .modules
                .iter()
                .find(|m| &m.label == label)
                .and_then(|m| ws.knowledge.modules.get(&m.name))
                .and_then(|m| m.role.as_deref())
                .filter(|r| ws.knowledge.is_admin_role(r)),
            _ => None,
        };
        let (role, what) = match (listener, module_role) {
            (Some(l), _) => {
                let owner = match l.place {
                    Place::Container(_) => ws.place_name(l.place),
                    Place::Workspace => l.program.as_str(),
                };
                let role = l.role.as_deref().unwrap_or_default();
                (role, format!("{owner} on port {}", l.port))
            }
            (None, Some(role)) => (role, "its module".to_owned()),
            (None, None) => continue,
        };
        let mut d = sink.report(
            share_span,
            format!(
                "app {} is public and reaches {what}, a {role} admin surface: anyone with its URL can use it without a Coder login",
                app.slug
            ),
        );
        d.primary.message = "public".to_owned();
        if let Some(l) = listener {
            d.related
                .push(Label::new(l.span, format!("{role} listens here")));
        }
        d.help = Some(format!(
            "share app {} with its owner or with authenticated users",
            app.slug
        ));
        d.fix = Some(Fix {
            title: format!("share app {} with its owner only", app.slug),
            applicability: Applicability::Unsafe,
            edits: vec![Edit {
                span: share_span,
                replacement: "\"owner\"".to_owned(),
            }],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    const TF: &str = r#"module "code-server" {
  source   = "registry.coder.com/coder/code-server/coder"
  agent_id = coder_agent.main.id
  share    = "public"
}

resource "coder_app" "convex" {
  agent_id = coder_agent.main.id
  slug     = "convex"
  url      = "http://localhost:6791"
  share    = "public"
}

resource "coder_app" "convex-site" {
  agent_id = coder_agent.main.id
  slug     = "convex-site"
  url      = "http://localhost:3211"
  share    = "public"
}

resource "coder_app" "files" {
  agent_id = coder_agent.main.id
  slug     = "files"
  url      = "http://localhost:8080"
  share    = "authenticated"
}
"#;

    const COMPOSE: &str = "services:\n  dashboard:\n    image: ghcr.io/get-convex/convex-dashboard:latest\n    ports: [\"6791:6791\"]\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports: [\"3211:3211\"]\n  files:\n    image: filebrowser/filebrowser\n    ports: [\"8080:80\"]\n";

    #[test]
    fn public_admin_surfaces() {
        assert_eq!(
            check(&RULE, &[("main.tf", TF), ("docker-compose.yml", COMPOSE)]),
            vec![
                "main.tf:11:14: warning: app convex is public and reaches dashboard on port 6791, a convex-dashboard admin surface: anyone with its URL can use it without a Coder login",
                "main.tf:4:14: warning: app code-server is public and reaches module \"code-server\" on port 13337, a code-server admin surface: anyone with its URL can use it without a Coder login",
            ]
        );
    }

    #[test]
    fn public_apps_of_other_roles_and_private_admin_apps_pass() {
        let tf = TF
            .replace("share    = \"public\"\n}\n\nresource \"coder_app\" \"convex\"", "share    = \"owner\"\n}\n\nresource \"coder_app\" \"convex\"")
            .replace("url      = \"http://localhost:6791\"\n  share    = \"public\"", "url      = \"http://localhost:6791\"");
        assert_eq!(
            check(&RULE, &[("main.tf", &tf), ("docker-compose.yml", COMPOSE)]),
            Vec::<String>::new()
        );
    }
}
