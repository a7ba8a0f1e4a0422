//! Env files (`.env`, compose `env_file:`, `docker run --env-file`): a lossless line parser.
//!
//! Reads `KEY=value` lines and produces an [`EnvFile`]: one [`EnvEntry`] per assignment (key,
//! value as written and as read, quote style, `export` prefix, the `${VAR}` references in the
//! value, each with its [`Span`]) and the syntax [`EnvProblem`]s found on the way. Problems are
//! data: the lint rules decide their severity and wording.
//!
//! Understood: full-line and trailing ` #` comments, blank lines, `export KEY=v`, single,
//! double and backtick quotes, escapes in double quotes, quoted values over several lines, CRLF,
//! a UTF-8 byte order mark. The value is the text a docker-compose style reader would use,
//! without expanding `${VAR}` references (see [`crate::parse::interpolate::interpolate`] for that).
//!
//! Not handled: bash-only syntax (command substitution, arrays, `KEY+=v`), line continuations
//! with a trailing backslash, and YAML-style `KEY: value` lines (reported as
//! [`EnvProblemKind::MissingEquals`]).
//!
//! One pass over the bytes, no backtracking: a 50 MB file parses in well under a second.

use std::collections::HashMap;

use crate::parse::interpolate::{for_each_variable_reference, Operator};
use crate::source::{FileId, Span};

/// Everything read from one env file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvFile {
    /// Assignments in file order, duplicates included.
    pub entries: Vec<EnvEntry>,
    /// Syntax problems in file order.
    pub problems: Vec<EnvProblem>,
}

impl EnvFile {
    /// The entry that sets `key`; the last one wins, as in docker compose.
    pub fn get(&self, key: &str) -> Option<&EnvEntry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }

    /// The value of `key` (quotes removed, escapes applied, references not expanded).
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).map(|e| e.value.as_str())
    }

    /// The entry whose lines hold `span` (a problem's span, say).
    pub fn entry_at(&self, span: Span) -> Option<&EnvEntry> {
        // Entries are in file order and do not overlap: binary search, not a scan per problem.
        let after = self
            .entries
            .partition_point(|e| e.line_span.start <= span.start);
        self.entries[..after]
            .last()
            .filter(|e| e.line_span.file == span.file && span.start <= e.line_span.end)
    }

    /// Every key and its value; later entries override earlier ones.
    pub fn variables(&self) -> HashMap<&str, &str> {
        self.entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect()
    }
}

/// How a value is quoted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quote {
    None,
    /// `'...'`: literal, no escapes, no `${VAR}` expansion.
    Single,
    /// `"..."`: backslash escapes and `${VAR}` expansion.
    Double,
    /// `` `...` ``: literal, like single quotes.
    Backtick,
}

/// One `KEY=value` assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvEntry {
    pub key: String,
    pub key_span: Span,
    /// The value as a reader sees it: quotes removed, escapes in double quotes applied, CRLF
    /// inside multi-line values turned into LF, a trailing comment on unquoted values dropped.
    pub value: String,
    /// The value as written, quotes included (empty span for `KEY=`). Read it with
    /// [`EnvEntry::raw_value`].
    pub value_span: Span,
    pub quote: Quote,
    /// Written as `export KEY=value`.
    pub exported: bool,
    /// The whole assignment, from the start of its first line to the end of its last line
    /// (multi-line values span several lines), without the line ending.
    pub line_span: Span,
    /// `$VAR` and `${VAR...}` references in unquoted and double-quoted values, nested ones
    /// (inside a default) included.
    pub references: Vec<EnvReference>,
}

impl EnvEntry {
    /// The value exactly as written in `text` (the file this entry was parsed from).
    pub fn raw_value<'t>(&self, text: &'t str) -> &'t str {
        text.get(self.value_span.range()).unwrap_or("")
    }
}

/// A `$VAR` or `${VAR...}` reference inside a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvReference {
    pub name: String,
    /// The whole reference, from `$` to the closing `}`.
    pub span: Span,
    /// `:-`, `-`, `:?`, `?`, `:+` or `+`, if any.
    pub operator: Option<Operator>,
    /// The text after the operator, as written (`default` in `${VAR:-default}`).
    pub argument: String,
}

/// A syntax problem and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvProblem {
    pub kind: EnvProblemKind,
    pub span: Span,
}

/// The kinds of syntax problems. Each names what a reader of the file actually gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvProblemKind {
    /// `KEY==value`: KEY is set to `=value`. Span: the two `=`.
    DoubleEquals,
    /// `KEY = value`: compose trims the spaces, a shell runs `value` as a command. Span: from
    /// the end of the key to the start of the value.
    SpaceAroundEquals,
    /// A quote that is never closed; the value is read up to the end of its line. Span: from the
    /// opening quote to the end of that line.
    UnterminatedQuote,
    /// An unquoted value holding whitespace, or followed by ` #...`: readers disagree on where
    /// it ends (compose drops the comment, `docker run --env-file` keeps it, a shell splits at
    /// the space). Span: the value and any trailing comment.
    UnquotedSpaceOrHash,
    /// A key that is not `[A-Za-z_][A-Za-z0-9_]*`; shells reject it. Span: the key (for an
    /// empty key, the `=`).
    InvalidKey,
    /// A line that is not blank, not a comment and has no `=` after its first word. Readers
    /// disagree: compose reads a lone `KEY` as "take KEY from the shell" and `KEY: value` as an
    /// assignment, shells run it as a command. No entry is made. Span: the line.
    MissingEquals,
    /// A value containing a PEM private key (`-----BEGIN ... PRIVATE KEY-----`). Unquoted, only
    /// its first line is read and the rest become bad lines (they are included in the span and
    /// not reported again); quoted, most readers still mangle it. Span: the value.
    MultilinePrivateKey,
    /// A key set a second time; the last value wins. Span: this key; `first`: the first key.
    DuplicateKey { first: Span },
    /// Text after a closing quote, other than a comment; it is ignored. Span: that text.
    TextAfterClosingQuote,
}

/// Parses an env file. Never fails: what cannot be read becomes an [`EnvProblem`].
pub fn parse(file: FileId, text: &str) -> EnvFile {
    parse_at(file, text, 0)
}

/// Parses env-file text that starts at byte `base` of `file` (a heredoc body in a script):
/// every span points into `file`.
pub fn parse_at(file: FileId, text: &str, base: usize) -> EnvFile {
    Parser {
        file,
        base,
        text,
        bytes: text.as_bytes(),
        out: EnvFile::default(),
    }
    .run()
}

struct Parser<'t> {
    file: FileId,
    /// Offset of `text` in the file.
    base: usize,
    text: &'t str,
    bytes: &'t [u8],
    out: EnvFile,
}

/// One line: `start..end` is its content without the line ending, `next` where the next begins.
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    next: usize,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_valid_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn contains_private_key(value: &str) -> bool {
    const SHORTEST: usize = "-----BEGIN PRIVATE KEY-----".len();
    value.len() >= SHORTEST
        && value
            .find("-----BEGIN")
            .is_some_and(|at| value[at..].contains("PRIVATE KEY-----"))
}

fn is_pem_body(line: &str) -> bool {
    !line.is_empty()
        && line
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

impl<'t> Parser<'t> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, self.base + start, self.base + end)
    }

    fn problem(&mut self, kind: EnvProblemKind, start: usize, end: usize) {
        let span = self.span(start, end);
        self.out.problems.push(EnvProblem { kind, span });
    }

    /// Text between two offsets that are known to sit on ASCII bytes or the ends of the text.
    fn slice(&self, start: usize, end: usize) -> &'t str {
        self.text.get(start..end).unwrap_or("")
    }

    fn line_at(&self, start: usize) -> Line {
        let newline = self
            .text
            .get(start..)
            .and_then(|rest| rest.find('\n'))
            .map(|p| start + p);
        let (end, next) = match newline {
            Some(nl) => (nl, nl + 1),
            None => (self.bytes.len(), self.bytes.len()),
        };
        let end = if end > start && self.bytes[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        Line { start, end, next }
    }

    fn skip_blanks(&self, mut i: usize, end: usize) -> usize {
        while i < end && is_blank(self.bytes[i]) {
            i += 1;
        }
        i
    }

    fn run(mut self) -> EnvFile {
        // At most one entry per line: reserving spares big files the copies of a growing Vec
        // (untouched capacity costs no memory, and is given back below).
        let lines = self.bytes.iter().filter(|&&b| b == b'\n').count();
        self.out.entries.reserve_exact(lines + 1);
        let mut pos = if self.text.starts_with('\u{feff}') {
            3
        } else {
            0
        };
        while pos < self.bytes.len() {
            let line = self.line_at(pos);
            pos = self.line(line);
        }
        self.out.entries.shrink_to_fit();
        report_duplicates(&self.out.entries, &mut self.out.problems);
        self.out
    }

    /// Reads the entry starting on `line`; returns where the next line starts.
    fn line(&mut self, line: Line) -> usize {
        let b = self.bytes;
        let mut i = self.skip_blanks(line.start, line.end);
        if i == line.end || b[i] == b'#' {
            return line.next;
        }
        let mut exported = false;
        if b[i..line.end].starts_with(b"export") && b.get(i + 6).copied().is_some_and(is_blank) {
            let after = self.skip_blanks(i + 6, line.end);
            if after < line.end && b[after] != b'=' && b[after] != b'#' {
                exported = true;
                i = after;
            }
        }
        let key_start = i;
        while i < line.end && b[i] != b'=' && !is_blank(b[i]) {
            i += 1;
        }
        let key_end = i;
        let eq = self.skip_blanks(key_end, line.end);
        if eq == line.end || b[eq] != b'=' {
            self.problem(EnvProblemKind::MissingEquals, line.start, line.end);
            return line.next;
        }
        let key = self.slice(key_start, key_end);
        let key_span = if key.is_empty() {
            self.span(eq, eq + 1)
        } else {
            self.span(key_start, key_end)
        };
        if !is_valid_key(key) {
            self.problem(
                EnvProblemKind::InvalidKey,
                key_span.start as usize,
                key_span.end as usize,
            );
        }

        let double_equals = b.get(eq + 1) == Some(&b'=');
        let value_start = if double_equals {
            self.problem(EnvProblemKind::DoubleEquals, eq, eq + 2);
            eq + 1
        } else {
            self.skip_blanks(eq + 1, line.end)
        };
        let space_before = eq > key_end;
        let space_after = value_start > eq + 1 && value_start < line.end && b[value_start] != b'#';
        if space_before || space_after {
            let end = if space_after { value_start } else { eq + 1 };
            self.problem(EnvProblemKind::SpaceAroundEquals, key_end, end);
        }

        let value = match b
            .get(value_start)
            .copied()
            .filter(|_| value_start < line.end)
        {
            Some(q @ (b'"' | b'\'' | b'`')) => self.quoted_value(line, value_start, q),
            _ => self.unquoted_value(line, value_start),
        };

        if contains_private_key(&value.text) {
            let (start, end) = (value.raw_start, value.problem_end);
            self.problem(EnvProblemKind::MultilinePrivateKey, start, end);
        }

        let references = match value.quote {
            Quote::None | Quote::Double => self.references(
                value.content_start,
                value.content_end,
                value.quote == Quote::Double,
            ),
            Quote::Single | Quote::Backtick => Vec::new(),
        };
        self.out.entries.push(EnvEntry {
            key: key.to_owned(),
            key_span,
            value: value.text,
            value_span: self.span(value.raw_start, value.raw_end),
            quote: value.quote,
            exported,
            line_span: self.span(line.start, value.last_line_end),
            references,
        });
        value.next
    }

    /// Reads an unquoted value: up to the end of the line or a ` #` comment, trimmed.
    fn unquoted_value(&mut self, line: Line, start: usize) -> Value {
        let b = self.bytes;
        let mut end = start;
        let mut comment = None;
        let mut i = start;
        while i < line.end {
            if b[i] == b'#' && i > start && is_blank(b[i - 1]) {
                comment = Some(i);
                break;
            }
            if !is_blank(b[i]) {
                end = i + 1;
            }
            i += 1;
        }
        let text = self.slice(start, end);
        let mut value = Value {
            text: text.to_owned(),
            quote: Quote::None,
            raw_start: start,
            raw_end: end,
            content_start: start,
            content_end: end,
            problem_end: end,
            last_line_end: line.end,
            next: line.next,
        };
        let private_key = contains_private_key(text);
        // A private key gets its own, more precise problem.
        if !text.is_empty() && !private_key && (comment.is_some() || text.bytes().any(is_blank)) {
            self.problem(EnvProblemKind::UnquotedSpaceOrHash, start, line.end);
        }
        if private_key && !text.contains("-----END") {
            // The key's body sits on the following lines: swallow them into this problem.
            let mut next = line.next;
            while next < b.len() {
                let body = self.line_at(next);
                let content = self.slice(body.start, body.end).trim();
                let is_end = content.starts_with("-----END");
                if !is_end && !is_pem_body(content) {
                    break;
                }
                value.problem_end = body.end;
                next = body.next;
                if is_end {
                    break;
                }
            }
            value.next = next;
        }
        value
    }

    /// Reads a quoted value starting at the quote `start`, possibly over several lines.
    fn quoted_value(&mut self, line: Line, start: usize, quote: u8) -> Value {
        let kind = match quote {
            b'"' => Quote::Double,
            b'\'' => Quote::Single,
            _ => Quote::Backtick,
        };
        let Some(close) = self.closing_quote(start + 1, quote) else {
            self.problem(EnvProblemKind::UnterminatedQuote, start, line.end);
            let content = self.slice(start + 1, line.end);
            return Value {
                text: content.to_owned(),
                quote: kind,
                raw_start: start,
                raw_end: line.end,
                content_start: start + 1,
                content_end: line.end,
                problem_end: line.end,
                last_line_end: line.end,
                next: line.next,
            };
        };
        let content = self.slice(start + 1, close);
        let text = match kind {
            Quote::Double => unescape_double_quoted(content),
            _ => content.replace("\r\n", "\n"),
        };
        // The closing quote may be on a later line: continue on that one.
        let last = if close < line.end {
            line
        } else {
            let mut line_start = close;
            while line_start > 0 && self.bytes[line_start - 1] != b'\n' {
                line_start -= 1;
            }
            self.line_at(line_start)
        };
        let after = self.skip_blanks(close + 1, last.end);
        if after < last.end && self.bytes[after] != b'#' {
            self.problem(EnvProblemKind::TextAfterClosingQuote, after, last.end);
        }
        Value {
            text,
            quote: kind,
            raw_start: start,
            raw_end: close + 1,
            content_start: start + 1,
            content_end: close,
            problem_end: close + 1,
            last_line_end: last.end,
            next: last.next,
        }
    }

    /// Offset of the quote that closes a value opened just before `from`. (A failed search runs
    /// to the end of the file, but then no later value can open this kind of quote: linear.)
    fn closing_quote(&self, from: usize, quote: u8) -> Option<usize> {
        let b = self.bytes;
        let mut i = from;
        while i < b.len() {
            let Some(p) = b[i..]
                .iter()
                .position(|&c| c == quote || (quote == b'"' && c == b'\\'))
            else {
                break;
            };
            let at = i + p;
            if b[at] == quote {
                return Some(at);
            }
            i = at + 2; // a backslash in double quotes escapes the next byte
        }
        None
    }

    fn references(&self, start: usize, end: usize, backslash_escapes: bool) -> Vec<EnvReference> {
        let content = self.slice(start, end);
        let mut found = Vec::new();
        if content.contains('$') {
            for_each_variable_reference(content, backslash_escapes, &mut |r| {
                found.push(EnvReference {
                    span: self.span(start + r.range.start, start + r.range.end),
                    argument: content.get(r.argument).unwrap_or("").to_owned(),
                    operator: r.operator,
                    name: r.name,
                })
            });
        }
        found
    }
}

/// Adds a [`EnvProblemKind::DuplicateKey`] for every key set again, then puts all problems in
/// file order. Sorting `(hash of key, entry index)` pairs instead of filling a hash map of keys
/// keeps memory access sequential, which matters for files with millions of keys.
fn report_duplicates(entries: &[EnvEntry], problems: &mut Vec<EnvProblem>) {
    let mut by_hash: Vec<(u64, usize)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.key.is_empty())
        .map(|(i, e)| (fnv1a(&e.key), i))
        .collect();
    by_hash.sort_unstable();
    let before = problems.len();
    // Keys sharing a hash, in file order; almost always one key, so `distinct` stays tiny.
    let mut distinct: Vec<usize> = Vec::new();
    for run in by_hash.chunk_by(|a, b| a.0 == b.0) {
        distinct.clear();
        for &(_, i) in run {
            match distinct.iter().find(|&&d| entries[d].key == entries[i].key) {
                Some(&first) => problems.push(EnvProblem {
                    kind: EnvProblemKind::DuplicateKey {
                        first: entries[first].key_span,
                    },
                    span: entries[i].key_span,
                }),
                None => distinct.push(i),
            }
        }
    }
    if problems.len() > before {
        problems.sort_by_key(|p| p.span.start);
    }
}

fn fnv1a(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A value as read, with the offsets its entry needs.
struct Value {
    text: String,
    quote: Quote,
    raw_start: usize,
    raw_end: usize,
    content_start: usize,
    content_end: usize,
    /// End of the span of a problem about the whole value (a private key may swallow lines).
    problem_end: usize,
    /// End of the content of the entry's last line.
    last_line_end: usize,
    /// Where the next line starts.
    next: usize,
}

/// Applies the escapes of a double-quoted value: `\n`, `\r`, `\t`, `\\`, `\"`, `\$` and
/// `` \` ``; any other backslash is kept. CRLF becomes LF.
fn unescape_double_quoted(content: &str) -> String {
    if !content.contains(['\\', '\r']) {
        return content.to_owned();
    }
    let mut out = String::with_capacity(content.len());
    let mut chars = content.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek().copied() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(e @ ('\\' | '"' | '$' | '`')) => out.push(e),
                _ => {
                    out.push('\\');
                    continue;
                }
            },
            '\r' if chars.peek() == Some(&'\n') => continue,
            c => {
                out.push(c);
                continue;
            }
        }
        chars.next();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use EnvProblemKind::*;

    fn parse_str(text: &str) -> EnvFile {
        parse(FileId(0), text)
    }

    fn slice(text: &str, span: Span) -> &str {
        &text[span.range()]
    }

    /// Each problem as its kind and the text it points at.
    fn problems(text: &str) -> Vec<(EnvProblemKind, &str)> {
        parse_str(text)
            .problems
            .into_iter()
            .map(|p| (p.kind, slice(text, p.span)))
            .collect()
    }

    #[test]
    fn values_as_a_reader_sees_them() {
        let cases: &[(&str, &str, &str, Quote, bool)] = &[
            ("A=b", "A", "b", Quote::None, false),
            ("export A=b", "A", "b", Quote::None, true),
            ("export\tA=b", "A", "b", Quote::None, true),
            ("export=1", "export", "1", Quote::None, false),
            ("  A=b  ", "A", "b", Quote::None, false),
            ("A=", "A", "", Quote::None, false),
            ("A=b # comment", "A", "b", Quote::None, false),
            ("A=b#c", "A", "b#c", Quote::None, false),
            ("A=#c", "A", "#c", Quote::None, false),
            (
                "A=http://x:3210/a?b=c",
                "A",
                "http://x:3210/a?b=c",
                Quote::None,
                false,
            ),
            ("A==b", "A", "=b", Quote::None, false),
            ("A = b", "A", "b", Quote::None, false),
            ("A=\"x y\"", "A", "x y", Quote::Double, false),
            ("A=\"x\" # c", "A", "x", Quote::Double, false),
            ("A=''", "A", "", Quote::Single, false),
            ("A='x $Y \\n'", "A", "x $Y \\n", Quote::Single, false),
            ("A=`x`", "A", "x", Quote::Backtick, false),
            (
                r#"A="a\nb\"c\\d\$e\tf""#,
                "A",
                "a\nb\"c\\d$e\tf",
                Quote::Double,
                false,
            ),
            (r#"A="a\qb""#, "A", "a\\qb", Quote::Double, false),
            ("A=\"l1\nl2\"", "A", "l1\nl2", Quote::Double, false),
            ("A='l1\r\nl2'", "A", "l1\nl2", Quote::Single, false),
            ("A=\"ünï ✓\"", "A", "ünï ✓", Quote::Double, false),
            ("\u{feff}A=b", "A", "b", Quote::None, false),
        ];
        for &(text, key, value, quote, exported) in cases {
            let env = parse_str(text);
            assert_eq!(env.entries.len(), 1, "{text:?}");
            let e = &env.entries[0];
            assert_eq!(
                (e.key.as_str(), e.value.as_str(), e.quote, e.exported),
                (key, value, quote, exported),
                "{text:?}"
            );
            assert_eq!(slice(text, e.key_span), key, "{text:?}");
        }
    }

    #[test]
    fn lines_that_are_not_entries() {
        for text in [
            "",
            "\n\n",
            "# A=b",
            "   # A=b",
            "\r\n",
            "\u{feff}",
            "\u{feff}# x",
        ] {
            let env = parse_str(text);
            assert!(env.entries.is_empty(), "{text:?}");
            assert!(env.problems.is_empty(), "{text:?}");
        }
    }

    #[test]
    fn spans_are_byte_ranges_in_the_file() {
        let text = "# é\nexport KEY=\"v\" # c\r\nB=x\n";
        let env = parse_str(text);
        let e = &env.entries[0];
        assert_eq!(e.key_span.range(), 12..15);
        assert_eq!(e.value_span.range(), 16..19);
        assert_eq!(e.raw_value(text), "\"v\"");
        assert_eq!(e.line_span.range(), 5..23);
        assert_eq!(slice(text, e.line_span), "export KEY=\"v\" # c");
        let b = &env.entries[1];
        assert_eq!(slice(text, b.line_span), "B=x");
        assert_eq!(b.value_span.range(), 27..28);
    }

    #[test]
    fn a_byte_order_mark_keeps_offsets_in_the_original_text() {
        let text = "\u{feff}A=b";
        let e = &parse_str(text).entries[0];
        assert_eq!(e.key_span.range(), 3..4);
        assert_eq!(e.value_span.range(), 5..6);
    }

    #[test]
    fn multi_line_values_span_their_lines() {
        let text = "A=\"one\ntwo\" # c\nB='x\ny'\nC=3\n";
        let env = parse_str(text);
        let keys: Vec<_> = env.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["A", "B", "C"]);
        assert_eq!(env.entries[0].value, "one\ntwo");
        assert_eq!(slice(text, env.entries[0].value_span), "\"one\ntwo\"");
        assert_eq!(slice(text, env.entries[0].line_span), "A=\"one\ntwo\" # c");
        assert_eq!(slice(text, env.entries[1].line_span), "B='x\ny'");
        assert!(env.problems.is_empty());
    }

    #[test]
    fn problems_point_at_what_is_wrong() {
        let cases: &[(&str, &[(EnvProblemKind, &str)])] = &[
            ("A==b", &[(DoubleEquals, "==")]),
            ("A = b", &[(SpaceAroundEquals, " = ")]),
            ("A =b", &[(SpaceAroundEquals, " =")]),
            ("A= b", &[(SpaceAroundEquals, "= ")]),
            ("A=\"abc\nB=2", &[(UnterminatedQuote, "\"abc")]),
            ("A='abc", &[(UnterminatedQuote, "'abc")]),
            ("A=a b", &[(UnquotedSpaceOrHash, "a b")]),
            ("A=a # b", &[(UnquotedSpaceOrHash, "a # b")]),
            ("1A=b", &[(InvalidKey, "1A")]),
            ("my-key=b", &[(InvalidKey, "my-key")]),
            ("KÉY=b", &[(InvalidKey, "KÉY")]),
            ("=b", &[(InvalidKey, "=")]),
            ("JUSTAKEY", &[(MissingEquals, "JUSTAKEY")]),
            ("export A", &[(MissingEquals, "export A")]),
            ("KEY: value\r\n", &[(MissingEquals, "KEY: value")]),
            ("A=\"x\"y", &[(TextAfterClosingQuote, "y")]),
            ("A= # c", &[(UnquotedSpaceOrHash, "# c")]),
            ("A=a#b", &[]),
            ("A=\"a b # c\"", &[]),
            ("A='a b'", &[]),
            ("A=b\t# c", &[(UnquotedSpaceOrHash, "b\t# c")]),
            ("PUBLIC=\"-----BEGIN PUBLIC KEY-----\"", &[]),
        ];
        for &(text, expected) in cases {
            assert_eq!(problems(text), expected, "{text:?}");
        }
    }

    #[test]
    fn double_equals_sets_the_value_with_a_leading_equals() {
        // The typo behind a real incident: the key is set, to the wrong value.
        let text = "CONVEX_SITE_ORIGIN==https://convex-site--ws--me.example.com\n";
        let env = parse_str(text);
        assert_eq!(
            env.value("CONVEX_SITE_ORIGIN"),
            Some("=https://convex-site--ws--me.example.com")
        );
        assert_eq!(env.problems[0].kind, DoubleEquals);
        assert_eq!(env.problems[0].span.range(), 18..20);
    }

    #[test]
    fn duplicate_keys_point_back_at_the_first() {
        let text = "A=1\nB=2\nA=3\nA=4\n";
        let env = parse_str(text);
        let first = Span::new(FileId(0), 0, 1);
        assert_eq!(
            env.problems,
            [
                EnvProblem {
                    kind: DuplicateKey { first },
                    span: Span::new(FileId(0), 8, 9)
                },
                EnvProblem {
                    kind: DuplicateKey { first },
                    span: Span::new(FileId(0), 12, 13)
                },
            ]
        );
        assert_eq!(env.value("A"), Some("4"));
        assert_eq!(env.variables().get("A"), Some(&"4"));
    }

    #[test]
    fn many_copies_of_one_key_stay_linear() {
        let text = "A=1\n".repeat(200_000);
        let env = parse_str(&text);
        assert_eq!(env.problems.len(), 199_999);
        let first = Span::new(FileId(0), 0, 1);
        assert!(env
            .problems
            .iter()
            .all(|p| p.kind == DuplicateKey { first }));
        assert!(env
            .problems
            .windows(2)
            .all(|w| w[0].span.start < w[1].span.start));
    }

    #[test]
    fn embedded_text_keeps_spans_in_its_file() {
        let file = "cat > .env <<EOF\nA==1\nA=2\nEOF\n";
        let body = "A==1\nA=2\n";
        let env = parse_at(FileId(0), body, 17);
        assert_eq!(slice(file, env.entries[0].key_span), "A");
        assert_eq!(slice(file, env.problems[0].span), "==");
        assert_eq!(
            env.problems[1].kind,
            DuplicateKey {
                first: Span::new(FileId(0), 17, 18)
            }
        );
        assert_eq!(slice(file, env.problems[1].span), "A");
        let second = env.entry_at(env.problems[1].span).map(|e| e.value.as_str());
        assert_eq!(second, Some("2"));
        assert_eq!(env.entry_at(Span::new(FileId(0), 0, 1)), None);
    }

    #[test]
    fn an_unterminated_quote_does_not_swallow_the_rest() {
        let text = "A=\"abc\nB=2\nC='x\nD=4\n";
        let env = parse_str(text);
        let values: Vec<_> = env
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str()))
            .collect();
        assert_eq!(values, [("A", "abc"), ("B", "2"), ("C", "x"), ("D", "4")]);
        assert_eq!(
            env.problems.iter().map(|p| &p.kind).collect::<Vec<_>>(),
            [&UnterminatedQuote, &UnterminatedQuote]
        );
    }

    #[test]
    fn private_keys_are_reported_once_with_their_lines() {
        let unquoted = "A=1\nJWT_PRIVATE_KEY=-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\nBgkqhkiG9w0=\n-----END PRIVATE KEY-----\nB=2\n";
        let env = parse_str(unquoted);
        assert_eq!(env.problems.len(), 1, "{:?}", env.problems);
        assert_eq!(env.problems[0].kind, MultilinePrivateKey);
        assert_eq!(
            slice(unquoted, env.problems[0].span),
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\nBgkqhkiG9w0=\n-----END PRIVATE KEY-----"
        );
        assert_eq!(
            env.value("JWT_PRIVATE_KEY"),
            Some("-----BEGIN PRIVATE KEY-----")
        );
        assert_eq!(env.value("B"), Some("2"));

        let quoted = "K=\"-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\"\n";
        let env = parse_str(quoted);
        assert_eq!(env.problems.len(), 1);
        assert_eq!(env.problems[0].kind, MultilinePrivateKey);
        assert_eq!(env.problems[0].span, env.entries[0].value_span);

        let escaped = r#"K="-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----""#;
        assert_eq!(parse_str(escaped).problems[0].kind, MultilinePrivateKey);
    }

    #[test]
    fn references_in_unquoted_and_double_quoted_values() {
        let text = "A=${B}/x\nC=\"$D ${E:-d} \\$F $$\"\nG='${H}'\nI=`$J`\nK=${L:-${M}}\n";
        let env = parse_str(text);
        let refs: Vec<(&str, &str, Option<Operator>, &str)> = env
            .entries
            .iter()
            .flat_map(|e| &e.references)
            .map(|r| {
                (
                    r.name.as_str(),
                    slice(text, r.span),
                    r.operator,
                    r.argument.as_str(),
                )
            })
            .collect();
        let default = Some(Operator::Default { if_empty: true });
        assert_eq!(
            refs,
            [
                ("B", "${B}", None, ""),
                ("D", "$D", None, ""),
                ("E", "${E:-d}", default, "d"),
                ("L", "${L:-${M}}", default, "${M}"),
                ("M", "${M}", None, ""),
            ]
        );
    }

    #[test]
    fn never_panics_and_spans_stay_on_char_boundaries() {
        let pieces = [
            "A",
            "=",
            "==",
            "\"",
            "'",
            "`",
            "\\",
            "$",
            "${",
            "}",
            ":-",
            "#",
            " ",
            "\t",
            "\n",
            "\r\n",
            "é",
            "✓",
            "export ",
            "-----BEGIN PRIVATE KEY-----",
            "-----END",
            "x1",
        ];
        let mut seed = 0x2545_f491_u64;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(seed % 24) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let env = parse_str(&text);
            let spans = env
                .entries
                .iter()
                .flat_map(|e| {
                    [e.key_span, e.value_span, e.line_span]
                        .into_iter()
                        .chain(e.references.iter().map(|r| r.span))
                })
                .chain(env.problems.iter().map(|p| p.span));
            for span in spans {
                assert!(text.get(span.range()).is_some(), "{text:?} {span:?}");
            }
        }
    }

    #[test]
    fn a_large_file_parses_completely() {
        let mut text = String::with_capacity(5_200_000);
        let mut i = 0;
        while text.len() < 5_000_000 {
            text.push_str(&format!(
                "# entry {i}\nKEY_{i}=value-{i}\nexport Q_{i}=\"quoted ${{KEY_{i}}} \\n\"\nM_{i}='a\nb'\n"
            ));
            i += 1;
        }
        text.push_str("UNCLOSED=\"x\n");
        let env = parse_str(&text);
        assert_eq!(env.entries.len(), i * 3 + 1);
        assert_eq!(env.problems.len(), 1, "{:?}", env.problems.first());
    }
}
