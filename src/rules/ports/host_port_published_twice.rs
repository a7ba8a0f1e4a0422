//! `host-port-published-twice` (PT204): one host port published by two compose services.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::chain::Claimed;
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "host-port-published-twice",
        code: "PT204",
        default_severity: Severity::Error,
        summary: "One host port published by two compose services",
        explanation: "## What it does
Finds a host port that more than one compose port mapping publishes (in one or several compose
files of the workspace).

## Why is this bad?
Only one container can bind a host port: the second fails to start with `port is already
allocated`, and any `coder_app` on that port reaches whichever container won.

## Example
```yaml
api:    { ports: [\"8000:8000\"] }
worker: { ports: [\"8000:9000\"] }
```
Give each a host port of its own.
",
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    let mut claimed = Claimed::default();
    for (index, service) in workspace.services.iter().enumerate() {
        for published in &service.published {
            let Some(host) = published.host else { continue };
            if let Some((port, (first_service, first_span))) = claimed.first_taken(host) {
                let first = &workspace.services[first_service].name;
                let message = if host.is_single() {
                    format!("{} publishes host port {host}, which {first} already publishes", service.name)
                } else {
                    format!(
                        "{} publishes host ports {host}, and {first} already publishes {port}",
                        service.name
                    )
                };
                sink.report(published.span, message)
                    .with_related(first_span, format!("{first} publishes {port} here"))
                    .with_help("give each service its own host port");
            }
            claimed.claim(host, (index, published.span));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PortRange;
    use crate::rules::test::check;
    use crate::source::Span;

    #[test]
    fn fires_on_the_second_mapping() {
        let compose = "services:\n  api:\n    image: a\n    ports: [\"8000:8000\"]\n  worker:\n    image: b\n    ports:\n      - \"8000:9000\"\n      - \"9001:9001\"\n";
        assert_eq!(
            check(&RULE, &[("docker-compose.yml", compose)]),
            vec!["docker-compose.yml:8:9: error: worker publishes host port 8000, which api already publishes"]
        );
    }

    #[test]
    fn ranges_and_distinct_ports_do_not_fire() {
        let compose = "services:\n  a:\n    image: a\n    ports: [\"3000-3002:3000-3002\"]\n  b:\n    image: b\n    ports: [\"3003:3000\", \"5432\"]\n";
        assert!(check(&RULE, &[("docker-compose.yml", compose)]).is_empty());
    }

    #[test]
    fn overlapping_ranges_are_one_finding_each() {
        let line = "      - \"1-65535:1-65535\"\n";
        let compose = format!(
            "services:\n  a:\n    image: a\n    ports:\n{}  b:\n    image: b\n    ports: [\"7000-7010:7000-7010\", \"9000-9001:80-81\"]\n",
            line.repeat(3)
        );
        assert_eq!(
            check(&RULE, &[("docker-compose.yml", &compose)]),
            vec![
                "docker-compose.yml:6:9: error: a publishes host ports 1-65535, and a already publishes 1",
                "docker-compose.yml:7:9: error: a publishes host ports 1-65535, and a already publishes 1",
                "docker-compose.yml:10:13: error: b publishes host ports 7000-7010, and a already publishes 7000",
                "docker-compose.yml:10:36: error: b publishes host ports 9000-9001, and a already publishes 9000",
            ]
        );
    }

    #[test]
    fn a_single_port_inside_a_range_fires() {
        let compose = "services:\n  a:\n    image: a\n    ports: [\"3000-3009:3000-3009\"]\n  b:\n    image: b\n    ports: [\"3005:80\", \"3010:80\", \"2995-3000:2995-3000\"]\n";
        assert_eq!(
            check(&RULE, &[("docker-compose.yml", compose)]),
            vec![
                "docker-compose.yml:7:13: error: b publishes host port 3005, which a already publishes",
                "docker-compose.yml:7:35: error: b publishes host ports 2995-3000, and a already publishes 3000",
            ]
        );
    }

    /// The claimed runs agree with a port-by-port map on seeded random ranges.
    #[test]
    fn claimed_ranges_match_a_port_by_port_map() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |below: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % u64::from(below)) as u16
        };
        for round in 0..200 {
            let mut claimed = Claimed::default();
            let mut owner: Vec<Option<usize>> = vec![None; 65536];
            for i in 0..30 {
                // Mostly small ranges in a narrow band, so that they meet; sometimes the top port.
                let start = if round % 7 == 0 { 65500 + next(36) } else { 100 + next(200) };
                let end = start.saturating_add(next(40));
                let range = PortRange { start, end };
                let expected = (start..=end)
                    .find_map(|p| owner[usize::from(p)].map(|o| (p, o)));
                let got = claimed.first_taken(range).map(|(p, (o, _))| (p, o));
                assert_eq!(got, expected, "round {round}, range {range}");
                let all = (start..=end).all(|p| owner[usize::from(p)].is_some());
                assert_eq!(claimed.all_taken(range), all, "round {round}, range {range}");
                claimed.claim(range, (i, Span::default()));
                for p in start..=end {
                    owner[usize::from(p)].get_or_insert(i);
                }
            }
        }
    }
}
