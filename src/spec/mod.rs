//! The spec, `portolan.yaml`: one declarative description of a Coder workspace's services, ports,
//! apps, env files and secrets, from which `render` writes every other file.
//!
//! [`load`] parses and validates a spec; every error and warning names its file, line and column.
//! [`reference`] is the small language of `${origin:backend.site}` references inside values.

mod load;
mod located;
pub mod reference;
pub mod steps;

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
    /// One-shot steps the start script runs after the services they wait for are up: once per
    /// workspace (again when the task or one of its values changes), or at every start.
    #[serde(default)]
    pub tasks: Named<Task>,
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
    /// How the `--full` template runs Docker for the compose services, so that their published
    /// ports are on the agent's localhost: `sysbox` (the default: the daemon inside the
    /// workspace container, which needs the sysbox runtime on the Docker host) or `dind` (a
    /// privileged `docker:dind` sidecar whose network namespace the workspace shares; any Docker
    /// host that allows privileged containers).
    #[serde(default)]
    pub docker: DockerMode,
    /// An IDE the `--full` template adds: `code-server` (Coder's registry module, on port 13337,
    /// opening the project folder) or `none` (the default).
    #[serde(default)]
    pub ide: Located<Ide>,
    /// The project's git repository: the `--full` template clones it into `workdir` (Coder's
    /// git-clone module), and the agent's startup waits for the clone before it runs the start
    /// script, which must be committed there. An `https://`, `http://`, `ssh://` or `git@host:path`
    /// URL.
    #[serde(default)]
    pub repo: Option<Located<String>>,
}

/// How Docker runs in the workspace of the `--full` template.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DockerMode {
    #[default]
    Sysbox,
    Dind,
}

/// The IDE of the `--full` template.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Ide {
    #[default]
    None,
    CodeServer,
}

/// The port and slug of the code-server module's app (its defaults).
pub const CODE_SERVER_PORT: u16 = 13337;
pub const CODE_SERVER_SLUG: &str = "code-server";

impl Default for Coder {
    fn default() -> Self {
        Coder {
            agent: default_agent(),
            wildcard_domain: None,
            scheme: Scheme::default(),
            agent_in_host: true,
            workdir: None,
            docker: DockerMode::default(),
            ide: Located::default(),
            repo: None,
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
    /// For `run` processes: services (up, and healthy when they have a healthcheck), tasks
    /// (done) and command secrets (made) the start script waits for before it starts this one.
    #[serde(default)]
    pub after: Vec<Located<String>>,
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

/// A secret made at first workspace start and kept in `.portolan/secrets.env`: generated
/// (`generate`), or printed by a command (`run`) once what it waits for is up.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    #[serde(default)]
    pub generate: Option<Located<Generator>>,
    /// For `generate: jwks`: the `rsa_2048` secret whose public key the set holds.
    #[serde(default)]
    pub key: Option<Located<String>>,
    /// Shell command whose last non-empty line of output is the secret (one line, not empty).
    #[serde(default)]
    pub run: Option<Located<String>>,
    /// Compose service whose container runs the `run` command (`compose exec -T SERVICE sh -c`);
    /// the secret then waits for that service.
    #[serde(default)]
    pub exec: Option<Located<String>>,
    /// Services and tasks the command waits for, as `after` of a task.
    #[serde(default)]
    pub after: Vec<Located<String>>,
}

impl Secret {
    /// Whether a command makes this secret (after the services start), not a generator.
    pub fn is_command(&self) -> bool {
        self.generate.is_none() && self.run.is_some()
    }
}

/// A one-shot step of the start script: a shell command (`run`) or deployment env (`set`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Services (up, and healthy when they have a healthcheck), tasks (done) and command
    /// secrets (made) this task waits for.
    #[serde(default)]
    pub after: Vec<Located<String>>,
    /// Shell command the task runs; references expand as in a service's `run`.
    #[serde(default)]
    pub run: Option<Located<String>>,
    /// Deployment env: runs `COMMAND NAME -- VALUE` once per value.
    #[serde(default)]
    pub set: Option<SetSpec>,
    /// Environment of the command, as a service's `env`.
    #[serde(default)]
    pub env: Named<Located<Text>>,
    /// Folder the task runs in, relative to the project folder (as a service's `workdir`).
    #[serde(default)]
    pub workdir: Option<Located<String>>,
    /// Run at every workspace start, not once per workspace.
    #[serde(default)]
    pub every_start: bool,
}

/// Values a program sets through a command: `COMMAND NAME -- VALUE` once for each.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Set")]
pub struct SetSpec {
    /// The command, shell code before `NAME -- VALUE` (`npx convex env set`).
    pub command: Located<String>,
    /// The values, by name; references as in `env`. They reach the command only as arguments.
    pub values: Named<Located<Text>>,
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
    /// A 2048-bit RSA private key (public exponent 65537) as PKCS#8 PEM (`-----BEGIN PRIVATE
    /// KEY-----`), made with `openssl genpkey`: several lines, so it goes only where a
    /// multi-line value survives (a process's environment), never into an env file or compose.
    #[serde(rename = "rsa_2048")]
    Rsa2048,
    /// The JSON Web Key Set (`{"keys":[{"use":"sig","kty":"RSA","n":…,"e":…}]}`, one line) of
    /// the public half of the `rsa_2048` secret named by `key`. It is derived from that key at
    /// every start, so the two always match.
    Jwks,
}

impl Generator {
    /// The shell command that prints a fresh value: coreutils for the random ones, openssl for
    /// an RSA key, and the start script's `jwks_of` for a key set (given the key).
    pub fn shell(self) -> &'static str {
        match self {
            Generator::Hex16 => "head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'",
            Generator::Hex32 => "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \\n'",
            Generator::Base64_32 => "head -c 32 /dev/urandom | base64 | tr -d '\\n'",
            Generator::Rsa2048 => "rsa_key",
            Generator::Jwks => "jwks_of",
        }
    }

    /// Whether the value spans several lines (a PEM key).
    pub fn is_multiline(self) -> bool {
        self == Generator::Rsa2048
    }
}

/// The JSON Schema of `portolan.yaml`, for editors.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Spec);
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}
