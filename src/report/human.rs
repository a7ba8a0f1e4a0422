//! Human format: rustc-style code frames for a terminal.
//!
//! Each finding is one annotate-snippets report (the renderer rustc uses): a title with the
//! severity and code (`error[PT201]: ...`), a frame of the primary file with the primary label and
//! any related labels in that file, one more frame per other file with related labels, a `note`
//! naming the rule, a `help` line, and, when the finding has a fix, a suggestion showing the edit.
//! A summary line closes the report (`2 errors, 1 warning in 5 files`). Colour only when asked.

use std::io::{self, Write};

use annotate_snippets::{AnnotationKind, Element, Group, Level, Origin, Patch, Renderer, Snippet};

use super::{clamp_range, display_path, Report, Summary};
use crate::diagnostic::{Diagnostic, Label, Severity};
use crate::source::FileId;

/// Writes every finding as a code frame, then the summary line. `color` adds ANSI styles.
pub fn write(report: &Report<'_>, color: bool, out: &mut dyn Write) -> io::Result<()> {
    write_findings(report, color, out)?;
    writeln!(out, "{}", summary_line(&report.summary()))
}

/// Writes every finding as a code frame, without the summary line (`check -q`).
pub fn write_findings(report: &Report<'_>, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    for d in report.sorted() {
        writeln!(out, "{}\n", renderer.render(&groups(report, d)))?;
    }
    Ok(())
}

/// Writes every finding as a `path:line:column: severity: message` line (the form editors and
/// compilers use) followed by its code frame, without a summary: how spec errors are shown.
pub fn write_located(report: &Report<'_>, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    for d in report.sorted() {
        let at = report.location(d.primary.span);
        let severity = d.severity.as_str();
        writeln!(
            out,
            "{}:{}:{}: {severity}: {}",
            at.path, at.line, at.column, d.message
        )?;
        let mut group = groups(report, d);
        if let Some(first) = group.first_mut() {
            *first = body(report, d, Group::with_level(level(d.severity)));
        }
        writeln!(out, "{}\n", renderer.render(&group))?;
    }
    Ok(())
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

fn level(severity: Severity) -> Level<'static> {
    match severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    }
}

fn groups<'a>(report: &Report<'a>, d: &'a Diagnostic) -> Vec<Group<'a>> {
    let mut title = level(d.severity).primary_title(d.message.as_str());
    if let Some(code) = d.code {
        title = title.id(code);
    }
    let mut groups = vec![body(report, d, Group::with_title(title))];
    if let Some(fix) = &d.fix {
        groups.push(suggestion(report, fix));
    }
    groups
}

/// A finding's frames, rule note and help, in `group`.
fn body<'a>(report: &Report<'a>, d: &'a Diagnostic, group: Group<'a>) -> Group<'a> {
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
        elements.extend(frame(report, file, primary, labels));
    }
    let mut group = group.elements(elements);
    if let Some(rule) = d.rule {
        group = group.element(Level::NOTE.message(format!("rule `{rule}`")));
    }
    if let Some(help) = &d.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    group
}

/// Most source text one code frame shows; a label on longer lines is shown as `--> path:line:col`
/// without the frame. Each finding costs at most this much rendering, so a file of many
/// findings on one long line stays linear.
const MAX_FRAME_BYTES: usize = 16 * 1024;

/// A code frame of one file with the primary label (if it is in this file) and related labels.
/// Only the lines the labels are on are handed to the renderer (with their line numbers), in
/// one frame when they are close together, else one frame per label.
fn frame<'a>(
    report: &Report<'a>,
    file: FileId,
    primary: Option<&'a Label>,
    related: impl Iterator<Item = &'a Label>,
) -> Vec<Element<'a>> {
    let Some(source) = report.file(file) else {
        return Vec::new();
    };
    let labels: Vec<(AnnotationKind, &'a Label)> = primary
        .map(|l| (AnnotationKind::Primary, l))
        .into_iter()
        .chain(related.map(|l| (AnnotationKind::Context, l)))
        .collect();
    let ranges: Vec<std::ops::Range<usize>> = labels
        .iter()
        .map(|(_, l)| clamp_range(&source.text, l.span))
        .collect();
    let whole = lines_around(source, &ranges);
    if whole.len() <= MAX_FRAME_BYTES {
        return vec![snippet(source, whole, &labels, &ranges).into()];
    }
    labels
        .iter()
        .zip(&ranges)
        .map(|(label, range)| {
            let lines = lines_around(source, std::slice::from_ref(range));
            if lines.len() <= MAX_FRAME_BYTES {
                snippet(
                    source,
                    lines,
                    std::slice::from_ref(label),
                    std::slice::from_ref(range),
                )
                .into()
            } else {
                let at = source.line_col(range.start);
                Origin::path(display_path(&source.path))
                    .line(at.line as usize)
                    .char_column(at.column as usize)
                    .into()
            }
        })
        .collect()
}

/// The whole lines that hold every range: from the start of the first one's line to the end of
/// the last one's.
fn lines_around(
    source: &crate::source::SourceFile,
    ranges: &[std::ops::Range<usize>],
) -> std::ops::Range<usize> {
    let start = ranges.iter().map(|r| r.start).min().unwrap_or(0);
    let end = ranges.iter().map(|r| r.end).max().unwrap_or(0);
    source.line_bounds(start).start..source.line_bounds(end).end.max(end)
}

/// A frame of the lines `lines` of `source`, with `labels` at `ranges` (offsets in the file).
fn snippet<'a>(
    source: &'a crate::source::SourceFile,
    lines: std::ops::Range<usize>,
    labels: &[(AnnotationKind, &'a Label)],
    ranges: &[std::ops::Range<usize>],
) -> Snippet<'a, annotate_snippets::Annotation<'a>> {
    let annotations = labels.iter().zip(ranges).map(|((kind, label), range)| {
        let message = Some(label.message.as_str()).filter(|m| !m.is_empty());
        (*kind)
            .span(range.start - lines.start..range.end - lines.start)
            .label(message)
    });
    Snippet::source(&source.text[lines.clone()])
        .line_start(source.line_col(lines.start).line as usize)
        .path(display_path(&source.path))
        .annotations(annotations)
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
        let edits: Vec<(std::ops::Range<usize>, &str)> = fix
            .edits
            .iter()
            .filter(|e| e.span.file == file)
            .map(|e| (clamp_range(&source.text, e.span), e.replacement.as_str()))
            .collect();
        let ranges: Vec<std::ops::Range<usize>> = edits.iter().map(|(r, _)| r.clone()).collect();
        // Only the edited lines, as in `frame`.
        let lines = lines_around(source, &ranges);
        let patches = edits.into_iter().map(|(range, replacement)| {
            Patch::new(
                range.start - lines.start..range.end - lines.start,
                replacement,
            )
        });
        group = group.element(
            Snippet::source(&source.text[lines.clone()])
                .line_start(source.line_col(lines.start).line as usize)
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
    fn findings_alone_are_the_report_without_its_summary_line() {
        let (sources, findings) = fixture::findings();
        let report = fixture::report(&sources, &findings);
        let mut out = Vec::new();
        write_findings(&report, false, &mut out).expect("written");
        let findings_only = String::from_utf8_lossy(&out).into_owned();
        let whole = render(&report, false);
        let summary = summary_line(&report.summary());
        assert!(whole.ends_with(&format!("{summary}\n")), "{whole}");
        assert_eq!(format!("{findings_only}{summary}\n"), whole);
        assert!(!findings_only.contains(&summary), "{findings_only}");
    }

    /// The located form: each finding's `path:line:column: severity: message` line, then the
    /// same frame, rule note and help as the titled form, without title or summary.
    #[test]
    fn located_form_leads_with_the_location_and_keeps_the_frame() {
        let (sources, findings) = fixture::findings();
        let report = fixture::report(&sources, &findings);
        let mut out = Vec::new();
        write_located(&report, false, &mut out).expect("written");
        let located = String::from_utf8_lossy(&out).into_owned();
        let titled = render(&report, false);
        let heads: Vec<&str> = located
            .lines()
            .filter(|l| {
                [": error: ", ": warning: ", ": info: "]
                    .iter()
                    .any(|s| l.contains(s))
            })
            .collect();
        assert_eq!(heads.len(), findings.len(), "{located}");
        for d in report.sorted() {
            let at = report.location(d.primary.span);
            let head = format!(
                "{}:{}:{}: {}: {}",
                at.path,
                at.line,
                at.column,
                d.severity.as_str(),
                d.message
            );
            assert!(heads.contains(&head.as_str()), "{head}\n{located}");
            if let Some(help) = &d.help {
                assert!(located.contains(&format!("= help: {help}")), "{located}");
            }
        }
        // Frames are the titled form's.
        let frame_lines = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.contains(" | ") || l.trim_start().starts_with("-->"))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(frame_lines(&located), frame_lines(&titled));
        assert!(!located.contains(" in 2 files"), "no summary: {located}");
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
                    read_although_ignored: &[],
                    root: None,
                };
                assert!(
                    render(&report, false).contains("error: m"),
                    "{start}..{end}"
                );
            }
        }
    }

    /// A finding on a line longer than a frame shows is `--> path:line:col` without the frame;
    /// one on a short line of a long file shows only its own lines. Either way the output does
    /// not grow with the file.
    #[test]
    fn frames_show_only_the_lines_of_their_labels() {
        use crate::source::{SourceMap, Span};
        let mut sources = SourceMap::new();
        let long_line = format!("A={}\nB=x\n", "${a}".repeat(20_000));
        let long = sources.add("long.env", long_line.as_str());
        let many_lines = format!("{}C=x\n", "X=1\n".repeat(20_000));
        let tall = sources.add("tall.env", many_lines.as_str());
        let at = many_lines.find("C=x").unwrap_or(0);
        let findings = vec![
            Diagnostic::warning(Span::new(long, 50_002, 50_006), "undefined"),
            Diagnostic::warning(Span::new(long, 80_003, 80_004), "on line 2"),
            Diagnostic::warning(Span::new(tall, at, at + 1), "on the last line"),
        ];
        let report = fixture::report(&sources, &findings);
        let out = render(&report, false);
        assert!(out.len() < 2_000, "{} bytes", out.len());
        assert!(out.contains("--> long.env:1:50003"), "{out}");
        assert!(out.contains("--> long.env:2:1"), "{out}");
        assert!(out.contains("--> tall.env:20001:1"), "{out}");
        assert!(out.contains("20001 | C=x"), "{out}");
    }
}
