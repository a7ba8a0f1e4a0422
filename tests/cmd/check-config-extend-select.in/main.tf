data "coder_workspace" "me" {}

resource "coder_agent" "dev" {
  os             = "linux"
  arch           = "amd64"
  startup_script = "docker compose up -d"
}

resource "docker_container" "workspace" {
  image      = "codercom/enterprise-base:ubuntu"
  entrypoint = ["sh", "-c", coder_agent.dev.init_script]
  env        = ["CODER_AGENT_TOKEN=${coder_agent.dev.token}"]
}

resource "coder_app" "api" {
  agent_id  = coder_agent.dev.id
  slug      = "api"
  url       = "http://localhost:3210"
  subdomain = false
  share     = "public"
}

resource "coder_app" "actions" {
  agent_id  = coder_agent.dev.id
  slug      = "actions"
  url       = "http://localhost:3212"
  subdomain = true
  share     = "public"
}
