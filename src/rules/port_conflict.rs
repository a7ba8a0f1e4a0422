//! `port-conflict` (PT205): Two modules or processes listening on one port.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "port-conflict",
        code: "PT205",
        default_severity: Severity::Error,
        summary: "Two modules or processes listening on one port",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
