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
use crate::spec::steps::{self, StepKind};
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
    /// The generated secrets: made before anything starts, written to `.env`, given to compose.
    pub secrets: Vec<SecretContext>,
    /// Every secret's name, generated or made by a command: what the start script reads back
    /// from `secrets.env`.
    pub kept_secrets: Vec<String>,
    /// The names of the secrets a command makes.
    pub command_secrets: Vec<String>,
    /// What runs after the services are up, in an order where each step follows what it waits
    /// for: command secrets, tasks and the processes that wait.
    pub steps: Vec<StepContext>,
    /// Some step is a task / a command secret / a process.
    pub has_tasks: bool,
    pub has_command_secrets: bool,
    pub has_late_processes: bool,
    /// The services ready once compose and the processes that wait for nothing are up and
    /// healthy: what steps can wait for from the start.
    pub started: Vec<String>,
    /// `export` lines of the compose project for tasks and command secrets, so that a `docker
    /// compose` they run reaches the stack the script started.
    pub compose_exports: Vec<Escaped>,
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
    /// The command secrets its values use: the start script writes the file again once each
    /// is made, and leaves out the keys whose secret is not made yet.
    pub command_secrets: Vec<String>,
    /// The keys whose value uses a command secret, for render itself.
    #[serde(skip)]
    pub later_keys: Vec<String>,
}

/// A step after the services are up ([`crate::spec::steps`]).
#[derive(Debug, Serialize)]
pub struct StepContext {
    /// `secret`, `task` or `process`.
    pub kind: &'static str,
    pub name: String,
    /// Services and steps it waits for.
    pub waits: Vec<String>,
    /// The indexes (1-based, as `loop.index`) of the env files to write again once a command
    /// secret is made.
    pub env_files: Vec<usize>,
    /// `KEY="value"` for tasks (the script declares them `local -x`), `export KEY="value"`
    /// lines for processes.
    pub exports: Vec<Escaped>,
    /// The folder, as a bash word (tasks and processes).
    pub workdir: Escaped,
    /// Shell code: the command of a task or process, or what prints a command secret.
    pub code: Vec<Escaped>,
    /// Tasks: a hash of the definition, as a bash word; the script adds the values.
    pub definition_hash: Escaped,
    /// Tasks: the values the marker's hash covers, as bash double-quoted words.
    pub hashed_values: Vec<Escaped>,
    pub every_start: bool,
    /// Processes: the URL of the HTTP healthcheck, if any, as a bash word, and its timeout.
    pub health_url: Option<Escaped>,
    pub health_timeout: u32,
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
            if steps::is_late_process(spec, service) {
                // Started as a step, once what it waits for is up.
                continue;
            }
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

        let env_files: Vec<EnvFileContext> = spec
            .env_files
            .iter()
            .map(|(path, keys)| {
                let mut script_lines = Vec::new();
                let mut local_lines = Vec::new();
                let mut values = Vec::new();
                let mut command_secrets = Vec::new();
                let mut later_keys = Vec::new();
                for (key, text) in keys {
                    let pieces: Vec<Piece> = value::resolve(spec, &text.0);
                    let waits = steps::command_secrets_in(spec, [text.0.as_str()]);
                    // A key whose command secret is not made yet is left out until it is.
                    let guard: String = waits
                        .iter()
                        .map(|s| format!("[[ -z ${{portolan_secret[{s}]:-}} ]] || "))
                        .collect();
                    for s in waits.iter().cloned() {
                        if !command_secrets.contains(&s) {
                            command_secrets.push(s);
                        }
                    }
                    script_lines.push(Escaped(format!(
                        "{guard}env_line {} \"{}\"",
                        key.value,
                        value::bash(&pieces)
                    )));
                    if guard.is_empty() {
                        local_lines.push(Escaped(value::env_line(key, &value::local(&pieces))));
                    } else {
                        later_keys.push(key.value.clone());
                    }
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
                    command_secrets,
                    later_keys,
                }
            })
            .collect();

        let secrets: Vec<SecretContext> = spec
            .secrets
            .iter()
            .filter_map(|(name, secret)| {
                let generate = secret.generate.as_ref()?;
                Some(SecretContext {
                    name: name.value.clone(),
                    command: Escaped(generate.shell().to_owned()),
                    multiline: generate.is_multiline(),
                    key: secret.key.as_ref().map(|k| k.value.clone()),
                })
            })
            .collect();
        let kept_secrets = spec.secrets.keys().map(|k| k.value.clone()).collect();

        let env_files: Vec<EnvFileContext> = env_files;
        let all_steps = steps::steps(spec);
        let steps: Vec<StepContext> = steps::order(&all_steps)
            .map(|ordered| {
                ordered
                    .into_iter()
                    .map(|step| step_context(spec, step, &env_files))
                    .collect()
            })
            .unwrap_or_default();
        let started = spec
            .services
            .iter()
            .filter(|(_, s)| !steps::is_late_process(spec, s))
            .map(|(k, _)| k.value.clone())
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
        for task in spec.tasks.values() {
            add_pass_through(&mut pass_through, &steps::task_texts(task));
        }
        for secret in spec.secrets.values() {
            let texts: Vec<&str> = secret.run.iter().map(|r| r.as_str()).collect();
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
        let compose_exports = if spec.services.values().any(|s| s.is_compose()) {
            let mut lines = vec![
                Escaped(format!("export COMPOSE_PROJECT_NAME={}", spec.name.value)),
                Escaped(format!(
                    "export COMPOSE_FILE=\"$PWD\"/{}",
                    value::sh_word(&compose_path)
                )),
            ];
            if compose_in_subfolder {
                // Compose reads `.env` from the compose file's folder, and there is no
                // variable for `--project-directory`.
                lines.push(Escaped("export COMPOSE_ENV_FILES=\"$PWD\"/.env".to_owned()));
            }
            lines
        } else {
            Vec::new()
        };
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
            ide_code_server: spec.coder.ide.value == crate::spec::Ide::CodeServer,
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
                    secrets
                        .iter()
                        .filter(|s| !s.multiline)
                        .map(|s| s.name.as_str()),
                ),
            ))),
            secrets,
            kept_secrets,
            command_secrets: spec
                .secrets
                .iter()
                .filter(|(_, s)| s.is_command())
                .map(|(k, _)| k.value.clone())
                .collect(),
            has_tasks: steps.iter().any(|s: &StepContext| s.kind == "task"),
            has_command_secrets: steps.iter().any(|s: &StepContext| s.kind == "secret"),
            has_late_processes: steps.iter().any(|s: &StepContext| s.kind == "process"),
            steps,
            started,
            compose_exports,
            origin_vars,
            pass_through,
            compose_pass_through,
        }
    }
}

/// `export KEY="value"` lines of an `env` (`KEY="value"` with `export` empty).
fn exports(
    spec: &Spec,
    env: &crate::spec::Named<crate::spec::Located<crate::spec::Text>>,
    export: &str,
) -> Vec<Escaped> {
    env.iter()
        .map(|(k, v)| {
            Escaped(format!(
                "{export}{}=\"{}\"",
                k.value,
                value::bash(&value::resolve(spec, &v.0))
            ))
        })
        .collect()
}

/// What the start script needs to run one step.
fn step_context(spec: &Spec, step: &steps::Step<'_>, env_files: &[EnvFileContext]) -> StepContext {
    let resolve = |text: &str| value::resolve(spec, text);
    let name = step.name.value.clone();
    let mut context = StepContext {
        kind: match step.kind {
            StepKind::Secret => "secret",
            StepKind::Task => "task",
            StepKind::Process => "process",
        },
        waits: step.waits.iter().map(|(w, _)| w.clone()).collect(),
        env_files: Vec::new(),
        exports: Vec::new(),
        workdir: Escaped(".".to_owned()),
        code: Vec::new(),
        definition_hash: Escaped(String::new()),
        hashed_values: Vec::new(),
        every_start: false,
        health_url: None,
        health_timeout: 0,
        name,
    };
    match step.kind {
        StepKind::Secret => {
            let Some(secret) = spec.secrets.get(step.name.as_str()) else {
                return context;
            };
            let run = secret.run.as_ref().map_or("", |r| r.as_str());
            context.code.push(Escaped(match &secret.exec {
                Some(service) => format!(
                    "compose -p {} {} exec -T {} sh -c \"{}\"",
                    spec.name.value,
                    compose_flags(spec),
                    service.value,
                    value::bash(&resolve(run))
                ),
                None => value::shell_code(&resolve(run)),
            }));
            context.env_files = env_files
                .iter()
                .enumerate()
                .filter(|(_, f)| f.command_secrets.contains(&step.name.value))
                .map(|(i, _)| i + 1)
                .collect();
        }
        StepKind::Task => {
            let Some(task) = spec.tasks.get(step.name.as_str()) else {
                return context;
            };
            context.exports = exports(spec, &task.env, "");
            context.workdir = Escaped(value::sh_word(
                task.workdir.as_ref().map_or(".", |w| w.as_str()),
            ));
            context.every_start = task.every_start;
            let mut definition =
                format!("workdir={:?}\n", task.workdir.as_ref().map(|w| w.as_str()));
            let mut hashed = Vec::new();
            for (k, v) in &task.env {
                definition.push_str(&format!("env {:?}={:?}\n", k.value, v.0));
                hashed.push(format!("{}={}", k.value, value::bash(&resolve(&v.0))));
            }
            if let Some(run) = &task.run {
                definition.push_str(&format!("run {:?}\n", run.value));
                hashed.push(value::bash(&resolve(run)));
                context.code.push(Escaped(value::shell_code(&resolve(run))));
            }
            if let Some(set) = &task.set {
                definition.push_str(&format!("set {:?}\n", set.command.value));
                let command = value::shell_code(&resolve(&set.command));
                hashed.push(value::bash(&resolve(&set.command)));
                for (k, v) in &set.values {
                    definition.push_str(&format!("value {:?}={:?}\n", k.value, v.0));
                    let pieces = resolve(&v.0);
                    hashed.push(format!("{}={}", k.value, value::bash(&pieces)));
                    context.code.push(Escaped(format!(
                        "{command} {} -- \"{}\"",
                        k.value,
                        value::bash(&pieces)
                    )));
                }
            }
            use sha2::Digest;
            let digest = sha2::Sha256::digest(definition.as_bytes());
            context.definition_hash = Escaped(digest.iter().map(|b| format!("{b:02x}")).collect());
            context.hashed_values = hashed
                .into_iter()
                .map(|h| Escaped(format!("\"{h}\"")))
                .collect();
        }
        StepKind::Process => {
            let Some(service) = spec.services.get(step.name.as_str()) else {
                return context;
            };
            context.exports = exports(spec, &service.env, "export ");
            context.workdir = Escaped(value::sh_word(
                service.workdir.as_ref().map_or(".", |w| w.as_str()),
            ));
            if let Some(run) = &service.run {
                context.code.push(Escaped(value::shell_code(&resolve(run))));
            }
            if let Some(health) = &service.healthcheck {
                context.health_url = health.http().and_then(|(port, path)| {
                    let port = service.ports.get(port)?;
                    Some(Escaped(value::sh_word(&format!(
                        "http://localhost:{}{path}",
                        port.host()
                    ))))
                });
                context.health_timeout = health.timeout;
            }
        }
    }
    context
}

/// The compose file flags of every `docker compose` call, as bash words.
fn compose_flags(spec: &Spec) -> String {
    let path = spec
        .compose_file()
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/");
    if path.contains('/') {
        format!("--project-directory . -f {}", value::sh_word(&path))
    } else {
        format!("-f {}", value::sh_word(&path))
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
