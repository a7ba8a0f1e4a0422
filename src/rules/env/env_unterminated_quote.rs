//! `env-unterminated-quote` (PT404): a quoted env value that is never closed.

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::model::Workspace;
use crate::model::env_file::EnvProblemKind;
use crate::rules::{Rule, Sink};
use crate::source::Span;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-unterminated-quote",
        code: "PT404",
        default_severity: Severity::Error,
        summary: "A quoted env value that is never closed",
        explanation: r#"## What it does
Finds a value in an env file that opens a quote (`"`, `'` or a backquote) and never closes it
anywhere later in the file.

## Why is this bad?
Quoted values may span several lines, so a reader looks for the closing quote in the rest of
the file and does not find one: docker compose stops with `unterminated quoted value`, and
bash cannot source the file (`unexpected EOF while looking for matching quote`). Every
service that reads the file fails to start, not just the one variable.

## Example
```env
SITE_URL="https://app--dev--alice.coder.example.com
```
Close the quote:
```env
SITE_URL="https://app--dev--alice.coder.example.com"
```
"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for (problem, entry) in workspace.env_problems(|k| *k == EnvProblemKind::UnterminatedQuote) {
        let written = workspace.sources.slice(problem.span);
        let Some(quote) = written.chars().next() else {
            continue;
        };
        let key = &entry.key;
        let mut d = sink.report(
            problem.span,
            format!(
                "the {quote} that opens the value of {key} is never closed: compose refuses the file (unterminated quoted value) and bash cannot source it"
            ),
        );
        d.primary.message = format!("no closing {quote}");
        d.help = Some(format!("end the value with {quote}"));
        // Closing at the end of the line is likely right, unless a comment ends the line.
        if !written.contains(" #") && !written.contains("\t#") {
            let end = Span::new(problem.span.file, problem.span.end as usize, problem.span.end as usize);
            d.fix = Some(Fix {
                title: "Close the quote at the end of the line".to_owned(),
                applicability: Applicability::Unsafe,
                edits: vec![Edit {
                    span: end,
                    replacement: quote.to_string(),
                }],
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::test::with_fixes;
    use crate::rules::test::check;

    #[test]
    fn a_quote_never_closed() {
        let env = "A=1\nSITE_URL=\"https://app--dev--alice.example.com\nB=2\nNOTE='it is # here\n";
        assert_eq!(
            check(&RULE, &[(".env", env)]),
            vec![
                ".env:2:10: error: the \" that opens the value of SITE_URL is never closed: compose refuses the file (unterminated quoted value) and bash cannot source it",
                ".env:4:6: error: the ' that opens the value of NOTE is never closed: compose refuses the file (unterminated quoted value) and bash cannot source it",
            ]
        );
    }

    #[test]
    fn quotes_closed_later_or_inside_a_value_are_fine() {
        let env = "A=\"one\ntwo\"\nB=it's\nC='x'\nD=\"a \\\" b\"\n# E=\"\n";
        assert_eq!(check(&RULE, &[(".env", env)]), Vec::<String>::new());
    }

    #[test]
    fn the_fix_closes_the_quote_at_the_end_of_the_line() {
        assert_eq!(
            with_fixes(&RULE, ".env", "A=\"x y\r\nB='z # c\n"),
            "A=\"x y\"\r\nB='z # c\n"
        );
    }
}
