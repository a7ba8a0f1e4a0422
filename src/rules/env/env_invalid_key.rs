//! `env-invalid-key` (PT407): an env key that is not a valid variable name.

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::model::Workspace;
use crate::model::env_file::EnvProblemKind;
use crate::rules::{Rule, Sink};
use crate::coder::is_valid_env_name;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-invalid-key",
        code: "PT407",
        default_severity: Severity::Error,
        summary: "An env key that is not a valid variable name",
        explanation: r#"## What it does
Finds keys in env files that are not valid environment variable names: a name is letters,
digits and `_`, and does not start with a digit (`[A-Za-z_][A-Za-z0-9_]*`).

## Why is this bad?
Bash cannot assign such a name (`my-key=1` runs a command called `my-key=1`), most programs
read variables only by valid names, and a line with no name at all (`=value`) sets nothing.
The value never reaches the program that was meant to read it.

## Example
```env
convex-url=http://localhost:3210
```
Use a valid name (the one the program reads):
```env
CONVEX_URL=http://localhost:3210
```
"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for text in workspace.env_texts() {
        // Names the file sets, and those a fix gives: a rename never makes a key set twice,
        // which would change the value of the one already there.
        let mut set: Vec<String> = text.env.entries.iter().map(|e| e.key.clone()).collect();
        for problem in &text.env.problems {
            if problem.kind != EnvProblemKind::InvalidKey {
                continue;
            }
            let key = workspace.sources.slice(problem.span);
            if key == "=" {
                let mut d = sink.report(
                    problem.span,
                    "this line assigns a value to no name: it sets nothing",
                );
                d.help = Some("write the variable's name before the `=`".to_owned());
                continue;
            }
            let mut d = sink.report(
                problem.span,
                format!(
                    "`{key}` is not a valid variable name (letters, digits and `_`, not starting with a digit): bash cannot set it and programs do not read it"
                ),
            );
            d.primary.message = "not a variable name".to_owned();
            d.help = Some("use the name the program reads, e.g. `MY_KEY`".to_owned());
            let renamed = key.replace(['-', '.'], "_");
            if is_valid_env_name(&renamed) && !set.contains(&renamed) {
                set.push(renamed.clone());
                d.fix = Some(Fix {
                    title: format!("Rename `{key}` to `{renamed}`"),
                    applicability: Applicability::Unsafe,
                    edits: vec![Edit {
                        span: problem.span,
                        replacement: renamed,
                    }],
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::test::with_fixes;
    use crate::rules::test::check;

    const ENV: &str = "convex-url=http://localhost:3210\n1PORT=3000\n=orphan\n  KÉY=x\n_PRIVATE=1\nlower_case=2\nexport A=1\nexport=3\n";

    #[test]
    fn keys_that_are_not_variable_names() {
        assert_eq!(
            check(&RULE, &[(".env", ENV)]),
            vec![
                ".env:1:1: error: `convex-url` is not a valid variable name (letters, digits and `_`, not starting with a digit): bash cannot set it and programs do not read it",
                ".env:2:1: error: `1PORT` is not a valid variable name (letters, digits and `_`, not starting with a digit): bash cannot set it and programs do not read it",
                ".env:3:1: error: this line assigns a value to no name: it sets nothing",
                ".env:4:3: error: `KÉY` is not a valid variable name (letters, digits and `_`, not starting with a digit): bash cannot set it and programs do not read it",
            ]
        );
    }

    #[test]
    fn no_rename_to_a_key_the_file_sets() {
        assert_eq!(
            with_fixes(&RULE, ".env", "APP_PORT=1\napp-port=2\nAPP-PORT=3\napp.port=4\n"),
            "APP_PORT=1\napp_port=2\nAPP-PORT=3\napp.port=4\n"
        );
    }

    #[test]
    fn the_fix_renames_dashes_and_dots_only() {
        assert_eq!(
            with_fixes(&RULE, ".env", "convex-url=1\napp.port=2\n1X=3\n"),
            "convex_url=1\napp_port=2\n1X=3\n"
        );
    }
}
