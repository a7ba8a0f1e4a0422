//! `app-url-not-localhost` (PT207): a coder_app url that does not point at the agent's localhost.

use crate::diagnostic::{Applicability, Edit, Fix, RuleMeta, Severity};
use crate::model::{HostTarget, Workspace};
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "app-url-not-localhost",
        code: "PT207",
        default_severity: Severity::Warning,
        summary: "A coder_app url that does not point at the agent's localhost",
        explanation: "## What it does
Checks that the url of a proxied `coder_app` is on the agent's localhost (`localhost` or
127.0.0.1, over http or https). It is an error when the host is the name of a compose service,
which the agent cannot resolve; a warning for other hosts.

`external = true` apps are links the browser opens, not proxied: any url is right for them.
`https://localhost:PORT` is right too: the agent proxies it without verifying the certificate,
which servers that only speak TLS (Kasm on 6901, Amazon DCV on 8443) rely on.

## Why is this bad?
The agent proxies the app from inside the workspace. A compose service name only resolves on the
compose network, not on the agent's host: the proxy fails with `connection reset` or a DNS error
and Coder answers 502. A site outside the workspace is meant to be a link (`external = true`).

## Example
```hcl
url = \"http://convex-backend:3210\"
```
Publish the port in compose and use `url = \"http://localhost:3210\"`.
",
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for app in &workspace.apps {
        let Some(url) = &app.url else { continue };
        match &url.target {
            HostTarget::Other(host) if !host.contains("${") => {
                let service = workspace.services.iter().find(|s| s.name.eq_ignore_ascii_case(host));
                match service {
                    Some(service) => {
                        let port = url.port.unwrap_or(80);
                        let published = service.published.iter().find_map(|p| p.host_for(port));
                        let mut finding = sink
                            .report_as(
                                Severity::Error,
                                url.span,
                                format!(
                                    "coder_app {} points at compose service `{host}`, which the agent cannot resolve: it proxies from the workspace, not from the compose network",
                                    app.slug
                                ),
                            )
                            .with_related(service.name_span, format!("compose service {host}"));
                        if let Some(published) = published {
                            let text = workspace.sources.slice(url.span);
                            if let Some(at) = text.find(host.as_str()) {
                                let end = text[at..].find(['/', '"']).map_or(text.len(), |i| at + i);
                                finding = finding.with_fix(Fix {
                                    title: format!("use localhost:{published}"),
                                    applicability: Applicability::Unsafe,
                                    edits: vec![Edit {
                                        span: url.span.sub(at, end),
                                        replacement: format!("localhost:{published}"),
                                    }],
                                });
                            }
                            finding.with_help(format!("compose publishes it on localhost:{published}: use that"));
                        } else {
                            finding.with_help(format!("publish {port} in compose and use http://localhost:{port}"));
                        }
                    }
                    None => {
                        sink.report(
                            url.span,
                            format!("coder_app {} points at {host}; the agent proxies apps running in the workspace, at localhost", app.slug),
                        )
                        .with_help("for a site outside the workspace use `external = true`");
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    fn tf(url: &str) -> String {
        format!("resource \"coder_app\" \"a\" {{\n  slug = \"a\"\n  url  = \"{url}\"\n}}\n")
    }

    #[test]
    fn compose_service_names_are_errors() {
        let compose = "services:\n  convex-backend:\n    image: x\n    ports: [\"3210:3210\"]\n";
        assert_eq!(
            check(&RULE, &[("main.tf", &tf("http://convex-backend:3210")), ("docker-compose.yml", compose)]),
            vec!["main.tf:3:10: error: coder_app a points at compose service `convex-backend`, which the agent cannot resolve: it proxies from the workspace, not from the compose network"]
        );
    }

    #[test]
    fn other_hosts_warn() {
        assert_eq!(
            check(&RULE, &[("main.tf", &tf("http://10.0.0.5:80"))]),
            vec!["main.tf:3:10: warning: coder_app a points at 10.0.0.5; the agent proxies apps running in the workspace, at localhost"]
        );
    }

    #[test]
    fn localhost_over_http_or_https_is_fine() {
        assert!(check(&RULE, &[("main.tf", &tf("http://localhost:3000"))]).is_empty());
        assert!(check(&RULE, &[("main.tf", &tf("http://127.0.0.1:3000/x"))]).is_empty());
        // The agent proxies TLS-only servers without verifying their certificate.
        assert!(check(&RULE, &[("main.tf", &tf("https://localhost:8443"))]).is_empty());
    }

    #[test]
    fn external_apps_are_links_not_proxied() {
        let external = |value: &str| {
            format!("resource \"coder_app\" \"docs\" {{\n  slug     = \"docs\"\n  url      = \"https://coder.com/docs\"\n  external = {value}\n}}\n")
        };
        assert!(check(&RULE, &[("main.tf", &external("true"))]).is_empty());
        // A value portolan cannot read may make it external: no proof it is proxied.
        assert!(check(&RULE, &[("main.tf", &external("var.external"))]).is_empty());
        assert_eq!(
            check(&RULE, &[("main.tf", &external("false"))]),
            vec!["main.tf:3:14: warning: coder_app docs points at coder.com; the agent proxies apps running in the workspace, at localhost"]
        );
    }
}
