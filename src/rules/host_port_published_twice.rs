//! `host-port-published-twice` (PT204): One host port published by two compose services.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "host-port-published-twice",
        code: "PT204",
        default_severity: Severity::Error,
        summary: "One host port published by two compose services",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
