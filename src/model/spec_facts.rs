//! What the spec says, as `check --spec` compares it by meaning with files that exist, whatever
//! their names: its apps, its compose services and their published ports, and the env
//! variables it sets to an origin or a localhost URL.
//!
//! The ports and share levels are the model's of what the spec renders (the rendered files,
//! built as any files are); the spec gives only the names and where they are written, so that a
//! finding names the spec's line. Spans are byte ranges of the spec's text ([`Located`]): the
//! checked workspace holds the spec as one of its files, whose id the rule supplies.

use crate::coder::Share;
use crate::spec::reference::{self, Part, RefKind};
use crate::spec::{Located, Spec};

use super::{FileKind, HostTarget, Place, Workspace};
use crate::files::ExpectedFile;
use crate::source::FileId;

/// The facts of one spec.
#[derive(Debug, Clone, Default)]
pub struct SpecFacts {
    /// The spec's path among the workspace's files, whose text the spans point into (set by
    /// `check`, which adds the spec to the files).
    pub path: std::path::PathBuf,
    pub apps: Vec<SpecApp>,
    /// Compose services only: a `run` service has no name in the files to match by.
    pub services: Vec<SpecService>,
    pub env: Vec<SpecEnv>,
}

/// An app of the spec, keyed by its slug.
#[derive(Debug, Clone)]
pub struct SpecApp {
    pub slug: Located<String>,
    /// `service.port` as written.
    pub target: Located<String>,
    /// The port on the agent's localhost its rendered `url` names, written where the spec gives
    /// the target's port (`site: 3211`).
    pub port: Option<Located<u16>>,
    /// As rendered; located at the spec's `share:` (synthetic when the spec leaves the default).
    pub share: Located<Share>,
    pub subdomain: bool,
}

/// A compose service of the spec, by its compose name.
#[derive(Debug, Clone)]
pub struct SpecService {
    pub name: Located<String>,
    /// The image, as rendered.
    pub image: Option<String>,
    pub ports: Vec<SpecPort>,
}

/// A port the rendered compose file publishes: `host:container`, located at the spec's value.
#[derive(Debug, Clone)]
pub struct SpecPort {
    /// The port's name in the spec (`site`).
    pub name: String,
    pub host: u16,
    pub container: u16,
    pub at: Located<()>,
}

/// An env variable the spec sets to one reference: an app's origin or a localhost URL.
#[derive(Debug, Clone)]
pub struct SpecEnv {
    pub name: Located<String>,
    /// The value as written (`${origin:backend.site}`), located.
    pub value: Located<String>,
    /// What it names: `CoderApp(slug)` for an origin, `Localhost(port)` for a `url`.
    pub target: HostTarget,
    /// What the rendered files' values of that name name besides: an origin's fallback outside
    /// Coder (`${CONVEX_SITE_ORIGIN:-http://localhost:3211}` in the compose file).
    pub rendered: Vec<HostTarget>,
}

impl SpecEnv {
    /// Whether a value that names `target` agrees with the spec.
    pub fn agrees(&self, target: &HostTarget) -> bool {
        self.target == *target || self.rendered.contains(target)
    }
}

impl SpecFacts {
    /// The facts of `spec`, with the ports and shares of `rendered`, the model of the files it
    /// renders.
    pub fn of(spec: &Spec, rendered: &Workspace) -> SpecFacts {
        let mut facts = SpecFacts::default();
        for (slug, app) in &spec.apps {
            let Some(model) = rendered.apps.iter().find(|a| a.slug == slug.value) else {
                continue;
            };
            let written = spec.port(&app.target).ok().and_then(|(service, port, _)| {
                spec.services
                    .get(service.as_str())?
                    .ports
                    .get(port.as_str())
            });
            let port = model.url.as_ref().and_then(|u| match u.target {
                HostTarget::Localhost(p) => Some(p),
                _ => None,
            });
            facts.apps.push(SpecApp {
                slug: slug.clone(),
                target: app.target.clone(),
                port: port.map(|p| Located {
                    value: p,
                    start: written.map_or(app.target.start, |w| w.start),
                    end: written.map_or(app.target.end, |w| w.end),
                }),
                share: Located {
                    value: model.share,
                    start: app.share.start,
                    end: app.share.end,
                },
                subdomain: model.subdomain,
            });
        }
        for (name, service) in spec.services.iter().filter(|(_, s)| s.is_compose()) {
            let Some(model) = rendered.services.iter().find(|s| s.name == name.value) else {
                continue;
            };
            let mut ports = Vec::new();
            for published in &model.published {
                let (Some(host), container) = (published.host, published.container) else {
                    continue;
                };
                let Some((port_name, value)) = service
                    .ports
                    .iter()
                    .find(|(_, p)| p.value.container() == container.start)
                else {
                    continue;
                };
                ports.push(SpecPort {
                    name: port_name.value.clone(),
                    host: host.start,
                    container: container.start,
                    at: Located {
                        value: (),
                        start: value.start,
                        end: value.end,
                    },
                });
            }
            facts.services.push(SpecService {
                name: name.clone(),
                image: model.image.as_ref().map(|(image, _)| image.clone()),
                ports,
            });
        }
        let values = spec
            .services
            .values()
            .flat_map(|s| s.env.iter())
            .chain(spec.env_files.values().flat_map(|f| f.iter()));
        for (name, value) in values {
            let Some(target) = single_target(spec, &value.value.0) else {
                continue;
            };
            let mut also: Vec<HostTarget> = Vec::new();
            for var in rendered.env.iter().filter(|v| v.name == name.value) {
                if let Some(url) = var.url.as_ref().filter(|u| !also.contains(&u.target)) {
                    also.push(url.target.clone());
                }
            }
            facts.env.push(SpecEnv {
                name: name.clone(),
                value: Located {
                    value: value.value.0.clone(),
                    start: value.start,
                    end: value.end,
                },
                target,
                rendered: also,
            });
        }
        facts
    }
}

/// What a value made of one `${origin:...}` or `${url:...}` reference names.
fn single_target(spec: &Spec, text: &str) -> Option<HostTarget> {
    let parts = reference::parse(text).ok()?;
    let [Part::Ref(found)] = parts.as_slice() else {
        return None;
    };
    match found.kind {
        RefKind::Origin => Some(HostTarget::CoderApp(
            spec.app_slug_for(&found.target)?.to_owned(),
        )),
        RefKind::Url => {
            let (_, _, port) = spec.port(&found.target).ok()?;
            Some(HostTarget::Localhost(port.host()))
        }
        _ => None,
    }
}

impl Workspace {
    /// Whether a file carries portolan's header (render's, or the start script's): `check
    /// --spec` compares such a file with what the spec renders by text, any other by meaning.
    pub fn stamped(&self, file: FileId) -> bool {
        crate::render::header::has_header(&self.sources.get(file).text)
    }

    /// Whether a file of `kind` without portolan's header is in the workspace: hand-written
    /// files play that kind's part, whatever their names.
    pub fn hand_written(&self, kind: FileKind) -> bool {
        self.kinds
            .iter()
            .any(|(id, k)| *k == kind && !self.stamped(*id))
    }

    /// Whether a hand-written file plays the part of the file the spec renders at `expected`:
    /// a Terraform file the apps', a compose file the services', a script the agent runs (a
    /// script file or a template's startup script) the start script's. Env files are the start
    /// script's to write, and have no other part.
    pub fn part_played_by_hand(&self, expected: &ExpectedFile) -> bool {
        match crate::files::classify(&expected.file.path, Some(&expected.file.contents)) {
            Some(FileKind::Terraform) => self.hand_written(FileKind::Terraform),
            Some(FileKind::Compose) => self.hand_written(FileKind::Compose),
            Some(FileKind::Script) => self
                .scripts
                .iter()
                .any(|s| s.place == Place::Workspace && !self.stamped(s.file)),
            _ => false,
        }
    }

    /// Whether `check --spec` compares the part of `kind` by meaning: no file the spec renders
    /// of that kind is on disk with portolan's header (those are compared by text), and a
    /// hand-written one is. For Terraform the part is the apps, `coder-apps.tf`'s: a rendered
    /// `main.tf` holds the template around them.
    pub fn compared_by_meaning(&self, kind: FileKind) -> bool {
        let stamped = self.expected.iter().any(|e| {
            crate::files::classify(&e.file.path, Some(&e.file.contents)) == Some(kind)
                && e.file.path != std::path::Path::new(crate::render::context::MAIN_TF)
                && self
                    .sources
                    .find(&e.path)
                    .is_some_and(|id| self.stamped(id))
        });
        !stamped && self.hand_written(kind)
    }
}
