//! Inline suppressions: `# portolan: ignore[rule-name] reason` (or `// portolan: ignore[...]`).
//!
//! A comment on its own line covers the next line; a comment after code covers its own line.
//! A rule is named by its name, a former name (`rules::RENAMED`) or its code, any case
//! (`ignore[PT201]`); several are listed with commas (`ignore[rule-a, PT203]`), and
//! `ignore[all]` covers every rule. What follows the `]` is the reason, kept as written.
//! The same syntax works in Terraform, compose YAML, shell scripts and env files, since all four
//! have `#` comments.
//!
//! A comment also covers the findings about itself: `ignore[PT201, unused-suppression]` keeps
//! `unused-suppression` quiet about that comment (`all` does not: an `ignore[all]` that
//! suppresses nothing is unused). A name that is no rule is a finding of
//! `invalid-suppression` (a rule's check, over every comment); a name that suppressed nothing
//! is a finding of `unused-suppression`, which only [`apply`] can tell, once every other rule
//! has run.

use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix};
use crate::rules::{self, Rule};
use crate::source::{FileId, SourceMap, Span};

const MARK: &str = "portolan: ignore[";

/// One suppression comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub file: FileId,
    /// The line it covers (1-based).
    pub line: u32,
    /// The names between the brackets, in order.
    pub names: Vec<SuppressedName>,
    /// What follows the `]`, trimmed; `None` when nothing does.
    pub reason: Option<String>,
    /// The comment, from its `#` or `//` to the end of its line.
    pub comment: Span,
    /// Between the brackets; `None` when the `]` is missing.
    pub list: Option<Span>,
    /// What removing the whole comment removes: its line when it is alone on it, else the
    /// comment and the blanks before it.
    pub removal: Span,
}

/// One name in a suppression comment and the rule it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressedName {
    /// As written.
    pub text: String,
    pub span: Span,
    pub target: Target,
}

/// What a name in a suppression comment covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `all`: every rule.
    All,
    /// One rule (by name, former name or code).
    Rule(&'static str),
    /// No rule of that name or code.
    Unknown,
}

impl Target {
    fn of(name: &str) -> Target {
        if name == "all" {
            return Target::All;
        }
        rules::find(name).map_or(Target::Unknown, |r| Target::Rule(r.meta.name))
    }

    fn covers(self, rule: &str) -> bool {
        match self {
            Target::All => true,
            Target::Rule(name) => name == rule,
            Target::Unknown => false,
        }
    }
}

impl Suppression {
    /// Whether it covers a finding of `rule` at `line`, or about the comment itself.
    fn covers(&self, rule: &str, file: FileId, line: u32, span: Span) -> Option<Vec<usize>> {
        let about_itself = span.start >= self.comment.start && span.end <= self.comment.end;
        if self.file != file || !(self.line == line || about_itself) {
            return None;
        }
        // About itself, only a rule it names keeps it quiet: `ignore[all]` that suppresses
        // nothing is still unused.
        let matching: Vec<usize> = (0..self.names.len())
            .filter(|&i| {
                let target = self.names[i].target;
                target.covers(rule) && !(about_itself && target == Target::All)
            })
            .collect();
        (!matching.is_empty()).then_some(matching)
    }

    /// The fix that removes the names at `drop` (indexes into `names`): the list without them,
    /// or, when none would be left, the whole comment.
    pub fn fix_without(&self, drop: &[usize], title: impl Into<String>) -> Fix {
        let kept: Vec<&str> = (0..self.names.len())
            .filter(|i| !drop.contains(i))
            .map(|i| self.names[i].text.as_str())
            .collect();
        let edit = match (self.list, kept.is_empty()) {
            (Some(list), false) => Edit {
                span: list,
                replacement: kept.join(", "),
            },
            _ => Edit {
                span: self.removal,
                replacement: String::new(),
            },
        };
        Fix {
            title: title.into(),
            applicability: Applicability::Safe,
            edits: vec![edit],
        }
    }
}

/// Finds every suppression comment in a file.
pub fn scan(file: FileId, text: &str) -> Vec<Suppression> {
    let mut out = Vec::new();
    if !text.contains(MARK) {
        return out;
    }
    let mut start = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = start;
        start += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let Some(pos) = line.find(MARK) else { continue };
        let before = line[..pos].trim_end();
        // The comment sign must start the line or follow white space (not `X="#...`).
        let Some(code_before) = before
            .strip_suffix('#')
            .or_else(|| before.strip_suffix("//"))
        else {
            continue;
        };
        if !(code_before.is_empty() || code_before.ends_with(char::is_whitespace)) {
            continue;
        }
        let sign = code_before.len();
        let code_end = code_before.trim_end().len();
        let own_line = code_before.trim().is_empty();
        let at = |from: usize, to: usize| Span::new(file, line_start + from, line_start + to);
        let list_start = pos + MARK.len();
        let rest = &line[list_start..];
        let (list, names, reason) = match rest.find(']') {
            Some(close) => {
                let mut names = Vec::new();
                let mut offset = list_start;
                for part in rest[..close].split(',') {
                    let name = part.trim();
                    if !name.is_empty() {
                        let from = offset + (part.len() - part.trim_start().len());
                        names.push(SuppressedName {
                            text: name.to_owned(),
                            span: at(from, from + name.len()),
                            target: Target::of(name),
                        });
                    }
                    offset += part.len() + 1;
                }
                let reason = rest[close + 1..].trim();
                let reason = (!reason.is_empty()).then(|| reason.to_owned());
                (Some(at(list_start, list_start + close)), names, reason)
            }
            None => (None, Vec::new(), None),
        };
        let this_line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        out.push(Suppression {
            file,
            line: if own_line { this_line + 1 } else { this_line },
            names,
            reason,
            comment: at(sign, line.len()),
            list,
            removal: if own_line {
                Span::new(file, line_start, start)
            } else {
                at(code_end, line.len())
            },
        });
    }
    out
}

/// Every suppression comment of every file.
pub fn scan_all(sources: &SourceMap) -> Vec<Suppression> {
    sources
        .files()
        .flat_map(|(id, file)| scan(id, &file.text))
        .collect()
}

/// Drops findings covered by a suppression comment in their primary file; then, when
/// `unused-suppression` is among the rules that ran, adds its findings: the names that
/// suppressed nothing, of rules that ran (themselves dropped when a comment covers them).
pub fn apply(
    findings: Vec<Diagnostic>,
    sources: &SourceMap,
    ran: &[&'static Rule],
) -> Vec<Diagnostic> {
    let suppressions = scan_all(sources);
    if suppressions.is_empty() {
        return findings;
    }
    let mut used: Vec<Vec<bool>> = suppressions
        .iter()
        .map(|s| vec![false; s.names.len()])
        .collect();
    let mut kept = filter(findings, sources, &suppressions, &mut used);
    let unused_rule = &rules::syntax::unused_suppression::RULE;
    if ran.iter().any(|r| r.meta.name == unused_rule.meta.name) {
        let unused = rules::syntax::unused_suppression::report(&suppressions, &used, ran);
        kept.extend(filter(unused, sources, &suppressions, &mut used));
    }
    kept
}

/// The findings no comment covers; marks the names that cover the others as used.
fn filter(
    findings: Vec<Diagnostic>,
    sources: &SourceMap,
    suppressions: &[Suppression],
    used: &mut [Vec<bool>],
) -> Vec<Diagnostic> {
    findings
        .into_iter()
        .filter(|d| {
            let Some(rule) = d.rule else { return true };
            let span = d.primary.span;
            let (start, _) = sources.resolve(span);
            let mut covered = false;
            for (s, flags) in suppressions.iter().zip(used.iter_mut()) {
                if let Some(names) = s.covers(rule, span.file, start.line, span) {
                    covered = true;
                    names.into_iter().for_each(|i| flags[i] = true);
                }
            }
            !covered
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &Suppression) -> Vec<&str> {
        s.names.iter().map(|n| n.text.as_str()).collect()
    }

    #[test]
    fn comments_cover_their_line_or_the_next() {
        let text = "# portolan: ignore[env-double-equals] typo kept on purpose\nA==b\nB==c # portolan: ignore[a, b]\nurl = 1 // portolan: ignore[all]\nX=\"# portolan: ignore[x]\"\n";
        let found = scan(FileId(0), text);
        let lines: Vec<(u32, Vec<&str>)> = found.iter().map(|s| (s.line, names(s))).collect();
        assert_eq!(
            lines,
            vec![
                (2, vec!["env-double-equals"]),
                (3, vec!["a", "b"]),
                (4, vec!["all"]),
            ]
        );
        assert_eq!(found[0].reason.as_deref(), Some("typo kept on purpose"));
        assert_eq!(found[1].reason, None);
    }

    #[test]
    fn names_are_rules_by_name_former_name_or_code_in_any_case() {
        let text = "x = 1 # portolan: ignore[PT201, pt203 ,site-origin-equals-cloud-origin, all, nope] why\n";
        let found = scan(FileId(0), text);
        let targets: Vec<Target> = found[0].names.iter().map(|n| n.target).collect();
        assert_eq!(
            targets,
            [
                Target::Rule("app-port-not-served"),
                Target::Rule("published-port-without-listener"),
                Target::Rule("origin-shared-by-roles"),
                Target::All,
                Target::Unknown,
            ]
        );
        // Each name's span is its text.
        for name in &found[0].names {
            assert_eq!(&text[name.span.range()], name.text);
        }
        assert_eq!(found[0].reason.as_deref(), Some("why"));
        assert_eq!(&text[found[0].comment.range()], &text[6..text.len() - 1]);
    }

    #[test]
    fn fixes_drop_names_or_the_whole_comment() {
        let apply = |text: &str, drop: &[usize]| {
            let found = scan(FileId(0), text);
            let fix = found[0].fix_without(drop, "remove");
            let edit = &fix.edits[0];
            let mut out = text.to_owned();
            out.replace_range(edit.span.range(), &edit.replacement);
            out
        };
        let after_code = "A==b   # portolan: ignore[a,b , c] reason\nB=1\n";
        assert_eq!(
            apply(after_code, &[1]),
            "A==b   # portolan: ignore[a, c] reason\nB=1\n"
        );
        assert_eq!(apply(after_code, &[0, 1, 2]), "A==b\nB=1\n");
        let own_line = "B=1\n  # portolan: ignore[a]\nA==b\n";
        assert_eq!(apply(own_line, &[0]), "B=1\nA==b\n");
        let crlf = "A==b # portolan: ignore[a]\r\nB=1\r\n";
        assert_eq!(apply(crlf, &[0]), "A==b\r\nB=1\r\n");
        let unclosed = "A==b # portolan: ignore[a\n";
        assert_eq!(scan(FileId(0), unclosed)[0].list, None);
        assert_eq!(apply(unclosed, &[]), "A==b\n");
    }
}
