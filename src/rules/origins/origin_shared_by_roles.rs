//! `origin-shared-by-roles` (PT303): One URL for two roles that must not share an origin.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::{EnvVar, Workspace};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "origin-shared-by-roles",
        code: "PT303",
        default_severity: Severity::Error,
        summary: "One URL for two roles that must not share an origin",
        explanation: r#"## What it does
The knowledge base lists pairs of listener roles that must never have the same origin
(`roles: convex-site: distinct_from: convex-api`). For each pair, this rule compares the values
of the env variables of the first role (`CONVEX_SITE_ORIGIN`, `JWT_ISSUER`, ...) with those of
the second (`CONVEX_CLOUD_ORIGIN`, ...), in the same file or service first, then in the other
files, and reports a value that is the very same URL. A URL that portolan follows to a listener
of another role is origin-wrong-role's finding instead.

Formerly `site-origin-equals-cloud-origin`; that name still selects and ignores this rule.

## Why is this bad?
The self-hosted Convex backend serves two origins: the API (`--port`, 3210) at
`CONVEX_CLOUD_ORIGIN` and HTTP actions (`--site-proxy-port`, 3211) at `CONVEX_SITE_ORIGIN`. When
both are the same URL, HTTP actions, Convex Auth discovery (`/.well-known/openid-configuration`)
and OAuth callbacks are requested from the API, which answers "No matching routes found".

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

fn check(ws: &Workspace, sink: &mut Sink) {
    let kb = &ws.knowledge;
    let role_of = |var: &EnvVar| kb.env_role(&var.name).and_then(|r| r.role.as_deref());
    for (role, other, reason) in kb.distinct_roles() {
        let others: Vec<&EnvVar> = ws
            .env
            .iter()
            .filter(|v| role_of(v) == Some(other))
            .collect();
        if others.is_empty() {
            continue;
        }
        for var in ws.env.iter().filter(|v| role_of(v) == Some(role)) {
            // A value that only copies another variable is reported where that one is written.
            if is_only_reference(var) {
                continue;
            }
            let Some(value) = normalized(var) else {
                continue;
            };
            // Proven to reach a listener of another role: origin-wrong-role says which.
            if var
                .url
                .as_ref()
                .is_some_and(|url| ws.listeners_behind_url(url).reaches_only_other_roles(role))
            {
                continue;
            }
            let same_scope =
                |c: &&&EnvVar| c.value_span.file == var.value_span.file && c.scope == var.scope;
            let equal = |c: &&&EnvVar| normalized(c).as_deref() == Some(value.as_str());
            let Some(same) = others
                .iter()
                .filter(equal)
                .find(same_scope)
                .or_else(|| others.iter().find(equal))
            else {
                continue;
            };
            let shown = if var.url.is_some() {
                format!(" ({value})")
            } else {
                String::new()
            };
            let place = if same.value_span.file == var.value_span.file {
                String::new()
            } else {
                format!(" in {}", ws.sources.path(same.value_span).display())
            };
            let mut d = sink.report(
                var.value_span,
                format!(
                    "{} is the same URL as {}{place}{shown}; {reason}",
                    var.name, same.name
                ),
            );
            d.primary.message = format!("same as the {other} origin");
            d.related
                .push(Label::new(same.value_span, format!("{} is set here", same.name)));
            let reaches = match kb.listener_in_role(role) {
                Some((program, l)) => format!(
                    "{program}'s {} port ({} by default)",
                    l.name, l.default
                ),
                None => format!("a {role} listener"),
            };
            let mut help = format!("point {} at the app that reaches {reaches}", var.name);
            if let Some(path) = kb.role_path_via(role, other) {
                help.push_str(&format!(", or use {} + `{path}`", same.name));
            }
            d.help = Some(help);
        }
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
    fn every_variable_of_the_two_roles_is_compared() {
        let env = "VITE_CONVEX_URL=https://api.example.com\nVITE_CONVEX_SITE_URL=https://api.example.com\n";
        let (ws, findings) = crate::rules::test::run(&RULE, &[(".env.local", env)]);
        let [d] = findings.as_slice() else {
            panic!("{findings:?}")
        };
        assert_eq!(
            d.message,
            "VITE_CONVEX_SITE_URL is the same URL as VITE_CONVEX_URL (https://api.example.com); the site origin must reach the backend's site proxy (--site-proxy-port), not its API"
        );
        assert_eq!(
            d.help.as_deref(),
            Some("point VITE_CONVEX_SITE_URL at the app that reaches convex-local-backend's site port (3211 by default), or use VITE_CONVEX_URL + `/http`")
        );
        assert_eq!(ws.sources.slice(d.related[0].span), "https://api.example.com");
    }

    /// The incident: JWT_ISSUER holds CONVEX_CLOUD_ORIGIN's URL, and portolan follows it to the
    /// backend's API port. origin-wrong-role reports it, once.
    #[test]
    fn a_url_proven_to_reach_another_role_is_left_to_origin_wrong_role() {
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
            (
                ".env.convex.local",
                include_str!("../../../tests/fixtures/convex-incident/.env.convex.local"),
            ),
        ];
        assert!(files[3].1.contains("JWT_ISSUER=https://convex-api--"));
        assert_eq!(check(&RULE, &files), Vec::<String>::new());
        // Without the chain (no Terraform, no compose), the equal URLs are all there is.
        assert_eq!(
            check(&RULE, &files[3..]),
            [".env.convex.local:5:12: error: JWT_ISSUER is the same URL as CONVEX_CLOUD_ORIGIN (https://convex-api--convex-ai-chat--jovermier.coder.example.com); the site origin must reach the backend's site proxy (--site-proxy-port), not its API"]
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

    #[test]
    fn a_user_knowledge_file_adds_a_pair_of_roles() {
        let compose = "services:\n  web:\n    image: example/web\n    environment:\n      PUBLIC_URL: https://app.example.com\n      ADMIN_URL: https://app.example.com\n";
        let files = [("docker-compose.yml", compose)];
        assert_eq!(check(&RULE, &files), Vec::<String>::new());

        let user = "env:\n  - { name: PUBLIC_URL, role: web, kind: public-origin }\n  - { name: ADMIN_URL, role: web-admin, kind: public-origin }\nroles:\n  web-admin:\n    distinct_from:\n      web: \"the admin UI has an origin of its own\"\n";
        let mut kb = crate::knowledge::Knowledge::builtin().clone();
        kb.extend(crate::knowledge::Knowledge::parse(user).unwrap());
        let (_, findings) = crate::rules::test::run_with(&RULE, &files, kb.clone());
        let messages: Vec<&str> = findings.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            ["ADMIN_URL is the same URL as PUBLIC_URL (https://app.example.com); the admin UI has an origin of its own"]
        );
        assert_eq!(
            findings[0].help.as_deref(),
            Some("point ADMIN_URL at the app that reaches a web-admin listener")
        );
        // Merged into the built-in roles: Convex's pair and path are still there.
        assert!(kb.serves_role_at("convex-site", "convex-api", "/http/hook"));
        assert_eq!(kb.distinct_roles().count(), 2);
    }
}
