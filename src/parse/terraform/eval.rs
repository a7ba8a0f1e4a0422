//! Static evaluation of Terraform expressions.
//!
//! Turns an `hcl-edit` expression into a [`Value`] using what is knowable without running
//! Terraform: literals, `variable` defaults, `locals` (across every file of a module, see
//! [`EvalContext::from_files`]), a few pure functions (`format`, `join`, `lower`, `upper`,
//! `tostring`, `tonumber`, `merge`, `coalesce`, `replace`, `trimspace`), operators and conditionals
//! whose operands are known. A string that mixes known text with references that only exist at
//! apply time (`data.coder_workspace.me.name`) stays a [`Value::Template`] so rules can still read
//! it. `file()` and `templatefile()` calls become [`Value::File`]: the caller reads the file.
//! Everything else is [`Value::Unknown`]; evaluation never fails.
//!
//! Not evaluated: `for` expressions, splats, template directives (`%{ if }`, `%{ for }` become
//! [`TemplatePart::Unknown`]), regex `replace`, `format` widths and precisions, and any other
//! function. Strip markers (`${~ x ~}`) are ignored.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use hcl_edit::expr::{
    BinaryOperator, Expression, FuncCall, ObjectKey, Traversal, TraversalOperator, UnaryOperator,
};
use hcl_edit::template::Element;
use hcl_edit::visit::{self, Visit};
use hcl_edit::Span as _;

use super::{Spanned, TerraformFile};
use crate::source::{FileId, Span};

/// Strings longer than this (in bytes) and values with more nodes than [`MAX_NODES`] become
/// [`Value::Unknown`]: locals that double a string at every step must not exhaust memory.
const MAX_TEXT: usize = 1 << 20;
const MAX_NODES: usize = 100_000;
/// How deep a chain of locals referring to locals may go before the rest counts as unknown.
const MAX_LOCAL_DEPTH: usize = 128;
/// How deeply lists and maps in a local may nest (locals nesting locals could otherwise build
/// values deep enough to overflow the stack when dropped).
const MAX_VALUE_DEPTH: usize = 64;

/// The statically known value of an expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    /// A fully known string.
    String(String),
    /// A string with parts that are only known when the workspace exists, e.g.
    /// `"https://app--${data.coder_workspace.me.name}.${var.domain}"` without a default for
    /// `var.domain`. At least one part is not a literal.
    Template(Vec<TemplatePart>),
    /// A bare reference to something only known at apply time: `coder_agent.main.id`, a variable
    /// without default, `count.index`.
    Reference(Reference),
    /// A tuple or list; each element keeps the span where it was written.
    List(Vec<Spanned<Value>>),
    /// An object or map, in source order.
    Map(Vec<MapEntry>),
    /// A `file(path)` or `templatefile(path, vars)` call: the caller reads and analyses the file.
    File(Box<FileCall>),
    /// Not knowable statically (for expressions, splats, unsupported functions, ...).
    Unknown,
}

/// One `key = value` of a map or object.
#[derive(Clone, Debug, PartialEq)]
pub struct MapEntry {
    /// The key; for a quoted key the span covers the text inside the quotes.
    pub key: Spanned<String>,
    pub value: Spanned<Value>,
}

/// A piece of a [`Value::Template`].
#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    /// Known text. `text` is the value (escapes resolved, heredoc indentation stripped, locals
    /// substituted); `span` covers the source bytes it came from, so its length may differ.
    Literal { text: String, span: Span },
    /// An interpolated reference such as `${data.coder_workspace.me.name}`.
    Reference(Reference),
    /// An interpolation or directive that cannot be evaluated.
    Unknown { span: Span },
}

/// A reference to a named object: `coder_agent.main.token`, `var.domain`, `count.index`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// The reference as written, without spaces: `coder_agent.main[0].init_script`.
    pub path: String,
    /// The root and every attribute name, indexes left out: `["coder_agent", "main", "init_script"]`.
    pub names: Vec<String>,
    pub span: Span,
}

impl Reference {
    /// Whether the reference starts with these names, e.g. `["coder_agent", "main"]`.
    pub fn starts_with(&self, names: &[&str]) -> bool {
        self.names.len() >= names.len() && self.names.iter().zip(names).all(|(a, b)| a == b)
    }
}

/// Which function read a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFunction {
    /// `file(path)`: the text as is.
    File,
    /// `templatefile(path, vars)`: `${...}` in the file is interpolated with `vars`.
    TemplateFile,
}

/// A `file(...)` or `templatefile(...)` call.
#[derive(Clone, Debug, PartialEq)]
pub struct FileCall {
    pub function: FileFunction,
    /// The path argument; `path.module` evaluates to `.`.
    pub path: Spanned<Value>,
    /// The variables map of `templatefile`.
    pub vars: Option<Spanned<Value>>,
}

impl FileCall {
    /// The path relative to the module folder, when known: `"${path.module}/run.sh"` gives `run.sh`.
    pub fn relative_path(&self) -> Option<&str> {
        let path = self.path.value.as_str()?;
        let mut rest = path;
        while let Some(stripped) = rest.strip_prefix("./") {
            rest = stripped;
        }
        Some(rest)
    }
}

impl Value {
    /// The text of a fully known string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A known number, or a string that holds one (Terraform converts between them).
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// A known whole number in `0..=65535`.
    pub fn as_port(&self) -> Option<u16> {
        let n = self.as_number()?;
        (n.fract() == 0.0 && (0.0..=65535.0).contains(&n)).then_some(n as u16)
    }

    /// A known bool, or the string `"true"`/`"false"`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::String(s) if s == "true" => Some(true),
            Value::String(s) if s == "false" => Some(false),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Spanned<Value>]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[MapEntry]> {
        match self {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value of a map key (the last one if the key repeats).
    pub fn get(&self, key: &str) -> Option<&Spanned<Value>> {
        self.as_map()?
            .iter()
            .rev()
            .find(|e| e.key.value == key)
            .map(|e| &e.value)
    }

    /// The reference this value is: a bare `coder_agent.main.id` or a lone `"${coder_agent.main.id}"`.
    pub fn as_reference(&self) -> Option<&Reference> {
        match self {
            Value::Reference(r) => Some(r),
            Value::Template(parts) => match parts.as_slice() {
                [TemplatePart::Reference(r)] => Some(r),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn as_file_call(&self) -> Option<&FileCall> {
        match self {
            Value::File(call) => Some(call),
            _ => None,
        }
    }

    /// Whether nothing in the value depends on apply time or unsupported constructs.
    pub fn is_known(&self) -> bool {
        match self {
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => true,
            Value::List(items) => items.iter().all(|i| i.value.is_known()),
            Value::Map(entries) => entries.iter().all(|e| e.value.value.is_known()),
            Value::Template(_) | Value::Reference(_) | Value::File(_) | Value::Unknown => false,
        }
    }

    /// Whether lists, maps and file calls nest more than `limit` levels deep.
    fn deeper_than(&self, limit: usize) -> bool {
        let inner = limit.saturating_sub(1);
        match self {
            Value::List(items) => limit == 0 || items.iter().any(|i| i.value.deeper_than(inner)),
            Value::Map(entries) => {
                limit == 0 || entries.iter().any(|e| e.value.value.deeper_than(inner))
            }
            Value::File(call) => {
                limit == 0
                    || call.path.value.deeper_than(inner)
                    || call
                        .vars
                        .as_ref()
                        .is_some_and(|v| v.value.deeper_than(inner))
            }
            _ => false,
        }
    }

    /// Nodes plus bytes of text, to keep values built from locals bounded.
    fn weight(&self) -> usize {
        match self {
            Value::String(s) => 1 + s.len(),
            Value::Template(parts) => parts
                .iter()
                .map(|p| match p {
                    TemplatePart::Literal { text, .. } => 1 + text.len(),
                    _ => 1,
                })
                .sum(),
            Value::List(items) => 1 + items.iter().map(|i| i.value.weight()).sum::<usize>(),
            Value::Map(entries) => {
                1 + entries
                    .iter()
                    .map(|e| e.key.value.len() + e.value.value.weight())
                    .sum::<usize>()
            }
            Value::File(call) => {
                1 + call.path.value.weight() + call.vars.as_ref().map_or(0, |v| v.value.weight())
            }
            _ => 1,
        }
    }
}

/// Variable defaults and locals of a module: what [`Value`]s may refer to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvalContext {
    variables: BTreeMap<String, Spanned<Value>>,
    locals: BTreeMap<String, Spanned<Value>>,
}

impl EvalContext {
    /// The `default` of every `variable` block and the value of every local in these files (the
    /// files of one module). Locals may refer to variables and to other locals in any order and
    /// any file; locals in a reference cycle are [`Value::Unknown`]. The first definition of a
    /// repeated name wins.
    pub fn from_files(files: &[TerraformFile]) -> EvalContext {
        let mut ctx = EvalContext::default();
        let mut defs: HashMap<&str, &super::Attribute> = HashMap::new();
        for file in files {
            for block in &file.blocks {
                match block.kind.value.as_str() {
                    "variable" => {
                        let (Some(name), Some(default)) =
                            (block.labels.first(), block.attribute("default"))
                        else {
                            continue;
                        };
                        let ev = Evaluator::new(&ctx, file.file, default.base);
                        let value = ev.eval(&default.expr);
                        ctx.variables.entry(name.value.clone()).or_insert(value);
                    }
                    "locals" => {
                        for attr in &block.attributes {
                            defs.entry(attr.name.value.as_str()).or_insert(attr);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut resolver = LocalResolver {
            defs: &defs,
            state: HashMap::new(),
            stack: Vec::new(),
        };
        let mut names: Vec<&str> = defs.keys().copied().collect();
        names.sort_unstable();
        for name in names {
            resolver.resolve(name, &mut ctx);
        }
        ctx
    }

    /// The default of a variable, if it has one.
    pub fn variable(&self, name: &str) -> Option<&Spanned<Value>> {
        self.variables.get(name)
    }

    /// The value of a local.
    pub fn local(&self, name: &str) -> Option<&Spanned<Value>> {
        self.locals.get(name)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LocalState {
    Visiting,
    InCycle,
    Done,
}

/// Evaluates locals depth first, each after the locals it refers to.
struct LocalResolver<'a> {
    defs: &'a HashMap<&'a str, &'a super::Attribute>,
    state: HashMap<&'a str, LocalState>,
    stack: Vec<&'a str>,
}

impl<'a> LocalResolver<'a> {
    fn resolve(&mut self, name: &'a str, ctx: &mut EvalContext) {
        if self.state.get(name) == Some(&LocalState::Done) {
            return;
        }
        let Some(attr) = self.defs.get(name).copied() else {
            return;
        };
        if self.stack.len() >= MAX_LOCAL_DEPTH {
            return;
        }
        self.state.insert(name, LocalState::Visiting);
        self.stack.push(name);
        for dep in &attr.references {
            let Some(dep) = local_name(dep) else { continue };
            let Some((&dep, _)) = self.defs.get_key_value(dep) else {
                continue;
            };
            match self.state.get(dep) {
                Some(LocalState::Visiting) | Some(LocalState::InCycle) => {
                    // Everything on the stack from `dep` up is part of a cycle.
                    let from = self.stack.iter().position(|n| *n == dep).unwrap_or(0);
                    for member in self.stack.get(from..).unwrap_or_default() {
                        self.state.insert(member, LocalState::InCycle);
                    }
                }
                Some(LocalState::Done) => {}
                None => self.resolve(dep, ctx),
            }
        }
        self.stack.pop();
        let in_cycle = self.state.get(name) == Some(&LocalState::InCycle);
        let span = span_of(attr.expr.span(), attr.value.span.file, attr.base);
        let value = if in_cycle {
            Spanned {
                value: Value::Unknown,
                span,
            }
        } else {
            let value = Evaluator::new(ctx, attr.value.span.file, attr.base).eval(&attr.expr);
            if value.value.deeper_than(MAX_VALUE_DEPTH)
                || value.value.weight() > MAX_NODES + MAX_TEXT
            {
                Spanned {
                    value: Value::Unknown,
                    span,
                }
            } else {
                value
            }
        };
        ctx.locals.insert(name.to_string(), value);
        self.state.insert(name, LocalState::Done);
    }
}

/// `local.NAME...` → `NAME`.
fn local_name(r: &Reference) -> Option<&str> {
    match r.names.as_slice() {
        [root, name, ..] if root == "local" => Some(name),
        _ => None,
    }
}

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
    ctx: &'a EvalContext,
    file: FileId,
    /// Where the parsed text starts in the file.
    base: usize,
}

impl<'a> Evaluator<'a> {
    pub(super) fn new(ctx: &'a EvalContext, file: FileId, base: usize) -> Self {
        Evaluator { ctx, file, base }
    }

    fn span(&self, range: Option<Range<usize>>) -> Span {
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
            Expression::Object(object) => Value::Map(
                object
                    .iter()
                    .map(|(key, value)| MapEntry {
                        key: self.object_key(key),
                        value: self.eval(value.expr()),
                    })
                    .collect(),
            ),
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

    fn object_key(&self, key: &ObjectKey) -> Spanned<String> {
        match key {
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
        }
    }

    fn template<'e>(&self, elements: impl Iterator<Item = &'e Element>) -> Value {
        let mut parts = Vec::new();
        for element in elements {
            match element {
                Element::Literal(text) => parts.push(TemplatePart::Literal {
                    text: text.value().clone(),
                    span: self.span(text.span()),
                }),
                Element::Interpolation(i) => {
                    let value = self.eval(&i.expr);
                    let span = self.span(i.span());
                    push_parts(&mut parts, &value.value, span);
                }
                Element::Directive(d) => parts.push(TemplatePart::Unknown {
                    span: self.span(d.span()),
                }),
            }
        }
        finish_template(parts)
    }

    fn traversal(&self, t: &Traversal, span: Span) -> Value {
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

    fn call(&self, call: &FuncCall) -> Value {
        if call.name.is_namespaced() || call.args.expand_final() {
            return Value::Unknown;
        }
        let args: Vec<Spanned<Value>> = call.args.iter().map(|a| self.eval(a)).collect();
        let string_arg = |i: usize| args.get(i).and_then(|a| a.value.as_str());
        let single_string = |f: fn(&str) -> String| match (args.len(), string_arg(0)) {
            (1, Some(s)) => Value::String(f(s)),
            _ => Value::Unknown,
        };
        match call.name.name.as_str() {
            "format" => format(&args),
            "join" => join(&args),
            "lower" => single_string(str::to_lowercase),
            "upper" => single_string(str::to_uppercase),
            "trimspace" => single_string(|s| s.trim().to_string()),
            "tostring" => match args.as_slice() {
                [a] => match &a.value {
                    Value::Number(n) => Value::String(number_text(*n)),
                    Value::Bool(b) => Value::String(b.to_string()),
                    v @ (Value::String(_)
                    | Value::Template(_)
                    | Value::Reference(_)
                    | Value::Null) => v.clone(),
                    _ => Value::Unknown,
                },
                _ => Value::Unknown,
            },
            "tonumber" => match args.as_slice() {
                [a] => a.value.as_number().map_or(Value::Unknown, Value::Number),
                _ => Value::Unknown,
            },
            "merge" => merge(&args),
            "coalesce" => coalesce(&args),
            "replace" => match (args.len(), string_arg(0), string_arg(1), string_arg(2)) {
                (3, Some(s), Some(from), Some(to))
                    if !(from.len() > 1 && from.starts_with('/') && from.ends_with('/')) =>
                {
                    replace(s, from, to)
                }
                _ => Value::Unknown,
            },
            "file" | "templatefile" => {
                let mut args = args.into_iter();
                let Some(path) = args.next() else {
                    return Value::Unknown;
                };
                let (function, vars) = if call.name.name.as_str() == "file" {
                    (FileFunction::File, None)
                } else {
                    (FileFunction::TemplateFile, args.next())
                };
                Value::File(Box::new(FileCall {
                    function,
                    path,
                    vars,
                }))
            }
            _ => Value::Unknown,
        }
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
fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
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

/// `format(spec, args...)` with the verbs `%s`, `%d`, `%v`, `%q` and `%%`; anything fancier
/// (widths, precision, `%f`) is unknown.
fn format(args: &[Spanned<Value>]) -> Value {
    let Some((spec, rest)) = args.split_first() else {
        return Value::Unknown;
    };
    let Some(text) = spec.value.as_str() else {
        return Value::Unknown;
    };
    let mut rest = rest.iter();
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            literal.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => literal.push('%'),
            Some(verb @ ('s' | 'd' | 'v' | 'q')) => {
                let Some(arg) = rest.next() else {
                    return Value::Unknown;
                };
                push_parts(
                    &mut parts,
                    &Value::String(std::mem::take(&mut literal)),
                    spec.span,
                );
                match (verb, &arg.value) {
                    ('q', Value::String(s)) => {
                        push_parts(&mut parts, &Value::String(format!("{s:?}")), arg.span)
                    }
                    ('q', _) => return Value::Unknown,
                    (_, v) => push_parts(&mut parts, v, arg.span),
                }
            }
            _ => return Value::Unknown,
        }
    }
    push_parts(&mut parts, &Value::String(literal), spec.span);
    finish_template(parts)
}

/// `join(separator, list...)`.
fn join(args: &[Spanned<Value>]) -> Value {
    let Some((sep, lists)) = args.split_first() else {
        return Value::Unknown;
    };
    let Some(sep_text) = sep.value.as_str() else {
        return Value::Unknown;
    };
    let mut parts = Vec::new();
    let mut first = true;
    for list in lists {
        let Some(items) = list.value.as_list() else {
            return Value::Unknown;
        };
        for item in items {
            if !first {
                push_parts(&mut parts, &Value::String(sep_text.to_string()), sep.span);
            }
            first = false;
            push_parts(&mut parts, &item.value, item.span);
        }
    }
    finish_template(parts)
}

/// `merge(map...)`: later keys win; `null` arguments are skipped.
fn merge(args: &[Spanned<Value>]) -> Value {
    let mut out: Vec<MapEntry> = Vec::new();
    for arg in args {
        match &arg.value {
            Value::Null => {}
            Value::Map(entries) => {
                for entry in entries {
                    out.retain(|e| e.key.value != entry.key.value);
                    out.push(entry.clone());
                }
            }
            _ => return Value::Unknown,
        }
    }
    Value::Map(out)
}

/// `coalesce(args...)`: the first argument that is neither null nor `""`, if that is decidable.
fn coalesce(args: &[Spanned<Value>]) -> Value {
    for arg in args {
        match &arg.value {
            Value::Null => continue,
            Value::String(s) if s.is_empty() => continue,
            Value::Template(parts)
                if parts.iter().any(
                    |p| matches!(p, TemplatePart::Literal { text, .. } if !text.is_empty()),
                ) =>
            {
                return arg.value.clone()
            }
            Value::Template(_) | Value::Reference(_) | Value::Unknown | Value::File(_) => {
                return Value::Unknown
            }
            known => return known.clone(),
        }
    }
    Value::Unknown
}

/// `replace(s, from, to)` with a literal `from`, bounded in size.
fn replace(s: &str, from: &str, to: &str) -> Value {
    if from.is_empty() {
        return Value::Unknown;
    }
    let count = s.matches(from).count();
    if s.len() + count.saturating_mul(to.len()) > MAX_TEXT {
        return Value::Unknown;
    }
    Value::String(s.replace(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::terraform::{parse, TerraformModule};

    const FILE: FileId = FileId(0);

    /// Evaluates `expr` in a module whose other definitions are `defs`.
    fn eval_in(defs: &str, expr: &str) -> (String, Spanned<Value>) {
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

    fn s(text: &str) -> Value {
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
    fn merge_keeps_key_spans_and_later_keys_win() {
        let (src, v) = eval_in("", "merge({ A = \"1\", B = \"2\" }, { \"B\" = \"3\" })");
        let entries = v.value.as_map().expect("map");
        let keys: Vec<(&str, &str)> = entries
            .iter()
            .map(|e| (e.key.value.as_str(), &src[e.key.span.range()]))
            .collect();
        assert_eq!(keys, [("A", "A"), ("B", "B")]);
        assert_eq!(v.value.get("B").unwrap().value, s("3"));
        assert_eq!(&src[v.value.get("B").unwrap().span.range()], "\"3\"");
    }

    #[test]
    fn locals_resolve_through_locals_and_variables_in_any_order() {
        let defs = r#"
locals {
  url  = "http://localhost:${local.port}"
  port = var.base + 10
  ports = { api = 3210, site = 3211 }
}
variable "base" {
  default = 3200
}
variable "domain" {
  type = string
}
"#;
        assert_eq!(
            eval_in(defs, "local.url").1.value,
            s("http://localhost:3210")
        );
        assert_eq!(
            eval_in(defs, "local.ports.site").1.value,
            Value::Number(3211.0)
        );
        assert_eq!(
            eval_in(defs, "local.ports[\"api\"]").1.value,
            Value::Number(3210.0)
        );
        let (src, v) = eval_in(defs, "var.domain");
        let r = v.value.as_reference().expect("reference");
        assert_eq!(r.path, "var.domain");
        assert_eq!(&src[r.span.range()], "var.domain");
        assert_eq!(eval_in(defs, "path.module").1.value, s("."));
    }

    #[test]
    fn local_cycles_are_unknown_and_do_not_hang() {
        let defs = "locals {\n  a = local.b\n  b = \"${local.a}x\"\n  c = local.c\n  d = 1\n}\n";
        assert_eq!(eval_in(defs, "local.a").1.value, Value::Unknown);
        assert_eq!(eval_in(defs, "local.b").1.value, Value::Unknown);
        assert_eq!(eval_in(defs, "local.c").1.value, Value::Unknown);
        assert_eq!(eval_in(defs, "local.d").1.value, Value::Number(1.0));
    }

    #[test]
    fn doubling_locals_stay_bounded() {
        let mut defs = String::from("locals {\n  l0 = \"xxxxxxxxxxxxxxxx\"\n");
        for i in 1..40 {
            defs.push_str(&format!(
                "  l{i} = \"${{local.l{p}}}${{local.l{p}}}\"\n",
                p = i - 1
            ));
        }
        defs.push_str("}\n");
        // Past the size limit a local is unknown; doubling unknown parts stays bounded too.
        let last = eval_in(&defs, "local.l39").1.value;
        assert!(last.as_str().is_none());
        assert!(last.weight() <= MAX_NODES + MAX_TEXT);
        assert_eq!(
            eval_in(&defs, "local.l2").1.value.as_str().map(str::len),
            Some(64)
        );
    }

    #[test]
    fn deeply_nesting_locals_stay_bounded() {
        let mut defs = String::from("locals {\n  n0 = [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]\n");
        for i in 1..100 {
            defs.push_str(&format!(
                "  n{i} = [[[[[[[[[[[[[[[[local.n{}]]]]]]]]]]]]]]]]\n",
                i - 1
            ));
        }
        defs.push_str("}\n");
        let module = TerraformModule::new(vec![parse(FILE, &defs)]);
        let depth_ok = |i: usize| {
            let v = &module.context.local(&format!("n{i}")).unwrap().value;
            assert!(!v.deeper_than(MAX_VALUE_DEPTH), "n{i}");
            v.is_known()
        };
        assert!(depth_ok(3), "four locals of 16 levels fit");
        assert!(!depth_ok(4), "the fifth would be 80 lists deep");
        for i in 5..100 {
            depth_ok(i);
        }
        assert!(Value::List(vec![]).deeper_than(0), "a list needs one level");
    }

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

    #[test]
    fn file_calls_record_path_and_vars() {
        let (src, v) = eval_in(
            "",
            "templatefile(\"${path.module}/run.sh\", { port = 3210 })",
        );
        let call = v.value.as_file_call().expect("file call");
        assert_eq!(call.function, FileFunction::TemplateFile);
        assert_eq!(call.relative_path(), Some("run.sh"));
        assert_eq!(&src[call.path.span.range()], "\"${path.module}/run.sh\"");
        let vars = call.vars.as_ref().expect("vars");
        assert_eq!(vars.value.get("port").unwrap().value, Value::Number(3210.0));
        let (_, v) = eval_in("", "file(\"start.sh\")");
        let call = v.value.as_file_call().expect("file call");
        assert_eq!(call.function, FileFunction::File);
        assert_eq!(call.relative_path(), Some("start.sh"));
        assert!(call.vars.is_none());
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
