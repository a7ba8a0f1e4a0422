//! Judgements: what an observation means for one link, as a verdict, a one-line explanation and
//! what to change. Pure functions of the chain and the evidence, so each case is a table row.

use super::{
    Chain, Endpoint, Evidence, Expect, LinkKind, LinkResult, Observed, RoleProbe, Share, Verdict,
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
        Observed::Refused => broken(
            format!("nothing accepts connections on {at}: the port is not published and no process listens on it"),
            format!(
                "publish the port (compose `ports: [\"{port}:<container port>\"]`) or start the service; or point the app's url at a port that is served"
            ),
        ),
        Observed::AcceptedThenReset => {
            let inside = match &chain.listener {
                Some(l) => format!(" (the service listens on {l})"),
                None => String::new(),
            };
            broken(
                format!(
                    "{at} accepts connections and resets them before any HTTP response: docker publishes the port, but nothing listens behind it in the container{inside}; Coder's proxy answers 502 for it"
                ),
                format!(
                    "map {port} to a container port the service listens on (compose `ports`), or point the app's url at a published port that is served"
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

/// A role probe: the answer a service in this role must give.
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
    let (field, expected, as_origin) = match &probe.expect {
        Expect::StatusBelow500 if status < 500 => {
            return ok(format!("{request} answers {status}"));
        }
        Expect::StatusBelow500 => {
            return broken(
                format!("{request} answers {status}"),
                change("check the service's logs"),
            )
        }
        Expect::JsonFieldEquals { field, value } => (field, value.clone(), false),
        Expect::JsonFieldIsOrigin { field } => match &chain.public_origin {
            Some(origin) => (field, origin.clone(), true),
            None => {
                return skipped(format!(
                    "{request}: no public origin to compare `{field}` with"
                ))
            }
        },
    };
    if !(200..300).contains(&status) {
        return broken(
            format!("{request} answers {status}, expected a JSON document with `{field}`"),
            change("serve the route on this origin"),
        );
    }
    let found = body
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
        .map(|json| lookup_field(&json, field));
    let matches = |found: &str| {
        if as_origin {
            found.trim_end_matches('/') == expected.trim_end_matches('/')
        } else {
            found == expected
        }
    };
    match found {
        None => broken(
            format!("{request} answers {status}, but not with JSON"),
            change("serve the route on this origin"),
        ),
        Some(None) => broken(
            format!("{request}: the JSON has no `{field}`"),
            change("serve the route on this origin"),
        ),
        Some(Some(value)) if matches(&value) => ok(format!("{request}: `{field}` is {value}")),
        Some(Some(value)) => broken(
            format!("{request}: `{field}` is {value}, expected {expected}"),
            change(&format!("make `{field}` {expected}")),
        ),
    }
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
            expect: Expect::JsonFieldIsOrigin {
                field: "issuer".into(),
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
            expect: Expect::JsonFieldIsOrigin {
                field: "issuer".into(),
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
    fn role_probe_fields_by_key_or_pointer() {
        let json: serde_json::Value =
            serde_json::from_str(r#"{"a":{"b":[1,"two"]},"n":3}"#).unwrap();
        assert_eq!(lookup_field(&json, "n"), Some("3".into()));
        assert_eq!(lookup_field(&json, "/a/b/1"), Some("two".into()));
        assert_eq!(lookup_field(&json, "missing"), None);
        assert_eq!(lookup_field(&json, "/a/b/9"), None);
    }
}
