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
pub(super) fn reserved_secret_name(name: &str) -> Option<&'static str> {
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
    if let Some((_, meaning)) = PREFIXES.iter().find(|(p, _)| name.starts_with(p)) {
        return Some(meaning);
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
