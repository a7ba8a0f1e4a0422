//! `app-command-with-subdomain` (PT105): A coder_app with command and subdomain.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::template::TerraformModule;
use crate::model::provider::version;
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "app-command-with-subdomain",
        code: "PT105",
        default_severity: Severity::Error,
        summary: "A coder_app with command and subdomain",
        explanation: r#"## What it does
Finds a `coder_app` that runs a `command` and also sets `subdomain`.

## Why is this bad?
A command app opens a terminal; it has no web server to put on a subdomain. With
`subdomain = true` Coder failed with a 500 error when the app was opened, and current provider
versions reject the resource (`"command": conflicts with subdomain`). Recent versions reject
`subdomain` next to `command` even when it is `false`, so that case is a warning.

The provider rejects the pair from v2.14.0 on (the knowledge base's `coder_provider.conflicts`):
under a pin or a `.terraform.lock.hcl` that keeps an older provider, nothing is reported.

## Example
```hcl
resource "coder_app" "shell" {
  agent_id  = coder_agent.main.id
  slug      = "shell"
  command   = "bash"
  subdomain = true
}
```
Use instead:
```hcl
resource "coder_app" "shell" {
  agent_id = coder_agent.main.id
  slug     = "shell"
  command  = "bash"
}
```"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for module in workspace.terraform_modules() {
        check_module(workspace, module, sink);
    }
}

/// The blocks of one module: the template's, or a module's read with it.
fn check_module(workspace: &Workspace, module: &TerraformModule, sink: &mut Sink) {
    // From which provider version the pair is rejected (the knowledge base's `conflicts`).
    let since = workspace
        .knowledge
        .coder_provider
        .conflicts
        .iter()
        .find(|c| {
            c.resource == "coder_app"
                && c.attributes.iter().any(|a| a == "command")
                && c.attributes.iter().any(|a| a == "subdomain")
        })
        .and_then(|c| Some((version(&c.version)?, c.version.as_str())));
    for app in module.apps() {
        let (Some(command), Some(subdomain)) = (app.command, app.subdomain) else {
            continue;
        };
        if command.is_set() != Some(true) {
            continue;
        }
        let pin = workspace.provider_pin_at(subdomain.span);
        // Without the fact, every version rejects the pair.
        let rejected = since.map_or(Some(true), |(at, _)| pin.installs_at_least(at));
        if rejected == Some(false) {
            continue; // the pinned provider accepts it
        }
        let from = since.map_or(String::new(), |(_, text)| format!(" (from v{text})"));
        let name = &app.name.value;
        let mut d = match (subdomain.value.value.as_bool(), rejected) {
            (Some(true), Some(true)) => sink.report(
                subdomain.span,
                format!("coder_app.{name} runs a `command` and sets `subdomain = true`; the Coder provider{from} rejects the pair"),
            ),
            (Some(true), _) => sink.report_as(
                Severity::Warning,
                subdomain.span,
                format!("coder_app.{name} runs a `command` and sets `subdomain = true`; the Coder provider{from} rejects the pair, and the provider version pin cannot be read"),
            ),
            (Some(false), _) => sink.report_as(
                Severity::Warning,
                subdomain.span,
                format!("coder_app.{name} runs a `command` and sets `subdomain = false`; recent Coder provider versions{from} reject any `subdomain` next to `command`"),
            ),
            (None, _) => continue,
        };
        d.primary.message = "conflicts with `command`".to_owned();
        d.related.push(Label::new(command.span, "the app runs this command in a terminal"));
        if let Some((span, what)) = pin.describe() {
            d.related
                .push(Label::new(span, format!("{what} installs a provider that checks this")));
        }
        d.help = Some("remove `subdomain`: a command app has no web page to serve".to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn command_with_subdomain() {
        let tf = r#"resource "coder_app" "shell" {
  agent_id  = coder_agent.main.id
  slug      = "shell"
  command   = "bash"
  subdomain = true
}
resource "coder_app" "top" {
  agent_id  = coder_agent.main.id
  slug      = "top"
  command   = "htop"
  subdomain = false
}
resource "coder_app" "web" {
  agent_id  = coder_agent.main.id
  slug      = "web"
  url       = "http://localhost:3000"
  subdomain = true
}
resource "coder_app" "unknown" {
  agent_id  = coder_agent.main.id
  slug      = "unknown"
  command   = "bash"
  subdomain = var.subdomain
}
"#;
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec![
                "main.tf:5:3: error: coder_app.shell runs a `command` and sets `subdomain = true`; the Coder provider (from v2.14.0) rejects the pair",
                "main.tf:11:3: warning: coder_app.top runs a `command` and sets `subdomain = false`; recent Coder provider versions (from v2.14.0) reject any `subdomain` next to `command`",
            ]
        );
    }

    fn pinned(pin: &str, lock: Option<&str>) -> Vec<String> {
        let tf = format!("terraform {{\n  required_providers {{\n    coder = {{\n      source = \"coder/coder\"{pin}\n    }}\n  }}\n}}\nresource \"coder_app\" \"shell\" {{\n  agent_id  = coder_agent.main.id\n  slug      = \"shell\"\n  command   = \"bash\"\n  subdomain = true\n}}\n");
        let lock = lock.map(|v| format!("provider \"registry.terraform.io/coder/coder\" {{\n  version = \"{v}\"\n}}\n"));
        let mut files = vec![("main.tf", tf.as_str())];
        if let Some(lock) = &lock {
            files.push((".terraform.lock.hcl", lock.as_str()));
        }
        check(&RULE, &files)
    }

    #[test]
    fn the_conflict_exists_from_provider_2_14() {
        let error = "main.tf:12:3: error: coder_app.shell runs a `command` and sets `subdomain = true`; the Coder provider (from v2.14.0) rejects the pair";
        assert_eq!(pinned("", None), vec![error]);
        assert_eq!(pinned("\n      version = \">= 2.0\"", None), vec![error.replace("12:3", "13:3")]);
        assert_eq!(pinned("\n      version = \"~> 2.13.0\"", None), Vec::<String>::new());
        assert_eq!(pinned("\n      version = \"< 2.14\"", None), Vec::<String>::new());
        // The lock file's exact version wins over the constraint.
        assert_eq!(pinned("\n      version = \">= 2.0\"", Some("2.13.1")), Vec::<String>::new());
        assert_eq!(pinned("", Some("2.15.0")), vec![error]);
        let unreadable = pinned("\n      version = var.coder", None);
        assert!(unreadable[0].contains("warning") && unreadable[0].contains("cannot be read"));
    }
}
