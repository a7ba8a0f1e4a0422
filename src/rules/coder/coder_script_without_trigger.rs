//! `coder-script-without-trigger` (PT112): A coder_script that never runs, or start_blocks_login without run_on_start.

use crate::diagnostic::{Applicability, Edit, Fix, Label, RuleMeta, Severity};
use crate::model::template::TerraformModule;
use crate::model::Workspace;
use crate::model::template::{Attribute, CoderScript};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "coder-script-without-trigger",
        code: "PT112",
        default_severity: Severity::Error,
        summary: "A coder_script that never runs, or start_blocks_login without run_on_start",
        explanation: r#"## What it does
Checks when each `coder_script` runs: it needs at least one of `run_on_start = true`,
`run_on_stop = true` or a `cron` schedule; `start_blocks_login = true` needs
`run_on_start = true`; and `cron` must have six fields, seconds first
(`second minute hour day-of-month month day-of-week`) or be a descriptor such as `@hourly`.

## Why is this bad?
The provider rejects a script with no trigger (`at least one of run_on_start, run_on_stop, or
cron must be set`) and `start_blocks_login` without `run_on_start`, so the workspace build
fails. A cron with other than 5 or 6 fields is rejected too. A five-field cron is accepted but
read seconds first: `*/5 * * * *` runs every five *seconds*, not every five minutes, so it is
reported as a warning.

## Example
```hcl
resource "coder_script" "backup" {
  agent_id     = coder_agent.main.id
  display_name = "Backup"
  script       = "restic backup ~"
  cron         = "0 3 * * *"
}
```
Use instead (every day at 03:00):
```hcl
  cron = "0 0 3 * * *"
```"#,
    },
    check,
};

/// `robfig/cron` descriptors the provider accepts in place of fields.
const DESCRIPTORS: [&str; 7] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// What a boolean or string setting is, statically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setting {
    On,
    Off,
    Unknown,
}

fn flag(attr: Option<&Attribute>) -> Setting {
    match attr {
        None => Setting::Off,
        Some(a) if a.is_set() == Some(false) => Setting::Off,
        Some(a) => match a.value.value.as_bool() {
            Some(true) => Setting::On,
            Some(false) => Setting::Off,
            None => Setting::Unknown,
        },
    }
}

fn check(workspace: &Workspace, sink: &mut Sink) {
    for module in workspace.terraform_modules() {
        check_module(module, sink);
    }
}

/// The blocks of one module: the template's, or a module's read with it.
fn check_module(module: &TerraformModule, sink: &mut Sink) {
    for script in module.scripts() {
        let name = &script.name.value;
        let on_start = flag(script.run_on_start);
        let on_stop = flag(script.run_on_stop);
        let cron = match script.cron {
            None => Setting::Off,
            Some(a) if a.is_set() == Some(false) => Setting::Off,
            Some(a) => match a.value.value.as_str() {
                Some("") => Setting::Off,
                Some(_) => Setting::On,
                None => Setting::Unknown,
            },
        };
        if [on_start, on_stop, cron].iter().all(|s| *s == Setting::Off) {
            let mut d = sink.report(
                script.name.span,
                format!("coder_script.{name} sets none of `run_on_start`, `run_on_stop` or `cron`, so it never runs; the Coder provider rejects it"),
            );
            d.primary.message = "no trigger".to_owned();
            d.help = Some("add `run_on_start = true` to run it when the workspace starts".to_owned());
        }
        if let Some(blocks) = script.start_blocks_login {
            if flag(Some(blocks)) == Setting::On && on_start == Setting::Off {
                let mut d = sink.report(
                    blocks.span,
                    format!("coder_script.{name} sets `start_blocks_login = true` without `run_on_start = true`; the Coder provider rejects it"),
                );
                d.primary.message = "needs `run_on_start = true`".to_owned();
                if let Some(start) = script.run_on_start {
                    d.related.push(Label::new(start.span, "run_on_start is off here"));
                }
                d.help = Some("add `run_on_start = true`, or remove `start_blocks_login`".to_owned());
            }
        }
        check_cron(sink, &script);
    }
}

fn check_cron(sink: &mut Sink, script: &CoderScript<'_>) {
    let Some(attr) = script.cron else {
        return;
    };
    let Some(cron) = attr.value.value.as_str() else {
        return;
    };
    let name = &script.name.value;
    let mut fields: Vec<&str> = cron.split_whitespace().collect();
    // `CRON_TZ=Europe/Berlin 0 0 3 * * *`
    if fields
        .first()
        .is_some_and(|f| f.starts_with("TZ=") || f.starts_with("CRON_TZ="))
    {
        fields.remove(0);
    }
    let Some(first) = fields.first() else {
        return; // an empty cron is "no cron"
    };
    if first.starts_with('@') {
        if !DESCRIPTORS.contains(first) && *first != "@every" {
            let mut d = sink.report(
                attr.value.span,
                format!("coder_script.{name} has cron `{cron}`, an unknown descriptor; the Coder provider rejects it"),
            );
            d.primary.message = "not a cron descriptor".to_owned();
            d.help = Some(format!(
                "use one of {}, `@every <duration>`, or six fields (seconds first)",
                DESCRIPTORS.map(|d| format!("`{d}`")).join(", ")
            ));
        }
        return;
    }
    match fields.len() {
        6 => {}
        5 => {
            let mut d = sink.report_as(
                Severity::Warning,
                attr.value.span,
                format!(
                    "coder_script.{name} has cron `{cron}` with 5 fields; Coder reads cron seconds first, so this runs at second `{}`, minute `{}`, hour `{}`, not at minute `{}`, hour `{}`",
                    fields[0], fields[1], fields[2], fields[0], fields[1]
                ),
            );
            d.primary.message = "read as `second minute hour day month`".to_owned();
            let fixed = format!("0 {cron}");
            d.help = Some(format!("prepend the seconds field: `{fixed}`"));
            if let Some(span) = attr.string_literal_span() {
                d.fix = Some(Fix {
                    title: "prepend a seconds field `0`".to_owned(),
                    applicability: Applicability::Unsafe,
                    edits: vec![Edit {
                        span,
                        replacement: fixed,
                    }],
                });
            }
        }
        n => {
            let mut d = sink.report(
                attr.value.span,
                format!("coder_script.{name} has cron `{cron}` with {n} fields; Coder expects 6, seconds first (`second minute hour day month weekday`)"),
            );
            d.primary.message = format!("{n} fields");
            d.help = Some("for example `0 */15 * * * *` runs every 15 minutes".to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn scripts_need_a_trigger() {
        let tf = r#"resource "coder_script" "never" {
  agent_id     = coder_agent.main.id
  display_name = "Never"
  script       = "echo hi"
  run_on_stop  = false
}
resource "coder_script" "blocks" {
  agent_id           = coder_agent.main.id
  display_name       = "Blocks"
  script             = "echo hi"
  run_on_stop        = true
  start_blocks_login = true
}
resource "coder_script" "start" {
  agent_id           = coder_agent.main.id
  display_name       = "Start"
  script             = "echo hi"
  run_on_start       = true
  start_blocks_login = true
}
resource "coder_script" "maybe" {
  agent_id     = coder_agent.main.id
  display_name = "Maybe"
  script       = "echo hi"
  run_on_start = var.run
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec![
                "main.tf:1:26: error: coder_script.never sets none of `run_on_start`, `run_on_stop` or `cron`, so it never runs; the Coder provider rejects it",
                "main.tf:12:3: error: coder_script.blocks sets `start_blocks_login = true` without `run_on_start = true`; the Coder provider rejects it",
            ]
        );
    }

    #[test]
    fn cron_has_six_fields_seconds_first() {
        let tf = r#"resource "coder_script" "five" {
  display_name = "Five"
  cron         = "0 3 * * *"
}
resource "coder_script" "four" {
  display_name = "Four"
  cron         = "0 3 * *"
}
resource "coder_script" "six" {
  display_name = "Six"
  cron         = "CRON_TZ=UTC 0 0 3 * * *"
}
resource "coder_script" "hourly" {
  display_name = "Hourly"
  cron         = "@hourly"
}
resource "coder_script" "often" {
  display_name = "Often"
  cron         = "@every 5m"
}
resource "coder_script" "typo" {
  display_name = "Typo"
  cron         = "@hourley"
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec![
                "main.tf:3:18: warning: coder_script.five has cron `0 3 * * *` with 5 fields; Coder reads cron seconds first, so this runs at second `0`, minute `3`, hour `*`, not at minute `0`, hour `3`",
                "main.tf:7:18: error: coder_script.four has cron `0 3 * *` with 4 fields; Coder expects 6, seconds first (`second minute hour day month weekday`)",
                "main.tf:23:18: error: coder_script.typo has cron `@hourley`, an unknown descriptor; the Coder provider rejects it",
            ]
        );
    }
}
