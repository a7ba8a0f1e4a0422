# The agent's startup script starts the compose stack that publishes the app's port 1; nothing
# answers there, so the stack is not up.
resource "coder_agent" "dev" {
  os             = "linux"
  arch           = "amd64"
  startup_script = <<-EOT
    docker compose -p notes -f stack.yml up -d
  EOT
}

resource "coder_app" "api" {
  agent_id = coder_agent.dev.id
  slug     = "api"
  url      = "http://localhost:1"
}
