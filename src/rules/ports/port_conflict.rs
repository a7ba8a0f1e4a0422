//! `port-conflict` (PT205): two modules or processes listening on one port.

use std::collections::HashMap;

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::chain::{and_list, describe};
use crate::model::netns::{Netns, NetnsId, NetnsKind, Together};
use crate::model::{Listener, Place, Workspace};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "port-conflict",
        code: "PT205",
        default_severity: Severity::Error,
        summary: "Two modules or processes listening on one port",
        explanation: "## What it does
Finds two things that want the same port in one network namespace: two registry modules
(jupyterlab and jupyter-notebook both default to 19999; every agentapi-based module to 3284),
servers started by scripts (the same program from two agents or blocks included), or a process
and a compose published port on the workspace's localhost.

A listener lives where the agent that starts it runs: the agent's host or VM, its docker
container (or the one it joins with `network_mode = \"container:...\"`), or its Kubernetes
pod, which all containers of the pod share. A compose service has its own unless
`network_mode: service:X` puts it in X's. Listeners in different namespaces never collide.

A collision that needs blocks whose `count` may be 0 (`count = var.x ? 1 : 0`,
`data.coder_parameter.x.value ? 1 : 0`) is a warning, unless every such count is on with the
variables' and parameters' defaults: then it happens in every new workspace, an error. Counts
that one switch turns the opposite ways never collide.

## Why is this bad?
The second server fails to bind (`address already in use`), or one silently shadows the other.
The app that points at the port reaches whichever started first.

## Example
```hcl
module \"jupyterlab\"       { source = \"registry.coder.com/coder/jupyterlab/coder\" }
module \"jupyter-notebook\" { source = \"registry.coder.com/coder/jupyter-notebook/coder\" }
```
Give one of them another `port`.
",
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    // Per namespace and port: the first listener of each unit that starts one there.
    let mut claimed: Vec<&Listener> = Vec::new();
    let mut by_port: HashMap<(NetnsId, u16), Vec<&Listener>> = HashMap::new();
    for listener in &workspace.listeners {
        let site = &listener.site;
        let Some(netns) = workspace.namespaces.get(site.netns) else {
            continue;
        };
        // Unknown namespaces prove nothing; a block whose count is always 0 never runs.
        let never = site
            .gates
            .iter()
            .any(|g| g.fixed && g.by_default == Some(false));
        if netns.kind == NetnsKind::Unknown || never {
            continue;
        }
        let on_port = by_port.entry((site.netns, listener.port)).or_default();
        let clash = on_port.iter().find_map(|c| {
            let together = c.site.together(site);
            (c.site.unit != site.unit && together != Together::Never).then_some((c, together))
        });
        match clash {
            Some((first, together)) => {
                let mut message = format!(
                    "{} and {} both listen on port {} {}",
                    who(first, listener),
                    who(listener, first),
                    listener.port,
                    netns.name
                );
                let severity = if together == Together::ByDefault {
                    Severity::Error
                } else {
                    let gates: Vec<String> = first
                        .site
                        .gates
                        .iter()
                        .chain(&site.gates)
                        .filter(|g| g.by_default != Some(true))
                        .map(|g| format!("`{}`", g.block))
                        .collect();
                    let mut gates = gates;
                    gates.dedup();
                    message.push_str(&format!(" when {} exist", and_list(&gates)));
                    Severity::Warning
                };
                let mut d = sink
                    .report_as(severity, listener.span, message)
                    .with_related(
                        first.span,
                        format!("{} listens on {}", first.program, describe(first)),
                    );
                if let Some(label) = shared_by(netns) {
                    d = d.with_related(netns.span, label);
                }
                d.with_help("give one of them another port");
            }
            None if on_port.iter().any(|c| c.site.unit == site.unit) => {}
            None => {
                on_port.push(listener);
                // Compose publishes where its daemon runs.
                if site.netns == workspace.compose_netns && listener.place == Place::Workspace {
                    claimed.push(listener);
                }
            }
        }
    }
    for listener in &claimed {
        // The first mapping that publishes the port: more are host-port-published-twice.
        let published = workspace
            .published_on(listener.port)
            .find(|(index, _, _)| !workspace.services[*index].network_mode_host);
        if let Some((index, published, _)) = published {
            let service = &workspace.services[index];
            sink.report(
                published.span,
                format!(
                    "{} publishes localhost:{}, where {} also listens {}",
                    service.name,
                    listener.port,
                    listener.program,
                    workspace.namespaces[listener.site.netns].name
                ),
            )
            .with_related(listener.span, format!("{} listens on {}", listener.program, describe(listener)))
            .with_help("use another host port for one of them");
        }
    }
}

/// The listener's program, and its agent when the other is the same program of another agent.
fn who(listener: &Listener, other: &Listener) -> String {
    match (&listener.site.agent, &other.site.agent) {
        (Some(a), Some(b)) if a != b && listener.program == other.program => {
            format!("{} of coder_agent.{a}", listener.program)
        }
        _ => listener.program.clone(),
    }
}

/// What makes the listeners of a namespace share it, when that is more than one process.
fn shared_by(netns: &Netns) -> Option<String> {
    match netns.kind {
        NetnsKind::Pod => Some("every container of this pod shares one network namespace".to_owned()),
        NetnsKind::Container => Some("one network namespace: both agents run in this container or one that joins it".to_owned()),
        NetnsKind::ComposeService(_) => Some("services with `network_mode: service:` share this service's network namespace".to_owned()),
        NetnsKind::DockerHost => Some("`network_mode = \"host\"` shares the Docker host's network".to_owned()),
        NetnsKind::Host | NetnsKind::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn two_modules_on_their_default_port() {
        let tf = "module \"jupyterlab\" {\n  source   = \"registry.coder.com/coder/jupyterlab/coder\"\n  agent_id = coder_agent.main.id\n}\n\nmodule \"notebook\" {\n  source   = \"registry.coder.com/coder/jupyter-notebook/coder\"\n  agent_id = coder_agent.main.id\n}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec!["main.tf:6:1: error: module \"jupyterlab\" and module \"notebook\" both listen on port 19999 in the workspace"]
        );
    }

    #[test]
    fn a_port_input_resolves_the_conflict() {
        let tf = "module \"jupyterlab\" {\n  source = \"registry.coder.com/coder/jupyterlab/coder\"\n}\n\nmodule \"notebook\" {\n  source = \"registry.coder.com/coder/jupyter-notebook/coder\"\n  port   = 19998\n}\n";
        assert!(check(&RULE, &[("main.tf", tf)]).is_empty());
    }

    #[test]
    fn a_process_and_a_published_port() {
        let script = "#!/bin/sh\nnpx next dev -p 3000 &\n";
        let compose = "services:\n  grafana:\n    image: grafana/grafana\n    ports: [\"3000:3000\"]\n";
        assert_eq!(
            check(&RULE, &[("start.sh", script), ("docker-compose.yml", compose)]),
            vec!["docker-compose.yml:4:13: error: grafana publishes localhost:3000, where next also listens in the workspace"]
        );
    }

    /// A listener inside several published ranges is one finding, at the first; a program
    /// started twice on its port is one listener.
    #[test]
    fn a_process_inside_published_ranges_is_one_finding() {
        let script = "#!/bin/sh\nnpx next dev -p 3000 &\nnpx next dev -p 3000 &\n";
        let compose = "services:\n  a:\n    image: nginx\n    ports:\n      - \"1-65535:1-65535\"\n      - \"1-65535:1-65535\"\n      - \"2000-4000:2000-4000\"\n";
        assert_eq!(
            check(&RULE, &[("start.sh", script), ("docker-compose.yml", compose)]),
            vec!["docker-compose.yml:5:9: error: a publishes localhost:3000, where next also listens in the workspace"]
        );
    }

    /// Two modules on 19999 whose `count`s are `a` and `b`: error when both exist with every
    /// default, warning when they may, nothing when they never do.
    #[test]
    fn count_gated_modules_collide_as_their_defaults_say() {
        let params = r#"variable "lab" {
  type    = bool
  default = true
}
variable "off" {
  type    = bool
  default = false
}
variable "unset" {
  type = bool
}
data "coder_workspace" "me" {}
data "coder_parameter" "on" {
  name    = "on"
  type    = "bool"
  default = "true"
}
data "coder_parameter" "no" {
  name    = "no"
  type    = "bool"
  default = "false"
}
data "coder_parameter" "ask" {
  name = "ask"
  type = "bool"
}
"#;
        let error = "main.tf:33:1: error: module \"book\" and module \"lab\" both listen on port 19999 in the workspace";
        let warning = |gates: &str| {
            format!("main.tf:33:1: warning: module \"book\" and module \"lab\" both listen on port 19999 in the workspace when {gates} exist")
        };
        let cases: Vec<(&str, &str, Vec<String>)> = vec![
            ("data.coder_workspace.me.start_count", "1", vec![error.to_owned()]),
            ("var.lab ? 1 : 0", "data.coder_parameter.on.value ? 1 : 0", vec![error.to_owned()]),
            (
                "data.coder_parameter.on.value == \"true\" ? data.coder_workspace.me.start_count : 0",
                "data.coder_workspace.me.transition == \"start\" ? 1 : 0",
                vec![error.to_owned()],
            ),
            ("var.off ? 1 : 0", "var.lab ? 1 : 0", vec![warning("`module.lab`")]),
            (
                "data.coder_parameter.no.value ? 1 : 0",
                "data.coder_parameter.ask.value ? 1 : 0",
                vec![warning("`module.book` and `module.lab`")],
            ),
            ("var.unset ? 1 : 0", "1", vec![warning("`module.lab`")]),
            // One or the other, never both; one that never exists.
            ("var.lab ? 1 : 0", "var.lab ? 0 : 1", vec![]),
            ("data.coder_parameter.ask.value ? 0 : 1", "data.coder_parameter.ask.value ? 1 : 0", vec![]),
            ("0", "1", vec![]),
        ];
        for (a, b, want) in cases {
            let tf = format!(
                "{params}\nmodule \"book\" {{\n  count  = {b}\n  source = \"registry.coder.com/coder/jupyter-notebook/coder\"\n}}\n\nmodule \"lab\" {{\n  count  = {a}\n  source = \"registry.coder.com/coder/jupyterlab/coder\"\n}}\n"
            );
            assert_eq!(check(&RULE, &[("main.tf", &tf)]), want, "count {a} and {b}");
        }
    }

    /// Listeners in different namespaces never collide; in one pod they do, the same program
    /// included.
    #[test]
    fn namespaces_decide_collisions() {
        let agents = "resource \"coder_agent\" \"a\" {\n  startup_script = \"code-server --port 13337 &\"\n}\nresource \"coder_agent\" \"b\" {\n  startup_script = \"code-server --port 13337 &\"\n}\n";
        let docker = "resource \"docker_container\" \"a\" {\n  entrypoint = [\"sh\", \"-c\", coder_agent.a.init_script]\n}\nresource \"docker_container\" \"b\" {\n  entrypoint = [\"sh\", \"-c\", coder_agent.b.init_script]\n}\n";
        assert!(check(&RULE, &[("main.tf", &format!("{agents}{docker}"))]).is_empty());
        let pod = "resource \"kubernetes_pod\" \"p\" {\n  spec {\n    container {\n      command = [\"sh\", \"-c\", coder_agent.a.init_script]\n    }\n    container {\n      command = [\"sh\", \"-c\", coder_agent.b.init_script]\n    }\n  }\n}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", &format!("{agents}{pod}"))]),
            vec!["main.tf:5:40: error: code-server of coder_agent.a and code-server of coder_agent.b both listen on port 13337 in the pod of kubernetes_pod.p"]
        );
        // Two VMs: each agent on a host of its own.
        let vms = "resource \"aws_instance\" \"a\" {\n  user_data = coder_agent.a.init_script\n}\nresource \"aws_instance\" \"b\" {\n  user_data = coder_agent.b.init_script\n}\n";
        assert!(check(&RULE, &[("main.tf", &format!("{agents}{vms}"))]).is_empty());
        // One agent's script started twice in `if`/`else` is one server.
        let branches = "#!/bin/sh\nif [ -x /opt/cs ]; then\n  /opt/cs --port 8080 &\nelse\n  code-server --port 8080 &\nfi\n";
        assert!(check(&RULE, &[("start.sh", branches)]).is_empty());
    }

    /// Compose publishes where its Docker daemon runs: the agent's container (sysbox, or no
    /// word on it), a dind sidecar's (the agent's too when it joins it), or the Docker host
    /// (the host's socket mounted).
    #[test]
    fn compose_publishes_where_its_daemon_runs() {
        let agent = "resource \"coder_agent\" \"main\" {\n  startup_script = \"npx next dev -p 3000 &\"\n}\n";
        let compose = "services:\n  grafana:\n    image: grafana/grafana\n    ports: [\"3000:3000\"]\n";
        let finding = "docker-compose.yml:4:13: error: grafana publishes localhost:3000, where next also listens in the workspace";
        let cases: &[(&str, bool)] = &[
            ("resource \"docker_container\" \"ws\" {\n  entrypoint = [\"sh\", \"-c\", coder_agent.main.init_script]\n}\n", true),
            ("resource \"docker_container\" \"ws\" {\n  runtime    = \"sysbox-runc\"\n  entrypoint = [\"sh\", \"-c\", coder_agent.main.init_script]\n}\n", true),
            ("resource \"docker_container\" \"ws\" {\n  entrypoint = [\"sh\", \"-c\", coder_agent.main.init_script]\n  volumes {\n    host_path      = \"/var/run/docker.sock\"\n    container_path = \"/var/run/docker.sock\"\n  }\n}\n", false),
            ("resource \"docker_container\" \"dind\" {\n  image      = \"docker:dind\"\n  privileged = true\n}\nresource \"docker_container\" \"ws\" {\n  entrypoint = [\"sh\", \"-c\", coder_agent.main.init_script]\n  env        = [\"DOCKER_HOST=tcp://dind:2375\"]\n}\n", false),
            ("resource \"docker_container\" \"dind\" {\n  image      = \"docker:dind\"\n  privileged = true\n}\nresource \"docker_container\" \"ws\" {\n  entrypoint   = [\"sh\", \"-c\", coder_agent.main.init_script]\n  network_mode = \"container:${docker_container.dind.id}\"\n}\n", true),
            ("resource \"kubernetes_pod\" \"ws\" {\n  spec {\n    container {\n      command = [\"sh\", \"-c\", coder_agent.main.init_script]\n    }\n    container {\n      image = \"docker:dind\"\n    }\n  }\n}\n", true),
        ];
        for (resources, found) in cases {
            let tf = format!("{agent}{resources}");
            let want: Vec<&str> = if *found { vec![finding] } else { vec![] };
            assert_eq!(
                check(&RULE, &[("main.tf", &tf), ("docker-compose.yml", compose)]),
                want,
                "{resources}"
            );
        }
    }
}
