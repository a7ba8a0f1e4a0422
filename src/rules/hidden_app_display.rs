//! `hidden-app-display` (PT115): A hidden app with display settings that are never shown.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "hidden-app-display",
        code: "PT115",
        default_severity: Severity::Warning,
        summary: "A hidden app with display settings that are never shown",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
