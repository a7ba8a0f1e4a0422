//! `env-duplicate-key` (PT402): a key set twice in one env file.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::Workspace;
use crate::model::env_file::EnvProblemKind;
use crate::rules::env::env_double_equals::shows_value;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-duplicate-key",
        code: "PT402",
        default_severity: Severity::Warning,
        summary: "A key set twice in one env file",
        explanation: r#"## What it does
Finds a key set more than once in one env file (or in one env file a script writes).

## Why is this bad?
Docker compose and bash both keep the last value, so the first line does nothing. Whoever
edits the first line (often the one near the top, next to related settings) changes nothing,
and readers that keep the first value instead (some dotenv libraries) disagree with compose.

## Example
```env
CONVEX_CLOUD_ORIGIN=http://localhost:3210
VITE_CONVEX_URL=http://localhost:3210
CONVEX_CLOUD_ORIGIN=https://convex-api--dev--alice.coder.example.com
```
Keep one line per key:
```env
CONVEX_CLOUD_ORIGIN=https://convex-api--dev--alice.coder.example.com
VITE_CONVEX_URL=http://localhost:3210
```
"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    let line = |span| workspace.sources.resolve(span).0.line;
    for text in workspace.env_texts() {
        for problem in &text.env.problems {
            let EnvProblemKind::DuplicateKey { first } = problem.kind else {
                continue;
            };
            let (Some(this), Some(earlier), Some(last)) = (
                text.env.entry_at(problem.span),
                text.env.entry_at(first),
                text.env.get(workspace.sources.slice(problem.span)),
            ) else {
                continue;
            };
            let key = &this.key;
            let message = if this.value == earlier.value {
                format!(
                    "{key} is set again, to the same value as on line {}",
                    line(first)
                )
            } else {
                let used = if last.key_span == this.key_span {
                    "this value".to_owned()
                } else {
                    format!("the value on line {}", line(last.key_span))
                };
                let shown = if shows_value(&last.value) {
                    format!(" (`{}`)", last.value)
                } else {
                    String::new()
                };
                format!(
                    "{key} is already set on line {}; compose and bash use {used}{shown}",
                    line(first)
                )
            };
            let mut d = sink.report(problem.span, message);
            d.related.push(Label::new(first, format!("{key} first set here")));
            d.help = Some(format!("keep one `{key}=` line and delete the others"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::test::check;

    #[test]
    fn a_key_set_twice_names_the_value_that_wins() {
        let env = "CONVEX_CLOUD_ORIGIN=http://localhost:3210\nVITE_CONVEX_URL=http://localhost:3210\nCONVEX_CLOUD_ORIGIN=https://convex-api--dev--alice.example.com\nSECRET=a\nSECRET=b\nSECRET=c\nPORT=3000\nexport PORT=3000\n";
        assert_eq!(
            check(&RULE, &[(".env", env)]),
            vec![
                ".env:3:1: warning: CONVEX_CLOUD_ORIGIN is already set on line 1; compose and bash use this value (`https://convex-api--dev--alice.example.com`)",
                ".env:5:1: warning: SECRET is already set on line 4; compose and bash use the value on line 6",
                ".env:6:1: warning: SECRET is already set on line 4; compose and bash use this value",
                ".env:8:8: warning: PORT is set again, to the same value as on line 7",
            ]
        );
    }

    #[test]
    fn keys_in_different_files_or_comments_are_not_duplicates() {
        let files = [
            (".env", "A=1\n# A=2\nAB=3\na=4\n"),
            (".env.local", "A=5\n"),
        ];
        assert_eq!(check(&RULE, &files), Vec::<String>::new());
    }

    #[test]
    fn a_script_that_writes_a_key_twice() {
        let script = "cat > .env <<'EOF'\nPORT=3000\nPORT=3001\nEOF\n";
        assert_eq!(
            check(&RULE, &[("start.sh", script)]),
            vec!["start.sh:3:1: warning: PORT is already set on line 2; compose and bash use this value (`3001`)"]
        );
    }
}
