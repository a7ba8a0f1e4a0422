//! `removed-attribute` (PT110): An attribute removed in version 2 of the Coder provider.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::template::TerraformModule;
use crate::model::provider::version;
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
`coder_agent.startup_script_timeout` and `coder_agent.shutdown_script_timeout` (the knowledge
base's `coder_provider.removed`). It reads the pin of the attribute's root module: the exact
version in its `.terraform.lock.hcl`, which wins, else the version constraint in
`terraform { required_providers { coder = ... } }`.

## Why is this bad?
With provider v2 or later, Terraform rejects the template (`An argument named
"login_before_ready" is not expected here`). That is an error when nothing pins the provider,
or when the pin allows v2. When the template pins a version below 2 (`version = "~> 0.12"`),
or its lock file holds a version below 2, it still works today but breaks on the provider
upgrade: a warning.

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

fn check(workspace: &Workspace, sink: &mut Sink) {
    for module in workspace.terraform_modules() {
        check_module(workspace, module, sink);
    }
}

/// The blocks of one module: the template's, or a module's read with it.
fn check_module(workspace: &Workspace, module: &TerraformModule, sink: &mut Sink) {
    let removed = &workspace.knowledge.coder_provider.removed;
    let resources = module.blocks().filter(|b| b.kind.value == "resource");
    for block in resources {
        let resource_type = block.labels.first().map_or("", |l| l.value.as_str());
        let name = block.name().map_or("", |n| n.value.as_str());
        for attr in &block.attributes {
            let attribute = attr.name.value.as_str();
            let Some(fact) = removed
                .iter()
                .find(|f| f.resource == resource_type && f.attribute == attribute)
            else {
                continue;
            };
            let Some(at) = version(&fact.version) else {
                continue;
            };
            let v = shown(&fact.version);
            let pin = workspace.provider_pin_at(attr.name.span);
            let what = format!(
                "`{attribute}` of {resource_type}.{name} was removed in version {v} of the Coder provider"
            );
            let mut d = match (pin.installs_at_least(at), &pin.locked, &pin.constraint) {
                (Some(true), None, None) => sink.report(
                    attr.name.span,
                    format!("{what}; nothing pins the provider below {v}, so Terraform installs a newer one and rejects the template"),
                ),
                (Some(true), Some(locked), _) => sink.report(
                    attr.name.span,
                    format!("{what}; the lock file selects provider {}, which rejects the template", locked.text),
                ),
                (Some(true), None, Some(_)) => sink.report(
                    attr.name.span,
                    format!("{what}; the provider pin `{}` allows v{v}, which rejects the template", text_of(pin)),
                ),
                (Some(false), Some(locked), _) => sink.report_as(
                    Severity::Warning,
                    attr.name.span,
                    format!("{what}; the lock file keeps provider {}, so the template breaks on upgrade", locked.text),
                ),
                (Some(false), None, _) => sink.report_as(
                    Severity::Warning,
                    attr.name.span,
                    format!("{what}; the pin `{}` keeps an older provider, so the template breaks on upgrade", text_of(pin)),
                ),
                (None, _, _) => sink.report_as(
                    Severity::Warning,
                    attr.name.span,
                    format!("{what}; the provider version pin cannot be read, and with v{v} the template is rejected"),
                ),
            };
            d.primary.message = format!("removed in provider v{v}");
            if let Some((span, _)) = pin.describe() {
                let label = match (pin.installs_at_least(at), &pin.locked) {
                    (_, Some(locked)) => format!("the lock file selects provider {}", locked.text),
                    (Some(true), None) => format!("this constraint allows provider v{v}"),
                    (Some(false), None) => format!("the provider is pinned below v{v} here"),
                    (None, None) => "the version constraint".to_owned(),
                };
                d.related.push(Label::new(span, label));
            }
            d.help = fact.instead.clone();
        }
    }
}

/// The constraint's text, for a message.
fn text_of(pin: &ProviderPin) -> &str {
    pin.constraint
        .as_ref()
        .and_then(|c| c.text.as_deref())
        .unwrap_or("?")
}

/// `2.0.0` is shown as `2`, `2.1.0` as `2.1.0`.
fn shown(version: &str) -> &str {
    version.strip_suffix(".0.0").unwrap_or(version)
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

    #[test]
    fn the_lock_file_decides_over_the_constraint() {
        let tf = template("\n      version = \">= 0.12\"");
        let lock = |v: &str| format!("provider \"registry.terraform.io/coder/coder\" {{\n  version     = \"{v}\"\n  constraints = \">= 0.12.0\"\n}}\n");
        let old = lock("0.23.0");
        assert_eq!(
            check(&RULE, &[("main.tf", &tf), (".terraform.lock.hcl", &old)])[0],
            "main.tf:11:3: warning: `login_before_ready` of coder_agent.main was removed in version 2 of the Coder provider; the lock file keeps provider 0.23.0, so the template breaks on upgrade"
        );
        let new = lock("2.1.0");
        assert_eq!(
            check(&RULE, &[("main.tf", &tf), (".terraform.lock.hcl", &new)])[0],
            "main.tf:11:3: error: `login_before_ready` of coder_agent.main was removed in version 2 of the Coder provider; the lock file selects provider 2.1.0, which rejects the template"
        );
    }

    #[test]
    fn each_root_module_has_its_own_pin_and_local_modules_share_their_callers() {
        let root = "module \"tools\" {\n  source = \"./modules/tools\"\n}\nresource \"coder_agent\" \"main\" {\n  login_before_ready = false\n}\n";
        let tools = "resource \"coder_agent\" \"tools\" {\n  login_before_ready = false\n}\n";
        let legacy = template("\n      version = \"~> 0.12\"");
        let severities: Vec<(String, &str)> = {
            let (ws, found) = crate::rules::test::run(
                &RULE,
                &[
                    ("main.tf", root),
                    ("modules/tools/main.tf", tools),
                    ("legacy/main.tf", &legacy),
                ],
            );
            found
                .iter()
                .map(|d| {
                    (
                        ws.sources.path(d.primary.span).display().to_string(),
                        d.severity.as_str(),
                    )
                })
                .collect()
        };
        assert_eq!(
            severities,
            [
                ("main.tf".to_owned(), "error"),
                ("legacy/main.tf".to_owned(), "warning"),
                ("legacy/main.tf".to_owned(), "warning"),
                ("legacy/main.tf".to_owned(), "warning"),
                ("modules/tools/main.tf".to_owned(), "error"),
            ]
        );
    }
}
