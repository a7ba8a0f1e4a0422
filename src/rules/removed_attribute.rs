//! `removed-attribute` (PT110): An attribute removed in version 2 of the Coder provider.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "removed-attribute",
        code: "PT110",
        default_severity: Severity::Error,
        summary: "An attribute removed in version 2 of the Coder provider",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
