//! `portolan import`: a `portolan.yaml` written from an existing template folder.
//!
//! Everything comes from the [`Workspace`] `check` builds of the folder's files: apps and the
//! port each one's `localhost:P` reaches (a compose service's published port, or a process the
//! startup script starts), compose services with their ports, env, volumes, dependencies,
//! healthchecks and container names, processes of known programs as `run` services, env files
//! with the URLs in their values read back as `${origin:…}` / `${url:…}` references, and the
//! Coder settings the hosts in the files show. What the spec cannot say is written as a YAML
//! comment where it belongs ([`Imported::marks`] lists them too), never dropped in silence;
//! secret-looking values become `secrets:` with a generator and are never copied.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use crate::knowledge::EnvKind;
use crate::model::chain::Hop;
use crate::model::compose::ComposeText;
use crate::model::{AppOrigin, EnvScope, EnvVar, FileKind, HostTarget, Place, Workspace};
use crate::parse::compose::{CommandLine, ComposeService, MountKind};
use crate::rules::security::secret_literal::{secret_name, MIN_SECRET_LEN};
use crate::source::SourceMap;

/// What import wrote, and what it marked.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The spec's text; it loads with [`crate::spec::load`] without error.
    pub text: String,
    /// Every place the spec says in a comment what it could not express, as `what: why`.
    pub marks: Vec<String>,
}

/// Writes the spec of a workspace model. `dir_name` names the project when no script gives a
/// compose project name. Fails only when the spec made would not load (a bug, reported with the
/// loader's first error).
pub fn import(ws: &Workspace, dir_name: &str, notes: &[String]) -> Result<Imported, String> {
    let mut draft = Importer::new(ws, dir_name).run();
    draft.header.splice(0..0, notes.iter().cloned());
    let mut text = draft.emit();
    let mut marks = draft.marks();
    // A value the spec's grammar refuses (that import did not foresee) is commented out at its
    // line with the loader's reason, and marked; anything else is an error.
    for _ in 0..MAX_REFUSED {
        let mut sources = SourceMap::new();
        let Err(e) = crate::spec::load(Path::new("portolan.yaml"), &text, &mut sources) else {
            return Ok(Imported { text, marks });
        };
        let Some(d) = e
            .diagnostics
            .iter()
            .find(|d| d.severity == crate::diagnostic::Severity::Error)
        else {
            break;
        };
        let at = sources
            .get(d.primary.span.file)
            .line_col(d.primary.span.start as usize);
        let refused = format!("{}:{}: {}", at.line, at.column, d.message);
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let Some(line) = (at.line as usize)
            .checked_sub(1)
            .and_then(|i| lines.get_mut(i))
        else {
            return Err(format!("the spec import made does not load ({refused})"));
        };
        let Some((key, commented)) = comment_out(line, &d.message) else {
            return Err(format!("the spec import made does not load ({refused})"));
        };
        marks.push(format!("{key}: not imported: {}", d.message));
        *line = commented;
        text = lines.join("\n") + "\n";
    }
    Err("the spec import made does not load".to_owned())
}

/// How many values the loader may refuse before import gives up.
const MAX_REFUSED: usize = 64;

/// A line holding one value (`KEY: value`, `- item`) as a comment that says why it is not
/// imported, and what it held (the key, or the item); `None` for any other line, whose removal
/// would change the shape of the YAML.
fn comment_out(line: &str, why: &str) -> Option<(String, String)> {
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    let key = if let Some(item) = body.strip_prefix("- ") {
        item.to_owned()
    } else {
        let (key, value) = body.split_once(": ")?;
        if value.trim().is_empty() || body.starts_with('#') {
            return None;
        }
        key.to_owned()
    };
    let why = why.lines().next().unwrap_or("");
    Some((key, format!("{indent}# not imported ({why}): {body}")))
}

/// A spec value: its text as the spec writes it (references, `$${`), and a note.
#[derive(Debug, Clone)]
struct Value {
    text: String,
    note: Option<String>,
}

/// An entry the spec cannot hold: written as a comment.
#[derive(Debug, Clone)]
enum Entry {
    Set(String, Value),
    /// Commented out: the key, what it was, why.
    Dropped(String, String),
}

#[derive(Debug, Default)]
struct Port {
    name: String,
    container: u16,
    host: u16,
}

#[derive(Debug, Default)]
struct ServiceDraft {
    name: String,
    image: Option<String>,
    run: Option<String>,
    container_name: Option<String>,
    command: Option<Vec<String>>,
    command_shell: Option<String>,
    entrypoint: Option<Vec<String>>,
    entrypoint_shell: Option<String>,
    ports: Vec<Port>,
    env: Vec<Entry>,
    volumes: Vec<String>,
    depends_on: Vec<String>,
    health_command: Option<String>,
    /// Comments above the service: what of it the spec cannot say.
    marks: Vec<String>,
    /// Compose service index in the model, for compose services.
    model: Option<usize>,
    /// The listeners' spans of a process.
    process: Option<crate::source::Span>,
    /// For a process: the URL values its script sets before it starts it (indices into the
    /// model's env), last assignment of each name.
    script_env: Vec<usize>,
}

#[derive(Debug, Default)]
struct AppDraft {
    slug: String,
    target: Option<String>,
    share: &'static str,
    subdomain: bool,
    display_name: Option<String>,
    icon: Option<String>,
    hidden: bool,
    order: Option<i64>,
    group: Option<String>,
    open_in: Option<String>,
    healthcheck: Option<String>,
    marks: Vec<String>,
}

#[derive(Debug, Default)]
struct Draft {
    name: String,
    header: Vec<String>,
    agent: Option<String>,
    wildcard_domain: Option<String>,
    scheme: Option<String>,
    agent_in_host: Option<bool>,
    compose_file: Option<String>,
    services: Vec<ServiceDraft>,
    apps: Vec<AppDraft>,
    /// Apps that are not written (module apps, command apps, ...): a comment each.
    other_apps: Vec<String>,
    env_files: Vec<(String, Vec<Entry>, Vec<String>)>,
    secrets: Vec<(String, String)>,
}

impl Draft {
    fn marks(&self) -> Vec<String> {
        let mut out = self.header.clone();
        for s in &self.services {
            out.extend(s.marks.iter().map(|m| format!("service {}: {m}", s.name)));
            for e in &s.env {
                if let Entry::Dropped(k, _) = e {
                    out.push(format!("service {}: env {k} not imported", s.name));
                }
            }
        }
        for a in &self.apps {
            out.extend(a.marks.iter().map(|m| format!("app {}: {m}", a.slug)));
        }
        out.extend(self.other_apps.iter().cloned());
        for (path, entries, marks) in &self.env_files {
            out.extend(marks.iter().map(|m| format!("env file {path}: {m}")));
            for e in entries {
                if let Entry::Dropped(k, _) = e {
                    out.push(format!("env file {path}: {k} not imported"));
                }
            }
        }
        out
    }

    fn emit(&self) -> String {
        let mut o = String::new();
        o.push_str(
            "# Written by `portolan import` from the files of this folder. Review the comments,\n",
        );
        o.push_str("# then `portolan render` and `portolan check --spec portolan.yaml`.\n");
        for h in &self.header {
            comment(&mut o, "", h);
        }
        let _ = writeln!(o, "name: {}", q(&self.name));
        let coder = [
            self.agent.as_ref().map(|a| format!("  agent: {}", q(a))),
            self.wildcard_domain
                .as_ref()
                .map(|d| format!("  wildcard_domain: {}", q(d))),
            self.scheme.as_ref().map(|s| format!("  scheme: {s}")),
            self.agent_in_host.map(|b| format!("  agent_in_host: {b}")),
        ];
        if coder.iter().any(Option::is_some) {
            o.push_str("\ncoder:\n");
            for line in coder.into_iter().flatten() {
                o.push_str(&line);
                o.push('\n');
            }
        }
        if let Some(file) = &self.compose_file {
            let _ = writeln!(o, "\ncompose:\n  file: {}", q(file));
        }
        let written = self
            .services
            .iter()
            .any(|s| s.image.is_some() || s.run.is_some());
        section(&mut o, "services", !self.services.is_empty(), written);
        for s in &self.services {
            emit_service(&mut o, s);
        }
        let written = self.apps.iter().any(|a| a.target.is_some());
        let any = !self.apps.is_empty() || !self.other_apps.is_empty();
        section(&mut o, "apps", any, written);
        for m in &self.other_apps {
            comment(&mut o, "  ", m);
        }
        for a in &self.apps {
            emit_app(&mut o, a);
        }
        let written = self
            .env_files
            .iter()
            .any(|(_, entries, _)| entries.iter().any(|e| matches!(e, Entry::Set(..))));
        section(&mut o, "env_files", !self.env_files.is_empty(), written);
        for (path, entries, marks) in &self.env_files {
            for m in marks {
                comment(&mut o, "  ", m);
            }
            if entries.iter().all(|e| matches!(e, Entry::Dropped(..))) {
                let _ = writeln!(o, "  # {}: {{}}", q(path));
                emit_entries(&mut o, "  ", entries);
                continue;
            }
            let _ = writeln!(o, "  {}:", q(path));
            emit_entries(&mut o, "    ", entries);
        }
        if !self.secrets.is_empty() {
            o.push_str("\nsecrets:\n");
        }
        for (name, why) in &self.secrets {
            comment(&mut o, "  ", why);
            let _ = writeln!(o, "  {name}:\n    generate: hex32");
        }
        o
    }
}

/// A section's key: `KEY:` above its entries, or `KEY: {}` when every entry is a comment.
fn section(o: &mut String, key: &str, any: bool, written: bool) {
    match (any, written) {
        (false, _) => {}
        (true, true) => {
            let _ = writeln!(o, "\n{key}:");
        }
        (true, false) => {
            let _ = writeln!(o, "\n{key}: {{}}");
        }
    }
}

fn emit_service(o: &mut String, s: &ServiceDraft) {
    for m in &s.marks {
        comment(o, "  ", m);
    }
    if s.image.is_none() && s.run.is_none() {
        let _ = writeln!(o, "  # {}: not imported", s.name);
        return;
    }
    let _ = writeln!(o, "  {}:", s.name);
    let i = "    ";
    if let Some(image) = &s.image {
        let _ = writeln!(o, "{i}image: {}", q(image));
    }
    if let Some(run) = &s.run {
        let _ = writeln!(o, "{i}run: {}", q(run));
    }
    if let Some(c) = &s.container_name {
        let _ = writeln!(o, "{i}container_name: {}", q(c));
    }
    for (key, shell, args) in [
        ("entrypoint", &s.entrypoint_shell, &s.entrypoint),
        ("command", &s.command_shell, &s.command),
    ] {
        if let Some(text) = shell {
            let _ = writeln!(o, "{i}{key}: {}", q(text));
        } else if let Some(args) = args {
            let list: Vec<String> = args.iter().map(|a| q(a)).collect();
            let _ = writeln!(o, "{i}{key}: [{}]", list.join(", "));
        }
    }
    if !s.ports.is_empty() {
        let _ = writeln!(o, "{i}ports:");
        for p in &s.ports {
            if p.host == p.container {
                let _ = writeln!(o, "{i}  {}: {}", p.name, p.container);
            } else {
                let _ = writeln!(
                    o,
                    "{i}  {}: {{ port: {}, host: {} }}",
                    p.name, p.container, p.host
                );
            }
        }
    }
    if !s.env.is_empty() {
        // `env:` holding only comments would be null: `env: {}` above them.
        let empty = s.env.iter().all(|e| matches!(e, Entry::Dropped(..)));
        let _ = writeln!(o, "{i}env:{}", if empty { " {}" } else { "" });
        emit_entries(o, "      ", &s.env);
    }
    if !s.volumes.is_empty() {
        let _ = writeln!(o, "{i}volumes:");
        for v in &s.volumes {
            let _ = writeln!(o, "{i}  - {}", q(v));
        }
    }
    if !s.depends_on.is_empty() {
        let names: Vec<String> = s.depends_on.iter().map(|d| q(d)).collect();
        let _ = writeln!(o, "{i}depends_on: [{}]", names.join(", "));
    }
    if let Some(command) = &s.health_command {
        let _ = writeln!(o, "{i}healthcheck:\n{i}  command: {}", q(command));
    }
}

fn emit_app(o: &mut String, a: &AppDraft) {
    for m in &a.marks {
        comment(o, "  ", m);
    }
    let Some(target) = &a.target else {
        let _ = writeln!(o, "  # {}: not imported", a.slug);
        return;
    };
    let i = "    ";
    let _ = writeln!(o, "  {}:\n{i}target: {}", a.slug, q(target));
    if a.share != "owner" {
        let _ = writeln!(o, "{i}share: {}", a.share);
    }
    if !a.subdomain {
        let _ = writeln!(o, "{i}subdomain: false");
    }
    for (key, value) in [
        ("display_name", &a.display_name),
        ("icon", &a.icon),
        ("group", &a.group),
        ("open_in", &a.open_in),
        ("healthcheck", &a.healthcheck),
    ] {
        if let Some(v) = value {
            let _ = writeln!(o, "{i}{key}: {}", q(v));
        }
    }
    if a.hidden {
        let _ = writeln!(o, "{i}hidden: true");
    }
    if let Some(order) = a.order {
        let _ = writeln!(o, "{i}order: {order}");
    }
}

fn emit_entries(o: &mut String, indent: &str, entries: &[Entry]) {
    for e in entries {
        match e {
            Entry::Set(key, value) => {
                if let Some(note) = &value.note {
                    comment(o, indent, note);
                }
                let _ = writeln!(o, "{indent}{key}: {}", q(&value.text));
            }
            Entry::Dropped(key, why) => comment(o, indent, &format!("{key}: {why}")),
        }
    }
}

/// A comment, one `#` line per line of `text`.
/// `text` as comment lines, each line of it wrapped at word boundaries within 100 columns.
fn comment(o: &mut String, indent: &str, text: &str) {
    const WIDTH: usize = 100;
    for line in text.lines() {
        let mut current = String::new();
        for word in line.split(' ') {
            if !current.is_empty() && indent.len() + 2 + current.len() + 1 + word.len() > WIDTH {
                let _ = writeln!(o, "{indent}# {current}");
                current.clear();
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        let _ = writeln!(o, "{indent}# {current}");
    }
}

/// A YAML double-quoted scalar (JSON's string syntax, which YAML reads alike).
fn q(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// A name as the spec's grammar takes it: lowercase letters, digits, `-` and `_`, starting with
/// a letter or digit.
fn spec_name(text: &str, fallback: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-' | '_') => c,
            _ => '-',
        })
        .collect();
    out = out
        .trim_start_matches(['-', '_'])
        .trim_end_matches(['-', '_'])
        .to_owned();
    if out.is_empty() {
        fallback.to_owned()
    } else {
        out
    }
}

/// `name`, or `name-2`, `name-3`... not in `taken`.
fn unique(name: String, taken: &BTreeSet<String>) -> String {
    if !taken.contains(&name) {
        return name;
    }
    (2..)
        .map(|n| format!("{name}-{n}"))
        .find(|n| !taken.contains(n))
        .unwrap_or(name)
}

/// A literal as a spec value: `${` written as `$${`.
fn literal(text: &str) -> String {
    text.replace("${", "$${")
}

fn compose_text(text: &ComposeText) -> String {
    text.value.clone()
}

struct Importer<'a> {
    ws: &'a Workspace,
    dir_name: &'a str,
    draft: Draft,
    /// Host port on the agent's localhost → `service.port`.
    by_host_port: HashMap<u16, String>,
    /// `service.port` targets with an app, by target; and app slug → target.
    app_targets: HashMap<String, String>,
    slug_targets: HashMap<String, String>,
    /// Literal values of the secrets made so far, with their names: written again inside
    /// another value (`postgres://app:PASSWORD@...`), they become the secret's reference.
    secret_values: Vec<(String, String)>,
}

impl<'a> Importer<'a> {
    fn new(ws: &'a Workspace, dir_name: &'a str) -> Self {
        Importer {
            ws,
            dir_name,
            draft: Draft::default(),
            by_host_port: HashMap::new(),
            app_targets: HashMap::new(),
            slug_targets: HashMap::new(),
            secret_values: Vec::new(),
        }
    }

    fn run(mut self) -> Draft {
        self.rendered_files();
        self.coder();
        self.compose_services();
        self.processes();
        self.apps();
        self.service_env();
        self.env_files();
        self.draft
    }

    fn path_of(&self, file: crate::source::FileId) -> String {
        self.ws
            .sources
            .get(file)
            .path
            .to_string_lossy()
            .replace('\\', "/")
    }

    /// Whether a file carries portolan's header (render's, or its start script's).
    fn rendered(&self, file: crate::source::FileId) -> bool {
        crate::render::header::has_header(&self.ws.sources.get(file).text)
    }

    /// Files portolan rendered came from a spec that says more than import reads back from
    /// them: one mark names them and that spec.
    fn rendered_files(&mut self) {
        let ws = self.ws;
        let mut files: Vec<String> = Vec::new();
        let mut spec: Option<String> = None;
        for (id, _) in ws.kinds.iter() {
            if !self.rendered(*id) {
                continue;
            }
            let text = &ws.sources.get(*id).text;
            if spec.is_none() {
                spec = crate::render::header::rendered_from(text).map(str::to_owned);
            }
            files.push(self.path_of(*id));
        }
        if files.is_empty() {
            return;
        }
        files.sort();
        self.draft.header.push(format!(
            "{} {} rendered by portolan{}: start from that spec if you have it. Import reads back the port chains, not what only the start script's logic holds: tasks, how secrets are made, service healthchecks, `workdir` and `after`",
            files.join(", "),
            if files.len() == 1 { "was" } else { "were" },
            spec.map_or(String::new(), |s| format!(" from {s}")),
        ));
    }

    fn coder(&mut self) {
        let ws = self.ws;
        let project = ws
            .scripts
            .iter()
            .flat_map(|s| &s.compose_up)
            .find_map(|c| c.project.clone());
        self.draft.name = spec_name(project.as_deref().unwrap_or(self.dir_name), "workspace");
        let agents: Vec<String> = ws
            .terraform_modules()
            .flat_map(|m| m.agents())
            .map(|a| a.name.value.clone())
            .collect();
        let agent = ws
            .apps
            .iter()
            .find_map(|a| a.agent.clone())
            .or_else(|| agents.first().cloned());
        if agents.len() > 1 {
            self.draft.header.push(format!(
                "the template has {} agents ({}); a spec has one: its apps are imported onto `{}`",
                agents.len(),
                agents.join(", "),
                agent.as_deref().unwrap_or("main")
            ));
        }
        if let Some(agent) = agent {
            if crate::coder::is_valid_agent_name(&agent)
                && agent.starts_with(|c: char| c.is_ascii_alphabetic())
            {
                self.draft.agent = Some(agent);
            } else {
                self.draft.header.push(format!(
                    "agent `{agent}` is not a name the spec takes (Coder's slug grammar, starting with a letter): the spec's agent is `main`"
                ));
            }
        }
        // Hosts of Coder apps written in the files: the wildcard domain, the scheme, the agent.
        let urls = ws
            .env
            .iter()
            .filter_map(|v| v.url.as_ref())
            .chain(&ws.template_urls);
        let mut in_host = None;
        for url in urls {
            if !matches!(url.target, HostTarget::CoderApp(_)) {
                continue;
            }
            if let Some((_, domain)) = url.host.split_once('.') {
                let known = !domain.contains(['$', '{', '}', crate::coder::UNKNOWN]);
                if known
                    && self.draft.wildcard_domain.is_none()
                    && crate::spec::grammar::is_dns_name(domain)
                {
                    self.draft.wildcard_domain = Some(domain.to_ascii_lowercase());
                }
            }
            if self.draft.scheme.is_none() && matches!(url.scheme.as_str(), "http" | "https") {
                self.draft.scheme = Some(url.scheme.clone());
            }
            in_host = Some(in_host.unwrap_or(false) || url.agent.is_some());
        }
        for host in ws.scripts.iter().flat_map(|s| &s.urls) {
            if let Some(h) = &host.coder_host {
                in_host = Some(in_host.unwrap_or(false) || h.agent.is_some());
            }
        }
        self.draft.agent_in_host = in_host;
        if self.draft.wildcard_domain.is_none() {
            // A variable of the template that holds it (`variable "wildcard_domain"`).
            for block in ws.terraform_modules().flat_map(|m| m.blocks()) {
                if block.kind.value != "variable" {
                    continue;
                }
                let named = block
                    .labels
                    .first()
                    .is_some_and(|l| l.value.contains("wildcard"));
                let default = block
                    .attribute("default")
                    .and_then(|a| crate::model::build::value_text(&a.value.value));
                if let (true, Some(d)) = (named, default) {
                    let d = d.trim_start_matches("*.").to_ascii_lowercase();
                    if crate::spec::grammar::is_dns_name(&d) {
                        self.draft.wildcard_domain = Some(d);
                        break;
                    }
                }
            }
        }
    }

    fn taken_services(&self) -> BTreeSet<String> {
        self.draft.services.iter().map(|s| s.name.clone()).collect()
    }

    fn compose_services(&mut self) {
        let ws = self.ws;
        let mut files = Vec::new();
        for (file, compose) in &ws.compose_files {
            if compose.services.is_empty() {
                continue;
            }
            files.push(*file);
            for cs in &compose.services {
                let model = ws
                    .services
                    .iter()
                    .position(|s| s.file == *file && s.name == cs.name);
                self.compose_service(cs, model, *file);
            }
        }
        if let Some(first) = files.first() {
            let path = self.path_of(*first);
            if path != crate::spec::DEFAULT_COMPOSE_FILE {
                self.draft.compose_file = Some(path);
            }
        }
        if files.len() > 1 {
            let names: Vec<String> = files.iter().map(|f| self.path_of(*f)).collect();
            self.draft.header.push(format!(
                "compose files {}: a spec renders one, so all their services are in `{}`",
                names.join(", "),
                names[0]
            ));
        }
        // depends_on only between services written.
        let written: BTreeSet<String> = self
            .draft
            .services
            .iter()
            .filter(|s| s.image.is_some())
            .map(|s| s.name.clone())
            .collect();
        for s in &mut self.draft.services {
            let (keep, gone): (Vec<String>, Vec<String>) =
                s.depends_on.drain(..).partition(|d| written.contains(d));
            s.depends_on = keep;
            for d in gone {
                s.marks.push(format!(
                    "depends_on `{d}`: no such compose service is imported"
                ));
            }
        }
    }

    fn compose_service(
        &mut self,
        cs: &ComposeService,
        model: Option<usize>,
        file: crate::source::FileId,
    ) {
        let ws = self.ws;
        let name = unique(spec_name(&cs.name, "service"), &self.taken_services());
        let mut s = ServiceDraft {
            name: name.clone(),
            model,
            ..ServiceDraft::default()
        };
        if name != cs.name {
            s.marks.push(format!(
                "named `{}` in the compose file; the spec's service names are lowercase letters, digits, `-` and `_`",
                cs.name
            ));
        }
        match &cs.image {
            Some(image) if !image.value.trim().is_empty() => {
                s.image = Some(compose_text(image));
                if let Some(raw) = &image.raw {
                    s.marks
                        .push(format!("image written `{raw}`; imported as its value"));
                }
            }
            _ => s.marks.push(
                "has no `image` (built from `build:`?): the spec's compose services run an image"
                    .to_owned(),
            ),
        }
        if let Some(c) = &cs.container_name {
            let v = c.value.clone();
            let ok = v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            let others = self
                .draft
                .services
                .iter()
                .any(|o| o.container_name.as_deref() == Some(&v));
            if ok && !others {
                s.container_name = Some(v);
            } else {
                s.marks
                    .push(format!("container_name `{v}` is not imported"));
            }
        }
        let command = |line: &CommandLine| match line {
            CommandLine::Text(t) => (Some(t.value.clone()), None),
            CommandLine::Args(args) => (None, Some(args.iter().map(compose_text).collect())),
        };
        if let Some(line) = &cs.command {
            (s.command_shell, s.command) = command(line);
        }
        if let Some(line) = &cs.entrypoint {
            (s.entrypoint_shell, s.entrypoint) = command(line);
        }
        if let Some(mode) = &cs.network_mode {
            s.marks.push(format!(
                "network_mode `{}` is not expressible: the spec's services publish their ports",
                mode.value
            ));
        }
        for env_file in &cs.env_files {
            s.marks.push(format!(
                "env_file `{}` is not expressible: list its keys under env",
                env_file.path.value
            ));
        }
        // Ports: every mapping with a known host port.
        let mut names = BTreeSet::new();
        if let Some(i) = model {
            for p in &ws.services[i].published {
                let Some(host) = p.host else {
                    s.marks.push(format!(
                        "port {} is published on a port Docker picks: not expressible",
                        p.container.start
                    ));
                    continue;
                };
                if !host.is_single() || !p.container.is_single() {
                    s.marks.push(format!(
                        "port range {}-{}:{}-{} is not expressible: name each port",
                        host.start, host.end, p.container.start, p.container.end
                    ));
                    continue;
                }
                let container = p.container.start;
                if host.start == 0 || container == 0 {
                    s.marks.push(format!(
                        "port mapping {}:{container} is not a port",
                        host.start
                    ));
                    continue;
                }
                if let Some(owner) = self.by_host_port.get(&host.start) {
                    s.marks.push(format!(
                        "localhost port {} is already `{owner}`'s: {}:{container} not imported",
                        host.start, host.start
                    ));
                    continue;
                }
                let listener = ws
                    .listeners_at(Place::Container(i), container)
                    .next()
                    .map(|l| l.name.clone());
                let base = listener.map_or_else(|| format!("p{container}"), |n| spec_name(&n, "p"));
                let port_name = unique(base, &names);
                names.insert(port_name.clone());
                self.by_host_port
                    .insert(host.start, format!("{name}.{port_name}"));
                s.ports.push(Port {
                    name: port_name,
                    container,
                    host: host.start,
                });
            }
            if !ws.services[i].listeners_known && !s.ports.is_empty() && s.image.is_some() {
                s.marks.push(format!(
                    "portolan does not know what `{}` listens on: its ports are the ones the compose file publishes",
                    s.image.as_deref().unwrap_or_default()
                ));
            }
            if ws.services[i].network_mode_host {
                s.marks.push(
                    "shares the host's network: its listeners are on the workspace's localhost"
                        .to_owned(),
                );
            }
        }
        for v in &cs.volumes {
            let source = v.source.as_ref().map(compose_text);
            let target = v.target.value.clone();
            let ro = if v.read_only { ":ro" } else { "" };
            match (&v.kind, source) {
                (MountKind::Bind | MountKind::Volume, Some(source)) => {
                    let compose = self.path_of(file);
                    if v.kind == MountKind::Bind && source.starts_with('.') && compose.contains('/')
                    {
                        s.marks.push(format!(
                            "bind mount {source} was relative to {compose}'s folder; in the spec it is relative to the project folder"
                        ));
                    }
                    s.volumes.push(format!("{source}:{target}{ro}"))
                }
                _ => s.marks.push(format!(
                    "volume at {target} (anonymous, tmpfs or another type) is not expressible"
                )),
            }
        }
        s.depends_on = cs
            .depends_on
            .iter()
            .map(|d| spec_name(&d.service, "service"))
            .collect();
        if let Some(h) = &cs.healthcheck {
            let test = match &h.test {
                Some(CommandLine::Text(t)) => Some(t.value.clone()),
                Some(CommandLine::Args(args)) => {
                    let words: Vec<&str> = args.iter().map(|a| a.value.as_str()).collect();
                    match words.split_first() {
                        Some((&"CMD-SHELL", rest)) => Some(rest.join(" ")),
                        Some((&"CMD", rest)) => Some(
                            rest.iter()
                                .map(|w| crate::render::value::sh_word(w))
                                .collect::<Vec<_>>()
                                .join(" "),
                        ),
                        _ => None,
                    }
                }
                None => None,
            };
            match test.filter(|t| !h.disabled && !t.trim().is_empty()) {
                Some(t) => s.health_command = Some(t),
                None if !h.disabled => s
                    .marks
                    .push("healthcheck without a test: not imported".to_owned()),
                None => {}
            }
        }
        self.draft.services.push(s);
    }

    /// Processes the scripts start whose program and port are known: `run` services.
    fn processes(&mut self) {
        let ws = self.ws;
        for script in &ws.scripts {
            if script.place != Place::Workspace {
                continue;
            }
            for &command in &script.started {
                let listeners: Vec<&crate::model::Listener> = ws
                    .distinct_listeners()
                    .into_iter()
                    .filter(|l| {
                        l.place == Place::Workspace
                            && l.span.file == command.file
                            && command.start <= l.span.start
                            && l.span.end <= command.end
                    })
                    .collect();
                let Some(first) = listeners.first() else {
                    continue;
                };
                if self
                    .draft
                    .services
                    .iter()
                    .any(|s| s.process == Some(command))
                {
                    continue;
                }
                let name = unique(spec_name(&first.program, "process"), &self.taken_services());
                let written = ws.sources.slice(command).trim();
                // The start script runs it in the background itself.
                let text = written
                    .strip_prefix("nohup ")
                    .unwrap_or(written)
                    .trim_start()
                    .to_owned();
                let mut s = ServiceDraft {
                    name: name.clone(),
                    process: Some(command),
                    ..ServiceDraft::default()
                };
                let in_tf = ws.kind(command.file) == Some(FileKind::Terraform);
                if in_tf && text.contains("${") {
                    s.marks.push(format!(
                        "run comes from a Terraform script in {}: its `${{...}}` were Terraform's; check them",
                        self.path_of(command.file)
                    ));
                }
                if crate::spec::grammar::shell_syntax_error(&text).is_some() {
                    s.marks.push(format!(
                        "started as `{text}`, which the spec cannot run as one command"
                    ));
                    self.draft.services.push(s);
                    continue;
                }
                if !self.rendered(command.file) {
                    s.marks.push(format!(
                        "started by {}: the spec's start script runs it in the project folder; set `workdir` if it ran elsewhere",
                        self.path_of(command.file)
                    ));
                }
                s.script_env = self.script_env_before(command);
                s.run = Some(text);
                let mut names = BTreeSet::new();
                for l in listeners {
                    if let Some(owner) = self.by_host_port.get(&l.port) {
                        s.marks.push(format!(
                            "listens on localhost port {}, already `{owner}`'s: not imported",
                            l.port
                        ));
                        continue;
                    }
                    let port_name = unique(spec_name(&l.name, "p"), &names);
                    names.insert(port_name.clone());
                    self.by_host_port
                        .insert(l.port, format!("{name}.{port_name}"));
                    s.ports.push(Port {
                        name: port_name,
                        container: l.port,
                        host: l.port,
                    });
                }
                self.draft.services.push(s);
            }
        }
        for open in ws
            .open_listeners
            .iter()
            .filter(|o| o.place == Place::Workspace)
        {
            let text = ws.sources.slice(open.span).trim();
            self.draft.header.push(format!(
                "{} in {} listens on a port not known from the files (`{}`): not imported",
                open.program,
                self.path_of(open.span.file),
                text.lines().next().unwrap_or("")
            ));
        }
    }

    fn apps(&mut self) {
        let ws = self.ws;
        let mut slugs = BTreeSet::new();
        for app in &ws.apps {
            let what = match &app.declared_by {
                AppOrigin::Module(label) => {
                    self.draft.other_apps.push(format!(
                        "app {} comes from module `{label}`: keep the module in the template; the spec does not render modules",
                        app.slug
                    ));
                    continue;
                }
                AppOrigin::Resource(name) => name.clone(),
                AppOrigin::Spec => continue,
            };
            if app.command || app.external || app.url.is_none() {
                self.draft.other_apps.push(format!(
                    "app {} ({}) opens no port on the agent: keep it in the template",
                    app.slug,
                    if app.command {
                        "a command app"
                    } else {
                        "an external link"
                    }
                ));
                continue;
            }
            if !crate::coder::is_valid_slug(&app.slug) || slugs.contains(&app.slug) {
                self.draft.other_apps.push(format!(
                    "app `{}`: not a slug the spec takes, or repeated",
                    app.slug
                ));
                continue;
            }
            slugs.insert(app.slug.clone());
            let mut draft = AppDraft {
                slug: app.slug.clone(),
                // Another value is marked below.
                share: app.share.name().unwrap_or("owner"),
                subdomain: app.subdomain,
                hidden: app.hidden,
                ..AppDraft::default()
            };
            if app.share == crate::coder::Share::Other {
                draft
                    .marks
                    .push("its `share` is not known statically: imported as `owner`".to_owned());
            }
            if app.repeated {
                draft
                    .marks
                    .push("created once per count/for_each instance: imported once".to_owned());
            }
            let url = app.url.as_ref();
            match url.and_then(|u| u.local_port().map(|p| (u, p))) {
                Some((url, port)) => {
                    if !matches!(url.path.as_str(), "" | "/") {
                        draft.marks.push(format!(
                            "its url has the path {}, which the spec does not render",
                            url.path
                        ));
                    }
                    match self.served_target(port, app.netns) {
                        Some((target, answers)) => {
                            if !answers {
                                draft.marks.push(format!(
                                    "nothing is known to listen behind localhost:{port}, which `{target}` publishes: imported as it is; `portolan render` and `check` report it"
                                ));
                            }
                            draft.target = Some(target);
                        }
                        None => draft.marks.push(format!(
                            "its url {} reaches nothing the spec can render (no imported compose service or process serves localhost:{port})",
                            url.text
                        )),
                    }
                }
                None => draft.marks.push(format!(
                    "its url {} is not on the agent's localhost",
                    url.map_or("?", |u| u.text.as_str())
                )),
            }
            // The attributes the model does not keep: from the template's block.
            if let Some(block) = ws
                .terraform_modules()
                .flat_map(|m| m.resources("coder_app"))
                .find(|b| b.labels.get(1).is_some_and(|l| l.value == what))
            {
                let text = |name: &str| {
                    block
                        .attribute(name)
                        .and_then(|a| crate::model::build::value_text(&a.value.value))
                };
                draft.display_name = text("display_name").filter(|t| !t.contains("${"));
                draft.icon = text("icon").filter(|t| !t.contains("${"));
                draft.group = text("group").filter(|t| !t.contains("${"));
                draft.order = text("order").and_then(|o| o.parse().ok());
                draft.open_in =
                    text("open_in").filter(|o| matches!(o.as_str(), "tab" | "slim-window"));
                if block.attribute("tooltip").is_some() {
                    draft
                        .marks
                        .push("its `tooltip` is not a field of the spec: not imported".to_owned());
                }
            }
            if let Some(h) = &app.healthcheck {
                if h.local_port().is_some()
                    && (h.path.is_empty() || crate::spec::grammar::is_url_path(&h.path))
                {
                    draft.healthcheck = Some(if h.path.is_empty() {
                        "/".to_owned()
                    } else {
                        h.path.clone()
                    });
                } else {
                    draft
                        .marks
                        .push(format!("healthcheck url {} is not imported", h.text));
                }
            }
            if let Some(t) = &draft.target {
                if self.app_targets.contains_key(t) {
                    draft
                        .marks
                        .push(format!("opens `{t}`, as another app does"));
                } else {
                    self.app_targets.insert(t.clone(), app.slug.clone());
                }
                self.slug_targets.insert(app.slug.clone(), t.clone());
            }
            self.draft.apps.push(draft);
        }
    }

    /// The `service.port` that serves `localhost:P` as the model walks it.
    fn served_target(
        &self,
        port: u16,
        netns: Option<crate::model::netns::NetnsId>,
    ) -> Option<(String, bool)> {
        // What is known to answer first; else a compose mapping behind which nothing is known
        // to listen: `false` when the container's listeners are all known (then nothing
        // answers, and check says so), `true` for an image portolan does not know.
        let served = self.ws.served_behind_local_port_in(port, netns);
        let all = self.ws.behind_local_port(port);
        let known = served.hops.iter().map(|h| (h, true));
        let mapped = all.hops.iter().filter_map(|h| match h {
            Hop::Published { service, .. } => {
                Some((h, !self.ws.services[*service].listeners_known))
            }
            Hop::Process(_) => None,
        });
        for (hop, answers) in known.chain(mapped) {
            match hop {
                Hop::Published { service, .. } => {
                    let Some(draft) = self
                        .draft
                        .services
                        .iter()
                        .find(|s| s.model == Some(*service) && s.image.is_some())
                    else {
                        continue;
                    };
                    if let Some(p) = draft.ports.iter().find(|p| p.host == port) {
                        return Some((format!("{}.{}", draft.name, p.name), answers));
                    }
                }
                Hop::Process(l) => {
                    for s in self.draft.services.iter().filter(|s| s.run.is_some()) {
                        let inside = s.process.is_some_and(|c| {
                            c.file == l.span.file && c.start <= l.span.start && l.span.end <= c.end
                        });
                        if let (true, Some(p)) = (inside, s.ports.iter().find(|p| p.host == port)) {
                            return Some((format!("{}.{}", s.name, p.name), answers));
                        }
                    }
                }
            }
        }
        None
    }

    fn service_env(&mut self) {
        let ws = self.ws;
        let mut all = Vec::new();
        let services: Vec<(usize, usize)> = self
            .draft
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| s.image.is_some())
            .filter_map(|(k, s)| Some((k, s.model?)))
            .collect();
        for (k, i) in services {
            let compose_file = ws.services[i].file;
            let mut entries = Vec::new();
            for var in ws.env.iter().filter(|v| v.scope == EnvScope::Compose(i)) {
                entries.push(self.entry(var, true, compose_file));
            }
            all.push((k, entries));
        }
        // A process: the URLs its script sets before starting it, each with a note.
        let processes: Vec<(usize, Vec<usize>)> = self
            .draft
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| s.run.is_some() && !s.script_env.is_empty())
            .map(|(k, s)| (k, s.script_env.clone()))
            .collect();
        for (k, vars) in processes {
            let mut entries = Vec::new();
            for v in vars {
                let var = &ws.env[v];
                let file = var.name_span.file;
                let mut entry = self.entry(var, false, file);
                if let Entry::Set(_, value) = &mut entry {
                    let set = format!(
                        "set by {} before it starts this: imported as the process's env (check that the script exported it)",
                        self.path_of(file)
                    );
                    value.note = Some(match value.note.take() {
                        Some(note) => format!("{set}; {note}"),
                        None => set,
                    });
                }
                entries.push(entry);
            }
            all.push((k, entries));
        }
        for (k, entries) in all {
            self.draft.services[k].env = entries;
        }
    }

    /// The env values holding a URL that a hand-written script assigns before `command` (not
    /// the lines of an env file it writes), the last of each name, in script order.
    fn script_env_before(&self, command: crate::source::Span) -> Vec<usize> {
        let ws = self.ws;
        if self.rendered(command.file) {
            return Vec::new();
        }
        let writes: Vec<crate::source::Span> =
            ws.env_texts().iter().filter_map(|t| t.written_by).collect();
        let mut out: Vec<usize> = Vec::new();
        for (i, var) in ws.env.iter().enumerate() {
            let at = var.name_span;
            let in_write = writes
                .iter()
                .any(|w| w.file == at.file && w.start <= at.start && at.end <= w.end);
            if var.scope != EnvScope::Script
                || at.file != command.file
                || at.end > command.start
                || var.url.is_none()
                || in_write
            {
                continue;
            }
            out.retain(|&o| ws.env[o].name != var.name);
            out.push(i);
        }
        out
    }

    fn env_files(&mut self) {
        let ws = self.ws;
        let mut seen = BTreeSet::new();
        for text in ws.env_texts() {
            let path = match text.written_by {
                None => self.path_of(text.file),
                Some(span) => match ws.written_files.iter().find(|w| w.span == span) {
                    Some(w) if w.exact => w.path.to_string_lossy().replace('\\', "/"),
                    Some(w) => w.name.clone(),
                    None => continue,
                },
            };
            if !seen.insert(path.clone()) {
                continue;
            }
            let mut marks = Vec::new();
            if let Some(span) = text.written_by {
                marks.push(format!(
                    "written by {} at workspace start; the start script writes it now",
                    self.path_of(span.file)
                ));
            }
            let first = path.split('/').next().unwrap_or(&path);
            let reserved = [
                "docker-compose.yml",
                "start-workspace.sh",
                "coder-apps.tf",
                "main.tf",
                ".env",
                ".portolan",
                ".git",
            ]
            .contains(&first)
                || path.starts_with(".portolan")
                || path.starts_with("../")
                || path.starts_with('/')
                || !path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-+@".contains(c));
            if reserved {
                self.draft.header.push(format!(
                    "env file {path} is not imported: {}",
                    if path == ".env" {
                        "`.env` is compose's, which the start script writes; its values are read into the compose services above"
                    } else {
                        "its path is not one the spec writes (inside the project folder, letters, digits and `/._-+@`)"
                    }
                ));
                continue;
            }
            let mut entries = Vec::new();
            let mut keys = BTreeSet::new();
            for entry in &text.env.entries {
                let Some(var) = ws
                    .env
                    .iter()
                    .find(|v| v.name_span == entry.key_span && v.name == entry.key)
                else {
                    continue;
                };
                if !keys.insert(var.name.clone()) {
                    entries.push(Entry::Dropped(
                        var.name.clone(),
                        "set twice: the first is kept".to_owned(),
                    ));
                    continue;
                }
                entries.push(self.entry(var, false, text.file));
            }
            self.draft.env_files.push((path, entries, marks));
        }
    }

    /// One env value as the spec writes it.
    fn entry(&mut self, var: &EnvVar, compose: bool, file: crate::source::FileId) -> Entry {
        let name = var.name.clone();
        if !crate::coder::is_valid_env_name(&name) {
            return Entry::Dropped(name, "not a variable name the spec takes".to_owned());
        }
        let kb = &self.ws.knowledge;
        let kind = kb.env_role(&name).map(|r| r.kind);
        let value = var.value.clone();
        let interpolated = var.interpolates();
        let text = value.clone().unwrap_or_default();
        // Secrets: never copied. A value that is one reference to a secret-looking variable
        // (`${POSTGRES_PASSWORD:?...}`) is that secret; a secret-looking value is its own.
        let refs = var.interpolated();
        let whole = |x: &str| {
            let raw = var.raw.trim().trim_matches(['"', '\'']);
            raw == format!("${x}")
                || (raw.starts_with(&format!("${{{x}"))
                    && raw.ends_with('}')
                    && raw.matches("${").count() == 1)
        };
        let looks_secret = |x: &str| {
            matches!(kb.env_role(x).map(|r| r.kind), Some(EnvKind::Secret))
                || secret_name(x)
                || self.draft.secrets.iter().any(|(n, _)| n == x)
        };
        let known_secret = matches!(kind, Some(EnvKind::Secret));
        let deployment = matches!(kind, Some(EnvKind::DeploymentSecret));
        let long = text.chars().count() >= MIN_SECRET_LEN;
        let secret = match refs.as_slice() {
            [x] if interpolated && whole(x) && looks_secret(x) => Some(x.clone()),
            _ if known_secret && (!text.is_empty() || interpolated) => Some(name.clone()),
            _ if secret_name(&name) && (long || interpolated) => Some(name.clone()),
            _ if secret_name(&name) && text.is_empty() && self.rendered(file) => Some(name.clone()),
            _ => None,
        };
        if deployment {
            return Entry::Dropped(
                name,
                "a deployment secret (`npx convex env set`): not imported, and its value not copied".to_owned(),
            );
        }
        if let Some(secret) = secret {
            if crate::spec::grammar::reserved_secret_name(&secret).is_some()
                || !crate::coder::is_valid_env_name(&secret)
            {
                return Entry::Dropped(name, "looks like a secret, under a name the start script cannot export: not imported, its value not copied".to_owned());
            }
            if !interpolated && text.len() >= 4 {
                self.secret_values.push((text.clone(), secret.clone()));
            }
            if !self.draft.secrets.iter().any(|(n, _)| *n == secret) {
                let why = if secret == name {
                    format!(
                        "the value of {name} in {} looks like a secret and is not copied",
                        self.path_of(file)
                    )
                } else {
                    format!(
                        "{name} in {} takes it from ${{{secret}}}",
                        self.path_of(file)
                    )
                };
                self.draft.secrets.push((
                    secret.clone(),
                    format!(
                        "{secret}: {why}; the start script generates one at first start (set `generate` to what the program needs)"
                    ),
                ));
            }
            return Entry::Set(
                name,
                Value {
                    text: format!("${{secret:{secret}}}"),
                    note: None,
                },
            );
        }
        // `${ORIGIN_SLUG:-http://localhost:P}`: the app's origin, as portolan's start script
        // names it.
        if let [x] = refs.as_slice() {
            let app = self
                .slug_targets
                .iter()
                .find(|(slug, _)| crate::render::value::origin_var(slug) == *x);
            if let (true, Some((_, target))) = (whole(x), app) {
                return Entry::Set(
                    name,
                    Value {
                        text: format!("${{origin:{target}}}"),
                        note: None,
                    },
                );
            }
        }
        // A Coder app's host built from the workspace's names when the script runs.
        if let (None, Some(url)) = (&value, &var.url) {
            let target = url.slug().and_then(|slug| self.slug_targets.get(slug));
            if let (Some(target), "" | "/") = (target, url.path.as_str()) {
                return Entry::Set(
                    name,
                    Value {
                        text: format!("${{origin:{target}}}"),
                        note: Some(format!("written `{}`", var.raw.trim())),
                    },
                );
            }
        }
        let Some(value) = value else {
            return Entry::Dropped(
                name,
                format!(
                    "its value `{}` is known only when it runs: not imported",
                    var.raw.trim()
                ),
            );
        };
        // Browsers open it: a public origin by the knowledge, a browser variable, or a name that
        // says so (`S3_PUBLIC_URL`, `APP_ORIGIN`).
        let upper = name.to_ascii_uppercase();
        let browser = matches!(kind, Some(EnvKind::PublicOrigin))
            || kb.is_browser_var(&name)
            || upper.contains("PUBLIC")
            || upper.ends_with("_ORIGIN");
        let quiet = self.rendered(file);
        if let Some(url) = &var.url {
            let origin = url.origin();
            let found = value.find(&origin);
            let reference = match (&url.target, found) {
                (HostTarget::CoderApp(slug), Some(_)) => self
                    .slug_targets
                    .get(slug)
                    .map(|t| (format!("${{origin:{t}}}"), None)),
                (HostTarget::CoderPort { port, .. }, Some(_)) => self
                    .by_host_port
                    .get(port)
                    .filter(|t| self.app_targets.contains_key(*t))
                    .map(|t| (format!("${{origin:{t}}}"), None)),
                // Inside a container, localhost is its own: kept as written, unless the value
                // is the outside-Coder fallback of an interpolation.
                (HostTarget::Localhost(_), Some(_)) if compose && !interpolated => None,
                // `http://minio:9000` on the compose network.
                (HostTarget::Other(host), Some(_)) if compose => self
                    .internal_target(host, url.port)
                    .map(|t| (format!("${{internal_url:{t}}}"), None)),
                (HostTarget::Localhost(port), Some(_)) => self.by_host_port.get(port).map(|t| {
                    if browser && self.app_targets.contains_key(t) {
                        let note = (!quiet).then(|| {
                            format!(
                                "was {origin}: {name} needs the public origin in a Coder workspace"
                            )
                        });
                        (format!("${{origin:{t}}}"), note)
                    } else {
                        (format!("${{url:{t}}}"), None)
                    }
                }),
                _ => None,
            };
            if let (Some((reference, note)), Some(at)) = (reference, found) {
                let rest = &value[at + origin.len()..];
                let text = format!(
                    "{}{reference}{}",
                    self.literal(&value[..at]),
                    self.literal(rest)
                );
                return Entry::Set(name, Value { text, note });
            }
            if matches!(
                url.target,
                HostTarget::CoderApp(_) | HostTarget::CoderPort { .. }
            ) {
                return Entry::Set(
                    name,
                    Value {
                        text: self.literal(&value),
                        note: Some(format!(
                            "{} names no app the spec renders: kept as written",
                            url.text
                        )),
                    },
                );
            }
        }
        // A server URL on a port of the workspace (`postgres://app:pw@localhost:15432/app`).
        if let Some(url) = &var.service_url {
            let target = match &url.target {
                HostTarget::Localhost(p) if !compose || interpolated => self
                    .by_host_port
                    .get(p)
                    .map(|t| (*p, format!("${{host_port:{t}}}"))),
                HostTarget::Other(host) if compose => url.port.and_then(|p| {
                    self.internal_target(host, Some(p))
                        .map(|t| (p, format!("${{port:{t}}}")))
                }),
                _ => None,
            };
            let written = target.and_then(|(p, reference)| {
                let at = format!("{}:{p}", url.host);
                value
                    .find(&at)
                    .map(|i| (i + url.host.len() + 1, p, reference))
            });
            if let Some((at, port, reference)) = written {
                let end = at + port.to_string().len();
                let text = format!(
                    "{}{reference}{}",
                    self.literal(&value[..at]),
                    self.literal(&value[end..])
                );
                return Entry::Set(name, Value { text, note: None });
            }
        }
        if interpolated && !quiet {
            let raw = var.raw.trim().trim_matches(['"', '\'']);
            // `${X}` compose could not resolve from the files: the workspace's environment.
            let names = var.interpolated();
            let missing = compose
                && self.ws.compose_files.iter().any(|(f, c)| {
                    *f == file
                        && c.missing_variables.iter().any(|m| {
                            m.span.start >= var.value_span.start && m.span.end <= var.value_span.end
                        })
                });
            if let ([single], true) = (names.as_slice(), missing) {
                if crate::spec::grammar::reserved_pass_through_name(single).is_none()
                    && matches!(raw, r if r == format!("${{{single}}}") || r == format!("${single}"))
                {
                    return Entry::Set(
                        name,
                        Value {
                            text: format!("${{env:{single}}}"),
                            note: None,
                        },
                    );
                }
            }
            return Entry::Set(
                name,
                Value {
                    text: self.literal(&value),
                    note: Some(format!("written `{raw}`; imported as its value")),
                },
            );
        }
        Entry::Set(
            name,
            Value {
                text: self.literal(&value),
                note: None,
            },
        )
    }

    /// The `service.port` of a compose service named `host` whose container port is `port`.
    fn internal_target(&self, host: &str, port: Option<u16>) -> Option<String> {
        let port = port?;
        let service = self
            .draft
            .services
            .iter()
            .find(|s| s.image.is_some() && s.name == host)?;
        let p = service.ports.iter().find(|p| p.container == port)?;
        Some(format!("{}.{}", service.name, p.name))
    }

    /// A literal as a spec value, with the secrets' values in it as their references.
    fn literal(&self, text: &str) -> String {
        let mut out = literal(text);
        for (value, name) in &self.secret_values {
            out = out.replace(&literal(value), &format!("${{secret:{name}}}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::build::from_texts;

    fn imported(files: &[(&str, &str, FileKind)]) -> Imported {
        let ws = from_texts(files);
        import(&ws, "project", &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn spec(text: &str) -> crate::spec::Spec {
        crate::spec::load(Path::new("portolan.yaml"), text, &mut SourceMap::new())
            .unwrap_or_else(|_| panic!("{text}"))
            .spec
    }

    const APP: &str = "resource \"coder_app\" \"api\" {\n  agent_id = coder_agent.main.id\n  slug = \"api\"\n  url = \"http://localhost:8080\"\n}\nresource \"coder_agent\" \"main\" {\n  os = \"linux\"\n  arch = \"amd64\"\n}\n";

    #[test]
    fn a_secret_is_never_copied_and_its_value_inside_a_url_becomes_its_reference() {
        let compose = "services:\n  db:\n    image: postgres:16\n    ports: [\"15432:5432\"]\n    environment:\n      POSTGRES_PASSWORD: a-long-db-password-1234\n  api:\n    image: ghcr.io/example/api:1\n    ports: [\"8080:3000\"]\n    environment:\n      DATABASE_URL: postgres://app:a-long-db-password-1234@db:5432/app\n";
        let out = imported(&[
            ("main.tf", APP, FileKind::Terraform),
            ("docker-compose.yml", compose, FileKind::Compose),
        ]);
        assert!(!out.text.contains("a-long-db-password"), "{}", out.text);
        let spec = spec(&out.text);
        assert!(spec.secrets.contains_key("POSTGRES_PASSWORD"));
        let url = &spec.services["api"].env["DATABASE_URL"].value.0;
        let db_port = spec.services["db"]
            .ports
            .keys()
            .next()
            .unwrap()
            .value
            .clone();
        assert_eq!(
            url,
            &format!("postgres://app:${{secret:POSTGRES_PASSWORD}}@db:${{port:db.{db_port}}}/app")
        );
        // The app on an image portolan does not know reaches its published port.
        assert_eq!(spec.apps["api"].target.as_str(), "api.p3000");
    }

    #[test]
    fn an_unset_compose_variable_is_passed_through_and_a_literal_brace_stays_literal() {
        let compose = "services:\n  api:\n    image: ghcr.io/example/api:1\n    environment:\n      POSTGRES_URL: ${POSTGRES_URL}\n      TEMPLATE: \"$${NAME}\"\n";
        let out = imported(&[("docker-compose.yml", compose, FileKind::Compose)]);
        let spec = spec(&out.text);
        let env = &spec.services["api"].env;
        assert_eq!(env["POSTGRES_URL"].value.0, "${env:POSTGRES_URL}");
        // `$${` in the spec is the literal `${` compose gave the container.
        assert!(out.text.contains("\"$${NAME}\""), "{}", out.text);
    }

    #[test]
    fn what_the_spec_cannot_say_is_marked_and_the_spec_still_loads() {
        let tf = "resource \"coder_agent\" \"main\" {\n  os = \"linux\"\n  arch = \"amd64\"\n}\nmodule \"code-server\" {\n  source = \"registry.coder.com/coder/code-server/coder\"\n  version = \"1.0.0\"\n  agent_id = coder_agent.main.id\n}\nresource \"coder_app\" \"ghost\" {\n  agent_id = coder_agent.main.id\n  slug = \"ghost\"\n  url = \"http://localhost:9999\"\n}\n";
        let compose =
            "services:\n  Web.App:\n    build: .\n    ports: [\"3000\"]\n    network_mode: host\n";
        let out = imported(&[
            ("main.tf", tf, FileKind::Terraform),
            ("docker-compose.yml", compose, FileKind::Compose),
        ]);
        let spec = spec(&out.text);
        assert!(
            spec.apps.is_empty() && spec.services.is_empty(),
            "{}",
            out.text
        );
        for mark in [
            "app code-server comes from module `code-server`",
            "app ghost: its url http://localhost:9999 reaches nothing",
            "service web-app: named `Web.App` in the compose file",
            "service web-app: has no `image`",
            "service web-app: network_mode `host` is not expressible",
        ] {
            assert!(
                out.marks.iter().any(|m| m.starts_with(mark)),
                "{mark}: {:#?}",
                out.marks
            );
        }
        // Each mark stands in the text, where it belongs.
        assert!(
            out.text.contains("\napps: {}\n  # app code-server comes"),
            "{}",
            out.text
        );
        assert!(
            out.text.contains("  # web-app: not imported"),
            "{}",
            out.text
        );
    }

    /// A value the spec's grammar refuses, which import does not foresee, is commented out
    /// with the loader's reason, and marked; the rest is imported.
    #[test]
    fn a_value_the_spec_refuses_is_commented_out_with_the_reason() {
        let env = "MSG=\"it's \\$5\"\nOK=1\n";
        let out = imported(&[("app.env", env, FileKind::EnvFile)]);
        let spec = spec(&out.text);
        let file = &spec.env_files["app.env"];
        assert!(
            file.contains_key("OK") && !file.contains_key("MSG"),
            "{}",
            out.text
        );
        assert!(
            out.text
                .contains("    # not imported (`MSG` cannot be written to an env file"),
            "{}",
            out.text
        );
        assert!(out
            .marks
            .iter()
            .any(|m| m.starts_with("MSG: not imported: ")));
    }

    /// A compose file in a subfolder keeps its path; its relative bind mounts are marked,
    /// since the spec's are relative to the project folder.
    #[test]
    fn a_compose_file_in_a_subfolder_keeps_its_path_and_marks_relative_mounts() {
        let compose = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ./data:/var/lib/postgresql/data\n      - pg:/backup\n";
        let out = imported(&[("infra/compose.yml", compose, FileKind::Compose)]);
        let spec = spec(&out.text);
        assert_eq!(spec.compose_file(), "infra/compose.yml");
        assert_eq!(spec.services["db"].volumes.len(), 2);
        assert_eq!(
            out.marks,
            ["service db: bind mount ./data was relative to infra/compose.yml's folder; in the spec it is relative to the project folder"]
        );
    }

    #[test]
    fn portolans_own_origin_variables_read_back_as_origins() {
        let tf = "resource \"coder_agent\" \"main\" {\n  os = \"linux\"\n  arch = \"amd64\"\n}\nresource \"coder_app\" \"site\" {\n  agent_id = coder_agent.main.id\n  slug = \"convex-site\"\n  url = \"http://localhost:3211\"\n}\n";
        let compose = "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports: [\"3211:3211\"]\n    environment:\n      CONVEX_SITE_ORIGIN: \"${ORIGIN_CONVEX_SITE:-http://localhost:3211}\"\n      INSTANCE_SECRET: \"${INSTANCE_SECRET:?run the start script}\"\n";
        let out = imported(&[
            ("main.tf", tf, FileKind::Terraform),
            ("docker-compose.yml", compose, FileKind::Compose),
        ]);
        let spec = spec(&out.text);
        let env = &spec.services["backend"].env;
        assert_eq!(env["CONVEX_SITE_ORIGIN"].value.0, "${origin:backend.site}");
        assert_eq!(env["INSTANCE_SECRET"].value.0, "${secret:INSTANCE_SECRET}");
    }
}
