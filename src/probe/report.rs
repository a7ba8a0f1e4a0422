//! Probe reports: human text and JSON with the same content, returned as strings.
//!
//! Both group by app and list every link inside out with its verdict and evidence; the text ends
//! with the first broken link per chain and what to change, pointing at the app's definition when
//! a [`SourceMap`] is given to resolve its span, and with the links the deadline left unreached
//! (the run could not finish). Only a run with neither says that every chain is whole.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::judge::describe;
use super::{ChainResult, LinkResult, ProbeReport, Verdict};
use crate::source::{SourceMap, Span};

/// The report as text for a terminal.
pub fn human(report: &ProbeReport, sources: Option<&SourceMap>) -> String {
    let mut out = String::new();
    let counts = Counts::of(report);
    let scope = if report.public_probed {
        "local links and public origins"
    } else {
        "local links only: outside a Coder workspace"
    };
    let unfinished = if counts.not_finished > 0 {
        format!(", {} not finished", counts.not_finished)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "probe: {} chain{}, {} whole, {} broken{unfinished} ({scope})",
        report.chains.len(),
        if report.chains.len() == 1 { "" } else { "s" },
        counts.whole,
        counts.broken,
    );
    let verdict_width = width(report, |l| l.verdict.as_str().to_string()).max(8);
    let label_width = width(report, |l| l.kind.label());
    let target_width = width(report, |l| l.target.clone());
    for chain in &report.chains {
        let _ = write!(out, "\n{}", chain.app);
        if let Some(at) = location(chain.source, sources) {
            let _ = write!(out, "  ({at})");
        }
        out.push('\n');
        for link in &chain.links {
            let summary = match &link.evidence {
                Some(ev) => format!("{} in {} ms", describe(&ev.observed), ev.elapsed_ms),
                None => link.explanation.clone(),
            };
            let _ = writeln!(
                out,
                "  {:<verdict_width$} {:<label_width$}  {:<target_width$}  {summary}",
                link.verdict.as_str(),
                link.kind.label(),
                link.target,
            );
            if link.verdict == Verdict::Broken {
                let _ = writeln!(out, "           why: {}", link.explanation);
                if let Some(detail) = link.evidence.as_ref().and_then(|e| e.detail.as_ref()) {
                    let _ = writeln!(out, "           detail: {detail}");
                }
            }
        }
    }
    let firsts: Vec<(&ChainResult, &LinkResult)> = report
        .chains
        .iter()
        .filter_map(|c| c.first_broken().map(|l| (c, l)))
        .collect();
    if report.is_whole() {
        let _ = writeln!(out, "\nevery chain is whole");
    }
    if !firsts.is_empty() {
        let _ = writeln!(out, "\nfirst broken link per chain:");
        for (chain, link) in firsts {
            let _ = writeln!(
                out,
                "  {}: {} {}: {}",
                chain.app,
                link.kind.label(),
                link.target,
                link.explanation
            );
            if let Some(change) = &link.change {
                let _ = write!(out, "    change: {change}");
                if let Some(at) = location(chain.source, sources) {
                    let _ = write!(out, " ({at})");
                }
                out.push('\n');
            }
        }
    }
    if !report.is_complete() {
        let _ = writeln!(out, "\nnot reached before the deadline:");
        for chain in &report.chains {
            for link in chain.not_reached() {
                let _ = writeln!(out, "  {}: {}", chain.app, link_name(link));
            }
        }
    }
    out
}

/// `published localhost:3212`, or the label alone when there is no target.
pub fn link_name(link: &LinkResult) -> String {
    if link.target.is_empty() {
        link.kind.label()
    } else {
        format!("{} {}", link.kind.label(), link.target)
    }
}

/// How many chains are whole, broken, or cut short by the deadline without a broken link.
struct Counts {
    whole: usize,
    broken: usize,
    not_finished: usize,
}

impl Counts {
    fn of(report: &ProbeReport) -> Self {
        let broken = report
            .chains
            .iter()
            .filter(|c| c.first_broken().is_some())
            .count();
        let whole = report.chains.iter().filter(|c| c.is_whole()).count();
        Counts {
            whole,
            broken,
            not_finished: report.chains.len() - whole - broken,
        }
    }
}

/// The report as JSON (`version` 1): chains with their links, and a summary.
pub fn json(report: &ProbeReport, sources: Option<&SourceMap>) -> String {
    let chains: Vec<Value> = report
        .chains
        .iter()
        .map(|chain| {
            json!({
                "app": chain.app,
                "whole": chain.is_whole(),
                "complete": chain.is_complete(),
                "location": chain.source.and_then(|s| json_location(s, sources)),
                "first_broken": chain.first_broken().map(|l| l.kind.label()),
                "not_reached": chain.not_reached().map(|l| l.kind.label()).collect::<Vec<_>>(),
                "links": chain.links.iter().map(json_link).collect::<Vec<_>>(),
            })
        })
        .collect();
    let count = |verdict: Verdict| {
        report
            .chains
            .iter()
            .flat_map(|c| &c.links)
            .filter(|l| l.verdict == verdict)
            .count()
    };
    let counts = Counts::of(report);
    let value = json!({
        "version": 1,
        "whole": report.is_whole(),
        "complete": report.is_complete(),
        "public_probed": report.public_probed,
        "chains": chains,
        "summary": {
            "chains": report.chains.len(),
            "whole": counts.whole,
            "broken": counts.broken,
            "not_finished": counts.not_finished,
            "links": {
                "ok": count(Verdict::Ok),
                "broken": count(Verdict::Broken),
                "skipped": count(Verdict::Skipped),
                "not_reached": count(Verdict::NotReached),
            },
        },
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

fn json_link(link: &LinkResult) -> Value {
    let role = match &link.kind {
        super::LinkKind::Role(name) => Some(name.as_str()),
        _ => None,
    };
    json!({
        "link": link.kind.as_str(),
        "role": role,
        "target": link.target,
        "verdict": link.verdict,
        "evidence": link.evidence,
        "explanation": link.explanation,
        "change": link.change,
    })
}

fn width(report: &ProbeReport, text: impl Fn(&LinkResult) -> String) -> usize {
    report
        .chains
        .iter()
        .flat_map(|c| &c.links)
        .map(|l| text(l).chars().count())
        .max()
        .unwrap_or(0)
}

/// `path:line:column` of a span, when the source map knows its file.
fn location(span: Option<Span>, sources: Option<&SourceMap>) -> Option<String> {
    let (span, sources) = (span?, sources?);
    if span.file.0 as usize >= sources.len() {
        return None;
    }
    let (start, _) = sources.resolve(span);
    Some(format!(
        "{}:{}:{}",
        sources.path(span).display(),
        start.line,
        start.column
    ))
}

fn json_location(span: Span, sources: Option<&SourceMap>) -> Option<Value> {
    let sources = sources?;
    if span.file.0 as usize >= sources.len() {
        return None;
    }
    let (start, end) = sources.resolve(span);
    Some(json!({
        "path": sources.path(span).display().to_string(),
        "line": start.line,
        "column": start.column,
        "end_line": end.line,
        "end_column": end.column,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{Evidence, LinkKind, Observed};
    use crate::source::FileId;

    fn link(
        kind: LinkKind,
        target: &str,
        verdict: Verdict,
        observed: Option<Observed>,
    ) -> LinkResult {
        LinkResult {
            kind,
            target: target.into(),
            verdict,
            evidence: observed.map(|observed| Evidence {
                observed,
                elapsed_ms: 3,
                detail: Some("connection reset by peer".into()),
            }),
            explanation: match verdict {
                Verdict::Broken => "localhost:3212 accepts connections and resets them".into(),
                Verdict::Skipped => "not probed: localhost:3212 is broken".into(),
                Verdict::NotReached => "deadline".into(),
                Verdict::Ok => "fine".into(),
            },
            change: (verdict == Verdict::Broken).then(|| "map 3212 to 3211".to_string()),
        }
    }

    fn sample() -> (ProbeReport, SourceMap) {
        let mut sources = SourceMap::new();
        let file = sources.add(
            "main.tf",
            "resource \"coder_app\" \"site\" {\n  url = \"http://localhost:3212\"\n}\n",
        );
        assert_eq!(file, FileId(0));
        let report = ProbeReport {
            chains: vec![ChainResult {
                app: "convex-site".into(),
                source: Some(Span::new(file, 32, 61)),
                links: vec![
                    link(LinkKind::Listener, "", Verdict::Skipped, None),
                    link(
                        LinkKind::Published,
                        "localhost:3212",
                        Verdict::Broken,
                        Some(Observed::AcceptedThenReset),
                    ),
                    link(
                        LinkKind::Role("openid-configuration".into()),
                        "",
                        Verdict::Skipped,
                        None,
                    ),
                ],
            }],
            public_probed: true,
        };
        (report, sources)
    }

    #[test]
    fn human_report_groups_by_app_and_ends_with_the_first_broken_link() {
        let (report, sources) = sample();
        let text = human(&report, Some(&sources));
        assert!(
            text.starts_with("probe: 1 chain, 0 whole, 1 broken"),
            "{text}"
        );
        assert!(text.contains("\nconvex-site  (main.tf:2:3)\n"), "{text}");
        let collapsed: Vec<String> = text
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert!(
            collapsed.contains(&"broken published localhost:3212 accepted, then reset before any HTTP response in 3 ms".to_string()),
            "{text}"
        );
        assert!(text.contains("detail: connection reset by peer"), "{text}");
        assert!(
            text.contains("skipped  role openid-configuration"),
            "{text}"
        );
        assert!(
            text.ends_with("first broken link per chain:\n  convex-site: published localhost:3212: localhost:3212 accepts connections and resets them\n    change: map 3212 to 3211 (main.tf:2:3)\n"),
            "{text}"
        );
    }

    #[test]
    fn json_report_has_the_same_content() {
        let (report, sources) = sample();
        let value: Value = serde_json::from_str(&json(&report, Some(&sources))).unwrap();
        assert_eq!(value["version"], 1);
        assert_eq!(value["whole"], false);
        let chain = &value["chains"][0];
        assert_eq!(chain["first_broken"], "published");
        assert_eq!(chain["location"]["path"], "main.tf");
        assert_eq!(chain["location"]["line"], 2);
        assert_eq!(chain["location"]["column"], 3);
        let published = &chain["links"][1];
        assert_eq!(published["verdict"], "broken");
        assert_eq!(
            published["evidence"]["observed"]["kind"],
            "accepted_then_reset"
        );
        assert_eq!(published["evidence"]["elapsed_ms"], 3);
        assert_eq!(published["change"], "map 3212 to 3211");
        assert_eq!(chain["links"][2]["link"], "role");
        assert_eq!(chain["links"][2]["role"], "openid-configuration");
        assert_eq!(value["summary"]["links"]["skipped"], 2);
        assert_eq!(value["summary"]["broken"], 1);
    }

    #[test]
    fn spans_of_unknown_files_are_left_out() {
        let (report, _) = sample();
        let empty = SourceMap::new();
        assert!(!human(&report, Some(&empty)).contains("main.tf"));
        let value: Value = serde_json::from_str(&json(&report, None)).unwrap();
        assert_eq!(value["chains"][0]["location"], Value::Null);
    }
}
