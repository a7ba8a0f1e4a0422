//! `public-admin-app` (PT601): share = public on an admin surface.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "public-admin-app",
        code: "PT601",
        default_severity: Severity::Warning,
        summary: "share = public on an admin surface",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
