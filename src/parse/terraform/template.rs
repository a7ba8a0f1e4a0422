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

/// Longest `%{ ... }` directive looked for, in bytes.
const MAX_DIRECTIVE: usize = 1024;

/// The text of a template with the branches of `%{ if }` directives that are not taken blanked
/// out: every byte but newlines becomes a space, so offsets and lines stay those of the file.
/// `decide` says whether a condition holds, when it can; an undecided `if` keeps both branches,
/// and `%{ for }` bodies are kept. `%%{` is a literal `%{`. Unbalanced directives leave the rest
/// as it is.
pub fn blank_untaken_branches(text: &str, decide: impl Fn(&str) -> Option<bool>) -> String {
    // Each open directive: the condition's value (`None` for undecided `if`s and `for`s) and
    // whether its `else` was seen.
    let mut frames: Vec<(Option<bool>, bool)> = Vec::new();
    let mut out = text.as_bytes().to_vec();
    let bytes = text.as_bytes();
    let hidden = |frames: &[(Option<bool>, bool)]| {
        frames.iter().any(|(cond, in_else)| *cond == Some(*in_else))
    };
    let mut i = 0;
    let mut hide_from: Option<usize> = None;
    while i + 1 < bytes.len() {
        if bytes[i] == b'%' && bytes[i + 1] == b'%' && bytes.get(i + 2) == Some(&b'{') {
            i += 3;
            continue;
        }
        if !(bytes[i] == b'%' && bytes[i + 1] == b'{') {
            i += 1;
            continue;
        }
        // A directive is short: looking further for its `}` would make the scan quadratic.
        let window = bytes.get(i + 2..(i + 2 + MAX_DIRECTIVE).min(bytes.len()));
        let Some(close) = window.and_then(|w| w.iter().position(|b| *b == b'}')) else {
            i += 2;
            continue;
        };
        let end = i + 2 + close + 1;
        let inner = text
            .get(i + 2..end - 1)
            .unwrap_or("")
            .trim_matches(|c: char| c == '~' || c.is_whitespace());
        let keyword = inner.split_whitespace().next().unwrap_or("");
        let was_hidden = hidden(&frames);
        match keyword {
            "if" => frames.push((decide(inner["if".len()..].trim()), false)),
            "for" => frames.push((None, false)),
            "else" => match frames.last_mut() {
                Some(frame) if !frame.1 => frame.1 = true,
                _ => break,
            },
            "endif" | "endfor" if frames.pop().is_none() => break,
            _ => {}
        }
        let now_hidden = hidden(&frames);
        match (was_hidden, now_hidden) {
            (false, true) => hide_from = Some(end),
            (true, false) => {
                if let Some(from) = hide_from.take() {
                    blank(&mut out, from, i);
                }
            }
            _ => {}
        }
        i = end;
    }
    if let Some(from) = hide_from {
        if frames.is_empty() {
            blank(&mut out, from, bytes.len());
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_owned())
}

/// Spaces over `from..to`, newlines kept.
fn blank(bytes: &mut [u8], from: usize, to: usize) {
    for b in bytes.get_mut(from..to).unwrap_or_default() {
        if *b != b'\n' {
            *b = b' ';
        }
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
    fn untaken_branches_are_blanked_in_place() {
        let decide = |cond: &str| match cond {
            "ON" => Some(true),
            "OFF" => Some(false),
            _ => None,
        };
        let text = "a\n%{ if ON }b\n%{ else }c\n%{ endif }\n%{ if OFF }d%{ if ON }e%{ endif }\n%{ endif }f\n%{ if X }g%{ else }h%{ endif }\n%%{ if OFF }i\n";
        let out = blank_untaken_branches(text, decide);
        assert_eq!(out.len(), text.len());
        assert_eq!(out.lines().count(), text.lines().count());
        let kept: String = out.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(
            kept,
            "a %{ if ON }b %{ else } %{ endif } %{ if OFF } %{ endif }f %{ if X }g%{ else }h%{ endif } %%{ if OFF }i"
        );
        // Unbalanced directives change nothing after the fault.
        let broken = "%{ endif }%{ if OFF }x";
        assert_eq!(blank_untaken_branches(broken, decide), broken);
        // Directives without an end nearby are text; the scan stays linear.
        let long = format!("{}}}", "%{".repeat(20_000));
        let started = std::time::Instant::now();
        assert_eq!(blank_untaken_branches(&long, decide), long);
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
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
