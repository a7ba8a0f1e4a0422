//! docker-compose files: services, their ports, environment, commands and mounts, with spans.
//!
//! [`parse`] reads a compose file (YAML, through `serde-saphyr`, so anchors, aliases and `<<`
//! merge keys work) and produces a [`ComposeFile`]: its services in file order, each with the
//! facts portolan needs (published ports, `expose`, `environment`, `env_file`, `entrypoint`,
//! `command`, `volumes`, `healthcheck`, `depends_on`, `image`, `network_mode`). Every fact keeps
//! the byte [`Span`] of the YAML node it came from; a value reached through an alias or a merge
//! key points at the text where it is defined.
//!
//! Strings are interpolated the way compose does it (`${VAR:-default}`, `$$`, ...) against the
//! variables the caller passes, usually the `.env` beside the compose file (read it with
//! [`crate::parse::dotenv`]). Interpolated values keep their raw text; variables with no value
//! and no default are listed in [`ComposeFile::missing_variables`]. [`interpolate`] and
//! [`variable_references`] are public for other parsers and rules.
//!
//! Invalid YAML gives one error [`Diagnostic`] at the position the YAML parser reports and no
//! services; a value of the wrong shape (a port that is not a port, `ports` that is not a list)
//! gives an error at that value and the rest of the file is still read. Nesting deeper than
//! [`MAX_DEPTH`], files over [`MAX_INPUT_BYTES`] and alias bombs are refused, never a crash.
//!
//! Not handled: `extends`, `include`, profiles, multiple compose files merged together,
//! `build`, networks other than `network_mode`, and `!reset`/`!override` tags (read as plain
//! values).

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, MessageFormatter, Spanned, UserMessageFormatter};

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

use super::interpolate::interpolate;

/// Deepest nesting of YAML collections accepted. Compose files need about 6 levels; each level
/// costs stack in the YAML deserializer, so the limit keeps small thread stacks safe.
pub const MAX_DEPTH: usize = 24;
/// Largest compose file read, in bytes.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The facts
// ---------------------------------------------------------------------------------------------

/// Everything read from one compose file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ComposeFile {
    /// Services in file order.
    pub services: Vec<ComposeService>,
    /// Variables used with no value and no default, one per use.
    pub missing_variables: Vec<UnresolvedVariable>,
    /// Invalid YAML, values of the wrong shape, invalid interpolation: all errors.
    pub diagnostics: Vec<Diagnostic>,
}

impl ComposeFile {
    /// The service called `name`.
    pub fn service(&self, name: &str) -> Option<&ComposeService> {
        self.services.iter().find(|s| s.name == name)
    }
}

/// One entry under `services:`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ComposeService {
    pub name: String,
    /// The service's key.
    pub name_span: Span,
    pub image: Option<ComposeText>,
    /// `ports:`, one entry per list item (a range is one entry).
    pub ports: Vec<PublishedPort>,
    /// `expose:`, one entry per list item (a range is one entry).
    pub expose: Vec<ExposedPort>,
    pub environment: Vec<EnvironmentVariable>,
    pub env_files: Vec<EnvFileRef>,
    pub entrypoint: Option<CommandLine>,
    pub command: Option<CommandLine>,
    pub volumes: Vec<VolumeMount>,
    pub healthcheck: Option<Healthcheck>,
    pub depends_on: Vec<Dependency>,
    pub network_mode: Option<ComposeText>,
}

/// A string value as compose uses it: interpolated, with the text it was written as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComposeText {
    /// The value after interpolation (numbers and booleans as written).
    pub value: String,
    /// The text before interpolation, when it held a `$`.
    pub raw: Option<String>,
    /// The YAML scalar (quotes included), or the part of it this value came from.
    pub span: Span,
}

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
pub struct PublishedPort {
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

/// One variable under `environment:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvironmentVariable {
    pub name: String,
    pub name_span: Span,
    /// `None` for `KEY` alone (list syntax) or `KEY:` (map syntax): the value comes from the
    /// shell running compose.
    pub value: Option<ComposeText>,
}

/// One file under `env_file:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvFileRef {
    /// The path, relative to the compose file's folder.
    pub path: ComposeText,
    /// `required: false` lets compose start without the file.
    pub required: bool,
    pub span: Span,
}

/// An `entrypoint:`, `command:` or healthcheck `test:` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandLine {
    /// A single string (compose splits it into words like a shell, without running one).
    Text(ComposeText),
    /// A list, one element per argument.
    Args(Vec<ComposeText>),
}

/// What a volume mount mounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountKind {
    /// A host file or folder (`./start.sh:/start.sh`).
    Bind,
    /// A named volume, or an anonymous one when there is no source.
    Volume,
    Tmpfs,
    /// Another `type:` (`npipe`, `image`, `cluster`, ...).
    Other(String),
}

/// One entry under `volumes:` of a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeMount {
    pub kind: MountKind,
    /// Host path or volume name; `None` for anonymous volumes and tmpfs.
    pub source: Option<ComposeText>,
    /// Path inside the container.
    pub target: ComposeText,
    pub read_only: bool,
    pub span: Span,
}

impl VolumeMount {
    /// Whether the source is a path on the host (a bind mount).
    pub fn is_host_path(&self) -> bool {
        self.kind == MountKind::Bind
    }
}

/// A service's `healthcheck:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Healthcheck {
    /// `test:` as written: a string, or a list starting with `CMD`, `CMD-SHELL` or `NONE`.
    pub test: Option<CommandLine>,
    /// `interval:` as written (`"5s"`).
    pub interval: Option<ComposeText>,
    /// `disable: true` or `test: ["NONE"]`.
    pub disabled: bool,
    pub span: Span,
}

/// One entry under `depends_on:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub service: String,
    pub span: Span,
    /// `condition:` in map syntax (`service_healthy`, ...).
    pub condition: Option<String>,
}

/// A variable used in the file with no value and no default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnresolvedVariable {
    pub name: String,
    /// The message of `${NAME:?message}`: compose refuses to start without the variable.
    pub error: Option<String>,
    /// The value that uses it.
    pub span: Span,
}

// ---------------------------------------------------------------------------------------------
// Reading the YAML into a tree with locations
// ---------------------------------------------------------------------------------------------

/// Where a node's text is: bytes when the YAML parser knows them, characters otherwise.
#[derive(Clone, Copy, Debug)]
struct Loc {
    offset: u64,
    len: u64,
    in_bytes: bool,
}

impl Loc {
    fn of(spanned_defined: Location, spanned_referenced: Location) -> Loc {
        let location = if spanned_defined == Location::UNKNOWN {
            spanned_referenced
        } else {
            spanned_defined
        };
        let span = location.span();
        match (span.byte_offset(), span.byte_len()) {
            (Some(offset), Some(len)) => Loc {
                offset,
                len,
                in_bytes: true,
            },
            _ => Loc {
                offset: span.offset(),
                len: span.len(),
                in_bytes: false,
            },
        }
    }
}

/// A YAML node: what compose sees after anchors, aliases and merge keys are resolved.
#[derive(Debug)]
struct Node {
    value: NodeValue,
    at: Loc,
}

#[derive(Debug)]
enum NodeValue {
    Null,
    String(String),
    /// A number or boolean, formatted by us; the file's own spelling is read from the span.
    Other(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl From<Spanned<NodeValue>> for Node {
    fn from(s: Spanned<NodeValue>) -> Self {
        Node {
            at: Loc::of(s.defined, s.referenced),
            value: s.value,
        }
    }
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| k.key() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn key(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(s) | NodeValue::Other(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for NodeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = NodeValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<NodeValue, E> {
        Ok(NodeValue::Other(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<NodeValue, E> {
        Ok(NodeValue::Other(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<NodeValue, E> {
        Ok(NodeValue::Other(v.to_string()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<NodeValue, E> {
        Ok(NodeValue::Other(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<NodeValue, E> {
        Ok(NodeValue::Other(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<NodeValue, E> {
        Ok(NodeValue::Other(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<NodeValue, E> {
        Ok(NodeValue::String(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<NodeValue, E> {
        Ok(NodeValue::String(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<NodeValue, E> {
        Ok(NodeValue::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<NodeValue, D::Error> {
        NodeValue::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NodeValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<NodeValue>>()? {
            items.push(Node::from(item));
        }
        Ok(NodeValue::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NodeValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<NodeValue>>()? {
            let value = map.next_value::<Spanned<NodeValue>>()?;
            entries.push((Node::from(key), Node::from(value)));
        }
        Ok(NodeValue::Map(entries))
    }
}

fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: 100_000,
            max_events: 400_000,
            max_total_scalar_bytes: MAX_INPUT_BYTES,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
        },
        // compose reads YAML 1.2: `yes`/`no`/`on`/`off` are strings.
        strict_booleans: true,
        with_snippet: false,
    }
}

// ---------------------------------------------------------------------------------------------
// From the tree to the facts
// ---------------------------------------------------------------------------------------------

/// Whether `text` looks like a compose file: a top-level `services:` key holding a mapping.
/// A line scan, no YAML parsing. (A portolan spec has one too; tell them apart by file name.)
pub fn is_compose(text: &str) -> bool {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = ["services:", "\"services\":", "'services':"]
            .iter()
            .find_map(|key| line.strip_prefix(key))
        else {
            continue;
        };
        let rest = rest.trim();
        if rest.starts_with('{') {
            return true;
        }
        if !rest.is_empty() && !rest.starts_with('#') {
            return false;
        }
        for next in lines.by_ref() {
            let content = next.trim_start();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            return content.len() < next.len() && !content.starts_with('-');
        }
        return false;
    }
    false
}

/// Parses a compose file. `vars` gives the value of a variable for interpolation (usually from
/// the `.env` beside the file); return `None` for unknown ones. Never fails: problems become
/// [`ComposeFile::diagnostics`].
pub fn parse(file: FileId, text: &str, vars: &dyn Fn(&str) -> Option<String>) -> ComposeFile {
    let mut reader = Reader {
        file,
        text,
        vars,
        out: ComposeFile::default(),
    };
    if text.len() > MAX_INPUT_BYTES {
        reader.out.diagnostics.push(Diagnostic::error(
            Span::new(file, 0, 0),
            format!(
                "compose file is larger than {} MiB; not read",
                MAX_INPUT_BYTES / 1024 / 1024
            ),
        ));
        return reader.out;
    }
    match serde_saphyr::from_str_with_options::<Spanned<NodeValue>>(text, yaml_options()) {
        Ok(root) => reader.document(&Node::from(root)),
        Err(err) => reader.yaml_error(&err),
    }
    reader.out
}

struct Reader<'a> {
    file: FileId,
    text: &'a str,
    vars: &'a dyn Fn(&str) -> Option<String>,
    out: ComposeFile,
}

/// A port mapping read from its text, before it gets a span.
struct PortMapping {
    host_ip: Option<String>,
    host: Option<PortRange>,
    container: PortRange,
    protocol: Protocol,
}

impl Reader<'_> {
    // --- locations -----------------------------------------------------------------------------

    fn range(&self, at: Loc) -> Range<usize> {
        let len = self.text.len();
        if at.in_bytes {
            let start = usize::try_from(at.offset).unwrap_or(len).min(len);
            let end = usize::try_from(at.offset.saturating_add(at.len))
                .unwrap_or(len)
                .min(len);
            start..end
        } else {
            let start = char_to_byte(self.text, at.offset);
            start..char_to_byte(self.text, at.offset.saturating_add(at.len))
        }
    }

    fn span(&self, node: &Node) -> Span {
        let r = self.range(node.at);
        Span::new(self.file, r.start, r.end)
    }

    /// A node's span stretched over its children written after it (a mapping's location is
    /// only where it starts).
    fn extent(&self, node: &Node) -> Span {
        let own = self.span(node);
        let mut end = own.end;
        let mut grow = |child: &Node| {
            let e = self.extent(child);
            if e.start >= own.start {
                end = end.max(e.end);
            }
        };
        match &node.value {
            NodeValue::Seq(items) => items.iter().for_each(&mut grow),
            NodeValue::Map(entries) => entries.iter().for_each(|(k, v)| {
                grow(k);
                grow(v);
            }),
            _ => {}
        }
        Span { end, ..own }
    }

    /// Where `value` (a scalar's string) starts in the file, if it is written there verbatim
    /// (plain, or quoted without escapes), so that parts of it get exact spans.
    fn verbatim_start(&self, node: &Node, value: &str) -> Option<usize> {
        let r = self.range(node.at);
        let written = self.text.get(r.clone())?;
        if written == value {
            return Some(r.start);
        }
        let quoted = written.len() == value.len() + 2
            && (written.starts_with('"') || written.starts_with('\''))
            && written.get(1..written.len() - 1) == Some(value);
        quoted.then_some(r.start + 1)
    }

    /// The span of `value[part]` where `value` is the text of scalar `node`; the whole scalar
    /// when that part cannot be located exactly.
    fn part_span(&self, node: &Node, value: &str, part: Range<usize>) -> Span {
        match self.verbatim_start(node, value) {
            Some(start) => Span::new(self.file, start + part.start, start + part.end),
            None => self.span(node),
        }
    }

    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.out.diagnostics.push(Diagnostic::error(span, message));
    }

    fn yaml_error(&mut self, err: &serde_saphyr::Error) {
        let err = err.without_snippet();
        let message: String = UserMessageFormatter
            .format_message(err)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let range = match err.location() {
            Some(location) if location == Location::UNKNOWN => 0..0,
            Some(location) if location.span() == serde_saphyr::Span::UNKNOWN => {
                let at = line_col_to_byte(self.text, location.line(), location.column());
                at..at
            }
            Some(location) => self.range(Loc::of(location, location)),
            None => 0..0,
        };
        let span = Span::new(self.file, range.start, range.end);
        self.error(span, format!("invalid YAML: {message}"));
    }

    // --- scalars -------------------------------------------------------------------------------

    /// A scalar as compose uses it; `None` for null, sequences and mappings.
    fn text(&mut self, node: &Node) -> Option<ComposeText> {
        match &node.value {
            NodeValue::String(s) => {
                let span = self.span(node);
                Some(self.interpolated(s, span))
            }
            NodeValue::Other(formatted) => {
                let written = self.text.get(self.range(node.at)).unwrap_or("");
                let value = if written.is_empty() {
                    formatted
                } else {
                    written
                };
                Some(ComposeText {
                    value: value.to_owned(),
                    raw: None,
                    span: self.span(node),
                })
            }
            _ => None,
        }
    }

    /// A scalar, or an error at `node` saying what was expected (`None` without one for null).
    fn expect_text(&mut self, node: &Node, what: &str) -> Option<ComposeText> {
        let text = self.text(node);
        if text.is_none() && !matches!(node.value, NodeValue::Null) {
            let span = self.extent(node);
            self.error(span, format!("{what} must be a string"));
        }
        text
    }

    fn interpolated(&mut self, raw: &str, span: Span) -> ComposeText {
        if !raw.contains('$') {
            return ComposeText {
                value: raw.to_owned(),
                raw: None,
                span,
            };
        }
        let result = interpolate(raw, self.vars);
        for m in result.missing {
            self.out.missing_variables.push(UnresolvedVariable {
                name: m.name,
                error: m.error,
                span,
            });
        }
        if result.invalid {
            self.error(span, format!("invalid interpolation format in `{raw}`"));
        }
        ComposeText {
            value: result.value,
            raw: Some(raw.to_owned()),
            span,
        }
    }

    // --- structure -----------------------------------------------------------------------------

    fn document(&mut self, root: &Node) {
        match &root.value {
            NodeValue::Null => return,
            NodeValue::Map(_) => {}
            _ => {
                let span = self.span(root);
                self.error(span, "a compose file must be a mapping");
                return;
            }
        }
        let Some(services) = root.get("services") else {
            return;
        };
        match &services.value {
            NodeValue::Map(entries) => {
                for (name, service) in entries {
                    self.service(name, service);
                }
            }
            NodeValue::Null => {}
            _ => {
                let span = self.extent(services);
                self.error(span, "`services` must be a mapping of service names");
            }
        }
    }

    fn service(&mut self, name: &Node, node: &Node) {
        let mut service = ComposeService {
            name: name.key().unwrap_or("").to_owned(),
            name_span: self.span(name),
            ..ComposeService::default()
        };
        let NodeValue::Map(entries) = &node.value else {
            if !matches!(node.value, NodeValue::Null) {
                let span = self.extent(node);
                self.error(
                    span,
                    format!("service `{}` must be a mapping", service.name),
                );
            }
            self.out.services.push(service);
            return;
        };
        for (key, value) in entries {
            match key.key().unwrap_or("") {
                "image" => service.image = self.expect_text(value, "`image`"),
                "network_mode" => service.network_mode = self.expect_text(value, "`network_mode`"),
                "ports" => service.ports = self.ports(value),
                "expose" => service.expose = self.expose(value),
                "environment" => service.environment = self.environment(value),
                "env_file" => service.env_files = self.env_files(value),
                "entrypoint" => service.entrypoint = self.command_line(value, "`entrypoint`"),
                "command" => service.command = self.command_line(value, "`command`"),
                "volumes" => service.volumes = self.volumes(value),
                "healthcheck" => service.healthcheck = self.healthcheck(value),
                "depends_on" => service.depends_on = self.depends_on(value),
                _ => {}
            }
        }
        self.out.services.push(service);
    }

    /// The items of a list field; an error (and nothing) for anything else but null.
    fn list<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
        match &node.value {
            NodeValue::Seq(items) => items,
            NodeValue::Null => &[],
            _ => {
                let span = self.extent(node);
                self.error(span, format!("`{what}` must be a list"));
                &[]
            }
        }
    }

    // --- ports ---------------------------------------------------------------------------------

    fn ports(&mut self, node: &Node) -> Vec<PublishedPort> {
        let mut ports = Vec::new();
        for item in self.list(node, "ports") {
            let (mappings, span, raw) = match &item.value {
                NodeValue::Map(_) => self.long_port(item),
                _ => self.short_port(item),
            };
            ports.extend(mappings.map(|m| PublishedPort {
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

    fn expose(&mut self, node: &Node) -> Vec<ExposedPort> {
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

    // --- environment ---------------------------------------------------------------------------

    fn environment(&mut self, node: &Node) -> Vec<EnvironmentVariable> {
        let mut vars = Vec::new();
        match &node.value {
            NodeValue::Map(entries) => {
                for (key, value) in entries {
                    let value = match &value.value {
                        NodeValue::Null => None,
                        _ => self.expect_text(value, "an environment value"),
                    };
                    vars.push(EnvironmentVariable {
                        name: key.key().unwrap_or("").to_owned(),
                        name_span: self.span(key),
                        value,
                    });
                }
            }
            _ => {
                for item in self.list(node, "environment") {
                    let written = match &item.value {
                        NodeValue::String(s) => s.clone(),
                        NodeValue::Other(_) => self.text(item).map(|t| t.value).unwrap_or_default(),
                        _ => {
                            let span = self.extent(item);
                            self.error(span, "an environment entry must be `KEY=value`");
                            continue;
                        }
                    };
                    let (name, value) = match written.split_once('=') {
                        Some((name, value)) => {
                            let at = name.len() + 1;
                            let span = self.part_span(item, &written, at..written.len());
                            (name, Some(self.interpolated(value, span)))
                        }
                        None => (written.as_str(), None),
                    };
                    vars.push(EnvironmentVariable {
                        name: name.to_owned(),
                        name_span: self.part_span(item, &written, 0..name.len()),
                        value,
                    });
                }
            }
        }
        vars
    }

    fn env_files(&mut self, node: &Node) -> Vec<EnvFileRef> {
        match &node.value {
            NodeValue::Seq(items) => items.iter().filter_map(|i| self.env_file(i)).collect(),
            NodeValue::Null => Vec::new(),
            _ => self.env_file(node).into_iter().collect(),
        }
    }

    /// `path` or `{path, required}`.
    fn env_file(&mut self, item: &Node) -> Option<EnvFileRef> {
        if let NodeValue::Map(_) = item.value {
            let span = self.extent(item);
            let Some(path) = item.get("path").and_then(|p| self.expect_text(p, "`path`")) else {
                self.error(span, "an `env_file` entry needs `path`");
                return None;
            };
            let required = match item.get("required").and_then(|r| self.text(r)) {
                Some(r) => !r.value.eq_ignore_ascii_case("false"),
                None => true,
            };
            return Some(EnvFileRef {
                path,
                required,
                span,
            });
        }
        let path = self.expect_text(item, "an `env_file` path")?;
        Some(EnvFileRef {
            span: path.span,
            path,
            required: true,
        })
    }

    // --- commands, mounts, healthcheck, dependencies -------------------------------------------

    fn command_line(&mut self, node: &Node, what: &str) -> Option<CommandLine> {
        match &node.value {
            NodeValue::Null => None,
            NodeValue::Seq(items) => Some(CommandLine::Args(
                items
                    .iter()
                    .filter_map(|item| self.expect_text(item, "an argument"))
                    .collect(),
            )),
            _ => self.expect_text(node, what).map(CommandLine::Text),
        }
    }

    fn volumes(&mut self, node: &Node) -> Vec<VolumeMount> {
        let mut mounts = Vec::new();
        for item in self.list(node, "volumes") {
            let mount = match item.value {
                NodeValue::Map(_) => self.long_volume(item),
                _ => self.short_volume(item),
            };
            mounts.extend(mount);
        }
        mounts
    }

    /// `[source:]target[:mode]`.
    fn short_volume(&mut self, item: &Node) -> Option<VolumeMount> {
        let text = self.expect_text(item, "a volume")?;
        let value = text.value.as_str();
        let (source, target, mode) = match value.split_once(':') {
            None => (None, 0..value.len(), ""),
            Some((source, rest)) => {
                let target_start = source.len() + 1;
                match rest.split_once(':') {
                    None => (Some(0..source.len()), target_start..value.len(), ""),
                    Some((target, mode)) => (
                        Some(0..source.len()),
                        target_start..target_start + target.len(),
                        mode,
                    ),
                }
            }
        };
        // Parts get exact spans only when the value was written as is (no interpolation).
        let part = |reader: &Self, range: Range<usize>| ComposeText {
            value: value.get(range.clone()).unwrap_or("").to_owned(),
            raw: None,
            span: match text.raw {
                Some(_) => text.span,
                None => reader.part_span(item, value, range),
            },
        };
        let source = source.map(|r| part(self, r));
        let kind = match &source {
            Some(s) if is_host_path(&s.value) => MountKind::Bind,
            _ => MountKind::Volume,
        };
        Some(VolumeMount {
            kind,
            source,
            target: part(self, target),
            read_only: mode.split(',').any(|m| m == "ro"),
            span: text.span,
        })
    }

    /// `{type, source, target, read_only}`.
    fn long_volume(&mut self, item: &Node) -> Option<VolumeMount> {
        let span = self.extent(item);
        let source = item
            .get("source")
            .and_then(|s| self.expect_text(s, "`source`"));
        let Some(target) = item
            .get("target")
            .and_then(|t| self.expect_text(t, "`target`"))
        else {
            self.error(span, "a volume in long syntax needs `target`");
            return None;
        };
        let kind = match item.get("type").and_then(|t| self.text(t)) {
            Some(t) => match t.value.as_str() {
                "bind" => MountKind::Bind,
                "volume" => MountKind::Volume,
                "tmpfs" => MountKind::Tmpfs,
                other => MountKind::Other(other.to_owned()),
            },
            None => match &source {
                Some(s) if is_host_path(&s.value) => MountKind::Bind,
                _ => MountKind::Volume,
            },
        };
        let read_only = item
            .get("read_only")
            .and_then(|r| self.text(r))
            .is_some_and(|r| r.value.eq_ignore_ascii_case("true"));
        Some(VolumeMount {
            kind,
            source,
            target,
            read_only,
            span,
        })
    }

    fn healthcheck(&mut self, node: &Node) -> Option<Healthcheck> {
        let span = self.extent(node);
        match node.value {
            NodeValue::Map(_) => {}
            NodeValue::Null => return None,
            _ => {
                self.error(span, "`healthcheck` must be a mapping");
                return None;
            }
        }
        let test = node
            .get("test")
            .and_then(|t| self.command_line(t, "`test`"));
        let interval = node
            .get("interval")
            .and_then(|i| self.expect_text(i, "`interval`"));
        let disabled = node
            .get("disable")
            .and_then(|d| self.text(d))
            .is_some_and(|d| d.value.eq_ignore_ascii_case("true"))
            || matches!(&test, Some(CommandLine::Args(args))
                if args.first().is_some_and(|a| a.value == "NONE"));
        Some(Healthcheck {
            test,
            interval,
            disabled,
            span,
        })
    }

    fn depends_on(&mut self, node: &Node) -> Vec<Dependency> {
        if let NodeValue::Map(entries) = &node.value {
            return entries
                .iter()
                .map(|(name, options)| Dependency {
                    service: name.key().unwrap_or("").to_owned(),
                    span: self.span(name),
                    condition: options
                        .get("condition")
                        .and_then(|c| c.key())
                        .map(str::to_owned),
                })
                .collect();
        }
        let mut dependencies = Vec::new();
        for item in self.list(node, "depends_on") {
            if let Some(name) = self.expect_text(item, "a service name") {
                dependencies.push(Dependency {
                    service: name.value,
                    span: name.span,
                    condition: None,
                });
            }
        }
        dependencies
    }
}

// ---------------------------------------------------------------------------------------------
// Small parsers
// ---------------------------------------------------------------------------------------------

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

/// Short-syntax volume sources that are host paths rather than volume names.
fn is_host_path(source: &str) -> bool {
    source.starts_with(['/', '.', '~', '\\'])
        || source
            .as_bytes()
            .get(1..3)
            .is_some_and(|b| b[0] == b':' && (b[1] == b'\\' || b[1] == b'/'))
}

/// Byte offset of the `chars`-th character (clamped to the text).
fn char_to_byte(text: &str, chars: u64) -> usize {
    let chars = usize::try_from(chars).unwrap_or(usize::MAX);
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i)
}

/// Byte offset of a 1-based line and character column (clamped to the text).
fn line_col_to_byte(text: &str, line: u64, column: u64) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].find('\n') {
            Some(p) => start += p + 1,
            None => return text.len(),
        }
    }
    let line_text = &text[start..];
    start + char_to_byte(line_text, column.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_vars(_: &str) -> Option<String> {
        None
    }

    fn parse_str(text: &str) -> ComposeFile {
        parse(FileId(0), text, &no_vars)
    }

    fn slice(text: &str, span: Span) -> &str {
        &text[span.range()]
    }

    /// Host ports, container ports (`(first, last)`), host ip, protocol.
    type Port = (Option<(u16, u16)>, (u16, u16), Option<String>, Protocol);

    fn pair(range: PortRange) -> (u16, u16) {
        (range.start, range.end)
    }

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

    const CONVEX: &str = r#"# Self-hosted Convex — façade ✓
services:
  backend:
    image: ghcr.io/get-convex/convex-backend:latest
    ports:
      - "3210:3210"
      - "3211:3211"
      - "3212:3212"
    env_file: .env.convex.local
    volumes:
      - ./convex-start.sh:/convex-start.sh:ro
      - data:/convex/data
    entrypoint: ["/bin/bash", "/convex-start.sh"]
    healthcheck:
      test: curl -f http://localhost:3210/version
      interval: 5s
  dashboard:
    image: ghcr.io/get-convex/convex-dashboard:latest
    ports:
      - "${DASHBOARD_PORT:-6791}:6791"
    environment:
      - NEXT_PUBLIC_DEPLOYMENT_URL=http://localhost:3210
    depends_on:
      backend:
        condition: service_healthy
volumes:
  data:
"#;

    #[test]
    fn convex_self_hosted_ports_with_exact_spans() {
        let file = parse_str(CONVEX);
        assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
        assert!(file.missing_variables.is_empty());
        let names: Vec<_> = file.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["backend", "dashboard"]);

        let backend = &file.services[0];
        let ports: Vec<_> = backend
            .ports
            .iter()
            .map(|p| (p.host.map(pair), pair(p.container), p.span.range()))
            .collect();
        // The comment above holds multi-byte characters: these are byte offsets.
        assert_eq!(
            ports,
            [
                (Some((3210, 3210)), (3210, 3210), 129..140),
                (Some((3211, 3211)), (3211, 3211), 149..160),
                (Some((3212, 3212)), (3212, 3212), 169..180),
            ]
        );
        for p in &backend.ports {
            assert_eq!(
                slice(CONVEX, p.span),
                format!("\"{0}:{0}\"", p.container.start)
            );
            assert_eq!(
                (p.host_ip.as_deref(), p.protocol, p.raw.as_deref()),
                (None, Protocol::Tcp, None)
            );
        }
        assert_eq!(slice(CONVEX, backend.name_span), "backend");
        assert_eq!(
            backend.image.as_ref().map(|i| i.value.as_str()),
            Some("ghcr.io/get-convex/convex-backend:latest")
        );
        let env_file = &backend.env_files[0];
        assert_eq!(
            (env_file.path.value.as_str(), env_file.required),
            (".env.convex.local", true)
        );
        assert_eq!(slice(CONVEX, env_file.span), ".env.convex.local");

        let script = &backend.volumes[0];
        assert!(script.is_host_path() && script.read_only);
        let source = script.source.as_ref().map(|s| slice(CONVEX, s.span));
        assert_eq!(source, Some("./convex-start.sh"));
        assert_eq!(slice(CONVEX, script.target.span), "/convex-start.sh");
        assert!(!backend.volumes[1].is_host_path());

        let Some(CommandLine::Args(args)) = &backend.entrypoint else {
            panic!("entrypoint {:?}", backend.entrypoint)
        };
        let args: Vec<_> = args.iter().map(|a| slice(CONVEX, a.span)).collect();
        assert_eq!(args, ["\"/bin/bash\"", "\"/convex-start.sh\""]);
        let health = backend.healthcheck.as_ref().expect("healthcheck");
        assert_eq!(
            health.test.as_ref().map(|t| match t {
                CommandLine::Text(t) => t.value.as_str(),
                CommandLine::Args(_) => "list",
            }),
            Some("curl -f http://localhost:3210/version")
        );
        assert_eq!(
            health.interval.as_ref().map(|i| i.value.as_str()),
            Some("5s")
        );

        let dashboard = &file.services[1];
        let port = &dashboard.ports[0];
        assert_eq!(
            (port.host, port.container),
            (Some(PortRange::single(6791)), PortRange::single(6791))
        );
        assert_eq!(port.raw.as_deref(), Some("${DASHBOARD_PORT:-6791}:6791"));
        assert_eq!(port.span.range(), 520..550);
        assert_eq!(slice(CONVEX, port.span), "\"${DASHBOARD_PORT:-6791}:6791\"");
        let env = &dashboard.environment[0];
        assert_eq!(slice(CONVEX, env.name_span), "NEXT_PUBLIC_DEPLOYMENT_URL");
        let value = env.value.as_ref().expect("value");
        assert_eq!(slice(CONVEX, value.span), "http://localhost:3210");
        assert_eq!(
            dashboard.depends_on,
            [Dependency {
                service: "backend".into(),
                span: dashboard.depends_on[0].span,
                condition: Some("service_healthy".into()),
            }]
        );
        assert_eq!(slice(CONVEX, dashboard.depends_on[0].span), "backend");
    }

    #[test]
    fn interpolated_ports_use_the_variables_given() {
        let vars = |name: &str| (name == "DASHBOARD_PORT").then(|| "7000".to_owned());
        let file = parse(FileId(0), CONVEX, &vars);
        let port = &file.services[1].ports[0];
        assert_eq!(
            (port.host, port.container),
            (Some(PortRange::single(7000)), PortRange::single(6791))
        );
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

    #[test]
    fn environment_in_map_and_list_syntax() {
        let text = "services:\n  s:\n    environment:\n      A: 1\n      B:\n      C: \"${X:-x}\"\n      D: yes\n  t:\n    environment:\n      - E=2\n      - F\n      - 'G=a=b'\n      - H=\n";
        let file = parse_str(text);
        let env = |service: usize| -> Vec<(String, Option<String>, String)> {
            file.services[service]
                .environment
                .iter()
                .map(|v| {
                    let value = v.value.as_ref();
                    (
                        slice(text, v.name_span).to_owned(),
                        value.map(|t| t.value.clone()),
                        value.map_or("-", |t| slice(text, t.span)).to_owned(),
                    )
                })
                .collect()
        };
        let row =
            |n: &str, v: Option<&str>, s: &str| (n.to_owned(), v.map(str::to_owned), s.to_owned());
        assert_eq!(
            env(0),
            [
                row("A", Some("1"), "1"),
                row("B", None, "-"),
                row("C", Some("x"), "\"${X:-x}\""),
                row("D", Some("yes"), "yes"),
            ]
        );
        assert_eq!(
            env(1),
            [
                row("E", Some("2"), "2"),
                row("F", None, "-"),
                row("G", Some("a=b"), "a=b"),
                row("H", Some(""), "")
            ]
        );
        assert_eq!(
            file.services[0].environment[2]
                .value
                .as_ref()
                .unwrap()
                .raw
                .as_deref(),
            Some("${X:-x}")
        );
    }

    #[test]
    fn env_file_in_every_syntax() {
        let text = "services:\n  a:\n    env_file: .env\n  b:\n    env_file: [.env, .env.local]\n  c:\n    env_file:\n      - path: .env.convex.local\n        required: false\n      - path: ./x.env\n";
        let file = parse_str(text);
        let files = |i: usize| -> Vec<(&str, bool)> {
            file.services[i]
                .env_files
                .iter()
                .map(|f| (f.path.value.as_str(), f.required))
                .collect()
        };
        assert_eq!(files(0), [(".env", true)]);
        assert_eq!(files(1), [(".env", true), (".env.local", true)]);
        assert_eq!(files(2), [(".env.convex.local", false), ("./x.env", true)]);
        assert_eq!(
            slice(text, file.services[2].env_files[0].path.span),
            ".env.convex.local"
        );
    }

    #[test]
    fn commands_keep_each_argument_span() {
        let text = "services:\n  s:\n    command: convex-local-backend --port ${P:-3210}\n    entrypoint:\n      - /bin/sh\n      - -c\n      - \"echo $$HOME\"\n";
        let file = parse_str(text);
        let s = &file.services[0];
        let Some(CommandLine::Text(command)) = &s.command else {
            panic!("{:?}", s.command)
        };
        assert_eq!(command.value, "convex-local-backend --port 3210");
        assert_eq!(
            slice(text, command.span),
            "convex-local-backend --port ${P:-3210}"
        );
        let Some(CommandLine::Args(args)) = &s.entrypoint else {
            panic!("{:?}", s.entrypoint)
        };
        let args: Vec<_> = args
            .iter()
            .map(|a| (a.value.as_str(), slice(text, a.span)))
            .collect();
        assert_eq!(
            args,
            [
                ("/bin/sh", "/bin/sh"),
                ("-c", "-c"),
                ("echo $HOME", "\"echo $$HOME\"")
            ]
        );
    }

    #[test]
    fn volumes_in_short_and_long_syntax() {
        let text = "services:\n  s:\n    volumes:\n      - /data\n      - cache:/cache\n      - ~/x:/x:ro,z\n      - type: bind\n        source: ./start.sh\n        target: /start.sh\n        read_only: true\n      - type: tmpfs\n        target: /tmp\n      - source: ./y\n        target: /y\n";
        let file = parse_str(text);
        let mounts: Vec<_> = file.services[0]
            .volumes
            .iter()
            .map(|m| {
                (
                    m.kind.clone(),
                    m.source.as_ref().map(|s| s.value.as_str()),
                    m.target.value.as_str(),
                    m.read_only,
                )
            })
            .collect();
        assert_eq!(
            mounts,
            [
                (MountKind::Volume, None, "/data", false),
                (MountKind::Volume, Some("cache"), "/cache", false),
                (MountKind::Bind, Some("~/x"), "/x", true),
                (MountKind::Bind, Some("./start.sh"), "/start.sh", true),
                (MountKind::Tmpfs, None, "/tmp", false),
                (MountKind::Bind, Some("./y"), "/y", false),
            ]
        );
    }

    #[test]
    fn healthcheck_and_depends_on() {
        let text = "services:\n  s:\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:3210/version\"]\n      interval: 5s\n    depends_on: [db, cache]\n  t:\n    healthcheck:\n      test: [\"NONE\"]\n";
        let file = parse_str(text);
        let h = file.services[0].healthcheck.as_ref().unwrap();
        let Some(CommandLine::Args(args)) = &h.test else {
            panic!()
        };
        assert_eq!(args[3].value, "http://localhost:3210/version");
        assert!(!h.disabled);
        assert!(file.services[1].healthcheck.as_ref().unwrap().disabled);
        let deps: Vec<_> = file.services[0]
            .depends_on
            .iter()
            .map(|d| d.service.as_str())
            .collect();
        assert_eq!(deps, ["db", "cache"]);
    }

    #[test]
    fn anchors_aliases_and_merge_keys_point_at_their_definition() {
        let text = "x-ports: &ports\n  - \"3210:3210\"\nx-base: &base\n  image: base\n  network_mode: host\nservices:\n  a:\n    <<: *base\n    image: own\n    ports: *ports\n";
        let file = parse_str(text);
        assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
        let a = &file.services[0];
        assert_eq!(a.image.as_ref().unwrap().value, "own");
        let mode = a.network_mode.as_ref().unwrap();
        assert_eq!(
            (mode.value.as_str(), slice(text, mode.span)),
            ("host", "host")
        );
        assert_eq!(mode.span.start, 76);
        assert_eq!(slice(text, a.ports[0].span), "\"3210:3210\"");
        assert_eq!(a.ports[0].span.start, 20);
    }

    #[test]
    fn invalid_yaml_is_one_error_where_the_parser_stopped() {
        let cases = [
            ("services:\n  a:\n    ports: [\n  b: \"x\n", (4, 6)),
            ("# é\nservices:\n  a: 1\n  a: 2\n", (4, 3)),
            ("services:\n\ta: 1\n", (2, 2)),
            ("a: 1\n---\nb: 2\n", (3, 1)),
        ];
        for (text, (line, column)) in cases {
            let file = parse_str(text);
            assert!(file.services.is_empty(), "{text:?}");
            assert_eq!(file.diagnostics.len(), 1, "{text:?}");
            let d = &file.diagnostics[0];
            assert!(
                d.is_error() && d.message.starts_with("invalid YAML: "),
                "{}",
                d.message
            );
            assert!(!d.message.contains("at line"), "{}", d.message);
            let at = crate::source::SourceFile::new("c.yml", text)
                .line_col(d.primary.span.start as usize);
            assert_eq!(
                (at.line, at.column),
                (line, column),
                "{text:?}: {}",
                d.message
            );
        }
    }

    #[test]
    fn wrong_shapes_are_errors_and_the_rest_is_read() {
        let text = "services:\n  a:\n    ports: \"80\"\n    image: x\n  b: 3\n  c:\n    image: y\n";
        let file = parse_str(text);
        let messages: Vec<_> = file
            .diagnostics
            .iter()
            .map(|d| (d.message.as_str(), slice(text, d.primary.span)))
            .collect();
        assert_eq!(
            messages,
            [
                ("`ports` must be a list", "\"80\""),
                ("service `b` must be a mapping", "3")
            ]
        );
        let images: Vec<_> = file
            .services
            .iter()
            .map(|s| s.image.as_ref().map(|i| i.value.as_str()))
            .collect();
        assert_eq!(images, [Some("x"), None, Some("y")]);
        assert!(parse_str("").services.is_empty());
        assert!(parse_str("").diagnostics.is_empty());
        assert_eq!(parse_str("- a\n").diagnostics.len(), 1);
        assert!(parse_str("services:\n").diagnostics.is_empty());
        let nulls = parse_str("services:\n  a:\n    image:\n    healthcheck:\n    ports:\n");
        assert!(nulls.diagnostics.is_empty(), "{:?}", nulls.diagnostics);
    }

    #[test]
    fn hostile_input_is_refused_without_crashing() {
        let mut deep_block = String::new();
        for i in 0..200 {
            deep_block.push_str(&format!("{}k:\n", "  ".repeat(i)));
        }
        let deep_flow = format!("services: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for i in 0..20 {
            let prev = if i == 0 {
                "a".to_owned()
            } else {
                format!("b{}", i - 1)
            };
            bomb.push_str(&format!(
                "b{i}: &b{i} [{}]\n",
                vec![format!("*{prev}"); 9].join(", ")
            ));
        }
        let huge = "#".repeat(MAX_INPUT_BYTES + 1);
        for text in [deep_block, deep_flow, bomb, huge] {
            // Refused, not expanded (an unbounded expansion would not finish).
            let file = parse_str(&text);
            assert_eq!(file.diagnostics.len(), 1, "{}", &text[..40]);
        }
    }

    #[test]
    fn a_byte_order_mark_keeps_byte_offsets() {
        let text = "\u{feff}services:\n  s:\n    ports: [\"1:1\"]\n";
        let file = parse_str(text);
        assert_eq!(slice(text, file.services[0].ports[0].span), "\"1:1\"");
    }

    #[test]
    fn missing_variables_are_listed_with_the_value_using_them() {
        let text = "services:\n  s:\n    image: \"img:${TAG}\"\n    environment:\n      A: ${NEED:?set NEED}\n      B: ${OK:-fine}\n";
        let file = parse_str(text);
        let missing: Vec<_> = file
            .missing_variables
            .iter()
            .map(|m| (m.name.as_str(), m.error.as_deref(), slice(text, m.span)))
            .collect();
        assert_eq!(
            missing,
            [
                ("TAG", None, "\"img:${TAG}\""),
                ("NEED", Some("set NEED"), "${NEED:?set NEED}")
            ]
        );
    }

    #[test]
    fn is_compose_looks_for_a_top_level_services_mapping() {
        let cases = [
            ("services:\n  a:\n    image: x\n", true),
            ("\u{feff}version: '3'\nservices:\n\n  # c\n  a: {}\n", true),
            ("services: {a: {}}\n", true),
            ("\"services\":\n  a: {}\n", true),
            ("services:\n- a\n", false),
            ("services:\n  - a\n", false),
            ("services: []\n", false),
            ("services:\n", false),
            ("x:\n  services:\n    a: {}\n", false),
            ("name: app\nspec: {}\n", false),
            ("", false),
        ];
        for (text, expected) in cases {
            assert_eq!(is_compose(text), expected, "{text:?}");
        }
    }

    #[test]
    fn never_panics_and_spans_stay_on_char_boundaries() {
        let pieces = [
            "services:\n",
            "  s:\n",
            "    ports:\n",
            "      - ",
            "\"",
            "'",
            "3210",
            ":",
            "-",
            "/udp",
            "${",
            "}",
            "$",
            "é",
            "✓",
            "\n",
            "[",
            "]",
            "{",
            "}",
            ",",
            "&a ",
            "*a",
            "<<: ",
            "# c\n",
            "environment:",
            "=",
            "volumes:",
            "target: ",
            "\t",
        ];
        let mut seed = 0x9e37_79b9_u64;
        for _ in 0..1500 {
            let mut text = String::new();
            for _ in 0..(seed % 30) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            let file = parse_str(&text);
            let mut spans: Vec<Span> = file.diagnostics.iter().map(|d| d.primary.span).collect();
            for s in &file.services {
                spans.push(s.name_span);
                spans.extend(s.ports.iter().map(|p| p.span));
                spans.extend(s.environment.iter().map(|e| e.name_span));
                spans.extend(s.volumes.iter().map(|v| v.target.span));
            }
            for span in spans {
                assert!(text.get(span.range()).is_some(), "{text:?} {span:?}");
            }
        }
    }
}
