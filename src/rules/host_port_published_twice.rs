//! `host-port-published-twice` (PT204): one host port published by two compose services.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "host-port-published-twice",
        code: "PT204",
        default_severity: Severity::Error,
        summary: "One host port published by two compose services",
        explanation: "## What it does
Finds a host port that more than one compose port mapping publishes (in one or several compose
files of the workspace).

## Why is this bad?
Only one container can bind a host port: the second fails to start with `port is already
allocated`, and any `coder_app` on that port reaches whichever container won.

## Example
```yaml
api:    { ports: [\"8000:8000\"] }
worker: { ports: [\"8000:9000\"] }
```
Give each a host port of its own.
",
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    let mut seen: Vec<(u16, usize, crate::source::Span)> = Vec::new();
    for (index, service) in workspace.services.iter().enumerate() {
        for published in &service.published {
            let Some(host) = published.host else { continue };
            if let Some((_, first_service, first_span)) =
                seen.iter().find(|(port, _, span)| *port == host && *span != published.span)
            {
                let first = &workspace.services[*first_service].name;
                sink.report(
                    published.span,
                    format!("{} publishes host port {host}, which {first} already publishes", service.name),
                )
                .with_related(*first_span, format!("{first} publishes {host} here"))
                .with_help("give each service its own host port");
                continue;
            }
            seen.push((host, index, published.span));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn fires_on_the_second_mapping() {
        let compose = "services:\n  api:\n    image: a\n    ports: [\"8000:8000\"]\n  worker:\n    image: b\n    ports:\n      - \"8000:9000\"\n      - \"9001:9001\"\n";
        assert_eq!(
            check(&RULE, &[("docker-compose.yml", compose)]),
            vec!["docker-compose.yml:8:9: error: worker publishes host port 8000, which api already publishes"]
        );
    }

    #[test]
    fn ranges_and_distinct_ports_do_not_fire() {
        let compose = "services:\n  a:\n    image: a\n    ports: [\"3000-3002:3000-3002\"]\n  b:\n    image: b\n    ports: [\"3003:3000\", \"5432\"]\n";
        assert!(check(&RULE, &[("docker-compose.yml", compose)]).is_empty());
    }
}
