//! Modules `terraform init` installed beside a template: `.terraform/modules/modules.json` names
//! each module's folder (`Modules[].Dir`). The walk never enters `.terraform`; these files are
//! read on purpose, so that a remote module is checked from the source Terraform will run.

use std::path::{Path, PathBuf};

/// Most modules read from one manifest.
const MAX_MODULES: usize = 100;
/// Most files read from one module's folder.
const MAX_FILES_PER_MODULE: usize = 200;
/// How deep a module's folder is read.
const MAX_DEPTH: usize = 4;

/// The manifest beside each template folder among `files` (the walked files), and the files of
/// every module folder it names that portolan reads (`.tf`, scripts, env and compose files).
/// Only regular files inside the template's folder are read: folders that leave it, and links,
/// are skipped.
pub(super) fn installed_module_files(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut template_dirs: Vec<&Path> = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "tf"))
        .filter_map(|f| f.parent())
        .collect();
    template_dirs.sort();
    template_dirs.dedup();
    let mut out = Vec::new();
    for dir in template_dirs {
        // Neither `.terraform` nor `modules` may be a link out of the template's folder.
        let real_dir = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
        if !real_dir(&dir.join(".terraform")) || !real_dir(&dir.join(".terraform/modules")) {
            continue;
        }
        let manifest = dir.join(".terraform/modules/modules.json");
        let Ok(meta) = std::fs::symlink_metadata(&manifest) else {
            continue;
        };
        if !meta.is_file() || meta.len() > super::MAX_FILE_BYTES {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        out.push(manifest);
        for module_dir in module_dirs(&text).into_iter().take(MAX_MODULES) {
            let mut found = Vec::new();
            read_dir(&dir.join(module_dir), 0, &mut found);
            out.extend(found.into_iter().take(MAX_FILES_PER_MODULE));
        }
    }
    out.sort();
    out.dedup();
    let walked: std::collections::HashSet<&PathBuf> = files.iter().collect();
    out.retain(|f| !walked.contains(f));
    out
}

/// The `Dir` of every module in a manifest that stays inside the template's folder.
fn module_dirs(text: &str) -> Vec<PathBuf> {
    crate::files::installed_modules(text)
        .into_iter()
        .map(|(_, dir)| dir)
        .collect()
}

fn read_dir(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > MAX_DEPTH || out.len() >= MAX_FILES_PER_MODULE {
        return;
    }
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        let name = entry.file_name();
        if kind.is_dir() && name != ".git" && name != "node_modules" && name != ".terraform" {
            read_dir(&path, depth + 1, out);
        } else if kind.is_file() && super::classify(&path, None).is_some() {
            out.push(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_module_folders_inside_the_template_are_named() {
        let text = r#"{"Modules":[{"Key":"","Source":"","Dir":"."},
            {"Key":"code-server","Source":"registry.coder.com/coder/code-server/coder","Version":"1.3.0","Dir":".terraform/modules/code-server"},
            {"Key":"web","Source":"./modules/web","Dir":"modules/web"},
            {"Key":"evil","Source":"x","Dir":"../../etc"},
            {"Key":"abs","Source":"x","Dir":"/etc"}]}"#;
        assert_eq!(
            module_dirs(text),
            [
                PathBuf::from(".terraform/modules/code-server"),
                PathBuf::from("modules/web")
            ]
        );
        assert!(module_dirs("not json").is_empty());
    }

    /// The manifest and the files of the folders it names are read; links are not followed.
    #[test]
    fn installed_files_are_read_from_the_folders_the_manifest_names() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let write = |path: &str, text: &str| {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("main.tf", "module \"cs\" {}\n");
        write(
            ".terraform/modules/modules.json",
            r#"{"Modules":[{"Key":"cs","Dir":".terraform/modules/cs"}]}"#,
        );
        write(".terraform/modules/cs/main.tf", "variable \"port\" {}\n");
        write(".terraform/modules/cs/scripts/run.sh", "true\n");
        write(".terraform/modules/cs/README.md", "# cs\n");
        write(".terraform/modules/other/main.tf", "\n");
        write("outside/secret.sh", "true\n");
        std::os::unix::fs::symlink(
            root.join("outside"),
            root.join(".terraform/modules/cs/link"),
        )
        .unwrap();
        let found = installed_module_files(&[root.join("main.tf")]);
        let names: Vec<String> = found
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                ".terraform/modules/cs/main.tf",
                ".terraform/modules/cs/scripts/run.sh",
                ".terraform/modules/modules.json"
            ]
        );
    }
}
