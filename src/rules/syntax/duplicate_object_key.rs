//! `duplicate-object-key` (PT002): A key written twice in one Terraform object.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::template::TerraformModule;
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "duplicate-object-key",
        code: "PT002",
        default_severity: Severity::Warning,
        summary: "A key written twice in one Terraform object: the first value is dropped",
        explanation: r#"## What it does
Finds an object expression (`{ ... }`) in a `.tf` file that sets the same key twice.

## Why is this bad?
Terraform accepts it without a word (`terraform validate` passes) and keeps the last value;
the first is silently dropped. It is almost always a leftover of an edit: the value the author
meant may be the one that is lost. portolan reads the object as Terraform does (the last value
counts) and says so. Repeating an argument in a block (`url = ...` twice in a `coder_app`) is a
different matter: Terraform refuses it, and portolan reports it as `parse-error`.

## Example
```hcl
option = [
  {
    value       = "standard.extra"
    description = "rge"
    description = "16 GB RAM, 4 Cores"
  },
]
```
Use instead: one `description`."#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for module in workspace.terraform_modules() {
        check_module(module, sink);
    }
}

/// The blocks of one module: the template's, or a module's read with it.
fn check_module(module: &TerraformModule, sink: &mut Sink) {
    for repeated in module.duplicate_keys() {
        let key = &repeated.key;
        sink.report(
            repeated.last,
            format!(
                "`{key}` is set twice in one object; Terraform keeps this value and drops the first"
            ),
        )
        .with_label("set again here: this value is kept")
        .with_related(repeated.first, format!("`{key}` first set here: this value is dropped"))
        .with_help(format!("remove one of the two `{key}` entries"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::{check, run};

    #[test]
    fn a_repeated_object_key_is_a_warning_at_the_second_and_the_last_value_counts() {
        let tf = r#"locals {
  port = { api = 3210, api = 3211 }
  sizes = [
    {
      name        = "a"
      description = "first"
      description = "second"
    },
  ]
}
resource "coder_app" "site" {
  agent_id = "x"
  slug     = "site"
  url      = "http://localhost:${local.port.api}"
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec![
                "main.tf:2:24: warning: `api` is set twice in one object; Terraform keeps this value and drops the first",
                "main.tf:7:7: warning: `description` is set twice in one object; Terraform keeps this value and drops the first",
            ]
        );
        let (ws, findings) = run(&RULE, &[("main.tf", tf)]);
        let first = ws.sources.resolve(findings[0].related[0].span).0;
        assert_eq!((first.line, first.column), (2, 12));
        assert!(ws.parse_errors.is_empty(), "{:?}", ws.parse_errors);
        // The evaluator keeps the last value, as Terraform does.
        let url = ws.apps[0].url.as_ref().expect("a url");
        assert_eq!(url.port, Some(3211));
    }

    #[test]
    fn quoted_and_one_letter_keys_repeat_too_and_distinct_keys_are_silent() {
        let tf = "locals {\n  a = { \"x-y\" = 1, b = 2, \"x-y\" = 3 }\n  b = { a = 1, a = 2, a = 3 }\n  c = { a = 1, b = 2 }\n}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec![
                "main.tf:2:28: warning: `x-y` is set twice in one object; Terraform keeps this value and drops the first",
                "main.tf:3:16: warning: `a` is set twice in one object; Terraform keeps this value and drops the first",
                "main.tf:3:23: warning: `a` is set twice in one object; Terraform keeps this value and drops the first",
            ]
        );
    }

    #[test]
    fn a_repeated_block_argument_stays_a_parse_error() {
        let tf = "locals {\n  a = 1\n  a = 2\n}\n";
        let (ws, findings) = run(&RULE, &[("main.tf", tf)]);
        assert!(findings.is_empty());
        assert_eq!(ws.parse_errors.len(), 1);
    }
}
