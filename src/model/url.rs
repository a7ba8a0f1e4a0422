//! URLs in values, and what their host points at: a port on localhost, a Coder subdomain app
//! (`{slug}--{agent}--{workspace}--{owner}.{domain}`), a Coder port-forward, or something else.
//!
//! Hosts may be partly unknown (`convex-api--${CODER_WORKSPACE_NAME}--...`): only the first
//! label's slug is needed to name an app, so it is read from the text as written.

use crate::source::Span;

/// What a URL's host reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostTarget {
    /// `localhost`, `127.0.0.1`, `0.0.0.0` or `[::1]`, on this port.
    Localhost(u16),
    /// A Coder subdomain app by slug.
    CoderApp(String),
    /// A Coder port-forward URL (`3210--agent--ws--owner.domain`); `https` for a trailing `s`.
    CoderPort { port: u16, https: bool },
    /// Any other host (a compose service name, a public site).
    Other(String),
}

/// A URL found in a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlFact {
    pub text: String,
    pub scheme: String,
    pub host: String,
    /// The port written in the URL, if any.
    pub port: Option<u16>,
    pub path: String,
    pub span: Span,
    pub target: HostTarget,
    /// Where the slug of a subdomain app URL is written when it is not in the URL's own text:
    /// a variable (`SLUG=convex-site`), a Terraform local, a `coder_app`'s `slug`.
    pub slug_origin: Option<Span>,
    /// The agent part of a Coder subdomain or port-forward host, as written (`main` in
    /// `convex-api--main--ws--me.example.com`, lowercase); `None` when the host has none.
    pub agent: Option<String>,
    /// An http(s) URL, one a browser or an HTTP client opens. False for a service URL
    /// ([`UrlFact::parse_service`]: `postgres://`, `redis://`), which no origin rule reads.
    pub http: bool,
}

impl UrlFact {
    /// Parses one URL; `span` is where `text` stands.
    pub fn parse(text: &str, span: Span) -> Option<UrlFact> {
        let (scheme, _) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        Self::parse_with(text, span, default)
    }

    /// Parses a URL of another scheme than http(s) (`postgres://app:pw@localhost/app`), whose
    /// port, when none is written, is `default_port(scheme)`; `None` for an http(s) URL, a
    /// scheme `default_port` does not know, and a URL of several hosts (`mongodb://a,b`).
    pub fn parse_service(
        text: &str,
        span: Span,
        default_port: impl Fn(&str) -> Option<u16>,
    ) -> Option<UrlFact> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme == "http" || scheme == "https" {
            return None;
        }
        let default = default_port(&scheme)?;
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        if authority
            .rsplit('@')
            .next()
            .unwrap_or(authority)
            .contains(',')
        {
            return None;
        }
        let mut url = Self::parse_with(text, span, default)?;
        url.http = false;
        Some(url)
    }

    fn parse_with(text: &str, span: Span, default: u16) -> Option<UrlFact> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        let path = rest[authority_end..].to_owned();
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let (host, port) = split_port(authority);
        if host.is_empty() {
            return None;
        }
        let effective = port.unwrap_or(default);
        let lower = host.to_ascii_lowercase();
        let (target, agent) = if matches!(
            lower.as_str(),
            "localhost" | "127.0.0.1" | "0.0.0.0" | "[::1]" | "::1"
        ) {
            (HostTarget::Localhost(effective), None)
        } else {
            coder_label(&lower).unwrap_or_else(|| (HostTarget::Other(lower.clone()), None))
        };
        Some(UrlFact {
            text: text.to_owned(),
            scheme,
            host: host.to_owned(),
            port,
            path,
            span,
            target,
            slug_origin: None,
            agent,
            http: true,
        })
    }

    /// Every http(s) URL in a piece of text; `base` is the span of `text`.
    pub fn find_all(text: &str, base: Span) -> Vec<UrlFact> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(found) = next_scheme(&text[from..]) {
            let start = from + found;
            let end = start
                + text[start..]
                    .find(|c: char| {
                        c.is_whitespace()
                            || matches!(c, '"' | '\'' | '<' | '>' | '`' | ',' | ';' | ')')
                    })
                    .unwrap_or(text.len() - start);
            if let Some(url) = UrlFact::parse(&text[start..end], base.sub(start, end)) {
                out.push(url);
            }
            from = end.max(start + 1);
            while from < text.len() && !text.is_char_boundary(from) {
                from += 1;
            }
        }
        out
    }

    /// The Coder app slug this URL names, if it is a subdomain app URL.
    pub fn slug(&self) -> Option<&str> {
        match &self.target {
            HostTarget::CoderApp(slug) => Some(slug),
            _ => None,
        }
    }

    /// The span of the slug in a subdomain app URL as written (`convex-api` in
    /// `https://convex-api--ws--me.example.com`); `written` is the text at [`UrlFact::span`].
    pub fn slug_span(&self, written: &str) -> Option<Span> {
        let slug = self.slug()?;
        let start = written.find("://")? + 3;
        let text = written.get(start..start + slug.len())?;
        text.eq_ignore_ascii_case(slug)
            .then(|| self.span.sub(start, start + slug.len()))
    }

    /// The byte range of the slug in [`UrlFact::text`], for a subdomain app URL.
    pub fn slug_range(&self) -> Option<std::ops::Range<usize>> {
        let slug = self.slug()?;
        let start = self.text.find("://")? + 3;
        let end = start + slug.len();
        self.text
            .get(start..end)
            .is_some_and(|t| t.eq_ignore_ascii_case(slug))
            .then_some(start..end)
    }

    /// The port on localhost this URL reaches, if it is a localhost URL.
    pub fn local_port(&self) -> Option<u16> {
        match self.target {
            HostTarget::Localhost(port) => Some(port),
            _ => None,
        }
    }

    /// The URL without its path: `scheme://host[:port]`.
    pub fn origin(&self) -> String {
        match self.port {
            Some(port) => format!("{}://{}:{port}", self.scheme, self.host),
            None => format!("{}://{}", self.scheme, self.host),
        }
    }
}

fn next_scheme(text: &str) -> Option<usize> {
    let http = text.find("http://");
    let https = text.find("https://");
    match (http, https) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `host:port` → (host, port). Keeps `[::1]` whole; a port that is not a number is ignored.
fn split_port(authority: &str) -> (&str, Option<u16>) {
    if authority.starts_with('[') {
        if let Some(close) = authority.find(']') {
            let port = authority[close + 1..]
                .strip_prefix(':')
                .and_then(|p| p.parse().ok());
            return (&authority[..=close], port);
        }
    }
    // A `${...}` in the host may hold a colon (`${VAR:-x}`): only split after the last `}`.
    let search_from = authority.rfind('}').map(|i| i + 1).unwrap_or(0);
    match authority[search_from..].rfind(':') {
        Some(i) => {
            let colon = search_from + i;
            (&authority[..colon], authority[colon + 1..].parse().ok())
        }
        None => (authority, None),
    }
}

/// Reads a Coder subdomain host ([`crate::coder::AppHost`]), with its agent part.
fn coder_label(host: &str) -> Option<(HostTarget, Option<String>)> {
    let found = crate::coder::AppHost::parse(host)?;
    let agent = found.agent.clone().map(|r| host[r].to_owned());
    let target = match found.port {
        Some(port) => HostTarget::CoderPort {
            port,
            https: found.https,
        },
        None => HostTarget::CoderApp(host[found.slug].to_owned()),
    };
    Some((target, agent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn target(text: &str) -> HostTarget {
        UrlFact::parse(text, Span::default()).expect(text).target
    }

    #[test]
    fn hosts_name_their_targets() {
        assert_eq!(target("http://localhost:3210"), HostTarget::Localhost(3210));
        assert_eq!(target("http://127.0.0.1/x"), HostTarget::Localhost(80));
        assert_eq!(target("https://localhost"), HostTarget::Localhost(443));
        assert_eq!(
            target("https://convex-site--chat--alice.coder.example.com"),
            HostTarget::CoderApp("convex-site".into())
        );
        assert_eq!(
            target("https://convex-api--${data.coder_workspace.me.name}--${data.coder_workspace_owner.me.name}.${var.domain}/x"),
            HostTarget::CoderApp("convex-api".into())
        );
        assert_eq!(
            target("https://3210s--main--ws--me.coder.example.com"),
            HostTarget::CoderPort {
                port: 3210,
                https: true
            }
        );
        assert_eq!(
            target("http://backend:3210"),
            HostTarget::Other("backend".into())
        );
        assert_eq!(
            target("https://example.com"),
            HostTarget::Other("example.com".into())
        );
        let agent = |text: &str| UrlFact::parse(text, Span::default()).expect(text).agent;
        assert_eq!(
            agent("https://convex-site--Main--ws--me.coder.example.com"),
            Some("main".into())
        );
        assert_eq!(
            agent("https://3210s--dev--ws--me.example.com"),
            Some("dev".into())
        );
        assert_eq!(agent("https://convex-site--ws--me.coder.example.com"), None);
        assert!(UrlFact::parse("ftp://x", Span::default()).is_none());
        assert!(UrlFact::parse("http://", Span::default()).is_none());
    }

    #[test]
    fn service_urls_take_their_scheme_default_port() {
        let ports = |scheme: &str| match scheme {
            "postgres" => Some(5432),
            "redis" => Some(6379),
            _ => None,
        };
        let parse = |text: &str| UrlFact::parse_service(text, Span::default(), ports);
        let db = parse("postgres://app:pw@localhost:15432/app").unwrap();
        assert_eq!(db.target, HostTarget::Localhost(15432));
        assert_eq!((db.port, db.http), (Some(15432), false));
        assert_eq!(db.scheme, "postgres");
        let cache = parse("redis://localhost").unwrap();
        assert_eq!(cache.target, HostTarget::Localhost(6379));
        assert_eq!(cache.port, None);
        assert_eq!(
            parse("REDIS://cache:6380/0").unwrap().target,
            HostTarget::Other("cache".into())
        );
        assert!(parse("amqp://localhost").is_none(), "unknown scheme");
        assert!(parse("https://localhost:5432").is_none(), "http is parse's");
        assert!(parse("postgres://a:1,b:2/db").is_none(), "several hosts");
        assert!(UrlFact::parse("postgres://localhost:5432", Span::default()).is_none());
        assert!(
            UrlFact::parse("http://localhost", Span::default())
                .unwrap()
                .http
        );
    }

    #[test]
    fn finds_urls_in_text_with_spans() {
        let base = Span::new(FileId(1), 100, 160);
        let text = r#"--convex-origin "http://localhost:3210" x=https://a--b--c.d/e;"#;
        let found = UrlFact::find_all(text, base);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].text, "http://localhost:3210");
        assert_eq!(found[0].span, Span::new(FileId(1), 117, 138));
        assert_eq!(found[1].text, "https://a--b--c.d/e");
        assert_eq!(found[1].slug(), Some("a"));
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "http://é:9",
            "https://[::1",
            "http://:",
            "http://a:99999",
            "https://${X:-a:b}:3",
        ] {
            let _ = UrlFact::find_all(text, Span::default());
        }
        assert_eq!(
            UrlFact::parse("https://${X:-a:b}:3", Span::default())
                .unwrap()
                .port,
            Some(3)
        );
    }
}
