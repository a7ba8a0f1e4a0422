//! `app-text-too-long` (PT109): display_name, group or tooltip longer than Coder allows.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "app-text-too-long",
        code: "PT109",
        default_severity: Severity::Error,
        summary: "display_name, group or tooltip longer than Coder allows",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
