//! `invalid-app-slug` (PT101): A coder_app slug that Coder rejects.

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::model::template::TerraformModule;
use crate::model::Workspace;
use crate::model::template::Attribute;
use crate::rules::{Rule, Sink};
use crate::coder::is_valid_slug;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "invalid-app-slug",
        code: "PT101",
        default_severity: Severity::Error,
        summary: "A coder_app slug that Coder rejects",
        explanation: r#"## What it does
Checks the `slug` of every `coder_app`, and the `slug` input of every Coder registry module,
against the pattern the Coder provider enforces: `^[a-z0-9](-?[a-z0-9])*$` (lowercase letters
and digits, single hyphens between them).

## Why is this bad?
The slug becomes part of the app's URL (`https://{slug}--{agent}--{workspace}--{owner}.{domain}`
or `/@owner/workspace/apps/{slug}/`). The provider rejects any other slug, so `terraform plan`
fails and `coder templates push` refuses the template.

## Example
```hcl
resource "coder_app" "site" {
  slug = "Convex_Site"
}
```
Use instead:
```hcl
resource "coder_app" "site" {
  slug = "convex-site"
}
```
The fix rewrites the slug, but URLs built from the old slug in other files must follow."#,
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
    let apps = module
        .apps()
        .into_iter()
        .filter_map(|app| Some((format!("coder_app.{}", app.name.value), app.slug?)));
    let modules = module
        .modules()
        .into_iter()
        .filter(|call| call.registry_name().is_some())
        .filter_map(|call| Some((format!("module.{}", call.name.value), call.input("slug")?)));
    let slugs: Vec<(String, &Attribute)> = apps.chain(modules).collect();
    // Slugs in use, and those a fix gives: a fix never makes two apps share one, which Coder
    // rejects too.
    let mut taken: Vec<String> = slugs
        .iter()
        .filter_map(|(_, attr)| attr.value.value.as_str())
        .filter(|slug| is_valid_slug(slug))
        .map(str::to_owned)
        .collect();
    for (owner, attr) in &slugs {
        report(sink, owner, attr, &mut taken);
    }
}

fn report(sink: &mut Sink, owner: &str, attr: &Attribute, taken: &mut Vec<String>) {
    let Some(slug) = attr.value.value.as_str() else {
        return;
    };
    if is_valid_slug(slug) {
        return;
    }
    let suggestion = slugify(slug);
    let mut d = sink.report(
        attr.value.span,
        format!(
            "{owner} has slug `{slug}`, which Coder rejects: {}",
            what_is_wrong(slug)
        ),
    );
    d.primary.message = "not `^[a-z0-9](-?[a-z0-9])*$`".to_owned();
    if suggestion.is_empty() {
        d.help = Some("use lowercase letters, digits and single hyphens".to_owned());
        return;
    }
    d.help = Some(format!(
        "use `{suggestion}`, and update URLs and env values that name the old slug"
    ));
    if taken.contains(&suggestion) {
        return;
    }
    if let Some(span) = attr.string_literal_span() {
        taken.push(suggestion.clone());
        d.fix = Some(Fix {
            title: format!("rename the slug to `{suggestion}`"),
            applicability: Applicability::Unsafe,
            edits: vec![Edit {
                span,
                replacement: suggestion,
            }],
        });
    }
}

/// The first reason a slug fails the pattern, in the author's terms.
fn what_is_wrong(slug: &str) -> &'static str {
    if slug.is_empty() {
        "it is empty"
    } else if slug.chars().any(|c| c.is_ascii_uppercase()) {
        "slugs are lowercase"
    } else if slug.contains('_') {
        "underscores are not allowed (use `-`)"
    } else if slug.starts_with('-') || slug.ends_with('-') {
        "it may not start or end with `-`"
    } else if slug.contains("--") {
        "`--` is not allowed (it separates the parts of an app's host name)"
    } else {
        "only lowercase letters, digits and `-` are allowed"
    }
}

/// The nearest valid slug: lowercase, every run of other characters as one `-`.
fn slugify(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    const TF: &str = r#"resource "coder_app" "site" {
  agent_id = coder_agent.main.id
  slug     = "Convex_Site"
  url      = "http://localhost:3211"
}

resource "coder_app" "api" {
  agent_id = coder_agent.main.id
  slug     = "convex--api"
}

resource "coder_app" "ok" {
  agent_id = coder_agent.main.id
  slug     = "convex-api-2"
}

resource "coder_app" "dynamic" {
  for_each = var.apps
  agent_id = coder_agent.main.id
  slug     = each.key
}

module "code-server" {
  source = "registry.coder.com/coder/code-server/coder"
  slug   = "-code-"
}

module "local" {
  source = "./apps"
  slug   = "Not_Checked"
}
"#;

    #[test]
    fn slugs_outside_the_pattern_are_errors() {
        assert_eq!(
            check(&RULE, &[("main.tf", TF)]),
            vec![
                "main.tf:3:14: error: coder_app.site has slug `Convex_Site`, which Coder rejects: slugs are lowercase",
                "main.tf:9:14: error: coder_app.api has slug `convex--api`, which Coder rejects: `--` is not allowed (it separates the parts of an app's host name)",
                "main.tf:25:12: error: module.code-server has slug `-code-`, which Coder rejects: it may not start or end with `-`",
            ]
        );
    }

    #[test]
    fn slugs_from_locals_are_checked_but_not_rewritten() {
        let tf = "locals {\n  slug = \"my_app\"\n}\nresource \"coder_app\" \"a\" {\n  slug = local.slug\n}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", tf)]),
            vec!["main.tf:5:10: error: coder_app.a has slug `my_app`, which Coder rejects: underscores are not allowed (use `-`)"]
        );
    }

    #[test]
    fn slugify_gives_the_nearest_valid_slug() {
        let cases = [
            ("Convex_Site", "convex-site"),
            ("convex--api", "convex-api"),
            ("-code-", "code"),
            ("My App!", "my-app"),
            ("___", ""),
        ];
        for (input, want) in cases {
            assert_eq!(slugify(input), want, "{input}");
            assert!(want.is_empty() || is_valid_slug(want));
        }
    }

    #[test]
    fn no_fix_gives_a_slug_another_app_has() {
        let tf = r#"resource "coder_app" "a" {
  agent_id = coder_agent.main.id
  slug     = "Site"
}

resource "coder_app" "b" {
  agent_id = coder_agent.main.id
  slug     = "site"
}

resource "coder_app" "c" {
  agent_id = coder_agent.main.id
  slug     = "My_App"
}

resource "coder_app" "d" {
  agent_id = coder_agent.main.id
  slug     = "my-app"
}
"#;
        let tf = tf.replace("\"my-app\"", "\"My App\"");
        let (_, findings) = crate::rules::test::run(&RULE, &[("main.tf", &tf)]);
        let fixes: Vec<Option<&str>> = findings
            .iter()
            .map(|d| d.fix.as_ref().map(|f| f.edits[0].replacement.as_str()))
            .collect();
        // `Site` would be `site`, which b has; `My_App` and `My App` would both be `my-app`.
        assert_eq!(fixes, vec![None, Some("my-app"), None]);
    }

    #[test]
    fn the_fix_replaces_only_a_literal_slug() {
        let (workspace, findings) = crate::rules::test::run(&RULE, &[("main.tf", TF)]);
        let fix = findings[0].fix.as_ref().expect("a fix");
        assert_eq!(fix.applicability, Applicability::Unsafe);
        assert_eq!(workspace.sources.slice(fix.edits[0].span), "Convex_Site");
        assert_eq!(fix.edits[0].replacement, "convex-site");
    }
}
