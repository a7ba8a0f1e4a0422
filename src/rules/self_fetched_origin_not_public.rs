//! `self-fetched-origin-not-public` (PT304): An origin a server fetches itself, behind an app that is not public.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "self-fetched-origin-not-public",
        code: "PT304",
        default_severity: Severity::Error,
        summary: "An origin a server fetches itself, behind an app that is not public",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
