//! `builtin-var-set` (PT307): A variable the program sets itself, set by hand.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "builtin-var-set",
        code: "PT307",
        default_severity: Severity::Warning,
        summary: "A variable the program sets itself, set by hand",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
