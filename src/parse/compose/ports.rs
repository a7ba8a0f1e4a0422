//! Ports of a compose service: the facts ([`PortRange`], [`ComposePort`], [`ExposedPort`]),
//! the reading of `ports:` and `expose:` in short and long syntax, and the small parsers of
//! port specs, ranges and protocols.

use crate::source::Span;

use super::read::Reader;
use super::yaml::{Node, NodeValue};

/// The network protocol of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
}

/// Consecutive ports `start..=end` (`3210-3212`; one port has `start == end`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

impl PortRange {
    /// One port.
    pub fn single(port: u16) -> PortRange {
        PortRange {
            start: port,
            end: port,
        }
    }

    pub fn contains(self, port: u16) -> bool {
        (self.start..=self.end).contains(&port)
    }

    /// How many ports it holds (never zero).
    pub fn count(self) -> u32 {
        u32::from(self.end - self.start) + 1
    }

    pub fn is_single(self) -> bool {
        self.start == self.end
    }

    /// Whether the two share a port.
    pub fn overlaps(self, other: PortRange) -> bool {
        self.start <= other.end && other.start <= self.end
    }
}

impl std::fmt::Display for PortRange {
    /// `3210`, or `3210-3212`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_single() {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

/// Container ports made reachable from the host (`ports:`): one port, or a range (one entry,
/// never expanded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComposePort {
    /// The host ports, as long as `container` (`host.start + i` reaches `container.start + i`);
    /// `None` when docker picks them (`"3210"`, `"127.0.0.1::3210"`, host port 0, or a host
    /// range mapped onto a single container port).
    pub host: Option<PortRange>,
    pub container: PortRange,
    /// The host address to bind (`127.0.0.1` in `"127.0.0.1:3210:3210"`); `None` for all.
    pub host_ip: Option<String>,
    pub protocol: Protocol,
    /// The list entry: the scalar for short syntax, the mapping for long syntax.
    pub span: Span,
    /// The text before interpolation, when the entry held a `$` (`"${PORT:-3210}:3210"`).
    pub raw: Option<String>,
}

/// Container ports listed under `expose:` (reachable from other containers only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExposedPort {
    pub ports: PortRange,
    pub protocol: Protocol,
    pub span: Span,
}
/// A port mapping read from its text, before it gets a span.
struct PortMapping {
    host_ip: Option<String>,
    host: Option<PortRange>,
    container: PortRange,
    protocol: Protocol,
}

impl Reader<'_> {
    pub(super) fn ports(&mut self, node: &Node) -> Vec<ComposePort> {
        let mut ports = Vec::new();
        for item in self.list(node, "ports") {
            let (mappings, span, raw) = match &item.value {
                NodeValue::Map(_) => self.long_port(item),
                _ => self.short_port(item),
            };
            ports.extend(mappings.map(|m| ComposePort {
                host: m.host,
                container: m.container,
                host_ip: m.host_ip,
                protocol: m.protocol,
                span,
                raw,
            }));
        }
        ports
    }

    /// `"[ip:][host:]container[/protocol]"` or a bare number.
    fn short_port(&mut self, item: &Node) -> (Option<PortMapping>, Span, Option<String>) {
        let span = self.extent(item);
        let missing_before = self.out.missing_variables.len();
        let Some(text) = self.expect_text(item, "a port") else {
            return (None, span, None);
        };
        match parse_port_spec(&text.value) {
            Ok(mapping) => (Some(mapping), span, text.raw),
            Err(message) => {
                // An unknown variable already explains an unreadable port.
                if self.out.missing_variables.len() == missing_before {
                    self.error(span, format!("invalid port `{}`: {message}", text.value));
                }
                (None, span, text.raw)
            }
        }
    }

    /// `{target, published, host_ip, protocol}`.
    fn long_port(&mut self, item: &Node) -> (Option<PortMapping>, Span, Option<String>) {
        let span = self.extent(item);
        let missing_before = self.out.missing_variables.len();
        let field = |reader: &mut Self, key: &str| match item.get(key) {
            Some(v) => reader.expect_text(v, &format!("`{key}`")),
            None => None,
        };
        let target = field(self, "target");
        let published = field(self, "published");
        let host_ip = field(self, "host_ip").map(|t| t.value);
        let protocol = field(self, "protocol");
        let raw = published
            .as_ref()
            .and_then(|p| p.raw.clone())
            .or_else(|| target.as_ref().and_then(|t| t.raw.clone()));
        let Some(target) = target else {
            self.error(span, "a port in long syntax needs `target`");
            return (None, span, raw);
        };
        let result = parse_long_port(
            &target.value,
            published.as_ref().map(|p| p.value.as_str()),
            host_ip,
            protocol.as_ref().map(|p| p.value.as_str()),
        );
        match result {
            Ok(mapping) => (Some(mapping), span, raw),
            Err(message) => {
                if self.out.missing_variables.len() == missing_before {
                    self.error(span, format!("invalid port: {message}"));
                }
                (None, span, raw)
            }
        }
    }

    pub(super) fn expose(&mut self, node: &Node) -> Vec<ExposedPort> {
        let mut exposed = Vec::new();
        for item in self.list(node, "expose") {
            let Some(text) = self.expect_text(item, "an exposed port") else {
                continue;
            };
            let parsed = match text.value.split_once('/') {
                Some((ports, protocol)) => {
                    parse_protocol(protocol).and_then(|p| parse_port_range(ports).map(|r| (r, p)))
                }
                None => parse_port_range(&text.value).map(|r| (r, Protocol::Tcp)),
            };
            match parsed {
                Ok((ports, protocol)) => exposed.push(ExposedPort {
                    ports,
                    protocol,
                    span: text.span,
                }),
                Err(message) => self.error(
                    text.span,
                    format!("invalid exposed port `{}`: {message}", text.value),
                ),
            }
        }
        exposed
    }
}

/// The host and container ports of the short port syntax, as `docker run -p` and compose read
/// it: `None` for the host when the runtime picks it (`C`, `IP::C`); `None` for a spec that is
/// not one.
pub fn short_port_spec(spec: &str) -> Option<(Option<PortRange>, PortRange)> {
    parse_port_spec(spec)
        .ok()
        .map(|mapping| (mapping.host, mapping.container))
}

/// Reads the short port syntax: `[[ip:]host:]container[/protocol]`, where host and container
/// may be ranges (`3210-3212`) and `ip` may be bracketed IPv6 (`[::1]`).
fn parse_port_spec(spec: &str) -> Result<PortMapping, String> {
    let spec = spec.trim();
    let (ports, protocol) = match spec.rsplit_once('/') {
        Some((ports, protocol)) => (ports, parse_protocol(protocol)?),
        None => (spec, Protocol::Tcp),
    };
    let (host_part, container) = match ports.rsplit_once(':') {
        Some((host, container)) => (Some(host), container),
        None => (None, ports),
    };
    let (host_ip, host) = match host_part {
        None => (None, None),
        Some(h) => match h.rsplit_once(':') {
            Some((ip, port)) => (
                Some(ip.trim_start_matches('[').trim_end_matches(']')),
                Some(port),
            ),
            None => (None, Some(h)),
        },
    };
    let host = match host {
        Some(h) if !h.is_empty() => Some(parse_port_range(h)?),
        _ => None,
    };
    pair_ranges(
        host_ip.filter(|ip| !ip.is_empty()).map(str::to_owned),
        host,
        parse_port_range(container)?,
        protocol,
    )
}

/// Reads the fields of the long port syntax (already interpolated).
fn parse_long_port(
    target: &str,
    published: Option<&str>,
    host_ip: Option<String>,
    protocol: Option<&str>,
) -> Result<PortMapping, String> {
    let protocol = match protocol {
        Some(p) => parse_protocol(p)?,
        None => Protocol::Tcp,
    };
    let host = match published {
        Some(p) if !p.trim().is_empty() => Some(parse_port_range(p)?),
        _ => None,
    };
    pair_ranges(
        host_ip.filter(|ip| !ip.is_empty()),
        host,
        parse_port_range(target)?,
        protocol,
    )
}

/// Pairs host and container ranges port by port. A host range onto one container port means
/// docker picks a host port from the range: reported as an unknown host port.
fn pair_ranges(
    host_ip: Option<String>,
    host: Option<PortRange>,
    container: PortRange,
    protocol: Protocol,
) -> Result<PortMapping, String> {
    if container.start == 0 {
        return Err("container port 0".to_owned());
    }
    let host = match host {
        None => None,
        // Host port 0 asks docker for a random one.
        Some(h) if h.start == 0 => None,
        Some(h) if h.count() == container.count() => Some(h),
        Some(_) if container.is_single() => None,
        Some(_) => return Err("host and container ranges differ in size".to_owned()),
    };
    Ok(PortMapping {
        host_ip,
        host,
        container,
        protocol,
    })
}

/// `3210` or `3210-3212`.
fn parse_port_range(text: &str) -> Result<PortRange, String> {
    let text = text.trim();
    let port = |s: &str| {
        s.parse::<u16>()
            .map_err(|_| format!("`{s}` is not a port number"))
    };
    match text.split_once('-') {
        Some((first, last)) => {
            let (first, last) = (port(first)?, port(last)?);
            if first > last {
                return Err(format!("range `{text}` runs backwards"));
            }
            Ok(PortRange {
                start: first,
                end: last,
            })
        }
        None => port(text).map(PortRange::single),
    }
}

fn parse_protocol(text: &str) -> Result<Protocol, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        "sctp" => Ok(Protocol::Sctp),
        other => Err(format!("unknown protocol `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{pair, parse_str, slice};
    use super::*;

    /// Host ports, container ports (`(first, last)`), host ip, protocol.
    type Port = (Option<(u16, u16)>, (u16, u16), Option<String>, Protocol);

    /// `services: {s: {ports: [<item>]}}` → its ports.
    fn ports_of(item: &str) -> Vec<Port> {
        let text = format!("services:\n  s:\n    ports:\n      - {item}\n");
        let file = parse_str(&text);
        assert!(
            file.diagnostics.is_empty(),
            "{item}: {:?}",
            file.diagnostics
        );
        file.services[0]
            .ports
            .iter()
            .map(|p| {
                (
                    p.host.map(pair),
                    pair(p.container),
                    p.host_ip.clone(),
                    p.protocol,
                )
            })
            .collect()
    }

    #[test]
    fn every_port_syntax() {
        let tcp = Protocol::Tcp;
        let ip = |s: &str| Some(s.to_owned());
        let one = |p: u16| (p, p);
        let cases: Vec<(&str, Vec<Port>)> = vec![
            ("\"3210\"", vec![(None, one(3210), None, tcp)]),
            ("3210", vec![(None, one(3210), None, tcp)]),
            ("\"8080:80\"", vec![(Some(one(8080)), one(80), None, tcp)]),
            ("8080:80", vec![(Some(one(8080)), one(80), None, tcp)]),
            (
                "\"127.0.0.1:3210:3210\"",
                vec![(Some(one(3210)), one(3210), ip("127.0.0.1"), tcp)],
            ),
            (
                "\"127.0.0.1::3210\"",
                vec![(None, one(3210), ip("127.0.0.1"), tcp)],
            ),
            (
                "\"[::1]:6001:6000\"",
                vec![(Some(one(6001)), one(6000), ip("::1"), tcp)],
            ),
            (
                "\"53:53/udp\"",
                vec![(Some(one(53)), one(53), None, Protocol::Udp)],
            ),
            (
                "\"9000/sctp\"",
                vec![(None, one(9000), None, Protocol::Sctp)],
            ),
            ("\"0:80\"", vec![(None, one(80), None, tcp)]),
            // a range is one entry, never expanded
            (
                "\"3210-3212:3210-3212\"",
                vec![(Some((3210, 3212)), (3210, 3212), None, tcp)],
            ),
            (
                "\"1-65535:1-65535\"",
                vec![(Some((1, 65535)), (1, 65535), None, tcp)],
            ),
            (
                "\"9090-9091:8080-8081/udp\"",
                vec![(Some((9090, 9091)), (8080, 8081), None, Protocol::Udp)],
            ),
            ("\"5000-5001\"", vec![(None, (5000, 5001), None, tcp)]),
            ("\"5000-5010:5000\"", vec![(None, one(5000), None, tcp)]),
            (
                "\"${PORT:-3210}:3210\"",
                vec![(Some(one(3210)), one(3210), None, tcp)],
            ),
            (
                "{target: 80, published: \"8080\", host_ip: 127.0.0.1, protocol: udp}",
                vec![(Some(one(8080)), one(80), ip("127.0.0.1"), Protocol::Udp)],
            ),
            (
                "{target: 80, published: 8080}",
                vec![(Some(one(8080)), one(80), None, tcp)],
            ),
            ("{target: 80}", vec![(None, one(80), None, tcp)]),
            // a host range onto one container port: docker picks the host port
            (
                "{target: 80, published: \"8000-8001\"}",
                vec![(None, one(80), None, tcp)],
            ),
        ];
        for (item, expected) in cases {
            assert_eq!(ports_of(item), expected, "{item}");
        }
    }

    #[test]
    fn long_syntax_ports_span_their_mapping() {
        let text = "services:\n  s:\n    ports:\n      - target: 3210\n        published: \"3211\"\n      - 1\n";
        let file = parse_str(text);
        let port = &file.services[0].ports[0];
        assert_eq!(
            slice(text, port.span),
            "target: 3210\n        published: \"3211\""
        );
    }

    #[test]
    fn invalid_ports_are_errors_at_the_entry() {
        let cases = [
            ("\"abc\"", "\"abc\""),
            ("\"80:70000\"", "\"80:70000\""),
            ("\"80/quic\"", "\"80/quic\""),
            ("\"1-3:1-2\"", "\"1-3:1-2\""),
            ("\"0\"", "\"0\""),
            ("[1, 2]", "[1, 2"),
            ("{published: 80}", "{published: 80"),
            ("\"${A:?no A}\"", ""),
        ];
        for (item, at) in cases {
            let text = format!("services:\n  s:\n    ports:\n      - {item}\n    image: x\n");
            let file = parse_str(&text);
            assert!(file.services[0].ports.is_empty(), "{item}");
            assert_eq!(
                file.services[0].image.as_ref().map(|i| i.value.as_str()),
                Some("x")
            );
            if at.is_empty() {
                // a missing variable explains the empty port: no second error
                assert!(
                    file.diagnostics.is_empty(),
                    "{item}: {:?}",
                    file.diagnostics
                );
                assert_eq!(file.missing_variables[0].error.as_deref(), Some("no A"));
                continue;
            }
            assert_eq!(file.diagnostics.len(), 1, "{item}: {:?}", file.diagnostics);
            assert!(file.diagnostics[0].is_error());
            assert_eq!(slice(&text, file.diagnostics[0].primary.span), at, "{item}");
        }
    }

    #[test]
    fn expose_keeps_ranges_whole() {
        let text = "services:\n  s:\n    expose: [\"3000\", 3001, \"4000-4001/udp\"]\n";
        let file = parse_str(text);
        let exposed: Vec<_> = file.services[0]
            .expose
            .iter()
            .map(|e| (pair(e.ports), e.protocol))
            .collect();
        assert_eq!(
            exposed,
            [
                ((3000, 3000), Protocol::Tcp),
                ((3001, 3001), Protocol::Tcp),
                ((4000, 4001), Protocol::Udp),
            ]
        );
    }
}
