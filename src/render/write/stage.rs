//! Writing: staging the whole set in temporary files before renaming any into place, removing
//! the temporary files that interrupted runs left, and writing one file atomically.

use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

use rustix::fs::{self as fs, AtFlags, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use super::header;
use super::walk::{open_root, read_bytes, walk, Names, Read};
use super::{
    split, PathError, Planned, FOLDER_MODE, MAX_TARGET_BYTES, TEMP_DIGITS, TEMP_PREFIX, TEMP_SUFFIX,
};

/// What [`write_set`] did.
#[derive(Debug, Default)]
pub struct Written {
    /// Indexes into the planned files, in the order they were renamed into place.
    pub files: Vec<usize>,
    /// Temporary files of earlier, interrupted runs that were removed.
    pub stale_removed: Vec<PathBuf>,
}

#[derive(Debug)]
pub enum WriteError {
    /// A folder below the output folder is not a real folder, or could not be opened or made.
    Path(PathError),
    /// Staging failed: every temporary file and every folder made was removed, no target changed.
    Stage {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A rename failed after `renamed` were in place; the rest were not written.
    Rename {
        path: PathBuf,
        error: std::io::Error,
        renamed: Vec<usize>,
    },
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Path(e) => e.fmt(f),
            WriteError::Stage { path, error } | WriteError::Rename { path, error, .. } => {
                write!(f, "cannot write {}: {error}", path.display())
            }
        }
    }
}

impl std::error::Error for WriteError {}

/// One file staged in its folder.
struct Staged {
    index: usize,
    dir: usize,
    temp: OsString,
    name: OsString,
}

/// Writes every planned file whose change writes (`Create`, `Update`, and blocked files that
/// `--force` may replace: the caller decides about those), staged: all to temporary files
/// first, then one rename each. Removes temporary files that interrupted runs left in the
/// folders of the set.
pub fn write_set(planned: &[Planned<'_>], out: &Path) -> Result<Written, WriteError> {
    let mut made_out = Vec::new();
    let root = match open_root(out).map_err(WriteError::Path)? {
        Some(root) => root,
        None => {
            made_out = make_folders(out).map_err(|error| WriteError::Stage {
                path: out.to_path_buf(),
                error,
            })?;
            match open_root(out) {
                Ok(Some(root)) => root,
                Ok(None) => {
                    remove_made(&made_out);
                    return Err(WriteError::Stage {
                        path: out.to_path_buf(),
                        error: std::io::ErrorKind::NotFound.into(),
                    });
                }
                Err(e) => {
                    remove_made(&made_out);
                    return Err(WriteError::Path(e));
                }
            }
        }
    };
    // One render at a time in a folder: the next one's cleanup must not take this one's files.
    let _ = fs::flock(&root, FlockOperation::LockExclusive);

    let mut made: Vec<PathBuf> = Vec::new();
    let mut dirs: Vec<(PathBuf, OwnedFd)> = Vec::new();
    let mut staged: Vec<Staged> = Vec::new();
    let mut written = Written::default();
    let result = (|| -> Result<(), WriteError> {
        // The folders of the set, real folders all the way down (made where missing).
        for p in planned {
            let (parent, _) = split(&p.file.path, out).map_err(WriteError::Path)?;
            if dirs.iter().any(|(d, _)| d == parent) {
                continue;
            }
            let created = p.change.writes().then_some(&mut made);
            if let Some(fd) = walk(&root, out, parent, created).map_err(WriteError::Path)? {
                dirs.push((parent.to_path_buf(), fd));
            }
        }
        for (rel, dir) in &dirs {
            written
                .stale_removed
                .extend(remove_stale(dir).into_iter().map(|n| out.join(rel).join(n)));
        }
        for (index, p) in planned.iter().enumerate() {
            if !p.change.writes() {
                continue;
            }
            let (parent, name) = split(&p.file.path, out).map_err(WriteError::Path)?;
            let dir = dirs
                .iter()
                .position(|(d, _)| d == parent)
                .expect("every folder of the set was opened");
            let temp = stage(&dirs[dir].1, &p.file.contents, p.file.mode).map_err(|error| {
                WriteError::Stage {
                    path: p.target.clone(),
                    error,
                }
            })?;
            staged.push(Staged {
                index,
                dir,
                temp,
                name: name.to_owned(),
            });
        }
        Ok(())
    })();
    if let Err(e) = result {
        for s in &staged {
            let _ = fs::unlinkat(&dirs[s.dir].1, &s.temp, AtFlags::empty());
        }
        for rel in made.iter().rev() {
            let _ = fs::unlinkat(&root, rel, AtFlags::REMOVEDIR);
        }
        drop(root);
        remove_made(&made_out);
        return Err(e);
    }
    for (n, s) in staged.iter().enumerate() {
        let dir = &dirs[s.dir].1;
        if let Err(error) = fs::renameat(dir, &s.temp, dir, &s.name) {
            for rest in &staged[n..] {
                let _ = fs::unlinkat(&dirs[rest.dir].1, &rest.temp, AtFlags::empty());
            }
            return Err(WriteError::Rename {
                path: planned[s.index].target.clone(),
                error: error.into(),
                renamed: written.files,
            });
        }
        written.files.push(s.index);
    }
    // Make the renames durable. They are done; a folder that cannot be synced changes nothing.
    for (_, dir) in &dirs {
        let _ = fs::fsync(dir);
    }
    Ok(written)
}

/// Writes `contents` to a new temporary file in `dir` with exactly `mode` (whatever the umask),
/// flushed to disk. Returns its name.
pub(crate) fn stage(dir: &OwnedFd, contents: &str, mode: u32) -> std::io::Result<OsString> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let (name, fd) = loop {
        let name = temp_name();
        match fs::openat(dir, &name, flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => break (name, fd),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let written = (|| -> std::io::Result<()> {
        fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
        let mut file = std::fs::File::from(fd);
        file.write_all(contents.as_bytes())?;
        file.sync_all()
    })();
    match written {
        Ok(()) => Ok(name),
        Err(e) => {
            let _ = fs::unlinkat(dir, &name, AtFlags::empty());
            Err(e)
        }
    }
}

/// `.portolan-render-<16 hex>.tmp`, random enough that two runs never pick the same name (and
/// `O_EXCL` catches it if they do).
fn temp_name() -> OsString {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    OsString::from(format!(
        "{TEMP_PREFIX}{:016x}{TEMP_SUFFIX}",
        hasher.finish()
    ))
}

/// Whether `name` is exactly the name of a temporary file render writes (see [`temp_name`]):
/// `.portolan-render-`, 16 lowercase hex digits, `.tmp`.
pub fn is_temp_name(name: &[u8]) -> bool {
    name.strip_prefix(TEMP_PREFIX.as_bytes())
        .and_then(|rest| rest.strip_suffix(TEMP_SUFFIX.as_bytes()))
        .is_some_and(|digits| {
            digits.len() == TEMP_DIGITS
                && digits
                    .iter()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        })
}

/// Whether the file `name` in `dir` is one a render left: a regular file with one link, empty
/// (killed between creating and writing it) or starting with render's header. Anything else
/// named like a temporary file is not render's, and stays.
fn left_by_render(dir: &OwnedFd, name: &OsStr) -> bool {
    match read_bytes(dir, name, MAX_TARGET_BYTES, Names::One) {
        Ok(Read::Bytes(bytes)) => {
            bytes.is_empty() || header::stamped_by_render(&String::from_utf8_lossy(&bytes))
        }
        _ => false,
    }
}

/// Removes the files in `dir` that interrupted renders left (see [`left_by_render`]). Returns
/// their names.
fn remove_stale(dir: &OwnedFd) -> Vec<OsString> {
    let Ok(entries) = fs::Dir::read_from(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_bytes();
        if !is_temp_name(name) {
            continue;
        }
        let name = OsStr::from_bytes(name).to_owned();
        if left_by_render(dir, &name) && fs::unlinkat(dir, &name, AtFlags::empty()).is_ok() {
            removed.push(name);
        }
    }
    removed
}

/// Makes `dir` and its missing parents, mode 0755 at most. Returns the folders made, outermost
/// first.
fn make_folders(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    use std::os::unix::fs::DirBuilderExt as _;
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(path) = at.filter(|p| !p.as_os_str().is_empty()) {
        if std::fs::symlink_metadata(path).is_ok() {
            break;
        }
        missing.push(path.to_path_buf());
        at = path.parent();
    }
    missing.reverse();
    let mut made = Vec::new();
    for path in missing {
        match std::fs::DirBuilder::new().mode(FOLDER_MODE).create(&path) {
            Ok(()) => made.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                remove_made(&made);
                return Err(e);
            }
        }
    }
    Ok(made)
}

fn remove_made(made: &[PathBuf]) {
    for path in made.iter().rev() {
        let _ = std::fs::remove_dir(path);
    }
}

/// Writes one file (`portolan init`) through a temporary file in its folder and a rename, so a
/// reader sees the old file or the new one, never a mix. Folders made are 0755 at most; the file
/// gets exactly `mode`. A link at `path` is replaced, never written through.
pub fn write_atomic(path: &Path, contents: &str, mode: u32) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    let made = make_folders(dir)?;
    let result = (|| -> std::io::Result<()> {
        let fd = fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let temp = stage(&fd, contents, mode)?;
        if let Err(e) = fs::renameat(&fd, &temp, &fd, name) {
            let _ = fs::unlinkat(&fd, &temp, AtFlags::empty());
            return Err(e.into());
        }
        let _ = fs::fsync(&fd);
        Ok(())
    })();
    if result.is_err() {
        remove_made(&made);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_recognised() {
        assert!(is_temp_name(temp_name().as_bytes()));
        assert!(is_temp_name(b".portolan-render-0123456789abcdef.tmp"));
        for name in [
            ".portolan-notes",
            ".portolan-notes.tmp",
            ".portolan-keep.tmp",
            ".portolan-1.tmp",
            ".portolan-AbC123",
            ".portolan",
            ".portolan-.tmp",
            "portolan-abcdef",
            ".portolan-render-0123456789ABCDEF.tmp",
            ".portolan-render-0123456789abcde.tmp",
            ".portolan-render-0123456789abcdef0.tmp",
            ".portolan-render-0123456789abcdef.tmp.bak",
        ] {
            assert!(!is_temp_name(name.as_bytes()), "{name}");
        }
    }
}
