//! `agent-never-started` (PT114): A coder_agent whose init_script nothing runs.

use std::collections::HashSet;

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::Workspace;
use crate::model::template::{Agent, Block, TerraformModule, Value};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "agent-never-started",
        code: "PT114",
        default_severity: Severity::Error,
        summary: "A coder_agent whose init_script nothing runs",
        explanation: r#"## What it does
Finds a `coder_agent` whose `init_script` is referenced nowhere in the template: no container
`entrypoint`/`command`, VM `user_data` or startup script runs `coder_agent.NAME.init_script`.

## Why is this bad?
A `coder_agent` resource only describes an agent; nothing happens in the workspace until its
`init_script` runs there (with `coder_agent.NAME.token` as `CODER_AGENT_TOKEN`) and the agent
connects. Until then its `startup_script` never runs and none of its apps can ever answer:
the workspace hangs in "Connecting". When the agent's token is used but its `init_script` is
not, something may start the agent another way, so that is a warning; so is a template with
no container or VM at all (it may be incomplete).

## Example
```hcl
resource "docker_container" "workspace" {
  image = "codercom/enterprise-base:ubuntu"
  env   = ["CODER_AGENT_TOKEN=${coder_agent.main.token}"]
}
```
Use instead:
```hcl
resource "docker_container" "workspace" {
  image      = "codercom/enterprise-base:ubuntu"
  entrypoint = ["sh", "-c", coder_agent.main.init_script]
  env        = ["CODER_AGENT_TOKEN=${coder_agent.main.token}"]
}
```"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    let Some(module) = &workspace.template else {
        return;
    };
    let init_refs = module.init_script_references();
    let started: HashSet<&str> = init_refs.iter().map(|r| r.agent.as_str()).collect();
    let passed_whole = agents_passed_whole(module);
    let token_refs = module.token_references();
    let compute = module.blocks().find(|b| is_compute(workspace, b));
    for agent in module.agents() {
        let name = agent.name.value.as_str();
        if started.contains(name) || passed_whole.contains(name) || never_created(agent.block) {
            continue;
        }
        let token = token_refs.iter().find(|r| r.agent == name);
        let consequences = consequences(workspace, module, &agent);
        let mut d = if let Some(token) = token {
            let mut d = sink.report_as(
                Severity::Warning,
                agent.name.span,
                format!("nothing runs coder_agent.{name}.init_script; its token is used, so the agent may be started another way, but if not, {consequences}"),
            );
            d.related
                .push(Label::new(token.span, "the agent's token is used here"));
            d
        } else if init_refs.is_empty() && compute.is_none() {
            sink.report_as(
                Severity::Warning,
                agent.name.span,
                format!("nothing runs coder_agent.{name}.init_script and the template has no container or VM that could (is it incomplete?); as it stands, {consequences}"),
            )
        } else {
            let mut d = sink.report(
                agent.name.span,
                format!("coder_agent.{name} is never started: nothing runs coder_agent.{name}.init_script, so {consequences}"),
            );
            if let Some(resource) = compute.and_then(Block::name) {
                d.related.push(Label::new(
                    resource.span,
                    format!("this resource does not run coder_agent.{name}.init_script"),
                ));
            }
            d
        };
        d.primary.message = "never started".to_owned();
        d.help = Some(format!(
            "run `coder_agent.{name}.init_script` in the container's entrypoint or command (or the VM's user_data), with `CODER_AGENT_TOKEN = coder_agent.{name}.token` in its environment"
        ));
    }
}

/// What never happens for an agent nobody starts: its startup script and its apps.
fn consequences(workspace: &Workspace, module: &TerraformModule, agent: &Agent<'_>) -> String {
    let name = agent.name.value.as_str();
    let mut apps: Vec<String> = module
        .apps()
        .iter()
        .filter(|app| app.agent_name() == Some(name))
        .map(|app| {
            let slug = app.slug.and_then(|s| s.value.value.as_str());
            format!("`{}`", slug.unwrap_or(&app.name.value))
        })
        .collect();
    apps.extend(
        module
            .modules()
            .iter()
            .filter(|call| call.agent_name() == Some(name))
            .filter(|call| workspace.modules.iter().any(|m| m.label == call.name.value))
            .map(|call| format!("`module.{}`", call.name.value)),
    );
    let mut parts = Vec::new();
    if agent.startup_script.is_some() {
        parts.push("its startup_script never runs".to_owned());
    }
    match apps.as_slice() {
        [] => {}
        [one] => parts.push(format!("its app {one} can never answer")),
        many => parts.push(format!(
            "none of its {} apps ({}) can ever answer",
            many.len(),
            many.join(", ")
        )),
    }
    if parts.is_empty() {
        "the workspace never connects".to_owned()
    } else {
        parts.join(" and ")
    }
}

/// Agents referenced as a whole (`agent = coder_agent.main`), e.g. passed to a module that may
/// use their `init_script` itself.
fn agents_passed_whole(module: &TerraformModule) -> HashSet<&str> {
    module
        .blocks()
        .flat_map(Block::all_attributes)
        .flat_map(|a| a.references.iter())
        .filter_map(|r| match r.names.as_slice() {
            [root, agent] if root == "coder_agent" => Some(agent.as_str()),
            _ => None,
        })
        .collect()
}

/// `count = 0`: the agent does not exist.
fn never_created(block: &Block) -> bool {
    matches!(block.value("count").map(|c| &c.value), Some(Value::Number(n)) if *n < 1.0)
}

/// A resource that runs a machine or container (the knowledge base's `compute`).
fn is_compute(workspace: &Workspace, block: &Block) -> bool {
    block.kind.value == "resource"
        && block
            .labels
            .first()
            .is_some_and(|t| workspace.knowledge.compute(&t.value).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn an_agent_nothing_starts_next_to_one_that_is_started() {
        let tf = r#"resource "coder_agent" "main" {
  os = "linux"
}
resource "coder_agent" "sidecar" {
  os             = "linux"
  startup_script = "npm run dev"
}
resource "coder_app" "web" {
  agent_id = coder_agent.sidecar.id
  slug     = "web"
  url      = "http://localhost:5173"
}
resource "coder_app" "api" {
  agent_id = coder_agent.sidecar.id
  slug     = "api"
  url      = "http://localhost:3000"
}
module "code-server" {
  source   = "registry.coder.com/coder/code-server/coder"
  agent_id = coder_agent.sidecar.id
}
resource "docker_container" "workspace" {
  image      = "codercom/enterprise-base:ubuntu"
  entrypoint = ["sh", "-c", coder_agent.main.init_script]
  env        = ["CODER_AGENT_TOKEN=${coder_agent.main.token}"]
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec!["main.tf:4:25: error: coder_agent.sidecar is never started: nothing runs coder_agent.sidecar.init_script, so its startup_script never runs and none of its 3 apps (`web`, `api`, `module.code-server`) can ever answer"]
        );
    }

    #[test]
    fn a_token_without_init_script_is_a_warning() {
        let tf = r#"resource "coder_agent" "main" {
  os = "linux"
}
resource "coder_app" "web" {
  agent_id = coder_agent.main.id
  slug     = "web"
  url      = "http://localhost:5173"
}
resource "kubernetes_pod" "main" {
  spec {
    container {
      name    = "dev"
      command = ["coder", "agent"]
      env {
        name  = "CODER_AGENT_TOKEN"
        value = coder_agent.main.token
      }
    }
  }
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec!["main.tf:1:25: warning: nothing runs coder_agent.main.init_script; its token is used, so the agent may be started another way, but if not, its app `web` can never answer"]
        );
    }

    #[test]
    fn a_template_without_compute_is_a_warning() {
        let tf = "resource \"coder_agent\" \"main\" {\n  os = \"linux\"\n}\nresource \"kubernetes_secret\" \"s\" {}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec!["main.tf:1:25: warning: nothing runs coder_agent.main.init_script and the template has no container or VM that could (is it incomplete?); as it stands, the workspace never connects"]
        );
    }

    #[test]
    fn a_user_knowledge_file_adds_a_compute_type() {
        let tf = "resource \"coder_agent\" \"main\" {\n  os = \"linux\"\n}\nresource \"fly_machine\" \"m\" {}\n";
        let files = [("main.tf", tf)];
        let severity = |kb| {
            let (_, found) = crate::rules::test::run_with(&RULE, &files, kb);
            found.iter().map(|d| d.severity).collect::<Vec<_>>()
        };
        let builtin = crate::knowledge::Knowledge::builtin().clone();
        assert_eq!(severity(builtin.clone()), [Severity::Warning]);
        let mut kb = builtin;
        kb.extend(crate::knowledge::Knowledge::parse("compute:\n  fly_machine: {}\n").unwrap());
        // A machine that does not run the init_script: the agent is never started.
        assert_eq!(severity(kb), [Severity::Error]);
    }

    #[test]
    fn agents_started_in_any_way_are_fine() {
        let tf = r#"resource "coder_agent" "vm" {
  os = "linux"
}
resource "coder_agent" "passed" {
  os = "linux"
}
resource "coder_agent" "off" {
  count = 0
  os    = "linux"
}
locals {
  boot = coder_agent.vm.init_script
}
resource "aws_instance" "vm" {
  user_data = <<-EOT
    #!/bin/sh
    ${local.boot}
  EOT
}
module "pod" {
  source = "./pod"
  agent  = coder_agent.passed
}
"#;
        assert_eq!(check(&RULE, &[("main.tf", tf)]), Vec::<String>::new());
    }
}
