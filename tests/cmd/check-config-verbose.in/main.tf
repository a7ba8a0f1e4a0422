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

resource "coder_app" "notes" {
  agent_id  = coder_agent.dev.id
  slug      = "notes"
  url       = "http://localhost:9000"
  subdomain = true
}
