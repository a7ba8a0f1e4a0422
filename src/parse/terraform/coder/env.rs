//! Environment variables: [`EnvVar`], the one shape of a variable set by `coder_agent.env`, a
//! docker container's `"K=V"` strings or a Kubernetes `env` block; and `resource "coder_env"`.

use super::agent_of;
use crate::parse::terraform::{Attribute, Block, Spanned, TerraformModule, Value};

/// An environment variable: a key of `coder_agent.env`, a `"K=V"` string of a docker container,
/// an `env { name value }` block of a Kubernetes container.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvVar {
    /// The name, spanning only its text when the source allows (no quotes, no escapes).
    pub name: Spanned<String>,
    /// The value; for `"K=V"` strings the span covers `V` only.
    pub value: Spanned<Value>,
}

/// `resource "coder_env" "NAME"`.
#[derive(Clone, Debug)]
pub struct CoderEnv<'a> {
    pub block: &'a Block,
    pub name: &'a Spanned<String>,
    pub agent_id: Option<&'a Attribute>,
    /// The `name` attribute: the variable it sets.
    pub env_name: Option<&'a Attribute>,
    pub value: Option<&'a Attribute>,
}

impl CoderEnv<'_> {
    /// The agent named by `agent_id = coder_agent.NAME.id`.
    pub fn agent_name(&self) -> Option<&str> {
        agent_of(self.agent_id)
    }
}

impl TerraformModule {
    /// Every `coder_env` resource.
    pub fn envs(&self) -> Vec<CoderEnv<'_>> {
        self.named_resources("coder_env")
            .map(|(block, name)| CoderEnv {
                block,
                name,
                agent_id: block.attribute("agent_id"),
                env_name: block.attribute("name"),
                value: block.attribute("value"),
            })
            .collect()
    }
}
