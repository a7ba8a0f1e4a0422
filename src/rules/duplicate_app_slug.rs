//! `duplicate-app-slug` (PT102): Two apps with the same slug in one template.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "duplicate-app-slug",
        code: "PT102",
        default_severity: Severity::Error,
        summary: "Two apps with the same slug in one template",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
