//! `compose-unknown-dependency` (PT502): depends_on names a service that does not exist.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "compose-unknown-dependency",
        code: "PT502",
        default_severity: Severity::Error,
        summary: "depends_on names a service that does not exist",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
