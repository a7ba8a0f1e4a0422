//! The files portolan reads and the files a spec renders: what kind a path is, and what a
//! rendered file should hold on disk. The walk, the model and the rules share these.

use std::path::{Path, PathBuf};

/// The kind of a file portolan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileKind {
    Terraform,
    Compose,
    Script,
    EnvFile,
    Spec,
    /// `.terraform.lock.hcl`: the provider versions `terraform init` selected.
    LockFile,
}

/// What kind of file a path is, from its name (and, for YAML, its content).
pub fn classify(path: &Path, text: Option<&str>) -> Option<FileKind> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    if lower == "portolan.yaml" || lower == "portolan.yml" {
        return Some(FileKind::Spec);
    }
    if lower == ".terraform.lock.hcl" {
        return Some(FileKind::LockFile);
    }
    if lower.ends_with(".tf") {
        return Some(FileKind::Terraform);
    }
    if lower.ends_with(".sh") || lower.ends_with(".bash") {
        return Some(FileKind::Script);
    }
    if lower == ".env" || lower.starts_with(".env.") || lower.ends_with(".env") {
        return Some(FileKind::EnvFile);
    }
    let yaml = lower.ends_with(".yml") || lower.ends_with(".yaml");
    if yaml {
        let stem = lower.trim_end_matches(".yml").trim_end_matches(".yaml");
        if stem.starts_with("docker-compose") || stem.starts_with("compose") {
            return Some(FileKind::Compose);
        }
        if text.is_some_and(crate::parse::compose::is_compose) {
            return Some(FileKind::Compose);
        }
    }
    None
}

/// A file the spec renders, which should be on disk as rendered.
#[derive(Debug, Clone)]
pub struct ExpectedFile {
    /// Relative to the checked root, like every path in a workspace.
    pub path: PathBuf,
    /// What render writes (its own path is relative to the spec's folder).
    pub file: crate::render::RenderedFile,
}

impl ExpectedFile {
    /// Whether the file on disk (`None`: missing) is drift. `main.tf` is written only with
    /// `render --full`, so it is compared only when present.
    pub fn drifted(&self, on_disk: Option<&str>) -> bool {
        let full_only = self.file.path == Path::new(crate::render::context::MAIN_TF);
        !(on_disk.is_none() && full_only) && self.file.drifted(on_disk)
    }
}
