//! `env-multiline-private-key` (PT406): a PEM private key in an env file.

use crate::diagnostic::{RuleMeta, Severity};
use crate::knowledge::EnvKind;
use crate::model::Workspace;
use crate::model::env_file::{EnvProblemKind, Quote};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-multiline-private-key",
        code: "PT406",
        default_severity: Severity::Error,
        summary: "A multi-line private key in an env file",
        explanation: r#"## What it does
Finds PEM private keys (`-----BEGIN ... PRIVATE KEY-----`) written as values in env files.

## Why is this bad?
A PEM key spans several lines, and env files are read line by line. Unquoted, every reader
takes only `-----BEGIN PRIVATE KEY-----` as the value and fails on, or skips, the lines of
the key after it (an error). Quoted, docker compose and bash keep the line breaks but
`docker run --env-file` still reads only the first line, and a key written with `\n` escapes
is turned into line breaks by compose but left as `\n` by bash (a warning).

Some keys do not belong in env files at all: `JWT_PRIVATE_KEY` for Convex Auth is a
deployment variable, set with `npx convex env set`, and a self-hosted backend never reads it
from the container's environment.

## Example
```env
JWT_PRIVATE_KEY=-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASC...
-----END PRIVATE KEY-----
```
Remove it from the file and set it where the program reads it, e.g.
`npx convex env set JWT_PRIVATE_KEY -- "$(cat private_key.pem)"`, or mount the key as a file
and pass its path.
"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for (problem, entry) in workspace.env_problems(|k| *k == EnvProblemKind::MultilinePrivateKey) {
        let key = &entry.key;
        let mut d = if entry.quote == Quote::None {
            sink.report(
                problem.span,
                format!(
                    "{key} holds a PEM private key without quotes: readers take only `{}` as its value and fail on the lines after it",
                    first_line(&entry.value)
                ),
            )
        } else {
            sink.report_as(
                Severity::Warning,
                problem.span,
                format!(
                    "{key} holds a PEM private key: `docker run --env-file` reads only its first line, and bash keeps `\\n` escapes as they are"
                ),
            )
        };
        d.primary.message = "a private key".to_owned();
        let role = workspace.knowledge.env_role(key);
        d.help = Some(match role.filter(|r| r.kind == EnvKind::DeploymentSecret) {
            Some(r) => format!(
                "{key} is a deployment variable: {}",
                r.note.as_deref().unwrap_or("set it in the deployment, not in a file")
            ),
            None => "mount the key as a file and pass its path, or set it where the program reads it".to_owned(),
        });
    }
}

fn first_line(value: &str) -> &str {
    value.lines().next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::test::check;

    #[test]
    fn private_keys_in_env_files() {
        let env = "SITE_URL=http://localhost:5173\nJWT_PRIVATE_KEY=-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\nNEXT=1\nTLS_KEY=\"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\"\n";
        assert_eq!(
            check(&RULE, &[(".env.local", env)]),
            vec![
                ".env.local:2:17: error: JWT_PRIVATE_KEY holds a PEM private key without quotes: readers take only `-----BEGIN PRIVATE KEY-----` as its value and fail on the lines after it",
                ".env.local:7:9: warning: TLS_KEY holds a PEM private key: `docker run --env-file` reads only its first line, and bash keeps `\\n` escapes as they are",
            ]
        );
    }

    #[test]
    fn public_keys_and_certificates_are_not_private_keys() {
        let env = "PUB=\"-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\"\nCERT='-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'\nJWKS={\"keys\":[{\"kty\":\"RSA\",\"n\":\"u1\",\"e\":\"AQAB\"}]}\n";
        assert_eq!(check(&RULE, &[(".env", env)]), Vec::<String>::new());
    }

    #[test]
    fn deployment_variables_say_where_they_belong() {
        let env = "JWT_PRIVATE_KEY=\"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\"\n";
        let found = crate::rules::test::diagnostics(&RULE, &[(".env", env)]);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].help.as_deref(),
            Some("JWT_PRIVATE_KEY is a deployment variable: set it with `npx convex env set`, not in a container or .env file")
        );
    }
}
