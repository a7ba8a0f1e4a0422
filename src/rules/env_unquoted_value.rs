//! `env-unquoted-value` (PT405): An unquoted env value with a space or ` #`.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-unquoted-value",
        code: "PT405",
        default_severity: Severity::Warning,
        summary: "An unquoted env value with a space or ` #`",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
