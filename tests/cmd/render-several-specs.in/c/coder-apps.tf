# Written by portolan from portolan.yaml: change the spec and run `portolan render`, not this file. portolan-sha256:9e8c54255ffede095dbbcaa976fd4b4b499abfd240bca9c4a5f44dc7b75500b2
# Coder apps of c. Drop this file into a Coder template that declares
# coder_agent.main, data.coder_workspace.me and data.coder_workspace_owner.me, and set
#   env = local.portolan_agent_env
# (or merge it) in coder_agent.main so that start-workspace.sh computes the same origins.

variable "wildcard_domain" {
  description = "Wildcard domain of the Coder deployment (the part after *. in CODER_WILDCARD_ACCESS_URL)."
  type        = string
  default     = ""
}

locals {
  portolan_host_suffix = "${lower(data.coder_workspace.me.name)}--${lower(data.coder_workspace_owner.me.name)}.${var.wildcard_domain}"

  # Public origin of every app, as browsers and the services themselves reach it.
  portolan_origins = {
    "web" = "https://web--main--${local.portolan_host_suffix}"
  }

  # Environment for coder_agent.main: start-workspace.sh builds the same origins from it.
  portolan_agent_env = {
    PORTOLAN_WILDCARD_DOMAIN = var.wildcard_domain
    PORTOLAN_SCHEME          = "https"
  }
}

resource "coder_app" "web" {
  agent_id     = coder_agent.main.id
  slug         = "web"
  display_name = "C by hand"
  url          = "http://localhost:8002"
  subdomain    = true
  share        = "owner"
}
