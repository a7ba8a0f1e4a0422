//! Building the [`Workspace`] from files: parse each, then join the facts into port chains.
//!
//! Order matters only where one file explains another: the `.env` beside a compose file feeds
//! its interpolation; scripts mounted into a container listen inside that container; a
//! Terraform `templatefile()` target is a script even without a `.sh` name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::listen::{self, Arg, CommandLine};
use super::url::UrlFact;
use super::{
    App, AppOrigin, CoderHost, EnvScope, EnvVar, FileKind, Listener, ListenerSource, ModuleUse,
    Place, PublishedPort, Script, ScriptOrigin, ScriptUrl, Service, Share, Workspace, WrittenFile,
};
use crate::knowledge::{ContainerForm, Knowledge};
use crate::parse::compose;
use crate::parse::dotenv;
use crate::parse::shell::{self as script, Lookup, ScriptFacts, Word};
use crate::parse::terraform::{self, ContainerRuntime, TerraformModule, Value};
use crate::render::header::MANAGED_WRITER;
use crate::source::{FileId, Span};

/// One file to read: its path as reports show it, its text and its kind.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub text: String,
    pub kind: FileKind,
}

/// Reads every file and builds the model.
pub fn build(files: Vec<InputFile>, knowledge: impl Into<std::sync::Arc<Knowledge>>) -> Workspace {
    let mut ws = Workspace {
        knowledge: knowledge.into(),
        ..Workspace::default()
    };
    for file in files {
        let id = ws.sources.add(file.path, file.text);
        ws.kinds.push((id, file.kind));
    }
    read_env_files(&mut ws);
    read_terraform(&mut ws);
    read_compose(&mut ws);
    read_scripts(&mut ws);
    listeners_from_modules(&mut ws);
    ws
}

fn files_of(ws: &Workspace, kind: FileKind) -> Vec<FileId> {
    ws.kinds
        .iter()
        .filter(|(_, k)| *k == kind)
        .map(|(id, _)| *id)
        .collect()
}

fn read_env_files(ws: &mut Workspace) {
    for id in files_of(ws, FileKind::EnvFile) {
        let parsed = dotenv::parse(id, &ws.sources.get(id).text);
        for entry in &parsed.entries {
            ws.env.push(env_var(
                &entry.key,
                entry.key_span,
                Some(entry.value.clone()),
                entry.value.clone(),
                entry.value_span,
                EnvScope::EnvFile,
            ));
        }
        ws.env_texts.push(super::EnvText {
            file: id,
            env: parsed,
            written_by: None,
        });
    }
}

/// An env assignment with the URL in its value, if any.
fn env_var(
    name: &str,
    name_span: Span,
    value: Option<String>,
    raw: String,
    value_span: Span,
    scope: EnvScope,
) -> EnvVar {
    // `KEY==https://...` sets `=https://...`: still read the URL, so role rules see it.
    let url = value
        .as_deref()
        .and_then(|v| UrlFact::parse(v.trim().trim_start_matches('='), value_span))
        .or_else(|| {
            // A script value as written keeps its quotes: `"https://app--${WS}--${OWNER}.x"`.
            let unquoted = raw.trim().trim_matches(['"', '\'']);
            UrlFact::parse(unquoted.trim_start_matches('='), value_span)
        });
    EnvVar {
        name: name.to_owned(),
        name_span,
        value,
        raw,
        value_span,
        scope,
        url,
    }
}

/// The text of a Terraform value as far as it is known: references stay as `${path}`.
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.fract() == 0.0 => Some(format!("{}", *n as i64)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Template(parts) => Some(
            parts
                .iter()
                .map(|p| match p {
                    terraform::TemplatePart::Literal { text, .. } => text.clone(),
                    terraform::TemplatePart::Reference(r) => format!("${{{}}}", r.path),
                    terraform::TemplatePart::Unknown { .. } => "${?}".to_owned(),
                })
                .collect(),
        ),
        Value::Reference(r) => Some(format!("${{{}}}", r.path)),
        _ => None,
    }
}

fn read_terraform(ws: &mut Workspace) {
    let ids = files_of(ws, FileKind::Terraform);
    if ids.is_empty() {
        return;
    }
    let parsed: Vec<_> = ids
        .iter()
        .map(|id| terraform::parse(*id, &ws.sources.get(*id).text))
        .collect();
    let module = TerraformModule::new(parsed);
    ws.parse_errors.extend(module.diagnostics().cloned());

    for app in module.apps() {
        let slug_attr = app
            .slug
            .map(|a| (a.value.value.as_str().map(str::to_owned), a.value.span));
        let (slug, slug_span) = match slug_attr {
            Some((Some(slug), span)) => (slug, span),
            _ => continue,
        };
        let text_of = |attr: Option<&terraform::Attribute>| {
            attr.and_then(|a| value_text(&a.value.value).map(|t| (t, a.value.span)))
        };
        let url = text_of(app.url).and_then(|(t, span)| UrlFact::parse(&t, span));
        let healthcheck = app
            .healthcheck
            .as_ref()
            .and_then(|h| text_of(h.url))
            .and_then(|(t, span)| UrlFact::parse(&t, span));
        let share_attr = app
            .share
            .map(|a| (a.value.value.as_str().map(str::to_owned), a.value.span));
        let share = Share::of(share_attr.as_ref().map(|(v, _)| v.as_deref()));
        ws.apps.push(App {
            slug,
            slug_span,
            span: app.block.span,
            declared_by: AppOrigin::Resource(app.name.value.clone()),
            url,
            share,
            share_span: share_attr.map(|(_, span)| span),
            subdomain: app
                .subdomain
                .and_then(|a| a.value.value.as_bool())
                .unwrap_or(false),
            healthcheck,
            hidden: app
                .hidden
                .and_then(|a| a.value.value.as_bool())
                .unwrap_or(false),
            repeated: app.count.is_some() || app.for_each.is_some(),
        });
    }

    // An env assignment written in Terraform: the value as far as it is known.
    let tf_env = |name: &str, name_span: Span, value: &terraform::Spanned<Value>, scope| {
        let text = value_text(&value.value);
        env_var(
            name,
            name_span,
            text.clone(),
            text.unwrap_or_default(),
            value.span,
            scope,
        )
    };
    for agent in module.agents() {
        for var in &agent.env {
            ws.env.push(tf_env(
                &var.name.value,
                var.name.span,
                &var.value,
                EnvScope::AgentEnv,
            ));
        }
    }
    for env in module.envs() {
        let (Some(name), Some(value)) = (env.env_name, env.value) else {
            continue;
        };
        let Some(name_text) = name.value.value.as_str() else {
            continue;
        };
        ws.env.push(tf_env(
            name_text,
            name.value.span,
            &value.value,
            EnvScope::CoderEnv,
        ));
    }
    let runtime_of = |resource_type: &str| {
        let form = ws.knowledge.compute(resource_type)?.containers?;
        Some(match form {
            ContainerForm::Docker => ContainerRuntime::Docker,
            ContainerForm::Kubernetes => ContainerRuntime::Kubernetes,
        })
    };
    for container in module.containers(runtime_of) {
        for var in &container.env {
            ws.env.push(tf_env(
                &var.name.value,
                var.name.span,
                &var.value,
                EnvScope::Container,
            ));
        }
    }
    ws.provider_pin = super::ProviderPin::of(&module);
    ws.template = Some(module);
}

/// Variables for a compose file's interpolation: the `.env` in its folder.
fn dotenv_beside(ws: &Workspace, compose: FileId) -> HashMap<String, String> {
    let dir = ws
        .sources
        .get(compose)
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let wanted = dir.join(".env");
    ws.env_files()
        .find(|t| ws.sources.get(t.file).path == wanted)
        .map(|t| &t.env)
        .map(|env| {
            env.entries
                .iter()
                .map(|e| (e.key.clone(), e.value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn read_compose(ws: &mut Workspace) {
    for id in files_of(ws, FileKind::Compose) {
        let vars = dotenv_beside(ws, id);
        let parsed = compose::parse(id, &ws.sources.get(id).text, &|name| {
            vars.get(name).cloned()
        });
        ws.parse_errors.extend(parsed.diagnostics.iter().cloned());
        let dir = ws
            .sources
            .get(id)
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for service in &parsed.services {
            let index = ws.services.len();
            let host_network = service
                .network_mode
                .as_ref()
                .is_some_and(|m| m.value == "host");
            let place = if host_network {
                Place::Workspace
            } else {
                Place::Container(index)
            };
            for var in &service.environment {
                let (value, raw, span) = match &var.value {
                    Some(v) => (
                        Some(v.value.clone()),
                        v.raw.clone().unwrap_or_else(|| v.value.clone()),
                        v.span,
                    ),
                    None => (None, String::new(), var.name_span),
                };
                ws.env.push(env_var(
                    &var.name,
                    var.name_span,
                    value,
                    raw,
                    span,
                    EnvScope::Compose(index),
                ));
            }
            let env: Vec<(String, Option<String>, Span)> = service
                .environment
                .iter()
                .map(|v| {
                    (
                        v.name.clone(),
                        v.value.as_ref().map(|t| t.value.clone()),
                        v.name_span,
                    )
                })
                .collect();
            let words = |line: &compose::CommandLine| -> Vec<Arg> {
                match line {
                    compose::CommandLine::Args(args) => args
                        .iter()
                        .map(|a| Arg::new(a.value.clone(), a.span))
                        .collect(),
                    compose::CommandLine::Text(t) => listen::split_words(&t.value, t.span, false),
                }
            };
            let entrypoint = service.entrypoint.as_ref().map(words).unwrap_or_default();
            let command = service.command.as_ref().map(words).unwrap_or_default();
            let mut known = false;
            let mut listeners: Vec<Listener> = Vec::new();
            // The image's own program, configured by `command` (its arguments).
            if let Some(image) = &service.image {
                if let Some(specs) = ws.knowledge.image(&image.value) {
                    let program = crate::knowledge::image_repository(&image.value).to_owned();
                    let args: Vec<Arg> = entrypoint.iter().chain(command.iter()).cloned().collect();
                    listeners.extend(listen::listeners_of(
                        specs, &program, image.span, &args, &env, place,
                    ));
                    known = true;
                }
            }
            // Or a program named by the entrypoint or command.
            if !known {
                let words: Vec<Arg> = entrypoint.iter().chain(command.iter()).cloned().collect();
                let (found, complete) = listen::listeners_of_command(
                    &ws.knowledge,
                    &CommandLine {
                        words,
                        env: env.clone(),
                        prefix: Vec::new(),
                    },
                    place,
                );
                listeners.extend(found);
                known = complete;
            }
            ws.listeners.extend(listeners);
            let mounts = service
                .volumes
                .iter()
                .filter(|v| v.is_host_path())
                .filter_map(|v| {
                    let source = v.source.as_ref()?;
                    let path = dir.join(source.value.trim_start_matches("./"));
                    Some((normalize(&path).to_string_lossy().into_owned(), source.span))
                })
                .collect();
            ws.services.push(Service {
                name: service.name.clone(),
                name_span: service.name_span,
                file: id,
                image: service.image.as_ref().map(|i| (i.value.clone(), i.span)),
                published: service
                    .ports
                    .iter()
                    .map(|p| PublishedPort {
                        host: p.host,
                        container: p.container,
                        span: p.span,
                    })
                    .collect(),
                listeners_known: known,
                depends_on: service
                    .depends_on
                    .iter()
                    .map(|d| (d.service.clone(), d.span))
                    .collect(),
                env_files: service
                    .env_files
                    .iter()
                    .map(|e| {
                        let path = dir.join(e.path.value.trim_start_matches("./"));
                        (normalize(&path).to_string_lossy().into_owned(), e.path.span)
                    })
                    .collect(),
                mounts,
                network_mode_host: host_network,
            });
        }
        ws.compose_files.push((id, parsed));
    }
}

/// `a/./b/../c` → `a/c`, `../a` stays `../a`; without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            // `..` past the start stays: `../x` is outside the folder, not `x`.
            std::path::Component::ParentDir => {
                if out.file_name().is_some() {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn read_scripts(ws: &mut Workspace) {
    let mut units: Vec<(FileId, ScriptOrigin, Place, usize, String)> = Vec::new();
    // Script files, and where they run: in a container that mounts them, else in the workspace.
    let mut script_files = files_of(ws, FileKind::Script);
    // templatefile()/file() targets are scripts whatever their names.
    if let Some(module) = &ws.template {
        for target in template_targets(module) {
            if let Some(id) = ws.sources.find(&target) {
                if !script_files.contains(&id) && ws.kind(id) != Some(FileKind::Terraform) {
                    script_files.push(id);
                }
            }
        }
    }
    for id in script_files {
        let path = normalize(&ws.sources.get(id).path)
            .to_string_lossy()
            .into_owned();
        let place = ws
            .services
            .iter()
            .position(|s| {
                s.mounts
                    .iter()
                    .any(|(m, _)| *m == path || m.ends_with(&format!("/{path}")))
            })
            .map(Place::Container)
            .unwrap_or(Place::Workspace);
        units.push((
            id,
            ScriptOrigin::File,
            place,
            0,
            ws.sources.get(id).text.clone(),
        ));
    }
    if let Some(module) = &ws.template {
        for agent in module.agents() {
            if let Some(text) = script_text(agent.startup_script) {
                units.push((
                    text.0,
                    ScriptOrigin::AgentStartup(agent.name.value.clone()),
                    Place::Workspace,
                    text.1,
                    text.2,
                ));
            }
        }
        for script in module.scripts() {
            if let Some(text) = script_text(script.script) {
                units.push((
                    text.0,
                    ScriptOrigin::CoderScript(script.name.value.clone()),
                    Place::Workspace,
                    text.1,
                    text.2,
                ));
            }
        }
    }
    let hcl = hcl_lookup(ws);
    for (file, origin, place, base, text) in units {
        let facts = script::parse_script(&text, file, base);
        // tree-sitter-bash is not bash: what it cannot read may still run, so a warning.
        ws.parse_errors
            .extend(facts.diagnostics.iter().filter(|d| d.is_error()).map(|d| {
                let mut d = d.clone();
                d.severity = crate::diagnostic::Severity::Warning;
                d.message = format!(
                    "{} (portolan's shell parser could not read this; `bash -n` may)",
                    d.message
                );
                d
            }));
        let mut vars: HashMap<String, String> = HashMap::new();
        let evaluate = |word: &Word, vars: &HashMap<String, String>| {
            word.evaluate(&mut |lookup| match lookup {
                Lookup::Variable(name) => vars.get(name).cloned(),
                Lookup::Hcl(expr) => hcl.get(expr).cloned(),
            })
        };
        for assignment in &facts.assignments {
            let value = evaluate(&assignment.value, &vars);
            if let Some(v) = &value {
                vars.insert(assignment.name.clone(), v.clone());
            }
            let raw = ws.sources.slice(assignment.value.span).to_owned();
            ws.env.push(env_var(
                &assignment.name,
                assignment.name_span,
                value,
                raw,
                assignment.value.span,
                EnvScope::Script,
            ));
        }
        for command in &facts.commands {
            let mut words = Vec::new();
            for w in command
                .wrappers
                .iter()
                .chain(std::iter::once(&command.program))
                .chain(command.args.iter())
            {
                words.push(Arg {
                    text: evaluate(w, &vars),
                    span: w.span,
                });
            }
            let prefix: Vec<(String, Option<String>, Span)> = command
                .env
                .iter()
                .map(|a| (a.name.clone(), evaluate(&a.value, &vars), a.value.span))
                .collect();
            // The script's variables, then the command's own prefix (the last one wins).
            let env = vars
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone()), command.span))
                .chain(prefix.iter().cloned())
                .collect();
            let (found, known_program) = listen::listeners_of_command(
                &ws.knowledge,
                &CommandLine { words, env, prefix },
                place,
            );
            // A known program in a script a container runs: its listeners are known.
            if let (true, Place::Container(index)) = (known_program, place) {
                if let Some(service) = ws.services.get_mut(index) {
                    service.listeners_known = true;
                }
            }
            ws.listeners.extend(found);
        }
        // Files the script writes; the env files among them are env text and assignments too.
        let script_dir = (origin == ScriptOrigin::File)
            .then(|| ws.sources.get(file).path.parent().map(Path::to_path_buf))
            .flatten();
        for written in written_files(ws, &facts, file, script_dir.as_deref()) {
            if let (Some(FileKind::EnvFile), Some((text, span))) = (written.kind, &written.content)
            {
                let mut env = dotenv::parse_at(span.file, text, span.start as usize);
                for entry in &env.entries {
                    ws.env.push(env_var(
                        &entry.key,
                        entry.key_span,
                        Some(entry.value.clone()),
                        entry.value.clone(),
                        entry.value_span,
                        EnvScope::Script,
                    ));
                }
                // What the script writes where a problem holds an expansion (`$X`, `$(cmd)`, a
                // backquote) is known only when it runs.
                env.problems
                    .retain(|p| !ws.sources.slice(p.span).contains(['$', '`']));
                ws.env_texts.push(super::EnvText {
                    file: span.file,
                    env,
                    written_by: Some(written.span),
                });
            }
            ws.written_files.push(written);
        }
        let urls = facts
            .urls
            .iter()
            .map(|url| ScriptUrl {
                span: url.span,
                coder_host: url.coder_app().map(|host| CoderHost {
                    slug: host.slug,
                    slug_span: host.slug_span,
                    port: host.port,
                }),
            })
            .collect();
        ws.scripts.push(Script {
            file,
            origin,
            place,
            urls,
        });
    }
}

/// The files a script writes: its redirections and heredocs, and `write_managed PATH`.
/// `script_dir` is the folder of a script file (relative targets land there).
fn written_files(
    ws: &Workspace,
    facts: &ScriptFacts,
    writer: FileId,
    script_dir: Option<&Path>,
) -> Vec<WrittenFile> {
    let redirections = facts.file_writes.iter().map(|w| {
        // Only text whose bytes are the file's bytes, so that spans map one to one: a heredoc
        // body, or an unquoted `echo K=v`.
        let span = w.body.span;
        let body = match w.kind {
            script::WriteKind::Heredoc { .. } => Some(ws.sources.slice(span).to_owned()),
            _ => w.body.literal(),
        };
        let content = body
            .filter(|b| b.len() == span.range().len())
            .map(|b| (b, span));
        let written = ws.sources.slice(w.target.span).to_owned();
        (
            w.span,
            w.target.to_string(),
            written,
            content,
            w.append,
            false,
        )
    });
    let managed = facts
        .commands
        .iter()
        .filter(|c| c.program_name.as_deref() == Some(MANAGED_WRITER))
        .filter_map(|c| {
            let target = c.args.first()?;
            let written = ws.sources.slice(target.span).to_owned();
            Some((c.span, target.to_string(), written, None, false, true))
        });
    redirections
        .chain(managed)
        .map(|(span, target, written, content, append, managed)| {
            let name = written
                .trim_matches(['"', '\''])
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_owned();
            let (path, exact) = landing(&target, script_dir);
            WrittenFile {
                span,
                kind: crate::files::classify(Path::new(&name), None),
                name,
                target,
                path,
                exact,
                content,
                append,
                writer,
                in_script_file: script_dir.is_some(),
                managed,
            }
        })
        .collect()
}

/// Where a write to `target` lands: leading parts made of variables (`$DIR/.env`) are dropped
/// and the rest must match; a static relative target lands in the script file's folder.
fn landing(target: &str, script_dir: Option<&Path>) -> (PathBuf, bool) {
    use std::path::Component;
    let written = Path::new(target);
    let parts: Vec<Component> = written
        .components()
        .filter(|c| matches!(c, Component::Normal(_) | Component::ParentDir))
        .collect();
    let keep = parts
        .iter()
        .rposition(|c| c.as_os_str().to_string_lossy().contains(['$', '{', '}']))
        .map_or(0, |i| i + 1);
    let rest: PathBuf = parts.get(keep..).unwrap_or(&[]).iter().collect();
    let relative = keep == 0 && written.is_relative();
    match script_dir {
        Some(dir) if relative => (normalize(&dir.join(rest)), true),
        _ => (normalize(&rest), false),
    }
}

/// A script held in a Terraform attribute: (file, byte offset of its text, text).
fn script_text(attr: Option<&terraform::Attribute>) -> Option<(FileId, usize, String)> {
    let attr = attr?;
    if let Some(heredoc) = &attr.heredoc {
        let span = heredoc.body.span;
        return Some((span.file, span.start as usize, heredoc.body.value.clone()));
    }
    match &attr.value.value {
        Value::String(s) => Some((
            attr.value.span.file,
            attr.value.span.start as usize,
            s.clone(),
        )),
        _ => None,
    }
}

/// Paths of `templatefile()` / `file()` targets, relative to the module.
fn template_targets(module: &TerraformModule) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for block in module.blocks() {
        for attr in block.all_attributes() {
            if let Some(call) = attr.value.value.as_file_call() {
                if let Some(path) = call.relative_path() {
                    out.push(PathBuf::from(path));
                }
            }
        }
    }
    out
}

/// Values of `local.x` / `var.y` for Terraform interpolations inside script heredocs.
fn hcl_lookup(ws: &Workspace) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let Some(module) = &ws.template else {
        return out;
    };
    for block in module.blocks() {
        match block.kind.value.as_str() {
            "locals" => {
                for attr in &block.attributes {
                    if let Some(text) = value_text(&attr.value.value).filter(|t| !t.contains("${"))
                    {
                        out.insert(format!("local.{}", attr.name.value), text);
                    }
                }
            }
            "variable" => {
                if let (Some(name), Some(default)) = (block.labels.first(), block.value("default"))
                {
                    if let Some(text) = value_text(&default.value).filter(|t| !t.contains("${")) {
                        out.insert(format!("var.{}", name.value), text);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn listeners_from_modules(ws: &mut Workspace) {
    let Some(module) = &ws.template else {
        return;
    };
    let mut listeners = Vec::new();
    let mut modules = Vec::new();
    let mut apps = Vec::new();
    for call in module.modules() {
        let Some(source) = call.source.and_then(|s| s.value.value.as_str()) else {
            continue;
        };
        let Some((name, known)) = ws.knowledge.module(source) else {
            continue;
        };
        let port_input = call.input("port");
        let (port, port_span) = match port_input {
            Some(attr) => match attr.value.value.as_port() {
                Some(port) => (port, attr.value.span),
                None => continue,
            },
            None => (known.port, call.block.span),
        };
        let slug = call
            .input("slug")
            .and_then(|a| a.value.value.as_str().map(|s| (s.to_owned(), a.value.span)))
            .or_else(|| known.slug.clone().map(|s| (s, call.name.span)));
        listeners.push(Listener {
            port,
            place: Place::Workspace,
            program: format!("module \"{}\"", call.name.value),
            name: name.to_owned(),
            role: known.role.clone(),
            source: if port_input.is_some() {
                ListenerSource::Flag("port".to_owned())
            } else {
                ListenerSource::Module(name.to_owned())
            },
            span: port_span,
            health: known.health.clone(),
            http: true,
        });
        if let Some((slug, slug_span)) = &slug {
            let share_attr = call.input("share");
            // A module's share that is not a static string is left to the module: its default.
            let share = Share::of(share_attr.and_then(|a| a.value.value.as_str()).map(Some));
            apps.push(App {
                slug: slug.clone(),
                slug_span: *slug_span,
                span: call.block.span,
                declared_by: AppOrigin::Module(call.name.value.clone()),
                url: UrlFact::parse(&format!("http://localhost:{port}"), port_span),
                share,
                share_span: share_attr.map(|a| a.value.span),
                subdomain: call
                    .input("subdomain")
                    .and_then(|a| a.value.value.as_bool())
                    .unwrap_or(false),
                healthcheck: None,
                hidden: false,
                repeated: call.count.is_some() || call.for_each.is_some(),
            });
        }
        modules.push(ModuleUse {
            label: call.name.value.clone(),
            name: name.to_owned(),
            span: call.block.span,
            port,
            port_span,
            slug: slug.map(|(s, _)| s),
            agentapi: known.agentapi,
        });
    }
    ws.listeners.extend(listeners);
    ws.modules.extend(modules);
    ws.apps.extend(apps);
}

#[cfg(test)]
mod tests;
