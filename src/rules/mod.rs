//! Rules: one file per rule, in one folder per family, each a [`Rule`] with its documentation,
//! its check and its tests.
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
    pub fn report(&mut self, span: Span, message: impl Into<String>) -> Finding<'_> {
        self.report_as(self.meta.default_severity, span, message)
    }

    /// Reports a finding at a given severity (error when proven, warning when likely).
    pub fn report_as(
        &mut self,
        severity: Severity,
        span: Span,
        message: impl Into<String>,
    ) -> Finding<'_> {
        let mut d = Diagnostic::new(severity, span, message);
        d.rule = Some(self.meta.name);
        d.code = Some(self.meta.code);
        self.findings.push(d);
        Finding(self.findings.last_mut().expect("just pushed"))
    }
}

/// A reported finding, to add labels, related locations, help and a fix to:
/// `sink.report(span, "...").with_related(other, "...").with_help("...")`.
pub struct Finding<'a>(&'a mut Diagnostic);

impl Finding<'_> {
    pub fn with_label(self, message: impl Into<String>) -> Self {
        self.0.primary.message = message.into();
        self
    }

    pub fn with_related(self, span: Span, message: impl Into<String>) -> Self {
        self.0
            .related
            .push(crate::diagnostic::Label::new(span, message));
        self
    }

    pub fn with_help(self, help: impl Into<String>) -> Self {
        self.0.help = Some(help.into());
        self
    }

    pub fn with_fix(self, fix: crate::diagnostic::Fix) -> Self {
        self.0.fix = Some(fix);
        self
    }
}

impl std::ops::Deref for Finding<'_> {
    type Target = Diagnostic;
    fn deref(&self) -> &Diagnostic {
        self.0
    }
}

impl std::ops::DerefMut for Finding<'_> {
    fn deref_mut(&mut self) -> &mut Diagnostic {
        self.0
    }
}

macro_rules! rules {
    ($($(#[$doc:meta])* $family:ident { $($module:ident),* $(,)? })*) => {
        $($(#[$doc])* pub mod $family { $(pub mod $module;)* })*
        /// Every rule, in code order.
        pub static RULES: &[&Rule] = &[$($(&$family::$module::RULE,)*)*];
        /// The family of each rule of [`RULES`], in the same order.
        static FAMILIES: &[&str] = &[$($((stringify!($family), stringify!($module)).0,)*)*];
    };
}

// One folder per family; a family's codes share a hundred (PT0xx syntax, PT1xx coder, ...,
// PT7xx render).
rules! {
    /// PT0xx: files as their own tools parse them (Terraform, compose, bash).
    syntax {
        parse_error,
        duplicate_object_key,
        unused_suppression,
        invalid_suppression,
    }
    /// PT1xx: the Coder template's resources and attributes as Coder accepts them.
    coder {
        invalid_app_slug,
        duplicate_app_slug,
        invalid_agent_name,
        app_url_with_command,
        app_command_with_subdomain,
        external_app_conflict,
        incomplete_healthcheck,
        invalid_share_or_open_in,
        app_text_too_long,
        removed_attribute,
        duplicate_metadata_key,
        coder_script_without_trigger,
        coder_env_name,
        agent_never_started,
        hidden_app_display,
        undeclared_agent,
        attribute_needs_newer_provider,
    }
    /// PT2xx: ports: what apps, healthchecks and published ports point at, and who listens.
    ports {
        app_port_not_served,
        healthcheck_port_mismatch,
        published_port_without_listener,
        host_port_published_twice,
        port_conflict,
        listener_without_app,
        app_url_not_localhost,
        path_app_needs_subdomain,
        service_url_port_not_published,
    }
    /// PT3xx: origins and the variables that carry them, across every file of a workspace.
    origins {
        origin_unknown_app,
        origin_wrong_role,
        origin_shared_by_roles,
        self_fetched_origin_not_public,
        browser_var_localhost,
        env_value_drift,
        builtin_var_set,
        deployment_secret_in_file,
        unquoted_origin_glob,
    }
    /// PT4xx: env files, line by line.
    env {
        env_double_equals,
        env_duplicate_key,
        env_space_around_equals,
        env_unterminated_quote,
        env_unquoted_value,
        env_multiline_private_key,
        env_invalid_key,
        env_undefined_reference,
    }
    /// PT5xx: compose files: files, dependencies and variables they name.
    compose {
        compose_missing_file,
        compose_unknown_dependency,
        compose_unset_variable,
    }
    /// PT6xx: exposure and secrets.
    security {
        public_admin_app,
        secret_literal,
    }
    /// PT7xx: files portolan renders from the spec.
    render {
        rendered_file_drift,
        spec_disagreement,
    }
}

/// Former names of rules (old, new): `--select`, `--ignore`, a spec's `ignore` and inline
/// ignores still accept them.
pub static RENAMED: &[(&str, &str)] = &[
    ("site-origin-equals-cloud-origin", "origin-shared-by-roles"),
    ("invalid-coder-env-name", "coder-env-name"),
];

/// A rule's name for a name that may be a former one.
pub fn current_name(name: &str) -> &str {
    RENAMED
        .iter()
        .find(|(old, _)| *old == name)
        .map_or(name, |(_, new)| new)
}

/// Whether `name_or_code` names this rule: its name, a former name, or its code.
pub fn is_named(rule: &Rule, name_or_code: &str) -> bool {
    rule.meta.name == current_name(name_or_code)
        || rule.meta.code.eq_ignore_ascii_case(name_or_code)
}

/// Looks a rule up by name (or former name) or code.
pub fn find(name_or_code: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| is_named(r, name_or_code))
}

/// A rule's family: the folder its file is in, named after what its rules check (`ports` for
/// PT2xx).
pub fn family(rule: &Rule) -> &'static str {
    RULES
        .iter()
        .position(|r| r.meta.code == rule.meta.code)
        .map_or("", |i| FAMILIES[i])
}

/// The former names of a rule ([`RENAMED`]).
pub fn former_names(rule: &Rule) -> impl Iterator<Item = &'static str> + '_ {
    RENAMED
        .iter()
        .filter(|(_, new)| *new == rule.meta.name)
        .map(|(old, _)| *old)
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

/// Table-test helpers: in-memory files in, findings as `path:line:col: severity: message` out.
#[cfg(test)]
pub mod test {
    use super::Rule;
    use crate::check::{check_files, classify};
    use crate::diagnostic::Diagnostic;
    use crate::knowledge::Knowledge;
    use crate::model::build::InputFile;

    /// Runs one rule over files given as (path, text); returns its findings with the workspace
    /// they point into (for what the one-line form does not show: help, related, fixes).
    pub fn run(
        rule: &'static Rule,
        files: &[(&str, &str)],
    ) -> (crate::model::Workspace, Vec<Diagnostic>) {
        run_with(rule, files, Knowledge::builtin().clone())
    }

    /// [`run`] with a knowledge base of the test's own (the built-in one extended).
    pub fn run_with(
        rule: &'static Rule,
        files: &[(&str, &str)],
        knowledge: Knowledge,
    ) -> (crate::model::Workspace, Vec<Diagnostic>) {
        let inputs = files
            .iter()
            .map(|(path, text)| InputFile {
                path: (*path).into(),
                text: (*text).to_owned(),
                kind: classify(std::path::Path::new(path), Some(text))
                    .unwrap_or_else(|| panic!("{path} is not a kind of file portolan reads")),
            })
            .collect();
        let (workspace, findings) = check_files(inputs, &[rule], knowledge);
        let findings = findings
            .into_iter()
            .filter(|d| d.rule == Some(rule.meta.name))
            .collect();
        (workspace, findings)
    }

    /// The rule's findings alone.
    pub fn diagnostics(rule: &'static Rule, files: &[(&str, &str)]) -> Vec<Diagnostic> {
        run(rule, files).1
    }

    /// Runs one rule over files given as (path, text); returns its findings, one line each.
    pub fn check(rule: &'static Rule, files: &[(&str, &str)]) -> Vec<String> {
        let (workspace, findings) = run(rule, files);
        findings
            .iter()
            .map(|d| {
                let (start, _) = workspace.sources.resolve(d.primary.span);
                format!(
                    "{}:{}:{}: {}: {}",
                    workspace.sources.path(d.primary.span).display(),
                    start.line,
                    start.column,
                    d.severity.as_str(),
                    d.message
                )
            })
            .collect()
    }

    /// Runs one rule over one file and applies every fix it offers.
    pub fn with_fixes(rule: &'static Rule, path: &str, text: &str) -> String {
        let findings = diagnostics(rule, &[(path, text)]);
        let mut edits: Vec<_> = findings
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .flat_map(|f| f.edits.iter())
            .collect();
        edits.sort_by_key(|e| std::cmp::Reverse(e.span.start));
        let mut fixed = text.to_owned();
        for edit in edits {
            fixed.replace_range(edit.span.range(), &edit.replacement);
        }
        fixed
    }
}

#[cfg(test)]
mod list_tests {
    use super::RULES;

    /// Rules read the Workspace and the knowledge base only: no rule reaches past the model
    /// into the parsers.
    #[test]
    fn rules_never_use_the_parsers() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/rules");
        let mut read = 0;
        let mut folders = vec![dir];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("a folder under src/rules") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    folders.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("a rule file");
                for (n, line) in text.lines().enumerate() {
                    assert!(
                        !line.contains(concat!("crate::", "parse")),
                        "{}:{}: a rule uses the parsers: {line}",
                        path.display(),
                        n + 1
                    );
                }
                read += 1;
            }
        }
        assert!(read > RULES.len(), "read every rule file");
    }

    /// A family is the hundred of its codes: PT0xx syntax, PT2xx ports, and so on.
    #[test]
    fn a_rule_family_is_its_folder_and_the_hundred_of_its_code() {
        let hundreds = [
            "syntax", "coder", "ports", "origins", "env", "compose", "security", "render",
        ];
        for rule in RULES {
            let hundred = usize::from(rule.meta.code.as_bytes()[2] - b'0');
            assert_eq!(super::family(rule), hundreds[hundred], "{}", rule.meta.code);
        }
        let port = super::find("PT201").expect("PT201");
        assert_eq!(super::family(port), "ports");
    }

    #[test]
    fn former_names_are_listed_with_the_rule_they_became() {
        let shared = super::find("origin-shared-by-roles").expect("PT303");
        let former: Vec<&str> = super::former_names(shared).collect();
        assert_eq!(former, ["site-origin-equals-cloud-origin"]);
        let port = super::find("PT201").expect("PT201");
        assert_eq!(super::former_names(port).count(), 0);
    }

    #[test]
    fn every_rule_is_documented_and_uniquely_named() {
        let mut names: Vec<&str> = RULES.iter().map(|r| r.meta.name).collect();
        let mut codes: Vec<&str> = RULES.iter().map(|r| r.meta.code).collect();
        names.sort();
        codes.sort();
        names.dedup();
        codes.dedup();
        assert_eq!(names.len(), RULES.len(), "duplicate rule name");
        assert_eq!(codes.len(), RULES.len(), "duplicate rule code");
        for rule in RULES {
            let m = &rule.meta;
            assert!(
                crate::coder::is_valid_slug(m.name),
                "{} is not kebab-case",
                m.name
            );
            assert!(m.code.starts_with("PT") && m.code.len() == 5, "{}", m.code);
            for section in ["## What it does", "## Why is this bad?", "## Example"] {
                assert!(
                    m.explanation.contains(section),
                    "{} lacks {section}",
                    m.name
                );
            }
        }
    }
}
