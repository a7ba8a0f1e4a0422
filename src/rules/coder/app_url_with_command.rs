//! `app-url-with-command` (PT104): A coder_app with both url and command.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::template::TerraformModule;
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "app-url-with-command",
        code: "PT104",
        default_severity: Severity::Error,
        summary: "A coder_app with both url and command",
        explanation: r#"## What it does
Finds a `coder_app` that sets both `url` and `command`.

## Why is this bad?
An app is either a web app that Coder proxies (`url`) or a command that opens in a terminal
(`command`), never both: the provider rejects the resource (`"command": conflicts with url`)
and the template cannot be pushed.

## Example
```hcl
resource "coder_app" "logs" {
  agent_id = coder_agent.main.id
  slug     = "logs"
  url      = "http://localhost:8080"
  command  = "tail -f /tmp/server.log"
}
```
Use instead, one app for each:
```hcl
resource "coder_app" "logs" {
  agent_id = coder_agent.main.id
  slug     = "logs"
  command  = "tail -f /tmp/server.log"
}
```"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for module in workspace.terraform_modules() {
        check_module(module, sink);
    }
}

/// The blocks of one module: the template's, or a module's read with it.
fn check_module(module: &TerraformModule, sink: &mut Sink) {
    for app in module.apps() {
        let (Some(url), Some(command)) = (app.url, app.command) else {
            continue;
        };
        if url.is_set() != Some(true) || command.is_set() != Some(true) {
            continue;
        }
        let mut d = sink.report(
            command.span,
            format!(
                "coder_app.{} sets both `url` and `command`; the Coder provider accepts only one of them",
                app.name.value
            ),
        );
        d.primary.message = "conflicts with `url`".to_owned();
        d.related.push(Label::new(url.span, "the app's url"));
        d.help = Some(
            "keep `url` for a web app Coder proxies, or `command` for a terminal app; split them into two apps for both"
                .to_owned(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn url_and_command_conflict() {
        let tf = r#"resource "coder_app" "logs" {
  agent_id = coder_agent.main.id
  slug     = "logs"
  url      = "http://localhost:8080"
  command  = "tail -f /tmp/server.log"
}
resource "coder_app" "shell" {
  agent_id = coder_agent.main.id
  slug     = "shell"
  command  = "bash"
}
resource "coder_app" "maybe" {
  agent_id = coder_agent.main.id
  slug     = "maybe"
  url      = "http://localhost:8081"
  command  = var.command
}
resource "coder_app" "null" {
  agent_id = coder_agent.main.id
  slug     = "null"
  url      = "http://localhost:8082"
  command  = null
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec!["main.tf:5:3: error: coder_app.logs sets both `url` and `command`; the Coder provider accepts only one of them"]
        );
    }
}
