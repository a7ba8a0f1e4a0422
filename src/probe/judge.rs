//! Judgements: what an observation means for one link, as a verdict, a one-line explanation and
//! what to change. Pure functions of the chain and the evidence, so each case is a table row.

use super::{
    BodyExpectation, Chain, ComposePublish, Endpoint, Evidence, Expect, LinkKind, LinkResult,
    Observed, RoleProbe, Share, Verdict,
};

/// A verdict with its explanation and, for broken links, what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    pub explanation: String,
    pub change: Option<String>,
}

fn ok(explanation: String) -> Judgement {
    Judgement {
        verdict: Verdict::Ok,
        explanation,
        change: None,
    }
}

fn broken(explanation: String, change: impl Into<String>) -> Judgement {
    Judgement {
        verdict: Verdict::Broken,
        explanation,
        change: Some(change.into()),
    }
}

fn skipped(explanation: String) -> Judgement {
    Judgement {
        verdict: Verdict::Skipped,
        explanation,
        change: None,
    }
}

/// TCP connect to the process's own address. Only a refusal proves something: a name that does not
/// resolve or an address that does not answer usually means the probe runs outside the container
/// network.
pub fn listener(listener: &Endpoint, ev: &Evidence) -> Judgement {
    match &ev.observed {
        Observed::Connected => ok(format!("{listener} accepts connections")),
        Observed::Refused => broken(
            format!("nothing listens on {listener}: the connection is refused"),
            format!(
                "start the service so that it listens on port {}, or point the chain at the port it listens on",
                listener.port
            ),
        ),
        Observed::DnsFailed => skipped(format!(
            "{} does not resolve from here (the probe runs outside the container's network)",
            listener.host
        )),
        _ => skipped(format!(
            "{listener} is not reachable from here ({})",
            describe(&ev.observed)
        )),
    }
}

/// HTTP GET `/` on localhost:H: any HTTP answer means the port reaches a server.
pub fn published(chain: &Chain, port: u16, ev: &Evidence) -> Judgement {
    let at = format!("localhost:{port}");
    match &ev.observed {
        Observed::Http { status } => ok(format!("an HTTP server answers on {at} (HTTP {status})")),
        Observed::Refused => match &chain.compose {
            Some(compose) => stack_not_up(&at, compose),
            None => broken(
                format!("nothing accepts connections on {at}: the port is not published and no process listens on it"),
                format!(
                    "publish the port (compose `ports: [\"{port}:<container port>\"]`) or start the service; or point the app's url at a port that is served"
                ),
            ),
        },
        Observed::AcceptedThenReset => {
            let inside = match &chain.listener {
                Some(l) => format!(" (the service listens on {l})"),
                None => String::new(),
            };
            let (mapping, ports) = match &chain.compose {
                Some(c) => (
                    format!(" ({}, service `{}`)", c.location(), c.service),
                    format!("`ports` at {}", c.location()),
                ),
                None => (String::new(), "`ports`".to_owned()),
            };
            broken(
                format!(
                    "{at} accepts connections and resets them before any HTTP response: docker publishes the port{mapping}, but nothing listens behind it in the container{inside}; Coder's proxy answers 502 for it"
                ),
                format!(
                    "map {port} to a container port the service listens on (compose {ports}), or point the app's url at a published port that is served"
                ),
            )
        }
        Observed::Timeout => broken(
            format!("{at} sent no HTTP response within the timeout: the server hangs or is still starting"),
            "check the service's logs; raise --timeout if it is only slow",
        ),
        Observed::NotHttp => broken(
            format!("{at} answers, but not in HTTP: the app's url names a port of another protocol"),
            "point the app's url at the service's HTTP port",
        ),
        other => broken(
            format!("{at} cannot be reached: {}", describe(other)),
            "check that the app's url names a port served on the workspace",
        ),
    }
}

/// A refused connection on a port a compose file publishes: the stack is not up (or compose
/// publishes its ports where the app's `localhost` does not reach).
fn stack_not_up(at: &str, compose: &ComposePublish) -> Judgement {
    let publishes = format!(
        "{} publishes it (compose service `{}`)",
        compose.location(),
        compose.service
    );
    if let Some(elsewhere) = &compose.elsewhere {
        return broken(
            format!(
                "nothing accepts connections on {at}: {publishes}, but compose publishes its ports {elsewhere}, which the app's localhost does not reach"
            ),
            "run the stack with a Docker daemon whose ports are the agent's localhost (sysbox, or a dind sidecar whose network the agent joins), or point the app's url at the host that publishes it",
        );
    }
    let command = compose.start_command();
    match &compose.started_by {
        Some(started) => broken(
            format!(
                "nothing accepts connections on {at}: {publishes}, so the compose stack is not up; {} starts it at workspace start",
                started.script
            ),
            format!(
                "start the stack: `{command}` (or restart the workspace), and read its output if it does not come up"
            ),
        ),
        None => broken(
            format!("nothing accepts connections on {at}: {publishes}, so the compose stack is not up"),
            format!("start the stack: `{command}`"),
        ),
    }
}

/// The healthcheck path, judged as Coder judges it: any status below 500 within the interval.
pub fn healthcheck(chain: &Chain, url: &str, ev: &Evidence) -> Judgement {
    match &ev.observed {
        Observed::Http { status } if *status == 404 => ok(format!(
            "healthy as Coder judges it (HTTP 404 < 500), though {url} does not exist: the healthcheck proves little"
        )),
        Observed::Http { status } if *status < 500 => {
            ok(format!("healthy as Coder judges it (HTTP {status} < 500)"))
        }
        Observed::Http { status } => broken(
            format!("{url} answers {status}: Coder marks the app `{}` unhealthy", chain.app),
            "fix the service's error, or point the healthcheck at a path that answers below 500",
        ),
        other => broken(
            format!("{url}: {}: Coder marks the app `{}` unhealthy", describe(other), chain.app),
            "make the healthcheck url the app's own url plus a path the service serves",
        ),
    }
}

/// What the links inside the public origin showed, to explain a 502.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inner {
    /// The innermost HTTP link that answered here, e.g. `localhost:3211`.
    pub answered: Option<String>,
    /// Its HTTP status.
    pub status: Option<u16>,
}

impl Inner {
    /// Reads the published link (or, failing that, the healthcheck) from the links already judged.
    pub fn from_links(links: &[LinkResult]) -> Self {
        let answered = [LinkKind::Published, LinkKind::Healthcheck]
            .iter()
            .filter_map(|kind| links.iter().find(|l| &l.kind == kind))
            .find_map(
                |l| match (&l.verdict, l.evidence.as_ref().map(|e| &e.observed)) {
                    (Verdict::Ok, Some(Observed::Http { status })) => Some((l, *status)),
                    _ => None,
                },
            );
        Inner {
            answered: answered.map(|(l, _)| l.target.clone()),
            status: answered.map(|(_, s)| s),
        }
    }
}

/// The public origin through Coder's proxy: DNS, TLS, HTTP, and Coder's login wall.
pub fn public_origin(chain: &Chain, ev: &Evidence, inner: &Inner) -> Judgement {
    let app = &chain.app;
    match &ev.observed {
        Observed::Http { status } if *status < 500 => {
            ok(format!("Coder's proxy serves the app (HTTP {status})"))
        }
        Observed::Http { status } if inner.status == Some(*status) => broken(
            format!(
                "the app itself answers {status} (so does {} from inside)",
                inner.answered.as_deref().unwrap_or("its local port")
            ),
            "fix the service: the proxy passes its error through",
        ),
        Observed::Http { status: 502 } => match &inner.answered {
            Some(local) => broken(
                format!(
                    "Coder's proxy answers 502 although {local} answers from here: the agent cannot reach the app's url"
                ),
                format!(
                    "make the `{app}` app's url http://{local} and check that its agent runs where the service is published"
                ),
            ),
            None => broken(
                "Coder's proxy answers 502: its agent cannot reach the app's url, and no inner link could be tested from here".to_string(),
                format!("check that the `{app}` app's url names a port the service listens on"),
            ),
        },
        Observed::Http { status } => broken(
            format!("the public origin answers {status}"),
            "check Coder's and the service's logs",
        ),
        Observed::LoginRedirect { .. } if chain.share == Share::Public => broken(
            format!(
                "Coder redirects to its login page: `{app}` is not public, so a backend that fetches its own origin (auth discovery) cannot reach it"
            ),
            format!(
                "set share = \"public\" on the `{app}` coder_app, push the template, and check that the deployment allows public sharing"
            ),
        ),
        Observed::LoginRedirect { token_sent: true, .. } => broken(
            "Coder redirects to its login page although a session token was sent: the token is not accepted".to_string(),
            "pass a valid token (`coder tokens create`) with --token or CODER_SESSION_TOKEN",
        ),
        Observed::LoginRedirect { .. } => skipped(format!(
            "the app needs a Coder login (share = \"{}\"); give a session token to probe through the proxy",
            chain.share.as_str()
        )),
        Observed::DnsFailed => broken(
            "the public origin does not resolve: the wildcard DNS record is missing or the origin names the wrong domain".to_string(),
            "add a DNS record for the wildcard app domain, or fix the origin's domain",
        ),
        Observed::TlsFailed => broken(
            format!(
                "TLS fails on the public origin: the certificate does not cover this host or is not trusted ({})",
                ev.detail.as_deref().unwrap_or("no detail")
            ),
            "use a wildcard certificate for the app domain, or trust the deployment's CA",
        ),
        other => broken(
            format!("the public origin cannot be reached: {}", describe(other)),
            "check Coder's access URL and wildcard access URL",
        ),
    }
}

/// A role probe: the answer a service in this role must give, as the knowledge base says: a
/// class of status, then what the body must say. A miss is broken, and says what was expected
/// and what came back.
pub fn role(probe: &RoleProbe, chain: &Chain, ev: &Evidence, body: Option<&[u8]>) -> Judgement {
    let request = format!("GET {}", probe.path);
    let change = |default: &str| probe.hint.clone().unwrap_or_else(|| default.to_string());
    let status = match &ev.observed {
        Observed::Http { status } => *status,
        Observed::LoginRedirect { .. } => {
            return broken(
                format!("{request}: Coder redirects to its login page"),
                change("make the app public, or give a session token"),
            )
        }
        other => {
            return broken(
                format!("{request}: {}", describe(other)),
                change("check the service's logs"),
            )
        }
    };
    if let (404, Some(reason)) = (status, &probe.optional) {
        return skipped(format!("{request} answers 404: {reason}"));
    }
    // The origin a `json-field-is-origin` body is compared with.
    let origin = match &probe.expect.body {
        Some(BodyExpectation::JsonFieldIsOrigin(field)) => match &chain.public_origin {
            Some(origin) => Some(origin.as_str()),
            None => {
                return skipped(format!(
                    "{request}: no public origin to compare `{field}` with"
                ))
            }
        },
        _ => None,
    };
    let expected = expected(&probe.expect, origin);
    if !probe.expect.status.admits(status) {
        let came_back = match body.and_then(excerpt) {
            Some(text) => format!("{status} ({text})"),
            None => status.to_string(),
        };
        return broken(
            format!("{request} answers {came_back}, expected {expected}"),
            change(if status == 404 {
                "serve the route on this origin"
            } else {
                "check the service's logs"
            }),
        );
    }
    let body = body.unwrap_or_default();
    match &probe.expect.body {
        None => ok(format!("{request} answers {status}")),
        Some(BodyExpectation::Text) => match text_problem(body) {
            None => ok(format!(
                "{request} answers {status}: {}",
                excerpt(body).unwrap_or_default()
            )),
            Some(problem) => broken(
                format!("{request} answers {status} with {problem}, expected {expected}"),
                change("point the app at the service that serves this route"),
            ),
        },
        Some(BodyExpectation::JsonFieldIsOrigin(field)) => {
            let want = origin.unwrap_or_default();
            json_field(&request, status, body, field, want, &expected, |found| {
                found.trim_end_matches('/') == want.trim_end_matches('/')
            })
            .unwrap_or_else(|j| with_change(j, &change))
        }
        Some(BodyExpectation::JsonFieldEquals { field, value }) => {
            json_field(&request, status, body, field, value, &expected, |found| {
                found == value
            })
            .unwrap_or_else(|j| with_change(j, &change))
        }
    }
}

/// The broken judgement `j` with the probe's hint, if it has one, as what to change.
fn with_change(j: Judgement, change: &impl Fn(&str) -> String) -> Judgement {
    let default = j.change.clone().unwrap_or_default();
    Judgement {
        change: Some(change(&default)),
        ..j
    }
}

/// Judges the JSON field of a 2xx answer: `Ok` when it is there and `matches`, else the broken
/// judgement (with a default change).
fn json_field(
    request: &str,
    status: u16,
    body: &[u8],
    field: &str,
    want: &str,
    expected: &str,
    matches: impl Fn(&str) -> bool,
) -> Result<Judgement, Judgement> {
    let fix = "serve the route on this origin";
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        let came_back = excerpt(body).map_or_else(String::new, |t| format!(" ({t})"));
        return Err(broken(
            format!(
                "{request} answers {status}, but not with JSON{came_back}: expected {expected}"
            ),
            fix,
        ));
    };
    match lookup_field(&json, field) {
        None => Err(broken(
            format!("{request}: the JSON has no `{field}`, expected {expected}"),
            fix,
        )),
        Some(value) if matches(&value) => Ok(ok(format!("{request}: `{field}` is {value}"))),
        Some(value) => Err(broken(
            format!("{request}: `{field}` is {value}, expected {want}"),
            format!("make `{field}` {want}"),
        )),
    }
}

/// What an expectation asks for, in words: `a 2xx status with text that is not an HTML page`.
fn expected(expect: &Expect, origin: Option<&str>) -> String {
    let status = expect.status.describe();
    match &expect.body {
        None => status.to_owned(),
        Some(BodyExpectation::Text) => format!("{status} with text that is not an HTML page"),
        Some(BodyExpectation::JsonFieldIsOrigin(field)) => format!(
            "{status} with a JSON document whose `{field}` is {}",
            origin.unwrap_or("the origin")
        ),
        Some(BodyExpectation::JsonFieldEquals { field, value }) => {
            format!("{status} with a JSON document whose `{field}` is {value}")
        }
    }
}

/// Why a body is not the text a `text` expectation asks for: empty, not UTF-8, or an HTML page.
fn text_problem(body: &[u8]) -> Option<&'static str> {
    let Ok(text) = std::str::from_utf8(body) else {
        return Some("a body that is not UTF-8 text");
    };
    if text.trim().is_empty() {
        return Some("an empty body");
    }
    looks_like_html(text).then_some("an HTML page")
}

/// Whether a body starts as an HTML document does (the tags the WHATWG MIME sniffing algorithm
/// reads as HTML: a doctype, `<html`, `<head`, `<body`, `<script`, ... after leading space or a
/// comment).
fn looks_like_html(text: &str) -> bool {
    const TAGS: [&str; 17] = [
        "!doctype html",
        "html",
        "head",
        "script",
        "iframe",
        "h1",
        "div",
        "font",
        "table",
        "a",
        "style",
        "title",
        "b",
        "body",
        "br",
        "p",
        "!--",
    ];
    let start = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let Some(rest) = start.strip_prefix('<') else {
        return false;
    };
    TAGS.iter().any(|tag| {
        rest.get(..tag.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(tag))
            && (tag.starts_with('!')
                || rest
                    .get(tag.len()..)
                    .is_some_and(|after| after.starts_with(['>', '/', ' ', '\t', '\n', '\r'])))
    })
}

/// The first non-blank line of a body, at most 60 characters, quoted and escaped (the body is
/// the network's, shown on a terminal); `None` for an empty body.
fn excerpt(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut short: String = line.chars().take(60).collect();
    if short.len() < line.len() {
        short.push_str("...");
    }
    Some(format!("{short:?}"))
}

/// A top-level key, or a JSON pointer when `field` starts with `/`; strings without quotes.
fn lookup_field(json: &serde_json::Value, field: &str) -> Option<String> {
    let value = if field.starts_with('/') {
        json.pointer(field)
    } else {
        json.get(field)
    }?;
    Some(match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// A short phrase for a failed observation.
pub fn describe(observed: &Observed) -> String {
    match observed {
        Observed::Connected => "connected".into(),
        Observed::Refused => "connection refused".into(),
        Observed::AcceptedThenReset => "accepted, then reset before any HTTP response".into(),
        Observed::Timeout => "no answer within the timeout".into(),
        Observed::Http { status } => format!("HTTP {status}"),
        Observed::LoginRedirect { location, .. } => format!("redirected to login at {location}"),
        Observed::DnsFailed => "the name does not resolve".into(),
        Observed::TlsFailed => "TLS handshake failed".into(),
        Observed::NotHttp => "the answer is not HTTP".into(),
        Observed::Unreachable => "unreachable".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::Knowledge;
    use crate::probe::{StartedBy, StatusClass};

    fn ev(observed: Observed) -> Evidence {
        Evidence {
            observed,
            elapsed_ms: 1,
            detail: None,
        }
    }

    fn chain(share: Share) -> Chain {
        Chain {
            app: "convex-site".into(),
            published: Some(3212),
            public_origin: Some("https://convex-site--ws--me.coder.example.com".into()),
            share,
            ..Chain::default()
        }
    }

    #[test]
    fn published_port_verdicts() {
        let c = chain(Share::Public);
        let cases = [
            (Observed::Http { status: 200 }, Verdict::Ok, "HTTP 200"),
            (Observed::Http { status: 503 }, Verdict::Ok, "HTTP 503"),
            (Observed::Refused, Verdict::Broken, "not published"),
            (
                Observed::AcceptedThenReset,
                Verdict::Broken,
                "nothing listens behind it",
            ),
            (Observed::Timeout, Verdict::Broken, "no HTTP response"),
            (Observed::NotHttp, Verdict::Broken, "not in HTTP"),
        ];
        for (observed, verdict, words) in cases {
            let j = published(&c, 3212, &ev(observed.clone()));
            assert_eq!(j.verdict, verdict, "{observed:?}");
            assert!(
                j.explanation.contains(words),
                "{observed:?}: {}",
                j.explanation
            );
            assert_eq!(j.change.is_some(), verdict == Verdict::Broken);
        }
    }

    fn judge_compose() -> ComposePublish {
        ComposePublish {
            file: "docker-compose.convex.yml".into(),
            folder: "".into(),
            line: 8,
            column: 9,
            service: "convex-backend".into(),
            elsewhere: None,
            started_by: None,
        }
    }

    #[test]
    fn a_refused_port_that_compose_publishes_means_the_stack_is_down() {
        let compose = judge_compose();
        let judge = |compose: Option<ComposePublish>| {
            let c = Chain {
                compose,
                ..chain(Share::Public)
            };
            published(&c, 3212, &ev(Observed::Refused))
        };
        let stack = "docker-compose.convex.yml:8:9 publishes it (compose service `convex-backend`), so the compose stack is not up";

        let j = judge(Some(compose.clone()));
        assert_eq!(j.verdict, Verdict::Broken);
        assert_eq!(
            j.explanation,
            format!("nothing accepts connections on localhost:3212: {stack}")
        );
        assert_eq!(
            j.change.as_deref(),
            Some("start the stack: `docker compose -f docker-compose.convex.yml up -d`")
        );
        assert!(!j.explanation.contains("not published"));

        // The files were given as a folder: the command names the file under it.
        let j = judge(Some(
            compose.clone().under(std::path::Path::new("my project")),
        ));
        assert_eq!(
            j.change.as_deref(),
            Some(
                "start the stack: `docker compose -f 'my project/docker-compose.convex.yml' up -d`"
            )
        );
        assert!(j.explanation.contains(" docker-compose.convex.yml:8:9 "));

        // Started by the template's startup script, with its project name.
        let started = ComposePublish {
            started_by: Some(StartedBy {
                script: "the startup script of coder_agent.main (main.tf:29:5)".into(),
                project: Some("chat".into()),
                rerun: None,
            }),
            ..compose.clone()
        };
        let j = judge(Some(started));
        assert_eq!(
            j.explanation,
            format!("nothing accepts connections on localhost:3212: {stack}; the startup script of coder_agent.main (main.tf:29:5) starts it at workspace start")
        );
        assert!(
            j.change.as_deref().unwrap().starts_with(
                "start the stack: `docker compose -p chat -f docker-compose.convex.yml up -d` (or restart the workspace)"
            ),
            "{:?}",
            j.change
        );

        // A spec's start script: run it again, it gives compose the secrets.
        let rerun = ComposePublish {
            started_by: Some(StartedBy {
                script: "the start script start-workspace.sh".into(),
                project: Some("chat".into()),
                rerun: Some("start-workspace.sh".into()),
            }),
            ..compose.clone()
        };
        let command = |c: ComposePublish| c.start_command();
        assert_eq!(command(rerun.clone()), "./start-workspace.sh");
        assert_eq!(
            command(rerun.under(std::path::Path::new("ws"))),
            "ws/start-workspace.sh"
        );

        // Compose publishes on the Docker host: the workspace's localhost never reaches it.
        let j = judge(Some(ComposePublish {
            elsewhere: Some("on the Docker host's network".into()),
            ..compose
        }));
        assert!(
            j.explanation
                .contains("but compose publishes its ports on the Docker host's network"),
            "{}",
            j.explanation
        );
        assert!(!j.explanation.contains("not up"));

        // Up, but nothing inside behind the mapping: the mapping is named.
        let c = Chain {
            compose: Some(ComposePublish {
                started_by: None,
                elsewhere: None,
                ..judge_compose()
            }),
            ..chain(Share::Public)
        };
        let j = published(&c, 3212, &ev(Observed::AcceptedThenReset));
        assert!(
            j.explanation.contains("docker publishes the port (docker-compose.convex.yml:8:9, service `convex-backend`), but nothing listens behind it"),
            "{}",
            j.explanation
        );
        assert!(j
            .change
            .unwrap()
            .contains("compose `ports` at docker-compose.convex.yml:8:9"));

        // Rendered from a spec in another folder: named there, and its start script too.
        let spec = ComposePublish {
            started_by: Some(StartedBy {
                script: "the start script start-workspace.sh".into(),
                project: None,
                rerun: Some("start-workspace.sh".into()),
            }),
            ..judge_compose()
        }
        .rendered_in(std::path::Path::new("ws"));
        assert_eq!(spec.location(), "ws/docker-compose.convex.yml:8:9");
        assert_eq!(spec.start_command(), "ws/start-workspace.sh");
        let spaced = ComposePublish {
            started_by: spec.started_by.clone(),
            ..judge_compose()
        }
        .rendered_in(std::path::Path::new("my ws"));
        assert_eq!(spaced.start_command(), "'my ws/ws/start-workspace.sh'");

        // No compose file publishes it: then, and only then, it is not published.
        let j = judge(None);
        assert!(
            j.explanation.contains("the port is not published"),
            "{}",
            j.explanation
        );
    }

    #[test]
    fn listener_only_a_refusal_is_broken() {
        let l = Endpoint {
            host: "backend".into(),
            port: 3211,
        };
        let cases = [
            (Observed::Connected, Verdict::Ok),
            (Observed::Refused, Verdict::Broken),
            (Observed::DnsFailed, Verdict::Skipped),
            (Observed::Timeout, Verdict::Skipped),
            (Observed::Unreachable, Verdict::Skipped),
        ];
        for (observed, verdict) in cases {
            assert_eq!(
                listener(&l, &ev(observed.clone())).verdict,
                verdict,
                "{observed:?}"
            );
        }
    }

    #[test]
    fn healthcheck_passes_below_500_like_coder() {
        let c = chain(Share::Owner);
        let cases = [
            (200, Verdict::Ok),
            (302, Verdict::Ok),
            (404, Verdict::Ok),
            (499, Verdict::Ok),
            (500, Verdict::Broken),
            (502, Verdict::Broken),
        ];
        for (status, verdict) in cases {
            let j = healthcheck(&c, "localhost:1/version", &ev(Observed::Http { status }));
            assert_eq!(j.verdict, verdict, "{status}");
        }
        let j = healthcheck(&c, "localhost:1/version", &ev(Observed::Timeout));
        assert_eq!(j.verdict, Verdict::Broken);
    }

    #[test]
    fn public_origin_verdicts() {
        let answered = Inner {
            answered: Some("localhost:3211".into()),
            status: Some(200),
        };
        let login = |token_sent| Observed::LoginRedirect {
            location: "https://coder.example.com/login".into(),
            token_sent,
        };
        let cases = [
            (
                Share::Public,
                Observed::Http { status: 200 },
                Inner::default(),
                Verdict::Ok,
                "serves",
            ),
            (
                Share::Public,
                Observed::Http { status: 502 },
                answered.clone(),
                Verdict::Broken,
                "although localhost:3211 answers",
            ),
            (
                Share::Public,
                Observed::Http { status: 502 },
                Inner::default(),
                Verdict::Broken,
                "no inner link",
            ),
            (
                Share::Public,
                Observed::Http { status: 502 },
                Inner {
                    answered: Some("localhost:1".into()),
                    status: Some(502),
                },
                Verdict::Broken,
                "the app itself answers 502",
            ),
            (
                Share::Public,
                login(false),
                Inner::default(),
                Verdict::Broken,
                "is not public",
            ),
            (
                Share::Owner,
                login(true),
                Inner::default(),
                Verdict::Broken,
                "token is not accepted",
            ),
            (
                Share::Owner,
                login(false),
                Inner::default(),
                Verdict::Skipped,
                "needs a Coder login",
            ),
            (
                Share::Public,
                Observed::DnsFailed,
                Inner::default(),
                Verdict::Broken,
                "wildcard DNS",
            ),
            (
                Share::Public,
                Observed::TlsFailed,
                Inner::default(),
                Verdict::Broken,
                "certificate",
            ),
        ];
        for (share, observed, inner, verdict, words) in cases {
            let j = public_origin(&chain(share), &ev(observed.clone()), &inner);
            assert_eq!(j.verdict, verdict, "{observed:?}");
            assert!(
                j.explanation.contains(words),
                "{observed:?}: {}",
                j.explanation
            );
        }
    }

    #[test]
    fn role_probe_checks_the_issuer_against_the_origin() {
        let probe = RoleProbe {
            name: "openid-configuration".into(),
            path: "/.well-known/openid-configuration".into(),
            expect: Expect {
                status: StatusClass::Success,
                body: Some(BodyExpectation::JsonFieldIsOrigin("issuer".into())),
            },
            hint: Some("set CONVEX_SITE_ORIGIN to the site app's origin".into()),
            optional: None,
        };
        let c = chain(Share::Public);
        let http = ev(Observed::Http { status: 200 });
        let cases: [(&Evidence, &[u8], Verdict, &str); 6] = [
            (
                &http,
                br#"{"issuer":"https://convex-site--ws--me.coder.example.com"}"#,
                Verdict::Ok,
                "issuer",
            ),
            (
                &http,
                br#"{"issuer":"https://convex-site--ws--me.coder.example.com/"}"#,
                Verdict::Ok,
                "issuer",
            ),
            (
                &http,
                br#"{"issuer":"https://convex-api--ws--me.coder.example.com"}"#,
                Verdict::Broken,
                "expected https://convex-site",
            ),
            (
                &http,
                br#"{"jwks_uri":"x"}"#,
                Verdict::Broken,
                "has no `issuer`",
            ),
            (
                &http,
                b"No matching routes found",
                Verdict::Broken,
                "not with JSON",
            ),
            (
                &ev(Observed::Http { status: 404 }),
                b"No matching routes found",
                Verdict::Broken,
                "answers 404",
            ),
        ];
        for (evidence, body, verdict, words) in cases {
            let j = role(&probe, &c, evidence, Some(body));
            assert_eq!(j.verdict, verdict, "{}", String::from_utf8_lossy(body));
            assert!(j.explanation.contains(words), "{}", j.explanation);
            if verdict == Verdict::Broken {
                assert_eq!(j.change, probe.hint);
            }
        }
    }

    #[test]
    fn optional_role_probe_treats_404_as_not_set_up() {
        let probe = RoleProbe {
            name: "openid-configuration".into(),
            path: "/.well-known/openid-configuration".into(),
            expect: Expect {
                status: StatusClass::Success,
                body: Some(BodyExpectation::JsonFieldIsOrigin("issuer".into())),
            },
            hint: None,
            optional: Some("no auth routes deployed".into()),
        };
        let c = chain(Share::Public);
        let cases = [
            (
                404,
                Verdict::Skipped,
                "answers 404: no auth routes deployed",
            ),
            (500, Verdict::Broken, "answers 500"),
            (403, Verdict::Broken, "answers 403"),
        ];
        for (status, verdict, words) in cases {
            let j = role(&probe, &c, &ev(Observed::Http { status }), Some(b"x"));
            assert_eq!(j.verdict, verdict, "{status}");
            assert!(j.explanation.contains(words), "{}", j.explanation);
        }
        let required = RoleProbe {
            optional: None,
            ..probe
        };
        let j = role(&required, &c, &ev(Observed::Http { status: 404 }), None);
        assert_eq!(j.verdict, Verdict::Broken);
    }

    #[test]
    fn role_probe_wants_the_status_and_body_the_knowledge_base_says() {
        let version = &Knowledge::builtin().probes_for("convex-api")[0];
        let probe = RoleProbe {
            name: version.name.clone(),
            path: version.path.clone(),
            expect: version.expect.clone(),
            hint: None,
            optional: None,
        };
        let c = chain(Share::Public);
        let expected = "expected a 2xx status with text that is not an HTML page";
        let cases: [(u16, &[u8], Verdict, &str); 9] = [
            (200, b"1.0.0", Verdict::Ok, "answers 200: \"1.0.0\""),
            (200, b"  unknown\n", Verdict::Ok, "answers 200: \"unknown\""),
            // A plain file server: the route does not exist.
            (
                404,
                b"<!DOCTYPE HTML>\n<title>Error response</title>",
                Verdict::Broken,
                "answers 404 (\"<!DOCTYPE HTML>\"), expected a 2xx status",
            ),
            (404, b"", Verdict::Broken, "answers 404, expected a 2xx"),
            (301, b"", Verdict::Broken, "answers 301, expected a 2xx"),
            // A single-page app's dev server: its index.html for every path.
            (
                200,
                b"\n  <!doctype html><html><head>",
                Verdict::Broken,
                "answers 200 with an HTML page, expected",
            ),
            (200, b"<html lang=en>", Verdict::Broken, "with an HTML page"),
            (
                200,
                b" \n",
                Verdict::Broken,
                "answers 200 with an empty body",
            ),
            (200, b"\xff\xfe", Verdict::Broken, "not UTF-8 text"),
        ];
        for (status, body, verdict, words) in cases {
            let j = role(&probe, &c, &ev(Observed::Http { status }), Some(body));
            assert_eq!(j.verdict, verdict, "{status} {body:?}: {}", j.explanation);
            assert!(j.explanation.contains(words), "{}", j.explanation);
            if verdict == Verdict::Broken {
                assert!(j.explanation.ends_with(expected), "{}", j.explanation);
                assert!(j.change.is_some());
            }
        }
        // No body read at all is an empty one.
        let j = role(&probe, &c, &ev(Observed::Http { status: 200 }), None);
        assert_eq!(j.verdict, Verdict::Broken);

        // Without a body expectation, any status of the class will do.
        let status_only = RoleProbe {
            expect: Expect::default(),
            ..probe.clone()
        };
        for (status, verdict) in [
            (200, Verdict::Ok),
            (404, Verdict::Ok),
            (500, Verdict::Broken),
        ] {
            let j = role(
                &status_only,
                &c,
                &ev(Observed::Http { status }),
                Some(b"<html>"),
            );
            assert_eq!(j.verdict, verdict, "{status}: {}", j.explanation);
        }
        let j = role(&status_only, &c, &ev(Observed::Http { status: 503 }), None);
        assert_eq!(
            j.explanation,
            "GET /version answers 503, expected a status below 500"
        );
    }

    #[test]
    fn html_is_told_from_text() {
        for html in [
            "<!DOCTYPE html>",
            "<!doctype HTML><html>",
            "\u{feff}<html>",
            "<HEAD>",
            "<body class=x>",
            "<!-- generated -->",
            "<p>",
            "<br/>",
        ] {
            assert!(looks_like_html(html), "{html}");
        }
        for text in [
            "1.0.0",
            "<version>",
            "<applet>",
            "<",
            "<bogus html>",
            "unknown <html>",
        ] {
            assert!(!looks_like_html(text), "{text}");
        }
        let long = "x".repeat(100);
        assert_eq!(excerpt(long.as_bytes()).unwrap().len(), 60 + 3 + 2);
        assert_eq!(excerpt(b"a\x1b[2Jb").as_deref(), Some("\"a\\u{1b}[2Jb\""));
        assert_eq!(excerpt(b" \n\n"), None);
    }

    #[test]
    fn role_probe_fields_by_key_or_pointer() {
        let json: serde_json::Value =
            serde_json::from_str(r#"{"a":{"b":[1,"two"]},"n":3}"#).unwrap();
        assert_eq!(lookup_field(&json, "n"), Some("3".into()));
        assert_eq!(lookup_field(&json, "/a/b/1"), Some("two".into()));
        assert_eq!(lookup_field(&json, "missing"), None);
        assert_eq!(lookup_field(&json, "/a/b/9"), None);
    }
}
