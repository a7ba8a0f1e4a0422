//! `app-port-not-served` (PT201): a coder_app url port that nothing serves.

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::model::chain::{and_list, describe, or_list};
use crate::model::role::AppRole;
use crate::model::{App, Listener, ListenerSource, Place, UrlFact, Workspace};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "app-port-not-served",
        code: "PT201",
        default_severity: Severity::Error,
        summary: "A coder_app url port that nothing serves",
        explanation: "## What it does
Follows each `coder_app` url (`http://localhost:P`) to what answers on port P: a compose
service that publishes P (and the process listening on the container port behind it), or a
process in the workspace started by a script or a registry module. An app's `localhost` is its
agent's network namespace: a process another agent starts in another container does not answer
it (when either namespace is not known, any process on P may be the one).

It is an error when the files prove nothing answers on P:
- compose publishes P, but the container's known listeners are on other ports;
- a container listens on P, but compose does not publish it;
- an env variable gives the app a role (`CONVEX_SITE_ORIGIN` holds its origin, so it must reach
  the Convex site proxy), that role's listener is reached on another port, and nothing is known
  on P: the finding names the right port;
- the app's own server (the program its slug names: `code-server`, `jupyterlab`, `rstudio`) is
  started with a flag or env variable on other ports only, and no run of it has a port unknown
  to portolan.
- compose publishes P, but on the Docker host: the agent's container mounts the host's
  `/var/run/docker.sock` (and has no daemon of its own: no `runtime = \"sysbox-runc\"`, no
  `docker:dind` sidecar), the template has that one agent, and a script of the workspace runs
  `docker compose up` for that file. Compose's containers then run beside the workspace, not
  in it, and the agent's `localhost` does not reach the Docker host. Run Docker inside the
  workspace (sysbox) or in a dind sidecar whose network namespace the workspace shares.

It is a warning when nothing known listens on P at all. The help names the port of the app's
role when it is known: from an env variable that holds its origin, or a listener role that is
its slug (`convex-site` → the site proxy, 3211). `external = true` apps (links the browser
opens) and command apps have no port to check.

## Why is this bad?
The agent proxies the app to `localhost:P`. When docker publishes a port that nothing listens on
inside the container, docker's proxy accepts the connection and resets it, and Coder answers
502 Bad Gateway, with nothing in any log that names the port.

## Example
```hcl
resource \"coder_app\" \"convex-site\" {
  url = \"http://localhost:3212\" # the backend serves 3210 (--port) and 3211 (--site-proxy-port)
}
```
Use the port the process listens on: `url = \"http://localhost:3211\"`.
",
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    let ports = workspace.port_lookups();
    for app in &workspace.apps {
        let Some(url) = &app.url else { continue };
        let Some(port) = url.local_port() else { continue };
        if url.port.is_none() {
            // `http://localhost` means port 80; rare for apps and reported by app-url-not-localhost.
            continue;
        }
        if on_the_docker_host(workspace, &ports, app, url, port, sink) {
            continue;
        }
        // Lookups, never a list of every mapping that holds the port (ranges may hold it n times).
        if ports.served_behind_in(port, app.netns).is_served() {
            continue;
        }
        let role = workspace.app_role(app);
        if let Some((service_index, published, container)) = ports.first_published_on(port) {
            let service = &workspace.services[service_index];
            let listeners = ports.container_listeners(service_index);
            if !service.listeners_known {
                sink.report_as(
                    Severity::Warning,
                    url.span,
                    format!(
                        "coder_app {} targets localhost:{port}; compose publishes {port} to {}:{}, but nothing is known to listen on {} in {}",
                        app.slug, service.name, container, container, service.name
                    ),
                )
                .with_related(published.span, format!("published to {}:{container}", service.name))
                .with_help(format!("make sure the process in {} listens on {container}", service.name));
                continue;
            }
            let ports: Vec<String> = listeners.iter().map(|l| describe(l)).collect();
            let listens = if ports.is_empty() {
                "nothing in it is known to listen".to_owned()
            } else {
                format!("{} listens only on {}", service.name, and_list(&ports))
            };
            let mut finding = sink
                .report(
                    url.span,
                    format!(
                        "coder_app {} targets localhost:{port}; compose publishes {port} to {}:{}, but {listens}",
                        app.slug, service.name, container
                    ),
                )
                .with_label(format!("nothing answers on {port}"))
                .with_related(published.span, format!("published to {}:{container}", service.name));
            for listener in &listeners {
                finding = finding.with_related(listener.span, format!("{} listens on {}", listener.program, describe(listener)));
            }
            if let Some((help, fix)) = role_advice(workspace, app, url, role.as_ref()) {
                finding = finding.with_help(help);
                if let Some(fix) = fix {
                    finding.with_fix(fix);
                }
                continue;
            }
            let served: Vec<String> = listeners
                .iter()
                .filter_map(|l| {
                    let host = service.published.iter().find_map(|p| p.host_for(l.port))?;
                    Some(match &l.role {
                        Some(role) => format!("localhost:{host} ({role})"),
                        None => format!("localhost:{host}"),
                    })
                })
                .collect();
            if !served.is_empty() {
                finding.with_help(format!("point the app at a served port: {}", and_list(&served)));
            }
            continue;
        }
        // Not published: does a container listen on P without publishing it?
        let unpublished = workspace
            .listeners
            .iter()
            .find(|l| l.port == port && matches!(l.place, Place::Container(_)));
        if let Some(listener) = unpublished {
            let Place::Container(index) = listener.place else { continue };
            let service = &workspace.services[index];
            sink.report(
                url.span,
                format!(
                    "coder_app {} targets localhost:{port}; {} listens on {port} inside its container, but compose does not publish it",
                    app.slug, service.name
                ),
            )
            .with_related(listener.span, format!("{} listens on {}", listener.program, describe(listener)))
            .with_related(service.name_span, format!("add \"{port}:{port}\" to the ports of {}", service.name))
            .with_help(format!("publish it: `ports: [\"{port}:{port}\"]` in {}", service.name));
            continue;
        }
        // Nothing is known on P, and the app's role says where it must go: proven wrong.
        if let Some(role) = role.as_ref().filter(|r| !r.ports().is_empty()) {
            report_wrong_role_port(workspace, sink, app, url, port, role);
            continue;
        }
        // The app's own server (its slug names the program) runs, on other ports only.
        let servers = workspace.app_servers(app);
        let explicit = |l: &&crate::model::Listener| {
            matches!(l.source, ListenerSource::Flag(_) | ListenerSource::Env(_))
        };
        if !servers.open && !servers.listeners.is_empty() && servers.listeners.iter().all(explicit) {
            let moved: Vec<String> = servers.listeners.iter().map(|l| describe(l)).collect();
            let first = servers.listeners[0];
            let mut finding = sink
                .report(
                    url.span,
                    format!(
                        "coder_app {} targets localhost:{port}, but {} listens only on {}",
                        app.slug,
                        first.program,
                        and_list(&moved)
                    ),
                )
                .with_label(format!("nothing answers on {port}"));
            for listener in &servers.listeners {
                finding = finding.with_related(listener.span, format!("{} listens on {}", listener.program, describe(listener)));
            }
            let how = match &first.source {
                ListenerSource::Flag(flag) => format!(" ({flag})"),
                ListenerSource::Env(name) => format!(" ({name})"),
                _ => String::new(),
            };
            finding.with_help(format!(
                "point the app at localhost:{}, or make {} listen on {port}{how}",
                first.port, first.program
            ));
            continue;
        }
        if workspace.services.is_empty() && workspace.scripts.is_empty() && workspace.modules.is_empty() {
            // A template alone: what runs in the workspace is not in the checked files.
            continue;
        }
        // Servers on P in another agent's namespace: they do not answer this app's localhost.
        let elsewhere: Vec<&Listener> = workspace
            .listeners
            .iter()
            .filter(|l| l.place == Place::Workspace && l.port == port && workspace.apart(app.netns, l.site.netns))
            .collect();
        let own = app.netns.and_then(|id| workspace.namespaces.get(id)).map(|n| n.name.as_str());
        let message = match (elsewhere.first(), own, &app.agent) {
            (Some(other), Some(own), Some(agent)) => format!(
                "coder_app {} targets localhost:{port}, but nothing in the checked files is known to listen on {port} {own}, where coder_agent.{agent} runs; {} on {port} runs {}",
                app.slug,
                other.program,
                workspace.namespaces[other.site.netns].name
            ),
            _ => format!(
                "coder_app {} targets localhost:{port}, but nothing in the checked files is known to listen on {port}",
                app.slug
            ),
        };
        let mut finding = sink.report_as(Severity::Warning, url.span, message);
        for other in elsewhere.iter().take(3) {
            let agent = app.agent.as_deref().unwrap_or_default();
            finding = finding.with_related(
                other.span,
                format!(
                    "{} listens on {} {}, not where coder_agent.{agent} runs",
                    other.program,
                    describe(other),
                    workspace.namespaces[other.site.netns].name
                ),
            );
        }
        // What does listen in the workspace, nearest ports first: the other end, if the port is
        // what is wrong.
        let mut nearby: Vec<_> = workspace
            .listeners
            .iter()
            .filter(|l| l.place == Place::Workspace && l.http && !workspace.apart(app.netns, l.site.netns))
            .collect();
        nearby.sort_by_key(|l| (l.port.abs_diff(port), l.port));
        nearby.dedup_by_key(|l| l.port);
        for listener in nearby.iter().take(3) {
            finding = finding.with_related(
                listener.span,
                format!("{} listens on {}", listener.program, describe(listener)),
            );
        }
        match role_advice(workspace, app, url, role.as_ref()) {
            Some((help, fix)) => {
                let finding = finding.with_help(help);
                if let Some(fix) = fix {
                    finding.with_fix(fix);
                }
            }
            None => match (elsewhere.is_empty(), nearby.first(), &app.agent) {
                (false, Some(near), Some(agent)) => {
                    finding.with_help(format!(
                        "point the app at localhost:{}, where {} of coder_agent.{agent} listens, or start the app's server on {port} in coder_agent.{agent}",
                        near.port, near.program
                    ));
                }
                _ => {
                    finding.with_help("start the server in the agent's startup_script, a coder_script or compose, or fix the port");
                }
            },
        }
    }
}

/// An app whose port only a compose service publishes, where compose publishes on the Docker
/// host: the agent's container mounts the host's `/var/run/docker.sock` (with no daemon of its
/// own, sysbox or dind), the template has that one agent, and a script of the workspace runs
/// `docker compose up` for that service's file. Reported as an error; `true` when it was.
fn on_the_docker_host(
    workspace: &Workspace,
    ports: &crate::model::chain::PortLookups<'_>,
    app: &App,
    url: &UrlFact,
    port: u16,
    sink: &mut Sink,
) -> bool {
    use crate::model::chain::Hop;
    use crate::model::netns::NetnsKind;
    // The Docker host is where compose publishes only when the one agent's container mounts
    // the host's socket (model::build::netns): that agent is in a container, not there.
    let compose = workspace.compose_netns;
    let Some(daemon) = workspace.namespaces.get(compose) else {
        return false;
    };
    let agents = workspace.template.as_ref().map_or(0, |t| t.agents().len());
    let Some(own) = app.netns.and_then(|id| workspace.namespaces.get(id)) else {
        return false;
    };
    if daemon.kind != NetnsKind::DockerHost
        || agents != 1
        || app.netns == Some(compose)
        || matches!(own.kind, NetnsKind::Unknown | NetnsKind::DockerHost)
    {
        return false;
    }
    let behind = ports.served_behind_in(port, app.netns);
    // A process of the agent's own on P answers it.
    if behind.hops.iter().any(|hop| matches!(hop, Hop::Process(_))) {
        return false;
    }
    let Some((index, published, container)) = ports.first_published_on(port) else {
        return false;
    };
    let service = &workspace.services[index];
    let file = workspace.sources.get(service.file).path.clone();
    let Some(up) = workspace
        .scripts
        .iter()
        .filter(|s| s.place == Place::Workspace)
        .flat_map(|s| s.compose_up.iter())
        .find(|up| up.starts(&file))
    else {
        return false;
    };
    sink.report(
        url.span,
        format!(
            "coder_app {} targets localhost:{port}, but compose publishes {port} (to {}:{container}) on the Docker host: the host's Docker socket is mounted into the workspace, and the agent's localhost does not reach the Docker host",
            app.slug, service.name
        ),
    )
    .with_label(format!("the agent's localhost:{port}: nothing answers"))
    .with_related(daemon.span, "the host's Docker socket: compose's containers run on the Docker host")
    .with_related(published.span, format!("published on the Docker host, to {}:{container}", service.name))
    .with_related(up.span, "starts the compose stack with the host's daemon")
    .with_help("run Docker in the workspace's own network namespace: inside the workspace container with the sysbox runtime (`runtime = \"sysbox-runc\"`, dockerd started by the agent), or in a privileged `docker:dind` sidecar whose network the workspace container joins (`network_mode = \"container:${docker_container.dind[0].id}\"`, DOCKER_HOST on a shared unix socket); `portolan render --full` writes either (`coder: { docker: sysbox | dind }`)");
    true
}

/// An app whose role (an env variable holds its origin) is served on another port than the
/// one it targets, where nothing is known to answer.
fn report_wrong_role_port(
    workspace: &Workspace,
    sink: &mut Sink,
    app: &App,
    url: &UrlFact,
    port: u16,
    role: &AppRole<'_>,
) {
    let wanted: Vec<String> = role.ports().iter().map(|p| format!("localhost:{p}")).collect();
    let serving: Vec<String> = role
        .targets
        .iter()
        .filter(|(_, p)| p.is_some())
        .map(|(l, _)| owner_port(workspace, l))
        .collect();
    let mut finding = sink
        .report_as(
            Severity::Error,
            url.span,
            format!(
                "coder_app {} must target {}, not {port}: {} holds its origin, and {} is served by {}; nothing is known to listen on {port}",
                app.slug,
                or_list(&wanted),
                role.var.name,
                role.role,
                and_list(&serving)
            ),
        )
        .with_label(format!("must be {}", or_list(&wanted)))
        .with_related(role.var.value_span, format!("{} names app {}", role.var.name, app.slug));
    for (listener, agent_port) in &role.targets {
        let Some(agent_port) = agent_port else { continue };
        finding = finding.with_related(
            listener.span,
            format!("{} listens on {}", listener.program, describe(listener)),
        );
        if let Place::Container(i) = listener.place {
            let service = &workspace.services[i];
            if let Some(p) = service.published.iter().find(|p| p.host_for(listener.port).is_some()) {
                finding = finding.with_related(
                    p.span,
                    format!("compose publishes {agent_port} to {}:{}", service.name, listener.port),
                );
            }
        }
    }
    if let Some((help, fix)) = role_advice(workspace, app, url, Some(role)) {
        finding = finding.with_help(help);
        if let Some(fix) = fix {
            finding.with_fix(fix);
        }
    }
}

/// What to change when the app's role is known: the port that reaches its listener, with a fix
/// when there is one such port and the url writes its port once. The role comes from an env
/// variable that holds the app's origin, else from a listener role that is the app's slug.
fn role_advice(
    workspace: &Workspace,
    app: &App,
    url: &UrlFact,
    role: Option<&AppRole<'_>>,
) -> Option<(String, Option<Fix>)> {
    let (targets, why): (Vec<(&Listener, u16)>, String) = match role {
        Some(role) => (
            role.targets.iter().filter_map(|(l, p)| Some((*l, (*p)?))).collect(),
            format!("{} holds its origin, so it must reach {}", role.var.name, role.role),
        ),
        None => (
            workspace
                .distinct_listeners()
                .into_iter()
                .filter(|l| l.role.as_deref() == Some(app.slug.as_str()))
                .filter_map(|l| Some((l, workspace.agent_port_of(l)?)))
                .collect(),
            format!("the app is named for {}", app.slug),
        ),
    };
    let (listener, target) = *targets.first()?;
    if targets.iter().any(|(_, p)| *p != target) {
        let ports: Vec<String> = targets.iter().map(|(l, p)| format!("localhost:{p} ({})", owner_port(workspace, l))).collect();
        return Some((format!("{why}: point the app at {}", or_list(&ports)), None));
    }
    let help = format!(
        "{why}: use url = \"http://localhost:{target}\" ({})",
        owner_port(workspace, listener)
    );
    Some((help, port_fix(workspace, url, target)))
}

/// `convex-backend's --site-proxy-port 3211`, `code-server's default 8080`.
fn owner_port(workspace: &Workspace, listener: &Listener) -> String {
    use crate::model::ListenerSource;
    let owner = match listener.place {
        Place::Container(_) => workspace.place_name(listener.place),
        Place::Workspace => listener.program.as_str(),
    };
    let port = listener.port;
    match &listener.source {
        ListenerSource::Flag(flag) => format!("{owner}'s {flag} {port}"),
        ListenerSource::Env(var) => format!("{owner}'s {var}={port}"),
        ListenerSource::Default => format!("{owner}'s default {port}"),
        ListenerSource::Module(name) => format!("{owner}'s {name} module default {port}"),
    }
}

/// Replaces the port of a url written as a literal (`"http://localhost:3212"`), when it is
/// written once.
fn port_fix(workspace: &Workspace, url: &UrlFact, target: u16) -> Option<Fix> {
    let port = url.port?;
    let text = workspace.sources.slice(url.span);
    let needle = format!(":{port}");
    let at = text.find(&needle)?;
    let end = at + needle.len();
    if text[end..].starts_with(|c: char| c.is_ascii_digit()) || text[end..].contains(&needle) {
        return None;
    }
    Some(Fix {
        title: format!("use port {target}"),
        applicability: Applicability::Unsafe,
        edits: vec![Edit {
            span: url.span.sub(at + 1, end),
            replacement: target.to_string(),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    const APPS: &str = r#"resource "coder_app" "convex-site" {
  agent_id  = coder_agent.main.id
  slug      = "convex-site"
  url       = "http://localhost:3212"
  subdomain = true
  share     = "public"
}

resource "coder_app" "convex-api" {
  agent_id = coder_agent.main.id
  slug     = "convex-api"
  url      = "http://localhost:3210"
}
"#;

    const COMPOSE: &str = r#"services:
  convex-backend:
    image: ghcr.io/get-convex/convex-backend:latest
    ports:
      - "3210:3210"
      - "3211:3211"
      - "3212:3212"
"#;

    /// Compose started with the host's Docker socket publishes on the Docker host: an error only
    /// when the model proves it (the mount, no daemon of the workspace's own, one agent, a script
    /// that starts that compose file); the ways that work, and what it cannot tell, say nothing.
    #[test]
    fn compose_on_the_host_socket_is_not_on_the_agents_localhost() {
        const SOCKET: &str = "  volumes {\n    host_path      = \"/var/run/docker.sock\"\n    container_path = \"/var/run/docker.sock\"\n  }\n";
        let template = |agent_script: &str, container: &str, extra: &str| {
            format!(
                "resource \"coder_agent\" \"main\" {{\n  os = \"linux\"\n  startup_script = \"{agent_script}\"\n}}\n\
                 resource \"coder_app\" \"api\" {{\n  agent_id = coder_agent.main.id\n  slug     = \"api\"\n  url      = \"http://localhost:8080\"\n}}\n\
                 resource \"docker_container\" \"workspace\" {{\n  image      = \"codercom/enterprise-base:ubuntu\"\n  entrypoint = [\"sh\", \"-c\", coder_agent.main.init_script]\n{container}}}\n{extra}"
            )
        };
        let compose = "services:\n  api:\n    image: example/api\n    command: uvicorn app:app --host 0.0.0.0 --port 8000\n    ports:\n      - \"8080:8000\"\n";
        let up = "docker compose up -d";
        let second_agent = "resource \"coder_agent\" \"other\" {\n  os = \"linux\"\n}\n";
        let dind = "resource \"docker_container\" \"dind\" {\n  image      = \"docker:dind\"\n  privileged = true\n}\n";
        let cases: Vec<(&str, String, bool)> = vec![
            ("the host's socket", template(up, SOCKET, ""), true),
            ("no socket: the daemon is the workspace's", template(up, "", ""), false),
            ("sysbox too", template(up, &format!("  runtime = \"sysbox-runc\"\n{SOCKET}"), ""), false),
            ("a dind sidecar too", template(up, SOCKET, dind), false),
            ("the host's network: localhost is the Docker host", template(up, &format!("  network_mode = \"host\"\n{SOCKET}"), ""), false),
            ("nobody starts the stack", template("echo hi", SOCKET, ""), false),
            ("compose down only", template("docker compose down", SOCKET, ""), false),
            ("two agents: which one runs compose is not known", template(up, SOCKET, second_agent), false),
        ];
        for (what, tf, error) in cases {
            let found = check(&RULE, &[("main.tf", &tf), ("docker-compose.yml", compose)]);
            let want: Vec<String> = if error {
                vec!["main.tf:8:14: error: coder_app api targets localhost:8080, but compose publishes 8080 (to api:8000) on the Docker host: the host's Docker socket is mounted into the workspace, and the agent's localhost does not reach the Docker host".to_owned()]
            } else {
                vec![]
            };
            assert_eq!(found, want, "{what}:\n{tf}");
        }
    }

    #[test]
    fn a_published_port_without_listener_is_proven_broken() {
        assert_eq!(
            check(&RULE, &[("main.tf", APPS), ("docker-compose.yml", COMPOSE)]),
            vec!["main.tf:4:15: error: coder_app convex-site targets localhost:3212; compose publishes 3212 to convex-backend:3212, but convex-backend listens only on 3210 (default) and 3211 (default)"]
        );
    }

    #[test]
    fn flags_in_a_mounted_script_name_the_listeners() {
        let compose = r#"services:
  convex-backend:
    image: example/convex:dev
    entrypoint: ["/start.sh"]
    volumes:
      - ./start.sh:/start.sh:ro
    ports:
      - "3210:3210"
      - "3212:3212"
"#;
        let script = "#!/bin/sh\nexec convex-local-backend --port 3210 --site-proxy-port 3211\n";
        assert_eq!(
            check(&RULE, &[("main.tf", APPS), ("docker-compose.yml", compose), ("start.sh", script)]),
            vec!["main.tf:4:15: error: coder_app convex-site targets localhost:3212; compose publishes 3212 to convex-backend:3212, but convex-backend listens only on 3210 (--port) and 3211 (--site-proxy-port)"]
        );
    }

    /// Nothing listens on the app's port, but something in the workspace does: the nearest
    /// listeners are named, at the line that sets their port.
    #[test]
    fn workspace_listeners_are_named_beside_an_unserved_port() {
        let tf = "resource \"coder_agent\" \"main\" {\n  startup_script = \"code-server --port 13338 &\"\n}\nresource \"coder_app\" \"cs\" {\n  slug = \"cs\"\n  url  = \"http://localhost:13337\"\n}\n";
        let (ws, found) = crate::rules::test::run(&RULE, &[("main.tf", tf)]);
        let [finding] = found.as_slice() else {
            panic!("{found:?}")
        };
        assert_eq!(finding.severity, Severity::Warning);
        let related: Vec<(&str, &str)> = finding
            .related
            .iter()
            .map(|l| (ws.sources.slice(l.span), l.message.as_str()))
            .collect();
        assert_eq!(
            related,
            [("13338", "code-server listens on 13338 (--port)")]
        );
    }

    #[test]
    fn served_ports_do_not_fire() {
        let fixed = APPS.replace("3212", "3211");
        assert!(check(&RULE, &[("main.tf", &fixed), ("docker-compose.yml", COMPOSE)]).is_empty());
    }

    #[test]
    fn a_process_in_the_startup_script_serves_its_port() {
        let tf = r#"resource "coder_agent" "main" {
  os             = "linux"
  startup_script = <<-EOT
    code-server --auth none --port 13337 >/tmp/code-server.log 2>&1 &
  EOT
}

resource "coder_app" "code-server" {
  agent_id = coder_agent.main.id
  slug     = "code-server"
  url      = "http://localhost:13337/?folder=/home/coder"
}

resource "coder_app" "web" {
  agent_id = coder_agent.main.id
  slug     = "web"
  url      = "http://localhost:8000"
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec!["main.tf:17:14: warning: coder_app web targets localhost:8000, but nothing in the checked files is known to listen on 8000"]
        );
    }

    #[test]
    fn a_container_port_that_is_not_published() {
        let compose = "services:\n  dash:\n    image: ghcr.io/get-convex/convex-dashboard:latest\n";
        let tf = "resource \"coder_app\" \"d\" {\n  slug = \"dash\"\n  url  = \"http://localhost:6791\"\n}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", tf), ("docker-compose.yml", compose)]),
            vec!["main.tf:3:10: error: coder_app dash targets localhost:6791; dash listens on 6791 inside its container, but compose does not publish it"]
        );
    }

    #[test]
    fn unknown_images_only_warn() {
        let compose = "services:\n  api:\n    image: example/api:1\n    ports: [\"8080:8000\"]\n";
        let tf = "resource \"coder_app\" \"api\" {\n  slug = \"api\"\n  url  = \"http://localhost:8080\"\n}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", tf), ("docker-compose.yml", compose)]),
            vec!["main.tf:3:10: warning: coder_app api targets localhost:8080; compose publishes 8080 to api:8000, but nothing is known to listen on 8000 in api"]
        );
    }

    /// Apps behind many overlapping ranges: each app costs lookups, not a walk over the ranges
    /// that hold its port, and the finding names the first of them.
    #[test]
    fn overlapping_ranges_are_looked_up_not_walked() {
        let n = 300;
        let services: String = (0..n)
            .map(|i| format!("  s{i}: {{image: \"example/x:1\", ports: [\"{s}-65535:{s}-65535\"]}}\n", s = 1000 + i))
            .collect();
        let compose = format!("services:\n{services}");
        let apps: String = (0..n)
            .map(|a| format!("resource \"coder_app\" \"a{a}\" {{\n  slug = \"a{a}\"\n  url  = \"http://localhost:{}\"\n}}\n", a * 7 + 100))
            .collect();
        let (ws, findings) = crate::rules::test::run(&RULE, &[("main.tf", &apps), ("docker-compose.yml", &compose)]);
        // Apps below 1000 reach no range; the others reach every range that starts at or below.
        assert_eq!(findings.len(), n);
        let app_1001 = findings.iter().find(|d| d.message.starts_with("coder_app a129 ")).map(|d| d.message.as_str());
        assert_eq!(app_1001, Some("coder_app a129 targets localhost:1003; compose publishes 1003 to s0:1003, but nothing is known to listen on 1003 in s0"));
        assert!(ws.range_visits() < n, "{} range visits for {n} apps", ws.range_visits());
    }

    const SITE_ORIGIN: &str = "CONVEX_SITE_ORIGIN=https://convex-site--chat--me.coder.example.com\n";

    /// The incident: compose publishes the API and the site proxy, the site app still targets
    /// 3212, and CONVEX_SITE_ORIGIN holds the site app's origin.
    #[test]
    fn an_app_whose_role_is_served_on_another_port_is_an_error_naming_it() {
        let compose = COMPOSE.replace("      - \"3212:3212\"\n", "");
        let files = [("main.tf", APPS), ("docker-compose.yml", compose.as_str()), (".env", SITE_ORIGIN)];
        assert_eq!(
            check(&RULE, &files),
            vec!["main.tf:4:15: error: coder_app convex-site must target localhost:3211, not 3212: CONVEX_SITE_ORIGIN holds its origin, and convex-site is served by convex-backend's default 3211; nothing is known to listen on 3212"]
        );
        let (_, findings) = crate::rules::test::run(&RULE, &files);
        let fix = findings[0].fix.as_ref().expect("a fix");
        assert_eq!(fix.edits[0].replacement, "3211");
        assert_eq!(
            findings[0].help.as_deref(),
            Some("CONVEX_SITE_ORIGIN holds its origin, so it must reach convex-site: use url = \"http://localhost:3211\" (convex-backend's default 3211)")
        );
    }

    #[test]
    fn a_role_served_in_the_workspace_names_its_port_too() {
        let tf = r#"resource "coder_agent" "main" {
  os = "linux"
  env = {
    CONVEX_SITE_ORIGIN = "https://convex-site--chat--me.coder.example.com"
  }
  startup_script = <<-EOT
    convex-local-backend --port 3210 --site-proxy-port 3211 &
  EOT
}

resource "coder_app" "convex-site" {
  agent_id = coder_agent.main.id
  slug     = "convex-site"
  url      = "http://localhost:${local.site_port}"
}

locals {
  site_port = 3212
}
"#;
        let (_, findings) = crate::rules::test::run(&RULE, &[("main.tf", tf)]);
        assert_eq!(
            findings.iter().map(|d| d.message.as_str()).collect::<Vec<_>>(),
            ["coder_app convex-site must target localhost:3211, not 3212: CONVEX_SITE_ORIGIN holds its origin, and convex-site is served by convex-local-backend's --site-proxy-port 3211; nothing is known to listen on 3212"]
        );
        // The port is not written in the url itself: no fix.
        assert!(findings[0].fix.is_none());
    }

    #[test]
    fn without_a_variable_of_the_role_a_dead_port_is_a_warning() {
        let compose = COMPOSE.replace("      - \"3212:3212\"\n", "");
        let other = "CONVEX_CLOUD_ORIGIN=https://convex-api--chat--me.coder.example.com\n";
        assert_eq!(
            check(&RULE, &[("main.tf", APPS), ("docker-compose.yml", &compose), (".env", other)]),
            vec!["main.tf:4:15: warning: coder_app convex-site targets localhost:3212, but nothing in the checked files is known to listen on 3212"]
        );
        // A role whose listener is not known anywhere proves nothing either.
        let no_backend = "services:\n  web:\n    image: example/web:1\n    ports: [\"3000:3000\"]\n";
        assert_eq!(
            check(&RULE, &[("main.tf", APPS), ("docker-compose.yml", no_backend), (".env", SITE_ORIGIN)]),
            vec![
                "main.tf:4:15: warning: coder_app convex-site targets localhost:3212, but nothing in the checked files is known to listen on 3212",
                "main.tf:12:14: warning: coder_app convex-api targets localhost:3210, but nothing in the checked files is known to listen on 3210",
            ]
        );
    }

    #[test]
    fn the_help_names_the_port_of_the_apps_role_not_the_first_served_one() {
        let (_, findings) = crate::rules::test::run(&RULE, &[("main.tf", APPS), ("docker-compose.yml", COMPOSE), (".env", SITE_ORIGIN)]);
        assert_eq!(
            findings[0].help.as_deref(),
            Some("CONVEX_SITE_ORIGIN holds its origin, so it must reach convex-site: use url = \"http://localhost:3211\" (convex-backend's default 3211)")
        );
        // Without the variable, the slug names the role.
        let (_, findings) = crate::rules::test::run(&RULE, &[("main.tf", APPS), ("docker-compose.yml", COMPOSE)]);
        assert_eq!(
            findings[0].help.as_deref(),
            Some("the app is named for convex-site: use url = \"http://localhost:3211\" (convex-backend's default 3211)")
        );
    }

    #[test]
    fn external_and_command_apps_have_no_port() {
        let tf = r#"resource "coder_agent" "main" {
  startup_script = "echo hi"
}
resource "coder_app" "docs" {
  slug     = "docs"
  url      = "http://localhost:9999/docs"
  external = true
}
resource "coder_app" "top" {
  slug    = "top"
  command = "htop"
}
"#;
        assert!(check(&RULE, &[("main.tf", tf)]).is_empty());
    }

    #[test]
    fn a_template_alone_is_not_judged() {
        assert!(check(&RULE, &[("main.tf", APPS)]).is_empty());
    }

    /// The app's own server on another port: proven when every run of it has a known port.
    #[test]
    fn the_apps_own_server_on_another_port() {
        let tf = |script: &str, slug: &str, port: u16| {
            format!(
                "resource \"coder_agent\" \"main\" {{\n  os             = \"linux\"\n  startup_script = <<-EOT\n{script}\n  EOT\n}}\n\nresource \"coder_app\" \"app\" {{\n  agent_id = coder_agent.main.id\n  slug     = \"{slug}\"\n  url      = \"http://localhost:{port}\"\n}}\n"
            )
        };
        let table: &[(&str, &str, u16, &[&str])] = &[
            (
                "    CS=/tmp/code-server/bin/code-server\n    \"$CS\" --auth none --port 13338 &",
                "code-server",
                13337,
                &["main.tf:12:14: error: coder_app code-server targets localhost:13337, but code-server listens only on 13338 (--port)"],
            ),
            ("    \"$CS\" --port 13337 &\n    CS=/tmp/code-server/bin/code-server", "code-server", 13337, &[]),
            // The slug names the program through the knowledge base, without punctuation.
            ("    jupyter lab --port 8890 &", "jupyterlab", 8888, &["main.tf:11:14: error: coder_app jupyterlab targets localhost:8888, but jupyter-lab listens only on 8890 (--port)"]),
            ("    sudo rserver --www-port=8788 &", "rstudio", 8787, &["main.tf:11:14: error: coder_app rstudio targets localhost:8787, but rserver listens only on 8788 (--www-port)"]),
            // A default could be moved by a config file portolan does not read: a warning.
            ("    rserver &", "rstudio", 8788, &["main.tf:11:14: warning: coder_app rstudio targets localhost:8788, but nothing in the checked files is known to listen on 8788"]),
            // A port set from several assignments is unknown: a warning.
            ("    P=13338\n    if x; then P=13337; fi\n    code-server --port \"$P\" &", "code-server", 13337, &["main.tf:13:14: warning: coder_app code-server targets localhost:13337, but nothing in the checked files is known to listen on 13337"]),
            // Unknown words after the flag may move it: a warning.
            ("    code-server --port 13338 $EXTRA &", "code-server", 13337, &["main.tf:11:14: warning: coder_app code-server targets localhost:13337, but nothing in the checked files is known to listen on 13337"]),
            // A role many programs share names none of them: `admin` is not filebrowser's app.
            ("    filebrowser -p 8081 &", "admin", 8080, &["main.tf:11:14: warning: coder_app admin targets localhost:8080, but nothing in the checked files is known to listen on 8080"]),
            // A role one program has names it.
            ("    ttyd -p 7682 bash &", "terminal", 7681, &["main.tf:11:14: error: coder_app terminal targets localhost:7681, but ttyd listens only on 7682 (-p)"]),
            // An app named for nothing that runs: the warning as before.
            ("    code-server --port 13338 &", "web", 13337, &["main.tf:11:14: warning: coder_app web targets localhost:13337, but nothing in the checked files is known to listen on 13337"]),
        ];
        for (script, slug, port, want) in table {
            assert_eq!(check(&RULE, &[("main.tf", &tf(script, slug, *port))]), *want, "{script}");
        }
    }

    /// Two agents in two containers, each with a server: an app's `localhost` is its agent's.
    fn two_agents(app_port: u16, agent: &str) -> String {
        format!(
            r#"resource "coder_agent" "dev" {{
  startup_script = "npx http-server -p 8080 /dist &"
}}
resource "coder_agent" "docs" {{
  startup_script = "npx http-server -p 8081 /docs &"
}}
resource "docker_container" "dev" {{
  entrypoint = ["sh", "-c", coder_agent.dev.init_script]
}}
resource "docker_container" "docs" {{
  entrypoint = ["sh", "-c", coder_agent.docs.init_script]
}}
resource "coder_app" "docs" {{
  {agent}
  slug     = "docs"
  url      = "http://localhost:{app_port}"
}}
"#
        )
    }

    #[test]
    fn another_agents_server_does_not_serve_the_app() {
        let tf = two_agents(8080, "agent_id = coder_agent.docs.id");
        let found = crate::rules::test::diagnostics(&RULE, &[("main.tf", &tf)]);
        let [finding] = found.as_slice() else {
            panic!("one finding: {found:?}")
        };
        assert_eq!(finding.severity, Severity::Warning);
        assert_eq!(
            finding.message,
            "coder_app docs targets localhost:8080, but nothing in the checked files is known to listen on 8080 in docker_container.docs, where coder_agent.docs runs; http-server on 8080 runs in docker_container.dev"
        );
        let related: Vec<&str> = finding.related.iter().map(|r| r.message.as_str()).collect();
        assert_eq!(
            related,
            [
                "http-server listens on 8080 (-p) in docker_container.dev, not where coder_agent.docs runs",
                "http-server listens on 8081 (-p)"
            ]
        );
        assert_eq!(
            finding.help.as_deref(),
            Some("point the app at localhost:8081, where http-server of coder_agent.docs listens, or start the app's server on 8080 in coder_agent.docs")
        );
        // Its own agent's server on the port: served.
        assert!(check(&RULE, &[("main.tf", &two_agents(8081, "agent_id = coder_agent.docs.id"))]).is_empty());
        assert!(check(&RULE, &[("main.tf", &two_agents(8080, "agent_id = coder_agent.dev.id"))]).is_empty());
        // An app whose agent is not known: any server on the port may be the one, as before.
        assert!(check(&RULE, &[("main.tf", &two_agents(8080, ""))]).is_empty());
    }
}
