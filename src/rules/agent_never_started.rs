//! `agent-never-started` (PT114): A coder_agent whose init_script nothing runs.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "agent-never-started",
        code: "PT114",
        default_severity: Severity::Error,
        summary: "A coder_agent whose init_script nothing runs",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
