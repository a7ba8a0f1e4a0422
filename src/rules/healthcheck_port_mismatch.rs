//! `healthcheck-port-mismatch` (PT202): An app healthcheck on another port than the app.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "healthcheck-port-mismatch",
        code: "PT202",
        default_severity: Severity::Error,
        summary: "An app healthcheck on another port than the app",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
