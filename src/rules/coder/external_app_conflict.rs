//! `external-app-conflict` (PT106): An external coder_app with settings external apps cannot have.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};
use crate::source::Span;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "external-app-conflict",
        code: "PT106",
        default_severity: Severity::Error,
        summary: "An external coder_app with settings external apps cannot have",
        explanation: r#"## What it does
Finds a `coder_app` with `external = true` that also has a `healthcheck`, a `command`, a
`subdomain` or a `share` setting.

## Why is this bad?
An external app is only a link that opens on the user's machine (`vscode://...`,
`https://docs.example.com`); Coder does not proxy it, so it cannot be health-checked, shared or
put on a subdomain, and it runs no command. The provider rejects any of these next to
`external = true`, whatever their value (`"external": conflicts with share`).

## Example
```hcl
resource "coder_app" "docs" {
  agent_id = coder_agent.main.id
  slug     = "docs"
  url      = "https://docs.example.com"
  external = true
  share    = "public"
}
```
Use instead:
```hcl
resource "coder_app" "docs" {
  agent_id = coder_agent.main.id
  slug     = "docs"
  url      = "https://docs.example.com"
  external = true
}
```"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    let Some(module) = &workspace.template else {
        return;
    };
    for app in module.apps() {
        let Some(external) = app.external else {
            continue;
        };
        if external.value.value.as_bool() != Some(true) {
            continue;
        }
        let mut conflicts: Vec<(&str, Span)> = Vec::new();
        if let Some(hc) = &app.healthcheck {
            conflicts.push(("healthcheck", hc.block.span));
        }
        for (name, attr) in [
            ("command", app.command),
            ("subdomain", app.subdomain),
            ("share", app.share),
        ] {
            if let Some(attr) = attr.filter(|a| a.is_set() == Some(true)) {
                conflicts.push((name, attr.span));
            }
        }
        conflicts.sort_by_key(|(_, span)| *span);
        for (name, span) in conflicts {
            let mut d = sink.report(
                span,
                format!(
                    "coder_app.{} is external (a link opened on the user's machine) and also sets `{name}`, which the Coder provider rejects for external apps",
                    app.name.value
                ),
            );
            d.primary.message = "conflicts with `external = true`".to_owned();
            d.related.push(Label::new(external.span, "the app is external here"));
            d.help = Some(format!(
                "remove `{name}`, or remove `external = true` if Coder should proxy the app"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn external_apps_take_no_proxy_settings() {
        let tf = r#"resource "coder_app" "docs" {
  agent_id  = coder_agent.main.id
  slug      = "docs"
  url       = "https://docs.example.com"
  external  = true
  share     = "owner"
  subdomain = false
  healthcheck {
    url       = "https://docs.example.com/health"
    interval  = 5
    threshold = 3
  }
}
resource "coder_app" "zed" {
  agent_id = coder_agent.main.id
  slug     = "zed"
  url      = "zed://ssh/workspace"
  external = true
}
resource "coder_app" "proxied" {
  agent_id = coder_agent.main.id
  slug     = "proxied"
  url      = "http://localhost:3000"
  external = false
  share    = "public"
}
resource "coder_app" "maybe" {
  agent_id = coder_agent.main.id
  slug     = "maybe"
  url      = "https://example.com"
  external = var.external
  share    = "public"
}
"#;
        let message = "coder_app.docs is external (a link opened on the user's machine) and also sets";
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec![
                format!("main.tf:6:3: error: {message} `share`, which the Coder provider rejects for external apps"),
                format!("main.tf:7:3: error: {message} `subdomain`, which the Coder provider rejects for external apps"),
                format!("main.tf:8:3: error: {message} `healthcheck`, which the Coder provider rejects for external apps"),
            ]
        );
    }
}
