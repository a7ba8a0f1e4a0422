//! The `coder` provider pin: its entry in `terraform { required_providers { ... } }`.

use crate::parse::terraform::{Attribute, Block, Spanned, TerraformFile, TerraformModule, Value};
use crate::source::Span;

/// The version of the `coder/coder` provider in a `.terraform.lock.hcl`:
/// `provider "registry.terraform.io/coder/coder" { version = "2.13.1" }`. The text and the span
/// of the version string.
pub fn locked_coder_version(lock: &TerraformFile) -> Option<(String, Span)> {
    lock.blocks
        .iter()
        .filter(|b| b.kind.value == "provider")
        .filter(|b| {
            b.labels
                .first()
                .is_some_and(|l| l.value.to_ascii_lowercase().ends_with("/coder/coder"))
        })
        .find_map(|b| {
            let version = b.value("version")?;
            Some((version.value.as_str()?.to_owned(), version.span))
        })
}

/// An entry of `terraform { required_providers { NAME = { source version } } }`.
#[derive(Clone, Debug)]
pub struct ProviderRequirement<'a> {
    pub attribute: &'a Attribute,
    pub source: Option<&'a Spanned<Value>>,
    /// The version constraint; the legacy form `coder = "0.6.0"` is a version too.
    pub version: Option<&'a Spanned<Value>>,
}

impl TerraformModule {
    /// The `required_providers` entry of the `coder` provider (`source = "coder/coder"`, or the
    /// local name `coder`).
    pub fn coder_provider(&self) -> Option<ProviderRequirement<'_>> {
        self.coder_provider_where(|_| true)
    }

    /// The `coder` entry of the `terraform` blocks that `keep` accepts (those of one folder).
    pub fn coder_provider_where(
        &self,
        keep: impl Fn(&Block) -> bool,
    ) -> Option<ProviderRequirement<'_>> {
        let requirements: Vec<ProviderRequirement<'_>> = self
            .blocks()
            .filter(|b| b.kind.value == "terraform" && keep(b))
            .flat_map(|t| t.blocks_of("required_providers"))
            .flat_map(|r| r.attributes.iter())
            .map(|attribute| {
                let value = &attribute.value;
                match &value.value {
                    Value::Map(_) => ProviderRequirement {
                        attribute,
                        source: value.value.get("source"),
                        version: value.value.get("version"),
                    },
                    _ => ProviderRequirement {
                        attribute,
                        source: None,
                        version: Some(value),
                    },
                }
            })
            .collect();
        let by_source = requirements.iter().position(|r| {
            r.source
                .and_then(|s| s.value.as_str())
                .is_some_and(|s| s.to_ascii_lowercase().ends_with("coder/coder"))
        });
        let by_name = || {
            requirements
                .iter()
                .position(|r| r.attribute.name.value == "coder")
        };
        let index = by_source.or_else(by_name)?;
        requirements.into_iter().nth(index)
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::terraform::coder::tests::{module, text, DOCKER_TEMPLATE, K8S_TEMPLATE};

    #[test]
    fn coder_provider_version_constraint() {
        let cases: &[(&str, Option<&str>)] = &[
            (DOCKER_TEMPLATE, Some("\">= 2.0.0\"")),
            (K8S_TEMPLATE, Some("\"~> 0.23\"")),
            (
                "terraform {\n  required_providers {\n    coder = \"0.6.0\"\n  }\n}\n",
                Some("\"0.6.0\""),
            ),
            (
                "terraform {\n  required_providers {\n    cdr = { source = \"registry.terraform.io/coder/coder\", version = \"2.1.0\" }\n  }\n}\n",
                Some("\"2.1.0\""),
            ),
            (
                "terraform {\n  required_providers {\n    coder = { source = \"coder/coder\" }\n  }\n}\n",
                None,
            ),
            ("terraform {}\n", None),
        ];
        for (src, want) in cases {
            let m = module(src);
            let got = m
                .coder_provider()
                .and_then(|p| p.version)
                .map(|v| text(src, v.span));
            assert_eq!(got, *want, "{src}");
        }
        let m = module(cases[4].0);
        assert!(
            m.coder_provider().is_some(),
            "a pin without version still names the provider"
        );
        assert!(module(cases[5].0).coder_provider().is_none());
    }
}
