//! Coder's names and values, in one place: what a slug, an agent name and an env name may be,
//! the values of `share` and `open_in`, and the shape of a subdomain app host
//! (`{slug}--[{agent}--]{workspace}--{owner}.{domain}`). The spec loader, the model's builder,
//! the shell parser and the rules all ask here.

use std::ops::Range;

/// `^[a-z0-9](-?[a-z0-9])*$`: Coder's pattern for app slugs and agent names.
pub fn is_valid_slug(slug: &str) -> bool {
    let bytes = slug.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
        && !slug.contains("--")
}

/// An agent name: the slug pattern, compared case-insensitively (Coder lowercases it).
pub fn is_valid_agent_name(name: &str) -> bool {
    is_valid_slug(&name.to_ascii_lowercase())
}

/// `^[A-Za-z_][A-Za-z0-9_]*$`: an environment variable name.
pub fn is_valid_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The values `coder_app.share` accepts.
pub const SHARE_VALUES: [&str; 3] = ["owner", "authenticated", "public"];

/// The values `coder_app.open_in` accepts.
pub const OPEN_IN_VALUES: [&str; 2] = ["slim-window", "tab"];

/// Who may open an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    Owner,
    Authenticated,
    Public,
    /// Not a value Coder accepts, or not known statically.
    Other,
}

impl Share {
    /// The share level of an app: `None` when the attribute is absent (Coder's default,
    /// `owner`), `Some(None)` when it is there but not known statically.
    pub fn of(value: Option<Option<&str>>) -> Share {
        match value {
            None | Some(Some("owner")) => Share::Owner,
            Some(Some("authenticated")) => Share::Authenticated,
            Some(Some("public")) => Share::Public,
            Some(_) => Share::Other,
        }
    }

    /// The value as Coder spells it; none for [`Share::Other`].
    pub fn name(self) -> Option<&'static str> {
        match self {
            Share::Owner => Some("owner"),
            Share::Authenticated => Some("authenticated"),
            Share::Public => Some("public"),
            Share::Other => None,
        }
    }
}

/// Stands for a part of a host that is not known statically (a shell variable) when a caller
/// turns its own representation into text for [`AppHost::parse`]. `${...}` and `$NAME` in the
/// text are read the same way.
pub const UNKNOWN: char = '\u{FFFC}';

/// A Coder subdomain host, `{slug}--[{agent}--]{workspace}--{owner}.{domain}`: byte ranges
/// into the host text it was read from. The slug is static; the other parts may be unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppHost {
    /// The app slug, or the port of a port-forward host (`3210`, `3210s`).
    pub slug: Range<usize>,
    /// The port, when the host is a port-forward (`3210--...`).
    pub port: Option<u16>,
    /// A port-forward slug ending in `s`: the upstream speaks https.
    pub https: bool,
    pub agent: Option<Range<usize>>,
    pub workspace: Range<usize>,
    pub owner: Range<usize>,
    pub domain: Range<usize>,
}

impl AppHost {
    /// Reads a host; `None` unless its first label has three or four `--`-separated parts, a
    /// static slug Coder accepts (or a port), name-like other parts, and a domain follows.
    pub fn parse(host: &str) -> Option<AppHost> {
        let bytes = host.as_bytes();
        let mut depth = 0usize;
        let mut dot = None;
        let mut cuts = vec![0usize];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    depth += 1;
                    i += 1;
                }
                b'}' if depth > 0 => depth -= 1,
                b'.' if depth == 0 => {
                    dot = Some(i);
                    break;
                }
                b'-' if depth == 0 && bytes.get(i + 1) == Some(&b'-') => {
                    cuts.push(i);
                    cuts.push(i + 2);
                    i += 1;
                }
                _ => {}
            }
            i += 1;
        }
        let dot = dot?;
        cuts.push(dot);
        let segments: Vec<Range<usize>> = cuts.chunks(2).map(|c| c[0]..c[1]).collect();
        if !(3..=4).contains(&segments.len()) || segments.iter().any(|s| s.is_empty()) {
            return None;
        }
        if dot + 1 >= host.len() {
            return None;
        }
        let slug_text = &host[segments[0].clone()];
        if slug_text.contains(['$', '{', '}', UNKNOWN]) {
            return None;
        }
        if !segments[1..].iter().all(|s| name_like(&host[s.clone()])) {
            return None;
        }
        let digits = slug_text.strip_suffix('s').unwrap_or(slug_text);
        let port = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            Some(digits.parse::<u16>().ok()?)
        } else if is_valid_slug(slug_text) {
            None
        } else {
            return None;
        };
        let mut rest = segments.into_iter();
        let slug = rest.next()?;
        let agent = if rest.len() == 3 { rest.next() } else { None };
        Some(AppHost {
            https: port.is_some() && slug_text.ends_with('s'),
            slug,
            port,
            agent,
            workspace: rest.next()?,
            owner: rest.next()?,
            domain: dot + 1..host.len(),
        })
    }
}

/// A workspace, owner or agent part: name characters, or parts not known statically.
fn name_like(text: &str) -> bool {
    let mut depth = 0usize;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' if chars.peek() == Some(&'{') => {
                chars.next();
                depth += 1;
            }
            '}' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            '$' | UNKNOWN | '-' | '_' => {}
            c if c.is_ascii_alphanumeric() => {}
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(host: &str) -> Option<(String, Option<String>, String, String, String)> {
        let h = AppHost::parse(host)?;
        let s = |r: Range<usize>| host[r].to_owned();
        Some((
            s(h.slug),
            h.agent.map(s),
            s(h.workspace),
            s(h.owner),
            s(h.domain),
        ))
    }

    #[test]
    fn reads_app_hosts_with_and_without_agent() {
        assert_eq!(
            parts("convex-api--chat--alice.coder.example.com"),
            Some((
                "convex-api".into(),
                None,
                "chat".into(),
                "alice".into(),
                "coder.example.com".into()
            ))
        );
        assert_eq!(
            parts("site--main--${CODER_WORKSPACE_NAME}--$CODER_WORKSPACE_OWNER_NAME.x.io")
                .map(|p| (p.1, p.2)),
            Some((Some("main".into()), "${CODER_WORKSPACE_NAME}".into()))
        );
        // Dots inside `${...}` do not end the label; nor does `--` inside a default.
        assert_eq!(
            parts("convex-api--${data.coder_workspace.me.name}--${var.o:--x}.${var.domain}")
                .map(|p| p.0),
            Some("convex-api".into())
        );
        let forward = AppHost::parse("3211s--main--ws--me.example.com").unwrap();
        assert_eq!((forward.port, forward.https), (Some(3211), true));
    }

    #[test]
    fn other_hosts_are_not_apps() {
        for host in [
            // Two parts: a staging host, a preview deploy.
            "convex-api--staging.mycompany.com",
            "deploy-preview-42--site.netlify.app",
            // Five parts, an empty part, no domain.
            "a--b--c--d--e.example.com",
            "a----c.example.com",
            "a--b--c",
            "a--b--c.",
            // A slug Coder would not accept, or one not known statically.
            "My_App--ws--me.example.com",
            "${SLUG}--ws--me.example.com",
            // A port out of range, a part that is not a name.
            "99999--ws--me.example.com",
            "app--w s--me.example.com",
        ] {
            assert_eq!(AppHost::parse(host), None, "{host}");
        }
    }

    #[test]
    fn names_and_values() {
        assert!(is_valid_slug("convex-api") && !is_valid_slug("Convex") && !is_valid_slug("a--b"));
        assert!(is_valid_agent_name("Main") && !is_valid_agent_name("ma_in"));
        assert!(is_valid_env_name("_A1") && !is_valid_env_name("1A") && !is_valid_env_name("A-B"));
        assert_eq!(Share::of(None), Share::Owner);
        assert_eq!(Share::of(Some(Some("public"))), Share::Public);
        assert_eq!(Share::of(Some(None)), Share::Other);
        assert_eq!(Share::of(Some(Some("everyone"))), Share::Other);
    }

    /// The spec's `share` and `open_in` say what the rules accept, word for word.
    #[test]
    fn the_spec_writes_the_values_coder_accepts() {
        use crate::spec::{OpenIn, Share as SpecShare};
        let shares = [
            SpecShare::Owner,
            SpecShare::Authenticated,
            SpecShare::Public,
        ];
        assert_eq!(shares.map(SpecShare::as_str), SHARE_VALUES);
        assert_eq!(
            [OpenIn::SlimWindow, OpenIn::Tab].map(OpenIn::as_str),
            OPEN_IN_VALUES
        );
        for value in SHARE_VALUES {
            assert_ne!(Share::of(Some(Some(value))), Share::Other);
        }
    }
}
