//! `deployment-secret-in-file` (PT308): A deployment variable (JWT_PRIVATE_KEY, JWKS) set in a container or env file.

use crate::diagnostic::{RuleMeta, Severity};
use crate::knowledge::EnvKind;
use crate::model::{EnvScope, Workspace};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "deployment-secret-in-file",
        code: "PT308",
        default_severity: Severity::Warning,
        summary: "A deployment variable (JWT_PRIVATE_KEY, JWKS) set in a container or env file",
        explanation: r#"## What it does
Reports variables that the knowledge base marks as deployment secrets (`JWT_PRIVATE_KEY`,
`JWKS`) when an env file, a compose `environment`, or a Terraform env map
(`coder_agent.env`, `coder_env`, container env) sets them.

## Why is this bad?
Convex functions do not see the container's environment: they read the deployment's own
variables, set with `npx convex env set`. A key in a `.env` file or in compose never reaches
Convex Auth, which then fails at sign-in, and the private key now sits in a file that gets
copied, committed and logged. A multi-line PEM in a `.env` file is also cut at its first line.

## Example
```dotenv
# .env.convex.local
JWT_PRIVATE_KEY="-----BEGIN PRIVATE KEY-----..."
```
Remove it from the file and set it in the deployment:
```sh
npx convex env set JWT_PRIVATE_KEY -- "$(cat private-key.pem)"
```
"#,
    },
    check,
};

fn check(ws: &Workspace, sink: &mut Sink) {
    for var in &ws.env {
        let Some(role) = ws.knowledge.env_role(&var.name) else {
            continue;
        };
        if role.kind != EnvKind::DeploymentSecret || var.value.as_deref() == Some("") {
            continue;
        }
        let place = match &var.scope {
            EnvScope::EnvFile => format!("env file {}", ws.sources.path(var.name_span).display()),
            EnvScope::Compose(i) => match ws.services.get(*i) {
                Some(s) => format!("the environment of compose service {}", s.name),
                None => "a compose environment".to_owned(),
            },
            EnvScope::AgentEnv => "the coder_agent env".to_owned(),
            EnvScope::CoderEnv => "a coder_env resource".to_owned(),
            EnvScope::Container => "a container's env".to_owned(),
            EnvScope::Script | EnvScope::Spec => continue,
        };
        let note = role
            .note
            .as_deref()
            .unwrap_or("it belongs in the deployment's own settings");
        let mut d = sink.report(
            var.name_span,
            format!("{} is set in {place}; {note}", var.name),
        );
        d.primary.message = "a deployment variable".to_owned();
        d.help = Some(format!(
            "remove {} here and set it in the deployment (`npx convex env set {}`)",
            var.name, var.name
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    const NOTE: &str = "set it with `npx convex env set`, not in a container or .env file";

    #[test]
    fn deployment_secrets_in_env_files_compose_and_terraform() {
        let env = "JWT_PRIVATE_KEY=\"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\"\nJWKS={\"keys\":[]}\n";
        let compose = "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    environment:\n      - JWKS\n";
        let tf = "resource \"coder_env\" \"jwks\" {\n  agent_id = coder_agent.main.id\n  name     = \"JWKS\"\n  value    = var.jwks\n}\n";
        assert_eq!(
            check(&RULE, &[(".env.convex.local", env), ("main.tf", tf), ("docker-compose.yml", compose)]),
            vec![
                format!(".env.convex.local:1:1: warning: JWT_PRIVATE_KEY is set in env file .env.convex.local; {NOTE}"),
                format!(".env.convex.local:2:1: warning: JWKS is set in env file .env.convex.local; {NOTE}"),
                format!("main.tf:3:14: warning: JWKS is set in a coder_env resource; {NOTE}"),
                format!("docker-compose.yml:5:9: warning: JWKS is set in the environment of compose service backend; {NOTE}"),
            ]
        );
    }

    #[test]
    fn other_and_empty_variables_pass() {
        let env = "JWT_PRIVATE_KEY=\nSITE_URL=http://localhost:5173\nCONVEX_SITE_ORIGIN=https://a--b--c.example.com\n";
        assert_eq!(check(&RULE, &[(".env", env)]), Vec::<String>::new());
    }
}
