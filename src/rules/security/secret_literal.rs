//! `secret-literal` (PT602): A private key, admin key or secret written as a literal in a template or compose file.

use crate::diagnostic::{RuleMeta, Severity};
use crate::knowledge::EnvKind;
use crate::model::build::value_text;
use crate::model::{EnvScope, FileKind, Workspace};
use crate::rules::{Rule, Sink};
use crate::source::Span;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "secret-literal",
        code: "PT602",
        default_severity: Severity::Warning,
        summary: "A private key, admin key or secret written as a literal in a template or compose file",
        explanation: r#"## What it does
Looks through Terraform and compose files for secrets written as literal text:
- private keys (`-----BEGIN ... PRIVATE KEY-----`) anywhere in the file, when base64 of a
  plausible length follows up to the `-----END` marker: placeholder text between the markers
  (`YourKeyHere`, `...`, `<your key>`) is no key;
- variables the knowledge base marks as secrets (`INSTANCE_SECRET`,
  `CONVEX_SELF_HOSTED_ADMIN_KEY`, `POSTGRES_PASSWORD`, `JWT_PRIVATE_KEY`, ...) set to a literal
  value in compose `environment`, `coder_agent.env`, `coder_env` or container env;
- variables, Terraform `variable` defaults and `locals` named like `*_ADMIN_KEY`, `*_API_KEY`,
  `*_SECRET`, `*_PASSWORD`, `*_TOKEN` holding a literal of 16 characters or more.

References (`${var.admin_key}`, `${INSTANCE_SECRET}`) are fine. The message never repeats the
value.

## Why is this bad?
Templates and compose files are committed, pushed to Coder, shared between workspaces and shown
in build logs. A secret written there is readable by everyone who can read the template, and
it is the same in every workspace.

## Example
```yaml
environment:
  INSTANCE_SECRET: 4361726e6976616c2d736563726574
```
Take it from an untracked `.env` (or generate it at workspace start):
```yaml
environment:
  INSTANCE_SECRET: ${INSTANCE_SECRET:?set it in .env}
```
"#,
    },
    check,
};

/// Literals at least this long, under a secret-looking name, are reported.
pub(crate) const MIN_SECRET_LEN: usize = 16;

fn check(ws: &Workspace, sink: &mut Sink) {
    let mut keys: Vec<Span> = Vec::new();
    for (file, kind) in &ws.kinds {
        if !matches!(kind, FileKind::Terraform | FileKind::Compose) {
            continue;
        }
        let path = ws.sources.get(*file).path.display().to_string();
        for (span, real) in private_keys(*file, &ws.sources.get(*file).text) {
            // Either way the value is no other secret: a key reported once, or a placeholder.
            keys.push(span);
            if !real {
                continue;
            }
            let mut d = sink.report(
                span,
                format!("a private key is written in {path}; anyone who can read the file has it"),
            );
            d.primary.message = "private key".to_owned();
            d.help = Some("keep the key out of the file: pass it from a secret store or a sensitive Terraform variable".to_owned());
        }
    }
    let holds_key = |span: Span| {
        keys.iter()
            .any(|k| k.file == span.file && span.start <= k.start && k.start < span.end)
    };

    for var in &ws.env {
        let where_ = match var.scope {
            EnvScope::Compose(_) => "compose environment",
            EnvScope::AgentEnv => "coder_agent env",
            EnvScope::CoderEnv => "coder_env",
            EnvScope::Container => "container env",
            _ => continue,
        };
        let Some(value) = var.value.as_deref() else {
            continue;
        };
        if var.interpolates() || value.is_empty() || holds_key(var.value_span) {
            continue;
        }
        let kind = ws.knowledge.env_role(&var.name).map(|r| r.kind);
        let known = matches!(kind, Some(EnvKind::Secret | EnvKind::DeploymentSecret));
        let named = secret_name(&var.name) && value.chars().count() >= MIN_SECRET_LEN;
        if !known && !named {
            continue;
        }
        let mut d = sink.report(
            var.value_span,
            format!("{} is written as a literal in the {where_}", var.name),
        );
        d.primary.message = "literal secret".to_owned();
        d.help = Some(match var.scope {
            EnvScope::Compose(_) => format!(
                "reference it as ${{{}}} and keep the value in an untracked .env, or generate it at workspace start",
                var.name
            ),
            _ => "pass it from a sensitive Terraform variable or a secret store".to_owned(),
        });
    }

    // `variable "admin_key" { default = "..." }` and `locals { api_token = "..." }`.
    for block in ws.terraform_modules().flat_map(|module| module.blocks()) {
        let candidates: Vec<(&str, &crate::model::template::Attribute)> =
            match block.kind.value.as_str() {
                "variable" => match (block.labels.first(), block.attribute("default")) {
                    (Some(name), Some(default)) => vec![(name.value.as_str(), default)],
                    _ => Vec::new(),
                },
                "locals" => block
                    .attributes
                    .iter()
                    .map(|a| (a.name.value.as_str(), a))
                    .collect(),
                _ => Vec::new(),
            };
        for (name, attr) in candidates {
            let Some(text) = value_text(&attr.value.value) else {
                continue;
            };
            let literal = !text.contains("${") && !holds_key(attr.value.span);
            if literal && secret_name(name) && text.chars().count() >= MIN_SECRET_LEN {
                let what = if block.kind.value == "variable" {
                    format!("the default of variable {name}")
                } else {
                    format!("local.{name}")
                };
                let mut d = sink.report(
                    attr.value.span,
                    format!("{what} looks like a secret written as a literal"),
                );
                d.primary.message = "literal secret".to_owned();
                d.help = Some(
                    "remove the literal and pass the value in (a sensitive variable without a default, or a secret store)"
                        .to_owned(),
                );
            }
        }
    }
}

/// `*_ADMIN_KEY`, `*_API_KEY`, `*_SECRET`, `*_PASSWORD`, `*_TOKEN` (any case).
pub(crate) fn secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "ADMIN_KEY",
        "API_KEY",
        "SECRET_KEY",
        "PRIVATE_KEY",
        "SECRET",
        "PASSWORD",
        "TOKEN",
    ]
    .iter()
    .any(|s| upper == *s || upper.ends_with(&format!("_{s}")))
}

/// The `-----BEGIN ... PRIVATE KEY-----` markers in a text, each with whether a key follows:
/// base64 of a plausible length up to its `-----END` marker. Placeholder text between the
/// markers (`YourKeyHere`, `...`, `<your key>`), an interpolation, or no end marker is no key.
fn private_keys(file: crate::source::FileId, text: &str) -> Vec<(Span, bool)> {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "PRIVATE KEY-----";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|t| t.find(BEGIN)) {
        let start = from + found;
        let line_end = text
            .get(start..)
            .and_then(|t| t.find(['\n', '"', '\\']))
            .map_or(text.len(), |i| start + i);
        let marker = text.get(start..line_end).unwrap_or("");
        if let Some(end) = marker.find(END) {
            let marker_end = start + end + END.len();
            let body = text
                .get(marker_end..)
                .and_then(|rest| rest.find("-----END ").map(|i| &rest[..i]));
            out.push((
                Span::new(file, start, marker_end),
                body.is_some_and(is_key_body),
            ));
        }
        from = start + BEGIN.len();
    }
    out
}

/// The shortest base64 body of a real private key: PKCS#8 Ed25519 is 48 bytes, 64 characters.
const MIN_KEY_BASE64: usize = 64;

/// Whether the text between PEM markers is a key: base64 (line breaks written as such or as
/// `\n`, indentation, and the `Proc-Type:`/`DEK-Info:` header lines of encrypted keys aside)
/// of at least [`MIN_KEY_BASE64`] characters, not one character repeated (`XXXX...`).
fn is_key_body(body: &str) -> bool {
    let unescaped = body.replace("\\n", "\n").replace("\\r", "\n");
    let mut base64 = String::new();
    for line in unescaped.lines() {
        let line = line.trim().trim_matches('"');
        if line.contains(':') {
            continue;
        }
        base64.push_str(line);
    }
    let alphabet = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    let mut distinct: Vec<char> = base64.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    base64.len() >= MIN_KEY_BASE64 && base64.chars().all(alphabet) && distinct.len() >= 16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn literal_secrets_in_compose_and_terraform() {
        let compose = "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    environment:\n      INSTANCE_SECRET: 4361726e6976616c\n      CONVEX_SELF_HOSTED_ADMIN_KEY: ${ADMIN_KEY}\n      GITHUB_TOKEN: ghp_0123456789abcdefghij\n      JWT_PRIVATE_KEY: \"-----BEGIN PRIVATE KEY-----\\nLes7WBqLSzg3nLREp5yeBVcJlHQnrP790u1avZBWntEvGDxazk0eS6T5wM6p/jEx\\n-----END PRIVATE KEY-----\"\n";
        let tf = r#"variable "convex_admin_key" {
  type    = string
  default = "convex-self-hosted|0123456789abcdef"
}

locals {
  db_password = "short"
  deploy_key  = <<-EOT
    -----BEGIN OPENSSH PRIVATE KEY-----
    5v4/yNWrRZrTdSibuxi8QioYWdfxcjM0GuJkTqgK
    p4NKbXrSm/NFjMrFIe/bAGXyV5IRqhrv/f2wXrAR
    -----END OPENSSH PRIVATE KEY-----
  EOT
}

resource "coder_agent" "main" {
  os = "linux"
  env = {
    POSTGRES_PASSWORD = "postgres"
    API_TOKEN         = var.token
  }
}
"#;
        assert_eq!(
            check(&RULE, &[("docker-compose.yml", compose), ("main.tf", tf)]),
            vec![
                "docker-compose.yml:8:25: warning: a private key is written in docker-compose.yml; anyone who can read the file has it",
                "main.tf:9:5: warning: a private key is written in main.tf; anyone who can read the file has it",
                "main.tf:19:25: warning: POSTGRES_PASSWORD is written as a literal in the coder_agent env",
                "docker-compose.yml:5:24: warning: INSTANCE_SECRET is written as a literal in the compose environment",
                "docker-compose.yml:7:21: warning: GITHUB_TOKEN is written as a literal in the compose environment",
                "main.tf:3:13: warning: the default of variable convex_admin_key looks like a secret written as a literal",
            ]
        );
    }

    #[test]
    fn placeholders_between_pem_markers_are_no_key() {
        let tf = |key: &str| {
            format!("variable \"private_key\" {{\n  type    = string\n  default = <<EOT\n-----BEGIN PRIVATE KEY-----\n{key}\n-----END PRIVATE KEY-----\nEOT\n}}\n")
        };
        for placeholder in [
            "YourKeyHere",
            "...",
            "<your key>",
            "${var.key_body}",
            "PASTE YOUR KEY HERE",
            &"X".repeat(80),
        ] {
            assert_eq!(
                check(&RULE, &[("main.tf", &tf(placeholder))]),
                Vec::<String>::new(),
                "{placeholder}"
            );
        }
        // A key, and an encrypted one with its header lines, are.
        let key = "Les7WBqLSzg3nLREp5yeBVcJlHQnrP790u1a\nvZBWntEvGDxazk0eS6T5wM6p/jEx";
        let encrypted = format!("Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B2C3D\n\n{key}");
        for body in [key, &encrypted] {
            assert_eq!(
                check(&RULE, &[("main.tf", &tf(body))]),
                vec!["main.tf:4:1: warning: a private key is written in main.tf; anyone who can read the file has it"]
            );
        }
        // Without an end marker no key is written.
        let compose = "services:\n  a:\n    image: x\n    environment:\n      KEY_HEADER: \"-----BEGIN PRIVATE KEY-----\"\n";
        assert!(check(&RULE, &[("docker-compose.yml", compose)]).is_empty());
    }

    #[test]
    fn references_short_values_and_env_files_pass() {
        let compose = "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?set it in .env}\n      SESSION_TOKEN: dev\n      PUBLIC_KEY: \"-----BEGIN PUBLIC KEY-----\"\n";
        let env = "INSTANCE_SECRET=4361726e6976616c\n";
        assert_eq!(
            check(&RULE, &[("docker-compose.yml", compose), (".env", env)]),
            Vec::<String>::new()
        );
    }
}
