//! `spec-disagreement` (PT702): a hand-written file says otherwise than the spec: a port, a
//! slug, a share level, an origin, an app or a service one side has and the other lacks.

use crate::coder::Share;
use crate::diagnostic::{RuleMeta, Severity};
use crate::model::spec_facts::{SpecApp, SpecFacts, SpecPort, SpecService};
use crate::model::{App, AppOrigin, EnvScope, FileKind, HostTarget, PublishedPort, Workspace};
use crate::rules::{Rule, Sink};
use crate::source::{FileId, Span};
use crate::spec::Located;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "spec-disagreement",
        code: "PT702",
        default_severity: Severity::Error,
        summary: "A hand-written file says otherwise than the spec",
        explanation: "## What it does
With `portolan check --spec portolan.yaml`, compares the files that exist, whatever their names,
with what the spec renders, by meaning: the model of the rendered files against the model of the
files on disk. Files with portolan's header are compared by text (`rendered-file-drift`); every
other file is the project's own (`main.tf` with hand-written `coder_app`s,
`docker-compose.convex.yml`), and is compared here:

- apps by slug: the port of the `url` on the agent's localhost, `share`, `subdomain`; a spec
  app that no `coder_app` has (or one whose slug differs, when a `coder_app` serves its port);
- compose services by name: the ports they publish;
- env variables the spec sets to an origin (`${origin:...}`) or a localhost URL (`${url:...}`):
  the app or port the files' value of the same name names.

Each finding is at the line of the hand-written file, with the spec's line beside it; what the
files lack is reported at the spec's line. An app or compose service the files have and the spec
does not is a warning, and so is a port published that the spec does not publish. Apps are
compared only when no `coder-apps.tf` portolan rendered is on disk, services only when no
rendered compose file is: those are compared by text.

## Why is this bad?
The spec is meant to say what the project needs; files that disagree with it are a second
truth, and the spec's ports and origins, consistent by construction, are not what runs. The
incident this tool was written for: the spec says the site app targets the backend's site
port 3211, and the hand-written `coder_app` says `http://localhost:3212`.

## Example
```yaml
# portolan.yaml
services:
  convex-backend:
    ports: { api: 3210, site: 3211 }
apps:
  convex-site: { target: convex-backend.site, share: public }
```
```hcl
resource \"coder_app\" \"convex-site\" {
  slug = \"convex-site\"
  url  = \"http://localhost:3212\" # the spec says 3211
}
```
Change the file or the spec so that they agree, or render the spec and use its files.
",
    },
    check,
};

fn check(ws: &Workspace, sink: &mut Sink) {
    let Some(facts) = ws.spec_facts.as_deref() else {
        return;
    };
    // The workspace that holds the spec: the one its findings can name lines of.
    let Some(spec) = ws.sources.find(&facts.path) else {
        return;
    };
    let at = At { ws, spec };
    if ws.compared_by_meaning(FileKind::Terraform) {
        apps(&at, facts, sink);
    }
    if ws.compared_by_meaning(FileKind::Compose) {
        services(&at, facts, sink);
    }
    env(&at, facts, sink);
}

/// Spans and lines of the spec.
struct At<'a> {
    ws: &'a Workspace,
    spec: FileId,
}

impl At<'_> {
    fn span<T>(&self, located: &Located<T>) -> Span {
        located.span(self.spec)
    }

    /// The spec's line of `located`, for messages.
    fn line<T>(&self, located: &Located<T>) -> u32 {
        self.ws.sources.resolve(self.span(located)).0.line
    }
}

fn share(share: Share) -> &'static str {
    share.name().unwrap_or("another value")
}

/// The port on the agent's localhost an app's url names.
fn app_port(app: &App) -> Option<u16> {
    app.url.as_ref()?.local_port()
}

fn apps(at: &At, facts: &SpecFacts, sink: &mut Sink) {
    let ws = at.ws;
    let disk: Vec<&App> = ws
        .apps
        .iter()
        .filter(|a| matches!(a.declared_by, AppOrigin::Resource(_)) && !ws.stamped(a.span.file))
        .collect();
    let mut matched = vec![false; disk.len()];
    let mut lacking = Vec::new();
    for app in &facts.apps {
        let mut found = false;
        for (i, d) in disk.iter().enumerate() {
            if d.slug == app.slug.value {
                matched[i] = true;
                found = true;
                compare_app(at, app, d, sink);
            }
        }
        if !found {
            lacking.push(app);
        }
    }
    for app in lacking {
        // A coder_app that serves the spec app's port, under another slug.
        let renamed = app.port.as_ref().and_then(|port| {
            (0..disk.len()).find(|&i| !matched[i] && app_port(disk[i]) == Some(port.value))
        });
        if let Some(i) = renamed {
            matched[i] = true;
            let d = disk[i];
            sink.report(
                d.slug_span,
                format!(
                    "coder_app slug `{}` serves port {}, which the spec's app `{}` (line {}) targets: the slugs differ",
                    d.slug,
                    app_port(d).unwrap_or_default(),
                    app.slug.value,
                    at.line(&app.slug)
                ),
            )
            .with_label(format!("the spec's slug is `{}`", app.slug.value))
            .with_related(at.span(&app.slug), format!("the spec's app `{}`", app.slug.value))
            .with_help("rename one of them: the slug is the app's subdomain, and origins name it");
            compare_app(at, app, d, sink);
            continue;
        }
        sink.report(
            at.span(&app.slug),
            format!(
                "the spec has app `{}` (line {}); no coder_app has slug `{}`",
                app.slug.value,
                at.line(&app.slug),
                app.slug.value
            ),
        )
        .with_help(format!(
            "add a coder_app with slug `{}` for {}, or remove the app from the spec",
            app.slug.value, app.target.value
        ));
    }
    for (i, d) in disk.iter().enumerate() {
        if matched[i] || d.repeated {
            continue;
        }
        sink.report_as(
            Severity::Warning,
            d.slug_span,
            format!("coder_app `{}` is not in the spec: it has no app with that slug", d.slug),
        )
        .with_help("add the app to the spec's `apps`, or remove the coder_app");
    }
}

fn compare_app(at: &At, app: &SpecApp, d: &App, sink: &mut Sink) {
    if let (Some(want), Some(got), Some(url)) = (app.port.as_ref(), app_port(d), d.url.as_ref()) {
        if want.value != got {
            sink.report(
                url.span,
                format!(
                    "coder_app `{}` url is localhost:{got}; the spec's `{}` targets {}, port {} (line {})",
                    d.slug,
                    app.slug.value,
                    app.target.value,
                    want.value,
                    at.line(want)
                ),
            )
            .with_label(format!("the spec says port {}", want.value))
            .with_related(at.span(want), format!("{} is {} here", app.target.value, want.value))
            .with_related(at.span(&app.target), format!("`{}` targets it here", app.slug.value))
            .with_help("change the url or the spec so that they name the same port");
        }
    }
    if d.share != app.share.value && d.share != Share::Other {
        // The spec's `share:`, or its app when it leaves the default.
        let spec_at = if app.share.end > app.share.start {
            at.span(&app.share)
        } else {
            at.span(&app.slug)
        };
        let line = at.ws.sources.resolve(spec_at).0.line;
        sink.report(
            d.share_span.unwrap_or(d.slug_span),
            format!(
                "coder_app `{}` is shared with `{}`; the spec says `{}` (line {line})",
                d.slug,
                share(d.share),
                share(app.share.value)
            ),
        )
        .with_related(spec_at, format!("the spec's share is `{}`", share(app.share.value)))
        .with_help("change `share` or the spec so that they agree");
    }
    if d.subdomain != app.subdomain {
        let (got, want) = match app.subdomain {
            true => ("a path app (`subdomain` is not true)", "a subdomain"),
            false => ("a subdomain app", "a path"),
        };
        sink.report(
            d.slug_span,
            format!(
                "coder_app `{}` is {got}; the spec serves it on {want} (line {})",
                d.slug,
                at.line(&app.slug)
            ),
        )
        .with_related(at.span(&app.slug), format!("the spec's app `{}`", app.slug.value))
        .with_help("change `subdomain` or the spec so that they agree: origins name the subdomain");
    }
}

/// `H:C`, as compose writes a mapping.
fn mapping(p: &PublishedPort) -> String {
    match p.host {
        Some(host) => format!("{host}:{}", p.container),
        None => p.container.to_string(),
    }
}

fn spec_ports(ports: &[SpecPort]) -> String {
    let shown: Vec<String> = ports
        .iter()
        .map(|p| format!("{}:{} (`{}`)", p.host, p.container, p.name))
        .collect();
    if shown.is_empty() {
        "none".to_owned()
    } else {
        crate::model::chain::and_list(&shown)
    }
}

fn services(at: &At, facts: &SpecFacts, sink: &mut Sink) {
    let ws = at.ws;
    let disk: Vec<&crate::model::Service> =
        ws.services.iter().filter(|s| !ws.stamped(s.file)).collect();
    let mut lacking = Vec::new();
    for service in &facts.services {
        let named: Vec<_> = disk.iter().filter(|d| d.name == service.name.value).collect();
        if named.is_empty() {
            lacking.push(service);
            continue;
        }
        for d in named {
            compare_ports(at, service, d, sink);
        }
    }
    let in_spec = |d: &crate::model::Service| facts.services.iter().any(|s| s.name.value == d.name);
    let mut renamed = vec![false; disk.len()];
    for service in lacking {
        // A service of the files, not in the spec, that runs the same image.
        let same_image = service.image.as_ref().and_then(|image| {
            (0..disk.len()).find(|&i| {
                !renamed[i]
                    && !in_spec(disk[i])
                    && disk[i].image.as_ref().is_some_and(|(d, _)| d == image)
            })
        });
        if let Some(i) = same_image {
            renamed[i] = true;
            let d = disk[i];
            sink.report(
                d.name_span,
                format!(
                    "compose service `{}` runs the image of the spec's service `{}` (line {}): the names differ",
                    d.name,
                    service.name.value,
                    at.line(&service.name)
                ),
            )
            .with_label(format!("the spec's name is `{}`", service.name.value))
            .with_related(at.span(&service.name), format!("the spec's service `{}`", service.name.value))
            .with_help("rename one of them: compose names the container, and the network host, after it");
            compare_ports(at, service, d, sink);
            continue;
        }
        sink.report(
                at.span(&service.name),
                format!(
                    "the spec has compose service `{0}` (line {1}); no compose file has a service `{0}`",
                    service.name.value,
                    at.line(&service.name)
                ),
            )
            .with_help("add the compose service, or remove it from the spec");
    }
    for (i, d) in disk.iter().enumerate() {
        if renamed[i] || in_spec(d) {
            continue;
        }
        sink.report_as(
            Severity::Warning,
            d.name_span,
            format!("compose service `{}` is not in the spec", d.name),
        )
        .with_help("add the service to the spec's `services`, or remove it");
    }
}

fn compare_ports(at: &At, service: &SpecService, d: &crate::model::Service, sink: &mut Sink) {
    let published = |m: &PublishedPort, port: u16| m.host.is_some_and(|h| h.contains(port));
    let mut extra: Vec<&PublishedPort> = d
        .published
        .iter()
        .filter(|m| {
            m.host.is_some() && !service.ports.iter().any(|p| published(m, p.host))
        })
        .collect();
    let mut lacking = Vec::new();
    for port in &service.ports {
        match d.published.iter().find(|m| published(m, port.host)) {
            Some(m) if m.container_for(port.host) != Some(port.container) => {
                report_port(at, service, port, m, sink);
            }
            Some(_) => {}
            None => lacking.push(port),
        }
    }
    let one_each = lacking.len() == 1 && extra.len() == 1;
    for port in lacking {
        // A mapping to the same container port on another host port, or the one other mapping.
        let instead = extra
            .iter()
            .position(|m| m.container.contains(port.container))
            .or(one_each.then_some(0));
        if let Some(k) = instead {
            let m = extra.remove(k);
            report_port(at, service, port, m, sink);
            continue;
        }
        sink.report(
            d.name_span,
            format!(
                "compose service `{}` does not publish {}; the spec publishes {}:{} (`{}`, line {})",
                d.name,
                port.host,
                port.host,
                port.container,
                port.name,
                at.line(&port.at)
            ),
        )
        .with_related(at.span(&port.at), format!("the spec's port `{}`", port.name))
        .with_help(format!("add \"{}:{}\" to its ports, or change the spec", port.host, port.container));
    }
    for m in extra {
        sink.report_as(
            Severity::Warning,
            m.span,
            format!(
                "compose service `{}` publishes {}, which the spec does not: it publishes {}",
                d.name,
                mapping(m),
                spec_ports(&service.ports)
            ),
        )
        .with_related(at.span(&service.name), format!("the spec's service `{}`", service.name.value))
        .with_help("remove the mapping, or add the port to the spec");
    }
}

fn report_port(at: &At, service: &SpecService, port: &SpecPort, m: &PublishedPort, sink: &mut Sink) {
    sink.report(
        m.span,
        format!(
            "compose service `{}` publishes {} where the spec publishes {}:{} (`{}`, line {})",
            service.name.value,
            mapping(m),
            port.host,
            port.container,
            port.name,
            at.line(&port.at)
        ),
    )
    .with_label(format!("the spec says {}:{}", port.host, port.container))
    .with_related(at.span(&port.at), format!("the spec's port `{}`", port.name))
    .with_help("change the mapping or the spec so that they name the same ports");
}

/// What an origin or URL names, for messages.
fn named(target: &HostTarget) -> Option<String> {
    match target {
        HostTarget::CoderApp(slug) => Some(format!("the origin of app `{slug}`")),
        HostTarget::Localhost(port) => Some(format!("localhost:{port}")),
        _ => None,
    }
}

fn env(at: &At, facts: &SpecFacts, sink: &mut Sink) {
    let ws = at.ws;
    for var in &ws.env {
        if var.scope == EnvScope::Spec || ws.stamped(var.name_span.file) {
            continue;
        }
        let said: Vec<_> = facts.env.iter().filter(|e| e.name.value == var.name).collect();
        let (Some(first), Some(url)) = (said.first(), var.url.as_ref()) else {
            continue;
        };
        let Some(got) = named(&url.target) else {
            continue;
        };
        if said.iter().any(|e| e.agrees(&url.target)) {
            continue;
        }
        let Some(want) = named(&first.target) else {
            continue;
        };
        let written = &ws.sources.get(url.span.file).text;
        // The slug in the value, else the whole URL.
        let primary = written
            .get(url.span.range())
            .and_then(|text| url.slug_span(text))
            .unwrap_or(url.span);
        sink.report(
            primary,
            format!(
                "`{}` names {got}; the spec sets it to {want} (`{}`, line {})",
                var.name,
                first.value.value,
                at.line(&first.value)
            ),
        )
        .with_label(format!("the spec says {want}"))
        .with_related(at.span(&first.value), format!("the spec's `{}`", var.name))
        .with_help("change the value or the spec so that they name the same app and port");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_files_with_spec, classify, SpecInput};
    use crate::knowledge::Knowledge;
    use crate::model::build::InputFile;

    /// Findings as `path:line:col: severity: message` for files checked against a spec.
    fn run(spec: &str, files: &[(&str, &str)]) -> Vec<String> {
        let mut sources = crate::source::SourceMap::new();
        let loaded = crate::spec::load(std::path::Path::new("portolan.yaml"), spec, &mut sources)
            .unwrap_or_else(|e| panic!("{:#?}", e.diagnostics));
        let input = SpecInput {
            dir: ".".into(),
            spec_file: "portolan.yaml".into(),
            spec: loaded.spec,
            text: spec.to_owned(),
            render: Default::default(),
            recorded: false,
        };
        let inputs = files
            .iter()
            .map(|(path, text)| InputFile {
                path: (*path).into(),
                text: (*text).to_owned(),
                kind: classify(std::path::Path::new(path), Some(text)).expect("a kind"),
            })
            .collect();
        let knowledge = std::sync::Arc::new(Knowledge::builtin().clone());
        let (ws, found) = check_files_with_spec(inputs, &input, &[&RULE], knowledge).unwrap();
        found
            .iter()
            .map(|d| {
                let (start, _) = ws.sources.resolve(d.primary.span);
                format!(
                    "{}:{}:{}: {}: {}",
                    ws.sources.path(d.primary.span).display(),
                    start.line,
                    start.column,
                    d.severity.as_str(),
                    d.message
                )
            })
            .collect()
    }

    const SPEC: &str = "name: chat
services:
  backend:
    image: ghcr.io/get-convex/convex-backend:latest
    ports:
      api: 3210
      site: 3211
    env:
      CONVEX_SITE_ORIGIN: ${origin:backend.site}
apps:
  convex-api: { target: backend.api, share: public }
  convex-site: { target: backend.site, share: public }
";

    fn tf(site_slug: &str, site_port: u16, share: &str) -> String {
        format!(
            r#"resource "coder_agent" "main" {{
  os   = "linux"
  arch = "amd64"
}}

resource "coder_app" "api" {{
  agent_id  = coder_agent.main.id
  slug      = "convex-api"
  url       = "http://localhost:3210"
  subdomain = true
  share     = "public"
}}

resource "coder_app" "site" {{
  agent_id  = coder_agent.main.id
  slug      = "{site_slug}"
  url       = "http://localhost:{site_port}"
  subdomain = true
  share     = "{share}"
}}
"#
        )
    }

    fn compose(ports: &[&str]) -> String {
        let mut text = "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports:\n".to_owned();
        for p in ports {
            text.push_str(&format!("      - \"{p}\"\n"));
        }
        text
    }

    #[test]
    fn files_that_agree_with_the_spec_are_clean() {
        let tf = tf("convex-site", 3211, "public");
        let compose = compose(&["3210:3210", "3211:3211"]);
        let env = "CONVEX_SITE_ORIGIN=https://convex-site--chat--me.coder.example.com\n";
        assert_eq!(
            run(SPEC, &[("main.tf", &tf), ("compose.yml", &compose), (".env", env)]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn each_disagreement_is_found_at_the_files_line_naming_the_specs() {
        let compose_ok = compose(&["3210:3210", "3211:3211"]);
        let cases: Vec<(&str, String, String, &str, Vec<&str>)> = vec![
            (
                "app port",
                tf("convex-site", 3212, "public"),
                compose_ok.clone(),
                "",
                vec!["main.tf:17:15: error: coder_app `convex-site` url is localhost:3212; the spec's `convex-site` targets backend.site, port 3211 (line 7)"],
            ),
            (
                "share",
                tf("convex-site", 3211, "owner"),
                compose_ok.clone(),
                "",
                vec!["main.tf:19:15: error: coder_app `convex-site` is shared with `owner`; the spec says `public` (line 12)"],
            ),
            (
                "subdomain",
                {
                    let tf = tf("convex-site", 3211, "public");
                    let at = tf.rfind("subdomain = true").unwrap();
                    format!("{}subdomain = false{}", &tf[..at], &tf[at + 16..])
                },
                compose_ok.clone(),
                "",
                vec!["main.tf:16:15: error: coder_app `convex-site` is a path app (`subdomain` is not true); the spec serves it on a subdomain (line 12)"],
            ),
            (
                "slug",
                tf("convex-sites", 3211, "public"),
                compose_ok.clone(),
                "",
                vec!["main.tf:16:15: error: coder_app slug `convex-sites` serves port 3211, which the spec's app `convex-site` (line 12) targets: the slugs differ"],
            ),
            (
                "published port instead of the spec's",
                tf("convex-site", 3211, "public"),
                compose(&["3210:3210", "3212:3212"]),
                "",
                vec!["compose.yml:6:9: error: compose service `backend` publishes 3212:3212 where the spec publishes 3211:3211 (`site`, line 7)"],
            ),
            (
                "a port published beside the spec's",
                tf("convex-site", 3211, "public"),
                compose(&["3210:3210", "3211:3211", "3212:3212"]),
                "",
                vec!["compose.yml:7:9: warning: compose service `backend` publishes 3212:3212, which the spec does not: it publishes 3210:3210 (`api`) and 3211:3211 (`site`)"],
            ),
            (
                "service name",
                tf("convex-site", 3211, "public"),
                compose_ok.replace("  backend:", "  convex:"),
                "",
                vec!["compose.yml:2:3: error: compose service `convex` runs the image of the spec's service `backend` (line 3): the names differ"],
            ),
            (
                "a port not published",
                tf("convex-site", 3211, "public"),
                compose(&["3210:3210"]),
                "",
                vec!["compose.yml:2:3: error: compose service `backend` does not publish 3211; the spec publishes 3211:3211 (`site`, line 7)"],
            ),
            (
                "origin naming another app",
                tf("convex-site", 3211, "public"),
                compose_ok.clone(),
                "CONVEX_SITE_ORIGIN=https://convex-api--chat--me.coder.example.com\n",
                vec![".env:1:28: error: `CONVEX_SITE_ORIGIN` names the origin of app `convex-api`; the spec sets it to the origin of app `convex-site` (`${origin:backend.site}`, line 9)"],
            ),
        ];
        for (name, tf, compose, env, want) in cases {
            let mut files = vec![("main.tf", tf.as_str()), ("compose.yml", compose.as_str())];
            if !env.is_empty() {
                files.push((".env", env));
            }
            assert_eq!(run(SPEC, &files), want, "{name}");
        }
    }

    #[test]
    fn an_origins_fallback_outside_coder_is_the_rendered_ones() {
        let tf = tf("convex-site", 3211, "public");
        let with = |fallback: u16| {
            let compose = format!(
                "{}    environment:\n      CONVEX_SITE_ORIGIN: ${{CONVEX_SITE_ORIGIN:-http://localhost:{fallback}}}\n",
                compose(&["3210:3210", "3211:3211"])
            );
            run(SPEC, &[("main.tf", &tf), ("compose.yml", &compose)])
        };
        assert_eq!(with(3211), Vec::<String>::new());
        assert_eq!(
            with(3212),
            ["compose.yml:8:27: error: `CONVEX_SITE_ORIGIN` names localhost:3212; the spec sets it to the origin of app `convex-site` (`${origin:backend.site}`, line 9)"]
        );
    }

    #[test]
    fn the_spec_lines_are_the_given_specs_among_others() {
        // Another spec in the tree (first in path order) is not the one whose lines are named.
        let other = "# another project\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\nname: other\n";
        let tf = tf("convex-site", 3212, "public");
        let compose = compose(&["3210:3210", "3211:3211"]);
        let found = run(
            SPEC,
            &[("a/portolan.yaml", other), ("main.tf", &tf), ("compose.yml", &compose)],
        );
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(found[0].ends_with("port 3211 (line 7)"), "{found:#?}");
    }

    #[test]
    fn what_one_side_lacks_is_said_once() {
        // The spec's site app is missing; the files have an app and a service the spec lacks.
        let tf = r#"resource "coder_agent" "main" {
  os   = "linux"
  arch = "amd64"
}

resource "coder_app" "api" {
  agent_id  = coder_agent.main.id
  slug      = "convex-api"
  url       = "http://localhost:3210"
  subdomain = true
  share     = "public"
}

resource "coder_app" "docs" {
  agent_id  = coder_agent.main.id
  slug      = "docs"
  url       = "http://localhost:8080"
  subdomain = true
}
"#;
        let compose = "services:\n  db:\n    image: postgres:16\n    ports:\n      - \"5432:5432\"\n";
        assert_eq!(
            run(SPEC, &[("main.tf", tf), ("compose.yml", compose)]),
            vec![
                "portolan.yaml:12:3: error: the spec has app `convex-site` (line 12); no coder_app has slug `convex-site`",
                "main.tf:16:15: warning: coder_app `docs` is not in the spec: it has no app with that slug",
                "portolan.yaml:3:3: error: the spec has compose service `backend` (line 3); no compose file has a service `backend`",
                "compose.yml:2:3: warning: compose service `db` is not in the spec",
            ]
        );
    }

    #[test]
    fn rendered_files_are_left_to_the_text_comparison() {
        // A part no hand-written file plays is not compared: rendered-file-drift says what is
        // missing.
        let env = "CONVEX_SITE_ORIGIN=https://convex-site--chat--me.coder.example.com\n";
        assert_eq!(run(SPEC, &[(".env", env)]), Vec::<String>::new());
        // A file with portolan's header is compared by text.
        let stamped = crate::render::header::stamp(&compose(&["3212:3212"]), "Written by portolan.");
        let tf_with = |port| tf("convex-site", port, "public");
        assert_eq!(
            run(SPEC, &[("main.tf", &tf_with(3211)), ("docker-compose.yml", &stamped)]),
            Vec::<String>::new()
        );
        // A rendered main.tf holds the template around the apps: hand-written apps beside it
        // are compared by meaning.
        let main = crate::render::header::stamp("terraform {}\n", "Written by portolan.");
        let found = run(SPEC, &[("main.tf", &main), ("apps.tf", &tf_with(3212))]);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert!(
            found[0].starts_with("apps.tf:17:15: error: coder_app `convex-site` url is localhost:3212"),
            "{found:#?}"
        );
    }
}
