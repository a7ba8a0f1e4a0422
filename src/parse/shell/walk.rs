//! The walk over the bash syntax tree: what it knows about a node's surroundings, the statements
//! it descends into, and the syntax-error regions it reports.

use super::template::Template;
use super::{find_urls, ScriptFacts, MAX_DEPTH, MAX_SYNTAX_ERRORS, STATEMENTS};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use tree_sitter::{Node, Point};

/// How a stretch of source text is quoted, which decides what a backslash does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Quoting {
    Unquoted,
    Double,
    Heredoc,
    Raw,
}

/// What the walk knows about the surroundings of a node.
#[derive(Clone, Copy)]
pub(super) struct Ctx {
    pub(super) background: bool,
    /// Inside a word whose URLs were already collected.
    pub(super) in_word: bool,
    pub(super) depth: usize,
    pub(super) shell_depth: usize,
    pub(super) parent: &'static str,
}

impl Ctx {
    pub(super) fn top() -> Ctx {
        Ctx {
            background: false,
            in_word: false,
            depth: 0,
            shell_depth: 0,
            parent: "",
        }
    }
}

/// Reads one script's syntax tree into [`ScriptFacts`]. Its methods are split over the modules
/// of this folder by what they read: words, commands, writes and syntax errors.
pub(super) struct Walker<'a> {
    pub(super) file: FileId,
    pub(super) base: usize,
    /// The masked text all tree offsets point into.
    pub(super) src: &'a str,
    pub(super) template: &'a Template,
    pub(super) facts: ScriptFacts,
    pub(super) warned_depth: bool,
}

pub(super) fn children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.children(&mut cursor).collect()
}

pub(super) fn field_of(node: Node<'_>, index: usize) -> Option<&'static str> {
    node.field_name_for_child(u32::try_from(index).ok()?)
}

pub(super) fn is_wordish(kind: &str) -> bool {
    matches!(
        kind,
        "word"
            | "string"
            | "raw_string"
            | "concatenation"
            | "ansi_c_string"
            | "translated_string"
            | "heredoc_body"
            | "expansion"
            | "simple_expansion"
    )
}

impl<'a> Walker<'a> {
    pub(super) fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, self.base + start, self.base + end)
    }

    pub(super) fn node_span(&self, node: Node<'_>) -> Span {
        self.span(node.start_byte(), node.end_byte())
    }

    pub(super) fn text(&self, node: Node<'_>) -> &'a str {
        self.src.get(node.byte_range()).unwrap_or("")
    }

    pub(super) fn walk(&mut self, node: Node<'_>, ctx: Ctx) {
        if ctx.depth > MAX_DEPTH {
            self.warn_depth(node);
            return;
        }
        let kind = node.kind();
        let wordish = is_wordish(kind);
        // Commands and assignments collect the URLs of the (repaired) words they read.
        if wordish && !ctx.in_word {
            let word = self.word(node, 0);
            self.facts.urls.extend(find_urls(&word));
        }
        let mut reparsed = None;
        match kind {
            "command" => {
                reparsed = self.command(node, ctx);
                if ctx.parent != "redirected_statement" {
                    self.statement_writes(node);
                }
            }
            "variable_assignment" if !matches!(ctx.parent, "command" | "declaration_command") => {
                let assignment = self.assignment(node, None, false);
                self.facts.urls.extend(find_urls(&assignment.value));
                self.facts.assignments.push(assignment);
            }
            "declaration_command" => self.declaration(node),
            "redirected_statement" => self.statement_writes(node),
            "pipeline" => self.pipeline_writes(node),
            _ => {}
        }
        let in_word = match kind {
            "command_substitution" | "process_substitution" => false,
            _ => ctx.in_word || wordish,
        };
        let kids = children(node);
        for (i, child) in kids.iter().enumerate() {
            if reparsed == Some(child.id()) {
                continue;
            }
            let background = ctx.background
                || kids
                    .get(i + 1)
                    .is_some_and(|n| n.kind() == "&" && !n.is_named());
            let covered = match kind {
                "command" => {
                    matches!(field_of(node, i), Some("name" | "argument"))
                        || child.kind() == "variable_assignment"
                }
                "declaration_command" | "variable_assignment" => true,
                _ => false,
            };
            let child_ctx = Ctx {
                background,
                in_word: in_word || covered,
                depth: ctx.depth + 1,
                parent: kind,
                ..ctx
            };
            self.walk(*child, child_ctx);
        }
    }

    fn warn_depth(&mut self, node: Node<'_>) {
        if !self.warned_depth {
            self.warned_depth = true;
            let span = self.node_span(node);
            self.facts.diagnostics.push(
                Diagnostic::warning(span, "script nested too deeply; portolan skipped this part")
                    .with_label("not read"),
            );
        }
    }

    pub(super) fn point(&self, offset: usize) -> Point {
        let before = self.src.as_bytes().get(..offset).unwrap_or(&[]);
        let row = before.iter().filter(|&&b| b == b'\n').count();
        let column = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(offset, |p| offset - p - 1);
        Point { row, column }
    }

    // -- syntax errors -------------------------------------------------------------------------

    pub(super) fn collect_errors(&mut self, root: Node<'_>) {
        if !root.has_error() {
            return;
        }
        let mut regions: Vec<(usize, usize, Diagnostic)> = Vec::new();
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            if node.is_error() {
                let (start, end) = self.error_focus(node);
                let snippet: String = self
                    .src
                    .get(start..end)
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(40)
                    .collect();
                let message = if snippet.trim().is_empty() {
                    "shell syntax error".to_string()
                } else {
                    format!("shell syntax error near `{}`", snippet.trim())
                };
                let diagnostic = Diagnostic::error(self.span(start, end), message)
                    .with_label("portolan's shell parser stops here");
                regions.push((start, end, diagnostic));
            } else if node.is_missing() {
                let at = node.start_byte();
                let mut diagnostic = Diagnostic::error(
                    self.span(at, at),
                    format!("shell syntax error: missing `{}`", node.kind()),
                )
                .with_label(format!("expected `{}` here", node.kind()));
                if let Some(opener) = node.parent().and_then(|p| p.child(0)) {
                    diagnostic = diagnostic.with_related(self.node_span(opener), "opened here");
                }
                regions.push((at, at, diagnostic));
            } else if node.has_error() {
                let kids = children(node);
                stack.extend(kids.into_iter().rev());
            }
        }
        regions.sort_by_key(|r| (r.0, r.1));
        let mut last_end: Option<usize> = None;
        let mut kept: Vec<Diagnostic> = Vec::new();
        let mut more = 0usize;
        for (start, end, diagnostic) in regions {
            if last_end.is_some_and(|e| start <= e) {
                last_end = last_end.map(|e| e.max(end));
                continue;
            }
            last_end = Some(end);
            if kept.len() < MAX_SYNTAX_ERRORS {
                kept.push(diagnostic);
            } else {
                more += 1;
            }
        }
        if more > 0 {
            if let Some(last) = kept.last_mut() {
                last.message.push_str(&format!(
                    " (and {more} more syntax errors after it, not shown)"
                ));
            }
        }
        self.facts.diagnostics.extend(kept);
    }

    /// The part of an ERROR node that is the error: its first run of children that are not whole
    /// statements (tree-sitter often wraps good statements into the error node).
    fn error_focus(&self, node: Node<'_>) -> (usize, usize) {
        let kids = children(node);
        let separator =
            |n: &Node<'_>| !n.is_named() && matches!(n.kind(), "&" | ";" | "&&" | "||" | "|");
        let bad = |n: &Node<'_>| {
            n.is_error() || n.is_missing() || !(STATEMENTS.contains(&n.kind()) || separator(n))
        };
        let Some(first) = kids.iter().position(bad) else {
            return (node.start_byte(), node.end_byte());
        };
        let last = kids
            .iter()
            .skip(first)
            .take_while(|n| bad(n))
            .last()
            .map_or(node.end_byte(), |n| n.end_byte());
        let start = kids
            .get(first)
            .map_or(node.start_byte(), |n| n.start_byte());
        (start, last.max(start))
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::shell::testing::*;
    use crate::parse::shell::*;

    #[test]
    fn syntax_errors_are_capped_per_script() {
        let src = "echo )\n".repeat(MAX_SYNTAX_ERRORS + 5);
        let f = facts(&src);
        assert_eq!(
            f.diagnostics.len(),
            MAX_SYNTAX_ERRORS,
            "{:?}",
            f.diagnostics
        );
        assert!(f.diagnostics[MAX_SYNTAX_ERRORS - 1]
            .message
            .ends_with("(and 5 more syntax errors after it, not shown)"));
    }

    #[test]
    fn syntax_errors_one_per_region() {
        let src = "echo a\necho )\necho c\n";
        let f = facts(src);
        assert_eq!(f.diagnostics.len(), 1, "{:?}", f.diagnostics);
        let d = &f.diagnostics[0];
        assert!(d.is_error());
        assert_eq!(d.primary.span.range(), at(src, ")"));
        let first_args: Vec<_> = f
            .commands
            .iter()
            .filter_map(|c| c.args.first()?.literal())
            .collect();
        assert!(first_args.contains(&"c".to_string()));

        let src = "echo ok\nif true; then\n  echo b\n";
        let f = facts(src);
        assert_eq!(f.diagnostics.len(), 1);
        assert_eq!(f.diagnostics[0].message, "shell syntax error: missing `fi`");
        assert_eq!(f.diagnostics[0].related[0].span.range(), at(src, "if"));
        assert_eq!(f.commands.len(), 3);

        let src = "code-server --port 8080 &\nif then fi\necho \"unterminated\n";
        let f = facts(src);
        assert!(!f.diagnostics.is_empty());
        assert!(f.diagnostics.len() <= 2, "{:?}", f.diagnostics);
        let if_at = at(src, "if").start as u32;
        assert!(f
            .diagnostics
            .iter()
            .all(|d| d.is_error() && d.primary.span.start >= if_at));
        let cs = command(&f, "code-server");
        assert_eq!(
            cs.flag_value(&["--port"]).unwrap().literal().as_deref(),
            Some("8080")
        );

        // Syntax errors inside a `bash -c '...'` string point into it.
        let src = "bash -c 'echo )'\n";
        let f = facts(src);
        assert_eq!(f.diagnostics.len(), 1, "{:?}", f.diagnostics);
        assert_eq!(f.diagnostics[0].primary.span.range(), at(src, ")"));

        assert!(facts(CONVEX).diagnostics.is_empty());
    }
}
