//! `invalid-coder-env-name` (PT113): A coder_env name that is not a valid variable name.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "invalid-coder-env-name",
        code: "PT113",
        default_severity: Severity::Error,
        summary: "A coder_env name that is not a valid variable name",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
