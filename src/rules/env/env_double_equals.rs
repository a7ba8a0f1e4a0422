//! `env-double-equals` (PT401): `KEY==value` sets KEY to `=value`.

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::model::Workspace;
use crate::model::env_file::EnvProblemKind;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-double-equals",
        code: "PT401",
        default_severity: Severity::Error,
        summary: "KEY==value: the value starts with =",
        explanation: r#"## What it does
Finds `KEY==value` in env files, and in the env files a startup script writes with
`cat > .env <<EOF`.

## Why is this bad?
Docker compose (`env_file:` and the `.env` beside the compose file), `docker run --env-file`
and bash all split the line at the first `=`: the variable is set, to `=value`. Nothing fails
at start-up; a URL that begins with `=` is simply wrong everywhere it is used. This exact typo
(`CONVEX_SITE_URL==https://...`) made an auth provider unreachable for days.

## Example
```env
CONVEX_SITE_URL==https://convex-site--dev--alice.coder.example.com
```
Use a single `=`:
```env
CONVEX_SITE_URL=https://convex-site--dev--alice.coder.example.com
```
"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for (problem, entry) in workspace.env_problems(|k| *k == EnvProblemKind::DoubleEquals) {
        let key = &entry.key;
        let value = &entry.value;
        let message = if shows_value(value) {
            format!("`{key}=={rest}` sets {key} to `{value}`, with a leading `=`", rest = value.get(1..).unwrap_or(""))
        } else {
            format!("`{key}==...` sets {key} to a value that starts with `=`")
        };
        let mut d = sink.report(problem.span, message);
        d.primary.message = "one `=` too many".to_owned();
        d.help = Some(format!("write `{key}=` with a single `=`"));
        d.fix = Some(Fix {
            title: "Remove the extra `=`".to_owned(),
            applicability: Applicability::Safe,
            edits: vec![Edit {
                span: problem.span.sub(1, 2),
                replacement: String::new(),
            }],
        });
    }
}

/// Whether a value is safe and short enough to repeat in a message: a URL or a number, not a
/// secret.
pub(crate) fn shows_value(value: &str) -> bool {
    let rest = value.trim_start_matches('=');
    value.len() <= 120
        && (rest.starts_with("http://")
            || rest.starts_with("https://")
            || (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())))
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::test::{check, with_fixes};

    #[test]
    fn a_double_equals_in_an_env_file() {
        let env = "# backend\nCONVEX_CLOUD_ORIGIN=https://convex-api--dev--alice.example.com\nCONVEX_SITE_URL==https://convex-site--dev--alice.example.com\nINSTANCE_SECRET==abc\n";
        assert_eq!(
            check(&RULE, &[(".env.local", env)]),
            vec![
                ".env.local:3:16: error: `CONVEX_SITE_URL==https://convex-site--dev--alice.example.com` sets CONVEX_SITE_URL to `=https://convex-site--dev--alice.example.com`, with a leading `=`",
                ".env.local:4:16: error: `INSTANCE_SECRET==...` sets INSTANCE_SECRET to a value that starts with `=`",
            ]
        );
    }

    #[test]
    fn equals_signs_inside_a_value_are_fine() {
        for env in [
            "A=b==c\n",
            "A=\"==\"\n",
            "TOKEN=abc==\n",
            "# A==b\n",
            "URL=http://x/?a=b\n",
        ] {
            assert_eq!(check(&RULE, &[(".env", env)]), Vec::<String>::new(), "{env:?}");
        }
    }

    #[test]
    fn env_files_written_by_a_script() {
        let script = "#!/bin/bash\ncat > /home/coder/app/.env.local <<EOF\nVITE_CONVEX_URL==http://localhost:3210\nEOF\ncat > config.ini <<EOF\nmode==fast\nEOF\n";
        assert_eq!(
            check(&RULE, &[("start.sh", script)]),
            vec!["start.sh:3:16: error: `VITE_CONVEX_URL==http://localhost:3210` sets VITE_CONVEX_URL to `=http://localhost:3210`, with a leading `=`"]
        );
    }

    #[test]
    fn the_fix_removes_one_equals() {
        assert_eq!(with_fixes(&RULE, ".env", "A==1\nB==\n"), "A=1\nB=\n");
    }
}
