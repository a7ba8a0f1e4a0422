//! The probe against real servers on 127.0.0.1 (tests/common/servers.rs): a backend that answers
//! like self-hosted Convex, a port that accepts and resets like docker's proxy with nothing inside,
//! a closed port, a server that hangs, and a stand-in for Coder's proxy. Plans are written by hand
//! here; tests/probe_plan.rs builds them from files.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::servers::*;
use portolan::knowledge::Knowledge;
use portolan::probe::{
    self, BodyExpectation, Chain, Endpoint, Expect, LinkKind, Observed, ProbePlan, ProbeReport,
    PublicContext, RoleProbe, SessionToken, Share, StatusClass, Verdict,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------------------------------
// Plans.

fn public_context(scheme: &str, token: Option<&str>) -> PublicContext {
    PublicContext {
        workspace: "ws".into(),
        owner: "me".into(),
        wildcard_domain: "coder.test".into(),
        scheme: scheme.into(),
        token: token.map(|t| SessionToken::new(t, Some("coder.test".into()), None)),
        access_url: None,
    }
}

fn local(port: u16) -> Option<Endpoint> {
    Some(Endpoint {
        host: "127.0.0.1".into(),
        port,
    })
}

fn api_chain(api_port: u16, proxy_port: u16) -> Chain {
    Chain {
        app: "convex-api".into(),
        listener: local(api_port),
        published: Some(api_port),
        healthcheck_path: Some("/version".into()),
        public_origin: Some(origin("convex-api", proxy_port)),
        share: Share::Public,
        role_probes: vec![builtin_probe("convex-api", "version")],
        source: None,
        compose: None,
    }
}

/// The knowledge base's probe `name` for `role`, as a plan carries it.
fn builtin_probe(role: &str, name: &str) -> RoleProbe {
    let request = Knowledge::builtin()
        .probes_for(role)
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no probe {name} for {role}"));
    RoleProbe {
        name: request.name.clone(),
        path: request.path.clone(),
        expect: request.expect.clone(),
        hint: request.hint.clone(),
        optional: request.optional.clone(),
    }
}

fn site_chain(listener: Option<Endpoint>, published: u16, proxy_port: u16) -> Chain {
    Chain {
        app: "convex-site".into(),
        listener,
        published: Some(published),
        healthcheck_path: None,
        public_origin: Some(origin("convex-site", proxy_port)),
        share: Share::Public,
        role_probes: vec![RoleProbe {
            name: "openid-configuration".into(),
            path: "/.well-known/openid-configuration".into(),
            expect: Expect {
                status: StatusClass::Success,
                body: Some(BodyExpectation::JsonFieldIsOrigin("issuer".into())),
            },
            hint: Some("set CONVEX_SITE_ORIGIN (--convex-site) to the site app's origin".into()),
            optional: None,
        }],
        source: None,
        compose: None,
    }
}

fn plan(chains: Vec<Chain>, public: Option<PublicContext>) -> ProbePlan {
    let mut plan = ProbePlan::new(chains, public);
    plan.timeout = Duration::from_secs(5);
    plan.deadline = Duration::from_secs(20);
    plan.resolve = resolve_to_localhost(&[
        "convex-api--ws--me.coder.test",
        "convex-site--ws--me.coder.test",
    ]);
    plan
}

async fn run(plan: &ProbePlan) -> ProbeReport {
    let report = probe::run(plan, &|_| {}).await.unwrap();
    // Every report renders in both formats.
    assert!(!probe::report::human(&report, None).is_empty());
    let _: serde_json::Value = serde_json::from_str(&probe::report::json(&report, None)).unwrap();
    report
}

fn verdicts(report: &ProbeReport, app: &str) -> Vec<(String, Verdict)> {
    report
        .chain(app)
        .unwrap()
        .links
        .iter()
        .map(|l| (l.kind.label(), l.verdict))
        .collect()
}

fn observed(report: &ProbeReport, app: &str, kind: &LinkKind) -> Observed {
    let link = report.chain(app).unwrap().link(kind).unwrap();
    link.evidence
        .as_ref()
        .unwrap_or_else(|| panic!("{app} {kind:?} has no evidence: {link:?}"))
        .observed
        .clone()
}

/// A running Convex backend behind the proxy, the site app pointed wherever `site_target` says.
struct Workspace {
    api: u16,
    site: u16,
    proxy: u16,
}

async fn convex_workspace(
    issuer_slug: &str,
    site_upstream: impl FnOnce(u16) -> u16,
    site_share: Share,
) -> Workspace {
    let (proxy_listener, proxy) = bind().await;
    let (api_listener, api) = bind().await;
    let (site_listener, site) = bind().await;
    convex_api(api_listener, Some(origin(issuer_slug, proxy)));
    convex_site(site_listener, api);
    let site_target = site_upstream(site);
    coder_proxy(
        proxy_listener,
        HashMap::from([
            ("convex-api", (api, Share::Public)),
            ("convex-site", (site_target, site_share)),
        ]),
    );
    Workspace { api, site, proxy }
}

// ---------------------------------------------------------------------------------------------
// Scenarios.

/// The incident: the site app and `CONVEX_SITE_ORIGIN` point at 3212, which docker publishes but
/// nothing serves inside the container. The site chain breaks at the published port.
#[tokio::test]
async fn incident_config_breaks_at_the_published_port_with_a_reset() {
    let (reset_listener, port_3212) = bind().await;
    accept_then_reset(reset_listener);
    let ws = convex_workspace("convex-site", |_| port_3212, Share::Public).await;

    let plan = plan(
        vec![
            api_chain(ws.api, ws.proxy),
            site_chain(None, port_3212, ws.proxy),
        ],
        Some(public_context("http", None)),
    );
    let report = run(&plan).await;

    assert!(
        report.chain("convex-api").unwrap().is_whole(),
        "{report:#?}"
    );
    let site = report.chain("convex-site").unwrap();
    let broken = site.first_broken().unwrap();
    assert_eq!(broken.kind, LinkKind::Published);
    assert_eq!(broken.target, format!("localhost:{port_3212}"));
    assert_eq!(
        observed(&report, "convex-site", &LinkKind::Published),
        Observed::AcceptedThenReset
    );
    assert!(
        broken.explanation.contains("nothing listens behind it"),
        "{broken:?}"
    );
    assert_eq!(
        verdicts(&report, "convex-site"),
        vec![
            ("listener".into(), Verdict::Skipped),
            ("published".into(), Verdict::Broken),
            ("healthcheck".into(), Verdict::Skipped),
            ("public-origin".into(), Verdict::Skipped),
            ("role openid-configuration".into(), Verdict::Skipped),
        ]
    );
    let after = site.link(&LinkKind::PublicOrigin).unwrap();
    assert_eq!(
        after.explanation,
        format!("not probed: localhost:{port_3212} is broken")
    );
    assert_eq!(report.exit_code(), 1);

    let text = probe::report::human(&report, None);
    assert!(
        text.contains("first broken link per chain:\n  convex-site: published"),
        "{text}"
    );
}

/// The fix: the site app points at the site proxy port (3211): every chain is whole and the
/// discovery document names the site origin it is served from.
#[tokio::test]
async fn fixed_config_is_whole() {
    let ws = convex_workspace("convex-site", |site| site, Share::Public).await;
    let plan = plan(
        vec![
            api_chain(ws.api, ws.proxy),
            site_chain(local(ws.site), ws.site, ws.proxy),
        ],
        Some(public_context("http", None)),
    );
    let events = AtomicUsize::new(0);
    let report = probe::run(&plan, &|_| {
        events.fetch_add(1, Ordering::SeqCst);
    })
    .await
    .unwrap();

    assert!(report.is_whole(), "{}", probe::report::human(&report, None));
    assert_eq!(report.exit_code(), 0);
    for app in ["convex-api", "convex-site"] {
        let skipped: Vec<_> = verdicts(&report, app)
            .into_iter()
            .filter(|(_, v)| *v != Verdict::Ok)
            .collect();
        let expected: Vec<(String, Verdict)> = if app == "convex-site" {
            vec![("healthcheck".into(), Verdict::Skipped)]
        } else {
            vec![]
        };
        assert_eq!(skipped, expected, "{app}");
    }
    let role = report
        .chain("convex-site")
        .unwrap()
        .link(&LinkKind::Role("openid-configuration".into()))
        .unwrap();
    assert!(
        role.explanation.contains(&origin("convex-site", ws.proxy)),
        "{role:?}"
    );
    assert_eq!(events.load(Ordering::SeqCst), plan.link_count());
}

/// `CONVEX_SITE_URL`/`--convex-site` pointing at the API origin: every port answers, but the
/// issuer of the discovery document is not the origin it is served from.
#[tokio::test]
async fn issuer_of_another_origin_breaks_the_role_probe() {
    let ws = convex_workspace("convex-api", |site| site, Share::Public).await;
    let plan = plan(
        vec![site_chain(local(ws.site), ws.site, ws.proxy)],
        Some(public_context("http", None)),
    );
    let report = run(&plan).await;
    let broken = report.chain("convex-site").unwrap().first_broken().unwrap();
    assert_eq!(broken.kind, LinkKind::Role("openid-configuration".into()));
    assert!(
        broken.explanation.contains(&format!(
            "is {}, expected {}",
            origin("convex-api", ws.proxy),
            origin("convex-site", ws.proxy)
        )),
        "{broken:?}"
    );
    assert_eq!(
        broken.change.as_deref(),
        Some("set CONVEX_SITE_ORIGIN (--convex-site) to the site app's origin")
    );
}

/// The site app is not public on the deployment: Coder sends the backend's self-fetch to login.
#[tokio::test]
async fn login_redirect_means_the_app_is_not_public() {
    let ws = convex_workspace("convex-site", |site| site, Share::Owner).await;

    // The files say public, Coder says login: broken.
    let plan_public = plan(
        vec![site_chain(local(ws.site), ws.site, ws.proxy)],
        Some(public_context("http", None)),
    );
    let report = run(&plan_public).await;
    let broken = report.chain("convex-site").unwrap().first_broken().unwrap();
    assert_eq!(broken.kind, LinkKind::PublicOrigin);
    assert!(
        matches!(&broken.evidence.as_ref().unwrap().observed,
            Observed::LoginRedirect { location, token_sent: false }
                if location.contains("/api/v2/applications/auth-redirect")),
        "{broken:?}"
    );
    assert!(broken.explanation.contains("is not public"), "{broken:?}");

    // The files say owner and no token is given: the proxy cannot be probed, nothing is broken.
    let mut chain = site_chain(local(ws.site), ws.site, ws.proxy);
    chain.share = Share::Owner;
    let report = run(&plan(vec![chain], Some(public_context("http", None)))).await;
    assert_eq!(
        verdicts(&report, "convex-site"),
        vec![
            ("listener".into(), Verdict::Ok),
            ("published".into(), Verdict::Ok),
            ("healthcheck".into(), Verdict::Skipped),
            ("public-origin".into(), Verdict::Skipped),
            ("role openid-configuration".into(), Verdict::Skipped),
        ]
    );
    assert_eq!(report.exit_code(), 0);
}

/// Coder's 502 when the inner links could not be tested from here; refused ports; local-only runs.
#[tokio::test]
async fn refused_ports_and_unexplained_502() {
    let closed = closed_port().await;
    let (proxy_listener, proxy) = bind().await;
    coder_proxy(
        proxy_listener,
        HashMap::from([("convex-site", (closed, Share::Public))]),
    );

    let mut unknown_inside = site_chain(None, 0, proxy);
    unknown_inside.published = None;
    let mut refused = site_chain(local(closed), closed, proxy);
    refused.app = "refused".into();
    let report = run(&plan(
        vec![unknown_inside, refused],
        Some(public_context("http", None)),
    ))
    .await;

    let broken = report.chain("convex-site").unwrap().first_broken().unwrap();
    assert_eq!(broken.kind, LinkKind::PublicOrigin);
    assert_eq!(
        broken.evidence.as_ref().unwrap().observed,
        Observed::Http { status: 502 }
    );
    assert!(
        broken.explanation.contains("no inner link could be tested"),
        "{broken:?}"
    );

    let broken = report.chain("refused").unwrap().first_broken().unwrap();
    assert_eq!(broken.kind, LinkKind::Listener);
    assert_eq!(
        broken.evidence.as_ref().unwrap().observed,
        Observed::Refused
    );

    // Outside Coder: the published port is still probed (refused), the public links are not.
    let mut published_only = site_chain(None, closed, proxy);
    published_only.app = "local".into();
    let report = run(&plan(vec![published_only], None)).await;
    assert!(!report.public_probed);
    assert_eq!(
        observed(&report, "local", &LinkKind::Published),
        Observed::Refused
    );
}

/// Role probes go to the local port when no public context is known.
#[tokio::test]
async fn outside_coder_role_probes_use_the_local_port() {
    let ws = convex_workspace("convex-site", |site| site, Share::Public).await;
    let report = run(&plan(vec![api_chain(ws.api, ws.proxy)], None)).await;
    let role = report
        .chain("convex-api")
        .unwrap()
        .link(&LinkKind::Role("version".into()))
        .unwrap();
    assert_eq!(role.verdict, Verdict::Ok);
    assert_eq!(role.target, format!("localhost:{}/version", ws.api));
    let public = report
        .chain("convex-api")
        .unwrap()
        .link(&LinkKind::PublicOrigin)
        .unwrap();
    assert_eq!(public.verdict, Verdict::Skipped);
    assert!(public.explanation.contains("outside a Coder workspace"));
}

/// The API app's url names a port where something else answers: the `/version` role probe wants
/// what the knowledge base says a Convex backend answers (a 2xx with text, not an HTML page), so
/// a plain file server's 404 and a dev server's index.html break the chain, while the
/// healthcheck, judged as Coder judges it, passes on the 404.
#[tokio::test]
async fn the_version_probe_wants_the_backends_answer() {
    let (backend_listener, backend) = bind().await;
    convex_api(backend_listener, None);
    let (files_listener, files) = bind().await;
    file_server(files_listener);
    let (spa_listener, spa) = bind().await;
    spa_dev_server(spa_listener);
    let chain = |app: &str, port: u16| Chain {
        app: app.into(),
        ..api_chain(port, 1)
    };
    let report = run(&plan(
        vec![
            chain("backend", backend),
            chain("files", files),
            chain("spa", spa),
        ],
        None,
    ))
    .await;
    let version = LinkKind::Role("version".into());

    let ok = report.chain("backend").unwrap().link(&version).unwrap();
    assert_eq!(ok.verdict, Verdict::Ok, "{ok:?}");
    assert_eq!(ok.explanation, "GET /version answers 200: \"1.0.0\"");
    assert!(report.chain("backend").unwrap().is_whole());

    let files = report.chain("files").unwrap();
    assert_eq!(
        files.link(&LinkKind::Healthcheck).unwrap().verdict,
        Verdict::Ok,
        "Coder counts a 404 as healthy"
    );
    let broken = files.first_broken().unwrap();
    assert_eq!(broken.kind, version);
    assert_eq!(
        broken.explanation,
        "GET /version answers 404 (\"<!DOCTYPE HTML>\"), expected a 2xx status with text that is not an HTML page"
    );
    assert_eq!(
        broken.change.as_deref(),
        Some("point the app's url at the Convex backend's API port (3210, --port)")
    );

    let spa = report.chain("spa").unwrap().first_broken().unwrap();
    assert_eq!(spa.kind, version);
    assert_eq!(
        spa.explanation,
        "GET /version answers 200 with an HTML page, expected a 2xx status with text that is not an HTML page"
    );
    assert_eq!(report.exit_code(), 1);
}

/// A server that accepts and never answers: the link times out and breaks the chain.
#[tokio::test]
async fn hanging_server_times_out() {
    let (hang_listener, hanging) = bind().await;
    hang(hang_listener);
    let ws = convex_workspace("convex-site", |site| site, Share::Public).await;

    let mut plan = plan(
        vec![
            site_chain(None, hanging, ws.proxy),
            api_chain(ws.api, ws.proxy),
        ],
        None,
    );
    // Generous for loaded CI machines: the hanging server still times out.
    plan.timeout = Duration::from_millis(1500);
    let start = Instant::now();
    let report = run(&plan).await;

    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(
        observed(&report, "convex-site", &LinkKind::Published),
        Observed::Timeout
    );
    assert_eq!(
        report
            .chain("convex-site")
            .unwrap()
            .first_broken()
            .unwrap()
            .kind,
        LinkKind::Published
    );
    assert!(report.chain("convex-api").unwrap().is_whole());
}

/// The overall deadline cuts a link whose own timeout is longer: that link and the ones after it
/// are not reached, which is neither ok nor broken: the run could not finish, so it is not whole
/// and exits 2, and both reports name the links not reached. The chains that finished in time
/// keep their results, and a link with nothing to probe is still skipped for its own reason.
#[tokio::test]
async fn deadline_leaves_links_not_reached_and_the_run_unfinished() {
    let (hang_listener, hanging) = bind().await;
    hang(hang_listener);
    let ws = convex_workspace("convex-site", |site| site, Share::Public).await;

    let mut hanging_chain = site_chain(None, hanging, ws.proxy);
    hanging_chain.healthcheck_path = Some("/health".into());
    let mut plan = plan(vec![hanging_chain, api_chain(ws.api, ws.proxy)], None);
    plan.timeout = Duration::from_secs(30);
    plan.deadline = Duration::from_millis(3000);
    let start = Instant::now();
    let report = run(&plan).await;

    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(
        verdicts(&report, "convex-site"),
        vec![
            ("listener".into(), Verdict::Skipped),
            ("published".into(), Verdict::NotReached),
            ("healthcheck".into(), Verdict::NotReached),
            ("public-origin".into(), Verdict::Skipped),
            ("role openid-configuration".into(), Verdict::NotReached),
        ]
    );
    let site = report.chain("convex-site").unwrap();
    for kind in [LinkKind::Published, LinkKind::Healthcheck] {
        let link = site.link(&kind).unwrap();
        assert!(link.explanation.starts_with("deadline"), "{link:?}");
        assert!(link.evidence.is_none(), "{link:?}");
    }
    assert!(site.first_broken().is_none());
    assert!(!site.is_whole());
    let not_reached: Vec<String> = site.not_reached().map(|l| l.kind.label()).collect();
    assert_eq!(
        not_reached,
        vec!["published", "healthcheck", "role openid-configuration"]
    );
    assert!(report.chain("convex-api").unwrap().is_whole());
    assert!(!report.is_whole());
    assert!(!report.is_complete());
    assert_eq!(report.exit_code(), 2);

    let text = probe::report::human(&report, None);
    assert!(!text.contains("every chain is whole"), "{text}");
    assert!(
        text.starts_with("probe: 2 chains, 1 whole, 0 broken, 1 not finished"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "not reached before the deadline:\n  convex-site: published localhost:{hanging}\n  convex-site: healthcheck localhost:{hanging}/health\n"
        )),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&probe::report::json(&report, None)).unwrap();
    assert_eq!(json["whole"], false);
    assert_eq!(json["complete"], false);
    assert_eq!(json["summary"]["not_finished"], 1);
    assert_eq!(json["summary"]["links"]["not_reached"], 3);
    assert_eq!(json["chains"][0]["links"][1]["verdict"], "not_reached");
    assert_eq!(json["chains"][1]["complete"], true);
}

/// A plan whose timeout and deadline are past what the clock can count (`Duration::MAX`) runs as
/// one without a deadline: no overflow panic.
#[tokio::test]
async fn a_deadline_past_the_clock_is_no_deadline() {
    let closed = closed_port().await;
    let chain = Chain {
        app: "web".into(),
        listener: local(closed),
        ..Chain::default()
    };
    let mut plan = plan(vec![chain], None);
    plan.deadline = Duration::MAX;
    plan.timeout = Duration::MAX;
    let report = run(&plan).await;
    assert_eq!(verdicts(&report, "web")[0].1, Verdict::Broken);
    assert_eq!(report.exit_code(), 1);
}

/// A run whose deadline passes before it starts reaches nothing, and says so.
#[tokio::test]
async fn deadline_already_passed_reaches_nothing() {
    let (hang_listener, hanging) = bind().await;
    hang(hang_listener);
    let chain = Chain {
        app: "web".into(),
        listener: local(hanging),
        published: Some(hanging),
        ..Chain::default()
    };
    let mut plan = plan(vec![chain], None);
    plan.deadline = Duration::ZERO;
    let report = run(&plan).await;
    assert_eq!(
        verdicts(&report, "web"),
        vec![
            ("listener".into(), Verdict::NotReached),
            ("published".into(), Verdict::NotReached),
            ("healthcheck".into(), Verdict::Skipped),
            ("public-origin".into(), Verdict::Skipped),
        ]
    );
    assert_eq!(report.exit_code(), 2);
}

// ---------------------------------------------------------------------------------------------
// The token rule, over real TLS.

struct Tls {
    acceptor: tokio_rustls::TlsAcceptor,
    ca_pem: String,
}

fn tls_for(names: &[&str]) -> Tls {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "portolan test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let leaf_key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let leaf = CertificateParams::new(names)
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_pem: ca.pem(),
    }
}

type Seen = Arc<Mutex<Vec<Request>>>;

/// Records every request, then answers with `reply(port)`.
fn recording(seen: Seen, reply: impl Fn() -> Vec<u8> + Send + Sync + 'static) -> Handler {
    let reply = Arc::new(reply);
    handler(move |req: Request| {
        seen.lock().unwrap().push(req);
        let reply = reply.clone();
        async move { reply() }
    })
}

fn tokens(seen: &Seen) -> Vec<Option<String>> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|r| r.header("coder-session-token").map(String::from))
        .collect()
}

/// The token goes to the app's host under the wildcard domain over https, and not to the host a
/// redirect leads to, nor to a host under the wildcard domain over plain http.
#[tokio::test]
async fn token_goes_to_the_proxy_host_and_not_to_a_redirect_target() {
    let tls = tls_for(&["private--ws--me.coder.test", "elsewhere.test"]);
    let (proxy_listener, proxy) = bind().await;
    let (other_listener, other) = bind().await;
    let (plain_listener, plain) = bind().await;
    let (proxy_seen, other_seen, plain_seen): (Seen, Seen, Seen) = Default::default();

    let landing = format!("https://elsewhere.test:{other}/landing");
    serve_tls(
        proxy_listener,
        tls.acceptor.clone(),
        recording(proxy_seen.clone(), move || {
            response(302, &[("Location", &landing)], "")
        }),
    );
    serve_tls(
        other_listener,
        tls.acceptor.clone(),
        recording(other_seen.clone(), || response(200, &[], "welcome")),
    );
    serve(
        plain_listener,
        recording(plain_seen.clone(), || response(200, &[], "plain")),
    );

    let private = Chain {
        app: "private".into(),
        public_origin: Some(format!("https://private--ws--me.coder.test:{proxy}")),
        share: Share::Owner,
        ..Chain::default()
    };
    let insecure = Chain {
        app: "insecure".into(),
        public_origin: Some(format!("http://insecure--ws--me.coder.test:{plain}")),
        share: Share::Owner,
        ..Chain::default()
    };
    let mut plan = ProbePlan::new(
        vec![private, insecure],
        Some(public_context("https", Some("tok"))),
    );
    plan.resolve = resolve_to_localhost(&[
        "private--ws--me.coder.test",
        "insecure--ws--me.coder.test",
        "elsewhere.test",
    ]);
    plan.extra_root_certificates = vec![tls.ca_pem.clone().into_bytes()];
    let report = run(&plan).await;

    let link = report
        .chain("private")
        .unwrap()
        .link(&LinkKind::PublicOrigin)
        .unwrap();
    assert_eq!(link.verdict, Verdict::Ok, "{link:?}");
    assert_eq!(
        link.evidence.as_ref().unwrap().observed,
        Observed::Http { status: 200 }
    );
    let detail = link.evidence.as_ref().unwrap().detail.clone().unwrap();
    assert!(
        detail.contains("redirected to https://elsewhere.test"),
        "{detail}"
    );

    assert_eq!(tokens(&proxy_seen), vec![Some("tok".to_string())]);
    assert_eq!(tokens(&other_seen), vec![None]);
    assert_eq!(tokens(&plain_seen), vec![None]);

    let text = probe::report::human(&report, None) + &probe::report::json(&report, None);
    assert!(!text.contains("tok\""), "the token leaked into a report");
}

/// An https origin whose certificate is not trusted is a TLS failure, not a token leak.
#[tokio::test]
async fn untrusted_certificate_is_a_tls_failure() {
    let tls = tls_for(&["private--ws--me.coder.test"]);
    let (listener, port) = bind().await;
    let seen: Seen = Default::default();
    serve_tls(
        listener,
        tls.acceptor,
        recording(seen.clone(), || response(200, &[], "")),
    );

    let chain = Chain {
        app: "private".into(),
        public_origin: Some(format!("https://private--ws--me.coder.test:{port}")),
        ..Chain::default()
    };
    let mut plan = ProbePlan::new(vec![chain], Some(public_context("https", Some("tok"))));
    plan.resolve = resolve_to_localhost(&["private--ws--me.coder.test"]);
    let report = run(&plan).await;
    assert_eq!(
        observed(&report, "private", &LinkKind::PublicOrigin),
        Observed::TlsFailed,
        "{:?}",
        report
            .chain("private")
            .unwrap()
            .link(&LinkKind::PublicOrigin)
    );
    assert!(seen.lock().unwrap().is_empty());
}

/// Sends `greeting` (possibly nothing) on every connection; then closes it gracefully, or keeps
/// it open and reads what comes like a server of another protocol.
fn greet(listener: TcpListener, greeting: &'static [u8], close: bool) {
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = stream.write_all(greeting).await;
                if close {
                    let _ = stream.shutdown().await;
                } else {
                    let mut sink = Vec::new();
                    let _ = stream.read_to_end(&mut sink).await;
                }
            });
        }
    });
}

/// A graceful close before any response counts as accepted-then-reset (docker's proxy may close
/// instead of resetting); a server of another protocol is not HTTP.
#[tokio::test]
async fn graceful_close_and_other_protocols() {
    let (closing_listener, closing) = bind().await;
    greet(closing_listener, b"", true);
    let (ssh_listener, ssh) = bind().await;
    greet(ssh_listener, b"SSH-2.0-OpenSSH_9.6\r\n", false);

    let chain = |app: &str, port| Chain {
        app: app.into(),
        published: Some(port),
        ..Chain::default()
    };
    let report = run(&plan(
        vec![chain("closing", closing), chain("ssh", ssh)],
        None,
    ))
    .await;
    assert_eq!(
        observed(&report, "closing", &LinkKind::Published),
        Observed::AcceptedThenReset
    );
    assert_eq!(
        observed(&report, "ssh", &LinkKind::Published),
        Observed::NotHttp,
        "{:?}",
        report.chain("ssh")
    );
    assert_eq!(report.exit_code(), 1);
}

/// A token server on 127.0.0.1 for `names`: records every request, and answers `reply`.
fn token_server(tls: &Tls, listener: TcpListener, reply: Vec<u8>) -> Seen {
    let seen: Seen = Default::default();
    serve_tls(
        listener,
        tls.acceptor.clone(),
        recording(seen.clone(), move || reply.clone()),
    );
    seen
}

/// What the user gave: workspace `ws` of `me`, the token `tok`, and `domain` when named.
fn user_env(domain: Option<&'static str>) -> impl Fn(&str) -> Option<String> {
    move |name: &str| match name {
        "CODER_WORKSPACE_NAME" => Some("ws".into()),
        "CODER_WORKSPACE_OWNER_NAME" => Some("me".into()),
        "CODER_SESSION_TOKEN" => Some("tok".into()),
        "PORTOLAN_WILDCARD_DOMAIN" => domain.map(String::from),
        _ => None,
    }
}

/// A repository's spec names `evil.test` as the wildcard domain and the user names none: the
/// probe still walks the origin the spec implies, but without the token. When the user names the
/// domain (flag or environment), the app host under it receives the token.
#[tokio::test]
async fn token_goes_only_to_the_wildcard_domain_the_user_named() {
    let tls = tls_for(&["app--ws--me.evil.test", "app--ws--me.user.test"]);
    let (evil_listener, evil) = bind().await;
    let (user_listener, user) = bind().await;
    let (local_listener, local_port) = bind().await;
    let evil_seen = token_server(&tls, evil_listener, response(200, &[], "evil"));
    let user_seen = token_server(&tls, user_listener, response(200, &[], "user"));
    serve(
        local_listener,
        handler(|_| async { response(200, &[], "ok") }),
    );

    let text = format!(
        "name: p\ncoder:\n  wildcard_domain: evil.test\n  agent_in_host: false\nservices:\n  web:\n    run: serve --port ${{port:web.http}}\n    ports:\n      http: {local_port}\napps:\n  app:\n    target: web.http\n    share: owner\n"
    );
    let mut sources = portolan::source::SourceMap::new();
    let loaded = portolan::spec::load(std::path::Path::new("s.yaml"), &text, &mut sources)
        .unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
    let files = probe::plan::FromFiles::of_spec(&loaded.spec);
    let probe_with = |domain: Option<&'static str>, port: u16| {
        let public = probe::plan::public_context(user_env(domain), &files)
            .expect("a wildcard domain from the user or the spec");
        let mut plan = probe::plan::plan_from_spec(
            &loaded.spec,
            loaded.file,
            portolan::knowledge::Knowledge::builtin(),
            Some(public),
            &probe::plan::PlanOptions::default(),
        )
        .expect("the spec renders");
        for chain in &mut plan.chains {
            let origin = chain.public_origin.take().expect("a subdomain app");
            chain.public_origin = Some(format!("{origin}:{port}"));
        }
        plan.resolve = resolve_to_localhost(&["app--ws--me.evil.test", "app--ws--me.user.test"]);
        plan.extra_root_certificates = vec![tls.ca_pem.clone().into_bytes()];
        plan
    };

    let report = run(&probe_with(None, evil)).await;
    let link = report
        .chain("app")
        .unwrap()
        .link(&LinkKind::PublicOrigin)
        .unwrap();
    assert_eq!(link.target, format!("https://app--ws--me.evil.test:{evil}"));
    assert_eq!(link.verdict, Verdict::Ok, "{link:?}");
    assert_eq!(
        tokens(&evil_seen),
        vec![None],
        "the spec's domain received the token"
    );

    let report = run(&probe_with(Some("user.test"), user)).await;
    let link = report
        .chain("app")
        .unwrap()
        .link(&LinkKind::PublicOrigin)
        .unwrap();
    assert_eq!(link.target, format!("https://app--ws--me.user.test:{user}"));
    assert_eq!(tokens(&user_seen), vec![Some("tok".to_string())]);
    assert_eq!(tokens(&evil_seen), vec![None]);
}

/// After a redirect the token goes on only to the same host: not to another app host under the
/// wildcard domain the user named, though the token may go there on a first request.
#[tokio::test]
async fn token_follows_a_redirect_only_to_the_same_host() {
    let tls = tls_for(&["app--ws--me.user.test", "other--ws--me.user.test"]);
    let (app_listener, app) = bind().await;
    let (other_listener, other) = bind().await;
    let (same_listener, same) = bind().await;
    let to_other = format!("https://other--ws--me.user.test:{other}/landing");
    let app_seen = token_server(
        &tls,
        app_listener,
        response(302, &[("Location", &to_other)], ""),
    );
    let other_seen = token_server(&tls, other_listener, response(200, &[], "other"));
    // Same host, same port: `/` redirects to `/landing`, which answers.
    let same_seen: Seen = Default::default();
    serve_tls(
        same_listener,
        tls.acceptor.clone(),
        handler({
            let seen = same_seen.clone();
            move |req: Request| {
                let first = req.path == "/";
                seen.lock().unwrap().push(req);
                async move {
                    if first {
                        response(302, &[("Location", "/landing")], "")
                    } else {
                        response(200, &[], "landed")
                    }
                }
            }
        }),
    );

    let chain = |app: &str, port: u16| Chain {
        app: app.into(),
        public_origin: Some(format!("https://{app}--ws--me.user.test:{port}")),
        share: Share::Owner,
        ..Chain::default()
    };
    let public = probe::plan::public_context(
        user_env(Some("user.test")),
        &probe::plan::FromFiles::default(),
    )
    .unwrap();
    let mut plan = ProbePlan::new(vec![chain("app", app)], Some(public));
    plan.resolve = resolve_to_localhost(&["app--ws--me.user.test", "other--ws--me.user.test"]);
    plan.extra_root_certificates = vec![tls.ca_pem.clone().into_bytes()];
    let report = run(&plan).await;
    let link = report
        .chain("app")
        .unwrap()
        .link(&LinkKind::PublicOrigin)
        .unwrap();
    assert_eq!(link.verdict, Verdict::Ok, "{link:?}");
    assert_eq!(tokens(&app_seen), vec![Some("tok".to_string())]);
    assert_eq!(
        tokens(&other_seen),
        vec![None],
        "the token followed a redirect to another host"
    );

    plan.chains = vec![chain("other", same)];
    let report = run(&plan).await;
    let link = report
        .chain("other")
        .unwrap()
        .link(&LinkKind::PublicOrigin)
        .unwrap();
    assert_eq!(link.verdict, Verdict::Ok, "{link:?}");
    assert_eq!(
        tokens(&same_seen),
        vec![Some("tok".to_string()), Some("tok".to_string())],
        "a redirect on the same host keeps the token"
    );
}
