//! `removed-attribute` (PT110): An attribute removed in version 2 of the Coder provider.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::{ProviderPin, Workspace};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "removed-attribute",
        code: "PT110",
        default_severity: Severity::Error,
        summary: "An attribute removed in version 2 of the Coder provider",
        explanation: r#"## What it does
Finds attributes that version 2.0.0 of the Coder Terraform provider removed:
`coder_app.name`, `coder_app.relative_path`, `coder_agent.login_before_ready`,
`coder_agent.startup_script_timeout` and `coder_agent.shutdown_script_timeout`. It reads the
provider's version constraint in `terraform { required_providers { coder = ... } }`.

## Why is this bad?
With provider v2 or later, Terraform rejects the template (`An argument named
"login_before_ready" is not expected here`). That is an error when nothing pins the provider,
or when the pin allows v2. When the template pins a version below 2 (`version = "~> 0.12"`),
it still works today but breaks on the provider upgrade: a warning.

## Example
```hcl
resource "coder_agent" "main" {
  login_before_ready     = false
  startup_script_timeout = 300
}
resource "coder_app" "code" {
  name          = "VS Code"
  relative_path = true
}
```
Use instead:
```hcl
resource "coder_agent" "main" {
  startup_script_behavior = "blocking"
}
resource "coder_app" "code" {
  display_name = "VS Code"
  subdomain    = false
}
```"#,
    },
    check,
};

/// (resource type, attribute, what to use instead).
const REMOVED: [(&str, &str, &str); 5] = [
    ("coder_app", "name", "use `display_name`"),
    (
        "coder_app",
        "relative_path",
        "use `subdomain` (`relative_path = true` is `subdomain = false`)",
    ),
    (
        "coder_agent",
        "login_before_ready",
        "use `startup_script_behavior` (`login_before_ready = false` is `\"blocking\"`, `true` is `\"non-blocking\"`)",
    ),
    (
        "coder_agent",
        "startup_script_timeout",
        "remove it, or move the startup script to a `coder_script` with `run_on_start = true` and a `timeout`",
    ),
    (
        "coder_agent",
        "shutdown_script_timeout",
        "remove it, or move the shutdown script to a `coder_script` with `run_on_stop = true` and a `timeout`",
    ),
];

fn check(workspace: &Workspace, sink: &mut Sink) {
    let Some(module) = &workspace.template else {
        return;
    };
    let pin = &workspace.provider_pin;
    let resources = module.blocks().filter(|b| b.kind.value == "resource");
    for block in resources {
        let resource_type = block.labels.first().map_or("", |l| l.value.as_str());
        let name = block.name().map_or("", |n| n.value.as_str());
        for attr in &block.attributes {
            let attribute = attr.name.value.as_str();
            let Some((_, _, instead)) = REMOVED
                .iter()
                .find(|(t, a, _)| *t == resource_type && *a == attribute)
            else {
                continue;
            };
            let what = format!(
                "`{attribute}` of {resource_type}.{name} was removed in version 2 of the Coder provider"
            );
            let mut d = match pin {
                ProviderPin::Missing => sink.report(
                    attr.name.span,
                    format!("{what}; nothing pins the provider below 2, so Terraform installs a newer one and rejects the template"),
                ),
                ProviderPin::AllowsV2(_, text) => sink.report(
                    attr.name.span,
                    format!("{what}; the provider pin `{text}` allows v2, which rejects the template"),
                ),
                ProviderPin::BelowV2(_, text) => sink.report_as(
                    Severity::Warning,
                    attr.name.span,
                    format!("{what}; the pin `{text}` keeps an older provider, so the template breaks on upgrade"),
                ),
                ProviderPin::Unreadable(_) => sink.report_as(
                    Severity::Warning,
                    attr.name.span,
                    format!("{what}; the provider version pin cannot be read, and with v2 the template is rejected"),
                ),
            };
            d.primary.message = "removed in provider v2".to_owned();
            match pin {
                ProviderPin::AllowsV2(span, _) => d
                    .related
                    .push(Label::new(*span, "this constraint allows provider v2")),
                ProviderPin::BelowV2(span, _) => d
                    .related
                    .push(Label::new(*span, "the provider is pinned below v2 here")),
                ProviderPin::Unreadable(span) => {
                    d.related.push(Label::new(*span, "the version constraint"))
                }
                ProviderPin::Missing => {}
            }
            d.help = Some((*instead).to_owned());
        }
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    fn template(pin: &str) -> String {
        format!(
            r#"terraform {{
  required_providers {{
    coder = {{
      source = "coder/coder"{pin}
    }}
  }}
}}
resource "coder_agent" "main" {{
  os                 = "linux"
  login_before_ready = false
}}
resource "coder_app" "code" {{
  agent_id      = coder_agent.main.id
  slug          = "code"
  name          = "VS Code"
  relative_path = true
}}
"#
        )
    }

    #[test]
    fn without_a_pin_removed_attributes_are_errors() {
        let what = "was removed in version 2 of the Coder provider; nothing pins the provider below 2, so Terraform installs a newer one and rejects the template";
        assert_eq!(
            check(&RULE, &[("main.tf", &template(""))]),
            vec![
                format!("main.tf:10:3: error: `login_before_ready` of coder_agent.main {what}"),
                format!("main.tf:15:3: error: `name` of coder_app.code {what}"),
                format!("main.tf:16:3: error: `relative_path` of coder_app.code {what}"),
            ]
        );
    }

    #[test]
    fn a_pin_that_allows_v2_makes_them_errors() {
        let tf = template("\n      version = \">= 0.12\"");
        assert_eq!(
            check(&RULE, &[("main.tf", &tf)])[0],
            "main.tf:11:3: error: `login_before_ready` of coder_agent.main was removed in version 2 of the Coder provider; the provider pin `>= 0.12` allows v2, which rejects the template"
        );
    }

    #[test]
    fn a_pin_below_v2_makes_them_upgrade_hazards() {
        let tf = template("\n      version = \"~> 0.12\"");
        assert_eq!(
            check(&RULE, &[("main.tf", &tf)])[0],
            "main.tf:11:3: warning: `login_before_ready` of coder_agent.main was removed in version 2 of the Coder provider; the pin `~> 0.12` keeps an older provider, so the template breaks on upgrade"
        );
        let legacy = "terraform {\n  required_providers {\n    coder = \"0.6.0\"\n  }\n}\nresource \"coder_agent\" \"main\" {\n  startup_script_timeout = 300\n}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", legacy)]),
            vec!["main.tf:7:3: warning: `startup_script_timeout` of coder_agent.main was removed in version 2 of the Coder provider; the pin `0.6.0` keeps an older provider, so the template breaks on upgrade"]
        );
    }

    #[test]
    fn current_attributes_are_not_reported() {
        let tf = "resource \"coder_agent\" \"main\" {\n  startup_script_behavior = \"blocking\"\n}\nresource \"coder_app\" \"code\" {\n  display_name = \"VS Code\"\n  subdomain    = false\n}\nresource \"coder_parameter\" \"p\" {\n  name = \"region\"\n}\n";
        assert_eq!(check(&RULE, &[("main.tf", tf)]), Vec::<String>::new());
    }
}
