//! Human format: rustc-style code frames for a terminal.
//!
//! Each finding is one annotate-snippets report (the renderer rustc uses): a title with the
//! severity and code (`error[PT201]: ...`), a frame of the primary file with the primary label and
//! any related labels in that file, one more frame per other file with related labels, a `note`
//! naming the rule, a `help` line, and, when the finding has a fix, a suggestion showing the edit.
//! A summary line closes the report (`2 errors, 1 warning in 5 files`). Colour only when asked.

use std::io::{self, Write};

use annotate_snippets::{AnnotationKind, Group, Level, Patch, Renderer, Snippet};

use super::{clamp_range, display_path, Report, Summary};
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::source::FileId;

/// Writes every finding as a code frame, then the summary line. `color` adds ANSI styles.
pub fn write(report: &Report<'_>, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    for d in report.sorted() {
        writeln!(out, "{}\n", renderer.render(&groups(report, d)))?;
    }
    writeln!(out, "{}", summary_line(&report.summary()))
}

/// `2 errors, 1 warning, 1 info in 5 files`, or `no problems in 5 files`.
pub fn summary_line(summary: &Summary) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let files = plural(summary.files, "file");
    if summary.errors + summary.warnings + summary.infos == 0 {
        return format!("no problems in {files}");
    }
    let mut counts = vec![
        plural(summary.errors, "error"),
        plural(summary.warnings, "warning"),
    ];
    if summary.infos > 0 {
        counts.push(plural(summary.infos, "info"));
    }
    format!("{} in {files}", counts.join(", "))
}

fn groups<'a>(report: &Report<'a>, d: &'a Diagnostic) -> Vec<Group<'a>> {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    };
    let mut title = level.primary_title(d.message.as_str());
    if let Some(code) = d.code {
        title = title.id(code);
    }
    let mut elements = Vec::new();
    // The primary file first, then every other file in the order its first label appears.
    let mut files = vec![d.primary.span.file];
    for label in &d.related {
        if !files.contains(&label.span.file) {
            files.push(label.span.file);
        }
    }
    for file in files {
        let labels = d.related.iter().filter(|l| l.span.file == file);
        let primary = (file == d.primary.span.file).then_some(&d.primary);
        if let Some(snippet) = frame(report, file, primary, labels) {
            elements.push(snippet);
        }
    }
    let mut group = Group::with_title(title).elements(elements);
    if let Some(rule) = d.rule {
        group = group.element(Level::NOTE.message(format!("rule `{rule}`")));
    }
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    let mut groups = vec![group];
    if let Some(fix) = &d.fix {
        groups.push(suggestion(report, fix));
    }
    groups
}

/// A code frame of one file with the primary label (if it is in this file) and related labels.
fn frame<'a>(
    report: &Report<'a>,
    file: FileId,
    primary: Option<&'a Label>,
    related: impl Iterator<Item = &'a Label>,
) -> Option<Snippet<'a, annotate_snippets::Annotation<'a>>> {
    let source = report.file(file)?;
    let annotate = |kind: AnnotationKind, label: &'a Label| {
        let message = Some(label.message.as_str()).filter(|m| !m.is_empty());
        kind.span(clamp_range(&source.text, label.span))
            .label(message)
    };
    let annotations = primary
        .map(|l| annotate(AnnotationKind::Primary, l))
        .into_iter()
        .chain(related.map(|l| annotate(AnnotationKind::Context, l)));
    Some(
        Snippet::source(source.text.as_str())
            .path(display_path(&source.path))
            .annotations(annotations),
    )
}

/// `help: <fix title>` with the edited lines of each file the fix touches.
fn suggestion<'a>(report: &Report<'a>, fix: &'a crate::diagnostic::Fix) -> Group<'a> {
    let mut group = Group::with_title(Level::HELP.secondary_title(fix.title.as_str()));
    let mut files: Vec<FileId> = fix.edits.iter().map(|e| e.span.file).collect();
    files.dedup();
    for file in files {
        let Some(source) = report.file(file) else {
            continue;
        };
        let patches = fix
            .edits
            .iter()
            .filter(|e| e.span.file == file)
            .map(|e| Patch::new(clamp_range(&source.text, e.span), e.replacement.as_str()));
        group = group.element(
            Snippet::source(source.text.as_str())
                .path(display_path(&source.path))
                .patches(patches),
        );
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    fn render(report: &Report<'_>, color: bool) -> String {
        let mut out = Vec::new();
        let _ = write(report, color, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn renders_frames_related_files_help_and_fix() {
        let (sources, findings) = fixture::findings();
        let report = fixture::report(&sources, &findings);
        insta::assert_snapshot!(render(&report, false));
    }

    #[test]
    fn colour_only_when_asked() {
        let (sources, findings) = fixture::findings();
        let report = fixture::report(&sources, &findings);
        assert!(!render(&report, false).contains('\x1b'));
        assert!(render(&report, true).contains('\x1b'));
    }

    #[test]
    fn summary_line_pluralises_and_mentions_infos_only_when_present() {
        let cases = [
            ((0, 0, 0, 0), "no problems in 0 files"),
            ((1, 0, 0, 0), "no problems in 1 file"),
            ((5, 3, 1, 0), "3 errors, 1 warning in 5 files"),
            ((2, 1, 2, 1), "1 error, 2 warnings, 1 info in 2 files"),
        ];
        for ((files, errors, warnings, infos), want) in cases {
            let s = Summary {
                files,
                errors,
                warnings,
                infos,
            };
            assert_eq!(summary_line(&s), want);
        }
    }

    #[test]
    fn bad_spans_and_empty_files_do_not_panic() {
        let mut sources = crate::source::SourceMap::new();
        let empty = sources.add("empty.tf", "");
        let multi = sources.add("é.env", "é=1\n");
        let findings = [
            Diagnostic::error(
                crate::source::Span::new(empty, 0, 0),
                "unexpected end of file",
            ),
            Diagnostic::error(crate::source::Span::new(multi, 1, 99), "inside a character"),
            Diagnostic::error(crate::source::Span::new(FileId(9), 0, 1), "no such file"),
        ];
        let report = fixture::report(&sources, &findings);
        let text = render(&report, false);
        assert!(text.contains("no such file"), "{text}");
        assert!(text.contains("empty.tf"), "{text}");
        assert!(
            text.ends_with("3 errors, 0 warnings in 2 files\n"),
            "{text}"
        );
    }

    #[test]
    fn every_span_of_awkward_text_renders() {
        let text = "a\té🙂\r\n\r\nb";
        let mut sources = crate::source::SourceMap::new();
        let file = sources.add("x.env", text);
        for start in 0..=text.len() + 1 {
            for end in start..=text.len() + 1 {
                let span = crate::source::Span::new(file, start, end);
                let fix = crate::diagnostic::Fix {
                    title: "replace".into(),
                    applicability: crate::diagnostic::Applicability::Safe,
                    edits: vec![crate::diagnostic::Edit {
                        span,
                        replacement: "z\n".into(),
                    }],
                };
                let findings = [Diagnostic::error(span, "m")
                    .with_label("l")
                    .with_related(span, "r")
                    .with_fix(fix)];
                let report = Report {
                    findings: &findings,
                    sources: &sources,
                    files_checked: 1,
                    rules: &[],
                };
                assert!(
                    render(&report, false).contains("error: m"),
                    "{start}..{end}"
                );
            }
        }
    }
}
