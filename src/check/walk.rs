//! The file walk of `check`: every file under a folder that portolan may read, with what was
//! skipped and why.
//!
//! Only regular files are read. A symbolic link is followed when it points at a regular file
//! inside the checked folder; a link to a folder is not followed (so no walk can loop), and a
//! link that points outside the folder, at a FIFO or device, or nowhere, is skipped and said.
//!
//! `.gitignore`, `.ignore` and `.git/info/exclude` are read here, not by the `ignore` crate's
//! walker: each must be a regular file (or a link to one) of at most [`MAX_IGNORE_BYTES`], so
//! that a `.gitignore` linked to `/dev/zero` or made a FIFO cannot grow or hang the run. One
//! that is not is skipped and said; its patterns do not apply. Ignore files of the folders
//! above the checked one apply up to the repository root (the nearest folder with a `.git`).

use std::io::Read;
use std::path::{Path, PathBuf};

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
}

impl Walk {
    pub fn new(root: &Path) -> Walk {
        Walk {
            root: root.to_path_buf(),
            real_root: std::fs::canonicalize(root).ok(),
            files: Vec::new(),
            skipped: Vec::new(),
        }
    }

    pub fn run(&mut self) {
        let root = self.root.clone();
        // The path itself was named by the user: followed whatever it is.
        match std::fs::metadata(&root) {
            Ok(meta) if meta.is_dir() => {
                let mut stack = self.parent_ignores();
                self.descend(&root, &mut stack);
            }
            Ok(meta) if meta.is_file() => self.files.push(root),
            Ok(_) => self.skip(&root, "not a regular file or folder; skipped"),
            Err(e) => self.skip(&root, &format!("cannot read: {e}")),
        }
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
            if self.ignored(&path, kind.is_dir(), stack) {
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
        } else {
            self.files.push(path);
        }
    }
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
