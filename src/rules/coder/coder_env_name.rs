//! `coder-env-name` (PT113): A coder_env name that is not a variable name, or that overrides its
//! agent's env with another value.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::build::value_text;
use crate::model::Workspace;
use crate::rules::{Rule, Sink};
use crate::coder::is_valid_env_name;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "coder-env-name",
        code: "PT113",
        default_severity: Severity::Error,
        summary: "A coder_env name that is not a variable name, or that overrides its agent's env",
        explanation: r#"## What it does
Checks the `name` of every `coder_env`. It is an error when the name does not match
`^[a-zA-Z_][a-zA-Z0-9_]*$`, and a warning when the `coder_env` overrides a key that its agent's
`env` map sets to another value (or to one portolan cannot read). A `coder_env` that repeats the
agent's key with the same value overrides nothing and is fine. (The rule was called
`invalid-coder-env-name`; that name still selects it.)

## Why is this bad?
The provider rejects other names (`must be a valid environment variable name`), so the
workspace build fails. And a `coder_env` cannot override a key of `coder_agent.env`: of two
different values one is silently lost, so the workspace may not get the value you expect.

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
        // The same value twice overrides nothing.
        let value = env.value.and_then(|v| value_text(&v.value.value));
        let agent_value = value_text(&same.value.value);
        if value.is_some() && value == agent_value {
            continue;
        }
        // Text with a reference in it (`${var.x}`) is only known when the workspace is built.
        let known = |v: &Option<String>| v.as_deref().is_some_and(|t| !t.contains("${"));
        let other = if known(&value) && known(&agent_value) {
            "to another value"
        } else {
            "maybe to another value"
        };
        let mut d = sink.report_as(
            Severity::Warning,
            attr.value.span,
            format!(
                "coder_env.{} overrides `{name}`, which coder_agent.{agent_name} sets {other} in its `env`; a coder_env cannot override the agent's env, so one value is lost",
                env.name.value
            ),
        );
        d.primary.message = "overrides the agent's env".to_owned();
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
    fn names_must_be_variable_names_and_not_override_the_agent_env() {
        let tf = r#"resource "coder_agent" "main" {
  os = "linux"
  env = {
    CONVEX_CLOUD_ORIGIN = "http://localhost:3210"
    CONVEX_SITE_ORIGIN  = "http://localhost:3211"
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
  value    = "http://localhost:4210"
}
resource "coder_env" "same" {
  agent_id = coder_agent.main.id
  name     = "CONVEX_SITE_ORIGIN"
  value    = "http://localhost:3211"
}
resource "coder_env" "unknown-value" {
  agent_id = coder_agent.main.id
  name     = "CONVEX_SITE_ORIGIN"
  value    = var.site_origin
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
                "main.tf:13:14: error: coder_env.bad sets `CONVEX-SITE-ORIGIN`, which is not a valid environment variable name (`^[a-zA-Z_][a-zA-Z0-9_]*$`); the Coder provider rejects it",
                "main.tf:18:14: error: coder_env.digit sets `1PORT`, which is not a valid environment variable name (`^[a-zA-Z_][a-zA-Z0-9_]*$`); the Coder provider rejects it",
                "main.tf:23:14: warning: coder_env.twice overrides `CONVEX_CLOUD_ORIGIN`, which coder_agent.main sets to another value in its `env`; a coder_env cannot override the agent's env, so one value is lost",
                "main.tf:33:14: warning: coder_env.unknown-value overrides `CONVEX_SITE_ORIGIN`, which coder_agent.main sets maybe to another value in its `env`; a coder_env cannot override the agent's env, so one value is lost",
            ]
        );
    }

    #[test]
    fn the_former_name_still_selects_it() {
        let rule = crate::rules::find("invalid-coder-env-name").expect("the former name");
        assert_eq!(rule.meta.code, "PT113");
        assert_eq!(rule.meta.name, "coder-env-name");
    }
}
