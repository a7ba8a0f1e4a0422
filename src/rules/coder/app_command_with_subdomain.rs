//! `app-command-with-subdomain` (PT105): A coder_app with command and subdomain.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "app-command-with-subdomain",
        code: "PT105",
        default_severity: Severity::Error,
        summary: "A coder_app with command and subdomain",
        explanation: r#"## What it does
Finds a `coder_app` that runs a `command` and also sets `subdomain`.

## Why is this bad?
A command app opens a terminal; it has no web server to put on a subdomain. With
`subdomain = true` Coder failed with a 500 error when the app was opened, and current provider
versions reject the resource (`"command": conflicts with subdomain`). Recent versions reject
`subdomain` next to `command` even when it is `false`, so that case is a warning.

## Example
```hcl
resource "coder_app" "shell" {
  agent_id  = coder_agent.main.id
  slug      = "shell"
  command   = "bash"
  subdomain = true
}
```
Use instead:
```hcl
resource "coder_app" "shell" {
  agent_id = coder_agent.main.id
  slug     = "shell"
  command  = "bash"
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
        let (Some(command), Some(subdomain)) = (app.command, app.subdomain) else {
            continue;
        };
        if command.is_set() != Some(true) {
            continue;
        }
        let name = &app.name.value;
        let mut d = match subdomain.value.value.as_bool() {
            Some(true) => sink.report(
                subdomain.span,
                format!("coder_app.{name} runs a `command` and sets `subdomain = true`; the Coder provider rejects the pair"),
            ),
            Some(false) => sink.report_as(
                Severity::Warning,
                subdomain.span,
                format!("coder_app.{name} runs a `command` and sets `subdomain = false`; recent Coder provider versions reject any `subdomain` next to `command`"),
            ),
            None => continue,
        };
        d.primary.message = "conflicts with `command`".to_owned();
        d.related.push(Label::new(command.span, "the app runs this command in a terminal"));
        d.help = Some("remove `subdomain`: a command app has no web page to serve".to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn command_with_subdomain() {
        let tf = r#"resource "coder_app" "shell" {
  agent_id  = coder_agent.main.id
  slug      = "shell"
  command   = "bash"
  subdomain = true
}
resource "coder_app" "top" {
  agent_id  = coder_agent.main.id
  slug      = "top"
  command   = "htop"
  subdomain = false
}
resource "coder_app" "web" {
  agent_id  = coder_agent.main.id
  slug      = "web"
  url       = "http://localhost:3000"
  subdomain = true
}
resource "coder_app" "unknown" {
  agent_id  = coder_agent.main.id
  slug      = "unknown"
  command   = "bash"
  subdomain = var.subdomain
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec![
                "main.tf:5:3: error: coder_app.shell runs a `command` and sets `subdomain = true`; the Coder provider rejects the pair",
                "main.tf:11:3: warning: coder_app.top runs a `command` and sets `subdomain = false`; recent Coder provider versions reject any `subdomain` next to `command`",
            ]
        );
    }
}
