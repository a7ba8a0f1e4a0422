//! Probe: walk each port chain of a running workspace and say which link is broken.
//!
//! Reads a [`ProbePlan`]: one [`Chain`] per app (or origin-bearing env var), each a description of
//! where a request should travel: the process listening inside its container, the port the
//! `coder_app` url names on the workspace's localhost, the app's healthcheck path, its public origin
//! behind Coder's proxy, and role probes from the knowledge base, each with the status class and
//! body it expects (the Convex API's `/version`: a 2xx with text, not an HTML page; the site
//! origin's `/.well-known/openid-configuration`, whose `issuer` must be that origin).
//!
//! Produces a [`ProbeReport`]: per chain, per link, [`Verdict::Ok`] / [`Verdict::Broken`] /
//! [`Verdict::Skipped`] / [`Verdict::NotReached`], with the [`Evidence`] (what the network said,
//! how long it took) and a one-line explanation and what to change. Links are tested from the
//! inside out and a chain stops at its first broken link: the links after it are skipped with the
//! reason. Chains run concurrently; each link has a timeout and the whole run a deadline. A link
//! the deadline cut short, or never let start, is not reached: the run could not finish, so it is
//! not whole ([`ProbeReport::exit_code`] 2).
//!
//! Safety: a Coder session token ([`SessionToken`]) carries the hosts it may go to, as the user
//! named them (flag or environment), never as the checked files say: it is sent only over https,
//! only to a host under the wildcard domain the user named or to the access URL's host
//! ([`observe::may_send_token`]). Redirects are followed by hand, and after one the token goes on
//! only to the same host and port. Nothing is written to disk; the library never prints
//! (progress goes through the `on_link` callback of [`run`]).
//!
//! [`plan`] builds the plan from the Workspace model or a spec. Not handled here: HTTP proxies
//! (every connection is direct, as the agent's own would be), HTTP/2, websockets.

pub mod judge;
pub mod observe;
pub mod plan;
pub mod report;
mod walk;

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::source::Span;

/// Everything a probe run needs: the chains to walk and how long it may take.
#[derive(Debug, Clone)]
pub struct ProbePlan {
    pub chains: Vec<Chain>,
    /// Where the workspace lives behind Coder; `None` outside a workspace (local links only).
    pub public: Option<PublicContext>,
    /// Budget of one link (one TCP connect, or one HTTP exchange with its redirects).
    pub timeout: Duration,
    /// Budget of the whole run; links not finished by then are [`Verdict::NotReached`].
    pub deadline: Duration,
    /// Host name overrides, like `curl --resolve`: the port of the address is ignored.
    pub resolve: Vec<(String, SocketAddr)>,
    /// Extra trusted CA certificates (PEM), for deployments with a private CA.
    pub extra_root_certificates: Vec<Vec<u8>>,
}

impl ProbePlan {
    /// A plan with a 5 s link timeout and a 30 s deadline.
    pub fn new(chains: Vec<Chain>, public: Option<PublicContext>) -> Self {
        ProbePlan {
            chains,
            public,
            timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(30),
            resolve: Vec::new(),
            extra_root_certificates: Vec::new(),
        }
    }

    /// How many links a run reports (the length of a progress bar).
    pub fn link_count(&self) -> usize {
        self.chains.iter().map(|c| 4 + c.role_probes.len()).sum()
    }
}

/// The Coder deployment and workspace the public origins belong to.
#[derive(Clone, Default)]
pub struct PublicContext {
    pub workspace: String,
    pub owner: String,
    /// The wildcard app domain: `coder.example.com`, `*.coder.example.com` or `*--apps.example.com`.
    /// The public origins are built under it; it may come from the checked files, so it says
    /// nothing about where the token may go (that is the token's own [`SessionToken::domain`]).
    pub wildcard_domain: String,
    /// `https` or `http`: the scheme of the app origins.
    pub scheme: String,
    /// A Coder session token, sent as `Coder-Session-Token` where [`observe::may_send_token`] allows.
    pub token: Option<SessionToken>,
    /// The deployment's access URL, e.g. `https://coder.example.com`.
    pub access_url: Option<String>,
}

/// A Coder session token and the hosts it may be sent to, both as the user gave them (a flag or
/// the environment), never read from the checked files: a repository's spec naming another
/// wildcard domain must not receive the token.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken {
    secret: String,
    /// The wildcard app domain the user named; `None` when only the files name one.
    pub domain: Option<String>,
    /// The host of the access URL the user's environment names (lowercase).
    pub access_host: Option<String>,
}

impl SessionToken {
    /// `domain` and `access_url` as the user named them (flag or environment).
    pub fn new(
        secret: impl Into<String>,
        domain: Option<String>,
        access_url: Option<&str>,
    ) -> Self {
        SessionToken {
            secret: secret.into(),
            domain: domain.filter(|d| !d.trim().is_empty()),
            access_host: access_url
                .and_then(|a| reqwest::Url::parse(a).ok())
                .and_then(|a| a.host_str().map(str::to_ascii_lowercase)),
        }
    }

    /// The token itself.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

/// Never shows the token.
impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionToken")
            .field("value", &"<redacted>")
            .field("domain", &self.domain)
            .field("access_host", &self.access_host)
            .finish()
    }
}

impl PublicContext {
    /// The origin of a subdomain app: `{scheme}://{slug}--{workspace}--{owner}.{wildcard}`.
    pub fn subdomain_origin(&self, slug: &str) -> String {
        let label = format!("{slug}--{}--{}", self.workspace, self.owner);
        let domain = self.wildcard_domain.trim().trim_end_matches('.');
        let host = match domain.split_once('*') {
            Some((prefix, suffix)) => format!("{prefix}{label}{suffix}"),
            None => format!("{label}.{domain}"),
        };
        format!("{}://{host}", self.scheme)
    }
}

/// Never shows the token.
impl std::fmt::Debug for PublicContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicContext")
            .field("workspace", &self.workspace)
            .field("owner", &self.owner)
            .field("wildcard_domain", &self.wildcard_domain)
            .field("scheme", &self.scheme)
            .field("token", &self.token)
            .field("access_url", &self.access_url)
            .finish()
    }
}

/// A host and port that something should listen on, as seen from where the probe runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Who may open an app through Coder's proxy (`coder_app.share`): the spec's type.
pub use crate::spec::Share;

/// One port chain: public origin → coder_app → localhost:H → container port → listener.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    /// The app's slug, or the env var whose value names the chain.
    pub app: String,
    /// The process's own address where the probe can reach it: `localhost:P` for a process on the
    /// workspace, a container's address when the probe runs beside it; `None` otherwise.
    pub listener: Option<Endpoint>,
    /// The port the app's url names on the workspace's localhost: docker's published host port,
    /// or the process's own port when it runs on the workspace itself.
    pub published: Option<u16>,
    /// The path of the app's healthcheck url, e.g. `/version`.
    pub healthcheck_path: Option<String>,
    /// The app's public origin, e.g. `https://convex-site--ws--me.coder.example.com`.
    pub public_origin: Option<String>,
    pub share: Share,
    pub role_probes: Vec<RoleProbe>,
    /// Where the app is defined, for the "what to change" line.
    pub source: Option<Span>,
    /// The compose mapping that publishes [`Chain::published`], when a compose file does: with
    /// nothing answering there, the stack is not up.
    pub compose: Option<ComposePublish>,
}

/// A compose file's `ports:` entry that publishes a chain's port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposePublish {
    /// The compose file, as the report's other locations name files.
    pub file: std::path::PathBuf,
    /// The folder the files' paths are relative to, from where the probe runs (`.` when empty):
    /// `docker compose -f` takes the file under it.
    pub folder: std::path::PathBuf,
    /// Line and column of the `ports:` entry.
    pub line: u32,
    pub column: u32,
    /// The compose service.
    pub service: String,
    /// Where compose publishes its ports when that is out of reach of the app's `localhost`
    /// (`on the Docker host's network`): then a refusal does not mean the stack is down.
    pub elsewhere: Option<String>,
    /// The script that starts the stack, when the files say.
    pub started_by: Option<StartedBy>,
}

/// A script of the template that starts a compose stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedBy {
    /// Who it is, for messages: `the startup script of coder_agent.main (main.tf:29:5)`.
    pub script: String,
    /// The project name it gives compose (`-p`), which a command run by hand must give too.
    pub project: Option<String>,
    /// A script to run again rather than compose itself, because it gives compose what it needs
    /// (a spec's start script exports the secrets compose reads).
    pub rerun: Option<std::path::PathBuf>,
}

impl ComposePublish {
    /// `docker-compose.yml:8:9`.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file.display(), self.line, self.column)
    }

    /// The command that starts the stack: the script to run again, else
    /// `docker compose [-p PROJECT] -f FILE up -d`.
    pub fn start_command(&self) -> String {
        let started = self.started_by.as_ref();
        if let Some(script) = started.and_then(|s| s.rerun.as_ref()) {
            let script = self.folder.join(script);
            let path = script.display().to_string();
            return if script.components().count() == 1 {
                shell_word(&format!("./{path}"))
            } else {
                shell_word(&path)
            };
        }
        let project = started
            .and_then(|s| s.project.as_deref())
            .map(|p| format!("-p {} ", shell_word(p)))
            .unwrap_or_default();
        format!(
            "docker compose {project}-f {} up -d",
            shell_word(&self.folder.join(&self.file).display().to_string())
        )
    }

    /// The same mapping, its files' paths relative to folder `dir` (the folder probed), which
    /// the report's locations leave out and the command puts in.
    pub fn under(mut self, dir: &std::path::Path) -> Self {
        if dir != std::path::Path::new(".") {
            self.folder = dir.to_path_buf();
        }
        self
    }

    /// The same mapping, its files rendered into folder `dir` (a spec's folder): the report names
    /// them there, as it names the spec.
    pub fn rendered_in(mut self, dir: &std::path::Path) -> Self {
        if dir != std::path::Path::new(".") {
            self.file = dir.join(&self.file);
            if let Some(started) = &mut self.started_by {
                started.rerun = started.rerun.take().map(|r| dir.join(r));
            }
        }
        self
    }
}

/// A word as the shell reads it back: bare when it is plain, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// A request that a service in this role must answer, from the knowledge base.
#[derive(Debug, Clone)]
pub struct RoleProbe {
    /// Short name for reports, e.g. `openid-configuration`.
    pub name: String,
    /// Path requested on the chain's origin, e.g. `/.well-known/openid-configuration`.
    pub path: String,
    pub expect: Expect,
    /// What to change when the answer is wrong (shown as the "change" line).
    pub hint: Option<String>,
    /// The route may be absent: a 404 is reported as skipped with this reason (e.g. "no auth
    /// routes deployed") instead of broken.
    pub optional: Option<String>,
}

/// What a role probe's answer must look like: the knowledge base's own types. A
/// [`BodyExpectation::JsonFieldIsOrigin`] compares with the chain's public origin (trailing `/`
/// ignored): an OpenID `issuer` must be the origin it is served from.
pub use crate::knowledge::{BodyExpectation, Expectation as Expect, StatusClass};

/// Which link of a chain a result is about, from the inside out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkKind {
    /// TCP connect to the process's own address.
    Listener,
    /// HTTP GET `/` on localhost:H.
    Published,
    /// The app's healthcheck path on localhost:H.
    Healthcheck,
    /// DNS, TLS and HTTP through Coder's proxy.
    PublicOrigin,
    /// A role probe, by name.
    Role(String),
}

impl LinkKind {
    /// `listener`, `published`, `healthcheck`, `public-origin` or `role`.
    pub fn as_str(&self) -> &'static str {
        match self {
            LinkKind::Listener => "listener",
            LinkKind::Published => "published",
            LinkKind::Healthcheck => "healthcheck",
            LinkKind::PublicOrigin => "public-origin",
            LinkKind::Role(_) => "role",
        }
    }

    /// Name for reports: `published`, `role openid-configuration`.
    pub fn label(&self) -> String {
        match self {
            LinkKind::Role(name) => format!("role {name}"),
            other => other.as_str().to_string(),
        }
    }
}

/// The judgement on one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Broken,
    /// Not tested, for a reason the run can state: nothing to probe, unreachable from here, or
    /// after a broken link.
    Skipped,
    /// Not tested because the run's deadline passed first (or cut the probe short): nobody knows
    /// whether this link is ok, so the run could not finish.
    NotReached,
}

impl Verdict {
    /// `ok`, `broken`, `skipped` or `not reached`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Broken => "broken",
            Verdict::Skipped => "skipped",
            Verdict::NotReached => "not reached",
        }
    }
}

/// What the network said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Observed {
    /// A TCP connection was established.
    Connected,
    /// The connection was refused: nothing accepts on that port.
    Refused,
    /// Accepted, then reset or closed before any HTTP response: docker publishes the port but
    /// nothing listens inside the container.
    AcceptedThenReset,
    /// No answer within the link's budget.
    Timeout,
    /// An HTTP answer (after following redirects, for public links).
    Http { status: u16 },
    /// A redirect to Coder's login page.
    LoginRedirect { location: String, token_sent: bool },
    /// The host name does not resolve.
    DnsFailed,
    /// The TLS handshake failed (untrusted or wrong certificate, or not TLS at all).
    TlsFailed,
    /// Something answered, but not in HTTP.
    NotHttp,
    /// Any other failure to reach the address; the detail says which.
    Unreachable,
}

/// The observation behind a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub observed: Observed,
    pub elapsed_ms: u64,
    /// The error text, resolved address, redirects followed, a mismatching field...
    pub detail: Option<String>,
}

/// One link of one chain, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkResult {
    pub kind: LinkKind,
    /// What was probed: `localhost:3212`, `https://…/version`; empty when there was nothing to probe.
    pub target: String,
    pub verdict: Verdict,
    /// `None` when the link was not tested (skipped or not reached).
    pub evidence: Option<Evidence>,
    /// One line: what the evidence means.
    pub explanation: String,
    /// One line: what to change, for broken links.
    pub change: Option<String>,
}

/// All links of one chain, inside out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainResult {
    pub app: String,
    pub source: Option<Span>,
    pub links: Vec<LinkResult>,
}

impl ChainResult {
    /// The link where the chain breaks, if any.
    pub fn first_broken(&self) -> Option<&LinkResult> {
        self.links.iter().find(|l| l.verdict == Verdict::Broken)
    }

    /// The links the deadline kept from finishing, inside out.
    pub fn not_reached(&self) -> impl Iterator<Item = &LinkResult> {
        self.links
            .iter()
            .filter(|l| l.verdict == Verdict::NotReached)
    }

    /// Every link was judged in time.
    pub fn is_complete(&self) -> bool {
        self.not_reached().next().is_none()
    }

    /// Nothing broken, and every link judged in time: a chain the deadline cut short is not whole.
    pub fn is_whole(&self) -> bool {
        self.first_broken().is_none() && self.is_complete()
    }

    /// The result of one kind of link.
    pub fn link(&self, kind: &LinkKind) -> Option<&LinkResult> {
        self.links.iter().find(|l| &l.kind == kind)
    }
}

/// The outcome of a probe run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    pub chains: Vec<ChainResult>,
    /// False when no [`PublicContext`] was given: only local links were probed.
    pub public_probed: bool,
}

impl ProbeReport {
    /// True when no link is broken and every link was judged before the deadline (skipped links
    /// do not count against it; links not reached do).
    pub fn is_whole(&self) -> bool {
        self.chains.iter().all(ChainResult::is_whole)
    }

    /// True when the deadline left no link unjudged.
    pub fn is_complete(&self) -> bool {
        self.chains.iter().all(ChainResult::is_complete)
    }

    /// Process exit status: 0 when every chain is whole; 2 when the run could not finish (a link
    /// was not reached before the deadline), whatever else it found, since nobody knows what the
    /// links not reached would say; otherwise 1 when any link is broken.
    pub fn exit_code(&self) -> i32 {
        if !self.is_complete() {
            2
        } else if self.is_whole() {
            0
        } else {
            1
        }
    }

    pub fn chain(&self, app: &str) -> Option<&ChainResult> {
        self.chains.iter().find(|c| c.app == app)
    }
}

/// A "link finished" event, for progress displays.
#[derive(Debug, Clone, Copy)]
pub struct LinkFinished<'a> {
    /// Index of the chain in [`ProbePlan::chains`].
    pub chain_index: usize,
    pub app: &'a str,
    pub link: &'a LinkResult,
}

/// Why a probe run could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// The HTTP client could not be built (e.g. an unreadable CA certificate).
    Client(String),
    /// The async runtime could not be started.
    Runtime(String),
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeError::Client(e) => write!(f, "cannot build the HTTP client: {e}"),
            ProbeError::Runtime(e) => write!(f, "cannot start the async runtime: {e}"),
        }
    }
}

impl std::error::Error for ProbeError {}

pub use walk::{run, run_blocking};

#[cfg(test)]
mod tests {
    use super::*;

    /// A public context on `wildcard` with a session token for it.
    pub(super) fn ctx(wildcard: &str) -> PublicContext {
        PublicContext {
            workspace: "ws".into(),
            owner: "me".into(),
            wildcard_domain: wildcard.into(),
            scheme: "https".into(),
            token: Some(SessionToken::new("secret", Some(wildcard.into()), None)),
            access_url: None,
        }
    }

    #[test]
    fn subdomain_origin_follows_the_wildcard_pattern() {
        for (wildcard, origin) in [
            ("coder.example.com", "https://app--ws--me.coder.example.com"),
            (
                "*.coder.example.com",
                "https://app--ws--me.coder.example.com",
            ),
            (
                "*--apps.example.com",
                "https://app--ws--me--apps.example.com",
            ),
            (
                "coder.example.com.",
                "https://app--ws--me.coder.example.com",
            ),
        ] {
            assert_eq!(ctx(wildcard).subdomain_origin("app"), origin, "{wildcard}");
        }
    }

    #[test]
    fn debug_output_hides_the_token() {
        let text = format!("{:?}", ctx("coder.example.com"));
        assert!(!text.contains("secret"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}
