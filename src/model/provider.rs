//! The template's pin of the Coder provider: which provider versions Terraform may install.

use super::template::TerraformModule;
use crate::source::Span;

/// What the template's `coder` provider pin says about version 2.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProviderPin {
    /// No `version` constraint (or no template): Terraform installs the newest provider.
    #[default]
    Missing,
    /// A constraint that admits some 2.x or later version: where it is, and its text.
    AllowsV2(Span, String),
    /// A constraint that stays below 2.
    BelowV2(Span, String),
    /// A constraint that is not a known string, or does not parse.
    Unreadable(Span),
}

impl ProviderPin {
    /// Reads the `version` of the template's `coder` entry in `required_providers`.
    pub fn of(module: &TerraformModule) -> ProviderPin {
        let Some(version) = module.coder_provider().and_then(|p| p.version) else {
            return ProviderPin::Missing;
        };
        let Some(text) = version.value.as_str() else {
            return ProviderPin::Unreadable(version.span);
        };
        match VersionRange::parse(text) {
            Some(range) if range.allows_major(2) => {
                ProviderPin::AllowsV2(version.span, text.to_owned())
            }
            Some(_) => ProviderPin::BelowV2(version.span, text.to_owned()),
            None => ProviderPin::Unreadable(version.span),
        }
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

impl VersionRange {
    /// Whether the newest version this range allows, the one Terraform installs, is in `other`.
    /// A range without an upper end allows versions past every bounded range.
    pub fn newest_is_in(&self, other: &VersionRange) -> bool {
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
