# The app's port is published by the compose file, whose stack is not running: nothing answers
# on port 1 (the published port), so the stack is down.
resource "coder_agent" "dev" {
  os   = "linux"
  arch = "amd64"
}

resource "coder_app" "api" {
  agent_id = coder_agent.dev.id
  slug     = "api"
  url      = "http://localhost:1"
}
