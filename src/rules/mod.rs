//! Rules: one file per rule, each a [`Rule`] with its documentation, its check and its tests.
//!
//! [`RULES`] is the one list of all rules; the CLI (`portolan rules`, `--select`, `--ignore`),
//! the SARIF rule table and the docs all derive from it. A rule reads the whole
//! [`Workspace`] model and reports [`Diagnostic`]s through a [`Sink`].

use crate::diagnostic::{Diagnostic, RuleMeta, Severity};
use crate::model::Workspace;
use crate::source::Span;

/// A rule: what it is called and documented as, and the function that checks a workspace.
pub struct Rule {
    pub meta: RuleMeta,
    pub check: fn(&Workspace, &mut Sink),
}

/// Collects one rule's findings, stamping each with the rule's name and code.
pub struct Sink {
    meta: &'static RuleMeta,
    pub findings: Vec<Diagnostic>,
}

impl Sink {
    pub fn new(meta: &'static RuleMeta) -> Self {
        Sink {
            meta,
            findings: Vec::new(),
        }
    }

    /// Reports a finding at the rule's default severity.
    pub fn report(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.report_as(self.meta.default_severity, span, message)
    }

    /// Reports a finding at a given severity (error when proven, warning when likely).
    pub fn report_as(
        &mut self,
        severity: Severity,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let mut d = Diagnostic::new(severity, span, message);
        d.rule = Some(self.meta.name);
        d.code = Some(self.meta.code);
        self.findings.push(d);
        self.findings.last_mut().expect("just pushed")
    }
}

macro_rules! rules {
    ($($module:ident),* $(,)?) => {
        $(pub mod $module;)*
        /// Every rule, in code order.
        pub static RULES: &[&Rule] = &[$(&$module::RULE),*];
    };
}

rules! {}

/// Looks a rule up by name or code.
pub fn find(name_or_code: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.meta.name == name_or_code || r.meta.code.eq_ignore_ascii_case(name_or_code))
}

/// The metadata of every rule, for reports.
pub fn metas() -> Vec<&'static RuleMeta> {
    RULES.iter().map(|r| &r.meta).collect()
}

/// Runs the given rules over a workspace.
pub fn run(workspace: &Workspace, rules: &[&'static Rule]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in rules {
        let mut sink = Sink::new(&rule.meta);
        (rule.check)(workspace, &mut sink);
        out.extend(sink.findings);
    }
    out
}
