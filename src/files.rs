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
    /// `.terraform/modules/modules.json`: where `terraform init` put each module the template
    /// calls (read by check beside a template, never found by the walk).
    InstalledModules,
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
    if lower == "modules.json"
        && path
            .parent()
            .is_some_and(|p| p.ends_with(".terraform/modules"))
    {
        return Some(FileKind::InstalledModules);
    }
    if lower.ends_with(".tf") {
        return Some(FileKind::Terraform);
    }
    if lower.ends_with(".sh") || lower.ends_with(".bash") {
        return Some(FileKind::Script);
    }
    // A shell script that Terraform's templatefile() renders: `start.sh.tftpl`, `run.sh.tpl`.
    let template = lower
        .strip_suffix(".tftpl")
        .or_else(|| lower.strip_suffix(".tpl"));
    if template.is_some_and(|stem| stem.ends_with(".sh") || stem.ends_with(".bash")) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_templates_are_scripts_and_other_templates_are_not_read() {
        for name in ["start.sh.tftpl", "run.sh.tpl", "setup.bash.tftpl", "RUN.SH"] {
            assert_eq!(
                classify(Path::new(name), None),
                Some(FileKind::Script),
                "{name}"
            );
        }
        for name in [
            "cloud-config.yaml.tftpl",
            "user-data.tftpl",
            "workspace.nomad.tpl",
        ] {
            assert_eq!(classify(Path::new(name), None), None, "{name}");
        }
    }
}
