//! What the Terraform files give the model: apps, the env of agents, `coder_env` and
//! containers, the provider pin and the template itself.

use super::env_var;
use crate::knowledge::ContainerForm;
use crate::model::url::UrlFact;
use crate::model::{App, AppOrigin, EnvScope, FileKind, Share, Workspace};
use crate::parse::terraform::{self, ContainerRuntime, TerraformModule, Value};
use crate::source::Span;

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
    for container in module.containers(runtime_of) {
        for var in &container.env {
            ws.env.push(tf_env(
                &var.name.value,
                var.name.span,
                &var.value,
                EnvScope::Container,
            ));
        }
    }
    ws.provider_pin = crate::model::ProviderPin::of(&module);
    ws.template = Some(module);
    ws.local_modules = local_modules;
}

/// An env assignment written in Terraform: the value as far as it is known.
fn tf_env(
    name: &str,
    name_span: Span,
    value: &terraform::Spanned<Value>,
    scope: EnvScope,
) -> crate::model::EnvVar {
    let text = value_text(&value.value);
    env_var(
        name,
        name_span,
        text.clone(),
        text.unwrap_or_default(),
        value.span,
        scope,
    )
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
        let url = text_of(app.url).and_then(|(t, span)| UrlFact::parse(&t, span));
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
        });
    }

    for agent in module.agents() {
        for var in &agent.env {
            ws.env.push(tf_env(
                &var.name.value,
                var.name.span,
                &var.value,
                EnvScope::AgentEnv,
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
        ));
    }
}
