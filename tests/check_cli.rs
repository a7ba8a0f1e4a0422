//! `portolan check` end to end on the binary: every format, exit codes, rule selection and
//! suppression comments.

mod common;

use std::process::Output;

use common::{portolan, root};

fn check(dir: &str, args: &[&str]) -> Output {
    portolan()
        .current_dir(root().join("tests/fixtures").join(dir))
        .arg("check")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn human_format_shows_code_frames_and_exits_1_on_errors() {
    let out = check("convex-incident", &[]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!("human", stdout(&out));
}

#[test]
fn json_format_follows_the_contract() {
    let out = check("convex-incident", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["version"], 1);
    let finding = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "app-port-not-served")
        .expect("app-port-not-served");
    assert_eq!(finding["code"], "PT201");
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["location"]["path"], "main.tf");
    assert_eq!(finding["location"]["line"], 46);
    assert_eq!(finding["location"]["column"], 15);
    let related: Vec<&str> = finding["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["location"]["path"].as_str().unwrap())
        .collect();
    assert!(
        related.contains(&"docker-compose.convex.yml"),
        "{related:?}"
    );
    assert!(related.contains(&"start-convex-backend.sh"), "{related:?}");
    let summary = &json["summary"];
    assert_eq!(summary["files"], 6);
    assert!(summary["errors"].as_u64().unwrap() >= 2);
}

#[test]
fn sarif_format_validates_and_names_every_rule() {
    let out = check("convex-incident", &["--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    // Every rule once, `parse-error` (the id of findings without a rule) among them.
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids.len(), portolan::rules::RULES.len());
    assert!(ids.contains(&"parse-error"), "{ids:?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "published-port-without-listener"));
    // The schema check itself (python jsonschema against the official schema).
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("check.sarif");
    std::fs::write(&log, &out.stdout).unwrap();
    let helper = root().join("tests/validate_sarif.py");
    if let Ok(run) = std::process::Command::new("python3")
        .arg(helper)
        .arg(&log)
        .output()
    {
        let code = run.status.code();
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            code == Some(0) || (code == Some(77) && !ci),
            "SARIF schema check: {}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

#[test]
fn github_format_writes_workflow_commands() {
    let out = check("convex-incident", &["--format", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("::error file=main.tf,line=46,col=15,")
                && l.contains("title=app-port-not-served (PT201)::")),
        "{text}"
    );
    insta::assert_snapshot!("github", text);
}

#[test]
fn exit_0_when_clean_and_strict_fails_on_warnings() {
    let out = check("convex-fixed", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // The incident has a warning (builtin-var-set) besides its errors; alone it is exit 0,
    // with --strict exit 1.
    let only_warning = check("convex-incident", &["--select", "builtin-var-set"]);
    assert_eq!(
        only_warning.status.code(),
        Some(0),
        "{}",
        stdout(&only_warning)
    );
    let strict = check("convex-incident", &["--select", "PT307", "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn select_and_ignore_take_names_and_codes() {
    let out = check(
        "convex-incident",
        &[
            "--format",
            "json",
            "--select",
            "PT201,published-port-without-listener",
            "--ignore",
            "PT203",
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(rules, vec!["app-port-not-served"]);
}

#[test]
fn exit_2_when_the_command_cannot_run() {
    let unknown_rule = check("convex-incident", &["--select", "app-port-not-servd"]);
    assert_eq!(unknown_rule.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown_rule.stderr)
        .contains("did you mean `app-port-not-served`?"));
    let missing = check("convex-incident", &["no/such/dir"]);
    assert_eq!(missing.status.code(), Some(2));
    let bad_flag = check("convex-incident", &["--format", "xml"]);
    assert_eq!(bad_flag.status.code(), Some(2));
}

#[test]
fn suppression_comments_silence_one_rule_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("tests/fixtures/convex-incident");
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let compose = dir.path().join("docker-compose.convex.yml");
    let text = std::fs::read_to_string(&compose).unwrap().replace(
        "      - \"3212:3212\" # HTTP actions",
        "      # portolan: ignore[published-port-without-listener] kept for an old client\n      - \"3212:3212\"",
    );
    std::fs::write(&compose, text).unwrap();
    let out = portolan()
        .current_dir(dir.path())
        .args(["check", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert!(
        !rules.contains(&"published-port-without-listener"),
        "{rules:?}"
    );
    assert!(rules.contains(&"app-port-not-served"), "{rules:?}");
}

#[test]
fn rules_lists_and_explains() {
    let list = portolan().arg("rules").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&list.stdout).lines().count(),
        portolan::rules::RULES.len()
    );
    let one = portolan().args(["rules", "PT201"]).output().unwrap();
    let text = String::from_utf8_lossy(&one.stdout);
    assert!(text.starts_with("# app-port-not-served (PT201)"), "{text}");
    assert!(text.contains("## Why is this bad?"));
}

#[test]
fn github_and_sarif_paths_start_at_the_working_directory() {
    let fixtures = root().join("tests/fixtures");
    let run = |format: &str| {
        portolan()
            .current_dir(&fixtures)
            .args(["check", "convex-incident", "--format", format])
            .output()
            .unwrap()
    };
    let github = stdout(&run("github"));
    assert!(
        github.contains("::error file=convex-incident/main.tf,line=46,col=15,"),
        "{github}"
    );
    let sarif: serde_json::Value = serde_json::from_slice(&run("sarif").stdout).unwrap();
    let uris: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(
        uris.iter().all(|u| u.starts_with("convex-incident/")),
        "{uris:?}"
    );
    // JSON and human read the same paths, relative to the working directory too.
    let json: serde_json::Value = serde_json::from_slice(&run("json").stdout).unwrap();
    assert!(json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["location"]["path"]
            .as_str()
            .unwrap()
            .starts_with("convex-incident/")));
    let human = stdout(&run("human"));
    assert!(
        human.contains("--> convex-incident/main.tf:46:15"),
        "{human}"
    );
}

/// A folder outside the working directory, named by its absolute path, is shown by that path
/// with one leading `/` in every format; SARIF names it with a `file:///` URI.
#[test]
fn paths_outside_the_working_directory_are_absolute_in_every_format() {
    let incident = root().join("tests/fixtures/convex-incident");
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |format: &str| {
        let out = portolan()
            .current_dir(elsewhere.path())
            .args(["check", "--format", format])
            .arg(&incident)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout(&out)
    };
    let main_tf = format!("{}/main.tf", incident.display());
    assert!(main_tf.starts_with('/') && !main_tf.starts_with("//"));
    let human = run("human");
    assert!(human.contains(&format!("--> {main_tf}:46:15")), "{human}");
    assert!(
        !human.contains("--> //") && !human.contains("::: //"),
        "{human}"
    );
    let github = run("github");
    assert!(
        github.contains(&format!("::error file={main_tf},line=46,col=15,")),
        "{github}"
    );
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let paths: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"]["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&main_tf.as_str()), "{paths:?}");
    let sarif: serde_json::Value = serde_json::from_str(&run("sarif")).unwrap();
    let artifact =
        &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    let uri = artifact["uri"].as_str().unwrap();
    assert!(
        uri.starts_with(&format!("file://{}/", incident.display())),
        "{uri}"
    );
    assert!(artifact.get("uriBaseId").is_none(), "{artifact}");
}

/// A bad spec reads the same in every subcommand that takes one: `file:line:column: error:`,
/// then the code frame `check`'s human report draws, exit 2.
#[test]
fn spec_errors_are_located_code_frames_in_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("portolan.yaml");
    let run = |args: &[&str]| {
        portolan()
            .current_dir(dir.path())
            .args(args)
            .env_remove("CODER_WORKSPACE_NAME")
            .output()
            .unwrap()
    };
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "name: x\nservices:\n  web:\n    imgae: nginx\n",
            "portolan.yaml:4:5: error: unknown field `imgae`; did you mean `image`?\n --> portolan.yaml:4:5\n  |\n4 |     imgae: nginx\n  |     ^^^^^\n",
            &[],
        ),
        (
            "name: x\nservices:\n  web: { image: nginx, ports: { http: 80 } }\nignore: [app-port-not-servd]\n",
            "portolan.yaml:4:10: error: unknown rule `app-port-not-servd`; did you mean `app-port-not-served`?\n --> portolan.yaml:4:10\n  |\n4 | ignore: [app-port-not-servd]\n  |          ^^^^^^^^^^^^^^^^^^\n",
            &["= help: `portolan rules` lists every rule"],
        ),
    ];
    for (text, frame, also) in cases {
        std::fs::write(&spec, text).unwrap();
        for args in [
            &["render", "portolan.yaml"][..],
            &["check", "--spec", "portolan.yaml", "."],
            &["probe", "--spec", "portolan.yaml"],
        ]
        .into_iter()
        .filter(|a| common::in_this_build(a))
        {
            let out = run(args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.starts_with(frame),
                "{args:?}:\n{err}\nexpected:\n{frame}"
            );
            assert_eq!(err.matches(": error:").count(), 1, "{args:?}: {err}");
            for line in *also {
                assert!(err.contains(line), "{args:?}: {err}");
            }
            assert!(out.stdout.is_empty(), "{args:?}");
        }
    }
    assert!(
        !dir.path().join("coder-apps.tf").exists(),
        "nothing written"
    );
}

/// `check --spec` and `probe --spec` read the spec as `render` does: only a regular file. A spec
/// that is a link (to a file of secrets, say) is refused, never shown in a parse error.
#[test]
fn a_linked_spec_is_refused_by_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secrets.env"), "TOKEN=hunter2\n").unwrap();
    std::os::unix::fs::symlink("secrets.env", dir.path().join("portolan.yaml")).unwrap();
    for args in [
        &["render", "portolan.yaml"][..],
        &["check", "--spec", "portolan.yaml", "."],
        &["probe", "--spec", "portolan.yaml"],
    ]
    .into_iter()
    .filter(|a| common::in_this_build(a))
    {
        let out = portolan()
            .current_dir(dir.path())
            .args(args)
            .env_remove("CODER_WORKSPACE_NAME")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("portolan.yaml is a symbolic link, not a regular file: not read"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("hunter2"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// The spec's warnings are shown, located, by every subcommand that reads the spec.
#[test]
fn spec_warnings_are_shown_by_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("portolan.yaml"),
        "name: x\nservices:\n  web: { run: ./serve, ports: { http: 8080 } }\napps:\n  web: { target: web.http, hidden: true, display_name: Web }\n",
    )
    .unwrap();
    for args in [
        &["render", "--check", "portolan.yaml"][..],
        &["check", "--spec", "portolan.yaml", "."],
        &[
            "probe",
            "--spec",
            "portolan.yaml",
            "--deadline",
            "1",
            "--timeout",
            "1",
        ],
    ]
    .into_iter()
    .filter(|a| common::in_this_build(a))
    {
        let out = portolan()
            .current_dir(dir.path())
            .args(args)
            .env_remove("CODER_WORKSPACE_NAME")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("portolan.yaml:5:3: warning: app `web` is hidden, so its `display_name` is never shown"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("5 |   web: { target: web.http"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn the_former_name_of_a_renamed_rule_still_selects_ignores_and_suppresses() {
    let dir = tempfile::tempdir().unwrap();
    let origin = "https://convex-api--chat--alice.coder.example.com";
    std::fs::write(
        dir.path().join(".env"),
        format!("CONVEX_CLOUD_ORIGIN={origin}\nCONVEX_SITE_ORIGIN={origin}\n"),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("web")).unwrap();
    std::fs::write(
        dir.path().join("web/.env"),
        format!("CONVEX_CLOUD_ORIGIN={origin}\n# portolan: ignore[site-origin-equals-cloud-origin] on purpose\nCONVEX_SITE_ORIGIN={origin}\n"),
    )
    .unwrap();
    let found = |args: &[&str]| -> Vec<(String, String)> {
        let out = portolan()
            .current_dir(dir.path())
            .args(["check", "--format", "json"])
            .args(args)
            .output()
            .unwrap();
        assert_ne!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["rule"].as_str().unwrap_or("").to_owned(),
                    f["location"]["path"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    // The inline ignore with the former name silences web/.env's finding.
    let only = found(&["--select", "site-origin-equals-cloud-origin"]);
    assert_eq!(
        only,
        [("origin-shared-by-roles".to_owned(), ".env".to_owned())]
    );
    assert_eq!(found(&["--select", "PT303"]), only);
    let ignored = found(&["--ignore", "site-origin-equals-cloud-origin"]);
    assert!(
        !ignored
            .iter()
            .any(|(rule, _)| rule == "origin-shared-by-roles"),
        "{ignored:?}"
    );
    let explained = portolan()
        .args(["rules", "site-origin-equals-cloud-origin"])
        .output()
        .unwrap();
    assert_eq!(explained.status.code(), Some(0));
    assert!(stdout(&explained).contains("origin-shared-by-roles"));
}

/// `--knowledge FILE` teaches check a launcher, a compute resource and a pair of roles that
/// must not share an origin, without a new rule.
#[test]
fn a_knowledge_file_adds_launchers_compute_types_and_role_pairs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        "resource \"coder_agent\" \"main\" {\n  os             = \"linux\"\n  arch           = \"amd64\"\n  startup_script = \"doppler run --project web -- next dev -p 3001 &\"\n}\n\nresource \"coder_app\" \"web\" {\n  agent_id = coder_agent.main.id\n  slug      = \"web\"\n  url       = \"http://localhost:3001\"\n  subdomain = true\n}\n\nresource \"fly_machine\" \"m\" {}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "PUBLIC_URL=https://web.example.com\nADMIN_URL=https://web.example.com\n",
    )
    .unwrap();
    let knowledge = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        knowledge.path(),
        "launchers:\n  doppler: { subcommands: [run], value_flags: [--project] }\ncompute:\n  fly_machine: {}\nenv:\n  - { name: PUBLIC_URL, role: web, kind: public-origin }\n  - { name: ADMIN_URL, role: web-admin, kind: public-origin }\nroles:\n  web-admin:\n    distinct_from:\n      web: \"the admin UI has an origin of its own\"\n",
    )
    .unwrap();
    let findings = |extra: &[&std::ffi::OsStr]| -> Vec<(String, String)> {
        let out = portolan()
            .current_dir(dir.path())
            .args(["check", ".", "--format", "json"])
            .args(extra)
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut found: Vec<(String, String)> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["rule"].as_str().unwrap_or("").to_owned(),
                    f["severity"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        found.sort();
        found
    };
    let pair = |rule: &str, severity: &str| (rule.to_owned(), severity.to_owned());
    assert_eq!(
        findings(&[]),
        [
            pair("agent-never-started", "warning"),
            pair("app-port-not-served", "warning")
        ]
    );
    assert_eq!(
        findings(&["--knowledge".as_ref(), knowledge.path().as_os_str()]),
        [
            pair("agent-never-started", "error"),
            pair("origin-shared-by-roles", "error")
        ]
    );
}

/// The incident as its owner ran it: `check .` in a project whose `.gitignore` lists `*.local`.
/// The `==` typo in the gitignored `.env.local` is found, the JSON report names the file as read
/// although ignored, and other ignored files stay unread.
#[test]
fn gitignored_env_files_are_read_and_named_in_the_json_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join(".git")).unwrap();
    std::fs::create_dir_all(d.join("build")).unwrap();
    std::fs::write(d.join(".gitignore"), "*.local\nbuild/\n").unwrap();
    std::fs::write(
        d.join(".env.local"),
        "VITE_CONVEX_URL=https://convex-api--ws--me.example.com\nCONVEX_SITE_URL==https://convex-site--ws--me.example.com\n",
    )
    .unwrap();
    std::fs::write(d.join("start.local"), "echo )\n").unwrap();
    std::fs::write(d.join("build/.env"), "A==1\n").unwrap();
    let out = portolan()
        .current_dir(d)
        .args(["check", ".", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    let typo = findings
        .iter()
        .find(|f| f["rule"] == "env-double-equals")
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(typo["location"]["path"], ".env.local");
    assert_eq!(typo["location"]["line"], 2);
    assert!(
        findings
            .iter()
            .all(|f| f["location"]["path"] == ".env.local"),
        "{findings:#?}"
    );
    assert_eq!(
        json["read_although_ignored"],
        serde_json::json!([".env.local"])
    );
}

/// A shell construct bash accepts and portolan's parser does not (a heredoc sent to the
/// background) is a note of rule `parse-error`: shown, and `--strict` still passes.
#[test]
fn a_shell_construct_the_parser_cannot_read_is_a_note_that_strict_passes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("run.sh"),
        "#!/bin/bash\nbash -s <<'EOF' &\necho started\nEOF\nwait\n",
    )
    .unwrap();
    let bash_accepts = std::process::Command::new("bash")
        .arg("-n")
        .arg(dir.path().join("run.sh"))
        .status()
        .map_or(true, |s| s.success());
    assert!(bash_accepts);
    let out = portolan()
        .current_dir(dir.path())
        .args(["check", ".", "--strict", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0]["rule"], "parse-error");
    assert_eq!(findings[0]["code"], "PT001");
    assert_eq!(findings[0]["severity"], "info");
    assert_eq!(findings[0]["location"]["line"], 2);
    let ignored = portolan()
        .current_dir(dir.path())
        .args(["check", ".", "--ignore", "parse-error", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&ignored.stdout).unwrap();
    assert_eq!(json["findings"], serde_json::json!([]));
}
