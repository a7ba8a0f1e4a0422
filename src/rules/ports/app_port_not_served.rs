//! `app-port-not-served` (PT201): a coder_app url port that nothing serves.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::chain::{and_list, describe};
use crate::model::{ListenerSource, Place, Workspace};
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
process in the workspace started by a script or a registry module.

It is an error when the files prove nothing answers: compose publishes P, but the container's
known listeners are on other ports; or a container listens on P but compose does not publish it.
It is an error when the app's own server (the program its slug names: `code-server`,
`jupyterlab`, `rstudio`) is started with a flag or env variable on other ports only, and no
run of it has a port unknown to portolan. It is a warning when nothing known listens on P at all.

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
        // Lookups, never a list of every mapping that holds the port (ranges may hold it n times).
        if ports.served_behind(port).is_served() {
            continue;
        }
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
        sink.report_as(
            Severity::Warning,
            url.span,
            format!(
                "coder_app {} targets localhost:{port}, but nothing in the checked files is known to listen on {port}",
                app.slug
            ),
        )
        .with_help("start the server in the agent's startup_script, a coder_script or compose, or fix the port");
    }
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
}
