//! `env-multiline-private-key` (PT406): A multi-line private key in an env file.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-multiline-private-key",
        code: "PT406",
        default_severity: Severity::Error,
        summary: "A multi-line private key in an env file",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
