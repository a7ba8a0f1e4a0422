//! `env-invalid-key` (PT407): An env key that is not a valid variable name.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-invalid-key",
        code: "PT407",
        default_severity: Severity::Error,
        summary: "An env key that is not a valid variable name",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
