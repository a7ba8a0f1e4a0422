//! References inside spec values: `${origin:backend.site}`, `${port:frontend.http}`, `${secret:KEY}`.
//!
//! A value is text with references in it. `$${` writes a literal `${`. Any other `$` is literal text,
//! so shell variables such as `$HOME` or `${HOME}` pass through untouched: a reference is only
//! `${` + a known kind + `:`.

use std::ops::Range;

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
}

impl RefKind {
    pub const ALL: &'static [(&'static str, RefKind)] = &[
        ("origin", RefKind::Origin),
        ("port", RefKind::Port),
        ("host_port", RefKind::HostPort),
        ("url", RefKind::Url),
        ("internal_url", RefKind::InternalUrl),
        ("secret", RefKind::Secret),
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
            let kind_len = body
                .bytes()
                .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
                .count();
            let is_reference = kind_len > 0
                && body.as_bytes().get(kind_len) == Some(&b':')
                && !matches!(body.as_bytes().get(kind_len + 1), Some(b'-' | b'?' | b'+'));
            if is_reference {
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

fn unknown_kind_message(kind: &str) -> String {
    let names: Vec<&str> = RefKind::ALL.iter().map(|(n, _)| *n).collect();
    let mut message = format!("unknown reference kind `{kind}`");
    if let Some(best) = crate::spec::load::did_you_mean(kind, names.iter().copied()) {
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
