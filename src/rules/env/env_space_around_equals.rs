//! `env-space-around-equals` (PT403): `KEY = value` in an env file.

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::model::Workspace;
use crate::model::env_file::EnvProblemKind;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-space-around-equals",
        code: "PT403",
        default_severity: Severity::Error,
        summary: "Spaces around = in an env file",
        explanation: r#"## What it does
Finds blanks before or after the `=` of an assignment in an env file (or in one a script writes).

## Why is this bad?
Docker compose trims the blanks and reads the assignment as intended, but the same file
sourced by bash (`set -a; . ./.env`, a startup script) means something else: `KEY = value` runs
a command called `KEY`, and `KEY= value` sets KEY to nothing and runs `value` as a command.
`docker run --env-file` keeps the blanks in the name or the value. One file, three meanings.

## Example
```env
PORT = 3000
```
Write it without blanks:
```env
PORT=3000
```
"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for (problem, entry) in workspace.env_problems(|k| *k == EnvProblemKind::SpaceAroundEquals) {
        // The span holds the blanks and the `=`: find the `=` to delete around it.
        let written = workspace.sources.slice(problem.span);
        let Some(eq) = written.find('=') else {
            continue;
        };
        let key = &entry.key;
        let message = if eq > 0 {
            format!(
                "blank before the `=` of {key}: compose ignores it, but bash runs `{key}` as a command and never sets {key}"
            )
        } else {
            format!(
                "blank after `{key}=`: compose ignores it, but bash sets {key} to an empty value and runs the value as a command"
            )
        };
        let mut edits = Vec::new();
        if eq > 0 {
            edits.push(Edit {
                span: problem.span.sub(0, eq),
                replacement: String::new(),
            });
        }
        if written.len() > eq + 1 {
            edits.push(Edit {
                span: problem.span.sub(eq + 1, written.len()),
                replacement: String::new(),
            });
        }
        let mut d = sink.report(problem.span, message);
        d.primary.message = "remove these blanks".to_owned();
        d.help = Some(format!("write `{key}=value` with nothing around the `=`"));
        d.fix = Some(Fix {
            title: "Remove the blanks around `=`".to_owned(),
            applicability: Applicability::Safe,
            edits,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::test::with_fixes;
    use crate::rules::test::check;

    #[test]
    fn blanks_before_or_after_the_equals() {
        let env = "PORT = 3000\nHOST= 0.0.0.0\nMODE\t=dev\nexport   NAME=x\n  OK=1\nQUOTED=\" padded \"\n";
        assert_eq!(
            check(&RULE, &[("backend.env", env)]),
            vec![
                "backend.env:1:5: error: blank before the `=` of PORT: compose ignores it, but bash runs `PORT` as a command and never sets PORT",
                "backend.env:2:5: error: blank after `HOST=`: compose ignores it, but bash sets HOST to an empty value and runs the value as a command",
                "backend.env:3:5: error: blank before the `=` of MODE: compose ignores it, but bash runs `MODE` as a command and never sets MODE",
            ]
        );
    }

    #[test]
    fn the_fix_removes_the_blanks() {
        assert_eq!(
            with_fixes(&RULE, ".env", "A = b\nB= c\nC =d\nD=  # empty\n"),
            "A=b\nB=c\nC=d\nD=  # empty\n"
        );
    }
}
