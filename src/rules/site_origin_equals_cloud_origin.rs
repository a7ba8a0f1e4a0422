//! `site-origin-equals-cloud-origin` (PT303): CONVEX_SITE_ORIGIN equal to CONVEX_CLOUD_ORIGIN.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "site-origin-equals-cloud-origin",
        code: "PT303",
        default_severity: Severity::Error,
        summary: "CONVEX_SITE_ORIGIN equal to CONVEX_CLOUD_ORIGIN",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
