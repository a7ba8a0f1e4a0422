//! Which network namespace each listener lives in, and which `count`s it depends on
//! ([`crate::model::netns`]).
//!
//! An agent lives where its `init_script` (else its token) is used: in a docker container (or
//! the one it joins with `network_mode = "container:..."`), in a Kubernetes pod, else on a
//! host of its own. A listener started by an agent's startup script, a `coder_script`, a module
//! or a script file that one of them reads lives in that agent's namespace; a compose service's
//! in the service's (or the one it joins with `network_mode: service:X`). When every agent
//! shares one namespace, it is the workspace's own (namespace 0).

use std::collections::HashMap;

use crate::model::netns::{Gate, Netns, NetnsId, NetnsKind, Site};
use crate::model::{Place, Workspace};
use crate::parse::terraform::{Block, Reference, TerraformModule, Value};
use crate::source::Span;

/// The namespaces found so far, each key once.
#[derive(Default)]
struct Spaces {
    list: Vec<Netns>,
    keys: HashMap<Key, NetnsId>,
}

/// What makes two namespaces the same one.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    /// The resource that is the container or pod.
    Resource(Span),
    /// An agent on a host of its own.
    Agent(String),
    DockerHost,
    Service(usize),
}

impl Spaces {
    fn add(&mut self, key: Option<Key>, kind: NetnsKind, name: String, span: Span) -> NetnsId {
        if let Some(id) = key.as_ref().and_then(|k| self.keys.get(k)) {
            return *id;
        }
        let id = self.list.len();
        self.list.push(Netns { kind, name, span });
        if let Some(key) = key {
            self.keys.insert(key, id);
        }
        id
    }
}

/// Where an agent runs and the counts its container and itself depend on.
struct AgentRun {
    key: Key,
    kind: NetnsKind,
    name: String,
    /// The resource, or the `network_mode` that joins another container's namespace.
    span: Span,
    gates: Vec<Gate>,
}

/// A block that starts listeners: its span (or a script file's), its agent and its gates.
struct Unit {
    span: Span,
    agent: Option<String>,
    gates: Vec<Gate>,
}

pub(super) fn assign(ws: &mut Workspace) {
    let mut spaces = Spaces::default();
    spaces.add(
        None,
        NetnsKind::Host,
        "in the workspace".to_owned(),
        Span::default(),
    );
    let mut agents: HashMap<String, (NetnsId, Vec<Gate>)> = HashMap::new();
    // The resource each agent runs in, if any.
    let mut resources: Vec<(NetnsId, Span)> = Vec::new();
    let mut units: Vec<Unit> = Vec::new();
    let mut daemon = 0;
    if let Some(module) = &ws.template {
        let defaults = parameter_defaults(module);
        let runs: Vec<(String, AgentRun)> = module
            .agents()
            .into_iter()
            .map(|agent| {
                let name = agent.name.value.clone();
                let run = agent_run(ws, module, &defaults, &name, agent.name.span, agent.block);
                (name, run)
            })
            .collect();
        let keys: Vec<&Key> = runs.iter().map(|(_, r)| &r.key).collect();
        let shared = keys.windows(2).all(|w| w[0] == w[1]);
        // A namespace is shown where a container joins it, if one does.
        let joins: HashMap<Key, Span> = runs
            .iter()
            .filter(|(_, r)| r.kind == NetnsKind::Container && Key::Resource(r.span) != r.key)
            .map(|(_, r)| (r.key.clone(), r.span))
            .collect();
        let mut runs = runs;
        for (_, run) in &mut runs {
            if let Some(span) = joins.get(&run.key) {
                run.span = *span;
            }
        }
        // Several agents in one container or pod: the workspace is that one.
        if let (true, [(_, run), _, ..]) = (shared, runs.as_slice()) {
            if run.kind != NetnsKind::Unknown {
                spaces.list[0] = Netns {
                    kind: run.kind.clone(),
                    name: run.name.clone(),
                    span: run.span,
                };
            }
        }
        for (name, run) in runs {
            let resource = match &run.key {
                Key::Resource(span) => Some(*span),
                _ => None,
            };
            let id = if shared {
                0
            } else if run.kind == NetnsKind::Unknown {
                spaces.add(None, run.kind, run.name, run.span)
            } else {
                spaces.add(Some(run.key), run.kind, run.name, run.span)
            };
            resources.extend(resource.map(|span| (id, span)));
            agents.insert(name, (id, run.gates));
        }
        units = units_of(ws, module, &defaults);
        let ids: Vec<NetnsId> = agents.values().map(|(id, _)| *id).collect();
        let default = match ids.as_slice() {
            [] => 0,
            [id, rest @ ..] if rest.iter().all(|r| r == id) => *id,
            // Agents in several namespaces: which one runs compose is not known.
            _ => unknown(&mut spaces),
        };
        daemon = compose_daemon(ws, module, &resources, default, &mut spaces);
    }
    let (compose, joins) = compose_spaces(ws, &mut spaces);
    let single = agents.values().all(|(id, _)| *id == 0);
    // Units by file in order: top-level blocks do not nest, so the one that holds a span is
    // the last that starts before it.
    let mut by_file: HashMap<crate::source::FileId, Vec<usize>> = HashMap::new();
    for (i, unit) in units.iter().enumerate() {
        by_file.entry(unit.span.file).or_default().push(i);
    }
    for ids in by_file.values_mut() {
        ids.sort_by_key(|&i| (units[i].span.start, std::cmp::Reverse(units[i].span.end)));
    }
    let mut sites = Vec::with_capacity(ws.listeners.len());
    for listener in &ws.listeners {
        let site = match listener.place {
            Place::Container(i) => Site {
                netns: compose.get(i).copied().unwrap_or(0),
                unit: ws.services.get(i).map(|s| s.name_span),
                agent: None,
                gates: Vec::new(),
            },
            Place::Workspace => {
                let span = listener.span;
                // The last block starting before the span, else a unit of the whole file.
                let in_file = by_file.get(&span.file).map_or(&[][..], Vec::as_slice);
                let before = in_file.partition_point(|&i| units[i].span.start <= span.start);
                let unit = before
                    .checked_sub(1)
                    .map(|p| &units[in_file[p]])
                    .filter(|u| within(span, u.span))
                    .or_else(|| {
                        in_file
                            .iter()
                            .map(|&i| &units[i])
                            .find(|u| u.span.start == 0 && within(span, u.span))
                    });
                let file = Span::new(span.file, 0, ws.sources.get(span.file).text.len());
                match unit {
                    Some(unit) => {
                        let agent = unit.agent.as_ref().and_then(|a| agents.get(a));
                        let netns = match agent {
                            Some((id, _)) => *id,
                            None if single => 0,
                            None => unknown(&mut spaces),
                        };
                        let mut gates = agent.map(|(_, g)| g.clone()).unwrap_or_default();
                        gates.extend(unit.gates.iter().cloned());
                        Site {
                            netns,
                            unit: Some(unit.span),
                            agent: unit.agent.clone(),
                            gates,
                        }
                    }
                    None => Site {
                        netns: if single { 0 } else { unknown(&mut spaces) },
                        unit: Some(file),
                        agent: None,
                        gates: Vec::new(),
                    },
                }
            }
        };
        sites.push(site);
    }
    for (listener, site) in ws.listeners.iter_mut().zip(sites) {
        // A service in another's network (`network_mode: service:X`) listens in X.
        if let Place::Container(i) = listener.place {
            if let Some(&j) = joins.get(&i) {
                listener.place = Place::Container(j);
            }
        }
        listener.site = site;
    }
    for (i, j) in joins {
        ws.services[i].network_of = Some(j);
    }
    let bound: Vec<Option<String>> = ws.apps.iter().map(|a| agent_of(ws, a)).collect();
    for (app, agent) in ws.apps.iter_mut().zip(bound) {
        app.netns = agent
            .as_ref()
            .and_then(|a| agents.get(a))
            .map(|(id, _)| *id);
        app.agent = agent;
    }
    ws.namespaces = spaces.list;
    ws.compose_netns = daemon;
}

/// Where `docker compose` run in the workspace publishes ports: on the Docker host when an
/// agent's container mounts the host's socket; in a `dind` sidecar's container when there is
/// one (the agent's own namespace when it joins it or shares its pod); else, with sysbox or
/// without a word on it, in the agent's namespace.
fn compose_daemon(
    ws: &Workspace,
    module: &TerraformModule,
    agents: &[(NetnsId, Span)],
    default: NetnsId,
    spaces: &mut Spaces,
) -> NetnsId {
    let resources: Vec<&Block> = module
        .blocks()
        .filter(|b| b.kind.value == "resource")
        .collect();
    let runs_agent = |b: &Block| {
        agents
            .iter()
            .find(|(_, span)| *span == b.span)
            .map(|(id, _)| *id)
    };
    let dind = |image: Option<&str>| image.is_some_and(|i| i.contains("dind"));
    let any_dind = resources
        .iter()
        .any(|b| dind(b.value("image").and_then(|i| i.value.as_str())));
    for block in &resources {
        let Some(id) = runs_agent(block) else {
            continue;
        };
        let socket = block.all_attributes().into_iter().find(|a| {
            matches!(a.name.value.as_str(), "host_path" | "path")
                && a.value.value.as_str() == Some("/var/run/docker.sock")
        });
        let host_network = block
            .attribute("network_mode")
            .and_then(|m| m.value.value.as_str())
            == Some("host");
        let sysbox = block.value("runtime").and_then(|r| r.value.as_str()) == Some("sysbox-runc");
        if let (Some(socket), false) = (socket, host_network) {
            // With a daemon of its own too (sysbox, a dind sidecar), which one compose uses
            // depends on DOCKER_HOST and what starts first: not known.
            if sysbox || any_dind {
                return unknown(spaces);
            }
            return spaces.add(
                Some(Key::DockerHost),
                NetnsKind::DockerHost,
                "on the Docker host's network".to_owned(),
                socket.span,
            );
        }
        if sysbox {
            return id;
        }
    }
    for block in &resources {
        let docker = ws
            .knowledge
            .compute(block.labels.first().map_or("", |l| l.value.as_str()))
            .and_then(|c| c.containers)
            == Some(crate::knowledge::ContainerForm::Docker);
        if docker && dind(block.value("image").and_then(|i| i.value.as_str())) {
            // A sidecar an agent runs in, or joins: that agent's namespace.
            if let Some(id) = runs_agent(block) {
                return id;
            }
            return spaces.add(
                Some(Key::Resource(block.span)),
                NetnsKind::Container,
                format!("in {}", address(block)),
                block.span,
            );
        }
    }
    default
}

fn unknown(spaces: &mut Spaces) -> NetnsId {
    spaces.add(
        None,
        NetnsKind::Unknown,
        "a namespace portolan cannot tell".to_owned(),
        Span::default(),
    )
}

/// Where agent `name` runs: the container or pod whose attributes use its `init_script` (else
/// its token), directly or through a local; else a host of its own.
fn agent_run(
    ws: &Workspace,
    module: &TerraformModule,
    defaults: &HashMap<String, Value>,
    name: &str,
    span: Span,
    block: &Block,
) -> AgentRun {
    let mut gates: Vec<Gate> = gate(module, defaults, block, format!("coder_agent.{name}"))
        .into_iter()
        .collect();
    let own = AgentRun {
        key: Key::Agent(name.to_owned()),
        kind: NetnsKind::Host,
        name: format!("on the host of coder_agent.{name}"),
        span,
        gates: gates.clone(),
    };
    let runtime_of = |t: &str| {
        use crate::knowledge::ContainerForm;
        use crate::parse::terraform::ContainerRuntime;
        Some(match ws.knowledge.compute(t)?.containers? {
            ContainerForm::Docker => ContainerRuntime::Docker,
            ContainerForm::Kubernetes => ContainerRuntime::Kubernetes,
        })
    };
    let containers = module.containers(runtime_of);
    let mut uses = module.init_script_references();
    uses.retain(|r| r.agent == name);
    if uses.is_empty() {
        uses = module.token_references();
        uses.retain(|r| r.agent == name);
    }
    // A use inside a local stands for every use of that local.
    let locals: Vec<String> = module
        .blocks()
        .filter(|b| b.kind.value == "locals")
        .flat_map(|b| b.attributes.iter())
        .filter(|a| uses.iter().any(|u| within(u.span, a.span)))
        .map(|a| a.name.value.clone())
        .collect();
    let runs_it = |block: &Block| {
        block.all_attributes().iter().any(|a| {
            uses.iter().any(|u| within(u.span, a.span))
                || a.references.iter().any(|r| {
                    r.names.first().is_some_and(|n| n == "local")
                        && r.names.get(1).is_some_and(|n| locals.contains(n))
                })
        })
    };
    let Some(container) = containers.iter().find(|c| runs_it(c.block)) else {
        return own;
    };
    let resource = container.resource;
    let own_address = address(resource);
    gates.extend(gate(module, defaults, resource, own_address.clone()));
    use crate::parse::terraform::ContainerRuntime;
    if container.runtime == ContainerRuntime::Kubernetes {
        let host_network = resource
            .all_attributes()
            .iter()
            .any(|a| a.name.value == "host_network" && a.value.value.as_bool() == Some(true));
        return AgentRun {
            key: Key::Resource(resource.span),
            kind: if host_network {
                NetnsKind::Unknown
            } else {
                NetnsKind::Pod
            },
            name: format!("in the pod of {own_address}"),
            span: resource.span,
            gates,
        };
    }
    let own_container = AgentRun {
        key: Key::Resource(resource.span),
        kind: NetnsKind::Container,
        name: format!("in {own_address}"),
        span: resource.span,
        gates: gates.clone(),
    };
    let Some(mode) = resource.attribute("network_mode") else {
        return own_container;
    };
    let text = super::value_text(&mode.value.value).unwrap_or_default();
    if text == "host" {
        return AgentRun {
            key: Key::DockerHost,
            kind: NetnsKind::DockerHost,
            name: "on the Docker host's network".to_owned(),
            span: mode.value.span,
            gates,
        };
    }
    let Some(joined) = text.strip_prefix("container:") else {
        return own_container;
    };
    // `container:${docker_container.x.id}` or `container:<name of x>`.
    let target = containers.iter().map(|c| c.resource).find(|r| {
        r.span != resource.span
            && (mode.references.iter().any(|m| refers_to(m, r))
                || r.value("name").and_then(|n| n.value.as_str()) == Some(joined))
    });
    match target {
        Some(target) => AgentRun {
            key: Key::Resource(target.span),
            kind: NetnsKind::Container,
            name: format!("in {}", address(target)),
            span: mode.span,
            gates,
        },
        None => AgentRun {
            key: Key::Resource(resource.span),
            kind: NetnsKind::Unknown,
            name: format!("in the container {own_address} joins"),
            span: mode.value.span,
            gates,
        },
    }
}

/// `docker_container.workspace`.
fn address(block: &Block) -> String {
    let labels: Vec<&str> = block.labels.iter().map(|l| l.value.as_str()).collect();
    labels.join(".")
}

/// Whether a reference names this resource: `docker_container.x.id`, `docker_container.x[0].id`.
fn refers_to(r: &Reference, resource: &Block) -> bool {
    match (resource.labels.first(), resource.labels.get(1)) {
        (Some(kind), Some(name)) => {
            r.names.first() == Some(&kind.value) && r.names.get(1) == Some(&name.value)
        }
        _ => false,
    }
}

fn within(inner: Span, outer: Span) -> bool {
    inner.file == outer.file && outer.start <= inner.start && inner.end <= outer.end
}

/// The agent an `agent_id` attribute names.
fn agent_named(block: &Block, attribute: &str) -> Option<String> {
    crate::parse::terraform::coder::agent_of(block.attribute(attribute)).map(str::to_owned)
}

/// The agent of an app: the `coder_agent` its block's `agent_id` (or its module call's) names,
/// or, in a local module, the one the call passes for the variable it names (`agent_id =
/// var.agent_id`), through nested calls.
fn agent_of(ws: &Workspace, app: &crate::model::App) -> Option<String> {
    use crate::model::{AppOrigin, LocalModule};
    let holds = |local: &LocalModule, span: Span| local.module.blocks().any(|b| b.span == span);
    // A module called twice is read twice, its blocks at the same spans: the app's origin
    // names the call.
    let mut scope: Option<&LocalModule> = match &app.declared_by {
        AppOrigin::Module(label) => ws
            .local_modules
            .iter()
            .find(|l| &l.label == label && holds(l, app.span)),
        _ => None,
    };
    let (mut span, mut attribute) = (app.span, "agent_id".to_owned());
    // Local modules nest a few levels at most; the bound keeps a cycle from looping.
    for _ in 0..8 {
        let in_scope = match scope {
            Some(local) => local.module.blocks().find(|b| b.span == span),
            None => ws
                .template
                .as_ref()
                .and_then(|m| m.blocks().find(|b| b.span == span)),
        };
        let block = match in_scope {
            Some(block) => block,
            None => {
                let local = ws.local_modules.iter().find(|l| holds(l, span))?;
                scope = Some(local);
                local.module.blocks().find(|b| b.span == span)?
            }
        };
        if let Some(agent) = agent_named(block, &attribute) {
            return Some(agent);
        }
        let var = block
            .attribute(&attribute)?
            .references
            .iter()
            .find_map(|r| match r.names.as_slice() {
                [root, name, ..] if root == "var" => Some(name.clone()),
                _ => None,
            })?;
        let local = scope?;
        span = local.call;
        attribute = var;
        // The caller: the template, or the module whose label prefixes this one's (`outer.inner`).
        scope = local
            .label
            .rsplit_once('.')
            .and_then(|(outer, _)| ws.local_modules.iter().find(|l| l.label == outer));
    }
    None
}

/// The blocks that start listeners (agents, `coder_script`s, modules) and the script files they
/// read with `file()`/`templatefile()`.
fn units_of(
    ws: &Workspace,
    module: &TerraformModule,
    defaults: &HashMap<String, Value>,
) -> Vec<Unit> {
    let mut out = Vec::new();
    for block in module.blocks() {
        let (agent, label) = if block.is_resource("coder_agent") {
            (block.name().map(|n| n.value.clone()), None)
        } else if block.is_resource("coder_script") {
            (agent_named(block, "agent_id"), Some(address(block)))
        } else if block.kind.value == "module" {
            let name = block.name().map_or(String::new(), |n| n.value.clone());
            (
                agent_named(block, "agent_id"),
                Some(format!("module.{name}")),
            )
        } else {
            continue;
        };
        // An agent's own count is among its namespace's gates.
        let gates: Vec<Gate> = label
            .and_then(|label| gate(module, defaults, block, label))
            .into_iter()
            .collect();
        for attr in block.all_attributes() {
            let Some(path) = attr
                .value
                .value
                .as_file_call()
                .and_then(|c| c.relative_path())
            else {
                continue;
            };
            if let Some(file) = ws.sources.find(std::path::Path::new(path)) {
                let len = ws.sources.get(file).text.len();
                out.push(Unit {
                    span: Span::new(file, 0, len),
                    agent: agent.clone(),
                    gates: gates.clone(),
                });
            }
        }
        out.push(Unit {
            span: block.span,
            agent,
            gates,
        });
    }
    out
}

/// The namespace of each compose service: its own, the one it joins (`service:X`), the
/// workspace's (`host`: where the daemon runs, as today), or unknown (`container:X`); and the
/// services that join another's (by index).
fn compose_spaces(ws: &Workspace, spaces: &mut Spaces) -> (Vec<NetnsId>, HashMap<usize, usize>) {
    let mut out: Vec<NetnsId> = Vec::with_capacity(ws.services.len());
    let mut joins = HashMap::new();
    let mut index = 0;
    for (_, file) in &ws.compose_files {
        let first = index;
        let names: HashMap<&str, usize> = file
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), first + i))
            .collect();
        for service in &file.services {
            let mode = service.network_mode.as_ref().map(|m| m.value.as_str());
            let own = |spaces: &mut Spaces, i: usize| {
                let s = &ws.services[i];
                spaces.add(
                    Some(Key::Service(i)),
                    NetnsKind::ComposeService(i),
                    format!("in compose service {}", s.name),
                    s.name_span,
                )
            };
            let id = match mode {
                Some("host") => 0,
                Some(m) if m.starts_with("service:") => {
                    match names.get(m.trim_start_matches("service:").trim()) {
                        Some(&joined) if joined != index && ws.services.get(joined).is_some() => {
                            joins.insert(index, joined);
                            own(spaces, joined)
                        }
                        _ => unknown(spaces),
                    }
                }
                Some(m) if m.starts_with("container:") => unknown(spaces),
                _ if ws.services.get(index).is_some() => own(spaces, index),
                _ => unknown(spaces),
            };
            out.push(id);
            index += 1;
        }
    }
    (out, joins)
}

/// The gate a block's `count` (or `for_each`) makes, labelled `label`; `None` when it always
/// exists while the workspace runs (no count, `count = 1`, `start_count`).
fn gate(
    module: &TerraformModule,
    defaults: &HashMap<String, Value>,
    block: &Block,
    label: String,
) -> Option<Gate> {
    if let Some(each) = block.attribute("for_each") {
        return Some(Gate {
            block: label,
            span: each.value.span,
            by_default: None,
            switch: None,
            fixed: false,
        });
    }
    let count = block.attribute("count")?;
    let running = |r: &Reference| -> Option<Value> {
        match r.names.as_slice() {
            [data, ws, _, attr] if data == "data" && ws == "coder_workspace" => match attr.as_str()
            {
                "start_count" => Some(Value::Number(1.0)),
                "transition" => Some(Value::String("start".to_owned())),
                _ => None,
            },
            _ => None,
        }
    };
    let inputs: Vec<&Reference> = {
        let mut seen: Vec<&Reference> = Vec::new();
        for r in &count.references {
            if running(r).is_none()
                && r.path != "count.index"
                && !seen.iter().any(|s| s.path == r.path)
            {
                seen.push(r);
            }
        }
        seen
    };
    let on = |value: Value| value.as_number().map(|n| n >= 1.0);
    let by_default = on(module.evaluate_assuming(count, &|r| {
        running(r).or_else(|| parameter(r).and_then(|p| defaults.get(p).cloned()))
    }));
    if inputs.is_empty() && by_default == Some(true) {
        return None;
    }
    let switch = match inputs.as_slice() {
        [input] => {
            let parameter = parameter(input).is_some();
            let with = |b: bool| {
                let value = if parameter {
                    Value::String(b.to_string())
                } else {
                    Value::Bool(b)
                };
                on(module.evaluate_assuming(count, &|r| {
                    running(r).or_else(|| (r.path == input.path).then(|| value.clone()))
                }))
            };
            match (with(true), with(false)) {
                (Some(t), Some(f)) if t != f => Some((input.path.clone(), t)),
                _ => None,
            }
        }
        _ => None,
    };
    Some(Gate {
        block: label,
        span: count.value.span,
        by_default,
        switch,
        fixed: inputs.is_empty(),
    })
}

/// `x` for `data.coder_parameter.x.value`.
fn parameter(r: &Reference) -> Option<&str> {
    match r.names.as_slice() {
        [data, kind, name, value]
            if data == "data" && kind == "coder_parameter" && value == "value" =>
        {
            Some(name)
        }
        _ => None,
    }
}

/// The `default` of every `coder_parameter`, as a string (what `.value` is).
fn parameter_defaults(module: &TerraformModule) -> HashMap<String, Value> {
    module
        .data_sources("coder_parameter")
        .filter_map(|b| {
            let name = b.name()?.value.clone();
            let text = super::value_text(&b.value("default")?.value)?;
            (!text.contains("${")).then_some((name, Value::String(text)))
        })
        .collect()
}
