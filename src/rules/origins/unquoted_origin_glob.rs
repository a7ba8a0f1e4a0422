//! `unquoted-origin-glob` (PT309): A `*` the shell expands, where a flag takes hosts or origins.

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::model::{ScriptOrigin, HostFlagValue, Workspace};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "unquoted-origin-glob",
        code: "PT309",
        default_severity: Severity::Warning,
        summary: "A `*` the shell expands, where a flag takes hosts or origins",
        explanation: r#"## What it does
Reads the commands of every script (startup scripts, `coder_script`s, script files, the
`templatefile()` scripts of modules) for flags that the knowledge base lists as taking hosts or
origins (`host_flags`: code-server's `--trusted-origins` and `--proxy-domain`, Jupyter's
`--ip` and `allow_origin`), and reports a value written as a word of its own that holds a glob
character outside quotes: `*`, `?` or `[...]`.

`--trusted-origins=*` is not reported: the shell expands that whole word as a pattern, which
matches only file names that start with `--trusted-origins=`.

## Why is this bad?
The shell expands an unquoted `*` to the names of the files in the current folder before the
program sees it. In an empty folder the `*` happens to survive, so the template works when it
is written and breaks on the day the home folder has files: code-server then trusts origins
named after them (`README.md`, `projects`) and rejects the real ones, and the stray names
may be taken for other arguments.

## Example
```bash
code-server --auth none --port 13337 --trusted-origins * &
```
Quote it, so that code-server gets the `*`:
```bash
code-server --auth none --port 13337 --trusted-origins '*' &
```
"#,
    },
    check,
};

fn check(ws: &Workspace, sink: &mut Sink) {
    for script in &ws.scripts {
        for value in &script.host_flags {
            let (true, Some(glob)) = (value.separate, value.unquoted_glob) else {
                continue;
            };
            let written = ws.sources.slice(value.span);
            // A script inside a Terraform string: a `"` there would end the string.
            let quoted = if script.origin == ScriptOrigin::File {
                quote(written)
            } else {
                quote_globs(written)
            };
            let mut d = sink.report(
                value.span,
                format!(
                    "{written} after {}'s {} is unquoted: the shell replaces it with the names of the files in the current folder before {} sees it",
                    value.program, value.flag, value.program
                ),
            );
            d.primary.message = "expanded by the shell".to_owned();
            if glob != value.span {
                d.related.push(crate::diagnostic::Label::new(
                    glob,
                    "a glob character outside quotes",
                ));
            }
            d.related.push(crate::diagnostic::Label::new(
                value.flag_span,
                format!("{} takes hosts or origins", value.flag),
            ));
            match quoted {
                Some(q) => {
                    d.help = Some(format!("quote it: {} {q}", value.flag));
                    d.fix = Some(fix(value, q));
                }
                None => d.help = Some("quote the glob character".to_owned()),
            }
        }
    }
}

/// The word quoted so that the shell keeps it: in single quotes when it has no expansion, in
/// double quotes when it has `$` (which must still expand); `None` when it already holds the
/// quote it would need.
fn quote(written: &str) -> Option<String> {
    if written.contains(['\'', '"', '\\', '`']) {
        None
    } else if written.contains('$') {
        Some(format!("\"{written}\""))
    } else {
        Some(format!("'{written}'"))
    }
}

/// The word with each literal run that holds a glob character in single quotes, expansions
/// (`$NAME`, `${...}`, Terraform's `$${...}`) left as they are: `*.$DOMAIN` becomes
/// `'*.'$DOMAIN`. The shell reads the same word, without the glob; and the fix adds no `"`,
/// which would end a Terraform string around the script. `None` when the word already holds a
/// quote or escape.
fn quote_globs(written: &str) -> Option<String> {
    if written.contains(['\'', '"', '\\', '`']) {
        return None;
    }
    let bytes = written.as_bytes();
    let mut out = String::with_capacity(written.len() + 4);
    let mut literal = String::new();
    let flush = |literal: &mut String, out: &mut String| {
        if literal.contains(['*', '?', '[']) {
            out.push('\'');
            out.push_str(literal);
            out.push('\'');
        } else {
            out.push_str(literal);
        }
        literal.clear();
    };
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            let c = written[i..].chars().next()?;
            literal.push(c);
            i += c.len_utf8();
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i] == b'$' {
            i += 1;
        }
        if bytes.get(i) == Some(&b'{') {
            i += written[i..].find('}').map_or(written.len() - i, |end| end + 1);
        } else {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
        }
        flush(&mut literal, &mut out);
        out.push_str(&written[start..i]);
    }
    flush(&mut literal, &mut out);
    Some(out)
}

fn fix(value: &HostFlagValue, quoted: String) -> Fix {
    Fix {
        title: format!("quote the value of {}", value.flag),
        applicability: Applicability::Safe,
        edits: vec![Edit {
            span: value.span,
            replacement: quoted,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn unquoted_globs_in_host_flags() {
        let script = "#!/bin/bash\n\
            code-server --auth none --trusted-origins * --port 13337 &\n\
            /tmp/code-server/bin/code-server --proxy-domain *.$DOMAIN\n\
            sudo -u coder jupyter lab --ip * --no-browser\n\
            CODE_SERVER=/tmp/code-server/bin/code-server\n\
            \"$CODE_SERVER\" --trusted-origins *\n";
        assert_eq!(
            check(&RULE, &[("start.sh", script)]),
            vec![
                "start.sh:2:43: warning: * after code-server's --trusted-origins is unquoted: the shell replaces it with the names of the files in the current folder before code-server sees it",
                "start.sh:3:49: warning: *.$DOMAIN after code-server's --proxy-domain is unquoted: the shell replaces it with the names of the files in the current folder before code-server sees it",
                "start.sh:4:32: warning: * after jupyter-lab's --ip is unquoted: the shell replaces it with the names of the files in the current folder before jupyter-lab sees it",
                "start.sh:6:34: warning: * after code-server's --trusted-origins is unquoted: the shell replaces it with the names of the files in the current folder before code-server sees it",
            ]
        );
    }

    #[test]
    fn quoted_values_joined_values_and_other_programs_pass() {
        let script = "#!/bin/bash\n\
            code-server --trusted-origins '*' --proxy-domain \"*.$DOMAIN\"\n\
            code-server --trusted-origins=* --trusted-origins \\*\n\
            code-server --trusted-origins \"$ORIGINS\"\n\
            ls --trusted-origins *\n\
            echo code-server --trusted-origins *\n";
        assert_eq!(check(&RULE, &[("start.sh", script)]), Vec::<String>::new());
    }

    /// In a Terraform heredoc the spans point into the `.tf` file, and the fix quotes the word.
    #[test]
    fn the_fix_quotes_the_word() {
        let tf = "resource \"coder_agent\" \"main\" {\n  os = \"linux\"\n  startup_script = <<-EOT\n    code-server --trusted-origins * --port 13337 >/tmp/cs.log 2>&1 &\n  EOT\n}\n";
        let inputs = vec![crate::model::build::InputFile {
            path: "main.tf".into(),
            text: tf.to_owned(),
            kind: crate::model::FileKind::Terraform,
        }];
        let (ws, findings) = crate::check::check_files(
            inputs,
            &[&RULE],
            crate::knowledge::Knowledge::builtin().clone(),
        );
        let [finding] = findings.as_slice() else {
            panic!("{findings:?}")
        };
        assert_eq!(ws.sources.slice(finding.primary.span), "*");
        assert_eq!(finding.help.as_deref(), Some("quote it: --trusted-origins '*'"));
        let edit = &finding.fix.as_ref().expect("a fix").edits[0];
        let mut fixed = tf.to_owned();
        fixed.replace_range(edit.span.range(), &edit.replacement);
        assert!(fixed.contains("--trusted-origins '*' --port"), "{fixed}");
    }

    /// In a Terraform quoted string the fix adds no `"`, which would end the string: only the
    /// glob is quoted, in single quotes (the fix once wrote `"*.$DOMAIN"` there).
    #[test]
    fn in_a_terraform_string_the_fix_quotes_the_glob_only() {
        let tf = "resource \"coder_agent\" \"main\" {\n  os             = \"linux\"\n  startup_script = \"code-server --proxy-domain *.$DOMAIN --trusted-origins * &\"\n}\n";
        let fixed = crate::rules::test::with_fixes(&RULE, "main.tf", tf);
        assert_eq!(
            fixed,
            "resource \"coder_agent\" \"main\" {\n  os             = \"linux\"\n  startup_script = \"code-server --proxy-domain '*.'$DOMAIN --trusted-origins '*' &\"\n}\n"
        );
        assert!(check(&RULE, &[("main.tf", &fixed)]).is_empty(), "{fixed}");
    }

    #[test]
    fn globs_are_quoted_around_expansions() {
        for (word, quoted) in [
            ("*", Some("'*'")),
            ("*.$DOMAIN", Some("'*.'$DOMAIN")),
            ("https://*.${DOMAIN}:*", Some("'https://*.'${DOMAIN}':*'")),
            ("$${X}.*", Some("$${X}'.*'")),
            ("a$B", Some("a$B")),
            ("'*'", None),
        ] {
            assert_eq!(quote_globs(word).as_deref(), quoted, "{word}");
        }
    }
}
