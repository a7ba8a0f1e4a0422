//! One spec value, written in each language portolan renders.
//!
//! A value such as `https://x/${origin:backend.api}/y` is literal text and references. Each output
//! spells the references its own way, with its own escaping:
//!
//! | reference        | bash (start script)  | compose                         | env file / local       | Terraform |
//! |------------------|----------------------|---------------------------------|------------------------|-----------|
//! | `origin:X`       | `${ORIGIN_SLUG}`     | `${ORIGIN_SLUG:-http://localhost:H}` | `http://localhost:H` | `${local.portolan_origins["slug"]}` |
//! | `secret:N`       | `${portolan_secret[N]}` | `${N:?...}`                     | empty                  | n/a       |
//! | `env:N`          | `${portolan_env[N]}` | `${N:?...}`                     | empty                  | n/a       |
//! | `port`, `url`... | the literal value    | the literal value               | the literal value      | literal   |

use crate::spec::reference::{self, Part, RefKind};
use crate::spec::Spec;

/// Name of the shell variable holding an app's origin: `convex-api` → `ORIGIN_CONVEX_API`.
pub fn origin_var(slug: &str) -> String {
    format!("ORIGIN_{}", slug.to_ascii_uppercase().replace('-', "_"))
}

/// The start script's expansion of secret `name`: secrets live in the associative array
/// `portolan_secret`, so that no secret name can reach a variable of bash or of the script.
pub fn secret_expansion(name: &str) -> String {
    format!("${{portolan_secret[{name}]}}")
}

/// The start script's expansion of the workspace variable `name` passed through: the script
/// reads every such variable into the associative array `portolan_env` before it sets anything.
pub fn env_expansion(name: &str) -> String {
    format!("${{portolan_env[{name}]}}")
}

/// A piece of a value after resolution against the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    /// The origin of an app: known only at workspace start.
    Origin {
        slug: String,
        local: String,
    },
    /// A generated secret: known only at workspace start.
    Secret(String),
    /// A variable of the workspace's environment, passed through: known only at workspace start.
    Env(String),
}

/// Resolves a value's references. The spec was validated, so every reference resolves; an
/// unresolvable one (which validation would have rejected) stays literal text.
pub fn resolve(spec: &Spec, text: &str) -> Vec<Piece> {
    let Ok(parts) = reference::parse(text) else {
        return vec![Piece::Literal(text.to_owned())];
    };
    let mut out: Vec<Piece> = Vec::new();
    for part in parts {
        let piece = match part {
            Part::Literal(s) => Piece::Literal(s),
            Part::Ref(r) => resolve_reference(spec, r.kind, &r.target)
                .unwrap_or_else(|| Piece::Literal(text[r.range].to_owned())),
        };
        match (out.last_mut(), piece) {
            (Some(Piece::Literal(prev)), Piece::Literal(s)) => prev.push_str(&s),
            (_, piece) => out.push(piece),
        }
    }
    out
}

fn resolve_reference(spec: &Spec, kind: RefKind, target: &str) -> Option<Piece> {
    let local_url = |target: &str| {
        spec.port(target)
            .ok()
            .map(|(_, _, port)| format!("http://localhost:{}", port.host()))
    };
    Some(match kind {
        RefKind::Secret => Piece::Secret(target.to_owned()),
        RefKind::Env => Piece::Env(target.to_owned()),
        RefKind::Origin => {
            let slug = spec.app_slug_for(target)?.to_owned();
            let app_target = &spec.apps.get(slug.as_str())?.target;
            Piece::Origin {
                local: local_url(app_target)?,
                slug,
            }
        }
        RefKind::Port => Piece::Literal(spec.port(target).ok()?.2.container().to_string()),
        RefKind::HostPort => Piece::Literal(spec.port(target).ok()?.2.host().to_string()),
        RefKind::Url => Piece::Literal(local_url(target)?),
        RefKind::InternalUrl => {
            let (service, _, port) = spec.port(target).ok()?;
            let is_compose = spec.services.get(service.as_str())?.is_compose();
            Piece::Literal(if is_compose {
                format!("http://{}:{}", service.value, port.container())
            } else {
                format!("http://localhost:{}", port.host())
            })
        }
    })
}

/// Whether a value is known only at workspace start.
pub fn is_dynamic(pieces: &[Piece]) -> bool {
    pieces.iter().any(|p| !matches!(p, Piece::Literal(_)))
}

/// Whether `value` is what `pieces` can become at workspace start: every literal exactly, each
/// origin a URL with its scheme (`http://` or `https://` and a host), each secret and each
/// passed-through variable non-empty.
/// A value of two references side by side is checked for the first one's start only.
/// Linear in the value's length for each literal (leftmost matches, as in glob matching).
pub fn could_be_at_start(pieces: &[Piece], value: &str) -> bool {
    /// The shortest text a reference can start `rest` with, or `None` if it cannot.
    fn shortest(piece: &Piece, rest: &str) -> Option<usize> {
        let skip = match piece {
            Piece::Literal(_) => return Some(0),
            Piece::Origin { .. } => ["https://", "http://"]
                .into_iter()
                .find(|scheme| rest.starts_with(scheme))?
                .len(),
            Piece::Secret(_) | Piece::Env(_) => 0,
        };
        Some(skip + rest[skip..].chars().next()?.len_utf8())
    }
    static ANY: Piece = Piece::Secret(String::new());
    let mut rest = value;
    let mut pending: Option<&Piece> = None;
    for piece in pieces {
        match (piece, pending.take()) {
            (Piece::Literal(literal), None) => match rest.strip_prefix(literal.as_str()) {
                Some(after) => rest = after,
                None => return false,
            },
            (Piece::Literal(literal), Some(reference)) => {
                let Some(min) = shortest(reference, rest) else {
                    return false;
                };
                let Some(at) = rest[min..].find(literal.as_str()) else {
                    return false;
                };
                rest = &rest[min + at + literal.len()..];
            }
            (reference, None) => pending = Some(reference),
            (_, Some(reference)) => {
                let Some(min) = shortest(reference, rest) else {
                    return false;
                };
                rest = &rest[min..];
                // The second reference: any non-empty text after the first one's start.
                pending = Some(&ANY);
            }
        }
    }
    match pending {
        None => rest.is_empty(),
        Some(reference) => shortest(reference, rest).is_some(),
    }
}

/// The value inside bash double quotes.
pub fn bash(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Literal(s) => {
                for c in s.chars() {
                    if matches!(c, '\\' | '"' | '$' | '`') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Piece::Origin { slug, .. } => out.push_str(&format!("${{{}}}", origin_var(slug))),
            Piece::Secret(name) => out.push_str(&secret_expansion(name)),
            Piece::Env(name) => out.push_str(&env_expansion(name)),
        }
    }
    out
}

/// The value as shell code: literals as written, references as variable expansions. For `run`.
pub fn shell_code(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Literal(s) => out.push_str(s),
            Piece::Origin { slug, .. } => out.push_str(&format!("\"${{{}}}\"", origin_var(slug))),
            Piece::Secret(name) => out.push_str(&format!("\"{}\"", secret_expansion(name))),
            Piece::Env(name) => out.push_str(&format!("\"{}\"", env_expansion(name))),
        }
    }
    out
}

/// The value as compose writes it before interpolation (`$` doubled in literals).
pub fn compose(pieces: &[Piece], script: &str) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Literal(s) => out.push_str(&s.replace('$', "$$")),
            Piece::Origin { slug, local } => {
                out.push_str(&format!("${{{}:-{local}}}", origin_var(slug)))
            }
            Piece::Secret(name) => out.push_str(&format!(
                "${{{name}:?is generated by {script}: run it first}}"
            )),
            Piece::Env(name) => out.push_str(&format!(
                "${{{name}:?is passed through from the workspace's environment: set it there}}"
            )),
        }
    }
    out
}

/// The value as it is outside Coder: origins are localhost URLs, secrets and passed-through
/// variables are empty.
pub fn local(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Literal(s) => out.push_str(s),
            Piece::Origin { local, .. } => out.push_str(local),
            Piece::Secret(_) | Piece::Env(_) => {}
        }
    }
    out
}

/// How an env file writes a value, so that bash (`source`), docker compose (`env_file:` and `.env`)
/// and python-dotenv all read back the same bytes:
///
/// - bare when every character is plain (`[A-Za-z0-9_./:@%+,-]`);
/// - else in single quotes, which all three read literally, when the value has no `'`, no `\\`
///   (python-dotenv reads it as one backslash) and no `${` (python-dotenv and compose expand it
///   even in single quotes);
/// - else in double quotes with `\` and `"` escaped, when the value has no `$` and no backtick
///   (bash needs `\$` and `` \` `` there, which python-dotenv and compose keep as written).
///
/// No quoted value may end with `\` (python-dotenv reads `\'` and `\"` as an escaped quote), and
/// none may hold a carriage return (python-dotenv and docker-compose 1 read it as a line break). What fits
/// none of the three is refused when the spec is loaded; the start script's `env_line` applies
/// the same rule to the values it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvQuote {
    Bare,
    Single,
    Double,
}

/// The quoting of `value` in an env file, or why no quoting is read alike by every reader.
pub fn env_quote(value: &str) -> Result<EnvQuote, &'static str> {
    let bare = value.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '.' | '/' | ':' | '@' | '%' | '+' | ',' | '-')
    });
    if bare {
        return Ok(EnvQuote::Bare);
    }
    if value.contains('\0') {
        return Err("it holds a NUL byte, which no env file reader keeps");
    }
    if value.contains('\r') {
        return Err(
            "it holds a carriage return, which python-dotenv and docker-compose 1 read as a line break",
        );
    }
    if value.ends_with('\\') {
        return Err("it ends with `\\`, which python-dotenv reads as escaping the closing quote");
    }
    let single = !value.contains('\'') && !value.contains("\\\\") && !value.contains("${");
    if single {
        return Ok(EnvQuote::Single);
    }
    let double = !value.contains('$') && !value.contains('`');
    if double {
        return Ok(EnvQuote::Double);
    }
    Err(if value.contains("${") {
        "python-dotenv and docker compose expand `${...}` in any quotes, and bash in double quotes"
    } else if value.contains('\'') {
        "it has a `'` and a `$` or backtick: only single quotes keep `$` and backticks for bash, compose and python-dotenv alike, and they cannot hold `'`"
    } else {
        "it has `\\\\` and a `$` or backtick: python-dotenv reads `\\\\` in single quotes as one backslash, and bash expands `$` and backticks in double quotes"
    })
}

/// `KEY=value` for an env file, quoted as [`env_quote`] says. The start script's `env_line`
/// function applies the same rule, so both write the same bytes. A value that fits no quoting
/// (refused at load) is written in double quotes.
pub fn env_line(key: &str, value: &str) -> String {
    match env_quote(value) {
        Ok(EnvQuote::Bare) => format!("{key}={value}"),
        Ok(EnvQuote::Single) => format!("{key}='{value}'"),
        Ok(EnvQuote::Double) | Err(_) => {
            let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
            format!("{key}=\"{escaped}\"")
        }
    }
}

/// A double-quoted YAML scalar: `"`, `\\`, control characters and the characters YAML does not
/// allow in a document (C1 controls, BOM, non-characters) as escapes. Always a string, whatever it
/// looks like (`yes`, `null`, `123`).
pub fn yaml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A YAML mapping key that reads back as the string `s`: plain when it is a name YAML cannot read
/// as anything else, double-quoted otherwise (`yes`, `null`, `on`, `123`, `1e3`, `[x`).
pub fn yaml_key(s: &str) -> String {
    let mut chars = s.chars();
    let name = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let other_type = matches!(
        s.to_ascii_lowercase().as_str(),
        "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null"
    );
    if name && !other_type {
        s.to_owned()
    } else {
        yaml_string(s)
    }
}

/// Literal text as a compose YAML string: `$` doubled, so compose does not interpolate it.
pub fn compose_string(s: &str) -> String {
    yaml_string(&s.replace('$', "$$"))
}

/// A double-quoted HCL string with literal text: quotes, backslashes and control characters
/// escaped, template sequences (`${`, `%{`) doubled.
pub fn hcl_string(s: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text inside an HCL heredoc (a template): `${` and `%{` doubled. The text must be one line
/// that is not the heredoc's delimiter; [`sh_word`] output is.
pub fn hcl_heredoc_text(s: &str) -> String {
    s.replace("${", "$${").replace("%{", "%%{")
}

/// Literal text as one complete bash word: as written when every character is inert
/// (`[A-Za-z0-9_./:@%+,-]`), else double-quoted, or, when it holds control characters, ANSI-C
/// quoted (`$'…'`, control bytes as `\\xHH`) so that the word stays on one line.
pub fn sh_word(s: &str) -> String {
    let inert = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, '_' | '.' | '/' | ':' | '@' | '%' | '+' | ',' | '-')
    };
    if !s.is_empty() && s.chars().all(inert) {
        return s.to_owned();
    }
    if !s.chars().any(char::is_control) {
        return format!("\"{}\"", bash(&[Piece::Literal(s.to_owned())]));
    }
    let mut out = String::from("$'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '\'' => out.push_str(r"\'"),
            '\n' => out.push_str(r"\n"),
            '\t' => out.push_str(r"\t"),
            '\r' => out.push_str(r"\r"),
            c if c.is_control() => {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Text for a one-line `#` comment: control characters (a newline would end the comment) as
/// `\\u{…}` escapes, so the comment cannot become code in any of the languages.
pub fn comment_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces() -> Vec<Piece> {
        vec![
            Piece::Literal("a \"$b\" ".into()),
            Piece::Origin {
                slug: "convex-api".into(),
                local: "http://localhost:3210".into(),
            },
            Piece::Secret("KEY".into()),
            Piece::Env("DB_URL".into()),
        ]
    }

    #[test]
    fn each_language_spells_references_its_way() {
        let p = pieces();
        assert_eq!(
            bash(&p),
            r#"a \"\$b\" ${ORIGIN_CONVEX_API}${portolan_secret[KEY]}${portolan_env[DB_URL]}"#
        );
        assert_eq!(
            compose(&p, "s.sh"),
            "a \"$$b\" ${ORIGIN_CONVEX_API:-http://localhost:3210}${KEY:?is generated by s.sh: run it first}${DB_URL:?is passed through from the workspace's environment: set it there}"
        );
        assert_eq!(shell_code(&p[3..]), "\"${portolan_env[DB_URL]}\"");
        assert_eq!(local(&p), "a \"$b\" http://localhost:3210");
    }

    #[test]
    fn values_at_start_keep_literals_and_give_urls_and_secrets() {
        let origin = || Piece::Origin {
            slug: "api".into(),
            local: "http://localhost:3000".into(),
        };
        let lit = |s: &str| Piece::Literal(s.into());
        let secret = || Piece::Secret("S".into());
        let url = [origin()];
        assert!(could_be_at_start(
            &url,
            "https://api--main--ws--me.coder.test"
        ));
        assert!(could_be_at_start(&url, "http://localhost:3000"));
        for wrong in ["", "attacker", "https://", "ftp://x", " https://x"] {
            assert!(!could_be_at_start(&url, wrong), "{wrong}");
        }
        let mixed = [
            lit("postgres://u:"),
            secret(),
            lit("@db/"),
            origin(),
            lit("/x"),
        ];
        assert!(could_be_at_start(
            &mixed,
            "postgres://u:s3@cret@db/https://h/x"
        ));
        assert!(!could_be_at_start(&mixed, "postgres://u:@db/https://h/x"));
        assert!(!could_be_at_start(&mixed, "postgres://u:s@db/h/x"));
        assert!(!could_be_at_start(
            &mixed,
            "postgres://u:s@db/https://h/x/y"
        ));
        let plain = [lit("8080")];
        assert!(could_be_at_start(&plain, "8080"));
        assert!(!could_be_at_start(&plain, "8081"));
        assert!(could_be_at_start(&[], ""));
        assert!(!could_be_at_start(&[], "x"));
        let two = [origin(), secret()];
        assert!(could_be_at_start(&two, "https://hk"));
        assert!(!could_be_at_start(&two, "https://h"));
        assert!(!could_be_at_start(&[secret()], ""));
    }

    #[test]
    fn env_lines_quote_only_when_needed() {
        assert_eq!(
            env_line("A", "http://localhost:3210"),
            "A=http://localhost:3210"
        );
        assert_eq!(env_line("A", ""), "A=");
        assert_eq!(env_line("A", "=x"), "A='=x'");
        assert_eq!(env_line("A", "a b$ `c` \"d\" #e"), "A='a b$ `c` \"d\" #e'");
        assert_eq!(
            env_line("A", r#"it's "q" \ \\ x"#),
            r#"A="it's \"q\" \\ \\\\ x""#
        );
    }

    #[test]
    fn env_values_no_quoting_carries_are_refused() {
        for value in [
            "it's $HOME",
            "a\\\\b`x`",
            "${HOME}",
            "x\\",
            "nul\0",
            "a\rb",
            "crlf\r\n",
        ] {
            assert!(env_quote(value).is_err(), "{value}");
        }
        assert_eq!(env_quote("a\\b $x"), Ok(EnvQuote::Single));
    }

    #[test]
    fn yaml_keys_are_quoted_when_yaml_would_read_another_type() {
        for plain in ["db", "POSTGRES_DB", "a-b", "yes_", "nulls"] {
            assert_eq!(yaml_key(plain), plain);
        }
        for quoted in [
            "yes", "No", "on", "NULL", "true", "123", "1e3", "0x1f", "[x", "*x", "a #b", "",
        ] {
            assert_eq!(yaml_key(quoted), yaml_string(quoted), "{quoted}");
        }
    }

    #[test]
    fn bash_words_quote_only_when_needed() {
        assert_eq!(
            sh_word("http://localhost:3000/x"),
            "http://localhost:3000/x"
        );
        assert_eq!(sh_word(""), "\"\"");
        assert_eq!(sh_word("/h?a=1&b=2"), "\"/h?a=1&b=2\"");
        assert_eq!(sh_word("$(x) `y` \"z\""), r#""\$(x) \`y\` \"z\"""#);
        assert_eq!(sh_word("a\nb'"), r"$'a\nb\''");
    }

    #[test]
    fn hcl_strings_escape_template_sequences() {
        assert_eq!(hcl_string("${x} %{y} \"q\""), r#""$${x} %%{y} \"q\"""#);
    }
}
