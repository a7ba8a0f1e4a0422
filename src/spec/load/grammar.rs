//! What a spec's names, paths and values may be: service names, DNS names, safe paths, URL
//! paths, the files and folders portolan keeps for itself, reserved secret names, env-file
//! values, and Coder's limits on a subdomain host.

use crate::spec::reference::{self, Part};

/// Coder's limit for one DNS label; longer subdomain hosts fall back to a hashed form.
pub const DNS_LABEL_MAX: usize = 63;
/// Room below which a slug is reported: what `{slug}--{agent}--` leaves for `{workspace}--{owner}`.
pub const MIN_ROOM_FOR_WORKSPACE_AND_OWNER: usize = 24;

pub(super) fn is_valid_service_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// A container name as Docker accepts it: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub(super) fn is_container_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
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
pub(super) fn is_safe_path(text: &str) -> bool {
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
pub(super) fn normalized_path(path: &str) -> Option<String> {
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

/// What a secret name already means to the tools a secret reaches (the start script exports each
/// secret to docker compose, which reads `${...}` from its environment before `.env`, and writes
/// it to `.env`), or `None` when the name is free. The start script's own variables are out of
/// reach: it keeps secrets in an array.
/// Why a workspace variable cannot be passed through with `${env:NAME}`, if it cannot: the
/// start script holds the apps' origins in `ORIGIN_*` and its own state in `portolan_*`, and
/// bash sets or computes some names itself (read-only, or different in every read).
pub(crate) fn reserved_pass_through_name(name: &str) -> Option<&'static str> {
    if name.starts_with("ORIGIN_") {
        return Some("`ORIGIN_*` names hold the apps' origins in the start script");
    }
    if name.starts_with("portolan_") {
        return Some("`portolan_*` names are the start script's own");
    }
    const BASH: &[&str] = &[
        "BASHOPTS",
        "BASHPID",
        "EUID",
        "UID",
        "PPID",
        "SHELLOPTS",
        "RANDOM",
        "SRANDOM",
        "SECONDS",
        "LINENO",
        "EPOCHSECONDS",
        "EPOCHREALTIME",
        "FUNCNAME",
        "GROUPS",
        "HISTCMD",
        "IFS",
        "OPTIND",
        "OPTARG",
        "PWD",
        "OLDPWD",
    ];
    (name.starts_with("BASH_") || BASH.contains(&name))
        .then_some("bash sets it itself, so the start script would not see the workspace's value")
}

pub(crate) fn reserved_secret_name(name: &str) -> Option<&'static str> {
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
pub(super) fn env_file_value_fits(text: &str) -> Result<(), &'static str> {
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

/// A spec value as a message shows it: in backticks, or debug-quoted when it holds characters
/// that would garble a report (control characters, backticks); long values are cut.
pub(super) fn shown(value: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coder::is_valid_slug;

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
}
