//! Diagnostics: what portolan tells a user about their files.
//!
//! One type serves spec errors (from `render`) and rule findings (from `check`): a severity, a
//! message that names both ends of a mismatch, a primary location, related locations in other
//! files, an optional help text and an optional fix. Positions are [`Span`]s; reports turn them
//! into lines and columns.

use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Proven broken.
    Error,
    /// Likely broken, or not knowable from the files.
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// The least severity that fails a check (exit 1): `--fail-on`, `--strict` for `warning`. A note
/// (`info`) never fails one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    #[default]
    Error,
    Warning,
}

impl FailOn {
    /// Whether a finding of `severity` fails the check.
    pub fn fails(self, severity: Severity) -> bool {
        match self {
            FailOn::Error => severity == Severity::Error,
            FailOn::Warning => severity <= Severity::Warning,
        }
    }

    /// Whether any of `findings` fails the check.
    pub fn any_fails(self, findings: &[Diagnostic]) -> bool {
        findings.iter().any(|d| self.fails(d.severity))
    }
}

/// A location with a short note about what is there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

impl Label {
    pub fn new(span: Span, message: impl Into<String>) -> Self {
        Label {
            span,
            message: message.into(),
        }
    }
}

/// How safe a fix is to apply without a person reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Keeps the meaning the author intended; may be applied automatically.
    Safe,
    /// Probably right, but changes behaviour; needs a person.
    Unsafe,
}

/// Replace the bytes of `span` with `replacement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub replacement: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// kebab-case rule name, e.g. `app-port-not-served`; `None` for spec and I/O errors.
    pub rule: Option<&'static str>,
    /// Stable code, e.g. `PT201`.
    pub code: Option<&'static str>,
    pub severity: Severity,
    pub message: String,
    pub primary: Label,
    pub related: Vec<Label>,
    pub help: Option<String>,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, span, message)
    }

    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, span, message)
    }

    pub fn new(severity: Severity, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            rule: None,
            code: None,
            severity,
            message: message.into(),
            primary: Label::new(span, ""),
            related: Vec::new(),
            help: None,
            fix: None,
        }
    }

    /// Sets the note under the primary location.
    pub fn with_label(mut self, message: impl Into<String>) -> Self {
        self.primary.message = message.into();
        self
    }

    pub fn with_related(mut self, span: Span, message: impl Into<String>) -> Self {
        self.related.push(Label::new(span, message));
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// What a report needs to know about a rule: its names, default severity and documentation.
///
/// SARIF lists every rule in `tool.driver.rules`; `portolan rule NAME` can print the explanation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleMeta {
    /// kebab-case name, e.g. `app-port-not-served`.
    pub name: &'static str,
    /// Stable code, e.g. `PT201`.
    pub code: &'static str,
    pub default_severity: Severity,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Markdown: `## What it does`, `## Why is this bad?`, `## Example`.
    pub explanation: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_error_ignores_warnings_and_fail_on_warning_ignores_notes() {
        let cases = [
            (FailOn::Error, Severity::Error, true),
            (FailOn::Error, Severity::Warning, false),
            (FailOn::Error, Severity::Info, false),
            (FailOn::Warning, Severity::Error, true),
            (FailOn::Warning, Severity::Warning, true),
            (FailOn::Warning, Severity::Info, false),
        ];
        for (fail_on, severity, fails) in cases {
            assert_eq!(fail_on.fails(severity), fails, "{fail_on:?} {severity:?}");
        }
        let span = Span::new(crate::source::FileId(0), 0, 0);
        let warning = [Diagnostic::new(Severity::Warning, span, "w")];
        assert!(!FailOn::default().any_fails(&warning));
        assert!(FailOn::Warning.any_fails(&warning));
        assert!(!FailOn::Warning.any_fails(&[]));
    }

    #[test]
    fn fail_on_reads_as_the_flag_is_spelt() {
        let read = |text: &str| serde_json::from_str::<FailOn>(text).ok();
        assert_eq!(read("\"warning\""), Some(FailOn::Warning));
        assert_eq!(read("\"error\""), Some(FailOn::Error));
        assert_eq!(read("\"info\""), None);
    }
}
