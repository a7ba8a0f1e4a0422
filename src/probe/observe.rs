//! Observations: the network side of a probe. Each function makes one TCP connection or one HTTP
//! exchange (following redirects by hand where asked) and says what happened as an [`Observed`],
//! never judging it. Timeouts are the caller's: these functions wait as long as the network does.
//!
//! Error kinds are told apart from the error's source chain: a refused connect, a connection that
//! was accepted and then reset or closed before any HTTP response (docker's proxy when nothing
//! listens inside the container), a DNS failure, a TLS failure, or an answer that is not HTTP.

use std::io;
use std::net::SocketAddr;

use reqwest::header::{HeaderValue, LOCATION};
use reqwest::Url;

use super::{Observed, ProbeError, ProbePlan, PublicContext, SessionToken};

/// Header that carries a Coder session token.
pub const TOKEN_HEADER: &str = "Coder-Session-Token";

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// Bodies are read up to this size (role probes read small JSON documents).
const MAX_BODY: usize = 256 * 1024;

/// What one observation saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub observed: Observed,
    pub detail: Option<String>,
    /// The response body (at most 256 KiB), when it was asked for.
    pub body: Option<Vec<u8>>,
}

impl Fetched {
    fn new(observed: Observed, detail: impl Into<Option<String>>) -> Self {
        Fetched {
            observed,
            detail: detail.into(),
            body: None,
        }
    }
}

/// The HTTP client of a run: no automatic redirects, no connection reuse (every probe opens its
/// own connection), no HTTP proxy, rustls with the system's and webpki's roots.
pub fn client(plan: &ProbePlan) -> Result<reqwest::Client, ProbeError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .no_proxy()
        .user_agent(concat!("portolan-probe/", env!("CARGO_PKG_VERSION")));
    for (host, addr) in &plan.resolve {
        builder = builder.resolve(host, *addr);
    }
    for pem in &plan.extra_root_certificates {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| ProbeError::Client(format!("extra root certificate: {e}")))?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| ProbeError::Client(error_chain(&e)))
}

/// TCP connect to `host:port`, trying every address the name resolves to.
pub async fn tcp_connect(host: &str, port: u16, resolve: &[(String, SocketAddr)]) -> Fetched {
    let addrs = match lookup(host, port, resolve).await {
        Ok(addrs) => addrs,
        Err(e) => return Fetched::new(Observed::DnsFailed, format!("{host}: {e}")),
    };
    let mut last: Option<(SocketAddr, io::Error)> = None;
    for addr in addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(_) => return Fetched::new(Observed::Connected, format!("connected to {addr}")),
            Err(e) => last = Some((addr, e)),
        }
    }
    match last {
        Some((addr, e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
            Fetched::new(Observed::Refused, format!("{addr}: {e}"))
        }
        Some((addr, e)) => Fetched::new(Observed::Unreachable, format!("{addr}: {e}")),
        None => Fetched::new(Observed::DnsFailed, format!("{host}: no addresses")),
    }
}

/// The public-origin link: DNS first (so a missing wildcard record is named as such), then TLS and
/// HTTP through Coder's proxy with redirects followed by hand.
pub async fn public_get(
    client: &reqwest::Client,
    url: &str,
    token: Option<&SessionToken>,
    public: &PublicContext,
    resolve: &[(String, SocketAddr)],
) -> Fetched {
    let parsed = match Url::parse(url) {
        Ok(u) => u,
        Err(e) => return Fetched::new(Observed::Unreachable, format!("bad origin {url}: {e}")),
    };
    let resolved = match (parsed.host_str(), parsed.port_or_known_default()) {
        (Some(host), Some(port)) => match lookup(host, port, resolve).await {
            Ok(addrs) => addrs,
            Err(e) => return Fetched::new(Observed::DnsFailed, format!("{host}: {e}")),
        },
        _ => return Fetched::new(Observed::Unreachable, format!("no host in {url}")),
    };
    let mut fetched = fetch(client, url, How::public(public, token, false)).await;
    let addrs: Vec<String> = resolved.iter().map(|a| a.ip().to_string()).collect();
    let resolved_note = format!("resolved to {}", addrs.join(", "));
    fetched.detail = Some(match fetched.detail {
        Some(d) => format!("{resolved_note}; {d}"),
        None => resolved_note,
    });
    fetched
}

/// How [`fetch`] makes its request.
#[derive(Debug, Clone, Copy, Default)]
pub struct How<'a> {
    /// A session token, sent only where [`may_send_token`] allows, and after a redirect only to
    /// the host and port of the first request.
    pub token: Option<&'a SessionToken>,
    /// The deployment, for the token rule and to recognise its login page.
    pub public: Option<&'a PublicContext>,
    /// Follow up to 5 redirects (by hand); otherwise a redirect is the answer.
    pub follow_redirects: bool,
    /// Keep the body (up to 256 KiB).
    pub read_body: bool,
}

impl<'a> How<'a> {
    /// A request to the workspace's own ports: no token, redirects are the answer.
    pub fn local(read_body: bool) -> Self {
        How {
            read_body,
            ..How::default()
        }
    }

    /// A request through Coder's proxy: redirects followed, the token where allowed.
    pub fn public(
        public: &'a PublicContext,
        token: Option<&'a SessionToken>,
        read_body: bool,
    ) -> Self {
        How {
            token,
            public: Some(public),
            follow_redirects: true,
            read_body,
        }
    }
}

/// One GET. Redirects are followed by hand so the token rule is checked again on every hop, and
/// the token goes on only to the first request's host and port; a redirect to Coder's login page
/// stops the walk as [`Observed::LoginRedirect`].
pub async fn fetch(client: &reqwest::Client, url: &str, how: How<'_>) -> Fetched {
    let How {
        token,
        public,
        follow_redirects: follow,
        read_body,
    } = how;
    let mut url = match Url::parse(url) {
        Ok(u) => u,
        Err(e) => return Fetched::new(Observed::Unreachable, format!("bad url {url}: {e}")),
    };
    let first = url.clone();
    let mut hops: Vec<String> = Vec::new();
    let mut token_sent = false;
    loop {
        let mut request = client.get(url.clone());
        let token_here = match token {
            Some(t) if may_send_token(&url, t) && same_host(&first, &url) => {
                HeaderValue::from_str(t.secret()).ok()
            }
            _ => None,
        };
        if let Some(mut value) = token_here {
            value.set_sensitive(true);
            request = request.header(TOKEN_HEADER, value);
            token_sent = true;
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let mut failed =
                    Fetched::new(classify(&e, url.scheme() == "https"), error_chain(&e));
                failed.detail = with_hops(failed.detail, &hops);
                return failed;
            }
        };
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|l| url.join(l).ok());
        if follow && status.is_redirection() {
            if let Some(next) = location {
                let access_host = public
                    .and_then(|p| p.access_url.as_deref())
                    .and_then(|a| Url::parse(a).ok())
                    .and_then(|a| a.host_str().map(str::to_ascii_lowercase));
                if is_login_redirect(&url, &next, access_host.as_deref()) {
                    return Fetched::new(
                        Observed::LoginRedirect {
                            location: next.to_string(),
                            token_sent,
                        },
                        with_hops(Some(format!("HTTP {}", status.as_u16())), &hops),
                    );
                }
                if hops.len() < MAX_REDIRECTS {
                    hops.push(next.to_string());
                    url = next;
                    continue;
                }
            }
        }
        let mut fetched = Fetched::new(
            Observed::Http {
                status: status.as_u16(),
            },
            with_hops(None, &hops),
        );
        if read_body {
            fetched.body = Some(read_limited(response).await);
        }
        return fetched;
    }
}

/// Whether `token` may be sent to `url`: only over https, and only to a host under the wildcard
/// app domain the user named (one label in place of the `*`) or to the access URL's host.
pub fn may_send_token(url: &Url, token: &SessionToken) -> bool {
    if url.scheme() != "https" {
        return false;
    }
    let Some(host) = url.host_str().map(str::to_ascii_lowercase) else {
        return false;
    };
    token.access_host.as_deref() == Some(host.as_str())
        || token
            .domain
            .as_deref()
            .is_some_and(|domain| under_wildcard(&host, domain))
}

/// Same host (case-insensitive) and same port: where a redirect may take the token.
fn same_host(a: &Url, b: &Url) -> bool {
    let host = |u: &Url| u.host_str().map(str::to_ascii_lowercase);
    host(a).is_some()
        && host(a) == host(b)
        && a.port_or_known_default() == b.port_or_known_default()
}

/// `host` is one label under `wildcard` (`coder.example.com`, `*.coder.example.com`,
/// `*--apps.example.com`).
fn under_wildcard(host: &str, wildcard: &str) -> bool {
    let wildcard = wildcard.trim().trim_end_matches('.').to_ascii_lowercase();
    let wildcard = wildcard.split(':').next().unwrap_or("");
    let (prefix, suffix) = match wildcard.split_once('*') {
        Some(parts) => parts,
        None if wildcard.is_empty() => return false,
        None => ("", wildcard),
    };
    let suffix = if wildcard.contains('*') {
        suffix.to_string()
    } else {
        format!(".{suffix}")
    };
    if suffix.len() < 2 || host.len() <= prefix.len() + suffix.len() {
        return false;
    }
    match host
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix.as_str()))
    {
        Some(label) => !label.is_empty() && !label.contains('.'),
        None => false,
    }
}

/// A redirect to Coder's login: its app auth endpoint anywhere, or a `/login` page on another host
/// or on the access URL's host (an app's own `/login` on its own host is not Coder's).
fn is_login_redirect(from: &Url, to: &Url, access_host: Option<&str>) -> bool {
    if to.path().starts_with("/api/v2/applications/auth-redirect") {
        return true;
    }
    let login_path = to.path() == "/login" || to.path().starts_with("/login/");
    let to_host = to.host_str().map(str::to_ascii_lowercase);
    let other_host = to_host != from.host_str().map(str::to_ascii_lowercase);
    login_path && (other_host || (to_host.is_some() && to_host.as_deref() == access_host))
}

async fn lookup(
    host: &str,
    port: u16,
    resolve: &[(String, SocketAddr)],
) -> io::Result<Vec<SocketAddr>> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Some((_, addr)) = resolve.iter().find(|(h, _)| h.eq_ignore_ascii_case(bare)) {
        return Ok(vec![SocketAddr::new(addr.ip(), port)]);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port)).await?.collect();
    if addrs.is_empty() {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no addresses"));
    }
    Ok(addrs)
}

async fn read_limited(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_BODY.saturating_sub(body.len());
        body.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or(&[]));
        if body.len() >= MAX_BODY {
            break;
        }
    }
    body
}

/// Sorts a failed request into the kinds a template author can act on.
fn classify(err: &reqwest::Error, https: bool) -> Observed {
    use io::ErrorKind as K;
    if err.is_timeout() {
        return Observed::Timeout;
    }
    let io_kinds: Vec<K> = sources(err)
        .filter_map(|e| e.downcast_ref::<io::Error>().map(io::Error::kind))
        .collect();
    let io_has = |kinds: &[K]| io_kinds.iter().any(|k| kinds.contains(k));
    if err.is_connect() {
        return if io_has(&[K::ConnectionRefused]) {
            Observed::Refused
        } else if io_has(&[K::TimedOut]) {
            Observed::Timeout
        } else if sources(err).any(|e| e.to_string().starts_with("dns error")) {
            Observed::DnsFailed
        } else if https
            && io_has(&[
                K::InvalidData,
                K::ConnectionReset,
                K::ConnectionAborted,
                K::UnexpectedEof,
            ])
        {
            // The TCP connect succeeded (else the kinds above): the handshake failed.
            Observed::TlsFailed
        } else {
            Observed::Unreachable
        };
    }
    let hyper: Vec<&hyper::Error> = sources(err)
        .filter_map(|e| e.downcast_ref::<hyper::Error>())
        .collect();
    // A server that speaks first (SSH, SMTP) shows up as a message before any request was sent.
    let speaks_other = |h: &&hyper::Error| {
        h.is_parse()
            || h.is_parse_status()
            || h.to_string().starts_with("received unexpected message")
    };
    if hyper.iter().any(speaks_other) {
        return Observed::NotHttp;
    }
    if io_has(&[
        K::ConnectionReset,
        K::ConnectionAborted,
        K::BrokenPipe,
        K::UnexpectedEof,
    ]) || hyper
        .iter()
        .any(|h| h.is_incomplete_message() || h.is_canceled())
    {
        return Observed::AcceptedThenReset;
    }
    if io_has(&[K::TimedOut]) || hyper.iter().any(|h| h.is_timeout()) {
        return Observed::Timeout;
    }
    Observed::Unreachable
}

/// The error and its causes. An `io::Error` that wraps another error hides it from `source()`
/// (it returns the wrapped error's own source), so wrapped errors are visited through `get_ref`.
fn sources<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |e| {
        match e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        }
    })
}

/// `a: b: c`, each message once (reqwest and hyper repeat their sources' texts).
fn error_chain(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    // The first message repeats the url, which the report shows as the link's target.
    for e in sources(err).skip(usize::from(std::error::Error::source(err).is_some())) {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

fn with_hops(detail: Option<String>, hops: &[String]) -> Option<String> {
    if hops.is_empty() {
        return detail;
    }
    let walked = format!("redirected to {}", hops.join(" → "));
    Some(match detail {
        Some(d) => format!("{d}; {walked}"),
        None => walked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(wildcard: &str, access_url: Option<&str>) -> SessionToken {
        SessionToken::new("secret", Some(wildcard.into()), access_url)
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn token_goes_only_to_coder_hosts_over_https() {
        let cases = [
            // (wildcard, access url, request url, token allowed)
            (
                "coder.example.com",
                None,
                "https://app--ws--me.coder.example.com/",
                true,
            ),
            (
                "*.coder.example.com",
                None,
                "https://APP--ws--me.Coder.Example.com:8443/x",
                true,
            ),
            (
                "coder.example.com",
                None,
                "http://app--ws--me.coder.example.com/",
                false,
            ),
            (
                "coder.example.com",
                None,
                "https://coder.example.com/",
                false,
            ),
            (
                "coder.example.com",
                None,
                "https://a.b.coder.example.com/",
                false,
            ),
            (
                "coder.example.com",
                None,
                "https://evilcoder.example.com/",
                false,
            ),
            (
                "coder.example.com",
                None,
                "https://app.coder.example.com.evil.net/",
                false,
            ),
            (
                "coder.example.com",
                None,
                "https://other.example.org/",
                false,
            ),
            (
                "*--apps.example.com",
                None,
                "https://app--ws--me--apps.example.com/",
                true,
            ),
            (
                "*--apps.example.com",
                None,
                "https://--apps.example.com/",
                false,
            ),
            (
                "*--apps.example.com",
                None,
                "https://x.y--apps.example.com/",
                false,
            ),
            ("", None, "https://anything.example.com/", false),
            (
                "apps.example.com",
                Some("https://coder.example.com"),
                "https://coder.example.com/api",
                true,
            ),
            (
                "apps.example.com",
                Some("https://coder.example.com"),
                "http://coder.example.com/api",
                false,
            ),
        ];
        for (wildcard, access, request, allowed) in cases {
            assert_eq!(
                may_send_token(&url(request), &token(wildcard, access)),
                allowed,
                "{wildcard} {access:?} {request}"
            );
        }
    }

    #[test]
    fn a_token_without_a_named_domain_goes_only_to_the_access_url() {
        let token = SessionToken::new("secret", None, Some("https://coder.example.com"));
        assert!(may_send_token(
            &url("https://coder.example.com/api"),
            &token
        ));
        assert!(!may_send_token(
            &url("https://app--ws--me.coder.example.com/"),
            &token
        ));
        let nowhere = SessionToken::new("secret", Some(" ".into()), None);
        assert!(!may_send_token(&url("https://a.b.example.com/"), &nowhere));
    }

    #[test]
    fn redirects_keep_the_token_on_the_same_host_and_port() {
        let from = url("https://app--ws--me.coder.example.com/");
        for (to, same) in [
            ("https://APP--ws--me.coder.example.com/landing", true),
            ("https://app--ws--me.coder.example.com:443/x", true),
            ("https://app--ws--me.coder.example.com:8443/x", false),
            ("https://other--ws--me.coder.example.com/", false),
            ("https://coder.example.com/", false),
        ] {
            assert_eq!(same_host(&from, &url(to)), same, "{to}");
        }
    }

    #[test]
    fn login_redirects_are_coders_not_the_apps_own() {
        let app = url("https://app--ws--me.coder.example.com/");
        let cases = [
            (
                "https://coder.example.com/api/v2/applications/auth-redirect?redirect_uri=x",
                None,
                true,
            ),
            ("https://coder.example.com/login?redirect=%2F", None, true),
            ("https://app--ws--me.coder.example.com/login", None, false),
            (
                "https://app--ws--me.coder.example.com/dashboard",
                None,
                false,
            ),
            (
                "https://coder.example.com/login",
                Some("coder.example.com"),
                true,
            ),
            ("https://coder.example.com/loginhelp", None, false),
        ];
        for (to, access, login) in cases {
            assert_eq!(is_login_redirect(&app, &url(to), access), login, "{to}");
        }
        // A path-based app lives on the access URL's host: its /login redirect is Coder's.
        let path_app = url("https://coder.example.com/@me/ws/apps/code/");
        assert!(is_login_redirect(
            &path_app,
            &url("https://coder.example.com/login"),
            Some("coder.example.com")
        ));
    }

    #[test]
    fn hops_are_listed_after_the_detail() {
        assert_eq!(with_hops(None, &[]), None);
        assert_eq!(
            with_hops(
                Some("x".into()),
                &["https://a/".into(), "https://b/".into()]
            ),
            Some("x; redirected to https://a/ → https://b/".into())
        );
    }
}
