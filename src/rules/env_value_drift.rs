//! `env-value-drift` (PT306): One variable with different values in different files.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-value-drift",
        code: "PT306",
        default_severity: Severity::Warning,
        summary: "One variable with different values in different files",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
