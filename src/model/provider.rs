//! The template's pin of the Coder provider: which provider versions Terraform may install.

use super::template::{Spanned, TerraformModule, Value};
use crate::source::Span;

/// The `coder` provider pin of one root module: the constraint of its `required_providers`
/// and the exact version its `.terraform.lock.hcl` selected. The lock file wins: Terraform
/// installs the locked version as long as the constraint allows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderPin {
    /// The `version` constraint, if one is written.
    pub constraint: Option<Constraint>,
    /// The version of `provider "registry.terraform.io/coder/coder"` in the lock file.
    pub locked: Option<Locked>,
}

/// A `version` constraint of the `coder` provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    pub span: Span,
    /// Its text, when it is a known string.
    pub text: Option<String>,
    /// The versions it allows, when it parses.
    pub range: Option<VersionRange>,
}

/// The exact version a lock file selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub span: Span,
    pub text: String,
    pub version: Version,
}

impl ProviderPin {
    /// Reads the `version` of the module's `coder` entry in `required_providers`.
    pub fn of(module: &TerraformModule) -> ProviderPin {
        ProviderPin::of_requirement(module.coder_provider().and_then(|p| p.version))
    }

    /// The pin of one `version` constraint (none: no constraint), without a lock file.
    pub fn of_requirement(version: Option<&Spanned<Value>>) -> ProviderPin {
        let constraint = version.map(|version| {
            let text = version.value.as_str().map(str::to_owned);
            let range = text.as_deref().and_then(VersionRange::parse);
            Constraint {
                span: version.span,
                text,
                range,
            }
        });
        ProviderPin {
            constraint,
            locked: None,
        }
    }

    /// Whether the provider Terraform installs is `version` or later: `None` when the pin
    /// cannot be read. Without a lock file Terraform installs the newest version the
    /// constraint allows (and without a constraint, the newest of all).
    pub fn installs_at_least(&self, version: Version) -> Option<bool> {
        if let Some(locked) = &self.locked {
            return Some(locked.version >= version);
        }
        match &self.constraint {
            None => Some(true),
            Some(c) => c.range.map(|r| r.allows_at_least(version)),
        }
    }

    /// Whether the pin admits a version below `version` (a lock at an older version, or a
    /// constraint whose lower end is older): `None` when the pin cannot be read, `false`
    /// with no pin at all.
    pub fn admits_below(&self, version: Version) -> Option<bool> {
        if let Some(locked) = &self.locked {
            return Some(locked.version < version);
        }
        match &self.constraint {
            None => Some(false),
            Some(c) => c.range.map(|r| r.allows_below(version)),
        }
    }

    /// Where the pin is and what it says, for a message: the lock file's version when there
    /// is one (`the lock file's 2.13.1`), else the constraint (`the pin `>= 2.0``).
    pub fn describe(&self) -> Option<(Span, String)> {
        if let Some(locked) = &self.locked {
            return Some((
                locked.span,
                format!("the lock file's version {}", locked.text),
            ));
        }
        let c = self.constraint.as_ref()?;
        Some(match &c.text {
            Some(text) => (c.span, format!("the pin `{text}`")),
            None => (c.span, "the provider's version constraint".to_owned()),
        })
    }
}

impl ProviderPin {
    /// The pin of a module called by a root module with this pin: Terraform installs one
    /// version that meets every module's constraint, and the root's lock file still decides.
    pub fn with_module_constraint(&self, module: Option<Constraint>) -> ProviderPin {
        let Some(module) = module else {
            return self.clone();
        };
        let constraint = match &self.constraint {
            None => module,
            Some(root) => Constraint {
                span: module.span,
                text: match (&root.text, &module.text) {
                    (Some(a), Some(b)) => Some(format!("{a}, {b}")),
                    _ => None,
                },
                range: match (root.range, module.range) {
                    (Some(a), Some(b)) => Some(a.intersect(b)),
                    _ => None,
                },
            },
        };
        ProviderPin {
            constraint: Some(constraint),
            locked: self.locked.clone(),
        }
    }
}

impl super::Workspace {
    /// The pin of the root module a span's file belongs to: the deepest root folder that
    /// holds the file (a local module's files belong to the root that calls them).
    pub fn provider_pin_at(&self, span: Span) -> &ProviderPin {
        let path = self.sources.path(span);
        self.provider_pins
            .iter()
            .rev()
            .filter(|(folder, _)| path.starts_with(folder))
            .max_by_key(|(folder, _)| folder.components().count())
            .map_or(&self.provider_pin, |(_, pin)| pin)
    }
}

/// Reads `major.minor.patch` (the format of knowledge-base versions and lock files).
pub fn version(text: &str) -> Option<Version> {
    parse_version(text.trim().trim_start_matches('v')).map(|(v, _)| v)
}

/// `major.minor.patch`; missing parts are 0, pre-release and build suffixes are ignored.
pub type Version = (u64, u64, u64);

/// One end of a range: the version and whether it is included.
type Bound = (Version, bool);

/// The versions a Terraform version constraint such as `">= 0.6, < 2.0"` or `"~> 0.12"` allows,
/// read the way Terraform reads provider constraints: `~> 1.2` is `>= 1.2, < 2.0`, `~> 1.2.3`
/// is `>= 1.2.3, < 1.3.0`, a bare `0.6` means exactly `0.6.0`. `!=` terms are ignored (they
/// remove single versions, never a whole major version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VersionRange {
    lower: Option<Bound>,
    upper: Option<Bound>,
}

impl VersionRange {
    /// Reads a comma-separated constraint; `None` if any term is not understood.
    pub fn parse(text: &str) -> Option<VersionRange> {
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

    /// The versions both ranges allow.
    pub fn intersect(mut self, other: VersionRange) -> VersionRange {
        if let Some(lower) = other.lower {
            self.raise(lower);
        }
        if let Some(upper) = other.upper {
            self.cap(upper);
        }
        self
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
    pub fn allows_major(&self, major: u64) -> bool {
        self.allows_at_least((major, 0, 0))
    }

    /// Whether some version below `version` is in the range.
    pub fn allows_below(&self, version: Version) -> bool {
        match self.lower {
            None => version > (0, 0, 0),
            Some((lower, _)) => lower < version,
        }
    }

    /// Whether `version` or some later version is in the range: whether the version Terraform
    /// installs under it ([`VersionRange::newest_is_in`]) is `version` or later.
    pub fn allows_at_least(&self, version: Version) -> bool {
        self.newest_is_in(&VersionRange {
            lower: Some((version, true)),
            upper: None,
        })
    }

    /// Whether no version is in the range (`>= 3, < 2`).
    fn is_empty(&self) -> bool {
        match (self.lower, self.upper) {
            (Some((l, l_incl)), Some((u, u_incl))) => l > u || (l == u && !(l_incl && u_incl)),
            _ => false,
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

impl VersionRange {
    /// Whether the newest version this range allows, the one Terraform installs, is in `other`.
    /// A range without an upper end allows versions past every bounded range; an empty range
    /// installs nothing. The one reading of "what Terraform installs" ([`VersionRange::allows_at_least`]
    /// is this with an open range from a version).
    pub fn newest_is_in(&self, other: &VersionRange) -> bool {
        if self.is_empty() {
            return false;
        }
        let Some((top, inclusive)) = self.upper else {
            return other.upper.is_none();
        };
        let above_lower = |strictly: bool| {
            other
                .lower
                .is_none_or(|(l, l_incl)| l < top || (!strictly && l == top && l_incl))
        };
        if inclusive {
            // `top` itself.
            above_lower(false)
                && other
                    .upper
                    .is_none_or(|(u, u_incl)| top < u || (top == u && u_incl))
        } else {
            // Just below `top`.
            above_lower(true) && other.upper.is_none_or(|(u, _)| u >= top)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn what_terraform_installs_under_a_pin() {
        let pin = |constraint: Option<&str>, locked: Option<&str>| ProviderPin {
            constraint: constraint.map(|t| Constraint {
                span: Span::default(),
                text: Some(t.to_owned()),
                range: VersionRange::parse(t),
            }),
            locked: locked.map(|t| Locked {
                span: Span::default(),
                text: t.to_owned(),
                version: version(t).unwrap(),
            }),
        };
        let v2_14 = (2, 14, 0);
        /// (constraint, lock, installs >= 2.14.0, admits below 2.14.0)
        type Case<'a> = (Option<&'a str>, Option<&'a str>, Option<bool>, Option<bool>);
        let cases: &[Case] = &[
            (None, None, Some(true), Some(false)),
            (Some(">= 2.0"), None, Some(true), Some(true)),
            (Some("~> 2.13.0"), None, Some(false), Some(true)),
            (Some("< 2.14"), None, Some(false), Some(true)),
            (Some(">= 2.14.0"), None, Some(true), Some(false)),
            (Some("latest"), None, None, None),
            (Some(">= 2.0"), Some("2.13.1"), Some(false), Some(true)),
            (Some("latest"), Some("2.15.0"), Some(true), Some(false)),
            (None, Some("2.14.0"), Some(true), Some(false)),
        ];
        for (constraint, locked, at_least, below) in cases {
            let p = pin(*constraint, *locked);
            assert_eq!(
                p.installs_at_least(v2_14),
                *at_least,
                "{constraint:?} {locked:?}"
            );
            assert_eq!(p.admits_below(v2_14), *below, "{constraint:?} {locked:?}");
        }
        assert_eq!(version("v2.1.0"), Some((2, 1, 0)));
        assert_eq!(version("2.x"), None);
    }

    #[test]
    fn the_newest_allowed_version_is_what_terraform_installs() {
        let before_v5 = VersionRange::parse("< 5.0.0").unwrap();
        // call's constraint, whether its newest version is below 5
        let cases: &[(&str, bool)] = &[
            ("~> 5.2", false),
            ("~> 4.0", true),
            ("~> 4.2.1", true),
            ("4.9.9", true),
            ("5.0.0", false),
            ("< 5", true),
            ("<= 5.0.0", false),
            (">= 2.0", false),
            (">= 2.0, < 6", false),
            ("2.0.0", true),
        ];
        for (text, want) in cases {
            let call = VersionRange::parse(text).unwrap();
            assert_eq!(call.newest_is_in(&before_v5), *want, "{text:?}");
        }
        let from_v5 = VersionRange::parse(">= 5.0.0").unwrap();
        assert!(VersionRange::parse(">= 1").unwrap().newest_is_in(&from_v5));
        assert!(VersionRange::parse("~> 5.2")
            .unwrap()
            .newest_is_in(&from_v5));
        assert!(!VersionRange::parse("~> 4.2")
            .unwrap()
            .newest_is_in(&from_v5));
    }
}
