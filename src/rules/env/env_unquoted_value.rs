//! `env-unquoted-value` (PT405): an unquoted env value with a blank or a ` #` comment.

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::model::Workspace;
use crate::model::env_file::EnvProblemKind;
use crate::rules::{Rule, Sink};
use crate::source::Span;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-unquoted-value",
        code: "PT405",
        default_severity: Severity::Warning,
        summary: "An unquoted env value with a space or ` #`",
        explanation: r#"## What it does
Finds unquoted values in env files that hold a blank (`NAME=My App`) or are followed by a
` # comment`.

## Why is this bad?
Readers disagree on where such a value ends. Docker compose reads `My App`; bash, sourcing
the same file, sets `NAME=My` and runs `App` as a command. A trailing ` # comment` is dropped
by compose and bash but kept in the value by `docker run --env-file`, which has no comments
after values.

## Example
```env
APP_NAME=My App
PORT=3000 # the API port
```
Quote values with blanks, and put comments on their own lines:
```env
APP_NAME="My App"
# the API port
PORT=3000
```
"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for (problem, entry) in workspace.env_problems(|k| *k == EnvProblemKind::UnquotedSpaceOrHash) {
        let key = &entry.key;
        let written = workspace.sources.slice(problem.span);
        // A comment starts at a `#` that begins the value or follows a blank.
        let comment = written.char_indices().find_map(|(i, c)| {
            let after_blank = written[..i].ends_with([' ', '\t']);
            (c == '#' && (i == 0 || after_blank)).then_some(i)
        });
        let value = written[..comment.unwrap_or(written.len())].trim_end_matches([' ', '\t']);
        let mut d;
        if value.contains([' ', '\t']) {
            d = sink.report(
                problem.span,
                format!(
                    "the value of {key} holds a blank but is not quoted: compose reads all of it, but bash sets {key} to the text before the blank and runs the rest as a command"
                ),
            );
            let quoted = format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""));
            d.fix = Some(Fix {
                title: "Put the value in double quotes".to_owned(),
                applicability: Applicability::Unsafe,
                edits: vec![Edit {
                    span: problem.span.sub(0, value.len()),
                    replacement: quoted,
                }],
            });
            d.help = Some(format!("quote the value: {key}=\"...\""));
        } else if let Some(at) = comment {
            d = sink.report(
                problem.span,
                format!(
                    "the ` #` after {key}= starts a comment for compose and bash, but `docker run --env-file` reads it as part of the value"
                ),
            );
            d.fix = move_comment_above(workspace, entry.line_span, problem.span, at);
            d.help = Some("put the comment on its own line".to_owned());
        } else {
            continue;
        }
    }
}

/// Moves the comment at `at` (an offset in `value`) of the entry on `line` onto a line of its
/// own above it.
fn move_comment_above(workspace: &Workspace, line: Span, value: Span, at: usize) -> Option<Fix> {
    let text = &workspace.sources.get(value.file).text;
    let start = value.start as usize + at;
    let comment = text.get(start..value.end as usize)?;
    // Cut the blanks before the comment too.
    let before = text.get(line.start as usize..start)?;
    let cut = line.start as usize + before.trim_end_matches([' ', '\t']).len();
    // The comment goes above the entry with the entry's indent (in a script's heredoc, the
    // indent `<<-` strips). At column 0 it would change how much a Terraform `<<-EOT` strips
    // from every line, and a shell heredoc's closing word would no longer be found.
    let line_start = text
        .get(..line.start as usize)?
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let indent_len = text
        .get(line_start..start)?
        .bytes()
        .take_while(|b| *b == b' ' || *b == b'\t')
        .count();
    let indent = &text[line_start..line_start + indent_len];
    let above = line_start + indent_len;
    let newline = if text.get(value.end as usize..)?.starts_with("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    Some(Fix {
        title: "Move the comment to its own line".to_owned(),
        applicability: Applicability::Unsafe,
        edits: vec![
            Edit {
                span: Span::new(value.file, above, above),
                replacement: format!("{}{newline}{indent}", comment.trim_end()),
            },
            Edit {
                span: Span::new(value.file, cut, value.end as usize),
                replacement: String::new(),
            },
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::test::with_fixes;
    use crate::rules::test::check;

    const ENV: &str = "APP_NAME=My App\nPORT=3000 # the API port\nEMPTY= # nothing yet\nTITLE=a \"b\" # c\nOK=\"a b\"\nURL=http://x/#top\nCOLOR=#fff\nQ='x' # fine\n";

    #[test]
    fn blanks_and_comments_after_unquoted_values() {
        assert_eq!(
            check(&RULE, &[(".env", ENV)]),
            vec![
                ".env:1:10: warning: the value of APP_NAME holds a blank but is not quoted: compose reads all of it, but bash sets APP_NAME to the text before the blank and runs the rest as a command",
                ".env:2:6: warning: the ` #` after PORT= starts a comment for compose and bash, but `docker run --env-file` reads it as part of the value",
                ".env:3:8: warning: the ` #` after EMPTY= starts a comment for compose and bash, but `docker run --env-file` reads it as part of the value",
                ".env:4:7: warning: the value of TITLE holds a blank but is not quoted: compose reads all of it, but bash sets TITLE to the text before the blank and runs the rest as a command",
            ]
        );
    }

    /// In a Terraform heredoc the comment takes the entry's indent (it once went to column 0,
    /// so `<<-EOT` stripped nothing and the script's `EOF` was indented: never found).
    #[test]
    fn a_comment_moved_in_an_indented_heredoc_keeps_the_indent() {
        for first in ["", "    A=1\n"] {
            let tf = format!("resource \"coder_agent\" \"main\" {{\n  os             = \"linux\"\n  startup_script = <<-EOT\n    cat > /home/coder/app/.env <<EOF\n{first}    PORT=3000 # the port\n    EOF\n  EOT\n}}\n");
            assert_eq!(
                with_fixes(&RULE, "main.tf", &tf),
                tf.replace("    PORT=3000 # the port\n", "    # the port\n    PORT=3000\n")
            );
        }
    }

    #[test]
    fn fixes_quote_values_and_move_comments() {
        assert_eq!(
            with_fixes(&RULE, ".env", ENV),
            "APP_NAME=\"My App\"\n# the API port\nPORT=3000\n# nothing yet\nEMPTY=\nTITLE=\"a \\\"b\\\"\" # c\nOK=\"a b\"\nURL=http://x/#top\nCOLOR=#fff\nQ='x' # fine\n"
        );
        assert_eq!(
            with_fixes(&RULE, ".env", "  A=1\t# one\r\nB=2\r\n"),
            "  # one\r\n  A=1\r\nB=2\r\n"
        );
    }
}
