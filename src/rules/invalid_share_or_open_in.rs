//! `invalid-share-or-open-in` (PT108): A share or open_in value Coder does not accept.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "invalid-share-or-open-in",
        code: "PT108",
        default_severity: Severity::Error,
        summary: "A share or open_in value Coder does not accept",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
