//! Network namespaces: where a listener binds its port, and what must hold for it to run.
//!
//! Two listeners on one port collide only in one namespace: the agent's host or VM, a docker
//! container (others join it with `network_mode = "container:..."`), a Kubernetes pod (all its
//! containers share one) or a compose service (others join it with `network_mode:
//! service:X`). Which agent runs in which container comes from where its `init_script` (or its
//! token) is used; a listener started by an agent's script or module is in that agent's
//! namespace. `model::build` assigns them; `Workspace::namespaces` holds them.

use crate::source::Span;

/// Index into [`crate::model::Workspace::namespaces`].
pub type NetnsId = usize;

/// What kind of network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetnsKind {
    /// The host or VM an agent runs on directly, or the workspace when no container is known.
    Host,
    /// A docker container (`docker_container.NAME`).
    Container,
    /// A Kubernetes pod: every container of the resource.
    Pod,
    /// A compose service's container (index into [`crate::model::Workspace::services`]).
    ComposeService(usize),
    /// The Docker host's own network (`network_mode = "host"`).
    DockerHost,
    /// Not known: a listener whose agent cannot be told, or a container that joins one the
    /// files do not name. Nothing in it is said to collide.
    Unknown,
}

/// A network namespace.
#[derive(Debug, Clone)]
pub struct Netns {
    pub kind: NetnsKind,
    /// Where it is, in messages: `in the pod of kubernetes_deployment.main`, `in the workspace`.
    pub name: String,
    /// The resource, service or agent that stands for it.
    pub span: Span,
}

impl crate::model::Workspace {
    /// Whether a listener in namespace `listener` is out of reach of `localhost` in namespace
    /// `from` (an app's): both are known and they differ. The workspace's own namespace (0)
    /// beside agents of their own stands for what no agent is known to run, so it is never
    /// apart; nor is an unknown one.
    pub fn apart(&self, from: Option<NetnsId>, listener: NetnsId) -> bool {
        let known = |id: NetnsId| {
            id != 0
                && self
                    .namespaces
                    .get(id)
                    .is_some_and(|n| n.kind != NetnsKind::Unknown)
        };
        from.is_some_and(|from| from != listener && known(from) && known(listener))
    }
}

/// A `count` a listener depends on: the module, `coder_script`, agent or container that starts
/// it exists only when the count is at least 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// The gated block, as messages name it: `module.jupyterlab`.
    pub block: String,
    /// The `count` expression.
    pub span: Span,
    /// Whether it is on with every variable and `coder_parameter` at its default, if known.
    pub by_default: Option<bool>,
    /// The one reference that turns it on or off, and the value (true or false) that turns it
    /// on: `count = var.x ? 1 : 0` is `(var.x, true)`.
    pub switch: Option<(String, bool)>,
    /// The count refers to no input: it is `by_default` whatever the workspace's parameters.
    pub fixed: bool,
}

/// Where a listener runs: its namespace, what starts it and the counts it depends on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Site {
    pub netns: NetnsId,
    /// The block or script file that starts it: listeners of one unit on one port are
    /// alternatives (`if ...; then server -p 1; else server -p 1; fi`), or one process known
    /// twice, not a collision.
    pub unit: Option<Span>,
    /// The agent whose script or module starts it, when known.
    pub agent: Option<String>,
    pub gates: Vec<Gate>,
}

/// Whether two listeners can run at the same time, judged from their gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Together {
    /// Both run whenever the workspace does, with every input at its default.
    ByDefault,
    /// Only when some gate is on that is off by default or not known.
    Possibly,
    /// Never: a gate is always off, or one switch turns one on and the other off.
    Never,
}

impl Site {
    /// Whether this listener and `other` can run at the same time.
    pub fn together(&self, other: &Site) -> Together {
        let gates = || self.gates.iter().chain(&other.gates);
        if gates().any(|g| g.fixed && g.by_default == Some(false)) {
            return Together::Never;
        }
        let opposite = self.gates.iter().any(|a| {
            other.gates.iter().any(|b| match (&a.switch, &b.switch) {
                (Some((ra, va)), Some((rb, vb))) => ra == rb && va != vb,
                _ => false,
            })
        });
        if opposite {
            Together::Never
        } else if gates().all(|g| g.by_default == Some(true)) {
            Together::ByDefault
        } else {
            Together::Possibly
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(by_default: Option<bool>, switch: Option<(&str, bool)>, fixed: bool) -> Gate {
        Gate {
            block: "module.x".to_owned(),
            span: Span::default(),
            by_default,
            switch: switch.map(|(r, v)| (r.to_owned(), v)),
            fixed,
        }
    }

    fn site(gates: Vec<Gate>) -> Site {
        Site {
            gates,
            ..Site::default()
        }
    }

    #[test]
    fn two_listeners_run_together_as_their_gates_allow() {
        use Together::*;
        let on = |r| gate(Some(true), Some((r, true)), false);
        let off = |r| gate(Some(false), Some((r, true)), false);
        let unknown = gate(None, None, false);
        let never = gate(Some(false), None, true);
        let not = |r| gate(Some(false), Some((r, false)), false);
        let cases: Vec<(Vec<Gate>, Vec<Gate>, Together)> = vec![
            (vec![], vec![], ByDefault),
            (vec![on("var.a")], vec![on("var.b")], ByDefault),
            (vec![on("var.a")], vec![], ByDefault),
            (vec![on("var.a")], vec![off("var.b")], Possibly),
            (vec![off("var.a")], vec![off("var.a")], Possibly),
            (vec![unknown.clone()], vec![on("var.b")], Possibly),
            (vec![never], vec![], Never),
            // `var.a ? 1 : 0` and `var.a ? 0 : 1`: one or the other.
            (vec![on("var.a")], vec![not("var.a")], Never),
            (vec![not("var.a")], vec![on("var.a"), unknown], Never),
        ];
        for (a, b, want) in cases {
            let (a, b) = (site(a), site(b));
            assert_eq!(a.together(&b), want, "{a:?} {b:?}");
            assert_eq!(b.together(&a), want, "symmetric: {a:?} {b:?}");
        }
    }
}
