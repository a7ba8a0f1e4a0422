//! `duplicate-metadata-key` (PT111): Two metadata blocks with the same key on one agent.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "duplicate-metadata-key",
        code: "PT111",
        default_severity: Severity::Error,
        summary: "Two metadata blocks with the same key on one agent",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
