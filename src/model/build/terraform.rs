//! What the Terraform files give the model: apps, the env of agents, `coder_env` and
//! containers, the provider pin and the template itself.

use super::env_var;
use crate::knowledge::ContainerForm;
use crate::model::url::UrlFact;
use crate::model::{App, AppOrigin, EnvScope, FileKind, Share, Workspace};
use crate::parse::shell::PartialText;
use crate::parse::terraform::{self, ContainerRuntime, TerraformModule, Value};
use crate::source::Span;
use std::collections::HashMap;

/// The text of a Terraform value as far as it is known: references stay as `${path}`.
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.fract() == 0.0 => Some(format!("{}", *n as i64)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Template(parts) => Some(
            parts
                .iter()
                .map(|p| match p {
                    terraform::TemplatePart::Literal { text, .. } => text.clone(),
                    terraform::TemplatePart::Reference(r) => format!("${{{}}}", r.path),
                    terraform::TemplatePart::Unknown { .. } => "${?}".to_owned(),
                })
                .collect(),
        ),
        Value::Reference(r) => Some(format!("${{{}}}", r.path)),
        _ => None,
    }
}

/// A template's text as far as it is known ([`PartialText`]), each piece with where it was
/// written: `coder_app.NAME.slug` is the slug of that app (`slugs`: app resource name to slug
/// and its span), other references and unknown parts stay unknown.
fn template_partial(
    parts: &[terraform::TemplatePart],
    slugs: &HashMap<String, (String, Span)>,
) -> PartialText {
    let mut out = PartialText::default();
    for part in parts {
        match part {
            terraform::TemplatePart::Literal { text, span } => {
                out.push(text, *span, text.len() == span.range().len())
            }
            terraform::TemplatePart::Reference(r) => {
                let app_slug = match r.names.as_slice() {
                    [root, name, attr] if root == "coder_app" && attr == "slug" => slugs.get(name),
                    _ => None,
                };
                match app_slug {
                    Some((slug, span)) => out.push(slug, *span, false),
                    None => out.push_unknown(&format!("${{{}}}", r.path), r.span),
                }
            }
            terraform::TemplatePart::Unknown { span } => out.push_unknown("${?}", *span),
        }
    }
    out
}

/// The URLs in the values of the template's `locals`, maps and lists included.
fn read_template_urls(ws: &mut Workspace, module: &TerraformModule) {
    fn walk(value: &terraform::Spanned<Value>, out: &mut Vec<UrlFact>) {
        match &value.value {
            Value::List(items) => items.iter().for_each(|v| walk(v, out)),
            Value::Map(entries) => entries.iter().for_each(|e| walk(&e.value, out)),
            other => {
                if let Some(text) = value_text(other) {
                    // An unknown part reads as one unknown character: its `?` would end the
                    // URL's authority.
                    let text = text.replace("${?}", &crate::coder::UNKNOWN.to_string());
                    // Evaluated text need not match the source byte for byte: each URL points at
                    // the whole value.
                    let found = UrlFact::find_all(&text, value.span);
                    out.extend(found.into_iter().map(|url| UrlFact {
                        span: value.span,
                        ..url
                    }));
                }
            }
        }
    }
    for block in module.blocks().filter(|b| b.kind.value == "locals") {
        for attr in &block.attributes {
            walk(&attr.value, &mut ws.template_urls);
        }
    }
}

pub(super) fn read_terraform(ws: &mut Workspace) {
    let ids = super::files_of(ws, FileKind::Terraform);
    if ids.is_empty() {
        return;
    }
    let parsed: Vec<_> = ids
        .iter()
        .map(|id| terraform::parse(*id, &ws.sources.get(*id).text))
        .collect();
    ws.parse_errors
        .extend(parsed.iter().flat_map(|f| f.diagnostics.iter()).cloned());
    let installed = super::local_modules::installed(ws);
    let (module, local_modules) = super::local_modules::split_and_read(ws, parsed, &installed);
    read_apps_and_env(ws, &module, None);
    for local in &local_modules {
        read_apps_and_env(ws, &local.module, Some(&local.label));
    }
    let runtime_of = |resource_type: &str| {
        let form = ws.knowledge.compute(resource_type)?.containers?;
        Some(match form {
            ContainerForm::Docker => ContainerRuntime::Docker,
            ContainerForm::Kubernetes => ContainerRuntime::Kubernetes,
        })
    };
    let slugs = app_slugs(ws);
    for container in module.containers(runtime_of) {
        for var in &container.env {
            ws.env.push(tf_env(
                &var.name.value,
                var.name.span,
                &var.value,
                EnvScope::Container,
                &slugs,
            ));
        }
    }
    read_template_urls(ws, &module);
    read_provider_pins(ws, &module, &local_modules);
    ws.template = Some(module);
    ws.local_modules = local_modules;
}

/// `coder_app.NAME.slug` in a value built from pieces is that app's slug: app resource name to
/// its slug and where the slug is written.
fn app_slugs(ws: &Workspace) -> HashMap<String, (String, Span)> {
    ws.apps
        .iter()
        .filter_map(|app| match &app.declared_by {
            AppOrigin::Resource(name) => Some((name.clone(), (app.slug.clone(), app.slug_span))),
            _ => None,
        })
        .collect()
}

/// An env assignment written in Terraform: the value as far as it is known, and the Coder app
/// URL it builds from pieces, if any.
fn tf_env(
    name: &str,
    name_span: Span,
    value: &terraform::Spanned<Value>,
    scope: EnvScope,
    slugs: &HashMap<String, (String, Span)>,
) -> crate::model::EnvVar {
    let text = value_text(&value.value);
    let mut var = env_var(
        name,
        name_span,
        text.clone(),
        text.unwrap_or_default(),
        value.span,
        scope,
    );
    if let Value::Template(parts) = &value.value {
        let mut url = None;
        super::scripts::app_url_from_pieces(&mut url, &template_partial(parts, slugs), value.span);
        if url.is_some() {
            var.url = url;
        }
    }
    var
}

/// The apps of a module (the template's own, or those of a module it calls, `called_as`), the
/// env of its agents and its `coder_env`s.
fn read_apps_and_env(ws: &mut Workspace, module: &TerraformModule, called_as: Option<&str>) {
    for app in module.apps() {
        let slug_attr = app
            .slug
            .map(|a| (a.value.value.as_str().map(str::to_owned), a.value.span));
        let (slug, slug_span) = match slug_attr {
            Some((Some(slug), span)) => (slug, span),
            _ => continue,
        };
        let text_of = |attr: Option<&terraform::Attribute>| {
            attr.and_then(|a| value_text(&a.value.value).map(|t| (t, a.value.span)))
        };
        // An external app is a link the browser opens: what its url names is not proxied.
        // An `external` whose value is unknown may be one. A command app runs in a terminal and
        // has no port (a url beside it is app-url-with-command's).
        let external = app
            .external
            .is_some_and(|a| a.value.value.as_bool() != Some(false));
        let command = app
            .command
            .is_some_and(|a| !matches!(a.value.value, Value::Null));
        let url = text_of(app.url)
            .filter(|_| !external && !command)
            .and_then(|(t, span)| UrlFact::parse(&t, span));
        let healthcheck = app
            .healthcheck
            .as_ref()
            .and_then(|h| text_of(h.url))
            .and_then(|(t, span)| UrlFact::parse(&t, span));
        let share_attr = app
            .share
            .map(|a| (a.value.value.as_str().map(str::to_owned), a.value.span));
        let share = Share::of(share_attr.as_ref().map(|(v, _)| v.as_deref()));
        ws.apps.push(App {
            slug,
            slug_span,
            span: app.block.span,
            declared_by: match called_as {
                None => AppOrigin::Resource(app.name.value.clone()),
                Some(label) => AppOrigin::Module(label.to_owned()),
            },
            url,
            external,
            command,
            share,
            share_span: share_attr.map(|(_, span)| span),
            subdomain: app
                .subdomain
                .and_then(|a| a.value.value.as_bool())
                .unwrap_or(false),
            healthcheck,
            hidden: app
                .hidden
                .and_then(|a| a.value.value.as_bool())
                .unwrap_or(false),
            repeated: app.count.is_some() || app.for_each.is_some(),
            agent: None,
            netns: None,
        });
    }

    let slugs = app_slugs(ws);
    for agent in module.agents() {
        for var in &agent.env {
            ws.env.push(tf_env(
                &var.name.value,
                var.name.span,
                &var.value,
                EnvScope::AgentEnv,
                &slugs,
            ));
        }
    }
    for env in module.envs() {
        let (Some(name), Some(value)) = (env.env_name, env.value) else {
            continue;
        };
        let Some(name_text) = name.value.value.as_str() else {
            continue;
        };
        ws.env.push(tf_env(
            name_text,
            name.value.span,
            &value.value,
            EnvScope::CoderEnv,
            &slugs,
        ));
    }
}

/// The `coder` provider pin of every root module: each folder of `.tf` files (or with a lock
/// file) that no module call of the workspace reads as a local module (`source = "./..."`),
/// from its own `required_providers` and `.terraform.lock.hcl`. The outermost is
/// `provider_pin`.
fn read_provider_pins(
    ws: &mut Workspace,
    module: &TerraformModule,
    local: &[crate::model::LocalModule],
) {
    use crate::model::provider::{version, Locked};
    use crate::model::ProviderPin;
    use std::path::{Path, PathBuf};

    let folder_of = |ws: &Workspace, span: Span| -> PathBuf {
        ws.sources
            .path(span)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    };
    let mut locks: Vec<(PathBuf, Locked)> = Vec::new();
    for id in super::files_of(ws, FileKind::LockFile) {
        let parsed = terraform::parse(id, &ws.sources.get(id).text);
        let Some((text, span)) = terraform::locked_coder_version(&parsed) else {
            continue;
        };
        let Some(v) = version(&text) else {
            continue;
        };
        let folder = folder_of(ws, span);
        locks.push((
            folder,
            Locked {
                span,
                text,
                version: v,
            },
        ));
    }
    let local_modules: Vec<PathBuf> = local.iter().map(|l| super::normalize(&l.dir)).collect();
    let mut folders: Vec<PathBuf> = super::files_of(ws, FileKind::Terraform)
        .into_iter()
        .map(|id| {
            ws.sources
                .get(id)
                .path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        })
        .chain(locks.iter().map(|(f, _)| f.clone()))
        .filter(|f| !local_modules.contains(&super::normalize(f)))
        .collect();
    folders.sort();
    folders.dedup();
    let mut pins = Vec::new();
    for folder in folders {
        let mut pin = ProviderPin::of_requirement(
            module
                .coder_provider_where(|b| folder_of(ws, b.span) == folder)
                .and_then(|p| p.version),
        );
        pin.locked = locks
            .iter()
            .find(|(f, _)| *f == folder)
            .map(|(_, l)| l.clone());
        pins.push((folder, pin));
    }
    // A local module's own constraint narrows its caller's (the root that holds it).
    let mut module_pins = Vec::new();
    for (folder, called) in local_modules.iter().zip(local) {
        let own = ProviderPin::of_requirement(
            called
                .module
                .coder_provider_where(|b| super::normalize(&folder_of(ws, b.span)) == *folder)
                .and_then(|p| p.version),
        );
        if own.constraint.is_none() {
            continue;
        }
        let root = pins
            .iter()
            .filter(|(f, _)| folder.starts_with(f))
            .max_by_key(|(f, _)| f.components().count())
            .map(|(_, p)| p.clone())
            .unwrap_or_default();
        module_pins.push((folder.clone(), root.with_module_constraint(own.constraint)));
    }
    pins.extend(module_pins);
    // Shallowest first: the outermost root is the workspace's pin.
    pins.sort_by_key(|(f, _)| f.components().count());
    ws.provider_pin = pins.first().map(|(_, p)| p.clone()).unwrap_or_default();
    ws.provider_pins = pins;
}
