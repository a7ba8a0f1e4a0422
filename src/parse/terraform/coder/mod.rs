//! Coder-specific views over a [`TerraformModule`]: agents, apps, scripts, `coder_env`, registry
//! modules, the containers that run the agent, the `coder` provider pin, and where an agent's
//! `init_script` and `token` are used.
//!
//! Each view is a thin borrow of the generic [`Block`]s: the named fields are shortcuts, and any
//! other attribute (including ones removed from the provider, like `coder_app.name` or
//! `coder_agent.login_before_ready`) is one `view.block.attribute("...")` away.
//!
//! One file per view: `agent.rs` (agents and the uses of `init_script` and `token`), `app.rs`,
//! `script.rs`, `env.rs` (the [`EnvVar`] shape and `coder_env`), `module.rs`, `container.rs` and
//! `provider.rs`.

mod agent;
mod app;
mod container;
mod env;
mod module;
mod provider;
mod script;

pub use agent::{Agent, AgentReference};
pub use app::{AppBlock, HealthcheckBlock};
pub use container::{Container, ContainerPort, ContainerRuntime};
pub use env::{CoderEnv, EnvVar};
pub use module::ModuleCall;
pub use provider::{locked_coder_version, ProviderRequirement};
pub use script::CoderScript;

use super::{Attribute, Block, Spanned, TerraformModule};

/// `coder_agent.NAME...` in an attribute like `agent_id`.
pub(crate) fn agent_of(attr: Option<&Attribute>) -> Option<&str> {
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

impl TerraformModule {
    /// The resources of one type that have a name, with the name.
    fn named_resources<'a>(
        &'a self,
        resource_type: &'a str,
    ) -> impl Iterator<Item = (&'a Block, &'a Spanned<String>)> + 'a {
        self.resources(resource_type)
            .filter_map(|b| b.name().map(|n| (b, n)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::parse::terraform::{parse, FileFunction, TemplatePart, TerraformModule, Value};
    use crate::source::{FileId, Span};

    /// Which resources hold containers, as the built-in knowledge base says.
    pub(crate) fn runtime_of(resource_type: &str) -> Option<ContainerRuntime> {
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

    pub(crate) fn module(src: &str) -> TerraformModule {
        let module = TerraformModule::new(vec![parse(FileId(0), src)]);
        assert_eq!(
            module.diagnostics().count(),
            0,
            "{:?}",
            module.files[0].diagnostics
        );
        module
    }

    pub(crate) fn text(src: &str, span: Span) -> &str {
        &src[span.range()]
    }

    pub(crate) fn s(text: &str) -> Value {
        Value::String(text.to_string())
    }

    pub(crate) fn known_str(attr: Option<&Attribute>) -> &str {
        attr.and_then(|x| x.value.value.as_str()).unwrap_or("-")
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
