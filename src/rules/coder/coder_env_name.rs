//! `invalid-coder-env-name` (PT113): A coder_env name that is not a valid variable name.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};
use crate::coder::is_valid_env_name;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "invalid-coder-env-name",
        code: "PT113",
        default_severity: Severity::Error,
        summary: "A coder_env name that is not a valid variable name",
        explanation: r#"## What it does
Checks the `name` of every `coder_env`: it must match `^[a-zA-Z_][a-zA-Z0-9_]*$`. It also warns
when a `coder_env` sets a variable that its agent's `env` map already sets.

## Why is this bad?
The provider rejects other names (`must be a valid environment variable name`), so the
workspace build fails. And a `coder_env` cannot override a key of `coder_agent.env`: one of
the two values is silently lost, so the workspace may not get the value you expect.

## Example
```hcl
resource "coder_env" "origin" {
  agent_id = coder_agent.main.id
  name     = "CONVEX-SITE-ORIGIN"
  value    = "https://convex-site--main--ws--me.coder.example.com"
}
```
Use instead:
```hcl
  name = "CONVEX_SITE_ORIGIN"
```
and set each variable in one place: either `coder_agent.env` or a `coder_env`."#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    let Some(module) = &workspace.template else {
        return;
    };
    let agents = module.agents();
    for env in module.envs() {
        let Some(attr) = env.env_name else {
            continue;
        };
        let Some(name) = attr.value.value.as_str() else {
            continue;
        };
        if !is_valid_env_name(name) {
            let mut d = sink.report(
                attr.value.span,
                format!(
                    "coder_env.{} sets `{name}`, which is not a valid environment variable name (`^[a-zA-Z_][a-zA-Z0-9_]*$`); the Coder provider rejects it",
                    env.name.value
                ),
            );
            d.primary.message = "not a variable name".to_owned();
            let suggestion: String = name
                .trim()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            d.help = Some(if is_valid_env_name(&suggestion) {
                format!("use `{suggestion}`")
            } else {
                "use letters, digits and `_`, not starting with a digit".to_owned()
            });
            continue;
        }
        let Some(agent_name) = env.agent_name() else {
            continue;
        };
        let Some(agent) = agents.iter().find(|a| a.name.value == agent_name) else {
            continue;
        };
        let Some(same) = agent.env.iter().find(|e| e.name.value == name) else {
            continue;
        };
        let mut d = sink.report_as(
            Severity::Warning,
            attr.value.span,
            format!(
                "coder_env.{} sets `{name}`, which coder_agent.{agent_name} already sets in its `env`; a coder_env cannot override the agent's env, so one value is lost",
                env.name.value
            ),
        );
        d.primary.message = "also set in the agent's env".to_owned();
        d.related.push(Label::new(
            same.name.span,
            format!("`{name}` in coder_agent.{agent_name}.env"),
        ));
        d.help = Some("set the variable in one place only".to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn names_must_be_variable_names_and_not_repeat_the_agent_env() {
        let tf = r#"resource "coder_agent" "main" {
  os = "linux"
  env = {
    CONVEX_CLOUD_ORIGIN = "http://localhost:3210"
  }
}
resource "coder_agent" "gpu" {
  os = "linux"
}
resource "coder_env" "bad" {
  agent_id = coder_agent.main.id
  name     = "CONVEX-SITE-ORIGIN"
  value    = "http://localhost:3211"
}
resource "coder_env" "digit" {
  agent_id = coder_agent.main.id
  name     = "1PORT"
  value    = "3000"
}
resource "coder_env" "twice" {
  agent_id = coder_agent.main.id
  name     = "CONVEX_CLOUD_ORIGIN"
  value    = "http://localhost:3210"
}
resource "coder_env" "other-agent" {
  agent_id = coder_agent.gpu.id
  name     = "CONVEX_CLOUD_ORIGIN"
  value    = "http://localhost:3210"
}
resource "coder_env" "unknown" {
  agent_id = coder_agent.main.id
  name     = var.name
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec![
                "main.tf:12:14: error: coder_env.bad sets `CONVEX-SITE-ORIGIN`, which is not a valid environment variable name (`^[a-zA-Z_][a-zA-Z0-9_]*$`); the Coder provider rejects it",
                "main.tf:17:14: error: coder_env.digit sets `1PORT`, which is not a valid environment variable name (`^[a-zA-Z_][a-zA-Z0-9_]*$`); the Coder provider rejects it",
                "main.tf:22:14: warning: coder_env.twice sets `CONVEX_CLOUD_ORIGIN`, which coder_agent.main already sets in its `env`; a coder_env cannot override the agent's env, so one value is lost",
            ]
        );
    }
}
