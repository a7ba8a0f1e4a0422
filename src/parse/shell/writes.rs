//! Files a script writes: heredocs, `echo`/`printf` redirected or piped into `tee`, `{ ...; } > f`
//! groups and `<<<` strings, with the text each one writes.

use super::walk::{children, field_of, Walker};
use super::words::{is_verbatim, push_part};
use super::{FileWrite, Word, WordPart, WriteKind};
use crate::source::Span;
use tree_sitter::Node;

/// The redirections of one statement.
#[derive(Default)]
struct StatementIo<'t> {
    command: Option<Node<'t>>,
    output: Option<(Word, bool)>,
    stdin: Option<(Word, WriteKind)>,
    /// `cat <<EOF | tee f`: the grammar hangs the pipeline under the heredoc.
    piped: Option<Node<'t>>,
}

impl<'a> Walker<'a> {
    // -- file writes ---------------------------------------------------------------------------

    fn statement_io<'t>(&self, stmt: Node<'t>) -> StatementIo<'t> {
        let mut io = StatementIo::default();
        if stmt.kind() == "redirected_statement" {
            io.command = stmt.child_by_field_name("body");
            for (i, child) in children(stmt).into_iter().enumerate() {
                if field_of(stmt, i) == Some("redirect") {
                    self.read_redirect(child, &mut io);
                }
            }
        } else {
            io.command = Some(stmt);
        }
        if let Some(command) = io.command.filter(|c| c.kind() == "command") {
            for child in children(command) {
                if child.kind() == "herestring_redirect" {
                    self.read_redirect(child, &mut io);
                }
            }
        }
        io
    }

    fn read_redirect<'t>(&self, redirect: Node<'t>, io: &mut StatementIo<'t>) {
        match redirect.kind() {
            "file_redirect" => {
                let kids = children(redirect);
                let operator = kids.iter().find(|k| !k.is_named()).map(|k| self.text(*k));
                let descriptor = redirect
                    .child_by_field_name("descriptor")
                    .map(|d| self.text(d));
                let destination = redirect.child_by_field_name("destination");
                let append = match operator {
                    Some(">" | ">|" | "&>") => false,
                    Some(">>" | "&>>") => true,
                    _ => return,
                };
                if let (Some(dest), None | Some("1")) = (destination, descriptor) {
                    io.output = Some((self.word(dest, 0), append));
                }
            }
            "heredoc_redirect" => {
                let kids = children(redirect);
                let quoted = kids
                    .iter()
                    .find(|k| k.kind() == "heredoc_start")
                    .is_some_and(|s| self.text(*s).contains(['\'', '"', '\\']));
                // `<<-`: bash strips the leading tabs of every line of the body.
                let dedent = kids.iter().any(|k| !k.is_named() && self.text(*k) == "<<-");
                for kid in kids {
                    match kid.kind() {
                        "heredoc_body" => {
                            let mut body = self.word(kid, 0);
                            if dedent {
                                body = strip_leading_tabs(body);
                            }
                            io.stdin = Some((body, WriteKind::Heredoc { quoted }));
                        }
                        "file_redirect" => self.read_redirect(kid, io),
                        "pipeline" => io.piped = Some(kid),
                        _ => {}
                    }
                }
            }
            "herestring_redirect" => {
                if let Some(value) = redirect.named_child(0) {
                    io.stdin = Some((self.word(value, 0), WriteKind::HereString));
                }
            }
            _ => {}
        }
    }

    /// File writes made by a command or redirected statement.
    pub(super) fn statement_writes(&mut self, stmt: Node<'_>) {
        let io = self.statement_io(stmt);
        let Some(body) = io.command else { return };
        let span = self.node_span(stmt);
        match body.kind() {
            "command" => {
                if let Some(piped) = io.piped {
                    let last = children(piped).into_iter().rev().find(|c| c.is_named());
                    if let (Some(content), Some(last)) = (self.stdout_of(body, io.stdin), last) {
                        self.write_through_tee(last, content, span);
                    }
                } else if self.program_of(body).as_deref() == Some("tee") {
                    if let Some(content) = io.stdin {
                        self.write_through_tee(stmt, content, span);
                    }
                } else if let Some((target, append)) = io.output {
                    if let Some((body, kind)) = self.stdout_of(body, io.stdin) {
                        self.facts.file_writes.push(FileWrite {
                            span,
                            target,
                            append,
                            body,
                            kind,
                        });
                    }
                }
            }
            "compound_statement" | "subshell" => {
                let Some((target, append)) = io.output else {
                    return;
                };
                let mut written = 0;
                for inner in children(body) {
                    if !matches!(inner.kind(), "command" | "redirected_statement") {
                        continue;
                    }
                    let inner_io = self.statement_io(inner);
                    let Some(command) = inner_io.command.filter(|_| inner_io.output.is_none())
                    else {
                        continue;
                    };
                    if let Some((body, kind)) = self.stdout_of(command, inner_io.stdin) {
                        self.facts.file_writes.push(FileWrite {
                            span: self.node_span(inner),
                            target: target.clone(),
                            append: append || written > 0,
                            body,
                            kind,
                        });
                        written += 1;
                    }
                }
            }
            _ => {}
        }
    }

    /// `echo x | tee f`, `printf ... | sudo tee -a f`.
    pub(super) fn pipeline_writes(&mut self, node: Node<'_>) {
        let stages: Vec<Node<'_>> = children(node)
            .into_iter()
            .filter(|c| c.is_named())
            .collect();
        let [first, last] = stages.as_slice() else {
            return;
        };
        let io = self.statement_io(*first);
        let Some(command) = io.command else { return };
        if io.output.is_none() {
            if let Some(content) = self.stdout_of(command, io.stdin) {
                self.write_through_tee(*last, content, self.node_span(node));
            }
        }
    }

    /// Records `content` written by `tee` at `stmt` (if it is a `tee`) into each of its files.
    fn write_through_tee(&mut self, stmt: Node<'_>, content: (Word, WriteKind), span: Span) {
        let io = self.statement_io(stmt);
        let Some(read) = io.command.and_then(|c| self.read_command(c)) else {
            return;
        };
        if read.command.program_name.as_deref() != Some("tee") {
            return;
        }
        let args = &read.command.args;
        let append = args
            .iter()
            .any(|a| matches!(a.literal().as_deref(), Some("-a" | "--append")));
        for target in args.iter().filter(|a| !a.leading_text().starts_with('-')) {
            self.facts.file_writes.push(FileWrite {
                span,
                target: target.clone(),
                append,
                body: content.0.clone(),
                kind: content.1,
            });
        }
    }

    fn program_of(&self, command: Node<'_>) -> Option<String> {
        self.read_command(command)?.command.program_name
    }

    /// What a command writes to its standard output, when it is `cat` of its stdin, `echo` or `printf`.
    fn stdout_of(
        &self,
        command: Node<'_>,
        stdin: Option<(Word, WriteKind)>,
    ) -> Option<(Word, WriteKind)> {
        let read = self.read_command(command)?;
        let args = &read.command.args;
        match read.command.program_name.as_deref()? {
            "cat" if args.iter().all(|a| a.leading_text().starts_with('-')) => stdin,
            "echo" => echo_body(args).map(|w| (w, WriteKind::Echo)),
            "printf" => printf_body(args).map(|w| (w, WriteKind::Printf)),
            _ => None,
        }
    }
}

/// The text `echo` prints (without its final newline): the arguments after `-n`/`-e`/`-E` joined
/// by spaces.
fn echo_body(args: &[Word]) -> Option<Word> {
    let is_flag = |w: &Word| {
        w.literal().is_some_and(|t| {
            t.len() > 1 && t.starts_with('-') && t.chars().skip(1).all(|c| "neE".contains(c))
        })
    };
    let start = args.iter().position(|w| !is_flag(w))?;
    let words = args.get(start..)?;
    let mut parts = Vec::new();
    for (k, word) in words.iter().enumerate() {
        if k > 0 {
            if let Some(prev) = words.get(k - 1) {
                push_part(
                    &mut parts,
                    WordPart::Literal {
                        text: " ".to_string(),
                        span: Span::new(
                            word.span.file,
                            prev.span.end as usize,
                            word.span.start as usize,
                        ),
                    },
                );
            }
        }
        for part in &word.parts {
            push_part(&mut parts, part.clone());
        }
    }
    Some(Word {
        span: words.first()?.span.to(words.last()?.span),
        parts,
    })
}

/// The text `printf FORMAT ARGS...` prints: `%s`-like conversions take the next argument, `%%`,
/// `\n`, `\t` and `\\` are decoded, and the format repeats while arguments remain.
fn printf_body(args: &[Word]) -> Option<Word> {
    let format = args.first()?;
    if format.leading_text() == "-v" {
        return None; // assigns to a variable, prints nothing
    }
    let span = format.span.to(args.last()?.span);
    let Some(fmt_text) = format.literal() else {
        return Some(Word {
            span,
            parts: vec![WordPart::Dynamic {
                text: format.to_string(),
                span,
            }],
        });
    };
    // Exact sub-spans when the format is one verbatim literal (`'%s\n'`).
    let fmt_span = match format.parts.as_slice() {
        [WordPart::Literal { text, span }] if is_verbatim(text, *span) => Some(*span),
        _ => None,
    };
    let piece_span = |a: usize, b: usize| fmt_span.map_or(format.span, |s| s.sub(a, b));
    let mut values = args.iter().skip(1);
    let mut parts = Vec::new();
    let rounds = args.len().max(2) - 1;
    for _ in 0..rounds {
        let mut consumed = false;
        let mut chars = fmt_text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let literal = |text: &str, end: usize| WordPart::Literal {
                text: text.to_string(),
                span: piece_span(i, end),
            };
            match c {
                '%' if chars.peek().map(|p| p.1) == Some('%') => {
                    chars.next();
                    push_part(&mut parts, literal("%", i + 2));
                }
                '%' => {
                    while chars
                        .peek()
                        .is_some_and(|p| "-+ #0123456789.".contains(p.1))
                    {
                        chars.next();
                    }
                    chars.next();
                    consumed = true;
                    if let Some(value) = values.next() {
                        for part in &value.parts {
                            push_part(&mut parts, part.clone());
                        }
                    }
                }
                '\\' => {
                    let Some((j, n)) = chars.next() else {
                        push_part(&mut parts, literal("\\", i + 1));
                        continue;
                    };
                    let decoded = match n {
                        'n' => "\n".to_string(),
                        't' => "\t".to_string(),
                        '\\' => "\\".to_string(),
                        other => format!("\\{other}"),
                    };
                    push_part(&mut parts, literal(&decoded, j + n.len_utf8()));
                }
                _ => push_part(&mut parts, literal(&c.to_string(), i + c.len_utf8())),
            }
        }
        if !consumed || values.len() == 0 {
            break;
        }
    }
    Some(Word { span, parts })
}

/// The body of a `<<-` heredoc as bash reads it: the tabs that start each line removed. Literal
/// parts are cut around the tabs, so every byte left still maps onto the source.
fn strip_leading_tabs(word: Word) -> Word {
    let mut parts = Vec::with_capacity(word.parts.len());
    let mut line_start = true;
    for part in word.parts {
        let WordPart::Literal { text, span } = &part else {
            line_start = false;
            parts.push(part);
            continue;
        };
        if text.len() != span.range().len() {
            // One escaped character: not a tab at a line start.
            line_start = text.ends_with('\n');
            parts.push(part);
            continue;
        }
        let mut kept_from = 0;
        let mut i = 0;
        let bytes = text.as_bytes();
        while i < bytes.len() {
            if line_start && bytes[i] == b'\t' {
                if kept_from < i {
                    parts.push(WordPart::Literal {
                        text: text[kept_from..i].to_owned(),
                        span: span.sub(kept_from, i),
                    });
                }
                while i < bytes.len() && bytes[i] == b'\t' {
                    i += 1;
                }
                kept_from = i;
            }
            line_start = bytes.get(i) == Some(&b'\n');
            i += 1;
        }
        if kept_from < text.len() {
            parts.push(WordPart::Literal {
                text: text[kept_from..].to_owned(),
                span: span.sub(kept_from, text.len()),
            });
        }
    }
    Word {
        span: word.span,
        parts,
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::shell::testing::*;
    use crate::parse::shell::*;

    #[test]
    fn heredoc_and_echo_writes() {
        let f = facts(WRITES);
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
        let heredoc = WriteKind::Heredoc { quoted: false };
        // (target, append, body as text, body span, kind)
        let table = [
            (
                ".env.local",
                false,
                "VITE_CONVEX_URL=${CONVEX_URL}\n",
                at(WRITES, "VITE_CONVEX_URL=${CONVEX_URL}\n"),
                heredoc,
            ),
            (
                "${HOME}/.env",
                true,
                "A=$NOT_EXPANDED\n",
                at(WRITES, "A=$NOT_EXPANDED\n"),
                WriteKind::Heredoc { quoted: true },
            ),
            (
                ".env",
                true,
                "KEY=v",
                at(WRITES, "\"KEY=v\""),
                WriteKind::Echo,
            ),
            (
                "f.env",
                false,
                "X=1\nY=2\n",
                at(WRITES, "'%s\\n' \"X=1\" \"Y=2\""),
                WriteKind::Printf,
            ),
            ("config.env", false, "Z=3\n", at(WRITES, "Z=3\n"), heredoc),
            (
                "grouped.env",
                false,
                "A=1",
                at(WRITES, "A=1;").start..at(WRITES, "A=1;").end - 1,
                WriteKind::Echo,
            ),
            (
                "grouped.env",
                true,
                "B=2",
                at(WRITES, "B=2"),
                WriteKind::Echo,
            ),
            (
                "/etc/environment",
                true,
                "K=1",
                at(WRITES, "\"K=1\""),
                WriteKind::Echo,
            ),
            ("piped.env", false, "P=1\n", at(WRITES, "P=1\n"), heredoc),
            (
                "here.env",
                true,
                "H=1",
                at(WRITES, "\"H=1\""),
                WriteKind::HereString,
            ),
        ];
        assert_eq!(f.file_writes.len(), table.len(), "{:#?}", f.file_writes);
        for (write, (target, append, body, span, kind)) in f.file_writes.iter().zip(table) {
            assert_eq!(write.target.to_string(), target);
            assert_eq!(write.append, append, "{target}");
            assert_eq!(write.body.to_string(), body, "{target}");
            assert_eq!(write.body.span.range(), span, "{target}");
            assert_eq!(write.kind, kind, "{target}");
        }
        // The quoted heredoc is one literal whose bytes map onto the file: an env parser can use it.
        let quoted = &f.file_writes[1].body;
        assert_eq!(quoted.parts.len(), 1);
        assert_eq!(quoted.literal().as_deref(), Some("A=$NOT_EXPANDED\n"));
        // The echo body keeps the span of the text inside the quotes.
        let echo = &f.file_writes[2].body;
        assert_eq!(echo.parts[0].span().range(), at(WRITES, "KEY=v"));
        // printf pieces from a verbatim format map exactly.
        let newline = at(WRITES, "\\n'").start;
        assert_eq!(
            f.file_writes[3].body.parts[1].span().range(),
            newline..newline + 2
        );
    }

    /// `<<-` strips the leading tabs of every line (bash's rule; spaces stay), and every byte
    /// left still maps onto the source; `<<` keeps them.
    /// `$SUDO tee f`, where the script sets SUDO to `sudo` or to nothing, is `tee` either way;
    /// a variable that may hold another program is not looked through.
    #[test]
    fn a_variable_holding_a_wrapper_or_nothing_is_looked_through() {
        // (script, the files it writes)
        let table: &[(&str, &[&str])] = &[
            (
                "if x; then S=sudo; else S=\"\"; fi\n$S tee /etc/a.yaml <<EOF\nk: 1\nEOF\n",
                &["/etc/a.yaml"],
            ),
            ("S=sudo\n$S tee -a b.conf <<< \"k=1\"\n", &["b.conf"]),
            ("S=sudo\nS=doas\n$S tee /c <<EOF\nk\nEOF\n", &[]),
            ("S=cat\n$S tee /d <<EOF\nk\nEOF\n", &[]),
            ("S=sudo\n\"$S\" tee /e <<EOF\nk\nEOF\n", &[]),
            ("$S tee /f <<EOF\nk\nEOF\n", &[]),
        ];
        for (src, want) in table {
            let f = facts(src);
            let got: Vec<String> = f.file_writes.iter().map(|w| w.target.to_string()).collect();
            assert_eq!(got, *want, "{src}");
        }
    }

    #[test]
    fn a_dash_heredoc_loses_its_leading_tabs() {
        let src = "if true; then\n\tcat > .env <<-EOF\n\t\tPORT=3000\n\t\n\t  HOST=$H\tX\n\tEOF\n\tcat > b.env <<EOF\nA=1\n\tB=2\nEOF\nfi\n";
        let f = facts(src);
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
        assert_eq!(f.file_writes.len(), 2, "{:#?}", f.file_writes);
        let body = &f.file_writes[0].body;
        assert_eq!(body.to_string(), "PORT=3000\n\n  HOST=${H}\tX\n");
        for part in &body.parts {
            if let WordPart::Literal { text, span } = part {
                assert_eq!(&src[span.range()], text);
            }
        }
        assert_eq!(f.file_writes[1].body.to_string(), "A=1\n\tB=2\n");
    }
}
