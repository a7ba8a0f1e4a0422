//! Reading and writing the rendered files under the output folder.
//!
//! Paths are walked from the output folder one component at a time (`openat` with `O_NOFOLLOW`):
//! every folder below the output folder must be a real folder, so nothing is read or written
//! outside it, and a symbolic link swapped in during a run is refused, never followed. A target
//! is read only when it is a regular file of at most [`MAX_TARGET_BYTES`] with one name; a symbolic
//! link, hard link (a file with another name, maybe outside the output folder), FIFO, device,
//! socket or folder is reported as what it is and never read.
//!
//! Writing is staged: every file of the set goes to a temporary file in its own folder
//! (`.portolan-render-<16 hex>.tmp`, mode set explicitly, flushed to disk) before the first rename. An error
//! while staging removes the temporary files and the folders it created, and changes nothing.
//! Each rename is atomic; the renames of several files are not one atomic step, so a run killed
//! among them leaves each file whole, old or new, and temporary files that the next run removes.
//! The next run removes only what a render can have left: a regular file (one link) named exactly
//! like a temporary file, that is empty (killed before its first write) or carries render's
//! header in its first lines. A user's `.portolan-notes.tmp` is never touched.

mod diff;
mod stage;
mod walk;

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use rustix::fs::FileType;

use super::header::{self, Ownership};
use super::RenderedFile;
use walk::{open_root, read_target, walk};

pub use diff::diff;
pub(crate) use stage::stage;
pub use stage::{is_temp_name, write_atomic, write_set, WriteError, Written};
pub use walk::{read_regular, ReadError};

/// Largest target read. Rendered files are a few kilobytes: a larger file is not portolan's.
pub const MAX_TARGET_BYTES: u64 = 1024 * 1024;

/// How the names of render's temporary files start: `.portolan-render-<16 hex>.tmp`.
pub const TEMP_PREFIX: &str = ".portolan-render-";

/// How the names of render's temporary files end.
const TEMP_SUFFIX: &str = ".tmp";

/// The number of lowercase hex digits between [`TEMP_PREFIX`] and [`TEMP_SUFFIX`].
const TEMP_DIGITS: usize = 16;

/// Folders render creates get this mode (less if the umask says so).
const FOLDER_MODE: u32 = 0o755;

/// What a path is, when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Symlink,
    Folder,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    RegularFile,
    /// A regular file with more than one name (`st_nlink > 1`): another name may be outside the
    /// output folder, so it is treated like a link.
    HardLink,
    Unknown,
}

impl NodeKind {
    fn of(file_type: FileType) -> Self {
        match file_type {
            FileType::Symlink => NodeKind::Symlink,
            FileType::Directory => NodeKind::Folder,
            FileType::Fifo => NodeKind::Fifo,
            FileType::Socket => NodeKind::Socket,
            FileType::CharacterDevice => NodeKind::CharDevice,
            FileType::BlockDevice => NodeKind::BlockDevice,
            FileType::RegularFile => NodeKind::RegularFile,
            _ => NodeKind::Unknown,
        }
    }

    /// "a symbolic link", "a FIFO", ...
    pub fn describe(self) -> &'static str {
        match self {
            NodeKind::Symlink => "a symbolic link",
            NodeKind::Folder => "a folder",
            NodeKind::Fifo => "a FIFO",
            NodeKind::Socket => "a socket",
            NodeKind::CharDevice => "a character device",
            NodeKind::BlockDevice => "a block device",
            NodeKind::RegularFile => "a regular file",
            NodeKind::HardLink => "a hard link (a file with more than one name)",
            NodeKind::Unknown => "a special file",
        }
    }
}

/// A target as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnDisk {
    Missing,
    /// A regular file, read (invalid UTF-8 replaced).
    File(String),
    /// Not a regular file: not read.
    NotAFile(NodeKind),
    /// A regular file larger than [`MAX_TARGET_BYTES`]: not read.
    TooLarge(u64),
}

/// Why a target is not overwritten without `--force` (or at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocker {
    /// The file carries portolan's header, but was changed since.
    EditedByHand,
    /// No header: a file portolan did not write.
    Foreign,
    /// Not a regular file.
    NotAFile(NodeKind),
    /// Larger than [`MAX_TARGET_BYTES`].
    TooLarge(u64),
}

impl Blocker {
    /// Whether `--force` may replace the target. A folder is never replaced: that would delete
    /// what it holds.
    pub fn forceable(self) -> bool {
        !matches!(self, Blocker::NotAFile(NodeKind::Folder))
    }
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blocker::EditedByHand => write!(f, "was edited by hand since portolan wrote it"),
            Blocker::Foreign => write!(f, "was not written by portolan"),
            Blocker::NotAFile(kind) => write!(f, "is {}, not a regular file", kind.describe()),
            Blocker::TooLarge(size) => write!(
                f,
                "is larger than {} KiB ({size} bytes), so not portolan's",
                MAX_TARGET_BYTES / 1024
            ),
        }
    }
}

/// What writing one file would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create,
    Update,
    Unchanged,
    /// An env file the start script wrote at workspace start, unchanged since and meaning what the
    /// spec renders ([`RenderedFile::written_at_start`]): it holds the
    /// workspace's origins and secrets, so render leaves it alone.
    KeptFromStart,
    Blocked(Blocker),
}

impl Change {
    /// Whether a write with `--force` writes this file.
    fn writes(&self) -> bool {
        match self {
            Change::Create | Change::Update => true,
            Change::Blocked(b) => b.forceable(),
            Change::Unchanged | Change::KeptFromStart => false,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Planned<'a> {
    pub file: &'a RenderedFile,
    /// `out` joined with the file's path, for messages.
    pub target: PathBuf,
    pub change: Change,
    pub on_disk: OnDisk,
}

impl Planned<'_> {
    /// The text on disk, when the target is a regular file that was read.
    pub fn current(&self) -> Option<&str> {
        match &self.on_disk {
            OnDisk::File(text) => Some(text),
            _ => None,
        }
    }

    /// Whether `render --check` counts this file as drift.
    pub fn drifted(&self) -> bool {
        match &self.on_disk {
            OnDisk::Missing => self.file.drifted(None),
            OnDisk::File(text) => self.file.drifted(Some(text)),
            OnDisk::NotAFile(_) | OnDisk::TooLarge(_) => true,
        }
    }
}

/// The planned files that block the write: every blocked one without `force`, and with it those
/// that `--force` may not replace (a folder where a file goes). Any means nothing is written.
pub fn refused<'p, 'a>(planned: &'p [Planned<'a>], force: bool) -> Vec<(&'p Planned<'a>, Blocker)> {
    planned
        .iter()
        .filter_map(|p| match p.change {
            Change::Blocked(why) if !force || !why.forceable() => Some((p, why)),
            _ => None,
        })
        .collect()
}

/// A path below the output folder that cannot be read or written safely.
#[derive(Debug)]
pub enum PathError {
    /// A component that must be a real folder is something else (a symbolic link, a file).
    NotAFolder { path: PathBuf, kind: NodeKind },
    /// The rendered path is absolute or climbs out with `..`.
    Escapes { path: PathBuf },
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathError::NotAFolder {
                path,
                kind: NodeKind::Symlink,
            } => write!(
                f,
                "{} is a symbolic link, not a folder: portolan reads and writes only inside the output folder, through real folders",
                path.display()
            ),
            PathError::NotAFolder { path, kind } => {
                write!(f, "{} is not a folder (it is {})", path.display(), kind.describe())
            }
            PathError::Escapes { path } => write!(
                f,
                "{} is not a relative path inside the output folder",
                path.display()
            ),
            PathError::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for PathError {}

/// Compares every rendered file with what is on disk under `out`. Reads only regular files, and
/// only through real folders below `out`.
pub fn plan<'a>(files: &'a [RenderedFile], out: &Path) -> Result<Vec<Planned<'a>>, PathError> {
    let root = open_root(out)?;
    files
        .iter()
        .map(|file| {
            let target = out.join(&file.path);
            let (parent, name) = split(&file.path, out)?;
            let on_disk = match &root {
                None => OnDisk::Missing,
                Some(root) => match walk(root, out, parent, None)? {
                    None => OnDisk::Missing,
                    Some(dir) => read_target(&dir, name).map_err(|error| PathError::Io {
                        path: target.clone(),
                        error,
                    })?,
                },
            };
            let change = change(file, &on_disk);
            Ok(Planned {
                file,
                target,
                change,
                on_disk,
            })
        })
        .collect()
}

fn change(file: &RenderedFile, on_disk: &OnDisk) -> Change {
    match on_disk {
        OnDisk::Missing => Change::Create,
        OnDisk::NotAFile(kind) => Change::Blocked(Blocker::NotAFile(*kind)),
        OnDisk::TooLarge(size) => Change::Blocked(Blocker::TooLarge(*size)),
        OnDisk::File(text) if *text == file.contents => Change::Unchanged,
        OnDisk::File(text) if file.written_at_start(text) => Change::KeptFromStart,
        OnDisk::File(text) => match header::ownership(text) {
            Ownership::Untouched => Change::Update,
            Ownership::EditedByHand => Change::Blocked(Blocker::EditedByHand),
            Ownership::Foreign => Change::Blocked(Blocker::Foreign),
        },
    }
}

/// The folder part and the file name of a rendered path; refuses paths that leave `out`.
fn split<'p>(path: &'p Path, out: &Path) -> Result<(&'p Path, &'p OsStr), PathError> {
    let escapes = || PathError::Escapes {
        path: out.join(path),
    };
    if path
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(escapes());
    }
    let name = path.file_name().ok_or_else(escapes)?;
    let parent = path.parent().unwrap_or(Path::new(""));
    Ok((parent, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_output_folder_are_refused() {
        for path in ["../x.env", "/etc/x.env", "a/../../x.env"] {
            assert!(
                matches!(
                    split(Path::new(path), Path::new("out")),
                    Err(PathError::Escapes { .. })
                ),
                "{path}"
            );
        }
        let (parent, name) = split(Path::new("a/b/x.env"), Path::new("out")).unwrap();
        assert_eq!((parent, name), (Path::new("a/b"), OsStr::new("x.env")));
    }
}
