//! The file walk of `check`: every file under a folder that portolan may read, with what was
//! skipped and why.
//!
//! Only regular files are read, and never one the user did not ask to check. A symbolic link
//! inside the checked folder is followed only to a file the walk would read itself: a regular
//! file inside the folder, not under `.git` (or another skipped folder) and not ignored, so that
//! a committed `app.env -> .git/config` or a link to a gitignored secrets file shows nothing. A
//! link to a folder is not followed (so no walk can loop); a link that points outside the
//! folder, at a FIFO or device, at a skipped file, or nowhere, is skipped and said.
//!
//! A path given on the command line through a link (the path itself, or a folder on the way) is
//! followed only to a regular file or folder inside the current folder (for an absolute path,
//! inside the link's own folder) that a walk of that folder would read, never into `/proc`,
//! `/sys` or `/dev`; the file is then read, and named in reports, where it is. Any other is
//! refused, with the reason: the run cannot finish.
//!
//! `.gitignore`, `.ignore` and `.git/info/exclude` are read here, not by the `ignore` crate's
//! walker: each must be a regular file (or a link to one) of at most [`MAX_IGNORE_BYTES`], so
//! that a `.gitignore` linked to `/dev/zero` or made a FIFO cannot grow or hang the run. One
//! that is not is skipped and said; its patterns do not apply. Ignore files of the folders
//! above the checked one apply up to the repository root (the nearest folder with a `.git`).
//!
//! Env files (`.env`, `.env.*`, `*.env`) are read even when an ignore file lists them: they are
//! gitignored because they hold local values, and they are present in the workspace, which is
//! where a typo does its harm. Each one is named in [`Walk::read_although_ignored`]. Everything
//! else ignored stays skipped, no ignored folder is walked, and a link to an ignored file is
//! still not followed (the env file is read under its own name).

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;

/// Largest ignore file read; larger ones are skipped and said.
pub const MAX_IGNORE_BYTES: u64 = 1 << 20;

/// Folders never walked.
const SKIPPED_FOLDERS: &[&str] = &[".git", ".terraform", "node_modules", ".portolan"];

/// One walk of a path given to `check`.
pub(super) struct Walk {
    /// The path as given; every path found starts with it.
    root: PathBuf,
    /// The same path with every link resolved, when it resolves.
    real_root: Option<PathBuf>,
    /// Files to read (regular files, or links to regular files inside the folder).
    pub files: Vec<PathBuf>,
    /// Files not read, and why.
    pub skipped: Vec<(PathBuf, String)>,
    /// Env files in `files` that an ignore file lists.
    pub read_although_ignored: Vec<PathBuf>,
    /// The file in `files` that was named itself (the root is a file): read whatever its name.
    pub named_file: Option<PathBuf>,
    /// The config's `exclude`: files and folders below the root that are not walked (env
    /// files too: the user chose to leave them out); with `force-exclude`, the root too.
    pub exclude: crate::config::PathFilters,
}

impl Walk {
    pub fn new(root: &Path) -> Walk {
        Walk {
            root: root.to_path_buf(),
            real_root: std::fs::canonicalize(root).ok(),
            files: Vec::new(),
            skipped: Vec::new(),
            read_although_ignored: Vec::new(),
            named_file: None,
            exclude: crate::config::PathFilters::default(),
        }
    }

    /// Walks the path; `Err` when it is reached through a link that may not be followed (see the
    /// module docs), with the sentence to say.
    pub fn run(&mut self) -> Result<(), String> {
        let mut root = self.root.clone();
        if through_link(&root) {
            let target = explicit_link_target(&root)?;
            if target.is_file() {
                // Read, and named in reports, where it is.
                root = target;
            }
        }
        let meta = std::fs::metadata(&root);
        let real = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        if self
            .exclude
            .excludes_named(&real, meta.as_ref().is_ok_and(|m| m.is_dir()))
        {
            return Ok(());
        }
        match meta {
            Ok(meta) if meta.is_dir() => {
                let mut stack = self.parent_ignores();
                self.descend(&root, &mut stack);
            }
            Ok(meta) if meta.is_file() => {
                self.named_file = Some(root.clone());
                self.files.push(root);
            }
            Ok(_) => self.skip(&root, "not a regular file or folder; skipped"),
            Err(e) => self.skip(&root, &format!("cannot read: {e}")),
        }
        Ok(())
    }

    fn skip(&mut self, path: &Path, why: &str) {
        self.skipped.push((path.to_path_buf(), why.to_owned()));
    }

    /// `path` with the root's links resolved: what ignore patterns are matched against.
    fn real(&self, path: &Path) -> PathBuf {
        match (&self.real_root, path.strip_prefix(&self.root)) {
            (Some(real), Ok(rest)) if rest.as_os_str().is_empty() => real.clone(),
            (Some(real), Ok(rest)) => real.join(rest),
            _ => path.to_path_buf(),
        }
    }

    /// The ignore files of the folders above the root, from the repository root down; none
    /// outside a repository.
    fn parent_ignores(&mut self) -> Vec<Option<Gitignore>> {
        let Some(real) = self.real_root.clone() else {
            return Vec::new();
        };
        let parents: Vec<&Path> = real.ancestors().skip(1).collect();
        let Some(repo) = parents.iter().position(|p| p.join(".git").exists()) else {
            return Vec::new();
        };
        parents[..=repo]
            .iter()
            .rev()
            .map(|dir| self.ignores_of(dir, dir))
            .collect()
    }

    /// The ignore patterns of one folder (`shown` is the folder as reports name it, `real` the
    /// folder patterns are relative to).
    fn ignores_of(&mut self, shown: &Path, real: &Path) -> Option<Gitignore> {
        let mut builder = GitignoreBuilder::new(real);
        let mut any = false;
        let candidates = [
            (shown.join(".git/info/exclude"), shown.join(".git").is_dir()),
            (shown.join(".gitignore"), true),
            (shown.join(".ignore"), true),
        ];
        for (path, applies) in candidates {
            if !applies || std::fs::symlink_metadata(&path).is_err() {
                continue;
            }
            match read_ignore_file(&path) {
                Ok(text) => {
                    any = true;
                    for line in text.lines() {
                        // An invalid pattern is left out, as git does.
                        let _ = builder.add_line(Some(path.clone()), line);
                    }
                }
                Err(why) => self.skip(&path, &format!("{why}; its patterns are not applied")),
            }
        }
        if !any {
            return None;
        }
        builder.build().ok()
    }

    fn descend(&mut self, dir: &Path, stack: &mut Vec<Option<Gitignore>>) {
        let real_dir = self.real(dir);
        let own = self.ignores_of(dir, &real_dir);
        stack.push(own);
        let mut entries: Vec<(PathBuf, std::fs::FileType)> = match std::fs::read_dir(dir) {
            Ok(read) => read
                .filter_map(Result::ok)
                .filter_map(|e| e.file_type().ok().map(|t| (e.path(), t)))
                .collect(),
            Err(e) => {
                self.skip(dir, &format!("cannot read this folder: {e}"));
                stack.pop();
                return;
            }
        };
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, kind) in entries {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if SKIPPED_FOLDERS.contains(&name) {
                continue;
            }
            if self.exclude.excludes(&self.real(&path), kind.is_dir()) {
                continue;
            }
            if self.ignored(&path, kind.is_dir(), stack) {
                if kind.is_file() && is_env_file(&path) {
                    self.read_although_ignored.push(path.clone());
                    self.files.push(path);
                }
                continue;
            }
            if kind.is_dir() {
                self.descend(&path, stack);
            } else if kind.is_file() {
                if wanted(&path) {
                    self.files.push(path);
                }
            } else if kind.is_symlink() {
                self.link(path);
            } else if wanted(&path) {
                self.skip(
                    &path,
                    "not a regular file (a FIFO, socket or device); skipped",
                );
            }
        }
        stack.pop();
    }

    /// Whether the deepest ignore file with an opinion on `path` ignores it.
    fn ignored(&self, path: &Path, is_dir: bool, stack: &[Option<Gitignore>]) -> bool {
        let real = self.real(path);
        for ignore in stack.iter().rev().flatten() {
            match ignore.matched(&real, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        false
    }

    /// A symbolic link: read when it resolves to a regular file inside the folder.
    fn link(&mut self, path: PathBuf) {
        let target = match std::fs::canonicalize(&path) {
            Ok(target) => target,
            Err(e) => {
                if wanted(&path) {
                    self.skip(
                        &path,
                        &format!("a symbolic link that does not resolve ({e}); skipped"),
                    );
                }
                return;
            }
        };
        let inside = self
            .real_root
            .as_ref()
            .is_some_and(|root| target.starts_with(root));
        let meta = std::fs::metadata(&target);
        if meta.as_ref().is_ok_and(|m| m.is_dir()) {
            let why = if inside {
                "a symbolic link to a folder inside the checked folder, checked where it is; not followed"
            } else {
                "a symbolic link to a folder outside the checked folder; not followed"
            };
            self.skip(&path, why);
            return;
        }
        if !wanted(&path) {
            return;
        }
        let walked = |root: &Path| walked_from(root, &target);
        if !inside {
            self.skip(
                &path,
                "a symbolic link to a file outside the checked folder; skipped",
            );
        } else if !meta.is_ok_and(|m| m.is_file()) {
            self.skip(
                &path,
                "a symbolic link to something that is not a regular file; skipped",
            );
        } else if !self.real_root.as_deref().is_some_and(walked) {
            self.skip(
                &path,
                "a symbolic link to a file that is not checked itself (under .git, .terraform, node_modules or .portolan, or ignored); skipped",
            );
        } else {
            self.files.push(path);
        }
    }
}

/// Whether the walk of `base` (a folder with every link resolved) reaches `target` (a path
/// with every link resolved) itself: below `base`, in no skipped folder, and neither it nor a
/// folder on the way ignored by the ignore files that apply there.
fn walked_from(base: &Path, target: &Path) -> bool {
    let Ok(rest) = target.strip_prefix(base) else {
        return false;
    };
    let parts: Vec<&std::ffi::OsStr> = rest
        .components()
        .map_while(|c| match c {
            Component::Normal(name) => Some(name),
            _ => None,
        })
        .collect();
    if parts.is_empty() || parts.len() != rest.components().count() {
        return false;
    }
    // A walk of its own: what it says about unreadable ignore files is the main walk's to say.
    let mut scratch = Walk::new(base);
    let mut stack = scratch.parent_ignores();
    let mut dir = base.to_path_buf();
    for (i, name) in parts.iter().enumerate() {
        let own = scratch.ignores_of(&dir, &dir);
        stack.push(own);
        if name.to_str().is_some_and(|n| SKIPPED_FOLDERS.contains(&n)) {
            return false;
        }
        let path = dir.join(name);
        if scratch.ignored(&path, i + 1 < parts.len(), &stack) {
            return false;
        }
        dir = path;
    }
    true
}

/// Whether `path` is a symbolic link, or, for a relative path, a folder named on the way to it
/// is (the folders of an absolute path above its last part are the machine's, such as a
/// `/tmp` that is a link, not the checked project's).
fn through_link(path: &Path) -> bool {
    let is_link = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    if path.is_absolute() {
        return is_link(path);
    }
    let mut walked = PathBuf::new();
    for part in path.components() {
        walked.push(part);
        if matches!(part, Component::Normal(_)) && is_link(&walked) {
            return true;
        }
    }
    false
}

/// Where a path given through a link leads, if it may be followed: a regular file or folder
/// inside the current folder (for an absolute path, inside the link's own folder) that a walk
/// of that folder would reach, never a file of `/proc`, `/sys` or `/dev`. Else the sentence
/// that says why it is not read.
fn explicit_link_target(path: &Path) -> Result<PathBuf, String> {
    let shown = path.display();
    let refuse =
        |what: String, why: &str| format!("{shown} is {what}{why}: not read; name the file itself");
    let points_at = || match std::fs::read_link(path) {
        Ok(target) => format!("a symbolic link to {}", target.display()),
        Err(_) => "reached through a symbolic link".to_owned(),
    };
    let target = std::fs::canonicalize(path)
        .map_err(|e| refuse(points_at(), &format!(" that does not resolve ({e})")))?;
    let shown_target = || match std::fs::read_link(path) {
        Ok(link) if link == target => points_at(),
        _ => format!("{} ({})", points_at(), target.display()),
    };
    if ["/proc", "/sys", "/dev"]
        .iter()
        .any(|system| target.starts_with(system))
    {
        return Err(refuse(
            shown_target(),
            ", a file of the system, not of the project",
        ));
    }
    let (base, named) = if path.is_absolute() {
        let parent = path.parent().unwrap_or(Path::new("/"));
        (std::fs::canonicalize(parent), "its own folder")
    } else {
        (
            std::env::current_dir().and_then(std::fs::canonicalize),
            "the current folder",
        )
    };
    let cwd = base.map_err(|e| refuse(points_at(), &format!(" and {named} is unknown ({e})")))?;
    if !target.starts_with(&cwd) {
        return Err(refuse(shown_target(), &format!(", outside {named}")));
    }
    let meta = std::fs::metadata(&target)
        .map_err(|e| refuse(shown_target(), &format!(" that cannot be read ({e})")))?;
    if !meta.is_file() && !meta.is_dir() {
        return Err(refuse(
            shown_target(),
            ", which is not a regular file or folder",
        ));
    }
    if target != cwd && !walked_from(&cwd, &target) {
        return Err(refuse(
            shown_target(),
            ", which check does not read (under .git, .terraform, node_modules or .portolan, or ignored)",
        ));
    }
    Ok(target)
}

/// Whether a file of this name is an env file: read even when ignored.
fn is_env_file(path: &Path) -> bool {
    super::classify(path, None) == Some(crate::files::FileKind::EnvFile)
}

/// Whether portolan reads a file of this name (YAML files are told apart by content later).
fn wanted(path: &Path) -> bool {
    super::classify(path, None).is_some() || super::is_yaml(path)
}

/// An ignore file's text, if it is a regular file (or a link to one) of at most
/// [`MAX_IGNORE_BYTES`].
fn read_ignore_file(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".to_owned());
    }
    let too_large = || format!("larger than {} KiB", MAX_IGNORE_BYTES >> 10);
    if meta.len() > MAX_IGNORE_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_IGNORE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > MAX_IGNORE_BYTES {
        return Err(too_large());
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
