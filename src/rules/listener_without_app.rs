//! `listener-without-app` (PT206): A port an origin needs that no coder_app exposes.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "listener-without-app",
        code: "PT206",
        default_severity: Severity::Warning,
        summary: "A port an origin needs that no coder_app exposes",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
