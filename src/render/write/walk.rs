//! Walking below the output folder and reading what is there: the output folder opened, each
//! folder below it opened one component at a time without following a link, and a file read only
//! when it is a regular file (with one name, for a target) of at most a given size.

use std::ffi::OsStr;
use std::io::Read as _;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{self as fs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::{NodeKind, OnDisk, PathError, FOLDER_MODE, MAX_TARGET_BYTES};

/// Opens `out` itself (which may be a link: the user named it). `None`: it does not exist.
pub(super) fn open_root(out: &Path) -> Result<Option<OwnedFd>, PathError> {
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
pub(super) fn walk(
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
pub(super) fn read_target(dir: &OwnedFd, name: &OsStr) -> std::io::Result<OnDisk> {
    Ok(match read_bytes(dir, name, MAX_TARGET_BYTES, Names::One)? {
        Read::Bytes(bytes) => OnDisk::File(String::from_utf8_lossy(&bytes).into_owned()),
        Read::Missing => OnDisk::Missing,
        Read::NotAFile(kind) => OnDisk::NotAFile(kind),
        Read::TooLarge(size) => OnDisk::TooLarge(size),
    })
}

/// What [`read_bytes`] found: the bytes, or why it read nothing.
pub(super) enum Read {
    Bytes(Vec<u8>),
    Missing,
    NotAFile(NodeKind),
    TooLarge(u64),
}

/// Reads `name` in `dir` if it is a regular file of at most `max` bytes. The type is checked
/// before opening (so a FIFO or device is never opened) and again on the open file (so a file
/// swapped in between is not read).
pub(super) fn read_bytes(
    dir: &OwnedFd,
    name: &OsStr,
    max: u64,
    names: Names,
) -> std::io::Result<Read> {
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
pub(super) enum Names {
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
