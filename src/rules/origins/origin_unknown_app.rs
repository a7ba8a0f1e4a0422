//! `origin-unknown-app` (PT301): A URL that names a Coder app slug no app has.

use crate::diagnostic::{Applicability, Edit, Fix, Label, RuleMeta, Severity};
use crate::model::{AppOrigin, Workspace};
use crate::rules::{Rule, Sink};
use crate::source::Span;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "origin-unknown-app",
        code: "PT301",
        default_severity: Severity::Error,
        summary: "A URL that names a Coder app slug no app has",
        explanation: r#"## What it does
Reads every URL of the form `https://{slug}--{workspace}--{owner}.{domain}` (with or without an
`--{agent}` part) in env values, in Terraform env maps, and in URLs that scripts build from
`$CODER_WORKSPACE_NAME` and friends, and checks that the template has a `coder_app` (or a
registry module's app) with that slug. Port-forward hosts (`3210--ws--owner...`) are not apps
and are not checked. The slug may come from a piece: a script variable assigned once
(`SLUG=convex-site; URL="https://$SLUG--..."`, reported where the slug is set), a Terraform
local, or `coder_app.NAME.slug`; a slug not known statically names no app.

When the template uses modules whose apps portolan does not know, or slugs it cannot read, the
finding is a warning.

## Why is this bad?
Coder routes a subdomain host to the app with that slug. A slug nobody declared is a host
Coder cannot route: the browser gets an error page, and server-side callers (auth discovery,
webhooks) fail in ways that point nowhere near the typo.

## Example
```dotenv
CONVEX_SITE_ORIGIN=https://convex-sit--chat--alice.coder.example.com
```
```hcl
resource "coder_app" "convex-site" {
  slug = "convex-site"
  url  = "http://localhost:3211"
}
```
Use the app's slug:
```dotenv
CONVEX_SITE_ORIGIN=https://convex-site--chat--alice.coder.example.com
```
"#,
    },
    check,
};

fn check(ws: &Workspace, sink: &mut Sink) {
    if !ws.is_coder_template() {
        return;
    }
    let complete = every_app_known(ws);
    let mut reported: Vec<Span> = Vec::new();
    let mut origins: Vec<Span> = Vec::new();
    for var in &ws.env {
        let Some(url) = &var.url else { continue };
        let Some(slug) = url.slug() else { continue };
        if ws.app(slug).is_some() {
            continue;
        }
        // One slug held in a variable, used in several values: one finding.
        if url.slug_origin.is_some_and(|s| origins.contains(&s)) {
            continue;
        }
        origins.extend(url.slug_origin);
        let span = url.slug_span(ws.sources.slice(url.span)).unwrap_or(url.span);
        let origin = url
            .slug_origin
            .map(|s| Label::new(s, format!("the slug {slug} comes from here")));
        let what = format!("{} names", var.name);
        report(ws, sink, span, slug, &what, complete, origin);
        reported.push(var.value_span);
    }
    for unit in &ws.scripts {
        for url in &unit.urls {
            let Some(host) = &url.coder_host else {
                continue;
            };
            let overlaps = |s: &Span| {
                s.file == url.span.file && s.start < url.span.end && url.span.start < s.end
            };
            if host.port.is_some()
                || ws.app(&host.slug).is_some()
                || reported.iter().any(overlaps)
                || origins.contains(&host.slug_span)
            {
                continue;
            }
            // A slug held in a variable: report where it is set, and show the URL.
            let inside = host.slug_span.file == url.span.file
                && url.span.start <= host.slug_span.start
                && host.slug_span.end <= url.span.end;
            let (what, used) = if inside {
                ("this URL names", None)
            } else {
                ("a URL built from this names", Some(Label::new(url.span, "the URL")))
            };
            report(ws, sink, host.slug_span, &host.slug, what, complete, used);
            reported.push(url.span);
        }
    }
}

fn report(
    ws: &Workspace,
    sink: &mut Sink,
    span: Span,
    slug: &str,
    what: &str,
    complete: bool,
    related: Option<Label>,
) {
    let slugs: Vec<&str> = ws.apps.iter().map(|a| a.slug.as_str()).collect();
    let suggestion = crate::spec::did_you_mean(slug, slugs.iter().copied());
    let mut message = format!("{what} app {slug}, but no app in this template has that slug");
    if let Some(s) = suggestion {
        message.push_str(&format!("; did you mean {s}?"));
    }
    let severity = if complete {
        Severity::Error
    } else {
        message.push_str(" (unless a module whose apps portolan does not know declares it)");
        Severity::Warning
    };
    let mut d = sink.report_as(severity, span, message);
    d.primary.message = "unknown app slug".to_owned();
    d.related.extend(related);
    d.help = Some(if slugs.is_empty() {
        "the template declares no app: add a coder_app with this slug".to_owned()
    } else {
        format!("the apps are: {}", slugs.join(", "))
    });
    if let Some(s) = suggestion {
        let app = ws.apps.iter().find(|a| a.slug == s);
        if let Some(app) = app {
            d.related.push(Label::new(app.slug_span, "app declared here"));
        }
        // Only when the span holds exactly the slug as written.
        if ws.sources.slice(span).eq_ignore_ascii_case(slug) {
            d.fix = Some(Fix {
                title: format!("use app {s}"),
                applicability: Applicability::Unsafe,
                edits: vec![Edit {
                    span,
                    replacement: s.to_owned(),
                }],
            });
        }
    }
}

/// Whether every app of the template is known: each `coder_app` has a static slug and each
/// module is a registry module whose app slug portolan knows.
fn every_app_known(ws: &Workspace) -> bool {
    let Some(module) = &ws.template else {
        return false;
    };
    let resource_apps = ws
        .apps
        .iter()
        .filter(|a| matches!(a.declared_by, AppOrigin::Resource(_)))
        .count();
    resource_apps == module.apps().len()
        && module.modules().iter().all(|call| {
            ws.apps
                .iter()
                .any(|a| a.declared_by == AppOrigin::Module(call.name.value.clone()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    const TF: &str = r#"resource "coder_agent" "main" {
  os   = "linux"
  arch = "amd64"
  env = {
    CONVEX_CLOUD_ORIGIN = "https://convex-api--${data.coder_workspace.me.name}--${data.coder_workspace_owner.me.name}.${var.domain}"
  }
}

resource "coder_app" "convex-api" {
  agent_id  = coder_agent.main.id
  slug      = "convex-api"
  url       = "http://localhost:3210"
  subdomain = true
}

resource "coder_app" "convex-site" {
  agent_id  = coder_agent.main.id
  slug      = "convex-site"
  url       = "http://localhost:3211"
  subdomain = true
}
"#;

    #[test]
    fn unknown_slugs_in_env_values_and_scripts() {
        let env = "CONVEX_SITE_ORIGIN=https://convex-sit--chat--alice.coder.example.com\n\
                   DOCS=https://docs--chat--alice.coder.example.com\n";
        let script = "#!/bin/bash\nexport SITE=\"https://site--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.example.com\"\ncurl \"https://convex-apu--main--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.example.com/version\"\n";
        assert_eq!(
            check(
                &RULE,
                &[
                    ("main.tf", &TF.replace("https://convex-api--", "https://convex-apl--")),
                    (".env", env),
                    ("start.sh", script)
                ]
            ),
            vec![
                ".env:1:28: error: CONVEX_SITE_ORIGIN names app convex-sit, but no app in this template has that slug; did you mean convex-site?",
                ".env:2:14: error: DOCS names app docs, but no app in this template has that slug",
                "main.tf:5:36: error: CONVEX_CLOUD_ORIGIN names app convex-apl, but no app in this template has that slug; did you mean convex-api?",
                "start.sh:2:22: error: SITE names app site, but no app in this template has that slug",
                "start.sh:3:15: error: this URL names app convex-apu, but no app in this template has that slug; did you mean convex-api?",
            ]
        );
    }

    /// A slug held in a variable names its app; the typo is reported where the slug is set
    /// when the URL is not an env value, and shown there when it is.
    #[test]
    fn unknown_slugs_held_in_variables() {
        let script = "#!/bin/bash\nSLUG=convex-apu\nexport A=\"https://$SLUG--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.x.io\"\ncurl \"https://${SLUG}--main--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.x.io/version\"\ncurl \"https://$OTHER--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.x.io\"\nexport B=\"https://$SLUG--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.x.io\"\n";
        assert_eq!(
            check(&RULE, &[("main.tf", TF), ("start.sh", script)]),
            // One slug, one finding: A, B and the `curl` URL all take it from SLUG.
            vec![
                "start.sh:3:10: error: A names app convex-apu, but no app in this template has that slug; did you mean convex-api?",
            ]
        );
        let curl_only = "#!/bin/bash\nSLUG=convex-apu\ncurl \"https://${SLUG}--main--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.x.io/version\"\n";
        assert_eq!(
            check(&RULE, &[("main.tf", TF), ("start.sh", curl_only)]),
            vec![
                "start.sh:2:6: error: a URL built from this names app convex-apu, but no app in this template has that slug; did you mean convex-api?",
            ]
        );
    }

    #[test]
    fn known_slugs_port_forwards_and_other_hosts_pass() {
        let env = "A=https://convex-site--chat--alice.coder.example.com\n\
                   B=https://3210--chat--alice.coder.example.com\n\
                   C=https://3211s--main--chat--alice.coder.example.com\n\
                   D=https://deploy-preview-42--site.netlify.app\n\
                   E=https://CONVEX-API--chat--alice.coder.example.com\n";
        assert_eq!(
            check(&RULE, &[("main.tf", TF), (".env", env)]),
            Vec::<String>::new()
        );
        // Without a template, no app is known: nothing to check against.
        let env = "A=https://convex-sit--chat--alice.coder.example.com\n";
        assert_eq!(check(&RULE, &[(".env", env)]), Vec::<String>::new());
    }

    #[test]
    fn the_fix_replaces_the_slug_with_the_suggestion() {
        let env = "CONVEX_SITE_ORIGIN=https://convex-sit--chat--alice.coder.example.com\n";
        let inputs = vec![
            crate::model::build::InputFile {
                path: "main.tf".into(),
                text: TF.to_owned(),
                kind: crate::model::FileKind::Terraform,
            },
            crate::model::build::InputFile {
                path: ".env".into(),
                text: env.to_owned(),
                kind: crate::model::FileKind::EnvFile,
            },
        ];
        let (ws, findings) = crate::check::check_files(
            inputs,
            &[&RULE],
            crate::knowledge::Knowledge::builtin().clone(),
        );
        let [finding] = findings.as_slice() else {
            panic!("{findings:?}")
        };
        let edit = &finding.fix.as_ref().expect("a fix").edits[0];
        assert_eq!(ws.sources.slice(edit.span), "convex-sit");
        assert_eq!(edit.replacement, "convex-site");
        assert_eq!(
            finding.help.as_deref(),
            Some("the apps are: convex-api, convex-site")
        );
    }

    #[test]
    fn unknown_modules_make_it_a_warning() {
        let tf = format!(
            "{TF}\nmodule \"tools\" {{\n  source   = \"./modules/tools\"\n  agent_id = coder_agent.main.id\n}}\n"
        );
        let env = "A=https://docs--chat--alice.coder.example.com\n";
        assert_eq!(
            check(&RULE, &[("main.tf", &tf), (".env", env)]),
            vec![".env:1:11: warning: A names app docs, but no app in this template has that slug (unless a module whose apps portolan does not know declares it)"]
        );
    }
}
