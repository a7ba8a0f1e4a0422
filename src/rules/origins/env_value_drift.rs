//! `env-value-drift` (PT306): One variable with different values in different files.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::knowledge::EnvKind;
use crate::model::{EnvScope, EnvVar, HostTarget, Workspace};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-value-drift",
        code: "PT306",
        default_severity: Severity::Warning,
        summary: "One variable with different values in different files",
        explanation: r#"## What it does
Compares the static values of one variable across env files, compose `environment`, and
Terraform env maps (`coder_agent.env`, `coder_env`, container env). When two files give it
different values, it reports the odd one out and lists every other value.

It looks at variables whose value must be the same everywhere: variables with a role in the
knowledge base (origins, secrets), variables shipped to browsers, and variables whose values
are all Coder app URLs. Values that only reference another variable (`${X}`) are not compared,
and neither are mode-specific env files (`.env.production`, `.env.development.local`, ...), whose
values differ by design.

## Why is this bad?
Each consumer reads its own copy: docker compose reads `.env` for interpolation and the
service's `env_file` for the container, the frontend reads `.env.local`. When one copy is edited
and another is not, the backend and the browser disagree about an origin, and the failure
(a CORS error, a token issued for one origin and checked against another) says nothing about
the files.

## Example
```dotenv
# .env
CONVEX_CLOUD_ORIGIN=https://convex-api--chat--alice.coder.example.com
# .env.convex.local
CONVEX_CLOUD_ORIGIN=https://convex--chat--alice.coder.example.com
```
Write the value once and reference it, or make the copies equal.
"#,
    },
    check,
};

/// Env files whose values are meant to differ from the others: one per framework mode.
const MODES: &[&str] = &["production", "development", "test", "staging", "prod", "dev"];

fn check(ws: &Workspace, sink: &mut Sink) {
    // Grouped in one pass, in first-seen order: a scan of `ws.env` per name is quadratic.
    let mut by_name: indexmap::IndexMap<&str, Vec<&EnvVar>> = indexmap::IndexMap::new();
    for var in &ws.env {
        by_name.entry(var.name.as_str()).or_default().push(var);
    }
    for (name, vars) in by_name {
        let values: Vec<(&EnvVar, String)> = vars
            .into_iter()
            .filter(|v| compared(ws, v))
            .filter_map(|v| static_value(v).map(|value| (v, value)))
            .collect();
        if !should_agree(ws, name, &values) {
            continue;
        }
        let file = |v: &EnvVar| v.value_span.file;
        let drifts = values.iter().any(|(a, x)| {
            values
                .iter()
                .any(|(b, y)| file(a) != file(b) && x != y)
        });
        if !drifts {
            continue;
        }
        // The most common value is taken as the intended one (the first, on a tie).
        let count = |value: &str| values.iter().filter(|(_, v)| v == value).count();
        let Some((_, winner)) = values
            .iter()
            .enumerate()
            .max_by_key(|(i, (_, v))| (count(v), std::cmp::Reverse(*i)))
            .map(|(_, e)| e)
        else {
            continue;
        };
        let Some((odd, odd_value)) = values.iter().find(|(v, value)| {
            value != winner
                && values
                    .iter()
                    .any(|(w, x)| x == winner && file(w) != file(v))
        }) else {
            continue;
        };
        let Some((reference, _)) = values
            .iter()
            .find(|(w, x)| x == winner && file(w) != file(odd))
        else {
            continue;
        };
        let other_file = ws.sources.path(reference.value_span).display();
        let shown = shows_value(ws, odd) && shows_value(ws, reference);
        let message = if shown {
            format!("{name} is {odd_value} here, but {winner} in {other_file}")
        } else {
            format!("{name} has a different value here than in {other_file}")
        };
        let mut d = sink.report(odd.value_span, message);
        d.primary.message = "differs from the other files".to_owned();
        for (var, value) in &values {
            if std::ptr::eq(*var, *odd) {
                continue;
            }
            let note = if shown {
                format!("{name} is {value} here")
            } else {
                format!("{name} is set here")
            };
            d.related.push(Label::new(var.value_span, note));
        }
        d.help = Some(format!(
            "give {name} one value everywhere, or write it once and reference it as ${{{name}}}"
        ));
    }
}

/// Env files, compose environments and Terraform env maps; not scripts (their values are
/// computed at start) and not mode-specific env files.
fn compared(ws: &Workspace, var: &EnvVar) -> bool {
    match var.scope {
        EnvScope::EnvFile => {
            let path = &ws.sources.path(var.value_span);
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let mode = name
                .strip_prefix(".env.")
                .and_then(|rest| rest.split('.').next());
            !mode.is_some_and(|m| MODES.contains(&m))
        }
        EnvScope::Compose(_) | EnvScope::AgentEnv | EnvScope::CoderEnv | EnvScope::Container => {
            true
        }
        EnvScope::Script | EnvScope::Spec => false,
    }
}

/// The value when written literally: no `${X}`, not empty; without the extra `=` of
/// `KEY==value` (env-double-equals reports that) and a trailing `/`.
fn static_value(var: &EnvVar) -> Option<String> {
    if var.interpolates() {
        return None;
    }
    let value = var.value.as_deref()?.trim();
    let value = value.strip_prefix('=').unwrap_or(value).trim_end_matches('/');
    (!value.is_empty()).then(|| value.to_owned())
}

/// Whether the variable must hold one value everywhere (see the rule's docs).
fn should_agree(ws: &Workspace, name: &str, values: &[(&EnvVar, String)]) -> bool {
    ws.knowledge.env_role(name).is_some()
        || ws.knowledge.is_browser_var(name)
        || (!values.is_empty()
            && values.iter().all(|(v, _)| {
                v.url
                    .as_ref()
                    .is_some_and(|u| matches!(u.target, HostTarget::CoderApp(_)))
            }))
}

/// Only URLs are repeated in messages; secrets and anything else are not.
fn shows_value(ws: &Workspace, var: &EnvVar) -> bool {
    let secret = ws
        .knowledge
        .env_role(&var.name)
        .is_some_and(|r| matches!(r.kind, EnvKind::Secret | EnvKind::DeploymentSecret));
    !secret && var.url.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    const API: &str = "https://convex-api--chat--alice.coder.example.com";

    #[test]
    fn the_odd_value_is_reported() {
        let env = format!("CONVEX_CLOUD_ORIGIN={API}\nINSTANCE_SECRET=abc\n");
        let convex = "CONVEX_CLOUD_ORIGIN=https://convex--chat--alice.coder.example.com\nINSTANCE_SECRET=def\n";
        let compose = format!(
            "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    environment:\n      CONVEX_CLOUD_ORIGIN: {API}/\n      INSTANCE_SECRET: abc\n"
        );
        assert_eq!(
            check(
                &RULE,
                &[(".env", &env), (".env.convex.local", convex), ("docker-compose.yml", &compose)]
            ),
            vec![
                format!(".env.convex.local:1:21: warning: CONVEX_CLOUD_ORIGIN is https://convex--chat--alice.coder.example.com here, but {API} in .env"),
                ".env.convex.local:2:17: warning: INSTANCE_SECRET has a different value here than in .env".to_owned(),
            ]
        );
    }

    #[test]
    fn equal_values_references_modes_and_other_variables_pass() {
        let env = format!("CONVEX_CLOUD_ORIGIN={API}\nPORT=3000\nVITE_CONVEX_URL={API}\n");
        let same = format!("CONVEX_CLOUD_ORIGIN=={API}\nPORT=6791\n");
        let production = "VITE_CONVEX_URL=https://convex.example.com\n";
        let compose = "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    environment:\n      CONVEX_CLOUD_ORIGIN: ${CONVEX_CLOUD_ORIGIN}\n      PORT: 8000\n";
        assert_eq!(
            check(
                &RULE,
                &[
                    (".env", &env),
                    (".env.convex.local", &same),
                    (".env.production", production),
                    ("docker-compose.yml", compose),
                ]
            ),
            Vec::<String>::new()
        );
    }
}
