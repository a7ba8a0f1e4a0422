//! `hidden-app-display` (PT115): A hidden app with display settings that are never shown.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::template::TerraformModule;
use crate::model::Workspace;
use crate::model::template::Value;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "hidden-app-display",
        code: "PT115",
        default_severity: Severity::Warning,
        summary: "A hidden app with display settings that are never shown",
        explanation: r#"## What it does
Finds a `coder_app` with `hidden = true` that also sets `display_name`, `icon` or `order`.

## Why is this bad?
A hidden app is not shown in the dashboard, so these settings have no effect; the provider
warns about each of them (`` `display_name` set when app is hidden ``). Often the app was hidden
by mistake, or was meant to be shown.

## Example
```hcl
resource "coder_app" "agentapi" {
  agent_id     = coder_agent.main.id
  slug         = "agentapi"
  url          = "http://localhost:3284"
  hidden       = true
  display_name = "AgentAPI"
  order        = 3
}
```
Use instead: remove `display_name` and `order`, or remove `hidden = true` to show the app."#,
    },
    check,
};

/// The settings a hidden app does not show.
const DISPLAY: [&str; 3] = ["display_name", "icon", "order"];

fn check(workspace: &Workspace, sink: &mut Sink) {
    for module in workspace.terraform_modules() {
        check_module(module, sink);
    }
}

/// The blocks of one module: the template's, or a module's read with it.
fn check_module(module: &TerraformModule, sink: &mut Sink) {
    for app in module.apps() {
        let Some(hidden) = app.hidden else {
            continue;
        };
        if hidden.value.value.as_bool() != Some(true) {
            continue;
        }
        for attr in &app.block.attributes {
            let name = attr.name.value.as_str();
            if !DISPLAY.contains(&name) {
                continue;
            }
            // The provider only warns about values that are set and not empty or zero.
            let shown = match &attr.value.value {
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => *n != 0.0,
                Value::Null | Value::Reference(_) | Value::Unknown => false,
                _ => true,
            };
            if !shown {
                continue;
            }
            let mut d = sink.report(
                attr.span,
                format!(
                    "coder_app.{} is hidden, so its `{name}` is never shown",
                    app.name.value
                ),
            );
            d.primary.message = "has no effect on a hidden app".to_owned();
            d.related
                .push(Label::new(hidden.span, "the app is hidden here"));
            d.help = Some(format!(
                "remove `{name}`, or remove `hidden = true` if the app should be shown"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn display_settings_of_hidden_apps() {
        let tf = r#"resource "coder_app" "agentapi" {
  agent_id     = coder_agent.main.id
  slug         = "agentapi"
  url          = "http://localhost:3284"
  hidden       = true
  display_name = "AgentAPI"
  icon         = ""
  order        = 3
}
resource "coder_app" "shown" {
  agent_id     = coder_agent.main.id
  slug         = "shown"
  url          = "http://localhost:3000"
  hidden       = false
  display_name = "Shown"
  order        = 1
}
resource "coder_app" "maybe" {
  agent_id     = coder_agent.main.id
  slug         = "maybe"
  url          = "http://localhost:3001"
  hidden       = var.hide
  display_name = "Maybe"
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec![
                "main.tf:6:3: warning: coder_app.agentapi is hidden, so its `display_name` is never shown",
                "main.tf:8:3: warning: coder_app.agentapi is hidden, so its `order` is never shown",
            ]
        );
    }
}
