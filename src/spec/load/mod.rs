//! Loading `portolan.yaml`: YAML → [`Spec`] → validation.
//!
//! Every problem becomes a [`Diagnostic`] with the span of the offending text. Errors stop the
//! load; warnings come back with the spec.

//!
//! `validate` checks a parsed spec against `grammar`, the characters and shapes a spec's
//! names, paths and values may take.

use std::path::Path;

use serde_saphyr::options::DuplicateKeyPolicy;

use super::Spec;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, LineCol, SourceMap, Span};

mod grammar;
mod validate;

use validate::Validator;

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

/// Turns a YAML or type error into a span and a message without the parser's own location text
/// (the spec's and the knowledge file's alike).
pub(crate) fn yaml_error(
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
pub(crate) use grammar::{
    is_dns_name, is_url_path, reserved_pass_through_name, reserved_secret_name, shell_syntax_error,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean_finds_near_names() {
        assert_eq!(
            did_you_mean("bakend", ["backend", "dashboard"]),
            Some("backend")
        );
        assert_eq!(did_you_mean("zzz", ["backend", "dashboard"]), None);
    }
}
