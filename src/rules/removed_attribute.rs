//! `removed-attribute` (PT110): An attribute removed in version 2 of the Coder provider.

use crate::diagnostic::{Label, RuleMeta, Severity};
use crate::model::Workspace;
use crate::model::template::{Spanned, TerraformModule, Value};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "removed-attribute",
        code: "PT110",
        default_severity: Severity::Error,
        summary: "An attribute removed in version 2 of the Coder provider",
        explanation: r#"## What it does
Finds attributes that version 2.0.0 of the Coder Terraform provider removed:
`coder_app.name`, `coder_app.relative_path`, `coder_agent.login_before_ready`,
`coder_agent.startup_script_timeout` and `coder_agent.shutdown_script_timeout`. It reads the
provider's version constraint in `terraform { required_providers { coder = ... } }`.

## Why is this bad?
With provider v2 or later, Terraform rejects the template (`An argument named
"login_before_ready" is not expected here`). That is an error when nothing pins the provider,
or when the pin allows v2. When the template pins a version below 2 (`version = "~> 0.12"`),
it still works today but breaks on the provider upgrade: a warning.

## Example
```hcl
resource "coder_agent" "main" {
  login_before_ready     = false
  startup_script_timeout = 300
}
resource "coder_app" "code" {
  name          = "VS Code"
  relative_path = true
}
```
Use instead:
```hcl
resource "coder_agent" "main" {
  startup_script_behavior = "blocking"
}
resource "coder_app" "code" {
  display_name = "VS Code"
  subdomain    = false
}
```"#,
    },
    check,
};

/// (resource type, attribute, what to use instead).
const REMOVED: [(&str, &str, &str); 5] = [
    ("coder_app", "name", "use `display_name`"),
    (
        "coder_app",
        "relative_path",
        "use `subdomain` (`relative_path = true` is `subdomain = false`)",
    ),
    (
        "coder_agent",
        "login_before_ready",
        "use `startup_script_behavior` (`login_before_ready = false` is `\"blocking\"`, `true` is `\"non-blocking\"`)",
    ),
    (
        "coder_agent",
        "startup_script_timeout",
        "remove it, or move the startup script to a `coder_script` with `run_on_start = true` and a `timeout`",
    ),
    (
        "coder_agent",
        "shutdown_script_timeout",
        "remove it, or move the shutdown script to a `coder_script` with `run_on_stop = true` and a `timeout`",
    ),
];

/// What the template's `coder` provider pin says about version 2.
enum Pin<'a> {
    /// No `version` constraint: Terraform installs the newest provider.
    Missing,
    /// A constraint that admits some 2.x or later version.
    AllowsV2(&'a Spanned<Value>, String),
    /// A constraint that stays below 2.
    BelowV2(&'a Spanned<Value>, String),
    /// A constraint that is not a known string, or does not parse.
    Unreadable(&'a Spanned<Value>),
}

fn check(workspace: &Workspace, sink: &mut Sink) {
    let Some(module) = &workspace.template else {
        return;
    };
    let pin = pin(module);
    let resources = module.blocks().filter(|b| b.kind.value == "resource");
    for block in resources {
        let resource_type = block.labels.first().map_or("", |l| l.value.as_str());
        let name = block.name().map_or("", |n| n.value.as_str());
        for attr in &block.attributes {
            let attribute = attr.name.value.as_str();
            let Some((_, _, instead)) = REMOVED
                .iter()
                .find(|(t, a, _)| *t == resource_type && *a == attribute)
            else {
                continue;
            };
            let what = format!(
                "`{attribute}` of {resource_type}.{name} was removed in version 2 of the Coder provider"
            );
            let mut d = match &pin {
                Pin::Missing => sink.report(
                    attr.name.span,
                    format!("{what}; nothing pins the provider below 2, so Terraform installs a newer one and rejects the template"),
                ),
                Pin::AllowsV2(_, text) => sink.report(
                    attr.name.span,
                    format!("{what}; the provider pin `{text}` allows v2, which rejects the template"),
                ),
                Pin::BelowV2(_, text) => sink.report_as(
                    Severity::Warning,
                    attr.name.span,
                    format!("{what}; the pin `{text}` keeps an older provider, so the template breaks on upgrade"),
                ),
                Pin::Unreadable(_) => sink.report_as(
                    Severity::Warning,
                    attr.name.span,
                    format!("{what}; the provider version pin cannot be read, and with v2 the template is rejected"),
                ),
            };
            d.primary.message = "removed in provider v2".to_owned();
            match &pin {
                Pin::AllowsV2(v, _) => d
                    .related
                    .push(Label::new(v.span, "this constraint allows provider v2")),
                Pin::BelowV2(v, _) => d
                    .related
                    .push(Label::new(v.span, "the provider is pinned below v2 here")),
                Pin::Unreadable(v) => d.related.push(Label::new(v.span, "the version constraint")),
                Pin::Missing => {}
            }
            d.help = Some((*instead).to_owned());
        }
    }
}

fn pin(module: &TerraformModule) -> Pin<'_> {
    let Some(version) = module.coder_provider().and_then(|p| p.version) else {
        return Pin::Missing;
    };
    let Some(text) = version.value.as_str() else {
        return Pin::Unreadable(version);
    };
    match VersionRange::parse(text) {
        Some(range) if range.allows_major(2) => Pin::AllowsV2(version, text.to_owned()),
        Some(_) => Pin::BelowV2(version, text.to_owned()),
        None => Pin::Unreadable(version),
    }
}

/// `major.minor.patch`; missing parts are 0, pre-release and build suffixes are ignored.
type Version = (u64, u64, u64);

/// One end of a range: the version and whether it is included.
type Bound = (Version, bool);

/// The versions a Terraform version constraint such as `">= 0.6, < 2.0"` or `"~> 0.12"` allows,
/// read the way Terraform reads provider constraints: `~> 1.2` is `>= 1.2, < 2.0`, `~> 1.2.3`
/// is `>= 1.2.3, < 1.3.0`, a bare `0.6` means exactly `0.6.0`. `!=` terms are ignored (they
/// remove single versions, never a whole major version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct VersionRange {
    lower: Option<Bound>,
    upper: Option<Bound>,
}

impl VersionRange {
    /// Reads a comma-separated constraint; `None` if any term is not understood.
    fn parse(text: &str) -> Option<VersionRange> {
        let mut range = VersionRange::default();
        let mut terms = 0;
        for term in text.split(',') {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            terms += 1;
            let (op, rest) = ["~>", ">=", "<=", "!=", ">", "<", "="]
                .iter()
                .find_map(|op| term.strip_prefix(op).map(|rest| (*op, rest)))
                .unwrap_or(("=", term));
            let (version, parts) = parse_version(rest.trim())?;
            match op {
                "=" => {
                    range.raise((version, true));
                    range.cap((version, true));
                }
                ">=" => range.raise((version, true)),
                ">" => range.raise((version, false)),
                "<=" => range.cap((version, true)),
                "<" => range.cap((version, false)),
                "~>" => {
                    range.raise((version, true));
                    let (major, minor, _) = version;
                    let next = if parts == 3 {
                        (major, minor.saturating_add(1), 0)
                    } else {
                        (major.saturating_add(1), 0, 0)
                    };
                    range.cap((next, false));
                }
                _ => {} // `!=`
            }
        }
        (terms > 0).then_some(range)
    }

    /// Narrows the lower end.
    fn raise(&mut self, bound: Bound) {
        self.lower = Some(match self.lower {
            Some(old) if old.0 > bound.0 || (old.0 == bound.0 && !old.1) => old,
            _ => bound,
        });
    }

    /// Narrows the upper end.
    fn cap(&mut self, bound: Bound) {
        self.upper = Some(match self.upper {
            Some(old) if old.0 < bound.0 || (old.0 == bound.0 && !old.1) => old,
            _ => bound,
        });
    }

    /// Whether some version `major.0.0` or later is in the range.
    fn allows_major(&self, major: u64) -> bool {
        let floor: Bound = ((major, 0, 0), true);
        let lower = match self.lower {
            Some(l) if l.0 >= floor.0 => l,
            _ => floor,
        };
        match self.upper {
            None => true,
            Some(upper) => lower.0 < upper.0 || (lower.0 == upper.0 && lower.1 && upper.1),
        }
    }
}

/// `1`, `1.2`, `1.2.3`, `1.2.3-beta.1`: the version and how many numbers were written.
fn parse_version(text: &str) -> Option<(Version, usize)> {
    let core = text.split(['-', '+']).next()?;
    let numbers: Vec<u64> = core
        .split('.')
        .map(|n| n.parse().ok())
        .collect::<Option<_>>()?;
    match numbers.as_slice() {
        [major] => Some(((*major, 0, 0), 1)),
        [major, minor] => Some(((*major, *minor, 0), 2)),
        [major, minor, patch] => Some(((*major, *minor, *patch), 3)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    fn template(pin: &str) -> String {
        format!(
            r#"terraform {{
  required_providers {{
    coder = {{
      source = "coder/coder"{pin}
    }}
  }}
}}
resource "coder_agent" "main" {{
  os                 = "linux"
  login_before_ready = false
}}
resource "coder_app" "code" {{
  agent_id      = coder_agent.main.id
  slug          = "code"
  name          = "VS Code"
  relative_path = true
}}
"#
        )
    }

    #[test]
    fn without_a_pin_removed_attributes_are_errors() {
        let what = "was removed in version 2 of the Coder provider; nothing pins the provider below 2, so Terraform installs a newer one and rejects the template";
        assert_eq!(
            check(&RULE, &[("main.tf", &template(""))]),
            vec![
                format!("main.tf:10:3: error: `login_before_ready` of coder_agent.main {what}"),
                format!("main.tf:15:3: error: `name` of coder_app.code {what}"),
                format!("main.tf:16:3: error: `relative_path` of coder_app.code {what}"),
            ]
        );
    }

    #[test]
    fn a_pin_that_allows_v2_makes_them_errors() {
        let tf = template("\n      version = \">= 0.12\"");
        assert_eq!(
            check(&RULE, &[("main.tf", &tf)])[0],
            "main.tf:11:3: error: `login_before_ready` of coder_agent.main was removed in version 2 of the Coder provider; the provider pin `>= 0.12` allows v2, which rejects the template"
        );
    }

    #[test]
    fn a_pin_below_v2_makes_them_upgrade_hazards() {
        let tf = template("\n      version = \"~> 0.12\"");
        assert_eq!(
            check(&RULE, &[("main.tf", &tf)])[0],
            "main.tf:11:3: warning: `login_before_ready` of coder_agent.main was removed in version 2 of the Coder provider; the pin `~> 0.12` keeps an older provider, so the template breaks on upgrade"
        );
        let legacy = "terraform {\n  required_providers {\n    coder = \"0.6.0\"\n  }\n}\nresource \"coder_agent\" \"main\" {\n  startup_script_timeout = 300\n}\n";
        assert_eq!(
            check(&RULE, &[("main.tf", legacy)]),
            vec!["main.tf:7:3: warning: `startup_script_timeout` of coder_agent.main was removed in version 2 of the Coder provider; the pin `0.6.0` keeps an older provider, so the template breaks on upgrade"]
        );
    }

    #[test]
    fn current_attributes_are_not_reported() {
        let tf = "resource \"coder_agent\" \"main\" {\n  startup_script_behavior = \"blocking\"\n}\nresource \"coder_app\" \"code\" {\n  display_name = \"VS Code\"\n  subdomain    = false\n}\nresource \"coder_parameter\" \"p\" {\n  name = \"region\"\n}\n";
        assert_eq!(check(&RULE, &[("main.tf", tf)]), Vec::<String>::new());
    }

    #[test]
    fn version_constraints_read_like_terraform() {
        // constraint, allows some v2+
        let cases: &[(&str, Option<bool>)] = &[
            ("~> 0.12", Some(false)),
            ("~> 0.12.3", Some(false)),
            ("~> 1", Some(false)),
            ("~> 1.9", Some(false)),
            ("~> 2.0", Some(true)),
            ("< 2.0", Some(false)),
            ("< 2", Some(false)),
            ("<= 2.0.0", Some(true)),
            ("< 2.0.1", Some(true)),
            (">= 0.6, < 2.0", Some(false)),
            (">=0.6,<3", Some(true)),
            (">= 0.12", Some(true)),
            ("> 1.9.9", Some(true)),
            ("0.6.0", Some(false)),
            ("0.6", Some(false)),
            ("= 2.1.0", Some(true)),
            ("2.0.0-pre", Some(true)),
            ("!= 1.0.0", Some(true)),
            ("!= 2.0.0, < 3", Some(true)),
            (">= 2, < 1", Some(false)),
            ("latest", None),
            ("~> v1", None),
            ("", None),
            ("1.2.3.4", None),
        ];
        for (text, want) in cases {
            let got = VersionRange::parse(text).map(|r| r.allows_major(2));
            assert_eq!(got, *want, "{text:?}");
        }
    }
}
