//! `secret-literal` (PT602): A private key, admin key or secret written as a literal in a template or compose file.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "secret-literal",
        code: "PT602",
        default_severity: Severity::Warning,
        summary: "A private key, admin key or secret written as a literal in a template or compose file",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
