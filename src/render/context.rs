//! What the templates see: the spec resolved into plain, pre-escaped strings per output.
//!
//! Templates handle layout only. Every value a template prints was written and escaped here,
//! so a template override cannot produce a port or origin that disagrees with the spec.

use serde::Serialize;

use super::value::{self, Piece};
use crate::spec::{CommandLine, Spec};

/// The name of the start script, as rendered next to the compose file.
pub const START_SCRIPT: &str = "start-workspace.sh";
/// The compose file name.
pub const COMPOSE_FILE: &str = "docker-compose.yml";
/// The Terraform file with the apps; drops into an existing template.
pub const APPS_TF: &str = "coder-apps.tf";
/// The complete template written with `--full`.
pub const MAIN_TF: &str = "main.tf";

#[derive(Debug, Serialize)]
pub struct Context {
    pub name: String,
    pub spec_file: String,
    pub agent: String,
    pub scheme: String,
    pub wildcard_domain: String,
    pub agent_in_host: bool,
    pub workdir: String,
    pub compose_file: &'static str,
    pub start_script: &'static str,
    pub apps: Vec<AppContext>,
    pub origins: Vec<String>,
    pub compose_services: Vec<ComposeService>,
    pub named_volumes: Vec<String>,
    pub processes: Vec<Process>,
    pub healthchecks: Vec<HealthcheckContext>,
    pub env_files: Vec<EnvFileContext>,
    pub secrets: Vec<SecretContext>,
    /// Shell variables of every app origin: `{ var, slug, local }`.
    pub origin_vars: Vec<OriginVar>,
}

#[derive(Debug, Serialize)]
pub struct AppContext {
    pub slug: String,
    pub resource: String,
    /// `attribute = value` lines, aligned as `terraform fmt` aligns them.
    pub attributes: Vec<String>,
    pub healthcheck: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct OriginVar {
    pub var: String,
    pub slug: String,
    pub local: String,
}

#[derive(Debug, Serialize)]
pub struct ComposeService {
    pub name: String,
    pub image: String,
    pub command: Option<String>,
    pub entrypoint: Option<String>,
    pub volumes: Vec<String>,
    pub ports: Vec<String>,
    pub environment: Vec<(String, String)>,
    pub healthcheck: Option<String>,
    pub depends_on: Vec<(String, &'static str)>,
}

#[derive(Debug, Serialize)]
pub struct Process {
    pub name: String,
    /// The folder, escaped for bash double quotes.
    pub workdir: String,
    /// `export KEY="value"` lines.
    pub exports: Vec<String>,
    /// The command as shell code, references expanded.
    pub command: String,
}

#[derive(Debug, Serialize)]
pub struct HealthcheckContext {
    pub service: String,
    /// The HTTP check, if any.
    pub url: Option<String>,
    /// Wait for compose to report the container healthy.
    pub compose: bool,
    pub timeout: u32,
}

#[derive(Debug, Serialize)]
pub struct EnvFileContext {
    pub path: String,
    /// `env_line KEY "value"` calls for the start script.
    pub script_lines: Vec<String>,
    /// The file as rendered outside Coder.
    pub local_lines: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SecretContext {
    pub name: String,
    pub command: String,
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
        let origin_key_width = spec.apps.keys().map(|s| s.len() + 2).max().unwrap_or(0);
        for (slug, app) in &spec.apps {
            let Ok((_, _, port)) = spec.port(&app.target) else {
                continue;
            };
            let url = format!("http://localhost:{}", port.host());
            origin_vars.push(OriginVar {
                var: value::origin_var(slug),
                slug: slug.value.clone(),
                local: url.clone(),
            });
            let key = format!("\"{}\"", slug.value);
            origins.push(format!(
                "{key:<origin_key_width$} = \"{}://{}{domain_part}\"",
                spec.coder.scheme.as_str(),
                slug.value
            ));
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
                resource: slug.replace('-', "_"),
                attributes: aligned(&attrs),
                healthcheck,
            });
        }

        let mut compose_services = Vec::new();
        let mut named_volumes: Vec<String> = Vec::new();
        let mut processes = Vec::new();
        let mut healthchecks = Vec::new();
        for (name, service) in &spec.services {
            let resolve = |text: &str| value::resolve(spec, text);
            if let Some(health) = &service.healthcheck {
                let url = health.http().and_then(|(port, path)| {
                    let port = service.ports.get(port)?;
                    Some(format!("http://localhost:{}{path}", port.host()))
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
                        && !source.starts_with(['.', '/', '~', '$']);
                    if is_named && !named_volumes.iter().any(|v| v == source) {
                        named_volumes.push(source.to_owned());
                    }
                }
                let command_line = |c: &CommandLine| match c {
                    CommandLine::Shell(s) => {
                        value::yaml_string(&value::compose(&resolve(s), START_SCRIPT))
                    }
                    CommandLine::Args(args) => {
                        let items: Vec<String> = args
                            .iter()
                            .map(|a| value::yaml_string(&value::compose(&resolve(a), START_SCRIPT)))
                            .collect();
                        format!("[{}]", items.join(", "))
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
                            dep.value.clone(),
                            if healthy {
                                "service_healthy"
                            } else {
                                "service_started"
                            },
                        )
                    })
                    .collect();
                compose_services.push(ComposeService {
                    name: name.value.clone(),
                    image: value::yaml_string(image),
                    command: service.command.as_ref().map(|c| command_line(c)),
                    entrypoint: service.entrypoint.as_ref().map(|c| command_line(c)),
                    volumes: service
                        .volumes
                        .iter()
                        .map(|v| value::yaml_string(v))
                        .collect(),
                    ports: service
                        .ports
                        .values()
                        .map(|p| value::yaml_string(&format!("{}:{}", p.host(), p.container())))
                        .collect(),
                    environment: service
                        .env
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.value.clone(),
                                value::yaml_string(&value::compose(&resolve(&v.0), START_SCRIPT)),
                            )
                        })
                        .collect(),
                    healthcheck: service
                        .healthcheck
                        .as_ref()
                        .and_then(|h| h.command.as_ref())
                        .map(|c| value::yaml_string(c)),
                    depends_on,
                });
            } else if let Some(run) = &service.run {
                let exports = service
                    .env
                    .iter()
                    .map(|(k, v)| format!("export {}=\"{}\"", k.value, value::bash(&resolve(&v.0))))
                    .collect();
                let code = value::shell_code(&resolve(run));
                processes.push(Process {
                    name: name.value.clone(),
                    workdir: value::bash(&[Piece::Literal(
                        service
                            .workdir
                            .as_ref()
                            .map(|w| w.value.clone())
                            .unwrap_or_else(|| ".".to_owned()),
                    )]),
                    exports,
                    command: code,
                });
            }
        }

        let env_files = spec
            .env_files
            .iter()
            .map(|(path, keys)| {
                let mut script_lines = Vec::new();
                let mut local_lines = Vec::new();
                for (key, text) in keys {
                    let pieces: Vec<Piece> = value::resolve(spec, &text.0);
                    script_lines.push(format!(
                        "env_line {} \"{}\"",
                        key.value,
                        value::bash(&pieces)
                    ));
                    local_lines.push(value::env_line(key, &value::local(&pieces)));
                }
                EnvFileContext {
                    path: path.value.clone(),
                    script_lines,
                    local_lines,
                }
            })
            .collect();

        let secrets = spec
            .secrets
            .iter()
            .map(|(name, secret)| SecretContext {
                name: name.value.clone(),
                command: secret.generate.shell().to_owned(),
            })
            .collect();

        Context {
            name: spec.name.value.clone(),
            spec_file: spec_file.to_owned(),
            agent,
            scheme: spec.coder.scheme.as_str().to_owned(),
            wildcard_domain: spec
                .coder
                .wildcard_domain
                .as_ref()
                .map(|d| d.value.clone())
                .unwrap_or_default(),
            agent_in_host: spec.coder.agent_in_host,
            workdir: spec
                .coder
                .workdir
                .as_ref()
                .map(|w| w.value.clone())
                .unwrap_or_else(|| format!("/home/coder/{}", spec.name.value)),
            compose_file: COMPOSE_FILE,
            start_script: START_SCRIPT,
            apps,
            origins,
            compose_services,
            named_volumes,
            processes,
            healthchecks,
            env_files,
            secrets,
            origin_vars,
        }
    }
}

/// `key = value` lines padded the way `terraform fmt` aligns consecutive attributes.
pub fn aligned(attrs: &[(&str, String)]) -> Vec<String> {
    let width = attrs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    attrs
        .iter()
        .map(|(k, v)| format!("{k:<width$} = {v}"))
        .collect()
}
