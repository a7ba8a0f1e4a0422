//! `invalid-agent-name` (PT103): A coder_agent name that Coder rejects.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "invalid-agent-name",
        code: "PT103",
        default_severity: Severity::Error,
        summary: "A coder_agent name that Coder rejects",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
