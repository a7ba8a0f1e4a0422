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
//! and no default are listed in [`ComposeFile::missing_variables`]. The reading of `$`
//! references is [`crate::parse::interpolate`], shared with env files.
//!
//! Invalid YAML gives one error [`Diagnostic`] at the position the YAML parser reports and no
//! services; a value of the wrong shape (a port that is not a port, `ports` that is not a list)
//! gives an error at that value and the rest of the file is still read. Nesting deeper than
//! [`MAX_DEPTH`], files over [`MAX_INPUT_BYTES`] and alias bombs are refused, never a crash.
//!
//! Not handled: `extends`, `include`, profiles, multiple compose files merged together,
//! `build`, networks other than `network_mode`, and `!reset`/`!override` tags (read as plain
//! values).
//!
//! The parts: `yaml` reads the YAML into a tree of nodes with locations, `read` turns the tree
//! into these facts, `ports` holds the port facts and reads every port syntax.

mod ports;
mod read;
mod yaml;

use serde_saphyr::Spanned;

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

pub use ports::{short_port_spec, ComposePort, ExposedPort, PortRange, Protocol};
use read::Reader;
use yaml::{yaml_options, Node, NodeValue};

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
    pub ports: Vec<ComposePort>,
    /// `expose:`, one entry per list item (a range is one entry).
    pub expose: Vec<ExposedPort>,
    pub environment: Vec<EnvironmentVariable>,
    pub env_files: Vec<EnvFileRef>,
    pub entrypoint: Option<CommandLine>,
    pub command: Option<CommandLine>,
    pub volumes: Vec<VolumeMount>,
    pub healthcheck: Option<ComposeHealthcheck>,
    pub depends_on: Vec<Dependency>,
    pub network_mode: Option<ComposeText>,
    /// `container_name:`, the container's fixed name.
    pub container_name: Option<ComposeText>,
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
pub struct ComposeHealthcheck {
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
// Reading a file
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

#[cfg(test)]
mod tests {
    use super::*;

    fn no_vars(_: &str) -> Option<String> {
        None
    }

    /// Parses `text` with no variables set.
    pub(super) fn parse_str(text: &str) -> ComposeFile {
        parse(FileId(0), text, &no_vars)
    }

    /// A port range as `(first, last)`.
    pub(super) fn pair(range: PortRange) -> (u16, u16) {
        (range.start, range.end)
    }

    /// The text a span covers.
    pub(super) fn slice(text: &str, span: Span) -> &str {
        &text[span.range()]
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
