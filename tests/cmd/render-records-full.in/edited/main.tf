# Written by portolan from portolan.yaml: change the spec and run `portolan render`, not this file. portolan-sha256:e0155d192accc966b0ea55dcf5fa2dda0f6dfa6fe5db61b6ba0748aa89940362
# A complete Coder template for a: one Docker container per workspace running the Coder
# agent, and a Docker daemon for the compose services whose published ports are on the agent's
# localhost, where the apps in coder-apps.tf point.
# Docker runs inside the workspace container (spec: `coder: { docker: sysbox }`, the default),
# so compose's ports are on the agent's localhost.
# Needs from the Docker host: the sysbox runtime (sysbox-runc); without it use `docker: dind`.
# Not offered: mounting the host's /var/run/docker.sock into the workspace. Compose would then
# publish its ports on the Docker host, which the agent's localhost does not reach, so the apps
# would answer 502 (and every workspace would control the host's Docker).
# Set its variables `image`, `agent_env` and `docker_socket` in a terraform.tfvars file beside it
# (`coder templates push` reads it), or with `coder templates push --var NAME=VALUE` (a map as JSON).

terraform {
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

variable "docker_socket" {
  description = "(Optional) URI of the Docker daemon that creates the workspace's containers, as the provisioner reaches it (unix:// or tcp://); empty: the provider's default."
  type        = string
  default     = ""
}

provider "docker" {
  host = var.docker_socket != "" ? var.docker_socket : null
}

variable "image" {
  description = "Image of the workspace container: it needs bash, curl, sudo and Docker (dockerd) for the compose services."
  type        = string
  default     = "codercom/enterprise-base:latest"
}

variable "agent_env" {
  description = "More environment for coder_agent.main, merged with portolan's (whose keys win: the start script builds the origins from them)."
  type        = map(string)
  default     = {}
}

data "coder_provisioner" "me" {}

data "coder_workspace" "me" {}

data "coder_workspace_owner" "me" {}

locals {
  # Lets the owner commit right away, as in Coder's docker template; `agent_env` overrides them.
  portolan_git_env = {
    GIT_AUTHOR_NAME     = coalesce(data.coder_workspace_owner.me.full_name, data.coder_workspace_owner.me.name)
    GIT_AUTHOR_EMAIL    = data.coder_workspace_owner.me.email
    GIT_COMMITTER_NAME  = coalesce(data.coder_workspace_owner.me.full_name, data.coder_workspace_owner.me.name)
    GIT_COMMITTER_EMAIL = data.coder_workspace_owner.me.email
  }
}

resource "coder_agent" "main" {
  arch = data.coder_provisioner.me.arch
  os   = "linux"
  dir  = "/home/coder/a"
  env  = merge(local.portolan_git_env, var.agent_env, local.portolan_agent_env)

  startup_script_behavior = "non-blocking"
  startup_script          = <<-EOT
    set -e
    if ! docker info >/dev/null 2>&1; then
      sudo sh -c 'dockerd >/tmp/dockerd.log 2>&1' &
      for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
    fi
    project=/home/coder/a
    if [ -x /home/coder/a/start-workspace.sh ]; then
      /home/coder/a/start-workspace.sh
    else
      echo "no start-workspace.sh in $project yet: clone the project there and run ./start-workspace.sh, or set \`coder: { repo: URL }\` in the spec so that the template clones it"
    fi
  EOT

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

  metadata {
    display_name = "Home Disk"
    key          = "2_home_disk"
    script       = "coder stat disk --path $${HOME}"
    interval     = 60
    timeout      = 1
  }
}

resource "docker_volume" "home" {
  name = "coder-${data.coder_workspace.me.id}-home"

  lifecycle {
    ignore_changes = all
  }

  # Labels that keep track of orphan resources.
  labels {
    label = "coder.owner"
    value = data.coder_workspace_owner.me.name
  }
  labels {
    label = "coder.owner_id"
    value = data.coder_workspace_owner.me.id
  }
  labels {
    label = "coder.workspace_id"
    value = data.coder_workspace.me.id
  }
  # Outdated once the workspace is renamed; useful to clean out dangling volumes.
  labels {
    label = "coder.workspace_name_at_creation"
    value = data.coder_workspace.me.name
  }
}

resource "docker_container" "workspace" {
  count    = data.coder_workspace.me.start_count
  image    = var.image
  name     = "coder-${lower(data.coder_workspace_owner.me.name)}-${lower(data.coder_workspace.me.name)}"
  hostname = data.coder_workspace.me.name
  runtime  = "sysbox-runc"

  # The agent's init script downloads and starts the agent; inside the container the Coder
  # deployment is reached through the Docker host.
  entrypoint = ["sh", "-c", replace(coder_agent.main.init_script, "/localhost|127\\.0\\.0\\.1/", "host.docker.internal")]
  env        = ["CODER_AGENT_TOKEN=${coder_agent.main.token}"]

  host {
    host = "host.docker.internal"
    ip   = "host-gateway"
  }

  volumes {
    container_path = "/home/coder"
    volume_name    = docker_volume.home.name
    read_only      = false
  }

  # Labels that keep track of orphan resources.
  labels {
    label = "coder.owner"
    value = data.coder_workspace_owner.me.name
  }
  labels {
    label = "coder.owner_id"
    value = data.coder_workspace_owner.me.id
  }
  labels {
    label = "coder.workspace_id"
    value = data.coder_workspace.me.id
  }
  labels {
    label = "coder.workspace_name"
    value = data.coder_workspace.me.name
  }
}
