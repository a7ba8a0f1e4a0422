//! The Workspace model: every port, listener, app and env value of a workspace, from all its
//! files, each with the span it came from.
//!
//! A request travels a **port chain**: public origin → `coder_app` (slug) → its `url` port on the
//! agent's localhost → a compose published host port `H` → the container port `C` → the process
//! listening on `C`. Every link is a fact here; a rule is a broken or missing link.
//!
//! [`build`] turns parsed files into a `Workspace`; rules read it and never parse anything.

pub mod build;
pub mod chain;
pub mod listen;
pub mod url;

use std::borrow::Cow;

use crate::diagnostic::Diagnostic;
use crate::knowledge::Knowledge;
use crate::parse::dotenv::{self, EnvFile};
use crate::parse::script::WriteKind;
use crate::source::{FileId, SourceMap, Span};

pub use url::{HostTarget, UrlFact};

/// The kind of a file portolan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    Terraform,
    Compose,
    Script,
    EnvFile,
    Spec,
}

/// Where a port lives: the agent's own network (what `http://localhost:P` in a coder_app
/// means), or inside a compose container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Place {
    Workspace,
    /// Index into [`Workspace::services`].
    Container(usize),
}

/// How we know a process listens on a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerSource {
    /// A flag on its command line: `--port 3210`.
    Flag(String),
    /// An env variable: `PORT=3000`.
    Env(String),
    /// The program's or image's default port (knowledge base).
    Default,
    /// A Coder registry module's `port` input or default.
    Module(String),
}

/// A process known to listen on a port.
#[derive(Debug, Clone)]
pub struct Listener {
    pub port: u16,
    pub place: Place,
    /// The program, image or module it belongs to.
    pub program: String,
    /// The listener's name in the knowledge base (`api`, `site`).
    pub name: String,
    /// What the port is for (`convex-site`), if the knowledge base says.
    pub role: Option<String>,
    pub source: ListenerSource,
    /// Where it is set: the flag's value, the env value, the image name, the module block.
    pub span: Span,
    /// A path that answers when it is up.
    pub health: Option<String>,
    pub http: bool,
}

/// A compose service.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub name_span: Span,
    pub file: FileId,
    pub image: Option<(String, Span)>,
    pub published: Vec<PublishedPort>,
    /// Whether portolan knows every port the container listens on (known image or program, or
    /// flags for all of them). When false, a published port without a listener is only a warning.
    pub listeners_known: bool,
    pub depends_on: Vec<(String, Span)>,
    pub env_files: Vec<(String, Span)>,
    /// Host files mounted into the container: (host path as written, span).
    pub mounts: Vec<(String, Span)>,
    pub network_mode_host: bool,
}

/// `H:C` in a compose file: the workspace's localhost:H reaches the container's port C.
#[derive(Debug, Clone, Copy)]
pub struct PublishedPort {
    pub host: Option<u16>,
    pub container: u16,
    pub span: Span,
}

/// Who may open an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    Owner,
    Authenticated,
    Public,
    /// Not a value Coder accepts, or not known statically.
    Other,
}

/// Where an app was declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppOrigin {
    /// `resource "coder_app" "NAME"`.
    Resource(String),
    /// A registry module that creates its own app.
    Module(String),
    /// An app in the spec.
    Spec,
}

/// A Coder app.
#[derive(Debug, Clone)]
pub struct App {
    pub slug: String,
    pub slug_span: Span,
    /// The block (or module) that declares it.
    pub span: Span,
    pub declared_by: AppOrigin,
    pub url: Option<UrlFact>,
    pub share: Share,
    pub share_span: Option<Span>,
    pub subdomain: bool,
    pub healthcheck: Option<UrlFact>,
    pub hidden: bool,
    /// Created once per `count`/`for_each` instance: slugs may repeat by design.
    pub repeated: bool,
}

/// Where an env variable is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvScope {
    /// A line of an env file.
    EnvFile,
    /// `environment:` of a compose service (index into [`Workspace::services`]).
    Compose(usize),
    /// An assignment or export in a script (or a script heredoc in a .tf file).
    Script,
    /// `coder_agent.env`.
    AgentEnv,
    /// A `coder_env` resource.
    CoderEnv,
    /// `env` of a docker or kubernetes container in Terraform.
    Container,
    /// A spec value.
    Spec,
}

/// One assignment of an env variable.
#[derive(Debug, Clone)]
pub struct EnvVar {
    pub name: String,
    pub name_span: Span,
    /// The value as far as it is known statically (interpolations resolved where possible).
    pub value: Option<String>,
    /// The value as written.
    pub raw: String,
    pub value_span: Span,
    pub scope: EnvScope,
    /// A URL in the value, if any.
    pub url: Option<UrlFact>,
}

/// A Coder registry module.
#[derive(Debug, Clone)]
pub struct ModuleUse {
    /// The module block's label.
    pub label: String,
    /// The module's name in the registry (`code-server`).
    pub name: String,
    pub span: Span,
    pub port: u16,
    pub port_span: Span,
    pub slug: Option<String>,
    pub agentapi: bool,
}

/// Variables the Coder agent sets in every process it starts (startup scripts, apps, shells).
pub const AGENT_VARIABLES: &[&str] = &[
    "CODER",
    "CODER_WORKSPACE_NAME",
    "CODER_WORKSPACE_OWNER_NAME",
    "CODER_AGENT_URL",
    "CODER_WORKSPACE_AGENT_NAME",
    "HOME",
    "USER",
    "PATH",
    "PWD",
    "SHELL",
    "HOSTNAME",
];

/// Env-file text as portolan read it: an env file, or what a script writes into one.
#[derive(Debug, Clone)]
pub struct EnvText<'w> {
    pub file: FileId,
    /// Entries and problems; spans point into `file`.
    pub env: Cow<'w, EnvFile>,
    /// The statement that writes it, when a script does (`cat > .env <<EOF`).
    pub written_by: Option<Span>,
}

/// Everything portolan knows about one workspace.
#[derive(Debug, Default)]
pub struct Workspace {
    pub sources: SourceMap,
    /// The kind of each file, by [`FileId`].
    pub kinds: Vec<(FileId, FileKind)>,
    pub apps: Vec<App>,
    pub services: Vec<Service>,
    pub listeners: Vec<Listener>,
    pub env: Vec<EnvVar>,
    pub modules: Vec<ModuleUse>,
    /// Files that could not be parsed, and other problems found while reading.
    pub parse_errors: Vec<Diagnostic>,
    pub facts: build::ParsedFiles,
    pub knowledge: Knowledge,
    /// With `check --spec`: the files the spec renders.
    pub expected: Vec<crate::check::ExpectedFile>,
}

impl Workspace {
    pub fn kind(&self, file: FileId) -> Option<FileKind> {
        self.kinds
            .iter()
            .find(|(id, _)| *id == file)
            .map(|(_, k)| *k)
    }

    /// Whether the workspace has any Coder template (a .tf file).
    pub fn is_coder_template(&self) -> bool {
        self.kinds.iter().any(|(_, k)| *k == FileKind::Terraform)
    }

    /// Listeners on a port at a place.
    pub fn listeners_at(&self, place: Place, port: u16) -> impl Iterator<Item = &Listener> {
        self.listeners
            .iter()
            .filter(move |l| l.place == place && l.port == port)
    }

    /// Compose published ports whose host side is `port`: (service index, port).
    pub fn published_on(&self, port: u16) -> impl Iterator<Item = (usize, &PublishedPort)> {
        self.services.iter().enumerate().flat_map(move |(i, s)| {
            s.published
                .iter()
                .filter(move |p| p.host == Some(port))
                .map(move |p| (i, p))
        })
    }

    pub fn app(&self, slug: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.slug == slug)
    }

    /// Every env file, then every env-file body a script writes (`cat > .env <<EOF`, `echo
    /// K=v >> app.env`; targets named like env files only). In script bodies a problem whose
    /// text holds a shell expansion (`$X`, `$(cmd)`, a backquote) is dropped: what the script
    /// writes there is known only when it runs.
    pub fn env_texts(&self) -> Vec<EnvText<'_>> {
        let mut out: Vec<EnvText<'_>> = self
            .facts
            .env_files
            .iter()
            .map(|(file, env)| EnvText {
                file: *file,
                env: Cow::Borrowed(env),
                written_by: None,
            })
            .collect();
        for write in self.facts.scripts.iter().flat_map(|s| &s.facts.file_writes) {
            let target = self.sources.slice(write.target.span);
            let name = target
                .trim_matches(['"', '\''])
                .rsplit('/')
                .next()
                .unwrap_or("");
            let is_env_file =
                crate::check::classify(std::path::Path::new(name), None) == Some(FileKind::EnvFile);
            let span = write.body.span;
            // Only text whose bytes are the file's bytes, so that spans map one to one: a
            // heredoc body, or an unquoted `echo K=v`.
            let body = match write.kind {
                WriteKind::Heredoc { .. } => Some(self.sources.slice(span).to_owned()),
                _ => write.body.literal(),
            };
            let Some(body) = body.filter(|b| is_env_file && b.len() == span.range().len()) else {
                continue;
            };
            let mut env = dotenv::parse_at(span.file, &body, span.start as usize);
            env.problems.retain(|p| {
                let text = self.sources.slice(p.span);
                !text.contains(['$', '`'])
            });
            out.push(EnvText {
                file: span.file,
                env: Cow::Owned(env),
                written_by: Some(write.span),
            });
        }
        out
    }
}
