//! What registry modules give the model: each known module's listener, its app when it
//! has a slug, and the module use itself.

use crate::knowledge::Module;
use crate::model::provider::VersionRange;
use crate::model::url::UrlFact;
use crate::model::{App, AppOrigin, Listener, ListenerSource, ModuleUse, Place, Share, Workspace};
use crate::parse::terraform::Attribute;

pub(super) fn listeners_from_modules(ws: &mut Workspace) {
    let Some(module) = &ws.template else {
        return;
    };
    let mut listeners = Vec::new();
    let mut modules = Vec::new();
    let mut apps = Vec::new();
    // The template's calls, then those inside the modules it calls; a call whose module's files
    // are read (a local module) is known from them, not from the knowledge base.
    let scopes = std::iter::once((module, String::new())).chain(
        ws.local_modules
            .iter()
            .map(|l| (&l.module, format!("{}.", l.label))),
    );
    let calls = scopes.flat_map(|(module, prefix)| {
        module
            .modules()
            .into_iter()
            .map(move |call| (format!("{prefix}{}", call.name.value), call))
    });
    for (key, call) in calls {
        if ws.local_modules.iter().any(|l| l.label == key) {
            continue;
        }
        let Some(source) = call.source.and_then(|s| s.value.value.as_str()) else {
            continue;
        };
        let Some((name, known)) = ws.knowledge.module(source) else {
            continue;
        };
        if !serves_at_its_version(known, call.version) {
            continue;
        }
        let port_input = call.input("port");
        let (port, port_span) = match port_input {
            Some(attr) => match attr.value.value.as_port() {
                Some(port) => (port, attr.value.span),
                None => continue,
            },
            // Where the version decides whether it serves at all, its `version` is where it is set.
            None => match (&known.serves, call.version) {
                (Some(_), Some(version)) => (known.port, version.value.span),
                _ => (known.port, call.block.span),
            },
        };
        let slug = call
            .input("slug")
            .and_then(|a| a.value.value.as_str().map(|s| (s.to_owned(), a.value.span)))
            .or_else(|| known.slug.clone().map(|s| (s, call.name.span)));
        listeners.push(Listener {
            port,
            place: Place::Workspace,
            program: format!("module \"{key}\""),
            name: name.to_owned(),
            role: known.role.clone(),
            source: if port_input.is_some() {
                ListenerSource::Flag("port".to_owned())
            } else {
                ListenerSource::Module(name.to_owned())
            },
            span: port_span,
            health: known.health.clone(),
            http: true,
            site: Default::default(),
        });
        if let Some((slug, slug_span)) = &slug {
            let share_attr = call.input("share");
            // A module's share that is not a static string is left to the module: its default.
            let share = Share::of(share_attr.and_then(|a| a.value.value.as_str()).map(Some));
            apps.push(App {
                slug: slug.clone(),
                slug_span: *slug_span,
                span: call.block.span,
                declared_by: AppOrigin::Module(key.clone()),
                url: UrlFact::parse(&format!("http://localhost:{port}"), port_span),
                external: false,
                command: false,
                share,
                share_span: share_attr.map(|a| a.value.span),
                subdomain: call
                    .input("subdomain")
                    .and_then(|a| a.value.value.as_bool())
                    .unwrap_or(false),
                healthcheck: None,
                hidden: false,
                repeated: call.count.is_some() || call.for_each.is_some(),
                agent: None,
                netns: None,
            });
        }
        modules.push(ModuleUse {
            label: key.clone(),
            name: name.to_owned(),
            span: call.block.span,
            port,
            port_span,
            slug: slug.map(|(s, _)| s),
            agentapi: known.agentapi,
        });
    }
    ws.listeners.extend(listeners);
    ws.modules.extend(modules);
    ws.apps.extend(apps);
}

/// Whether the version Terraform installs for this call (the newest its `version` allows; the
/// newest of all without one) is among those whose server the knowledge base names. A version
/// that is not a readable constraint is not known to serve.
fn serves_at_its_version(known: &Module, version: Option<&Attribute>) -> bool {
    let Some(serves) = known.serves.as_deref() else {
        return true;
    };
    let Some(serves) = VersionRange::parse(serves) else {
        return false;
    };
    let call = match version {
        None => VersionRange::default(),
        Some(attr) => match attr.value.value.as_str().and_then(VersionRange::parse) {
            Some(range) => range,
            None => return false,
        },
    };
    call.newest_is_in(&serves)
}

#[cfg(test)]
mod tests {
    use crate::model::build::from_texts;
    use crate::model::FileKind;

    /// claude-code serves AgentAPI on 3284 only before v5: the version Terraform installs
    /// for the call (the newest its constraint allows) decides.
    #[test]
    fn a_module_serves_what_its_version_serves() {
        let ports = |version: &str| -> Vec<u16> {
            let tf = format!(
                "module \"claude\" {{\n  source = \"registry.coder.com/coder/claude-code/coder\"\n  {version}\n  agent_id = coder_agent.main.id\n}}\n"
            );
            let ws = from_texts(&[("main.tf", &tf, FileKind::Terraform)]);
            ws.listeners.iter().map(|l| l.port).collect()
        };
        assert_eq!(ports("version = \"~> 4.0\""), [3284]);
        assert_eq!(ports("version = \"2.0.0\""), [3284]);
        assert!(ports("version = \"~> 5.2\"").is_empty());
        assert!(ports("").is_empty(), "no version: the newest, v5 or later");
        assert!(
            ports("version = var.v").is_empty(),
            "unknown: not known to serve"
        );
    }
}
