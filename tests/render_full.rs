//! The `--full` template in each of its forms: both Docker modes (`coder.docker`), with and
//! without the IDE (`coder.ide`) and the repository clone (`coder.repo`), for every bundled
//! example. Each form passes `terraform fmt -check` and hcl parse, its agent's startup script
//! passes `bash -n` and shellcheck, `check` finds nothing in what render wrote, and the model
//! puts compose's published ports where the apps' `localhost` is.

mod common;

use std::path::Path;
use std::process::Command;

use common::{tool, EXAMPLES};
use hcl::{Block, Body, Expression};
use portolan::check::{check_paths, model_paths, CheckOptions};

const REPO: &str = "https://github.com/example/project.git";

/// One form of the template: the settings added under `coder:`.
#[derive(Debug, Clone, Copy)]
struct Form {
    dind: bool,
    ide: bool,
    repo: bool,
}

fn forms() -> Vec<Form> {
    let mut out = Vec::new();
    for dind in [false, true] {
        for ide in [false, true] {
            for repo in [false, true] {
                out.push(Form { dind, ide, repo });
            }
        }
    }
    out
}

/// The example's spec with the form's settings, rendered with `--full` into a fresh folder.
fn render(example: &str, form: Form) -> tempfile::TempDir {
    let spec = std::fs::read_to_string(
        common::root()
            .join("examples")
            .join(example)
            .join("portolan.yaml"),
    )
    .unwrap();
    let mut settings = String::from("coder:\n");
    settings.push_str(if form.dind {
        "  docker: dind\n"
    } else {
        "  docker: sysbox\n"
    });
    settings.push_str(if form.ide {
        "  ide: code-server\n"
    } else {
        "  ide: none\n"
    });
    if form.repo {
        settings.push_str(&format!("  repo: {REPO}\n"));
    }
    assert!(
        spec.contains("\ncoder:\n"),
        "{example} has no coder: section"
    );
    // The form's settings replace the example's own.
    let spec: String = spec
        .lines()
        .filter(|l| {
            !["  docker: ", "  ide: ", "  repo: "]
                .iter()
                .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let spec = spec.replacen("\ncoder:\n", &format!("\n{settings}"), 1);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("portolan.yaml"), spec).unwrap();
    let out = common::portolan()
        .args(["render", "--full", "-q"])
        .arg(dir.path().join("portolan.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{example} {form:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// The examples with the forms they take: code-server-nextjs runs code-server itself, on the
/// port and slug the module would take, so `ide: code-server` is an error there (tests/cmd).
fn cases() -> Vec<(&'static str, Form)> {
    EXAMPLES
        .iter()
        .flat_map(|e| forms().into_iter().map(move |f| (*e, f)))
        .filter(|(e, f)| !(f.ide && *e == "code-server-nextjs"))
        .collect()
}

fn attr<'a>(block: &'a Block, name: &str) -> Option<&'a Expression> {
    block
        .body
        .attributes()
        .find(|a| a.key.as_str() == name)
        .map(|a| &a.expr)
}

fn text(block: &Block, name: &str) -> Option<String> {
    attr(block, name).map(ToString::to_string)
}

fn find<'a>(body: &'a Body, kind: &str, labels: &[&str]) -> Option<&'a Block> {
    body.blocks().find(|b| {
        b.identifier.as_str() == kind
            && b.labels
                .iter()
                .map(|l| l.as_str())
                .eq(labels.iter().copied())
    })
}

fn labels(block: &Block) -> Vec<String> {
    block
        .body
        .blocks()
        .filter(|b| b.identifier.as_str() == "labels")
        .filter_map(|b| text(b, "label"))
        .collect()
}

/// The volumes of a container: (container_path, volume_name).
fn volumes(block: &Block) -> Vec<(String, String)> {
    block
        .body
        .blocks()
        .filter(|b| b.identifier.as_str() == "volumes")
        .map(|b| {
            (
                text(b, "container_path").unwrap_or_default(),
                text(b, "volume_name").unwrap_or_default(),
            )
        })
        .collect()
}

/// The agent's startup script as bash reads it: the heredoc's lines without their indent, with
/// Terraform's escapes (`$${`, `%%{`) undone. It has no Terraform interpolation of its own.
fn startup_script(main: &str) -> String {
    let start = main
        .find("startup_script          = <<-EOT\n")
        .expect("a startup_script heredoc");
    let body = &main[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let end = body.find("\n  EOT\n").expect("the heredoc ends");
    let body = &body[..end];
    assert_eq!(
        body.matches("${").count(),
        body.matches("$${").count(),
        "Terraform interpolation in the startup script:\n{body}"
    );
    let lines: Vec<&str> = body
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect();
    format!(
        "#!/usr/bin/env bash\n{}\n",
        lines.join("\n").replace("$${", "${").replace("%%{", "%{")
    )
}

#[test]
fn every_form_passes_terraform_fmt_and_hcl() {
    let terraform = tool("terraform");
    for (example, form) in cases() {
        let out = render(example, form);
        for name in ["main.tf", "coder-apps.tf"] {
            let text = std::fs::read_to_string(out.path().join(name)).unwrap();
            hcl::from_str::<Body>(&text)
                .unwrap_or_else(|e| panic!("{example} {form:?} {name}: {e}"));
        }
        if let Some(terraform) = &terraform {
            let fmt = Command::new(terraform)
                .args(["fmt", "-check", "-diff", "-no-color"])
                .current_dir(out.path())
                .output()
                .unwrap();
            assert!(
                fmt.status.success(),
                "{example} {form:?}: terraform fmt -check:\n{}",
                String::from_utf8_lossy(&fmt.stdout)
            );
        }
    }
}

#[test]
fn every_forms_startup_script_passes_bash_and_shellcheck() {
    for (example, form) in cases() {
        let out = render(example, form);
        let main = std::fs::read_to_string(out.path().join("main.tf")).unwrap();
        let script = out.path().join("startup.sh");
        std::fs::write(&script, startup_script(&main)).unwrap();
        common::assert_shell_accepts(&script, &format!("{example} {form:?} startup_script"));
        common::assert_shell_accepts(
            &out.path().join("start-workspace.sh"),
            &format!("{example} {form:?}"),
        );
    }
}

/// Render's self-check: `check` over the rendered folder finds nothing in any form, the
/// code-server module's app and port included.
#[test]
fn check_finds_nothing_in_any_form() {
    for (example, form) in cases() {
        let out = render(example, form);
        let result = check_paths(
            &[out.path().to_path_buf()],
            out.path(),
            &CheckOptions::default(),
        )
        .expect("check runs");
        let findings = common::finding_lines(&result);
        assert!(findings.is_empty(), "{example} {form:?}: {findings:#?}");
        let cli = common::portolan()
            .arg("check")
            .arg(out.path())
            .output()
            .unwrap();
        assert!(
            cli.status.success(),
            "{example} {form:?}: {}",
            String::from_utf8_lossy(&cli.stdout)
        );
    }
}

/// The port chain holds in both modes: where compose publishes (the model's `compose_netns`)
/// is the namespace of every app's agent, and check's model sees the code-server module.
#[test]
fn compose_publishes_on_the_agents_localhost_in_both_modes() {
    for (example, form) in cases() {
        let out = render(example, form);
        let result = model_paths(
            &[out.path().to_path_buf()],
            out.path(),
            &CheckOptions::default(),
        )
        .expect("model");
        let (ws, _) = result.workspaces.first().expect("a workspace");
        assert!(!ws.apps.is_empty(), "{example}");
        for app in &ws.apps {
            assert_eq!(
                app.netns,
                Some(ws.compose_netns),
                "{example} {form:?}: app {} and compose are apart: {:?}",
                app.slug,
                ws.namespaces
            );
        }
        let modules: Vec<(&str, u16)> = ws
            .modules
            .iter()
            .map(|m| (m.name.as_str(), m.port))
            .filter(|(n, _)| *n == "code-server")
            .collect();
        assert_eq!(
            modules,
            if form.ide {
                vec![("code-server", 13337)]
            } else {
                vec![]
            },
            "{example} {form:?}"
        );
    }
}

/// The names Coder's docker template (coder/coder examples/templates/docker) uses, in every
/// form: its data sources, the `docker_socket` variable and the provider host it sets, the
/// image, agent metadata, the orphan labels on each container and volume, containers and the
/// code-server module counted by `start_count`.
#[test]
fn every_form_carries_the_official_templates_names() {
    let container_labels = [
        "\"coder.owner\"",
        "\"coder.owner_id\"",
        "\"coder.workspace_id\"",
        "\"coder.workspace_name\"",
    ];
    let volume_labels = [
        "\"coder.owner\"",
        "\"coder.owner_id\"",
        "\"coder.workspace_id\"",
        "\"coder.workspace_name_at_creation\"",
    ];
    let start_count = Some("data.coder_workspace.me.start_count".to_owned());
    for (example, form) in cases() {
        let out = render(example, form);
        let main = std::fs::read_to_string(out.path().join("main.tf")).unwrap();
        let body: Body = hcl::from_str(&main).unwrap();
        let what = format!("{example} {form:?}");
        for data in [
            "coder_provisioner",
            "coder_workspace",
            "coder_workspace_owner",
        ] {
            assert!(
                find(&body, "data", &[data, "me"]).is_some(),
                "{what}: {data}"
            );
        }
        for variable in ["docker_socket", "image", "agent_env"] {
            assert!(
                find(&body, "variable", &[variable]).is_some(),
                "{what}: variable {variable}"
            );
        }
        let provider = find(&body, "provider", &["docker"]).expect("provider docker");
        assert!(
            text(provider, "host").is_some_and(|h| h.contains("var.docker_socket")),
            "{what}"
        );
        let agent = body
            .blocks()
            .find(|b| b.identifier.as_str() == "resource" && b.labels[0].as_str() == "coder_agent")
            .expect("an agent");
        let keys: Vec<String> = agent
            .body
            .blocks()
            .filter(|b| b.identifier.as_str() == "metadata")
            .filter_map(|b| text(b, "key"))
            .collect();
        assert!(keys.len() >= 3, "{what}: {keys:?}");
        let workspace =
            find(&body, "resource", &["docker_container", "workspace"]).expect("workspace");
        assert_eq!(text(workspace, "count"), start_count, "{what}");
        assert_eq!(labels(workspace), container_labels, "{what}");
        assert_eq!(text(workspace, "image").as_deref(), Some("var.image"));
        for volume in body.blocks().filter(|b| {
            b.identifier.as_str() == "resource" && b.labels[0].as_str() == "docker_volume"
        }) {
            assert_eq!(labels(volume), volume_labels, "{what}: {:?}", volume.labels);
        }
        let dind = find(&body, "resource", &["docker_container", "dind"]);
        assert_eq!(dind.is_some(), form.dind, "{what}");
        if let Some(dind) = dind {
            assert_eq!(labels(dind), container_labels, "{what}");
            assert_eq!(text(dind, "count"), start_count, "{what}");
        }
        let code_server = find(&body, "module", &["code-server"]);
        assert_eq!(code_server.is_some(), form.ide, "{what}");
        if let Some(module) = code_server {
            assert_eq!(text(module, "count"), start_count, "{what}");
            assert_eq!(
                text(module, "source").as_deref(),
                Some("\"registry.coder.com/coder/code-server/coder\"")
            );
            assert!(text(module, "version").is_some(), "{what}");
            assert_eq!(
                text(module, "folder"),
                text(agent, "dir"),
                "{what}: code-server opens the agent's folder"
            );
        }
    }
}

/// The dind form: the workspace joins the sidecar's network namespace, both mount the home
/// volume at the same path (compose's bind-mount sources are the daemon's paths) and the
/// socket volume that DOCKER_HOST names; the daemon has no TCP listener; the sysbox runtime is
/// gone. The sysbox form keeps `runtime = "sysbox-runc"` and has no sidecar.
#[test]
fn the_dind_form_shares_the_network_the_home_and_a_unix_socket() {
    for (example, form) in cases() {
        let out = render(example, form);
        let main = std::fs::read_to_string(out.path().join("main.tf")).unwrap();
        let body: Body = hcl::from_str(&main).unwrap();
        let what = format!("{example} {form:?}");
        let workspace = find(&body, "resource", &["docker_container", "workspace"]).unwrap();
        if !form.dind {
            assert_eq!(
                text(workspace, "runtime").as_deref(),
                Some("\"sysbox-runc\""),
                "{what}"
            );
            assert!(text(workspace, "network_mode").is_none(), "{what}");
            assert!(
                main.contains("docker: dind"),
                "{what}: the comment names dind"
            );
            continue;
        }
        let dind = find(&body, "resource", &["docker_container", "dind"]).unwrap();
        assert!(text(workspace, "runtime").is_none(), "{what}");
        assert_eq!(
            text(workspace, "network_mode").as_deref(),
            Some("\"container:${docker_container.dind[0].id}\""),
            "{what}"
        );
        assert_eq!(text(dind, "privileged").as_deref(), Some("true"), "{what}");
        assert_eq!(text(dind, "image").as_deref(), Some("\"docker:dind\""));
        let command = text(dind, "command").unwrap_or_default();
        let command: String = command.split_whitespace().collect();
        assert!(
            command.starts_with("[\"dockerd\",\"--host=unix:///var/run/dind/docker.sock\""),
            "{what}: {command}"
        );
        assert!(!main.contains("tcp://0.0.0.0"), "{what}");
        let shared = |path: &str| {
            let of = |b: &Block| volumes(b).into_iter().find(|(p, _)| p == path);
            let (w, d) = (of(workspace), of(dind));
            assert!(w.is_some() && w == d, "{what}: {path}: {w:?} {d:?}");
        };
        shared("\"/home/coder\"");
        shared("\"/var/run/dind\"");
        assert!(
            text(workspace, "env")
                .is_some_and(|e| e.contains("\"DOCKER_HOST=unix:///var/run/dind/docker.sock\"")),
            "{what}"
        );
        // A container in another's network namespace takes neither a hostname nor host entries.
        assert!(text(workspace, "hostname").is_none(), "{what}");
        assert!(
            !workspace
                .body
                .blocks()
                .any(|b| b.identifier.as_str() == "host"),
            "{what}"
        );
    }
}

/// The startup of a template that clones the repository waits for the clone, bounded, and says
/// which of the two went wrong; without a repository it says how to bring the project in.
#[test]
fn the_startup_waits_for_the_clone_and_says_what_is_missing() {
    let run = |form: Form, prepare: &dyn Fn(&Path)| -> (i32, String) {
        let out = render("minio-worker", form);
        let main = std::fs::read_to_string(out.path().join("main.tf")).unwrap();
        let home = out.path().join("home");
        // minio-worker's project is `media-pipeline`, in /home/coder/media-pipeline.
        let project = home.join("media-pipeline");
        std::fs::create_dir_all(&project).unwrap();
        prepare(&project);
        // The project folder moved under the temporary folder; docker and sleep stubbed so that
        // the daemon answers and the bounded wait is instant.
        let script = startup_script(&main).replace("/home/coder", &home.to_string_lossy());
        let bin = out.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for stub in ["docker", "sleep", "sudo"] {
            let path = bin.join(stub);
            std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let result = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env("PATH", path)
            .output()
            .unwrap();
        (
            result.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&result.stdout).into_owned()
                + &String::from_utf8_lossy(&result.stderr),
        )
    };
    let with_repo = Form {
        dind: false,
        ide: false,
        repo: true,
    };
    // Nothing cloned: the wait ends after its bound and says so.
    let (code, log) = run(with_repo, &|_| {});
    assert_eq!(code, 1, "{log}");
    assert!(
        log.contains(&format!("waiting for the clone of {REPO} into ")),
        "{log}"
    );
    assert_eq!(log.matches("waiting for the clone").count(), 11, "{log}");
    assert!(log.contains("did not finish in 300 s"), "{log}");
    // Cloned, but the repository has no start script.
    if tool("git").is_some() {
        let (code, log) = run(with_repo, &|project| {
            let git = |args: &[&str]| {
                let out = Command::new("git")
                    .args(args)
                    .current_dir(project)
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            git(&["init", "-q"]);
            git(&[
                "-c",
                "user.name=a",
                "-c",
                "user.email=a@b",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "x",
            ]);
        });
        assert_eq!(code, 1, "{log}");
        assert!(
            log.contains(&format!(
                "cloned from {REPO}, has no executable start-workspace.sh"
            )),
            "{log}"
        );
        assert!(!log.contains("waiting"), "{log}");
    }
    // The start script is there: it runs.
    let (code, log) = run(with_repo, &|project| {
        let script = project.join("start-workspace.sh");
        std::fs::write(&script, "#!/bin/sh\necho started from the clone\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    });
    assert_eq!((code, log.trim()), (0, "started from the clone"));
    // No repository: no wait, and the log says how to bring the project in.
    let (code, log) = run(
        Form {
            repo: false,
            ..with_repo
        },
        &|_| {},
    );
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains("no start-workspace.sh in ") && log.contains("coder: { repo: URL }"),
        "{log}"
    );
    assert!(!log.contains("waiting"), "{log}");
}

/// The JSON Schema names the settings and their values, for editors.
#[test]
fn the_schema_names_the_settings() {
    let out = common::portolan().arg("schema").output().unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let defs = &schema["$defs"];
    let coder = &defs["Coder"]["properties"];
    for key in ["docker", "ide", "repo"] {
        assert!(
            coder[key]["description"].is_string(),
            "coder.{key}: {}",
            coder[key]
        );
    }
    assert_eq!(
        defs["DockerMode"]["enum"],
        serde_json::json!(["sysbox", "dind"])
    );
    assert_eq!(
        defs["Ide"]["enum"],
        serde_json::json!(["none", "code-server"])
    );
}
