//! What the compose files give the model: services with their published ports, mounts and
//! env files, their env, and the listeners of their images and command lines.

use std::collections::HashMap;
use std::path::Path;

use super::{env_var, normalize};
use crate::model::listen::{self, Arg, CommandLine};
use crate::model::{EnvScope, FileKind, Listener, Place, PublishedPort, Service, Workspace};
use crate::parse::compose;
use crate::source::{FileId, Span};

/// Variables for a compose file's interpolation: the `.env` in its folder.
fn dotenv_beside(ws: &Workspace, compose: FileId) -> HashMap<String, String> {
    let dir = ws
        .sources
        .get(compose)
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let wanted = dir.join(".env");
    ws.env_files()
        .find(|t| ws.sources.get(t.file).path == wanted)
        .map(|t| &t.env)
        .map(|env| {
            env.entries
                .iter()
                .map(|e| (e.key.clone(), e.value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn read_compose(ws: &mut Workspace) {
    for id in super::files_of(ws, FileKind::Compose) {
        let vars = dotenv_beside(ws, id);
        let parsed = compose::parse(id, &ws.sources.get(id).text, &|name| {
            vars.get(name).cloned()
        });
        ws.parse_errors.extend(parsed.diagnostics.iter().cloned());
        let dir = ws
            .sources
            .get(id)
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for service in &parsed.services {
            let index = ws.services.len();
            let host_network = service
                .network_mode
                .as_ref()
                .is_some_and(|m| m.value == "host");
            let place = if host_network {
                Place::Workspace
            } else {
                Place::Container(index)
            };
            for var in &service.environment {
                let (value, raw, span) = match &var.value {
                    Some(v) => (
                        Some(v.value.clone()),
                        v.raw.clone().unwrap_or_else(|| v.value.clone()),
                        v.span,
                    ),
                    None => (None, String::new(), var.name_span),
                };
                ws.env.push(env_var(
                    &var.name,
                    var.name_span,
                    value,
                    raw,
                    span,
                    EnvScope::Compose(index),
                ));
            }
            let env: Vec<(String, Option<String>, Span)> = service
                .environment
                .iter()
                .map(|v| {
                    (
                        v.name.clone(),
                        v.value.as_ref().map(|t| t.value.clone()),
                        v.name_span,
                    )
                })
                .collect();
            let words = |line: &compose::CommandLine| -> Vec<Arg> {
                match line {
                    compose::CommandLine::Args(args) => args
                        .iter()
                        .map(|a| Arg::new(a.value.clone(), a.span))
                        .collect(),
                    compose::CommandLine::Text(t) => listen::split_words(&t.value, t.span, false),
                }
            };
            let entrypoint = service.entrypoint.as_ref().map(words).unwrap_or_default();
            let command = service.command.as_ref().map(words).unwrap_or_default();
            let mut known = false;
            let mut listeners: Vec<Listener> = Vec::new();
            // The image's own program, configured by `command` (its arguments).
            if let Some(image) = &service.image {
                if let Some(specs) = ws.knowledge.image(&image.value) {
                    let program = crate::knowledge::image_repository(&image.value).to_owned();
                    let args: Vec<Arg> = entrypoint.iter().chain(command.iter()).cloned().collect();
                    listeners.extend(listen::listeners_of(
                        specs, &program, image.span, &args, &env, place,
                    ));
                    known = true;
                }
            }
            // Or a program named by the entrypoint or command.
            if !known {
                let words: Vec<Arg> = entrypoint.iter().chain(command.iter()).cloned().collect();
                let (found, complete) = listen::listeners_of_command(
                    &ws.knowledge,
                    &CommandLine {
                        words,
                        env: env.clone(),
                        prefix: Vec::new(),
                    },
                    place,
                );
                listeners.extend(found);
                known = complete;
            }
            ws.listeners.extend(listeners);
            let mounts = service
                .volumes
                .iter()
                .filter(|v| v.is_host_path())
                .filter_map(|v| {
                    let source = v.source.as_ref()?;
                    let path = dir.join(source.value.trim_start_matches("./"));
                    Some((normalize(&path).to_string_lossy().into_owned(), source.span))
                })
                .collect();
            ws.services.push(Service {
                name: service.name.clone(),
                name_span: service.name_span,
                file: id,
                image: service.image.as_ref().map(|i| (i.value.clone(), i.span)),
                published: service
                    .ports
                    .iter()
                    .map(|p| PublishedPort {
                        host: p.host,
                        container: p.container,
                        span: p.span,
                    })
                    .collect(),
                listeners_known: known,
                depends_on: service
                    .depends_on
                    .iter()
                    .map(|d| (d.service.clone(), d.span))
                    .collect(),
                env_files: service
                    .env_files
                    .iter()
                    .map(|e| {
                        let path = dir.join(e.path.value.trim_start_matches("./"));
                        (normalize(&path).to_string_lossy().into_owned(), e.path.span)
                    })
                    .collect(),
                mounts,
                network_mode_host: host_network,
                network_of: None,
            });
        }
        ws.compose_files.push((id, parsed));
    }
}
