//! From the YAML tree to the facts: the [`Reader`] walks a compose file's services and reads
//! each field it knows (environment, `env_file`, commands, volumes, healthcheck, `depends_on`;
//! ports are in [`super::ports`]), interpolating values and keeping every span.

use std::ops::Range;

use serde_saphyr::{Location, MessageFormatter, UserMessageFormatter};

use crate::diagnostic::Diagnostic;
use crate::parse::interpolate::interpolate;
use crate::source::{FileId, Span};

use super::yaml::{char_to_byte, line_col_to_byte, Loc, Node, NodeValue};
use super::{
    CommandLine, ComposeFile, ComposeHealthcheck, ComposeService, ComposeText, Dependency,
    EnvFileRef, EnvironmentVariable, MountKind, UnresolvedVariable, VolumeMount,
};

/// Reads one compose file's tree into a [`ComposeFile`].
pub(super) struct Reader<'a> {
    pub(super) file: FileId,
    pub(super) text: &'a str,
    pub(super) vars: &'a dyn Fn(&str) -> Option<String>,
    pub(super) out: ComposeFile,
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
    pub(super) fn extent(&self, node: &Node) -> Span {
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

    pub(super) fn error(&mut self, span: Span, message: impl Into<String>) {
        self.out.diagnostics.push(Diagnostic::error(span, message));
    }

    pub(super) fn yaml_error(&mut self, err: &serde_saphyr::Error) {
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
    pub(super) fn expect_text(&mut self, node: &Node, what: &str) -> Option<ComposeText> {
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

    pub(super) fn document(&mut self, root: &Node) {
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
                "container_name" => {
                    service.container_name = self.expect_text(value, "`container_name`")
                }
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
    pub(super) fn list<'n>(&mut self, node: &'n Node, what: &str) -> &'n [Node] {
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

    fn healthcheck(&mut self, node: &Node) -> Option<ComposeHealthcheck> {
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
        Some(ComposeHealthcheck {
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

/// Short-syntax volume sources that are host paths rather than volume names.
fn is_host_path(source: &str) -> bool {
    source.starts_with(['/', '.', '~', '\\'])
        || source
            .as_bytes()
            .get(1..3)
            .is_some_and(|b| b[0] == b':' && (b[1] == b'\\' || b[1] == b'/'))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{parse_str, slice};
    use super::*;

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
}
