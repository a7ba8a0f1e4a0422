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

/// What kind of file a text is, from its content alone: for standard input without
/// `--stdin-filename` and for a file named on the command line whose name says nothing
/// (`stack.txt`). A shell script starts with a `#!` line naming a shell; a compose file has a
/// top-level `services:` mapping; Terraform has a top-level block (`resource "..." "..." {`,
/// `terraform {`, `locals {`, ...); an env file is nothing but `NAME=value` lines (optionally
/// `export`ed), comments and blank lines. `None` when it is none of these.
pub fn classify_content(text: &str) -> Option<FileKind> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next().unwrap_or("");
    if let Some(interpreter) = first.strip_prefix("#!") {
        let shells = ["sh", "bash", "dash", "ash", "ksh", "zsh"];
        let mut words = interpreter.split_whitespace();
        let program = words.next().unwrap_or("").rsplit('/').next().unwrap_or("");
        // `#!/usr/bin/env bash`, `#!/usr/bin/env -S bash -e`.
        let program = if program == "env" {
            words.find(|w| !w.starts_with('-')).unwrap_or("")
        } else {
            program
        };
        return shells.contains(&program).then_some(FileKind::Script);
    }
    if crate::parse::compose::is_compose(text) {
        return Some(FileKind::Compose);
    }
    if text.lines().any(is_terraform_block) {
        return Some(FileKind::Terraform);
    }
    let mut assignments = 0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let (name, _) = line.split_once('=')?;
        let name = name.trim_end();
        let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !valid {
            return None;
        }
        assignments += 1;
    }
    (assignments > 0).then_some(FileKind::EnvFile)
}

/// A top-level Terraform block's first line: `resource "a" "b" {`, `locals {`.
fn is_terraform_block(line: &str) -> bool {
    const BLOCKS: &[&str] = &[
        "resource",
        "data",
        "module",
        "variable",
        "locals",
        "terraform",
        "provider",
        "output",
    ];
    let Some(rest) = BLOCKS.iter().find_map(|b| line.strip_prefix(b)) else {
        return false;
    };
    let rest = rest.trim_end();
    let Some(labels) = rest.strip_suffix('{') else {
        return false;
    };
    // Nothing but quoted labels between the keyword and the brace.
    let labels = labels.trim();
    (rest.starts_with([' ', '{'])) && {
        let mut quoted = labels;
        loop {
            if quoted.is_empty() {
                break true;
            }
            let Some(inner) = quoted.strip_prefix('"') else {
                break false;
            };
            let Some(end) = inner.find('"') else {
                break false;
            };
            quoted = inner[end + 1..].trim_start();
        }
    }
}

/// A file the spec renders, which should be on disk as rendered.
#[derive(Debug, Clone)]
pub struct ExpectedFile {
    /// Relative to the checked root, like every path in a workspace.
    pub path: PathBuf,
    /// What render writes (its own path is relative to the spec's folder).
    pub file: crate::render::RenderedFile,
    /// Compared only when present: `main.tf` when no record of the last render says whether
    /// it was rendered with `--full`.
    pub optional: bool,
}

impl ExpectedFile {
    /// Whether the file on disk (`None`: missing) is drift.
    pub fn drifted(&self, on_disk: Option<&str>) -> bool {
        !(on_disk.is_none() && self.optional) && self.file.drifted(on_disk)
    }
}

/// The modules `terraform init` installed, from `.terraform/modules/modules.json`: each call
/// key (`Modules[].Key`) with its folder (`.Dir`, relative to the template's folder). Entries
/// without a key (the root module) or whose folder is absolute or leaves the template's (`..`)
/// are left out; a manifest that does not parse gives none. Read by the walk (which files to
/// read) and the model (which call they are) alike.
pub fn installed_modules(manifest: &str) -> Vec<(String, PathBuf)> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        #[serde(rename = "Modules", default)]
        modules: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(rename = "Key", default)]
        key: String,
        #[serde(rename = "Dir", default)]
        dir: String,
    }
    let Ok(manifest) = serde_json::from_str::<Manifest>(manifest) else {
        return Vec::new();
    };
    manifest
        .modules
        .into_iter()
        .filter(|entry| !entry.key.is_empty())
        .map(|entry| (entry.key, PathBuf::from(entry.dir)))
        .filter(|(_, dir)| {
            dir.components().all(|c| {
                matches!(
                    c,
                    std::path::Component::Normal(_) | std::path::Component::CurDir
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_tells_scripts_compose_terraform_and_env_files_apart() {
        let cases: &[(&str, Option<FileKind>)] = &[
            (
                "#!/usr/bin/env bash\nnpx convex dev\n",
                Some(FileKind::Script),
            ),
            ("#!/bin/sh -e\nexec app\n", Some(FileKind::Script)),
            ("#!/usr/bin/env python3\nprint(1)\n", None),
            (
                "services:\n  backend:\n    image: x\n",
                Some(FileKind::Compose),
            ),
            (
                "# a template\nresource \"coder_app\" \"api\" {\n  url = \"x\"\n}\n",
                Some(FileKind::Terraform),
            ),
            ("terraform {\n}\n", Some(FileKind::Terraform)),
            ("locals{\n}\n", Some(FileKind::Terraform)),
            (
                "# env\nexport A=1\nB_C = 2\n\nD=\n",
                Some(FileKind::EnvFile),
            ),
            ("A=1\necho hello\n", None),
            ("resources are described below {\n", None),
            ("jobs:\n  test: {}\n", None),
            ("", None),
            ("hello world\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(classify_content(text), *want, "{text:?}");
        }
    }

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
