//! Probe plans: which port chains `portolan probe` walks, read from the Workspace model that
//! `portolan check` builds ([`plan_from_workspace`]), from files or from what a spec renders
//! ([`plan_from_spec`]).
//!
//! Produces a [`ProbePlan`] with one [`Chain`] per app whose url is on the workspace's localhost,
//! then one per env var whose URL (or the workspace variable its value reads, `${ORIGIN:-...}`)
//! names such an app in a role that the app's chain does not already probe
//! (`VITE_CONVEX_SITE_URL` pointing at the API app gets its own chain with the site role's
//! probes; `CONVEX_SITE_ORIGIN` pointing at the site app adds nothing and is skipped).
//! Each link of a chain is filled in like this:
//!
//! - `published`: the port `P` of the app's url `http://localhost:P`, which the agent proxies.
//! - `listener`: where the process listens, when the probe can reach it from the workspace. A
//!   compose service publishing `P:C` runs in its own network; its container is not reachable by
//!   name from the workspace, so the listener stays `None` and docker's "accepted, then reset"
//!   shows on the published link. A process on the workspace itself (startup script, registry
//!   module, compose service with host networking) listens on `localhost:P`, so its listener link
//!   is that same port, by TCP. That is the clearest report: a dead process reads "nothing listens
//!   on localhost:P ... start the service" instead of advice to publish a compose port, and a live
//!   one shows both the accepted connection and the HTTP answer. The host is `localhost`, as in
//!   the app's url, not `127.0.0.1`: every address it resolves to is tried, so a server bound to
//!   `::1` only (Node's default for `localhost`) is not reported as refused.
//! - `healthcheck_path`: the path of the app's healthcheck url; without one, the knowledge
//!   base's health path of the listener behind the port (`/version` for the Convex API,
//!   `/healthz` for code-server), then (specs only) the spec service's own healthcheck.
//! - `public_origin`: subdomain apps only, when a [`PublicContext`] is given:
//!   `{slug}--{workspace}--{owner}.{wildcard}`, or `{slug}--{agent}--...` when the origins are built
//!   with the agent's name (a Coder host of the model for that slug carries one of the
//!   template's agents: [`agent_in_host`]), so that an OpenID `issuer` is compared with the origin the backend was given.
//! - `share`: the app's; a value not known statically counts as `owner` (never a false "not public").
//! - `role_probes`: the knowledge base's `probes:` for the role of the listener behind the port.
//! - `compose`: the compose `ports:` entry that publishes the port (bridged services only), where
//!   compose publishes when the app's agent does not share that network, and the script of the
//!   template that runs `docker compose up` for that file (for a spec, the rendered start script):
//!   a refusal there means the stack is not up.
//!
//! Not handled: path-based apps get no public origin (their local links are still probed); apps
//! whose url is not on localhost get no chain (rules report them); a healthcheck url on another
//! port than the app's is probed on the app's port; env vars naming a port that no app names.

use super::{
    Chain, ComposePublish, Endpoint, ProbePlan, PublicContext, RoleProbe, SessionToken, Share,
    StartedBy,
};
use crate::knowledge::{Knowledge, RoleRequest};
use crate::model::netns::NetnsKind;
use crate::model::{self, EnvScope, EnvVar, HostTarget, Listener, Place, ScriptOrigin, Workspace};
use crate::render::context::START_SCRIPT;
use crate::source::{FileId, Span};
use crate::spec::reference::{self, Part, RefKind};
use crate::spec::Spec;

/// How a plan is built.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Only these chains, by app slug or env var name; an app's slug also keeps the env var
    /// chains that name that app. Empty: every chain.
    pub only: Vec<String>,
}

/// The plan for a workspace read from files: its apps on localhost and the env vars naming them.
pub fn plan_from_workspace(
    ws: &Workspace,
    public: Option<PublicContext>,
    options: &PlanOptions,
) -> ProbePlan {
    let apps = app_chains(ws, public.as_ref());
    let vars = env_chains(ws, &apps);
    finish(apps, vars, public, options)
}

/// One chain per app whose url is on the workspace's localhost.
fn app_chains(ws: &Workspace, public: Option<&PublicContext>) -> Vec<Chain> {
    let kb = &ws.knowledge;
    let mut apps: Vec<Chain> = Vec::new();
    for app in &ws.apps {
        let Some(port) = app.url.as_ref().and_then(model::UrlFact::local_port) else {
            continue;
        };
        if apps.iter().any(|c| c.app == app.slug) {
            continue;
        }
        let (listener, known) = behind_port(ws, port, app.netns);
        let healthcheck_path = app
            .healthcheck
            .as_ref()
            .map(|h| url_path(&h.path))
            .or_else(|| known.and_then(|l| l.health.clone()));
        let public_origin = public
            .filter(|_| app.subdomain)
            .map(|p| subdomain_origin(p, &app.slug, agent_in_host(ws, &app.slug).as_deref()));
        apps.push(Chain {
            app: app.slug.clone(),
            listener,
            published: Some(port),
            healthcheck_path,
            public_origin,
            share: match app.share {
                model::Share::Public => Share::Public,
                model::Share::Authenticated => Share::Authenticated,
                model::Share::Owner | model::Share::Other => Share::Owner,
            },
            role_probes: role_probes(kb, known.and_then(|l| l.role.as_deref())),
            source: Some(app.span),
            compose: compose_publish(ws, port, app.netns),
        });
    }
    apps
}

/// The chains of env vars whose URL names an app of `apps` in a role its chain does not probe,
/// each with the app's slug.
fn env_chains(ws: &Workspace, apps: &[Chain]) -> Vec<(Chain, String)> {
    let kb = &ws.knowledge;
    let mut vars: Vec<(Chain, String)> = Vec::new();
    for var in &ws.env {
        // A value read from the workspace's environment (`${ORIGIN:-...}` in a compose file,
        // which the start script that runs compose exports) names what that variable names.
        let Some(app) = app_named(ws, var, apps).or_else(|| {
            var.interpolated().iter().find_map(|name| {
                ws.env
                    .iter()
                    .filter(|w| &w.name == name && matches!(w.scope, EnvScope::Script))
                    .find_map(|w| app_named(ws, w, apps))
            })
        }) else {
            continue;
        };
        let role = kb.env_role(&var.name).and_then(|r| r.role.as_deref());
        let probes = role_probes(kb, role);
        if let Some(chain) = env_chain(app, &var.name, probes, var.value_span, &vars) {
            vars.push((chain, app.app.clone()));
        }
    }
    vars
}

/// The chain of the app an env var's own URL names: a subdomain app by slug, or the app
/// published on the workspace's `localhost` port it names.
fn app_named<'a>(ws: &Workspace, var: &EnvVar, apps: &'a [Chain]) -> Option<&'a Chain> {
    match &var.url.as_ref()?.target {
        HostTarget::CoderApp(slug) => apps.iter().find(|c| &c.app == slug),
        HostTarget::Localhost(port) if on_workspace(ws, var) => {
            apps.iter().find(|c| c.published == Some(*port))
        }
        _ => None,
    }
}

/// The plan for a workspace rendered from a spec. The spec is rendered in memory and the model
/// of what it renders is built as `check` builds it from files; the chains are that model's
/// ([`plan_from_workspace`]'s): its apps, their healthchecks and the agent in their hosts, and the
/// env vars whose URLs name them (a service's `${origin:APP}` is rendered as
/// `${ORIGIN_<SLUG>:-...}`, read from the start script's export of that origin). So a spec and
/// the files it renders probe the same listeners, ports, paths and roles.
///
/// Two facts still come from the spec. Where to change a chain: `file` is the spec's id in the
/// caller's source map, and each chain points at the spec (an app's slug, an env var's value),
/// the file the user edits, which the rendered files cannot name. And a service's own HTTP
/// healthcheck, for an app without a healthcheck of its own: the rendered files hold it only as
/// the start script's wait for that URL, which the model does not read as a healthcheck.
pub fn plan_from_spec(
    spec: &Spec,
    file: FileId,
    knowledge: &Knowledge,
    public: Option<PublicContext>,
    options: &PlanOptions,
) -> Result<ProbePlan, crate::render::RenderError> {
    let files = crate::render::render_with(
        spec,
        &crate::render::RenderOptions {
            full: true,
            templates: None,
            out: None,
            spec_file: "portolan.yaml".to_owned(),
        },
        knowledge,
    )?;
    let (workspace, _) = crate::check::check_rendered(&files, &[], knowledge.clone());
    let mut apps = app_chains(&workspace, public.as_ref());
    let mut vars = env_chains(&workspace, &apps);
    for chain in apps.iter_mut().chain(vars.iter_mut().map(|(c, _)| c)) {
        // The rendered start script starts the stack, with the secrets in compose's environment.
        if let Some(compose) = &mut chain.compose {
            compose.started_by = Some(StartedBy {
                script: format!("the start script {START_SCRIPT}"),
                project: Some(spec.name.value.clone()),
                rerun: Some(START_SCRIPT.into()),
            });
        }
    }
    for chain in &mut apps {
        let Some((slug, app)) = spec.apps.get_key_value(chain.app.as_str()) else {
            // The IDE's app is the module's, which the spec asks for with `ide:`.
            let ide = &spec.coder.ide;
            chain.source = (ide.value == crate::spec::Ide::CodeServer
                && chain.app == crate::spec::CODE_SERVER_SLUG
                && ide.end > ide.start)
                .then(|| ide.span(file));
            continue;
        };
        chain.source = Some(slug.span(file));
        if chain.healthcheck_path.is_none() {
            chain.healthcheck_path =
                spec.port(&app.target)
                    .ok()
                    .and_then(|(service, port_name, _)| {
                        let (name, path) = spec
                            .services
                            .get(service.as_str())?
                            .healthcheck
                            .as_ref()?
                            .http()?;
                        (name == port_name.as_str()).then(|| url_path(path))
                    });
        }
    }
    let vars = vars
        .into_iter()
        .map(|(mut chain, slug)| {
            chain.source = spec_value(spec, &chain.app, &slug).map(|v| v.span(file));
            let app = apps.iter().find(|c| c.app == slug);
            // The app chain's healthcheck path, which may have come from the spec.
            if let Some(app) = app {
                chain.healthcheck_path = app.healthcheck_path.clone();
            }
            (chain, slug)
        })
        .collect();
    Ok(finish(apps, vars, public, options))
}

/// Where the spec writes env var `name`, for messages: the value that references app `slug`
/// (`${origin:...}`, `${url:...}`), else the first value of that name.
fn spec_value<'a>(
    spec: &'a Spec,
    name: &str,
    slug: &str,
) -> Option<&'a crate::spec::Located<crate::spec::Text>> {
    let values: Vec<_> = spec
        .services
        .values()
        .flat_map(|s| s.env.iter())
        .chain(spec.env_files.values().flat_map(|f| f.iter()))
        .filter(|(n, _)| n.as_str() == name)
        .map(|(_, v)| v)
        .collect();
    let names_app = |value: &crate::spec::Located<crate::spec::Text>| {
        reference::parse(&value.0).is_ok_and(|parts| {
            parts.iter().any(|part| {
                matches!(part, Part::Ref(r)
                    if matches!(r.kind, RefKind::Origin | RefKind::Url)
                        && spec.app_slug_for(&r.target) == Some(slug))
            })
        })
    };
    values
        .iter()
        .copied()
        .find(|v| names_app(v))
        .or(values.first().copied())
}

/// What the checked files say about the deployment, used only where the user's environment is
/// silent, and never to decide where the session token may go.
#[derive(Debug, Clone, Default)]
pub struct FromFiles {
    /// The spec's `coder.wildcard_domain`.
    pub wildcard_domain: Option<String>,
    /// The spec's `coder.scheme`.
    pub scheme: Option<String>,
}

impl FromFiles {
    /// What a spec says: its `coder.wildcard_domain` and `coder.scheme`.
    pub fn of_spec(spec: &Spec) -> Self {
        FromFiles {
            wildcard_domain: spec.coder.wildcard_domain.as_ref().map(|d| d.value.clone()),
            scheme: Some(spec.coder.scheme.as_str().to_owned()),
        }
    }
}

/// Where the workspace's public origins live, from what the user gave (`user`: flags first, then
/// the agent's environment) and, where that is silent, from the files: the workspace
/// (`CODER_WORKSPACE_NAME`) and its owner (`CODER_WORKSPACE_OWNER_NAME`), the wildcard domain
/// (`PORTOLAN_WILDCARD_DOMAIN`, set by portolan's rendered agent env, else the files'), the
/// scheme (`PORTOLAN_SCHEME`, else the files', else the access URL's, else https), the access URL
/// (`CODER_AGENT_URL`, or the older `CODER_URL`) and a session token (`CODER_SESSION_TOKEN`).
/// `None` when the workspace, owner or wildcard domain is missing.
///
/// The token may go only to the wildcard domain and access URL that `user` names: a domain the
/// files name builds the origins, and the token is then sent only to the access URL's host.
pub fn public_context(
    user: impl Fn(&str) -> Option<String>,
    files: &FromFiles,
) -> Option<PublicContext> {
    let get = |name: &str| {
        user(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let from_files = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let workspace = get("CODER_WORKSPACE_NAME")?;
    let owner = get("CODER_WORKSPACE_OWNER_NAME")?;
    let user_domain = get("PORTOLAN_WILDCARD_DOMAIN");
    let wildcard_domain = user_domain
        .clone()
        .or_else(|| from_files(&files.wildcard_domain))?;
    let access_url = get("CODER_AGENT_URL").or_else(|| get("CODER_URL"));
    let scheme_of = |text: &str| {
        let scheme = text.split_once("://")?.0.to_ascii_lowercase();
        matches!(scheme.as_str(), "http" | "https").then_some(scheme)
    };
    let named_scheme = |s: String| scheme_of(&format!("{s}://"));
    let scheme = get("PORTOLAN_SCHEME")
        .or_else(|| from_files(&files.scheme))
        .and_then(named_scheme)
        .or_else(|| access_url.as_deref().and_then(scheme_of))
        .unwrap_or_else(|| "https".to_owned());
    let token = get("CODER_SESSION_TOKEN")
        .map(|secret| SessionToken::new(secret, user_domain, access_url.as_deref()));
    Some(PublicContext {
        workspace,
        owner,
        wildcard_domain,
        scheme,
        token,
        access_url,
    })
}

/// Keeps the chains `options.only` asks for and wraps them in a plan.
fn finish(
    apps: Vec<Chain>,
    vars: Vec<(Chain, String)>,
    public: Option<PublicContext>,
    options: &PlanOptions,
) -> ProbePlan {
    let wanted = |name: &str, slug: &str| {
        options.only.is_empty() || options.only.iter().any(|o| o == name || o == slug)
    };
    let chains = apps
        .into_iter()
        .filter(|c| wanted(&c.app, &c.app))
        .chain(
            vars.into_iter()
                .filter(|(c, slug)| wanted(&c.app, slug))
                .map(|(c, _)| c),
        )
        .collect();
    ProbePlan::new(chains, public)
}

/// An env var's chain: the chain of the app its URL names, probed for the var's role. `None`
/// when those probes add nothing to the app's chain or to another var's chain for that app.
fn env_chain(
    app: &Chain,
    name: &str,
    probes: Vec<RoleProbe>,
    source: Span,
    vars: &[(Chain, String)],
) -> Option<Chain> {
    let covered = |chain: &Chain| {
        probes.iter().all(|p| {
            chain
                .role_probes
                .iter()
                .any(|q| q.name == p.name && q.path == p.path)
        })
    };
    if probes.is_empty()
        || covered(app)
        || vars.iter().any(|(c, slug)| *slug == app.app && covered(c))
    {
        return None;
    }
    Some(Chain {
        app: name.to_owned(),
        role_probes: probes,
        source: Some(source),
        ..app.clone()
    })
}

/// What listens behind the workspace's `localhost:port`: the address the probe can reach it at
/// (none for a container's own port) and the known listener, preferring one with a role; from
/// `localhost` in namespace `netns` (the app's), not a process of another known one.
fn behind_port(
    ws: &Workspace,
    port: u16,
    netns: Option<model::netns::NetnsId>,
) -> (Option<Endpoint>, Option<&Listener>) {
    let container = ws.published_on(port).find_map(|(i, _, inside)| {
        let bridged = ws.services.get(i).is_some_and(|s| !s.network_mode_host);
        bridged.then_some((i, inside))
    });
    match container {
        Some((i, inside)) => (
            None,
            ws.listeners_at(Place::Container(i), inside)
                .min_by_key(|l| l.role.is_none()),
        ),
        None => (
            Some(localhost(port)),
            ws.listeners_at(Place::Workspace, port)
                .filter(|l| !ws.apart(netns, l.site.netns))
                .min_by_key(|l| l.role.is_none()),
        ),
    }
}

/// The compose mapping that publishes the workspace's `localhost:port` (the first, in model
/// order), with where compose publishes when the app's `localhost` (its agent's namespace
/// `netns`) does not reach it, and the script that runs `docker compose up` for that file, if one does.
fn compose_publish(
    ws: &Workspace,
    port: u16,
    netns: Option<model::netns::NetnsId>,
) -> Option<ComposePublish> {
    // A service on the host's network publishes nothing: its process is the listener.
    let (service, mapping) = ws.published_on(port).find_map(|(index, mapping, _)| {
        let service = ws.services.get(index)?;
        (!service.network_mode_host).then_some((service, mapping))
    })?;
    let file = ws.sources.get(service.file).path.clone();
    let (start, _) = ws.sources.resolve(mapping.span);
    // The Docker host's network, or a dind sidecar's that the app's agent does not share.
    let elsewhere = ws
        .namespaces
        .get(ws.compose_netns)
        .filter(|n| matches!(n.kind, NetnsKind::DockerHost | NetnsKind::Container))
        .filter(|_| netns.is_some_and(|app| app != ws.compose_netns))
        .map(|n| n.name.clone());
    let started_by = ws.scripts.iter().find_map(|script| {
        let up = script.compose_up.iter().find(|up| up.starts(&file))?;
        let (at, _) = ws.sources.resolve(up.span);
        let name = match &script.origin {
            ScriptOrigin::AgentStartup(agent) => {
                format!("the startup script of coder_agent.{agent}")
            }
            ScriptOrigin::CoderScript(name) => format!("coder_script.{name}"),
            ScriptOrigin::File => format!("the script {}", ws.sources.path(up.span).display()),
        };
        Some(StartedBy {
            script: format!(
                "{name} ({}:{}:{})",
                ws.sources.path(up.span).display(),
                at.line,
                at.column
            ),
            project: up.project.clone(),
            rerun: None,
        })
    });
    Some(ComposePublish {
        file,
        folder: std::path::PathBuf::new(),
        line: start.line,
        column: start.column,
        service: service.name.clone(),
        elsewhere,
        started_by,
    })
}

/// Whether `localhost` in this assignment means the workspace, not a container's own network:
/// compose `environment`, env files a compose service reads and scripts mounted into a container
/// run inside it (unless it uses host networking).
fn on_workspace(ws: &Workspace, var: &EnvVar) -> bool {
    ws.env_on_workspace(var)
}

/// The agent name the model's Coder hosts for `slug` carry (`{slug}--{agent}--...` in an env
/// value, a URL a script builds, or a URL in the template's `locals`), if it is one of the
/// template's agents.
fn agent_in_host(ws: &Workspace, slug: &str) -> Option<String> {
    let module = ws.template.as_ref()?;
    let url_agents = ws
        .env
        .iter()
        .filter_map(|v| v.url.as_ref())
        .chain(&ws.template_urls)
        .filter(|u| u.slug().is_some_and(|s| s.eq_ignore_ascii_case(slug)))
        .filter_map(|u| u.agent.as_deref());
    let script_agents = ws
        .scripts
        .iter()
        .flat_map(|s| &s.urls)
        .filter_map(|u| u.coder_host.as_ref())
        .filter(|h| h.port.is_none() && h.slug.eq_ignore_ascii_case(slug))
        .filter_map(|h| h.agent.as_deref());
    let mut written = url_agents.chain(script_agents);
    let agents: Vec<String> = module
        .agents()
        .iter()
        .map(|a| a.name.value.to_ascii_lowercase())
        .collect();
    written.find_map(|w| agents.iter().find(|a| a.eq_ignore_ascii_case(w)).cloned())
}

/// A subdomain app's origin, with the agent's name in the host when the files put it there.
fn subdomain_origin(public: &PublicContext, slug: &str, agent: Option<&str>) -> String {
    match agent {
        Some(agent) => public.subdomain_origin(&format!("{slug}--{agent}")),
        None => public.subdomain_origin(slug),
    }
}

/// The knowledge base's requests for a role, as the engine's role probes.
fn role_probes(kb: &Knowledge, role: Option<&str>) -> Vec<RoleProbe> {
    let requests: &[RoleRequest] = role.map_or(&[], |r| kb.probes_for(r));
    requests
        .iter()
        .map(|r| RoleProbe {
            name: r.name.clone(),
            path: url_path(&r.path),
            expect: r.expect.clone(),
            hint: r.hint.clone(),
            optional: r.optional.clone(),
        })
        .collect()
}

/// A URL's path as a request path: no fragment, `/` when empty.
fn url_path(path: &str) -> String {
    let path = path.split('#').next().unwrap_or("");
    match path {
        "" => "/".to_owned(),
        p if p.starts_with('/') => p.to_owned(),
        p => format!("/{p}"),
    }
}

fn localhost(port: u16) -> Endpoint {
    Endpoint {
        host: "localhost".to_owned(),
        port,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{check_files, classify};
    use crate::model::build::InputFile;
    use crate::probe::BodyExpectation;
    use crate::source::SourceMap;
    use std::path::Path;

    const INCIDENT_TF: &str = include_str!("../../tests/fixtures/convex-incident/main.tf");
    const INCIDENT_COMPOSE: &str =
        include_str!("../../tests/fixtures/convex-incident/docker-compose.convex.yml");
    const INCIDENT_SCRIPT: &str =
        include_str!("../../tests/fixtures/convex-incident/start-convex-backend.sh");

    fn workspace(files: &[(&str, &str)]) -> Workspace {
        let inputs = files
            .iter()
            .map(|(path, text)| InputFile {
                path: (*path).into(),
                text: (*text).to_owned(),
                kind: classify(Path::new(path), Some(text)).expect(path),
            })
            .collect();
        check_files(inputs, &[], Knowledge::builtin().clone()).0
    }

    fn incident(tf: &str) -> Workspace {
        workspace(&[
            ("main.tf", tf),
            ("docker-compose.convex.yml", INCIDENT_COMPOSE),
            ("start-convex-backend.sh", INCIDENT_SCRIPT),
        ])
    }

    fn public() -> PublicContext {
        PublicContext {
            workspace: "ws".into(),
            owner: "me".into(),
            wildcard_domain: "coder.example.com".into(),
            scheme: "https".into(),
            token: None,
            access_url: None,
        }
    }

    /// One line per chain: `app listener published health origin share probes`.
    fn rows(plan: &ProbePlan) -> Vec<String> {
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        plan.chains
            .iter()
            .map(|c| {
                let probes: Vec<String> = c
                    .role_probes
                    .iter()
                    .map(|p| match &p.optional {
                        Some(_) => format!("{}?", p.name),
                        None => p.name.clone(),
                    })
                    .collect();
                format!(
                    "{} {} {} {} {} {} {}",
                    c.app,
                    or_dash(c.listener.as_ref().map(Endpoint::to_string)),
                    or_dash(c.published.map(|p| p.to_string())),
                    or_dash(c.healthcheck_path.clone()),
                    or_dash(c.public_origin.clone()),
                    c.share.as_str(),
                    or_dash((!probes.is_empty()).then(|| probes.join(","))),
                )
            })
            .collect()
    }

    fn source_line(sources: &SourceMap, chain: &Chain) -> String {
        let span = chain.source.expect("source");
        let (start, _) = sources.resolve(span);
        format!("{}:{}", sources.path(span).display(), start.line)
    }

    #[test]
    fn incident_files_give_one_chain_per_localhost_app() {
        let ws = incident(INCIDENT_TF);
        let plan = plan_from_workspace(&ws, Some(public()), &PlanOptions::default());
        assert_eq!(
            rows(&plan),
            vec![
                "convex-api - 3210 /version https://convex-api--ws--me.coder.example.com public version",
                "convex-site - 3212 - https://convex-site--ws--me.coder.example.com public -",
                "convex - 6791 - https://convex--ws--me.coder.example.com owner -",
                "app localhost:5173 5173 - https://app--ws--me.coder.example.com owner -",
            ]
        );
        let site = &plan.chains[1];
        assert_eq!(source_line(&ws.sources, site), "main.tf:43");
        assert!(plan.public.is_some());

        // Outside Coder: the same chains without public origins.
        let local = plan_from_workspace(&ws, None, &PlanOptions::default());
        assert!(local.chains.iter().all(|c| c.public_origin.is_none()));
        assert!(local.public.is_none());
        assert_eq!(local.chains.len(), 4);
    }

    #[test]
    fn chains_know_the_compose_mapping_that_publishes_their_port_and_who_starts_it() {
        let ws = incident(INCIDENT_TF);
        let plan = plan_from_workspace(&ws, None, &PlanOptions::default());
        let compose = |app: &str| {
            plan.chains
                .iter()
                .find(|c| c.app == app)
                .and_then(|c| c.compose.clone())
        };
        let site = compose("convex-site").expect("3212 is published");
        assert_eq!(site.location(), "docker-compose.convex.yml:8:9");
        assert_eq!(site.service, "convex-backend");
        assert_eq!(site.elsewhere, None);
        let started = site
            .started_by
            .as_ref()
            .expect("the startup script runs compose up");
        assert_eq!(
            started.script,
            "the startup script of coder_agent.main (main.tf:29:5)"
        );
        assert_eq!(
            site.start_command(),
            "docker compose -f docker-compose.convex.yml up -d"
        );
        assert_eq!(compose("convex").unwrap().service, "convex-dashboard");
        // Vite runs on the workspace itself: no compose file publishes 5173.
        assert_eq!(compose("app"), None);

        // Without the startup script's `compose up`, nobody is known to start the stack.
        let by_hand =
            INCIDENT_TF.replace("docker compose -f docker-compose.convex.yml up -d", "true");
        let ws = incident(&by_hand);
        let plan = plan_from_workspace(&ws, None, &PlanOptions::default());
        assert_eq!(plan.chains[1].compose.as_ref().unwrap().started_by, None);
    }

    /// With the host's Docker socket mounted, compose publishes on the Docker host: the chain
    /// says so, and a refusal there does not mean the stack is down.
    #[test]
    fn compose_on_the_docker_host_is_out_of_the_apps_reach() {
        let tf = |volumes: &str| {
            format!(
                "resource \"coder_agent\" \"main\" {{\n  os = \"linux\"\n  arch = \"amd64\"\n}}\nresource \"docker_container\" \"ws\" {{\n  entrypoint = [\"sh\", \"-c\", coder_agent.main.init_script]\n{volumes}}}\nresource \"coder_app\" \"web\" {{\n  agent_id = coder_agent.main.id\n  slug     = \"web\"\n  url      = \"http://localhost:8080\"\n}}\n"
            )
        };
        let compose = "services:\n  web:\n    image: nginx:1\n    ports: [\"8080:80\"]\n";
        let socket = "  volumes {\n    host_path      = \"/var/run/docker.sock\"\n    container_path = \"/var/run/docker.sock\"\n  }\n";
        let elsewhere = |volumes: &str| {
            let ws = workspace(&[("main.tf", &tf(volumes)), ("compose.yaml", compose)]);
            let plan = plan_from_workspace(&ws, None, &PlanOptions::default());
            plan.chains[0]
                .compose
                .clone()
                .expect("compose publishes 8080")
                .elsewhere
        };
        assert_eq!(
            elsewhere(socket).as_deref(),
            Some("on the Docker host's network")
        );
        assert_eq!(elsewhere(""), None);
    }

    #[test]
    fn the_fixed_site_app_reaches_the_site_listener_and_its_role_probe() {
        let fixed = INCIDENT_TF.replace("localhost:3212", "localhost:3211");
        let ws = incident(&fixed);
        let only = PlanOptions {
            only: vec!["convex-site".into()],
        };
        let plan = plan_from_workspace(&ws, Some(public()), &only);
        assert_eq!(
            rows(&plan),
            vec![
                "convex-site - 3211 - https://convex-site--ws--me.coder.example.com public openid-configuration?"
            ]
        );
        let probe = &plan.chains[0].role_probes[0];
        assert_eq!(probe.path, "/.well-known/openid-configuration");
        assert_eq!(
            probe.expect.body,
            Some(BodyExpectation::JsonFieldIsOrigin("issuer".into()))
        );
    }

    const TF: &str = r#"
resource "coder_agent" "main" {
  os   = "linux"
  arch = "amd64"
  env = {
    VITE_CONVEX_SITE_URL = "https://convex-api--main--${data.coder_workspace.me.name}--${data.coder_workspace_owner.me.name}.${var.domain}"
    CONVEX_SITE_ORIGIN   = "https://convex-site--main--${data.coder_workspace.me.name}--${data.coder_workspace_owner.me.name}.${var.domain}"
  }
}

resource "coder_app" "api" {
  agent_id  = coder_agent.main.id
  slug      = "convex-api"
  url       = "http://localhost:3210"
  subdomain = true
  share     = var.share
  healthcheck {
    url       = "http://localhost:3210/version?full=1#top"
    interval  = 5
    threshold = 6
  }
}

resource "coder_app" "site" {
  agent_id  = coder_agent.main.id
  slug      = "convex-site"
  url       = "http://localhost:3211"
  subdomain = true
  share     = "public"
}

resource "coder_app" "sidecar" {
  agent_id  = coder_agent.main.id
  slug      = "sidecar"
  url       = "http://backend:3211"
  subdomain = true
}

resource "coder_app" "editor" {
  agent_id = coder_agent.main.id
  slug     = "editor"
  url      = "http://localhost:8080"
}

module "code-server" {
  source   = "registry.coder.com/coder/code-server/coder"
  agent_id = coder_agent.main.id
}
"#;

    const COMPOSE: &str = r#"services:
  backend:
    image: ghcr.io/get-convex/convex-backend:latest
    ports: ["3210:3210", "3211:3211"]
    env_file: backend.env
    environment:
      CONVEX_SELF_HOSTED_URL: http://localhost:3211
  editor:
    image: codercom/code-server:latest
    network_mode: host
    ports: ["8080:8080"]
"#;

    #[test]
    fn env_vars_add_chains_only_for_roles_their_app_does_not_probe() {
        let ws = workspace(&[
            ("main.tf", TF),
            ("docker-compose.yml", COMPOSE),
            (
                ".env.local",
                "NEXT_PUBLIC_CONVEX_URL=http://localhost:3211\n",
            ),
        ]);
        let plan = plan_from_workspace(&ws, Some(public()), &PlanOptions::default());
        let api = "https://convex-api--main--ws--me.coder.example.com";
        let site = "https://convex-site--main--ws--me.coder.example.com";
        assert_eq!(
            rows(&plan),
            vec![
                format!("convex-api - 3210 /version?full=1 {api} owner version"),
                format!("convex-site - 3211 - {site} public openid-configuration?"),
                // Host networking: the container's process listens on the workspace itself.
                "editor localhost:8080 8080 /healthz - owner healthz".to_owned(),
                "code-server localhost:13337 13337 /healthz - owner healthz".to_owned(),
                // localhost:3211 in a workspace env file names the site app, in the API role.
                format!("NEXT_PUBLIC_CONVEX_URL - 3211 - {site} public version"),
                // Names the API app in the site role: its own chain, with the site probe.
                format!(
                    "VITE_CONVEX_SITE_URL - 3210 /version?full=1 {api} owner openid-configuration?"
                ),
            ]
        );
        // Not there: `sidecar` (url not on localhost), CONVEX_SITE_ORIGIN (the site chain
        // already probes its role).
        assert_eq!(
            source_line(&ws.sources, &plan.chains[5]),
            "main.tf:6",
            "an env var chain points at the var's value"
        );

        // The same URL inside the backend container (its `env_file`, its `environment`) is the
        // container's own localhost: no chain.
        let inside = workspace(&[
            ("main.tf", TF),
            ("docker-compose.yml", COMPOSE),
            (
                "backend.env",
                "NEXT_PUBLIC_CONVEX_URL=http://localhost:3211\n",
            ),
        ]);
        let names: Vec<String> = plan_from_workspace(&inside, None, &PlanOptions::default())
            .chains
            .into_iter()
            .map(|c| c.app)
            .collect();
        assert_eq!(
            names,
            [
                "convex-api",
                "convex-site",
                "editor",
                "code-server",
                "VITE_CONVEX_SITE_URL"
            ]
        );

        let only_api = PlanOptions {
            only: vec!["convex-api".into()],
        };
        let names: Vec<String> = plan_from_workspace(&ws, None, &only_api)
            .chains
            .into_iter()
            .map(|c| c.app)
            .collect();
        assert_eq!(names, vec!["convex-api", "VITE_CONVEX_SITE_URL"]);
    }

    /// The agent in an origin comes from the Coder hosts the model reads, not from text: a
    /// comment naming `convex-api--main--` puts no agent in the API app's origin.
    #[test]
    fn an_agent_named_only_in_a_comment_is_not_in_the_origin() {
        let tf = TF.replace(
            "VITE_CONVEX_SITE_URL = \"https://convex-api--main--",
            "# was https://convex-api--main--ws--me.example.com\n    VITE_CONVEX_SITE_URL = \"https://convex-api--",
        );
        assert!(tf.contains("# was https://convex-api--main--"));
        let ws = workspace(&[("main.tf", &tf), ("docker-compose.yml", COMPOSE)]);
        let origins: Vec<String> =
            plan_from_workspace(&ws, Some(public()), &PlanOptions::default())
                .chains
                .into_iter()
                .filter_map(|c| Some(format!("{} {}", c.app, c.public_origin?)))
                .collect();
        assert_eq!(
            origins,
            [
                "convex-api https://convex-api--ws--me.coder.example.com",
                // The site's host in the env still names the agent.
                "convex-site https://convex-site--main--ws--me.coder.example.com",
                "VITE_CONVEX_SITE_URL https://convex-api--ws--me.coder.example.com",
            ]
        );
    }

    fn spec_plan(text: &str, public: Option<PublicContext>) -> Vec<String> {
        let mut sources = SourceMap::new();
        let loaded = crate::spec::load(Path::new("portolan.yaml"), text, &mut sources)
            .unwrap_or_else(|e| panic!("{:?}", e.diagnostics));
        let plan = plan_from_spec(
            &loaded.spec,
            loaded.file,
            Knowledge::builtin(),
            public,
            &PlanOptions::default(),
        )
        .expect("the spec renders");
        for chain in &plan.chains {
            let source = sources.slice(chain.source.expect("source"));
            let is_app = loaded.spec.apps.contains_key(chain.app.as_str())
                || chain.app == crate::spec::CODE_SERVER_SLUG;
            if is_app {
                assert_eq!(source, chain.app, "an app chain points at its slug");
            } else {
                let spec = &loaded.spec;
                let written: Vec<&str> = spec
                    .services
                    .values()
                    .flat_map(|s| s.env.iter())
                    .chain(spec.env_files.values().flat_map(|f| f.iter()))
                    .filter(|(n, _)| n.as_str() == chain.app)
                    .map(|(_, v)| v.0.as_str())
                    .collect();
                assert!(
                    written.contains(&source.trim_matches('"')),
                    "an env chain points at the value: {source} in {written:?}"
                );
            }
        }
        rows(&plan)
    }

    #[test]
    fn spec_apps_follow_their_target_ports() {
        let convex = include_str!("../../examples/convex-selfhosted/portolan.yaml");
        assert_eq!(
            spec_plan(convex, Some(public())),
            vec![
                "convex-api - 3210 /version https://convex-api--ws--me.coder.example.com public version",
                "convex-site - 3211 - https://convex-site--ws--me.coder.example.com public openid-configuration?",
                "convex - 6791 / https://convex--ws--me.coder.example.com owner -",
                "app localhost:5173 5173 / https://app--ws--me.coder.example.com owner -",
                // `ide: code-server`: the module's app, a path app of the agent.
                "code-server localhost:13337 13337 /healthz - owner healthz",
            ]
        );
        // `agent_in_host` defaults to true: the agent `dev` is in every host.
        let webapp = include_str!("../../examples/code-server-nextjs/portolan.yaml");
        assert_eq!(
            spec_plan(webapp, Some(public())),
            vec![
                "code-server localhost:13337 13337 /healthz https://code-server--dev--ws--me.coder.example.com owner healthz",
                "web localhost:3000 3000 / https://web--dev--ws--me.coder.example.com owner -",
            ]
        );
        let minio = include_str!("../../examples/minio-worker/portolan.yaml");
        // Outside Coder; health paths from the services' own healthchecks.
        assert_eq!(
            spec_plan(minio, None),
            vec![
                "api localhost:8000 8000 /health - owner -",
                "s3 - 9000 /minio/health/live - authenticated -",
                "minio - 9001 - - owner -",
            ]
        );
    }

    #[test]
    fn spec_env_vars_in_another_role_get_a_chain() {
        let spec = r#"
name: p
services:
  backend:
    image: ghcr.io/get-convex/convex-backend:latest
    ports: { api: 3210, site: { port: 3211, host: 13211 } }
    env:
      CONVEX_CLOUD_ORIGIN: ${origin:backend.api}
      CONVEX_SITE_ORIGIN: ${origin:convex-api}
apps:
  convex-api: { target: backend.api, subdomain: false }
  convex-site: { target: backend.site, share: public }
"#;
        assert_eq!(
            spec_plan(spec, None),
            vec![
                "convex-api - 3210 /version - owner version",
                "convex-site - 13211 - - public openid-configuration?",
                "CONVEX_SITE_ORIGIN - 3210 /version - owner openid-configuration?",
            ]
        );
    }

    /// Which app an env var names is read from the rendered files: a plain localhost URL in an
    /// env file names the app published there, though the spec has no `${origin:...}` for it.
    #[test]
    fn spec_env_vars_name_apps_through_the_rendered_files() {
        let spec = r#"
name: p
services:
  backend:
    image: ghcr.io/get-convex/convex-backend:latest
    ports: { api: 3210, site: 3211 }
env_files:
  web/.env:
    CONVEX_SITE_ORIGIN: http://localhost:3210
    VITE_CONVEX_URL: "http://localhost:3211"
apps:
  convex-api: { target: backend.api, subdomain: false }
  convex-site: { target: backend.site, share: public }
"#;
        assert_eq!(
            spec_plan(spec, None),
            vec![
                "convex-api - 3210 /version - owner version",
                "convex-site - 3211 - - public openid-configuration?",
                "CONVEX_SITE_ORIGIN - 3210 /version - owner openid-configuration?",
                "VITE_CONVEX_URL - 3211 - - public version",
            ]
        );
    }

    /// A spec service is probed for the listener its rendered start script runs, as `check`
    /// reads it from the rendered files: a program named by its path or started by `sh -c` is
    /// still code-server, with its health path and role probe.
    #[test]
    fn spec_services_are_probed_for_the_program_the_start_script_runs() {
        for run in [
            "/usr/bin/code-server --bind-addr 127.0.0.1:${port:ide.http}",
            "sh -c 'code-server --bind-addr 127.0.0.1:${port:ide.http}'",
        ] {
            let spec = format!(
                "name: p\nservices:\n  ide:\n    run: {run}\n    ports: {{ http: 13337 }}\napps:\n  ide: {{ target: ide.http }}\n"
            );
            assert_eq!(
                spec_plan(&spec, None),
                vec!["ide localhost:13337 13337 /healthz - owner healthz"],
                "{run}"
            );
        }
    }

    #[test]
    fn public_context_comes_from_the_agents_variables() {
        let public_context_from_env =
            |user: &dyn Fn(&str) -> Option<String>| public_context(user, &FromFiles::default());
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let full = public_context_from_env(&env(&[
            ("CODER_WORKSPACE_NAME", "ws"),
            ("CODER_WORKSPACE_OWNER_NAME", "me"),
            ("PORTOLAN_WILDCARD_DOMAIN", "*.coder.example.com"),
            ("CODER_AGENT_URL", "http://coder.internal:3000/"),
            ("CODER_SESSION_TOKEN", "secret"),
        ]))
        .expect("inside a workspace");
        assert_eq!(
            (
                full.subdomain_origin("app"),
                full.token.as_ref().map(SessionToken::secret),
                full.access_url.as_deref()
            ),
            (
                "http://app--ws--me.coder.example.com".to_owned(),
                Some("secret"),
                Some("http://coder.internal:3000/")
            )
        );
        let scheme = public_context_from_env(&env(&[
            ("CODER_WORKSPACE_NAME", "ws"),
            ("CODER_WORKSPACE_OWNER_NAME", "me"),
            ("PORTOLAN_WILDCARD_DOMAIN", "coder.example.com"),
            ("PORTOLAN_SCHEME", "HTTPS"),
            ("CODER_URL", "http://coder.example.com"),
        ]))
        .expect("inside a workspace");
        assert_eq!((scheme.scheme.as_str(), scheme.token), ("https", None));
        assert_eq!(
            full.token.as_ref().and_then(|t| t.domain.as_deref()),
            Some("*.coder.example.com"),
            "the domain the user named scopes the token"
        );
        for missing in [
            env(&[
                ("CODER_WORKSPACE_NAME", "ws"),
                ("CODER_WORKSPACE_OWNER_NAME", "me"),
            ]),
            env(&[
                ("CODER_WORKSPACE_NAME", " "),
                ("CODER_WORKSPACE_OWNER_NAME", "me"),
                ("PORTOLAN_WILDCARD_DOMAIN", "coder.example.com"),
            ]),
            env(&[]),
        ] {
            assert!(public_context_from_env(&missing).is_none());
        }
    }

    /// The files' wildcard domain builds the origins, but the token never goes there: it keeps
    /// only the access URL the user's environment names.
    #[test]
    fn a_wildcard_domain_from_the_files_does_not_scope_the_token() {
        let user = |name: &str| {
            [
                ("CODER_WORKSPACE_NAME", "ws"),
                ("CODER_WORKSPACE_OWNER_NAME", "me"),
                ("CODER_AGENT_URL", "https://coder.example.com"),
                ("CODER_SESSION_TOKEN", "secret"),
            ]
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
        };
        let files = FromFiles {
            wildcard_domain: Some("evil.test".into()),
            scheme: Some("http".into()),
        };
        let public = public_context(user, &files).expect("the files name a domain");
        assert_eq!(
            public.subdomain_origin("app"),
            "http://app--ws--me.evil.test"
        );
        let token = public.token.expect("a token");
        assert_eq!(token.domain, None);
        assert_eq!(token.access_host.as_deref(), Some("coder.example.com"));
        // A flag or variable naming the domain wins over the files, and scopes the token.
        let named = |name: &str| match name {
            "PORTOLAN_WILDCARD_DOMAIN" => Some("coder.example.com".to_string()),
            other => user(other),
        };
        let public = public_context(named, &files).unwrap();
        assert_eq!(public.wildcard_domain, "coder.example.com");
        assert_eq!(
            public.token.and_then(|t| t.domain).as_deref(),
            Some("coder.example.com")
        );
    }

    #[test]
    fn request_paths() {
        for (path, request) in [
            ("", "/"),
            ("/version", "/version"),
            ("/v?x=1#frag", "/v?x=1"),
            ("healthz", "/healthz"),
            ("#", "/"),
        ] {
            assert_eq!(url_path(path), request, "{path:?}");
        }
    }

    /// A chain's known listener is one in its app's agent's namespace: another agent's
    /// code-server on the same port in another container does not lend its health path.
    #[test]
    fn an_apps_listener_is_in_its_agents_namespace() {
        let tf = r#"resource "coder_agent" "dev" {
  startup_script = "code-server --port 8080 &"
}
resource "coder_agent" "docs" {}
resource "docker_container" "dev" {
  entrypoint = ["sh", "-c", coder_agent.dev.init_script]
}
resource "docker_container" "docs" {
  entrypoint = ["sh", "-c", coder_agent.docs.init_script]
}
resource "coder_app" "ide" {
  agent_id = coder_agent.dev.id
  slug     = "ide"
  url      = "http://localhost:8080"
}
resource "coder_app" "docs" {
  agent_id = coder_agent.docs.id
  slug     = "docs"
  url      = "http://localhost:8080"
}
"#;
        let ws = workspace(&[("main.tf", tf)]);
        let plan = plan_from_workspace(&ws, None, &PlanOptions::default());
        let health: Vec<(&str, Option<&str>)> = plan
            .chains
            .iter()
            .map(|c| (c.app.as_str(), c.healthcheck_path.as_deref()))
            .collect();
        assert_eq!(health, [("ide", Some("/healthz")), ("docs", None)]);
    }
}
