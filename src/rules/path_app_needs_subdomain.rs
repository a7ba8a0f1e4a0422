//! `path-app-needs-subdomain` (PT208): A path-based app for a server that needs its own origin.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "path-app-needs-subdomain",
        code: "PT208",
        default_severity: Severity::Warning,
        summary: "A path-based app for a server that needs its own origin",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
