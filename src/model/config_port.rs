//! Ports a program reads from a config file the script that starts it writes: kasmvncserver
//! reads `network.websocket_port` from the kasmvnc.yaml a heredoc wrote. The knowledge base
//! names the file and the key (`config` of a listener); a flag on the command line still wins.

use crate::knowledge::Knowledge;
use crate::source::Span;

use super::listen::{self, Arg};
use super::{Listener, ListenerSource, Place};

/// A file a script writes.
#[derive(Debug, Clone)]
pub struct WrittenConfig {
    /// The base names its target may have (one per assignment that could reach it).
    pub names: Vec<String>,
    /// Its text after the shell's expansions, when known.
    pub text: Option<String>,
    /// Its text as written, and where: `span` maps it byte for byte when `exact`.
    pub raw: String,
    pub span: Span,
    pub exact: bool,
}

/// The listeners the program `words` run reads from files in `configs`, for the listeners
/// `heard` does not already hold from the command line.
pub fn listeners(
    kb: &Knowledge,
    words: &[Arg],
    configs: &[WrittenConfig],
    heard: &[Listener],
    place: Place,
) -> Vec<Listener> {
    let Some((_, name)) = listen::program(kb, words) else {
        return Vec::new();
    };
    let Some((name, program)) = kb.program(&name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for spec in &program.listeners {
        let Some(config) = &spec.config else {
            continue;
        };
        let set_on_command_line = heard.iter().any(|l| {
            l.program == name && l.name == spec.name && l.source != ListenerSource::Default
        });
        if set_on_command_line {
            continue;
        }
        let path: Vec<&str> = config.key.split('.').collect();
        // The last file written wins, as the program reads what is there when it starts.
        let found = configs.iter().rev().find_map(|file| {
            if !file.names.iter().any(|n| config.files.contains(n)) {
                return None;
            }
            let port = file
                .text
                .as_deref()
                .and_then(|t| value_at(t, &path))
                .and_then(|(_, v)| listen::port_of(v))?;
            let span = match value_at(&file.raw, &path) {
                Some((range, _)) if file.exact => file.span.sub(range.start, range.end),
                _ => file.span,
            };
            Some((port, span))
        });
        if let Some((port, span)) = found {
            out.push(Listener {
                port,
                place,
                program: name.to_owned(),
                name: spec.name.clone(),
                role: spec.role.clone(),
                source: ListenerSource::Flag(format!("{} in {}", config.key, config.files[0])),
                span,
                health: spec.health.clone(),
                http: spec.http,
                site: Default::default(),
            });
        }
    }
    out
}

/// The value of the key at `path` in a YAML text of block mappings, and its byte range: `None`
/// when it is not there or not a plain scalar on the key's line.
fn value_at<'t>(text: &'t str, path: &[&str]) -> Option<(std::ops::Range<usize>, &'t str)> {
    // The keys that enclose the current line, with their indentation.
    let mut stack: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let content = body.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') || content.starts_with('-') {
            continue;
        }
        let indent = body.len() - content.len();
        let Some((key, rest)) = content.split_once(':') else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
            continue;
        }
        let key = key.trim().trim_matches(['"', '\'']);
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, key));
        if stack.len() != path.len() || !stack.iter().zip(path).all(|((_, k), p)| k == p) {
            continue;
        }
        let value = rest.split(" #").next().unwrap_or(rest);
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return None;
        }
        let at =
            start + indent + content.len() - rest.len() + (value.len() - value.trim_start().len());
        return Some((at..at + trimmed.len(), trimmed));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::value_at;

    #[test]
    fn keys_of_block_mappings_are_found_with_their_ranges() {
        // (text, key, its value)
        let table: &[(&str, &str, Option<&str>)] = &[
            ("network:\n  websocket_port: 6800\n", "network.websocket_port", Some("6800")),
            (
                "network:\n  protocol: http\n  ssl:\n    port: 1\n  websocket_port: ${PORT}  # the app\n",
                "network.websocket_port",
                Some("${PORT}"),
            ),
            ("network:\n  ssl:\n    websocket_port: 1\n", "network.websocket_port", None),
            ("websocket_port: 2\nnetwork:\n  x: 1\n", "network.websocket_port", None),
            ("other:\n  websocket_port: 3\nnetwork:\n  websocket_port: 4\n", "network.websocket_port", Some("4")),
            ("network:\n  websocket_port:\n", "network.websocket_port", None),
            ("port: 5\n", "port", Some("5")),
            ("url: http://x:1\n", "url", Some("http://x:1")),
            ("", "port", None),
        ];
        for (text, key, want) in table {
            let path: Vec<&str> = key.split('.').collect();
            let got = value_at(text, &path);
            assert_eq!(got.as_ref().map(|(_, v)| *v), *want, "{text}");
            if let Some((range, value)) = got {
                assert_eq!(&text[range], value);
            }
        }
    }
}
