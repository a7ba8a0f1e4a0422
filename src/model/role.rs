//! The role an app must serve, as the env variables that hold its origin say: the app whose
//! slug `CONVEX_SITE_ORIGIN` names must reach the listener of role `convex-site`.

use super::{App, EnvVar, Listener, Place, Workspace};

/// What an app is for, and where what it is for listens.
#[derive(Debug)]
pub struct AppRole<'a> {
    /// The listener role (`convex-site`).
    pub role: &'a str,
    /// The first variable that holds the app's origin with that role.
    pub var: &'a EnvVar,
    /// Every listener of the role, each with the port on the agent's localhost that reaches it
    /// (its own port in the workspace, a compose mapping's host port for a container), when one
    /// does.
    pub targets: Vec<(&'a Listener, Option<u16>)>,
}

impl AppRole<'_> {
    /// The agent-side ports that reach a listener of the role, in listener order, once each.
    pub fn ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = Vec::new();
        for port in self.targets.iter().filter_map(|(_, p)| *p) {
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        ports
    }
}

impl Workspace {
    /// The role of an app: the variables whose URL names it by slug (`https://convex-site--ws--me.…`)
    /// and whose role the knowledge base gives. `None` when no such variable names it, or when
    /// variables of different roles do (then the variables disagree and origin-wrong-role says
    /// which is wrong).
    pub fn app_role(&self, app: &App) -> Option<AppRole<'_>> {
        let mut found: Option<(&str, &EnvVar)> = None;
        for var in &self.env {
            let Some(url) = &var.url else { continue };
            if url.slug() != Some(app.slug.as_str()) {
                continue;
            }
            let Some(role) = self
                .knowledge
                .env_role(&var.name)
                .and_then(|r| r.role.as_deref())
            else {
                continue;
            };
            match found {
                None => found = Some((role, var)),
                Some((seen, _)) if seen == role => {}
                Some(_) => return None,
            }
        }
        let (role, var) = found?;
        let targets = self
            .distinct_listeners()
            .into_iter()
            .filter(|l| l.role.as_deref() == Some(role))
            .map(|l| (l, self.agent_port_of(l)))
            .collect();
        Some(AppRole { role, var, targets })
    }

    /// The port on the agent's localhost that reaches a listener: its own port in the
    /// workspace or in a container on the host's network, else the host port compose
    /// publishes it on.
    pub fn agent_port_of(&self, listener: &Listener) -> Option<u16> {
        match listener.place {
            Place::Workspace => Some(listener.port),
            Place::Container(i) => {
                let service = self.services.get(i)?;
                if service.network_mode_host {
                    return Some(listener.port);
                }
                service
                    .published
                    .iter()
                    .find_map(|p| p.host_for(listener.port))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::FileKind;

    const COMPOSE: &str = "services:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports: [\"3210:3210\", \"4211:3211\"]\n";

    fn tf(slug: &str) -> String {
        format!("resource \"coder_app\" \"a\" {{\n  slug = \"{slug}\"\n  url  = \"http://localhost:3212\"\n}}\n")
    }

    #[test]
    fn a_variable_of_a_role_gives_the_app_its_role_and_the_port_that_reaches_it() {
        let env = "CONVEX_SITE_ORIGIN=https://site--ws--me.coder.example.com\n";
        let ws = crate::model::build::from_texts(&[
            ("main.tf", &tf("site"), FileKind::Terraform),
            ("docker-compose.yml", COMPOSE, FileKind::Compose),
            (".env", env, FileKind::EnvFile),
        ]);
        let role = ws.app_role(&ws.apps[0]).expect("a role");
        assert_eq!(role.role, "convex-site");
        assert_eq!(role.var.name, "CONVEX_SITE_ORIGIN");
        // The site proxy listens on 3211 in the container; compose publishes it on 4211.
        assert_eq!(role.ports(), [4211]);
        assert_eq!(role.targets[0].0.port, 3211);
    }

    #[test]
    fn variables_of_two_roles_give_no_role() {
        let env = "CONVEX_SITE_ORIGIN=https://site--ws--me.coder.example.com\nCONVEX_CLOUD_ORIGIN=https://site--ws--me.coder.example.com\n";
        let ws = crate::model::build::from_texts(&[
            ("main.tf", &tf("site"), FileKind::Terraform),
            ("docker-compose.yml", COMPOSE, FileKind::Compose),
            (".env", env, FileKind::EnvFile),
        ]);
        assert!(ws.app_role(&ws.apps[0]).is_none());
        // An app no variable names has no role.
        let ws = crate::model::build::from_texts(&[
            ("main.tf", &tf("other"), FileKind::Terraform),
            (".env", env, FileKind::EnvFile),
        ]);
        assert!(ws.app_role(&ws.apps[0]).is_none());
    }
}
