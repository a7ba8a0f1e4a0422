//! Loading `portolan.yaml`: YAML → [`Spec`] → validation.
//!
//! Every problem becomes a [`Diagnostic`] with the span of the offending text. Errors stop the
//! load; warnings come back with the spec.

use std::collections::HashMap;
use std::path::Path;

use serde_saphyr::options::DuplicateKeyPolicy;

use super::reference::{self, Part, RefKind};
use super::{Located, Spec};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, LineCol, SourceMap, Span};

/// A spec that passed validation, with the warnings it earned.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub spec: Spec,
    pub file: FileId,
    pub warnings: Vec<Diagnostic>,
}

/// Why a spec could not be loaded: at least one error, plus any warnings found on the way.
#[derive(Debug, Clone)]
pub struct SpecError {
    pub diagnostics: Vec<Diagnostic>,
}

/// Coder's limit for one DNS label; longer subdomain hosts fall back to a hashed form.
pub const DNS_LABEL_MAX: usize = 63;
/// Room below which a slug is reported: what `{slug}--{agent}--` leaves for `{workspace}--{owner}`.
pub const MIN_ROOM_FOR_WORKSPACE_AND_OWNER: usize = 24;

/// Parses and validates the spec at `path` (as reports should show it) with the given text.
pub fn load(path: &Path, text: &str, sources: &mut SourceMap) -> Result<LoadedSpec, SpecError> {
    let file = sources.add(path, text);
    let source = sources.get(file);
    let options = serde_saphyr::options! { duplicate_keys: DuplicateKeyPolicy::Error };
    let spec: Spec = match serde_saphyr::from_str_with_options(text, options) {
        Ok(spec) => spec,
        Err(err) => {
            let (span, message) = yaml_error(file, source, &err);
            return Err(SpecError {
                diagnostics: vec![Diagnostic::error(span, message)],
            });
        }
    };
    let spec_file = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let diagnostics = Validator::new(&spec, file, text, spec_file).run();
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(SpecError { diagnostics });
    }
    Ok(LoadedSpec {
        spec,
        file,
        warnings: diagnostics,
    })
}

/// Turns a YAML or type error into a span and a message without the parser's own location text.
fn yaml_error(
    file: FileId,
    source: &crate::source::SourceFile,
    err: &serde_saphyr::Error,
) -> (Span, String) {
    let start = err
        .location()
        .map(|loc| {
            source.offset(LineCol {
                line: u32::try_from(loc.line()).unwrap_or(1),
                column: u32::try_from(loc.column()).unwrap_or(1),
            })
        })
        .unwrap_or(0);
    let token_len = source.text[start..]
        .find(|c: char| c.is_whitespace() || c == ':' || c == ',' || c == '}' || c == ']')
        .unwrap_or(source.text.len() - start);
    let span = Span::new(file, start, start + token_len);
    let full = err.to_string();
    let first_line = full.lines().next().unwrap_or("invalid YAML");
    let message = clean_message(first_line);
    (span, message)
}

/// Rewrites the YAML library's messages into portolan's voice, without its location prefix.
fn clean_message(raw: &str) -> String {
    let mut text = raw.strip_prefix("error: ").unwrap_or(raw);
    if let Some(rest) = text.strip_prefix("line ") {
        if let Some((_, after)) = rest.split_once(": ") {
            text = after;
        }
    }
    let text = strip_location(text);
    if let Some(rest) = text.strip_prefix("unknown field `") {
        if let Some((field, expected)) = rest.split_once('`') {
            let candidates: Vec<&str> = expected
                .trim_start_matches(", expected one of ")
                .trim_start_matches(", expected ")
                .split(", ")
                .map(|c| c.trim_matches('`'))
                .filter(|c| !c.is_empty())
                .collect();
            return match did_you_mean(field, candidates.iter().copied()) {
                Some(best) => format!("unknown field `{field}`; did you mean `{best}`?"),
                None if !candidates.is_empty() => format!(
                    "unknown field `{field}`; expected one of {}",
                    candidates.join(", ")
                ),
                None => format!("unknown field `{field}`"),
            };
        }
    }
    if let Some(rest) = text.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return format!(
            "`{key}` appears twice in the same mapping; each service, port, app slug and key may appear once"
        );
    }
    if text.contains("untagged enum PortSpec") {
        return "expected a port number from 1 to 65535, or `{ port: N, host: M }`".to_owned();
    }
    if text.contains("untagged enum CommandLine") {
        return "expected a command string or a list of arguments".to_owned();
    }
    text.to_owned()
}

/// Drops a trailing " at line N column M" the YAML library adds; reports print their own.
fn strip_location(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) => message[..i].trim_end_matches(','),
        None => message,
    }
}

/// The closest candidate by edit distance, if close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len().max(word.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub use crate::coder::{is_valid_env_name, is_valid_slug};

fn is_valid_service_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Files portolan writes itself (render and the start script); an `env_files` entry may not
/// name them. Compared case-insensitively, for case-insensitive file systems.
pub const RESERVED_PATHS: &[&str] = &[
    ".env",
    "docker-compose.yml",
    "start-workspace.sh",
    "coder-apps.tf",
    "main.tf",
];

/// Folders no env file goes into: the start script's state (secrets, logs, pid files) and git's.
pub const RESERVED_FOLDERS: &[&str] = &[".portolan", ".git"];

/// A DNS name: labels of ASCII letters, digits and `-` (not first or last), 1 to 63 characters,
/// joined by single dots, at most 253 characters; optionally followed by `:PORT`.
pub fn is_dns_name(text: &str) -> bool {
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u16>().is_ok_and(|n| n > 0)
    });
    port_ok
        && !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= DNS_LABEL_MAX
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
                && bytes[0] != b'-'
                && bytes[bytes.len() - 1] != b'-'
        })
}

/// A path of safe characters: `/`-separated parts of ASCII letters, digits, `.`, `_`, `-`, `+`
/// and `@`, not starting with `-`. Such a path means the same in every language portolan writes.
fn is_safe_path(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && text.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-' | b'+' | b'@')
        })
}

/// A URL path with an optional query: `/` then RFC 3986 path and query characters, except the
/// sub-delimiters that mean something to a shell (`$ ' ( ) ! *`; write them as `%24` and so on),
/// and `%` only as `%HH`.
pub fn is_url_path(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'/') {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !hex(i + 1) || !hex(i + 2) {
                return false;
            }
            i += 3;
            continue;
        }
        let ok = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'/'
                    | b':'
                    | b'@'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'&'
                    | b'?'
            );
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// `path` without `.` and empty parts, lowercased: what it names on a case-insensitive file
/// system. `None` when it has a `..` part.
fn normalized_path(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            part => parts.push(part.to_ascii_lowercase()),
        }
    }
    Some(parts.join("/"))
}

/// A spec value as a message shows it: in backticks, or debug-quoted when it holds characters
/// that would garble a report (control characters, backticks); long values are cut.
fn shown(value: &str) -> String {
    const MAX: usize = 80;
    let cut: String = value.chars().take(MAX).collect();
    let more = if value.chars().count() > MAX {
        "…"
    } else {
        ""
    };
    if cut.chars().any(|c| c.is_control() || c == '`') {
        format!("{cut:?}{more}")
    } else {
        format!("`{cut}{more}`")
    }
}

/// What a secret name already means to the tools a secret reaches (the start script exports each
/// secret to docker compose, which reads `${...}` from its environment before `.env`, and writes
/// it to `.env`), or `None` when the name is free. The start script's own variables are out of
/// reach: it keeps secrets in an array.
fn reserved_secret_name(name: &str) -> Option<&'static str> {
    const PREFIXES: &[(&str, &str)] = &[
        ("ORIGIN_", "`ORIGIN_*` names hold the apps' origins"),
        ("PORTOLAN_", "`PORTOLAN_*` names configure portolan"),
        ("portolan_", "`portolan_*` names are the start script's own"),
        ("CODER_", "`CODER_*` names are set by the Coder agent"),
        ("DOCKER_", "`DOCKER_*` names configure docker"),
        ("COMPOSE_", "`COMPOSE_*` names configure docker compose"),
        ("BASH", "`BASH*` names configure bash"),
        ("LC_", "`LC_*` names set the locale"),
        ("LD_", "`LD_*` names configure the dynamic linker"),
        (
            "PYTHON",
            "`PYTHON*` names configure Python, which docker-compose 1 runs on",
        ),
        ("XDG_", "`XDG_*` names tell programs where their files are"),
    ];
    const NAMES: &[&str] = &[
        "PATH",
        "HOME",
        "IFS",
        "PWD",
        "OLDPWD",
        "CDPATH",
        "ENV",
        "SHELL",
        "SHELLOPTS",
        "USER",
        "LOGNAME",
        "HOSTNAME",
        "TMPDIR",
        "TERM",
        "LANG",
        "LANGUAGE",
        "TZ",
        "POSIXLY_CORRECT",
        "SECONDS",
        "RANDOM",
        "LINENO",
        "UID",
        "EUID",
        "PPID",
        "GLOBIGNORE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "all_proxy",
    ];
    // Every variable of bash's manual ("Shell Variables"): bash sets, reads or changes them
    // itself (`EPOCHSECONDS` is the time, `GROUPS` cannot be assigned, `SRANDOM` is not exported).
    const BASH_VARIABLES: &[&str] = &[
        "_",
        "CDPATH",
        "CHILD_MAX",
        "COLUMNS",
        "COMPREPLY",
        "COMP_CWORD",
        "COMP_KEY",
        "COMP_LINE",
        "COMP_POINT",
        "COMP_TYPE",
        "COMP_WORDBREAKS",
        "COMP_WORDS",
        "COPROC",
        "DIRSTACK",
        "EMACS",
        "EPOCHREALTIME",
        "EPOCHSECONDS",
        "EUID",
        "EXECIGNORE",
        "FCEDIT",
        "FIGNORE",
        "FUNCNAME",
        "FUNCNEST",
        "GLOBIGNORE",
        "GLOBSORT",
        "GROUPS",
        "HISTCMD",
        "HISTCONTROL",
        "HISTFILE",
        "HISTFILESIZE",
        "HISTIGNORE",
        "HISTSIZE",
        "HISTTIMEFORMAT",
        "HOSTFILE",
        "HOSTNAME",
        "HOSTTYPE",
        "IGNOREEOF",
        "INPUTRC",
        "INSIDE_EMACS",
        "LINENO",
        "LINES",
        "MACHTYPE",
        "MAIL",
        "MAILCHECK",
        "MAILPATH",
        "MAPFILE",
        "OPTARG",
        "OPTERR",
        "OPTIND",
        "OSTYPE",
        "PIPESTATUS",
        "PPID",
        "PROMPT_COMMAND",
        "PROMPT_DIRTRIM",
        "PS0",
        "PS1",
        "PS2",
        "PS3",
        "PS4",
        "RANDOM",
        "READLINE_ARGUMENT",
        "READLINE_LINE",
        "READLINE_MARK",
        "READLINE_POINT",
        "REPLY",
        "SECONDS",
        "SHLVL",
        "SRANDOM",
        "TIMEFORMAT",
        "TMOUT",
        "UID",
        "histchars",
    ];
    if let Some((_, meaning)) = PREFIXES.iter().find(|(p, _)| name.starts_with(p)) {
        return Some(meaning);
    }
    if BASH_VARIABLES.contains(&name) {
        return Some("bash sets or reads this variable itself");
    }
    NAMES
        .contains(&name)
        .then_some("the shell, docker or compose already give this name a meaning")
}

/// Whether an env file can hold `text` whatever its references expand to (origins, secrets and
/// URLs are plain text, or empty where a secret is not known yet).
fn env_file_value_fits(text: &str) -> Result<(), &'static str> {
    let Ok(parts) = reference::parse(text) else {
        return Ok(()); // reported with the references
    };
    for stand_in in ["", "x"] {
        let value: String = parts
            .iter()
            .map(|part| match part {
                Part::Literal(s) => s.as_str(),
                Part::Ref(_) => stand_in,
            })
            .collect();
        crate::render::value::env_quote(&value)?;
    }
    Ok(())
}

/// Longest `run` portolan parses: a longer program belongs in a script file that `run` calls.
pub const RUN_MAX_BYTES: usize = 8 * 1024;
/// Deepest nesting of `(`, `{` and `[` in a `run` (counted without regard to quotes), which
/// bounds the parser's work.
const RUN_MAX_NESTING: usize = 64;

/// Words bash reads as keywords at the start of a command: as a command name, one of them is out
/// of place (`fi` with no `if`), which bash refuses and tree-sitter-bash reads as a command.
const MISPLACED_KEYWORDS: &[&str] = &[
    "case", "coproc", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if", "in",
    "select", "then", "until", "while", "{", "}", "[[", "]]",
];

/// Why `code` is not one complete bash command list, with the byte range of the trouble in
/// `code`, or `None` when it is one. The start script places a `run` between `(` and `) &`:
/// only complete code stays inside them. Read with tree-sitter-bash, which refuses some code bash
/// would run (a clear error); what it accepts that bash refuses (a stray `fi`, `;;` outside a
/// `case`, an empty body) is looked for in its tree.
pub fn shell_syntax_error(code: &str) -> Option<(std::ops::Range<usize>, String)> {
    if code.len() > RUN_MAX_BYTES {
        return Some((
            0..code.len(),
            format!(
                "it is {} bytes, more than {RUN_MAX_BYTES}: put the program in a script and run that",
                code.len()
            ),
        ));
    }
    let mut depth = 0usize;
    for (i, b) in code.bytes().enumerate() {
        match b {
            b'(' | b'{' | b'[' => {
                depth += 1;
                if depth > RUN_MAX_NESTING {
                    return Some((
                        i..i + 1,
                        format!("it nests brackets more than {RUN_MAX_NESTING} deep"),
                    ));
                }
            }
            b')' | b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let parse = |text: &str| {
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_bash::LANGUAGE.into())
            .ok()?;
        parser.parse(text, None)
    };
    let Some(tree) = parse(code) else {
        return Some((
            0..code.len(),
            "the bash parser could not read it".to_owned(),
        ));
    };
    let root = tree.root_node();
    if !children(root).iter().any(|c| c.kind() != "comment") {
        return Some((0..code.len(), "it has no command".to_owned()));
    }
    if let Some(found) = first_syntax_error(code, root) {
        return Some(found);
    }
    // Complete on its own, it must also stay one subshell where the start script places it (an
    // unterminated here-document would take in the lines after it).
    let wrapped = format!("(\n{code}\n) >>log 2>&1 &\n");
    let one_subshell = parse(&wrapped).is_some_and(|tree| {
        let root = tree.root_node();
        !root.has_error()
            && root.named_child_count() == 1
            && root.named_child(0).is_some_and(|statement| {
                statement.kind() == "redirected_statement"
                    && statement
                        .child_by_field_name("body")
                        .is_some_and(|body| body.kind() == "subshell")
            })
    });
    (!one_subshell).then(|| {
        (
            0..code.len(),
            "it does not stay one command where the start script runs it".to_owned(),
        )
    })
}

/// Whether `word` has a blank that no `\\` escapes.
fn has_unescaped_blank(word: &str) -> bool {
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            c if c.is_whitespace() => return true,
            _ => {}
        }
    }
    false
}

fn children(node: tree_sitter::Node<'_>) -> Vec<tree_sitter::Node<'_>> {
    let mut cursor = node.walk();
    node.children(&mut cursor).collect()
}

/// The first trouble in document order below `root`: an ERROR or MISSING node, a keyword out of
/// place, `;;` outside a `case`, or a body with no command in it.
fn first_syntax_error(
    code: &str,
    root: tree_sitter::Node<'_>,
) -> Option<(std::ops::Range<usize>, String)> {
    let text = |node: tree_sitter::Node<'_>| code.get(node.byte_range()).unwrap_or("");
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        let range = node.start_byte()..node.end_byte().min(code.len());
        if node.is_missing() {
            return Some((
                range.start..range.start,
                if node.kind() == "word" {
                    "a command or word is missing here".to_owned()
                } else {
                    format!("`{}` is missing here", node.kind())
                },
            ));
        }
        if node.is_error() {
            let near: String = text(node).trim().chars().take(30).collect();
            return Some((
                range,
                if near.is_empty() {
                    "bash cannot parse it".to_owned()
                } else {
                    format!("bash cannot parse it near {}", shown(&near))
                },
            ));
        }
        // tree-sitter-bash reads some text bash refuses as one word with blanks in it (`} }`).
        if node.kind() == "word" && has_unescaped_blank(text(node)) {
            return Some((
                range,
                format!("bash cannot parse it near {}", shown(text(node).trim())),
            ));
        }
        if node.kind() == "command_name" && MISPLACED_KEYWORDS.contains(&text(node)) {
            return Some((
                range,
                format!("`{}` is a bash keyword out of place", text(node)),
            ));
        }
        let kids = children(node);
        for (i, kid) in kids.iter().enumerate() {
            if kid.is_named() {
                continue;
            }
            let kind = kid.kind();
            if matches!(kind, ";;" | ";&" | ";;&") && node.kind() != "case_item" {
                return Some((kid.byte_range(), format!("`{kind}` outside a `case`")));
            }
            let opens_body = matches!(
                kind,
                "if" | "then" | "elif" | "else" | "while" | "until" | "do"
            ) || (kind == "{" && node.kind() == "compound_statement");
            let next = kids[i + 1..].iter().find(|k| k.kind() != "comment");
            if opens_body && !next.is_some_and(|k| k.is_named()) {
                return Some((kid.byte_range(), format!("no command after `{kind}`")));
            }
        }
        stack.extend(kids.into_iter().rev());
    }
    None
}

struct Validator<'a> {
    spec: &'a Spec,
    file: FileId,
    text: &'a str,
    /// The spec's own file name, which no env file may take.
    spec_file: &'a str,
    out: Vec<Diagnostic>,
}

impl<'a> Validator<'a> {
    fn new(spec: &'a Spec, file: FileId, text: &'a str, spec_file: &'a str) -> Self {
        Validator {
            spec,
            file,
            text,
            spec_file,
            out: Vec::new(),
        }
    }

    fn span<T>(&self, located: &Located<T>) -> Span {
        located.span(self.file)
    }

    fn error<T>(&mut self, at: &Located<T>, message: impl Into<String>) -> &mut Diagnostic {
        let span = self.span(at);
        self.out.push(Diagnostic::error(span, message));
        self.out.last_mut().expect("just pushed")
    }

    fn warning<T>(&mut self, at: &Located<T>, message: impl Into<String>) -> &mut Diagnostic {
        let span = self.span(at);
        self.out.push(Diagnostic::warning(span, message));
        self.out.last_mut().expect("just pushed")
    }

    fn run(mut self) -> Vec<Diagnostic> {
        self.names();
        self.services();
        self.apps();
        self.host_ports();
        self.paths();
        self.env_files();
        self.references();
        self.out
    }

    fn names(&mut self) {
        let spec = self.spec;
        if !is_valid_service_name(&spec.name) {
            self.error(
                &spec.name,
                format!(
                    "project name {} must be lowercase letters, digits, `-` or `_`, starting with a letter or digit (it names the compose project)",
                    shown(&spec.name)
                ),
            );
        }
        let agent = &spec.coder.agent;
        if !is_valid_slug(&agent.to_ascii_lowercase()) {
            self.error(
                agent,
                format!(
                    "agent name {} is not accepted by Coder: it must match ^[a-z0-9](-?[a-z0-9])*$ (no underscores)",
                    shown(agent)
                ),
            );
        } else if !agent.starts_with(|c: char| c.is_ascii_alphabetic()) {
            self.error(
                agent,
                format!(
                    "agent name `{}` must start with a letter: it names the Terraform resource `coder_agent.{}`",
                    agent.value, agent.value
                ),
            );
        }
        if let Some(domain) = &spec.coder.wildcard_domain {
            if domain.starts_with("*.") || domain.contains("://") || domain.contains('/') {
                let fixed = domain
                    .trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .trim_start_matches("*.")
                    .trim_end_matches('/');
                self.error(
                    domain,
                    format!("wildcard_domain is a bare domain: write `{fixed}`"),
                );
            } else if !is_dns_name(domain) {
                self.error(
                    domain,
                    format!(
                        "wildcard_domain {} is not a DNS name: labels of letters, digits and `-` joined by `.`, optionally with `:PORT`",
                        shown(domain)
                    ),
                );
            }
        }
    }

    fn services(&mut self) {
        let spec = self.spec;
        for (name, service) in &spec.services {
            if !is_valid_service_name(name) {
                self.error(
                    name,
                    format!(
                        "service name {} must be lowercase letters, digits, `-` or `_`, starting with a letter or digit (compose's grammar, lowercase so that it is also a host name)",
                        shown(name)
                    ),
                );
            }
            match (&service.image, &service.run) {
                (Some(_), Some(run)) => {
                    self.error(run, format!("service `{}` has both `image` and `run`; a service is either a compose container or a process", name.value));
                }
                (None, None) => {
                    self.error(name, format!("service `{}` needs `image` (a compose container) or `run` (a process the start script runs)", name.value));
                }
                _ => {}
            }
            if let Some(run) = &service.run {
                self.run_is_complete(&name.value, run);
                for (field, present) in [
                    ("command", service.command.is_some()),
                    ("entrypoint", service.entrypoint.is_some()),
                    ("volumes", !service.volumes.is_empty()),
                    ("depends_on", !service.depends_on.is_empty()),
                ] {
                    if present {
                        self.error(
                            name,
                            format!(
                                "`{field}` applies to compose services; `{}` is a `run` process",
                                name.value
                            ),
                        );
                    }
                }
            } else if let Some(workdir) = &service.workdir {
                self.error(workdir, "`workdir` applies to `run` processes; use the image's own working dir for compose services");
            }
            for (port_name, port) in &service.ports {
                if port.container() == 0 || port.host() == 0 {
                    self.error(
                        port,
                        format!(
                            "port `{}.{}` must be between 1 and 65535",
                            name.value, port_name.value
                        ),
                    );
                }
            }
            if let Some(health) = &service.healthcheck {
                match &health.port {
                    Some(port) if !service.ports.contains_key(port.as_str()) => {
                        let names: Vec<&str> = service.ports.keys().map(|k| k.as_str()).collect();
                        let hint = hint(port, &names);
                        self.error(
                            port,
                            format!(
                                "healthcheck port `{}` is not a port of service `{}`{hint}",
                                port.value, name.value
                            ),
                        );
                    }
                    Some(_) => {}
                    None if health.command.is_none() => {
                        self.error(name, format!("the healthcheck of `{}` needs a `port` (an HTTP check) or a `command` (compose services)", name.value));
                    }
                    None => {
                        if let Some(path) = &health.path {
                            self.error(path, "a healthcheck `path` needs a `port`");
                        }
                    }
                }
                if let Some(path) = &health.path {
                    if !path.starts_with('/') {
                        self.error(path, "healthcheck path must start with `/`");
                    } else if !is_url_path(path) {
                        self.url_path_error(path, "healthcheck path");
                    }
                }
                if service.run.is_some() {
                    if let Some(command) = &health.command {
                        self.error(command, "healthcheck `command` runs inside a container; a `run` process has none");
                    }
                }
            }
            for dep in &service.depends_on {
                match spec.services.get(dep.as_str()) {
                    Some(target) if target.is_compose() => {}
                    Some(_) => {
                        self.error(dep, format!("`{}` is a `run` process; compose `depends_on` can only name compose services", dep.value));
                    }
                    None => {
                        let names: Vec<&str> = spec.services.keys().map(|k| k.as_str()).collect();
                        let hint = hint(dep, &names);
                        self.error(
                            dep,
                            format!("depends_on names unknown service `{}`{hint}", dep.value),
                        );
                    }
                }
            }
        }
    }

    fn apps(&mut self) {
        let spec = self.spec;
        let agent = spec.coder.agent.to_ascii_lowercase();
        let mut targets: HashMap<&str, &Located<String>> = HashMap::new();
        for (slug, app) in &spec.apps {
            if !is_valid_slug(slug) {
                let suggestion = slugify(slug);
                let d = self.error(
                    slug,
                    format!(
                        "invalid app slug {}: Coder requires ^[a-z0-9](-?[a-z0-9])*$",
                        shown(slug)
                    ),
                );
                if !suggestion.is_empty() {
                    d.help = Some(format!("use `{suggestion}`"));
                }
            } else {
                let prefix = if spec.coder.agent_in_host {
                    slug.len() + 2 + agent.len() + 2
                } else {
                    slug.len() + 2
                };
                let room = DNS_LABEL_MAX.saturating_sub(prefix + 2);
                if room < MIN_ROOM_FOR_WORKSPACE_AND_OWNER {
                    self.warning(slug, format!(
                        "slug `{}` leaves {room} characters of Coder's {DNS_LABEL_MAX}-character host label for workspace and owner names; longer names get a hashed host that URLs built in scripts cannot match",
                        slug.value
                    )).help = Some("use a shorter slug".to_owned());
                }
            }
            match self.spec.port(&app.target) {
                Ok(_) => {
                    if let Some(first) = targets.insert(app.target.as_str(), slug) {
                        let first = first.value.clone();
                        self.warning(
                            &app.target,
                            format!(
                                "apps `{first}` and `{}` both open `{}`",
                                slug.value, app.target.value
                            ),
                        );
                    }
                }
                Err(message) => {
                    self.error(&app.target, message);
                }
            }
            if app.hidden {
                for (field, present) in [
                    ("display_name", app.display_name.is_some()),
                    ("icon", app.icon.is_some()),
                    ("order", app.order.is_some()),
                ] {
                    if present {
                        self.warning(slug, format!("app `{}` is hidden, so its `{field}` is never shown (the Coder provider warns about this)", slug.value));
                    }
                }
            }
            if let Some(health) = &app.healthcheck {
                if !health.starts_with('/') {
                    self.error(health, "app healthcheck is a path and must start with `/`");
                } else if !is_url_path(health) {
                    self.url_path_error(health, "app healthcheck");
                }
            }
            for (field, value) in [("display_name", &app.display_name), ("group", &app.group)] {
                if let Some(value) = value {
                    if value.chars().count() > 64 {
                        self.error(
                            value,
                            format!(
                                "`{field}` is {} characters; Coder allows at most 64",
                                value.chars().count()
                            ),
                        );
                    }
                }
            }
        }
    }

    /// Host ports share one localhost: compose publishes them and `run` processes listen on them.
    fn host_ports(&mut self) {
        let mut seen: HashMap<u16, String> = HashMap::new();
        for (service, def) in &self.spec.services {
            for (name, port) in &def.ports {
                let here = format!("{}.{}", service.value, name.value);
                if let Some(first) = seen.insert(port.host(), here.clone()) {
                    self.error(
                        port,
                        format!(
                            "`{here}` uses localhost port {} which `{first}` already uses",
                            port.host()
                        ),
                    );
                }
            }
        }
    }

    /// A `run` is shell code the start script places between `(` and `) &`: it must be complete
    /// code, or it could end that subshell early (and run the rest as the script itself) or break
    /// the whole script.
    fn run_is_complete(&mut self, service: &str, run: &Located<String>) {
        let code = crate::render::value::shell_code(&crate::render::value::resolve(self.spec, run));
        let Some((range, why)) = shell_syntax_error(&code) else {
            return;
        };
        // Point into the value when the file holds it as written (a plain scalar without
        // references); else at the whole value.
        let as_written = self.text.get(run.start as usize..run.end as usize) == Some(code.as_str());
        let at = if as_written {
            Located {
                value: (),
                start: run.start + range.start as u32,
                end: run.start + range.end as u32,
            }
        } else {
            Located {
                value: (),
                start: run.start,
                end: run.end,
            }
        };
        self.error(
            &at,
            format!(
                "`run` of `{service}` is not a complete shell command: {why} (the start script runs it as `( run ) &`)"
            ),
        );
    }

    fn url_path_error(&mut self, path: &Located<String>, field: &str) {
        self.error(
            path,
            format!(
                "{field} {} is not a URL path: `/` then letters, digits and `-._~/:@+,;=&?`, other characters as `%HH`",
                shown(path)
            ),
        );
    }

    /// Paths reach the start script, the compose file and Terraform: each has a grammar of
    /// characters that mean the same everywhere, and env files stay clear of portolan's own files.
    fn paths(&mut self) {
        let spec = self.spec;
        if let Some(workdir) = &spec.coder.workdir {
            if !workdir.starts_with('/') || !is_safe_path(workdir) {
                self.error(
                    workdir,
                    format!(
                        "coder.workdir {} must be an absolute path of letters, digits and `/._-+@`",
                        shown(workdir)
                    ),
                );
            }
        }
        for (name, service) in &spec.services {
            if let Some(workdir) = &service.workdir {
                if workdir.starts_with('/') || !is_safe_path(workdir) {
                    self.error(workdir, format!(
                        "workdir {} of `{}` must be a path relative to the project folder, of letters, digits and `/._-+@`",
                        shown(workdir), name.value
                    ));
                }
            }
            for volume in &service.volumes {
                let Some((source, _)) = volume.split_once(':') else {
                    continue;
                };
                let bind = source.starts_with(['.', '/', '~']);
                let mut chars = source.chars();
                let named = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
                    && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
                if !bind && !named {
                    self.error(volume, format!(
                        "volume {}: a named volume is letters, digits, `_`, `.` and `-`, starting with a letter or digit (compose's grammar); a bind mount starts with `./`, `/` or `~`",
                        shown(volume)
                    ));
                }
            }
        }
        let mut seen: HashMap<String, &Located<String>> = HashMap::new();
        for path in self.spec.env_files.keys() {
            let normalized = normalized_path(path);
            if path.starts_with('/') || !is_safe_path(path) || path.ends_with('/') {
                self.error(
                    path,
                    format!(
                        "env file path {} must be relative to the project folder, of letters, digits and `/._-+@`, without `..`",
                        shown(path)
                    ),
                );
                continue;
            }
            let Some(normalized) = normalized else {
                self.error(
                    path,
                    format!(
                        "env file path `{}` must be relative to the project folder, without `..`",
                        path.value
                    ),
                );
                continue;
            };
            // A reserved file is reserved as a folder too: `main.tf/x.env` cannot exist beside it.
            let first = normalized.split('/').next().unwrap_or("");
            if RESERVED_PATHS.contains(&first) || RESERVED_FOLDERS.contains(&first) {
                self.error(
                    path,
                    format!(
                        "env file `{}` is a file portolan writes or keeps state in; choose another name",
                        path.value
                    ),
                );
            } else if !self.spec_file.is_empty() && first == self.spec_file.to_ascii_lowercase() {
                self.error(
                    path,
                    format!("env file `{}` would replace the spec itself (portolan writes every env file); choose another name", path.value),
                );
            } else if let Some(first) = seen.insert(normalized, path) {
                let first = first.value.clone();
                self.error(
                    path,
                    format!("env files `{first}` and `{}` are the same file", path.value),
                );
            }
        }
        // One env file cannot be another's folder.
        let mut clashes = Vec::new();
        for (normalized, path) in &seen {
            let mut prefix = normalized.as_str();
            while let Some((folder, _)) = prefix.rsplit_once('/') {
                if let Some(file) = seen.get(folder) {
                    clashes.push((*path, file.value.clone()));
                }
                prefix = folder;
            }
        }
        clashes.sort_by_key(|(path, _)| path.start);
        for (path, file) in clashes {
            self.error(
                path,
                format!(
                    "env file `{}` would be inside env file `{file}`; a file cannot be a folder",
                    path.value
                ),
            );
        }
    }

    fn env_files(&mut self) {
        for keys in self.spec.env_files.values() {
            for (key, value) in keys {
                if !is_valid_env_name(key) {
                    self.error(
                        key,
                        format!(
                            "`{}` is not a valid variable name: ^[A-Za-z_][A-Za-z0-9_]*$",
                            key.value
                        ),
                    );
                }
                if let Err(why) = env_file_value_fits(&value.0) {
                    self.error(
                        value,
                        format!(
                            "`{}` cannot be written to an env file that bash, docker compose and python-dotenv read alike: {why}",
                            key.value
                        ),
                    );
                }
            }
        }
        for (service, def) in &self.spec.services {
            for key in def.env.keys() {
                if !is_valid_env_name(key) {
                    self.error(key, format!("`{}` in service `{}` is not a valid variable name: ^[A-Za-z_][A-Za-z0-9_]*$", key.value, service.value));
                }
            }
        }
        for name in self.spec.secrets.keys() {
            if !is_valid_env_name(name) {
                self.error(
                    name,
                    format!(
                        "secret `{}` must be a valid variable name: ^[A-Za-z_][A-Za-z0-9_]*$",
                        name.value
                    ),
                );
            } else if let Some(meaning) = reserved_secret_name(name) {
                self.error(
                    name,
                    format!(
                        "secret `{}` would be exported to docker compose and written to `.env`, where {meaning}; choose another name",
                        name.value
                    ),
                );
            }
        }
    }

    /// Every `${kind:target}` in env values, env files, `run` and `command` must resolve.
    fn references(&mut self) {
        let spec = self.spec;
        let mut values: Vec<(u32, u32)> = Vec::new();
        for service in spec.services.values() {
            values.extend(service.env.values().map(|v| (v.start, v.end)));
            if let Some(run) = &service.run {
                values.push((run.start, run.end));
            }
            if let Some(command) = &service.command {
                values.push((command.start, command.end));
            }
            if let Some(entrypoint) = &service.entrypoint {
                values.push((entrypoint.start, entrypoint.end));
            }
        }
        for keys in spec.env_files.values() {
            values.extend(keys.values().map(|v| (v.start, v.end)));
        }
        for (start, end) in values {
            // Check the text as written, so that ranges map to the file.
            let Some(raw) = self.text.get(start as usize..end as usize) else {
                continue;
            };
            let parsed = reference::parse(raw);
            let at = |range: std::ops::Range<usize>| Located {
                value: (),
                start: start + range.start as u32,
                end: start + range.end as u32,
            };
            match parsed {
                Err(err) => {
                    self.error(&at(err.range), err.message);
                }
                Ok(parts) => {
                    for part in parts {
                        if let Part::Ref(r) = part {
                            if let Err(message) = spec.check_reference(r.kind, &r.target) {
                                self.error(&at(r.range), message);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn hint(word: &str, candidates: &[&str]) -> String {
    match did_you_mean(word, candidates.iter().copied()) {
        Some(best) => format!("; did you mean `{best}`?"),
        None if !candidates.is_empty() => format!(" (known: {})", candidates.join(", ")),
        None => String::new(),
    }
}

/// The nearest valid slug: lowercase, runs of other characters as one `-`.
pub fn slugify(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

impl Spec {
    /// Looks up a `service.port` target.
    pub fn port(
        &self,
        target: &str,
    ) -> Result<(&Located<String>, &Located<String>, super::PortSpec), String> {
        let Some((service_name, port_name)) = target.split_once('.') else {
            return Err(format!("`{target}` is not `service.port`"));
        };
        let Some((service_key, service)) = self.services.get_key_value(service_name) else {
            let names: Vec<&str> = self.services.keys().map(|k| k.as_str()).collect();
            return Err(format!(
                "unknown service `{service_name}` in `{target}`{}",
                hint(service_name, &names)
            ));
        };
        let Some((port_key, port)) = service.ports.get_key_value(port_name) else {
            let names: Vec<&str> = service.ports.keys().map(|k| k.as_str()).collect();
            return Err(format!(
                "service `{service_name}` has no port `{port_name}`{}",
                hint(port_name, &names)
            ));
        };
        Ok((service_key, port_key, port.value))
    }

    /// The slug of the app whose target is `service.port`, or the slug itself if `target` is one.
    pub fn app_slug_for(&self, target: &str) -> Option<&str> {
        if self.apps.contains_key(target) {
            return self.apps.get_key_value(target).map(|(k, _)| k.as_str());
        }
        self.apps
            .iter()
            .find(|(_, app)| app.target.as_str() == target)
            .map(|(slug, _)| slug.as_str())
    }

    /// Whether a reference can be resolved; the error explains why not.
    pub fn check_reference(&self, kind: RefKind, target: &str) -> Result<(), String> {
        match kind {
            RefKind::Secret => {
                if self.secrets.contains_key(target) {
                    Ok(())
                } else {
                    let names: Vec<&str> = self.secrets.keys().map(|k| k.as_str()).collect();
                    Err(format!("unknown secret `{target}`{}", hint(target, &names)))
                }
            }
            RefKind::Origin => {
                if self.app_slug_for(target).is_some() {
                    return Ok(());
                }
                if target.contains('.') {
                    self.port(target)?;
                    Err(format!("`${{origin:{target}}}` needs an app whose target is `{target}`; add one under `apps`, or use `${{url:{target}}}` for the localhost URL"))
                } else {
                    let names: Vec<&str> = self.apps.keys().map(|k| k.as_str()).collect();
                    Err(format!("unknown app `{target}`{}", hint(target, &names)))
                }
            }
            RefKind::Port | RefKind::HostPort | RefKind::Url | RefKind::InternalUrl => {
                self.port(target).map(|_| ())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_coders_pattern() {
        for ok in ["a", "convex-api", "app1", "3210"] {
            assert!(is_valid_slug(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "Convex", "a_b", "a.b"] {
            assert!(!is_valid_slug(bad), "{bad}");
        }
        assert_eq!(slugify("Convex_Site"), "convex-site");
    }

    #[test]
    fn dns_names() {
        let label63 = "a".repeat(63);
        for ok in [
            "coder.example.com",
            "localhost",
            "a-1.b",
            "x.test:8080",
            label63.as_str(),
        ] {
            assert!(is_dns_name(ok), "{ok}");
        }
        let label64 = "a".repeat(64);
        for bad in [
            "",
            ".",
            "a.",
            ".a",
            "a..b",
            "-a.b",
            "a-.b",
            "a_b.c",
            "a b",
            "é.com",
            "a:0",
            "a:65536",
            "a:",
            "a:x",
            "a\"b",
            label64.as_str(),
        ] {
            assert!(!is_dns_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn url_paths() {
        for ok in [
            "/",
            "/health",
            "/health?a=1&b=2",
            "/a%20b",
            "/v1/x:y@z,w;q=+~",
        ] {
            assert!(is_url_path(ok), "{ok}");
        }
        for bad in [
            "", "health", "/a b", "/$(x)", "/`x`", "/a'b", "/a\"b", "/%2", "/%zz", "/#x", "/a\nb",
            "/é", "/a!", "/*", "/{x}",
        ] {
            assert!(!is_url_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn env_file_paths_are_compared_normalised() {
        assert_eq!(
            normalized_path("./a//B/./c.env").as_deref(),
            Some("a/b/c.env")
        );
        assert_eq!(normalized_path("a/../b"), None);
        assert!(is_safe_path("web/.env.local"));
        for bad in ["", "-x", "a b", "a$b", "a\\b", "é"] {
            assert!(!is_safe_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn did_you_mean_finds_near_names() {
        assert_eq!(
            did_you_mean("bakend", ["backend", "dashboard"]),
            Some("backend")
        );
        assert_eq!(did_you_mean("zzz", ["backend", "dashboard"]), None);
    }
}
