//! Walking a port chain: what answers `http://localhost:P` on the agent's side.

use std::collections::BTreeMap;

use super::netns::NetnsId;
use super::{Listener, Place, PortRange, PublishedPort, Workspace};
use crate::source::Span;

/// One way `localhost:P` is reached: compose publishes it into a container, or a process on
/// the workspace listens on it.
#[derive(Debug, Clone)]
pub enum Hop<'a> {
    /// Compose publishes `P` to `service:container` (through `port`, which may be a range);
    /// `listeners` are those on that container port.
    Published {
        service: usize,
        port: &'a PublishedPort,
        container: u16,
        listeners: Vec<&'a Listener>,
    },
    /// A process on the workspace itself.
    Process(&'a Listener),
}

/// Everything behind `localhost:P`.
#[derive(Debug, Clone)]
pub struct LocalPort<'a> {
    pub port: u16,
    pub hops: Vec<Hop<'a>>,
}

impl<'a> LocalPort<'a> {
    /// Listeners that actually answer on this port.
    pub fn listeners(&self) -> Vec<&'a Listener> {
        self.hops
            .iter()
            .flat_map(|hop| match hop {
                Hop::Published { listeners, .. } => listeners.clone(),
                Hop::Process(l) => vec![*l],
            })
            .collect()
    }

    /// Whether something is known to answer.
    pub fn is_served(&self) -> bool {
        !self.listeners().is_empty()
    }
}

impl Workspace {
    /// Walks `localhost:P` to the listeners behind it.
    pub fn behind_local_port(&self, port: u16) -> LocalPort<'_> {
        let index = self.port_index();
        let mut hops = Vec::new();
        for (service, published, container) in self.published_on(port) {
            if self.services[service].network_mode_host {
                continue;
            }
            hops.push(Hop::Published {
                service,
                port: published,
                container,
                listeners: self
                    .listeners_at_in(index, Place::Container(service), container)
                    .collect(),
            });
        }
        hops.extend(
            self.listeners_at_in(index, Place::Workspace, port)
                .map(Hop::Process),
        );
        LocalPort { port, hops }
    }

    /// [`PortLookups::served_behind`], the model's check done once.
    pub fn served_behind_local_port(&self, port: u16) -> LocalPort<'_> {
        self.port_lookups().served_behind(port)
    }

    /// [`PortLookups::served_behind_in`], the model's check done once.
    pub fn served_behind_local_port_in(&self, port: u16, netns: Option<NetnsId>) -> LocalPort<'_> {
        self.port_lookups().served_behind_in(port, netns)
    }

    /// [`PortLookups::first_published_on`], the model's check done once.
    pub fn first_published_on(&self, port: u16) -> Option<(usize, &PublishedPort, u16)> {
        self.port_lookups().first_published_on(port)
    }

    /// Lookups of ports with the check that the model did not change since the port index was
    /// built done once, for a rule that asks once per app.
    pub fn port_lookups(&self) -> PortLookups<'_> {
        PortLookups {
            ws: self,
            index: self.port_index(),
        }
    }

    /// Every listener once per place and port, preferring the most specific source (a flag
    /// over an image default) when the same process is known twice (from its image and from
    /// its command line); the workspace first, then each container, in port order. Worked out
    /// once per model.
    pub fn distinct_listeners(&self) -> Vec<&Listener> {
        let ids = match self.port_index() {
            Some(index) => std::borrow::Cow::Borrowed(&index.distinct),
            None => std::borrow::Cow::Owned(distinct(&self.listeners)),
        };
        ids.iter().map(|&i| &self.listeners[i]).collect()
    }

    /// The listeners of a container from [`Self::distinct_listeners`], in port order.
    pub fn container_listeners(&self, service: usize) -> Vec<&Listener> {
        let all = self.distinct_listeners();
        // Sorted by place: the container's listeners are one run.
        let key = place_key(Place::Container(service));
        let start = all.partition_point(|l| place_key(l.place) < key);
        let end = all.partition_point(|l| place_key(l.place) <= key);
        all[start..end].to_vec()
    }
}

/// Port lookups on a model checked once: [`Workspace::port_lookups`].
#[derive(Clone, Copy)]
pub struct PortLookups<'a> {
    ws: &'a Workspace,
    index: Option<&'a super::PortIndex>,
}

impl<'a> PortLookups<'a> {
    /// [`Workspace::behind_local_port`] without the mappings behind which nothing listens: the
    /// same [`LocalPort::listeners`], at the cost of the mappings that serve `port`, however
    /// many ranges hold it.
    pub fn served_behind(&self, port: u16) -> LocalPort<'a> {
        let ws = self.ws;
        let Some(index) = self.index else {
            let mut all = ws.behind_local_port(port);
            all.hops.retain(
                |hop| !matches!(hop, Hop::Published { listeners, .. } if listeners.is_empty()),
            );
            return all;
        };
        let mut hops = Vec::new();
        for &(service, m) in index.served.get(&port).into_iter().flatten() {
            let published = &ws.services[service].published[m];
            let Some(container) = published.container_for(port) else {
                continue;
            };
            hops.push(Hop::Published {
                service,
                port: published,
                container,
                listeners: ws
                    .listeners_at_in(Some(index), Place::Container(service), container)
                    .collect(),
            });
        }
        hops.extend(
            ws.listeners_at_in(Some(index), Place::Workspace, port)
                .map(Hop::Process),
        );
        LocalPort { port, hops }
    }

    /// [`Self::served_behind`] from `localhost` in namespace `netns` (an app's): without the
    /// processes of another known namespace ([`Workspace::apart`]). Compose mappings stay.
    pub fn served_behind_in(&self, port: u16, netns: Option<NetnsId>) -> LocalPort<'a> {
        let mut local = self.served_behind(port);
        local
            .hops
            .retain(|hop| !matches!(hop, Hop::Process(l) if self.ws.apart(netns, l.site.netns)));
        local
    }

    /// The first mapping (model order) that publishes `port` into a container, as the first
    /// [`Hop::Published`] of [`Workspace::behind_local_port`]: (service, mapping, container port).
    pub fn first_published_on(&self, port: u16) -> Option<(usize, &'a PublishedPort, u16)> {
        let ws = self.ws;
        let own_network = |&(s, _): &(usize, usize)| !ws.services[s].network_mode_host;
        let Some(index) = self.index else {
            return ws
                .published_on(port)
                .find(|&(s, _, _)| !ws.services[s].network_mode_host);
        };
        let single = index
            .single
            .get(&port)
            .and_then(|ids| ids.iter().copied().find(own_network));
        let ranged = index
            .first_range
            .first_taken(PortRange {
                start: port,
                end: port,
            })
            .map(|(_, owner)| owner);
        let (s, m) = single.into_iter().chain(ranged).min()?;
        let published = &ws.services[s].published[m];
        published.container_for(port).map(|c| (s, published, c))
    }

    /// [`Workspace::container_listeners`]: a slice of the index, not a list of every listener.
    pub fn container_listeners(&self, service: usize) -> Vec<&'a Listener> {
        let ws = self.ws;
        let Some(index) = self.index else {
            return ws.container_listeners(service);
        };
        let key = place_key(Place::Container(service));
        let at = |i: &usize| place_key(ws.listeners[*i].place);
        let start = index.distinct.partition_point(|i| at(i) < key);
        let end = index.distinct.partition_point(|i| at(i) <= key);
        index.distinct[start..end]
            .iter()
            .map(|&i| &ws.listeners[i])
            .collect()
    }
}

/// Indices of `listeners`, each place and port once (see [`Workspace::distinct_listeners`]).
pub(super) fn distinct(listeners: &[Listener]) -> Vec<usize> {
    let mut out: Vec<usize> = (0..listeners.len()).collect();
    out.sort_by_key(|&i| {
        let l = &listeners[i];
        (
            place_key(l.place),
            l.port,
            matches!(l.source, super::ListenerSource::Default),
        )
    });
    out.dedup_by(|a, b| {
        let (a, b) = (&listeners[*a], &listeners[*b]);
        a.place == b.place && a.port == b.port
    });
    out
}

/// The order of places: the workspace, then the containers in model order.
fn place_key(place: Place) -> usize {
    match place {
        Place::Workspace => 0,
        Place::Container(i) => i + 1,
    }
}

/// `3210 (--port)`, `6791 (image default)`: how a listener is described in messages.
pub fn describe(listener: &Listener) -> String {
    use super::ListenerSource;
    let how = match &listener.source {
        ListenerSource::Flag(flag) => flag.clone(),
        ListenerSource::Env(var) => var.clone(),
        ListenerSource::Default => "default".to_owned(),
        ListenerSource::Module(name) => format!("{name} module default"),
    };
    format!("{} ({how})", listener.port)
}

/// `a`, `a and b`, `a, b and c`.
pub fn and_list(items: &[String]) -> String {
    joined_list(items, "and")
}

/// `a`, `a or b`, `a, b or c`.
pub fn or_list(items: &[String]) -> String {
    joined_list(items, "or")
}

fn joined_list(items: &[String], word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {word} {last}", rest.join(", ")),
    }
}

/// Who first published each host port, as disjoint ranges: a range costs a lookup, never a
/// walk over its ports, so `1-65535` on every line stays n·log n.
#[derive(Debug)]
pub struct ClaimedBy<O> {
    /// Start of a claimed run → (its end, the service and mapping that claimed it).
    owners: BTreeMap<u16, (u16, O)>,
    /// Claimed ports merged into maximal runs: start → end.
    covered: BTreeMap<u16, u16>,
}

/// A service (index into [`Workspace::services`]) and the mapping that publishes the ports.
pub type Owner = (usize, Span);

/// [`ClaimedBy`] a compose mapping, named by its service and span.
pub type Claimed = ClaimedBy<Owner>;

impl<O> Default for ClaimedBy<O> {
    fn default() -> Self {
        ClaimedBy {
            owners: BTreeMap::new(),
            covered: BTreeMap::new(),
        }
    }
}

impl<O: Copy> ClaimedBy<O> {
    /// The first claimed port in `range` and who claimed it.
    pub fn first_taken(&self, range: PortRange) -> Option<(u16, O)> {
        let run_before = self
            .covered
            .range(..=range.start)
            .next_back()
            .filter(|(_, &end)| end >= range.start)
            .map(|_| range.start);
        let run_inside = || {
            self.covered
                .range(range.start..=range.end)
                .next()
                .map(|(&s, _)| s)
        };
        let port = run_before.or_else(run_inside)?;
        let (_, &(_, owner)) = self.owners.range(..=port).next_back()?;
        Some((port, owner))
    }

    /// Whether every port of `range` is claimed.
    pub fn all_taken(&self, range: PortRange) -> bool {
        self.covered
            .range(..=range.start)
            .next_back()
            .is_some_and(|(_, &end)| end >= range.end)
    }

    /// Claims the ports of `range` nobody claimed yet for `owner`.
    pub fn claim(&mut self, range: PortRange, owner: O) {
        // The free gaps of `range` between the covered runs it meets.
        let mut runs: Vec<(u16, u16)> = Vec::new();
        if let Some((&s, &e)) = self.covered.range(..range.start).next_back() {
            if e >= range.start.saturating_sub(1) {
                runs.push((s, e));
            }
        }
        let end_bound = range.end.saturating_add(1);
        runs.extend(
            self.covered
                .range(range.start..=end_bound)
                .map(|(&s, &e)| (s, e)),
        );
        let mut next = range.start;
        for &(s, e) in &runs {
            if s > next {
                self.owners.insert(next, (s - 1, owner));
            }
            next = next.max(e.saturating_add(1));
            if e == u16::MAX {
                next = u16::MAX;
                break;
            }
        }
        let tail_free = runs.last().is_none_or(|&(_, e)| e < range.end);
        if tail_free && next <= range.end {
            self.owners.insert(next, (range.end, owner));
        }
        // Merge `range` and the runs it meets into one run.
        let start = runs
            .first()
            .map_or(range.start, |&(s, _)| s.min(range.start));
        let end = runs.last().map_or(range.end, |&(_, e)| e.max(range.end));
        for (s, _) in runs {
            self.covered.remove(&s);
        }
        self.covered.insert(start, end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FileKind, ListenerSource};

    fn model(files: &[(&str, &str, FileKind)]) -> Workspace {
        crate::model::build::from_texts(files)
    }

    /// The backend known twice (its image's defaults and the flags of the script it runs), a
    /// host-network service, and a dev server on the workspace itself.
    fn workspace() -> Workspace {
        let compose = "services:
  backend:
    image: ghcr.io/get-convex/convex-backend:latest
    entrypoint: [/start.sh]
    ports: [\"3210:3210\", \"9000-9001:3210-3211\"]
    volumes: [./start.sh:/start.sh]
  cache:
    image: redis:7
    network_mode: host
    ports: [\"6379:6379\"]
";
        let start = "#!/bin/sh\nexec convex-local-backend --port 3210 --site-proxy-port 3211\n";
        let dev = "#!/bin/sh\nnpx vite --port 3210 &\n";
        model(&[
            ("docker-compose.yml", compose, FileKind::Compose),
            ("start.sh", start, FileKind::Script),
            ("dev.sh", dev, FileKind::Script),
        ])
    }

    #[test]
    fn a_local_port_reaches_containers_through_mappings_and_processes_directly() {
        let ws = workspace();
        let behind = ws.behind_local_port(3210);
        let hops: Vec<String> = behind
            .hops
            .iter()
            .map(|hop| match hop {
                Hop::Published {
                    service,
                    container,
                    listeners,
                    ..
                } => format!(
                    "{}:{container} ({} listeners)",
                    ws.services[*service].name,
                    listeners.len()
                ),
                Hop::Process(l) => format!("process {} on {}", l.program, l.port),
            })
            .collect();
        // The backend is known from its image and its command line: two listeners, one process.
        assert_eq!(hops, ["backend:3210 (2 listeners)", "process vite on 3210"]);
        assert!(behind.is_served());
        assert_eq!(behind.listeners().len(), 3);

        // Through a range: 9001 reaches 3211.
        let ranged = ws.behind_local_port(9001);
        assert!(matches!(
            ranged.hops.as_slice(),
            [Hop::Published {
                container: 3211,
                ..
            }]
        ));
        // A host-network service publishes nothing: its process is the workspace's own.
        let cache = ws.behind_local_port(6379);
        assert!(
            matches!(cache.hops.as_slice(), [Hop::Process(l)] if l.program == "redis" && l.place == Place::Workspace)
        );
        // Nothing there.
        assert!(!ws.behind_local_port(4000).is_served());
    }

    /// The lookups agree with the full walk on every port of a model of singles, ranges,
    /// overlaps and a host-network service.
    #[test]
    fn lookups_agree_with_the_walk() {
        let compose = "services:
  backend:
    image: ghcr.io/get-convex/convex-backend:latest
    ports: [\"3210:3210\", \"9000-9001:3210-3211\", \"3200-3220:3200-3220\"]
  cache:
    image: redis:7
    network_mode: host
    ports: [\"6379:6379\", \"3205-3215:3205-3215\"]
  web:
    image: nginx
    ports: [\"3211:80\", \"3100-3300:3100-3300\", \"8999-9001:79-81\"]
";
        let dev = "#!/bin/sh\nnpx vite --port 3212 &\n";
        let ws = model(&[
            ("docker-compose.yml", compose, FileKind::Compose),
            ("dev.sh", dev, FileKind::Script),
        ]);
        let programs = |hops: &[Hop]| -> Vec<(Place, u16)> {
            let local = LocalPort {
                port: 0,
                hops: hops.to_vec(),
            };
            local
                .listeners()
                .iter()
                .map(|l| (l.place, l.port))
                .collect()
        };
        let mut served = 0;
        for port in (3000..3400).chain(6370..6390).chain(8990..9010) {
            let all = ws.behind_local_port(port);
            let quick = ws.served_behind_local_port(port);
            assert_eq!(programs(&quick.hops), programs(&all.hops), "port {port}");
            served += usize::from(quick.is_served());
            let first = all.hops.iter().find_map(|hop| match hop {
                Hop::Published {
                    service, container, ..
                } => Some((*service, *container)),
                Hop::Process(_) => None,
            });
            let looked_up = ws.first_published_on(port).map(|(s, _, c)| (s, c));
            assert_eq!(looked_up, first, "port {port}");
        }
        // 3210, 3211 (backend; web's 80 behind 3211), 3212 (vite), 6379 (redis on the host), 9000, 9001.
        assert_eq!(served, 6);
    }

    #[test]
    fn listeners_known_twice_count_once_and_flags_win() {
        let ws = workspace();
        let backend: Vec<(u16, &ListenerSource)> = ws
            .container_listeners(0)
            .iter()
            .map(|l| (l.port, &l.source))
            .collect();
        assert_eq!(
            backend,
            [
                (3210, &ListenerSource::Flag("--port".into())),
                (3211, &ListenerSource::Flag("--site-proxy-port".into()))
            ]
        );
        let distinct: Vec<(Place, u16)> = ws
            .distinct_listeners()
            .iter()
            .map(|l| (l.place, l.port))
            .collect();
        assert_eq!(
            distinct,
            [
                (Place::Workspace, 3210),
                (Place::Workspace, 6379),
                (Place::Container(0), 3210),
                (Place::Container(0), 3211)
            ]
        );
    }

    #[test]
    fn descriptions_name_how_a_port_is_known() {
        let ws = workspace();
        let described: Vec<String> = ws
            .container_listeners(0)
            .into_iter()
            .map(describe)
            .collect();
        assert_eq!(described, ["3210 (--port)", "3211 (--site-proxy-port)"]);
        let words =
            |items: &[&str]| and_list(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(words(&[]), "");
        assert_eq!(words(&["a"]), "a");
        assert_eq!(words(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn claimed_ports_keep_their_first_owner() {
        let range = |a, b| PortRange { start: a, end: b };
        let owner = |s| (s, Span::default());
        let mut claimed = Claimed::default();
        claimed.claim(range(3000, 3010), owner(0));
        claimed.claim(range(3005, 3020), owner(1));
        assert_eq!(
            claimed.first_taken(range(2990, 3001)),
            Some((3000, owner(0)))
        );
        assert_eq!(
            claimed.first_taken(range(3011, 3011)),
            Some((3011, owner(1)))
        );
        assert_eq!(claimed.first_taken(range(3021, 4000)), None);
        assert!(claimed.all_taken(range(3000, 3020)));
        assert!(!claimed.all_taken(range(2999, 3001)));
        claimed.claim(range(65535, 65535), owner(2));
        assert_eq!(
            claimed.first_taken(range(65000, 65535)),
            Some((65535, owner(2)))
        );
    }
}
