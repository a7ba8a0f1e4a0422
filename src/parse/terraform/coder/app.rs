//! `resource "coder_app"`: the apps of a template, with their `healthcheck` block and the agent
//! they belong to.

use super::agent_of;
use crate::parse::terraform::{Attribute, Block, Spanned, TerraformModule};

/// `resource "coder_app" "NAME"`.
#[derive(Clone, Debug)]
pub struct AppBlock<'a> {
    pub block: &'a Block,
    pub name: &'a Spanned<String>,
    pub agent_id: Option<&'a Attribute>,
    pub slug: Option<&'a Attribute>,
    pub url: Option<&'a Attribute>,
    pub subdomain: Option<&'a Attribute>,
    pub share: Option<&'a Attribute>,
    pub command: Option<&'a Attribute>,
    pub external: Option<&'a Attribute>,
    pub hidden: Option<&'a Attribute>,
    pub display_name: Option<&'a Attribute>,
    pub group: Option<&'a Attribute>,
    pub open_in: Option<&'a Attribute>,
    pub order: Option<&'a Attribute>,
    pub healthcheck: Option<HealthcheckBlock<'a>>,
    /// `count` or `for_each`: the app may exist several times, or not at all.
    pub count: Option<&'a Attribute>,
    pub for_each: Option<&'a Attribute>,
}

/// The `healthcheck` block of a `coder_app`.
#[derive(Clone, Debug)]
pub struct HealthcheckBlock<'a> {
    pub block: &'a Block,
    pub url: Option<&'a Attribute>,
    pub interval: Option<&'a Attribute>,
    pub threshold: Option<&'a Attribute>,
}

impl AppBlock<'_> {
    /// The agent named by `agent_id = coder_agent.NAME.id`.
    pub fn agent_name(&self) -> Option<&str> {
        agent_of(self.agent_id)
    }
}

impl TerraformModule {
    /// Every `coder_app` resource.
    pub fn apps(&self) -> Vec<AppBlock<'_>> {
        self.named_resources("coder_app")
            .map(|(block, name)| AppBlock {
                block,
                name,
                agent_id: block.attribute("agent_id"),
                slug: block.attribute("slug"),
                url: block.attribute("url"),
                subdomain: block.attribute("subdomain"),
                share: block.attribute("share"),
                command: block.attribute("command"),
                external: block.attribute("external"),
                hidden: block.attribute("hidden"),
                display_name: block.attribute("display_name"),
                group: block.attribute("group"),
                open_in: block.attribute("open_in"),
                order: block.attribute("order"),
                healthcheck: block.block("healthcheck").map(|hc| HealthcheckBlock {
                    block: hc,
                    url: hc.attribute("url"),
                    interval: hc.attribute("interval"),
                    threshold: hc.attribute("threshold"),
                }),
                count: block.attribute("count"),
                for_each: block.attribute("for_each"),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::parse::terraform::coder::tests::{known_str, module, s, text, DOCKER_TEMPLATE};

    #[test]
    fn apps_with_literal_and_local_urls() {
        let src = DOCKER_TEMPLATE;
        let m = module(src);
        let apps = m.apps();
        // name, slug, url, agent; "-" where unknown
        let summary: Vec<[&str; 4]> = apps
            .iter()
            .map(|a| {
                [
                    a.name.value.as_str(),
                    known_str(a.slug),
                    known_str(a.url),
                    a.agent_name().unwrap_or("-"),
                ]
            })
            .collect();
        assert_eq!(
            summary,
            [
                ["convex-api", "convex-api", "http://localhost:3210", "main"],
                ["dashboard", "dashboard", "http://localhost:6791", "main"],
            ]
        );
        let api = &apps[0];
        assert_eq!(
            text(src, api.url.unwrap().value.span),
            "\"http://localhost:${local.api_port}\""
        );
        assert_eq!(api.share.unwrap().value.value, s("public"));
        assert_eq!(api.subdomain.unwrap().value.value.as_bool(), Some(true));
        let hc = api.healthcheck.as_ref().unwrap();
        assert_eq!(
            hc.url.unwrap().value.value,
            s("http://localhost:3210/version")
        );
        assert_eq!(hc.interval.unwrap().value.value.as_number(), Some(5.0));
        assert_eq!(hc.threshold.unwrap().value.value.as_number(), Some(6.0));
        assert!(api.count.is_none() && api.for_each.is_none() && api.command.is_none());

        let dashboard = &apps[1];
        assert!(dashboard.healthcheck.is_none());
        assert_eq!(dashboard.open_in.unwrap().value.value, s("tab"));
        assert_eq!(dashboard.order.unwrap().value.value.as_port(), Some(2));
        // Removed provider attributes stay reachable.
        let name = dashboard.block.attribute("name").unwrap();
        assert_eq!(text(src, name.name.span), "name");
        assert!(dashboard.block.attribute("relative_path").is_some());
    }
}
