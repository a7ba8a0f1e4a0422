//! `browser-var-localhost` (PT305): A browser-side variable holding a localhost URL in a Coder template.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "browser-var-localhost",
        code: "PT305",
        default_severity: Severity::Warning,
        summary: "A browser-side variable holding a localhost URL in a Coder template",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
