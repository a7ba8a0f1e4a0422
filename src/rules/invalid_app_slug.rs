//! `invalid-app-slug` (PT101): A coder_app slug that Coder rejects.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "invalid-app-slug",
        code: "PT101",
        default_severity: Severity::Error,
        summary: "A coder_app slug that Coder rejects",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
