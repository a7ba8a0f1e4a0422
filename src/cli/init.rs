//! `portolan init`: a starter portolan.yaml, and the `.gitignore` lines for what the start
//! script writes at workspace start.

use std::path::{Path, PathBuf};

use ignore::gitignore::GitignoreBuilder;
use portolan::render::write;
use portolan::source::SourceMap;

use super::{FAILED, OK};

/// The comment above the lines `init` adds to a `.gitignore`.
const COMMENT: &str =
    "# Written by portolan's start script at workspace start (origins, secrets): not for git.";

/// Writes `spec` (a preset) as `dir/portolan.yaml`, and adds to `dir/.gitignore` the entries it
/// lacks: `.env`, the spec's env files and `.portolan/`.
pub fn run(spec: &str, force: bool, dir: &Path) -> u8 {
    let path = dir.join("portolan.yaml");
    // Whatever is there (a file, a link, even a dangling one) is replaced only with --force.
    if std::fs::symlink_metadata(&path).is_ok() && !force {
        eprintln!(
            "error: {} exists; pass --force to replace it",
            path.display()
        );
        return FAILED;
    }
    // Read before anything is written: an unreadable .gitignore stops init with nothing written.
    let gitignore = dir.join(".gitignore");
    let existing = match read_gitignore(&gitignore) {
        Ok(existing) => existing,
        Err(e) => {
            eprintln!("error: {e}; nothing written");
            return FAILED;
        }
    };
    if let Err(e) = write::write_atomic(&path, spec, 0o644) {
        eprintln!("error: cannot write {}: {e}", path.display());
        return FAILED;
    }
    super::output::note(format_args!(
        "wrote {}; next: portolan render {}",
        path.display(),
        path.display()
    ));
    let wanted = ignored_entries(spec);
    let (text, added) = with_entries(existing.as_deref(), &wanted);
    if added.is_empty() {
        super::output::note(format_args!(
            "{} already ignores {}",
            gitignore.display(),
            wanted.join(", ")
        ));
        return OK;
    }
    if let Err(e) = write::write_atomic(&gitignore, &text, 0o644) {
        eprintln!("error: cannot write {}: {e}", gitignore.display());
        return FAILED;
    }
    let verb = if existing.is_some() { "added" } else { "wrote" };
    super::output::note(format_args!(
        "{verb} {} to {}: the start script writes them at workspace start",
        added.join(", "),
        gitignore.display()
    ));
    OK
}

/// The `.gitignore` text, or `None` when there is none; one that is not a regular file is not
/// read (nor replaced).
fn read_gitignore(path: &Path) -> Result<Option<String>, String> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    write::read_regular(path, write::MAX_TARGET_BYTES)
        .map(Some)
        .map_err(|e| match e {
            write::ReadError::Io(e) => format!("cannot read {}: {e}", path.display()),
            e => format!("{} {e}: not read", path.display()),
        })
}

/// What the README asks to keep out of git: `.env`, every env file of the spec, `.portolan/`.
fn ignored_entries(spec: &str) -> Vec<String> {
    let mut entries = vec![".env".to_owned()];
    if let Ok(loaded) =
        portolan::spec::load(Path::new("portolan.yaml"), spec, &mut SourceMap::new())
    {
        entries.extend(loaded.spec.env_files.keys().map(|k| k.value.clone()));
    }
    entries.push(".portolan/".to_owned());
    entries.dedup();
    entries
}

/// `existing` with the entries it does not ignore yet appended (under [`COMMENT`]), and those
/// entries. An entry counts as ignored when the lines already there ignore its path, as git
/// reads them (`.env*` ignores `.env.local`; a later `!.env` un-ignores it).
fn with_entries(existing: Option<&str>, wanted: &[String]) -> (String, Vec<String>) {
    let text = existing.unwrap_or("");
    let mut builder = GitignoreBuilder::new("");
    for line in text.lines() {
        let _ = builder.add_line(None, line);
    }
    let matcher = builder.build().ok();
    let added: Vec<String> = wanted
        .iter()
        .filter(|entry| {
            let is_dir = entry.ends_with('/');
            let path = PathBuf::from(entry.trim_end_matches('/'));
            !matcher
                .as_ref()
                .is_some_and(|m| m.matched_path_or_any_parents(&path, is_dir).is_ignore())
        })
        .cloned()
        .collect();
    if added.is_empty() {
        return (text.to_owned(), added);
    }
    let mut out = text.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(COMMENT);
    out.push('\n');
    for entry in &added {
        out.push_str(entry);
        out.push('\n');
    }
    (out, added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted() -> Vec<String> {
        [".env", "web/.env.local", ".portolan/"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn a_new_gitignore_gets_every_entry() {
        let (text, added) = with_entries(None, &wanted());
        assert_eq!(added, wanted());
        assert_eq!(
            text,
            format!("{COMMENT}\n.env\nweb/.env.local\n.portolan/\n")
        );
    }

    #[test]
    fn only_the_missing_entries_are_appended_once() {
        let (text, added) = with_entries(Some("node_modules/\n/.env"), &wanted());
        assert_eq!(added, ["web/.env.local", ".portolan/"]);
        assert_eq!(
            text,
            format!("node_modules/\n/.env\n\n{COMMENT}\nweb/.env.local\n.portolan/\n")
        );
        // Run again: nothing to add, the text stays.
        let (again, added) = with_entries(Some(&text), &wanted());
        assert!(added.is_empty(), "{added:?}");
        assert_eq!(again, text);
    }

    /// Lines are read as git reads them: patterns cover entries, and a negation uncovers one.
    #[test]
    fn patterns_and_negations_count_as_git_reads_them() {
        let (_, added) = with_entries(Some(".env*\n**/.env.local\n.portolan\n"), &wanted());
        assert!(added.is_empty(), "{added:?}");
        let (_, added) = with_entries(Some(".env*\n!.env\n"), &wanted());
        assert_eq!(added, [".env", ".portolan/"]);
    }

    #[test]
    fn the_presets_env_files_are_ignored() {
        let spec = include_str!("../../examples/code-server-nextjs/portolan.yaml");
        assert_eq!(
            ignored_entries(spec),
            [".env", "web/.env.local", ".portolan/"]
        );
    }
}
