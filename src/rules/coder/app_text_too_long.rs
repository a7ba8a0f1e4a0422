//! `app-text-too-long` (PT109): display_name, group or tooltip longer than Coder allows.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::template::TerraformModule;
use crate::model::Workspace;
use crate::model::template::Attribute;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "app-text-too-long",
        code: "PT109",
        default_severity: Severity::Error,
        summary: "display_name, group or tooltip longer than Coder allows",
        explanation: r#"## What it does
Measures the `display_name`, `group` and `tooltip` of every `coder_app` (and the same inputs of
Coder registry modules): `display_name` and `group` may be at most 64 bytes, `tooltip` at most
2048.

## Why is this bad?
The limits are database column sizes; the provider rejects longer values
(`display name is too long (max 64 characters)`), so the template does not plan. The provider
counts bytes, so accented letters and emoji count two to four each.

## Example
```hcl
display_name = "Convex dashboard for the self-hosted backend of the AI chat example app"
```
Use instead, and move the details to the tooltip:
```hcl
display_name = "Convex Dashboard"
tooltip      = "Dashboard of the self-hosted Convex backend of the AI chat example"
```"#,
    },
    check,
};

/// The attributes with a length limit, and the limit in bytes.
const LIMITS: [(&str, usize); 3] = [("display_name", 64), ("group", 64), ("tooltip", 2048)];

fn check(workspace: &Workspace, sink: &mut Sink) {
    for module in workspace.terraform_modules() {
        check_module(module, sink);
    }
}

/// The blocks of one module: the template's, or a module's read with it.
fn check_module(module: &TerraformModule, sink: &mut Sink) {
    for app in module.apps() {
        let owner = format!("coder_app.{}", app.name.value);
        for (name, limit) in LIMITS {
            if let Some(attr) = app.block.attribute(name) {
                report(sink, &owner, name, limit, attr);
            }
        }
    }
    for call in module.modules() {
        if call.registry_name().is_none() {
            continue;
        }
        let owner = format!("module.{}", call.name.value);
        for (name, limit) in LIMITS {
            if let Some(attr) = call.input(name) {
                report(sink, &owner, name, limit, attr);
            }
        }
    }
}

fn report(sink: &mut Sink, owner: &str, name: &str, limit: usize, attr: &Attribute) {
    let Some(text) = attr.value.value.as_str() else {
        return;
    };
    let bytes = text.len();
    if bytes <= limit {
        return;
    }
    let unit = if text.is_ascii() {
        "characters"
    } else {
        "bytes (UTF-8)"
    };
    let mut d = sink.report(
        attr.value.span,
        format!("the {name} of {owner} is {bytes} {unit} long; Coder allows at most {limit}"),
    );
    d.primary.message = format!("{} over the limit", bytes - limit);
    d.help = Some(format!("shorten the {name} to {limit} {unit} or fewer"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn texts_over_the_limits() {
        let at_limit = "d".repeat(64);
        let over = "g".repeat(65);
        let accented = "é".repeat(33); // 33 characters, 66 bytes
        let tooltip = "t".repeat(2049);
        let tf = format!(
            r#"resource "coder_app" "a" {{
  slug         = "a"
  display_name = "{at_limit}"
  group        = "{over}"
  tooltip      = "{tooltip}"
}}
resource "coder_app" "b" {{
  slug         = "b"
  display_name = "{accented}"
  group        = var.group
}}
module "code-server" {{
  source       = "registry.coder.com/coder/code-server/coder"
  display_name = "{over}"
}}
"#
        );
        assert_eq!(
            check(&RULE, &[("main.tf", &tf)]),
            vec![
                "main.tf:4:18: error: the group of coder_app.a is 65 characters long; Coder allows at most 64",
                "main.tf:5:18: error: the tooltip of coder_app.a is 2049 characters long; Coder allows at most 2048",
                "main.tf:9:18: error: the display_name of coder_app.b is 66 bytes (UTF-8) long; Coder allows at most 64",
                "main.tf:14:18: error: the display_name of module.code-server is 65 characters long; Coder allows at most 64",
            ]
        );
    }
}
