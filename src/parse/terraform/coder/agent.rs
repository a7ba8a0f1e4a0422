//! `resource "coder_agent"`: the agents of a template (name, `os`, `arch`, `startup_script`, the
//! `env` map, `metadata` keys), and every use of `coder_agent.NAME.<attribute>` in the module:
//! `init_script` where an agent is started, `token` where it gets its credentials.

use super::EnvVar;
use crate::parse::terraform::{Attribute, Block, Spanned, TerraformModule, Value};
use crate::source::Span;

/// `resource "coder_agent" "NAME"`.
#[derive(Clone, Debug)]
pub struct Agent<'a> {
    pub block: &'a Block,
    /// The resource name, `main` in `coder_agent.main`.
    pub name: &'a Spanned<String>,
    pub os: Option<&'a Attribute>,
    pub arch: Option<&'a Attribute>,
    /// Its heredoc, if any, is in `startup_script.heredoc`.
    pub startup_script: Option<&'a Attribute>,
    /// The `env` map; empty when the map is not known statically.
    pub env: Vec<EnvVar>,
    /// The `key` of every `metadata` block.
    pub metadata_keys: Vec<&'a Spanned<Value>>,
}

/// A use of `coder_agent.AGENT.<attribute>` somewhere in the module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentReference {
    pub agent: String,
    pub span: Span,
}

impl TerraformModule {
    /// Every `coder_agent` resource.
    pub fn agents(&self) -> Vec<Agent<'_>> {
        self.named_resources("coder_agent")
            .map(|(block, name)| Agent {
                block,
                name,
                os: block.attribute("os"),
                arch: block.attribute("arch"),
                startup_script: block.attribute("startup_script"),
                env: block
                    .value("env")
                    .and_then(|v| v.value.as_map())
                    .unwrap_or_default()
                    .iter()
                    .map(|e| EnvVar {
                        name: e.key.clone(),
                        value: e.value.clone(),
                    })
                    .collect(),
                metadata_keys: block
                    .blocks_of("metadata")
                    .filter_map(|m| m.value("key"))
                    .collect(),
            })
            .collect()
    }

    /// Every use of `coder_agent.NAME.init_script`: where agents get started.
    pub fn init_script_references(&self) -> Vec<AgentReference> {
        self.agent_references("init_script")
    }

    /// Every use of `coder_agent.NAME.token`: where agents get their credentials.
    pub fn token_references(&self) -> Vec<AgentReference> {
        self.agent_references("token")
    }

    /// Every use of `coder_agent.NAME.<attribute>` in any attribute of any block, in file order.
    pub fn agent_references(&self, attribute: &str) -> Vec<AgentReference> {
        self.blocks()
            .flat_map(Block::all_attributes)
            .flat_map(|a| a.references.iter())
            .filter_map(|r| match r.names.as_slice() {
                [root, agent, attr, ..] if root == "coder_agent" && attr == attribute => {
                    Some(AgentReference {
                        agent: agent.clone(),
                        span: r.span,
                    })
                }
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::terraform::coder::tests::{module, s, text, DOCKER_TEMPLATE};

    #[test]
    fn agent_env_startup_script_and_metadata() {
        let src = DOCKER_TEMPLATE;
        let m = module(src);
        let [agent] = m.agents().try_into().expect("one agent");
        assert_eq!(agent.name.value, "main");
        assert_eq!(text(src, agent.name.span), "main");
        assert_eq!(agent.os.unwrap().value.value, s("linux"));
        let arch = agent.arch.unwrap().value.value.as_reference().unwrap();
        assert_eq!(arch.path, "data.coder_provisioner.me.arch");

        let env: Vec<(&str, &str)> = agent
            .env
            .iter()
            .map(|e| (e.name.value.as_str(), text(src, e.name.span)))
            .collect();
        assert_eq!(
            env,
            [
                ("GIT_AUTHOR_NAME", "GIT_AUTHOR_NAME"),
                ("GIT_AUTHOR_EMAIL", "GIT_AUTHOR_EMAIL"),
                ("CONVEX_CLOUD_ORIGIN", "CONVEX_CLOUD_ORIGIN"),
                ("PORT", "PORT"),
            ]
        );
        assert_eq!(agent.env[0].value.value, Value::Unknown);
        let email = agent.env[1].value.value.as_reference().unwrap();
        assert_eq!(email.path, "data.coder_workspace_owner.me.email");
        assert!(matches!(agent.env[2].value.value, Value::Template(_)));
        assert_eq!(agent.env[3].value.value, Value::Number(3210.0));
        assert_eq!(text(src, agent.env[3].value.span), "local.api_port");

        let script = agent.startup_script.unwrap();
        let heredoc = script.heredoc.as_ref().unwrap();
        assert!(heredoc.body.value.starts_with("    set -e\n    if [ ! -f"));
        assert_eq!(text(src, heredoc.body.span), heredoc.body.value);
        // Locals inside the script resolve; the value has the indentation stripped.
        assert!(script
            .value
            .value
            .as_str()
            .unwrap()
            .contains("\nconvex-local-backend --port 3210 --site-proxy-port 3211 &\n"));

        let keys: Vec<&str> = agent
            .metadata_keys
            .iter()
            .map(|k| text(src, k.span))
            .collect();
        assert_eq!(keys, ["\"0_cpu_usage\"", "\"1_ram_usage\""]);
    }

    #[test]
    fn agent_init_script_and_token_references() {
        let src = DOCKER_TEMPLATE;
        let m = module(src);
        let init: Vec<(String, &str)> = m
            .init_script_references()
            .into_iter()
            .map(|r| (r.agent, text(src, r.span)))
            .collect();
        assert_eq!(init, [("main".to_string(), "coder_agent.main.init_script")]);
        let token: Vec<(String, &str)> = m
            .token_references()
            .into_iter()
            .map(|r| (r.agent, text(src, r.span)))
            .collect();
        assert_eq!(token, [("main".to_string(), "coder_agent.main.token")]);
    }

    #[test]
    fn init_script_references_in_every_kind_of_expression() {
        let cases: &[(&str, &[&str])] = &[
            (
                "resource \"aws_instance\" \"vm\" {\n  user_data = <<-EOT\n    #!/bin/sh\n    ${coder_agent.vm.init_script}\n  EOT\n}\n",
                &["coder_agent.vm.init_script"],
            ),
            ("locals {\n  boot = coder_agent.x.init_script\n}\n", &["coder_agent.x.init_script"]),
            (
                "resource \"docker_container\" \"c\" {\n  count = 1\n  command = [\"sh\", \"-c\", coder_agent.main[count.index].init_script]\n}\n",
                &["coder_agent.main[count.index].init_script"],
            ),
            (
                "resource \"x\" \"y\" {\n  dynamic \"boot\" {\n    for_each = [1]\n    content {\n      script = base64encode(coder_agent.a.init_script)\n    }\n  }\n}\n",
                &["coder_agent.a.init_script"],
            ),
            // Must not count: another attribute, another resource type, a string that merely
            // spells the name.
            ("locals {\n  a = coder_agent.main.init\n}\n", &[]),
            ("locals {\n  a = coder_agent_main.init_script\n}\n", &[]),
            ("locals {\n  a = \"coder_agent.main.init_script\"\n}\n", &[]),
        ];
        for (src, want) in cases {
            let m = module(src);
            let got: Vec<&str> = m
                .init_script_references()
                .into_iter()
                .map(|r| text(src, r.span))
                .collect();
            assert_eq!(got, *want, "{src}");
        }
    }
}
