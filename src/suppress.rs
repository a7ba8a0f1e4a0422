//! Inline suppressions: `# portolan: ignore[rule-name] reason` (or `// portolan: ignore[...]`).
//!
//! A comment on its own line covers the next line; a comment after code covers its own line.
//! Several rules may be listed: `ignore[rule-a, rule-b]`. `ignore[all]` covers every rule. A
//! rule's former name (`rules::RENAMED`) still covers it.
//! The same syntax works in Terraform, compose YAML, shell scripts and env files, since all four
//! have `#` comments.

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceMap};

const MARK: &str = "portolan: ignore[";

/// One suppression comment: the rules it names and the line it covers (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub file: FileId,
    pub line: u32,
    pub rules: Vec<String>,
}

/// Finds every suppression comment in a file.
pub fn scan(file: FileId, text: &str) -> Vec<Suppression> {
    let mut out = Vec::new();
    if !text.contains(MARK) {
        return out;
    }
    for (index, line) in text.lines().enumerate() {
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
        let code_before = code_before.trim();
        let rest = &line[pos + MARK.len()..];
        let Some(close) = rest.find(']') else {
            continue;
        };
        let rules = rest[..close]
            .split(',')
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        let this_line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        out.push(Suppression {
            file,
            line: if code_before.is_empty() {
                this_line + 1
            } else {
                this_line
            },
            rules,
        });
    }
    out
}

/// Drops findings covered by a suppression comment in their primary file.
pub fn apply(findings: Vec<Diagnostic>, sources: &SourceMap) -> Vec<Diagnostic> {
    let suppressions: Vec<Suppression> = sources
        .files()
        .flat_map(|(id, file)| scan(id, &file.text))
        .collect();
    if suppressions.is_empty() {
        return findings;
    }
    findings
        .into_iter()
        .filter(|d| {
            let Some(rule) = d.rule else { return true };
            let (start, _) = sources.resolve(d.primary.span);
            !suppressions.iter().any(|s| {
                s.file == d.primary.span.file
                    && s.line == start.line
                    && s.rules
                        .iter()
                        .any(|r| crate::rules::current_name(r) == rule || r == "all")
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_cover_their_line_or_the_next() {
        let text = "# portolan: ignore[env-double-equals] typo kept on purpose\nA==b\nB==c # portolan: ignore[a, b]\nurl = 1 // portolan: ignore[all]\nX=\"# portolan: ignore[x]\"\n";
        let found = scan(FileId(0), text);
        let lines: Vec<(u32, Vec<String>)> = found.into_iter().map(|s| (s.line, s.rules)).collect();
        assert_eq!(
            lines,
            vec![
                (2, vec!["env-double-equals".to_owned()]),
                (3, vec!["a".to_owned(), "b".to_owned()]),
                (4, vec!["all".to_owned()]),
            ]
        );
    }
}
