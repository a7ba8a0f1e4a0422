//! Shell words: [`Word`] and its [`WordPart`]s, how they are read from the syntax tree (quote
//! removal, expansions, Terraform pieces split out), joined, and evaluated once the caller knows the
//! variables.

use super::walk::{children, field_of, Quoting, Walker};
use super::{find_urls, Url, MAX_WORD_DEPTH};
use crate::source::Span;
use std::fmt;
use tree_sitter::Node;

/// A shell word as written (`"$HOME/x"`, `--port=${PORT:-3000}`, a heredoc body): its span and its
/// pieces in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The whole word as written, quotes included.
    pub span: Span,
    pub parts: Vec<WordPart>,
}

/// One piece of a [`Word`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WordPart {
    /// Text the shell sees after quote and backslash removal. When `text` is as long as `span`, its
    /// bytes map one to one onto the source; otherwise it is one escaped character (`\"`) or a
    /// decoded `$'...'` string.
    Literal { text: String, span: Span },
    /// `$X`, `${X}`, `${X:-default}`, ...
    Variable(VariableRef),
    /// `$(...)` or backquotes; `script` is the text inside. Its commands are in
    /// [`ScriptFacts::commands`](super::ScriptFacts::commands).
    CommandSubstitution { script: String, span: Span },
    /// A Terraform template piece: `${local.x}` has `expression` `local.x`; `directive` is true for
    /// an inline `%{ if ... }`.
    HclInterpolation {
        expression: String,
        directive: bool,
        span: Span,
    },
    /// Something whose value is not known without running the script: `$((1+2))`, `<(cmd)`,
    /// `${#X}`, `${X[0]}`, arrays.
    Dynamic { text: String, span: Span },
}

/// A parameter expansion: `$X`, `${X}`, `${X:-default}`, `${X#prefix}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableRef {
    pub name: String,
    /// `:-`, `-`, `:=`, `=`, `:+`, `+`, `:?`, `#`, `%`, `/`, `^^`, ... when present.
    pub operator: Option<String>,
    /// The word after the operator (`default` in `${X:-default}`).
    pub operand: Option<Word>,
    pub span: Span,
}

/// What [`Word::evaluate`] asks its caller for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// The value of a shell variable; answer `None` when it is unset or unknown.
    Variable(&'a str),
    /// The value of a Terraform expression such as `local.port`.
    Hcl(&'a str),
}

impl Word {
    /// A word made of one static piece of text (for callers that have a value from elsewhere).
    pub fn from_literal(text: &str, span: Span) -> Word {
        Word {
            span,
            parts: vec![WordPart::Literal {
                text: text.to_string(),
                span,
            }],
        }
    }

    /// The value, when every part is static text.
    pub fn literal(&self) -> Option<String> {
        self.parts
            .iter()
            .map(|p| match p {
                WordPart::Literal { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The value, asking `lookup` for variables and Terraform expressions. `None` when a part
    /// cannot be known (command substitution, arithmetic) or `lookup` has no answer and the
    /// expansion has no default.
    pub fn evaluate(&self, lookup: &mut dyn FnMut(Lookup<'_>) -> Option<String>) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                WordPart::Literal { text, .. } => out.push_str(text),
                WordPart::Variable(var) => out.push_str(&var.evaluate(lookup)?),
                WordPart::HclInterpolation {
                    expression,
                    directive: false,
                    ..
                } => out.push_str(&lookup(Lookup::Hcl(expression))?),
                _ => return None,
            }
        }
        Some(out)
    }

    /// Every http(s) URL in this word.
    pub fn urls(&self) -> Vec<Url> {
        find_urls(self)
    }

    /// The text of the first part when it is literal (where flags and `NAME=` start).
    pub(super) fn leading_text(&self) -> &str {
        match self.parts.first() {
            Some(WordPart::Literal { text, .. }) => text,
            _ => "",
        }
    }

    /// The parts after bytes `from..to` of the first part's text, which must be a literal.
    pub(super) fn after_first(&self, to: usize) -> Word {
        let mut parts = Vec::new();
        if let Some(WordPart::Literal { text, span }) = self.parts.first() {
            let rest = text.get(to..).unwrap_or("");
            let rest_span = if is_verbatim(text, *span) {
                span.sub(to.min(text.len()), text.len())
            } else {
                Span::new(span.file, span.end as usize, span.end as usize)
            };
            if !rest.is_empty() {
                parts.push(WordPart::Literal {
                    text: rest.to_string(),
                    span: rest_span,
                });
            }
            parts.extend(self.parts.iter().skip(1).cloned());
            let span = match (parts.first(), parts.last()) {
                (Some(a), Some(b)) => a.span().to(b.span()),
                _ => rest_span,
            };
            return Word { span, parts };
        }
        self.clone()
    }

    /// The span of the first `len` bytes of the first part's text.
    pub(super) fn leading_span(&self, len: usize) -> Span {
        match self.parts.first() {
            Some(WordPart::Literal { text, span }) if is_verbatim(text, *span) => {
                span.sub(0, len.min(text.len()))
            }
            Some(part) => part.span(),
            None => self.span,
        }
    }
}

impl fmt::Display for Word {
    /// Shell-like text: literals as they are, variables as `${NAME}`, `$(...)`, `${hcl}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                WordPart::Literal { text, .. } | WordPart::Dynamic { text, .. } => {
                    f.write_str(text)?
                }
                WordPart::Variable(v) => {
                    write!(f, "${{{}{}", v.name, v.operator.as_deref().unwrap_or(""))?;
                    if let Some(operand) = &v.operand {
                        write!(f, "{operand}")?;
                    }
                    f.write_str("}")?;
                }
                WordPart::CommandSubstitution { script, .. } => write!(f, "$({script})")?,
                WordPart::HclInterpolation {
                    expression,
                    directive,
                    ..
                } => write!(f, "{}{{{expression}}}", if *directive { '%' } else { '$' })?,
            }
        }
        Ok(())
    }
}

impl WordPart {
    pub fn span(&self) -> Span {
        match self {
            WordPart::Literal { span, .. }
            | WordPart::CommandSubstitution { span, .. }
            | WordPart::HclInterpolation { span, .. }
            | WordPart::Dynamic { span, .. } => *span,
            WordPart::Variable(v) => v.span,
        }
    }
}

impl VariableRef {
    /// The value of this expansion, applying `:-`, `-`, `:=`, `=`, `:+`, `+`, `:?` and `?`.
    /// Other operators (`#`, `%`, `/`, ...) give `None`.
    pub fn evaluate(&self, lookup: &mut dyn FnMut(Lookup<'_>) -> Option<String>) -> Option<String> {
        let value = lookup(Lookup::Variable(&self.name));
        let operand = self.operand.as_ref();
        match self.operator.as_deref() {
            None | Some(":?" | "?") => value,
            Some(":-" | ":=") => match value {
                Some(v) if !v.is_empty() => Some(v),
                _ => operand?.evaluate(lookup),
            },
            Some("-" | "=") => match value {
                Some(v) => Some(v),
                None => operand?.evaluate(lookup),
            },
            Some(":+") => match value {
                Some(v) if !v.is_empty() => operand?.evaluate(lookup),
                _ => Some(String::new()),
            },
            Some("+") => match value {
                Some(_) => operand?.evaluate(lookup),
                None => Some(String::new()),
            },
            Some(_) => None,
        }
    }
}

pub(super) fn is_verbatim(text: &str, span: Span) -> bool {
    text.len() == span.range().len()
}

/// Appends a part, merging it into the previous literal when both map one to one and touch.
pub(super) fn push_part(out: &mut Vec<WordPart>, part: WordPart) {
    if let (
        Some(WordPart::Literal {
            text: last_text,
            span: last_span,
        }),
        WordPart::Literal { text, span },
    ) = (out.last_mut(), &part)
    {
        if is_verbatim(last_text, *last_span)
            && is_verbatim(text, *span)
            && last_span.end == span.start
        {
            last_text.push_str(text);
            last_span.end = span.end;
            return;
        }
    }
    out.push(part);
}

/// An empty word at the start of `at`.
pub(super) fn empty_word(at: Span) -> Word {
    Word {
        span: Span::new(at.file, at.start as usize, at.start as usize),
        parts: Vec::new(),
    }
}

/// `a` and `b` as one word (they touch in the source). A `$` ending `a` followed by a name starting
/// `b` is a variable reference that the grammar split.
pub(super) fn join_words(a: Word, b: Word) -> Word {
    let span = a.span.to(b.span);
    let mut parts = a.parts;
    let name_len = identifier_len(b.leading_text());
    let dangling = match (parts.last(), b.parts.first()) {
        (
            Some(WordPart::Literal { text, span }),
            Some(WordPart::Literal {
                text: next,
                span: next_span,
            }),
        ) if text.ends_with('$')
            && is_verbatim(text, *span)
            && is_verbatim(next, *next_span)
            && name_len > 0 =>
        {
            Some((span.end as usize - 1, next_span.start as usize))
        }
        _ => None,
    };
    let Some((dollar, name_start)) = dangling else {
        for part in b.parts {
            push_part(&mut parts, part);
        }
        return Word { span, parts };
    };
    if let Some(WordPart::Literal { text, span }) = parts.last_mut() {
        text.pop();
        span.end -= 1;
        if text.is_empty() {
            parts.pop();
        }
    }
    parts.push(WordPart::Variable(VariableRef {
        name: b.leading_text().get(..name_len).unwrap_or("").to_string(),
        operator: None,
        operand: None,
        span: Span::new(span.file, dollar, name_start + name_len),
    }));
    for part in b.after_first(name_len).parts {
        push_part(&mut parts, part);
    }
    Word { span, parts }
}

/// The length of the shell variable name at the start of `text` (0 if none).
fn identifier_len(text: &str) -> usize {
    if !text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return 0;
    }
    text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len())
}

/// Decodes a `$'...'` string's common escapes.
fn decode_ansi_c(text: &str) -> String {
    let inner = text
        .strip_prefix("$'")
        .and_then(|t| t.strip_suffix('\''))
        .unwrap_or(text);
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('e' | 'E') => out.push('\u{1b}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

impl<'a> Walker<'a> {
    pub(super) fn word(&self, node: Node<'_>, depth: usize) -> Word {
        let mut parts = Vec::new();
        self.parts(node, depth, &mut parts);
        // `$${X}` of a Terraform template is `${X}` for bash: the word starts after the `$`
        // Terraform removes.
        let start = node.start_byte();
        let start = if self.template.is_elided(start) && node.end_byte() > start {
            start + 1
        } else {
            start
        };
        Word {
            span: self.span(start, node.end_byte()),
            parts,
        }
    }

    fn parts(&self, node: Node<'_>, depth: usize, out: &mut Vec<WordPart>) {
        let (start, end) = (node.start_byte(), node.end_byte());
        if depth > MAX_WORD_DEPTH {
            return self.dynamic(node, out);
        }
        match node.kind() {
            "word"
            | "number"
            | "regex"
            | "extglob_pattern"
            | "special_variable_name"
            | "variable_name" => self.literal(start, end, Quoting::Unquoted, out),
            "raw_string" if end >= start + 2 => self.literal(start + 1, end - 1, Quoting::Raw, out),
            "string" | "translated_string" => {
                let text = self.text(node);
                let open = text.find('"').map_or(start, |i| start + i + 1);
                let close = if text.len() > 1 && text.ends_with('"') {
                    end - 1
                } else {
                    end
                };
                self.children_parts(node, open, close, Quoting::Double, depth, out);
            }
            "ansi_c_string" => push_part(
                out,
                WordPart::Literal {
                    text: decode_ansi_c(self.text(node)),
                    span: self.node_span(node),
                },
            ),
            "concatenation" => self.children_parts(node, start, end, Quoting::Unquoted, depth, out),
            "heredoc_body" => {
                let quoted = node
                    .parent()
                    .and_then(|p| {
                        children(p)
                            .into_iter()
                            .find(|c| c.kind() == "heredoc_start")
                    })
                    .is_some_and(|s| self.text(s).contains(['\'', '"', '\\']));
                if quoted {
                    self.literal(start, end, Quoting::Raw, out);
                } else {
                    self.children_parts(node, start, end, Quoting::Heredoc, depth, out);
                }
            }
            "simple_expansion" => {
                let text = self.text(node);
                let name = text.strip_prefix('$').unwrap_or(text);
                out.push(WordPart::Variable(VariableRef {
                    name: name.to_string(),
                    operator: None,
                    operand: None,
                    span: self.node_span(node),
                }));
            }
            "expansion" => self.expansion(node, depth, out),
            "command_substitution" => {
                let text = self.text(node);
                let inner = text
                    .strip_prefix("$(")
                    .and_then(|t| t.strip_suffix(')'))
                    .or_else(|| text.strip_prefix('`').and_then(|t| t.strip_suffix('`')))
                    .unwrap_or(text);
                out.push(WordPart::CommandSubstitution {
                    script: inner.trim().to_string(),
                    span: self.node_span(node),
                });
            }
            _ if node.named_child_count() == 0 && !node.is_error() => {
                self.literal(start, end, Quoting::Unquoted, out)
            }
            _ => self.dynamic(node, out),
        }
    }

    fn dynamic(&self, node: Node<'_>, out: &mut Vec<WordPart>) {
        out.push(WordPart::Dynamic {
            text: self.text(node).to_string(),
            span: self.node_span(node),
        });
    }

    /// The parts of the children of `node` inside `from..to`; text between children is literal.
    fn children_parts(
        &self,
        node: Node<'_>,
        from: usize,
        to: usize,
        quoting: Quoting,
        depth: usize,
        out: &mut Vec<WordPart>,
    ) {
        let mut pos = from;
        for child in children(node) {
            let (s, e) = (child.start_byte(), child.end_byte());
            if s < from || e > to {
                continue;
            }
            if s > pos {
                self.literal(pos, s, quoting, out);
            }
            if !child.is_named() || matches!(child.kind(), "string_content" | "heredoc_content") {
                self.literal(s, e, quoting, out);
            } else {
                self.parts(child, depth + 1, out);
            }
            pos = pos.max(e);
        }
        if pos < to {
            self.literal(pos, to, quoting, out);
        }
    }

    fn expansion(&self, node: Node<'_>, depth: usize, out: &mut Vec<WordPart>) {
        let kids = children(node);
        let name_index = kids
            .iter()
            .position(|c| matches!(c.kind(), "variable_name" | "special_variable_name"));
        let first_named = kids.iter().position(|c| c.is_named());
        // `${#X}`, `${!X}`, `${X[0]}` and anything unusual: not a plain variable.
        let Some(name_index) = name_index.filter(|&i| Some(i) == first_named && i == 1) else {
            return self.dynamic(node, out);
        };
        let Some(name_node) = kids.get(name_index) else {
            return self.dynamic(node, out);
        };
        let operator_index =
            (name_index + 1..kids.len()).find(|&i| field_of(node, i) == Some("operator"));
        let (operator, operand) = match operator_index.and_then(|i| kids.get(i)) {
            Some(op) => {
                let close = kids
                    .last()
                    .filter(|c| c.kind() == "}")
                    .map_or(node.end_byte(), |c| c.start_byte());
                let from = op.end_byte().min(close);
                let mut parts = Vec::new();
                if matches!(
                    self.text(*op),
                    ":-" | "-" | ":=" | "=" | ":+" | "+" | ":?" | "?"
                ) {
                    self.children_parts(node, from, close, Quoting::Unquoted, depth, &mut parts);
                } else if from < close {
                    self.literal(from, close, Quoting::Raw, &mut parts);
                }
                let operand = Word {
                    span: self.span(from, close),
                    parts,
                };
                (Some(self.text(*op).to_string()), Some(operand))
            }
            None => (None, None),
        };
        out.push(WordPart::Variable(VariableRef {
            name: self.text(*name_node).to_string(),
            operator,
            operand,
            span: self.node_span(node),
        }));
    }

    /// Literal text of `start..end`, with Terraform interpolations split out as their own parts.
    fn literal(&self, start: usize, end: usize, quoting: Quoting, out: &mut Vec<WordPart>) {
        let hcl = &self.template.hcl;
        let first = hcl.partition_point(|r| r.end <= start);
        let mut pos = start;
        for region in hcl.iter().skip(first).take_while(|r| r.start < end) {
            if region.start > pos {
                self.plain(pos, region.start, quoting, out);
            }
            out.push(WordPart::HclInterpolation {
                expression: region.expression.clone(),
                directive: region.directive,
                span: self.span(region.start, region.end),
            });
            pos = pos.max(region.end.min(end));
        }
        if pos < end {
            self.plain(pos, end, quoting, out);
        }
    }

    /// Literal text of `start..end` after backslash removal for `quoting`.
    fn plain(&self, start: usize, end: usize, quoting: Quoting, out: &mut Vec<WordPart>) {
        let Some(text) = self.src.get(start..end) else {
            return;
        };
        let flush = |out: &mut Vec<WordPart>, from: usize, to: usize| {
            if let Some(piece) = text.get(from..to).filter(|p| !p.is_empty()) {
                push_part(
                    out,
                    WordPart::Literal {
                        text: piece.to_string(),
                        span: self.span(start + from, start + to),
                    },
                );
            }
        };
        let mut run = 0;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '.' && self.template.is_elided(start + i) {
                flush(out, run, i);
                run = i + 1;
                continue;
            }
            if c != '\\' || quoting == Quoting::Raw {
                continue;
            }
            let Some(&(j, n)) = chars.peek() else {
                continue;
            };
            let escapes = match quoting {
                Quoting::Unquoted => true,
                Quoting::Double => matches!(n, '$' | '`' | '"' | '\\' | '\n'),
                Quoting::Heredoc => matches!(n, '$' | '`' | '\\' | '\n'),
                Quoting::Raw => false,
            };
            if !escapes {
                continue;
            }
            chars.next();
            flush(out, run, i);
            let after = j + n.len_utf8();
            if n != '\n' {
                out.push(WordPart::Literal {
                    text: n.to_string(),
                    span: self.span(start + i, start + after),
                });
            }
            run = after;
        }
        flush(out, run, text.len());
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::shell::testing::*;
    use crate::parse::shell::*;

    #[test]
    fn escapes_map_back_to_the_source() {
        let src = "echo a\\ b \"q\\\"uote\" $'x\\ny'\n";
        let f = facts(src);
        let args: Vec<Option<String>> =
            command(&f, "echo").args.iter().map(Word::literal).collect();
        assert_eq!(
            args,
            [
                Some("a b".to_string()),
                Some("q\"uote".into()),
                Some("x\ny".into())
            ]
        );
        let quote = &command(&f, "echo").args[1];
        // `q`, the escaped `"` (two bytes in the source), `uote`.
        let spans: Vec<_> = quote.parts.iter().map(|p| p.span().range()).collect();
        let q = at(src, "q\\").start;
        assert_eq!(spans, [q..q + 1, q + 1..q + 3, q + 3..q + 7]);
    }

    #[test]
    fn split_words_are_joined_again() {
        // tree-sitter-bash splits `$A/$B/x` after the second `$`; portolan joins the pieces.
        let src = "echo $A/$B/$C/x\n$BIN/$NAME/run --port 1\nexport X=http://$H:$P/x\nA=$B-$C.d D=$E-$F.g cmd\nL=$B-$C.d\n";
        let f = facts(src);
        let echo = command(&f, "echo");
        assert_eq!(echo.args.len(), 1);
        assert_eq!(vars(&echo.args[0]), ["A", "B", "C"]);
        assert_eq!(echo.args[0].to_string(), "${A}/${B}/${C}/x");
        let b = &echo.args[0].parts[2];
        assert_eq!(
            b.span().range(),
            at(src, "$B/").start..at(src, "$B/").start + 2
        );

        let run = command(&f, "run");
        assert_eq!(run.program.to_string(), "${BIN}/${NAME}/run");
        assert_eq!(
            run.flag_value(&["--port"])
                .and_then(Word::literal)
                .as_deref(),
            Some("1")
        );

        let x = f.assignments.iter().find(|a| a.name == "X").unwrap();
        assert_eq!(x.value.to_string(), "http://${H}:${P}/x");
        assert_eq!(x.span.range(), at(src, "X=http://$H:$P/x"));
        let url = f
            .urls
            .iter()
            .find(|u| u.span.range() == at(src, "http://$H:$P/x"))
            .unwrap();
        assert_eq!(
            (vars(&url.host), url.port.as_ref().map(vars)),
            (vec!["H"], Some(vec!["P"]))
        );

        let cmd = command(&f, "cmd");
        let env: Vec<String> = cmd
            .env
            .iter()
            .map(|a| format!("{}={}", a.name, a.value))
            .collect();
        assert_eq!(env, ["A=${B}-${C}.d", "D=${E}-${F}.g"]);
        // Without a program, the joined words are the script's assignments.
        let l = f.assignments.iter().find(|a| a.name == "L").unwrap();
        assert_eq!(l.value.to_string(), "${B}-${C}.d");
        assert!(f.commands.iter().all(|c| c.program.to_string() != "C.d"));
    }

    #[test]
    fn evaluate_applies_defaults_and_lookups() {
        let src = "A=\"${HOST:-localhost}:${PORT-3000}/${local.path}\"\nB=${X#p}\nC=\"$(id -u)\"\n";
        let f = facts(src);
        let mut lookup = |l: Lookup<'_>| match l {
            Lookup::Variable("PORT") => Some("8080".to_string()),
            Lookup::Variable(_) => None,
            Lookup::Hcl(expr) => Some(format!("<{expr}>")),
        };
        let a = &f.assignments[0].value;
        assert_eq!(
            a.evaluate(&mut lookup).as_deref(),
            Some("localhost:8080/<local.path>")
        );
        assert_eq!(f.assignments[1].value.evaluate(&mut lookup), None);
        assert_eq!(f.assignments[2].value.evaluate(&mut lookup), None);
        assert_eq!(
            a.to_string(),
            "${HOST:-localhost}:${PORT-3000}/${local.path}"
        );
    }
}
