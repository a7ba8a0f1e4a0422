//! Which ports a command line listens on, from the knowledge base.
//!
//! Works on a plain list of words (from a shell script, a compose `command`/`entrypoint`, or
//! a Terraform container), so every source of commands shares one reading:
//! wrappers (`exec`, `nohup`) and the knowledge base's launchers (`npx`, `pnpm exec`,
//! `python -m`...) are skipped, the program is looked up (by its name, a two-word name such as
//! `jupyter lab`, or a subcommand that names it whatever the binary is called, `serve-local`),
//! and each of its listeners takes its port from a flag, a positional argument, an argument
//! prefix (`TCP-LISTEN:`), an env variable, or its default: a flag that moves the port replaces
//! the default. Runs that do not serve (`code-server --install-extension`) listen on nothing;
//! settings subcommands (`filebrowser config set --port 8080`) count for the program's later
//! runs. `docker run -p H:C IMAGE` listens on H where the script runs. An unknown program with
//! `--port N` still counts as a listener on N. What cannot be known statically (a flag set from
//! an unknown value, an unquoted expansion that may hold flags) is an [`OpenListener`].

use std::collections::HashMap;

use crate::knowledge::{ContainerRunner, Knowledge, ListenerSpec};
use crate::parse::shell;
use crate::source::Span;

use super::{App, Listener, ListenerSource, Place, Workspace};

/// One word of a command line: its value when known statically, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub text: Option<String>,
    pub span: Span,
    /// An unquoted shell expansion whose value is unknown: it may stand for several words.
    pub spread: bool,
}

impl Arg {
    pub fn new(text: impl Into<String>, span: Span) -> Self {
        Arg {
            text: Some(text.into()),
            span,
            spread: false,
        }
    }
}

/// A command to read: its words and the env variables known to it (`NAME`, value, span).
#[derive(Debug, Clone, Default)]
pub struct CommandLine {
    pub words: Vec<Arg>,
    pub env: Vec<(String, Option<String>, Span)>,
    /// Assignments written before the command itself (`PORT=3000 npm run dev`): for a program
    /// portolan does not know, `PORT` there still names the port it listens on.
    pub prefix: Vec<(String, Option<String>, Span)>,
}

/// A listener of a known program whose port is not known statically: set from a value that
/// only exists when the script runs, or possibly moved by words that are not known. A rule
/// never proves a link broken while one of these could be the other end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenListener {
    pub program: String,
    pub name: String,
    pub role: Option<String>,
    pub place: Place,
    /// The command (or the word) that leaves it open.
    pub span: Span,
}

/// What one command line listens on.
#[derive(Debug, Clone, Default)]
pub struct Heard {
    pub listeners: Vec<Listener>,
    pub open: Vec<OpenListener>,
    /// The program is known, so its listener list is complete.
    pub known: bool,
}

/// Flags that earlier runs stored for a program (`filebrowser config set --port 8080`), by
/// program: one per script.
#[derive(Debug, Clone, Default)]
pub struct Settings(HashMap<String, Vec<Arg>>);

/// The index of the program word after wrappers, and its name as the knowledge base knows it.
pub fn program(kb: &Knowledge, words: &[Arg]) -> Option<(usize, String)> {
    resolve(kb, words).map(|(i, _, name)| (i, name))
}

/// The program word's index, how many words its name takes (`jupyter lab`: 2) and the name.
fn resolve(kb: &Knowledge, words: &[Arg]) -> Option<(usize, usize, String)> {
    let mut i = 0;
    while i < words.len() {
        let word = words[i].text.as_deref()?;
        let base = word.rsplit('/').next().unwrap_or(word);
        let next = words.get(i + 1).and_then(|w| w.text.as_deref());
        match base {
            w if shell::wrapper(w).is_some() => i = after_wrapper(words, i),
            launcher if kb.launcher(launcher).is_some() => {
                let launcher = kb.launcher(launcher).expect("just found");
                if launcher.subcommands.is_empty() {
                    i += 1;
                } else if next.is_some_and(|n| launcher.subcommands.iter().any(|s| s == n)) {
                    i += 2;
                } else {
                    // `python3 /tmp/copyparty-sfx.py`: a script the knowledge base names.
                    let script = next.map(|n| n.rsplit('/').next().unwrap_or(n));
                    if let Some((name, _)) = script.and_then(|s| kb.program(s)) {
                        return Some((i + 1, 1, name.to_owned()));
                    }
                    let (name, width) = name_of(kb, base, next);
                    return Some((i, width, name));
                }
                // The launcher's options (and `--`), then the program.
                while let Some(option) = words
                    .get(i)
                    .and_then(|w| w.text.as_deref())
                    .filter(|w| w.starts_with('-'))
                {
                    let takes_value = launcher.value_flags.iter().any(|f| f == option);
                    i += if takes_value { 2 } else { 1 };
                }
            }
            _ => {
                let (name, width) = name_of(kb, base, next);
                return Some((i, width, name));
            }
        }
    }
    None
}

/// The index of the word after the wrapper at `i` (`sudo -u app`, `timeout 5`, `env K=V`): its
/// options, operands and assignments, as the shell parser reads them ([`shell::WRAPPERS`]).
fn after_wrapper(words: &[Arg], i: usize) -> usize {
    let text = |j: usize| words.get(j).and_then(|w| w.text.as_deref());
    let name = text(i).unwrap_or_default();
    let Some(wrapper) = shell::wrapper(name.rsplit('/').next().unwrap_or(name)) else {
        return i + 1;
    };
    let mut j = i + 1;
    while let Some(option) = text(j).filter(|w| w.starts_with('-') && w.len() > 1) {
        j += 1;
        if option == "--" {
            break;
        }
        if wrapper.value_flags.contains(&option) {
            j += 1;
        }
    }
    j += wrapper.operands;
    if wrapper.takes_assignments {
        while text(j).is_some_and(|w| w.contains('=')) {
            j += 1;
        }
    }
    j
}

/// The knowledge base's name for the program run as `base` (followed by `next`), and how many
/// words it takes: a subcommand that names the program (`serve-local`) and two-word names
/// such as `jupyter lab` first.
fn name_of(kb: &Knowledge, base: &str, next: Option<&str>) -> (String, usize) {
    if let Some(next) = next {
        if let Some(name) = kb.subcommands.get(next) {
            return (name.clone(), 2);
        }
        if let Some((name, _)) = kb.program(&format!("{base} {next}")) {
            return (name.to_owned(), 2);
        }
    }
    let name = kb
        .program(base)
        .map(|(n, _)| n.to_owned())
        .unwrap_or_else(|| base.to_owned());
    (name, 1)
}

/// The value of a flag among `args`: `--port 3210`, `--port=3210`, `-p3000`. The last one wins.
pub fn flag_value<'a>(args: &'a [Arg], flag: &str) -> Option<(Option<&'a str>, Span)> {
    flag_at(args, flag).map(|(_, value, span)| (value, span))
}

/// [`flag_value`] with the index of the flag's word.
fn flag_at<'a>(args: &'a [Arg], flag: &str) -> Option<(usize, Option<&'a str>, Span)> {
    let mut found = None;
    for (i, arg) in args.iter().enumerate() {
        let Some(text) = arg.text.as_deref() else {
            continue;
        };
        if text == flag {
            if let Some(value) = args.get(i + 1) {
                found = Some((i, value.text.as_deref(), value.span));
            }
        } else if let Some(rest) = text.strip_prefix(flag) {
            let value = if let Some(v) = rest.strip_prefix('=') {
                Some(v)
            } else if flag.len() == 2 && !flag.starts_with("--") && !rest.is_empty() {
                Some(rest)
            } else {
                None
            };
            if let Some(v) = value {
                found = Some((i, Some(v), tail_span(arg, v)));
            }
        }
    }
    found
}

/// The span of `tail`, the end of `arg`'s text, when the text maps one to one onto the source.
fn tail_span(arg: &Arg, tail: &str) -> Span {
    let text = arg.text.as_deref().unwrap_or("");
    if arg.span.end - arg.span.start == text.len() as u32 && text.ends_with(tail) {
        arg.span.sub(text.len() - tail.len(), text.len())
    } else {
        arg.span
    }
}

/// A port from a flag or env value: `3210`, `:3210`, `0.0.0.0:3210`, `[::]:3210`.
pub fn port_of(value: &str) -> Option<u16> {
    let value = value.trim().trim_matches(['"', '\'']);
    let tail = value.rsplit(':').next().unwrap_or(value);
    tail.parse().ok().filter(|p| *p > 0)
}

/// The words of `args` that are neither flags nor flags' values, with their indices; `None`
/// from the first word that may stand for several (its count is unknown).
fn positionals<'a>(args: &'a [Arg], switches: &[String]) -> Vec<Option<(usize, &'a Arg)>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        if arg.spread {
            out.push(None);
            return out;
        }
        let Some(text) = arg.text.as_deref() else {
            out.push(Some((i - 1, arg)));
            continue;
        };
        if text == "--" {
            out.extend(
                args.get(i..)
                    .unwrap_or(&[])
                    .iter()
                    .enumerate()
                    .map(|(j, a)| (!a.spread).then_some((i + j, a))),
            );
            return out;
        }
        if text.starts_with('-') && text.len() > 1 {
            let takes_next = !text.contains('=')
                && !switches.iter().any(|s| s == text)
                // `-p8000` carries its value.
                && (text.len() <= 2 || text.starts_with("--"))
                && args
                    .get(i)
                    .is_some_and(|n| !n.text.as_deref().unwrap_or("").starts_with('-'));
            if takes_next {
                i += 1;
            }
            continue;
        }
        out.push(Some((i - 1, arg)));
    }
    out
}

/// The listeners of a known set of listener specs, given the args and env that configure them.
pub fn listeners_of(
    specs: &[ListenerSpec],
    program: &str,
    anchor: Span,
    args: &[Arg],
    env: &[(String, Option<String>, Span)],
    place: Place,
) -> Vec<Listener> {
    read_specs(specs, program, anchor, args, env, place).0
}

/// Where a listener's port comes from, when something sets it.
enum Setting {
    /// Set, to this port (or to something not known statically: `None`).
    Set(Option<u16>, Span, ListenerSource),
    /// Not known: the words that could set it are not known.
    Unknown,
}

fn read_specs(
    specs: &[ListenerSpec],
    program: &str,
    anchor: Span,
    args: &[Arg],
    env: &[(String, Option<String>, Span)],
    place: Place,
) -> (Vec<Listener>, Vec<OpenListener>) {
    let (mut out, mut open) = (Vec::new(), Vec::new());
    let spread_from = args.iter().position(|a| a.spread);
    for spec in specs {
        let from_flag = spec
            .flags
            .iter()
            .filter_map(|flag| flag_at(args, flag))
            .max_by_key(|(i, _, _)| *i)
            .map(|(i, value, span)| {
                let flag = args[i]
                    .text
                    .as_deref()
                    .map(|t| t.split('=').next().unwrap_or(t))
                    .unwrap_or_default();
                let flag = spec
                    .flags
                    .iter()
                    .find(|f| flag.starts_with(f.as_str()))
                    .cloned()
                    .unwrap_or_default();
                (
                    i,
                    Setting::Set(value.and_then(port_of), span, ListenerSource::Flag(flag)),
                )
            });
        let from_prefix = args.iter().enumerate().rev().find_map(|(i, arg)| {
            let text = arg.text.as_deref()?;
            let prefix = spec
                .prefixes
                .iter()
                .find(|p| text.starts_with(p.as_str()))?;
            let value = &text[prefix.len()..];
            let number = value.split(',').next().unwrap_or(value);
            let port = number.parse().ok().filter(|p: &u16| *p > 0);
            let span = tail_span(arg, value);
            let span = if span == arg.span {
                span
            } else {
                span.sub(0, number.len())
            };
            Some((
                i,
                Setting::Set(port, span, ListenerSource::Flag(prefix.clone())),
            ))
        });
        let from_positional = spec.positional.and_then(|n| {
            let list = positionals(args, &spec.switches);
            match list.get(n) {
                Some(Some((i, arg))) => {
                    let text = arg.text.as_deref();
                    let port = match spec.display_base {
                        Some(base) => text
                            .map(|t| t.trim_start_matches(':'))
                            .and_then(|t| t.split('.').next())
                            .and_then(|t| t.parse::<u16>().ok())
                            .and_then(|d| base.checked_add(d)),
                        None => text.and_then(port_of),
                    };
                    let how = ListenerSource::Flag(format!("argument {}", n + 1));
                    Some((*i, Setting::Set(port, arg.span, how)))
                }
                Some(None) => Some((usize::MAX, Setting::Unknown)),
                None if list.last().is_some_and(Option::is_none) => {
                    Some((usize::MAX, Setting::Unknown))
                }
                None => None,
            }
        });
        // The last word that sets it wins, as programs read their arguments.
        let chosen = [from_flag, from_prefix, from_positional]
            .into_iter()
            .flatten()
            .max_by_key(|(i, _)| if *i == usize::MAX { 0 } else { *i + 1 });
        let open_here = |span: Span| OpenListener {
            program: program.to_owned(),
            name: spec.name.clone(),
            role: spec.role.clone(),
            place,
            span,
        };
        let (port, span, source) = match chosen {
            Some((_, Setting::Unknown)) => {
                open.push(open_here(anchor));
                continue;
            }
            Some((i, Setting::Set(port, span, source))) => {
                // Set, but not statically: nothing is known about this listener's port.
                let Some(port) = port else {
                    open.push(open_here(span));
                    continue;
                };
                if spread_from.is_some_and(|s| s > i) {
                    open.push(open_here(args[spread_from.unwrap_or(i)].span));
                }
                (port, span, source)
            }
            None => {
                if let Some(s) = spread_from {
                    open.push(open_here(args[s].span));
                }
                if let Some((name, value, span)) = env
                    .iter()
                    .rev()
                    .find(|(name, _, _)| spec.env.iter().any(|e| e == name))
                {
                    match value.as_deref().and_then(port_of) {
                        Some(port) => (port, *span, ListenerSource::Env(name.clone())),
                        None => {
                            open.push(open_here(*span));
                            continue;
                        }
                    }
                } else if spec.default == 0 {
                    continue;
                } else {
                    (spec.default, anchor, ListenerSource::Default)
                }
            }
        };
        out.push(Listener {
            port,
            place,
            program: program.to_owned(),
            name: spec.name.clone(),
            role: spec.role.clone(),
            source,
            span,
            health: spec.health.clone(),
            http: spec.http,
            site: Default::default(),
        });
    }
    (out, open)
}

/// The listeners of one command line. Returns whether the program is known (so that its
/// listener list is complete).
pub fn listeners_of_command(
    kb: &Knowledge,
    command: &CommandLine,
    place: Place,
) -> (Vec<Listener>, bool) {
    let heard = hear(kb, command, place, &mut Settings::default());
    (heard.listeners, heard.known)
}

/// Everything one command line of a script says about listeners; `settings` carries what
/// earlier commands of the same script stored.
pub fn hear(kb: &Knowledge, command: &CommandLine, place: Place, settings: &mut Settings) -> Heard {
    let Some((index, width, name)) = resolve(kb, &command.words) else {
        return Heard::default();
    };
    let anchor = command.words[index].span;
    let base = command.words[index].text.as_deref().unwrap_or_default();
    let base = base.rsplit('/').next().unwrap_or(base);
    if let Some(runner) = kb.container_runners.get(base) {
        let rest = &command.words[index + 1..];
        if let Some(sub) = runner
            .subcommands
            .iter()
            .find_map(|s| starts_with_words(rest, s))
        {
            return container_run(kb, runner, &rest[sub..], anchor, place);
        }
    }
    let rest = command.words.get(index + width..).unwrap_or(&[]);
    if let Some((name, program)) = kb.program(&name) {
        if let Some(after) = program
            .settings
            .iter()
            .find_map(|s| starts_with_words(rest, s))
        {
            settings
                .0
                .entry(name.to_owned())
                .or_default()
                .extend(rest[after..].iter().cloned());
            return Heard {
                known: true,
                ..Heard::default()
            };
        }
        let not_serving = |arg: &Arg, first: bool| {
            arg.text.as_deref().is_some_and(|t| {
                program.not_serving.iter().any(|w| {
                    if w.starts_with('-') {
                        t == w
                            || t.strip_prefix(w.as_str())
                                .is_some_and(|r| r.starts_with('='))
                    } else {
                        first && t == w
                    }
                })
            })
        };
        if rest.iter().enumerate().any(|(i, a)| not_serving(a, i == 0)) {
            return Heard {
                known: true,
                ..Heard::default()
            };
        }
        let mut args = settings.0.get(name).cloned().unwrap_or_default();
        args.extend(rest.iter().cloned());
        let (listeners, open) =
            read_specs(&program.listeners, name, anchor, &args, &command.env, place);
        return Heard {
            listeners,
            open,
            known: true,
        };
    }
    let args = &command.words[index + 1..];
    Heard {
        listeners: unknown_program(&name, anchor, args, &command.prefix, place),
        ..Heard::default()
    }
}

/// The index after `words` (space separated, `config set`) when `args` starts with them.
fn starts_with_words(args: &[Arg], words: &str) -> Option<usize> {
    let mut n = 0;
    for word in words.split_whitespace() {
        if args.get(n)?.text.as_deref() != Some(word) {
            return None;
        }
        n += 1;
    }
    Some(n)
}

/// An unknown program that says `--port N`, or has `PORT=N` written before it.
fn unknown_program(
    name: &str,
    anchor: Span,
    args: &[Arg],
    prefix: &[(String, Option<String>, Span)],
    place: Place,
) -> Vec<Listener> {
    // A shell's `--port N` goes to the script it runs (`bash -s -- --port N <<EOF`), which
    // may or may not start a server with it.
    if shell::BUILTINS.contains(&name) || shell::SHELLS.contains(&name) {
        return Vec::new();
    }
    let label = match args.first().and_then(|a| a.text.as_deref()) {
        Some(sub) if !sub.starts_with('-') => format!("{name} {sub}"),
        _ => name.to_owned(),
    };
    if flag_value(args, "--port").is_none() {
        let Some((port, span)) = prefix
            .iter()
            .rev()
            .find(|(name, _, _)| name == "PORT")
            .and_then(|(_, value, span)| Some((value.as_deref().and_then(port_of)?, *span)))
        else {
            return Vec::new();
        };
        return vec![Listener {
            port,
            place,
            program: label,
            name: "http".to_owned(),
            role: None,
            source: ListenerSource::Env("PORT".to_owned()),
            span,
            health: None,
            http: true,
            site: Default::default(),
        }];
    }
    let generic = ListenerSpec {
        name: "http".to_owned(),
        role: None,
        default: 0,
        flags: vec!["--port".to_owned()],
        env: Vec::new(),
        health: None,
        http: true,
        positional: None,
        switches: Vec::new(),
        prefixes: Vec::new(),
        display_base: None,
        config: None,
    };
    read_specs(&[generic], &label, anchor, args, &[], place).0
}

/// `docker run [options] IMAGE ...`: each `-p H:C` listens on H where the command runs, and
/// is the image's listener on C when the knowledge base knows it; with `--network host` the
/// image's own listeners are there.
fn container_run(
    kb: &Knowledge,
    runner: &ContainerRunner,
    args: &[Arg],
    anchor: Span,
    place: Place,
) -> Heard {
    let mut published: Vec<(Option<&str>, Span, String)> = Vec::new();
    let mut host_network = false;
    let mut publish_all: Option<Span> = None;
    let mut image: Option<&Arg> = None;
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        let Some(text) = arg.text.as_deref() else {
            if arg.spread {
                continue;
            }
            image = Some(arg);
            break;
        };
        if !text.starts_with('-') || text == "-" {
            image = Some(arg);
            break;
        }
        if text == "--" {
            image = args.get(i);
            break;
        }
        let (name, inline) = match text.split_once('=') {
            Some((n, v)) if text.starts_with("--") => (n, Some(v)),
            _ => (text, None),
        };
        let short_inline = (!text.starts_with("--") && text.len() > 2)
            .then(|| {
                runner
                    .publish_flags
                    .iter()
                    .find(|f| f.len() == 2 && text.starts_with(f.as_str()))
            })
            .flatten();
        let value = |i: &mut usize| -> (Option<&str>, Span) {
            if let Some(v) = inline {
                return (Some(v), tail_span(arg, v));
            }
            let next = args.get(*i);
            *i += 1;
            next.map_or((None, arg.span), |n| (n.text.as_deref(), n.span))
        };
        if let Some(flag) = short_inline {
            let v = &text[flag.len()..];
            published.push((Some(v), tail_span(arg, v), flag.clone()));
        } else if runner.publish_flags.iter().any(|f| f == name) {
            let (v, span) = value(&mut i);
            published.push((v, span, name.to_owned()));
        } else if runner.publish_all_flags.iter().any(|f| f == name) {
            publish_all = Some(arg.span);
        } else if runner.network_flags.iter().any(|f| f == name) {
            let (v, _) = value(&mut i);
            host_network = v == Some("host");
        } else if runner.value_flags.iter().any(|f| f == name) && inline.is_none() {
            i += 1;
        }
    }
    let image_name = image.and_then(|a| a.text.clone());
    let specs: &[ListenerSpec] = image_name
        .as_deref()
        .and_then(|name| kb.image(name))
        .unwrap_or(&[]);
    let program = image_name
        .as_deref()
        .map(|n| crate::knowledge::image_repository(n).to_owned())
        .unwrap_or_else(|| "container".to_owned());
    let mut heard = Heard {
        known: true,
        ..Heard::default()
    };
    if host_network {
        heard.listeners = read_specs(specs, &program, anchor, &[], &[], place).0;
        return heard;
    }
    // `-P`: every exposed port, on host ports the runtime picks.
    if let Some(span) = publish_all {
        heard.open.push(OpenListener {
            program: program.clone(),
            name: "published".to_owned(),
            role: None,
            place,
            span,
        });
    }
    for (value, span, flag) in published {
        let Some(value) = value else {
            heard.open.push(OpenListener {
                program: program.clone(),
                name: "published".to_owned(),
                role: None,
                place,
                span,
            });
            continue;
        };
        let Some((host, container)) = host_and_container(value) else {
            continue;
        };
        let spec = specs.iter().find(|s| s.default == container);
        let host_at = value.find(&host.to_string()).unwrap_or(0);
        let host_span = if span.end - span.start == value.len() as u32 {
            span.sub(host_at, host_at + host.to_string().len())
        } else {
            span
        };
        heard.listeners.push(Listener {
            port: host,
            place,
            program: program.clone(),
            name: spec.map_or_else(|| format!("{container}"), |s| s.name.clone()),
            role: spec.and_then(|s| s.role.clone()),
            source: ListenerSource::Flag(flag),
            span: host_span,
            health: spec.and_then(|s| s.health.clone()),
            http: spec.is_none_or(|s| s.http),
            site: Default::default(),
        });
    }
    heard
}

/// `H:C`, `IP:H:C`, `[::1]:H:C`, `H:C/tcp` → (H, C), read as compose reads a short port spec.
/// A container port alone or `IP::C` leaves the host port to the runtime, and a range is not one
/// listener: `None`.
fn host_and_container(value: &str) -> Option<(u16, u16)> {
    match crate::parse::compose::short_port_spec(value)? {
        (Some(host), container) if host.start == host.end && container.start == container.end => {
            Some((host.start, container.start))
        }
        _ => None,
    }
}

/// Words of a command written as one string (compose `command: "x --port 1"`), split on white
/// space, with spans when the text maps one to one onto the file.
pub fn split_words(text: &str, span: Span, exact: bool) -> Vec<Arg> {
    let mut out = Vec::new();
    let mut offset = 0;
    for word in text.split_whitespace() {
        let start = offset + text[offset..].find(word).unwrap_or(0);
        let end = start + word.len();
        offset = end;
        let word_span = if exact { span.sub(start, end) } else { span };
        out.push(Arg::new(word.trim_matches(['"', '\'']), word_span));
    }
    out
}

/// The servers an app is for: the workspace's listeners of the program (or role) its slug names.
#[derive(Debug, Default)]
pub struct AppServers<'w> {
    pub listeners: Vec<&'w Listener>,
    /// Whether such a program also runs with a port that is not known statically.
    pub open: bool,
}

impl Workspace {
    /// The listeners in the workspace of the program the app's slug names: the program's name
    /// (or the program of the image a container runs), a role only that program has, or the
    /// knowledge base's slugs for it, compared without case and punctuation (`jupyterlab` is
    /// `jupyter-lab`'s app).
    pub fn app_servers(&self, app: &App) -> AppServers<'_> {
        let slug = squash(&app.slug);
        let kb = &self.knowledge;
        let program_names = |program: &str| {
            squash(program) == slug
                || kb
                    .program(program)
                    .is_some_and(|(_, p)| p.slugs.iter().any(|s| squash(s) == slug))
        };
        // A role names one service only when one program of the knowledge base has it
        // (`convex-site`, not `admin`).
        let one_service = |role: &str| {
            kb.programs
                .values()
                .filter(|p| p.listeners.iter().any(|l| l.role.as_deref() == Some(role)))
                .count()
                == 1
        };
        // A container started by a script is named for its image: the image's program counts.
        let names = |program: &str, role: Option<&str>| {
            program_names(program)
                || role.is_some_and(|r| squash(r) == slug && one_service(r))
                || kb
                    .images
                    .get(crate::knowledge::image_repository(program))
                    .and_then(|image| image.program.as_deref())
                    .is_some_and(program_names)
        };
        AppServers {
            listeners: self
                .listeners
                .iter()
                .filter(|l| l.place == Place::Workspace)
                .filter(|l| !self.apart(app.netns, l.site.netns))
                .filter(|l| names(&l.program, l.role.as_deref()))
                .collect(),
            open: self
                .open_listeners
                .iter()
                .filter(|o| o.place == Place::Workspace)
                .any(|o| names(&o.program, o.role.as_deref())),
        }
    }
}

/// Lowercase letters and digits only: `Jupyter-Lab` → `jupyterlab`.
fn squash(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn words(text: &str) -> Vec<Arg> {
        split_words(text, Span::new(FileId(0), 0, text.len()), true)
    }

    fn ports(text: &str) -> Vec<(u16, String, String)> {
        let kb = Knowledge::builtin();
        let command = CommandLine {
            words: words(text),
            env: vec![("PORT".into(), Some("4000".into()), Span::default())],
            prefix: Vec::new(),
        };
        listeners_of_command(kb, &command, Place::Workspace)
            .0
            .into_iter()
            .map(|l| (l.port, l.program, l.name))
            .collect()
    }

    /// A command line read from compose or Terraform (not through the shell parser) looks
    /// through the same wrappers, with their options and operands, as the shell parser does.
    #[test]
    fn wrappers_are_the_shell_parsers_with_their_options() {
        assert_eq!(
            ports(
                "sudo -u app timeout 30 nice -n 5 env -i A=1 code-server --bind-addr 0.0.0.0:13340"
            ),
            vec![(13340, "code-server".into(), "http".into())]
        );
        assert_eq!(
            ports("/usr/bin/stdbuf -o L exec -a srv code-server --bind-addr 0.0.0.0:13341"),
            vec![(13341, "code-server".into(), "http".into())]
        );
    }

    #[test]
    fn reads_ports_from_flags_env_and_defaults() {
        assert_eq!(
            ports("convex-local-backend --port 3210 --site-proxy-port=3311"),
            vec![
                (3210, "convex-local-backend".into(), "api".into()),
                (3311, "convex-local-backend".into(), "site".into())
            ]
        );
        assert_eq!(
            ports("exec nohup code-server --auth none --bind-addr 0.0.0.0:13337"),
            vec![(13337, "code-server".into(), "http".into())]
        );
        assert_eq!(
            ports("npx next dev -p3001"),
            vec![(3001, "next".into(), "http".into())]
        );
        // PORT from the environment.
        assert_eq!(
            ports("next start"),
            vec![(4000, "next".into(), "http".into())]
        );
        assert_eq!(
            ports("pnpm exec vite"),
            vec![(5173, "vite".into(), "http".into())]
        );
        assert_eq!(
            ports("python -m jupyter lab --port 8890"),
            vec![(8890, "jupyter-lab".into(), "http".into())]
        );
        assert_eq!(
            ports("pnpm dev --host 0.0.0.0 --port 5174"),
            vec![(5174, "pnpm dev".into(), "http".into())]
        );
        assert!(ports("echo --portable").is_empty());
        // A shell hands `--port` to the script it runs; the shell listens on nothing.
        assert!(ports("bash -s -- server --port 4000").is_empty());
        assert!(ports("env A=1 sh ./start.sh --port 4000").is_empty());
        assert_eq!(
            ports("omnigent server --host 127.0.0.1 --port 6767"),
            vec![(6767, "omnigent server".into(), "http".into())]
        );
        // PORT written before an unknown program names its port; a PORT from elsewhere does not.
        let kb = Knowledge::builtin();
        let prefixed = CommandLine {
            words: words("npm run dev"),
            env: vec![("PORT".into(), Some("4000".into()), Span::default())],
            prefix: vec![("PORT".into(), Some("3000".into()), Span::default())],
        };
        let found = listeners_of_command(kb, &prefixed, Place::Workspace).0;
        assert_eq!(
            found
                .iter()
                .map(|l| (l.port, l.program.as_str()))
                .collect::<Vec<_>>(),
            vec![(3000, "npm run")]
        );
        assert!(ports("mkdir -p /tmp/x").is_empty());
        // A launcher's option that takes a value is not the program.
        assert_eq!(
            ports("npx -p @scope/tools --yes vite --port 5180"),
            vec![(5180, "vite".into(), "http".into())]
        );
        assert_eq!(
            ports("uvx --from jupyterlab jupyter-lab --port 8899"),
            vec![(8899, "jupyter-lab".into(), "http".into())]
        );
        // Without its subcommand, a launcher is the program: `pnpm dev` above, `python app.py`.
        assert!(ports("python app.py").is_empty());
    }

    #[test]
    fn a_user_knowledge_file_adds_a_launcher() {
        let text = "doppler run --project web -- next dev -p 3001";
        let command = CommandLine {
            words: words(text),
            ..CommandLine::default()
        };
        let (found, known) = listeners_of_command(Knowledge::builtin(), &command, Place::Workspace);
        assert!(!known && found.is_empty(), "{found:?}");

        let mut kb = Knowledge::builtin().clone();
        kb.extend(
            Knowledge::parse(
                "launchers:\n  doppler: { subcommands: [run], value_flags: [--project, -p] }\n",
            )
            .unwrap(),
        );
        let (found, known) = listeners_of_command(&kb, &command, Place::Workspace);
        assert!(known);
        assert_eq!(
            found
                .iter()
                .map(|l| (l.port, l.program.as_str()))
                .collect::<Vec<_>>(),
            vec![(3001, "next")]
        );
    }

    #[test]
    fn flag_spans_point_at_the_value() {
        let args = words("--port=3210 -p 5");
        let (value, span) = flag_value(&args, "--port").unwrap();
        assert_eq!((value, span.start, span.end), (Some("3210"), 7, 11));
        let (value, span) = flag_value(&args, "-p").unwrap();
        assert_eq!((value, span.start), (Some("5"), 15));
    }

    /// (command line, listeners as `port program source`) for the programs real templates run.
    fn heard(text: &str) -> (Vec<String>, usize) {
        let command = CommandLine {
            words: words(text),
            ..CommandLine::default()
        };
        let heard = hear(
            Knowledge::builtin(),
            &command,
            Place::Workspace,
            &mut Settings::default(),
        );
        let found = heard
            .listeners
            .iter()
            .map(|l| format!("{} {}", l.program, describe_source(l)))
            .collect();
        (found, heard.open.len())
    }

    fn describe_source(l: &Listener) -> String {
        crate::model::chain::describe(l)
    }

    #[test]
    fn positional_subcommand_and_prefix_ports() {
        let table: &[(&str, &[&str])] = &[
            ("python3 -m http.server", &["http.server 8000 (default)"]),
            (
                "python3 -m http.server 9000 --bind 127.0.0.1",
                &["http.server 9000 (argument 1)"],
            ),
            (
                "python3 -m http.server --bind 0.0.0.0 9001",
                &["http.server 9001 (argument 1)"],
            ),
            (
                "python3 -m http.server --cgi 9002",
                &["http.server 9002 (argument 1)"],
            ),
            // `serve-local` is VS Code Server whatever the binary is called.
            (
                "/tmp/code-server/bin/code-server serve-local --port 13338",
                &["vscode-server 13338 (--port)"],
            ),
            (
                "/opt/vscode/bin/code-server serve-local",
                &["vscode-server 8000 (default)"],
            ),
            (
                "code serve-web --port 8001",
                &["vscode-server 8001 (--port)"],
            ),
            ("rserver --www-port=8788", &["rserver 8788 (--www-port)"]),
            (
                "jupyter lab --ServerApp.port=8890",
                &["jupyter-lab 8890 (--ServerApp.port)"],
            ),
            (
                "jupyter notebook --port 8891",
                &["jupyter-notebook 8891 (--port)"],
            ),
            ("ttyd -p 7682 bash", &["ttyd 7682 (-p)"]),
            (
                "socat TCP-LISTEN:8080,fork,reuseaddr TCP:localhost:80",
                &["socat 8080 (TCP-LISTEN:)"],
            ),
            ("socat TCP4-LISTEN:9090 -", &["socat 9090 (TCP4-LISTEN:)"]),
            ("socat - TCP:example.com:80", &[]),
            ("broadwayd :5", &["broadwayd 8085 (argument 1)"]),
            ("broadwayd", &["broadwayd 8080 (default)"]),
            (
                "rclone rcd --rc-addr=127.0.0.1:5573",
                &["rclone-rcd 5573 (--rc-addr)"],
            ),
            ("rclone rcd", &["rclone-rcd 5572 (default)"]),
            ("rclone copy a b", &[]),
            (
                "websockify --web /usr/share/novnc 0.0.0.0:6080 localhost:5901",
                &["websockify 6080 (argument 1)"],
            ),
            (
                "websockify 6081 localhost:5901",
                &["websockify 6081 (argument 1)"],
            ),
            (
                "python3 /tmp/copyparty-sfx.py -p 3924",
                &["copyparty 3924 (-p)"],
            ),
            (
                "open-webui serve --port 7800",
                &["open-webui 7800 (--port)"],
            ),
            ("airflow webserver", &["airflow-webserver 8080 (default)"]),
            ("airflow scheduler", &[]),
            // Runs that do something else than serve.
            ("code-server --install-extension ms-python.python", &[]),
            ("filebrowser users add admin pw", &[]),
            ("ttyd --version", &[]),
            // Shell builtins never serve, whatever they are given.
            ("set -- server --port 4000", &[]),
            ("echo --port 4000", &[]),
        ];
        for (text, want) in table {
            assert_eq!(heard(text).0, *want, "{text}");
        }
    }

    /// A flag that moves a port replaces the default: one listener, where the flag says.
    #[test]
    fn a_flag_replaces_the_default() {
        let table: &[(&str, &[&str])] = &[
            ("ttyd -p 7684 bash", &["ttyd 7684 (-p)"]),
            (
                "code-server --bind-addr 0.0.0.0:13337",
                &["code-server 13337 (--bind-addr)"],
            ),
            // The last of several flags wins, as the program reads them.
            (
                "code-server --bind-addr 0.0.0.0:8080 --port 13337",
                &["code-server 13337 (--port)"],
            ),
            ("broadwayd --port 9000 :3", &["broadwayd 8083 (argument 1)"]),
        ];
        for (text, want) in table {
            assert_eq!(heard(text).0, *want, "{text}");
        }
    }

    #[test]
    fn settings_subcommands_count_for_later_runs() {
        let kb = Knowledge::builtin();
        let mut settings = Settings::default();
        let line = |text: &str| CommandLine {
            words: words(text),
            ..CommandLine::default()
        };
        let set = hear(
            kb,
            &line("filebrowser config set --port=13340 --root=/home"),
            Place::Workspace,
            &mut settings,
        );
        assert!(set.known && set.listeners.is_empty());
        let run = hear(kb, &line("filebrowser"), Place::Workspace, &mut settings);
        let ports: Vec<String> = run.listeners.iter().map(describe_source).collect();
        assert_eq!(ports, ["13340 (--port)"]);
        // The run's own flag wins over the stored one.
        let run = hear(
            kb,
            &line("filebrowser -p 13341"),
            Place::Workspace,
            &mut settings,
        );
        let ports: Vec<String> = run.listeners.iter().map(describe_source).collect();
        assert_eq!(ports, ["13341 (-p)"]);
        // In another script (fresh settings), the default.
        let run = hear(
            kb,
            &line("filebrowser"),
            Place::Workspace,
            &mut Settings::default(),
        );
        assert_eq!(run.listeners[0].port, 8080);
    }

    #[test]
    fn docker_run_publishes_host_ports_where_the_script_runs() {
        let table: &[(&str, &[&str])] = &[
            (
                "docker run -d --rm --name r -p 8787:8787 -e A=1 rocker/rstudio",
                &["rocker/rstudio 8787 (-p)"],
            ),
            (
                "docker run --publish=127.0.0.1:13000:3000 -v /a:/b grafana/grafana:11",
                &["grafana/grafana 13000 (--publish)"],
            ),
            ("podman run -p8081:80/tcp nginx", &["nginx 8081 (-p)"]),
            ("docker run -p [::1]:8082:80 nginx", &["nginx 8082 (-p)"]),
            (
                "docker container run -p 5433:5432 postgres:16",
                &["postgres 5433 (-p)"],
            ),
            // The runtime picks the host port: nothing known on the workspace.
            ("docker run -p 3000 example/app", &[]),
            ("docker run -P example/app", &[]),
            (
                "docker run --publish-all -p 8081:80 nginx",
                &["nginx 8081 (-p)"],
            ),
            ("docker run -p 127.0.0.1::3000 example/app", &[]),
            // Host networking: the image's own listeners.
            (
                "docker run --network host ghcr.io/get-convex/convex-backend",
                &[
                    "ghcr.io/get-convex/convex-backend 3210 (default)",
                    "ghcr.io/get-convex/convex-backend 3211 (default)",
                ],
            ),
            // The command after the image is the container's, not docker's.
            ("docker run example/app -p 1:2", &[]),
            ("docker ps -p 1:2", &[]),
        ];
        for (text, want) in table {
            assert_eq!(heard(text).0, *want, "{text}");
        }
        // The span is the host port's.
        let text = "docker run -p 127.0.0.1:8788:8787 rocker/rstudio";
        let command = CommandLine {
            words: words(text),
            ..CommandLine::default()
        };
        let heard = hear(
            Knowledge::builtin(),
            &command,
            Place::Workspace,
            &mut Settings::default(),
        );
        let at = text.find("8788").unwrap();
        assert_eq!(heard.listeners[0].span.range(), at..at + 4);
    }

    /// Values only the running script knows leave the listener open, never a wrong port.
    #[test]
    fn unknown_words_leave_listeners_open() {
        let open = |text: &str, spread: &[usize]| {
            let mut words = words(text);
            for &i in spread {
                words[i].text = None;
                words[i].spread = true;
            }
            let command = CommandLine {
                words,
                ..CommandLine::default()
            };
            let heard = hear(
                Knowledge::builtin(),
                &command,
                Place::Workspace,
                &mut Settings::default(),
            );
            let found: Vec<String> = heard.listeners.iter().map(describe_source).collect();
            (found, heard.open.len())
        };
        // `ttyd -p $P`, P unknown: no listener, one open.
        assert_eq!(open("ttyd -p X", &[2]), (vec![], 1));
        // `ttyd $ARGS`: the default may be moved by the unknown words.
        assert_eq!(
            open("ttyd X", &[1]),
            (vec!["7681 (default)".to_string()], 1)
        );
        // A flag after the unknown words is known and nothing can move it.
        assert_eq!(
            open("ttyd X -p 7682", &[1]),
            (vec!["7682 (-p)".to_string()], 0)
        );
        assert_eq!(
            open("ttyd -p 7682 X", &[3]),
            (vec!["7682 (-p)".to_string()], 1)
        );
        // A positional port after unknown words: unknown.
        assert_eq!(open("python3 -m http.server X 8000", &[3]), (vec![], 1));
        assert_eq!(open("docker run -p X nginx", &[3]), (vec![], 1));
        assert_eq!(open("docker run -P rocker/rstudio", &[]), (vec![], 1));
    }
}
