//! `env-undefined-reference` (PT408): A reference to a variable defined nowhere.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-undefined-reference",
        code: "PT408",
        default_severity: Severity::Warning,
        summary: "A reference to a variable defined nowhere",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
