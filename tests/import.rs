//! `portolan import` round trips: the files of a template folder, imported into a spec and
//! rendered again, give the same port chains as the files themselves, as the model walks them
//! (each app's port on the agent's localhost and what serves it, its share and subdomain; the
//! port each env origin reaches), but for what import marked.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use common::{portolan, render_example, root, EXAMPLES};
use portolan::check::{self, CheckOptions};
use portolan::knowledge::Knowledge;
use portolan::model::chain::Hop;
use portolan::model::{AppOrigin, EnvScope, Workspace};
use portolan::source::SourceMap;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The model `check` builds of a folder's template.
fn model(dir: &Path) -> Workspace {
    let options = CheckOptions {
        knowledge: Some(Arc::new(Knowledge::builtin().clone())),
        ..CheckOptions::default()
    };
    let result = check::model_paths(&[dir.to_path_buf()], dir, &options).unwrap();
    let mut workspaces = result.workspaces;
    let pick = workspaces
        .iter()
        .position(|(ws, _)| ws.is_coder_template())
        .expect("a Coder template");
    workspaces.swap_remove(pick).0
}

/// The chains of a model, one line each: every app of a `coder_app` resource with the port its
/// url names and what serves that port, and every env variable of an env file or a compose
/// service that holds an http(s) URL, with its role (the knowledge's) and the port on the
/// agent's localhost it reaches.
fn chains(ws: &Workspace) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for app in &ws.apps {
        if !matches!(app.declared_by, AppOrigin::Resource(_)) {
            continue;
        }
        let port = app.url.as_ref().and_then(|u| u.local_port());
        let served: Vec<String> = port
            .map(|p| ws.served_behind_local_port_in(p, app.netns).hops)
            .unwrap_or_default()
            .iter()
            .map(|hop| match hop {
                Hop::Published {
                    service, container, ..
                } => format!("compose {}:{container}", ws.services[*service].name),
                Hop::Process(l) => format!("process {}:{}", l.program, l.port),
            })
            .collect();
        out.insert(format!(
            "app {} -> localhost:{port:?} -> {served:?} share={:?} subdomain={}",
            app.slug, app.share, app.subdomain
        ));
    }
    for var in &ws.env {
        let place = match var.scope {
            EnvScope::EnvFile => ws
                .sources
                .get(var.name_span.file)
                .path
                .display()
                .to_string(),
            EnvScope::Compose(i) => format!("compose {}", ws.services[i].name),
            _ => continue,
        };
        let Some(url) = &var.url else { continue };
        let role = ws
            .knowledge
            .env_role(&var.name)
            .and_then(|r| r.role.clone());
        let reached = ws.listeners_behind_url(url).local_port.map(|(p, _)| p);
        out.insert(format!(
            "env {place} {} role={role:?} -> localhost:{reached:?}",
            var.name
        ));
    }
    out
}

/// Imports `dir` into `spec_dir/portolan.yaml` with the binary, checks that the spec loads,
/// renders it into `out` (which must check clean: render exits 0) and returns import's stderr.
fn import_and_render(dir: &Path, spec_dir: &Path, out: &Path) -> String {
    let spec = spec_dir.join("portolan.yaml");
    let imported = portolan()
        .arg("import")
        .arg(dir)
        .arg("--out")
        .arg(&spec)
        .output()
        .unwrap();
    assert_eq!(imported.status.code(), Some(0), "{}", stderr(&imported));
    let text = std::fs::read_to_string(&spec).unwrap();
    let loaded = portolan::spec::load(&spec, &text, &mut SourceMap::new());
    assert!(loaded.is_ok(), "the imported spec does not load:\n{text}");
    let rendered = portolan()
        .arg("render")
        .arg(&spec)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert_eq!(
        rendered.status.code(),
        Some(0),
        "{}\n{text}",
        stderr(&rendered)
    );
    stderr(&imported)
}

#[test]
fn every_bundled_example_round_trips_with_the_same_chains() {
    let mut seen_env = false;
    for example in EXAMPLES {
        let original = render_example(example, &[]);
        let spec_dir = tempfile::tempdir().unwrap();
        let again = tempfile::tempdir().unwrap();
        let notes = import_and_render(original.path(), spec_dir.path(), again.path());
        let (before, after) = (
            chains(&model(original.path())),
            chains(&model(again.path())),
        );
        assert!(
            before.iter().filter(|c| c.starts_with("app ")).count() >= 2,
            "{example}: {before:#?}"
        );
        seen_env |= before.iter().any(|c| c.starts_with("env "));
        assert_eq!(before, after, "{example}: import said:\n{notes}");
        // Portolan's own files leave nothing to mark but that they are portolan's.
        let marks: Vec<&str> = notes.lines().filter(|l| l.starts_with("marked:")).collect();
        assert_eq!(marks.len(), 1, "{example}: {notes}");
        assert!(
            marks[0].contains("rendered by portolan from portolan.yaml"),
            "{example}: {notes}"
        );
    }
    assert!(seen_env, "no example has an env origin to compare");
}

fn fixture() -> PathBuf {
    root().join("tests/fixtures/import-docker")
}

/// A hand-written docker template (compose file under its own name, a startup script, an env
/// file, a module's app and an app nothing serves): the same chains but the marked app's.
#[test]
fn a_hand_written_template_round_trips_but_for_what_import_marks() {
    let spec_dir = tempfile::tempdir().unwrap();
    let again = tempfile::tempdir().unwrap();
    let notes = import_and_render(&fixture(), spec_dir.path(), again.path());
    let before = chains(&model(&fixture()));
    let after = chains(&model(again.path()));
    // Lost: the app nothing serves, and `.env`, compose's interpolation file, whose values
    // are now the compose services' own (below); import marked both.
    let lost: Vec<&String> = before.difference(&after).collect();
    assert_eq!(
        lost,
        [
            "app docs -> localhost:Some(8080) -> [] share=Owner subdomain=true",
            "env .env CONVEX_CLOUD_ORIGIN role=Some(\"convex-api\") -> localhost:Some(3210)",
            "env .env CONVEX_SITE_ORIGIN role=Some(\"convex-site\") -> localhost:Some(3211)",
        ],
        "{notes}"
    );
    assert!(
        notes.contains("marked: env file .env is not imported"),
        "{notes}"
    );
    assert!(after.is_subset(&before), "{:#?}", after.difference(&before));
    assert!(
        notes.contains("marked: app docs: its url http://localhost:8080 reaches nothing"),
        "{notes}"
    );
    assert!(notes.contains("marked: app code-server comes from module `code-server`"));
    // The chains that hold: apps on compose services and on the script's process, env origins.
    for chain in [
        "app convex-site -> localhost:Some(3211) -> [\"compose backend:3211\"] share=Public subdomain=true",
        "app web -> localhost:Some(5173) -> [\"process pnpm dev:5173\"] share=Owner subdomain=true",
        "env web/.env.local VITE_CONVEX_SITE_URL role=Some(\"convex-site\") -> localhost:Some(3211)",
        "env compose backend CONVEX_CLOUD_ORIGIN role=Some(\"convex-api\") -> localhost:Some(3210)",
    ] {
        assert!(after.contains(chain), "{chain}: {after:#?}");
    }
}

/// What the project keeps: the compose file's name, container names, the agent, the hosts'
/// shape; and the literal secret becomes a generated one, never copied.
#[test]
fn the_spec_keeps_the_projects_names_and_never_copies_a_secret() {
    let out = portolan()
        .args(["import", "--out", "-"])
        .arg(fixture())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let loaded = portolan::spec::load(Path::new("portolan.yaml"), &text, &mut SourceMap::new())
        .unwrap_or_else(|_| panic!("{text}"));
    let spec = loaded.spec;
    assert_eq!(
        spec.name.as_str(),
        "chat",
        "the compose project of start.sh"
    );
    assert_eq!(spec.compose_file(), "docker-compose.convex.yml");
    assert_eq!(spec.coder.agent.as_str(), "dev");
    assert_eq!(
        spec.coder.wildcard_domain.as_ref().map(|d| d.as_str()),
        Some("coder.example.com")
    );
    assert!(spec.coder.agent_in_host, "{text}");
    let backend = &spec.services["backend"];
    assert_eq!(
        backend.container_name.as_ref().map(|c| c.as_str()),
        Some("chat-backend")
    );
    assert_eq!(backend.ports["api"].value.host(), 3210);
    assert_eq!(
        backend.env["INSTANCE_SECRET"].value.0.as_str(),
        "${secret:INSTANCE_SECRET}"
    );
    assert!(spec.secrets.contains_key("INSTANCE_SECRET"));
    assert!(
        !text.contains("4f1c7a2e9b3d"),
        "the secret is copied:\n{text}"
    );
    assert_eq!(spec.services["dashboard"].depends_on[0].as_str(), "backend");
    assert_eq!(
        spec.env_files["web/.env.local"]["VITE_CONVEX_URL"]
            .value
            .0
            .as_str(),
        "${origin:backend.api}"
    );
    assert_eq!(
        spec.env_files["web/.env.local"]["CONVEX_SELF_HOSTED_URL"]
            .value
            .0
            .as_str(),
        "${url:backend.api}"
    );
    let app = &spec.apps["web"];
    assert_eq!(app.target.as_str(), "pnpm-dev.http");
    assert_eq!(app.order, Some(1));
    let web = &spec.services["pnpm-dev"];
    assert!(web.run.is_some());
    // The origin the script exports before it starts the dev server, whose host it builds
    // from the workspace's names.
    assert_eq!(web.env["VITE_CONVEX_URL"].value.0, "${origin:backend.api}");
    // The marks stand where they belong, as comments.
    assert!(
        text.contains("  # docs: not imported"),
        "the app nothing serves is marked in apps:\n{text}"
    );
}

/// The incident's files: the site app on 3212, where the backend does not listen. Import keeps
/// that chain as it is (the spec can say it) and marks it; render's check then refuses it, and
/// with `--allow-findings` the rendered files have the incident's chains.
#[test]
fn the_incidents_broken_chain_is_kept_marked_and_found_by_render() {
    let incident = root().join("tests/fixtures/convex-incident");
    let spec_dir = tempfile::tempdir().unwrap();
    let spec = spec_dir.path().join("portolan.yaml");
    let imported = portolan()
        .arg("import")
        .arg(&incident)
        .arg("--out")
        .arg(&spec)
        .output()
        .unwrap();
    assert_eq!(imported.status.code(), Some(0), "{}", stderr(&imported));
    assert!(
        stderr(&imported)
            .contains("marked: app convex-site: nothing is known to listen behind localhost:3212"),
        "{}",
        stderr(&imported)
    );
    let out = tempfile::tempdir().unwrap();
    let render = |extra: &[&str]| {
        portolan()
            .arg("render")
            .arg(&spec)
            .arg("--out")
            .arg(out.path())
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = render(&[]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("3212"), "{}", stderr(&refused));
    let written = render(&["--allow-findings"]);
    assert_eq!(written.status.code(), Some(0), "{}", stderr(&written));
    let (before, after) = (chains(&model(&incident)), chains(&model(out.path())));
    assert!(
        before
            .contains("app convex-site -> localhost:Some(3212) -> [] share=Public subdomain=true"),
        "{before:#?}"
    );
    let lost: Vec<&String> = before.difference(&after).collect();
    let gained: Vec<&String> = after.difference(&before).collect();
    assert!(
        gained.is_empty() && lost.iter().all(|c| c.starts_with("env .env ")),
        "lost {lost:#?}\ngained {gained:#?}"
    );
}

/// The files of a folder below `dir`, as (relative path, text).
fn texts_below(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                let name = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((name, text));
            }
        }
    }
    out.sort();
    out
}

/// Files changed at random (cut, doubled, spliced with another file's text, odd characters
/// put in): import never panics, and a spec it returns always loads.
#[test]
fn mutated_templates_never_panic_import_and_every_spec_it_returns_loads() {
    let mut corpus = texts_below(&fixture());
    corpus.extend(texts_below(&root().join("tests/fixtures/convex-incident")));
    let knowledge = Knowledge::builtin().clone();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    let (mut imported, mut refused) = (0, 0);
    for round in 0..200 {
        let target = round % corpus.len();
        let inputs: Vec<portolan::model::build::InputFile> = corpus
            .iter()
            .enumerate()
            .filter_map(|(i, (name, text))| {
                let mut text = text.clone();
                if i == target {
                    let mut at = next(text.len() + 1);
                    while !text.is_char_boundary(at) {
                        at -= 1;
                    }
                    match next(4) {
                        0 => text.truncate(at),
                        1 => {
                            let tail = text[at..].to_owned();
                            text.push_str(&tail);
                        }
                        2 => {
                            let other = &corpus[next(corpus.len())].1;
                            let mut cut = next(other.len() + 1);
                            while !other.is_char_boundary(cut) {
                                cut -= 1;
                            }
                            text.insert_str(at, &other[cut..]);
                        }
                        _ => {
                            let odd =
                                ["${", "$${X}", "'", "\"", ":", "\n  - ", "}", "0", "--", "`"];
                            text.insert_str(at, odd[next(odd.len())]);
                        }
                    }
                }
                let path = Path::new(name);
                Some(portolan::model::build::InputFile {
                    kind: portolan::files::classify(path, Some(&text))?,
                    path: path.to_path_buf(),
                    text,
                })
            })
            .collect();
        let ws = portolan::model::build::build(inputs, knowledge.clone());
        let outcome = std::panic::catch_unwind(|| portolan::import::import(&ws, "project", &[]));
        match outcome {
            Err(_) => panic!("round {round} ({}) panicked", corpus[target].0),
            Ok(Ok(spec)) => {
                let loaded = portolan::spec::load(
                    Path::new("portolan.yaml"),
                    &spec.text,
                    &mut SourceMap::new(),
                );
                assert!(
                    loaded.is_ok(),
                    "round {round}: the spec does not load:\n{}",
                    spec.text
                );
                imported += 1;
            }
            Ok(Err(e)) => {
                eprintln!("round {round}: {e}");
                refused += 1
            }
        }
    }
    assert_eq!(
        (imported, refused),
        (200, 0),
        "every mutated template imports"
    );
}

/// Copies the files of `from` (one level of folders deep is enough for the fixtures) into `to`.
fn copy_folder(from: &Path, to: &Path) {
    for (name, text) in texts_below(from) {
        let path = to.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Adoption's last step: the imported spec beside the original files, `check --spec` compares
/// them by meaning (`spec-disagreement`) and by text (`rendered-file-drift`), and reports nothing
/// but what import marked: the hand-written fixture's `docs` app, which nothing serves; on the
/// incident's files, nothing (its broken chain is kept as it is, and marked).
#[test]
fn check_spec_against_the_original_reports_only_what_import_marked() {
    for (original, marked) in [
        (fixture(), vec!["coder_app `docs` is not in the spec"]),
        (root().join("tests/fixtures/convex-incident"), vec![]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        copy_folder(&original, dir.path());
        let imported = portolan().arg("import").arg(dir.path()).output().unwrap();
        assert_eq!(imported.status.code(), Some(0), "{}", stderr(&imported));
        let checked = portolan()
            .current_dir(dir.path())
            .args(["check", "--spec", "portolan.yaml", "."])
            .args(["--select", "spec-disagreement,rendered-file-drift"])
            .args(["--format", "json"])
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&checked.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", stderr(&checked)));
        let messages: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["message"].as_str().unwrap())
            .collect();
        assert_eq!(
            messages.len(),
            marked.len(),
            "{}: {messages:#?}",
            original.display()
        );
        for (message, want) in messages.iter().zip(&marked) {
            assert!(message.starts_with(want), "{message}");
        }
        let marks = stderr(&imported);
        assert_eq!(
            marked.is_empty(),
            !marks.contains("marked: app docs"),
            "{marks}"
        );
    }
}

/// Files portolan rendered are named in one mark, with the spec they came from: import reads
/// back their chains, not the logic only the start script holds.
#[test]
fn portolans_own_files_are_named_with_their_spec() {
    let original = render_example("convex-selfhosted", &[]);
    let imported = portolan()
        .arg("import")
        .arg(original.path())
        .args(["--out", "-"])
        .output()
        .unwrap();
    assert_eq!(imported.status.code(), Some(0), "{}", stderr(&imported));
    let notes = stderr(&imported);
    assert!(
        notes.contains(
            "marked: .env.local, coder-apps.tf, docker-compose.yml, start-workspace.sh were rendered by portolan from portolan.yaml"
        ),
        "{notes}"
    );
    let spec = String::from_utf8(imported.stdout).unwrap();
    assert!(spec.contains("# .env.local, coder-apps.tf"), "{spec}");
    assert!(
        spec.lines().all(|l| l.len() <= 100 || !l.starts_with('#')),
        "{spec}"
    );
}
