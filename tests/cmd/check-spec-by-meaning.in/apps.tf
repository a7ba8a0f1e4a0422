resource "coder_agent" "main" {
  os             = "linux"
  arch           = "amd64"
  startup_script = "docker compose up -d; uvicorn notes:app --port 8000 &"
}

resource "coder_app" "api" {
  agent_id  = coder_agent.main.id
  slug      = "api"
  url       = "http://localhost:3210"
  subdomain = true
  share     = "public"
  hidden    = true
}

resource "coder_app" "notes" {
  agent_id     = coder_agent.main.id
  slug         = "notes"
  display_name = "Notes"
  url          = "http://localhost:8000"
  subdomain    = true
}
