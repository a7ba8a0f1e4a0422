//! Writing rendered files: never half-written, never over a hand edit without `force`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::header::{self, Ownership};
use super::RenderedFile;

/// What writing one file would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create,
    Update,
    Unchanged,
    /// The file on disk was edited after portolan wrote it (or was never portolan's).
    Blocked(Ownership),
}

#[derive(Debug, Clone)]
pub struct Planned<'a> {
    pub file: &'a RenderedFile,
    pub target: PathBuf,
    pub change: Change,
    /// The current text on disk, if any.
    pub current: Option<String>,
}

/// Compares every rendered file with what is on disk under `out`.
pub fn plan<'a>(files: &'a [RenderedFile], out: &Path) -> std::io::Result<Vec<Planned<'a>>> {
    files
        .iter()
        .map(|file| {
            let target = out.join(&file.path);
            let current = match std::fs::read(&target) {
                Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            };
            let change = match &current {
                None => Change::Create,
                Some(text) if *text == file.contents => Change::Unchanged,
                Some(text) => match header::ownership(text) {
                    Ownership::Untouched => Change::Update,
                    other => Change::Blocked(other),
                },
            };
            Ok(Planned {
                file,
                target,
                change,
                current,
            })
        })
        .collect()
}

/// Writes `contents` to `path` through a temporary file in the same folder and a rename, so a
/// reader sees the old file or the new one, never a mix.
pub fn write_atomic(path: &Path, contents: &str, mode: u32) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".portolan-")
        .tempfile_in(dir)?;
    tmp.write_all(contents.as_bytes())?;
    tmp.as_file().sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// A unified diff from the file on disk (or nothing) to the rendered file.
pub fn unified_diff(planned: &Planned<'_>, display: &str) -> String {
    let old = planned.current.as_deref().unwrap_or("");
    let old_name = if planned.current.is_some() {
        format!("a/{display}")
    } else {
        "/dev/null".to_owned()
    };
    similar::TextDiff::from_lines(old, &planned.file.contents)
        .unified_diff()
        .context_radius(3)
        .header(&old_name, &format!("b/{display}"))
        .to_string()
}
