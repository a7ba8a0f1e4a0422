//! `origin-unknown-app` (PT301): A URL that names a Coder app slug no app has.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "origin-unknown-app",
        code: "PT301",
        default_severity: Severity::Error,
        summary: "A URL that names a Coder app slug no app has",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
