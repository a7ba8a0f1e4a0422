//! `undeclared-agent` (PT116): A reference to a coder_agent that no resource declares.

use std::collections::HashSet;

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};
use crate::source::Span;
use crate::spec::did_you_mean;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "undeclared-agent",
        code: "PT116",
        default_severity: Severity::Error,
        summary: "A reference to a coder_agent that no resource declares",
        explanation: r#"## What it does
Finds `coder_agent.NAME.init_script`, `coder_agent.NAME.token` and any other
`coder_agent.NAME...` reference whose NAME no `resource "coder_agent"` of the template declares,
and names the agent that was most likely meant. A template that declares no agent at all is
left alone (its agents may be in files that were not checked).

## Why is this bad?
Terraform rejects the template (`Reference to undeclared resource`). When the typo is in the
`init_script` a container or VM runs, the agent that was meant is never started by it: its
startup script never runs and none of its apps answer.

## Example
```hcl
resource "coder_agent" "main" {
  os = "linux"
}
resource "docker_container" "workspace" {
  entrypoint = ["sh", "-c", coder_agent.mian.init_script]
}
```
Use instead:
```hcl
resource "docker_container" "workspace" {
  entrypoint = ["sh", "-c", coder_agent.main.init_script]
}
```"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    let Some(module) = &workspace.template else {
        return;
    };
    let agents = module.agents();
    if agents.is_empty() {
        return;
    }
    let declared: HashSet<&str> = agents.iter().map(|a| a.name.value.as_str()).collect();
    let mut seen = HashSet::new();
    // `moved`, `removed` and `import` blocks name resources that are gone or not yet there.
    let blocks = module
        .blocks()
        .filter(|b| !matches!(b.kind.value.as_str(), "moved" | "removed" | "import"));
    for block in blocks {
        for attr in block.all_attributes() {
            for reference in &attr.references {
                let [root, name, rest @ ..] = reference.names.as_slice() else {
                    continue;
                };
                if root != "coder_agent" || declared.contains(name.as_str()) {
                    continue;
                }
                if !seen.insert(reference.span) {
                    continue;
                }
                let written = match rest.first() {
                    Some(attribute) => format!("coder_agent.{name}.{attribute}"),
                    None => format!("coder_agent.{name}"),
                };
                let suggestion = did_you_mean(name, declared.iter().copied());
                let mut message = format!(
                    "`{written}` names an agent that no coder_agent declares, and Terraform rejects the reference"
                );
                match suggestion {
                    Some(s) => message.push_str(&format!("; did you mean `{s}`?")),
                    None => message.push_str(&format!(
                        " (the template declares {})",
                        listed(&agents.iter().map(|a| a.name.value.as_str()).collect::<Vec<_>>())
                    )),
                }
                if let (Some(s), Some("init_script")) = (suggestion, rest.first().map(String::as_str)) {
                    message.push_str(&format!(" As written, nothing starts coder_agent.{s}"));
                }
                let mut d = sink.report(reference.span, message);
                d.primary.message = format!("no coder_agent \"{name}\"");
                if let Some(s) = suggestion {
                    if let Some(agent) = agents.iter().find(|a| a.name.value == s) {
                        d.related
                            .push(crate::diagnostic::Label::new(agent.name.span, "declared here"));
                    }
                    d.help = Some(format!("write `coder_agent.{s}`"));
                    if let Some(span) = name_span(workspace, reference.span, name) {
                        d.fix = Some(Fix {
                            title: format!("replace `{name}` with `{s}`"),
                            applicability: Applicability::Unsafe,
                            edits: vec![Edit {
                                span,
                                replacement: s.to_owned(),
                            }],
                        });
                    }
                } else {
                    d.help = Some(
                        "name one of the declared agents, or declare this one with `resource \"coder_agent\"`"
                            .to_owned(),
                    );
                }
            }
        }
    }
}

/// The span of NAME in a reference written `coder_agent.NAME...`.
fn name_span(workspace: &Workspace, reference: Span, name: &str) -> Option<Span> {
    let prefix = "coder_agent.";
    let text = workspace.sources.slice(reference);
    let rest = text.strip_prefix(prefix)?;
    if !rest.starts_with(name) {
        return None;
    }
    let start = reference.start as usize + prefix.len();
    Some(Span::new(reference.file, start, start + name.len()))
}

fn listed(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::{check, run};

    const TF: &str = r#"resource "coder_agent" "main" {
  os = "linux"
}
resource "docker_container" "workspace" {
  entrypoint = ["sh", "-c", coder_agent.mian.init_script]
  env        = ["CODER_AGENT_TOKEN=${coder_agent.main.token}"]
}
resource "coder_app" "web" {
  agent_id = coder_agent.sidecar.id
  slug     = "web"
}
"#;

    #[test]
    fn a_typo_names_the_agent_meant() {
        assert_eq!(
            check(&RULE, &[("main.tf", TF)]),
            vec![
                "main.tf:5:29: error: `coder_agent.mian.init_script` names an agent that no coder_agent declares, and Terraform rejects the reference; did you mean `main`? As written, nothing starts coder_agent.main",
                "main.tf:9:14: error: `coder_agent.sidecar.id` names an agent that no coder_agent declares, and Terraform rejects the reference (the template declares `main`)",
            ]
        );
    }

    #[test]
    fn the_fix_replaces_the_name_only() {
        let (workspace, findings) = run(&RULE, &[("main.tf", TF)]);
        let fix = findings[0].fix.as_ref().expect("a fix");
        assert_eq!(workspace.sources.slice(fix.edits[0].span), "mian");
        assert_eq!(fix.edits[0].replacement, "main");
        assert!(findings[1].fix.is_none());
    }

    #[test]
    fn declared_agents_and_templates_without_agents_are_fine() {
        let ok = "resource \"coder_agent\" \"main\" {}\nresource \"docker_container\" \"c\" {\n  count      = 1\n  entrypoint = [\"sh\", \"-c\", coder_agent.main[count.index].init_script]\n}\n";
        assert_eq!(check(&RULE, &[("main.tf", ok)]), Vec::<String>::new());
        let moved = "resource \"coder_agent\" \"main\" {}\nmoved {\n  from = coder_agent.dev\n  to   = coder_agent.main\n}\n";
        assert_eq!(check(&RULE, &[("main.tf", moved)]), Vec::<String>::new());
        let no_agents = "resource \"docker_container\" \"c\" {\n  entrypoint = [\"sh\", \"-c\", coder_agent.main.init_script]\n}\n";
        assert_eq!(check(&RULE, &[("main.tf", no_agents)]), Vec::<String>::new());
    }
}
