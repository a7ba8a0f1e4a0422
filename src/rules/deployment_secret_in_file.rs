//! `deployment-secret-in-file` (PT308): A deployment variable (JWT_PRIVATE_KEY, JWKS) set in a container or env file.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "deployment-secret-in-file",
        code: "PT308",
        default_severity: Severity::Warning,
        summary: "A deployment variable (JWT_PRIVATE_KEY, JWKS) set in a container or env file",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
