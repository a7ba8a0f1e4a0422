//! `compose-unset-variable` (PT503): `${VAR}` in a compose file with no value and no default.

use std::path::{Path, PathBuf};

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::compose::variable_references;
use crate::model::{EnvScope, Workspace};
use crate::rules::{Rule, Sink};
use crate::source::Span;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "compose-unset-variable",
        code: "PT503",
        default_severity: Severity::Warning,
        summary: "A compose variable with no value and no default",
        explanation: r#"## What it does
Finds `${VAR}` in a compose file when VAR has no value and no default. Compose takes values
for `${...}` from the `.env` file beside the compose file and from the environment of the
shell that runs `docker compose`; portolan counts the `.env` beside the file, variables the
Coder agent always sets (`CODER_WORKSPACE_NAME`, ...) and variables a script, `coder_agent.env`,
`coder_env` or a Terraform container sets. Not `env_file:` files: those set variables inside
the container, not for `${...}` in the compose file.

## Why is this bad?
An unset variable becomes an empty string: `"${API_PORT}:3210"` is not a port mapping, an
image tag or an origin silently goes empty. With `${VAR:?message}` compose refuses to start
at all (an error).

## Example
```yaml
services:
  backend:
    environment:
      CONVEX_CLOUD_ORIGIN: ${CONVEX_CLOUD_ORIGIN}
```
Set it in the `.env` beside the compose file, or give a default:
```yaml
      CONVEX_CLOUD_ORIGIN: ${CONVEX_CLOUD_ORIGIN:-http://localhost:3210}
```
"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for (file, compose) in &workspace.compose_files {
        let compose_path = &workspace.sources.get(*file).path;
        let dotenv: PathBuf = compose_path.parent().unwrap_or(Path::new("")).join(".env");
        let dotenv_read = workspace.sources.find(&dotenv).is_some();
        let mut seen: Vec<(Span, &str)> = Vec::new();
        for missing in &compose.missing_variables {
            let name = missing.name.as_str();
            if seen.contains(&(missing.span, name)) || set_for_compose(workspace, name) {
                continue;
            }
            seen.push((missing.span, name));
            let span = narrow(workspace, missing.span, name);
            let written = workspace.sources.slice(span);
            let source = if dotenv_read {
                format!("{} beside {} does not set {name}", dotenv.display(), compose_path.display())
            } else {
                format!("no .env beside {} was checked to set it", compose_path.display())
            };
            let mut d = match &missing.error {
                Some(error) => {
                    let quoted = if error.is_empty() {
                        String::new()
                    } else {
                        format!(" (\"{error}\")")
                    };
                    sink.report_as(
                        Severity::Error,
                        span,
                        format!("`{written}` has no value: {source}, so compose refuses to start{quoted}"),
                    )
                }
                None => sink.report(
                    span,
                    format!("`{written}` has no value: {source} and there is no default, so compose uses an empty string"),
                ),
            };
            d.help = Some(format!(
                "set {name} in {}, give a default (`${{{name}:-value}}`), or export it before running `docker compose`",
                dotenv.display()
            ));
            // Set in another env file: compose does not read it for `${...}`.
            for other in workspace.env.iter().filter(|v| {
                v.name == name && matches!(v.scope, EnvScope::EnvFile | EnvScope::Compose(_))
            }) {
                d.related.push(Label::new(
                    other.name_span,
                    format!("{name} is set here, but compose reads `${{...}}` values only from {}", dotenv.display()),
                ));
            }
        }
    }
}

/// Whether the environment `docker compose` runs in sets `name`: the agent, a script, the
/// agent's env or a Terraform container.
fn set_for_compose(workspace: &Workspace, name: &str) -> bool {
    workspace.knowledge.is_agent_variable(name)
        || workspace.env.iter().any(|v| {
            v.name == name && !matches!(v.scope, EnvScope::EnvFile | EnvScope::Compose(_))
        })
}

/// The `${name...}` inside the value at `span`, or the whole value.
fn narrow(workspace: &Workspace, span: Span, name: &str) -> Span {
    let written = workspace.sources.slice(span);
    variable_references(written, false)
        .into_iter()
        .find(|r| r.name == name)
        .map(|r| span.sub(r.range.start, r.range.end))
        .unwrap_or(span)
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::test::check;

    const COMPOSE: &str = "services:\n  backend:\n    image: \"ghcr.io/get-convex/convex-backend:${TAG}\"\n    ports:\n      - \"${API_PORT}:3210\"\n    environment:\n      INSTANCE_NAME: ${CODER_WORKSPACE_NAME}\n      CONVEX_CLOUD_ORIGIN: ${CONVEX_CLOUD_ORIGIN:-http://localhost:3210}\n      ADMIN: ${ADMIN_KEY:?run generate_admin_key.sh first}\n      OWNER: $FROM_SCRIPT\n";
    const DOTENV: &str = "TAG=latest\n";
    const BACKEND_ENV: &str = "API_PORT=3210\n";
    const SCRIPT: &str = "export FROM_SCRIPT=me\ndocker compose up -d\n";

    #[test]
    fn variables_without_a_value() {
        assert_eq!(
            check(
                &RULE,
                &[
                    ("docker-compose.yml", COMPOSE),
                    (".env", DOTENV),
                    ("backend.env", BACKEND_ENV),
                    ("start.sh", SCRIPT)
                ]
            ),
            vec![
                "docker-compose.yml:5:10: warning: `${API_PORT}` has no value: .env beside docker-compose.yml does not set API_PORT and there is no default, so compose uses an empty string",
                "docker-compose.yml:9:14: error: `${ADMIN_KEY:?run generate_admin_key.sh first}` has no value: .env beside docker-compose.yml does not set ADMIN_KEY, so compose refuses to start (\"run generate_admin_key.sh first\")",
            ]
        );
    }

    #[test]
    fn without_a_dotenv_beside_the_file() {
        let compose = "services:\n  web:\n    image: nginx:${TAG}\n";
        assert_eq!(
            check(&RULE, &[("deploy/compose.yaml", compose), (".env", DOTENV)]),
            vec!["deploy/compose.yaml:3:18: warning: `${TAG}` has no value: no .env beside deploy/compose.yaml was checked to set it and there is no default, so compose uses an empty string"]
        );
        assert_eq!(
            check(&RULE, &[("deploy/compose.yaml", compose), ("deploy/.env", DOTENV)]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_value_in_another_env_file_is_pointed_at() {
        let files = [("docker-compose.yml", COMPOSE), (".env", DOTENV), ("backend.env", BACKEND_ENV)];
        let found = crate::rules::test::diagnostics(&RULE, &files);
        let related: Vec<&str> = found[0].related.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(
            related,
            ["API_PORT is set here, but compose reads `${...}` values only from .env"]
        );
    }
}
