//! `portolan render` end to end on the binary: drift check, hand-edit protection, bad specs.

mod common;

use std::path::Path;
use std::process::Output;

use common::{files_below, portolan, render_example, root};

fn render(spec: &Path, out: &Path, extra: &[&str]) -> Output {
    portolan()
        .arg("render")
        .arg(spec)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn convex_spec() -> std::path::PathBuf {
    root().join("examples/convex-selfhosted/portolan.yaml")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_passes_on_fresh_output_and_writes_nothing() {
    let out = render_example("convex-selfhosted", &[]);
    let before = files_below(out.path());
    let result = render(&convex_spec(), out.path(), &["--check"]);
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
    assert!(result.stdout.is_empty());
    assert_eq!(files_below(out.path()), before);
}

#[test]
fn check_prints_a_diff_and_exits_1_on_drift() {
    let out = render_example("convex-selfhosted", &[]);
    let compose = out.path().join("docker-compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap();
    std::fs::write(&compose, text.replace("\"3211:3211\"", "\"3212:3212\"")).unwrap();
    std::fs::remove_file(out.path().join("start-workspace.sh")).unwrap();
    // Env files are written at workspace start: a missing one is not drift (they are
    // gitignored), but one edited by hand is.
    let convex_env = out.path().join(".env.local");
    let env_text = std::fs::read_to_string(&convex_env).unwrap();
    std::fs::remove_file(&convex_env).unwrap();
    let missing = render(&convex_spec(), out.path(), &["--check"]);
    assert_eq!(missing.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&missing.stdout);
    assert!(!diff.contains("+++ b/.env.local"), "{diff}");
    let edited_env = env_text.replace("localhost:3210", "localhost:3212");
    assert_ne!(edited_env, env_text);
    std::fs::write(&convex_env, &edited_env).unwrap();

    let result = render(&convex_spec(), out.path(), &["--check"]);
    assert_eq!(result.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&result.stdout);
    assert!(
        diff.contains("--- a/docker-compose.yml\n+++ b/docker-compose.yml"),
        "{diff}"
    );
    assert!(
        diff.contains("-      - \"3212:3212\"\n+      - \"3211:3211\""),
        "{diff}"
    );
    assert!(
        diff.contains("--- /dev/null\n+++ b/start-workspace.sh"),
        "{diff}"
    );
    assert!(diff.contains("+++ b/.env.local"), "{diff}");
    // --check wrote nothing.
    assert_eq!(std::fs::read_to_string(&convex_env).unwrap(), edited_env);
    assert!(!out.path().join("start-workspace.sh").exists());
    assert!(std::fs::read_to_string(&compose)
        .unwrap()
        .contains("3212:3212"));
}

#[test]
fn hand_edited_files_are_not_overwritten_without_force() {
    let out = render_example("convex-selfhosted", &[]);
    let compose = out.path().join("docker-compose.yml");
    let edited = std::fs::read_to_string(&compose).unwrap() + "# my note\n";
    std::fs::write(&compose, &edited).unwrap();
    let script = out.path().join("start-workspace.sh");
    std::fs::remove_file(&script).unwrap();

    let result = render(&convex_spec(), out.path(), &[]);
    assert_eq!(result.status.code(), Some(2));
    assert!(
        stderr(&result).contains("docker-compose.yml was edited by hand"),
        "{}",
        stderr(&result)
    );
    // Nothing at all was written: not the edited file, not the missing one.
    assert_eq!(std::fs::read_to_string(&compose).unwrap(), edited);
    assert!(!script.exists());

    let forced = render(&convex_spec(), out.path(), &["--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    assert!(!std::fs::read_to_string(&compose)
        .unwrap()
        .contains("# my note"));
    assert!(script.exists());
}

#[test]
fn files_portolan_did_not_write_are_protected_too() {
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("docker-compose.yml"), "services: {}\n").unwrap();
    let result = render(&convex_spec(), out.path(), &[]);
    assert_eq!(result.status.code(), Some(2));
    assert!(stderr(&result).contains("was not written by portolan"));
    assert_eq!(files_below(out.path()).len(), 1);
}

#[test]
fn rerender_over_untouched_output_succeeds() {
    let out = render_example("minio-worker", &["--full"]);
    let result = render(
        &root().join("examples/minio-worker/portolan.yaml"),
        out.path(),
        &["--full"],
    );
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
}

/// Bad specs: one clear error with file:line:column, exit code 2, nothing written.
#[test]
fn bad_specs_give_one_located_error_and_write_nothing() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "unknown field",
            "name: x\nservices:\n  web:\n    imgae: nginx\n",
            "portolan.yaml:4:5: error: unknown field `imgae`; did you mean `image`?",
        ),
        (
            "dangling origin",
            "name: x\nservices:\n  web:\n    image: nginx\n    ports: { http: 80 }\n    env:\n      URL: ${origin:web.htp}\napps:\n  web: { target: web.http }\n",
            "portolan.yaml:7:12: error: service `web` has no port `htp`; did you mean `http`?",
        ),
        (
            "duplicate slug",
            "name: x\nservices:\n  web: { image: nginx, ports: { http: 80 } }\napps:\n  web: { target: web.http }\n  web: { target: web.http }\n",
            "portolan.yaml:6:3: error: `web` appears twice",
        ),
        (
            "invalid slug",
            "name: x\nservices:\n  web: { image: nginx, ports: { http: 80 } }\napps:\n  Web_App: { target: web.http }\n",
            "portolan.yaml:5:3: error: invalid app slug `Web_App`",
        ),
        (
            "bad yaml",
            "name: x\nservices:\n  web: { image: nginx\n",
            "portolan.yaml:3:8: error: unclosed bracket",
        ),
        (
            "duplicate host port",
            "name: x\nservices:\n  a: { image: nginx, ports: { http: 8080 } }\n  b: { run: ./serve, ports: { http: 8080 } }\n",
            "portolan.yaml:4:37: error: `b.http` uses localhost port 8080 which `a.http` already uses",
        ),
    ];
    for (name, spec, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let spec_path = dir.path().join("portolan.yaml");
        std::fs::write(&spec_path, spec).unwrap();
        let result = portolan()
            .current_dir(dir.path())
            .args(["render", "portolan.yaml"])
            .output()
            .unwrap();
        let err = stderr(&result);
        assert_eq!(result.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.starts_with(expected),
            "{name}:\n{err}\nexpected: {expected}"
        );
        assert_eq!(
            err.matches(": error:").count(),
            1,
            "{name}: one error\n{err}"
        );
        assert_eq!(files_below(dir.path()).len(), 1, "{name}: nothing written");
    }
}

#[test]
fn init_writes_a_spec_that_renders() {
    for preset in ["convex", "code-server"] {
        let dir = tempfile::tempdir().unwrap();
        let init = portolan()
            .args(["init", "--preset", preset])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(init.status.success(), "{}", stderr(&init));
        let again = portolan()
            .args(["init", "--preset", preset])
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(2), "init refuses to overwrite");
        let spec = dir.path().join("portolan.yaml");
        assert_eq!(render(&spec, dir.path(), &[]).status.code(), Some(0));
    }
}

#[test]
fn schema_describes_the_spec() {
    let out = portolan().arg("schema").output().unwrap();
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let props = &schema["properties"];
    for key in ["name", "coder", "services", "apps", "env_files", "secrets"] {
        assert!(props.get(key).is_some(), "schema lacks {key}");
    }
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
}

#[test]
fn completions_are_generated() {
    let out = portolan().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("portolan"));
}

#[test]
fn templates_can_be_overridden_from_a_folder() {
    let templates = tempfile::tempdir().unwrap();
    std::fs::write(
        templates.path().join("env-file.j2"),
        "# custom\n{% for line in env_file.local_lines %}{{ line }}\n{% endfor %}",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let dir = templates.path().to_str().unwrap();
    let result = render(&convex_spec(), out.path(), &["--templates", dir]);
    assert_eq!(result.status.code(), Some(0), "{}", stderr(&result));
    let env = std::fs::read_to_string(out.path().join(".env.local")).unwrap();
    let body: Vec<&str> = env.lines().skip(1).collect();
    assert_eq!(
        body,
        vec![
            "# custom",
            "VITE_CONVEX_URL=http://localhost:3210",
            "VITE_CONVEX_SITE_URL=http://localhost:3211",
            "CONVEX_SELF_HOSTED_URL=http://localhost:3210"
        ]
    );
    // Files without an override keep the built-in template.
    let compose = std::fs::read_to_string(out.path().join("docker-compose.yml")).unwrap();
    assert!(compose.contains("\"3211:3211\""));
    // A broken override is a clear error at its line and column, and nothing is written.
    std::fs::write(templates.path().join("env-file.j2"), "{% for x in %}").unwrap();
    let empty = tempfile::tempdir().unwrap();
    let broken = render(&convex_spec(), empty.path(), &["--templates", dir]);
    assert_eq!(broken.status.code(), Some(2));
    assert!(
        stderr(&broken).contains("env-file.j2:1:13: error: syntax error: unexpected end of block"),
        "{}",
        stderr(&broken)
    );
    assert!(files_below(empty.path()).is_empty());
}

/// A valid spec can still name ports its images do not listen on: render says so, from the same
/// rules `check` runs, and the spec's own `knowledge` teaches it about images it does not know.
#[test]
fn render_reports_ports_the_images_do_not_listen_on() {
    let dir = tempfile::tempdir().unwrap();
    let spec = "name: x\nservices:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports: { api: 3210, site: 3212 }\n  api:\n    image: example/my-api:1\n    ports: { http: 9000 }\napps:\n  convex-site: { target: backend.site, share: public }\n  api: { target: api.http }\nknowledge:\n  images:\n    example/my-api:\n      listeners:\n        - { name: http, default: 8080 }\n";
    std::fs::write(dir.path().join("portolan.yaml"), spec).unwrap();
    // Errors in the rendered files: nothing written, exit 1.
    let refused = portolan()
        .current_dir(dir.path())
        .arg("render")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("nothing written"));
    assert_eq!(files_below(dir.path()), [Path::new("portolan.yaml")]);
    let check = portolan()
        .current_dir(dir.path())
        .args(["render", "--check"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    let out = portolan()
        .current_dir(dir.path())
        .args(["render", "--allow-findings"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    // Written files without drift: `--check` still fails on the errors, unless allowed.
    for (flags, code) in [
        (&["--check"][..], 1),
        (&["--check", "--allow-findings"][..], 0),
    ] {
        let again = portolan()
            .current_dir(dir.path())
            .arg("render")
            .args(flags)
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(code), "{flags:?}");
    }
    let err = stderr(&out);
    assert!(err.contains("backend publishes localhost:3212 to container port 3212, but it listens only on 3210 (default) and 3211 (default)"), "{err}");
    assert!(err.contains("api publishes localhost:9000 to container port 9000, but it listens only on 8080 (default)"), "{err}");
    // The same findings from check --spec.
    let check = portolan()
        .current_dir(dir.path())
        .args(["check", ".", "--spec", "portolan.yaml", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let rules: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(
        rules
            .iter()
            .filter(|r| **r == "published-port-without-listener")
            .count(),
        2,
        "{rules:?}"
    );
}

/// `init` makes its folders 0755 whatever the umask, and a link where portolan.yaml goes (even a
/// dangling one) is replaced only with --force, never written through.
#[test]
fn init_ignores_the_umask_and_never_writes_through_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let root_dir = tempfile::tempdir().unwrap();
    let dir = root_dir.path().join("a/b");
    let script = format!(
        "umask 000; exec '{}' init '{}'",
        env!("CARGO_BIN_EXE_portolan"),
        dir.display()
    );
    let made = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&root_dir.path().join("a")), 0o755);
    assert_eq!(mode(&dir), 0o755);
    assert_eq!(mode(&dir.join("portolan.yaml")), 0o644);

    let linked = tempfile::tempdir().unwrap();
    let target = linked.path().join("elsewhere.yaml");
    let spec = linked.path().join("portolan.yaml");
    std::os::unix::fs::symlink(&target, &spec).unwrap();
    let refused = portolan().arg("init").arg(linked.path()).output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(!target.exists());
    let forced = portolan()
        .args(["init", "--force"])
        .arg(linked.path())
        .output()
        .unwrap();
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(!target.exists(), "nothing written through the link");
    assert!(std::fs::symlink_metadata(&spec).unwrap().is_file());
}
