//! The Workspace model: every port, listener, app and env value of a workspace, from all its
//! files, each with the span it came from.
//!
//! A request travels a **port chain**: public origin → `coder_app` (slug) → its `url` port on the
//! agent's localhost → a compose published host port `H` → the container port `C` → the process
//! listening on `C`. Every link is a fact here; a rule is a broken or missing link.
//!
//! [`build`] turns parsed files into a `Workspace`; rules read it and never parse anything.

pub mod agents;
pub mod build;
pub mod chain;
pub mod config_port;
pub mod links;
pub mod listen;
pub mod netns;
pub mod provider;
pub mod role;
pub mod spec_facts;
pub mod url;

use crate::diagnostic::Diagnostic;
use crate::knowledge::Knowledge;
use crate::parse::dotenv::EnvFile;
use crate::source::{FileId, SourceMap, Span};

pub use links::{PortLink, PortLinkKind};
pub use provider::ProviderPin;
pub use url::{HostTarget, UrlFact};

/// The Coder template as Terraform reads it: its blocks and attributes, with the Coder
/// resources among them typed (agents, apps, scripts, envs, module calls, the provider pin).
pub mod template {
    pub use crate::parse::terraform::{
        Agent, Attribute, Block, CoderScript, Spanned, TemplatePart, TerraformModule, Value,
    };
    pub use crate::parse::terraform::{Container, ContainerRuntime, Reference};
}

/// The lines of an env file: entries, their references, and the problems of its syntax.
pub mod env_file {
    pub use crate::parse::dotenv::{
        EnvEntry, EnvFile, EnvProblem, EnvProblemKind, EnvReference, Quote,
    };
    pub use crate::parse::interpolate::Operator;
}

/// A compose file as read: its services with every value's span, and the variables its
/// interpolation found unset.
pub mod compose {
    pub use crate::parse::compose::{ComposeFile, ComposeText, PortRange};
    pub use crate::parse::interpolate::variable_references;
}

pub use compose::PortRange;

pub use crate::files::FileKind;

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
    /// Its network namespace and what it depends on: set by `build` once every listener is
    /// known.
    pub site: netns::Site,
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
    /// The service whose network it joins (`network_mode: service:X`): its ports, and what
    /// its `localhost` reaches, are X's.
    pub network_of: Option<usize>,
}

/// `H:C` in a compose file: the workspace's localhost:H reaches the container's port C. A
/// range `H1-H2:C1-C2` is one fact: `H1 + i` reaches `C1 + i`.
#[derive(Debug, Clone, Copy)]
pub struct PublishedPort {
    /// As long as `container`; `None` when docker picks the host ports.
    pub host: Option<PortRange>,
    pub container: PortRange,
    pub span: Span,
}

impl PublishedPort {
    /// The container port that host port `host` reaches, if this mapping publishes it.
    pub fn container_for(&self, host: u16) -> Option<u16> {
        let range = self.host.filter(|h| h.contains(host))?;
        Some(self.container.start + (host - range.start))
    }

    /// The host port that reaches container port `container`, if it is published on a known one.
    pub fn host_for(&self, container: u16) -> Option<u16> {
        let range = self.host.filter(|_| self.container.contains(container))?;
        Some(range.start + (container - self.container.start))
    }
}

pub use crate::coder::Share;

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
    /// What the agent proxies: `None` for an app without a url (a command app) and for an
    /// [`App::external`] one, whose url the browser opens itself.
    pub url: Option<UrlFact>,
    /// `external = true` (or an `external` whose value is unknown): a link the browser opens;
    /// the agent proxies nothing, so no port or localhost fact holds for it.
    pub external: bool,
    /// `command = ...`: the app runs a command in a terminal and has no port.
    pub command: bool,
    pub share: Share,
    pub share_span: Option<Span>,
    pub subdomain: bool,
    pub healthcheck: Option<UrlFact>,
    pub hidden: bool,
    /// Created once per `count`/`for_each` instance: slugs may repeat by design.
    pub repeated: bool,
    /// The agent it belongs to (`agent_id = coder_agent.X.id`, a module's `agent_id`
    /// argument, or the caller's for a local module's app), when known.
    pub agent: Option<String>,
    /// That agent's network namespace, whose `localhost` the app's url names; set by
    /// `model::build` when the agent is known.
    pub netns: Option<netns::NetnsId>,
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
    /// An http(s) URL in the value, if any: what origin rules read.
    pub url: Option<UrlFact>,
    /// A URL of a server protocol in the value (`postgres://app:pw@localhost:15432/app`,
    /// `redis://localhost`), by the knowledge's `url_schemes`; never an http(s) one, so it
    /// never reaches the rules about browser origins.
    pub service_url: Option<UrlFact>,
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

/// A module whose files are checked with the template that calls it: a local `source`
/// (`./modules/x`), or a module `terraform init` installed (`.terraform/modules/modules.json`).
/// Its variables are bound to the call's arguments (else their defaults); its apps, scripts and
/// listeners are the workspace's, on the agent its `agent_id` argument names.
#[derive(Debug, Clone)]
pub struct LocalModule {
    /// The call's label in the template (`module "NAME"`); `outer.inner` for a call inside one.
    pub label: String,
    /// The module's folder, as the workspace's paths write it.
    pub dir: std::path::PathBuf,
    /// The `module` block that calls it.
    pub call: Span,
    pub module: template::TerraformModule,
}

/// Env-file text as portolan read it: an env file, or what a script writes into one.
#[derive(Debug, Clone)]
pub struct EnvText {
    pub file: FileId,
    /// Entries and problems; spans point into `file`.
    pub env: EnvFile,
    /// The statement that writes it, when a script does (`cat > .env <<EOF`).
    pub written_by: Option<Span>,
}

/// A file a script writes when it runs: a redirection (`cat > .env <<EOF`, `echo K=v >>
/// app.env`, `tee`), or the start script's `write_managed PATH`.
#[derive(Debug, Clone)]
pub struct WrittenFile {
    /// The statement that writes it.
    pub span: Span,
    /// The target as written.
    pub target: String,
    /// The file's name: the target's last part, without quotes.
    pub name: String,
    /// Where it lands, relative to the checked folder: resolved against the folder of the
    /// script file that writes it when the target is a static relative path (`exact`);
    /// otherwise (absolute, after a variable, from a Terraform script whose working folder is
    /// unknown) only its static tail.
    pub path: std::path::PathBuf,
    pub exact: bool,
    /// The kind of file its name says it is.
    pub kind: Option<FileKind>,
    /// The text written, when the script holds its bytes as they land (a heredoc body, an
    /// unquoted static `echo`), and where that text stands.
    pub content: Option<(String, Span)>,
    /// `>>` or `tee -a`.
    pub append: bool,
    /// The file that holds the script that writes it.
    pub writer: FileId,
    /// Whether that is a script file (not a script in a Terraform attribute).
    pub in_script_file: bool,
    /// Written by `write_managed`, the start script's helper that sets portolan's keys in the
    /// file at every start (and keeps its other lines).
    pub managed: bool,
}

impl WrittenFile {
    /// Whether this write may land on `path` (relative to the checked folder, normalised): the
    /// same path, or, when only its tail is known, one path ends with the other.
    pub fn lands_on(&self, path: &std::path::Path) -> bool {
        if self.exact {
            self.path == path
        } else {
            !self.path.as_os_str().is_empty()
                && (path.ends_with(&self.path) || self.path.ends_with(path))
        }
    }
}

/// Where a script's text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptOrigin {
    /// A script file.
    File,
    /// `coder_agent.NAME.startup_script`.
    AgentStartup(String),
    /// `coder_script.NAME.script`.
    CoderScript(String),
}

/// A script the workspace runs: a script file, an agent's startup script or a `coder_script`.
#[derive(Debug, Clone)]
pub struct Script {
    /// The file that holds its text.
    pub file: FileId,
    pub origin: ScriptOrigin,
    /// Where its commands run: in a container that mounts it, else in the workspace.
    pub place: Place,
    /// The URLs its words build (`"https://app--$CODER_WORKSPACE_NAME--..."`).
    pub urls: Vec<ScriptUrl>,
    /// Values it gives to flags that take hosts or origins (knowledge: `host_flags`).
    pub host_flags: Vec<HostFlagValue>,
    /// The `docker compose ... up` commands it runs.
    pub compose_up: Vec<ComposeUp>,
    /// Every command it runs that starts a listener, as a span of the whole command: the
    /// listeners whose spans lie inside one are that process's.
    pub started: Vec<Span>,
}

/// `docker compose [options] up` (or `docker-compose`) in a script: it starts a compose stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeUp {
    /// The compose files it names (`-f`, `--file`), as the script gives them; none means compose's
    /// default names (`compose.yaml`, `docker-compose.yml`, ...) in the folder it runs in.
    pub files: Vec<String>,
    /// The project name it gives (`-p`, `--project-name`).
    pub project: Option<String>,
    /// The command.
    pub span: Span,
}

impl ComposeUp {
    /// Whether this command starts the compose file at `path`: one of its `-f` files has that
    /// file's name, or it names none and the file has one of compose's default names.
    pub fn starts(&self, path: &std::path::Path) -> bool {
        let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_owned();
        let file = name(&path.to_string_lossy());
        if self.files.is_empty() {
            return matches!(
                file.as_str(),
                "compose.yaml" | "compose.yml" | "docker-compose.yaml" | "docker-compose.yml"
            );
        }
        self.files.iter().any(|f| name(f) == file)
    }
}

/// A value a script gives to a program's flag that takes hosts or origins:
/// `code-server --trusted-origins '*'`.
#[derive(Debug, Clone)]
pub struct HostFlagValue {
    /// The program as the knowledge base names it.
    pub program: String,
    /// The flag, with its dashes.
    pub flag: String,
    pub flag_span: Span,
    /// The value word as written (quotes included); for `--flag=value`, the part after `=`.
    pub span: Span,
    /// The value is a word of its own (`--flag VALUE`), not part of `--flag=VALUE`.
    pub separate: bool,
    /// Where the word has a glob character (`*`, `?`, `[...]`) outside quotes, which the
    /// shell expands to file names.
    pub unquoted_glob: Option<Span>,
}

/// A URL a script builds.
#[derive(Debug, Clone)]
pub struct ScriptUrl {
    pub span: Span,
    /// The Coder subdomain host it names, if it is one.
    pub coder_host: Option<CoderHost>,
}

/// The static part of a Coder subdomain host ([`crate::coder::AppHost`]): the slug, or the
/// port of a port-forward host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoderHost {
    pub slug: String,
    pub slug_span: Span,
    pub port: Option<u16>,
    /// The agent part of the host, lowercase, when it has one and it is known statically.
    pub agent: Option<String>,
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
    /// Listeners of known programs whose ports are not known statically (`listen`).
    pub open_listeners: Vec<listen::OpenListener>,
    pub env: Vec<EnvVar>,
    pub modules: Vec<ModuleUse>,
    /// Files that scripts write, in script order.
    pub written_files: Vec<WrittenFile>,
    /// Every env file, then every env file a script writes whose text is known.
    pub env_texts: Vec<EnvText>,
    /// Files that could not be parsed, and other problems found while reading.
    pub parse_errors: Vec<Diagnostic>,
    /// The Coder template (every .tf file of the workspace), if there is one.
    pub template: Option<template::TerraformModule>,
    /// Modules the template calls whose files are read with it, each with its inputs bound.
    pub local_modules: Vec<LocalModule>,
    /// URLs the template's `locals` hold (origins a template builds for its apps), as evaluated.
    pub template_urls: Vec<url::UrlFact>,
    /// What the template's pin of the Coder provider allows (its outermost root module).
    pub provider_pin: ProviderPin,
    /// The pin of every root module, by folder, shallowest first: [`Workspace::provider_pin_at`].
    pub provider_pins: Vec<(std::path::PathBuf, ProviderPin)>,
    /// Every compose file as read.
    pub compose_files: Vec<(FileId, compose::ComposeFile)>,
    /// Every script the workspace runs.
    pub scripts: Vec<Script>,
    /// The network namespaces listeners live in ([`Listener::site`]); the first is the
    /// workspace's own.
    pub namespaces: Vec<netns::Netns>,
    /// Where compose files' ports are published: the Docker daemon's network (the agent's own
    /// unless the template proves a dind sidecar or the host's socket).
    pub compose_netns: netns::NetnsId,
    pub knowledge: std::sync::Arc<Knowledge>,
    /// With `check --spec`: the files the spec renders.
    pub expected: Vec<crate::files::ExpectedFile>,
    /// With `check --spec`: what the spec says, for the files compared by meaning.
    pub spec_facts: Option<std::sync::Arc<spec_facts::SpecFacts>>,
    /// Listeners and published ports by port, built on the first lookup.
    port_index: std::sync::OnceLock<PortIndex>,
}

/// Listeners and compose mappings by port, so that walking a chain per app costs a lookup, not a
/// walk over every listener and mapping. Built once the model is complete; a lookup on a model
/// changed since (its sizes differ) falls back to the walk.
#[derive(Debug, Default)]
struct PortIndex {
    listeners: std::collections::HashMap<(Place, u16), Vec<usize>>,
    /// Listeners by place, in model order.
    places: std::collections::HashMap<Place, Vec<usize>>,
    /// Single host ports: port → (service, mapping), in model order.
    single: std::collections::HashMap<u16, Vec<(usize, usize)>>,
    /// Host port ranges: (service, mapping), in model order.
    ranges: Vec<(usize, usize)>,
    /// Host port → the mappings of services on their own network (in model order) whose
    /// container port behind it has a listener: what serves a port, without a walk over ranges.
    served: std::collections::HashMap<u16, Vec<(usize, usize)>>,
    /// The first range mapping (model order) of a service on its own network that holds each
    /// host port, as disjoint runs.
    first_range: chain::ClaimedBy<(usize, usize)>,
    /// Ranges looked at by lookups since the index was built (a structural bound for tests).
    range_visits: std::sync::atomic::AtomicUsize,
    /// Each process once: [`Workspace::distinct_listeners`].
    distinct: Vec<usize>,
    /// `listeners.len()` and the number of mappings when it was built.
    sizes: (usize, usize),
}

impl PortIndex {
    fn new(ws: &Workspace) -> PortIndex {
        let mut index = PortIndex {
            sizes: ws.port_sizes(),
            distinct: chain::distinct(&ws.listeners),
            ..PortIndex::default()
        };
        for (i, l) in ws.listeners.iter().enumerate() {
            index
                .listeners
                .entry((l.place, l.port))
                .or_default()
                .push(i);
            index.places.entry(l.place).or_default().push(i);
        }
        for (s, service) in ws.services.iter().enumerate() {
            for (m, p) in service.published.iter().enumerate() {
                match p.host {
                    Some(h) if h.is_single() => {
                        index.single.entry(h.start).or_default().push((s, m))
                    }
                    Some(_) => index.ranges.push((s, m)),
                    None => {}
                }
            }
        }
        index.index_served(ws);
        index
    }

    /// Fills [`PortIndex::served`] and [`PortIndex::first_range`]: each mapping costs a lookup
    /// of the listeners in its container port range, never a walk over its ports.
    fn index_served(&mut self, ws: &Workspace) {
        let mut inside: std::collections::HashMap<usize, Vec<u16>> = Default::default();
        for l in &ws.listeners {
            if let Place::Container(s) = l.place {
                inside.entry(s).or_default().push(l.port);
            }
        }
        for ports in inside.values_mut() {
            ports.sort_unstable();
            ports.dedup();
        }
        for (s, service) in ws.services.iter().enumerate() {
            if service.network_mode_host {
                continue;
            }
            let ports = inside.get(&s).map_or(&[][..], Vec::as_slice);
            for (m, p) in service.published.iter().enumerate() {
                let Some(host) = p.host else { continue };
                if !host.is_single() {
                    self.first_range.claim(host, (s, m));
                }
                let from = ports.partition_point(|&c| c < p.container.start);
                let to = ports.partition_point(|&c| c <= p.container.end);
                for &c in &ports[from..to] {
                    if let Some(h) = p.host_for(c) {
                        self.served.entry(h).or_default().push((s, m));
                    }
                }
            }
        }
    }
}

impl Workspace {
    /// The template and every module read with it (local and installed modules, each with its
    /// call's arguments): where each block of the checked `.tf` files is, once.
    pub fn terraform_modules(&self) -> impl Iterator<Item = &template::TerraformModule> {
        self.template
            .iter()
            .chain(self.local_modules.iter().map(|local| &local.module))
    }

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

    fn port_sizes(&self) -> (usize, usize) {
        let mappings = self.services.iter().map(|s| s.published.len()).sum();
        (self.listeners.len(), mappings)
    }

    /// How many port ranges lookups have looked at since the port index was built.
    pub fn range_visits(&self) -> usize {
        self.port_index.get().map_or(0, |i| {
            i.range_visits.load(std::sync::atomic::Ordering::Relaxed)
        })
    }

    /// The port index, unless the model changed since it was built.
    fn port_index(&self) -> Option<&PortIndex> {
        let index = self.port_index.get_or_init(|| PortIndex::new(self));
        (index.sizes == self.port_sizes()).then_some(index)
    }

    /// Listeners on a port at a place, in model order.
    pub fn listeners_at(&self, place: Place, port: u16) -> impl Iterator<Item = &Listener> {
        self.listeners_at_in(self.port_index(), place, port)
    }

    /// [`Self::listeners_at`] with the port index fetched once by the caller.
    fn listeners_at_in(
        &self,
        index: Option<&PortIndex>,
        place: Place,
        port: u16,
    ) -> impl Iterator<Item = &Listener> {
        let found: Vec<&Listener> = match index {
            Some(index) => index
                .listeners
                .get(&(place, port))
                .map(|ids| ids.iter().map(|&i| &self.listeners[i]).collect())
                .unwrap_or_default(),
            None => self
                .listeners
                .iter()
                .filter(|l| l.place == place && l.port == port)
                .collect(),
        };
        found.into_iter()
    }

    /// Listeners at a place, in model order.
    pub fn listeners_in(&self, place: Place) -> impl Iterator<Item = &Listener> {
        let found: Vec<&Listener> = match self.port_index() {
            Some(index) => index
                .places
                .get(&place)
                .map(|ids| ids.iter().map(|&i| &self.listeners[i]).collect())
                .unwrap_or_default(),
            None => self.listeners.iter().filter(|l| l.place == place).collect(),
        };
        found.into_iter()
    }

    /// Compose published ports (or ranges) whose host side holds `port`, in model order:
    /// (service index, mapping, the container port `port` reaches).
    pub fn published_on(&self, port: u16) -> impl Iterator<Item = (usize, &PublishedPort, u16)> {
        let mut ids: Vec<(usize, usize)> = match self.port_index() {
            Some(index) => {
                let mut ids = index.single.get(&port).cloned().unwrap_or_default();
                index
                    .range_visits
                    .fetch_add(index.ranges.len(), std::sync::atomic::Ordering::Relaxed);
                ids.extend(index.ranges.iter().copied().filter(|&(s, m)| {
                    self.services[s].published[m]
                        .host
                        .is_some_and(|h| h.contains(port))
                }));
                ids
            }
            None => self
                .services
                .iter()
                .enumerate()
                .flat_map(|(s, service)| (0..service.published.len()).map(move |m| (s, m)))
                .collect(),
        };
        ids.sort_unstable();
        ids.into_iter().filter_map(move |(s, m)| {
            let p = &self.services[s].published[m];
            p.container_for(port).map(|c| (s, p, c))
        })
    }

    pub fn app(&self, slug: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.slug == slug)
    }

    /// Every env-file problem of one kind, with the entry it sits on (problems that sit on no
    /// entry are left out): the loop every env-syntax rule starts with.
    pub fn env_problems(
        &self,
        kind: impl Fn(&crate::parse::dotenv::EnvProblemKind) -> bool,
    ) -> Vec<(
        crate::parse::dotenv::EnvProblem,
        crate::parse::dotenv::EnvEntry,
    )> {
        let mut out = Vec::new();
        for text in self.env_texts() {
            for problem in text.env.problems.iter().filter(|p| kind(&p.kind)) {
                if let Some(entry) = text.env.entry_at(problem.span) {
                    out.push((problem.clone(), entry.clone()));
                }
            }
        }
        out
    }

    /// Every env file, then every env-file body a script writes (`cat > .env <<EOF`, `echo
    /// K=v >> app.env`; targets named like env files only), built once with the model.
    pub fn env_texts(&self) -> &[EnvText] {
        &self.env_texts
    }

    /// The env files among the checked files.
    pub fn env_files(&self) -> impl Iterator<Item = &EnvText> {
        self.env_texts.iter().filter(|t| t.written_by.is_none())
    }

    /// Walks the port chain behind a URL: a subdomain app URL names the app with that slug,
    /// whose `url` is `http://localhost:P`; a localhost or port-forward URL names `P` itself.
    /// `P` reaches listeners in the workspace on `P`, and through every compose mapping `P:C`
    /// the listeners on `C` in that container.
    pub fn listeners_behind_url(&self, url: &UrlFact) -> UrlRoute<'_> {
        self.listeners_behind_url_from(url, Place::Workspace)
    }

    /// [`Self::listeners_behind_url`] for a URL used at `from`: inside a container,
    /// `localhost:P` is the container's own port `P`.
    pub fn listeners_behind_url_from(&self, url: &UrlFact, from: Place) -> UrlRoute<'_> {
        let mut route = UrlRoute::default();
        let port = match &url.target {
            HostTarget::CoderApp(slug) => {
                route.app = self.app(slug);
                route
                    .app
                    .and_then(|app| app.url.as_ref())
                    .and_then(|u| u.local_port().map(|p| (p, u.span)))
            }
            HostTarget::Localhost(port) if from != Place::Workspace => {
                route.local_port = Some((*port, url.span));
                route.listeners.extend(self.listeners_at(from, *port));
                return route;
            }
            HostTarget::Localhost(port) | HostTarget::CoderPort { port, .. } => {
                Some((*port, url.span))
            }
            HostTarget::Other(_) => None,
        };
        let Some(local) = port else {
            return route;
        };
        route.local_port = Some(local);
        for hop in self.behind_local_port(local.0).hops {
            match hop {
                chain::Hop::Published {
                    service,
                    port,
                    container,
                    listeners,
                } => {
                    route.published.push((service, port, container));
                    route.listeners.extend(listeners);
                }
                chain::Hop::Process(listener) => route.listeners.push(listener),
            }
        }
        route
    }

    /// Where the values of an env scope are used: a compose service's container (unless it
    /// shares the host's network), else the workspace.
    pub fn place_of(&self, scope: &EnvScope) -> Place {
        match scope {
            EnvScope::Compose(i) if self.services.get(*i).is_some_and(|s| !s.network_mode_host) => {
                Place::Container(self.services[*i].network_of.unwrap_or(*i))
            }
            _ => Place::Workspace,
        }
    }

    /// Whether an env variable is read on the agent's own network, where `localhost` is the
    /// workspace's: not a bridged compose service's `environment:`, an env file such a
    /// service loads, or a script that runs inside such a container.
    pub fn env_on_workspace(&self, var: &EnvVar) -> bool {
        let bridged = |i: usize| self.services.get(i).is_some_and(|s| !s.network_mode_host);
        let file = var.name_span.file;
        match var.scope {
            EnvScope::Compose(i) => !bridged(i),
            EnvScope::EnvFile => {
                let path = build::normalize(&self.sources.get(file).path);
                !self.services.iter().enumerate().any(|(i, s)| {
                    bridged(i)
                        && s.env_files
                            .iter()
                            .any(|(p, _)| std::path::Path::new(p) == path)
                })
            }
            EnvScope::Script => !self
                .scripts
                .iter()
                .any(|u| u.file == file && matches!(u.place, Place::Container(i) if bridged(i))),
            _ => true,
        }
    }

    /// Who a place is in messages: the compose service, or the workspace.
    pub fn place_name(&self, place: Place) -> &str {
        match place {
            Place::Container(i) => self
                .services
                .get(i)
                .map(|s| s.name.as_str())
                .unwrap_or("a container"),
            Place::Workspace => "the workspace",
        }
    }
}

/// The links a URL takes to the processes that answer it ([`Workspace::listeners_behind_url`]).
#[derive(Debug, Default)]
pub struct UrlRoute<'a> {
    /// The Coder app the URL names by slug, if it exists.
    pub app: Option<&'a App>,
    /// The port on the agent's localhost the request reaches, and where that port is written
    /// (the app's `url`, or the URL itself).
    pub local_port: Option<(u16, Span)>,
    /// Compose ports published on that port: (index into [`Workspace::services`], mapping,
    /// the container port reached).
    pub published: Vec<(usize, &'a PublishedPort, u16)>,
    /// The processes that answer, in the workspace or behind a published port.
    pub listeners: Vec<&'a Listener>,
}

impl UrlRoute<'_> {
    /// Whether the route proves the URL reaches something else than `role`: it reaches
    /// listeners, each has a known role, and none has this one.
    pub fn reaches_only_other_roles(&self, role: &str) -> bool {
        !self.listeners.is_empty()
            && self
                .listeners
                .iter()
                .all(|l| l.role.as_deref().is_some_and(|r| r != role))
    }
}

impl EnvVar {
    /// Whether the value as written takes part of its text from elsewhere: `${X}`, `$X`.
    pub fn interpolates(&self) -> bool {
        let bytes = self.raw.as_bytes();
        bytes
            .windows(2)
            .any(|w| w[0] == b'$' && (w[1] == b'{' || w[1] == b'_' || w[1].is_ascii_alphabetic()))
    }

    /// The variables the value as written reads (`ORIGIN` in `${ORIGIN:-http://localhost:3210}`).
    pub fn interpolated(&self) -> Vec<String> {
        crate::parse::interpolate::variable_references(&self.raw, false)
            .into_iter()
            .map(|r| r.name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_name_the_variables_they_read() {
        let var = |raw: &str| EnvVar {
            name: "X".into(),
            name_span: Span::default(),
            value: None,
            raw: raw.into(),
            value_span: Span::default(),
            scope: EnvScope::Compose(0),
            url: None,
            service_url: None,
        };
        assert_eq!(
            var("${ORIGIN_API:-http://localhost:3210}/x$PATH_PART").interpolated(),
            ["ORIGIN_API", "PATH_PART"]
        );
        assert!(var("http://localhost:3210").interpolated().is_empty());
    }

    fn workspace(files: &[(&str, &str, FileKind)]) -> Workspace {
        crate::model::build::from_texts(files)
    }

    #[test]
    fn a_url_reaches_listeners_through_its_app_and_compose() {
        let ws = workspace(&[
            (
                "main.tf",
                "resource \"coder_app\" \"site\" {\n  slug = \"site\"\n  url  = \"http://localhost:8211\"\n}\n",
                FileKind::Terraform,
            ),
            (
                "compose.yml",
                "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports: [\"8211:3211\"]\n",
                FileKind::Compose,
            ),
        ]);
        let url = |text: &str| UrlFact::parse(text, Span::default()).unwrap();
        let route = ws.listeners_behind_url(&url("https://site--ws--me.example.com"));
        assert_eq!(route.app.map(|a| a.slug.as_str()), Some("site"));
        assert_eq!(route.local_port.map(|(p, _)| p), Some(8211));
        assert_eq!(route.published.len(), 1);
        let found: Vec<(u16, Option<&str>)> = route
            .listeners
            .iter()
            .map(|l| (l.port, l.role.as_deref()))
            .collect();
        assert_eq!(found, vec![(3211, Some("convex-site"))]);
        assert!(route.reaches_only_other_roles("convex-api"));
        assert!(!route.reaches_only_other_roles("convex-site"));

        // A localhost URL skips the app; inside the container, localhost is the container.
        assert_eq!(
            ws.listeners_behind_url(&url("http://localhost:8211"))
                .listeners
                .len(),
            1
        );
        let inside =
            ws.listeners_behind_url_from(&url("http://localhost:3210"), Place::Container(0));
        assert_eq!(inside.listeners.len(), 1);
        assert!(ws
            .listeners_behind_url(&url("http://localhost:3210"))
            .listeners
            .is_empty());

        // Unknown apps and other hosts reach nothing, and prove nothing.
        let none = ws.listeners_behind_url(&url("https://nope--ws--me.example.com"));
        assert!(none.app.is_none() && none.listeners.is_empty());
        assert!(!none.reaches_only_other_roles("convex-api"));
    }

    #[test]
    fn a_localhost_port_reaches_a_container_through_a_published_range() {
        let ws = workspace(&[
            (
                "main.tf",
                "resource \"coder_app\" \"site\" {\n  slug = \"site\"\n  url  = \"http://localhost:8211\"\n}\n",
                FileKind::Terraform,
            ),
            (
                "compose.yml",
                "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports: [\"8200-8299:3200-3299\"]\n",
                FileKind::Compose,
            ),
        ]);
        assert_eq!(ws.services[0].published.len(), 1, "a range is one fact");
        let published = &ws.services[0].published[0];
        assert_eq!(published.container_for(8211), Some(3211));
        assert_eq!(published.container_for(8300), None);
        assert_eq!(published.host_for(3210), Some(8210));
        assert_eq!(published.host_for(3300), None);
        let url = UrlFact::parse("https://site--ws--me.example.com", Span::default()).unwrap();
        let route = ws.listeners_behind_url(&url);
        assert_eq!(route.published.len(), 1);
        assert_eq!(route.published[0].2, 3211);
        let found: Vec<(u16, Option<&str>)> = route
            .listeners
            .iter()
            .map(|l| (l.port, l.role.as_deref()))
            .collect();
        assert_eq!(found, vec![(3211, Some("convex-site"))]);
        // Outside the range: nothing behind it.
        assert!(ws.behind_local_port(8300).hops.is_empty());
    }

    /// Lookups by port use an index built on first use; a model changed after that is still
    /// answered right.
    #[test]
    fn port_lookups_follow_the_model() {
        let mut ws = workspace(&[(
            "compose.yml",
            "services:\n  a:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports: [\"3210:3210\", \"8000-8100:3200-3300\", \"3210:3211\"]\n",
            FileKind::Compose,
        )]);
        let mappings = |ws: &Workspace, port| -> Vec<u16> {
            ws.published_on(port)
                .map(|(_, _, container)| container)
                .collect()
        };
        assert_eq!(mappings(&ws, 3210), [3210, 3211], "in model order");
        assert_eq!(mappings(&ws, 8010), [3210]);
        assert_eq!(ws.listeners_at(Place::Container(0), 3210).count(), 1);
        let mut extra = ws.listeners[0].clone();
        extra.port = 4000;
        ws.listeners.push(extra);
        assert_eq!(ws.listeners_at(Place::Container(0), 4000).count(), 1);
        assert_eq!(ws.listeners_in(Place::Container(0)).count(), 3);
        ws.services[0].published.push(PublishedPort {
            host: Some(PortRange::single(9000)),
            container: PortRange::single(4000),
            span: Span::default(),
        });
        assert_eq!(mappings(&ws, 9000), [4000]);
    }
}
