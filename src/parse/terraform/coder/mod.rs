//! Coder-specific views over a [`TerraformModule`]: agents, apps, scripts, `coder_env`, registry
//! modules, the containers that run the agent, the `coder` provider pin, and where an agent's
//! `init_script` and `token` are used.
//!
//! Each view is a thin borrow of the generic [`Block`]s: the named fields are shortcuts, and any
//! other attribute (including ones removed from the provider, like `coder_app.name` or
//! `coder_agent.login_before_ready`) is one `view.block.attribute("...")` away.

use hcl_edit::expr::Expression;

use super::eval::quoted_content;
use super::template::finish_template;
use super::{Attribute, Block, Spanned, TemplatePart, TerraformModule, Value};
use crate::source::Span;

/// An environment variable: a key of `coder_agent.env`, a `"K=V"` string of a docker container,
/// an `env { name value }` block of a Kubernetes container.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvVar {
    /// The name, spanning only its text when the source allows (no quotes, no escapes).
    pub name: Spanned<String>,
    /// The value; for `"K=V"` strings the span covers `V` only.
    pub value: Spanned<Value>,
}

/// `resource "coder_agent" "NAME"`.
#[derive(Clone, Debug)]
pub struct Agent<'a> {
    pub block: &'a Block,
    /// The resource name, `main` in `coder_agent.main`.
    pub name: &'a Spanned<String>,
    pub os: Option<&'a Attribute>,
    pub arch: Option<&'a Attribute>,
    /// Its heredoc, if any, is in `startup_script.heredoc`.
    pub startup_script: Option<&'a Attribute>,
    /// The `env` map; empty when the map is not known statically.
    pub env: Vec<EnvVar>,
    /// The `key` of every `metadata` block.
    pub metadata_keys: Vec<&'a Spanned<Value>>,
}

/// `resource "coder_app" "NAME"`.
#[derive(Clone, Debug)]
pub struct App<'a> {
    pub block: &'a Block,
    pub name: &'a Spanned<String>,
    pub agent_id: Option<&'a Attribute>,
    pub slug: Option<&'a Attribute>,
    pub url: Option<&'a Attribute>,
    pub subdomain: Option<&'a Attribute>,
    pub share: Option<&'a Attribute>,
    pub command: Option<&'a Attribute>,
    pub external: Option<&'a Attribute>,
    pub hidden: Option<&'a Attribute>,
    pub display_name: Option<&'a Attribute>,
    pub group: Option<&'a Attribute>,
    pub open_in: Option<&'a Attribute>,
    pub order: Option<&'a Attribute>,
    pub healthcheck: Option<Healthcheck<'a>>,
    /// `count` or `for_each`: the app may exist several times, or not at all.
    pub count: Option<&'a Attribute>,
    pub for_each: Option<&'a Attribute>,
}

/// The `healthcheck` block of a `coder_app`.
#[derive(Clone, Debug)]
pub struct Healthcheck<'a> {
    pub block: &'a Block,
    pub url: Option<&'a Attribute>,
    pub interval: Option<&'a Attribute>,
    pub threshold: Option<&'a Attribute>,
}

/// `resource "coder_script" "NAME"`.
#[derive(Clone, Debug)]
pub struct CoderScript<'a> {
    pub block: &'a Block,
    pub name: &'a Spanned<String>,
    pub agent_id: Option<&'a Attribute>,
    pub display_name: Option<&'a Attribute>,
    /// Often a heredoc or a `templatefile(...)` ([`Value::File`]).
    pub script: Option<&'a Attribute>,
    pub run_on_start: Option<&'a Attribute>,
    pub run_on_stop: Option<&'a Attribute>,
    pub cron: Option<&'a Attribute>,
    pub start_blocks_login: Option<&'a Attribute>,
}

/// `resource "coder_env" "NAME"`.
#[derive(Clone, Debug)]
pub struct CoderEnv<'a> {
    pub block: &'a Block,
    pub name: &'a Spanned<String>,
    pub agent_id: Option<&'a Attribute>,
    /// The `name` attribute: the variable it sets.
    pub env_name: Option<&'a Attribute>,
    pub value: Option<&'a Attribute>,
}

/// `module "NAME" { source = ... }`.
#[derive(Clone, Debug)]
pub struct ModuleCall<'a> {
    pub block: &'a Block,
    pub name: &'a Spanned<String>,
    pub source: Option<&'a Attribute>,
    pub version: Option<&'a Attribute>,
    /// Every other attribute except the meta-arguments `count`, `for_each`, `depends_on`,
    /// `providers`.
    pub inputs: Vec<&'a Attribute>,
    pub count: Option<&'a Attribute>,
    pub for_each: Option<&'a Attribute>,
}

/// Which provider a [`Container`] comes from; the attribute names differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerRuntime {
    /// `resource "docker_container"`.
    Docker,
    /// A `container` block in a `kubernetes_*` resource (pod, deployment, stateful set, ...).
    Kubernetes,
}

/// A container that may run an agent or a service.
#[derive(Clone, Debug)]
pub struct Container<'a> {
    pub runtime: ContainerRuntime,
    /// The resource (`docker_container`, `kubernetes_deployment_v1`, ...).
    pub resource: &'a Block,
    /// The block the fields come from: the resource for Docker, its `container` block for
    /// Kubernetes.
    pub block: &'a Block,
    pub name: Option<&'a Attribute>,
    pub image: Option<&'a Attribute>,
    /// What replaces the image's entrypoint: Docker `entrypoint`, Kubernetes `command`.
    pub entrypoint: Option<&'a Attribute>,
    /// What replaces the image's command: Docker `command`, Kubernetes `args`.
    pub command: Option<&'a Attribute>,
    pub ports: Vec<ContainerPort<'a>>,
    /// Docker `env = ["K=V"]` strings or Kubernetes `env { name value }` blocks.
    pub env: Vec<EnvVar>,
}

/// Docker `ports { internal external }`, Kubernetes `port { container_port host_port }`.
#[derive(Clone, Debug)]
pub struct ContainerPort<'a> {
    pub block: &'a Block,
    /// The port inside the container.
    pub container: Option<&'a Spanned<Value>>,
    /// The port published on the host, if any.
    pub host: Option<&'a Spanned<Value>>,
    pub protocol: Option<&'a Spanned<Value>>,
}

/// An entry of `terraform { required_providers { NAME = { source version } } }`.
#[derive(Clone, Debug)]
pub struct ProviderRequirement<'a> {
    pub attribute: &'a Attribute,
    pub source: Option<&'a Spanned<Value>>,
    /// The version constraint; the legacy form `coder = "0.6.0"` is a version too.
    pub version: Option<&'a Spanned<Value>>,
}

/// A use of `coder_agent.AGENT.<attribute>` somewhere in the module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentReference {
    pub agent: String,
    pub span: Span,
}

/// `coder_agent.NAME...` in an attribute like `agent_id`.
fn agent_of(attr: Option<&Attribute>) -> Option<&str> {
    let attr = attr?;
    let r = attr
        .value
        .value
        .as_reference()
        .or_else(|| attr.references.first())?;
    match r.names.as_slice() {
        [root, name, ..] if root == "coder_agent" => Some(name),
        _ => None,
    }
}

impl App<'_> {
    /// The agent named by `agent_id = coder_agent.NAME.id`.
    pub fn agent_name(&self) -> Option<&str> {
        agent_of(self.agent_id)
    }
}

impl CoderScript<'_> {
    /// The agent named by `agent_id = coder_agent.NAME.id`.
    pub fn agent_name(&self) -> Option<&str> {
        agent_of(self.agent_id)
    }
}

impl CoderEnv<'_> {
    /// The agent named by `agent_id = coder_agent.NAME.id`.
    pub fn agent_name(&self) -> Option<&str> {
        agent_of(self.agent_id)
    }
}

impl<'a> ModuleCall<'a> {
    /// An input by name (`port`, `slug`, `agent_id`, ...).
    pub fn input(&self, name: &str) -> Option<&'a Attribute> {
        self.inputs.iter().copied().find(|a| a.name.value == name)
    }

    /// The agent named by the `agent_id` input.
    pub fn agent_name(&self) -> Option<&str> {
        agent_of(self.input("agent_id"))
    }

    /// The module name of a Coder registry source: `code-server` for
    /// `registry.coder.com/coder/code-server/coder` (also the older `registry.coder.com/modules/...`).
    pub fn registry_name(&self) -> Option<&str> {
        let source = self.source?.value.value.as_str()?;
        let source = source.split_once("://").map_or(source, |(_, rest)| rest);
        let mut segments = source.split('/');
        if segments.next()? != "registry.coder.com" {
            return None;
        }
        let _namespace = segments.next()?;
        segments.next().filter(|s| !s.is_empty())
    }
}

impl TerraformModule {
    fn named_resources<'a>(
        &'a self,
        resource_type: &'a str,
    ) -> impl Iterator<Item = (&'a Block, &'a Spanned<String>)> + 'a {
        self.resources(resource_type)
            .filter_map(|b| b.name().map(|n| (b, n)))
    }

    /// Every `coder_agent` resource.
    pub fn agents(&self) -> Vec<Agent<'_>> {
        self.named_resources("coder_agent")
            .map(|(block, name)| Agent {
                block,
                name,
                os: block.attribute("os"),
                arch: block.attribute("arch"),
                startup_script: block.attribute("startup_script"),
                env: block
                    .value("env")
                    .and_then(|v| v.value.as_map())
                    .unwrap_or_default()
                    .iter()
                    .map(|e| EnvVar {
                        name: e.key.clone(),
                        value: e.value.clone(),
                    })
                    .collect(),
                metadata_keys: block
                    .blocks_of("metadata")
                    .filter_map(|m| m.value("key"))
                    .collect(),
            })
            .collect()
    }

    /// Every `coder_app` resource.
    pub fn apps(&self) -> Vec<App<'_>> {
        self.named_resources("coder_app")
            .map(|(block, name)| App {
                block,
                name,
                agent_id: block.attribute("agent_id"),
                slug: block.attribute("slug"),
                url: block.attribute("url"),
                subdomain: block.attribute("subdomain"),
                share: block.attribute("share"),
                command: block.attribute("command"),
                external: block.attribute("external"),
                hidden: block.attribute("hidden"),
                display_name: block.attribute("display_name"),
                group: block.attribute("group"),
                open_in: block.attribute("open_in"),
                order: block.attribute("order"),
                healthcheck: block.block("healthcheck").map(|hc| Healthcheck {
                    block: hc,
                    url: hc.attribute("url"),
                    interval: hc.attribute("interval"),
                    threshold: hc.attribute("threshold"),
                }),
                count: block.attribute("count"),
                for_each: block.attribute("for_each"),
            })
            .collect()
    }

    /// Every `coder_script` resource.
    pub fn scripts(&self) -> Vec<CoderScript<'_>> {
        self.named_resources("coder_script")
            .map(|(block, name)| CoderScript {
                block,
                name,
                agent_id: block.attribute("agent_id"),
                display_name: block.attribute("display_name"),
                script: block.attribute("script"),
                run_on_start: block.attribute("run_on_start"),
                run_on_stop: block.attribute("run_on_stop"),
                cron: block.attribute("cron"),
                start_blocks_login: block.attribute("start_blocks_login"),
            })
            .collect()
    }

    /// Every `coder_env` resource.
    pub fn envs(&self) -> Vec<CoderEnv<'_>> {
        self.named_resources("coder_env")
            .map(|(block, name)| CoderEnv {
                block,
                name,
                agent_id: block.attribute("agent_id"),
                env_name: block.attribute("name"),
                value: block.attribute("value"),
            })
            .collect()
    }

    /// Every `module` block.
    pub fn modules(&self) -> Vec<ModuleCall<'_>> {
        const META: [&str; 6] = [
            "source",
            "version",
            "count",
            "for_each",
            "depends_on",
            "providers",
        ];
        self.blocks()
            .filter(|b| b.kind.value == "module")
            .filter_map(|block| {
                Some(ModuleCall {
                    block,
                    name: block.name()?,
                    source: block.attribute("source"),
                    version: block.attribute("version"),
                    inputs: block
                        .attributes
                        .iter()
                        .filter(|a| !META.contains(&a.name.value.as_str()))
                        .collect(),
                    count: block.attribute("count"),
                    for_each: block.attribute("for_each"),
                })
            })
            .collect()
    }

    /// The containers of the resources whose type `runtime_of` knows (from the knowledge base):
    /// a Docker resource is one container; for Kubernetes, every `container` block of the
    /// resource (at any depth under its `spec`; `init_container` blocks are left out).
    pub fn containers(
        &self,
        runtime_of: impl Fn(&str) -> Option<ContainerRuntime>,
    ) -> Vec<Container<'_>> {
        let mut out = Vec::new();
        for resource in self.blocks().filter(|b| b.kind.value == "resource") {
            let Some(resource_type) = resource.labels.first() else {
                continue;
            };
            let runtime = runtime_of(&resource_type.value);
            if runtime == Some(ContainerRuntime::Docker) {
                out.push(docker_container(resource));
            } else if runtime == Some(ContainerRuntime::Kubernetes) {
                let mut stack: Vec<&Block> = resource.blocks.iter().rev().collect();
                while let Some(block) = stack.pop() {
                    if block.kind.value == "container" {
                        out.push(kubernetes_container(resource, block));
                    } else {
                        stack.extend(block.blocks.iter().rev());
                    }
                }
            }
        }
        out
    }

    /// The `required_providers` entry of the `coder` provider (`source = "coder/coder"`, or the
    /// local name `coder`).
    pub fn coder_provider(&self) -> Option<ProviderRequirement<'_>> {
        let requirements: Vec<ProviderRequirement<'_>> = self
            .blocks()
            .filter(|b| b.kind.value == "terraform")
            .flat_map(|t| t.blocks_of("required_providers"))
            .flat_map(|r| r.attributes.iter())
            .map(|attribute| {
                let value = &attribute.value;
                match &value.value {
                    Value::Map(_) => ProviderRequirement {
                        attribute,
                        source: value.value.get("source"),
                        version: value.value.get("version"),
                    },
                    _ => ProviderRequirement {
                        attribute,
                        source: None,
                        version: Some(value),
                    },
                }
            })
            .collect();
        let by_source = requirements.iter().position(|r| {
            r.source
                .and_then(|s| s.value.as_str())
                .is_some_and(|s| s.to_ascii_lowercase().ends_with("coder/coder"))
        });
        let by_name = || {
            requirements
                .iter()
                .position(|r| r.attribute.name.value == "coder")
        };
        let index = by_source.or_else(by_name)?;
        requirements.into_iter().nth(index)
    }

    /// Every use of `coder_agent.NAME.init_script`: where agents get started.
    pub fn init_script_references(&self) -> Vec<AgentReference> {
        self.agent_references("init_script")
    }

    /// Every use of `coder_agent.NAME.token`: where agents get their credentials.
    pub fn token_references(&self) -> Vec<AgentReference> {
        self.agent_references("token")
    }

    /// Every use of `coder_agent.NAME.<attribute>` in any attribute of any block, in file order.
    pub fn agent_references(&self, attribute: &str) -> Vec<AgentReference> {
        self.blocks()
            .flat_map(Block::all_attributes)
            .flat_map(|a| a.references.iter())
            .filter_map(|r| match r.names.as_slice() {
                [root, agent, attr, ..] if root == "coder_agent" && attr == attribute => {
                    Some(AgentReference {
                        agent: agent.clone(),
                        span: r.span,
                    })
                }
                _ => None,
            })
            .collect()
    }
}

fn docker_container(resource: &Block) -> Container<'_> {
    Container {
        runtime: ContainerRuntime::Docker,
        resource,
        block: resource,
        name: resource.attribute("name"),
        image: resource.attribute("image"),
        entrypoint: resource.attribute("entrypoint"),
        command: resource.attribute("command"),
        ports: resource
            .blocks_of("ports")
            .map(|block| ContainerPort {
                block,
                container: block.value("internal"),
                host: block.value("external"),
                protocol: block.value("protocol"),
            })
            .collect(),
        env: resource
            .attribute("env")
            .map(docker_env)
            .unwrap_or_default(),
    }
}

fn kubernetes_container<'a>(resource: &'a Block, block: &'a Block) -> Container<'a> {
    Container {
        runtime: ContainerRuntime::Kubernetes,
        resource,
        block,
        name: block.attribute("name"),
        image: block.attribute("image"),
        entrypoint: block.attribute("command"),
        command: block.attribute("args"),
        ports: block
            .blocks_of("port")
            .map(|port| ContainerPort {
                block: port,
                container: port.value("container_port"),
                host: port.value("host_port"),
                protocol: port.value("protocol"),
            })
            .collect(),
        env: block
            .blocks_of("env")
            .filter_map(|env| {
                let name = env.value("name")?;
                let text = name.value.as_str()?;
                let value = env.value("value").cloned().unwrap_or(Spanned {
                    value: Value::Unknown, // `value_from` or nothing
                    span: env.span,
                });
                Some(EnvVar {
                    name: Spanned {
                        value: text.to_string(),
                        span: quoted_content(name.span, text),
                    },
                    value,
                })
            })
            .collect(),
    }
}

/// `env = ["K=V", "TOKEN=${coder_agent.main.token}"]`.
fn docker_env(attr: &Attribute) -> Vec<EnvVar> {
    let Some(items) = attr.value.value.as_list() else {
        return Vec::new();
    };
    let raw = attr.expr.as_array();
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| env_assignment(item, raw.and_then(|a| a.get(i))))
        .collect()
}

/// Splits one `"K=V"` list element at its first `=`. `raw` is the element as written, when the
/// list is written out in place: only then do spans map byte for byte.
fn env_assignment(item: &Spanned<Value>, raw: Option<&Expression>) -> Option<EnvVar> {
    let quoted = matches!(
        raw,
        Some(Expression::String(_) | Expression::StringTemplate(_))
    );
    let parts = match &item.value {
        Value::String(s) => vec![TemplatePart::Literal {
            text: s.clone(),
            span: if quoted {
                quoted_content(item.span, s)
            } else {
                item.span
            },
        }],
        Value::Template(parts) => parts.clone(),
        _ => return None,
    };
    let (first, rest) = parts.split_first()?;
    let TemplatePart::Literal { text, span } = first else {
        return None;
    };
    let eq = text.find('=')?;
    let exact = quoted && span.range().len() == text.len();
    let (name_span, value_span) = if exact {
        (span.sub(0, eq), span.sub(eq + 1, text.len()))
    } else {
        (*span, *span)
    };
    let mut value_parts = Vec::new();
    let after = text.get(eq + 1..).unwrap_or_default();
    if !after.is_empty() {
        value_parts.push(TemplatePart::Literal {
            text: after.to_string(),
            span: value_span,
        });
    }
    value_parts.extend(rest.iter().cloned());
    let end = if quoted {
        item.span.end.saturating_sub(1)
    } else {
        item.span.end
    };
    let value_span = Span::new(item.span.file, value_span.start as usize, end as usize);
    Some(EnvVar {
        name: Spanned {
            value: text.get(..eq).unwrap_or_default().to_string(),
            span: name_span,
        },
        value: Spanned {
            value: finish_template(value_parts),
            span: value_span,
        },
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::parse::terraform::{parse, FileFunction, TerraformModule};
    use crate::source::FileId;

    /// Which resources hold containers, as the built-in knowledge base says.
    fn runtime_of(resource_type: &str) -> Option<ContainerRuntime> {
        use crate::knowledge::{ContainerForm, Knowledge};
        match Knowledge::builtin().compute(resource_type)?.containers? {
            ContainerForm::Docker => Some(ContainerRuntime::Docker),
            ContainerForm::Kubernetes => Some(ContainerRuntime::Kubernetes),
        }
    }

    /// Shaped like Coder's docker template, with Convex apps.
    pub(crate) const DOCKER_TEMPLATE: &str = r#"terraform {
  required_providers {
    coder = {
      source  = "coder/coder"
      version = ">= 2.0.0"
    }
    docker = {
      source = "kreuzwerker/docker"
    }
  }
}

locals {
  username  = data.coder_workspace_owner.me.name
  api_port  = 3210
  site_port = local.api_port + 1
}

variable "docker_socket" {
  default     = ""
  description = "(Optional) Docker socket URI"
  type        = string
}

variable "wildcard_domain" {
  type = string
}

provider "docker" {
  host = var.docker_socket != "" ? var.docker_socket : null
}

data "coder_provisioner" "me" {}
data "coder_workspace" "me" {}
data "coder_workspace_owner" "me" {}

resource "coder_agent" "main" {
  arch           = data.coder_provisioner.me.arch
  os             = "linux"
  startup_script = <<-EOT
    set -e
    if [ ! -f ~/.init_done ]; then
      cp -rT /etc/skel ~
      touch ~/.init_done
    fi
    convex-local-backend --port ${local.api_port} --site-proxy-port ${local.site_port} &
  EOT

  env = {
    GIT_AUTHOR_NAME     = coalesce(data.coder_workspace_owner.me.full_name, data.coder_workspace_owner.me.name)
    "GIT_AUTHOR_EMAIL"  = "${data.coder_workspace_owner.me.email}"
    CONVEX_CLOUD_ORIGIN = "https://convex-api--${data.coder_workspace.me.name}--${data.coder_workspace_owner.me.name}.${var.wildcard_domain}"
    PORT                = local.api_port
  }

  metadata {
    display_name = "CPU Usage"
    key          = "0_cpu_usage"
    script       = "coder stat cpu"
    interval     = 10
    timeout      = 1
  }

  metadata {
    display_name = "RAM Usage"
    key          = "1_ram_usage"
    script       = "coder stat mem"
    interval     = 10
    timeout      = 1
  }
}

module "code-server" {
  count    = data.coder_workspace.me.start_count
  source   = "registry.coder.com/coder/code-server/coder"
  version  = "~> 1.0"
  agent_id = coder_agent.main.id
  order    = 1
}

resource "coder_app" "convex-api" {
  agent_id     = coder_agent.main.id
  slug         = "convex-api"
  display_name = "Convex API"
  url          = "http://localhost:${local.api_port}"
  subdomain    = true
  share        = "public"
  healthcheck {
    url       = "http://localhost:${local.api_port}/version"
    interval  = 5
    threshold = 6
  }
}

resource "coder_app" "dashboard" {
  agent_id      = coder_agent.main.id
  slug          = "dashboard"
  url           = "http://localhost:6791"
  open_in       = "tab"
  order         = 2
  name          = "legacy"
  relative_path = true
}

resource "coder_script" "seed" {
  agent_id     = coder_agent.main.id
  display_name = "Seed"
  run_on_start = true
  script       = templatefile("${path.module}/seed.sh", { port = local.api_port })
}

resource "coder_env" "origin" {
  agent_id = coder_agent.main.id
  name     = "CONVEX_SITE_ORIGIN"
  value    = "http://localhost:${local.site_port}"
}

resource "docker_volume" "home_volume" {
  name = "coder-${data.coder_workspace.me.id}-home"
}

resource "docker_container" "workspace" {
  count      = data.coder_workspace.me.start_count
  image      = "codercom/enterprise-base:ubuntu"
  name       = "coder-${data.coder_workspace_owner.me.name}-${lower(data.coder_workspace.me.name)}"
  hostname   = data.coder_workspace.me.name
  entrypoint = ["sh", "-c", replace(coder_agent.main.init_script, "localhost", "host.docker.internal")]
  env        = ["CODER_AGENT_TOKEN=${coder_agent.main.token}", "PORT=3210", "EMPTY=", "NOEQUALS"]
  host {
    host = "host.docker.internal"
    ip   = "host-gateway"
  }
  ports {
    internal = local.api_port
    external = 3210
  }
  volumes {
    container_path = "/home/coder"
    volume_name    = docker_volume.home_volume.name
    read_only      = false
  }
}
"#;

    /// A Kubernetes deployment with two containers, an agent nobody starts, and a pre-2.0 pin.
    pub(crate) const K8S_TEMPLATE: &str = r#"terraform {
  required_providers {
    coder = {
      source  = "coder/coder"
      version = "~> 0.23"
    }
  }
}

resource "coder_agent" "dev" {
  os                     = "linux"
  arch                   = "amd64"
  login_before_ready     = false
  startup_script_timeout = 180
}

resource "coder_agent" "orphan" {
  os   = "linux"
  arch = "arm64"
}

resource "kubernetes_deployment_v1" "main" {
  metadata {
    name = "coder-ws"
  }
  spec {
    template {
      spec {
        container {
          name    = "dev"
          image   = "codercom/enterprise-base:ubuntu"
          command = ["sh", "-c", coder_agent.dev.init_script]
          env {
            name  = "CODER_AGENT_TOKEN"
            value = coder_agent.dev.token
          }
          env {
            name  = "PORT"
            value = "8080"
          }
          port {
            container_port = 8080
            name           = "http"
          }
        }
        container {
          name  = "sidecar"
          image = "redis:7"
          args  = ["--port", "6380"]
        }
      }
    }
  }
}

resource "coder_app" "web" {
  count    = 2
  agent_id = coder_agent.dev.id
  slug     = "web"
  command  = "htop"
  external = false
  hidden   = true
}
"#;

    fn module(src: &str) -> TerraformModule {
        let module = TerraformModule::new(vec![parse(FileId(0), src)]);
        assert_eq!(
            module.diagnostics().count(),
            0,
            "{:?}",
            module.files[0].diagnostics
        );
        module
    }

    fn text(src: &str, span: Span) -> &str {
        &src[span.range()]
    }

    fn s(text: &str) -> Value {
        Value::String(text.to_string())
    }

    fn known_str(attr: Option<&Attribute>) -> &str {
        attr.and_then(|x| x.value.value.as_str()).unwrap_or("-")
    }

    #[test]
    fn agent_env_startup_script_and_metadata() {
        let src = DOCKER_TEMPLATE;
        let m = module(src);
        let [agent] = m.agents().try_into().expect("one agent");
        assert_eq!(agent.name.value, "main");
        assert_eq!(text(src, agent.name.span), "main");
        assert_eq!(agent.os.unwrap().value.value, s("linux"));
        let arch = agent.arch.unwrap().value.value.as_reference().unwrap();
        assert_eq!(arch.path, "data.coder_provisioner.me.arch");

        let env: Vec<(&str, &str)> = agent
            .env
            .iter()
            .map(|e| (e.name.value.as_str(), text(src, e.name.span)))
            .collect();
        assert_eq!(
            env,
            [
                ("GIT_AUTHOR_NAME", "GIT_AUTHOR_NAME"),
                ("GIT_AUTHOR_EMAIL", "GIT_AUTHOR_EMAIL"),
                ("CONVEX_CLOUD_ORIGIN", "CONVEX_CLOUD_ORIGIN"),
                ("PORT", "PORT"),
            ]
        );
        assert_eq!(agent.env[0].value.value, Value::Unknown);
        let email = agent.env[1].value.value.as_reference().unwrap();
        assert_eq!(email.path, "data.coder_workspace_owner.me.email");
        assert!(matches!(agent.env[2].value.value, Value::Template(_)));
        assert_eq!(agent.env[3].value.value, Value::Number(3210.0));
        assert_eq!(text(src, agent.env[3].value.span), "local.api_port");

        let script = agent.startup_script.unwrap();
        let heredoc = script.heredoc.as_ref().unwrap();
        assert!(heredoc.body.value.starts_with("    set -e\n    if [ ! -f"));
        assert_eq!(text(src, heredoc.body.span), heredoc.body.value);
        // Locals inside the script resolve; the value has the indentation stripped.
        assert!(script
            .value
            .value
            .as_str()
            .unwrap()
            .contains("\nconvex-local-backend --port 3210 --site-proxy-port 3211 &\n"));

        let keys: Vec<&str> = agent
            .metadata_keys
            .iter()
            .map(|k| text(src, k.span))
            .collect();
        assert_eq!(keys, ["\"0_cpu_usage\"", "\"1_ram_usage\""]);
    }

    #[test]
    fn apps_with_literal_and_local_urls() {
        let src = DOCKER_TEMPLATE;
        let m = module(src);
        let apps = m.apps();
        // name, slug, url, agent; "-" where unknown
        let summary: Vec<[&str; 4]> = apps
            .iter()
            .map(|a| {
                [
                    a.name.value.as_str(),
                    known_str(a.slug),
                    known_str(a.url),
                    a.agent_name().unwrap_or("-"),
                ]
            })
            .collect();
        assert_eq!(
            summary,
            [
                ["convex-api", "convex-api", "http://localhost:3210", "main"],
                ["dashboard", "dashboard", "http://localhost:6791", "main"],
            ]
        );
        let api = &apps[0];
        assert_eq!(
            text(src, api.url.unwrap().value.span),
            "\"http://localhost:${local.api_port}\""
        );
        assert_eq!(api.share.unwrap().value.value, s("public"));
        assert_eq!(api.subdomain.unwrap().value.value.as_bool(), Some(true));
        let hc = api.healthcheck.as_ref().unwrap();
        assert_eq!(
            hc.url.unwrap().value.value,
            s("http://localhost:3210/version")
        );
        assert_eq!(hc.interval.unwrap().value.value.as_number(), Some(5.0));
        assert_eq!(hc.threshold.unwrap().value.value.as_number(), Some(6.0));
        assert!(api.count.is_none() && api.for_each.is_none() && api.command.is_none());

        let dashboard = &apps[1];
        assert!(dashboard.healthcheck.is_none());
        assert_eq!(dashboard.open_in.unwrap().value.value, s("tab"));
        assert_eq!(dashboard.order.unwrap().value.value.as_port(), Some(2));
        // Removed provider attributes stay reachable.
        let name = dashboard.block.attribute("name").unwrap();
        assert_eq!(text(src, name.name.span), "name");
        assert!(dashboard.block.attribute("relative_path").is_some());
    }

    #[test]
    fn modules_scripts_and_coder_env() {
        let src = DOCKER_TEMPLATE;
        let m = module(src);
        let [code_server] = m.modules().try_into().expect("one module");
        assert_eq!(code_server.name.value, "code-server");
        assert_eq!(code_server.registry_name(), Some("code-server"));
        assert_eq!(code_server.version.unwrap().value.value, s("~> 1.0"));
        assert_eq!(code_server.agent_name(), Some("main"));
        assert!(code_server.count.is_some());
        let inputs: Vec<&str> = code_server
            .inputs
            .iter()
            .map(|a| a.name.value.as_str())
            .collect();
        assert_eq!(inputs, ["agent_id", "order"]);
        assert!(code_server.input("port").is_none());

        let [seed] = m.scripts().try_into().expect("one script");
        assert_eq!(seed.agent_name(), Some("main"));
        assert_eq!(seed.run_on_start.unwrap().value.value, Value::Bool(true));
        let call = seed.script.unwrap().value.value.as_file_call().unwrap();
        assert_eq!(call.function, FileFunction::TemplateFile);
        assert_eq!(call.relative_path(), Some("seed.sh"));
        let vars = &call.vars.as_ref().unwrap().value;
        assert_eq!(vars.get("port").unwrap().value, Value::Number(3210.0));

        let [origin] = m.envs().try_into().expect("one coder_env");
        assert_eq!(
            origin.env_name.unwrap().value.value,
            s("CONVEX_SITE_ORIGIN")
        );
        assert_eq!(
            origin.value.unwrap().value.value,
            s("http://localhost:3211")
        );
        assert_eq!(origin.agent_name(), Some("main"));
    }

    #[test]
    fn docker_container_entrypoint_env_and_ports() {
        let src = DOCKER_TEMPLATE;
        let m = module(src);
        let [c] = m.containers(runtime_of).try_into().expect("one container");
        assert_eq!(c.runtime, ContainerRuntime::Docker);
        let entrypoint = c.entrypoint.unwrap().value.value.as_list().unwrap();
        assert_eq!(entrypoint[0].value, s("sh"));
        assert_eq!(entrypoint[1].value, s("-c"));
        assert_eq!(entrypoint[2].value, Value::Unknown);
        assert!(text(src, entrypoint[2].span).starts_with("replace(coder_agent.main.init_script"));

        let env: Vec<(&str, &str, &str)> = c
            .env
            .iter()
            .map(|e| {
                (
                    e.name.value.as_str(),
                    text(src, e.name.span),
                    text(src, e.value.span),
                )
            })
            .collect();
        assert_eq!(
            env,
            [
                (
                    "CODER_AGENT_TOKEN",
                    "CODER_AGENT_TOKEN",
                    "${coder_agent.main.token}"
                ),
                ("PORT", "PORT", "3210"),
                ("EMPTY", "EMPTY", ""),
            ]
        );
        let token = c.env[0].value.value.as_reference().unwrap();
        assert_eq!(token.path, "coder_agent.main.token");
        assert_eq!(c.env[1].value.value, s("3210"));
        assert_eq!(c.env[2].value.value, s(""));

        let [port] = c.ports.as_slice() else {
            panic!("{:?}", c.ports)
        };
        assert_eq!(port.container.unwrap().value.as_port(), Some(3210));
        assert_eq!(text(src, port.container.unwrap().span), "local.api_port");
        assert_eq!(port.host.unwrap().value.as_port(), Some(3210));
        assert!(port.protocol.is_none());
    }

    #[test]
    fn docker_env_from_a_local_list_has_whole_element_spans() {
        let src = "locals {\n  env = [\"A=1\"]\n}\nresource \"docker_container\" \"c\" {\n  env = local.env\n}\n";
        let m = module(src);
        let [c] = m.containers(runtime_of).try_into().expect("one container");
        let [e] = c.env.as_slice() else {
            panic!("{:?}", c.env)
        };
        assert_eq!(e.name.value, "A");
        assert_eq!(e.value.value, s("1"));
        assert_eq!(text(src, e.name.span), "\"A=1\"");
    }

    #[test]
    fn agent_init_script_and_token_references() {
        let src = DOCKER_TEMPLATE;
        let m = module(src);
        let init: Vec<(String, &str)> = m
            .init_script_references()
            .into_iter()
            .map(|r| (r.agent, text(src, r.span)))
            .collect();
        assert_eq!(init, [("main".to_string(), "coder_agent.main.init_script")]);
        let token: Vec<(String, &str)> = m
            .token_references()
            .into_iter()
            .map(|r| (r.agent, text(src, r.span)))
            .collect();
        assert_eq!(token, [("main".to_string(), "coder_agent.main.token")]);
    }

    #[test]
    fn init_script_references_in_every_kind_of_expression() {
        let cases: &[(&str, &[&str])] = &[
            (
                "resource \"aws_instance\" \"vm\" {\n  user_data = <<-EOT\n    #!/bin/sh\n    ${coder_agent.vm.init_script}\n  EOT\n}\n",
                &["coder_agent.vm.init_script"],
            ),
            ("locals {\n  boot = coder_agent.x.init_script\n}\n", &["coder_agent.x.init_script"]),
            (
                "resource \"docker_container\" \"c\" {\n  count = 1\n  command = [\"sh\", \"-c\", coder_agent.main[count.index].init_script]\n}\n",
                &["coder_agent.main[count.index].init_script"],
            ),
            (
                "resource \"x\" \"y\" {\n  dynamic \"boot\" {\n    for_each = [1]\n    content {\n      script = base64encode(coder_agent.a.init_script)\n    }\n  }\n}\n",
                &["coder_agent.a.init_script"],
            ),
            // Must not count: another attribute, another resource type, a string that merely
            // spells the name.
            ("locals {\n  a = coder_agent.main.init\n}\n", &[]),
            ("locals {\n  a = coder_agent_main.init_script\n}\n", &[]),
            ("locals {\n  a = \"coder_agent.main.init_script\"\n}\n", &[]),
        ];
        for (src, want) in cases {
            let m = module(src);
            let got: Vec<&str> = m
                .init_script_references()
                .into_iter()
                .map(|r| text(src, r.span))
                .collect();
            assert_eq!(got, *want, "{src}");
        }
    }

    #[test]
    fn kubernetes_containers_and_an_agent_nobody_starts() {
        let src = K8S_TEMPLATE;
        let m = module(src);
        let containers = m.containers(runtime_of);
        let names: Vec<Option<&str>> = containers
            .iter()
            .map(|c| c.name.and_then(|n| n.value.value.as_str()))
            .collect();
        assert_eq!(names, [Some("dev"), Some("sidecar")]);
        let dev = &containers[0];
        assert_eq!(dev.runtime, ContainerRuntime::Kubernetes);
        assert_eq!(dev.resource.name().unwrap().value, "main");
        assert!(text(src, dev.entrypoint.unwrap().value.span).contains("init_script"));
        let env: Vec<(&str, &str)> = dev
            .env
            .iter()
            .map(|e| (text(src, e.name.span), text(src, e.value.span)))
            .collect();
        assert_eq!(
            env,
            [
                ("CODER_AGENT_TOKEN", "coder_agent.dev.token"),
                ("PORT", "\"8080\"")
            ]
        );
        assert_eq!(dev.ports[0].container.unwrap().value.as_port(), Some(8080));
        assert!(dev.ports[0].host.is_none());
        let sidecar = &containers[1];
        assert!(sidecar.entrypoint.is_none());
        let args = sidecar.command.unwrap().value.value.as_list().unwrap();
        assert_eq!(args[1].value, s("6380"));

        let started: Vec<String> = m
            .init_script_references()
            .into_iter()
            .map(|r| r.agent)
            .collect();
        assert_eq!(started, ["dev"], "orphan must not count as started");
        let agents: Vec<&str> = m.agents().iter().map(|a| a.name.value.as_str()).collect();
        assert_eq!(agents, ["dev", "orphan"]);
        let dev_agent = &m.agents()[0];
        assert!(dev_agent.block.attribute("login_before_ready").is_some());
        assert!(dev_agent.env.is_empty() && dev_agent.metadata_keys.is_empty());

        let [web] = m.apps().try_into().expect("one app");
        assert!(web.count.is_some());
        assert_eq!(web.command.unwrap().value.value, s("htop"));
        assert_eq!(web.hidden.unwrap().value.value, Value::Bool(true));
        assert_eq!(web.external.unwrap().value.value, Value::Bool(false));
        assert!(web.url.is_none());
    }

    #[test]
    fn coder_provider_version_constraint() {
        let cases: &[(&str, Option<&str>)] = &[
            (DOCKER_TEMPLATE, Some("\">= 2.0.0\"")),
            (K8S_TEMPLATE, Some("\"~> 0.23\"")),
            (
                "terraform {\n  required_providers {\n    coder = \"0.6.0\"\n  }\n}\n",
                Some("\"0.6.0\""),
            ),
            (
                "terraform {\n  required_providers {\n    cdr = { source = \"registry.terraform.io/coder/coder\", version = \"2.1.0\" }\n  }\n}\n",
                Some("\"2.1.0\""),
            ),
            (
                "terraform {\n  required_providers {\n    coder = { source = \"coder/coder\" }\n  }\n}\n",
                None,
            ),
            ("terraform {}\n", None),
        ];
        for (src, want) in cases {
            let m = module(src);
            let got = m
                .coder_provider()
                .and_then(|p| p.version)
                .map(|v| text(src, v.span));
            assert_eq!(got, *want, "{src}");
        }
        let m = module(cases[4].0);
        assert!(
            m.coder_provider().is_some(),
            "a pin without version still names the provider"
        );
        assert!(module(cases[5].0).coder_provider().is_none());
    }

    #[test]
    fn registry_module_names() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                "registry.coder.com/coder/code-server/coder",
                Some("code-server"),
            ),
            (
                "registry.coder.com/modules/jupyterlab/coder",
                Some("jupyterlab"),
            ),
            (
                "https://registry.coder.com/coder/kasmvnc/coder",
                Some("kasmvnc"),
            ),
            ("./modules/local", None),
            ("registry.terraform.io/hashicorp/consul/aws", None),
            ("registry.coder.com/coder", None),
        ];
        for (source, want) in cases {
            let src = format!("module \"m\" {{\n  source = \"{source}\"\n}}\n");
            let m = module(&src);
            assert_eq!(m.modules()[0].registry_name(), *want, "{source}");
        }
    }

    #[test]
    fn locals_from_another_file_resolve_with_their_own_file_id() {
        let locals = "locals {\n  host = \"${data.coder_workspace.me.name}.example.com\"\n  port = 8080\n}\n";
        let main = "resource \"coder_app\" \"a\" {\n  url = \"http://localhost:${local.port}\"\n  slug = \"a\"\n}\noutput \"origin\" {\n  value = \"https://a--${local.host}\"\n}\n";
        let m = TerraformModule::new(vec![parse(FileId(0), locals), parse(FileId(1), main)]);
        let [app] = m.apps().try_into().expect("one app");
        let url = &app.url.unwrap().value;
        assert_eq!(url.value, s("http://localhost:8080"));
        assert_eq!(url.span.file, FileId(1));
        assert_eq!(text(main, url.span), "\"http://localhost:${local.port}\"");
        let output = m.blocks().find(|b| b.kind.value == "output").unwrap();
        let Value::Template(parts) = &output.value("value").unwrap().value else {
            panic!()
        };
        let TemplatePart::Reference(r) = &parts[1] else {
            panic!("{parts:?}")
        };
        assert_eq!(r.span.file, FileId(0));
        assert_eq!(text(locals, r.span), "data.coder_workspace.me.name");
    }
}
