//! The knowledge base: programs and images with the ports they listen on, the launchers that
//! run programs (`npx`, `pnpm exec`), roles of env variables and of listeners (other paths that
//! serve a role, pairs that must not share an origin), the defaults of Coder registry modules,
//! the Terraform resources that run machines or containers, and the Coder agent's variables.
//!
//! It is data (`knowledge.yaml`, embedded in the binary), not code: rules ask it questions such
//! as "what listens in `ghcr.io/get-convex/convex-backend:latest`?" or "which port must
//! `CONVEX_SITE_ORIGIN` reach?", and `portolan probe` asks it what a service in a role must
//! answer. Users extend it with a file of the same shape.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// The embedded knowledge base, as text.
pub const BUILTIN: &str = include_str!("knowledge.yaml");

#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Knowledge {
    #[serde(default)]
    pub programs: BTreeMap<String, Program>,
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    #[serde(default)]
    pub images: BTreeMap<String, Image>,
    #[serde(default)]
    pub env: Vec<EnvRole>,
    #[serde(default)]
    pub browser_prefixes: Vec<String>,
    #[serde(default)]
    pub self_fetched_roles: BTreeMap<String, String>,
    #[serde(default)]
    pub admin_roles: Vec<String>,
    /// Roles of servers that need an origin of their own (a subdomain app).
    #[serde(default)]
    pub own_origin_roles: Vec<String>,
    #[serde(default)]
    pub modules: BTreeMap<String, Module>,
    /// Requests a service in a listener role must answer, by role (`convex-site`).
    #[serde(default)]
    pub probes: BTreeMap<String, Vec<RoleRequest>>,
    /// Commands that run another program named on their command line (`npx vite`,
    /// `pnpm exec vite`, `python -m jupyter`), by the command's name.
    #[serde(default)]
    pub launchers: BTreeMap<String, Launcher>,
    /// What is known about the origin of listeners in a role, by role (`convex-site`).
    #[serde(default)]
    pub roles: BTreeMap<String, RoleOrigin>,
    /// Subcommands that name the program whatever the binary is called (`serve-local` is
    /// Microsoft's VS Code Server), by subcommand: the program's name.
    #[serde(default)]
    pub subcommands: BTreeMap<String, String>,
    /// Commands that start containers from a script (`docker run`), by command name.
    #[serde(default)]
    pub container_runners: BTreeMap<String, ContainerRunner>,
    /// Terraform resource types that run a machine or a container (and so can run a Coder
    /// agent), by prefix: `kubernetes_deployment` covers `kubernetes_deployment_v1`.
    #[serde(default)]
    pub compute: BTreeMap<String, Compute>,
    /// Variables the Coder agent sets in every process it starts (startup scripts, apps,
    /// shells): references to them are always defined.
    #[serde(default)]
    pub agent_variables: Vec<String>,
    /// How a Coder agent is started other than by its `init_script` (agent-never-started).
    #[serde(default)]
    pub agent_start: AgentStart,
    /// Versions of the Coder Terraform provider at which attributes came, went or started to
    /// conflict, read with the template's provider pin.
    #[serde(default)]
    pub coder_provider: ProviderFacts,
    /// URL schemes other than http(s) that env values use to reach a server
    /// (`postgres://app:pw@localhost:5432/app`), by scheme.
    #[serde(default)]
    pub url_schemes: BTreeMap<String, UrlScheme>,
}

/// A URL scheme of a server protocol: the port a URL without one reaches, and the name of the
/// listeners that speak it ([`ListenerSpec::name`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UrlScheme {
    /// The port a URL of this scheme reaches when it names none (`postgres://localhost/app`).
    pub port: u16,
    /// The name of the listeners that speak the protocol (`postgres`, `redis`).
    pub listener: String,
}

/// How a Coder agent is started besides its `init_script`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentStart {
    /// The words that begin a command running the agent (`coder agent`).
    #[serde(default)]
    pub command: Vec<String>,
    /// The variable the agent reads its token from.
    #[serde(default)]
    pub token_variable: Option<String>,
    /// Programs that never start an agent, like the known servers: a container whose
    /// entrypoint runs only these runs something else than the agent.
    #[serde(default)]
    pub idle_programs: Vec<String>,
}

/// Attributes of the Coder provider by the version that changed them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderFacts {
    /// Attributes the provider removed at `version`.
    #[serde(default)]
    pub removed: Vec<ProviderAttribute>,
    /// Attributes the provider first accepts at `version`.
    #[serde(default)]
    pub added: Vec<ProviderAttribute>,
    /// Pairs of attributes the provider rejects together from `version` on.
    #[serde(default)]
    pub conflicts: Vec<ProviderConflict>,
}

/// An attribute of a Coder resource and the provider version that added or removed it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderAttribute {
    pub resource: String,
    pub attribute: String,
    /// `major.minor.patch`.
    pub version: String,
    /// What to write instead (for a removed attribute).
    #[serde(default)]
    pub instead: Option<String>,
}

/// Two attributes of a Coder resource that the provider rejects together from `version` on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderConflict {
    pub resource: String,
    pub attributes: [String; 2],
    /// `major.minor.patch`.
    pub version: String,
}

/// A Terraform resource type that runs a machine or a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Compute {
    /// How its containers are written, when portolan reads them (for their env variables).
    #[serde(default)]
    pub containers: Option<ContainerForm>,
}

/// How a compute resource holds its containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ContainerForm {
    /// The resource is the container (`docker_container`: `image`, `env`, `ports`).
    Docker,
    /// Every `container` block under the resource's spec (`init_container` left out).
    Kubernetes,
}

/// What is known about the origin of a listener role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleOrigin {
    /// Other URLs that serve the role: the origin of another role followed by a path (the
    /// Convex API's origin + `/http` serves what the site origin serves).
    #[serde(default)]
    pub paths: Vec<RolePath>,
    /// Roles whose origin this role's must never be, each with the reason: a variable of this
    /// role holding the same URL as a variable of such a role is a finding.
    #[serde(default)]
    pub distinct_from: BTreeMap<String, String>,
}

/// The origin of listeners in `role`, followed by `path`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolePath {
    pub role: String,
    /// Starts with `/`; the URL's path is this path or below it.
    pub path: String,
}

/// A command that runs the program named after it: `npx [options] PROGRAM`, or, with
/// `subcommands`, `pnpm exec PROGRAM`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Launcher {
    /// Words of which one must follow the launcher for it to run a program (`exec`, `dlx`;
    /// `-m` for `python`). Empty: the program follows the launcher's own options.
    #[serde(default)]
    pub subcommands: Vec<String>,
    /// The launcher's options that take a value as the next word (`npx -p PACKAGE`), so that
    /// the value is not taken for the program.
    #[serde(default)]
    pub value_flags: Vec<String>,
}

/// A command that starts a container: `docker run [options] IMAGE [command]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerRunner {
    /// The subcommands that start one (`run`; `container run`).
    pub subcommands: Vec<String>,
    /// Options that publish a port: `-p H:C`, `--publish IP:H:C`.
    pub publish_flags: Vec<String>,
    /// Options that publish every exposed port on ports the runtime picks (`-P`).
    #[serde(default)]
    pub publish_all_flags: Vec<String>,
    /// Options that choose the network (`--network host` puts the container's listeners on
    /// the workspace).
    #[serde(default)]
    pub network_flags: Vec<String>,
    /// Other options that take the next word as their value (`-v`, `-e`, `--name`), so that
    /// the value is not taken for the image.
    #[serde(default)]
    pub value_flags: Vec<String>,
}

/// A program and the ports it listens on.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub listeners: Vec<ListenerSpec>,
    /// Flags whose value is hosts or origins (`--trusted-origins`): a glob character there is
    /// expanded by the shell unless quoted (`unquoted-origin-glob`).
    #[serde(default)]
    pub host_flags: Vec<String>,
    /// Words (flags or subcommands) that make a run of the program do something else than
    /// serve: `--install-extension`, `--version`, `users`.
    #[serde(default)]
    pub not_serving: Vec<String>,
    /// Subcommands that store flags for the program's later runs instead of serving
    /// (`filebrowser config set --port 8080`), written as the words that follow the program.
    #[serde(default)]
    pub settings: Vec<String>,
    /// Slugs its Coder apps usually have besides its name and its listeners' roles
    /// (`rstudio` for `rserver`): an app with one of them is this program's app.
    #[serde(default)]
    pub slugs: Vec<String>,
}

/// One port a program listens on, and how it is set.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListenerSpec {
    pub name: String,
    /// What the port is for (`convex-api`, `convex-site`, `code-server`...), matched by env roles.
    #[serde(default)]
    pub role: Option<String>,
    /// The port when nothing sets it; 0 when the program listens only where it is told to.
    pub default: u16,
    /// Flags that set it: `--port 3210`, `--port=3210`, `-p 3000`, `--bind-addr 0.0.0.0:8080`.
    #[serde(default)]
    pub flags: Vec<String>,
    /// The positional argument (0 for the first word that is neither a flag nor a flag's
    /// value) that sets it: `python3 -m http.server 8000`, `websockify 0.0.0.0:6080 ...`.
    #[serde(default)]
    pub positional: Option<usize>,
    /// Flags that take no value, so that the word after one is positional (`--cgi`).
    #[serde(default)]
    pub switches: Vec<String>,
    /// An argument starting with one of these sets it, the port following the prefix up to
    /// a `,` (`socat TCP-LISTEN:8080,fork ...`).
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// The value is a display number (`:1` or `1`) and the port is this plus the number
    /// (`broadwayd :5` listens on 8085).
    #[serde(default)]
    pub display_base: Option<u16>,
    /// Env variables that set it.
    #[serde(default)]
    pub env: Vec<String>,
    /// A path that answers when the server is up.
    #[serde(default)]
    pub health: Option<String>,
    /// Whether it speaks HTTP (false for databases).
    #[serde(default = "yes")]
    pub http: bool,
    /// A config file key that sets it, when the script that starts the program writes that
    /// file (`websocket_port` under `network` in kasmvnc.yaml). A flag still wins.
    #[serde(default)]
    pub config: Option<ConfigPort>,
}

/// Where in a config file a program reads its port.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigPort {
    /// The file names the program reads (any folder).
    pub files: Vec<String>,
    /// The key, its YAML mapping keys joined by dots: `network.websocket_port`.
    pub key: String,
}

fn yes() -> bool {
    true
}

/// A container image: a known program, or listeners of its own.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Image {
    #[serde(default)]
    pub program: Option<String>,
    #[serde(default)]
    pub listeners: Vec<ListenerSpec>,
}

/// What an env variable holds.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvRole {
    #[serde(default)]
    pub name: Option<String>,
    /// `*` matches any text.
    #[serde(default)]
    pub pattern: Option<String>,
    /// The listener role its URL must reach.
    #[serde(default)]
    pub role: Option<String>,
    pub kind: EnvKind,
    /// Shipped to browsers: must be a public origin in a Coder workspace.
    #[serde(default)]
    pub browser: bool,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EnvKind {
    /// The public origin of a listener (through its Coder app).
    PublicOrigin,
    /// Any URL that reaches the listener (public origin or localhost).
    AnyOrigin,
    /// Set by the program itself; setting it by hand does nothing or drifts.
    Builtin,
    /// A secret that belongs in the deployment's own settings, not in files.
    DeploymentSecret,
    /// A secret: not to be written as a literal in a template.
    Secret,
}

/// A Coder registry module's defaults.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Module {
    pub port: u16,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub health: Option<String>,
    /// Built on agentapi: all such modules default to the same port.
    #[serde(default)]
    pub agentapi: bool,
    /// The module versions that serve `port` and the app, as a Terraform version constraint
    /// (`< 5.0.0`); other versions start no server. Without it, every version does.
    #[serde(default)]
    pub serves: Option<String>,
}

/// A request a service in a role must answer, for `portolan probe`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    /// Short name for reports: `openid-configuration`.
    pub name: String,
    /// Path requested on the service's origin.
    pub path: String,
    #[serde(default)]
    pub expect: Expectation,
    /// The route may be absent: a 404 means "not set up" (this text says what), not broken.
    #[serde(default)]
    pub optional: Option<String>,
    /// What to change when the answer is wrong.
    #[serde(default)]
    pub hint: Option<String>,
}

/// What the answer to a [`RoleRequest`] must look like: a class of status and, optionally, what
/// the body must say. `{}` (the default) is any status below 500, as Coder judges a healthcheck.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    #[serde(default)]
    pub status: StatusClass,
    /// What the body must say; any body when absent.
    #[serde(default)]
    pub body: Option<BodyExpectation>,
}

/// The class of HTTP status a role probe must get.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
pub enum StatusClass {
    /// Any status below 500, as Coder judges a healthcheck.
    #[default]
    #[serde(rename = "below-500")]
    Below500,
    /// 200 to 299.
    #[serde(rename = "2xx")]
    Success,
}

impl StatusClass {
    /// Whether `status` is of this class.
    pub fn admits(self, status: u16) -> bool {
        match self {
            StatusClass::Below500 => status < 500,
            StatusClass::Success => (200..300).contains(&status),
        }
    }

    /// For messages: `a 2xx status`.
    pub fn describe(self) -> &'static str {
        match self {
            StatusClass::Below500 => "a status below 500",
            StatusClass::Success => "a 2xx status",
        }
    }
}

/// What the body of a role probe's answer must say.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum BodyExpectation {
    /// Some text that is not an HTML page (a single-page app's dev server answers every path
    /// with its `index.html`).
    Text,
    /// A JSON document whose field (a key or a JSON pointer) is the origin it is served from.
    JsonFieldIsOrigin(String),
    /// A JSON document whose field (a key or a JSON pointer) equals a value.
    JsonFieldEquals { field: String, value: String },
}

impl Knowledge {
    /// The embedded knowledge base.
    pub fn builtin() -> &'static Knowledge {
        static BUILTIN_KB: OnceLock<Knowledge> = OnceLock::new();
        BUILTIN_KB.get_or_init(|| {
            serde_saphyr::from_str(BUILTIN).expect("the embedded knowledge base is valid")
        })
    }

    /// Parses a user file of the same shape.
    pub fn parse(text: &str) -> Result<Knowledge, String> {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }

    /// Parses a user file of the same shape at `path` (as reports name it), added to `sources`;
    /// its error (one) is located there, as a spec's is.
    pub fn load(
        path: &std::path::Path,
        text: &str,
        sources: &mut crate::source::SourceMap,
    ) -> Result<Knowledge, Vec<crate::diagnostic::Diagnostic>> {
        let file = sources.add(path, text);
        serde_saphyr::from_str(text).map_err(|e| {
            let (span, message) = crate::spec::yaml_error(file, sources.get(file), &e);
            vec![crate::diagnostic::Diagnostic::error(span, message)]
        })
    }

    /// Adds `other`'s entries; entries with the same name replace these.
    pub fn extend(&mut self, other: Knowledge) {
        self.programs.extend(other.programs);
        self.aliases.extend(other.aliases);
        self.images.extend(other.images);
        let mut env = other.env;
        env.extend(std::mem::take(&mut self.env));
        self.env = env;
        self.browser_prefixes.extend(other.browser_prefixes);
        self.self_fetched_roles.extend(other.self_fetched_roles);
        self.admin_roles.extend(other.admin_roles);
        self.own_origin_roles.extend(other.own_origin_roles);
        self.modules.extend(other.modules);
        self.probes.extend(other.probes);
        self.launchers.extend(other.launchers);
        self.subcommands.extend(other.subcommands);
        self.container_runners.extend(other.container_runners);
        self.compute.extend(other.compute);
        self.url_schemes.extend(other.url_schemes);
        if other.agent_start != AgentStart::default() {
            self.agent_start = other.agent_start;
        }
        self.coder_provider
            .removed
            .extend(other.coder_provider.removed);
        self.coder_provider.added.extend(other.coder_provider.added);
        self.coder_provider
            .conflicts
            .extend(other.coder_provider.conflicts);
        for name in other.agent_variables {
            if !self.agent_variables.contains(&name) {
                self.agent_variables.push(name);
            }
        }
        // Roles merge field by field: a user file adds a pair or a path to a known role.
        for (role, extra) in other.roles {
            let known = self.roles.entry(role).or_default();
            for path in extra.paths {
                if !known.paths.contains(&path) {
                    known.paths.push(path);
                }
            }
            known.distinct_from.extend(extra.distinct_from);
        }
    }

    /// What a non-http URL scheme reaches (`postgres`, `redis`), by lowercase scheme.
    pub fn url_scheme(&self, scheme: &str) -> Option<&UrlScheme> {
        self.url_schemes.get(scheme)
    }

    /// The compute resource a Terraform resource type is (`kubernetes_pod_v1` → `kubernetes_pod`):
    /// the longest prefix that names one.
    pub fn compute(&self, resource_type: &str) -> Option<&Compute> {
        self.compute
            .iter()
            .filter(|(prefix, _)| resource_type.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, c)| c)
    }

    /// Whether the Coder agent sets this variable in every process it starts.
    pub fn is_agent_variable(&self, name: &str) -> bool {
        self.agent_variables.iter().any(|v| v == name)
    }

    /// Whether a URL with this `path` that reaches a listener in role `reached` serves `role`
    /// through one of the role's other paths (`convex-api` + `/http` serves `convex-site`).
    pub fn serves_role_at(&self, role: &str, reached: &str, path: &str) -> bool {
        self.roles.get(role).is_some_and(|r| {
            r.paths.iter().any(|p| {
                p.role == reached
                    && path
                        .strip_prefix(p.path.trim_end_matches('/'))
                        .is_some_and(|rest| {
                            rest.is_empty() || rest.starts_with('/') || rest.starts_with(['?', '#'])
                        })
            })
        })
    }

    /// The other path at which role `via` serves `role` (`/http`), if any.
    pub fn role_path_via(&self, role: &str, via: &str) -> Option<&str> {
        let paths = &self.roles.get(role)?.paths;
        paths
            .iter()
            .find(|p| p.role == via)
            .map(|p| p.path.as_str())
    }

    /// Pairs of roles that must not share an origin: (role, other role, reason), in name order.
    pub fn distinct_roles(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.roles.iter().flat_map(|(role, r)| {
            r.distinct_from
                .iter()
                .map(move |(other, reason)| (role.as_str(), other.as_str(), reason.as_str()))
        })
    }

    /// The first known listener in `role`: (program or image, listener), for messages.
    pub fn listener_in_role(&self, role: &str) -> Option<(&str, &ListenerSpec)> {
        let programs = self
            .programs
            .iter()
            .flat_map(|(name, p)| p.listeners.iter().map(move |l| (name.as_str(), l)));
        let images = self
            .images
            .iter()
            .flat_map(|(name, i)| i.listeners.iter().map(move |l| (name.as_str(), l)));
        programs
            .chain(images)
            .find(|(_, l)| l.role.as_deref() == Some(role))
    }

    /// The launcher a command name (a basename: `npx`, `python3`) stands for.
    pub fn launcher(&self, name: &str) -> Option<&Launcher> {
        self.launchers.get(name)
    }

    /// The requests a service in `role` must answer; none for an unknown role.
    pub fn probes_for(&self, role: &str) -> &[RoleRequest] {
        self.probes.get(role).map_or(&[], Vec::as_slice)
    }

    /// A program by the name it is run with (`npx vite` → `vite`); resolves aliases.
    pub fn program(&self, name: &str) -> Option<(&str, &Program)> {
        let name = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.programs
            .get_key_value(name)
            .map(|(k, v)| (k.as_str(), v))
    }

    /// The listeners of a container image (`ghcr.io/get-convex/convex-backend:latest`).
    pub fn image(&self, reference: &str) -> Option<&[ListenerSpec]> {
        let repo = image_repository(reference);
        let candidates = [
            repo,
            repo.strip_prefix("docker.io/").unwrap_or(repo),
            repo.strip_prefix("docker.io/library/").unwrap_or(repo),
            repo.strip_prefix("library/").unwrap_or(repo),
        ];
        let image = candidates.iter().find_map(|c| self.images.get(*c))?;
        match &image.program {
            Some(program) => self.program(program).map(|(_, p)| p.listeners.as_slice()),
            None => Some(image.listeners.as_slice()),
        }
    }

    /// The role of an env variable.
    pub fn env_role(&self, name: &str) -> Option<&EnvRole> {
        self.env.iter().find(|role| {
            role.name.as_deref() == Some(name)
                || role
                    .pattern
                    .as_deref()
                    .is_some_and(|p| wildcard_match(p, name))
        })
    }

    /// Whether frameworks ship this variable to the browser.
    pub fn is_browser_var(&self, name: &str) -> bool {
        self.env_role(name).is_some_and(|r| r.browser)
            || self
                .browser_prefixes
                .iter()
                .any(|p| name.starts_with(p.as_str()))
    }

    /// A registry module by its `source`: `registry.coder.com/coder/code-server/coder`,
    /// `registry.coder.com/modules/code-server/coder`, with or without a `//subdir` or `?ref=`.
    pub fn module(&self, source: &str) -> Option<(&str, &Module)> {
        let rest = source.strip_prefix("registry.coder.com/")?;
        let rest = rest.split(['?', '#']).next().unwrap_or(rest);
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        let name = match parts.as_slice() {
            ["modules", name, ..] => *name,
            [_namespace, name, ..] => *name,
            _ => return None,
        };
        self.modules
            .get_key_value(name)
            .map(|(k, v)| (k.as_str(), v))
    }

    pub fn is_admin_role(&self, role: &str) -> bool {
        self.admin_roles.iter().any(|r| r == role)
    }
}

/// `ghcr.io/get-convex/convex-backend:latest@sha256:...` → `ghcr.io/get-convex/convex-backend`.
pub fn image_repository(reference: &str) -> &str {
    let reference = reference.split('@').next().unwrap_or(reference);
    match reference.rfind(':') {
        // A colon after the last slash is a tag; before it, a registry port.
        Some(colon) if !reference[colon..].contains('/') => &reference[..colon],
        _ => reference,
    }
}

/// `*` matches any run of characters.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            let Some(tail) = text.strip_prefix(prefix) else {
                return false;
            };
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| wildcard_match(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_knowledge_base_loads() {
        let kb = Knowledge::builtin();
        assert!(kb.programs.len() > 10);
        assert!(kb.modules.contains_key("code-server"));
    }

    #[test]
    fn images_resolve_to_their_listeners() {
        let kb = Knowledge::builtin();
        let convex = kb
            .image("ghcr.io/get-convex/convex-backend:latest")
            .unwrap();
        let ports: Vec<(u16, &str)> = convex
            .iter()
            .map(|l| (l.default, l.flags[0].as_str()))
            .collect();
        assert_eq!(ports, vec![(3210, "--port"), (3211, "--site-proxy-port")]);
        assert_eq!(
            kb.image("docker.io/library/postgres:16").unwrap()[0].default,
            5432
        );
        assert_eq!(kb.image("localhost:5000/postgres").map(|l| l.len()), None);
        assert!(kb.image("example/unknown:1").is_none());
    }

    #[test]
    fn env_roles_and_browser_variables() {
        let kb = Knowledge::builtin();
        assert_eq!(
            kb.env_role("CONVEX_SITE_ORIGIN").unwrap().role.as_deref(),
            Some("convex-site")
        );
        assert_eq!(
            kb.env_role("VITE_CONVEX_SITE_URL").unwrap().role.as_deref(),
            Some("convex-site")
        );
        assert_eq!(
            kb.env_role("CONVEX_SITE_URL").unwrap().kind,
            EnvKind::Builtin
        );
        assert!(kb.is_browser_var("NEXT_PUBLIC_API"));
        assert!(!kb.is_browser_var("DATABASE_URL"));
        assert!(kb.env_role("PATH").is_none());
    }

    #[test]
    fn modules_by_source() {
        let kb = Knowledge::builtin();
        assert_eq!(
            kb.module("registry.coder.com/coder/code-server/coder")
                .unwrap()
                .1
                .port,
            13337
        );
        assert_eq!(
            kb.module("registry.coder.com/modules/jupyterlab/coder")
                .unwrap()
                .1
                .port,
            19999
        );
        assert!(kb.module("github.com/x/y").is_none());
    }

    #[test]
    fn probes_by_role() {
        let kb = Knowledge::builtin();
        let site = kb.probes_for("convex-site");
        assert_eq!(site.len(), 1);
        assert_eq!(site[0].path, "/.well-known/openid-configuration");
        assert_eq!(
            site[0].expect,
            Expectation {
                status: StatusClass::Success,
                body: Some(BodyExpectation::JsonFieldIsOrigin("issuer".into())),
            }
        );
        assert!(site[0].optional.is_some());
        let api = kb.probes_for("convex-api");
        assert_eq!(
            (api[0].path.as_str(), &api[0].expect, &api[0].optional),
            (
                "/version",
                &Expectation {
                    status: StatusClass::Success,
                    body: Some(BodyExpectation::Text),
                },
                &None
            )
        );
        let health = &kb.probes_for("code-server")[0];
        assert_eq!(health.path, "/healthz");
        assert_eq!(health.expect, Expectation::default());
        assert_eq!(health.expect.status, StatusClass::Below500);
        assert!(kb.probes_for("dev-server").is_empty());

        let user = Knowledge::parse(
            "probes:\n  api:\n    - { name: ready, path: /ready, expect: { body: { json-field-equals: { field: status, value: ok } } } }\n",
        )
        .unwrap();
        assert_eq!(
            user.probes_for("api")[0].expect,
            Expectation {
                status: StatusClass::Below500,
                body: Some(BodyExpectation::JsonFieldEquals {
                    field: "status".into(),
                    value: "ok".into()
                }),
            }
        );
        for bad in [
            "expect: nope",
            "expect: { status: 3xx }",
            "expect: { body: html }",
            "expect: { status: 2xx, size: 1 }",
        ] {
            let text = format!("probes:\n  api:\n    - {{ name: x, path: /, {bad} }}\n");
            assert!(Knowledge::parse(&text).is_err(), "{bad}");
        }
    }

    #[test]
    fn other_paths_of_a_role() {
        let kb = Knowledge::builtin();
        assert!(kb.serves_role_at("convex-site", "convex-api", "/http"));
        assert!(kb.serves_role_at("convex-site", "convex-api", "/http/hook?x=1"));
        assert!(!kb.serves_role_at("convex-site", "convex-api", "/httpx"));
        assert!(!kb.serves_role_at("convex-site", "convex-api", ""));
        // Only through the role the path belongs to.
        assert!(!kb.serves_role_at("convex-site", "convex-dashboard", "/http"));
        assert!(!kb.serves_role_at("convex-api", "convex-site", "/http"));
        assert_eq!(kb.role_path_via("convex-site", "convex-api"), Some("/http"));

        // A user file adds a path to a known role without dropping the built-in ones.
        let mut kb = kb.clone();
        kb.extend(
            Knowledge::parse(
                "roles:\n  convex-site:\n    paths: [{ role: dev-server, path: /convex/ }]\n",
            )
            .unwrap(),
        );
        assert!(kb.serves_role_at("convex-site", "dev-server", "/convex/x"));
        assert!(kb.serves_role_at("convex-site", "convex-api", "/http"));
        assert!(Knowledge::parse("roles:\n  x:\n    pathz: []\n").is_err());
    }

    #[test]
    fn compute_resources_and_agent_variables() {
        let kb = Knowledge::builtin();
        let form = |t: &str| kb.compute(t).map(|c| c.containers);
        assert_eq!(form("docker_container"), Some(Some(ContainerForm::Docker)));
        assert_eq!(
            form("kubernetes_deployment_v1"),
            Some(Some(ContainerForm::Kubernetes))
        );
        assert_eq!(form("aws_instance"), Some(None));
        assert_eq!(form("proxmox_vm_qemu"), Some(None));
        assert_eq!(form("kubernetes_secret"), None);
        assert_eq!(form("docker_image"), None);
        assert!(kb.is_agent_variable("CODER_WORKSPACE_NAME"));
        assert!(!kb.is_agent_variable("DATABASE_URL"));

        let mut kb = kb.clone();
        kb.extend(
            Knowledge::parse("compute:\n  fly_machine: {}\n  my_pod: { containers: kubernetes }\nagent_variables: [CODER_WORKSPACE_ID]\n")
                .unwrap(),
        );
        assert_eq!(form_of(&kb, "fly_machine"), Some(None));
        assert_eq!(
            form_of(&kb, "my_pod_v2"),
            Some(Some(ContainerForm::Kubernetes))
        );
        assert!(kb.is_agent_variable("CODER_WORKSPACE_ID"));
        assert!(kb.is_agent_variable("HOME"));
        assert!(Knowledge::parse("compute:\n  x: { containers: podman }\n").is_err());
    }

    fn form_of(kb: &Knowledge, t: &str) -> Option<Option<ContainerForm>> {
        kb.compute(t).map(|c| c.containers)
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*_CONVEX_URL", "VITE_CONVEX_URL"));
        assert!(wildcard_match("A*", "AB"));
        assert!(!wildcard_match("*_CONVEX_URL", "CONVEX_URL_X"));
    }
}
