//! `app-url-not-localhost` (PT207): A coder_app url that does not point at the agent's localhost over http.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "app-url-not-localhost",
        code: "PT207",
        default_severity: Severity::Warning,
        summary: "A coder_app url that does not point at the agent's localhost over http",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
