//! Static evaluation of Terraform expressions.
//!
//! Turns an `hcl-edit` expression into a [`Value`] using what is knowable without running
//! Terraform: literals, `variable` defaults and `locals` (the [`EvalContext`], see `scope.rs`), a
//! few pure functions (`functions.rs`), operators and conditionals whose operands are known, and
//! traversals into known maps and lists. A string that mixes known text with references that
//! only exist at apply time (`data.coder_workspace.me.name`) stays a [`Value::Template`] so rules
//! can still read it (`template.rs`). `file()` and `templatefile()` calls become [`Value::File`]:
//! the caller reads the file. Everything else is [`Value::Unknown`]; evaluation never fails.
//!
//! Also here: the [`Reference`]s an expression contains, and how `hcl-edit` byte ranges become
//! [`Span`]s in the file.
//!
//! Not evaluated: `for` expressions, splats, template directives (`%{ if }`, `%{ for }` become
//! [`TemplatePart::Unknown`](super::TemplatePart::Unknown)), regex `replace`, `format` widths and
//! precisions, and any other function. Strip markers (`${~ x ~}`) are ignored.

use std::ops::Range;

use hcl_edit::expr::{
    BinaryOperator, Expression, ObjectKey, Traversal, TraversalOperator, UnaryOperator,
};
use hcl_edit::visit::{self, Visit};
use hcl_edit::Span as _;

use super::{EvalContext, MapEntry, Reference, Spanned, Value};
use crate::source::{FileId, Span};

/// A byte range from `hcl-edit` (relative to the parsed text, which starts at `base` in the file).
pub(super) fn span_of(range: Option<Range<usize>>, file: FileId, base: usize) -> Span {
    let range = range.unwrap_or(0..0);
    Span::new(file, base + range.start, base + range.end)
}

/// Every traversal in an expression, as a [`Reference`]. Traversals that start from a value
/// rather than a name (`func()[0]`) are left out.
pub(super) fn collect_references(expr: &Expression, file: FileId, base: usize) -> Vec<Reference> {
    struct Collector {
        file: FileId,
        base: usize,
        found: Vec<Reference>,
    }
    impl Visit for Collector {
        fn visit_traversal(&mut self, node: &Traversal) {
            if let Some(r) = reference_of(node, self.file, self.base) {
                self.found.push(r);
            }
            visit::visit_traversal(self, node);
        }
    }
    let mut collector = Collector {
        file,
        base,
        found: Vec::new(),
    };
    collector.visit_expr(expr);
    collector.found
}

/// The reference a traversal spells, if it starts from a name.
fn reference_of(t: &Traversal, file: FileId, base: usize) -> Option<Reference> {
    let Expression::Variable(root) = &t.expr else {
        return None;
    };
    let mut path = root.as_str().to_string();
    let mut names = vec![root.as_str().to_string()];
    for op in &t.operators {
        match op.value() {
            TraversalOperator::GetAttr(name) => {
                path.push('.');
                path.push_str(name.as_str());
                names.push(name.as_str().to_string());
            }
            TraversalOperator::Index(index) => {
                path.push('[');
                path.push_str(&index_text(index, file, base));
                path.push(']');
            }
            TraversalOperator::LegacyIndex(n) => {
                path.push_str(&format!("[{}]", n.value()));
            }
            TraversalOperator::AttrSplat(_) => path.push_str(".*"),
            TraversalOperator::FullSplat(_) => path.push_str("[*]"),
        }
    }
    Some(Reference {
        path,
        names,
        span: span_of(t.span(), file, base),
    })
}

/// How an index expression appears in a reference path.
fn index_text(index: &Expression, file: FileId, base: usize) -> String {
    match index {
        Expression::Number(n) => n.value().to_string(),
        Expression::String(s) => format!("\"{}\"", s.value()),
        Expression::Variable(v) => v.as_str().to_string(),
        Expression::Traversal(t) => {
            reference_of(t, file, base).map_or_else(|| "…".to_string(), |r| r.path)
        }
        _ => "…".to_string(),
    }
}
/// Evaluates expressions of one parsed text against an [`EvalContext`].
pub(super) struct Evaluator<'a> {
    pub(super) ctx: &'a EvalContext,
    file: FileId,
    /// Where the parsed text starts in the file.
    base: usize,
    /// Values given to references that are otherwise known only at apply time.
    assume: Option<Assume<'a>>,
}

/// A value for a reference (`data.coder_parameter.x.value`), or `None` to leave it alone.
pub type Assume<'a> = &'a dyn Fn(&Reference) -> Option<Value>;

impl<'a> Evaluator<'a> {
    pub(super) fn new(ctx: &'a EvalContext, file: FileId, base: usize) -> Self {
        Evaluator {
            ctx,
            file,
            base,
            assume: None,
        }
    }

    /// An evaluator that gives the references `assume` answers for those values.
    pub(super) fn assuming(mut self, assume: Assume<'a>) -> Self {
        self.assume = Some(assume);
        self
    }

    pub(super) fn span(&self, range: Option<Range<usize>>) -> Span {
        span_of(range, self.file, self.base)
    }

    pub(super) fn eval(&self, expr: &Expression) -> Spanned<Value> {
        let span = self.span(expr.span());
        Spanned {
            value: self.value(expr, span),
            span,
        }
    }

    fn value(&self, expr: &Expression, span: Span) -> Value {
        match expr {
            Expression::Null(_) => Value::Null,
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => n.value().as_f64().map_or(Value::Unknown, Value::Number),
            Expression::String(s) => Value::String(s.value().clone()),
            Expression::Array(items) => Value::List(items.iter().map(|e| self.eval(e)).collect()),
            Expression::Object(object) => {
                let mut entries: Vec<MapEntry> = Vec::with_capacity(object.len());
                for (key, value) in object.iter() {
                    let (key, repeated) = self.object_key(key);
                    let entry = MapEntry {
                        key,
                        value: self.eval(value.expr()),
                    };
                    // A repeated key (renamed so that it parses): the last value wins, as in
                    // Terraform.
                    match repeated
                        .then(|| entries.iter().position(|e| e.key.value == entry.key.value))
                        .flatten()
                    {
                        Some(i) => entries[i] = entry,
                        None => entries.push(entry),
                    }
                }
                Value::Map(entries)
            }
            Expression::StringTemplate(t) => self.template(t.iter()),
            Expression::HeredocTemplate(h) => self.template(h.template.iter()),
            Expression::Parenthesis(p) => self.eval(p.inner()).value,
            Expression::Variable(v) => Value::Reference(Reference {
                path: v.as_str().to_string(),
                names: vec![v.as_str().to_string()],
                span,
            }),
            Expression::Conditional(c) => match self.eval(&c.cond_expr).value.as_bool() {
                Some(true) => self.eval(&c.true_expr).value,
                Some(false) => self.eval(&c.false_expr).value,
                None => Value::Unknown,
            },
            Expression::FuncCall(call) => self.call(call),
            Expression::Traversal(t) => self.traversal(t, span),
            Expression::UnaryOp(op) => {
                let operand = self.eval(&op.expr).value;
                match (op.operator.value(), operand) {
                    (UnaryOperator::Not, v) => {
                        v.as_bool().map_or(Value::Unknown, |b| Value::Bool(!b))
                    }
                    (UnaryOperator::Neg, v) => {
                        v.as_number().map_or(Value::Unknown, |n| Value::Number(-n))
                    }
                }
            }
            Expression::BinaryOp(op) => binary(
                *op.operator.value(),
                &self.eval(&op.lhs_expr).value,
                &self.eval(&op.rhs_expr).value,
            ),
            Expression::ForExpr(_) => Value::Unknown,
        }
    }

    /// An object key, and whether it repeats an earlier key of its object (see
    /// [`EvalContext::renamed_key`]).
    fn object_key(&self, key: &ObjectKey) -> (Spanned<String>, bool) {
        let mut key = match key {
            ObjectKey::Ident(ident) => Spanned {
                value: ident.as_str().to_string(),
                span: self.span(ident.span()),
            },
            ObjectKey::Expression(expr) => {
                let v = self.eval(expr);
                let text = match &v.value {
                    Value::String(s) => s.clone(),
                    Value::Reference(r) => format!("${{{}}}", r.path),
                    _ => "${…}".to_string(),
                };
                let span = match expr {
                    Expression::String(s) => quoted_content(v.span, s.value()),
                    _ => v.span,
                };
                Spanned { value: text, span }
            }
        };
        match self.ctx.renamed_key(key.span) {
            Some(written) => {
                key.value = written.to_owned();
                (key, true)
            }
            None => (key, false),
        }
    }

    fn traversal(&self, t: &Traversal, span: Span) -> Value {
        if let Some(assume) = self.assume {
            if let Some(value) = reference_of(t, self.file, self.base).and_then(|r| assume(&r)) {
                return value;
            }
        }
        let as_reference =
            || reference_of(t, self.file, self.base).map_or(Value::Unknown, Value::Reference);
        let ops = t.operators.as_slice();
        let (start, rest) = match &t.expr {
            Expression::Variable(root) => {
                let first = match ops.first().map(|op| op.value()) {
                    Some(TraversalOperator::GetAttr(name)) => name.as_str(),
                    _ => return as_reference(),
                };
                let found = match root.as_str() {
                    "var" => self.ctx.variable(first).map(|v| v.value.clone()),
                    "local" => self.ctx.local(first).map(|v| v.value.clone()),
                    "path" if first == "module" || first == "root" => {
                        Some(Value::String(".".to_string()))
                    }
                    _ => None,
                };
                match found {
                    Some(value) => (value, ops.get(1..).unwrap_or_default()),
                    None => return as_reference(),
                }
            }
            other => (self.eval(other).value, ops),
        };
        let mut value = start;
        for op in rest {
            value = match value {
                Value::Reference(mut r) => {
                    // `local.x.y` where `local.x` is itself a reference: extend it.
                    if let TraversalOperator::GetAttr(name) = op.value() {
                        r.path.push('.');
                        r.path.push_str(name.as_str());
                        r.names.push(name.as_str().to_string());
                        r.span = span;
                        Value::Reference(r)
                    } else {
                        Value::Unknown
                    }
                }
                known => self.step(known, op.value()),
            };
        }
        value
    }

    /// One `.name` or `[index]` into a known value.
    fn step(&self, value: Value, op: &TraversalOperator) -> Value {
        let key = match op {
            TraversalOperator::GetAttr(name) => Value::String(name.as_str().to_string()),
            TraversalOperator::Index(index) => self.eval(index).value,
            TraversalOperator::LegacyIndex(n) => Value::Number(*n.value() as f64),
            TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                return Value::Unknown
            }
        };
        let found = match (&value, &key) {
            (Value::Map(_), Value::String(k)) => value.get(k),
            (Value::List(items), Value::Number(n)) if n.fract() == 0.0 && *n >= 0.0 => {
                items.get(*n as usize)
            }
            _ => None,
        };
        found.map_or(Value::Unknown, |v| v.value.clone())
    }
}

/// For a quoted string literal, the span of its text without the quotes, when the text has no
/// escapes (so every byte maps); otherwise the whole span.
pub(super) fn quoted_content(span: Span, text: &str) -> Span {
    if span.range().len() == text.len() + 2 {
        span.sub(1, 1 + text.len())
    } else {
        span
    }
}

fn binary(op: BinaryOperator, lhs: &Value, rhs: &Value) -> Value {
    use BinaryOperator as B;
    match op {
        B::And | B::Or => match (lhs.as_bool(), rhs.as_bool()) {
            (Some(a), Some(b)) => Value::Bool(if op == B::And { a && b } else { a || b }),
            _ => Value::Unknown,
        },
        B::Eq | B::NotEq => {
            let scalar = |v: &Value| {
                matches!(
                    v,
                    Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_)
                )
            };
            if scalar(lhs) && scalar(rhs) {
                Value::Bool((lhs == rhs) == (op == B::Eq))
            } else {
                Value::Unknown
            }
        }
        _ => {
            let (Some(a), Some(b)) = (lhs.as_number(), rhs.as_number()) else {
                return Value::Unknown;
            };
            match op {
                B::Plus => Value::Number(a + b),
                B::Minus => Value::Number(a - b),
                B::Mul => Value::Number(a * b),
                B::Div if b != 0.0 => Value::Number(a / b),
                B::Mod if b != 0.0 => Value::Number(a % b),
                B::Less => Value::Bool(a < b),
                B::LessEq => Value::Bool(a <= b),
                B::Greater => Value::Bool(a > b),
                B::GreaterEq => Value::Bool(a >= b),
                _ => Value::Unknown,
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::parse::terraform::{parse, TerraformModule};

    pub(crate) const FILE: FileId = FileId(0);

    /// Evaluates `expr` in a module whose other definitions are `defs`.
    pub(crate) fn eval_in(defs: &str, expr: &str) -> (String, Spanned<Value>) {
        let src = format!("{defs}\nlocals {{\n  probe = {expr}\n}}\n");
        let module = TerraformModule::new(vec![parse(FILE, &src)]);
        assert!(
            module.files[0].diagnostics.is_empty(),
            "{:?}",
            module.files[0].diagnostics
        );
        let value = module.context.local("probe").cloned().expect("probe local");
        (src, value)
    }

    fn eval(expr: &str) -> Value {
        eval_in("", expr).1.value
    }

    pub(crate) fn s(text: &str) -> Value {
        Value::String(text.to_string())
    }

    #[test]
    fn literals_operators_and_functions() {
        let cases: &[(&str, Value)] = &[
            ("null", Value::Null),
            ("true", Value::Bool(true)),
            ("3210", Value::Number(3210.0)),
            ("\"a\\nb\"", s("a\nb")),
            ("\"$${HOME}\"", s("${HOME}")),
            ("1 + 2 * 3", Value::Number(7.0)),
            ("!false", Value::Bool(true)),
            ("-(2)", Value::Number(-2.0)),
            ("3 > 2 && \"a\" == \"a\"", Value::Bool(true)),
            ("1 == \"1\"", Value::Bool(false)),
            ("true ? \"x\" : \"y\"", s("x")),
            ("1 / 0", Value::Unknown),
            ("format(\"%s:%d%%\", \"h\", 80)", s("h:80%")),
            ("format(\"%q\", \"a\")", s("\"a\"")),
            ("format(\"%5d\", 1)", Value::Unknown),
            ("format(\"%s\")", Value::Unknown),
            ("join(\",\", [\"a\", \"b\"], [\"c\"])", s("a,b,c")),
            ("lower(\"AbC\")", s("abc")),
            ("upper(\"abc\")", s("ABC")),
            ("trimspace(\"  x \\n\")", s("x")),
            ("tostring(8080)", s("8080")),
            ("tonumber(\"8080\")", Value::Number(8080.0)),
            ("tonumber(\"x\")", Value::Unknown),
            ("coalesce(null, \"\", \"b\")", s("b")),
            ("coalesce(data.x.y.z, \"b\")", Value::Unknown),
            ("replace(\"a-b-c\", \"-\", \"_\")", s("a_b_c")),
            ("replace(\"abc\", \"/b/\", \"x\")", Value::Unknown),
            ("{ a = 1 }.a", Value::Number(1.0)),
            ("[10, 20][1]", Value::Number(20.0)),
            ("[10, 20][5]", Value::Unknown),
            ("[for x in [1] : x]", Value::Unknown),
            ("provider::terraform::encode_tfvars({})", Value::Unknown),
            ("unknownfn(1)", Value::Unknown),
            ("lower(1, 2)", Value::Unknown),
            ("join(\",\", [\"a\"]...)", Value::Unknown),
        ];
        for (expr, want) in cases {
            assert_eq!(&eval(expr), want, "{expr}");
        }
    }

    #[test]
    fn references_are_collected_with_spans() {
        let (src, _) = eval_in(
            "",
            "replace(coder_agent.main[0].init_script, \"a\", x[*].y)",
        );
        let module = TerraformModule::new(vec![parse(FILE, &src)]);
        let attr = module.files[0].blocks[0].attribute("probe").unwrap();
        let refs: Vec<(&str, &str, Vec<&str>)> = attr
            .references
            .iter()
            .map(|r| {
                (
                    r.path.as_str(),
                    &src[r.span.range()],
                    r.names.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            refs,
            [
                (
                    "coder_agent.main[0].init_script",
                    "coder_agent.main[0].init_script",
                    vec!["coder_agent", "main", "init_script"]
                ),
                ("x[*].y", "x[*].y", vec!["x", "y"]),
            ]
        );
    }
}
