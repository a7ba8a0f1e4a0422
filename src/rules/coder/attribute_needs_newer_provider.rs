//! `attribute-needs-newer-provider` (PT117): An attribute that the pinned Coder provider does not
//! know yet.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::template::TerraformModule;
use crate::model::provider::version;
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "attribute-needs-newer-provider",
        code: "PT117",
        default_severity: Severity::Error,
        summary: "An attribute that the pinned Coder provider does not know yet",
        explanation: r#"## What it does
Finds attributes of Coder resources that came in a later version of the Coder provider than
the template's pin installs: `coder_app.open_in` exists from v2.1.0 on (the knowledge base's
`coder_provider.added`). It reads the pin of the attribute's root module: the exact version of
its `.terraform.lock.hcl` when there is one, else the `version` constraint of
`required_providers`, under which Terraform installs the newest version allowed.

## Why is this bad?
The older provider rejects the template (`An argument named "open_in" is not expected here`).
That is an error when the lock file or the constraint keeps a version older than the attribute.
When the constraint also admits older versions but Terraform would install a newer one today
(`version = ">= 2.0"`), the template works until something installs an allowed older version:
a warning, whose fix is to raise the constraint's lower end.

## Example
```hcl
terraform {
  required_providers {
    coder = { source = "coder/coder", version = "~> 2.0.0" }
  }
}
resource "coder_app" "docs" {
  open_in = "tab"
}
```
Use instead:
```hcl
terraform {
  required_providers {
    coder = { source = "coder/coder", version = ">= 2.1.0" }
  }
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
    for fact in &workspace.knowledge.coder_provider.added {
        let Some(since) = version(&fact.version) else {
            continue;
        };
        for block in module.resources(&fact.resource) {
            let Some(attr) = block.attribute(&fact.attribute) else {
                continue;
            };
            let pin = workspace.provider_pin_at(attr.name.span);
            let Some((pin_span, pin_text)) = pin.describe() else {
                continue; // nothing pinned: the newest provider knows it
            };
            let owner = format!(
                "{}.{}",
                fact.resource,
                block.name().map_or("", |n| n.value.as_str())
            );
            let what = format!(
                "`{}` of {owner} needs version {} of the Coder provider",
                fact.attribute, fact.version
            );
            let mut d = match (pin.installs_at_least(since), pin.admits_below(since)) {
                (Some(false), _) => sink.report(
                    attr.name.span,
                    format!("{what}; {pin_text} keeps an older one, which rejects the template"),
                ),
                (Some(true), Some(true)) => sink.report_as(
                    Severity::Warning,
                    attr.name.span,
                    format!("{what}; {pin_text} also allows older versions, which reject the template"),
                ),
                _ => continue,
            };
            d.primary.message = format!("added in provider v{}", fact.version);
            d.related.push(Label::new(
                pin_span,
                format!("allows versions before {}", fact.version),
            ));
            d.help = Some(if pin.locked.is_some() {
                format!(
                    "require `version = \">= {}\"` and run `terraform init -upgrade` to update the lock file, or remove `{}`",
                    fact.version, fact.attribute
                )
            } else {
                format!(
                    "raise the constraint to `>= {}`, or remove `{}`",
                    fact.version, fact.attribute
                )
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    fn template(pin: &str) -> String {
        format!(
            "terraform {{\n  required_providers {{\n    coder = {{\n      source = \"coder/coder\"{pin}\n    }}\n  }}\n}}\nresource \"coder_app\" \"docs\" {{\n  agent_id = coder_agent.main.id\n  slug     = \"docs\"\n  url      = \"https://example.com\"\n  external = true\n  open_in  = \"tab\"\n}}\n"
        )
    }

    #[test]
    fn open_in_under_each_kind_of_pin() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("\n      version = \">= 2.1.0\"", &[]),
            ("\n      version = \"~> 2.5\"", &[]),
            (
                "\n      version = \"~> 2.0.0\"",
                &["main.tf:14:3: error: `open_in` of coder_app.docs needs version 2.1.0 of the Coder provider; the pin `~> 2.0.0` keeps an older one, which rejects the template"],
            ),
            (
                "\n      version = \"< 2.1\"",
                &["main.tf:14:3: error: `open_in` of coder_app.docs needs version 2.1.0 of the Coder provider; the pin `< 2.1` keeps an older one, which rejects the template"],
            ),
            (
                "\n      version = \">= 2.0\"",
                &["main.tf:14:3: warning: `open_in` of coder_app.docs needs version 2.1.0 of the Coder provider; the pin `>= 2.0` also allows older versions, which reject the template"],
            ),
            // A constraint that cannot be read says nothing.
            ("\n      version = var.coder_version", &[]),
        ];
        for (pin, want) in cases {
            assert_eq!(check(&RULE, &[("main.tf", &template(pin))]), *want, "{pin}");
        }
    }

    #[test]
    fn the_lock_file_version_wins_over_the_constraint() {
        let lock = |v: &str| {
            format!("provider \"registry.terraform.io/coder/coder\" {{\n  version     = \"{v}\"\n  constraints = \">= 2.0.0\"\n}}\n")
        };
        let tf = template("\n      version = \">= 2.0\"");
        let old = lock("2.0.2");
        assert_eq!(
            check(&RULE, &[("main.tf", &tf), (".terraform.lock.hcl", &old)]),
            vec!["main.tf:14:3: error: `open_in` of coder_app.docs needs version 2.1.0 of the Coder provider; the lock file's version 2.0.2 keeps an older one, which rejects the template"]
        );
        let new = lock("2.4.0");
        assert_eq!(
            check(&RULE, &[("main.tf", &tf), (".terraform.lock.hcl", &new)]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_version_fact_from_a_knowledge_file_needs_no_new_rule() {
        let tf = "terraform {\n  required_providers {\n    coder = { source = \"coder/coder\", version = \"~> 2.3.0\" }\n  }\n}\nresource \"coder_script\" \"s\" {\n  agent_id      = coder_agent.main.id\n  display_name  = \"s\"\n  script        = \"true\"\n  run_on_start  = true\n  made_up_option = \"append\"\n}\n";
        let mut kb = crate::knowledge::Knowledge::builtin().clone();
        kb.extend(
            crate::knowledge::Knowledge::parse(
                "coder_provider:\n  added:\n    - { resource: coder_script, attribute: made_up_option, version: 2.9.0 }\n",
            )
            .unwrap(),
        );
        let (_, found) = crate::rules::test::run_with(&RULE, &[("main.tf", tf)], kb);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.starts_with("`made_up_option` of coder_script.s needs version 2.9.0"));
    }

    #[test]
    fn a_local_module_narrows_its_callers_pin() {
        let root = "terraform {\n  required_providers {\n    coder = { source = \"coder/coder\", version = \">= 2.0\" }\n  }\n}\nmodule \"web\" {\n  source = \"./modules/web\"\n}\n";
        let app = "resource \"coder_app\" \"web\" {\n  agent_id = var.agent_id\n  slug     = \"web\"\n  url      = \"http://localhost:3000\"\n  open_in  = \"tab\"\n}\n";
        let pinned = format!("terraform {{\n  required_providers {{\n    coder = {{ source = \"coder/coder\", version = \">= 2.5\" }}\n  }}\n}}\n{app}");
        // The module requires 2.5 or later: Terraform never installs a provider without open_in.
        assert_eq!(
            check(&RULE, &[("main.tf", root), ("modules/web/main.tf", &pinned)]),
            Vec::<String>::new()
        );
        // Without a constraint of its own, the caller's pin is the module's.
        assert_eq!(
            check(&RULE, &[("main.tf", root), ("modules/web/main.tf", app)]),
            vec!["modules/web/main.tf:5:3: warning: `open_in` of coder_app.web needs version 2.1.0 of the Coder provider; the pin `>= 2.0` also allows older versions, which reject the template"]
        );
    }
}
