//! `builtin-var-set` (PT307): A variable the program sets itself, set by hand.

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::knowledge::EnvKind;
use crate::model::{EnvScope, EnvVar, Workspace};
use crate::rules::{Rule, Sink};
use crate::source::Span;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "builtin-var-set",
        code: "PT307",
        default_severity: Severity::Warning,
        summary: "A variable the program sets itself, set by hand",
        explanation: r#"## What it does
Reports assignments of variables that the knowledge base marks as built in: the program sets
them itself from its own configuration, such as `CONVEX_SITE_URL`, which the Convex backend
derives from `--convex-site` (`CONVEX_SITE_ORIGIN`). Env files, compose `environment`, scripts
and Terraform env maps are all checked.

## Why is this bad?
The copy set by hand is either ignored or shadows the real value, and it drifts the day the
real value changes. In the Convex Auth incident a hand-set `CONVEX_SITE_URL` pointed at the API
app while the backend's own site origin was elsewhere, and nothing complained.

## Example
```dotenv
CONVEX_SITE_ORIGIN=https://convex-site--chat--alice.coder.example.com
CONVEX_SITE_URL=https://convex-site--chat--alice.coder.example.com
```
Delete the `CONVEX_SITE_URL` line; the backend sets it from `CONVEX_SITE_ORIGIN`.
"#,
    },
    check,
};

fn check(ws: &Workspace, sink: &mut Sink) {
    for var in &ws.env {
        let Some(role) = ws.knowledge.env_role(&var.name) else {
            continue;
        };
        if role.kind != EnvKind::Builtin || var.scope == EnvScope::Spec {
            continue;
        }
        let note = role
            .note
            .clone()
            .unwrap_or_else(|| format!("the program sets {} itself", var.name));
        let fix = (var.scope == EnvScope::EnvFile)
            .then(|| delete_line(ws, var))
            .flatten();
        let mut d = sink.report(
            var.name_span,
            format!("{} is set by hand here: {note}", var.name),
        );
        d.primary.message = "set by the program itself".to_owned();
        d.help = Some(format!("remove this assignment of {}", var.name));
        d.fix = fix;
    }
}

/// Deletes the env file line(s) of an assignment, line ending included.
fn delete_line(ws: &Workspace, var: &EnvVar) -> Option<Fix> {
    let text = &ws.sources.get(var.name_span.file).text;
    let start = text
        .get(..var.name_span.start as usize)?
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let from = var.value_span.end.max(var.name_span.end) as usize;
    let end = text
        .get(from..)?
        .find('\n')
        .map_or(text.len(), |i| from + i + 1);
    Some(Fix {
        title: format!("remove {}", var.name),
        applicability: Applicability::Unsafe,
        edits: vec![Edit {
            span: Span::new(var.name_span.file, start, end),
            replacement: String::new(),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    const NOTE: &str = "Convex sets CONVEX_SITE_URL itself from --convex-site (CONVEX_SITE_ORIGIN); a copy set by hand drifts from it";

    #[test]
    fn builtin_variables_set_anywhere() {
        let env = "CONVEX_SITE_ORIGIN=https://convex-site--chat--alice.coder.example.com\nCONVEX_SITE_URL==https://convex-api--chat--alice.coder.example.com\n";
        let script = "#!/bin/sh\nexport CONVEX_SITE_URL=\"$CONVEX_SITE_ORIGIN\"\n";
        assert_eq!(
            check(&RULE, &[(".env.convex.local", env), ("start.sh", script)]),
            vec![
                format!(".env.convex.local:2:1: warning: CONVEX_SITE_URL is set by hand here: {NOTE}"),
                format!("start.sh:2:8: warning: CONVEX_SITE_URL is set by hand here: {NOTE}"),
            ]
        );
    }

    #[test]
    fn other_variables_pass() {
        let env = "CONVEX_SITE_ORIGIN=https://convex-site--chat--alice.coder.example.com\nVITE_CONVEX_SITE_URL=https://convex-site--chat--alice.coder.example.com\n";
        assert_eq!(check(&RULE, &[(".env", env)]), Vec::<String>::new());
    }

    #[test]
    fn the_fix_removes_the_line() {
        let env = "A=1\nCONVEX_SITE_URL=https://x--y--z.example.com\nB=2\n";
        let inputs = vec![crate::model::build::InputFile {
            path: ".env".into(),
            text: env.to_owned(),
            kind: crate::model::FileKind::EnvFile,
        }];
        let (_, findings) = crate::check::check_files(
            inputs,
            &[&RULE],
            crate::knowledge::Knowledge::builtin().clone(),
        );
        let edit = &findings[0].fix.as_ref().expect("a fix").edits[0];
        let mut fixed = env.to_owned();
        fixed.replace_range(edit.span.range(), &edit.replacement);
        assert_eq!(fixed, "A=1\nB=2\n");
    }
}
