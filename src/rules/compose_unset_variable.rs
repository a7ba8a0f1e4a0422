//! `compose-unset-variable` (PT503): A compose variable with no value and no default.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "compose-unset-variable",
        code: "PT503",
        default_severity: Severity::Warning,
        summary: "A compose variable with no value and no default",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
