//! Modules whose files are checked with the template: a local `source` (`./modules/x`,
//! `../shared/x`) whose folder is in the workspace, or a module `terraform init` installed
//! (`.terraform/modules/modules.json` names its folder). Each call is read like the caller: the
//! module's files evaluated with its variables bound to the call's arguments.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::normalize;
use crate::model::{LocalModule, Workspace};
use crate::parse::terraform::{Spanned, TerraformFile, TerraformModule, Value};

/// How deep calls inside called modules are followed.
const MAX_DEPTH: usize = 8;
/// Most module calls read in one workspace (calls repeated at every level multiply).
const MAX_CALLS: usize = 256;

/// The folder of each module `terraform init` installed, by call key, relative to the
/// template's folder: `Modules[].Key` and `.Dir` of `.terraform/modules/modules.json`. Entries
/// without a key (the root) or whose folder leaves the template's are left out.
pub(super) fn installed(ws: &Workspace) -> HashMap<String, PathBuf> {
    let mut out = HashMap::new();
    for id in super::files_of(ws, crate::model::FileKind::InstalledModules) {
        for (key, dir) in crate::files::installed_modules(&ws.sources.get(id).text) {
            out.insert(key, normalize(&dir));
        }
    }
    out
}

/// The template's folder: the shallowest folder of `.tf` files that no other folder calls as
/// a local module (the folders of modules a template calls through `../` are in its workspace).
pub(super) fn root_dir(ws: &Workspace, files: &[TerraformFile]) -> PathBuf {
    let called: Vec<PathBuf> = files
        .iter()
        .flat_map(|f| {
            let dir = folder(ws, f);
            calls(std::slice::from_ref(f))
                .into_iter()
                .filter(|(_, s)| s.starts_with("./") || s.starts_with("../"))
                .map(move |(_, s)| normalize(&dir.join(s)))
        })
        .collect();
    let mut dirs: Vec<PathBuf> = files.iter().map(|f| folder(ws, f)).collect();
    dirs.sort_by_key(|p| (p.components().count(), p.clone()));
    dirs.iter()
        .find(|d| !called.contains(d))
        .or(dirs.first())
        .cloned()
        .unwrap_or_default()
}

fn folder(ws: &Workspace, file: &TerraformFile) -> PathBuf {
    normalize(
        ws.sources
            .get(file.file)
            .path
            .parent()
            .unwrap_or(Path::new("")),
    )
}

/// Where a call's module is, if its files are in the workspace: its local `source` from the
/// caller's folder, else the folder `terraform init` installed it in (by the call's key).
fn module_folder(
    source: &str,
    caller_dir: &Path,
    key: &str,
    installed: &HashMap<String, PathBuf>,
    folders: &HashMap<PathBuf, Vec<TerraformFile>>,
) -> Option<PathBuf> {
    let dir = if source.starts_with("./") || source.starts_with("../") {
        normalize(&caller_dir.join(source))
    } else {
        installed.get(key)?.clone()
    };
    folders.contains_key(&dir).then_some(dir)
}

/// Splits the workspace's `.tf` files into the template's own (its folder, and folders no call
/// reads as a module, as before) and the files of each module folder, and reads every call of
/// a module folder with its arguments. `installed` maps a call's key (`label`, or
/// `outer.inner`) to the folder `terraform init` put it in, relative to the template's folder.
pub(super) fn split_and_read(
    ws: &Workspace,
    files: Vec<TerraformFile>,
    installed: &HashMap<String, PathBuf>,
) -> (TerraformModule, Vec<LocalModule>) {
    let root = root_dir(ws, &files);
    let installed: HashMap<String, PathBuf> = installed
        .iter()
        .map(|(k, dir)| (k.clone(), normalize(&root.join(dir))))
        .collect();
    let mut folders: HashMap<PathBuf, Vec<TerraformFile>> = HashMap::new();
    for file in files {
        folders.entry(folder(ws, &file)).or_default().push(file);
    }
    // Folders some call reads as a module, found from the template's folder down.
    let mut modules: Vec<PathBuf> = Vec::new();
    let mut todo: Vec<(PathBuf, String, usize)> = vec![(root.clone(), String::new(), 0)];
    while let Some((dir, prefix, depth)) = todo.pop() {
        if depth >= MAX_DEPTH {
            continue;
        }
        for (label, source) in calls(folders.get(&dir).map(Vec::as_slice).unwrap_or(&[])) {
            let key = key(&prefix, &label);
            let Some(target) = module_folder(&source, &dir, &key, &installed, &folders) else {
                continue;
            };
            if target == root || modules.contains(&target) {
                continue;
            }
            modules.push(target.clone());
            todo.push((target, key, depth + 1));
        }
    }
    let mut own = Vec::new();
    let mut module_files: HashMap<PathBuf, Vec<TerraformFile>> = HashMap::new();
    for (dir, files) in folders {
        if modules.contains(&dir) {
            module_files.insert(dir, files);
        } else if !dir.components().any(|c| c.as_os_str() == ".terraform") {
            // Installed modules no call reads are not the template's.
            own.extend(files);
        }
    }
    own.sort_by_key(|f| f.file);
    let template = TerraformModule::new(own);
    let mut out = Vec::new();
    read_calls(
        &template,
        &root,
        "",
        &installed,
        &module_files,
        &mut Vec::new(),
        &mut out,
    );
    (template, out)
}

/// `outer.inner`, as modules.json keys calls.
fn key(prefix: &str, label: &str) -> String {
    if prefix.is_empty() {
        label.to_owned()
    } else {
        format!("{prefix}.{label}")
    }
}

/// Every `module` block of these files with a literal `source`: (label, source).
fn calls(files: &[TerraformFile]) -> Vec<(String, String)> {
    files
        .iter()
        .flat_map(|f| f.blocks.iter())
        .filter(|b| b.kind.value == "module")
        .filter_map(|b| {
            let source = b.attribute("source")?.value.value.as_str()?.to_owned();
            Some((b.labels.first()?.value.clone(), source))
        })
        .collect()
}

/// Reads each call of `caller` whose module folder is known, then the calls inside it.
fn read_calls(
    caller: &TerraformModule,
    caller_dir: &Path,
    prefix: &str,
    installed: &HashMap<String, PathBuf>,
    module_files: &HashMap<PathBuf, Vec<TerraformFile>>,
    stack: &mut Vec<PathBuf>,
    out: &mut Vec<LocalModule>,
) {
    if stack.len() >= MAX_DEPTH {
        return;
    }
    for call in caller.modules() {
        if out.len() + stack.len() >= MAX_CALLS {
            return;
        }
        let Some(source) = call.source.and_then(|s| s.value.value.as_str()) else {
            continue;
        };
        let key = key(prefix, &call.name.value);
        let Some(dir) = module_folder(source, caller_dir, &key, installed, module_files) else {
            continue;
        };
        if stack.contains(&dir) {
            continue;
        }
        let Some(files) = module_files.get(&dir) else {
            continue;
        };
        let inputs: BTreeMap<String, Spanned<Value>> = call
            .inputs
            .iter()
            .map(|a| (a.name.value.clone(), a.value.clone()))
            .collect();
        let module = TerraformModule::with_inputs(files.clone(), &inputs);
        stack.push(dir.clone());
        read_calls(&module, &dir, &key, installed, module_files, stack, out);
        stack.pop();
        out.push(LocalModule {
            label: key,
            dir,
            call: call.block.span,
            module,
        });
    }
}

#[cfg(test)]
mod tests {
    use crate::model::build::from_texts;
    use crate::model::{AppOrigin, FileKind, Workspace};

    const MODULE: &str = r#"variable "agent_id" {
  type = string
}
variable "port" {
  default = 3000
}
resource "coder_script" "serve" {
  agent_id     = var.agent_id
  display_name = "serve"
  run_on_start = true
  script       = templatefile("${path.module}/run.sh", { PORT = var.port })
}
resource "coder_app" "web" {
  agent_id = var.agent_id
  slug     = "web"
  url      = "http://localhost:${var.port}"
}
"#;
    const RUN: &str = "#!/bin/bash\ncode-server --auth none --port \"${PORT}\" &\n";

    fn listeners(ws: &Workspace) -> Vec<(u16, &str)> {
        ws.listeners
            .iter()
            .map(|l| (l.port, ws.sources.get(l.span.file).path.to_str().unwrap()))
            .collect()
    }

    fn apps(ws: &Workspace) -> Vec<(&str, Option<u16>, &AppOrigin)> {
        ws.apps
            .iter()
            .map(|a| {
                (
                    a.slug.as_str(),
                    a.url.as_ref().and_then(|u| u.local_port()),
                    &a.declared_by,
                )
            })
            .collect()
    }

    /// Each call reads the module with its own arguments, else the variable's default.
    #[test]
    fn local_modules_read_with_the_calls_arguments() {
        let main = r#"module "web" {
  source   = "./modules/web"
  agent_id = coder_agent.main.id
  port     = 8080
}
module "docs" {
  source   = "./modules/web/"
  agent_id = coder_agent.main.id
}
"#;
        let ws = from_texts(&[
            ("main.tf", main, FileKind::Terraform),
            ("modules/web/main.tf", MODULE, FileKind::Terraform),
            ("modules/web/run.sh", RUN, FileKind::Script),
        ]);
        assert_eq!(
            listeners(&ws),
            [(8080, "modules/web/run.sh"), (3000, "modules/web/run.sh")]
        );
        let web = AppOrigin::Module("web".into());
        let docs = AppOrigin::Module("docs".into());
        assert_eq!(
            apps(&ws),
            [("web", Some(8080), &web), ("web", Some(3000), &docs)]
        );
        // The module's files are not the template's own; its script runs on the caller's agent.
        assert_eq!(ws.template.as_ref().unwrap().files.len(), 1);
        let labels: Vec<&str> = ws.local_modules.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["web", "docs"]);
        let agent = ws.local_modules[0].module.scripts()[0]
            .agent_name()
            .map(str::to_owned);
        assert_eq!(agent.as_deref(), Some("main"));
    }

    /// `../` sources (the caller is the template even where the module's folder sorts first),
    /// calls inside called modules (keyed `outer.inner`), and modules
    /// `terraform init` installed, found through modules.json.
    #[test]
    fn nested_parent_and_installed_modules() {
        let main = r#"module "outer" {
  source   = "../../s/outer"
  agent_id = coder_agent.main.id
}
module "cs" {
  source   = "registry.coder.com/coder/code-server/coder"
  version  = "1.0.0"
  agent_id = coder_agent.main.id
  port     = 13400
}
"#;
        let outer = r#"variable "agent_id" {}
module "inner" {
  source   = "./inner"
  agent_id = var.agent_id
  port     = 9001
}
"#;
        let manifest = r#"{"Modules":[{"Key":"","Source":"","Dir":"."},{"Key":"cs","Source":"registry.coder.com/coder/code-server/coder","Version":"1.0.0","Dir":".terraform/modules/cs"}]}"#;
        let ws = from_texts(&[
            ("t/a/main.tf", main, FileKind::Terraform),
            ("s/outer/main.tf", outer, FileKind::Terraform),
            ("s/outer/inner/main.tf", MODULE, FileKind::Terraform),
            ("s/outer/inner/run.sh", RUN, FileKind::Script),
            (
                "t/a/.terraform/modules/modules.json",
                manifest,
                FileKind::InstalledModules,
            ),
            (
                "t/a/.terraform/modules/cs/main.tf",
                MODULE,
                FileKind::Terraform,
            ),
            ("t/a/.terraform/modules/cs/run.sh", RUN, FileKind::Script),
        ]);
        let labels: Vec<&str> = ws.local_modules.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["outer.inner", "outer", "cs"]);
        assert_eq!(
            listeners(&ws),
            [
                (9001, "s/outer/inner/run.sh"),
                (13400, "t/a/.terraform/modules/cs/run.sh")
            ],
            "an installed module is read from its files, not from the knowledge base"
        );
    }

    /// A module that calls another many times at every level is read a bounded number of times.
    #[test]
    fn repeated_calls_stay_bounded() {
        let calls = |child: &str| -> String {
            (0..10)
                .map(|i| format!("module \"m{i}\" {{\n  source = \"./{child}\"\n}}\n"))
                .collect()
        };
        let mut files: Vec<(String, String)> = vec![("main.tf".into(), calls("l1"))];
        let mut dir = String::new();
        for level in 1..8 {
            dir.push_str(&format!("l{level}/"));
            files.push((format!("{dir}main.tf"), calls(&format!("l{}", level + 1))));
        }
        let inputs: Vec<(&str, &str, FileKind)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str(), FileKind::Terraform))
            .collect();
        let ws = from_texts(&inputs);
        assert!(
            ws.local_modules.len() <= super::MAX_CALLS,
            "{}",
            ws.local_modules.len()
        );
        assert!(ws.local_modules.len() >= 10);
    }

    /// Without modules.json a registry module is the knowledge base's; a folder under
    /// `.terraform` that no call reads is not part of the template.
    #[test]
    fn installed_folders_without_manifest_are_not_the_templates() {
        let main = "module \"cs\" {\n  source = \"registry.coder.com/coder/code-server/coder\"\n  port   = 13400\n}\n";
        let ws = from_texts(&[
            ("main.tf", main, FileKind::Terraform),
            (".terraform/modules/cs/main.tf", MODULE, FileKind::Terraform),
        ]);
        assert!(ws.local_modules.is_empty());
        assert_eq!(ws.template.as_ref().unwrap().files.len(), 1);
        assert_eq!(listeners(&ws), [(13400, "main.tf")]);
    }
}
