//! `env-space-around-equals` (PT403): Spaces around = in an env file.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-space-around-equals",
        code: "PT403",
        default_severity: Severity::Error,
        summary: "Spaces around = in an env file",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
