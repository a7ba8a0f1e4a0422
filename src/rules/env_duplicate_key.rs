//! `env-duplicate-key` (PT402): A key set twice in one env file.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-duplicate-key",
        code: "PT402",
        default_severity: Severity::Warning,
        summary: "A key set twice in one env file",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
