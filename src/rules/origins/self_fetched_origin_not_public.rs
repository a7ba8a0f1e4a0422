//! `self-fetched-origin-not-public` (PT304): An origin a server fetches itself, behind an app that is not public.

use crate::diagnostic::{Applicability, Edit, Fix, Label, RuleMeta, Severity};
use crate::model::{App, AppOrigin, EnvVar, Share, Workspace};
use crate::rules::{Rule, Sink};
use crate::source::Span;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "self-fetched-origin-not-public",
        code: "PT304",
        default_severity: Severity::Error,
        summary: "An origin a server fetches itself, behind an app that is not public",
        explanation: r#"## What it does
Some origins are fetched by a server, not only by a browser: the Convex backend validates
Convex Auth tokens by requesting `/.well-known/openid-configuration` from its own site origin
(`CONVEX_SITE_ORIGIN`, `CONVEX_SITE_URL`, `JWT_ISSUER`). The knowledge base lists such roles.
When a variable of such a role names a Coder app whose `share` is not `"public"`, this rule
reports the app.

## Why is this bad?
A Coder app shared with its owner (the default) or with authenticated users answers a request
without a Coder session with a redirect to the login page. The server that fetches its own
origin has no session, so discovery fails ("Auth provider discovery ... failed") and every
sign-in is rejected, while the same URL works fine in the author's browser.

## Example
```hcl
resource "coder_app" "convex-site" {
  slug  = "convex-site"
  url   = "http://localhost:3211"
  share = "owner"
}
```
```hcl
  share = "public"
```
"#,
    },
    check,
};

fn check(ws: &Workspace, sink: &mut Sink) {
    // Apps in declaration order, each with the variables that name it.
    let mut named: Vec<(&App, &str, Vec<&EnvVar>)> = Vec::new();
    for var in &ws.env {
        let Some(url) = &var.url else { continue };
        let Some(role) = ws.knowledge.env_role(&var.name) else {
            continue;
        };
        let Some((wanted, reason)) = role
            .role
            .as_deref()
            .and_then(|r| ws.knowledge.self_fetched_roles.get_key_value(r))
        else {
            continue;
        };
        let route = ws.listeners_behind_url(url);
        let Some(app) = route.app else { continue };
        if app.share == Share::Public {
            continue;
        }
        // Pointing at the wrong listener is origin-wrong-role's finding; another path that
        // serves the role (`/http` on the API) is served by that app, so it must be public too.
        let other_path = route.listeners.iter().any(|l| {
            l.role
                .as_deref()
                .is_some_and(|r| ws.knowledge.serves_role_at(wanted, r, &url.path))
        });
        if route.reaches_only_other_roles(wanted) && !other_path {
            continue;
        }
        match named.iter_mut().find(|(a, _, _)| std::ptr::eq(*a, app)) {
            Some((_, _, vars)) => vars.push(var),
            None => named.push((app, reason, vec![var])),
        }
    }
    for (app, reason, vars) in named {
        let who = match app.share {
            Share::Owner if app.share_span.is_none() => {
                "shared with its owner only (share defaults to \"owner\")"
            }
            Share::Owner => "shared with its owner only",
            Share::Authenticated => "shared with signed-in users only",
            _ => "not shared publicly",
        };
        let mut names: Vec<&str> = Vec::new();
        for var in &vars {
            if !names.contains(&var.name.as_str()) {
                names.push(&var.name);
            }
        }
        let verb = if names.len() == 1 { "names" } else { "name" };
        let span = app.share_span.unwrap_or(app.slug_span);
        let fix = public_fix(ws, app);
        let mut d = sink.report(
            span,
            format!(
                "app {} is {who}, but {} {verb} it: {reason}, without a Coder login",
                app.slug,
                names.join(", ")
            ),
        );
        d.primary.message = "must be share = \"public\"".to_owned();
        for var in vars {
            d.related.push(Label::new(
                var.value_span,
                format!("{} names app {}", var.name, app.slug),
            ));
        }
        d.help = Some(format!("set share = \"public\" on app {}", app.slug));
        d.fix = fix;
    }
}

/// `share = "public"`: replaces the value, or adds the line after `slug` in a `coder_app`.
fn public_fix(ws: &Workspace, app: &App) -> Option<Fix> {
    let edit = match app.share_span {
        Some(span) => Edit {
            span,
            replacement: "\"public\"".to_owned(),
        },
        None if matches!(app.declared_by, AppOrigin::Resource(_)) => {
            let text = &ws.sources.get(app.slug_span.file).text;
            let line_start = text
                .get(..app.slug_span.start as usize)?
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let line_end = text
                .get(app.slug_span.end as usize..)?
                .find('\n')
                .map_or(text.len(), |i| i + app.slug_span.end as usize);
            let line = text.get(line_start..line_end)?;
            let indent = &line[..line.len() - line.trim_start().len()];
            let end = line.trim_end_matches('\r').len() + line_start;
            // Its `=` under the slug's, as `terraform fmt` aligns the attributes of a group.
            let key_end = indent.len() + "share".len();
            let pad = line.find('=').filter(|&eq| eq > key_end).map_or(1, |eq| eq - key_end);
            Edit {
                span: Span::new(app.slug_span.file, end, end),
                replacement: format!("\n{indent}share{}= \"public\"", " ".repeat(pad)),
            }
        }
        None => return None,
    };
    Some(Fix {
        title: format!("make app {} public", app.slug),
        applicability: Applicability::Unsafe,
        edits: vec![edit],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    fn tf(site_share: &str) -> String {
        format!(
            r#"resource "coder_app" "convex-api" {{
  agent_id  = coder_agent.main.id
  slug      = "convex-api"
  url       = "http://localhost:3210"
  subdomain = true
}}

resource "coder_app" "convex-site" {{
  agent_id  = coder_agent.main.id
  slug      = "convex-site"
  url       = "http://localhost:3211"
  subdomain = true{site_share}
}}
"#
        )
    }

    const COMPOSE: &str = "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports: [\"3210:3210\", \"3211:3211\"]\n";
    const ENV: &str = "CONVEX_SITE_ORIGIN=https://convex-site--chat--alice.coder.example.com\n\
                       VITE_CONVEX_SITE_URL=https://convex-site--chat--alice.coder.example.com\n\
                       VITE_CONVEX_URL=https://convex-api--chat--alice.coder.example.com\n";

    #[test]
    fn site_app_that_is_not_public() {
        let reason = "the Convex backend validates auth tokens by fetching /.well-known/openid-configuration from its own site origin, without a Coder login";
        assert_eq!(
            check(
                &RULE,
                &[("main.tf", &tf("")), ("docker-compose.yml", COMPOSE), (".env", ENV)]
            ),
            vec![format!("main.tf:10:15: error: app convex-site is shared with its owner only (share defaults to \"owner\"), but CONVEX_SITE_ORIGIN, VITE_CONVEX_SITE_URL name it: {reason}")]
        );
        assert_eq!(
            check(
                &RULE,
                &[
                    ("main.tf", &tf("\n  share     = \"authenticated\"")),
                    ("docker-compose.yml", COMPOSE),
                    (".env", ENV)
                ]
            ),
            vec![format!("main.tf:13:15: error: app convex-site is shared with signed-in users only, but CONVEX_SITE_ORIGIN, VITE_CONVEX_SITE_URL name it: {reason}")]
        );
    }

    #[test]
    fn public_site_apps_and_api_apps_pass() {
        // convex-api is owner-only, but only the API origin names it.
        assert_eq!(
            check(
                &RULE,
                &[
                    ("main.tf", &tf("\n  share     = \"public\"")),
                    ("docker-compose.yml", COMPOSE),
                    (".env", ENV)
                ]
            ),
            Vec::<String>::new()
        );
        // JWT_ISSUER at the API app is origin-wrong-role's finding, not this one.
        let env = "JWT_ISSUER=https://convex-api--chat--alice.coder.example.com\n";
        assert_eq!(
            check(
                &RULE,
                &[("main.tf", &tf("")), ("docker-compose.yml", COMPOSE), (".env", env)]
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_fix_adds_share_public_after_the_slug() {
        let text = tf("");
        let inputs = vec![
            crate::model::build::InputFile {
                path: "main.tf".into(),
                text: text.clone(),
                kind: crate::model::FileKind::Terraform,
            },
            crate::model::build::InputFile {
                path: ".env".into(),
                text: ENV.to_owned(),
                kind: crate::model::FileKind::EnvFile,
            },
        ];
        let (_, findings) = crate::check::check_files(
            inputs,
            &[&RULE],
            crate::knowledge::Knowledge::builtin().clone(),
        );
        let fix = findings[0].fix.as_ref().expect("a fix");
        let edit = &fix.edits[0];
        let mut fixed = text.clone();
        fixed.replace_range(edit.span.range(), &edit.replacement);
        // Aligned as `terraform fmt` aligns the block (the fix once wrote `share = "public"`,
        // which `terraform fmt -check` rejects).
        assert!(
            fixed.contains(
                "  slug      = \"convex-site\"\n  share     = \"public\"\n  url       = \"http://localhost:3211\""
            ),
            "{fixed}"
        );
    }
}
