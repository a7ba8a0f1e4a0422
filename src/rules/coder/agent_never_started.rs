//! `agent-never-started` (PT114): A coder_agent whose init_script nothing runs.

use std::collections::HashSet;

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::Workspace;
use crate::model::template::{
    Agent, Block, ContainerRuntime, TemplatePart, TerraformModule, Value,
};
use crate::spec::did_you_mean;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "agent-never-started",
        code: "PT114",
        default_severity: Severity::Error,
        summary: "A coder_agent whose init_script nothing runs",
        explanation: r#"## What it does
Finds a `coder_agent` that nothing starts: its `init_script` is referenced nowhere in the
template (no container `entrypoint`/`command`, VM `user_data`, cloud-init or startup script
runs `coder_agent.NAME.init_script`), no `coder_external_agent` stands for it (an agent run by
hand outside Terraform), no command of the template or its scripts runs `coder agent` with its
token (the knowledge base's `agent_start`), and it is not passed whole to a module. The apps
of its dev containers (`agent_id = coder_devcontainer.X.subagent_id`) count as its own.

## Why is this bad?
A `coder_agent` resource only describes an agent; nothing happens in the workspace until its
`init_script` runs there (with `coder_agent.NAME.token` as `CODER_AGENT_TOKEN`) and the agent
connects. Until then its `startup_script` never runs and none of its apps can ever answer:
the workspace hangs in "Connecting". When the token is in a container's env but the
container's entrypoint runs something else that never starts an agent (`sleep infinity`, a
known server), the agent never starts: an error. When the token is used and the model cannot
see what runs (the image's own entrypoint, a script of its own), something may start the agent
another way, so that is a warning; so is a template with no container or VM at all (it may be
incomplete). An `init_script` of an agent that no `coder_agent` declares is
`undeclared-agent`'s finding.

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
    let external = agents_of_resources(module, "coder_external_agent");
    let declared: HashSet<&str> = module
        .agents()
        .iter()
        .map(|a| a.name.value.as_str())
        .collect();
    // An init_script of an undeclared agent is `undeclared-agent`'s finding, at the typo.
    let meant: HashSet<&str> = init_refs
        .iter()
        .map(|r| r.agent.as_str())
        .chain(agents_of_resources(module, "coder_external_agent"))
        .filter(|agent| !declared.contains(agent))
        .filter_map(|agent| did_you_mean(agent, declared.iter().copied()))
        .collect();
    let token_refs = module.token_references();
    let agent_command = workspace.agent_command();
    let containers = workspace.containers();
    let compute = module.blocks().find(|b| is_compute(workspace, b));
    for agent in module.agents() {
        let name = agent.name.value.as_str();
        if started.contains(name)
            || passed_whole.contains(name)
            || external.contains(name)
            || meant.contains(name)
            || never_created(agent.block)
        {
            continue;
        }
        let token = token_refs.iter().find(|r| r.agent == name);
        if token.is_some() && agent_command.is_some() {
            continue; // something runs `coder agent` with the token
        }
        let consequences = consequences(workspace, module, &agent);
        // The token in a container's env, and the container runs something else.
        let in_container = containers.iter().find_map(|c| {
            let var = c.env.iter().find(|v| references_token(&v.value.value, name))?;
            let (span, runs) = workspace.runs_instead_of_agent(c)?;
            Some((c, var, span, runs))
        });
        let mut container_help = None;
        let mut d = if let Some((container, var, runs_span, runs)) = in_container {
            let field = match container.runtime {
                ContainerRuntime::Docker => "entrypoint",
                ContainerRuntime::Kubernetes => "command",
            };
            container_help = Some(format!(
                "run the agent as the container's {field}: `{field} = [\"sh\", \"-c\", coder_agent.{name}.init_script]` instead of `{runs}`"
            ));
            let resource = container
                .resource
                .name()
                .map_or(String::new(), |n| format!(" of {}.{}", container.resource.labels[0].value, n.value));
            let mut d = sink.report(
                agent.name.span,
                format!("coder_agent.{name} is never started: its token is in the env of a container{resource}, but nothing runs coder_agent.{name}.init_script and the container runs `{runs}`, so {consequences}"),
            );
            d.related
                .push(Label::new(var.value.span, "the agent's token is given here"));
            d.related
                .push(Label::new(runs_span, "the container runs this instead of the agent"));
            d
        } else if let Some(token) = token {
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
        let token_variable = workspace
            .knowledge
            .agent_start
            .token_variable
            .as_deref()
            .unwrap_or("CODER_AGENT_TOKEN");
        d.help = container_help.or(Some(format!(
            "run `coder_agent.{name}.init_script` in the container's entrypoint or command (or the VM's user_data), with `{token_variable} = coder_agent.{name}.token` in its environment; an agent run by hand outside Terraform is declared with `resource \"coder_external_agent\"`"
        )));
    }
}

/// Whether a value holds `coder_agent.NAME.token`.
fn references_token(value: &Value, name: &str) -> bool {
    let is_token = |r: &crate::model::template::Reference| {
        matches!(r.names.as_slice(), [root, agent, attr, ..] if root == "coder_agent" && agent == name && attr == "token")
    };
    match value {
        Value::Reference(r) => is_token(r),
        Value::Template(parts) => parts
            .iter()
            .any(|p| matches!(p, TemplatePart::Reference(r) if is_token(r))),
        _ => false,
    }
}

/// The agents that resources of one type stand for (`coder_external_agent` with
/// `agent_id = coder_agent.NAME.id`: an agent run by hand outside Terraform).
fn agents_of_resources<'a>(module: &'a TerraformModule, resource_type: &'a str) -> HashSet<&'a str> {
    module
        .resources(resource_type)
        .filter_map(|b| b.attribute("agent_id"))
        .flat_map(|a| a.references.iter())
        .filter_map(|r| match r.names.as_slice() {
            [root, agent, ..] if root == "coder_agent" => Some(agent.as_str()),
            _ => None,
        })
        .collect()
}

/// What never happens for an agent nobody starts: its startup script and its apps.
fn consequences(workspace: &Workspace, module: &TerraformModule, agent: &Agent<'_>) -> String {
    let name = agent.name.value.as_str();
    // Dev containers the agent starts, whose sub-agents serve apps of their own.
    let devcontainers: Vec<&str> = module
        .resources("coder_devcontainer")
        .filter(|b| agent_of(b) == Some(name))
        .filter_map(|b| b.name().map(|n| n.value.as_str()))
        .collect();
    let in_devcontainer = |agent_id: Option<&crate::model::template::Attribute>| {
        agent_id.is_some_and(|a| {
            a.references.iter().any(|r| matches!(r.names.as_slice(), [root, dc, ..] if root == "coder_devcontainer" && devcontainers.contains(&dc.as_str())))
        })
    };
    let mut apps: Vec<String> = module
        .apps()
        .iter()
        .filter(|app| app.agent_name() == Some(name) || in_devcontainer(app.agent_id))
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

/// The agent a resource's `agent_id` names.
fn agent_of(block: &Block) -> Option<&str> {
    block
        .attribute("agent_id")?
        .references
        .iter()
        .find_map(|r| match r.names.as_slice() {
            [root, agent, ..] if root == "coder_agent" => Some(agent.as_str()),
            _ => None,
        })
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

    fn pod(command: &str) -> String {
        format!(
            r#"resource "coder_agent" "main" {{
  os = "linux"
}}
resource "coder_app" "web" {{
  agent_id = coder_agent.main.id
  slug     = "web"
  url      = "http://localhost:5173"
}}
resource "kubernetes_pod" "main" {{
  spec {{
    container {{
      name    = "dev"{command}
      env {{
        name  = "CODER_AGENT_TOKEN"
        value = coder_agent.main.token
      }}
    }}
  }}
}}
"#
        )
    }

    #[test]
    fn a_token_without_init_script() {
        // The image's own entrypoint runs: it may start the agent.
        assert_eq!(
            check(&RULE, &[("main.tf", &pod(""))]),
            vec!["main.tf:1:25: warning: nothing runs coder_agent.main.init_script; its token is used, so the agent may be started another way, but if not, its app `web` can never answer"]
        );
        // The container runs something else: the agent never starts.
        assert_eq!(
            check(&RULE, &[("main.tf", &pod("\n      command = [\"sleep\", \"infinity\"]"))]),
            vec!["main.tf:1:25: error: coder_agent.main is never started: its token is in the env of a container of kubernetes_pod.main, but nothing runs coder_agent.main.init_script and the container runs `sleep infinity`, so its app `web` can never answer"]
        );
        let sleeping = pod("\n      command = [\"sleep\", \"infinity\"]");
        let (_, found) = crate::rules::test::run(&RULE, &[("main.tf", &sleeping)]);
        assert_eq!(
            found[0].help.as_deref(),
            Some("run the agent as the container's command: `command = [\"sh\", \"-c\", coder_agent.main.init_script]` instead of `sleep infinity`")
        );
        assert_eq!(found[0].related.len(), 2, "the token and the entrypoint");
        let shell = "\n      command = [\"sh\", \"-c\", \"exec code-server --port 13337\"]";
        assert_eq!(
            check(&RULE, &[("main.tf", &pod(shell))]).len(),
            1,
            "a known server in sh -c is something else too"
        );
        // A script of its own could run anything.
        let script = "\n      command = [\"/opt/start.sh\"]";
        assert!(check(&RULE, &[("main.tf", &pod(script))])[0].contains("warning"));
    }

    #[test]
    fn agents_started_by_coder_agent_or_run_outside_terraform() {
        // `coder agent` with the token in its environment.
        let run = "\n      command = [\"coder\", \"agent\"]";
        assert_eq!(check(&RULE, &[("main.tf", &pod(run))]), Vec::<String>::new());
        // The same from a script of the template.
        let script = "\n      command = [\"/opt/start.sh\"]";
        let start = "#!/bin/sh\n# start the agent\nexec /usr/local/bin/coder agent\n";
        assert_eq!(
            check(&RULE, &[("main.tf", &pod(script)), ("start.sh", start)]),
            Vec::<String>::new()
        );
        // A comment that mentions the command does not run it.
        let comment = "#!/bin/sh\n# coder agent puts this on the PATH\nsleep 1\n";
        assert_eq!(
            check(&RULE, &[("main.tf", &pod(script)), ("start.sh", comment)]).len(),
            1
        );
        let external = "resource \"coder_agent\" \"main\" {\n  os = \"linux\"\n}\nresource \"coder_external_agent\" \"main\" {\n  agent_id = coder_agent.main.id\n}\n";
        assert_eq!(check(&RULE, &[("main.tf", external)]), Vec::<String>::new());
    }

    #[test]
    fn dev_container_apps_are_the_agents_too() {
        let tf = r#"resource "coder_agent" "main" {
  os = "linux"
}
resource "coder_devcontainer" "project" {
  agent_id         = coder_agent.main.id
  workspace_folder = "/workspaces/project"
}
resource "coder_app" "preview" {
  agent_id = coder_devcontainer.project.subagent_id
  slug     = "preview"
  url      = "http://localhost:3000"
}
resource "docker_container" "workspace" {
  image = "codercom/enterprise-base:ubuntu"
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec!["main.tf:1:25: error: coder_agent.main is never started: nothing runs coder_agent.main.init_script, so its app `preview` can never answer"]
        );
    }

    #[test]
    fn an_init_script_typo_is_left_to_undeclared_agent() {
        let tf = "resource \"coder_agent\" \"main\" {\n  os = \"linux\"\n}\nresource \"docker_container\" \"c\" {\n  entrypoint = [\"sh\", \"-c\", coder_agent.mian.init_script]\n}\n";
        assert_eq!(check(&RULE, &[("main.tf", tf)]), Vec::<String>::new());
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
