//! `invalid-share-or-open-in` (PT108): A share or open_in value Coder does not accept.

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::model::template::TerraformModule;
use crate::model::Workspace;
use crate::model::template::Attribute;
use crate::rules::{Rule, Sink};
use crate::spec::did_you_mean;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "invalid-share-or-open-in",
        code: "PT108",
        default_severity: Severity::Error,
        summary: "A share or open_in value Coder does not accept",
        explanation: r#"## What it does
Checks `share` and `open_in` of every `coder_app`, and the `share` input of every Coder
registry module: `share` must be `owner` (the default), `authenticated` or `public`; `open_in`
must be `slim-window` (the default) or `tab`. Values are case-sensitive.

## Why is this bad?
The provider (or the module's variable validation) rejects any other value, so the template
does not plan. A typo such as `share = "Public"` does not fall back to a default.

## Example
```hcl
resource "coder_app" "site" {
  share   = "Public"
  open_in = "new-tab"
}
```
Use instead:
```hcl
resource "coder_app" "site" {
  share   = "public"
  open_in = "tab"
}
```"#,
    },
    check,
};

use crate::coder::{OPEN_IN_VALUES as OPEN_IN, SHARE_VALUES as SHARE};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for module in workspace.terraform_modules() {
        check_module(module, sink);
    }
}

/// The blocks of one module: the template's, or a module's read with it.
fn check_module(module: &TerraformModule, sink: &mut Sink) {
    for app in module.apps() {
        let owner = format!("coder_app.{}", app.name.value);
        if let Some(share) = app.share {
            report(sink, &owner, "share", share, &SHARE);
        }
        if let Some(open_in) = app.open_in {
            report(sink, &owner, "open_in", open_in, &OPEN_IN);
        }
    }
    for call in module.modules() {
        if call.registry_name().is_none() {
            continue;
        }
        if let Some(share) = call.input("share") {
            let owner = format!("module.{}", call.name.value);
            report(sink, &owner, "share", share, &SHARE);
        }
    }
}

fn report(sink: &mut Sink, owner: &str, name: &str, attr: &Attribute, valid: &[&'static str]) {
    let Some(value) = attr.value.value.as_str() else {
        return;
    };
    if valid.contains(&value) {
        return;
    }
    let listed = valid
        .iter()
        .map(|v| format!("`{v}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let same_but_case = valid.iter().find(|v| v.eq_ignore_ascii_case(value.trim()));
    let suggestion = same_but_case
        .copied()
        .or_else(|| did_you_mean(&value.to_ascii_lowercase(), valid.iter().copied()));
    let mut message =
        format!("{owner} has {name} `{value}`, which Coder does not accept (one of {listed})");
    if let Some(s) = suggestion {
        message.push_str(&format!("; did you mean `{s}`?"));
    }
    let mut d = sink.report(attr.value.span, message);
    d.primary.message = format!("not a valid {name}");
    let Some(suggestion) = suggestion else {
        d.help = Some(format!("set {name} to one of {listed}"));
        return;
    };
    d.help = Some(format!("use `{suggestion}`"));
    if let Some(span) = attr.string_literal_span() {
        d.fix = Some(Fix {
            title: format!("replace `{value}` with `{suggestion}`"),
            applicability: if same_but_case.is_some() {
                Applicability::Safe
            } else {
                Applicability::Unsafe
            },
            edits: vec![Edit {
                span,
                replacement: suggestion.to_owned(),
            }],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;
    use crate::source::Span;

    const TF: &str = r#"resource "coder_app" "site" {
  agent_id = coder_agent.main.id
  slug     = "site"
  share    = "Public"
  open_in  = "tabs"
}
resource "coder_app" "api" {
  agent_id = coder_agent.main.id
  slug     = "api"
  share    = "everyone"
  open_in  = "slim-window"
}
resource "coder_app" "ok" {
  agent_id = coder_agent.main.id
  slug     = "ok"
  share    = "authenticated"
  open_in  = var.open_in
}
module "code-server" {
  source = "registry.coder.com/coder/code-server/coder"
  share  = "autenticated"
}
"#;

    #[test]
    fn values_outside_the_lists_are_errors() {
        assert_eq!(
            check(&RULE, &[("main.tf", TF)]),
            vec![
                "main.tf:4:14: error: coder_app.site has share `Public`, which Coder does not accept (one of `owner`, `authenticated`, `public`); did you mean `public`?",
                "main.tf:5:14: error: coder_app.site has open_in `tabs`, which Coder does not accept (one of `slim-window`, `tab`); did you mean `tab`?",
                "main.tf:10:14: error: coder_app.api has share `everyone`, which Coder does not accept (one of `owner`, `authenticated`, `public`)",
                "main.tf:21:12: error: module.code-server has share `autenticated`, which Coder does not accept (one of `owner`, `authenticated`, `public`); did you mean `authenticated`?",
            ]
        );
    }

    #[test]
    fn a_case_only_typo_gets_a_safe_fix_and_others_an_unsafe_one() {
        let (workspace, findings) = crate::rules::test::run(&RULE, &[("main.tf", TF)]);
        let fixes: Vec<Option<(Applicability, &str, &str)>> = findings
            .iter()
            .map(|d| {
                let fix = d.fix.as_ref()?;
                let span: Span = fix.edits[0].span;
                Some((
                    fix.applicability,
                    workspace.sources.slice(span),
                    fix.edits[0].replacement.as_str(),
                ))
            })
            .collect();
        assert_eq!(
            fixes,
            vec![
                Some((Applicability::Safe, "Public", "public")),
                Some((Applicability::Unsafe, "tabs", "tab")),
                None,
                Some((Applicability::Unsafe, "autenticated", "authenticated")),
            ]
        );
    }
}
