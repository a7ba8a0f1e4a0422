//! Helpers shared by the shell parser's unit tests.

use super::*;

pub(super) fn facts(src: &str) -> ScriptFacts {
    parse_script(src, FileId(0), 0)
}

/// The byte range of the `n`th (0-based) occurrence of `needle` in `src`.
pub(super) fn nth(src: &str, needle: &str, n: usize) -> std::ops::Range<usize> {
    let start = src
        .match_indices(needle)
        .nth(n)
        .expect("needle in source")
        .0;
    start..start + needle.len()
}

pub(super) fn at(src: &str, needle: &str) -> std::ops::Range<usize> {
    nth(src, needle, 0)
}

pub(super) fn command<'f>(facts: &'f ScriptFacts, program: &str) -> &'f Command {
    facts
        .commands
        .iter()
        .find(|c| c.program_name.as_deref() == Some(program))
        .unwrap_or_else(|| panic!("no command {program} in {:#?}", facts.commands))
}

pub(super) fn vars(word: &Word) -> Vec<&str> {
    word.parts
        .iter()
        .filter_map(|p| match p {
            WordPart::Variable(v) => Some(v.name.as_str()),
            _ => None,
        })
        .collect()
}

pub(super) const CONVEX: &str = r#"#!/bin/bash
set -e
export CONVEX_CLOUD_ORIGIN="${CONVEX_CLOUD_ORIGIN:-http://127.0.0.1:3210}"
exec convex-local-backend --port 3210 --site-proxy-port 3211 \
  --convex-origin "$CONVEX_CLOUD_ORIGIN" \
  --convex-site "$CONVEX_SITE_ORIGIN" \
  --instance-name "${INSTANCE_NAME:-convex}"
"#;

pub(super) const STARTUP: &str = r#"#!/bin/sh
set -e
curl -fsSL https://code-server.dev/install.sh | sh -s -- --method=standalone
/tmp/code-server/bin/code-server --auth none --port 13337 >/tmp/code-server.log 2>&1 &
cd ~/app && pnpm install && pnpm dev --port 5173 &
npx next dev -p 3000
PORT=3000 node server.js
sudo -u coder bash -c 'cd /srv && PORT=8080 nohup node api.js --port=8081 &'
vite --host 0.0.0.0 -p3001 --strictPort -- --port 1
"#;

pub(super) const WRITES: &str = r#"cat > .env.local <<EOF
VITE_CONVEX_URL=${CONVEX_URL}
EOF
cat <<'EOF' >> "$HOME/.env"
A=$NOT_EXPANDED
EOF
echo "KEY=v" >> .env
printf '%s\n' "X=1" "Y=2" > f.env
tee config.env <<EOF
Z=3
EOF
{ echo A=1; echo -n B=2; } > grouped.env
echo "K=1" | sudo tee -a /etc/environment >/dev/null
cat <<EOF | tee piped.env
P=1
EOF
tee -a here.env <<< "H=1"
echo not-a-file
cat existing.env > copy.env
"#;

pub(super) const CODER_URLS: &str = r#"DOMAIN="coder.example.com"
export CONVEX_CLOUD_ORIGIN="https://convex-api--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.${DOMAIN}"
SITE=https://convex-site--main--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.$DOMAIN/http
PF="https://3210s--${WORKSPACE}--${OWNER}.coder.example.com/api?x=1"
LITERAL=https://app--ws--alice.coder.example.com:8443
curl -s "http://localhost:${PORT:-3000}/health" https://example.com https://xn--80ak6aa92e.com https://a--b.example.com https://UP--ws--o.example.com
"#;

pub(super) const TF: &str = r#"resource "coder_agent" "main" {
  startup_script = <<-EOT
    set -e
    code-server --port ${local.port} --auth none &
    echo "URL=https://app--$${CODER_WORKSPACE_NAME}--$${CODER_WORKSPACE_OWNER_NAME}.example.com" >> .env
    %{ if var.dev }
    pnpm dev --port ${var.dev_port}
    %{ endif }
    serve --listen=${lookup(var.ports, "web", 80)}
  EOT
}
"#;
