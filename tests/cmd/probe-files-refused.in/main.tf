# An app on port 1, where nothing listens: the probe finds the connection refused at once.
resource "coder_agent" "dev" {
  os             = "linux"
  arch           = "amd64"
  startup_script = "uvicorn notes:app --port 1 &"
}

resource "coder_app" "api" {
  agent_id = coder_agent.dev.id
  slug     = "api"
  url      = "http://localhost:1"
}
