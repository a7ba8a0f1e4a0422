//! What scripts give the model: script files, agent startup scripts and `coder_script`s,
//! where each runs, what it assigns and starts (listeners), the URLs it builds and the files
//! it writes (the env files among them read as env files).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{env_var, normalize, value_text};
use crate::diagnostic::Severity;
use crate::model::config_port;
use crate::model::listen::{self, Arg, CommandLine};
use crate::model::url::UrlFact;
use crate::model::{
    CoderHost, ComposeUp, EnvScope, FileKind, HostFlagValue, Place, Script, ScriptOrigin,
    ScriptUrl, Workspace, WrittenFile,
};
use crate::parse::dotenv;
use crate::parse::shell::{self, Lookup, PartialText, ScriptFacts, Word};
use crate::parse::terraform::{self, TerraformModule, Value};
use crate::render::header::MANAGED_WRITER;
use crate::source::{FileId, Span};

/// One script to read: where its text is, where it runs, and, for a `templatefile()` target,
/// the values its `${NAME}` interpolations take.
struct Unit {
    file: FileId,
    origin: ScriptOrigin,
    place: Place,
    base: usize,
    text: String,
    /// `Some` for a file `templatefile()` reads: each binding's text, when known.
    bindings: Option<HashMap<String, String>>,
    /// The Terraform module whose `${local.x}`, `${var.y}` a script held in a `.tf` file reads,
    /// by its index in `template_modules`.
    module: usize,
}

pub(super) fn read_scripts(ws: &mut Workspace) {
    let mut units: Vec<Unit> = Vec::new();
    // Agents with `os = "windows"` run PowerShell: their scripts are not read as bash, nor what
    // their coder_scripts load, whatever the file is called.
    let windows: Vec<String> = ws
        .template
        .iter()
        .flat_map(|m| m.agents())
        .filter(|a| a.os.and_then(|os| os.value.value.as_str()) == Some("windows"))
        .map(|a| a.name.value.clone())
        .collect();
    let powershell: Vec<FileId> = ws
        .template
        .iter()
        .flat_map(|m| m.scripts())
        .filter(|s| {
            s.agent_name()
                .is_some_and(|a| windows.iter().any(|w| w == a))
        })
        .filter_map(|s| s.script?.value.value.as_file_call()?.relative_path())
        .filter_map(|t| ws.sources.find(&PathBuf::from(t)))
        .collect();
    // templatefile() targets are read with their bindings, once per call (a file rendered twice
    // with other values starts other servers); file() targets are scripts whatever their names.
    let mut calls = Vec::new();
    let mut plain_targets = Vec::new();
    for (module, dir) in super::template_modules(ws) {
        for (path, bindings) in file_calls(module) {
            let Some(id) = ws.sources.find(&normalize(&dir.join(&path))) else {
                continue;
            };
            if ws.kind(id) == Some(FileKind::Terraform) || powershell.contains(&id) {
                continue;
            }
            match bindings {
                Some(bindings) => calls.push((id, bindings)),
                None => plain_targets.push(id),
            }
        }
    }
    let rendered: Vec<FileId> = calls.iter().map(|(id, _)| *id).collect();
    // Script files, and where they run: in a container that mounts them, else in the workspace.
    let mut script_files = super::files_of(ws, FileKind::Script);
    script_files.retain(|id| !rendered.contains(id) && !powershell.contains(id));
    for id in plain_targets {
        if !script_files.contains(&id) && !rendered.contains(&id) {
            script_files.push(id);
        }
    }
    let file_units = script_files
        .into_iter()
        .map(|id| (id, None))
        .chain(calls.into_iter().map(|(id, b)| (id, Some(b))));
    for (id, bindings) in file_units {
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
        units.push(Unit {
            file: id,
            origin: ScriptOrigin::File,
            place,
            base: 0,
            text: ws.sources.get(id).text.clone(),
            bindings,
            module: 0,
        });
    }
    for (index, (module, _)) in super::template_modules(ws).into_iter().enumerate() {
        for agent in module.agents() {
            if windows.contains(&agent.name.value) {
                continue;
            }
            if let Some(text) = script_text(agent.startup_script) {
                units.push(Unit {
                    file: text.0,
                    origin: ScriptOrigin::AgentStartup(agent.name.value.clone()),
                    place: Place::Workspace,
                    base: text.1,
                    text: text.2,
                    bindings: None,
                    module: index,
                });
            }
        }
        for script in module.scripts() {
            if script
                .agent_name()
                .is_some_and(|a| windows.iter().any(|w| w == a))
            {
                continue;
            }
            if let Some(text) = script_text(script.script) {
                units.push(Unit {
                    file: text.0,
                    origin: ScriptOrigin::CoderScript(script.name.value.clone()),
                    place: Place::Workspace,
                    base: text.1,
                    text: text.2,
                    bindings: None,
                    module: index,
                });
            }
        }
    }
    let lookups: Vec<HashMap<String, String>> = super::template_modules(ws)
        .into_iter()
        .map(|(module, _)| hcl_lookup(module))
        .collect();
    let no_lookup = HashMap::new();
    for unit in units {
        let Unit {
            file,
            origin,
            place,
            base,
            text,
            bindings,
            module,
        } = unit;
        let facts = match &bindings {
            Some(bindings) => {
                let text =
                    terraform::blank_untaken_branches(&text, |cond| condition(cond, bindings));
                shell::parse_template_file(&text, file, base)
            }
            None => shell::parse_script(&text, file, base),
        };
        // `${NAME}` in a templatefile() target is its binding; elsewhere `${local.x}`, `${var.y}`.
        let hcl = bindings
            .as_ref()
            .unwrap_or_else(|| lookups.get(module).unwrap_or(&no_lookup));
        // tree-sitter-bash is not bash: a construct it cannot read may well run, so a note
        // (`bash -n` is the judge); a script it refused to read at all stays a warning.
        ws.parse_errors
            .extend(facts.diagnostics.iter().filter_map(|d| match d.severity {
                Severity::Error => {
                    let mut d = d.clone();
                    d.severity = Severity::Info;
                    d.message = format!(
                        "{} (portolan's shell parser could not read this; `bash -n` may)",
                        d.message
                    );
                    Some(d)
                }
                Severity::Warning if facts.refused => Some(d.clone()),
                _ => None,
            }));
        let values = facts.values();
        // Terraform pieces of a heredoc; variables the script does not assign are unknown.
        let outer = |lookup: Lookup<'_>| match lookup {
            Lookup::Variable(_) => None,
            Lookup::Hcl(expr) => hcl.get(expr).cloned(),
        };
        let partials = partial_values(&facts, hcl);
        for assignment in &facts.assignments {
            let value = values.value(&assignment.value, &outer);
            let raw = ws.sources.slice(assignment.value.span).to_owned();
            let mut var = env_var(
                &assignment.name,
                assignment.name_span,
                value,
                raw,
                assignment.value.span,
                EnvScope::Script,
            );
            if var.value.is_none() {
                let partial = partial_of(&assignment.value, &partials, hcl);
                app_url_from_pieces(&mut var.url, &partial, assignment.value.span);
            }
            ws.env.push(var);
        }
        // What the script exports reaches the programs it starts.
        let exported: Vec<(String, Option<String>, Option<Span>)> = values
            .exported(&outer)
            .into_iter()
            .map(|(name, value, span)| (name.to_owned(), value, span))
            .collect();
        // Files the script writes, as the programs it starts may read them.
        let configs: Vec<config_port::WrittenConfig> = facts
            .file_writes
            .iter()
            .filter(|w| !w.append)
            .map(|w| {
                let raw = ws.sources.slice(w.body.span).to_owned();
                config_port::WrittenConfig {
                    names: values.base_names_of(&w.target),
                    text: values.value(&w.body, &outer),
                    exact: matches!(w.kind, shell::WriteKind::Heredoc { .. })
                        && raw.len() == w.body.span.range().len(),
                    raw,
                    span: w.body.span,
                }
            })
            .collect();
        let mut settings = listen::Settings::default();
        let mut host_flags = Vec::new();
        let mut compose_up = Vec::new();
        let mut started = Vec::new();
        for command in &facts.commands {
            let words = values
                .command_fields(command, &outer)
                .into_iter()
                .map(|field| Arg {
                    text: field.text,
                    span: field.span,
                    spread: field.spread,
                })
                .collect::<Vec<_>>();
            host_flags.extend(host_flag_values(ws, &words));
            compose_up.extend(compose_up_of(&ws.knowledge, &words, command.span));
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
            // A word whose value is not known (`--port "$P"`) may move a listener anywhere.
            let all_known = words.iter().all(|w| w.text.is_some());
            let line = CommandLine { words, env, prefix };
            let mut heard = listen::hear(&ws.knowledge, &line, place, &mut settings);
            // A port the program reads from a file the script wrote.
            let from_configs = config_port::listeners(
                &ws.knowledge,
                &line.words,
                &configs,
                &heard.listeners,
                place,
            );
            heard.listeners.extend(from_configs);
            // A known program in a script a container runs: its listeners are known.
            if let (true, true, Place::Container(index)) = (heard.known, all_known, place) {
                if let Some(service) = ws.services.get_mut(index) {
                    service.listeners_known = true;
                }
            }
            if !heard.listeners.is_empty() {
                started.push(command.span);
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
                // `<<'EOF'` writes `$X` as it is: the shell substitutes nothing.
                let expands = !facts.file_writes.iter().any(|w| {
                    w.span == written.span && w.kind == shell::WriteKind::Heredoc { quoted: true }
                });
                for entry in &env.entries {
                    let mut var = env_var(
                        &entry.key,
                        entry.key_span,
                        Some(entry.value.clone()),
                        entry.value.clone(),
                        entry.value_span,
                        EnvScope::Script,
                    );
                    if expands && !entry.references.is_empty() {
                        let partial = env_value_partial(entry, &partials);
                        app_url_from_pieces(&mut var.url, &partial, entry.value_span);
                    }
                    ws.env.push(var);
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
                coder_host: url
                    .coder_app()
                    .map(|host| CoderHost {
                        slug: host.slug,
                        slug_span: host.slug_span,
                        port: host.port,
                        agent: host
                            .agent
                            .and_then(|w| w.literal())
                            .map(|a| a.to_ascii_lowercase()),
                    })
                    .or_else(|| {
                        // A host built from pieces: `https://$SLUG--$CODER_WORKSPACE_NAME--...`.
                        let partial = partial_of(&url.host, &partials, hcl);
                        let found = crate::coder::AppHost::parse(&partial.text)?;
                        Some(CoderHost {
                            slug: partial.text.get(found.slug.clone())?.to_owned(),
                            slug_span: partial.span_of(found.slug.clone()).unwrap_or(url.span),
                            port: found.port,
                            agent: found
                                .agent
                                .and_then(|r| partial.text.get(r))
                                .filter(|a| !a.contains(['$', crate::coder::UNKNOWN]))
                                .map(str::to_ascii_lowercase),
                        })
                    }),
            })
            .collect();
        ws.scripts.push(Script {
            file,
            origin,
            place,
            urls,
            host_flags,
            compose_up,
            started,
        });
    }
}

/// `docker compose [options] up ...` or `docker-compose [options] up ...`, with the files and
/// project it names; `None` for another command, or when a word before `up` is not known.
fn compose_up_of(kb: &crate::knowledge::Knowledge, words: &[Arg], span: Span) -> Option<ComposeUp> {
    let (at, _) = listen::program(kb, words)?;
    let text = |i: usize| words.get(i).and_then(|w| w.text.as_deref());
    let program = text(at)?;
    let mut i = match program.rsplit('/').next().unwrap_or(program) {
        "docker" if text(at + 1) == Some("compose") => at + 2,
        "docker-compose" => at + 1,
        _ => return None,
    };
    let mut up = ComposeUp {
        files: Vec::new(),
        project: None,
        span,
    };
    while let Some(word) = text(i) {
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (word, None),
        };
        let mut value = || match &inline {
            Some(v) => Some(v.clone()),
            None => {
                i += 1;
                text(i).map(str::to_owned)
            }
        };
        match flag {
            "-f" | "--file" => up.files.push(value()?),
            "-p" | "--project-name" => up.project = Some(value()?),
            "--project-directory"
            | "--env-file"
            | "--profile"
            | "--ansi"
            | "--progress"
            | "--parallel" => {
                value()?;
            }
            "up" => return Some(up),
            // A flag without a value (`--dry-run`, `--compatibility`).
            f if f.starts_with('-') => {}
            // Another subcommand.
            _ => return None,
        }
        i += 1;
    }
    None
}

/// The values a command gives to its program's flags that take hosts or origins, with where
/// the shell would expand a glob in them. `words` are the command's words, wrappers first.
fn host_flag_values(ws: &Workspace, words: &[Arg]) -> Vec<HostFlagValue> {
    let mut out = Vec::new();
    let Some((at, name)) = listen::program(&ws.knowledge, words) else {
        return out;
    };
    let Some((name, program)) = ws.knowledge.program(&name) else {
        return out;
    };
    for (i, word) in words.iter().enumerate().skip(at + 1) {
        let Some(text) = word.text.as_deref() else {
            continue;
        };
        if text == "--" {
            break;
        }
        for flag in &program.host_flags {
            let glob_in = |span: Span| {
                shell::unquoted_glob(ws.sources.slice(span)).map(|k| span.sub(k, k + 1))
            };
            let written = ws.sources.slice(word.span);
            let value = if text == flag {
                words.get(i + 1).map(|value| (value.span, true))
            } else if text
                .strip_prefix(flag.as_str())
                .is_some_and(|r| r.starts_with('='))
            {
                written
                    .find('=')
                    .map(|eq| (word.span.sub(eq + 1, written.len()), false))
            } else {
                None
            };
            let Some((span, separate)) = value else {
                continue;
            };
            out.push(HostFlagValue {
                program: name.to_owned(),
                flag: flag.clone(),
                flag_span: if separate {
                    word.span
                } else {
                    word.span.sub(0, flag.len().min(written.len()))
                },
                span,
                separate,
                // In `--flag=*` the pattern is the whole word: it matches only file names that
                // start with the flag.
                unquoted_glob: glob_in(if separate { span } else { word.span }),
            });
        }
    }
    out
}

/// What each variable the script assigns exactly once holds, as far as it is known: URLs built
/// from pieces (`SLUG=convex-site; URL="https://$SLUG--$CODER_WORKSPACE_NAME--..."`) read
/// through it. A variable assigned more than once is unknown: which value a use sees depends on
/// the run.
fn partial_values(
    facts: &ScriptFacts,
    hcl: &HashMap<String, String>,
) -> HashMap<String, PartialText> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for assignment in &facts.assignments {
        *count.entry(assignment.name.as_str()).or_default() += 1;
    }
    let mut out = HashMap::new();
    for assignment in &facts.assignments {
        if assignment.append || count.get(assignment.name.as_str()) != Some(&1) {
            continue;
        }
        let partial = partial_of(&assignment.value, &out, hcl);
        out.insert(assignment.name.clone(), partial);
    }
    out
}

/// A word as far as the script's variables and the template's values know it.
fn partial_of(
    word: &Word,
    partials: &HashMap<String, PartialText>,
    hcl: &HashMap<String, String>,
) -> PartialText {
    word.partial(&mut |lookup| match lookup {
        Lookup::Variable(name) => partials.get(name).cloned(),
        Lookup::Hcl(expr) => hcl.get(expr).map(|text| PartialText {
            text: text.clone(),
            ..PartialText::default()
        }),
    })
}

/// An env value a script writes into an env file (`SITE_URL=$SITE` in a heredoc), with the
/// script's variables substituted where known.
fn env_value_partial(
    entry: &dotenv::EnvEntry,
    partials: &HashMap<String, PartialText>,
) -> PartialText {
    let value = entry.value.as_str();
    let exact = value.len() == entry.value_span.range().len();
    let span_of = |from: usize, to: usize| {
        if exact {
            entry.value_span.sub(from, to)
        } else {
            entry.value_span
        }
    };
    let mut out = PartialText::default();
    let mut at = 0;
    for reference in crate::parse::interpolate::variable_references(value, false) {
        if reference.range.start < at {
            continue; // nested inside a default already handled
        }
        let literal = value.get(at..reference.range.start).unwrap_or("");
        out.push(literal, span_of(at, reference.range.start), exact);
        let span = span_of(reference.range.start, reference.range.end);
        match partials.get(&reference.name) {
            Some(known) if reference.operator.is_none() => out.append(known, span),
            _ => out.push_unknown(&format!("${{{}}}", reference.name), span),
        }
        at = reference.range.end;
    }
    let rest = value.get(at..).unwrap_or("");
    out.push(rest, span_of(at, value.len()), exact);
    out
}

/// Gives `url` the Coder app a value built from pieces names, when the value as written names
/// none: `partial` is the value with the script's variables substituted, `span` where it is.
/// A slug not known statically names no app.
pub(super) fn app_url_from_pieces(url: &mut Option<UrlFact>, partial: &PartialText, span: Span) {
    if url.as_ref().is_some_and(|u| u.slug().is_some()) {
        return;
    }
    let text = partial.text.trim_end();
    let body = text.trim_start_matches(|c: char| c.is_whitespace() || c == '=');
    let offset = text.len() - body.len();
    // A scheme not known statically (`${split(":", access_url)[0]}://`, `$SCHEME://`) is http
    // or https; the host is what names the app.
    let unknown_scheme = body.find("://").filter(|&k| {
        let scheme = &body[..k];
        scheme.starts_with("${") && scheme.find('}') == Some(k - 1)
    });
    let owned;
    let (body, scheme_len) = match unknown_scheme {
        Some(k) => {
            owned = format!("https{}", &body[k..]);
            (owned.as_str(), k)
        }
        None => (body, body.find("://").unwrap_or(0)),
    };
    let Some(mut found) = UrlFact::parse(body, span) else {
        return;
    };
    let Some(range) = found.slug_range() else {
        return;
    };
    // The slug's bytes in `partial`: past the scheme as written there.
    let parsed_scheme = found.text.find("://").unwrap_or(0);
    let at = |k: usize| k.saturating_sub(parsed_scheme) + scheme_len + offset;
    // Where the slug is written, when not in the value itself (`SLUG=convex-site`).
    found.slug_origin = partial
        .span_of(at(range.start)..at(range.end))
        .filter(|s| s.file != span.file || s.end <= span.start || span.end <= s.start);
    *url = Some(found);
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
        // A quoted string's span starts at its opening quote; its text, one byte later.
        Value::String(s) => Some((
            attr.value.span.file,
            attr.value.span.start as usize + usize::from(attr.value.span.range().len() > s.len()),
            s.clone(),
        )),
        _ => None,
    }
}

/// Whether a `%{ if }` condition of a templatefile() target holds, when the bindings say:
/// `NAME`, `!NAME`, `NAME == "text"`, `NAME != "text"` (or `true`, `false`, a number).
fn condition(cond: &str, bindings: &HashMap<String, String>) -> Option<bool> {
    let value = |name: &str| -> Option<&str> {
        let name = name.trim();
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            .then(|| bindings.get(name).map(String::as_str))
            .flatten()
    };
    let truth = |text: &str| match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let cond = cond.trim();
    for (op, equal) in [("==", true), ("!=", false)] {
        if let Some((left, right)) = cond.split_once(op) {
            let right = right.trim();
            let right = right
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .filter(|r| !r.contains(['"', '\\', '$', '%']))
                .or_else(|| {
                    (truth(right).is_some() || right.parse::<f64>().is_ok()).then_some(right)
                })?;
            return Some((value(left)? == right) == equal);
        }
    }
    match cond.strip_prefix('!') {
        Some(name) => truth(value(name)?).map(|b| !b),
        None => truth(value(cond)?),
    }
}

/// Every distinct `templatefile()` / `file()` call of a module: the target's path relative to
/// the module, and for `templatefile()` the text of each binding that is known. A call a local
/// holds and an attribute uses is one call.
fn file_calls(module: &TerraformModule) -> Vec<(PathBuf, Option<HashMap<String, String>>)> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for block in module.blocks() {
        for attr in block.all_attributes() {
            let Some(call) = attr.value.value.as_file_call() else {
                continue;
            };
            let Some(path) = call.relative_path() else {
                continue;
            };
            if seen.contains(&call.path.span) {
                continue;
            }
            seen.push(call.path.span);
            let bindings = (call.function == terraform::FileFunction::TemplateFile).then(|| {
                call.vars
                    .as_ref()
                    .and_then(|v| v.value.as_map())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|entry| {
                        let text = value_text(&entry.value.value).filter(|t| !t.contains("${"))?;
                        Some((entry.key.value.clone(), text))
                    })
                    .collect()
            });
            out.push((PathBuf::from(path), bindings));
        }
    }
    out
}

/// Values of `local.x` / `var.y` for Terraform interpolations inside script heredocs.
fn hcl_lookup(module: &TerraformModule) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let known = |v: Option<&terraform::Spanned<Value>>| {
        v.and_then(|v| value_text(&v.value))
            .filter(|t| !t.contains("${"))
    };
    for block in module.blocks() {
        match block.kind.value.as_str() {
            "locals" => {
                for attr in &block.attributes {
                    let name = &attr.name.value;
                    if let Some(text) = known(module.context.local(name)) {
                        out.insert(format!("local.{name}"), text);
                    }
                }
            }
            "variable" => {
                let Some(name) = block.labels.first() else {
                    continue;
                };
                if let Some(text) = known(module.context.variable(&name.value)) {
                    out.insert(format!("var.{}", name.value), text);
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::model::build::from_texts;
    use crate::model::FileKind;

    const MAIN: &str = r#"variable "port" {
  default = 13340
}
variable "prefix" {
  type = string
}
locals {
  log = "/tmp/srv.log"
}
resource "coder_script" "srv" {
  agent_id     = coder_agent.main.id
  display_name = "srv"
  run_on_start = true
  script = templatefile("${path.module}/run.sh", {
    PORT   = var.port,
    LOG    = local.log,
    PREFIX = var.prefix,
  })
}
"#;

    /// The scripts that start a compose stack, with the files and project they name.
    #[test]
    fn scripts_that_run_compose_up() {
        let script = "#!/bin/bash\nF=stack.yml\ndocker compose -p chat -f \"$F\" --file=more.yml up -d\nsudo docker-compose up\ndocker compose -f other.yml down\ndocker compose ps\ndocker compose -f \"$UNSET\" up -d\ndocker run -p 1:1 x\n";
        let ws = from_texts(&[("start.sh", script, FileKind::Script)]);
        let ups: Vec<(Vec<&str>, Option<&str>, &str)> = ws.scripts[0]
            .compose_up
            .iter()
            .map(|u| {
                (
                    u.files.iter().map(String::as_str).collect(),
                    u.project.as_deref(),
                    ws.sources.slice(u.span),
                )
            })
            .collect();
        assert_eq!(
            ups,
            [
                (
                    vec!["stack.yml", "more.yml"],
                    Some("chat"),
                    "docker compose -p chat -f \"$F\" --file=more.yml up -d"
                ),
                (vec![], None, "sudo docker-compose up"),
            ]
        );
        let (named, default) = (&ws.scripts[0].compose_up[0], &ws.scripts[0].compose_up[1]);
        assert!(named.starts(std::path::Path::new("deploy/stack.yml")));
        assert!(!named.starts(std::path::Path::new("docker-compose.yml")));
        assert!(default.starts(std::path::Path::new("docker-compose.yml")));
        assert!(!default.starts(std::path::Path::new("stack.yml")));
    }

    /// `${PORT}` in the file is the binding's value; `$${PORT}` is bash's own `${PORT}`.
    #[test]
    fn templatefile_targets_read_with_their_bindings() {
        let run = "#!/bin/bash\nSRV=/usr/bin/code-server\nPORT=9999\n\"$SRV\" --port \"${PORT}\" > \"${LOG}\" 2>&1 &\ncode-server --port \"$${PORT}\" &\n";
        let ws = from_texts(&[
            ("main.tf", MAIN, FileKind::Terraform),
            ("run.sh", run, FileKind::Script),
        ]);
        let ports: Vec<(u16, &str)> = ws
            .listeners
            .iter()
            .map(|l| (l.port, ws.sources.slice(l.span)))
            .collect();
        assert_eq!(ports, [(13340, "\"${PORT}\""), (9999, "\"$${PORT}\"")]);
        // Read once, as a template, not again as a plain script.
        assert_eq!(ws.scripts.len(), 1);
    }

    /// Terraform substitutes inside the shell's single quotes too; Jupyter Server's
    /// `--ServerApp.port` moves jupyter-notebook (v7) as it moves jupyter-lab.
    #[test]
    fn bindings_inside_single_quotes_and_server_app_flags() {
        let run = "#!/bin/bash\njupyter-notebook --no-browser --ServerApp.port='${PORT}' &\n";
        let ws = from_texts(&[
            ("main.tf", MAIN, FileKind::Terraform),
            ("run.sh", run, FileKind::Script),
        ]);
        let ports: Vec<(u16, &str)> = ws
            .listeners
            .iter()
            .map(|l| (l.port, l.program.as_str()))
            .collect();
        assert_eq!(ports, [(13340, "jupyter-notebook")]);
    }

    /// `%{ if }` branches the bindings decide: only the taken one runs.
    #[test]
    fn decided_branches_of_directives_are_the_only_ones_read() {
        let tf = MAIN.replace(
            "LOG    = local.log,",
            "LOG    = local.log,\n    WEB = true,\n    MODE = \"lab\",",
        );
        let run = "#!/bin/bash\n%{ if WEB ~}\ncode-server --port 13341 &\n%{ else ~}\ncode-server --port 13342 &\n%{ endif ~}\n%{ if MODE != \"lab\" }\ncode-server --port 13343 &\n%{ endif }\n%{ if PREFIX == \"x\" }\ncode-server --port 13344 &\n%{ endif }\n";
        let ws = from_texts(&[
            ("main.tf", &tf, FileKind::Terraform),
            ("run.sh", run, FileKind::Script),
        ]);
        let ports: Vec<u16> = ws.listeners.iter().map(|l| l.port).collect();
        assert_eq!(ports, [13341, 13344], "an unknown binding decides nothing");
        let line = |port: &str| {
            let l = ws
                .listeners
                .iter()
                .find(|l| ws.sources.slice(l.span) == port)
                .unwrap();
            ws.sources.resolve(l.span).0.line
        };
        assert_eq!(line("13341"), 3);
    }

    /// A known program whose port is not known does not make a container's listeners known:
    /// a published port it may serve is not proven unserved.
    #[test]
    fn unknown_words_leave_a_containers_listeners_unknown() {
        let compose = "services:\n  web:\n    image: example/web:dev\n    entrypoint: [\"/run.sh\"]\n    volumes: [./run.sh:/run.sh]\n";
        let known = |run: &str| {
            let ws = from_texts(&[
                ("compose.yml", compose, FileKind::Compose),
                ("run.sh", run, FileKind::Script),
            ]);
            ws.services[0].listeners_known
        };
        assert!(known("#!/bin/sh\nexec code-server --port 8080\n"));
        assert!(!known("#!/bin/sh\nexec code-server --port \"$WEB_PORT\"\n"));
    }

    /// A program that reads its port from a config file takes it from the file the same script
    /// writes, wherever the script puts it; a flag wins; a key elsewhere sets nothing.
    #[test]
    fn ports_read_from_config_files_the_script_writes() {
        let run = |write: &str, start: &str| {
            let script = format!(
                "#!/bin/bash\nif sudo -n true; then\n  CONF=/etc/kasmvnc/kasmvnc.yaml\n  SUDO=sudo\nelse\n  CONF=\"$HOME/.vnc/kasmvnc.yaml\"\n  SUDO=\"\"\nfi\n{write}\n{start}\n"
            );
            let ws = from_texts(&[
                ("main.tf", MAIN, FileKind::Terraform),
                ("run.sh", &script, FileKind::Script),
            ]);
            ws.listeners
                .iter()
                .map(|l| (l.port, ws.sources.slice(l.span).to_owned()))
                .collect::<Vec<_>>()
        };
        let heredoc = "$SUDO tee \"$CONF\" > /dev/null << EOF\nnetwork:\n  protocol: http\n  websocket_port: ${PORT}\nEOF";
        let start = "kasmvncserver -select-de xfce -disableBasicAuth";
        assert_eq!(run(heredoc, start), [(13340, "${PORT}".to_owned())]);
        let cat = "cat > \"$CONF\" <<EOF\nnetwork:\n  websocket_port: 6801\nEOF";
        assert_eq!(run(cat, start), [(6801, "6801".to_owned())]);
        // Not under `network`, another file, or no such program: no listener.
        let nested = "cat > \"$CONF\" <<EOF\nother:\n  websocket_port: 6801\nEOF";
        assert_eq!(run(nested, start), []);
        let other = "cat > /tmp/other.yaml <<EOF\nnetwork:\n  websocket_port: 6801\nEOF";
        assert_eq!(run(other, start), []);
        assert_eq!(run(cat, "vncviewer localhost"), []);
    }

    /// A binding that is not known leaves its interpolations unknown: no port is made up.
    #[test]
    fn unknown_bindings_are_unknown() {
        let run = "#!/bin/bash\n${PREFIX}/bin/code-server --port \"${PREFIX}\" &\n";
        let ws = from_texts(&[
            ("main.tf", MAIN, FileKind::Terraform),
            ("run.sh", run, FileKind::Script),
        ]);
        assert!(ws.listeners.is_empty(), "{:?}", ws.listeners);
        let other = MAIN.replace("PORT   = var.port", "PORT   = var.prefix");
        let run = "#!/bin/bash\ncode-server --port \"${PORT}\" &\n";
        let ws = from_texts(&[
            ("main.tf", &other, FileKind::Terraform),
            ("run.sh", run, FileKind::Script),
        ]);
        // code-server's own default is not assumed when the flag's value is unknown.
        assert!(
            ws.listeners.iter().all(|l| l.port != 13337),
            "{:?}",
            ws.listeners
        );
    }
}
