//! `incomplete-healthcheck` (PT107): A coder_app healthcheck without url, interval or threshold.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::template::TerraformModule;
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "incomplete-healthcheck",
        code: "PT107",
        default_severity: Severity::Error,
        summary: "A coder_app healthcheck without url, interval or threshold",
        explanation: r#"## What it does
Finds a `healthcheck` block of a `coder_app` that lacks `url`, `interval` or `threshold`.

## Why is this bad?
The Coder provider requires all three (`The argument "interval" is required`), so the template
does not plan. There are no defaults: `url` is what the agent requests (any status below 500
within `interval` seconds counts as healthy) and `threshold` is how many failures in a row mark
the app unhealthy.

## Example
```hcl
healthcheck {
  url = "http://localhost:3210/version"
}
```
Use instead:
```hcl
healthcheck {
  url       = "http://localhost:3210/version"
  interval  = 5
  threshold = 6
}
```"#,
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
    for app in module.apps() {
        let Some(hc) = &app.healthcheck else {
            continue;
        };
        let missing: Vec<&str> = [
            ("url", hc.url),
            ("interval", hc.interval),
            ("threshold", hc.threshold),
        ]
        .into_iter()
        .filter(|(_, attr)| attr.is_none_or(|a| a.is_set() == Some(false)))
        .map(|(name, _)| name)
        .collect();
        if missing.is_empty() {
            continue;
        }
        let list = missing
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(" and ");
        let mut d = sink.report(
            hc.block.kind.span,
            format!(
                "the healthcheck of coder_app.{} has no {list}; the Coder provider requires url, interval and threshold",
                app.name.value
            ),
        );
        d.primary.message = format!("missing {list}");
        d.help = Some(format!(
            "add {}",
            missing
                .iter()
                .map(|m| match *m {
                    "url" => "`url = \"http://localhost:PORT/health-path\"`",
                    "interval" => "`interval = 5` (seconds)",
                    _ => "`threshold = 6` (failures in a row)",
                })
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn healthchecks_need_url_interval_and_threshold() {
        let tf = r#"resource "coder_app" "api" {
  agent_id = coder_agent.main.id
  slug     = "api"
  url      = "http://localhost:3210"
  healthcheck {
    url = "http://localhost:3210/version"
  }
}
resource "coder_app" "site" {
  agent_id = coder_agent.main.id
  slug     = "site"
  url      = "http://localhost:3211"
  healthcheck {
    url       = "http://localhost:3211/"
    interval  = var.interval
    threshold = 6
  }
}
resource "coder_app" "nullurl" {
  agent_id = coder_agent.main.id
  slug     = "nullurl"
  url      = "http://localhost:3212"
  healthcheck {
    url       = null
    interval  = 5
    threshold = 6
  }
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec![
                "main.tf:5:3: error: the healthcheck of coder_app.api has no `interval` and `threshold`; the Coder provider requires url, interval and threshold",
                "main.tf:23:3: error: the healthcheck of coder_app.nullurl has no `url`; the Coder provider requires url, interval and threshold",
            ]
        );
    }
}
