//! `published-port-without-listener` (PT203): a compose published port whose container port has no listener.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::chain::{and_list, describe, Claimed};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "published-port-without-listener",
        code: "PT203",
        default_severity: Severity::Error,
        summary: "A compose published port whose container port has no listener",
        explanation: "## What it does
For compose services whose listeners portolan knows (a known image, a known program in its
command, or a mounted start script that runs one), checks that every published container port
has a process listening on it.

## Why is this bad?
Docker publishes the port whether or not anything listens behind it. A connection to the host
port is accepted by docker's proxy and then reset (`connection reset by peer`), which looks like
a flaky server rather than a wrong port, and a Coder app on that port answers 502.

## Example
```yaml
convex-backend:
  image: ghcr.io/get-convex/convex-backend:latest
  ports:
    - \"3212:3212\" # the backend listens on 3210 and 3211 only
```
Remove the mapping, or publish a port the backend serves.
",
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    // Host ports published so far: a mapping whose host ports are all taken by earlier ones is
    // host-port-published-twice (its container does not start), not this.
    let mut claimed = Claimed::default();
    for (index, service) in workspace.services.iter().enumerate() {
        let known = service.listeners_known && !service.network_mode_host;
        let listeners = if known {
            workspace.container_listeners(index)
        } else {
            Vec::new()
        };
        for published in &service.published {
            let duplicate = published.host.is_some_and(|h| {
                let taken = claimed.all_taken(h);
                claimed.claim(h, (index, published.span));
                taken
            });
            if duplicate || !known {
                continue;
            }
            let range = published.container;
            // Listeners inside the range, by distinct port (`listeners` is deduplicated).
            let served = listeners.iter().filter(|l| range.contains(l.port)).count() as u32;
            if served == range.count() {
                continue;
            }
            let host = match published.host {
                Some(h) => format!("localhost:{h}"),
                None if range.is_single() => "a random host port".to_owned(),
                None => "random host ports".to_owned(),
            };
            let ports: Vec<String> = listeners.iter().map(|l| describe(l)).collect();
            let listens = if ports.is_empty() {
                "nothing in it is known to listen".to_owned()
            } else {
                format!("it listens only on {}", and_list(&ports))
            };
            let (message, label) = if range.is_single() {
                (
                    format!(
                        "{} publishes {host} to container port {range}, but {listens}; connections to {host} will be reset",
                        service.name
                    ),
                    format!("nothing listens on {range}"),
                )
            } else {
                let idle = range.count() - served;
                (
                    format!(
                        "{} publishes {host} to container ports {range}, but {listens}; connections to the {idle} of these {} ports nothing listens on will be reset",
                        service.name,
                        range.count()
                    ),
                    format!("nothing listens on {idle} of these {} ports", range.count()),
                )
            };
            let mut finding = sink.report(published.span, message).with_label(label);
            for listener in &listeners {
                finding = finding.with_related(listener.span, format!("{} listens on {}", listener.program, describe(listener)));
            }
            finding.with_help("remove this mapping or publish a port the service listens on");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn fires_on_the_incident_mapping() {
        let compose = "services:\n  convex-backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports:\n      - \"3210:3210\"\n      - \"3211:3211\"\n      - \"3212:3212\"\n";
        assert_eq!(
            check(&RULE, &[("docker-compose.yml", compose)]),
            vec!["docker-compose.yml:7:9: error: convex-backend publishes localhost:3212 to container port 3212, but it listens only on 3210 (default) and 3211 (default); connections to localhost:3212 will be reset"]
        );
    }

    #[test]
    fn flags_move_listeners() {
        let compose = "services:\n  web:\n    image: node:20\n    command: [\"npx\", \"vite\", \"--port\", \"4000\"]\n    ports: [\"5173:5173\", \"4000:4000\"]\n";
        assert_eq!(
            check(&RULE, &[("docker-compose.yml", compose)]),
            vec!["docker-compose.yml:5:13: error: web publishes localhost:5173 to container port 5173, but it listens only on 4000 (--port); connections to localhost:5173 will be reset"]
        );
    }

    #[test]
    fn unknown_images_and_served_ports_do_not_fire() {
        let compose = "services:\n  a:\n    image: example/thing\n    ports: [\"1:2\"]\n  b:\n    image: postgres:16\n    ports: [\"15432:5432\"]\n";
        assert!(check(&RULE, &[("docker-compose.yml", compose)]).is_empty());
    }

    #[test]
    fn a_range_is_one_finding() {
        let compose = "services:\n  convex-backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports:\n      - \"3210-3212:3210-3212\"\n      - \"1-65535:1-65535\"\n      - \"3210-3211:3210-3211\"\n";
        assert_eq!(
            check(&RULE, &[("docker-compose.yml", compose)]),
            vec![
                "docker-compose.yml:5:9: error: convex-backend publishes localhost:3210-3212 to container ports 3210-3212, but it listens only on 3210 (default) and 3211 (default); connections to the 1 of these 3 ports nothing listens on will be reset",
                "docker-compose.yml:6:9: error: convex-backend publishes localhost:1-65535 to container ports 1-65535, but it listens only on 3210 (default) and 3211 (default); connections to the 65533 of these 65535 ports nothing listens on will be reset",
            ]
        );
    }

    /// A mapping whose host ports an earlier one already publishes is host-port-published-twice
    /// (the container does not start), not this rule.
    #[test]
    fn mappings_of_taken_host_ports_are_left_to_the_duplicate_rule() {
        let compose = "services:\n  a:\n    image: postgres:16\n    ports: [\"5432:5432\", \"5432:9999\"]\n  b:\n    image: postgres:16\n    ports: [\"5431-5433:9000-9002\"]\n";
        assert_eq!(
            check(&RULE, &[("docker-compose.yml", compose)]),
            vec!["docker-compose.yml:7:13: error: b publishes localhost:5431-5433 to container ports 9000-9002, but it listens only on 5432 (default); connections to the 3 of these 3 ports nothing listens on will be reset"]
        );
    }
}

