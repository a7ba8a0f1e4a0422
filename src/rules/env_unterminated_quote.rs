//! `env-unterminated-quote` (PT404): A quoted env value that is never closed.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-unterminated-quote",
        code: "PT404",
        default_severity: Severity::Error,
        summary: "A quoted env value that is never closed",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
