//! The header line that marks a file as portolan's own.
//!
//! Every rendered file carries one comment line (the first, or the second after a shebang) that
//! ends in `portolan-sha256:<hex>`: the SHA-256 of the file without that line. A file whose hash
//! still matches was not touched by hand and may be rewritten; the start script writes env files
//! with the same header (computed with `sha256sum`), so they stay portolan's too.

use sha2::{Digest, Sha256};

pub const MARK: &str = "portolan-sha256:";

/// How the comment of render's header starts (`# Written by portolan from portolan.yaml: …`).
pub const RENDERED_BY: &str = "Written by portolan from ";

/// The words by which the header the start script writes (`write_managed` in
/// `start-workspace.sh.j2`) differs from render's: `# Written by start-workspace.sh at
/// workspace start from portolan.yaml. portolan-sha256:…`.
pub const AT_WORKSPACE_START: &str = " at workspace start from ";

/// The start script's shell function that writes an env file with this header at workspace
/// start (`write_managed PATH BODY` in `start-workspace.sh.j2`): a call to it in a script is a
/// file written at start, as `check` reads scripts.
pub const MANAGED_WRITER: &str = "write_managed";

/// What a file on disk is, as far as overwriting it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Carries a header whose hash matches: portolan wrote it and nobody changed it since.
    Untouched,
    /// Carries a header, but the content changed after portolan wrote it.
    EditedByHand,
    /// No header: a file portolan did not write.
    Foreign,
}

/// Hex SHA-256 of `body`.
pub fn hash(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Inserts the header line (after a shebang, if there is one) with the hash of `body`.
pub fn stamp(body: &str, comment: &str) -> String {
    let line = format!("# {comment} {MARK}{}\n", hash(body));
    if body.starts_with("#!") {
        let split = body.find('\n').map(|i| i + 1).unwrap_or(body.len());
        let (shebang, rest) = body.split_at(split);
        let mut out = String::with_capacity(body.len() + line.len() + 1);
        out.push_str(shebang);
        if !shebang.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&line);
        out.push_str(rest);
        out
    } else {
        format!("{line}{body}")
    }
}

/// The header line among the first three lines, without its line ending.
fn header_line(text: &str) -> Option<&str> {
    text.split_inclusive('\n')
        .take(3)
        .map(|line| line.trim_end_matches(['\n', '\r']))
        .find(|line| line.starts_with('#') && line.contains(MARK))
}

/// Whether `text` carries portolan's header, render's or the start script's, among its first
/// lines (hash not checked).
pub fn has_header(text: &str) -> bool {
    header_line(text).is_some()
}

/// The spec render's header names: `# Written by portolan from portolan.yaml: ...` gives
/// `portolan.yaml`.
pub fn rendered_from(text: &str) -> Option<&str> {
    let line = header_line(text)?
        .strip_prefix("# ")?
        .strip_prefix(RENDERED_BY)?;
    line.split_once(':').map(|(spec, _)| spec)
}

/// Whether the start script wrote `text` at workspace start (its header says so), as opposed to
/// render. Says nothing about whether it was edited since: see [`ownership`].
pub fn written_at_start(text: &str) -> bool {
    header_line(text).is_some_and(|line| {
        line.find(MARK)
            .is_some_and(|pos| line[..pos].contains(AT_WORKSPACE_START))
    })
}

/// Whether `text` carries render's header (see [`RENDERED_BY`]) among its first lines, as every
/// file render writes does from its first byte on (hash not checked).
pub fn stamped_by_render(text: &str) -> bool {
    header_line(text).is_some_and(|line| line.starts_with(&format!("# {RENDERED_BY}")))
}

/// Finds the header among the first three lines: returns the recorded hash and the text without it.
pub fn split_header(text: &str) -> Option<(&str, String)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n').take(3) {
        let trimmed = line.trim_end_matches(['\n', '\r']);
        if trimmed.starts_with('#') {
            if let Some(pos) = trimmed.find(MARK) {
                let recorded = &trimmed[pos + MARK.len()..];
                let mut body = String::with_capacity(text.len());
                body.push_str(&text[..offset]);
                body.push_str(&text[offset + line.len()..]);
                return Some((recorded.trim(), body));
            }
        }
        offset += line.len();
    }
    None
}

pub fn ownership(text: &str) -> Ownership {
    match split_header(text) {
        Some((recorded, body)) if recorded == hash(&body) => Ownership::Untouched,
        Some(_) => Ownership::EditedByHand,
        None => Ownership::Foreign,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The function the rules look for is the one the start script defines and writes env
    /// files with.
    #[test]
    fn the_start_script_writes_env_files_with_the_managed_writer() {
        let template = include_str!("../../templates/start-workspace.sh.j2");
        assert!(template.contains(&format!("\n{MANAGED_WRITER}() {{\n")));
        assert!(template.contains(&format!("\n{MANAGED_WRITER} .env ")));
    }

    #[test]
    fn render_names_its_spec_and_the_start_script_has_a_header_too() {
        let rendered = stamp(
            "a = 1\n",
            "Written by portolan from infra/portolan.yaml: change the spec.",
        );
        assert!(has_header(&rendered));
        assert_eq!(rendered_from(&rendered), Some("infra/portolan.yaml"));
        let at_start = "# Written by start-workspace.sh at workspace start from portolan.yaml. portolan-sha256:00\nA=1\n";
        assert!(has_header(at_start));
        assert_eq!(rendered_from(at_start), None);
        assert!(!has_header("# a comment\nA=1\n"));
    }

    #[test]
    fn stamped_files_are_untouched_until_edited() {
        for body in ["a = 1\n", "#!/usr/bin/env bash\necho hi\n", ""] {
            let stamped = stamp(body, "Written by portolan.");
            assert_eq!(ownership(&stamped), Ownership::Untouched, "{stamped}");
            let edited = stamped.replace("1", "2").replace("hi", "ho") + "x\n";
            assert_eq!(ownership(&edited), Ownership::EditedByHand);
        }
        assert_eq!(ownership("a = 1\n"), Ownership::Foreign);
    }

    #[test]
    fn the_start_scripts_header_is_told_from_renders() {
        let body = "# Rewritten by start-workspace.sh at workspace start with this workspace's origins.\nA=1\n";
        let rendered = stamp(
            body,
            "Written by portolan from portolan.yaml: change the spec.",
        );
        assert!(!written_at_start(&rendered), "{rendered}");
        let started = format!(
            "# Written by start-workspace.sh at workspace start from portolan.yaml. {MARK}{}\n{body}",
            hash(body)
        );
        assert!(written_at_start(&started));
        assert_eq!(ownership(&started), Ownership::Untouched);
        assert!(!written_at_start(body));
    }

    #[test]
    fn header_goes_after_the_shebang() {
        let stamped = stamp("#!/bin/sh\necho\n", "x");
        let lines: Vec<&str> = stamped.lines().collect();
        assert_eq!(lines[0], "#!/bin/sh");
        assert!(lines[1].starts_with("# x portolan-sha256:"));
    }

    #[test]
    fn hash_matches_sha256sum() {
        // printf 'KEY=v\n' | sha256sum
        assert_eq!(
            hash("KEY=v\n"),
            "cfa1b17bdb3614be8458b8dd824ea3d14305564128c943dc234ddb6a33357aa7"
        );
    }
}
