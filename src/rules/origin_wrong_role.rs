//! `origin-wrong-role` (PT302): An env variable that points at the wrong listener for its role.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "origin-wrong-role",
        code: "PT302",
        default_severity: Severity::Error,
        summary: "An env variable that points at the wrong listener for its role",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
