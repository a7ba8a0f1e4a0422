//! The Coder provider pin of a rendered template: the lowest version that knows every
//! attribute the rendered Terraform files use, read from the knowledge base's
//! `coder_provider.added` (the facts `attribute-needs-newer-provider` checks), so the pin and
//! the check never disagree.

use crate::knowledge::Knowledge;
use crate::model::provider::{version, Version};
use crate::source::FileId;

/// The major version the templates are written for: they use none of the attributes v2.0.0
/// removed, and v1 providers lack some they use (`startup_script_behavior` as v2 reads it).
pub const FLOOR: Version = (2, 0, 0);

/// The lowest provider version that accepts every attribute of `texts` (Terraform files) that
/// the knowledge base says came after [`FLOOR`]: each `resource` block's own attributes, as
/// the rule reads them.
pub fn needed(texts: &[&str], knowledge: &Knowledge) -> Version {
    let files: Vec<_> = texts
        .iter()
        .map(|text| crate::parse::terraform::parse(FileId(0), text))
        .collect();
    let mut needed = FLOOR;
    for fact in &knowledge.coder_provider.added {
        let Some(since) = version(&fact.version) else {
            continue;
        };
        let used = files
            .iter()
            .flat_map(|f| f.blocks.iter())
            .filter(|b| b.is_resource(&fact.resource))
            .any(|b| b.attribute(&fact.attribute).is_some());
        if used && since > needed {
            needed = since;
        }
    }
    needed
}

/// The `version` constraint of `required_providers` for `needed`, as an HCL string.
pub fn constraint(needed: Version) -> String {
    let (major, minor, patch) = needed;
    format!("\">= {major}.{minor}.{patch}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(attrs: &str) -> String {
        format!("resource \"coder_app\" \"a\" {{\n  agent_id = coder_agent.main.id\n  slug = \"a\"\n{attrs}}}\n")
    }

    #[test]
    fn the_pin_follows_the_attributes_used() {
        let kb = Knowledge::builtin();
        let with_open_in = app("  open_in = \"tab\"\n");
        let plain = app("  url = \"http://localhost:1\"\n");
        // open_in nested in another block is not the app's attribute.
        let nested = "resource \"coder_app\" \"a\" {\n  x {\n    open_in = \"tab\"\n  }\n}\n";
        // The same attribute name on another resource needs nothing.
        let other = "resource \"coder_script\" \"s\" {\n  open_in = \"tab\"\n}\n";
        let cases: &[(&[&str], Version)] = &[
            (&[], FLOOR),
            (&[&plain], FLOOR),
            (&[&with_open_in], (2, 1, 0)),
            (&[&plain, &with_open_in], (2, 1, 0)),
            (&[nested], FLOOR),
            (&[other], FLOOR),
        ];
        for (texts, want) in cases {
            assert_eq!(needed(texts, kb), *want, "{texts:?}");
        }
    }

    #[test]
    fn a_fact_from_a_knowledge_file_raises_the_pin() {
        let mut kb = Knowledge::builtin().clone();
        kb.extend(
            Knowledge::parse(
                "coder_provider:\n  added:\n    - { resource: coder_agent, attribute: made_up, version: 2.9.3 }\n",
            )
            .unwrap(),
        );
        let agent = "resource \"coder_agent\" \"main\" {\n  made_up = true\n}\n";
        assert_eq!(
            needed(&[agent, &app("  open_in = \"tab\"\n")], &kb),
            (2, 9, 3)
        );
        assert_eq!(needed(&[&app("  open_in = \"tab\"\n")], &kb), (2, 1, 0));
    }

    #[test]
    fn the_constraint_is_an_hcl_string_with_a_lower_end() {
        assert_eq!(constraint((2, 1, 0)), "\">= 2.1.0\"");
        assert_eq!(constraint(FLOOR), "\">= 2.0.0\"");
    }
}
