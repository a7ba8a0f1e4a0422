# Written by portolan from portolan.yaml: change the spec and run `portolan render`, not this file. portolan-sha256:7f976a0ba58723a0775bba91c1d1b308b482d8cde28801f89e8b4f42f6729e8e
# A complete Coder template for a: one Docker container per workspace, running the
# Coder agent and, inside it, Docker for the compose services (this needs the sysbox runtime on
# the Docker host). The apps, origins and agent environment are in coder-apps.tf.

terraform {
  required_providers {
    coder = {
      source  = "coder/coder"
      version = ">= 2.1"
    }
    docker = {
      source = "kreuzwerker/docker"
    }
  }
}

provider "docker" {}

data "coder_provisioner" "me" {}

data "coder_workspace" "me" {}

data "coder_workspace_owner" "me" {}

resource "coder_agent" "main" {
  arch = data.coder_provisioner.me.arch
  os   = "linux"
  dir  = "/home/coder/a"
  env  = local.portolan_agent_env

  startup_script_behavior = "non-blocking"
  startup_script          = <<-EOT
    set -e
    if ! docker info >/dev/null 2>&1; then
      sudo dockerd >/tmp/dockerd.log 2>&1 &
      for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
    fi
    if [ -x /home/coder/a/start-workspace.sh ]; then
      /home/coder/a/start-workspace.sh
    else
      echo /home/coder/a/start-workspace.sh "not found: clone the project there to start its services"
    fi
  EOT
}

resource "docker_volume" "home" {
  name = "coder-${data.coder_workspace.me.id}-home"

  lifecycle {
    ignore_changes = all
  }
}

resource "docker_container" "workspace" {
  count    = data.coder_workspace.me.start_count
  image    = "codercom/enterprise-base:latest"
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
}
