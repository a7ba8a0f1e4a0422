//! `app-url-with-command` (PT104): A coder_app with both url and command.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "app-url-with-command",
        code: "PT104",
        default_severity: Severity::Error,
        summary: "A coder_app with both url and command",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
