//! `app-port-not-served` (PT201): A coder_app url port that nothing serves.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "app-port-not-served",
        code: "PT201",
        default_severity: Severity::Error,
        summary: "A coder_app url port that nothing serves",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
