//! `external-app-conflict` (PT106): An external coder_app with settings external apps cannot have.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "external-app-conflict",
        code: "PT106",
        default_severity: Severity::Error,
        summary: "An external coder_app with settings external apps cannot have",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
