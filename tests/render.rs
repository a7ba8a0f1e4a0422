//! `portolan render` on the bundled examples: snapshots of every file, and the real tools
//! (`terraform fmt`, `shellcheck`, `bash -n`, `docker-compose config`) accept what it writes.

mod common;

use std::process::Command;

use common::{files_below, render_example, tool, EXAMPLES};
use portolan::check::{check_paths, CheckOptions};

#[test]
fn rendered_files_match_snapshots() {
    for example in EXAMPLES {
        let out = render_example(example, &["--full"]);
        for file in files_below(out.path()) {
            let text = std::fs::read_to_string(out.path().join(&file)).expect("read");
            let name = format!("{example}__{}", file.display()).replace(['/', '.'], "_");
            insta::assert_snapshot!(name, text);
        }
    }
}

#[test]
fn rendering_is_deterministic() {
    for example in EXAMPLES {
        let a = render_example(example, &["--full"]);
        let b = render_example(example, &["--full"]);
        for file in files_below(a.path()) {
            assert_eq!(
                std::fs::read(a.path().join(&file)).unwrap(),
                std::fs::read(b.path().join(&file)).unwrap(),
                "{example}/{}",
                file.display()
            );
        }
    }
}

#[test]
fn terraform_fmt_accepts_rendered_terraform() {
    let Some(terraform) = tool("terraform") else {
        return;
    };
    for example in EXAMPLES {
        let out = render_example(example, &["--full"]);
        let result = Command::new(&terraform)
            .args(["fmt", "-check", "-diff", "-no-color"])
            .current_dir(out.path())
            .output()
            .expect("terraform");
        assert!(
            result.status.success(),
            "{example}: terraform fmt -check failed:\n{}{}",
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        );
    }
}

#[test]
fn rendered_terraform_parses_with_hcl_rs() {
    for example in EXAMPLES {
        let out = render_example(example, &["--full"]);
        for name in ["coder-apps.tf", "main.tf"] {
            let text = std::fs::read_to_string(out.path().join(name)).unwrap();
            let body: hcl::Body = hcl::from_str(&text)
                .unwrap_or_else(|e| panic!("{example}/{name} does not parse: {e}"));
            assert!(body.blocks().count() > 0, "{example}/{name} has no blocks");
        }
    }
}

#[test]
fn shellcheck_and_bash_accept_the_start_script() {
    for example in EXAMPLES {
        let out = render_example(example, &[]);
        common::assert_shell_accepts(&out.path().join("start-workspace.sh"), example);
    }
}

#[test]
fn docker_compose_accepts_the_compose_file() {
    let Some(compose) = tool("docker-compose") else {
        return;
    };
    for example in EXAMPLES {
        let out = render_example(example, &[]);
        // Secrets come from the .env the start script writes; give compose one.
        std::fs::write(
            out.path().join(".env"),
            "INSTANCE_SECRET=s\nPOSTGRES_PASSWORD=s\nMINIO_ROOT_PASSWORD=s\n",
        )
        .unwrap();
        let result = Command::new(&compose)
            .args(["config", "-q"])
            .current_dir(out.path())
            .output()
            .expect("docker-compose");
        assert!(
            result.status.success(),
            "{example}: docker-compose config -q:\n{}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
}

#[test]
fn convex_origins_agree_across_files() {
    let out = render_example("convex-selfhosted", &[]);
    let read = |name: &str| std::fs::read_to_string(out.path().join(name)).unwrap();
    let apps = read("coder-apps.tf");
    let compose = read("docker-compose.yml");
    // Whitespace-insensitive: terraform fmt alignment is tested on its own.
    let squeeze = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let site_app = apps
        .split("resource \"coder_app\"")
        .map(squeeze)
        .find(|block| block.contains("slug = \"convex-site\""))
        .expect("convex-site app");
    assert!(
        site_app.contains("url = \"http://localhost:3211\""),
        "{site_app}"
    );
    assert!(site_app.contains("share = \"public\""), "{site_app}");
    assert!(compose.contains("- \"3211:3211\""));
    assert!(!compose.contains("3212"), "nothing listens on 3212");
    assert!(
        compose.contains("CONVEX_SITE_ORIGIN: \"${ORIGIN_CONVEX_SITE:-http://localhost:3211}\"")
    );
    assert!(
        compose.contains("CONVEX_CLOUD_ORIGIN: \"${ORIGIN_CONVEX_API:-http://localhost:3210}\"")
    );
    assert!(
        apps.contains("\"convex-site\" = \"https://convex-site--${local.portolan_host_suffix}\"")
    );
    let env_local = read(".env.local");
    assert!(env_local.contains("VITE_CONVEX_SITE_URL=http://localhost:3211\n"));
    assert!(env_local.contains("VITE_CONVEX_URL=http://localhost:3210\n"));
}

/// The `--full` template pins the lowest Coder provider that knows every attribute it uses:
/// `check` of what render writes never says an attribute needs a newer provider (PT117),
/// whatever the example uses (convex's `open_in` needs 2.1.0, the others nothing past 2.0.0).
#[test]
fn full_templates_pin_a_provider_that_knows_their_attributes() {
    let pins = [
        ("code-server-nextjs", ">= 2.0.0"),
        ("convex-selfhosted", ">= 2.1.0"),
        ("minio-worker", ">= 2.0.0"),
    ];
    assert_eq!(pins.len(), EXAMPLES.len());
    for (example, pin) in pins {
        let out = render_example(example, &["--full"]);
        let main = std::fs::read_to_string(out.path().join("main.tf")).unwrap();
        assert!(
            main.contains(&format!("version = \"{pin}\"")),
            "{example}: main.tf does not pin {pin}:\n{main}"
        );
        let result = check_paths(
            &[out.path().to_path_buf()],
            out.path(),
            &CheckOptions::default(),
        )
        .expect("check runs");
        let findings = common::finding_lines(&result);
        assert!(
            !findings
                .iter()
                .any(|f| f.contains("[attribute-needs-newer-provider]")),
            "{example}: {findings:#?}"
        );
    }
}

/// The agent's env is the owner's git identity, then the template's variable `agent_env`, then
/// portolan's keys: a key the author adds reaches the agent and overrides the git identity,
/// portolan's keys win, and `check` reads the merge.
#[test]
fn agent_env_merges_the_authors_variable_with_portolans() {
    let out = render_example("convex-selfhosted", &["--full"]);
    let main_tf = out.path().join("main.tf");
    let main = std::fs::read_to_string(&main_tf).unwrap();
    assert!(main
        .contains("env  = merge(local.portolan_git_env, var.agent_env, local.portolan_agent_env)"));
    // The value an author gives the variable (here as its default, which is what
    // terraform.tfvars or `--var agent_env=...` sets).
    let authored = main.replace(
        "  type        = map(string)\n  default     = {}",
        "  type        = map(string)\n  default     = { GIT_AUTHOR_NAME = \"Ada\", EDITOR = \"vi\", PORTOLAN_SCHEME = \"ftp\" }",
    );
    assert_ne!(authored, main, "the variable's default was not found");
    std::fs::write(&main_tf, &authored).unwrap();
    if let Some(terraform) = tool("terraform") {
        let fmt = Command::new(terraform)
            .args(["fmt", "-check", "-no-color", "main.tf"])
            .current_dir(out.path())
            .output()
            .expect("terraform");
        assert!(
            fmt.status.success(),
            "{}",
            String::from_utf8_lossy(&fmt.stdout)
        );
    }
    hcl::from_str::<hcl::Body>(&authored).expect("main.tf parses");
    let result = portolan::check::model_paths(
        &[out.path().to_path_buf()],
        out.path(),
        &CheckOptions::default(),
    )
    .expect("model");
    let agent_env: Vec<(String, Option<String>)> = result
        .workspaces
        .iter()
        .flat_map(|(ws, _)| ws.env.iter())
        .filter(|v| v.scope == portolan::model::EnvScope::AgentEnv)
        .map(|v| (v.name.clone(), v.value.clone()))
        .collect();
    let value = |name: &str| {
        agent_env
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        value("GIT_AUTHOR_NAME"),
        Some(Some("Ada".to_owned())),
        "{agent_env:?}"
    );
    assert_eq!(
        value("EDITOR"),
        Some(Some("vi".to_owned())),
        "{agent_env:?}"
    );
    // The owner's email is known only when Terraform runs: the model keeps the reference.
    assert_eq!(
        value("GIT_AUTHOR_EMAIL"),
        Some(Some("${data.coder_workspace_owner.me.email}".to_owned())),
        "{agent_env:?}"
    );
    assert_eq!(
        value("PORTOLAN_SCHEME"),
        Some(Some("https".to_owned())),
        "{agent_env:?}"
    );
    assert_eq!(
        value("PORTOLAN_WILDCARD_DOMAIN"),
        Some(Some("coder.example.com".to_owned())),
        "{agent_env:?}"
    );
}

/// The `--full` template carries what Coder's docker template has: the image as a variable
/// with the image it used to hard-code as default, the orphan-tracking labels on the container
/// and the home volume, each bound to the workspace's data source, and agent metadata with
/// distinct keys.
#[test]
fn full_templates_carry_the_official_docker_templates_variables_and_labels() {
    use hcl::{Block, Body, Expression};
    fn attr<'a>(block: &'a Block, name: &str) -> Option<&'a Expression> {
        block
            .body
            .attributes()
            .find(|a| a.key.as_str() == name)
            .map(|a| &a.expr)
    }
    fn labels(block: &Block) -> Vec<(String, String)> {
        block
            .body
            .blocks()
            .filter(|b| b.identifier.as_str() == "labels")
            .map(|b| {
                let text = |n| attr(b, n).map(|e| e.to_string()).unwrap_or_default();
                (text("label"), text("value"))
            })
            .collect()
    }
    let label = |l: &str, v: &str| (format!("\"{l}\""), v.to_owned());
    for example in EXAMPLES {
        let out = render_example(example, &["--full"]);
        let text = std::fs::read_to_string(out.path().join("main.tf")).unwrap();
        let body: Body = hcl::from_str(&text).expect("main.tf parses");
        let find = |kind: &str, labels: &[&str]| -> Block {
            body.blocks()
                .find(|b| {
                    b.identifier.as_str() == kind
                        && b.labels
                            .iter()
                            .map(|l| l.as_str())
                            .eq(labels.iter().copied())
                })
                .unwrap_or_else(|| panic!("{example}: no {kind} {labels:?}"))
                .clone()
        };
        let image = find("variable", &["image"]);
        assert_eq!(
            attr(&image, "default").map(ToString::to_string).as_deref(),
            Some("\"codercom/enterprise-base:ubuntu\""),
            "{example}"
        );
        let agent_env = find("variable", &["agent_env"]);
        assert_eq!(
            attr(&agent_env, "type").map(ToString::to_string).as_deref(),
            Some("map(string)"),
            "{example}"
        );
        let container = find("resource", &["docker_container", "workspace"]);
        assert_eq!(
            attr(&container, "image")
                .map(ToString::to_string)
                .as_deref(),
            Some("var.image"),
            "{example}"
        );
        assert_eq!(
            labels(&container),
            vec![
                label("coder.owner", "data.coder_workspace_owner.me.name"),
                label("coder.owner_id", "data.coder_workspace_owner.me.id"),
                label("coder.workspace_id", "data.coder_workspace.me.id"),
                label("coder.workspace_name", "data.coder_workspace.me.name"),
            ],
            "{example}"
        );
        let volume = find("resource", &["docker_volume", "home"]);
        assert_eq!(
            labels(&volume),
            vec![
                label("coder.owner", "data.coder_workspace_owner.me.name"),
                label("coder.owner_id", "data.coder_workspace_owner.me.id"),
                label("coder.workspace_id", "data.coder_workspace.me.id"),
                label(
                    "coder.workspace_name_at_creation",
                    "data.coder_workspace.me.name"
                ),
            ],
            "{example}"
        );
        let agent = body
            .blocks()
            .find(|b| b.identifier.as_str() == "resource" && b.labels[0].as_str() == "coder_agent")
            .expect("an agent");
        let keys: Vec<String> = agent
            .body
            .blocks()
            .filter(|b| b.identifier.as_str() == "metadata")
            .filter_map(|b| attr(b, "key").map(ToString::to_string))
            .collect();
        let mut distinct = keys.clone();
        distinct.sort();
        distinct.dedup();
        assert!(
            keys.len() >= 3 && distinct.len() == keys.len(),
            "{example}: {keys:?}"
        );
    }
}

/// The pin reads the knowledge `check` reads, the spec's `knowledge:` included, and the
/// attributes of both Terraform files: a fact about an attribute of the apps raises it, and a
/// later one about an attribute main.tf itself writes raises it further.
#[test]
fn the_pin_follows_the_specs_knowledge_too() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("portolan.yaml");
    let facts = [
        "",
        "knowledge:\n  coder_provider:\n    added:\n      - { resource: coder_app, attribute: display_name, version: 2.3.0 }\n",
        "knowledge:\n  coder_provider:\n    added:\n      - { resource: coder_app, attribute: display_name, version: 2.3.0 }\n      - { resource: coder_agent, attribute: startup_script_behavior, version: 2.7.1 }\n",
    ];
    for (facts, pin) in facts.iter().zip([">= 2.0.0", ">= 2.3.0", ">= 2.7.1"]) {
        std::fs::write(
            &spec,
            format!("name: a\nservices:\n  web:\n    run: python3 -m http.server ${{port:web.http}}\n    ports: {{ http: 8000 }}\napps:\n  web: {{ target: web.http, display_name: A }}\n{facts}"),
        )
        .unwrap();
        let render = common::portolan()
            .args(["render", "--full", "--force"])
            .arg(&spec)
            .output()
            .unwrap();
        assert!(
            render.status.success(),
            "{}",
            String::from_utf8_lossy(&render.stderr)
        );
        let main = std::fs::read_to_string(dir.path().join("main.tf")).unwrap();
        assert!(
            main.contains(&format!("version = \"{pin}\"")),
            "want {pin}:\n{main}"
        );
        let check = common::portolan()
            .args(["check", "--format", "json", "--spec"])
            .arg(&spec)
            .arg(dir.path())
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&check.stdout);
        assert!(check.status.success(), "{pin}: {report}");
        assert!(!report.contains("PT117"), "{pin}: {report}");
    }
}
