//! The port links of a workspace: every place a port number of a chain is written, with the
//! span of its digits ([`Workspace::port_links`]).
//!
//! A chain holds when the port at each end of a link is the same number: an app's `url` and
//! what listens there, a healthcheck and its app, a compose mapping and the app or the process
//! on either side, a module's `port` input and the app on it. Tools that change one port of a
//! template (a refactoring, a mutation test) need to know where each number stands; rules do
//! not read this.

use crate::source::Span;

use super::{ListenerSource, UrlFact, Workspace};

/// What a port link is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortLinkKind {
    /// The port of a `coder_app` `url` (by slug).
    AppUrl(String),
    /// The port of a `coder_app` healthcheck `url` (by slug).
    Healthcheck(String),
    /// A registry or local module's `port` input (by module label).
    ModuleInput(String),
    /// A flag or env variable that sets where a process listens (`program`, flag or variable).
    Listener { program: String, by: String },
    /// The host side of a compose mapping `H:C` (by service).
    PublishedHost(String),
    /// The container side of a compose mapping `H:C` (by service).
    PublishedContainer(String),
}

impl std::fmt::Display for PortLinkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortLinkKind::AppUrl(slug) => write!(f, "url of app {slug}"),
            PortLinkKind::Healthcheck(slug) => write!(f, "healthcheck of app {slug}"),
            PortLinkKind::ModuleInput(label) => write!(f, "port input of module {label}"),
            PortLinkKind::Listener { program, by } => write!(f, "{by} of {program}"),
            PortLinkKind::PublishedHost(service) => write!(f, "published host port of {service}"),
            PortLinkKind::PublishedContainer(service) => {
                write!(f, "published container port of {service}")
            }
        }
    }
}

/// One port of a chain as the model knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortLink {
    pub kind: PortLinkKind,
    pub port: u16,
    /// The span of the fact that holds it (a URL, a flag's value, a mapping, a module input).
    pub span: Span,
    /// Where the port's digits are written inside `span`, when they are written there as a
    /// number (not taken from a variable, a default or an interpolation).
    pub digits: Option<Span>,
    /// When the port is not written as a number here: the one reference in `span` that gives
    /// it (`${var.port}`, `${PORT}`, `$PORT`, a bare `var.port`). Writing a number in its place
    /// changes this link alone.
    pub reference: Option<Span>,
}

impl Workspace {
    /// Every port link of the workspace, in this order: module inputs, app urls and
    /// healthchecks, listeners set by a flag or env variable, compose mappings (single ports).
    /// A number written once is one link, even when several facts come from it (a module's
    /// input is its listener and its app's url). Defaults (of images, programs, modules) are
    /// written nowhere and are not links; nor is the url of a module's app (its module input
    /// is).
    pub fn port_links(&self) -> Vec<PortLink> {
        let mut links: Vec<PortLink> = Vec::new();
        let push = |links: &mut Vec<PortLink>, link: PortLink| {
            let same =
                |l: &PortLink| match (l.digits.or(l.reference), link.digits.or(link.reference)) {
                    (Some(a), Some(b)) => a == b,
                    _ => l.span == link.span && l.port == link.port,
                };
            if !links.iter().any(same) {
                links.push(link);
            }
        };
        for module in &self.modules {
            if module.port_span != module.span {
                let digits = self.number_at(module.port_span, module.port, Pick::Last);
                push(
                    &mut links,
                    PortLink {
                        kind: PortLinkKind::ModuleInput(module.label.clone()),
                        port: module.port,
                        span: module.port_span,
                        digits,
                        reference: self.reference_at(digits, module.port_span, Pick::Last),
                    },
                );
            }
        }
        // A module's app takes its url from the module's port: the module input above.
        let resources = self.apps.iter();
        for app in resources.filter(|a| !matches!(a.declared_by, super::AppOrigin::Module(_))) {
            let urls = [
                (app.url.as_ref(), PortLinkKind::AppUrl(app.slug.clone())),
                (
                    app.healthcheck.as_ref(),
                    PortLinkKind::Healthcheck(app.slug.clone()),
                ),
            ];
            for (url, kind) in urls {
                let Some((url, port)) = url.and_then(|u| Some((u, local_written_port(u)?))) else {
                    continue;
                };
                let digits = self.number_at(url.span, port, Pick::AfterColon);
                push(
                    &mut links,
                    PortLink {
                        kind,
                        port,
                        span: url.span,
                        digits,
                        reference: self.reference_at(digits, url.span, Pick::AfterColon),
                    },
                );
            }
        }
        for listener in &self.listeners {
            let by = match &listener.source {
                ListenerSource::Flag(flag) => flag.clone(),
                ListenerSource::Env(name) => name.clone(),
                // A default (of a program, image or module) is written nowhere.
                _ => continue,
            };
            let digits = self.number_at(listener.span, listener.port, Pick::Last);
            push(
                &mut links,
                PortLink {
                    kind: PortLinkKind::Listener {
                        program: listener.program.clone(),
                        by,
                    },
                    port: listener.port,
                    span: listener.span,
                    digits,
                    reference: self.reference_at(digits, listener.span, Pick::Last),
                },
            );
        }
        for service in &self.services {
            for mapping in &service.published {
                let Some(host) = mapping.host.filter(|h| h.is_single()) else {
                    continue;
                };
                if !mapping.container.is_single() {
                    continue;
                }
                let (h, c) = self.mapping_digits(mapping.span, host.start, mapping.container.start);
                push(
                    &mut links,
                    PortLink {
                        kind: PortLinkKind::PublishedHost(service.name.clone()),
                        port: host.start,
                        span: mapping.span,
                        digits: h,
                        reference: None,
                    },
                );
                push(
                    &mut links,
                    PortLink {
                        kind: PortLinkKind::PublishedContainer(service.name.clone()),
                        port: mapping.container.start,
                        span: mapping.span,
                        digits: c,
                        reference: None,
                    },
                );
            }
        }
        links
    }

    /// Where `port` is written as a whole number inside `span`.
    fn number_at(&self, span: Span, port: u16, pick: Pick) -> Option<Span> {
        let text = self.sources.slice(span);
        let found = numbers(text, port);
        let at = match pick {
            Pick::Last => found.last().copied(),
            Pick::AfterColon => found.iter().copied().find(|&s| text[..s].ends_with(':')),
        }?;
        Some(span.sub(at, at + port.to_string().len()))
    }

    /// The one reference that gives the port in `span`, when `digits` found no number: in a
    /// URL the port after the host's `:`, elsewhere the value without quotes, or what follows
    /// its last `:` (`127.0.0.1:${PORT}`).
    fn reference_at(&self, digits: Option<Span>, span: Span, pick: Pick) -> Option<Span> {
        if digits.is_some() {
            return None;
        }
        let text = self.sources.slice(span);
        let (from, to) = match pick {
            Pick::AfterColon => {
                let start = text.find("://")? + 3;
                let end = authority_end(text, start);
                (start, end)
            }
            Pick::Last => {
                let quoted = |q: char| text.len() >= 2 && text.starts_with(q) && text.ends_with(q);
                let trim = usize::from(quoted('"') || quoted('\''));
                (trim, text.len() - trim)
            }
        };
        let body = &text[from..to];
        let start = from + body.rfind(':').map_or(0, |c| c + 1);
        let candidate = &text[start..to];
        let braced = candidate.starts_with("${")
            && candidate.ends_with('}')
            && candidate[2..].find('}') == Some(candidate.len() - 3);
        let name = |t: &str| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                && t.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        };
        let bare = candidate
            .strip_prefix('$')
            .is_some_and(|n| name(n) && !n.contains('.'))
            || (matches!(pick, Pick::Last) && name(candidate) && candidate.contains('.'));
        (braced || bare).then(|| span.sub(start, to))
    }

    /// The digits of the host and container ports of a compose mapping: `[ip:]H:C[/proto]`,
    /// or the `published:` and `target:` of the long syntax.
    fn mapping_digits(
        &self,
        span: Span,
        host: u16,
        container: u16,
    ) -> (Option<Span>, Option<Span>) {
        let text = self.sources.slice(span);
        let len = |p: u16| p.to_string().len();
        let after_key = |key: &str, port: u16| {
            let from = text.find(key)? + key.len();
            let at = numbers(&text[from..], port).first().copied()? + from;
            Some(span.sub(at, at + len(port)))
        };
        if text.contains("target") {
            return (after_key("published", host), after_key("target", container));
        }
        let body = text.split('/').next().unwrap_or(text);
        let Some(colon) = body.rfind(':') else {
            return (None, None);
        };
        let c = numbers(&body[colon + 1..], container)
            .first()
            .map(|&at| span.sub(colon + 1 + at, colon + 1 + at + len(container)));
        let h = numbers(&body[..colon], host)
            .last()
            .map(|&at| span.sub(at, at + len(host)));
        (h, c)
    }
}

#[derive(Clone, Copy)]
enum Pick {
    Last,
    AfterColon,
}

/// Where the authority of a URL that starts at `start` ends: a `/`, `?`, `#` or quote outside
/// `${...}`.
fn authority_end(text: &str, start: usize) -> usize {
    let mut depth = 0usize;
    for (i, c) in text[start..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '/' | '?' | '#' | '"' | '\'' if depth == 0 => return start + i,
            _ => {}
        }
    }
    text.len()
}

/// The port a localhost URL names when the URL writes one.
fn local_written_port(url: &UrlFact) -> Option<u16> {
    url.local_port().filter(|port| url.port == Some(*port))
}

/// The offsets of `port` written as a whole number in `text`.
fn numbers(text: &str, port: u16) -> Vec<usize> {
    let needle = port.to_string();
    let bytes = text.as_bytes();
    text.match_indices(&needle)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(at + needle.len()).copied();
            !before.is_some_and(|b| b.is_ascii_digit())
                && !after.is_some_and(|b| b.is_ascii_digit())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileKind;

    fn links(files: &[(&str, &str, FileKind)]) -> Vec<(String, u16, Option<String>)> {
        let ws = crate::model::build::from_texts(files);
        ws.port_links()
            .into_iter()
            .map(|l| {
                let digits = l.digits.map(|d| {
                    let (start, _) = ws.sources.resolve(d);
                    format!(
                        "{}:{}:{}",
                        ws.sources.path(d).display(),
                        start.line,
                        start.column
                    )
                });
                (l.kind.to_string(), l.port, digits)
            })
            .collect()
    }

    /// Each link's kind and the text of its reference.
    fn references(files: &[(&str, &str, FileKind)]) -> Vec<(String, Option<String>)> {
        let ws = crate::model::build::from_texts(files);
        ws.port_links()
            .into_iter()
            .map(|l| {
                let text = l.reference.map(|r| ws.sources.slice(r).to_owned());
                (l.kind.to_string(), text)
            })
            .collect()
    }

    #[test]
    fn every_written_port_of_a_chain_is_a_link_with_its_digits() {
        let tf = "resource \"coder_app\" \"web\" {\n  slug = \"web\"\n  url  = \"http://localhost:8080/\"\n  healthcheck {\n    url       = \"http://localhost:8080/healthz\"\n    interval  = 5\n    threshold = 6\n  }\n}\n";
        let compose = "services:\n  web:\n    image: nginx\n    ports:\n      - \"127.0.0.1:8080:80/tcp\"\n      - target: 443\n        published: \"8443\"\n";
        let script = "python3 -m http.server 9000 &\nnpx vite --port 5173\n";
        let got = links(&[
            ("main.tf", tf, FileKind::Terraform),
            ("compose.yml", compose, FileKind::Compose),
            ("start.sh", script, FileKind::Script),
        ]);
        let has = |kind: &str, port: u16, at: &str| {
            assert!(
                got.iter()
                    .any(|(k, p, d)| k == kind && *p == port && d.as_deref() == Some(at)),
                "{kind} {port} at {at} in {got:#?}"
            )
        };
        has("url of app web", 8080, "main.tf:3:28");
        has("healthcheck of app web", 8080, "main.tf:5:35");
        has("published host port of web", 8080, "compose.yml:5:20");
        has("published container port of web", 80, "compose.yml:5:25");
        has("published host port of web", 8443, "compose.yml:7:21");
        has("published container port of web", 443, "compose.yml:6:17");
        has("--port of vite", 5173, "start.sh:2:17");
    }

    #[test]
    fn a_module_input_is_one_link_and_defaults_are_none() {
        let tf = "module \"code-server\" {\n  source   = \"registry.coder.com/coder/code-server/coder\"\n  agent_id = coder_agent.main.id\n  port     = 8081\n}\nmodule \"filebrowser\" {\n  source   = \"registry.coder.com/coder/filebrowser/coder\"\n  agent_id = coder_agent.main.id\n}\n";
        let got = links(&[("main.tf", tf, FileKind::Terraform)]);
        assert_eq!(
            got,
            [(
                "port input of module code-server".to_owned(),
                8081,
                Some("main.tf:4:14".to_owned())
            )]
        );
    }

    #[test]
    fn a_port_taken_from_a_variable_has_no_digits_but_a_reference() {
        let tf = "variable \"port\" {\n  default = 3000\n}\nresource \"coder_app\" \"web\" {\n  slug = \"web\"\n  url  = \"http://localhost:${var.port}/?folder=/home\"\n  healthcheck {\n    url       = \"http://localhost:${var.port}/healthz\"\n    interval  = 5\n    threshold = 6\n  }\n}\n";
        let files = [("main.tf", tf, FileKind::Terraform)];
        let got = links(&files);
        assert_eq!(got[0], ("url of app web".to_owned(), 3000, None));
        let refs = references(&files);
        assert_eq!(
            refs,
            [
                ("url of app web".to_owned(), Some("${var.port}".to_owned())),
                (
                    "healthcheck of app web".to_owned(),
                    Some("${var.port}".to_owned())
                )
            ]
        );
    }

    #[test]
    fn a_listener_port_from_a_shell_variable_has_a_reference() {
        let script = "PORT=4000\nnpx vite --port \"$PORT\" &\nnpx vite --port ${PORT} &\n";
        let refs = references(&[("start.sh", script, FileKind::Script)]);
        let vite: Vec<Option<&str>> = refs
            .iter()
            .filter(|(k, _)| k == "--port of vite")
            .map(|(_, r)| r.as_deref())
            .collect();
        assert!(!vite.is_empty(), "{refs:?}");
        // A quoted expansion is one word: the link is the reference. An unquoted one is split
        // into the assignment's words, so its port is the digits of `PORT=4000` (no reference).
        assert_eq!(vite, [Some("$PORT"), None], "{refs:?}");
    }

    #[test]
    fn numbers_are_whole() {
        assert_eq!(numbers("13337 113337 133370 :13337", 13337), [0, 21]);
    }
}
