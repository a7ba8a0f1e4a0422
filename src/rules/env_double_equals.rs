//! `env-double-equals` (PT401): KEY==value: the value starts with =.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "env-double-equals",
        code: "PT401",
        default_severity: Severity::Error,
        summary: "KEY==value: the value starts with =",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
