//! `portolan init`: a starter portolan.yaml.

use std::path::Path;

use portolan::render::write;

use super::{FAILED, OK};

/// Writes `spec` (a preset) as `dir/portolan.yaml`.
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
    match write::write_atomic(&path, spec, 0o644) {
        Ok(()) => {
            super::output::note(format_args!(
                "wrote {}; next: portolan render {}",
                path.display(),
                path.display()
            ));
            OK
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            FAILED
        }
    }
}
