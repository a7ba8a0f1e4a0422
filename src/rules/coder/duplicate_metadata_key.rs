//! `duplicate-metadata-key` (PT111): Two metadata blocks with the same key on one agent.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::template::TerraformModule;
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "duplicate-metadata-key",
        code: "PT111",
        default_severity: Severity::Error,
        summary: "Two metadata blocks with the same key on one agent",
        explanation: r#"## What it does
Finds two `metadata` blocks of one `coder_agent` with the same `key`.

## Why is this bad?
The key identifies the metadata item; the provider refuses the agent
(`duplicate agent metadata key "cpu"`) and the workspace build fails. This often happens when
a block is copied to show another value and only its `display_name` and `script` are changed.

## Example
```hcl
metadata {
  display_name = "CPU Usage"
  key          = "cpu"
  script       = "coder stat cpu"
  interval     = 10
}
metadata {
  display_name = "RAM Usage"
  key          = "cpu"
  script       = "coder stat mem"
  interval     = 10
}
```
Use instead: `key = "ram"` in the second block."#,
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
        let keys: Vec<_> = agent
            .metadata_keys
            .iter()
            .filter_map(|k| Some((k.value.as_str()?, k.span)))
            .collect();
        for (i, (key, span)) in keys.iter().enumerate() {
            let Some((_, first)) = keys[..i].iter().find(|(other, _)| other == key) else {
                continue;
            };
            let mut d = sink.report(
                *span,
                format!(
                    "coder_agent.{} has two metadata blocks with key `{key}`; the Coder provider requires each key once per agent",
                    agent.name.value
                ),
            );
            d.primary.message = "duplicate key".to_owned();
            d.related.push(Label::new(*first, format!("`{key}` is first used here")));
            d.help = Some("give each metadata block its own key".to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn keys_repeat_within_one_agent_only() {
        let tf = r#"resource "coder_agent" "main" {
  metadata {
    key      = "cpu"
    script   = "coder stat cpu"
    interval = 10
  }
  metadata {
    key      = "cpu"
    script   = "coder stat mem"
    interval = 10
  }
  metadata {
    key      = var.key
    script   = "coder stat disk"
    interval = 10
  }
}
resource "coder_agent" "gpu" {
  metadata {
    key      = "cpu"
    script   = "coder stat cpu"
    interval = 10
  }
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec!["main.tf:8:16: error: coder_agent.main has two metadata blocks with key `cpu`; the Coder provider requires each key once per agent"]
        );
    }
}
