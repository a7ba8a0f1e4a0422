//! `invalid-agent-name` (PT103): A coder_agent name that Coder rejects.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::template::TerraformModule;
use crate::model::Workspace;
use crate::rules::{Rule, Sink};
use crate::coder::is_valid_agent_name;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "invalid-agent-name",
        code: "PT103",
        default_severity: Severity::Error,
        summary: "A coder_agent name that Coder rejects",
        explanation: r#"## What it does
Checks the resource name of every `coder_agent` (`main` in `resource "coder_agent" "main"`)
against the pattern Coder enforces when it imports a template: letters and digits with single
hyphens between them (`^[a-z0-9](-?[a-z0-9])*$`, case-insensitive). Underscores, which
Terraform allows, are not accepted.

## Why is this bad?
The agent's name is part of its apps' host names (`{slug}--{agent}--{workspace}--{owner}`),
so Coder refuses the template: `coder templates push` fails after `terraform plan` succeeded.

## Example
```hcl
resource "coder_agent" "dev_box" {
  os   = "linux"
  arch = "amd64"
}
```
Use instead (and rename every `coder_agent.dev_box` reference):
```hcl
resource "coder_agent" "dev-box" {
  os   = "linux"
  arch = "amd64"
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
    for agent in module.agents() {
        let name = &agent.name.value;
        if is_valid_agent_name(name) {
            continue;
        }
        let reason = if name.contains('_') {
            "underscores are not allowed"
        } else if name.starts_with('-') || name.ends_with('-') {
            "it may not start or end with `-`"
        } else if name.contains("--") {
            "`--` is not allowed (it separates the parts of an app's host name)"
        } else {
            "only letters, digits and single hyphens are allowed"
        };
        let mut d = sink.report(
            agent.name.span,
            format!("coder_agent name `{name}` is rejected by Coder when the template is pushed: {reason}"),
        );
        d.primary.message = "not `^[a-z0-9](-?[a-z0-9])*$`".to_owned();
        let suggestion = suggest(name);
        d.help = Some(if suggestion.is_empty() {
            "rename the agent with letters, digits and single hyphens".to_owned()
        } else {
            format!("rename it to `{suggestion}` and update every `coder_agent.{name}` reference")
        });
    }
}

/// The nearest valid name: every run of other characters as one `-`, case kept.
fn suggest(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn underscores_and_double_hyphens_are_rejected() {
        let tf = r#"resource "coder_agent" "dev_box" {
  os = "linux"
}
resource "coder_agent" "gpu--1" {
  os = "linux"
}
resource "coder_agent" "Main" {
  os = "linux"
}
resource "coder_agent" "dev-2" {
  os = "linux"
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec![
                "main.tf:1:25: error: coder_agent name `dev_box` is rejected by Coder when the template is pushed: underscores are not allowed",
                "main.tf:4:25: error: coder_agent name `gpu--1` is rejected by Coder when the template is pushed: `--` is not allowed (it separates the parts of an app's host name)",
            ]
        );
    }

    #[test]
    fn suggestions_keep_case_and_collapse_separators() {
        assert_eq!(suggest("dev_box"), "dev-box");
        assert_eq!(suggest("Dev__Box_"), "Dev-Box");
        assert_eq!(suggest("gpu--1"), "gpu-1");
        assert!(is_valid_agent_name(&suggest("a_b-_c")));
    }
}
