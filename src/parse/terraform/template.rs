//! String templates: `"http://localhost:${local.port}"` and heredocs. Interpolated values are
//! spliced in as [`TemplatePart`]s; adjacent literals are joined, and a template whose parts are
//! all known is a plain [`Value::String`]. Directives (`%{ if }`, `%{ for }`) are unknown parts;
//! strip markers (`${~ x ~}`) are ignored.

use hcl_edit::template::Element;
use hcl_edit::Span as _;

use super::eval::{quoted_content, Evaluator};
use super::value::{MAX_NODES, MAX_TEXT};
use super::{TemplatePart, Value};
use crate::source::Span;

impl Evaluator<'_> {
    /// The value of a string template or heredoc, part by part.
    pub(super) fn template<'e>(&self, elements: impl Iterator<Item = &'e Element>) -> Value {
        let mut parts = Vec::new();
        for element in elements {
            match element {
                Element::Literal(text) => parts.push(TemplatePart::Literal {
                    text: text.value().clone(),
                    span: self.span(text.span()),
                }),
                Element::Interpolation(i) => {
                    let value = self.eval(&i.expr);
                    // A local holding a string: its text is where the local is written
                    // (`slug = "convex-site"`), so that a finding can point there.
                    let span = match (self.local_string(&i.expr), &value.value) {
                        (Some(written), Value::String(text)) => quoted_content(written, text),
                        _ => self.span(i.span()),
                    };
                    push_parts(&mut parts, &value.value, span);
                }
                Element::Directive(d) => parts.push(TemplatePart::Unknown {
                    span: self.span(d.span()),
                }),
            }
        }
        finish_template(parts)
    }
}

impl Evaluator<'_> {
    /// Where the local an expression names (`local.slug`) is written, when it is a string.
    fn local_string(&self, expr: &hcl_edit::expr::Expression) -> Option<Span> {
        let hcl_edit::expr::Expression::Traversal(t) = expr else {
            return None;
        };
        let hcl_edit::expr::Expression::Variable(root) = &t.expr else {
            return None;
        };
        let [op] = t.operators.as_slice() else {
            return None;
        };
        let hcl_edit::expr::TraversalOperator::GetAttr(name) = op.value() else {
            return None;
        };
        let local = (root.as_str() == "local").then(|| self.ctx.local(name.as_str()))??;
        matches!(local.value, Value::String(_)).then_some(local.span)
    }
}

/// Appends a value interpolated at `span` to a template under construction.
pub(super) fn push_parts(parts: &mut Vec<TemplatePart>, value: &Value, span: Span) {
    match value {
        Value::String(s) => parts.push(TemplatePart::Literal {
            text: s.clone(),
            span,
        }),
        Value::Number(n) => parts.push(TemplatePart::Literal {
            text: number_text(*n),
            span,
        }),
        Value::Bool(b) => parts.push(TemplatePart::Literal {
            text: b.to_string(),
            span,
        }),
        Value::Template(inner) => parts.extend(inner.iter().cloned()),
        Value::Reference(r) => parts.push(TemplatePart::Reference(r.clone())),
        _ => parts.push(TemplatePart::Unknown { span }),
    }
}

/// Joins adjacent literals that touch in the same file; a template of literals only is a
/// [`Value::String`]. Oversized results are unknown.
pub(super) fn finish_template(parts: Vec<TemplatePart>) -> Value {
    let mut merged: Vec<TemplatePart> = Vec::with_capacity(parts.len());
    let mut size = 0usize;
    for part in parts {
        if let TemplatePart::Literal { text, .. } = &part {
            size += text.len();
        }
        if size > MAX_TEXT || merged.len() > MAX_NODES {
            return Value::Unknown;
        }
        if let (
            Some(TemplatePart::Literal {
                text: prev,
                span: prev_span,
            }),
            TemplatePart::Literal { text, span },
        ) = (merged.last_mut(), &part)
        {
            if prev_span.file == span.file && prev_span.end == span.start {
                prev.push_str(text);
                *prev_span = prev_span.to(*span);
                continue;
            }
        }
        merged.push(part);
    }
    if merged
        .iter()
        .all(|p| matches!(p, TemplatePart::Literal { .. }))
    {
        let text = merged
            .into_iter()
            .map(|p| match p {
                TemplatePart::Literal { text, .. } => text,
                _ => String::new(),
            })
            .collect();
        Value::String(text)
    } else {
        Value::Template(merged)
    }
}

/// Terraform prints whole numbers without a fraction.
pub(super) fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::terraform::eval::tests::eval_in;

    #[test]
    fn templates_keep_references_and_literal_spans() {
        let defs = "variable \"wildcard_domain\" {}\n";
        let expr = r#""https://convex-api--${data.coder_workspace.me.name}--${data.coder_workspace_owner.me.name}.${var.wildcard_domain}""#;
        let (src, v) = eval_in(defs, expr);
        let Value::Template(parts) = &v.value else {
            panic!("not a template: {v:?}");
        };
        let shown: Vec<(String, &str)> = parts
            .iter()
            .map(|p| match p {
                TemplatePart::Literal { text, span } => (format!("lit {text}"), &src[span.range()]),
                TemplatePart::Reference(r) => (format!("ref {}", r.path), &src[r.span.range()]),
                TemplatePart::Unknown { span } => ("unknown".to_string(), &src[span.range()]),
            })
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "lit https://convex-api--".to_string(),
                    "https://convex-api--"
                ),
                (
                    "ref data.coder_workspace.me.name".to_string(),
                    "data.coder_workspace.me.name"
                ),
                ("lit --".to_string(), "--"),
                (
                    "ref data.coder_workspace_owner.me.name".to_string(),
                    "data.coder_workspace_owner.me.name"
                ),
                ("lit .".to_string(), "."),
                ("ref var.wildcard_domain".to_string(), "var.wildcard_domain"),
            ]
        );
    }

    #[test]
    fn locals_that_are_templates_splice_into_templates() {
        let defs = "locals {\n  host = \"${data.coder_workspace.me.name}.example.com\"\n}\n";
        let (src, v) = eval_in(defs, "\"https://app--${local.host}/x\"");
        let Value::Template(parts) = &v.value else {
            panic!("{v:?}")
        };
        assert_eq!(parts.len(), 4);
        let TemplatePart::Literal { text, span } = &parts[2] else {
            panic!()
        };
        assert_eq!(text, ".example.com");
        assert_eq!(&src[span.range()], ".example.com");
        let TemplatePart::Literal { text, .. } = &parts[3] else {
            panic!()
        };
        assert_eq!(text, "/x");
    }

    #[test]
    fn directives_and_null_interpolations_are_unknown_parts() {
        let (src, v) = eval_in("", "\"a%{ if true }b%{ endif }c${null}\"");
        let Value::Template(parts) = &v.value else {
            panic!("{v:?}")
        };
        let unknown: Vec<&str> = parts
            .iter()
            .filter_map(|p| match p {
                TemplatePart::Unknown { span } => Some(&src[span.range()]),
                _ => None,
            })
            .collect();
        assert_eq!(unknown, ["%{ if true }b%{ endif }", "${null}"]);
    }
}
