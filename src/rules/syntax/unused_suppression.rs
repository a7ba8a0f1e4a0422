//! `unused-suppression` (PT003): A suppression comment names a rule that found nothing there.

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{self, Rule, Sink};
use crate::suppress::{Suppression, Target};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "unused-suppression",
        code: "PT003",
        default_severity: Severity::Warning,
        summary: "A suppression comment names a rule that found nothing on the line it covers",
        explanation: r#"## What it does
Finds a name in a `# portolan: ignore[...]` comment that suppressed no finding: the rule
it names ran and found nothing on the line the comment covers (or `all` covered nothing),
as ruff's `unused-noqa` (RUF100) does. A rule that did not run (`--select`, `--ignore`, a
spec's `ignore:`) is not judged: its name stays quiet. A name that is no rule is
`invalid-suppression`'s.

The fix (safe) removes the name, or the whole comment when it names nothing else.

To keep a comment that suppresses nothing today, name this rule in it too
(`ignore[published-port-without-listener, unused-suppression]`), or pass
`--ignore unused-suppression`.

## Why is this bad?
A suppression outlives the problem it hid: once the port is fixed, the comment stays, and the
next real mismatch on that line is silenced without anyone seeing it. A suppression on the
wrong line (the comment covers the line below it, or its own line after code) hides nothing
and hides that it hides nothing.

## Example
```env
# portolan: ignore[env-double-equals] kept for an old client
CONVEX_SITE_URL=https://convex-site--dev--alice.coder.example.com
```
The `==` was fixed: remove the comment."#,
    },
    check,
};

/// Nothing to do while the rules run: what a comment suppressed is known only once every
/// other rule has run, so [`crate::suppress::apply`] calls [`report`] then.
fn check(_: &Workspace, _: &mut Sink) {}

/// The findings: every name of `suppressions` not marked in `used` (one flag per name) whose
/// rule is among `ran` (`all`: when every rule ran). Names of this rule and of
/// `invalid-suppression` are never unused: they are how a comment keeps itself.
pub fn report(
    suppressions: &[Suppression],
    used: &[Vec<bool>],
    ran: &[&'static Rule],
) -> Vec<Diagnostic> {
    let did_run = |name: &str| ran.iter().any(|r| r.meta.name == name);
    let every_rule_ran = rules::RULES.iter().all(|r| did_run(r.meta.name));
    let keeps_itself = [RULE.meta.name, super::invalid_suppression::RULE.meta.name];
    let mut sink = Sink::new(&RULE.meta);
    for (suppression, used) in suppressions.iter().zip(used) {
        for (i, name) in suppression.names.iter().enumerate() {
            if used[i] {
                continue;
            }
            let text = &name.text;
            let line = suppression.line;
            let message = match name.target {
                Target::Unknown => continue,
                Target::Rule(rule) if keeps_itself.contains(&rule) || !did_run(rule) => continue,
                Target::All if !every_rule_ran => continue,
                Target::Rule(rule) if rule == text => {
                    format!("`{text}` suppresses nothing: the rule found nothing on line {line}")
                }
                Target::Rule(rule) => format!(
                    "`{text}` suppresses nothing: `{rule}` found nothing on line {line}"
                ),
                Target::All => {
                    format!("`all` suppresses nothing: no rule found anything on line {line}")
                }
            };
            let title = if suppression.names.len() == 1 {
                "Remove the suppression comment".to_owned()
            } else {
                format!("Remove `{text}` from the suppression")
            };
            sink.report(name.span, message)
                .with_label("suppresses nothing")
                .with_help("remove it, or name this rule too to keep it")
                .with_fix(suppression.fix_without(&[i], title));
        }
    }
    sink.findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_files, classify};
    use crate::knowledge::Knowledge;
    use crate::model::build::InputFile;
    use crate::rules::env::{env_double_equals, env_duplicate_key};

    /// The findings of `ran` over one env file, one line each: `line:column rule: message`.
    fn checked(text: &str, ran: &[&'static Rule]) -> (Vec<String>, String) {
        let path = std::path::Path::new(".env");
        let input = InputFile {
            path: path.into(),
            text: text.to_owned(),
            kind: classify(path, Some(text)).expect("an env file"),
        };
        let (workspace, findings) = check_files(vec![input], ran, Knowledge::builtin().clone());
        let mut fixed = text.to_owned();
        let mut lines = Vec::new();
        for d in &findings {
            let (start, _) = workspace.sources.resolve(d.primary.span);
            lines.push(format!(
                "{}:{} {}: {}",
                start.line,
                start.column,
                d.rule.unwrap_or(""),
                d.message
            ));
        }
        // The one fix of the first unused-suppression finding, applied.
        if let Some(fix) = findings
            .iter()
            .find(|d| d.rule == Some(RULE.meta.name))
            .and_then(|d| d.fix.as_ref())
        {
            for edit in &fix.edits {
                fixed.replace_range(edit.span.range(), &edit.replacement);
            }
        }
        (lines, fixed)
    }

    const BOTH: &[&Rule] = &[&env_double_equals::RULE, &RULE];

    #[test]
    fn a_name_that_suppressed_nothing_is_reported_and_its_fix_removes_it() {
        let text = "A==b # portolan: ignore[PT401, env-duplicate-key] typo kept\nB=1 # portolan: ignore[env-double-equals]\n";
        let ran = [&env_double_equals::RULE, &env_duplicate_key::RULE, &RULE];
        let (found, fixed) = checked(text, &ran);
        assert_eq!(
            found,
            [
                "1:32 unused-suppression: `env-duplicate-key` suppresses nothing: the rule found nothing on line 1",
                "2:24 unused-suppression: `env-double-equals` suppresses nothing: the rule found nothing on line 2",
            ]
        );
        assert_eq!(
            fixed,
            "A==b # portolan: ignore[PT401] typo kept\nB=1 # portolan: ignore[env-double-equals]\n"
        );
        let (_, fixed) = checked("B=1 # portolan: ignore[PT401]\nC=2\n", BOTH);
        assert_eq!(fixed, "B=1\nC=2\n", "the only name: the whole comment goes");
        let (found, fixed) = checked("# portolan: ignore[PT401]\nB=1\nC=2\n", BOTH);
        assert_eq!(
            found,
            ["1:20 unused-suppression: `PT401` suppresses nothing: `env-double-equals` found nothing on line 2"]
        );
        assert_eq!(fixed, "B=1\nC=2\n", "a comment alone on its line goes with its line");
    }

    #[test]
    fn rules_that_did_not_run_and_names_of_no_rule_are_not_judged() {
        // env-duplicate-key did not run (`--select`, `--ignore`): its name stays quiet, as
        // does `all` while some rule did not run; `nope` is invalid-suppression's.
        let text = "B=1 # portolan: ignore[env-duplicate-key, all, nope]\n";
        assert_eq!(checked(text, BOTH).0, Vec::<String>::new());
        // Without this rule, nothing is said at all.
        let text = "B=1 # portolan: ignore[PT401]\n";
        assert_eq!(checked(text, &[&env_double_equals::RULE]).0, Vec::<String>::new());
        // Every rule ran: an `all` that covered nothing is unused.
        let every: Vec<&'static Rule> = rules::RULES.to_vec();
        let (found, _) = checked("# portolan: ignore[all]\nB=1\n", &every);
        assert_eq!(
            found,
            ["1:20 unused-suppression: `all` suppresses nothing: no rule found anything on line 2"]
        );
    }

    #[test]
    fn a_comment_that_names_this_rule_keeps_itself_and_its_findings_can_be_suppressed() {
        let text = "B=1 # portolan: ignore[PT401, unused-suppression] kept for later\n";
        assert_eq!(checked(text, BOTH).0, Vec::<String>::new());
        let text = "# portolan: ignore[PT003]\nB=1 # portolan: ignore[PT401]\n";
        assert_eq!(checked(text, BOTH).0, Vec::<String>::new());
        // A used name is no finding; the finding it covers is gone.
        let text = "A==b # portolan: ignore[env-double-equals]\n";
        assert_eq!(checked(text, BOTH).0, Vec::<String>::new());
    }
}
