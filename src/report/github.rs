//! GitHub format: workflow commands that GitHub Actions turns into annotations on the diff.
//!
//! One line per finding, in [`Report::sorted`] order:
//! `::error file=PATH,line=L,col=C,endLine=EL,endColumn=EC,title=RULE (CODE)::MESSAGE`
//! (`::warning` for warnings, `::notice` for infos). Related locations are appended to the
//! message as `(see PATH:LINE)`, each line once, and the help text as a second line. Message
//! text escapes `%`, `\r` and `\n`; property values also escape `:` and `,`, as GitHub's docs
//! ask.
//! Findings without a rule are titled `parse-error`.

use std::io::{self, Write};

use super::Report;
use crate::diagnostic::{Diagnostic, Severity};

/// Writes one workflow command per finding.
pub fn write(report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
    for d in report.sorted() {
        writeln!(out, "{}", command(report, d))?;
    }
    Ok(())
}

fn command(report: &Report<'_>, d: &Diagnostic) -> String {
    let name = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    };
    let loc = report.location(d.primary.span);
    let rule = Report::rule_id(d);
    let title = match d.code {
        Some(code) => format!("{rule} ({code})"),
        None => rule.to_string(),
    };
    let mut message = d.message.clone();
    let mut seen = Vec::new();
    for related in &d.related {
        let at = report.location(related.span);
        let see = format!(" (see {}:{})", at.path, at.line);
        if !seen.contains(&see) {
            message.push_str(&see);
            seen.push(see);
        }
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    format!(
        "::{name} file={},line={},col={},endLine={},endColumn={},title={}::{}",
        escape_property(&loc.path),
        loc.line,
        loc.column,
        loc.end_line,
        loc.end_column,
        escape_property(&title),
        escape_data(&message),
    )
}

/// Escapes the message of a workflow command.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn writes_one_command_per_finding() {
        let (sources, findings) = fixture::findings();
        let report = fixture::report(&sources, &findings);
        let mut out = Vec::new();
        let _ = write(&report, &mut out);
        insta::assert_snapshot!(String::from_utf8_lossy(&out));
    }

    /// Two related labels on one line (an image that listens on two ports) name that line once:
    /// the annotation keeps only the place, so a second `(see ...)` would say nothing new.
    #[test]
    fn names_each_related_line_once() {
        let mut sources = crate::source::SourceMap::new();
        let text =
            "services:\n  backend:\n    image: convex-backend\n    ports:\n      - \"3212:3212\"\n";
        let file = sources.add("docker-compose.yml", text);
        let at = |needle: &str| {
            let start = text.find(needle).unwrap();
            crate::source::Span::new(file, start, start + needle.len())
        };
        let d = Diagnostic::error(at("\"3212:3212\""), "nothing listens on 3212")
            .with_related(at("convex-backend"), "listens on 3210")
            .with_related(at("convex-backend"), "listens on 3211")
            .with_related(at("ports"), "the ports");
        let findings = [d];
        let report = fixture::report(&sources, &findings);
        let line = command(&report, &findings[0]);
        assert!(
            line.ends_with(
                "::nothing listens on 3212 (see docker-compose.yml:3) (see docker-compose.yml:4)"
            ),
            "{line}"
        );
    }

    #[test]
    fn escapes_data_and_properties() {
        let cases = [
            ("plain", "plain", "plain"),
            (
                "50% of\r\nports",
                "50%25 of%0D%0Aports",
                "50%25 of%0D%0Aports",
            ),
            ("a:b,c", "a:b,c", "a%3Ab%2Cc"),
            ("%0A", "%250A", "%250A"),
        ];
        for (raw, data, property) in cases {
            assert_eq!(escape_data(raw), data, "{raw:?}");
            assert_eq!(escape_property(raw), property, "{raw:?}");
        }
    }
}
