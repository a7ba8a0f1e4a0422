//! The containers that may run an agent or a service: a `docker_container`, or each `container`
//! block of a Kubernetes resource, with their image, entrypoint, command, ports and env (a docker
//! `"K=V"` string split at its first `=`, keeping spans into the string).

use hcl_edit::expr::Expression;

use super::EnvVar;
use crate::parse::terraform::eval::quoted_content;
use crate::parse::terraform::template::finish_template;
use crate::parse::terraform::{Attribute, Block, Spanned, TemplatePart, TerraformModule, Value};
use crate::source::Span;

/// Which provider a [`Container`] comes from; the attribute names differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerRuntime {
    /// `resource "docker_container"`.
    Docker,
    /// A `container` block in a `kubernetes_*` resource (pod, deployment, stateful set, ...).
    Kubernetes,
}

/// A container that may run an agent or a service.
#[derive(Clone, Debug)]
pub struct Container<'a> {
    pub runtime: ContainerRuntime,
    /// The resource (`docker_container`, `kubernetes_deployment_v1`, ...).
    pub resource: &'a Block,
    /// The block the fields come from: the resource for Docker, its `container` block for
    /// Kubernetes.
    pub block: &'a Block,
    pub name: Option<&'a Attribute>,
    pub image: Option<&'a Attribute>,
    /// What replaces the image's entrypoint: Docker `entrypoint`, Kubernetes `command`.
    pub entrypoint: Option<&'a Attribute>,
    /// What replaces the image's command: Docker `command`, Kubernetes `args`.
    pub command: Option<&'a Attribute>,
    pub ports: Vec<ContainerPort<'a>>,
    /// Docker `env = ["K=V"]` strings or Kubernetes `env { name value }` blocks.
    pub env: Vec<EnvVar>,
}

/// Docker `ports { internal external }`, Kubernetes `port { container_port host_port }`.
#[derive(Clone, Debug)]
pub struct ContainerPort<'a> {
    pub block: &'a Block,
    /// The port inside the container.
    pub container: Option<&'a Spanned<Value>>,
    /// The port published on the host, if any.
    pub host: Option<&'a Spanned<Value>>,
    pub protocol: Option<&'a Spanned<Value>>,
}

impl TerraformModule {
    /// The containers of the resources whose type `runtime_of` knows (from the knowledge base):
    /// a Docker resource is one container; for Kubernetes, every `container` block of the
    /// resource (at any depth under its `spec`; `init_container` blocks are left out).
    pub fn containers(
        &self,
        runtime_of: impl Fn(&str) -> Option<ContainerRuntime>,
    ) -> Vec<Container<'_>> {
        let mut out = Vec::new();
        for resource in self.blocks().filter(|b| b.kind.value == "resource") {
            let Some(resource_type) = resource.labels.first() else {
                continue;
            };
            let runtime = runtime_of(&resource_type.value);
            if runtime == Some(ContainerRuntime::Docker) {
                out.push(docker_container(resource));
            } else if runtime == Some(ContainerRuntime::Kubernetes) {
                let mut stack: Vec<&Block> = resource.blocks.iter().rev().collect();
                while let Some(block) = stack.pop() {
                    if block.kind.value == "container" {
                        out.push(kubernetes_container(resource, block));
                    } else {
                        stack.extend(block.blocks.iter().rev());
                    }
                }
            }
        }
        out
    }
}

fn docker_container(resource: &Block) -> Container<'_> {
    Container {
        runtime: ContainerRuntime::Docker,
        resource,
        block: resource,
        name: resource.attribute("name"),
        image: resource.attribute("image"),
        entrypoint: resource.attribute("entrypoint"),
        command: resource.attribute("command"),
        ports: resource
            .blocks_of("ports")
            .map(|block| ContainerPort {
                block,
                container: block.value("internal"),
                host: block.value("external"),
                protocol: block.value("protocol"),
            })
            .collect(),
        env: resource
            .attribute("env")
            .map(docker_env)
            .unwrap_or_default(),
    }
}

fn kubernetes_container<'a>(resource: &'a Block, block: &'a Block) -> Container<'a> {
    Container {
        runtime: ContainerRuntime::Kubernetes,
        resource,
        block,
        name: block.attribute("name"),
        image: block.attribute("image"),
        entrypoint: block.attribute("command"),
        command: block.attribute("args"),
        ports: block
            .blocks_of("port")
            .map(|port| ContainerPort {
                block: port,
                container: port.value("container_port"),
                host: port.value("host_port"),
                protocol: port.value("protocol"),
            })
            .collect(),
        env: block
            .blocks_of("env")
            .filter_map(|env| {
                let name = env.value("name")?;
                let text = name.value.as_str()?;
                let value = env.value("value").cloned().unwrap_or(Spanned {
                    value: Value::Unknown, // `value_from` or nothing
                    span: env.span,
                });
                Some(EnvVar {
                    name: Spanned {
                        value: text.to_string(),
                        span: quoted_content(name.span, text),
                    },
                    value,
                })
            })
            .collect(),
    }
}

/// `env = ["K=V", "TOKEN=${coder_agent.main.token}"]`.
fn docker_env(attr: &Attribute) -> Vec<EnvVar> {
    let Some(items) = attr.value.value.as_list() else {
        return Vec::new();
    };
    let raw = attr.expr.as_array();
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| env_assignment(item, raw.and_then(|a| a.get(i))))
        .collect()
}

/// Splits one `"K=V"` list element at its first `=`. `raw` is the element as written, when the
/// list is written out in place: only then do spans map byte for byte.
fn env_assignment(item: &Spanned<Value>, raw: Option<&Expression>) -> Option<EnvVar> {
    let quoted = matches!(
        raw,
        Some(Expression::String(_) | Expression::StringTemplate(_))
    );
    let parts = match &item.value {
        Value::String(s) => vec![TemplatePart::Literal {
            text: s.clone(),
            span: if quoted {
                quoted_content(item.span, s)
            } else {
                item.span
            },
        }],
        Value::Template(parts) => parts.clone(),
        _ => return None,
    };
    let (first, rest) = parts.split_first()?;
    let TemplatePart::Literal { text, span } = first else {
        return None;
    };
    let eq = text.find('=')?;
    let exact = quoted && span.range().len() == text.len();
    let (name_span, value_span) = if exact {
        (span.sub(0, eq), span.sub(eq + 1, text.len()))
    } else {
        (*span, *span)
    };
    let mut value_parts = Vec::new();
    let after = text.get(eq + 1..).unwrap_or_default();
    if !after.is_empty() {
        value_parts.push(TemplatePart::Literal {
            text: after.to_string(),
            span: value_span,
        });
    }
    value_parts.extend(rest.iter().cloned());
    let end = if quoted {
        item.span.end.saturating_sub(1)
    } else {
        item.span.end
    };
    let value_span = Span::new(item.span.file, value_span.start as usize, end as usize);
    Some(EnvVar {
        name: Spanned {
            value: text.get(..eq).unwrap_or_default().to_string(),
            span: name_span,
        },
        value: Spanned {
            value: finish_template(value_parts),
            span: value_span,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::terraform::coder::tests::{module, runtime_of, s, text, DOCKER_TEMPLATE};

    #[test]
    fn docker_container_entrypoint_env_and_ports() {
        let src = DOCKER_TEMPLATE;
        let m = module(src);
        let [c] = m.containers(runtime_of).try_into().expect("one container");
        assert_eq!(c.runtime, ContainerRuntime::Docker);
        let entrypoint = c.entrypoint.unwrap().value.value.as_list().unwrap();
        assert_eq!(entrypoint[0].value, s("sh"));
        assert_eq!(entrypoint[1].value, s("-c"));
        assert_eq!(entrypoint[2].value, Value::Unknown);
        assert!(text(src, entrypoint[2].span).starts_with("replace(coder_agent.main.init_script"));

        let env: Vec<(&str, &str, &str)> = c
            .env
            .iter()
            .map(|e| {
                (
                    e.name.value.as_str(),
                    text(src, e.name.span),
                    text(src, e.value.span),
                )
            })
            .collect();
        assert_eq!(
            env,
            [
                (
                    "CODER_AGENT_TOKEN",
                    "CODER_AGENT_TOKEN",
                    "${coder_agent.main.token}"
                ),
                ("PORT", "PORT", "3210"),
                ("EMPTY", "EMPTY", ""),
            ]
        );
        let token = c.env[0].value.value.as_reference().unwrap();
        assert_eq!(token.path, "coder_agent.main.token");
        assert_eq!(c.env[1].value.value, s("3210"));
        assert_eq!(c.env[2].value.value, s(""));

        let [port] = c.ports.as_slice() else {
            panic!("{:?}", c.ports)
        };
        assert_eq!(port.container.unwrap().value.as_port(), Some(3210));
        assert_eq!(text(src, port.container.unwrap().span), "local.api_port");
        assert_eq!(port.host.unwrap().value.as_port(), Some(3210));
        assert!(port.protocol.is_none());
    }

    #[test]
    fn docker_env_from_a_local_list_has_whole_element_spans() {
        let src = "locals {\n  env = [\"A=1\"]\n}\nresource \"docker_container\" \"c\" {\n  env = local.env\n}\n";
        let m = module(src);
        let [c] = m.containers(runtime_of).try_into().expect("one container");
        let [e] = c.env.as_slice() else {
            panic!("{:?}", c.env)
        };
        assert_eq!(e.name.value, "A");
        assert_eq!(e.value.value, s("1"));
        assert_eq!(text(src, e.name.span), "\"A=1\"");
    }
}
