//! `port-conflict` (PT205): two modules or processes listening on one port.

use std::collections::HashMap;

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::chain::describe;
use crate::model::{Listener, Place, Workspace};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "port-conflict",
        code: "PT205",
        default_severity: Severity::Error,
        summary: "Two modules or processes listening on one port",
        explanation: "## What it does
Finds two different things that want the same port on the workspace's localhost: two registry
modules (jupyterlab and jupyter-notebook both default to 19999; every agentapi-based module to
3284), two processes started by scripts, or a process and a compose published port.

## Why is this bad?
The second server fails to bind (`address already in use`), or, in one Kubernetes pod where
containers share a network namespace, one silently shadows the other. The app that points at the
port reaches whichever started first.

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
    // The first listener of each program on each port, in order.
    let mut claimed: Vec<&Listener> = Vec::new();
    let mut by_port: HashMap<u16, Vec<&Listener>> = HashMap::new();
    for listener in workspace.listeners.iter().filter(|l| l.place == Place::Workspace) {
        let on_port = by_port.entry(listener.port).or_default();
        let clash = on_port
            .iter()
            .find(|c| c.span != listener.span && c.program != listener.program);
        match clash {
            Some(first) => {
                sink.report(
                    listener.span,
                    format!(
                        "{} and {} both listen on port {} in the workspace",
                        first.program, listener.program, listener.port
                    ),
                )
                .with_related(first.span, format!("{} listens on {}", first.program, describe(first)))
                .with_help("give one of them another port");
            }
            None if on_port.iter().any(|c| c.program == listener.program) => {}
            None => {
                on_port.push(listener);
                claimed.push(listener);
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
                    "{} publishes localhost:{}, where {} also listens in the workspace",
                    service.name, listener.port, listener.program
                ),
            )
            .with_related(listener.span, format!("{} listens on {}", listener.program, describe(listener)))
            .with_help("use another host port for one of them");
        }
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
}

