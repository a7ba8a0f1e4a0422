//! `env-undefined-reference` (PT408): `${VAR}` in an env file, with VAR set nowhere.

use crate::diagnostic::{Applicability, Edit, Fix, Label, RuleMeta, Severity};
use crate::model::{EnvScope, Workspace, AGENT_VARIABLES};
use crate::parse::compose::Operator;
use crate::parse::dotenv::{EnvEntry, EnvReference};
use crate::rules::{Rule, Sink};
use crate::source::FileId;
use crate::spec::did_you_mean;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-undefined-reference",
        code: "PT408",
        default_severity: Severity::Warning,
        summary: "A reference to a variable defined nowhere",
        explanation: r#"## What it does
Finds `${VAR}` and `$VAR` in env-file values (unquoted or double-quoted) where VAR is set
nowhere in the workspace: not earlier in the same file, not in another env file, a compose
`environment:`, a script, `coder_agent.env` or `coder_env`, and not one of the variables the
Coder agent always sets (`CODER_WORKSPACE_NAME`, `HOME`, ...). References with a default
(`${VAR:-default}`) or an alternative (`${VAR:+alt}`) are left alone.

## Why is this bad?
Docker compose and dotenv libraries expand an unknown variable to an empty string, silently:
`VITE_CONVEX_URL=${CONVEX_CLOUD_ORIGN}` gives the frontend an empty URL. Compose expands a
reference only with the lines above it, so a variable set further down the file is unknown too.

## Example
```env
VITE_CONVEX_URL=${CONVEX_CLOUD_ORIGN}
CONVEX_CLOUD_ORIGIN=https://convex-api--dev--alice.coder.example.com
```
Set the variable first, with the right name:
```env
CONVEX_CLOUD_ORIGIN=https://convex-api--dev--alice.coder.example.com
VITE_CONVEX_URL=${CONVEX_CLOUD_ORIGIN}
```
"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    let mut known: Vec<&str> = workspace.env.iter().map(|v| v.name.as_str()).collect();
    known.extend(AGENT_VARIABLES);
    known.sort_unstable();
    known.dedup();
    for (file, env) in &workspace.facts.env_files {
        for entry in &env.entries {
            for reference in &entry.references {
                if is_nested(reference, entry) || has_fallback(reference) {
                    continue;
                }
                if is_defined(workspace, *file, entry, &reference.name) {
                    continue;
                }
                report(workspace, sink, *file, entry, reference, &known);
            }
        }
    }
}

fn report(
    workspace: &Workspace,
    sink: &mut Sink,
    file: FileId,
    entry: &EnvEntry,
    reference: &EnvReference,
    known: &[&str],
) {
    let (name, key) = (&reference.name, &entry.key);
    let written = workspace.sources.slice(reference.span);
    let later = workspace
        .env
        .iter()
        .filter(|v| v.scope == EnvScope::EnvFile && v.name_span.file == file)
        .find(|v| v.name == *name && v.name_span.start > entry.key_span.start);
    let stops = if matches!(reference.operator, Some(Operator::Required { .. })) {
        ", and compose stops with an error"
    } else {
        ""
    };
    if let Some(later) = later {
        let line = workspace.sources.resolve(later.name_span).0.line;
        let mut d = sink.report(
            reference.span,
            format!(
                "`{written}` in {key} refers to {name}, which this file sets only later, on line {line}: compose expands references with the lines above, so it is empty here{stops}"
            ),
        );
        d.related.push(Label::new(later.name_span, format!("{name} is set here")));
        d.help = Some(format!("move the `{name}=` line above {key}"));
        return;
    }
    let suggestion = did_you_mean(name, known.iter().copied().filter(|k| k != name));
    let hint = suggestion
        .map(|s| format!("; did you mean {s}?"))
        .unwrap_or_default();
    let mut d = sink.report(
        reference.span,
        format!(
            "`{written}` in {key} refers to {name}, which no env file, compose service, script or agent env in this workspace sets: it expands to an empty string{stops}{hint}"
        ),
    );
    d.help = Some(format!(
        "set {name} above this line, or give a default: `${{{name}:-value}}`"
    ));
    let start = if written.starts_with("${") { 2 } else { 1 };
    if let Some(s) = suggestion.filter(|_| written.get(start..start + name.len()) == Some(name)) {
        d.fix = Some(Fix {
            title: format!("Use {s}"),
            applicability: Applicability::Unsafe,
            edits: vec![Edit {
                span: reference.span.sub(start, start + name.len()),
                replacement: s.to_owned(),
            }],
        });
    }
}

/// Whether `reference` sits inside another reference's default (`${A:-${B}}`): it matters only
/// when the outer one is unset, and the outer one has a fallback.
fn is_nested(reference: &EnvReference, entry: &EnvEntry) -> bool {
    entry.references.iter().any(|outer| {
        outer.span != reference.span
            && outer.span.start <= reference.span.start
            && reference.span.end <= outer.span.end
    })
}

fn has_fallback(reference: &EnvReference) -> bool {
    matches!(
        reference.operator,
        Some(Operator::Default { .. } | Operator::Alternative { .. })
    )
}

/// Set by the agent, in another file or scope, or on an earlier line of this file.
fn is_defined(workspace: &Workspace, file: FileId, entry: &EnvEntry, name: &str) -> bool {
    AGENT_VARIABLES.contains(&name)
        || workspace.env.iter().any(|v| {
            v.name == name
                && (v.name_span.file != file || v.name_span.start < entry.key_span.start)
        })
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::test::with_fixes;
    use crate::rules::test::check;

    const ENV: &str = "CONVEX_CLOUD_ORIGIN=http://localhost:3210\nVITE_CONVEX_URL=${CONVEX_CLOUD_ORIGIN}\nVITE_CONVEX_SITE_URL=${CONVEX_SITE_ORIGN}\nDATA=$HOME/data\nA=\"${LATER}/x\"\nLATER=x\nD=\"${MISSING:-fallback} ${M2:+alt} ${M3:-${M4}}\"\nE='${LITERAL}'\nF=$WS_NAME-$FROM_COMPOSE\nG=${ADMIN_TOKEN:?set it}\nH=\"\\$ESCAPED $$\"\nLOOP_DIR=${LOOP_DIR}:x\n";
    const SCRIPT: &str = "#!/bin/bash\nexport WS_NAME=dev\nexport CONVEX_SITE_ORIGIN=http://localhost:3211\n";
    const COMPOSE: &str = "services:\n  app:\n    image: node:20\n    environment:\n      - FROM_COMPOSE=1\n";

    #[test]
    fn references_to_variables_set_nowhere() {
        assert_eq!(
            check(&RULE, &[(".env.local", ENV), ("start.sh", SCRIPT), ("docker-compose.yml", COMPOSE)]),
            vec![
                ".env.local:3:22: warning: `${CONVEX_SITE_ORIGN}` in VITE_CONVEX_SITE_URL refers to CONVEX_SITE_ORIGN, which no env file, compose service, script or agent env in this workspace sets: it expands to an empty string; did you mean CONVEX_SITE_ORIGIN?",
                ".env.local:5:4: warning: `${LATER}` in A refers to LATER, which this file sets only later, on line 6: compose expands references with the lines above, so it is empty here",
                ".env.local:10:3: warning: `${ADMIN_TOKEN:?set it}` in G refers to ADMIN_TOKEN, which no env file, compose service, script or agent env in this workspace sets: it expands to an empty string, and compose stops with an error",
                ".env.local:12:10: warning: `${LOOP_DIR}` in LOOP_DIR refers to LOOP_DIR, which no env file, compose service, script or agent env in this workspace sets: it expands to an empty string",
            ]
        );
    }

    #[test]
    fn a_variable_set_in_another_env_file_counts() {
        let files = [(".env", "A=${B}\n"), ("backend.env", "B=1\n")];
        assert_eq!(check(&RULE, &files), Vec::<String>::new());
    }

    #[test]
    fn the_fix_uses_the_close_name() {
        assert_eq!(
            with_fixes(&RULE, ".env", "CONVEX_CLOUD_ORIGIN=x\nURL=${CONVEX_CLOUD_ORIGN}/api\nP=$PTH\n"),
            "CONVEX_CLOUD_ORIGIN=x\nURL=${CONVEX_CLOUD_ORIGIN}/api\nP=$PATH\n"
        );
    }
}
