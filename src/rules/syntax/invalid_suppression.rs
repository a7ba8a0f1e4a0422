//! `invalid-suppression` (PT004): A suppression comment names no rule.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{self, Rule, Sink};
use crate::suppress::{self, Target};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "invalid-suppression",
        code: "PT004",
        default_severity: Severity::Warning,
        summary: "A suppression comment names no rule, so it suppresses nothing",
        explanation: r#"## What it does
Finds a `# portolan: ignore[...]` comment that names something that is no rule (a misspelt
name or code, with the nearest rule's name when one is close), names nothing (`ignore[]`), or
has no closing `]`, as ruff's `invalid-rule-code` (RUF102) does. Names are rule names,
former names and codes in any case (`ignore[PT201]`), or `all`.

The fix (safe) removes the name that is no rule, or the whole comment when it names nothing
else. A comment without its `]` is not fixed: what it meant to name is not known.

## Why is this bad?
A misspelt suppression suppresses nothing, silently: the finding it was meant to hide is still
reported, and the comment reads as if the matter had been decided. After a fix of the name,
the comment does what it says.

## Example
```hcl
# portolan: ignore[published-port-without-listner] kept for an old client
```
Use instead: `# portolan: ignore[published-port-without-listener] kept for an old client`."#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    let names: Vec<&str> = rules::RULES
        .iter()
        .flat_map(|r| [r.meta.name, r.meta.code])
        .chain(rules::RENAMED.iter().map(|(old, _)| *old))
        .chain(["all"])
        .collect();
    for suppression in suppress::scan_all(&workspace.sources) {
        if suppression.list.is_none() {
            sink.report(
                suppression.comment,
                "this suppression has no closing `]`: it suppresses nothing",
            )
            .with_label("no `]`")
            .with_help("close the list: `# portolan: ignore[rule-name] reason`");
            continue;
        }
        if suppression.names.is_empty() {
            sink.report(
                suppression.comment,
                "this suppression names no rule: it suppresses nothing",
            )
            .with_label("no rule named")
            .with_help("name the rule to suppress, or remove the comment")
            .with_fix(suppression.fix_without(&[], "Remove the suppression comment"));
            continue;
        }
        for (i, name) in suppression.names.iter().enumerate() {
            if name.target != Target::Unknown {
                continue;
            }
            let text = &name.text;
            let hint = nearest(text, &names)
                .map(|near| format!("; did you mean `{near}`?"))
                .unwrap_or_default();
            let title = if suppression.names.len() == 1 {
                "Remove the suppression comment".to_owned()
            } else {
                format!("Remove `{text}` from the suppression")
            };
            sink.report(
                name.span,
                format!("`{text}` is no rule, so this suppresses nothing{hint}"),
            )
            .with_label("no such rule")
            .with_help("name a rule by its name or code (see `portolan rules`)")
            .with_fix(suppression.fix_without(&[i], title));
        }
    }
}

/// The rule a misspelt name likely meant. A code (`PT...`) is a typo of a code one edit away
/// (`PT2O1`, `PT20`), not of any code two digits off.
fn nearest<'a>(text: &str, names: &[&'a str]) -> Option<&'a str> {
    let is_code = |n: &str| n.len() >= 2 && n[..2].eq_ignore_ascii_case("PT");
    if is_code(text) {
        let upper = text.to_ascii_uppercase();
        return names
            .iter()
            .copied()
            .filter(|n| is_code(n))
            .find(|n| strsim::damerau_levenshtein(&upper, n) <= 1);
    }
    crate::spec::did_you_mean(text, names.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::{check, with_fixes};

    #[test]
    fn a_name_of_no_rule_is_reported_with_the_nearest_rule() {
        let tf = "locals {\n  # portolan: ignore[published-port-without-listner] old client\n  a = 1 // portolan: ignore[PT2O1, PT201, all]\n  b = 2 # portolan: ignore[zzzzzzzz]\n}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            [
                "main.tf:2:22: warning: `published-port-without-listner` is no rule, so this suppresses nothing; did you mean `published-port-without-listener`?",
                "main.tf:3:29: warning: `PT2O1` is no rule, so this suppresses nothing; did you mean `PT201`?",
                "main.tf:4:28: warning: `zzzzzzzz` is no rule, so this suppresses nothing",
            ]
        );
    }

    #[test]
    fn a_code_is_the_typo_of_a_code_one_edit_away_only() {
        let names = ["PT201", "PT203", "PT109", "app-port-not-served"];
        assert_eq!(nearest("pt2o1", &names), Some("PT201"));
        assert_eq!(nearest("PT999", &names), None);
        assert_eq!(nearest("app-port-not-servd", &names), Some("app-port-not-served"));
    }

    #[test]
    fn former_names_codes_in_any_case_and_all_are_rules() {
        let env = "A=1 # portolan: ignore[site-origin-equals-cloud-origin, pt401, all]\n";
        assert_eq!(check(&RULE, &[(".env", env)]), Vec::<String>::new());
    }

    #[test]
    fn empty_and_unclosed_lists_suppress_nothing() {
        let env = "A=1 # portolan: ignore[] why\nB=2 # portolan: ignore[PT401\n";
        assert_eq!(
            check(&RULE, &[(".env", env)]),
            [
                ".env:1:5: warning: this suppression names no rule: it suppresses nothing",
                ".env:2:5: warning: this suppression has no closing `]`: it suppresses nothing",
            ]
        );
    }

    #[test]
    fn the_fix_removes_the_name_or_the_whole_comment() {
        let env = "A=1 # portolan: ignore[nope]\nB=2 # portolan: ignore[PT401, nope] reason\n# portolan: ignore[]\nC=3\n";
        assert_eq!(
            with_fixes(&RULE, ".env", env),
            "A=1\nB=2 # portolan: ignore[PT401] reason\nC=3\n"
        );
    }

    #[test]
    fn a_comment_that_names_this_rule_keeps_itself() {
        let env = "A=1 # portolan: ignore[nope, invalid-suppression]\n";
        assert_eq!(check(&RULE, &[(".env", env)]), Vec::<String>::new());
    }
}
