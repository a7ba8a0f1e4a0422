//! `coder-script-without-trigger` (PT112): A coder_script that never runs, or start_blocks_login without run_on_start.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "coder-script-without-trigger",
        code: "PT112",
        default_severity: Severity::Error,
        summary: "A coder_script that never runs, or start_blocks_login without run_on_start",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
