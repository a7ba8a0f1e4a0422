//! `incomplete-healthcheck` (PT107): A coder_app healthcheck without url, interval or threshold.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "incomplete-healthcheck",
        code: "PT107",
        default_severity: Severity::Error,
        summary: "A coder_app healthcheck without url, interval or threshold",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
