//! `portolan check` on whole scenario folders under tests/fixtures/, with golden findings, and
//! the round trip: everything `render` writes checks clean, and a port changed by hand is found.

mod common;

use std::path::{Path, PathBuf};

use portolan::check::{check_paths, CheckOptions, CheckResult, SpecInput};
use portolan::diagnostic::Severity;

fn check_dir(dir: &Path, options: &CheckOptions) -> CheckResult {
    check_paths(&[dir.to_path_buf()], dir, options).expect("check runs")
}

/// One line per finding: `path:line:col: severity[rule]: message`, sorted.
fn lines(result: &CheckResult) -> Vec<String> {
    common::finding_lines(result)
}

fn fixture(name: &str) -> PathBuf {
    common::root().join("tests/fixtures").join(name)
}

fn rules_fired(result: &CheckResult, severity: Severity) -> Vec<&'static str> {
    let (_, findings) = result.merged();
    let mut rules: Vec<&str> = findings
        .iter()
        .filter(|d| d.severity == severity)
        .filter_map(|d| d.rule)
        .collect();
    rules.sort();
    rules.dedup();
    rules
}

#[test]
fn the_incident_is_found_in_every_file() {
    let result = check_dir(&fixture("convex-incident"), &CheckOptions::default());
    insta::assert_snapshot!("convex-incident", lines(&result).join("\n"));
    let errors = rules_fired(&result, Severity::Error);
    // The coder_app on 3212 and the compose mapping behind it; `CONVEX_SITE_URL==`; the site
    // role (CONVEX_SITE_URL, JWT_ISSUER) pointing at the API app.
    for rule in [
        "app-port-not-served",
        "published-port-without-listener",
        "env-double-equals",
        "origin-wrong-role",
    ] {
        assert!(errors.contains(&rule), "{rule} missing from {errors:?}");
    }
}

#[test]
fn the_corrected_setup_has_no_errors() {
    let result = check_dir(&fixture("convex-fixed"), &CheckOptions::default());
    insta::assert_snapshot!("convex-fixed", lines(&result).join("\n"));
    assert_eq!(result.count(Severity::Error), 0, "{:#?}", lines(&result));
}

#[test]
fn templates_shaped_like_coders_official_ones_are_clean() {
    for name in ["docker-template", "kubernetes-template"] {
        let result = check_dir(&fixture(name), &CheckOptions::default());
        assert_eq!(
            result.count(Severity::Error),
            0,
            "{name}: {:#?}",
            lines(&result)
        );
        insta::assert_snapshot!(name, lines(&result).join("\n"));
    }
}

fn spec_options(dir: &Path) -> CheckOptions {
    let text = std::fs::read_to_string(dir.join("portolan.yaml")).unwrap();
    let mut sources = portolan::source::SourceMap::new();
    let loaded = portolan::spec::load(Path::new("portolan.yaml"), &text, &mut sources).unwrap();
    CheckOptions {
        spec: Some(SpecInput {
            dir: dir.to_path_buf(),
            spec_file: "portolan.yaml".into(),
            spec: loaded.spec,
            text,
            render: Default::default(),
            recorded: false,
        }),
        ..CheckOptions::default()
    }
}

#[test]
fn every_rendered_example_checks_clean() {
    for example in common::EXAMPLES {
        let out = common::render_example(example, &["--full"]);
        std::fs::copy(
            common::root()
                .join("examples")
                .join(example)
                .join("portolan.yaml"),
            out.path().join("portolan.yaml"),
        )
        .unwrap();
        let result = check_dir(out.path(), &spec_options(out.path()));
        assert_eq!(lines(&result), Vec::<String>::new(), "{example}");
    }
}

#[test]
fn a_port_changed_by_hand_in_one_rendered_file_is_found() {
    let out = common::render_example("convex-selfhosted", &[]);
    let compose = out.path().join("docker-compose.yml");
    let text = std::fs::read_to_string(&compose).unwrap();
    std::fs::write(&compose, text.replace("\"3211:3211\"", "\"3212:3211\"")).unwrap();
    // Without the spec: the chain itself is broken.
    let result = check_dir(out.path(), &CheckOptions::default());
    let found = lines(&result);
    assert!(
        found.iter().any(|l| l.starts_with("coder-apps.tf:")
            && l.contains(
                "error[app-port-not-served]: coder_app convex-site targets localhost:3211"
            )),
        "{found:#?}"
    );
    // With the spec: the drift is named too.
    std::fs::copy(
        common::root().join("examples/convex-selfhosted/portolan.yaml"),
        out.path().join("portolan.yaml"),
    )
    .unwrap();
    let result = check_dir(out.path(), &spec_options(out.path()));
    assert!(
        lines(&result)
            .iter()
            .any(|l| l.starts_with("docker-compose.yml:") && l.contains("[rendered-file-drift]")),
        "{:#?}",
        lines(&result)
    );
}

#[test]
fn env_files_are_drift_only_when_edited_by_hand() {
    let out = common::render_example("convex-selfhosted", &[]);
    std::fs::copy(
        common::root().join("examples/convex-selfhosted/portolan.yaml"),
        out.path().join("portolan.yaml"),
    )
    .unwrap();
    // Missing (gitignored, written at workspace start): not drift.
    let env = out.path().join(".env.local");
    let text = std::fs::read_to_string(&env).unwrap();
    std::fs::remove_file(&env).unwrap();
    assert_eq!(
        lines(&check_dir(out.path(), &spec_options(out.path()))),
        Vec::<String>::new()
    );
    // Edited by hand: drift.
    std::fs::write(&env, text.replace("localhost:3210", "localhost:3212")).unwrap();
    let found = lines(&check_dir(out.path(), &spec_options(out.path())));
    assert!(
        found
            .iter()
            .any(|l| l.starts_with(".env.local:") && l.contains("[rendered-file-drift]")),
        "{found:#?}"
    );
}

#[test]
fn env_file_drift_names_the_key_never_the_rendered_value() {
    let out = common::render_example("convex-selfhosted", &[]);
    std::fs::copy(
        common::root().join("examples/convex-selfhosted/portolan.yaml"),
        out.path().join("portolan.yaml"),
    )
    .unwrap();
    let env = out.path().join(".env.local");
    let text = std::fs::read_to_string(&env).unwrap();
    let (line, value) = text
        .lines()
        .find_map(|l| {
            l.split_once("=http")
                .map(|(_, v)| (l.to_owned(), format!("http{v}")))
        })
        .expect("an origin line");
    let key = line.split_once('=').unwrap().0.to_owned();
    std::fs::write(&env, text.replace(&line, &format!("{key}=edited"))).unwrap();
    let result = check_dir(out.path(), &spec_options(out.path()));
    let (_, findings) = result.merged();
    let drift: Vec<_> = findings
        .iter()
        .filter(|d| d.rule == Some("rendered-file-drift"))
        .collect();
    assert_eq!(drift.len(), 1, "{:#?}", lines(&result));
    let text = format!("{:?}", drift[0]);
    assert!(text.contains(&format!("`{key}`")), "{text}");
    assert!(
        !text.contains(&value),
        "the rendered value {value} is shown: {text}"
    );
}

/// `check --spec` of the incident's spec (tests/fixtures/convex-spec) on a fixture folder, with
/// paths from tests/fixtures: the findings of the spec rules, and every spec line they name.
fn against_the_spec(folder: &str) -> (Vec<String>, Vec<String>) {
    let options = spec_options(&fixture("convex-spec"));
    let result = check_paths(&[fixture(folder)], &fixture(""), &options).expect("check runs");
    let (sources, findings) = result.merged();
    let spec_rules = [Some("rendered-file-drift"), Some("spec-disagreement")];
    let found = lines(&result)
        .into_iter()
        .filter(|l| l.contains("[rendered-file-drift]") || l.contains("[spec-disagreement]"))
        .collect();
    let mut named = Vec::new();
    for d in findings.iter().filter(|d| spec_rules.contains(&d.rule)) {
        for label in &d.related {
            let (start, _) = sources.resolve(label.span);
            named.push(format!(
                "{}:{}: {}",
                sources.path(label.span).display(),
                start.line,
                label.message
            ));
        }
    }
    named.sort();
    (found, named)
}

#[test]
fn the_incidents_files_disagree_with_its_spec_at_their_lines() {
    let (found, named) = against_the_spec("convex-incident");
    assert_eq!(
        found,
        [
            "convex-incident/docker-compose.convex.yml:8:9: warning[spec-disagreement]: compose service `convex-backend` publishes 3212:3212, which the spec does not: it publishes 3210:3210 (`api`) and 3211:3211 (`site`)",
            "convex-incident/main.tf:46:15: error[spec-disagreement]: coder_app `convex-site` url is localhost:3212; the spec's `convex-site` targets convex-backend.site, port 3211 (line 24)",
        ]
    );
    assert_eq!(
        named,
        [
            "convex-spec/portolan.yaml:16: the spec's service `convex-backend`",
            "convex-spec/portolan.yaml:24: convex-backend.site is 3211 here",
            "convex-spec/portolan.yaml:48: `convex-site` targets it here",
        ]
    );
}

#[test]
fn the_corrected_files_agree_with_the_spec() {
    let (found, _) = against_the_spec("convex-fixed");
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn a_rendered_file_replaced_by_one_of_another_name_is_compared_by_meaning() {
    let out = common::render_example("convex-selfhosted", &[]);
    std::fs::copy(
        common::root().join("examples/convex-selfhosted/portolan.yaml"),
        out.path().join("portolan.yaml"),
    )
    .unwrap();
    // The compose file as the project wrote it: no header, another name, the site on 3212.
    let rendered = out.path().join("docker-compose.yml");
    let own: String = std::fs::read_to_string(&rendered)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("portolan-sha256:"))
        .map(|l| format!("{}\n", l.replace("\"3211:3211\"", "\"3212:3211\"")))
        .collect();
    std::fs::remove_file(&rendered).unwrap();
    std::fs::write(out.path().join("compose.yml"), &own).unwrap();
    let line = own.lines().position(|l| l.contains("3212:3211")).unwrap() + 1;
    let found: Vec<String> = lines(&check_dir(out.path(), &spec_options(out.path())))
        .into_iter()
        .filter(|l| l.contains("[rendered-file-drift]") || l.contains("[spec-disagreement]"))
        .collect();
    // One finding, at the file's line; docker-compose.yml is not missing: compose.yml is there.
    assert_eq!(
        found,
        [format!(
            "compose.yml:{line}:9: error[spec-disagreement]: compose service `backend` publishes 3212:3211 where the spec publishes 3211:3211 (`site`, line 26)"
        )]
    );
}
