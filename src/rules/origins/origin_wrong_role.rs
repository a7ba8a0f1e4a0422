//! `origin-wrong-role` (PT302): An env variable that points at the wrong listener for its role.

use crate::diagnostic::{Applicability, Edit, Fix, Label, RuleMeta, Severity};
use crate::knowledge::EnvKind;
use crate::model::{HostTarget, Listener, ListenerSource, Place, UrlFact, Workspace};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "origin-wrong-role",
        code: "PT302",
        default_severity: Severity::Error,
        summary: "An env variable that points at the wrong listener for its role",
        explanation: r#"## What it does
Follows the URL in an env variable whose role portolan knows (`CONVEX_SITE_ORIGIN`,
`VITE_CONVEX_URL`, `JWT_ISSUER`, ...) along the port chain: the Coder app its host names, the
app's `localhost` port, the compose port mapping, and the process listening behind it. It
reports the variable when that process is known and serves another role: the variable names
the API port where it needs the site port, or the reverse. URLs built from pieces count when
their slug is known: `https://convex-api--${CODER_WORKSPACE_NAME}--...` in a script, a slug in
a variable assigned once, a Terraform local or `coder_app.NAME.slug` (shown where it is set).

A site origin written as the API origin plus `/http` (`https://convex-api--ws--me.example.com/http`)
is accepted: the knowledge base lists such other paths of a role (`roles: convex-site: paths`).

## Why is this bad?
Each origin has one job. Convex Auth issues and validates tokens against the *site* origin
(the backend's `--site-proxy-port`, 3211): a `CONVEX_SITE_URL` or `JWT_ISSUER` that names the API
app (port 3210) sends discovery requests to the API, which answers "No matching routes found".
The files look plausible, and the failure shows up only at sign-in.

## Example
```dotenv
# .env.convex.local: convex-api reaches the backend's --port 3210
JWT_ISSUER=https://convex-api--chat--alice.coder.example.com
```
Use the app that reaches `--site-proxy-port` 3211:
```dotenv
JWT_ISSUER=https://convex-site--chat--alice.coder.example.com
```
"#,
    },
    check,
};

fn check(ws: &Workspace, sink: &mut Sink) {
    for var in &ws.env {
        let Some(url) = &var.url else { continue };
        let Some(role) = ws.knowledge.env_role(&var.name) else {
            continue;
        };
        let Some(wanted) = role.role.as_deref() else {
            continue;
        };
        // Browsers resolve `localhost` on their own machine, which a port-forward maps to the
        // workspace; a server in a container resolves it to the container.
        let from = if ws.knowledge.is_browser_var(&var.name) {
            Place::Workspace
        } else {
            ws.place_of(&var.scope)
        };
        let route = ws.listeners_behind_url_from(url, from);
        if !route.reaches_only_other_roles(wanted) {
            continue;
        }
        let Some(reached) = best(route.listeners.iter().copied()) else {
            continue;
        };
        let target = best(
            ws.listeners
                .iter()
                .filter(|l| l.place == reached.place && l.role.as_deref() == Some(wanted)),
        );
        // Another path that serves the role (`<api origin>/http` for the Convex site).
        let other_path = route.listeners.iter().any(|l| {
            l.role
                .as_deref()
                .is_some_and(|r| ws.knowledge.serves_role_at(wanted, r, &url.path))
        });
        if other_path && target.is_some() {
            continue;
        }

        let owner = owner_name(ws, reached);
        let mut message = format!(
            "{} points at {}, which reaches {owner}'s {} port {} ({})",
            var.name,
            destination(url),
            reached.name,
            reached.port,
            source_text(&reached.source)
        );
        match target {
            // Any URL that reaches the port will do (`CONVEX_SELF_HOSTED_URL`).
            Some(t) if role.kind == EnvKind::AnyOrigin => message.push_str(&format!(
                "; it must reach the {} port ({}, {})",
                t.name,
                t.port,
                source_text(&t.source)
            )),
            Some(t) => message.push_str(&format!(
                "; it must be the {} origin (port {}, {})",
                t.name,
                t.port,
                source_text(&t.source)
            )),
            None => message.push_str(&format!("; it must reach a {wanted} listener")),
        }

        let mut related = Vec::new();
        if let Some(app) = route.app {
            if let Some(app_url) = &app.url {
                related.push(Label::new(
                    app_url.span,
                    format!("app {} targets {}", app.slug, app_url.origin()),
                ));
            }
        }
        for (service, published, container) in &route.published {
            if let (Some((host, _)), Some(s)) = (route.local_port, ws.services.get(*service)) {
                related.push(Label::new(
                    published.span,
                    format!("compose publishes {host} to {}:{container}", s.name),
                ));
            }
        }
        if let (Some(origin), Some(slug)) = (url.slug_origin, url.slug()) {
            related.push(Label::new(origin, format!("the slug {slug} comes from here")));
        }
        related.push(Label::new(
            reached.span,
            format!(
                "{owner} listens on {} ({})",
                reached.port,
                source_text(&reached.source)
            ),
        ));
        let advice = target.map(|t| {
            related.push(Label::new(t.span, format!("the {} port: {}", t.name, t.port)));
            advice(ws, &var.name, url, wanted, t)
        });
        let mut d = sink.report(url.span, message);
        d.primary.message = format!("must reach {wanted}");
        d.related = related;
        if let Some((help, fix)) = advice {
            d.help = Some(help);
            d.fix = fix;
        }
    }
}

/// What to change: point the variable at the app that reaches `target` (with a fix when
/// exactly one app does), or give `target` an app first.
fn advice(
    ws: &Workspace,
    var: &str,
    url: &UrlFact,
    wanted: &str,
    target: &Listener,
) -> (String, Option<Fix>) {
    let reaching: Vec<_> = ws
        .apps
        .iter()
        .filter(|app| {
            app.url.as_ref().is_some_and(|u| {
                ws.listeners_behind_url(u)
                    .listeners
                    .iter()
                    .any(|l| l.place == target.place && l.port == target.port)
            })
        })
        .collect();
    let owner = owner_name(ws, target);
    match reaching.as_slice() {
        [app] => {
            let mut help = format!(
                "point {var} at app {}, which reaches {owner}'s {} port {}",
                app.slug, target.name, target.port
            );
            // The slug is set elsewhere: say what to change there.
            if let Some(origin) = url.slug_origin {
                let referenced = ws.apps.iter().find(|a| a.slug_span == origin);
                match (referenced, &app.declared_by) {
                    (Some(_), crate::model::AppOrigin::Resource(name)) => {
                        help.push_str(&format!(": refer to coder_app.{name}.slug"))
                    }
                    (Some(_), _) => {}
                    (None, _) => help.push_str(&format!(
                        ": set the slug it is built from to {}",
                        app.slug
                    )),
                }
            }
            // The slug as written in the value, or where a variable or local sets it (not an
            // app's own slug: that app is right, the value refers to the wrong one).
            let set_elsewhere = url.slug_origin.filter(|origin| {
                ws.apps.iter().all(|a| a.slug_span != *origin)
                    && url
                        .slug()
                        .is_some_and(|slug| ws.sources.slice(*origin) == slug)
            });
            let written = url.slug_span(ws.sources.slice(url.span));
            let fix = written.or(set_elsewhere).map(|span| Fix {
                title: format!("use app {}", app.slug),
                applicability: Applicability::Unsafe,
                edits: vec![Edit {
                    span,
                    replacement: app.slug.clone(),
                }],
            });
            (help, fix)
        }
        [] => {
            let host = ws
                .services
                .iter()
                .enumerate()
                .filter(|(i, _)| target.place == Place::Container(*i))
                .flat_map(|(_, s)| s.published.iter())
                .find_map(|p| p.host_for(target.port));
            let port = match (target.place, host) {
                (Place::Workspace, _) => target.port,
                (_, Some(host)) => host,
                (_, None) => {
                    let help = format!(
                        "publish {owner}'s port {} in compose, give an app that port, and point {var} at the app",
                        target.port
                    );
                    return (help, None);
                }
            };
            // An app meant for this role (another variable of the role names it) that reaches
            // nothing: the incident's convex-site app on 3212.
            let stray = ws.apps.iter().find_map(|app| {
                let app_url = app.url.as_ref()?;
                if !ws.listeners_behind_url(app_url).listeners.is_empty() {
                    return None;
                }
                let namer = ws.env.iter().find(|v| {
                    v.url.as_ref().and_then(UrlFact::slug) == Some(app.slug.as_str())
                        && ws.knowledge.env_role(&v.name).and_then(|r| r.role.as_deref())
                            == Some(wanted)
                })?;
                Some((app, app_url, namer))
            });
            let help = match stray {
                Some((app, app_url, namer)) => format!(
                    "app {}, which {} names, targets {} where nothing listens: give it url = \"http://localhost:{port}\" ({owner}'s {} port) and point {var} at it",
                    app.slug, namer.name, app_url.origin(), target.name
                ),
                None => format!(
                    "no app reaches {owner}'s {} port {} yet: give an app url = \"http://localhost:{port}\" and point {var} at that app",
                    target.name, target.port
                ),
            };
            (help, None)
        }
        _ => {
            let help = format!(
                "point {var} at an app that reaches {owner}'s {} port {}",
                target.name, target.port
            );
            (help, None)
        }
    }
}

/// Prefers listeners set explicitly (flag, env, module input) over image defaults.
fn best<'a>(listeners: impl Iterator<Item = &'a Listener>) -> Option<&'a Listener> {
    listeners.min_by_key(|l| matches!(l.source, ListenerSource::Default))
}

/// `app convex-api`, `localhost:3210`, `port-forward 3210`.
fn destination(url: &UrlFact) -> String {
    match &url.target {
        HostTarget::CoderApp(slug) => format!("app {slug}"),
        HostTarget::Localhost(port) => format!("localhost:{port}"),
        HostTarget::CoderPort { port, .. } => format!("the port-forward of {port}"),
        HostTarget::Other(host) => host.clone(),
    }
}

/// The compose service a listener runs in, or the program in the workspace.
fn owner_name<'a>(ws: &'a Workspace, listener: &'a Listener) -> &'a str {
    match listener.place {
        Place::Container(_) => ws.place_name(listener.place),
        Place::Workspace => &listener.program,
    }
}

/// How a listener's port is set, for messages: `--port`, `PORT`, `default`.
fn source_text(source: &ListenerSource) -> &str {
    match source {
        ListenerSource::Flag(flag) => flag,
        ListenerSource::Env(var) => var,
        ListenerSource::Default => "default",
        ListenerSource::Module(_) => "module default",
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    const TF: &str = r#"resource "coder_agent" "main" {
  os   = "linux"
  arch = "amd64"
}

resource "coder_app" "convex-api" {
  agent_id  = coder_agent.main.id
  slug      = "convex-api"
  url       = "http://localhost:3210"
  subdomain = true
  share     = "public"
}

resource "coder_app" "convex-site" {
  agent_id  = coder_agent.main.id
  slug      = "convex-site"
  url       = "http://localhost:3212"
  subdomain = true
  share     = "public"
}
"#;

    const COMPOSE: &str = r#"services:
  convex-backend:
    image: ghcr.io/get-convex/convex-backend:latest
    entrypoint: ["/start.sh"]
    ports:
      - "3210:3210"
      - "3211:3211"
      - "3212:3212"
    volumes:
      - ./start.sh:/start.sh:ro
"#;

    const START: &str = "#!/bin/sh\nexec convex-local-backend --port 3210 --site-proxy-port 3211\n";

    const ENV: &str = "CONVEX_CLOUD_ORIGIN=https://convex-api--chat--alice.coder.example.com
CONVEX_SITE_ORIGIN=https://convex-site--chat--alice.coder.example.com
CONVEX_SITE_URL==https://convex-api--chat--alice.coder.example.com
JWT_ISSUER=https://convex-api--chat--alice.coder.example.com
";

    #[test]
    fn site_roles_at_the_api_app_are_errors() {
        assert_eq!(
            check(
                &RULE,
                &[
                    ("main.tf", TF),
                    ("docker-compose.yml", COMPOSE),
                    ("start.sh", START),
                    (".env.convex.local", ENV),
                ]
            ),
            vec![
                ".env.convex.local:3:17: error: CONVEX_SITE_URL points at app convex-api, which reaches convex-backend's api port 3210 (--port); it must be the site origin (port 3211, --site-proxy-port)",
                ".env.convex.local:4:12: error: JWT_ISSUER points at app convex-api, which reaches convex-backend's api port 3210 (--port); it must be the site origin (port 3211, --site-proxy-port)",
            ]
        );
    }

    #[test]
    fn right_roles_unserved_apps_and_http_paths_pass() {
        // The site app reaches 3212, where nothing listens: that is app-port-not-served's.
        let env = "CONVEX_CLOUD_ORIGIN=https://convex-api--chat--alice.coder.example.com
CONVEX_SITE_ORIGIN=https://convex-site--chat--alice.coder.example.com
VITE_CONVEX_URL=http://localhost:3210
";
        let http_path = "CONVEX_SITE_ORIGIN=https://convex-api--chat--alice.coder.example.com/http\n\
                         JWT_ISSUER=https://convex-api--chat--alice.coder.example.com/http\n";
        for env in [env, http_path] {
            assert_eq!(
                check(
                    &RULE,
                    &[
                        ("main.tf", TF),
                        ("docker-compose.yml", COMPOSE),
                        ("start.sh", START),
                        (".env", env),
                    ]
                ),
                Vec::<String>::new()
            );
        }
    }

    /// One reading of a Coder app host for every rule: a host with two `--` parts
    /// (`convex-api--staging.mycompany.com`) is no app's, so it points at no role.
    #[test]
    fn hosts_that_are_not_coder_app_hosts_name_no_app() {
        let files = |env: &'static str| {
            [
                ("main.tf", TF),
                ("docker-compose.yml", COMPOSE),
                ("start.sh", START),
                (".env", env),
            ]
        };
        let staging = "JWT_ISSUER=https://convex-api--staging.mycompany.com\n";
        assert_eq!(check(&RULE, &files(staging)), Vec::<String>::new());
        let unknown = &crate::rules::origins::origin_unknown_app::RULE;
        assert_eq!(
            check(unknown, &files("A=https://nope--staging.mycompany.com\n")),
            Vec::<String>::new()
        );
        // The same hosts with a workspace and an owner are app hosts, to both rules.
        assert_eq!(
            check(
                &RULE,
                &files("JWT_ISSUER=https://convex-api--ws--me.mycompany.com\n")
            )
            .len(),
            1
        );
        assert_eq!(
            check(unknown, &files("A=https://nope--ws--me.mycompany.com\n")),
            vec![".env:1:11: error: A names app nope, but no app in this template has that slug"]
        );
    }

    /// Only the env files a script writes hold env values: `notes.txt` is just text.
    #[test]
    fn text_a_script_writes_into_other_files_sets_no_variable() {
        let run = |target: &str| {
            let script = format!(
                "#!/bin/sh\ncat > {target} <<EOF\nJWT_ISSUER=https://convex-api--ws--me.coder.example.com\nEOF\n"
            );
            check(
                &RULE,
                &[
                    ("main.tf", TF),
                    ("docker-compose.yml", COMPOSE),
                    ("start.sh", START),
                    ("setup.sh", &script),
                ],
            )
        };
        assert_eq!(run("notes.txt"), Vec::<String>::new());
        assert_eq!(
            run(".env.local"),
            vec!["setup.sh:3:12: error: JWT_ISSUER points at app convex-api, which reaches convex-backend's api port 3210 (--port); it must be the site origin (port 3211, --site-proxy-port)"]
        );
    }

    #[test]
    fn localhost_urls_and_image_defaults_are_followed() {
        let compose = "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports: [\"3210:3210\", \"3211:3211\"]\n    environment:\n      CONVEX_CLOUD_ORIGIN: http://localhost:3211\n";
        assert_eq!(
            check(&RULE, &[("docker-compose.yml", compose)]),
            vec!["docker-compose.yml:6:28: error: CONVEX_CLOUD_ORIGIN points at localhost:3211, which reaches backend's site port 3211 (default); it must be the api origin (port 3210, default)"]
        );
    }

    /// Runs rules over files; returns the workspace and their findings.
    fn run(
        rules: &[&'static Rule],
        files: &[(&str, &str)],
    ) -> (Workspace, Vec<crate::diagnostic::Diagnostic>) {
        let inputs = files
            .iter()
            .map(|(path, text)| crate::model::build::InputFile {
                path: (*path).into(),
                text: (*text).to_owned(),
                kind: crate::check::classify(std::path::Path::new(path), Some(text))
                    .expect("a file portolan reads"),
            })
            .collect();
        crate::check::check_files(inputs, rules, crate::knowledge::Knowledge::builtin().clone())
    }

    #[test]
    fn the_help_names_the_app_meant_for_the_role() {
        let (_, findings) = run(
            &[&RULE],
            &[
                ("main.tf", TF),
                ("docker-compose.yml", COMPOSE),
                ("start.sh", START),
                (".env.convex.local", ENV),
            ],
        );
        assert_eq!(
            findings[1].help.as_deref(),
            Some("app convex-site, which CONVEX_SITE_ORIGIN names, targets http://localhost:3212 where nothing listens: give it url = \"http://localhost:3211\" (convex-backend's site port) and point JWT_ISSUER at it")
        );
        assert!(findings[1].fix.is_none());
    }

    #[test]
    fn the_fix_names_the_app_that_reaches_the_right_port() {
        let tf = TF.replace("localhost:3212", "localhost:3211");
        let env = "JWT_ISSUER=https://convex-api--chat--alice.coder.example.com\n";
        let (ws, findings) = run(
            &[&RULE],
            &[
                ("main.tf", &tf),
                ("docker-compose.yml", COMPOSE),
                ("start.sh", START),
                (".env", env),
            ],
        );
        let [finding] = findings.as_slice() else {
            panic!("{findings:?}")
        };
        let fix = finding.fix.as_ref().expect("a fix");
        assert_eq!(fix.applicability, Applicability::Unsafe);
        assert_eq!(ws.sources.slice(fix.edits[0].span), "convex-api");
        assert_eq!(fix.edits[0].replacement, "convex-site");
        assert_eq!(
            finding.help.as_deref(),
            Some("point JWT_ISSUER at app convex-site, which reaches convex-backend's site port 3211")
        );
    }

    /// A slug held in a variable: the finding is at the value, the slug's assignment is shown,
    /// and the fix changes it there.
    #[test]
    fn a_slug_from_a_variable_is_shown_where_it_is_set() {
        let tf = TF.replace("localhost:3212", "localhost:3211");
        let setup = "#!/bin/sh\nSLUG=convex-api\nexport JWT_ISSUER=\"https://$SLUG--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.x.io\"\n";
        let (ws, findings) = run(
            &[&RULE],
            &[
                ("main.tf", &tf),
                ("docker-compose.yml", COMPOSE),
                ("start.sh", START),
                ("setup.sh", setup),
            ],
        );
        let [finding] = findings.as_slice() else {
            panic!("{findings:?}")
        };
        assert!(ws.sources.slice(finding.primary.span).starts_with("\"https://$SLUG--"));
        let label = finding
            .related
            .iter()
            .find(|l| l.message == "the slug convex-api comes from here")
            .expect("the slug's label");
        assert_eq!(ws.sources.slice(label.span), "convex-api");
        assert_eq!(
            finding.help.as_deref(),
            Some("point JWT_ISSUER at app convex-site, which reaches convex-backend's site port 3211: set the slug it is built from to convex-site")
        );
        // The fix changes the slug where it is set.
        let edit = &finding.fix.as_ref().expect("a fix").edits[0];
        assert_eq!(edit.span, label.span);
        assert_eq!(edit.replacement, "convex-site");
        // Assigned twice, the slug is unknown: no app, no finding.
        let twice = setup.replace("SLUG=convex-api\n", "SLUG=convex-api\nSLUG=convex-site\n");
        let (_, findings) = run(
            &[&RULE],
            &[
                ("main.tf", &tf),
                ("docker-compose.yml", COMPOSE),
                ("start.sh", START),
                ("setup.sh", &twice),
            ],
        );
        assert!(findings.is_empty(), "{findings:?}");
    }

    /// The incident (tests/fixtures/convex-incident) through every origin and env-role rule,
    /// then the same files fixed.
    #[test]
    fn the_incident_fixture_and_its_fix() {
        let files = [
            ("main.tf", include_str!("../../../tests/fixtures/convex-incident/main.tf")),
            (
                "docker-compose.convex.yml",
                include_str!("../../../tests/fixtures/convex-incident/docker-compose.convex.yml"),
            ),
            (
                "start-convex-backend.sh",
                include_str!("../../../tests/fixtures/convex-incident/start-convex-backend.sh"),
            ),
            (".env", include_str!("../../../tests/fixtures/convex-incident/.env")),
            (
                ".env.convex.local",
                include_str!("../../../tests/fixtures/convex-incident/.env.convex.local"),
            ),
            (".env.local", include_str!("../../../tests/fixtures/convex-incident/.env.local")),
        ];
        let rules: Vec<&'static Rule> = [
            "origin-unknown-app",
            "origin-wrong-role",
            "origin-shared-by-roles",
            "self-fetched-origin-not-public",
            "browser-var-localhost",
            "env-value-drift",
            "builtin-var-set",
            "deployment-secret-in-file",
            "public-admin-app",
            "secret-literal",
        ]
        .iter()
        .filter_map(|name| crate::rules::find(name))
        .collect();
        let lines = |files: &[(&str, &str)]| -> Vec<String> {
            let (ws, findings) = run(&rules, files);
            findings
                .iter()
                .filter(|d| d.rule.is_some())
                .map(|d| {
                    let (start, _) = ws.sources.resolve(d.primary.span);
                    format!(
                        "{}:{}:{}: {}",
                        ws.sources.path(d.primary.span).display(),
                        start.line,
                        start.column,
                        d.rule.unwrap_or_default()
                    )
                })
                .collect()
        };
        assert_eq!(
            lines(&files),
            vec![
                ".env.convex.local:4:17: origin-wrong-role",
                ".env.convex.local:5:12: origin-wrong-role",
                ".env.convex.local:4:1: builtin-var-set",
            ]
        );

        let main = files[0].1.replace("localhost:3212", "localhost:3211");
        let compose = files[1].1.replace("      - \"3212:3212\" # HTTP actions\n", "");
        let env: String = files[4]
            .1
            .lines()
            .filter(|l| !l.starts_with("CONVEX_SITE_URL"))
            .map(|l| format!("{}\n", l.replace("JWT_ISSUER=https://convex-api", "JWT_ISSUER=https://convex-site")))
            .collect();
        let fixed = [
            ("main.tf", main.as_str()),
            ("docker-compose.convex.yml", compose.as_str()),
            files[2],
            files[3],
            (".env.convex.local", env.as_str()),
            files[5],
        ];
        assert_eq!(lines(&fixed), Vec::<String>::new());
    }
}
