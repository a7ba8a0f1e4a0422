//! `app-command-with-subdomain` (PT105): A coder_app with command and subdomain.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "app-command-with-subdomain",
        code: "PT105",
        default_severity: Severity::Error,
        summary: "A coder_app with command and subdomain",
        explanation: "UNWRITTEN",
    },
    check,
};

fn check(_workspace: &Workspace, _sink: &mut Sink) {
    // UNWRITTEN
}
