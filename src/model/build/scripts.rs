//! What scripts give the model: script files, agent startup scripts and `coder_script`s,
//! where each runs, what it assigns and starts (listeners), the URLs it builds and the files
//! it writes (the env files among them read as env files).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{env_var, normalize, value_text};
use crate::model::listen::{self, Arg, CommandLine};
use crate::model::{
    CoderHost, EnvScope, FileKind, Place, Script, ScriptOrigin, ScriptUrl, Workspace, WrittenFile,
};
use crate::parse::dotenv;
use crate::parse::shell::{self, Lookup, ScriptFacts};
use crate::parse::terraform::{self, TerraformModule, Value};
use crate::render::header::MANAGED_WRITER;
use crate::source::{FileId, Span};

pub(super) fn read_scripts(ws: &mut Workspace) {
    let mut units: Vec<(FileId, ScriptOrigin, Place, usize, String)> = Vec::new();
    // Script files, and where they run: in a container that mounts them, else in the workspace.
    let mut script_files = super::files_of(ws, FileKind::Script);
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
        let facts = shell::parse_script(&text, file, base);
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
        let values = facts.values();
        // Terraform pieces of a heredoc; variables the script does not assign are unknown.
        let outer = |lookup: Lookup<'_>| match lookup {
            Lookup::Variable(_) => None,
            Lookup::Hcl(expr) => hcl.get(expr).cloned(),
        };
        for assignment in &facts.assignments {
            let value = values.value(&assignment.value, &outer);
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
        // What the script exports reaches the programs it starts.
        let exported: Vec<(String, Option<String>, Option<Span>)> = values
            .exported(&outer)
            .into_iter()
            .map(|(name, value, span)| (name.to_owned(), value, span))
            .collect();
        let mut settings = listen::Settings::default();
        for command in &facts.commands {
            let words = values
                .command_fields(command, &outer)
                .into_iter()
                .map(|field| Arg {
                    text: field.text,
                    span: field.span,
                    spread: field.spread,
                })
                .collect();
            let prefix: Vec<(String, Option<String>, Span)> = command
                .env
                .iter()
                .map(|a| (a.name.clone(), values.value(&a.value, &outer), a.value.span))
                .collect();
            // The script's exports, then the command's own prefix (the last one wins).
            let env = exported
                .iter()
                .map(|(k, v, span)| (k.clone(), v.clone(), span.unwrap_or(command.span)))
                .chain(prefix.iter().cloned())
                .collect();
            let heard = listen::hear(
                &ws.knowledge,
                &CommandLine { words, env, prefix },
                place,
                &mut settings,
            );
            // A known program in a script a container runs: its listeners are known.
            if let (true, Place::Container(index)) = (heard.known, place) {
                if let Some(service) = ws.services.get_mut(index) {
                    service.listeners_known = true;
                }
            }
            ws.listeners.extend(heard.listeners);
            ws.open_listeners.extend(heard.open);
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
                ws.env_texts.push(crate::model::EnvText {
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
            shell::WriteKind::Heredoc { .. } => Some(ws.sources.slice(span).to_owned()),
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
