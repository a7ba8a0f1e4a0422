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

use std::ffi::{OsStr, OsString};
use std::io::{Read as _, Write as _};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{self as fs, AtFlags, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use super::header::{self, Ownership};
use super::RenderedFile;

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

/// Opens `out` itself (which may be a link: the user named it). `None`: it does not exist.
fn open_root(out: &Path) -> Result<Option<OwnedFd>, PathError> {
    match fs::open(
        out,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(Errno::NOENT) => Ok(None),
        Err(Errno::NOTDIR) => Err(PathError::NotAFolder {
            path: out.to_path_buf(),
            kind: std::fs::symlink_metadata(out)
                .map(|m| NodeKind::of(FileType::from_raw_mode(m.mode())))
                .unwrap_or(NodeKind::Unknown),
        }),
        Err(e) => Err(PathError::Io {
            path: out.to_path_buf(),
            error: e.into(),
        }),
    }
}

/// Opens the folder `rel` below `root`, one component at a time, never following a link.
/// `Ok(None)`: a component is missing. With `created`, missing folders are made (mode 0755
/// at most) and recorded, outermost first.
fn walk(
    root: &OwnedFd,
    out: &Path,
    rel: &Path,
    mut created: Option<&mut Vec<PathBuf>>,
) -> Result<Option<OwnedFd>, PathError> {
    let mut dir = root.try_clone().map_err(|error| PathError::Io {
        path: out.to_path_buf(),
        error,
    })?;
    let mut so_far = PathBuf::new();
    for component in rel.components() {
        let Component::Normal(name) = component else {
            continue;
        };
        so_far.push(name);
        let io = |error: Errno| PathError::Io {
            path: out.join(&so_far),
            error: error.into(),
        };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let next = match fs::openat(&dir, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => match created.as_deref_mut() {
                None => return Ok(None),
                Some(created) => {
                    match fs::mkdirat(&dir, name, Mode::from_raw_mode(FOLDER_MODE)) {
                        Ok(()) => created.push(so_far.clone()),
                        Err(Errno::EXIST) => {}
                        Err(e) => return Err(io(e)),
                    }
                    fs::openat(&dir, name, flags, Mode::empty()).map_err(|e| {
                        not_a_folder(&dir, name, out.join(&so_far)).unwrap_or_else(|| io(e))
                    })?
                }
            },
            Err(e) => {
                return Err(not_a_folder(&dir, name, out.join(&so_far)).unwrap_or_else(|| io(e)))
            }
        };
        dir = next;
    }
    Ok(Some(dir))
}

/// The error for `name` in `dir` when it exists and is not a folder.
fn not_a_folder(dir: &OwnedFd, name: &OsStr, path: PathBuf) -> Option<PathError> {
    let stat = fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
    let kind = NodeKind::of(FileType::from_raw_mode(stat.st_mode));
    (kind != NodeKind::Folder).then_some(PathError::NotAFolder { path, kind })
}

/// Reads `name` in `dir` if it is a regular file of at most [`MAX_TARGET_BYTES`].
fn read_target(dir: &OwnedFd, name: &OsStr) -> std::io::Result<OnDisk> {
    Ok(match read_bytes(dir, name, MAX_TARGET_BYTES, Names::One)? {
        Read::Bytes(bytes) => OnDisk::File(String::from_utf8_lossy(&bytes).into_owned()),
        Read::Missing => OnDisk::Missing,
        Read::NotAFile(kind) => OnDisk::NotAFile(kind),
        Read::TooLarge(size) => OnDisk::TooLarge(size),
    })
}

/// What [`read_bytes`] found: the bytes, or why it read nothing.
enum Read {
    Bytes(Vec<u8>),
    Missing,
    NotAFile(NodeKind),
    TooLarge(u64),
}

/// Reads `name` in `dir` if it is a regular file of at most `max` bytes. The type is checked
/// before opening (so a FIFO or device is never opened) and again on the open file (so a file
/// swapped in between is not read).
fn read_bytes(dir: &OwnedFd, name: &OsStr, max: u64, names: Names) -> std::io::Result<Read> {
    let stat = match fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => stat,
        Err(Errno::NOENT) => return Ok(Read::Missing),
        Err(e) => return Err(e.into()),
    };
    if let Some(skip) = not_readable(&stat, max, names) {
        return Ok(skip);
    }
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = match fs::openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(Read::Missing),
        Err(Errno::LOOP) => return Ok(Read::NotAFile(NodeKind::Symlink)),
        Err(e) => return Err(e.into()),
    };
    if let Some(skip) = not_readable(&fs::fstat(&fd)?, max, names) {
        return Ok(skip);
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(max + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Ok(Read::TooLarge(bytes.len() as u64));
    }
    Ok(Read::Bytes(bytes))
}

/// How many names a file [`read_bytes`] reads may have.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Names {
    /// Any number: the caller named this file (the spec, a template).
    Any,
    /// One: a target under the output folder, which a hard link could make a file elsewhere.
    One,
}

fn not_readable(stat: &fs::Stat, max: u64, names: Names) -> Option<Read> {
    let kind = NodeKind::of(FileType::from_raw_mode(stat.st_mode));
    if kind != NodeKind::RegularFile {
        return Some(Read::NotAFile(kind));
    }
    if names == Names::One && stat.st_nlink > 1 {
        return Some(Read::NotAFile(NodeKind::HardLink));
    }
    let size = u64::try_from(stat.st_size).unwrap_or(0);
    (size > max).then_some(Read::TooLarge(size))
}

/// Why [`read_regular`] did not read a file.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// A symbolic link, FIFO, device, socket or folder: not opened.
    NotAFile(NodeKind),
    /// Larger than the limit: not read.
    TooLarge {
        size: u64,
        max: u64,
    },
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => e.fmt(f),
            ReadError::NotAFile(kind) => write!(f, "is {}, not a regular file", kind.describe()),
            ReadError::TooLarge { size, max } => {
                write!(f, "is larger than {} KiB ({size} bytes)", max / 1024)
            }
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads `path` as UTF-8 text only if it is a regular file of at most `max` bytes: a symbolic
/// link (the file itself; folders on the way are the caller's), FIFO or device is never opened.
/// For files a repository controls, such as the spec, which a link could point at any file of
/// the machine that reads it.
pub fn read_regular(path: &Path, max: u64) -> Result<String, ReadError> {
    let name = path
        .file_name()
        .ok_or_else(|| ReadError::Io(std::io::Error::other("not a file name")))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ReadError::Io(e.into()))?;
    match read_bytes(&dir, name, max, Names::Any).map_err(ReadError::Io)? {
        Read::Bytes(bytes) => String::from_utf8(bytes).map_err(|_| {
            ReadError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            ))
        }),
        Read::Missing => Err(ReadError::Io(Errno::NOENT.into())),
        Read::NotAFile(kind) => Err(ReadError::NotAFile(kind)),
        Read::TooLarge(size) => Err(ReadError::TooLarge { size, max }),
    }
}

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
fn stage(dir: &OwnedFd, contents: &str, mode: u32) -> std::io::Result<OsString> {
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

/// A unified diff from the file on disk (or nothing) to the rendered file. For files that hold
/// secrets (env files), the names of the keys that differ instead: values are never shown.
pub fn diff(planned: &Planned<'_>, display: &str) -> String {
    let old = planned.current();
    let old_name = match old {
        Some(_) => format!("a/{display}"),
        None => "/dev/null".to_owned(),
    };
    if planned.file.secret_values {
        return key_diff(
            old.unwrap_or(""),
            &planned.file.contents,
            &old_name,
            display,
        );
    }
    similar::TextDiff::from_lines(old.unwrap_or(""), &planned.file.contents)
        .unified_diff()
        .context_radius(3)
        .header(&old_name, &format!("b/{display}"))
        .to_string()
}

fn key_diff(old: &str, new: &str, old_name: &str, display: &str) -> String {
    use crate::parse::dotenv;
    use crate::source::FileId;
    let old_file = dotenv::parse(FileId(0), old);
    let new_file = dotenv::parse(FileId(0), new);
    let (old_vars, new_vars) = (old_file.variables(), new_file.variables());
    let mut keys: Vec<&str> = old_vars.keys().chain(new_vars.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut text = format!(
        "--- {old_name}\n+++ b/{display}\n# values are not shown (env files hold secrets); keys that differ:\n"
    );
    let mut any = false;
    for key in keys {
        let line = match (old_vars.get(key), new_vars.get(key)) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(_), Some(_)) => format!("#   changed: {}\n", printable(key)),
            (None, _) => format!("#   missing: {} (the spec sets it)\n", printable(key)),
            (_, None) => format!("#   extra: {} (not in the spec)\n", printable(key)),
        };
        any = true;
        text.push_str(&line);
    }
    if !any {
        text.push_str("#   none: comments, quoting or order differ\n");
    }
    text
}

/// A key as it can be printed to a terminal: control characters escaped.
fn printable(key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_graphic()) {
        key.to_owned()
    } else {
        key.escape_debug().to_string()
    }
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
