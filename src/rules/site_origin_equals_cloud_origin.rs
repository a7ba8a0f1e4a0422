//! `site-origin-equals-cloud-origin` (PT303): CONVEX_SITE_ORIGIN equal to CONVEX_CLOUD_ORIGIN.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::{EnvVar, Workspace};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "site-origin-equals-cloud-origin",
        code: "PT303",
        default_severity: Severity::Error,
        summary: "CONVEX_SITE_ORIGIN equal to CONVEX_CLOUD_ORIGIN",
        explanation: r#"## What it does
Compares every `CONVEX_SITE_ORIGIN` with the `CONVEX_CLOUD_ORIGIN` values of the workspace (in the
same file or service first, then in the other files) and reports a site origin that is the very
same URL as the cloud origin.

## Why is this bad?
The self-hosted backend serves two origins: the API (`--port`, 3210) at `CONVEX_CLOUD_ORIGIN` and
HTTP actions (`--site-proxy-port`, 3211) at `CONVEX_SITE_ORIGIN`. When both are the same URL, HTTP
actions, Convex Auth discovery (`/.well-known/openid-configuration`) and OAuth callbacks are
requested from the API, which answers "No matching routes found".

## Example
```yaml
environment:
  CONVEX_CLOUD_ORIGIN: https://convex-api--chat--alice.coder.example.com
  CONVEX_SITE_ORIGIN: https://convex-api--chat--alice.coder.example.com
```
Use the app that reaches the site proxy, or the API origin plus `/http`:
```yaml
  CONVEX_SITE_ORIGIN: https://convex-site--chat--alice.coder.example.com
```
"#,
    },
    check,
};

const SITE: &str = "CONVEX_SITE_ORIGIN";
const CLOUD: &str = "CONVEX_CLOUD_ORIGIN";

fn check(ws: &Workspace, sink: &mut Sink) {
    let clouds: Vec<&EnvVar> = ws.env.iter().filter(|v| v.name == CLOUD).collect();
    for site in ws.env.iter().filter(|v| v.name == SITE) {
        // A value that only copies another variable is reported where that one is written.
        if is_only_reference(site) {
            continue;
        }
        let Some(value) = normalized(site) else {
            continue;
        };
        let same_scope = |c: &&&EnvVar| {
            c.value_span.file == site.value_span.file && c.scope == site.scope
        };
        let equal = |c: &&&EnvVar| normalized(c).as_deref() == Some(value.as_str());
        let Some(cloud) = clouds
            .iter()
            .filter(equal)
            .find(same_scope)
            .or_else(|| clouds.iter().find(equal))
        else {
            continue;
        };
        let shown = if site.url.is_some() {
            format!(" ({value})")
        } else {
            String::new()
        };
        let place = if cloud.value_span.file == site.value_span.file {
            String::new()
        } else {
            format!(" in {}", ws.sources.path(cloud.value_span).display())
        };
        let mut d = sink.report(
            site.value_span,
            format!("{SITE} is the same URL as {CLOUD}{place}{shown}; the site origin must reach the backend's site proxy (--site-proxy-port), not its API"),
        );
        d.primary.message = "same as the cloud origin".to_owned();
        d.related
            .push(Label::new(cloud.value_span, format!("{CLOUD} is set here")));
        d.help = Some(format!(
            "point {SITE} at the app that reaches the site proxy (port 3211 by default), or use {CLOUD} + `/http`"
        ));
    }
}

/// `${X}` and nothing else.
fn is_only_reference(var: &EnvVar) -> bool {
    let raw = var.raw.trim().trim_matches('"');
    raw.starts_with("${") && raw.ends_with('}') && raw.matches("${").count() == 1
}

/// The value without a trailing `/`, when it is known and not empty.
fn normalized(var: &EnvVar) -> Option<String> {
    let value = var.value.as_deref()?.trim().trim_end_matches('/');
    (!value.is_empty()).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn equal_origins_in_one_file_and_across_files() {
        let compose = "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    environment:\n      CONVEX_CLOUD_ORIGIN: https://convex-api--chat--alice.coder.example.com\n      CONVEX_SITE_ORIGIN: https://convex-api--chat--alice.coder.example.com/\n";
        let env = "CONVEX_SITE_ORIGIN=https://convex-api--chat--alice.coder.example.com\n";
        assert_eq!(
            check(&RULE, &[(".env.convex", env), ("docker-compose.yml", compose)]),
            vec![
                ".env.convex:1:20: error: CONVEX_SITE_ORIGIN is the same URL as CONVEX_CLOUD_ORIGIN in docker-compose.yml (https://convex-api--chat--alice.coder.example.com); the site origin must reach the backend's site proxy (--site-proxy-port), not its API",
                "docker-compose.yml:6:27: error: CONVEX_SITE_ORIGIN is the same URL as CONVEX_CLOUD_ORIGIN (https://convex-api--chat--alice.coder.example.com); the site origin must reach the backend's site proxy (--site-proxy-port), not its API",
            ]
        );
    }

    #[test]
    fn distinct_origins_references_and_http_paths_pass() {
        let env = "CONVEX_CLOUD_ORIGIN=https://convex-api--chat--alice.coder.example.com\n\
                   CONVEX_SITE_ORIGIN=https://convex-site--chat--alice.coder.example.com\n";
        let http = "CONVEX_CLOUD_ORIGIN=http://localhost:3210\nCONVEX_SITE_ORIGIN=http://localhost:3210/http\n";
        let empty = "CONVEX_CLOUD_ORIGIN=\nCONVEX_SITE_ORIGIN=\n";
        // Compose reads both from the .env beside it: the .env is what to change.
        let compose = "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    environment:\n      CONVEX_CLOUD_ORIGIN: ${CONVEX_CLOUD_ORIGIN}\n      CONVEX_SITE_ORIGIN: ${CONVEX_SITE_ORIGIN}\n";
        for env in [env, http, empty] {
            assert_eq!(
                check(&RULE, &[(".env", env), ("docker-compose.yml", compose)]),
                Vec::<String>::new()
            );
        }
    }
}
