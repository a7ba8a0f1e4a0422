//! Plans built from files, run against real servers on 127.0.0.1 (tests/common/servers.rs) behind
//! a stand-in for Coder's proxy. The incident's files (the site app on 3212, which docker
//! publishes with nothing behind it) break the site chain at the published port; the fixed files
//! (3211) come out whole, with the discovery document's issuer checked against the site origin.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use common::servers::*;
use portolan::check::{check_files, classify};
use portolan::knowledge::Knowledge;
use portolan::model::build::InputFile;
use portolan::model::Workspace;
use portolan::probe::plan::{plan_from_workspace, PlanOptions};
use portolan::probe::{
    self, LinkKind, Observed, ProbePlan, ProbeReport, PublicContext, Share, Verdict,
};

/// The incident fixture as one workspace, with `edit` applied to main.tf.
fn incident(edit: impl Fn(String) -> String) -> Workspace {
    let dir = common::root().join("tests/fixtures/convex-incident");
    let files = [
        "main.tf",
        "docker-compose.convex.yml",
        "start-convex-backend.sh",
    ]
    .iter()
    .map(|name| {
        let text = std::fs::read_to_string(dir.join(name)).expect("fixture");
        let text = if *name == "main.tf" { edit(text) } else { text };
        InputFile {
            path: (*name).into(),
            kind: classify(Path::new(name), Some(&text)).expect("a kind portolan reads"),
            text,
        }
    })
    .collect();
    check_files(files, &[], Knowledge::builtin().clone()).0
}

/// The Convex backend on free ports behind the proxy; `site_upstream` is where the proxy sends
/// the site app (the agent proxies the port the app's url names).
struct Running {
    api: u16,
    site: u16,
    reset: u16,
    proxy: u16,
}

async fn running(issuer: bool, site_upstream: impl FnOnce(&Running) -> u16) -> Running {
    let (proxy_listener, proxy) = bind().await;
    let (api_listener, api) = bind().await;
    let (site_listener, site) = bind().await;
    let (reset_listener, reset) = bind().await;
    convex_api(api_listener, issuer.then(|| origin("convex-site", proxy)));
    convex_site(site_listener, api);
    accept_then_reset(reset_listener);
    let ports = Running {
        api,
        site,
        reset,
        proxy,
    };
    let upstream = site_upstream(&ports);
    coder_proxy(
        proxy_listener,
        HashMap::from([
            ("convex-api", (api, Share::Public)),
            ("convex-site", (upstream, Share::Public)),
        ]),
    );
    ports
}

/// The plan for the Convex apps of `ws`, inside a workspace `ws` of `me` whose wildcard domain is
/// the proxy; the ports the files name are mapped to the servers' free ports.
fn plan(ws: &Workspace, servers: &Running) -> ProbePlan {
    let public = PublicContext {
        workspace: "ws".into(),
        owner: "me".into(),
        wildcard_domain: format!("coder.test:{}", servers.proxy),
        scheme: "http".into(),
        token: None,
        access_url: None,
    };
    let only = PlanOptions {
        only: vec!["convex-api".into(), "convex-site".into()],
    };
    let mut plan = plan_from_workspace(ws, Some(public), &only);
    let ports = HashMap::from([
        (3210, servers.api),
        (3211, servers.site),
        (3212, servers.reset),
    ]);
    for chain in &mut plan.chains {
        if let Some(port) = chain.published.as_mut() {
            *port = ports[port];
        }
        assert_eq!(chain.listener, None, "compose containers are not reachable");
    }
    plan.timeout = Duration::from_secs(5);
    plan.deadline = Duration::from_secs(20);
    plan.resolve = resolve_to_localhost(&[
        "convex-api--ws--me.coder.test",
        "convex-site--ws--me.coder.test",
    ]);
    plan
}

async fn run(plan: &ProbePlan, ws: &Workspace) -> (ProbeReport, String) {
    let report = probe::run(plan, &|_| {}).await.expect("run");
    let text = probe::report::human(&report, Some(&ws.sources));
    (report, text)
}

fn verdicts(report: &ProbeReport, app: &str) -> Vec<(String, Verdict)> {
    let chain = report.chain(app).expect(app);
    chain
        .links
        .iter()
        .map(|l| (l.kind.label(), l.verdict))
        .collect()
}

fn v(label: &str, verdict: Verdict) -> (String, Verdict) {
    (label.to_owned(), verdict)
}

#[tokio::test]
async fn incident_files_break_the_site_chain_at_the_published_port() {
    let ws = incident(|tf| tf);
    let servers = running(true, |s| s.reset).await;
    let plan = plan(&ws, &servers);
    let names: Vec<&str> = plan.chains.iter().map(|c| c.app.as_str()).collect();
    assert_eq!(names, vec!["convex-api", "convex-site"]);
    let api = &plan.chains[0];
    assert_eq!(api.role_probes[0].path, "/version");

    let (report, text) = run(&plan, &ws).await;
    assert!(report.chain("convex-api").unwrap().is_whole(), "{text}");
    let site = report.chain("convex-site").unwrap();
    let broken = site.first_broken().expect("the site chain is broken");
    assert_eq!(broken.kind, LinkKind::Published);
    assert_eq!(
        broken.evidence.as_ref().map(|e| &e.observed),
        Some(&Observed::AcceptedThenReset)
    );
    assert_eq!(
        verdicts(&report, "convex-site"),
        vec![
            v("listener", Verdict::Skipped),
            v("published", Verdict::Broken),
            v("healthcheck", Verdict::Skipped),
            v("public-origin", Verdict::Skipped),
        ]
    );
    assert_eq!(report.exit_code(), 1);
    // The change points at the site app's block in main.tf.
    assert!(
        text.contains("first broken link per chain:\n  convex-site: published"),
        "{text}"
    );
    assert!(text.contains("(main.tf:43:1)"), "{text}");
}

#[tokio::test]
async fn fixed_files_are_whole_and_the_issuer_is_the_site_origin() {
    let ws = incident(|tf| tf.replace("localhost:3212", "localhost:3211"));
    let servers = running(true, |s| s.site).await;
    let plan = plan(&ws, &servers);
    let (report, text) = run(&plan, &ws).await;

    assert!(report.is_whole(), "{text}");
    assert_eq!(
        verdicts(&report, "convex-api"),
        vec![
            v("listener", Verdict::Skipped),
            v("published", Verdict::Ok),
            v("healthcheck", Verdict::Ok),
            v("public-origin", Verdict::Ok),
            v("role version", Verdict::Ok),
        ]
    );
    assert_eq!(
        verdicts(&report, "convex-site"),
        vec![
            v("listener", Verdict::Skipped),
            v("published", Verdict::Ok),
            v("healthcheck", Verdict::Skipped),
            v("public-origin", Verdict::Ok),
            v("role openid-configuration", Verdict::Ok),
        ]
    );
    let role = report
        .chain("convex-site")
        .unwrap()
        .link(&LinkKind::Role("openid-configuration".into()))
        .unwrap();
    assert!(
        role.explanation.contains(&format!(
            "`issuer` is {}",
            origin("convex-site", servers.proxy)
        )),
        "{role:?}"
    );
}

#[tokio::test]
async fn a_deployment_without_auth_routes_is_not_broken() {
    let ws = incident(|tf| tf.replace("localhost:3212", "localhost:3211"));
    let servers = running(false, |s| s.site).await;
    let plan = plan(&ws, &servers);
    let (report, text) = run(&plan, &ws).await;

    assert!(report.is_whole(), "{text}");
    let role = report
        .chain("convex-site")
        .unwrap()
        .link(&LinkKind::Role("openid-configuration".into()))
        .unwrap();
    assert_eq!(role.verdict, Verdict::Skipped, "{role:?}");
    assert!(
        role.explanation
            .contains("answers 404: no auth routes deployed"),
        "{role:?}"
    );
}

/// `probe --spec` plans from the model of what the spec renders: for every example, its chains
/// are the chains of the rendered files on disk (same apps, listeners, ports, origins, shares
/// and role probes); only the locations differ (the spec, which the user edits) and, where an
/// app has no healthcheck of its own, the service's own healthcheck path, which the spec names.
#[test]
fn a_spec_and_the_files_it_renders_give_the_same_chains() {
    use portolan::project::{Project, ProjectOptions};
    let public = || PublicContext {
        workspace: "ws".into(),
        owner: "me".into(),
        wildcard_domain: "coder.example.com".into(),
        scheme: "https".into(),
        token: None,
        access_url: None,
    };
    let row = |c: &probe::Chain| {
        let probes: Vec<&str> = c.role_probes.iter().map(|p| p.path.as_str()).collect();
        format!(
            "{} {:?} {:?} {:?} {} {:?}",
            c.app,
            c.listener,
            c.published,
            c.public_origin,
            c.share.as_str(),
            probes
        )
    };
    for example in common::EXAMPLES {
        let out = common::render_example(example, &["--full"]);
        let options = PlanOptions::default();
        let from_files = Project::load(&ProjectOptions::default())
            .unwrap()
            .probe_plan(out.path(), Some(public()), &options)
            .unwrap()
            .0;
        let spec = common::root()
            .join("examples")
            .join(example)
            .join("portolan.yaml");
        let project = Project::load(&ProjectOptions {
            spec: Some(spec),
            ..ProjectOptions::default()
        })
        .unwrap();
        let (from_spec, sources) = project
            .probe_plan(Path::new("."), Some(public()), &options)
            .unwrap();
        let rows = |plan: &ProbePlan| plan.chains.iter().map(row).collect::<Vec<_>>();
        assert_eq!(rows(&from_spec), rows(&from_files), "{example}");
        assert!(!from_spec.chains.is_empty(), "{example}");
        for (s, f) in from_spec.chains.iter().zip(&from_files.chains) {
            if f.healthcheck_path.is_some() {
                assert_eq!(
                    s.healthcheck_path, f.healthcheck_path,
                    "{example} {}",
                    s.app
                );
            }
            let at = s.source.expect("a location in the spec");
            assert_eq!(sources.slice(at), s.app, "{example}: at the app's slug");
        }
    }
}
