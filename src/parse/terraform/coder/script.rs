//! `resource "coder_script"`: the scripts an agent runs (on start, on stop, on a schedule), with
//! the agent they belong to.

use super::agent_of;
use crate::parse::terraform::{Attribute, Block, Spanned, TerraformModule};

/// `resource "coder_script" "NAME"`.
#[derive(Clone, Debug)]
pub struct CoderScript<'a> {
    pub block: &'a Block,
    pub name: &'a Spanned<String>,
    pub agent_id: Option<&'a Attribute>,
    pub display_name: Option<&'a Attribute>,
    /// Often a heredoc or a `templatefile(...)`
    /// ([`Value::File`](crate::parse::terraform::Value::File)).
    pub script: Option<&'a Attribute>,
    pub run_on_start: Option<&'a Attribute>,
    pub run_on_stop: Option<&'a Attribute>,
    pub cron: Option<&'a Attribute>,
    pub start_blocks_login: Option<&'a Attribute>,
}

impl CoderScript<'_> {
    /// The agent named by `agent_id = coder_agent.NAME.id`.
    pub fn agent_name(&self) -> Option<&str> {
        agent_of(self.agent_id)
    }
}

impl TerraformModule {
    /// Every `coder_script` resource.
    pub fn scripts(&self) -> Vec<CoderScript<'_>> {
        self.named_resources("coder_script")
            .map(|(block, name)| CoderScript {
                block,
                name,
                agent_id: block.attribute("agent_id"),
                display_name: block.attribute("display_name"),
                script: block.attribute("script"),
                run_on_start: block.attribute("run_on_start"),
                run_on_stop: block.attribute("run_on_stop"),
                cron: block.attribute("cron"),
                start_blocks_login: block.attribute("start_blocks_login"),
            })
            .collect()
    }
}
