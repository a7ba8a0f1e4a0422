//! Building the [`Workspace`] from files: parse each, then join the facts into port chains.
//!
//! Order matters only where one file explains another: the `.env` beside a compose file feeds
//! its interpolation; scripts mounted into a container listen inside that container; a
//! Terraform `templatefile()` target is a script even without a `.sh` name.
//!
//! One module per kind of source: `terraform` (apps, env and the template), `compose`
//! (services, their env and listeners), `scripts` (what scripts run, assign, build and write)
//! and `modules` (registry modules' listeners and apps); env files are read here.

use std::path::{Path, PathBuf};

use super::url::UrlFact;
use super::{EnvScope, EnvVar, FileKind, Workspace};
use crate::knowledge::Knowledge;
use crate::parse::dotenv;
use crate::parse::terraform::TerraformModule;
use crate::source::{FileId, Span};

mod compose;
mod local_modules;
mod modules;
mod netns;
mod scripts;
mod terraform;

pub use terraform::value_text;

/// One file to read: its path as reports show it, its text and its kind.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    pub text: String,
    pub kind: FileKind,
}

/// Reads every file and builds the model.
pub fn build(files: Vec<InputFile>, knowledge: impl Into<std::sync::Arc<Knowledge>>) -> Workspace {
    let mut ws = Workspace {
        knowledge: knowledge.into(),
        ..Workspace::default()
    };
    for file in files {
        let id = ws.sources.add(file.path, file.text);
        ws.kinds.push((id, file.kind));
    }
    read_env_files(&mut ws);
    terraform::read_terraform(&mut ws);
    compose::read_compose(&mut ws);
    scripts::read_scripts(&mut ws);
    modules::listeners_from_modules(&mut ws);
    netns::assign(&mut ws);
    read_service_urls(&mut ws);
    ws
}

/// Reads the server-protocol URLs (`postgres://...`) of env values, by the knowledge's schemes.
fn read_service_urls(ws: &mut Workspace) {
    let kb = std::sync::Arc::clone(&ws.knowledge);
    let port = |scheme: &str| kb.url_scheme(scheme).map(|s| s.port);
    for var in &mut ws.env {
        let value = var.value.as_deref().unwrap_or_default().trim();
        let unquoted = var.raw.trim().trim_matches(['"', '\'']);
        var.service_url = UrlFact::parse_service(value, var.value_span, port)
            .or_else(|| UrlFact::parse_service(unquoted, var.value_span, port));
    }
}

/// The Terraform modules the workspace is made of, each with its folder: the template first.
fn template_modules(ws: &Workspace) -> Vec<(&TerraformModule, PathBuf)> {
    let mut out = Vec::new();
    if let Some(module) = &ws.template {
        out.push((module, module_dir(ws, module)));
    }
    for local in &ws.local_modules {
        out.push((&local.module, local.dir.clone()));
    }
    out
}

/// The folder of the template: that of its files no other folder calls as a module.
fn module_dir(ws: &Workspace, module: &TerraformModule) -> PathBuf {
    local_modules::root_dir(ws, &module.files)
}

fn files_of(ws: &Workspace, kind: FileKind) -> Vec<FileId> {
    ws.kinds
        .iter()
        .filter(|(_, k)| *k == kind)
        .map(|(id, _)| *id)
        .collect()
}

fn read_env_files(ws: &mut Workspace) {
    for id in files_of(ws, FileKind::EnvFile) {
        let parsed = dotenv::parse(id, &ws.sources.get(id).text);
        for entry in &parsed.entries {
            ws.env.push(env_var(
                &entry.key,
                entry.key_span,
                Some(entry.value.clone()),
                entry.value.clone(),
                entry.value_span,
                EnvScope::EnvFile,
            ));
        }
        ws.env_texts.push(crate::model::EnvText {
            file: id,
            env: parsed,
            written_by: None,
        });
    }
}

/// An env assignment with the URL in its value, if any.
fn env_var(
    name: &str,
    name_span: Span,
    value: Option<String>,
    raw: String,
    value_span: Span,
    scope: EnvScope,
) -> EnvVar {
    // `KEY==https://...` sets `=https://...`: still read the URL, so role rules see it.
    let url = value
        .as_deref()
        .and_then(|v| UrlFact::parse(v.trim().trim_start_matches('='), value_span))
        .or_else(|| {
            // A script value as written keeps its quotes: `"https://app--${WS}--${OWNER}.x"`.
            let unquoted = raw.trim().trim_matches(['"', '\'']);
            UrlFact::parse(unquoted.trim_start_matches('='), value_span)
        });
    EnvVar {
        name: name.to_owned(),
        name_span,
        value,
        raw,
        value_span,
        scope,
        url,
        service_url: None,
    }
}

/// `a/./b/../c` → `a/c`, `../a` stays `../a`; without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            // `..` past the start stays: `../x` is outside the folder, not `x`.
            std::path::Component::ParentDir => {
                if out.file_name().is_some() {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// A model of in-memory files, each with its kind, on the built-in knowledge base: what the
/// model's own tests build from.
#[cfg(test)]
pub(crate) fn from_texts(files: &[(&str, &str, FileKind)]) -> Workspace {
    let inputs = files
        .iter()
        .map(|(path, text, kind)| InputFile {
            path: (*path).into(),
            text: (*text).to_owned(),
            kind: *kind,
        })
        .collect();
    build(inputs, Knowledge::builtin().clone())
}

#[cfg(test)]
mod tests;
