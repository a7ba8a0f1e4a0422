//! `compose-unknown-dependency` (PT502): `depends_on` names a service that does not exist.

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};
use crate::spec::did_you_mean;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "compose-unknown-dependency",
        code: "PT502",
        default_severity: Severity::Error,
        summary: "depends_on names a service that does not exist",
        explanation: r#"## What it does
Finds `depends_on` entries that name a service no compose file of the workspace defines, and
suggests the closest service name.

## Why is this bad?
Docker compose refuses the whole project (`service "dashboard" depends on undefined service
"backnd": invalid compose project`): no container starts, so no app of the workspace answers.
When a compose file uses `include:`, the service may come from a file portolan does not read,
and the finding is a warning.

## Example
```yaml
services:
  backend:
    image: ghcr.io/get-convex/convex-backend:latest
  dashboard:
    image: ghcr.io/get-convex/convex-dashboard:latest
    depends_on: [backnd]
```
Name the service as it is defined:
```yaml
    depends_on: [backend]
```
"#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    let names: Vec<&str> = workspace.services.iter().map(|s| s.name.as_str()).collect();
    // `include:` pulls in services from files portolan does not read.
    let includes = workspace.compose_files.iter().any(|(file, _)| {
        let text = &workspace.sources.get(*file).text;
        text.lines().any(|l| l.starts_with("include:"))
    });
    let severity = if includes {
        Severity::Warning
    } else {
        Severity::Error
    };
    for service in &workspace.services {
        // Names the service depends on already, or that a fix will make it depend on: a second
        // `backend` would be a duplicate key (or item), which compose refuses.
        let mut depended: Vec<&str> = service.depends_on.iter().map(|(d, _)| d.as_str()).collect();
        for (dependency, span) in &service.depends_on {
            if names.contains(&dependency.as_str()) {
                continue;
            }
            let suggestion = did_you_mean(dependency, names.iter().copied());
            let hint = suggestion
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            let defined = if names.len() <= 8 {
                format!(" (services: {})", names.join(", "))
            } else {
                String::new()
            };
            let mut d = sink.report_as(
                severity,
                *span,
                format!(
                    "service {} depends on `{dependency}`, but no compose file in this workspace defines it{defined}: compose refuses to start the project{hint}",
                    service.name
                ),
            );
            d.primary.message = "no such service".to_owned();
            d.help = Some("name a service defined under `services:`, or remove the dependency".to_owned());
            // The span is the YAML scalar: replace the name inside its quotes, if any.
            let written = workspace.sources.slice(*span);
            let start = usize::from(written.starts_with(['"', '\'']));
            let Some(s) = suggestion.filter(|s| !depended.contains(s)) else {
                continue;
            };
            if written.get(start..start + dependency.len()) == Some(dependency.as_str()) {
                depended.push(s);
                d.fix = Some(Fix {
                    title: format!("Depend on `{s}`"),
                    applicability: Applicability::Unsafe,
                    edits: vec![Edit {
                        span: span.sub(start, start + dependency.len()),
                        replacement: s.to_owned(),
                    }],
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::rules::test::with_fixes;
    use crate::rules::test::check;

    const COMPOSE: &str = "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n  dashboard:\n    image: ghcr.io/get-convex/convex-dashboard:latest\n    depends_on: [\"backnd\"]\n  frontend:\n    image: node:20\n    depends_on:\n      backend:\n        condition: service_healthy\n      db:\n        condition: service_started\n      search: {}\n";

    #[test]
    fn dependencies_on_services_defined_nowhere() {
        assert_eq!(
            check(&RULE, &[("docker-compose.yml", COMPOSE)]),
            vec![
                "docker-compose.yml:6:18: error: service dashboard depends on `backnd`, but no compose file in this workspace defines it (services: backend, dashboard, frontend): compose refuses to start the project; did you mean `backend`?",
                "docker-compose.yml:12:7: error: service frontend depends on `db`, but no compose file in this workspace defines it (services: backend, dashboard, frontend): compose refuses to start the project",
                "docker-compose.yml:14:7: error: service frontend depends on `search`, but no compose file in this workspace defines it (services: backend, dashboard, frontend): compose refuses to start the project",
            ]
        );
    }

    #[test]
    fn services_from_another_compose_file_count() {
        let db = "services:\n  db:\n    image: postgres:16\n  search:\n    image: meilisearch\n";
        let mut found = check(&RULE, &[("docker-compose.yml", COMPOSE), ("compose.db.yml", db)]);
        assert_eq!(found.len(), 1);
        assert!(found.remove(0).starts_with("docker-compose.yml:6:18: error: service dashboard depends on `backnd`"));
    }

    #[test]
    fn an_include_makes_it_a_warning() {
        let text = "include:\n  - db.yml\nservices:\n  app:\n    image: node:20\n    depends_on: [db]\n";
        assert_eq!(
            check(&RULE, &[("compose.yaml", text)]),
            vec!["compose.yaml:6:18: warning: service app depends on `db`, but no compose file in this workspace defines it (services: app): compose refuses to start the project"]
        );
    }

    /// A fix that renamed a dependency to one the service has already made a duplicate key
    /// (or list item), which compose refuses.
    #[test]
    fn no_fix_names_a_service_depended_on_already() {
        let compose = "services:\n  backend:\n    image: nginx\n  web:\n    image: nginx\n    depends_on:\n      backend:\n        condition: service_started\n      backnd:\n        condition: service_started\n  web2:\n    image: nginx\n    depends_on: [bakend, backnd]\n";
        assert_eq!(
            with_fixes(&RULE, "docker-compose.yml", compose),
            compose.replace("[bakend, backnd]", "[backend, backnd]")
        );
    }

    #[test]
    fn the_fix_names_the_close_service() {
        let fixed = with_fixes(&RULE, "docker-compose.yml", COMPOSE);
        assert!(fixed.contains("depends_on: [\"backend\"]"), "{fixed}");
        assert!(fixed.contains("      db:\n"), "{fixed}");
    }
}
