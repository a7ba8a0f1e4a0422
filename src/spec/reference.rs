//! References inside spec values: `${origin:backend.site}`, `${port:frontend.http}`,
//! `${secret:KEY}`, `${env:NAME}`.
//!
//! A value is text with references in it. `$${` writes a literal `${`. Any other `$` is literal
//! text (`$HOME`, `cost: $5`). A reference is `${` + a kind + `:` + a target + `}`; any other `${`
//! is not one, and [`stray_expansions`] finds it: the loader refuses it in values (it would reach
//! the container as that text) and accepts it in `run` only as the shell's own expansion.

use std::ops::Range;

use crate::spec::did_you_mean;

/// What a reference stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    /// The public origin of a port through its app: `https://slug--agent--ws--owner.domain`, or
    /// `http://localhost:H` outside Coder. Target: `service.port` or an app slug.
    Origin,
    /// The port the service listens on.
    Port,
    /// The port published on the workspace's localhost.
    HostPort,
    /// `http://localhost:H`: the port as seen from the workspace.
    Url,
    /// `http://service:port` for compose services (the compose network), `http://localhost:H` for processes.
    InternalUrl,
    /// A generated secret.
    Secret,
    /// A variable of the workspace's environment (the agent's), passed through.
    Env,
}

impl RefKind {
    pub const ALL: &'static [(&'static str, RefKind)] = &[
        ("origin", RefKind::Origin),
        ("port", RefKind::Port),
        ("host_port", RefKind::HostPort),
        ("url", RefKind::Url),
        ("internal_url", RefKind::InternalUrl),
        ("secret", RefKind::Secret),
        ("env", RefKind::Env),
    ];

    pub fn name(self) -> &'static str {
        RefKind::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }
}

/// One `${kind:target}` in a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub kind: RefKind,
    pub target: String,
    /// Byte range of the whole `${...}` within the value text.
    pub range: Range<usize>,
}

/// A piece of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    Ref(Reference),
}

/// A reference that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefSyntaxError {
    pub range: Range<usize>,
    pub message: String,
}

/// Splits a value into literal text and references.
pub fn parse(text: &str) -> Result<Vec<Part>, RefSyntaxError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(pos) = rest.find('$') {
        literal.push_str(&rest[..pos]);
        let after = &rest[pos..];
        let here = offset + pos;
        if let Some(tail) = after.strip_prefix("$${") {
            literal.push_str("${");
            rest = tail;
            offset = here + 3;
            continue;
        }
        if let Some(body) = after.strip_prefix("${") {
            if let Some(kind_len) = reference_kind_len(body) {
                let kind_name = &body[..kind_len];
                let Some(close) = body.find('}') else {
                    return Err(RefSyntaxError {
                        range: here..text.len(),
                        message: format!("`${{{kind_name}:` is not closed with `}}`"),
                    });
                };
                let kind = RefKind::ALL
                    .iter()
                    .find(|(n, _)| *n == kind_name)
                    .map(|(_, k)| *k)
                    .ok_or_else(|| RefSyntaxError {
                        range: here..here + 2 + close + 1,
                        message: unknown_kind_message(kind_name),
                    })?;
                let target = body[kind_len + 1..close].trim().to_owned();
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                let end = here + 2 + close + 1;
                parts.push(Part::Ref(Reference {
                    kind,
                    target,
                    range: here..end,
                }));
                rest = &text[end..];
                offset = end;
                continue;
            }
        }
        literal.push('$');
        rest = &after[1..];
        offset = here + 1;
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(Part::Literal(literal));
    }
    Ok(parts)
}

/// The length of the kind when `body` (the text after `${`) starts a reference: lowercase
/// letters and `_`, then `:` not followed by one of the shell's `-?+` (`${var:-x}` is no reference).
fn reference_kind_len(body: &str) -> Option<usize> {
    let kind_len = body
        .bytes()
        .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
        .count();
    let is_reference = kind_len > 0
        && body.as_bytes().get(kind_len) == Some(&b':')
        && !matches!(body.as_bytes().get(kind_len + 1), Some(b'-' | b'?' | b'+'));
    is_reference.then_some(kind_len)
}

/// A `${…}` in a value that is not a reference (nor the escape `$${`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrayExpansion {
    /// Byte range of the `${…}` within the value (to its `}`, or to the end when unclosed).
    pub range: Range<usize>,
    /// What stands between `${` and `}`.
    pub body: String,
}

impl StrayExpansion {
    /// Whether bash reads it as one of its parameter expansions (`${HOME}`, `${x:-d}`, `${#a}`,
    /// `${1}`, `${@}`): what a `run` command may hold as shell code.
    pub fn is_shell_parameter(&self) -> bool {
        let body = self.body.strip_prefix(['#', '!']).unwrap_or(&self.body);
        let name_len = match body.as_bytes().first() {
            Some(b) if b.is_ascii_alphabetic() || *b == b'_' => body
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count(),
            Some(b) if b.is_ascii_digit() => body.bytes().take_while(u8::is_ascii_digit).count(),
            Some(b'@' | b'*' | b'#' | b'?' | b'$' | b'!' | b'-') => 1,
            _ => return false,
        };
        match body.as_bytes().get(name_len) {
            None => true,
            Some(b) => b":-=?+#%/^,[@".contains(b),
        }
    }

    /// Why it is refused and what to write instead: the reference it was likely meant to be
    /// (`${env.X}` → `${env:X}`), the pass-through form for a variable name, and the escape.
    pub fn explain(&self) -> (String, String) {
        let shown = format!("${{{}}}", self.body);
        let escape = format!("for the literal text `{shown}`, write `${shown}`");
        let names: Vec<&str> = RefKind::ALL.iter().map(|(n, _)| *n).collect();
        let word_len = self
            .body
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        let (word, rest) = self.body.split_at(word_len);
        let rest = rest.trim_start_matches(['.', ':', ' ', '/']);
        let kind = names
            .iter()
            .copied()
            .find(|n| *n == word)
            .or_else(|| did_you_mean(&word.to_ascii_lowercase(), names.iter().copied()));
        let is_name = word_len > 0 && !word.starts_with(|c: char| c.is_ascii_digit());
        let message = format!("`{shown}` is not a reference");
        let help = match kind {
            Some(kind) if !rest.is_empty() && !self.body[word_len..].starts_with(":-") => {
                format!("did you mean `${{{kind}:{rest}}}`? ({escape})")
            }
            _ if is_name && word.bytes().any(|b| b.is_ascii_uppercase()) => format!(
                "to pass the workspace's {word} through, write `${{env:{word}}}`; {escape}"
            ),
            _ => format!(
                "a reference is `${{KIND:TARGET}}`, KIND one of {}; `${{env:NAME}}` passes the workspace's NAME through; {escape}",
                names.join(", ")
            ),
        };
        (message, help)
    }
}

/// Every `${` in `text` that is neither a reference nor the escape `$${`.
pub fn stray_expansions(text: &str) -> Vec<StrayExpansion> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(pos) = text[at..].find('$') {
        let here = at + pos;
        let after = &text[here..];
        if after.starts_with("$${") {
            at = here + 3;
            continue;
        }
        if let Some(body) = after.strip_prefix("${") {
            if reference_kind_len(body).is_none() {
                let close = body.find('}');
                let end = close.map_or(text.len(), |c| here + 2 + c + 1);
                out.push(StrayExpansion {
                    range: here..end,
                    body: body[..close.unwrap_or(body.len())].to_owned(),
                });
                at = end;
                continue;
            }
            // A reference: skip to its end (or stop: an unclosed one is parse's error).
            match body.find('}') {
                Some(c) => at = here + 2 + c + 1,
                None => break,
            }
            continue;
        }
        at = here + 1;
    }
    out
}

fn unknown_kind_message(kind: &str) -> String {
    let names: Vec<&str> = RefKind::ALL.iter().map(|(n, _)| *n).collect();
    let mut message = format!("unknown reference kind `{kind}`");
    if let Some(best) = did_you_mean(kind, names.iter().copied()) {
        message.push_str(&format!("; did you mean `{best}`?"));
    } else {
        message.push_str(&format!("; expected one of {}", names.join(", ")));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Part {
        Part::Literal(s.to_owned())
    }

    #[test]
    fn splits_references_and_literals() {
        let parts = parse("--port ${port:web.http} at ${origin:web.http}/x").unwrap();
        assert_eq!(parts.len(), 5);
        assert_eq!(parts[0], lit("--port "));
        let Part::Ref(r) = &parts[1] else { panic!() };
        assert_eq!(
            (r.kind, r.target.as_str(), r.range.clone()),
            (RefKind::Port, "web.http", 7..23)
        );
        assert_eq!(parts[4], lit("/x"));
    }

    #[test]
    fn shell_and_compose_syntax_stays_literal() {
        for text in [
            "$HOME/x",
            "${HOME}",
            "${VAR:-default}",
            "${VAR:?err}",
            "a$",
            "$$x",
            "cost: $5",
        ] {
            assert_eq!(parse(text).unwrap(), vec![lit(text)], "{text}");
        }
        assert_eq!(parse("$${origin:x}").unwrap(), vec![lit("${origin:x}")]);
    }

    #[test]
    fn finds_every_dollar_brace_that_is_no_reference() {
        let text = "a ${HOME} $${lit} ${port:w.h} ${env.X} $x ${open";
        let strays = stray_expansions(text);
        let found: Vec<(&str, &str)> = strays
            .iter()
            .map(|s| (&text[s.range.clone()], s.body.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("${HOME}", "HOME"),
                ("${env.X}", "env.X"),
                ("${open", "open")
            ]
        );
        assert!(stray_expansions("${env:X} $${HOME} $HOME").is_empty());
    }

    #[test]
    fn shell_parameters_are_told_from_mistyped_references() {
        let stray = |body: &str| StrayExpansion {
            range: 0..0,
            body: body.to_owned(),
        };
        for shell in ["HOME", "x:-d", "#a", "!p", "1", "@", "a[0]", "v%%.*", "_x"] {
            assert!(stray(shell).is_shell_parameter(), "{shell}");
        }
        for not_shell in ["port.web.http", "env.X", " x", "", "a b", "origin.x"] {
            assert!(!stray(not_shell).is_shell_parameter(), "{not_shell}");
        }
    }

    #[test]
    fn strays_say_what_to_write() {
        let help = |body: &str| {
            StrayExpansion {
                range: 0..0,
                body: body.to_owned(),
            }
            .explain()
            .1
        };
        assert!(help("env.POSTGRES_URL").starts_with("did you mean `${env:POSTGRES_URL}`?"));
        assert!(help("orign.backend.api").starts_with("did you mean `${origin:backend.api}`?"));
        let pass = help("POSTGRES_URL");
        assert!(pass.contains("write `${env:POSTGRES_URL}`"), "{pass}");
        assert!(pass.contains("write `$${POSTGRES_URL}`"), "{pass}");
        assert!(help("VAR:-x").contains("`${env:VAR}`"));
        assert!(help("1 + 2").contains("KIND one of origin, port"));
    }

    #[test]
    fn rejects_unknown_kinds_and_unclosed_references() {
        let err = parse("x ${orign:a.b}").unwrap_err();
        assert_eq!(err.range, 2..14);
        assert!(
            err.message.contains("did you mean `origin`"),
            "{}",
            err.message
        );
        let err = parse("${port:a.b").unwrap_err();
        assert!(err.message.contains("not closed"));
    }
}
