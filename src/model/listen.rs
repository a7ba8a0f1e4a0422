//! Which ports a command line listens on, from the knowledge base.
//!
//! Works on a plain list of words (from a shell script, a compose `command`/`entrypoint`, or
//! a Terraform container), so every source of commands shares one reading:
//! wrappers (`exec`, `nohup`) and the knowledge base's launchers (`npx`, `pnpm exec`,
//! `python -m`...) are skipped, the program is
//! looked up, and each of its listeners takes its port from a flag, an env variable, or its
//! default. An unknown program with `--port N` still counts as a listener on N.

use crate::knowledge::{Knowledge, ListenerSpec};
use crate::parse::shell;
use crate::source::Span;

use super::{Listener, ListenerSource, Place};

/// One word of a command line: its value when known statically, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub text: Option<String>,
    pub span: Span,
}

impl Arg {
    pub fn new(text: impl Into<String>, span: Span) -> Self {
        Arg {
            text: Some(text.into()),
            span,
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

/// The index of the program word after wrappers, and its name as the knowledge base knows it.
pub fn program(kb: &Knowledge, words: &[Arg]) -> Option<(usize, String)> {
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
                    return Some((i, name_of(kb, base, next)));
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
            _ => return Some((i, name_of(kb, base, next))),
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

/// The knowledge base's name for the program run as `base` (followed by `next`): two-word names
/// such as `jupyter lab` first.
fn name_of(kb: &Knowledge, base: &str, next: Option<&str>) -> String {
    if let Some(next) = next {
        if let Some((name, _)) = kb.program(&format!("{base} {next}")) {
            return name.to_owned();
        }
    }
    kb.program(base)
        .map(|(n, _)| n.to_owned())
        .unwrap_or_else(|| base.to_owned())
}

/// The value of a flag among `args`: `--port 3210`, `--port=3210`, `-p3000`. The last one wins.
pub fn flag_value<'a>(args: &'a [Arg], flag: &str) -> Option<(Option<&'a str>, Span)> {
    let mut found = None;
    for (i, arg) in args.iter().enumerate() {
        let Some(text) = arg.text.as_deref() else {
            continue;
        };
        if text == flag {
            if let Some(value) = args.get(i + 1) {
                found = Some((value.text.as_deref(), value.span));
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
                let offset = text.len() - v.len();
                let span = if arg.span.end - arg.span.start == text.len() as u32 {
                    arg.span.sub(offset, text.len())
                } else {
                    arg.span
                };
                found = Some((Some(v), span));
            }
        }
    }
    found
}

/// A port from a flag or env value: `3210`, `:3210`, `0.0.0.0:3210`, `[::]:3210`.
pub fn port_of(value: &str) -> Option<u16> {
    let value = value.trim().trim_matches(['"', '\'']);
    let tail = value.rsplit(':').next().unwrap_or(value);
    tail.parse().ok().filter(|p| *p > 0)
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
    let mut out = Vec::new();
    for spec in specs {
        let from_flag = spec.flags.iter().find_map(|flag| {
            let (value, span) = flag_value(args, flag)?;
            Some((value.and_then(port_of), span, flag.clone()))
        });
        let (port, span, source) = if let Some((port, span, flag)) = from_flag {
            match port {
                Some(port) => (port, span, ListenerSource::Flag(flag)),
                // Set, but not statically: nothing is known about this listener's port.
                None => continue,
            }
        } else if let Some((name, value, span)) = env
            .iter()
            .rev()
            .find(|(name, _, _)| spec.env.iter().any(|e| e == name))
        {
            match value.as_deref().and_then(port_of) {
                Some(port) => (port, *span, ListenerSource::Env(name.clone())),
                None => continue,
            }
        } else {
            (spec.default, anchor, ListenerSource::Default)
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
    out
}

/// The listeners of one command line. Returns whether the program is known (so that its
/// listener list is complete).
pub fn listeners_of_command(
    kb: &Knowledge,
    command: &CommandLine,
    place: Place,
) -> (Vec<Listener>, bool) {
    let Some((index, name)) = program(kb, &command.words) else {
        return (Vec::new(), false);
    };
    let anchor = command.words[index].span;
    let args = &command.words[index + 1..];
    if let Some((name, program)) = kb.program(&name) {
        return (
            listeners_of(&program.listeners, name, anchor, args, &command.env, place),
            true,
        );
    }
    // An unknown program that says `--port N`.
    let generic = ListenerSpec {
        name: "http".to_owned(),
        role: None,
        default: 0,
        flags: vec!["--port".to_owned()],
        env: Vec::new(),
        health: None,
        http: true,
    };
    let port_from_prefix = command
        .prefix
        .iter()
        .rev()
        .find(|(name, _, _)| name == "PORT")
        .and_then(|(_, value, span)| Some((value.as_deref().and_then(port_of)?, *span)));
    if flag_value(args, "--port").is_none() {
        let Some((port, span)) = port_from_prefix else {
            return (Vec::new(), false);
        };
        let label = match args.first().and_then(|a| a.text.as_deref()) {
            Some(sub) if !sub.starts_with('-') => format!("{name} {sub}"),
            _ => name,
        };
        let listener = Listener {
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
        };
        return (vec![listener], false);
    }
    let label = match args.first().and_then(|a| a.text.as_deref()) {
        Some(sub) if !sub.starts_with('-') => format!("{name} {sub}"),
        _ => name,
    };
    let listeners = listeners_of(&[generic], &label, anchor, args, &[], place)
        .into_iter()
        .filter(|l| l.port != 0)
        .collect();
    (listeners, false)
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
}
