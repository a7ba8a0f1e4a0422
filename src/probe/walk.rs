//! Walking a plan: every chain concurrently, each link from the inside out with its timeout
//! and the run's deadline; a chain stops at its first broken link.

use std::time::{Duration, Instant};

use super::{
    judge, observe, Chain, ChainResult, Evidence, LinkFinished, LinkKind, LinkResult, Observed,
    ProbeError, ProbePlan, ProbeReport, PublicContext, RoleProbe, SessionToken, Share, Verdict,
};

/// Runs [`run`] on a new current-thread runtime.
pub fn run_blocking(
    plan: &ProbePlan,
    on_link: &(dyn Fn(LinkFinished<'_>) + Sync),
) -> Result<ProbeReport, ProbeError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ProbeError::Runtime(e.to_string()))?;
    runtime.block_on(run(plan, on_link))
}

/// Walks every chain of `plan` concurrently; `on_link` is called as each link is judged.
pub async fn run(
    plan: &ProbePlan,
    on_link: &(dyn Fn(LinkFinished<'_>) + Sync),
) -> Result<ProbeReport, ProbeError> {
    let client = observe::client(plan)?;
    let walker = Walker {
        plan,
        client,
        // A deadline past what the clock can count is no deadline.
        deadline: Instant::now()
            .checked_add(plan.deadline)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1 << 32)),
        on_link,
    };
    let walks = plan
        .chains
        .iter()
        .enumerate()
        .map(|(index, chain)| walker.walk(index, chain));
    let chains = futures_util::future::join_all(walks).await;
    Ok(ProbeReport {
        chains,
        public_probed: plan.public.is_some(),
    })
}

/// Shared state of one run.
struct Walker<'a> {
    plan: &'a ProbePlan,
    client: reqwest::Client,
    deadline: Instant,
    on_link: &'a (dyn Fn(LinkFinished<'_>) + Sync),
}

/// One link to probe, in walking order.
enum Step<'c> {
    Listener,
    Published,
    Healthcheck,
    PublicOrigin,
    Role(&'c RoleProbe),
}

impl Step<'_> {
    fn kind(&self) -> LinkKind {
        match self {
            Step::Listener => LinkKind::Listener,
            Step::Published => LinkKind::Published,
            Step::Healthcheck => LinkKind::Healthcheck,
            Step::PublicOrigin => LinkKind::PublicOrigin,
            Step::Role(probe) => LinkKind::Role(probe.name.clone()),
        }
    }
}

/// Where the HTTP links of a chain send their requests, learned while walking it.
struct Bases {
    /// `http://localhost:H`, or the listener's address.
    local: Option<String>,
    /// Set once the public origin answered; role probes then go there.
    public: Option<String>,
    /// Why role probes cannot run (the public origin needs a login nobody gave).
    role_blocked: Option<String>,
}

impl Walker<'_> {
    async fn walk(&self, index: usize, chain: &Chain) -> ChainResult {
        let mut steps = vec![
            Step::Listener,
            Step::Published,
            Step::Healthcheck,
            Step::PublicOrigin,
        ];
        steps.extend(chain.role_probes.iter().map(Step::Role));
        let mut bases = Bases {
            local: chain
                .published
                .map(|port| format!("http://localhost:{port}"))
                .or_else(|| chain.listener.as_ref().map(|l| format!("http://{l}"))),
            public: None,
            role_blocked: None,
        };
        let mut links: Vec<LinkResult> = Vec::new();
        let mut stopped: Option<String> = None;
        // Past the deadline the walk goes on: every link that needs the network is then not
        // reached ([`Walker::within_budget`] starts nothing), and one with nothing to probe is
        // still skipped for its own reason, so the report names exactly what was left unjudged.
        for step in steps {
            let result = match &stopped {
                Some(reason) => skipped(step.kind(), reason.clone()),
                None => self.link(chain, step, &links, &mut bases).await,
            };
            if stopped.is_none() && result.verdict == Verdict::Broken {
                let what = if result.target.is_empty() {
                    result.kind.label()
                } else {
                    result.target.clone()
                };
                stopped = Some(format!("not probed: {what} is broken"));
            }
            (self.on_link)(LinkFinished {
                chain_index: index,
                app: &chain.app,
                link: &result,
            });
            links.push(result);
        }
        ChainResult {
            app: chain.app.clone(),
            source: chain.source,
            links,
        }
    }

    /// Probes and judges one link; `before` holds the chain's links judged so far.
    async fn link(
        &self,
        chain: &Chain,
        step: Step<'_>,
        before: &[LinkResult],
        bases: &mut Bases,
    ) -> LinkResult {
        let kind = step.kind();
        match step {
            Step::Listener => {
                let Some(listener) = &chain.listener else {
                    return skipped(
                        kind,
                        "no address to reach the process at from here (it runs in a container, or the files do not say)".into(),
                    );
                };
                let connect =
                    observe::tcp_connect(&listener.host, listener.port, &self.plan.resolve);
                let (budgeted, _) = self.within_budget(connect).await;
                finish(kind, listener.to_string(), budgeted, |ev| {
                    judge::listener(listener, ev)
                })
            }
            Step::Published => {
                let Some(port) = chain.published else {
                    return skipped(kind, "no published port known from the files".into());
                };
                let url = format!("http://localhost:{port}/");
                let (budgeted, _) = self.within_budget(self.local_get(&url, false)).await;
                finish(kind, format!("localhost:{port}"), budgeted, |ev| {
                    judge::published(chain, port, ev)
                })
            }
            Step::Healthcheck => {
                let Some(path) = &chain.healthcheck_path else {
                    return skipped(kind, "the app has no healthcheck".into());
                };
                let Some(base) = &bases.local else {
                    return skipped(kind, "no local address to send the healthcheck to".into());
                };
                let url = join(base, path);
                let (budgeted, _) = self.within_budget(self.local_get(&url, false)).await;
                finish(kind, strip_scheme(&url), budgeted, |ev| {
                    judge::healthcheck(chain, &url, ev)
                })
            }
            Step::PublicOrigin => {
                let Some(public) = &self.plan.public else {
                    return skipped(
                        kind,
                        "outside a Coder workspace: only local links are probed".into(),
                    );
                };
                let Some(origin) = &chain.public_origin else {
                    return skipped(kind, "the app has no public origin".into());
                };
                let url = join(origin, "/");
                let get = observe::public_get(
                    &self.client,
                    &url,
                    token_for(chain, public),
                    public,
                    &self.plan.resolve,
                );
                let (budgeted, _) = self.within_budget(get).await;
                let inner = judge::Inner::from_links(before);
                let result = finish(kind, origin.clone(), budgeted, |ev| {
                    judge::public_origin(chain, ev, &inner)
                });
                match result.verdict {
                    Verdict::Ok => bases.public = Some(origin.clone()),
                    Verdict::Skipped if result.evidence.is_some() => {
                        bases.role_blocked = Some(result.explanation.clone())
                    }
                    _ => {}
                }
                result
            }
            Step::Role(probe) => {
                if let Some(why) = &bases.role_blocked {
                    return skipped(kind, format!("not probed: {why}"));
                }
                let (url, budgeted, body) = match (&bases.public, &self.plan.public) {
                    (Some(origin), Some(public)) => {
                        let url = join(origin, &probe.path);
                        let token = token_for(chain, public);
                        let get = observe::fetch(
                            &self.client,
                            &url,
                            observe::How::public(public, token, true),
                        );
                        let (budgeted, body) = self.within_budget(get).await;
                        (url, budgeted, body)
                    }
                    _ => {
                        let Some(base) = &bases.local else {
                            return skipped(kind, "no address to send the request to".into());
                        };
                        let url = join(base, &probe.path);
                        let (budgeted, body) = self.within_budget(self.local_get(&url, true)).await;
                        (url, budgeted, body)
                    }
                };
                let target = if bases.public.is_some() {
                    url.clone()
                } else {
                    strip_scheme(&url)
                };
                finish(kind, target, budgeted, |ev| {
                    judge::role(probe, chain, ev, body.as_deref())
                })
            }
        }
    }

    /// GET on a local address: no token, redirects not followed.
    fn local_get<'u>(
        &'u self,
        url: &'u str,
        read_body: bool,
    ) -> impl std::future::Future<Output = observe::Fetched> + 'u {
        observe::fetch(&self.client, url, observe::How::local(read_body))
    }

    /// Runs an observation within the link's budget: the link timeout, cut short by the deadline.
    async fn within_budget(
        &self,
        observation: impl std::future::Future<Output = observe::Fetched>,
    ) -> (Budgeted, Option<Vec<u8>>) {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return (Budgeted::DeadlinePassed, None);
        }
        let budget = self.plan.timeout.min(remaining);
        let start = Instant::now();
        match tokio::time::timeout(budget, observation).await {
            Ok(fetched) => (
                Budgeted::Observed(Evidence {
                    observed: fetched.observed,
                    elapsed_ms: elapsed_ms(start),
                    detail: fetched.detail,
                }),
                fetched.body,
            ),
            Err(_) if budget < self.plan.timeout => (Budgeted::DeadlinePassed, None),
            Err(_) => (
                Budgeted::Observed(Evidence {
                    observed: Observed::Timeout,
                    elapsed_ms: elapsed_ms(start),
                    detail: Some(format!("no answer within {} ms", budget.as_millis())),
                }),
                None,
            ),
        }
    }
}

/// A link's result from its observation and the judge for its kind.
fn finish(
    kind: LinkKind,
    target: String,
    budgeted: Budgeted,
    judge: impl FnOnce(&Evidence) -> judge::Judgement,
) -> LinkResult {
    match budgeted {
        Budgeted::DeadlinePassed => LinkResult {
            kind,
            target,
            verdict: Verdict::NotReached,
            evidence: None,
            explanation: DEADLINE.to_string(),
            change: None,
        },
        Budgeted::Observed(ev) => {
            let j = judge(&ev);
            LinkResult {
                kind,
                target,
                verdict: j.verdict,
                evidence: Some(ev),
                explanation: j.explanation,
                change: j.change,
            }
        }
    }
}

/// An observation, or the deadline passed before it could finish.
enum Budgeted {
    Observed(Evidence),
    DeadlinePassed,
}

const DEADLINE: &str =
    "deadline: the run's overall time budget ran out before this link was judged";

fn skipped(kind: LinkKind, reason: String) -> LinkResult {
    LinkResult {
        kind,
        target: String::new(),
        verdict: Verdict::Skipped,
        evidence: None,
        explanation: reason,
        change: None,
    }
}

/// The token to offer on a chain's public links: none for public apps, which must answer
/// without a login (a backend fetching its own origin has no token either).
fn token_for<'a>(chain: &Chain, public: &'a PublicContext) -> Option<&'a SessionToken> {
    if chain.share == Share::Public {
        None
    } else {
        public.token.as_ref()
    }
}

fn join(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    if path.starts_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

fn strip_scheme(url: &str) -> String {
    url.strip_prefix("http://").unwrap_or(url).to_string()
}

fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::tests::ctx;

    #[test]
    fn public_apps_are_probed_without_the_token() {
        let c = ctx("coder.example.com");
        let mut chain = Chain {
            share: Share::Public,
            ..Chain::default()
        };
        assert_eq!(token_for(&chain, &c), None);
        chain.share = Share::Owner;
        assert_eq!(
            token_for(&chain, &c).map(SessionToken::secret),
            Some("secret")
        );
    }

    #[test]
    fn join_and_strip_scheme() {
        assert_eq!(join("http://localhost:1/", "/v"), "http://localhost:1/v");
        assert_eq!(join("http://localhost:1", "v"), "http://localhost:1/v");
        assert_eq!(strip_scheme("http://localhost:1/v"), "localhost:1/v");
        assert_eq!(strip_scheme("https://a.b/v"), "https://a.b/v");
    }
}
