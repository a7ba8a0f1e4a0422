//! `duplicate-app-slug` (PT102): Two apps with the same slug in one template.

use std::collections::HashMap;

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::{App, AppOrigin, Workspace};
use crate::model::template::{Block, Value};
use crate::rules::{Rule, Sink};
use crate::source::Span;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "duplicate-app-slug",
        code: "PT102",
        default_severity: Severity::Error,
        summary: "Two apps with the same slug in one template",
        explanation: r#"## What it does
Finds two apps with the same slug: two `coder_app` resources, a `coder_app` and a Coder
registry module that creates an app (code-server's default slug is `code-server`), or the same
module used twice.

## Why is this bad?
An app's slug names it in its URL, so Coder requires slugs to be unique across the whole
template, not only per agent: the workspace build fails. One resource with `count` or
`for_each` is not reported (its instances repeat by design and usually take their slug from
`each.key`). When both apps are created conditionally (`count = var.x ? 1 : 0`) they may never
exist together, so that case is a warning.

## Example
```hcl
module "code-server" {
  source = "registry.coder.com/coder/code-server/coder"
}
module "code-server-docs" {
  source = "registry.coder.com/coder/code-server/coder"
  folder = "/home/coder/docs"
}
```
Use instead:
```hcl
module "code-server-docs" {
  source = "registry.coder.com/coder/code-server/coder"
  folder = "/home/coder/docs"
  slug   = "code-server-docs"
}
```"#,
    },
    check,
};

/// When an app exists, judged from its `count` / `for_each`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presence {
    /// No `count`, `count = 1` (or more), or `count = data.coder_workspace.me.start_count`.
    Always,
    /// `count = 0`.
    Never,
    /// Any other `count` or a `for_each`: it may not exist.
    Conditional,
}

fn check(workspace: &Workspace, sink: &mut Sink) {
    let module = workspace.template.as_ref();
    // Blocks by span, looked up once per app (not a walk over every block per app).
    let mut blocks: HashMap<Span, &Block> = HashMap::new();
    for block in module.into_iter().flat_map(|m| m.blocks()) {
        blocks.entry(block.span).or_insert(block);
    }
    let block_of = |app: &App| blocks.get(&app.span).copied();
    let mut apps: Vec<(&App, Presence)> = workspace
        .apps
        .iter()
        .filter(|app| app.declared_by != AppOrigin::Spec)
        .map(|app| (app, block_of(app).map_or(Presence::Always, presence_of)))
        .filter(|(_, presence)| *presence != Presence::Never)
        .collect();
    apps.sort_by_key(|(app, _)| app.slug_span);
    // Per slug: the first app with it, and the first one declared by another block than that.
    let mut firsts: HashMap<&str, (usize, Option<usize>)> = HashMap::new();
    for (i, (app, presence)) in apps.iter().enumerate() {
        let (first, other) = *firsts.entry(app.slug.as_str()).or_insert((i, None));
        if other.is_none() && apps[first].0.declared_by != app.declared_by {
            firsts.insert(app.slug.as_str(), (first, Some(i)));
        }
        // The first earlier app of this slug declared by another block.
        let earlier = if apps[first].0.declared_by != app.declared_by {
            Some(first)
        } else {
            other.filter(|&o| o < i)
        };
        let Some((first, first_presence)) = earlier.map(|j| &apps[j]) else {
            continue;
        };
        let both_sure = *presence == Presence::Always && *first_presence == Presence::Always;
        let severity = if both_sure {
            Severity::Error
        } else {
            Severity::Warning
        };
        let mut message = format!(
            "{} {} `{}`, already used by {}: Coder requires app slugs to be unique across the template",
            declarer(app),
            if default_slug(block_of(app), app) {
                "creates an app with its default slug"
            } else {
                "has slug"
            },
            app.slug,
            declarer(first)
        );
        if !both_sure {
            message.push_str(" (unless their `count`/`for_each` never create both)");
        }
        let mut d = sink.report_as(severity, app.slug_span, message);
        d.primary.message = "duplicate slug".to_owned();
        d.related.push(Label::new(
            first.slug_span,
            format!("`{}` is first used here", first.slug),
        ));
        d.help = Some(match &app.declared_by {
            AppOrigin::Module(_) => "give the module a different `slug` input".to_owned(),
            _ => "give one of the apps a different slug".to_owned(),
        });
    }
}

/// `coder_app.NAME` or `module.NAME`.
fn declarer(app: &App) -> String {
    match &app.declared_by {
        AppOrigin::Resource(name) => format!("coder_app.{name}"),
        AppOrigin::Module(name) => format!("module.{name}"),
        AppOrigin::Spec => format!("app `{}`", app.slug),
    }
}

/// A registry module app whose slug is the module's default (no `slug` input); `block` is the
/// block that declares it.
fn default_slug(block: Option<&Block>, app: &App) -> bool {
    matches!(app.declared_by, AppOrigin::Module(_))
        && block.is_some_and(|b| b.attribute("slug").is_none())
}

fn presence_of(block: &Block) -> Presence {
    if block.attribute("for_each").is_some() {
        return Presence::Conditional;
    }
    let Some(count) = block.value("count") else {
        return Presence::Always;
    };
    match &count.value {
        Value::Number(n) if *n < 1.0 => Presence::Never,
        Value::Number(_) => Presence::Always,
        Value::Reference(r)
            if r.names.first().is_some_and(|n| n == "data")
                && r.names.get(1).is_some_and(|n| n == "coder_workspace")
                && r.names.last().is_some_and(|n| n == "start_count") =>
        {
            Presence::Always
        }
        _ => Presence::Conditional,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn a_module_used_twice_with_its_default_slug() {
        let tf = r#"data "coder_workspace" "me" {}

module "code-server" {
  count    = data.coder_workspace.me.start_count
  source   = "registry.coder.com/coder/code-server/coder"
  agent_id = coder_agent.main.id
}

module "code-server-docs" {
  count    = data.coder_workspace.me.start_count
  source   = "registry.coder.com/coder/code-server/coder"
  agent_id = coder_agent.main.id
  port     = 13340
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec!["main.tf:9:9: error: module.code-server-docs creates an app with its default slug `code-server`, already used by module.code-server: Coder requires app slugs to be unique across the template"]
        );
    }

    #[test]
    fn two_resources_with_one_slug_across_agents() {
        let tf = r#"resource "coder_app" "api" {
  agent_id = coder_agent.main.id
  slug     = "api"
}
resource "coder_app" "api-on-gpu" {
  agent_id = coder_agent.gpu.id
  slug     = "api"
}
resource "coder_app" "maybe" {
  count    = var.enabled ? 1 : 0
  agent_id = coder_agent.main.id
  slug     = "api"
}
resource "coder_app" "never" {
  count    = 0
  agent_id = coder_agent.main.id
  slug     = "api"
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec![
                "main.tf:7:14: error: coder_app.api-on-gpu has slug `api`, already used by coder_app.api: Coder requires app slugs to be unique across the template",
                "main.tf:12:14: warning: coder_app.maybe has slug `api`, already used by coder_app.api: Coder requires app slugs to be unique across the template (unless their `count`/`for_each` never create both)",
            ]
        );
    }

    #[test]
    fn one_resource_that_repeats_and_distinct_slugs_are_fine() {
        let tf = r#"resource "coder_app" "ports" {
  count    = 2
  agent_id = coder_agent.main.id
  slug     = "port-${count.index}"
}
resource "coder_app" "web" {
  for_each = toset(["a", "b"])
  agent_id = coder_agent.main.id
  slug     = "web"
}
module "code-server" {
  source   = "registry.coder.com/coder/code-server/coder"
  agent_id = coder_agent.main.id
  slug     = "code"
}
resource "coder_app" "code-server" {
  agent_id = coder_agent.main.id
  slug     = "code-server"
}
"#;
        assert_eq!(check(&RULE, &[("main.tf", tf)]), Vec::<String>::new());
    }
}
