//! http(s) URLs in words and heredoc lines, and Coder subdomain app hosts, read character by
//! character.

use super::words::is_verbatim;
use super::{CoderAppHost, Lookup, Url, VariableRef, Word, WordPart};
use crate::source::Span;
use std::fmt;
use std::ops::Range;

/// A value as far as it is known: known pieces substituted, each unknown piece kept as
/// `${NAME}` (`${?}` for one that is no variable), so that [`crate::coder::AppHost::parse`]
/// reads it as unknown. Every byte range of `text` remembers where it was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartialText {
    pub text: String,
    /// Consecutive ranges of `text`, each with the span it comes from.
    pub pieces: Vec<TextPiece>,
    /// Some piece is not known statically.
    pub unknown: bool,
}

/// A range of a [`PartialText`] and where it was written; `exact` when its bytes are the
/// span's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextPiece {
    pub range: Range<usize>,
    pub span: Span,
    pub exact: bool,
}

impl PartialText {
    /// Appends text written at `span`.
    pub fn push(&mut self, text: &str, span: Span, exact: bool) {
        if text.is_empty() {
            return;
        }
        let start = self.text.len();
        self.text.push_str(text);
        self.pieces.push(TextPiece {
            range: start..self.text.len(),
            span,
            exact,
        });
    }

    /// Appends a piece not known statically, shown as `shown` (`${NAME}`).
    pub fn push_unknown(&mut self, shown: &str, span: Span) {
        self.push(shown, span, false);
        self.unknown = true;
    }

    /// Appends another partial text; one without pieces counts as written at `span`.
    pub fn append(&mut self, other: &PartialText, span: Span) {
        if other.pieces.is_empty() {
            self.push(&other.text, span, false);
        } else {
            let offset = self.text.len();
            self.text.push_str(&other.text);
            self.pieces.extend(other.pieces.iter().map(|p| TextPiece {
                range: p.range.start + offset..p.range.end + offset,
                span: p.span,
                exact: p.exact,
            }));
        }
        self.unknown |= other.unknown;
    }

    /// Where bytes `range` of the text were written, when they all come from one piece: the
    /// exact bytes of an exact piece, else the whole piece.
    pub fn span_of(&self, range: Range<usize>) -> Option<Span> {
        let piece = self
            .pieces
            .iter()
            .find(|p| p.range.start <= range.start && range.end <= p.range.end)?;
        Some(if piece.exact {
            piece.span.sub(
                range.start - piece.range.start,
                range.end - piece.range.start,
            )
        } else {
            piece.span
        })
    }
}

impl Word {
    /// The value as far as it is known ([`PartialText`]): `lookup` answers with what it knows
    /// of a variable (`$SLUG`) or Terraform expression, and `None` for what it does not know.
    /// An expansion with an operator (`${X:-d}`) is substituted only when wholly known.
    pub fn partial(
        &self,
        lookup: &mut dyn FnMut(Lookup<'_>) -> Option<PartialText>,
    ) -> PartialText {
        let mut out = PartialText::default();
        for part in &self.parts {
            match part {
                WordPart::Literal { text, span } => out.push(text, *span, is_verbatim(text, *span)),
                WordPart::Variable(var) if var.operator.is_none() => {
                    match lookup(Lookup::Variable(&var.name)) {
                        Some(value) => out.append(&value, var.span),
                        None => out.push_unknown(&format!("${{{}}}", var.name), var.span),
                    }
                }
                WordPart::Variable(var) => {
                    let known =
                        var.evaluate(&mut |l| lookup(l).filter(|p| !p.unknown).map(|p| p.text));
                    match known {
                        Some(text) => out.push(&text, var.span, false),
                        None => out.push_unknown(&format!("${{{}}}", var.name), var.span),
                    }
                }
                WordPart::HclInterpolation {
                    expression,
                    directive: false,
                    span,
                } => match lookup(Lookup::Hcl(expression)) {
                    Some(value) => out.append(&value, *span),
                    None => out.push_unknown(&format!("${{{expression}}}"), *span),
                },
                other => out.push_unknown("${?}", other.span()),
            }
        }
        out
    }
}

/// Every http(s) URL in a word, including those in `${X:-default}` operands.
pub fn find_urls(word: &Word) -> Vec<Url> {
    let mut urls = Vec::new();
    let atoms = atoms(&word.parts);
    let mut i = 0;
    while i < atoms.len() {
        let Some((scheme, scheme_len)) = scheme_at(&atoms, i) else {
            i += 1;
            continue;
        };
        let start = i + scheme_len;
        let mut end = start;
        while atoms
            .get(end)
            .is_some_and(|a| !a.ch().is_some_and(ends_url))
        {
            end += 1;
        }
        while end > start
            && atoms
                .get(end - 1)
                .and_then(Atom::ch)
                .is_some_and(|c| matches!(c, '.' | ',' | ':'))
        {
            end -= 1;
        }
        let char_in = |from: usize, to: usize, wanted: &dyn Fn(char) -> bool| {
            (from..to).find(|&k| atoms.get(k).and_then(Atom::ch).is_some_and(wanted))
        };
        let authority_end = char_in(start, end, &|c| matches!(c, '/' | '?' | '#')).unwrap_or(end);
        let host_start = (start..authority_end)
            .rev()
            .find(|&k| atoms.get(k).and_then(Atom::ch) == Some('@'))
            .map_or(start, |k| k + 1);
        let bracket_end = if atoms.get(host_start).and_then(Atom::ch) == Some('[') {
            char_in(host_start, authority_end, &|c| c == ']').unwrap_or(host_start)
        } else {
            host_start
        };
        let colon = char_in(bracket_end, authority_end, &|c| c == ':');
        let host_end = colon.unwrap_or(authority_end);
        if host_end > host_start {
            let slice = |a: usize, b: usize| atoms.get(a..b).unwrap_or(&[]);
            let at = |k: usize| {
                atoms.get(k).map_or(word.span.end as usize, |a| {
                    a.span(&word.parts).start as usize
                })
            };
            let empty = |k: usize| Span::new(word.span.file, at(k), at(k));
            urls.push(Url {
                span: word_from_atoms(&word.parts, slice(i, end), empty(i)).span,
                scheme: scheme.to_string(),
                host: word_from_atoms(&word.parts, slice(host_start, host_end), empty(host_start)),
                port: colon
                    .filter(|&c| c + 1 < authority_end)
                    .map(|c| word_from_atoms(&word.parts, slice(c + 1, authority_end), empty(c))),
                path: word_from_atoms(&word.parts, slice(authority_end, end), empty(authority_end)),
            });
        }
        i = end.max(i + 1);
    }
    for part in &word.parts {
        if let WordPart::Variable(VariableRef {
            operand: Some(operand),
            ..
        }) = part
        {
            urls.extend(find_urls(operand));
        }
    }
    urls
}

/// Recognises a Coder subdomain app host (see [`CoderAppHost`], read by
/// [`crate::coder::AppHost`]); the workspace, owner and agent may be variables such as
/// `${CODER_WORKSPACE_NAME}`, the slug must be static.
pub fn coder_app_host(host: &Word) -> Option<CoderAppHost> {
    let atoms = atoms(&host.parts);
    // The host as text, each variable one unknown character; `starts[k]` is where atom `k` is.
    let mut text = String::new();
    let mut starts = Vec::with_capacity(atoms.len() + 1);
    for atom in &atoms {
        starts.push(text.len());
        text.push(atom.ch().unwrap_or(crate::coder::UNKNOWN));
    }
    starts.push(text.len());
    let found = crate::coder::AppHost::parse(&text)?;
    let to_atoms = |r: &std::ops::Range<usize>| {
        let from = starts.binary_search(&r.start).unwrap_or(0);
        let to = starts.binary_search(&r.end).unwrap_or(from);
        atoms.get(from..to).unwrap_or(&[])
    };
    let fallback = Span::new(
        host.span.file,
        host.span.end as usize,
        host.span.end as usize,
    );
    let word_of = |r: &std::ops::Range<usize>| word_from_atoms(&host.parts, to_atoms(r), fallback);
    Some(CoderAppHost {
        slug: text[found.slug.clone()].to_owned(),
        slug_span: word_of(&found.slug).span,
        https_upstream: found.https,
        port: found.port,
        agent: found.agent.as_ref().map(word_of),
        workspace: word_of(&found.workspace),
        owner: word_of(&found.owner),
        domain: word_of(&found.domain),
    })
}

impl Url {
    /// The port as a number, when written and static.
    pub fn port_number(&self) -> Option<u16> {
        self.port.as_ref()?.literal()?.parse().ok()
    }

    /// The Coder subdomain app this URL's host names, if it is one.
    pub fn coder_app(&self) -> Option<CoderAppHost> {
        coder_app_host(&self.host)
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(port) = &self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.path)
    }
}

/// One character of a literal part, or a whole non-literal part.
#[derive(Clone, Copy)]
enum Atom {
    Char { part: usize, at: usize, ch: char },
    Opaque(usize),
}

impl Atom {
    fn ch(&self) -> Option<char> {
        match self {
            Atom::Char { ch, .. } => Some(*ch),
            Atom::Opaque(_) => None,
        }
    }

    pub(super) fn span(&self, parts: &[WordPart]) -> Span {
        match *self {
            Atom::Char { part, at, ch } => match parts.get(part) {
                Some(WordPart::Literal { text, span }) if is_verbatim(text, *span) => {
                    span.sub(at, at + ch.len_utf8())
                }
                Some(p) => p.span(),
                None => Span::default(),
            },
            Atom::Opaque(part) => parts.get(part).map_or(Span::default(), WordPart::span),
        }
    }
}

fn atoms(parts: &[WordPart]) -> Vec<Atom> {
    let mut atoms = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        match part {
            WordPart::Literal { text, .. } => {
                atoms.extend(text.char_indices().map(|(at, ch)| Atom::Char {
                    part: index,
                    at,
                    ch,
                }))
            }
            _ => atoms.push(Atom::Opaque(index)),
        }
    }
    atoms
}

/// A word made of a run of atoms; `empty` is its span when there are none.
fn word_from_atoms(parts: &[WordPart], atoms: &[Atom], empty: Span) -> Word {
    let mut out: Vec<WordPart> = Vec::new();
    let mut current: Option<(usize, String, Span)> = None;
    let flush = |out: &mut Vec<WordPart>, current: &mut Option<(usize, String, Span)>| {
        if let Some((_, text, span)) = current.take() {
            out.push(WordPart::Literal { text, span });
        }
    };
    for atom in atoms {
        match *atom {
            Atom::Char { part, ch, .. } => {
                let span = atom.span(parts);
                match &mut current {
                    Some((p, text, s)) if *p == part => {
                        text.push(ch);
                        *s = s.to(span);
                    }
                    _ => {
                        flush(&mut out, &mut current);
                        current = Some((part, ch.to_string(), span));
                    }
                }
            }
            Atom::Opaque(part) => {
                flush(&mut out, &mut current);
                if let Some(p) = parts.get(part) {
                    out.push(p.clone());
                }
            }
        }
    }
    flush(&mut out, &mut current);
    let span = match (out.first(), out.last()) {
        (Some(a), Some(b)) => a.span().to(b.span()),
        _ => empty,
    };
    Word { span, parts: out }
}

/// `http://` or `https://` (any case) starting at atom `i`, not inside a longer word.
fn scheme_at(atoms: &[Atom], i: usize) -> Option<(&'static str, usize)> {
    if i > 0
        && atoms
            .get(i - 1)
            .and_then(Atom::ch)
            .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    let matches = |pattern: &str| {
        pattern.chars().enumerate().all(|(k, p)| {
            atoms
                .get(i + k)
                .and_then(Atom::ch)
                .is_some_and(|c| c.eq_ignore_ascii_case(&p))
        })
    };
    if matches("https://") {
        Some(("https", 8))
    } else if matches("http://") {
        Some(("http", 7))
    } else {
        None
    }
}

/// Characters that end a URL inside a word or heredoc line.
fn ends_url(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '<' | '>' | '`' | '|' | ';' | '(' | ')' | '{' | '}' | '\\'
        )
}

#[cfg(test)]
mod tests {
    use crate::parse::shell::testing::*;
    use crate::parse::shell::*;
    use crate::source::{FileId, Span};

    #[test]
    fn urls_built_from_coder_variables() {
        let f = facts(CODER_URLS);
        let shown: Vec<String> = f.urls.iter().map(Url::to_string).collect();
        assert_eq!(
            shown,
            [
                "https://convex-api--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.${DOMAIN}",
                "https://convex-site--main--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.${DOMAIN}/http",
                "https://3210s--${WORKSPACE}--${OWNER}.coder.example.com/api?x=1",
                "https://app--ws--alice.coder.example.com:8443",
                "http://localhost:${PORT:-3000}/health",
                "https://example.com",
                "https://xn--80ak6aa92e.com",
                "https://a--b.example.com",
                "https://UP--ws--o.example.com",
            ]
        );
        let api = f.urls[0].coder_app().expect("coder app");
        assert_eq!(api.slug, "convex-api");
        assert_eq!(api.slug_span.range(), at(CODER_URLS, "convex-api"));
        assert_eq!((api.agent, api.port), (None, None));
        assert_eq!(vars(&api.workspace), ["CODER_WORKSPACE_NAME"]);
        assert_eq!(vars(&api.owner), ["CODER_WORKSPACE_OWNER_NAME"]);
        assert_eq!(api.domain.to_string(), "${DOMAIN}");
        let whole =
            "https://convex-api--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.${DOMAIN}";
        assert_eq!(f.urls[0].span.range(), at(CODER_URLS, whole));

        let site = f.urls[1].coder_app().unwrap();
        assert_eq!(site.slug, "convex-site");
        assert_eq!(site.agent.map(|a| a.to_string()).as_deref(), Some("main"));
        assert_eq!(f.urls[1].path.literal().as_deref(), Some("/http"));

        let pf = f.urls[2].coder_app().unwrap();
        assert_eq!(
            (pf.slug.as_str(), pf.port, pf.https_upstream),
            ("3210s", Some(3210), true)
        );
        assert_eq!(f.urls[2].path.span.range(), at(CODER_URLS, "/api?x=1"));

        let literal = f.urls[3].coder_app().unwrap();
        assert_eq!(literal.slug, "app");
        assert_eq!(
            (literal.workspace.to_string(), literal.owner.to_string()),
            ("ws".into(), "alice".into())
        );
        assert_eq!(f.urls[3].port_number(), Some(8443));

        let local = &f.urls[4];
        assert_eq!(local.host.literal().as_deref(), Some("localhost"));
        assert_eq!(local.port.as_ref().unwrap().to_string(), "${PORT:-3000}");
        assert_eq!(local.port_number(), None);
        // Not Coder hosts: no `--`, one `--` (punycode), too few parts, an invalid slug.
        for url in &f.urls[4..] {
            assert!(url.coder_app().is_none(), "{url}");
        }
    }

    #[test]
    fn partial_values_keep_unknown_pieces_and_where_known_ones_were_written() {
        let src = "URL=\"https://$SLUG--${CODER_WORKSPACE_NAME}--$(whoami).${D:-x.io}\"\n";
        let f = facts(src);
        let word = &f.assignments[0].value;
        let slug_value = PartialText {
            text: "convex-site".into(),
            pieces: vec![TextPiece {
                range: 0..11,
                span: Span::new(FileId(7), 5, 16),
                exact: true,
            }],
            unknown: false,
        };
        let p = word.partial(&mut |lookup| match lookup {
            Lookup::Variable("SLUG") => Some(slug_value.clone()),
            _ => None,
        });
        // Unknown pieces are `${NAME}` / `${?}`; a default stands only when wholly known.
        assert_eq!(
            p.text,
            "https://convex-site--${CODER_WORKSPACE_NAME}--${?}.x.io"
        );
        assert!(p.unknown);
        // The slug maps back to where the variable was set, the literal to the script.
        assert_eq!(p.span_of(8..19), Some(Span::new(FileId(7), 5, 16)));
        assert_eq!(p.span_of(9..12), Some(Span::new(FileId(7), 6, 9)));
        assert_eq!(
            p.span_of(0..8).map(|s| s.range()),
            Some(at(src, "https://"))
        );
        // A range across two pieces has no one place.
        assert_eq!(p.span_of(5..12), None);
        let host = crate::coder::AppHost::parse(&p.text[8..]).unwrap();
        assert_eq!(&p.text[8..][host.slug], "convex-site");

        // Nothing known: the slug stays unknown and names no app.
        let unknown = word.partial(&mut |_| None);
        assert!(unknown.text.starts_with("https://${SLUG}--"));
        assert_eq!(crate::coder::AppHost::parse(&unknown.text[8..]), None);
    }

    #[test]
    fn heredoc_urls_and_no_urls_in_comments() {
        let src = "# see https://docs.example.com\ncat > .env <<EOF\n\
                   SITE_URL=https://app--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.example.com\nEOF\n";
        let f = facts(src);
        assert_eq!(f.urls.len(), 1);
        assert_eq!(f.urls[0].coder_app().unwrap().slug, "app");
        let whole =
            "https://app--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.example.com";
        assert_eq!(f.urls[0].span.range(), at(src, whole));
    }
}
