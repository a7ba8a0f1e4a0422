//! `module "NAME" { source = ... }`: module calls with their inputs, and the module name of a Coder
//! registry source.

use super::agent_of;
use crate::parse::terraform::{Attribute, Block, Spanned, TerraformModule};

/// `module "NAME" { source = ... }`.
#[derive(Clone, Debug)]
pub struct ModuleCall<'a> {
    pub block: &'a Block,
    pub name: &'a Spanned<String>,
    pub source: Option<&'a Attribute>,
    pub version: Option<&'a Attribute>,
    /// Every other attribute except the meta-arguments `count`, `for_each`, `depends_on`,
    /// `providers`.
    pub inputs: Vec<&'a Attribute>,
    pub count: Option<&'a Attribute>,
    pub for_each: Option<&'a Attribute>,
}

impl<'a> ModuleCall<'a> {
    /// An input by name (`port`, `slug`, `agent_id`, ...).
    pub fn input(&self, name: &str) -> Option<&'a Attribute> {
        self.inputs.iter().copied().find(|a| a.name.value == name)
    }

    /// The agent named by the `agent_id` input.
    pub fn agent_name(&self) -> Option<&str> {
        agent_of(self.input("agent_id"))
    }

    /// The module name of a Coder registry source: `code-server` for
    /// `registry.coder.com/coder/code-server/coder` (also the older `registry.coder.com/modules/...`).
    pub fn registry_name(&self) -> Option<&str> {
        let source = self.source?.value.value.as_str()?;
        let source = source.split_once("://").map_or(source, |(_, rest)| rest);
        let mut segments = source.split('/');
        if segments.next()? != "registry.coder.com" {
            return None;
        }
        let _namespace = segments.next()?;
        segments.next().filter(|s| !s.is_empty())
    }
}

impl TerraformModule {
    /// Every `module` block.
    pub fn modules(&self) -> Vec<ModuleCall<'_>> {
        const META: [&str; 6] = [
            "source",
            "version",
            "count",
            "for_each",
            "depends_on",
            "providers",
        ];
        self.blocks()
            .filter(|b| b.kind.value == "module")
            .filter_map(|block| {
                Some(ModuleCall {
                    block,
                    name: block.name()?,
                    source: block.attribute("source"),
                    version: block.attribute("version"),
                    inputs: block
                        .attributes
                        .iter()
                        .filter(|a| !META.contains(&a.name.value.as_str()))
                        .collect(),
                    count: block.attribute("count"),
                    for_each: block.attribute("for_each"),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::terraform::coder::tests::module;

    #[test]
    fn registry_module_names() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "registry.coder.com/coder/code-server/coder",
                Some("code-server"),
            ),
            (
                "registry.coder.com/modules/jupyterlab/coder",
                Some("jupyterlab"),
            ),
            (
                "https://registry.coder.com/coder/kasmvnc/coder",
                Some("kasmvnc"),
            ),
            ("./modules/local", None),
            ("registry.terraform.io/hashicorp/consul/aws", None),
            ("registry.coder.com/coder", None),
        ];
        for (source, want) in cases {
            let src = format!("module \"m\" {{\n  source = \"{source}\"\n}}\n");
            let m = module(&src);
            assert_eq!(m.modules()[0].registry_name(), *want, "{source}");
        }
    }
}
