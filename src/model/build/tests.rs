//! What [`super::build`] makes of each kind of file, and how the files explain each other.

use super::*;
use crate::model::{AppOrigin, EnvText, ListenerSource, Place, ScriptOrigin, Share};

fn model(files: &[(&str, &str, FileKind)]) -> Workspace {
    super::from_texts(files)
}

fn vars<'w>(ws: &'w Workspace, scope: &EnvScope) -> Vec<(&'w str, Option<&'w str>)> {
    ws.env
        .iter()
        .filter(|v| v.scope == *scope)
        .map(|v| (v.name.as_str(), v.value.as_deref()))
        .collect()
}

#[test]
fn terraform_gives_apps_and_env_by_scope() {
    let tf = r#"resource "coder_agent" "main" {
  env = { API = "https://api--main--ws--me.example.com", N = 3 }
}
resource "coder_app" "web" {
  slug      = "web"
  url       = "http://localhost:3000"
  share     = "authenticated"
  subdomain = true
  healthcheck {
    url = "http://localhost:3000/health"
  }
}
resource "coder_app" "many" {
  count  = 2
  slug   = "many"
  hidden = true
  share  = var.share
}
resource "coder_app" "unnamed" {
  slug = var.slug
}
resource "coder_env" "e" {
  name  = "TOKEN_URL"
  value = "http://localhost:${local.port}"
}
"#;
    let ws = model(&[("main.tf", tf, FileKind::Terraform)]);
    let apps: Vec<(&str, Share, bool, bool, bool)> = ws
        .apps
        .iter()
        .map(|a| (a.slug.as_str(), a.share, a.subdomain, a.hidden, a.repeated))
        .collect();
    // An app whose slug is not static is not in the model.
    assert_eq!(
        apps,
        [
            ("web", Share::Authenticated, true, false, false),
            ("many", Share::Other, false, true, true)
        ]
    );
    let web = &ws.apps[0];
    assert_eq!(web.url.as_ref().and_then(|u| u.local_port()), Some(3000));
    assert_eq!(
        web.healthcheck.as_ref().map(|u| u.path.as_str()),
        Some("/health")
    );
    assert_eq!(web.declared_by, AppOrigin::Resource("web".into()));
    assert_eq!(ws.sources.slice(web.slug_span), "\"web\"");

    assert_eq!(
        vars(&ws, &EnvScope::AgentEnv),
        [
            ("API", Some("https://api--main--ws--me.example.com")),
            ("N", Some("3"))
        ]
    );
    let api = ws.env.iter().find(|v| v.name == "API").unwrap();
    assert_eq!(api.url.as_ref().and_then(UrlFact::slug), Some("api"));
    // References stay as written: `${local.port}`.
    assert_eq!(
        vars(&ws, &EnvScope::CoderEnv),
        [("TOKEN_URL", Some("http://localhost:${local.port}"))]
    );
    assert!(ws.template.is_some());
}

#[test]
fn compose_services_ports_env_and_listeners() {
    let compose = "services:
  backend:
    image: ghcr.io/get-convex/convex-backend:latest
    ports: [\"${API_PORT}:3210\", \"8211:3211\"]
    environment:
      CONVEX_CLOUD_ORIGIN: http://localhost:3210
    env_file: [./conf/../backend.env]
    volumes: [./start.sh:/start.sh:ro, data:/data]
    depends_on: [db]
  db:
    image: postgres:16
    network_mode: host
";
    let ws = model(&[
        ("app/.env", "API_PORT=9000\n", FileKind::EnvFile),
        ("app/docker-compose.yml", compose, FileKind::Compose),
    ]);
    let backend = &ws.services[0];
    assert_eq!(backend.name, "backend");
    // The `.env` beside the compose file feeds its interpolation.
    let published: Vec<(Option<u16>, u16)> = backend
        .published
        .iter()
        .map(|p| (p.host.map(|h| h.start), p.container.start))
        .collect();
    assert_eq!(published, [(Some(9000), 3210), (Some(8211), 3211)]);
    assert_eq!(backend.env_files[0].0, "app/backend.env");
    assert_eq!(backend.mounts.len(), 1, "only host paths");
    assert_eq!(backend.mounts[0].0, "app/start.sh");
    assert_eq!(backend.depends_on[0].0, "db");
    assert!(backend.listeners_known && !backend.network_mode_host);
    assert_eq!(
        vars(&ws, &EnvScope::Compose(0)),
        [("CONVEX_CLOUD_ORIGIN", Some("http://localhost:3210"))]
    );
    // The image's listeners run in its container; a host-network service's on the workspace.
    let ports = |place| -> Vec<u16> { ws.listeners_in(place).map(|l| l.port).collect() };
    assert_eq!(ports(Place::Container(0)), [3210, 3211]);
    assert!(ws.services[1].network_mode_host);
    assert_eq!(ports(Place::Workspace), [5432]);
    assert_eq!(ws.compose_files.len(), 1);
    assert_eq!(ws.env_files().count(), 1);
}

#[test]
fn scripts_run_where_they_are_mounted_and_set_what_they_assign() {
    let compose = "services:\n  web:\n    image: node:20\n    volumes: [./run.sh:/run.sh]\n";
    let run = "#!/bin/sh\nPORT=4000\nexport ORIGIN=\"http://localhost:$PORT\"\nnpx vite --port \"$PORT\"\n";
    let tf = r#"resource "coder_agent" "main" {
  startup_script = "code-server --port 13337 &"
}
resource "coder_script" "setup" {
  script = templatefile("${path.module}/setup.tpl", {})
}
"#;
    let setup = "#!/bin/sh\nexport SETUP=1\n";
    let ws = model(&[
        ("compose.yml", compose, FileKind::Compose),
        ("run.sh", run, FileKind::Script),
        ("main.tf", tf, FileKind::Terraform),
        // Not named like a script: a templatefile() target is one all the same.
        ("setup.tpl", setup, FileKind::EnvFile),
    ]);
    let scripts: Vec<(&str, &ScriptOrigin, Place)> = ws
        .scripts
        .iter()
        .map(|s| {
            let path = ws.sources.get(s.file).path.to_str().unwrap();
            (path, &s.origin, s.place)
        })
        .collect();
    assert_eq!(
        scripts,
        [
            ("run.sh", &ScriptOrigin::File, Place::Container(0)),
            ("setup.tpl", &ScriptOrigin::File, Place::Workspace),
            (
                "main.tf",
                &ScriptOrigin::AgentStartup("main".into()),
                Place::Workspace
            ),
        ]
    );
    // Assignments are evaluated in order; a known program listens where its script runs and
    // makes the container's listeners known.
    assert_eq!(
        vars(&ws, &EnvScope::Script),
        [
            ("PORT", Some("4000")),
            ("ORIGIN", Some("http://localhost:4000")),
            ("SETUP", Some("1"))
        ]
    );
    assert!(ws.services[0].listeners_known);
    let listeners: Vec<(u16, Place, &str)> = ws
        .listeners
        .iter()
        .map(|l| (l.port, l.place, l.program.as_str()))
        .collect();
    assert_eq!(
        listeners,
        [
            (4000, Place::Container(0), "vite"),
            (13337, Place::Workspace, "code-server")
        ]
    );
}

/// Name, path, exact, kind, content known, managed.
type Written<'a> = (&'a str, &'a str, bool, Option<FileKind>, bool, bool);

/// Agents with `os = "windows"` run PowerShell: their startup scripts, `coder_script`s and the
/// files those load are not read as bash (no syntax notes, no listeners); a Linux agent's are.
#[test]
fn scripts_of_windows_agents_are_not_read_as_bash() {
    let tf = |os: &str| {
        format!(
            r#"resource "coder_agent" "main" {{
  os             = "{os}"
  startup_script = "ttyd -p 7681 bash"
}}
resource "coder_script" "tools" {{
  agent_id     = coder_agent.main.id
  display_name = "tools"
  run_on_start = true
  script       = templatefile("${{path.module}}/tools.sh", {{}})
}}
resource "coder_script" "more" {{
  agent_id     = coder_agent.main.id
  display_name = "more"
  run_on_start = true
  script       = "foreach ($p in @(1, 2)) {{ Write-Host $p }}"
}}
"#
        )
    };
    let sh = "if (-not (Test-Path C:\\x)) { exit 1 }\n";
    let windows = model(&[
        ("main.tf", &tf("windows"), FileKind::Terraform),
        ("tools.sh", sh, FileKind::Script),
    ]);
    assert!(windows.listeners.is_empty(), "{:?}", windows.listeners);
    assert!(
        windows.parse_errors.is_empty(),
        "{:?}",
        windows.parse_errors
    );
    let linux = model(&[
        ("main.tf", &tf("linux"), FileKind::Terraform),
        ("tools.sh", sh, FileKind::Script),
    ]);
    assert_eq!(linux.listeners.len(), 1, "{:?}", linux.listeners);
    assert!(!linux.parse_errors.is_empty());
}

#[test]
fn files_scripts_write_and_the_env_files_among_them() {
    let script = r#"#!/bin/sh
cat > .env.local <<EOF
API_URL=http://localhost:3210
BAD KEY=1
EOF
echo NOTE=https://x--ws--me.example.com > notes.txt
echo "QUOTED=1" >> app.env
cat > "$DIR/out/config.env" <<'EOF'
A=1
EOF
write_managed .env
"#;
    let ws = model(&[("scripts/start.sh", script, FileKind::Script)]);
    let written: Vec<Written> = ws
        .written_files
        .iter()
        .map(|w| {
            (
                w.name.as_str(),
                w.path.to_str().unwrap(),
                w.exact,
                w.kind,
                w.content.is_some(),
                w.managed,
            )
        })
        .collect();
    let env = Some(FileKind::EnvFile);
    assert_eq!(
        written,
        [
            (".env.local", "scripts/.env.local", true, env, true, false),
            ("notes.txt", "scripts/notes.txt", true, None, true, false),
            // Quoted: the bytes written are not the bytes in the script.
            ("app.env", "scripts/app.env", true, env, false, false),
            // After a variable only the tail is known.
            ("config.env", "out/config.env", false, env, true, false),
            (".env", "scripts/.env", true, env, false, true),
        ]
    );
    assert!(ws.written_files[3].lands_on(Path::new("app/out/config.env")));
    assert!(!ws.written_files[0].lands_on(Path::new(".env.local")));

    // Only env files are env: notes.txt sets nothing.
    assert_eq!(
        vars(&ws, &EnvScope::Script),
        [("API_URL", Some("http://localhost:3210")), ("A", Some("1"))]
    );
    let texts: Vec<&EnvText> = ws.env_texts().iter().collect();
    assert_eq!(texts.len(), 2);
    assert!(texts.iter().all(|t| t.written_by.is_some()));
    // A problem of the written text is kept, its span in the script.
    let problem = texts[0].env.problems.first().expect("a problem");
    assert!(ws.sources.slice(problem.span).contains("BAD KEY"));
    assert_eq!(ws.env_files().count(), 0);
}

#[test]
fn registry_modules_bring_a_listener_and_an_app() {
    let tf = r#"module "code-server" {
  source   = "registry.coder.com/coder/code-server/coder"
  agent_id = coder_agent.main.id
  share    = var.share
}
module "editor" {
  source = "registry.coder.com/coder/vscode-web/coder"
  port   = 13400
  slug   = "editor"
  share  = "public"
}
module "local" {
  source = "./modules/local"
}
"#;
    let ws = model(&[("main.tf", tf, FileKind::Terraform)]);
    let modules: Vec<(&str, &str, u16, Option<&str>)> = ws
        .modules
        .iter()
        .map(|m| (m.label.as_str(), m.name.as_str(), m.port, m.slug.as_deref()))
        .collect();
    assert_eq!(
        modules,
        [
            ("code-server", "code-server", 13337, Some("code-server")),
            ("editor", "vscode-web", 13400, Some("editor"))
        ]
    );
    let apps: Vec<(&str, Share, Option<u16>)> = ws
        .apps
        .iter()
        .map(|a| {
            let port = a.url.as_ref().and_then(|u| u.local_port());
            (a.slug.as_str(), a.share, port)
        })
        .collect();
    // A share that is not a static string is left to the module (its default, owner).
    assert_eq!(
        apps,
        [
            ("code-server", Share::Owner, Some(13337)),
            ("editor", Share::Public, Some(13400))
        ]
    );
    let sources: Vec<&ListenerSource> = ws.listeners.iter().map(|l| &l.source).collect();
    assert_eq!(
        sources,
        [
            &ListenerSource::Module("code-server".into()),
            &ListenerSource::Flag("port".into())
        ]
    );
}

#[test]
fn normalize_keeps_parents_past_the_start() {
    for (path, want) in [
        ("a/./b/../c", "a/c"),
        ("../a", "../a"),
        ("a/../../b", "../b"),
        ("/x/../y", "/y"),
    ] {
        assert_eq!(normalize(Path::new(path)), PathBuf::from(want), "{path}");
    }
}

#[test]
fn external_and_command_apps_proxy_no_url() {
    let tf = r#"resource "coder_app" "docs" {
  slug     = "docs"
  url      = "https://coder.com/docs"
  external = true
}
resource "coder_app" "maybe" {
  slug     = "maybe"
  url      = "http://localhost:3000"
  external = var.external
}
resource "coder_app" "proxied" {
  slug     = "proxied"
  url      = "https://localhost:8443"
  external = false
}
resource "coder_app" "htop" {
  slug    = "htop"
  command = "htop"
  url     = "http://localhost:8080"
}
resource "coder_app" "web" {
  slug    = "web"
  command = null
  url     = "http://localhost:8080"
}
"#;
    let ws = model(&[("main.tf", tf, FileKind::Terraform)]);
    // slug, external, command, proxied port
    let apps: Vec<(&str, bool, bool, Option<u16>)> = ws
        .apps
        .iter()
        .map(|a| {
            let port = a.url.as_ref().and_then(|u| u.local_port());
            (a.slug.as_str(), a.external, a.command, port)
        })
        .collect();
    assert_eq!(
        apps,
        [
            ("docs", true, false, None),
            ("maybe", true, false, None),
            ("proxied", false, false, Some(8443)),
            ("htop", false, true, None),
            ("web", false, false, Some(8080)),
        ]
    );
}

/// URLs built in a script from pieces name the app their slug names, wherever the slug is held;
/// a slug the script does not know (assigned twice, never assigned) names none.
#[test]
fn script_urls_built_from_pieces_name_apps() {
    let sh = r#"D=coder.example.com
SLUG=convex-site
TWICE=convex-api
TWICE=convex-site
export A="https://$SLUG--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.$D"
export B="https://${TWICE}--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.$D"
export C="https://$NOPE--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.$D"
SITE="https://${SLUG}--main--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.$D"
cat > .env.local <<EOF
E=$SITE
EOF
cat > .env.raw <<'EOF'
F=$SITE
EOF
curl "https://$SLUG--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.$D/version"
"#;
    let ws = model(&[("start.sh", sh, FileKind::Script)]);
    let slug_of = |name: &str| {
        let var = ws.env.iter().find(|v| v.name == name).expect(name);
        let url = var.url.as_ref();
        (
            url.and_then(|u| u.slug()).map(str::to_owned),
            url.and_then(|u| u.slug_origin)
                .map(|s| ws.sources.slice(s).to_owned()),
        )
    };
    let site = (
        Some("convex-site".to_owned()),
        Some("convex-site".to_owned()),
    );
    assert_eq!(slug_of("A"), site);
    assert_eq!(slug_of("SITE"), site);
    assert_eq!(slug_of("E"), site);
    assert_eq!(slug_of("B"), (None, None));
    assert_eq!(slug_of("C"), (None, None));
    assert_eq!(slug_of("F"), (None, None));
    // The URL in `curl`: its slug is reported where it is set.
    let hosts: Vec<(String, String)> = ws.scripts[0]
        .urls
        .iter()
        .filter_map(|u| u.coder_host.as_ref())
        .map(|h| (h.slug.clone(), ws.sources.slice(h.slug_span).to_owned()))
        .collect();
    assert!(hosts.contains(&("convex-site".into(), "convex-site".into())));
    assert!(
        hosts.iter().all(|(slug, _)| slug == "convex-site"),
        "{hosts:?}"
    );
}

/// Coder hosts keep their agent part: in a script's URLs (written, or built from pieces), in
/// env values and in the template's `locals`; an agent not known statically is none.
#[test]
fn coder_hosts_keep_their_agent() {
    let sh = r#"SLUG=web
curl "https://code-server--Dev--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.example.com/"
curl "https://$SLUG--dev--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.example.com/"
curl "https://api--$AGENT--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.example.com/"
curl "https://site--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.example.com/"
"#;
    let tf = r#"resource "coder_agent" "main" {
  os   = "linux"
  arch = "amd64"
  env = {
    API = "https://api--main--${data.coder_workspace.me.name}--${data.coder_workspace_owner.me.name}.example.com"
  }
}
locals {
  origins = {
    web = "https://web--main--${lower(data.coder_workspace.me.name)}--${data.coder_workspace_owner.me.name}.example.com"
  }
}
"#;
    let ws = model(&[
        ("start.sh", sh, FileKind::Script),
        ("main.tf", tf, FileKind::Terraform),
    ]);
    let script: Vec<(String, Option<String>)> = ws
        .scripts
        .iter()
        .flat_map(|s| &s.urls)
        .filter_map(|u| u.coder_host.as_ref())
        .map(|h| (h.slug.clone(), h.agent.clone()))
        .collect();
    let pair = |slug: &str, agent: Option<&str>| (slug.to_owned(), agent.map(str::to_owned));
    assert_eq!(
        script,
        [
            pair("code-server", Some("dev")),
            pair("web", Some("dev")),
            pair("api", None),
            pair("site", None),
        ]
    );
    let api = ws.env.iter().find(|v| v.name == "API").expect("API");
    assert_eq!(
        api.url.as_ref().and_then(|u| u.agent.as_deref()),
        Some("main")
    );
    let template: Vec<(Option<&str>, Option<&str>)> = ws
        .template_urls
        .iter()
        .map(|u| (u.slug(), u.agent.as_deref()))
        .collect();
    assert_eq!(template, [(Some("web"), Some("main"))]);
}

/// Hosts built in Terraform: a slug from a local or from `coder_app.NAME.slug` names that app;
/// a slug from a variable without a default names none.
#[test]
fn terraform_hosts_built_from_locals_and_app_slugs_name_apps() {
    let tf = r#"variable "slug" {}
locals {
  slug = "convex-site"
  host = "${local.slug}--${data.coder_workspace.me.name}--${data.coder_workspace_owner.me.name}.${var.domain}"
}
resource "coder_app" "site" {
  slug = "convex-site"
}
resource "coder_agent" "main" {
  env = {
    A = "https://${local.host}"
    B = "https://${coder_app.site.slug}--${data.coder_workspace.me.name}--${data.coder_workspace_owner.me.name}.${trimprefix(data.coder_workspace.me.access_url, "https://")}"
    S = "${split(":", data.coder_workspace.me.access_url)[0]}://${local.slug}--${data.coder_workspace.me.name}--${data.coder_workspace_owner.me.name}.${var.domain}"
    C = "https://${var.slug}--${data.coder_workspace.me.name}--${data.coder_workspace_owner.me.name}.${var.domain}"
    D = "https://${coder_app.nope.slug}--${data.coder_workspace.me.name}--${data.coder_workspace_owner.me.name}.${var.domain}"
  }
}
"#;
    let ws = model(&[("main.tf", tf, FileKind::Terraform)]);
    let slug_of = |name: &str| {
        let var = ws.env.iter().find(|v| v.name == name).expect(name);
        let url = var.url.as_ref();
        (
            url.and_then(|u| u.slug()).map(str::to_owned),
            url.and_then(|u| u.slug_origin)
                .map(|s| ws.sources.slice(s).to_owned()),
        )
    };
    assert_eq!(
        slug_of("A"),
        (Some("convex-site".into()), Some("convex-site".into()))
    );
    assert_eq!(
        slug_of("B"),
        (Some("convex-site".into()), Some("\"convex-site\"".into()))
    );
    // A scheme taken from the access URL is http or https: the host still names the app.
    assert_eq!(
        slug_of("S"),
        (Some("convex-site".into()), Some("convex-site".into()))
    );
    assert_eq!(slug_of("C"), (None, None));
    assert_eq!(slug_of("D"), (None, None));
}

/// Each listener's namespace, by the agent whose script starts it and the container or pod
/// that runs that agent.
#[test]
fn listeners_live_in_their_agents_namespaces() {
    let where_ = |ws: &Workspace| -> Vec<(u16, String)> {
        ws.listeners
            .iter()
            .map(|l| (l.port, ws.namespaces[l.site.netns].name.clone()))
            .collect()
    };
    let agents = "resource \"coder_agent\" \"a\" {\n  startup_script = \"code-server --port 1001 &\"\n}\nresource \"coder_agent\" \"b\" {\n  startup_script = \"code-server --port 1002 &\"\n}\n";
    let cases: &[(&str, [&str; 2])] = &[
        // Through a local, and with the token as the only trace.
        (
            "locals {\n  boot = coder_agent.a.init_script\n}\nresource \"docker_container\" \"one\" {\n  entrypoint = [\"sh\", \"-c\", local.boot]\n}\nresource \"docker_container\" \"two\" {\n  env = [\"CODER_AGENT_TOKEN=${coder_agent.b.token}\"]\n}\n",
            ["in docker_container.one", "in docker_container.two"],
        ),
        (
            "resource \"docker_container\" \"one\" {\n  entrypoint = [\"sh\", \"-c\", coder_agent.a.init_script]\n}\nresource \"docker_container\" \"two\" {\n  entrypoint = [\"sh\", \"-c\", coder_agent.b.init_script]\n  network_mode = \"container:${docker_container.one.id}\"\n}\n",
            ["in docker_container.one", "in docker_container.one"],
        ),
        (
            "resource \"kubernetes_deployment\" \"main\" {\n  spec {\n    template {\n      spec {\n        container {\n          command = [\"sh\", \"-c\", coder_agent.a.init_script]\n        }\n        container {\n          command = [\"sh\", \"-c\", coder_agent.b.init_script]\n        }\n      }\n    }\n  }\n}\n",
            ["in the pod of kubernetes_deployment.main", "in the pod of kubernetes_deployment.main"],
        ),
        (
            "resource \"aws_instance\" \"vm\" {\n  user_data = coder_agent.a.init_script\n}\n",
            ["on the host of coder_agent.a", "on the host of coder_agent.b"],
        ),
        (
            "resource \"docker_container\" \"one\" {\n  entrypoint = [\"sh\", \"-c\", coder_agent.a.init_script]\n  network_mode = \"host\"\n}\nresource \"docker_container\" \"two\" {\n  entrypoint = [\"sh\", \"-c\", coder_agent.b.init_script]\n  network_mode = \"container:elsewhere\"\n}\n",
            ["on the Docker host's network", "in the container docker_container.two joins"],
        ),
    ];
    for (resources, want) in cases {
        let tf = format!("{agents}{resources}");
        let ws = model(&[("main.tf", &tf, FileKind::Terraform)]);
        let want: Vec<(u16, String)> = [1001, 1002]
            .into_iter()
            .zip(want.iter().map(|s| s.to_string()))
            .collect();
        assert_eq!(where_(&ws), want, "{resources}");
    }
    let joined = model(&[(
        "main.tf",
        &format!("{agents}{}", cases[4].0),
        FileKind::Terraform,
    )]);
    let kinds: Vec<&crate::model::netns::NetnsKind> = joined
        .listeners
        .iter()
        .map(|l| &joined.namespaces[l.site.netns].kind)
        .collect();
    use crate::model::netns::NetnsKind;
    assert_eq!(kinds, [&NetnsKind::DockerHost, &NetnsKind::Unknown]);

    // One agent: everything is in the workspace, modules and script files it reads included,
    // each listener with the block or file that starts it and that block's count.
    let tf = "variable \"on\" {\n  default = false\n}\nresource \"coder_agent\" \"main\" {\n  startup_script = \"code-server --port 1001 &\"\n}\nresource \"coder_script\" \"s\" {\n  agent_id = coder_agent.main.id\n  count    = var.on ? 1 : 0\n  script   = templatefile(\"${path.module}/run.sh\", {})\n}\nresource \"docker_container\" \"c\" {\n  entrypoint = [\"sh\", \"-c\", coder_agent.main.init_script]\n}\n";
    let ws = model(&[
        ("main.tf", tf, FileKind::Terraform),
        (
            "run.sh",
            "#!/bin/sh\nttyd -p 1002 bash &\n",
            FileKind::Script,
        ),
    ]);
    let mut found = where_(&ws);
    found.sort();
    assert_eq!(
        found,
        [
            (1001, "in the workspace".to_owned()),
            (1002, "in the workspace".to_owned())
        ]
    );
    let port = |p: u16| ws.listeners.iter().find(|l| l.port == p).unwrap();
    let run = &port(1002).site;
    assert_eq!(run.agent.as_deref(), Some("main"));
    assert_eq!(run.unit.map(|u| u.file), Some(port(1002).span.file));
    let [gate] = run.gates.as_slice() else {
        panic!("one gate: {:?}", run.gates)
    };
    assert_eq!(gate.block, "coder_script.s");
    assert_eq!(gate.by_default, Some(false));
    assert_eq!(gate.switch, Some(("var.on".to_owned(), true)));
    assert!(!gate.fixed);
    assert!(port(1001).site.gates.is_empty());
    assert_eq!(port(1001).site.agent.as_deref(), Some("main"));

    // Compose: each service its own namespace; `service:X` joins X (and listens there).
    let compose = "services:\n  web:\n    image: nginx\n  side:\n    image: redis\n    network_mode: service:web\n  db:\n    image: postgres\n";
    let ws = model(&[("compose.yml", compose, FileKind::Compose)]);
    let found: Vec<(u16, String, Place)> = ws
        .listeners
        .iter()
        .map(|l| (l.port, ws.namespaces[l.site.netns].name.clone(), l.place))
        .collect();
    assert_eq!(
        found,
        [
            (80, "in compose service web".to_owned(), Place::Container(0)),
            (
                6379,
                "in compose service web".to_owned(),
                Place::Container(0)
            ),
            (
                5432,
                "in compose service db".to_owned(),
                Place::Container(2)
            ),
        ]
    );
    assert_eq!(ws.services[1].network_of, Some(0));
    assert_eq!(ws.place_of(&EnvScope::Compose(1)), Place::Container(0));
    assert_eq!(ws.place_of(&EnvScope::Compose(2)), Place::Container(2));
}

/// Each app belongs to the agent its `agent_id` names (a module's argument, a local module's
/// variable bound by each call) and is in that agent's namespace.
#[test]
fn apps_belong_to_their_agents_and_their_namespaces() {
    let tf = r#"resource "coder_agent" "a" {}
resource "coder_agent" "b" {}
resource "docker_container" "one" {
  entrypoint = ["sh", "-c", coder_agent.a.init_script]
}
resource "docker_container" "two" {
  entrypoint = ["sh", "-c", coder_agent.b.init_script]
}
resource "coder_app" "site" {
  agent_id = coder_agent.b.id
  slug     = "site"
  url      = "http://localhost:8080"
}
resource "coder_app" "loose" {
  slug = "loose"
  url  = "http://localhost:8081"
}
module "code-server" {
  source   = "registry.coder.com/coder/code-server/coder"
  agent_id = coder_agent.a.id
}
module "web_a" {
  source = "./modules/web"
  agent  = coder_agent.a.id
}
module "web_b" {
  source = "./modules/web"
  agent  = coder_agent.b.id
}
"#;
    let web = r#"variable "agent" {}
resource "coder_app" "web" {
  agent_id = var.agent
  slug     = "web"
  url      = "http://localhost:3000"
}
"#;
    let ws = model(&[
        ("main.tf", tf, FileKind::Terraform),
        ("modules/web/main.tf", web, FileKind::Terraform),
    ]);
    let found: Vec<(&str, Option<&str>, Option<&str>)> = ws
        .apps
        .iter()
        .map(|a| {
            let netns = a.netns.map(|id| ws.namespaces[id].name.as_str());
            (a.slug.as_str(), a.agent.as_deref(), netns)
        })
        .collect();
    let mut found = found;
    found.sort();
    let one = Some("in docker_container.one");
    let two = Some("in docker_container.two");
    assert_eq!(
        found,
        [
            ("code-server", Some("a"), one),
            ("loose", None, None),
            ("site", Some("b"), two),
            ("web", Some("a"), one),
            ("web", Some("b"), two),
        ]
    );
    // The app of agent b reaches neither agent a's namespace nor is kept from an unknown one.
    let site = ws.apps.iter().find(|a| a.slug == "site").unwrap();
    let a_ns = ws
        .apps
        .iter()
        .find(|a| a.slug == "code-server")
        .unwrap()
        .netns;
    assert!(ws.apart(site.netns, a_ns.unwrap()));
    assert!(!ws.apart(site.netns, site.netns.unwrap()));
    assert!(!ws.apart(None, a_ns.unwrap()));

    // One agent: its apps are in the workspace's namespace, and nothing is apart.
    let single = "resource \"coder_agent\" \"main\" {}\nresource \"coder_app\" \"x\" {\n  agent_id = coder_agent.main.id\n  slug     = \"x\"\n  url      = \"http://localhost:1\"\n}\n";
    let ws = model(&[("main.tf", single, FileKind::Terraform)]);
    assert_eq!(ws.apps[0].agent.as_deref(), Some("main"));
    assert_eq!(ws.apps[0].netns, Some(0));
    assert!(!ws.apart(ws.apps[0].netns, 0));
}

#[test]
fn service_urls_are_read_in_every_scope_and_never_as_origins() {
    let compose = "services:\n  app:\n    image: node:20\n    environment:\n      REDIS_URL: rediss://:pw@cache\n";
    let script = "export DATABASE_URL=\"postgresql://app:${DB_PASSWORD}@localhost:15432/app\"\n";
    let ws = model(&[
        ("docker-compose.yml", compose, FileKind::Compose),
        ("start.sh", script, FileKind::Script),
        (
            ".env",
            "MONGO_URL=mongodb://localhost/app\nWEB=http://localhost:3000\n",
            FileKind::EnvFile,
        ),
    ]);
    let url = |name: &str| {
        let var = ws.env.iter().find(|v| v.name == name).expect(name);
        (
            var.url.is_some(),
            var.service_url.as_ref().map(|u| (u.target.clone(), u.http)),
        )
    };
    assert_eq!(
        url("REDIS_URL"),
        (
            false,
            Some((crate::model::HostTarget::Other("cache".into()), false))
        )
    );
    assert_eq!(
        url("DATABASE_URL"),
        (
            false,
            Some((crate::model::HostTarget::Localhost(15432), false))
        )
    );
    assert_eq!(
        url("MONGO_URL"),
        (
            false,
            Some((crate::model::HostTarget::Localhost(27017), false))
        )
    );
    assert_eq!(url("WEB"), (true, None));
}
