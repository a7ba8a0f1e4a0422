//! `compose-missing-file` (PT501): An env_file or mounted script that does not exist.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "compose-missing-file",
        code: "PT501",
        default_severity: Severity::Error,
        summary: "An env_file or mounted script that does not exist",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
