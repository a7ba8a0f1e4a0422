//! `healthcheck-port-mismatch` (PT202): an app healthcheck on another port than the app.

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "healthcheck-port-mismatch",
        code: "PT202",
        default_severity: Severity::Error,
        summary: "An app healthcheck on another port than the app",
        explanation: "## What it does
Compares the port of a `coder_app`'s `url` with the port of its `healthcheck.url`.

## Why is this bad?
Coder shows the app healthy or unhealthy from the healthcheck alone. On another port it checks
another server: the app can be down while the dashboard says healthy, or the other way round.
Ports drift apart when one of the two is changed.

## Example
```hcl
url = \"http://localhost:3211\"
healthcheck {
  url = \"http://localhost:3210/version\" # checks the API, not the site proxy
}
```
Use the app's port: `url = \"http://localhost:3211/...\"`.
",
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for app in &workspace.apps {
        let (Some(url), Some(health)) = (&app.url, &app.healthcheck) else { continue };
        let (Some(app_port), Some(health_port)) = (url.local_port(), health.local_port()) else {
            continue;
        };
        if app_port == health_port {
            continue;
        }
        let mut finding = sink
            .report(
                health.span,
                format!(
                    "the healthcheck of coder_app {} requests port {health_port}, but the app is on port {app_port}",
                    app.slug
                ),
            )
            .with_label(format!("checks {health_port}"))
            .with_related(url.span, format!("the app is on {app_port}"));
        // Replace the port digits inside the healthcheck URL when they are written as-is.
        let text = workspace.sources.slice(health.span);
        let needle = format!(":{health_port}");
        if let Some(at) = text.find(&needle) {
            let start = at + 1;
            finding = finding.with_fix(Fix {
                title: format!("check port {app_port}"),
                applicability: Applicability::Unsafe,
                edits: vec![Edit {
                    span: health.span.sub(start, start + needle.len() - 1),
                    replacement: app_port.to_string(),
                }],
            });
        }
        finding.with_help(format!("use port {app_port} in healthcheck.url"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    fn app(url: &str, health: &str) -> String {
        format!(
            "resource \"coder_app\" \"a\" {{\n  slug = \"a\"\n  url  = \"{url}\"\n  healthcheck {{\n    url       = \"{health}\"\n    interval  = 5\n    threshold = 6\n  }}\n}}\n"
        )
    }

    #[test]
    fn fires_when_the_ports_differ() {
        let tf = app("http://localhost:3211", "http://localhost:3210/version");
        assert_eq!(
            check(&RULE, &[("main.tf", &tf)]),
            vec!["main.tf:5:17: error: the healthcheck of coder_app a requests port 3210, but the app is on port 3211"]
        );
    }

    #[test]
    fn same_port_with_a_path_is_fine() {
        let tf = app("http://localhost:13337/?folder=/home/coder", "http://localhost:13337/healthz");
        assert!(check(&RULE, &[("main.tf", &tf)]).is_empty());
        let tf = app("http://127.0.0.1:8080", "http://localhost:8080/health");
        assert!(check(&RULE, &[("main.tf", &tf)]).is_empty());
    }
}
