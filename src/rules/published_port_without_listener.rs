//! `published-port-without-listener` (PT203): A compose published port whose container port has no listener.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "published-port-without-listener",
        code: "PT203",
        default_severity: Severity::Error,
        summary: "A compose published port whose container port has no listener",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
