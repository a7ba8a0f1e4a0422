//! `service-url-port-not-published` (PT209): a database or broker URL on the workspace's
//! localhost whose port nothing answers, while compose publishes that server on another one.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::{EnvScope, EnvVar, HostTarget, Place, UrlFact, Workspace};
use crate::rules::{Rule, Sink};
use crate::source::Span;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "service-url-port-not-published",
        code: "PT209",
        default_severity: Severity::Error,
        summary: "A database or broker URL on a localhost port nothing answers, while compose publishes that server on another",
        explanation: "## What it does
Reads env values that hold a URL of a server protocol (`postgres://`, `redis://`, `mysql://`,
`mongodb://`...: the `url_schemes` of the knowledge base, with the scheme's default port when
none is written) on `localhost`, where the variable is read on the workspace itself (an env
file, a script, the agent's env; not a bridged compose container, whose `localhost` is its own).
It is an error when nothing the model knows listens on or publishes that port, and a compose
service running a server of that protocol (by its image or program) publishes it on another
host port.

Nothing is reported when the port is served or published by anything, when a host-network
service whose ports are unknown could listen there, when a compose `environment:` takes the
env-file value by interpolation (a container reads it), or when the files show no such server.

## Why is this bad?
The client connects to a closed port and fails with `connection refused` (`ECONNREFUSED`), while
the database runs fine on the port compose publishes it on.

## Example
```yaml
services:
  db:
    image: postgres:16
    ports: [\"15433:5432\"]
```
```sh
DATABASE_URL=postgres://app:pw@localhost:15432/app
```
Use `localhost:15433`, the port compose publishes.
",
    },
    check,
};

/// A compose service serving the URL's protocol on a published host port.
struct Server {
    service: usize,
    host_port: u16,
    container_port: u16,
    mapping: Span,
}

fn check(workspace: &Workspace, sink: &mut Sink) {
    let kb = &workspace.knowledge;
    // A host-network service whose listeners are unknown may listen on any workspace port.
    if workspace
        .services
        .iter()
        .any(|s| s.network_mode_host && !s.listeners_known)
    {
        return;
    }
    for var in &workspace.env {
        let Some(url) = &var.service_url else { continue };
        let HostTarget::Localhost(port) = url.target else {
            continue;
        };
        let Some(scheme) = kb.url_scheme(&url.scheme) else {
            continue;
        };
        if !port_as_written(url) || !workspace.env_on_workspace(var) || read_by_compose(workspace, var)
        {
            continue;
        }
        if workspace.listeners_at(Place::Workspace, port).next().is_some()
            || workspace.published_on(port).next().is_some()
        {
            continue;
        }
        let servers = servers(workspace, &scheme.listener);
        let Some(first) = servers.first() else {
            continue;
        };
        let protocol = &scheme.listener;
        let ports: Vec<String> = servers
            .iter()
            .map(|s| format!("localhost:{}", s.host_port))
            .collect();
        let message = format!(
            "{} connects to localhost:{port}, where nothing listens; {} publishes {protocol} on localhost:{}",
            var.name,
            workspace.services[first.service].name,
            first.host_port
        );
        let mut finding = sink
            .report(host_port_span(workspace, var, url), message)
            .with_label(format!("nothing answers on localhost:{port}"));
        for server in &servers {
            finding = finding.with_related(
                server.mapping,
                format!(
                    "{} publishes {protocol} (container port {}) on localhost:{}",
                    workspace.services[server.service].name,
                    server.container_port,
                    server.host_port
                ),
            );
        }
        let help = if ports.len() == 1 {
            format!("use {} in {}", ports[0], var.name)
        } else {
            format!("use one of {} in {}", ports.join(", "), var.name)
        };
        finding.with_help(help);
    }
}

/// Bridged compose services whose listener named `listener` (`postgres`) is published on a
/// known host port, one entry per mapping.
fn servers(workspace: &Workspace, listener: &str) -> Vec<Server> {
    let mut out = Vec::new();
    for (index, service) in workspace.services.iter().enumerate() {
        if service.network_mode_host {
            continue;
        }
        for l in workspace.container_listeners(index) {
            if l.name != listener {
                continue;
            }
            for mapping in &service.published {
                if let Some(host_port) = mapping.host_for(l.port) {
                    out.push(Server {
                        service: index,
                        host_port,
                        container_port: l.port,
                        mapping: mapping.span,
                    });
                }
            }
        }
    }
    out
}

/// Whether a compose `environment:` takes this env-file value by interpolation
/// (`DATABASE_URL: ${DATABASE_URL}`): then a container reads it, where `localhost` may be
/// another network's.
fn read_by_compose(workspace: &Workspace, var: &EnvVar) -> bool {
    var.scope == EnvScope::EnvFile
        && workspace.env.iter().any(|v| {
            matches!(v.scope, EnvScope::Compose(_)) && v.interpolated().contains(&var.name)
        })
}

/// Whether the host and port are written out: no `${...}` or `$X` in them, and a port that is a
/// number (or none, for the scheme's default).
fn port_as_written(url: &UrlFact) -> bool {
    let rest = url.text.split_once("://").map_or("", |(_, r)| r);
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority.rsplit('@').next().unwrap_or(authority);
    !host_port.contains('$') && (url.port.is_some() || !host_port.contains(':'))
}

/// The `host:port` of the URL where the value is written, else the whole value.
fn host_port_span(workspace: &Workspace, var: &EnvVar, url: &UrlFact) -> Span {
    let span = var.value_span;
    let Some(text) = workspace.sources.get(span.file).text.get(span.range()) else {
        return span;
    };
    let written = match url.port {
        Some(port) => format!("{}:{port}", url.host),
        None => url.host.clone(),
    };
    let after_at = text.rfind('@').map_or(0, |i| i + 1);
    let from = text.find("://").map_or(0, |i| i + 3).max(after_at);
    match text.get(from..).and_then(|t| t.find(&written)) {
        Some(at) => span.sub(from + at, from + at + written.len()),
        None => span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    const COMPOSE: &str = "services:\n  db:\n    image: postgres:16\n    ports:\n      - \"15433:5432\"\n";

    /// (case, files as (path, text), expected findings).
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);

    fn run(files: &[(&str, &str)]) -> Vec<String> {
        check(&RULE, files)
    }

    #[test]
    fn table() {
        let cases: &[Case] = &[
            (
                "env file on the wrong host port",
                &[("docker-compose.yml", COMPOSE), (".env.local", "DATABASE_URL=postgres://app:pw@localhost:15432/app\n")],
                &[".env.local:1:32: error: DATABASE_URL connects to localhost:15432, where nothing listens; db publishes postgres on localhost:15433"],
            ),
            (
                "the published port",
                &[("docker-compose.yml", COMPOSE), (".env.local", "DATABASE_URL=postgres://app:pw@localhost:15433/app\n")],
                &[],
            ),
            (
                "no port: the scheme's default, which compose does not publish",
                &[("docker-compose.yml", COMPOSE), ("start.sh", "export DATABASE_URL=\"postgresql://app@127.0.0.1/app\"\n")],
                &["start.sh:1:39: error: DATABASE_URL connects to localhost:5432, where nothing listens; db publishes postgres on localhost:15433"],
            ),
            (
                "another protocol's server is no answer",
                &[("docker-compose.yml", COMPOSE), (".env", "REDIS_URL=redis://localhost:6379\n")],
                &[],
            ),
            (
                "inside a bridged container localhost is the container",
                &[("docker-compose.yml", "services:\n  db:\n    image: postgres:16\n    ports: [\"15433:5432\"]\n  app:\n    image: node:20\n    environment:\n      DATABASE_URL: postgres://localhost:15432/app\n")],
                &[],
            ),
            (
                "an env-file value a container takes by interpolation",
                &[("docker-compose.yml", "services:\n  db:\n    image: postgres:16\n    ports: [\"15433:5432\"]\n  app:\n    image: node:20\n    network_mode: service:db\n    environment:\n      DATABASE_URL: ${DATABASE_URL}\n"), (".env", "DATABASE_URL=postgres://localhost:5432/app\n")],
                &[],
            ),
            (
                "a compose value that reads another variable with the same prefix",
                &[("docker-compose.yml", "services:\n  db:\n    image: postgres:16\n    ports: [\"15433:5432\"]\n  app:\n    image: node:20\n    network_mode: service:db\n    environment:\n      OLD: ${DATABASE_URL_OLD}\n"), (".env", "DATABASE_URL=postgres://localhost:5432/app\n")],
                &[".env:1:25: error: DATABASE_URL connects to localhost:5432, where nothing listens; db publishes postgres on localhost:15433"],
            ),
            (
                "a service name, not localhost",
                &[("docker-compose.yml", COMPOSE), (".env", "DATABASE_URL=postgres://db:5432/app\n")],
                &[],
            ),
            (
                "something else publishes the port",
                &[("docker-compose.yml", "services:\n  db:\n    image: postgres:16\n    ports: [\"15433:5432\"]\n  tunnel:\n    image: example/tunnel\n    ports: [\"15432:15432\"]\n"), (".env", "DATABASE_URL=postgres://localhost:15432/app\n")],
                &[],
            ),
            (
                "a port from a variable",
                &[("docker-compose.yml", COMPOSE), ("start.sh", "export DATABASE_URL=\"postgres://localhost:${DB_PORT}/app\"\n")],
                &[],
            ),
            (
                "no server in the files",
                &[(".env", "DATABASE_URL=postgres://localhost:15432/app\n")],
                &[],
            ),
            (
                "an unknown host-network service could listen anywhere",
                &[("docker-compose.yml", "services:\n  db:\n    image: postgres:16\n    ports: [\"15433:5432\"]\n  proxy:\n    image: example/proxy\n    network_mode: host\n"), (".env", "DATABASE_URL=postgres://localhost:15432/app\n")],
                &[],
            ),
            (
                "redis on a moved host port, compose environment of a host-network service",
                &[("docker-compose.yml", "services:\n  cache:\n    image: redis:7\n    ports: [\"16380:6379\"]\n  worker:\n    image: redis:7\n    network_mode: host\n    command: [\"redis-server\", \"--port\", \"7000\"]\n    environment:\n      REDIS_URL: redis://localhost:16379\n")],
                &["docker-compose.yml:10:26: error: REDIS_URL connects to localhost:16379, where nothing listens; cache publishes redis on localhost:16380"],
            ),
        ];
        for (name, files, expected) in cases {
            assert_eq!(&run(files), expected, "{name}");
        }
    }

    #[test]
    fn names_the_mapping_and_the_port_to_use() {
        let (ws, findings) = crate::rules::test::run(
            &RULE,
            &[("docker-compose.yml", COMPOSE), (".env", "DATABASE_URL=postgres://app:pw@localhost:15432/app\n")],
        );
        let [finding] = findings.as_slice() else {
            panic!("{findings:?}")
        };
        assert_eq!(finding.help.as_deref(), Some("use localhost:15433 in DATABASE_URL"));
        let [related] = finding.related.as_slice() else {
            panic!("{:?}", finding.related)
        };
        assert_eq!(ws.sources.resolve(related.span).0.line, 5);
        assert_eq!(related.message, "db publishes postgres (container port 5432) on localhost:15433");
    }

    /// Origin rules read only http(s) URLs: the same values as `http://` reach them (the setup
    /// is one they check), as `postgres://` they change nothing.
    #[test]
    fn service_urls_reach_no_origin_rule() {
        let origin_findings = |scheme: &str| {
            let env = format!(
                "NEXT_PUBLIC_DATABASE_URL={scheme}://localhost:5432/app\nCONVEX_CLOUD_ORIGIN={scheme}://localhost:3210\n"
            );
            let ws = crate::model::build::from_texts(&[
                ("main.tf", "resource \"coder_agent\" \"main\" {\n  os   = \"linux\"\n  arch = \"amd64\"\n}\n", crate::model::FileKind::Terraform),
                ("docker-compose.yml", "services:\n  db:\n    image: postgres:16\n    ports: [\"5432:5432\"]\n", crate::model::FileKind::Compose),
                ("web/.env.local", &env, crate::model::FileKind::EnvFile),
            ]);
            let origins: Vec<&'static Rule> = crate::rules::RULES
                .iter()
                .copied()
                .filter(|r| r.meta.code.starts_with("PT3"))
                .collect();
            let found: Vec<&str> = crate::rules::run(&ws, &origins)
                .into_iter()
                .filter_map(|d| d.rule)
                .collect();
            found
        };
        assert!(
            origin_findings("http").contains(&"browser-var-localhost"),
            "the setup reaches origin rules"
        );
        assert_eq!(origin_findings("postgres"), Vec::<&str>::new());
    }
}
