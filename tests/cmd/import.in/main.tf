resource "coder_agent" "main" {
  os             = "linux"
  arch           = "amd64"
  startup_script = "docker compose up -d"
}

resource "coder_app" "api" {
  agent_id  = coder_agent.main.id
  slug      = "api"
  url       = "http://localhost:8080"
  subdomain = true
  share     = "authenticated"
}

resource "coder_app" "ghost" {
  agent_id = coder_agent.main.id
  slug     = "ghost"
  url      = "http://localhost:9999"
}
