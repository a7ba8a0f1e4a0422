//! `env-undefined-reference` (PT408): `${VAR}` in an env file, with VAR set nowhere.

use crate::diagnostic::{Applicability, Edit, Fix, Label, RuleMeta, Severity};
use std::collections::HashMap;

use crate::model::env_file::{EnvEntry, EnvReference, Operator};
use crate::model::Workspace;
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

/// Distinct undefined names given a "did you mean" hint; later ones get none, so that text full
/// of made-up names costs no more than `MAX_SUGGESTED` comparisons with every known name.
const MAX_SUGGESTED: usize = 1000;

/// Where each variable is set: name → (file, start of its name) in order. Built once, so each
/// reference costs a lookup, not a walk over every assignment of the workspace.
struct Assignments<'w> {
    workspace: &'w Workspace,
    by_name: HashMap<&'w str, Vec<(FileId, u32)>>,
    /// Suggestions made so far, by undefined name.
    suggested: HashMap<String, Option<&'w str>>,
}

impl<'w> Assignments<'w> {
    fn new(workspace: &'w Workspace) -> Self {
        let mut by_name: HashMap<&str, Vec<(FileId, u32)>> = HashMap::new();
        for v in &workspace.env {
            by_name
                .entry(v.name.as_str())
                .or_default()
                .push((v.name_span.file, v.name_span.start));
        }
        for list in by_name.values_mut() {
            list.sort_unstable();
        }
        Assignments {
            workspace,
            by_name,
            suggested: HashMap::new(),
        }
    }

    /// Set by the agent, in another file or scope, or above `at` in `file`.
    fn is_defined(&self, name: &str, file: FileId, at: u32) -> bool {
        self.workspace.knowledge.is_agent_variable(name)
            || self.by_name.get(name).is_some_and(|list| {
                list.iter().any(|(f, _)| *f != file) || {
                    let first = list.partition_point(|&(f, _)| f < file);
                    list.get(first).is_some_and(|&(f, start)| f == file && start < at)
                }
            })
    }

    /// Where `file` first sets `name` below `at`.
    fn set_later(&self, name: &str, file: FileId, at: u32) -> Option<u32> {
        let list = self.by_name.get(name)?;
        let next = list.partition_point(|&(f, start)| f < file || (f == file && start <= at));
        list.get(next).filter(|(f, _)| *f == file).map(|&(_, start)| start)
    }

    fn suggestion(&mut self, name: &str, known: &[&'w str]) -> Option<&'w str> {
        if let Some(s) = self.suggested.get(name) {
            return *s;
        }
        if self.suggested.len() >= MAX_SUGGESTED {
            return None;
        }
        let s = did_you_mean(name, known.iter().copied().filter(|k| *k != name));
        self.suggested.insert(name.to_owned(), s);
        s
    }
}

fn check(workspace: &Workspace, sink: &mut Sink) {
    let mut known: Vec<&str> = workspace.env.iter().map(|v| v.name.as_str()).collect();
    known.extend(workspace.knowledge.agent_variables.iter().map(String::as_str));
    known.sort_unstable();
    known.dedup();
    let mut assignments = Assignments::new(workspace);
    for text in workspace.env_files() {
        let (file, env) = (&text.file, &text.env);
        for entry in &env.entries {
            let nested = nested(entry);
            // One finding per undefined name and value, however often the value uses it.
            let mut reported: HashMap<&str, usize> = HashMap::new();
            let mut findings: Vec<(&EnvReference, usize)> = Vec::new();
            for (reference, nested) in entry.references.iter().zip(nested) {
                if nested || has_fallback(reference) {
                    continue;
                }
                if assignments.is_defined(&reference.name, *file, entry.key_span.start) {
                    continue;
                }
                match reported.get(reference.name.as_str()) {
                    Some(&at) => findings[at].1 += 1,
                    None => {
                        reported.insert(&reference.name, findings.len());
                        findings.push((reference, 1));
                    }
                }
            }
            for (reference, uses) in findings {
                report(workspace, sink, &mut assignments, *file, entry, reference, uses, &known);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn report<'w>(
    workspace: &'w Workspace,
    sink: &mut Sink,
    assignments: &mut Assignments<'w>,
    file: FileId,
    entry: &EnvEntry,
    reference: &EnvReference,
    uses: usize,
    known: &[&'w str],
) {
    let (name, key) = (&reference.name, &entry.key);
    let written = workspace.sources.slice(reference.span);
    let later = assignments.set_later(name, file, entry.key_span.start);
    let stops = if matches!(reference.operator, Some(Operator::Required { .. })) {
        ", and compose stops with an error"
    } else {
        ""
    };
    let times = if uses > 1 {
        format!(" (the value uses it {uses} times)")
    } else {
        String::new()
    };
    if let Some(later) = later {
        let later = crate::source::Span::new(file, later as usize, later as usize + name.len());
        let line = workspace.sources.resolve(later).0.line;
        let mut d = sink.report(
            reference.span,
            format!(
                "`{written}` in {key} refers to {name}, which this file sets only later, on line {line}: compose expands references with the lines above, so it is empty here{stops}{times}"
            ),
        );
        d.related.push(Label::new(later, format!("{name} is set here")));
        d.help = Some(format!("move the `{name}=` line above {key}"));
        return;
    }
    let suggestion = assignments.suggestion(name, known);
    let hint = suggestion
        .map(|s| format!("; did you mean {s}?"))
        .unwrap_or_default();
    let mut d = sink.report(
        reference.span,
        format!(
            "`{written}` in {key} refers to {name}, which no env file, compose service, script or agent env in this workspace sets: it expands to an empty string{stops}{hint}{times}"
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

/// For each reference of the entry, whether it sits inside another reference's default
/// (`${A:-${B}}`): it matters only when the outer one is unset, and the outer one has a
/// fallback. One sort and one sweep, however many references the value holds.
fn nested(entry: &EnvEntry) -> Vec<bool> {
    let refs = &entry.references;
    let mut order: Vec<usize> = (0..refs.len()).collect();
    // By start, the widest first: an outer reference comes before what it holds.
    order.sort_by_key(|&i| (refs[i].span.start, std::cmp::Reverse(refs[i].span.end)));
    let mut out = vec![false; refs.len()];
    let mut widest: Option<crate::source::Span> = None;
    for i in order {
        let span = refs[i].span;
        out[i] = widest.is_some_and(|w| w != span && span.end <= w.end);
        if widest.is_none_or(|w| span.end > w.end) {
            widest = Some(span);
        }
    }
    out
}

fn has_fallback(reference: &EnvReference) -> bool {
    matches!(
        reference.operator,
        Some(Operator::Default { .. } | Operator::Alternative { .. })
    )
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

    /// A value that repeats an undefined name is one finding, not one per use (`${a}` 20,000
    /// times was 20,000 findings).
    #[test]
    fn one_finding_per_name_and_value() {
        let env = format!("A={}\nB=${{x}}${{y}}${{x}}\n", "${a}".repeat(20_000));
        assert_eq!(
            check(&RULE, &[(".env", &env)]),
            vec![
                ".env:1:3: warning: `${a}` in A refers to a, which no env file, compose service, script or agent env in this workspace sets: it expands to an empty string (the value uses it 20000 times)",
                ".env:2:3: warning: `${x}` in B refers to x, which no env file, compose service, script or agent env in this workspace sets: it expands to an empty string (the value uses it 2 times)",
                ".env:2:7: warning: `${y}` in B refers to y, which no env file, compose service, script or agent env in this workspace sets: it expands to an empty string",
            ]
        );
    }

    #[test]
    fn a_later_line_is_found_among_many_assignments() {
        let mut env = String::from("URL=${PORT}\n");
        env.push_str(&"OTHER=1\n".repeat(1000));
        env.push_str("PORT=1\nPORT=2\n");
        let found = check(&RULE, &[(".env", &env)]);
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("sets only later, on line 1002"), "{found:?}");
    }
}

