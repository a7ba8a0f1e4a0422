//! What the templates see: the spec resolved into plain, pre-escaped strings per output.
//!
//! Templates handle layout only. Every value a template prints is one of two kinds:
//!
//! - [`Escaped`]: text written here as a complete literal of the language of the file it goes
//!   into (a quoted HCL or YAML string, a bash word, a line of an env file), or generated code;
//!   the field's name or doc says which language;
//! - a name whose grammar was checked at load (project, agent, service, slug, secret and env
//!   names: `[A-Za-z0-9_.:-]`), which is the same text in every language.
//!
//! Rendering enforces this: a template that prints any other string fails (see
//! `render::environment`), so neither a spec value nor a template override can reach a file
//! unescaped, and a port or origin cannot disagree with the spec.

use serde::{Serialize, Serializer};

use super::value::{self, Piece};
use crate::spec::reference::{self, Part, RefKind};
use crate::spec::{CommandSpec, Spec};

/// The name of the start script, as rendered next to the compose file.
pub const START_SCRIPT: &str = "start-workspace.sh";
/// The compose file's name when the spec names none (`compose: { file: ... }`).
pub const COMPOSE_FILE: &str = crate::spec::DEFAULT_COMPOSE_FILE;
/// The Terraform file with the apps; drops into an existing template.
pub const APPS_TF: &str = "coder-apps.tf";
/// The complete template written with `--full`.
pub const MAIN_TF: &str = "main.tf";

/// How the note that names portolan's keys in an env file starts.
pub const ENV_NOTE_PREFIX: &str = "# portolan sets: ";

/// The comment line after the header of an env file, rendered or written at start: the keys
/// portolan sets there (the start script reads it back to know which keys a later spec dropped)
/// and that the other lines are the user's.
pub fn env_note<'k>(keys: impl IntoIterator<Item = &'k str>) -> String {
    let keys: Vec<&str> = keys.into_iter().collect();
    let keys = if keys.is_empty() {
        "(none)".to_owned()
    } else {
        keys.join(" ")
    };
    format!("{ENV_NOTE_PREFIX}{keys}. Other lines are yours: {START_SCRIPT} keeps them at each workspace start.")
}

/// Text already escaped for the file it goes into; templates print it as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escaped(pub String);

impl Serialize for Escaped {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        minijinja::Value::from_safe_string(self.0.clone()).serialize(serializer)
    }
}

impl std::fmt::Display for Escaped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a template may print `text` unescaped: a name of the grammar checked at load.
pub fn is_plain_name(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

/// The Terraform resource name of an app: the slug with `_` for `-`, and a leading `_` when the
/// slug starts with a digit (Terraform names start with a letter or `_`). Slugs have no `_`, so
/// two slugs never share a name.
pub fn resource_name(slug: &str) -> String {
    let name = slug.replace('-', "_");
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name
    }
}

#[derive(Debug, Serialize)]
pub struct Context {
    pub name: String,
    /// The spec's file name for a comment (control characters escaped), as a bash word.
    pub spec_file_sh: Escaped,
    pub agent: String,
    pub scheme: String,
    /// The wildcard domain as an HCL string (`""` when the spec has none).
    pub wildcard_domain_hcl: Escaped,
    /// The wildcard domain as a bash word (`""` when the spec has none).
    pub wildcard_domain_sh: Escaped,
    pub agent_in_host: bool,
    /// The project folder in the workspace as an HCL string.
    pub workdir_hcl: Escaped,
    /// The start script's path in the workspace as a bash word inside an HCL heredoc.
    pub start_path_heredoc: Escaped,
    /// The project folder as a bash word inside an HCL heredoc.
    pub workdir_heredoc: Escaped,
    /// The folder that holds the project folder, and the project folder's own name, as HCL
    /// strings: where the git-clone module clones into.
    pub workdir_parent_hcl: Escaped,
    pub workdir_name_hcl: Escaped,
    /// `main.tf` runs Docker in a privileged `docker:dind` sidecar (`coder.docker: dind`), not
    /// inside the workspace with sysbox.
    pub docker_dind: bool,
    /// `main.tf` adds the code-server module (`coder.ide: code-server`).
    pub ide_code_server: bool,
    /// The repository `main.tf` clones into the project folder (`coder.repo`), as an HCL
    /// string and as a bash word inside an HCL heredoc.
    pub repo_hcl: Option<Escaped>,
    pub repo_heredoc: Option<Escaped>,
    /// The compose file's path relative to the output folder, as a bash word.
    pub compose_file: Escaped,
    /// The compose file's path as rendered, for render itself.
    #[serde(skip)]
    pub compose_path: String,
    /// The compose file flags of every `docker compose` call, as bash words: `-f FILE`, with
    /// `--project-directory .` first for a file in a subfolder, so that its relative paths and
    /// compose's `.env` are the project folder's.
    pub compose_flags: Escaped,
    /// The file is in a subfolder of the output folder.
    pub compose_in_subfolder: bool,
    pub start_script: &'static str,
    pub apps: Vec<AppContext>,
    /// `"slug" = "origin"` HCL lines.
    pub origins: Vec<Escaped>,
    pub compose_services: Vec<ComposeService>,
    /// Named volumes as YAML keys.
    pub named_volumes: Vec<Escaped>,
    pub processes: Vec<Process>,
    pub healthchecks: Vec<HealthcheckContext>,
    pub env_files: Vec<EnvFileContext>,
    pub secrets: Vec<SecretContext>,
    /// Shell variables of every app origin: `{ var, slug, local }`.
    pub origin_vars: Vec<OriginVar>,
    /// The note of `.env` ([`env_note`]) as a bash word.
    pub env_note_sh: Escaped,
    /// Workspace variables passed through with `${env:NAME}`, in the order the spec first uses
    /// them: the start script reads each one before it sets anything.
    pub pass_through: Vec<String>,
    /// Those a compose service uses: the start script passes them to `compose up`.
    pub compose_pass_through: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct AppContext {
    pub slug: String,
    /// The Terraform resource name, see [`resource_name`].
    pub resource: String,
    /// `attribute = value` HCL lines, aligned as `terraform fmt` aligns them.
    pub attributes: Vec<Escaped>,
    pub healthcheck: Vec<Escaped>,
}

#[derive(Debug, Serialize)]
pub struct OriginVar {
    pub var: String,
    pub slug: String,
    /// The origin outside Coder, as a bash word.
    pub local: Escaped,
}

/// A compose service; every string is a YAML scalar with `$` doubled where it is literal.
#[derive(Debug, Serialize)]
pub struct ComposeService {
    /// The service name as a YAML key.
    pub name: Escaped,
    pub image: Escaped,
    pub command: Option<Escaped>,
    pub entrypoint: Option<Escaped>,
    pub volumes: Vec<Escaped>,
    pub ports: Vec<Escaped>,
    pub environment: Vec<(Escaped, Escaped)>,
    pub healthcheck: Option<Escaped>,
    pub depends_on: Vec<(Escaped, &'static str)>,
    /// `container_name`, a name of Docker's grammar checked at load, as a YAML scalar.
    pub container_name: Option<Escaped>,
}

#[derive(Debug, Serialize)]
pub struct Process {
    pub name: String,
    /// The folder, as a bash word.
    pub workdir: Escaped,
    /// `export KEY="value"` lines.
    pub exports: Vec<Escaped>,
    /// The command as shell code, references expanded: `run` is code by definition.
    pub command: Escaped,
}

#[derive(Debug, Serialize)]
pub struct HealthcheckContext {
    pub service: String,
    /// The URL of the HTTP check, if any, as a bash word.
    pub url: Option<Escaped>,
    /// Wait for compose to report the container healthy.
    pub compose: bool,
    pub timeout: u32,
}

#[derive(Debug, Serialize)]
pub struct EnvFileContext {
    /// The path as written in the spec, for render itself; templates print `path_sh`.
    #[serde(skip)]
    pub path: String,
    /// The path as a bash word.
    pub path_sh: Escaped,
    /// The note naming portolan's keys ([`env_note`]), a comment line of the env file.
    pub note: Escaped,
    /// The same note as a bash word.
    pub note_sh: Escaped,
    /// `env_line KEY "value"` calls for the start script.
    pub script_lines: Vec<Escaped>,
    /// The lines of the file as rendered outside Coder.
    pub local_lines: Vec<Escaped>,
    /// Each key and its value resolved: what the start script writes, in this order.
    #[serde(skip)]
    pub values: Vec<(String, Vec<Piece>)>,
}

#[derive(Debug, Serialize)]
pub struct SecretContext {
    pub name: String,
    /// Shell code that prints a fresh value.
    pub command: Escaped,
    /// A PEM key: kept in secrets.env with its line breaks as `\n`, and written to no env
    /// file (`.env` included) and exported to no compose command.
    pub multiline: bool,
    /// For a key set: the secret holding the key, from which it is derived at every start.
    pub key: Option<String>,
}

impl Context {
    pub fn new(spec: &Spec, spec_file: &str) -> Self {
        let agent = spec.coder.agent.value.clone();
        let mut origin_vars = Vec::new();
        let mut apps = Vec::new();
        let mut origins = Vec::new();
        let domain_part = if spec.coder.agent_in_host {
            format!(
                "--{}--${{local.portolan_host_suffix}}",
                agent.to_ascii_lowercase()
            )
        } else {
            "--${local.portolan_host_suffix}".to_owned()
        };
        let origin_key_width = spec
            .apps
            .keys()
            .map(|s| value::hcl_string(s).chars().count())
            .max()
            .unwrap_or(0);
        for (slug, app) in &spec.apps {
            let Ok((_, _, port)) = spec.port(&app.target) else {
                continue;
            };
            let url = format!("http://localhost:{}", port.host());
            origin_vars.push(OriginVar {
                var: value::origin_var(slug),
                slug: slug.value.clone(),
                local: Escaped(value::sh_word(&url)),
            });
            let key = value::hcl_string(slug);
            let literal =
                value::hcl_string(&format!("{}://{}", spec.coder.scheme.as_str(), slug.value));
            let open = literal.strip_suffix('"').unwrap_or(&literal);
            origins.push(Escaped(format!(
                "{key:<origin_key_width$} = {open}{domain_part}\""
            )));
            let mut attrs: Vec<(&str, String)> = vec![
                ("agent_id", format!("coder_agent.{agent}.id")),
                ("slug", value::hcl_string(slug)),
            ];
            if let Some(name) = &app.display_name {
                attrs.push(("display_name", value::hcl_string(name)));
            }
            if let Some(icon) = &app.icon {
                attrs.push(("icon", value::hcl_string(icon)));
            }
            attrs.push(("url", value::hcl_string(&url)));
            attrs.push(("subdomain", app.subdomain.to_string()));
            attrs.push(("share", value::hcl_string(app.share.as_str())));
            if app.hidden {
                attrs.push(("hidden", "true".to_owned()));
            }
            if let Some(order) = app.order {
                attrs.push(("order", order.to_string()));
            }
            if let Some(group) = &app.group {
                attrs.push(("group", value::hcl_string(group)));
            }
            if let Some(open_in) = app.open_in {
                attrs.push(("open_in", value::hcl_string(open_in.as_str())));
            }
            let healthcheck = match &app.healthcheck {
                Some(path) => aligned(&[
                    ("url", value::hcl_string(&format!("{url}{}", path.value))),
                    ("interval", app.healthcheck_interval.to_string()),
                    ("threshold", app.healthcheck_threshold.to_string()),
                ]),
                None => Vec::new(),
            };
            apps.push(AppContext {
                slug: slug.value.clone(),
                resource: resource_name(slug),
                attributes: aligned(&attrs),
                healthcheck,
            });
        }

        let mut compose_services = Vec::new();
        let mut named_volumes: Vec<Escaped> = Vec::new();
        let mut processes = Vec::new();
        let mut healthchecks = Vec::new();
        for (name, service) in &spec.services {
            let resolve = |text: &str| value::resolve(spec, text);
            if let Some(health) = &service.healthcheck {
                let url = health.http().and_then(|(port, path)| {
                    let port = service.ports.get(port)?;
                    Some(Escaped(value::sh_word(&format!(
                        "http://localhost:{}{path}",
                        port.host()
                    ))))
                });
                if url.is_some() || health.command.is_some() {
                    healthchecks.push(HealthcheckContext {
                        service: name.value.clone(),
                        url,
                        compose: service.is_compose() && health.command.is_some(),
                        timeout: health.timeout,
                    });
                }
            }
            if let Some(image) = &service.image {
                for volume in &service.volumes {
                    let source = volume.split(':').next().unwrap_or("");
                    let is_named = !source.is_empty()
                        && volume.contains(':')
                        && !source.starts_with(['.', '/', '~']);
                    let key = Escaped(value::yaml_key(source));
                    if is_named && !named_volumes.contains(&key) {
                        named_volumes.push(key);
                    }
                }
                let command_line = |c: &CommandSpec| match c {
                    CommandSpec::Shell(s) => Escaped(value::yaml_string(&value::compose(
                        &resolve(s),
                        START_SCRIPT,
                    ))),
                    CommandSpec::Args(args) => {
                        let items: Vec<String> = args
                            .iter()
                            .map(|a| value::yaml_string(&value::compose(&resolve(a), START_SCRIPT)))
                            .collect();
                        Escaped(format!("[{}]", items.join(", ")))
                    }
                };
                let depends_on = service
                    .depends_on
                    .iter()
                    .map(|dep| {
                        let healthy = spec
                            .services
                            .get(dep.as_str())
                            .and_then(|s| s.healthcheck.as_ref())
                            .is_some_and(|h| h.command.is_some());
                        (
                            Escaped(value::yaml_key(dep)),
                            if healthy {
                                "service_healthy"
                            } else {
                                "service_started"
                            },
                        )
                    })
                    .collect();
                compose_services.push(ComposeService {
                    name: Escaped(value::yaml_key(name)),
                    image: Escaped(value::compose_string(image)),
                    command: service.command.as_ref().map(|c| command_line(c)),
                    entrypoint: service.entrypoint.as_ref().map(|c| command_line(c)),
                    volumes: service
                        .volumes
                        .iter()
                        .map(|v| Escaped(value::compose_string(v)))
                        .collect(),
                    ports: service
                        .ports
                        .values()
                        .map(|p| {
                            Escaped(value::yaml_string(&format!(
                                "{}:{}",
                                p.host(),
                                p.container()
                            )))
                        })
                        .collect(),
                    environment: service
                        .env
                        .iter()
                        .map(|(k, v)| {
                            (
                                Escaped(value::yaml_key(k)),
                                Escaped(value::yaml_string(&value::compose(
                                    &resolve(&v.0),
                                    START_SCRIPT,
                                ))),
                            )
                        })
                        .collect(),
                    // Literal text for the container's shell: compose must not interpolate it.
                    healthcheck: service
                        .healthcheck
                        .as_ref()
                        .and_then(|h| h.command.as_ref())
                        .map(|c| Escaped(value::compose_string(c))),
                    depends_on,
                    container_name: service
                        .container_name
                        .as_ref()
                        .map(|c| Escaped(value::yaml_string(c))),
                });
            } else if let Some(run) = &service.run {
                let exports = service
                    .env
                    .iter()
                    .map(|(k, v)| {
                        Escaped(format!(
                            "export {}=\"{}\"",
                            k.value,
                            value::bash(&resolve(&v.0))
                        ))
                    })
                    .collect();
                let code = value::shell_code(&resolve(run));
                processes.push(Process {
                    name: name.value.clone(),
                    workdir: Escaped(value::sh_word(
                        service.workdir.as_ref().map_or(".", |w| w.as_str()),
                    )),
                    exports,
                    command: Escaped(code),
                });
            }
        }

        let env_files = spec
            .env_files
            .iter()
            .map(|(path, keys)| {
                let mut script_lines = Vec::new();
                let mut local_lines = Vec::new();
                let mut values = Vec::new();
                for (key, text) in keys {
                    let pieces: Vec<Piece> = value::resolve(spec, &text.0);
                    script_lines.push(Escaped(format!(
                        "env_line {} \"{}\"",
                        key.value,
                        value::bash(&pieces)
                    )));
                    local_lines.push(Escaped(value::env_line(key, &value::local(&pieces))));
                    values.push((key.value.clone(), pieces));
                }
                let note = env_note(keys.keys().map(|k| k.as_str()));
                EnvFileContext {
                    note_sh: Escaped(value::sh_word(&note)),
                    note: Escaped(note),
                    path: path.value.clone(),
                    path_sh: Escaped(value::sh_word(path)),
                    script_lines,
                    local_lines,
                    values,
                }
            })
            .collect();

        let secrets = spec
            .secrets
            .iter()
            .map(|(name, secret)| SecretContext {
                name: name.value.clone(),
                command: Escaped(secret.generate.shell().to_owned()),
                multiline: secret.generate.is_multiline(),
                key: secret.key.as_ref().map(|k| k.value.clone()),
            })
            .collect();

        let mut pass_through = Vec::new();
        let mut compose_pass_through = Vec::new();
        for service in spec.services.values() {
            let mut texts: Vec<&str> = service.env.values().map(|v| v.0.as_str()).collect();
            for command in [&service.command, &service.entrypoint]
                .into_iter()
                .flatten()
            {
                match &command.value {
                    CommandSpec::Shell(s) => texts.push(s),
                    CommandSpec::Args(args) => texts.extend(args.iter().map(String::as_str)),
                }
            }
            if service.is_compose() {
                add_pass_through(&mut compose_pass_through, &texts);
            }
            texts.extend(service.run.as_ref().map(|r| r.as_str()));
            add_pass_through(&mut pass_through, &texts);
        }
        for keys in spec.env_files.values() {
            let texts: Vec<&str> = keys.values().map(|v| v.0.as_str()).collect();
            add_pass_through(&mut pass_through, &texts);
        }

        let wildcard_domain = spec
            .coder
            .wildcard_domain
            .as_ref()
            .map_or("", |d| d.as_str());
        let workdir = spec
            .coder
            .workdir
            .as_ref()
            .map(|w| w.value.clone())
            .unwrap_or_else(|| format!("/home/coder/{}", spec.name.value));
        // Without `.` and empty parts: `./infra//compose.yml` is `infra/compose.yml`.
        let compose_path = spec
            .compose_file()
            .split('/')
            .filter(|part| !part.is_empty() && *part != ".")
            .collect::<Vec<_>>()
            .join("/");
        let compose_in_subfolder = compose_path.contains('/');
        let trimmed = workdir.trim_end_matches('/');
        let (parent, folder) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
        let parent = if parent.is_empty() { "/" } else { parent };
        let repo = spec.coder.repo.as_ref().map(|r| r.value.as_str());
        Context {
            name: spec.name.value.clone(),
            spec_file_sh: Escaped(value::sh_word(&value::comment_text(spec_file))),
            agent,
            scheme: spec.coder.scheme.as_str().to_owned(),
            wildcard_domain_hcl: Escaped(value::hcl_string(wildcard_domain)),
            wildcard_domain_sh: Escaped(value::sh_word(wildcard_domain)),
            agent_in_host: spec.coder.agent_in_host,
            start_path_heredoc: Escaped(value::hcl_heredoc_text(&value::sh_word(&format!(
                "{workdir}/{START_SCRIPT}"
            )))),
            workdir_heredoc: Escaped(value::hcl_heredoc_text(&value::sh_word(&workdir))),
            workdir_parent_hcl: Escaped(value::hcl_string(parent)),
            workdir_name_hcl: Escaped(value::hcl_string(folder)),
            docker_dind: spec.coder.docker == crate::spec::DockerMode::Dind,
            ide_code_server: spec.coder.ide == crate::spec::Ide::CodeServer,
            repo_hcl: repo.map(|r| Escaped(value::hcl_string(r))),
            repo_heredoc: repo.map(|r| Escaped(value::hcl_heredoc_text(&value::sh_word(r)))),
            workdir_hcl: Escaped(value::hcl_string(&workdir)),
            compose_file: Escaped(value::sh_word(&compose_path)),
            compose_flags: Escaped(if compose_in_subfolder {
                format!("--project-directory . -f {}", value::sh_word(&compose_path))
            } else {
                format!("-f {}", value::sh_word(&compose_path))
            }),
            compose_path,
            compose_in_subfolder,
            start_script: START_SCRIPT,
            apps,
            origins,
            compose_services,
            named_volumes,
            processes,
            healthchecks,
            env_files,
            env_note_sh: Escaped(value::sh_word(&env_note(
                origin_vars.iter().map(|o| o.var.as_str()).chain(
                    spec.secrets
                        .iter()
                        .filter(|(_, s)| !s.generate.is_multiline())
                        .map(|(k, _)| k.as_str()),
                ),
            ))),
            secrets,
            origin_vars,
            pass_through,
            compose_pass_through,
        }
    }
}

/// Adds the variables that `${env:NAME}` references in `texts` pass through, each once.
fn add_pass_through(names: &mut Vec<String>, texts: &[&str]) {
    for text in texts {
        let Ok(parts) = reference::parse(text) else {
            continue;
        };
        for part in parts {
            if let Part::Ref(r) = part {
                if r.kind == RefKind::Env && !names.contains(&r.target) {
                    names.push(r.target);
                }
            }
        }
    }
}

/// `key = value` lines padded the way `terraform fmt` aligns consecutive attributes; the values
/// are HCL expressions already.
pub fn aligned(attrs: &[(&str, String)]) -> Vec<Escaped> {
    let width = attrs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    attrs
        .iter()
        .map(|(k, v)| Escaped(format!("{k:<width$} = {v}")))
        .collect()
}
