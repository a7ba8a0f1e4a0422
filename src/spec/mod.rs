//! The spec, `portolan.yaml`: one declarative description of a Coder workspace's services, ports,
//! apps, env files and secrets, from which `render` writes every other file.
//!
//! [`load`] parses and validates a spec; every error and warning names its file, line and column.
//! [`reference`] is the small language of `${origin:backend.site}` references inside values.

mod load;
mod located;
pub mod reference;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

pub(crate) use load::yaml_error;
/// The grammar `spec::load` checks, for writers of specs (`import`).
pub(crate) mod grammar {
    pub(crate) use super::load::{
        is_dns_name, is_url_path, reserved_pass_through_name, reserved_secret_name,
        shell_syntax_error,
    };
}
pub use load::{did_you_mean, is_valid_env_name, is_valid_slug, load, LoadedSpec, SpecError};
pub use located::{Located, Text};

/// A map whose keys keep their location, in the order they were written.
pub type Named<T> = IndexMap<Located<String>, T>;

/// The root of `portolan.yaml`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Project name: the compose project name and the default folder inside the workspace.
    pub name: Located<String>,
    /// How the workspace is reached through Coder.
    #[serde(default)]
    pub coder: Coder,
    /// Services: containers run by docker compose (`image`) or processes run by the start script (`run`).
    #[serde(default)]
    pub services: Named<Service>,
    /// Coder apps, keyed by slug: one `coder_app` each.
    #[serde(default)]
    pub apps: Named<AppSpec>,
    /// The compose file render writes for the `image` services.
    #[serde(default)]
    pub compose: ComposeSettings,
    /// Env files the start script writes, keyed by path relative to the project folder: letters,
    /// digits and `/._-+@`, no `..`, and none of the files portolan writes itself. Values take
    /// the references of service `env`, `${env:NAME}` included. A path may name a subfolder
    /// (`web/.env.local`), which the start script creates.
    #[serde(default)]
    pub env_files: Named<Named<Located<Text>>>,
    /// Secrets generated once at workspace start and kept across restarts.
    #[serde(default)]
    pub secrets: Named<Secret>,
    /// Rules `portolan check` skips for the files rendered from this spec.
    #[serde(default)]
    pub ignore: Vec<Located<String>>,
    /// A folder of templates that replace the built-in ones of the same name
    /// (`coder-apps.tf.j2`, `main.tf.j2`, `docker-compose.yml.j2`, `start-workspace.sh.j2`,
    /// `env-file.j2`), relative to the spec's folder: `render`, `render --check` and `check
    /// --spec` use it; `render --templates DIR` overrides it. A file in it named like no template
    /// is an error.
    #[serde(default)]
    pub templates: Option<Located<String>>,
    /// Knowledge added to the built-in knowledge base for `check --spec` and `probe --spec`:
    /// programs, images, env roles and modules, in the shape of `src/knowledge/knowledge.yaml`.
    #[serde(default)]
    pub knowledge: Option<crate::knowledge::Knowledge>,
}

/// The compose file: the name a project's own scripts already use.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Compose")]
pub struct ComposeSettings {
    /// Path of the compose file relative to the output folder, ending in `.yml` or `.yaml`
    /// (`docker-compose.convex.yml`, `infra/compose.yml`): letters, digits and `/._-+@`, no
    /// `..`, not absolute. Defaults to `docker-compose.yml`. The start script runs
    /// `docker compose -f FILE`; for a file in a subfolder it adds `--project-directory .`, so
    /// bind-mount sources and compose's `.env` stay relative to the project folder.
    #[serde(default)]
    pub file: Option<Located<String>>,
}

/// The compose file's path when the spec names none.
pub const DEFAULT_COMPOSE_FILE: &str = "docker-compose.yml";

impl Spec {
    /// The compose file's path relative to the output folder, `/`-separated.
    pub fn compose_file(&self) -> &str {
        self.compose
            .file
            .as_ref()
            .map_or(DEFAULT_COMPOSE_FILE, |f| f.as_str())
    }
}

/// Coder settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Coder {
    /// Name of the `coder_agent` resource the apps attach to.
    #[serde(default = "default_agent")]
    pub agent: Located<String>,
    /// The wildcard domain of the Coder deployment (`*.coder.example.com` → `coder.example.com`), a DNS
    /// name with an optional `:PORT`. Subdomain apps need one. The provider does not expose it, so it
    /// becomes a Terraform variable.
    #[serde(default)]
    pub wildcard_domain: Option<Located<String>>,
    /// Scheme of public origins.
    #[serde(default)]
    pub scheme: Scheme,
    /// Whether subdomain hosts include the agent name: `{slug}--{agent}--{workspace}--{owner}`. Coder accepts
    /// the shorter form without the agent only for workspaces with one agent.
    #[serde(default = "yes")]
    pub agent_in_host: bool,
    /// Folder of the project inside the workspace, an absolute path of letters, digits and
    /// `/._-+@`; defaults to `/home/coder/<name>`.
    #[serde(default)]
    pub workdir: Option<Located<String>>,
}

impl Default for Coder {
    fn default() -> Self {
        Coder {
            agent: default_agent(),
            wildcard_domain: None,
            scheme: Scheme::default(),
            agent_in_host: true,
            workdir: None,
        }
    }
}

fn default_agent() -> Located<String> {
    Located::synthetic("main".to_owned())
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    #[default]
    Https,
    Http,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Https => "https",
            Scheme::Http => "http",
        }
    }
}

/// A service: either a compose container (`image`) or a process the start script runs (`run`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Container image; makes this a docker compose service.
    #[serde(default)]
    pub image: Option<Located<String>>,
    /// Shell command the start script runs in the background; makes this a process service.
    #[serde(default)]
    pub run: Option<Located<String>>,
    /// Folder the `run` command starts in, relative to the project folder (letters, digits and
    /// `/._-+@`).
    #[serde(default)]
    pub workdir: Option<Located<String>>,
    /// Compose `command` (string or list).
    #[serde(default)]
    pub command: Option<Located<CommandSpec>>,
    /// Compose `entrypoint` (string or list).
    #[serde(default)]
    pub entrypoint: Option<Located<CommandSpec>>,
    /// Compose volumes, `source:target[:mode]`. A source starting with `.`, `/` or `~` is a bind
    /// mount; any other is a named volume (letters, digits, `_.-`), declared for you.
    #[serde(default)]
    pub volumes: Vec<Located<String>>,
    /// Named ports: `api: 3210` or `api: { port: 3210, host: 13210 }`.
    #[serde(default)]
    pub ports: Named<Located<PortSpec>>,
    /// Environment of the service. Values may contain `${origin:...}`, `${port:...}`,
    /// `${secret:...}` references and `${env:NAME}`, a variable of the workspace's environment
    /// passed through; `$${` is a literal `${`, and any other `${` is an error.
    #[serde(default)]
    pub env: Named<Located<Text>>,
    /// How the start script knows the service is up.
    #[serde(default)]
    pub healthcheck: Option<HealthcheckSpec>,
    /// Compose services that must start first.
    #[serde(default)]
    pub depends_on: Vec<Located<String>>,
    /// Compose `container_name`: the container's fixed name, for scripts that run
    /// `docker exec NAME`. As Docker accepts it (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), unique across
    /// services; compose services only.
    #[serde(default)]
    pub container_name: Option<Located<String>>,
}

impl Service {
    pub fn is_compose(&self) -> bool {
        self.image.is_some()
    }
}

/// A command as a string (run by a shell) or as a list of arguments.
#[derive(Debug, Clone, Deserialize, JsonSchema, PartialEq, Eq)]
#[schemars(rename = "CommandLine")]
#[serde(untagged)]
pub enum CommandSpec {
    Shell(String),
    Args(Vec<String>),
}

/// A port: the container port (or the process's port), optionally published on another host port.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(untagged)]
pub enum PortSpec {
    Number(u16),
    Mapped {
        /// Port the service listens on.
        port: u16,
        /// Port on the workspace's localhost; defaults to `port`.
        host: Option<u16>,
    },
}

impl PortSpec {
    /// The port the service itself listens on.
    pub fn container(self) -> u16 {
        match self {
            PortSpec::Number(p) => p,
            PortSpec::Mapped { port, .. } => port,
        }
    }

    /// The port on the workspace's localhost (what a `coder_app` url points at).
    pub fn host(self) -> u16 {
        match self {
            PortSpec::Number(p) => p,
            PortSpec::Mapped { port, host } => host.unwrap_or(port),
        }
    }
}

/// What the start script waits for before it reports a service as up: an HTTP request to one of
/// its ports (any status below 500 passes, as in Coder), or, for compose services, the container's
/// own healthcheck `command`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Healthcheck")]
pub struct HealthcheckSpec {
    /// Name of one of the service's ports, for an HTTP check.
    #[serde(default)]
    pub port: Option<Located<String>>,
    /// URL path (and query) requested on that port; `/` when a port is given without a path.
    /// Characters a shell would read (`$'()!*`) are written as `%HH`.
    #[serde(default)]
    pub path: Option<Located<String>>,
    /// Seconds to wait before the start script reports the service as failed.
    #[serde(default = "default_health_timeout")]
    pub timeout: u32,
    /// A command run inside the container for compose's own healthcheck (`CMD-SHELL`); lets
    /// `depends_on` wait for the service to be healthy.
    #[serde(default)]
    pub command: Option<Located<String>>,
}

impl HealthcheckSpec {
    /// The HTTP check, if there is one: (port name, path).
    pub fn http(&self) -> Option<(&str, &str)> {
        let port = self.port.as_ref()?;
        Some((
            port.as_str(),
            self.path.as_ref().map_or("/", |p| p.as_str()),
        ))
    }
}

fn default_health_timeout() -> u32 {
    120
}

/// A `coder_app`, keyed by its slug.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "App")]
pub struct AppSpec {
    /// The port the app opens: `service.port`.
    pub target: Located<String>,
    /// Serve the app on its own subdomain (needed by servers that assume they own `/`).
    #[serde(default = "yes")]
    pub subdomain: bool,
    /// Who may open the app. A backend that fetches its own origin needs `public`.
    #[serde(default)]
    pub share: Located<Share>,
    #[serde(default)]
    pub display_name: Option<Located<String>>,
    #[serde(default)]
    pub icon: Option<Located<String>>,
    #[serde(default)]
    pub hidden: bool,
    #[serde(default)]
    pub order: Option<i64>,
    #[serde(default)]
    pub group: Option<Located<String>>,
    #[serde(default)]
    pub open_in: Option<OpenIn>,
    /// URL path Coder requests to tell whether the app is healthy (as for service healthchecks).
    #[serde(default)]
    pub healthcheck: Option<Located<String>>,
    /// Seconds between healthchecks.
    #[serde(default = "default_interval")]
    pub healthcheck_interval: u32,
    /// Failed healthchecks before the app is unhealthy.
    #[serde(default = "default_threshold")]
    pub healthcheck_threshold: u32,
}

fn default_interval() -> u32 {
    5
}

fn default_threshold() -> u32 {
    6
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Share {
    #[default]
    Owner,
    Authenticated,
    Public,
}

impl Share {
    pub fn as_str(self) -> &'static str {
        match self {
            Share::Owner => "owner",
            Share::Authenticated => "authenticated",
            Share::Public => "public",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OpenIn {
    SlimWindow,
    Tab,
}

impl OpenIn {
    pub fn as_str(self) -> &'static str {
        match self {
            OpenIn::SlimWindow => "slim-window",
            OpenIn::Tab => "tab",
        }
    }
}

/// A secret generated at first workspace start and kept in `.portolan/secrets.env`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    pub generate: Located<Generator>,
}

/// How a secret is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Generator {
    /// 16 random bytes as 32 hex digits.
    Hex16,
    /// 32 random bytes as 64 hex digits.
    Hex32,
    /// 32 random bytes, base64.
    Base64_32,
}

impl Generator {
    /// The shell command that prints a fresh value (coreutils and openssl-free).
    pub fn shell(self) -> &'static str {
        match self {
            Generator::Hex16 => "head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'",
            Generator::Hex32 => "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'",
            Generator::Base64_32 => "head -c 32 /dev/urandom | base64 | tr -d '\\n'",
        }
    }
}

/// The JSON Schema of `portolan.yaml`, for editors.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Spec);
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}
