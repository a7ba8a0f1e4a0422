//! Terraform (`*.tf`) files of Coder templates.
//!
//! **Reads** one `.tf` file with `hcl-edit` ([`parse`]) into a generic view of its blocks: every
//! top-level block (`resource`, `data`, `module`, `variable`, `locals`, `output`, `terraform`,
//! `provider`, ...) with its kind, labels, attributes and nested blocks (`metadata`,
//! `healthcheck`, `ports`, `env`, and `dynamic` blocks, which are kept as written, not expanded).
//! Every attribute keeps the span of its name and of its expression, the references it contains
//! and its statically evaluated [`Value`] (`eval.rs` says what evaluates).
//!
//! **Modules**: [`TerraformModule::new`] takes the parsed files of one folder, builds the
//! [`EvalContext`] (variable defaults and locals across all files) and re-evaluates every
//! attribute with it, so `"http://localhost:${local.api_port}"` becomes `http://localhost:3210`.
//! The Coder-specific views (`agents()`, `apps()`, `modules()`, `containers()`, ...) live in
//! [`coder`] and work on a module.
//!
//! **Heredocs** (`<<EOT`, `<<-EOT`): [`Attribute::heredoc`] gives the body exactly as written in
//! the file (indentation, `${...}` and `$${` escapes untouched) with its byte span, so a shell
//! parser can analyse a `startup_script` and report spans into the `.tf` file: offset `i` of
//! [`Heredoc::body`] is file offset `body.span.start + i`. The evaluated value of the attribute
//! has `<<-` indentation stripped and escapes resolved.
//!
//! **Errors**: a file that does not parse gives one error [`Diagnostic`] at the line and column
//! `hcl-edit` reports, plus the blocks that could still be read before and after the error.
//!
//! **Not handled**: `count`/`for_each`/`dynamic` expansion, modules' own files (a `module` block is
//! only its inputs), `.tfvars`, `override.tf` merging, and reading `file()`/`templatefile()`
//! targets (they are recorded as [`Value::File`] for the caller).

pub mod coder;
mod eval;
mod functions;
mod scope;
mod template;
mod value;

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Body, Structure};
use hcl_edit::Span as _;

pub use coder::locked_coder_version;
pub use coder::{
    Agent, AgentReference, AppBlock, CoderEnv, CoderScript, Container, ContainerPort,
    ContainerRuntime, EnvVar, HealthcheckBlock, ModuleCall, ProviderRequirement,
};
pub use eval::Assume;
pub use scope::EvalContext;
pub use template::blank_untaken_branches;
pub use value::{FileCall, FileFunction, MapEntry, Reference, TemplatePart, Value};

use self::eval::{collect_references, quoted_content, span_of, Evaluator};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

/// A value together with the bytes it was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// What one `.tf` file holds.
#[derive(Clone, Debug)]
pub struct TerraformFile {
    pub file: FileId,
    /// Top-level blocks in source order.
    pub blocks: Vec<Block>,
    /// At most one parse error.
    pub diagnostics: Vec<Diagnostic>,
    /// Keys written twice in one object (Terraform keeps the last).
    pub duplicate_keys: Vec<DuplicateKey>,
    /// Object keys renamed so that `hcl-edit` reads a repeated key: file offset of the key's
    /// span → the key as written.
    renamed_keys: std::collections::BTreeMap<usize, String>,
}

/// A key written twice in one object expression (`{ a = 1, a = 2 }`). Terraform accepts it and
/// keeps the last value (`terraform validate` passes); so does the evaluator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateKey {
    pub key: String,
    /// The key where it is first written: its value is dropped.
    pub first: Span,
    /// The key written again: its value is the one Terraform keeps.
    pub last: Span,
}

/// A block: `resource "coder_app" "code" { ... }`, `healthcheck { ... }`, `dynamic "env" { ... }`.
#[derive(Clone, Debug)]
pub struct Block {
    /// `resource`, `data`, `module`, `locals`, `metadata`, `dynamic`, ...
    pub kind: Spanned<String>,
    /// The labels; for quoted labels the span covers the text inside the quotes.
    pub labels: Vec<Spanned<String>>,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<Block>,
    /// From the kind to the closing brace.
    pub span: Span,
}

/// `name = expression`.
#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: Spanned<String>,
    /// The evaluated expression; the span is the expression's (for strings, quotes included).
    pub value: Spanned<Value>,
    /// Set when the expression is a heredoc.
    pub heredoc: Option<Heredoc>,
    /// Every reference in the expression (`coder_agent.main.token`, `var.x`, ...), in order.
    pub references: Vec<Reference>,
    /// From the name to the end of the expression.
    pub span: Span,
    /// The parsed expression, re-evaluated when the module context is known.
    expr: Expression,
    /// Where the text that `expr`'s ranges are relative to starts in the file.
    base: usize,
}

/// The body of a heredoc, exactly as written in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heredoc {
    /// `EOT` in `<<-EOT`.
    pub delimiter: String,
    /// `<<-`: leading indentation is stripped from the value.
    pub indented: bool,
    /// How many columns of indentation `<<-` stripped from every line of the value.
    pub indent: usize,
    /// The raw text between the line of `<<EOT` and the line of the closing `EOT` (ending with a
    /// newline unless empty), with its span: no indentation stripped, no escapes resolved.
    pub body: Spanned<String>,
}

impl Attribute {
    /// Whether the attribute holds a value, as far as is known statically: `Some(false)` for
    /// `null`, `None` for a bare reference or an expression that is not evaluated (either may
    /// turn out null).
    pub fn is_set(&self) -> Option<bool> {
        match self.value.value {
            Value::Null => Some(false),
            Value::Reference(_) | Value::Unknown => None,
            _ => Some(true),
        }
    }

    /// The span of the text between the quotes when the value is written as a plain string
    /// literal without escapes (`"Public"`): the bytes a fix may replace.
    pub fn string_literal_span(&self) -> Option<Span> {
        let Expression::String(text) = &self.expr else {
            return None;
        };
        let span = self.value.span;
        (span.range().len() == text.len() + 2).then(|| span.sub(1, 1 + text.len()))
    }
}

impl Block {
    /// The first attribute with this name.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name.value == name)
    }

    /// The evaluated value of an attribute.
    pub fn value(&self, name: &str) -> Option<&Spanned<Value>> {
        self.attribute(name).map(|a| &a.value)
    }

    /// Nested blocks of one kind, in order.
    pub fn blocks_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.blocks.iter().filter(move |b| b.kind.value == kind)
    }

    /// The first nested block of one kind.
    pub fn block(&self, kind: &str) -> Option<&Block> {
        self.blocks.iter().find(|b| b.kind.value == kind)
    }

    /// The name other blocks use to refer to this one: the second label of `resource` and `data`
    /// blocks (`main` in `resource "coder_agent" "main"`), the first label otherwise.
    pub fn name(&self) -> Option<&Spanned<String>> {
        match self.kind.value.as_str() {
            "resource" | "data" => self.labels.get(1),
            _ => self.labels.first(),
        }
    }

    /// `resource "<resource_type>" "..."`.
    pub fn is_resource(&self, resource_type: &str) -> bool {
        self.kind.value == "resource"
            && self
                .labels
                .first()
                .is_some_and(|l| l.value == resource_type)
    }

    /// `data "<data_type>" "..."`.
    pub fn is_data(&self, data_type: &str) -> bool {
        self.kind.value == "data" && self.labels.first().is_some_and(|l| l.value == data_type)
    }

    /// Every attribute of this block and of its nested blocks, depth first.
    pub fn all_attributes(&self) -> Vec<&Attribute> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(block) = stack.pop() {
            out.extend(block.attributes.iter());
            stack.extend(block.blocks.iter().rev());
        }
        out
    }

    fn evaluate(&mut self, ctx: &EvalContext) {
        for attr in &mut self.attributes {
            attr.value = Evaluator::new(ctx, attr.value.span.file, attr.base).eval(&attr.expr);
        }
        for block in &mut self.blocks {
            block.evaluate(ctx);
        }
    }
}

impl TerraformFile {
    /// Re-evaluates every attribute with a module's variables and locals.
    pub fn evaluate(&mut self, ctx: &EvalContext) {
        for block in &mut self.blocks {
            block.evaluate(ctx);
        }
    }
}

/// The `.tf` files of one folder, evaluated together.
#[derive(Clone, Debug)]
pub struct TerraformModule {
    pub files: Vec<TerraformFile>,
    pub context: EvalContext,
}

impl TerraformModule {
    /// Builds the evaluation context from all files and re-evaluates their attributes with it.
    pub fn new(mut files: Vec<TerraformFile>) -> TerraformModule {
        let context = EvalContext::from_files(&files);
        for file in &mut files {
            file.evaluate(&context);
        }
        TerraformModule { files, context }
    }

    /// A module called with these arguments (each evaluated in the caller's scope): its
    /// variables take them instead of their defaults.
    pub fn with_inputs(
        mut files: Vec<TerraformFile>,
        inputs: &std::collections::BTreeMap<String, Spanned<Value>>,
    ) -> TerraformModule {
        let context = EvalContext::with_inputs(&files, inputs);
        for file in &mut files {
            file.evaluate(&context);
        }
        TerraformModule { files, context }
    }

    /// Top-level blocks of every file.
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.files.iter().flat_map(|f| f.blocks.iter())
    }

    /// `resource "<resource_type>" ...` blocks of every file.
    pub fn resources<'a>(&'a self, resource_type: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.blocks().filter(move |b| b.is_resource(resource_type))
    }

    /// `data "<data_type>" ...` blocks of every file.
    pub fn data_sources<'a>(&'a self, data_type: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.blocks().filter(move |b| b.is_data(data_type))
    }

    /// The value of an attribute of this module when `assume` gives some references their values
    /// (a `coder_parameter` its default, `start_count` 1): what `count` is in one case.
    pub fn evaluate_assuming(&self, attr: &Attribute, assume: eval::Assume<'_>) -> Value {
        Evaluator::new(&self.context, attr.value.span.file, attr.base)
            .assuming(assume)
            .eval(&attr.expr)
            .value
    }

    /// Parse errors of every file.
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.files.iter().flat_map(|f| f.diagnostics.iter())
    }

    /// Keys written twice in one object, in every file.
    pub fn duplicate_keys(&self) -> impl Iterator<Item = &DuplicateKey> {
        self.files.iter().flat_map(|f| f.duplicate_keys.iter())
    }
}

/// How many repeated object keys one file may rename before its parse error stands.
const MAX_RENAMED_KEYS: usize = 256;

/// `hcl-edit` refuses an object that repeats a key; Terraform keeps the last. Until the text
/// parses, each repeated key the parser stops at is replaced by a name of the same length that
/// the text does not hold (so every span stays where it was), and remembered: the evaluator
/// reads it under its own name and keeps the last value. Returns the text that parses (or the
/// first error that is not a repeated key) and the renamed keys by file offset.
fn parse_accepting_repeated_keys(
    text: &str,
) -> (
    std::borrow::Cow<'_, str>,
    Result<Body, hcl_edit::parser::Error>,
    std::collections::BTreeMap<usize, String>,
) {
    let mut work = std::borrow::Cow::Borrowed(text);
    let mut renamed = std::collections::BTreeMap::new();
    let mut last: Option<(usize, usize, String)> = None;
    for _ in 0..MAX_RENAMED_KEYS {
        let err = match hcl_edit::parser::parse_body(&work) {
            Ok(body) => return (work, Ok(body), renamed),
            Err(err) => err,
        };
        if !err.message().contains("redefined object key") {
            return (work, Err(err), renamed);
        }
        let at = error_offset(&work, err.location());
        // The same key again: the name it was given is taken in that object; try the next.
        let (attempt, key) = match &last {
            Some((prev, attempt, key)) if *prev == at => (attempt + 1, Some(key.clone())),
            _ => (0, None),
        };
        let Some((start, len, written)) = object_key_at(&work, at) else {
            return (work, Err(err), renamed);
        };
        let Some(name) = unused_name(&work, len, attempt) else {
            return (work, Err(err), renamed);
        };
        let written = key.unwrap_or(written);
        work.to_mut().replace_range(start..start + len, &name);
        renamed.insert(start, written.clone());
        last = Some((at, attempt, written));
    }
    let result = hcl_edit::parser::parse_body(&work);
    (work, result, renamed)
}

/// The key at `at` (an identifier, or a quoted string without escapes): where its name starts,
/// its length in bytes and its text.
fn object_key_at(text: &str, at: usize) -> Option<(usize, usize, String)> {
    let rest = text.get(at..)?;
    let (start, name) = if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find(['"', '\\', '$', '%', '\n'])?;
        if !quoted[end..].starts_with('"') {
            return None;
        }
        (at + 1, &quoted[..end])
    } else {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        (at, &rest[..end])
    };
    (!name.is_empty()).then(|| (start, name.len(), name.to_owned()))
}

/// A name of `len` ASCII bytes, a valid identifier, that `text` does not hold; `attempt` picks
/// another one each time.
fn unused_name(text: &str, len: usize, attempt: usize) -> Option<String> {
    let letters = b"zqxjkvwy";
    (attempt..attempt + 64)
        .filter_map(|k| {
            let letter = letters[k % letters.len()] as char;
            let number = k / letters.len();
            if len == 1 {
                return (number == 0).then(|| letter.to_string());
            }
            let digits = number.to_string();
            (digits.len() < len).then(|| format!("{letter}{digits:0>width$}", width = len - 1))
        })
        .find(|name| len == 1 || !text.contains(name.as_str()))
}

/// Every key written twice in one object of `body`, read under the names the keys were written
/// with.
fn repeated_keys(
    body: &Body,
    file: FileId,
    renamed: &std::collections::BTreeMap<usize, String>,
) -> Vec<DuplicateKey> {
    use hcl_edit::visit::{self, Visit};
    struct Finder<'a> {
        file: FileId,
        renamed: &'a std::collections::BTreeMap<usize, String>,
        found: Vec<DuplicateKey>,
    }
    impl Finder<'_> {
        fn key(&self, key: &hcl_edit::expr::ObjectKey) -> Option<(String, Span)> {
            let (name, span) = match key {
                hcl_edit::expr::ObjectKey::Ident(ident) => (
                    ident.as_str().to_owned(),
                    span_of(ident.span(), self.file, 0),
                ),
                hcl_edit::expr::ObjectKey::Expression(Expression::String(s)) => (
                    s.value().clone(),
                    quoted_content(span_of(s.span(), self.file, 0), s.value()),
                ),
                _ => return None,
            };
            let name = self
                .renamed
                .get(&span.range().start)
                .cloned()
                .unwrap_or(name);
            Some((name, span))
        }
    }
    impl Visit for Finder<'_> {
        fn visit_object(&mut self, node: &hcl_edit::expr::Object) {
            let keys: Vec<(String, Span)> = node.iter().filter_map(|(k, _)| self.key(k)).collect();
            if keys
                .iter()
                .any(|(_, span)| self.renamed.contains_key(&span.range().start))
            {
                for (i, (name, span)) in keys.iter().enumerate() {
                    if !self.renamed.contains_key(&span.range().start) {
                        continue;
                    }
                    if let Some((_, first)) = keys[..i].iter().find(|(other, _)| other == name) {
                        self.found.push(DuplicateKey {
                            key: name.clone(),
                            first: *first,
                            last: *span,
                        });
                    }
                }
            }
            visit::visit_object(self, node);
        }
    }
    if renamed.is_empty() {
        return Vec::new();
    }
    let mut finder = Finder {
        file,
        renamed,
        found: Vec::new(),
    };
    finder.visit_body(body);
    finder.found
}

/// How many cut points recovery tries on each side of a parse error.
const RECOVERY_ATTEMPTS: usize = 48;

/// Parses one `.tf` file. Values are evaluated without variables or locals; use
/// [`TerraformModule::new`] to evaluate them with the whole module.
pub fn parse(file: FileId, text: &str) -> TerraformFile {
    let (text, parsed, renamed_keys) = parse_accepting_repeated_keys(text);
    let text: &str = &text;
    let mut out = TerraformFile {
        file,
        blocks: Vec::new(),
        diagnostics: Vec::new(),
        duplicate_keys: Vec::new(),
        renamed_keys,
    };
    let mut ctx = EvalContext::default();
    ctx.add_renamed_keys(file, &out.renamed_keys);
    match parsed {
        Ok(body) => {
            out.duplicate_keys = repeated_keys(&body, file, &out.renamed_keys);
            out.blocks = convert_body(&body, text, file, 0, &ctx);
        }
        Err(err) => {
            let at = error_offset(text, err.location());
            let width = text
                .get(at..)
                .and_then(|t| t.chars().next())
                .map_or(0, char::len_utf8);
            out.diagnostics.push(
                Diagnostic::error(
                    Span::new(file, at, at + width),
                    format!("Terraform syntax error: {}", err.message()),
                )
                .with_label("the file stops parsing here"),
            );
            for (body, base) in recover(text, at) {
                let part = text.get(base..).unwrap_or_default();
                out.blocks
                    .extend(convert_body(&body, part, file, base, &ctx));
            }
        }
    }
    out
}

/// The blocks around a parse error at `error_at`: the longest prefix that parses, cut at the
/// start of a top-level line, and the first such suffix after the error that parses.
fn recover(text: &str, error_at: usize) -> Vec<(Body, usize)> {
    // Lines that start with an identifier at column 1 are where top-level blocks usually start.
    let mut cuts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .filter(|&i| {
            text.as_bytes()
                .get(i)
                .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        })
        .collect();
    cuts.push(text.len());
    let mut found = Vec::new();
    for &cut in cuts
        .iter()
        .rev()
        .filter(|&&c| c <= error_at)
        .take(RECOVERY_ATTEMPTS)
    {
        if let Some(Ok(body)) = text.get(..cut).map(hcl_edit::parser::parse_body) {
            found.push((body, 0));
            break;
        }
    }
    for &cut in cuts
        .iter()
        .filter(|&&c| c > error_at && c < text.len())
        .take(RECOVERY_ATTEMPTS)
    {
        if let Some(Ok(body)) = text.get(cut..).map(hcl_edit::parser::parse_body) {
            found.push((body, cut));
            break;
        }
    }
    found
}

/// The byte offset of a parse error. `hcl-edit` clamps the offset to the last byte of the text
/// and adds what is left to the column, so a column past that byte means the end of the text.
fn error_offset(text: &str, location: &hcl_edit::parser::Location) -> usize {
    let mut at = location.offset().min(text.len());
    if at + 1 == text.len() {
        let line_start = text
            .get(..at)
            .and_then(|t| t.rfind('\n'))
            .map_or(0, |i| i + 1);
        let column_at = text
            .get(line_start..)
            .map_or(at - line_start + 1, |line| line.chars().count());
        if location.column() > column_at {
            return text.len();
        }
    }
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Converts the blocks of a parsed body; `text` is what was parsed, starting at `base` in the file.
fn convert_body(
    body: &Body,
    text: &str,
    file: FileId,
    base: usize,
    ctx: &EvalContext,
) -> Vec<Block> {
    body.iter()
        .filter_map(|s| match s {
            Structure::Block(b) => Some(convert_block(b, text, file, base, ctx)),
            Structure::Attribute(_) => None,
        })
        .collect()
}

fn convert_block(
    block: &hcl_edit::structure::Block,
    text: &str,
    file: FileId,
    base: usize,
    ctx: &EvalContext,
) -> Block {
    let labels = block
        .labels
        .iter()
        .map(|label| {
            let span = span_of(label.span(), file, base);
            Spanned {
                value: label.as_str().to_string(),
                span: if label.is_string() {
                    quoted_content(span, label.as_str())
                } else {
                    span
                },
            }
        })
        .collect();
    let mut attributes = Vec::new();
    let mut blocks = Vec::new();
    for structure in block.body.iter() {
        match structure {
            Structure::Attribute(a) => attributes.push(convert_attribute(a, text, file, base, ctx)),
            Structure::Block(b) => blocks.push(convert_block(b, text, file, base, ctx)),
        }
    }
    Block {
        kind: Spanned {
            value: block.ident.as_str().to_string(),
            span: span_of(block.ident.span(), file, base),
        },
        labels,
        attributes,
        blocks,
        span: span_of(block.span(), file, base),
    }
}

fn convert_attribute(
    attr: &hcl_edit::structure::Attribute,
    text: &str,
    file: FileId,
    base: usize,
    ctx: &EvalContext,
) -> Attribute {
    let heredoc = match &attr.value {
        Expression::HeredocTemplate(h) => {
            let start = h.span().map_or(0, |r| r.start);
            let body_range = h.template.span().unwrap_or_else(|| {
                // An empty heredoc has no template span: its body is empty, after the first line.
                let after = text
                    .get(start..)
                    .and_then(|t| t.find('\n'))
                    .map_or(start, |i| start + i + 1);
                after..after
            });
            Some(Heredoc {
                delimiter: h.delimiter.as_str().to_string(),
                indented: text.get(start..).is_some_and(|t| t.starts_with("<<-")),
                indent: h.indent().unwrap_or(0),
                body: Spanned {
                    value: text.get(body_range.clone()).unwrap_or_default().to_string(),
                    span: span_of(Some(body_range), file, base),
                },
            })
        }
        _ => None,
    };
    Attribute {
        name: Spanned {
            value: attr.key.as_str().to_string(),
            span: span_of(attr.key.span(), file, base),
        },
        value: Evaluator::new(ctx, file, base).eval(&attr.value),
        heredoc,
        references: collect_references(&attr.value, file, base),
        span: span_of(attr.span(), file, base),
        expr: attr.value.clone(),
        base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    const FILE: FileId = FileId(0);

    fn text(src: &str, span: Span) -> &str {
        &src[span.range()]
    }

    /// `evaluate_assuming` gives the references it answers their values, the rest as before.
    #[test]
    fn evaluate_assuming_gives_references_values() {
        let src = "variable \"on\" {\n  default = false\n}\nmodule \"m\" {\n  count = data.coder_parameter.p.value && !var.on ? data.coder_workspace.me.start_count : 0\n}\n";
        let module = TerraformModule::new(vec![parse(FILE, src)]);
        let count = module.blocks().nth(1).unwrap().attribute("count").unwrap();
        assert_eq!(count.value.value, Value::Unknown);
        let start = |r: &Reference| {
            (r.path == "data.coder_workspace.me.start_count").then_some(Value::Number(1.0))
        };
        let with = |p: &str, on: Option<bool>| {
            module.evaluate_assuming(count, &|r| match r.path.as_str() {
                "data.coder_parameter.p.value" => Some(Value::String(p.to_owned())),
                "var.on" => on.map(Value::Bool),
                _ => start(r),
            })
        };
        assert_eq!(
            with("true", None),
            Value::Number(1.0),
            "var.on at its default"
        );
        assert_eq!(with("false", None), Value::Number(0.0));
        assert_eq!(with("true", Some(true)), Value::Number(0.0));
        assert_eq!(module.evaluate_assuming(count, &start), Value::Unknown);
    }

    #[test]
    fn blocks_labels_attributes_and_nested_blocks_keep_spans() {
        let src = r#"resource "coder_app" "code" {
  agent_id  = coder_agent.main.id
  slug      = "code"
  healthcheck {
    url       = "http://localhost:13337/healthz"
    interval  = 5
    threshold = 6
  }
  dynamic "env" {
    for_each = var.envs
    content {}
  }
}
"#;
        let f = parse(FILE, src);
        assert!(f.diagnostics.is_empty());
        let [app] = f.blocks.as_slice() else {
            panic!("{:?}", f.blocks)
        };
        assert_eq!(text(src, app.kind.span), "resource");
        let labels: Vec<&str> = app.labels.iter().map(|l| text(src, l.span)).collect();
        assert_eq!(labels, ["coder_app", "code"]);
        assert_eq!(app.name().unwrap().value, "code");
        assert!(app.is_resource("coder_app"));
        assert!(text(src, app.span).starts_with("resource") && text(src, app.span).ends_with('}'));
        let slug = app.attribute("slug").unwrap();
        assert_eq!(text(src, slug.name.span), "slug");
        assert_eq!(text(src, slug.value.span), "\"code\"");
        assert_eq!(text(src, slug.span), "slug      = \"code\"");
        assert_eq!(slug.value.value, Value::String("code".into()));
        let hc = app.block("healthcheck").unwrap();
        assert_eq!(hc.value("interval").unwrap().value, Value::Number(5.0));
        assert_eq!(
            text(src, hc.value("url").unwrap().span),
            "\"http://localhost:13337/healthz\""
        );
        let dynamic = app.block("dynamic").unwrap();
        assert_eq!(dynamic.name().unwrap().value, "env");
        assert!(dynamic.block("content").is_some());
        assert!(
            app.block("env").is_none(),
            "dynamic blocks are not expanded"
        );
        let agent = app.value("agent_id").unwrap().value.as_reference().unwrap();
        assert_eq!(agent.path, "coder_agent.main.id");
        assert_eq!(app.all_attributes().len(), 6);
    }

    #[test]
    fn heredoc_body_is_raw_text_with_its_span() {
        let src = "resource \"coder_agent\" \"main\" {\n  startup_script = <<-EOT\n    set -e\n    echo \"$${HOME}\" ${var.x}\n  EOT\n  plain = <<EOT\nraw\nEOT\n  empty = <<EOT\nEOT\n}\n";
        let f = parse(FILE, src);
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
        let agent = &f.blocks[0];
        let script = agent.attribute("startup_script").unwrap();
        let h = script.heredoc.as_ref().unwrap();
        assert_eq!(h.delimiter, "EOT");
        assert!(h.indented);
        assert_eq!(h.indent, 4, "the least indented line sets the indent");
        assert_eq!(h.body.value, "    set -e\n    echo \"$${HOME}\" ${var.x}\n");
        assert_eq!(text(src, h.body.span), h.body.value);
        let Value::Template(parts) = &script.value.value else {
            panic!("{:?}", script.value)
        };
        let TemplatePart::Literal { text: first, .. } = &parts[0] else {
            panic!()
        };
        assert_eq!(first, "set -e\necho \"${HOME}\" ");
        let plain = agent.attribute("plain").unwrap().heredoc.as_ref().unwrap();
        assert!(!plain.indented);
        assert_eq!(text(src, plain.body.span), "raw\n");
        let empty = agent.attribute("empty").unwrap();
        let body = &empty.heredoc.as_ref().unwrap().body;
        assert_eq!(body.value, "");
        assert_eq!(body.span.start as usize, src.find("EOT\n}").unwrap());
        assert_eq!(empty.value.value, Value::String(String::new()));
    }

    /// An object that repeats a key parses as Terraform reads it (the last value kept), every
    /// span where it was; past [`MAX_RENAMED_KEYS`] repeats the parse error stands.
    #[test]
    fn repeated_object_keys_parse_with_the_last_value_and_their_spans() {
        let src = "locals {\n  o = { name = \"a\", name = \"b\", \"k\" = 1, \"k\" = 2 }\n}\n";
        let file = parse(FILE, src);
        assert!(file.diagnostics.is_empty(), "{:?}", file.diagnostics);
        let keys: Vec<(&str, &str, &str)> = file
            .duplicate_keys
            .iter()
            .map(|d| (d.key.as_str(), text(src, d.first), text(src, d.last)))
            .collect();
        assert_eq!(keys, [("name", "name", "name"), ("k", "k", "k")]);
        assert_eq!(
            file.duplicate_keys[0].last.range().start,
            src.rfind("name").unwrap_or(0)
        );
        let module = TerraformModule::new(vec![file]);
        let map = module.context.local("o").and_then(|v| v.value.as_map());
        let entries: Vec<(String, String)> = map
            .unwrap_or_default()
            .iter()
            .map(|e| {
                let value = match &e.value.value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    other => format!("{other:?}"),
                };
                (e.key.value.clone(), value)
            })
            .collect();
        assert_eq!(
            entries,
            [
                ("name".to_owned(), "b".to_owned()),
                ("k".to_owned(), "2".to_owned())
            ]
        );
        let many = format!(
            "locals {{\n  o = {{ {} }}\n}}\n",
            "ab = 1, ".repeat(MAX_RENAMED_KEYS + 2)
        );
        let file = parse(FILE, &many);
        assert_eq!(file.diagnostics.len(), 1);
    }

    #[test]
    fn parse_errors_give_one_diagnostic_at_the_reported_line_and_column() {
        let cases: &[(&str, (u32, u32), &str)] = &[
            // unclosed brace: the error is at the end of the file
            (
                "resource \"a\" \"b\" {\n  x = 1\n",
                (3, 1),
                "invalid block body",
            ),
            ("locals {\n  a = \n}\n", (2, 7), "invalid expression"),
            ("a = [1,\n", (2, 1), "expected"),
            ("locals {\n  é = \"x\n}\n", (2, 3), ""),
            ("locals {\n  a = \"éé\" b\n}\n", (2, 12), "expected newline"),
            ("{", (1, 1), "unexpected token"),
            ("a = 1 +", (1, 7), "expected newline or eof"),
        ];
        for (src, (line, column), message) in cases {
            let f = parse(FILE, src);
            let [d] = f.diagnostics.as_slice() else {
                panic!("{src:?}: {:?}", f.diagnostics)
            };
            assert!(d.is_error());
            assert!(d.message.contains(message), "{src:?}: {}", d.message);
            let pos = SourceFile::new("main.tf", *src).line_col(d.primary.span.start as usize);
            assert_eq!(
                (pos.line, pos.column),
                (*line, *column),
                "{src:?}: {}",
                d.message
            );
        }
    }

    #[test]
    fn blocks_around_a_parse_error_are_still_read() {
        let src = "locals {\n  port = 3210\n}\n\nresource \"coder_app\" \"broken\" {\n  url = \n}\n\nresource \"coder_app\" \"after\" {\n  url = \"http://localhost:${local.port}\"\n}\n";
        let module = TerraformModule::new(vec![parse(FILE, src)]);
        assert_eq!(module.diagnostics().count(), 1);
        let names: Vec<&str> = module
            .blocks()
            .map(|b| b.name().map_or(b.kind.value.as_str(), |n| n.value.as_str()))
            .collect();
        assert_eq!(names, ["locals", "after"]);
        let after = module.resources("coder_app").next().unwrap();
        let url = after.value("url").unwrap();
        assert_eq!(url.value.as_str(), Some("http://localhost:3210"));
        assert_eq!(text(src, url.span), "\"http://localhost:${local.port}\"");
    }

    #[test]
    fn attributes_know_whether_they_are_set_and_where_a_literal_is() {
        let src = "locals {\n  a = \"Public\"\n  b = null\n  c = var.x\n  d = \"a\\\"b\"\n  e = \"${var.y}\"\n  f = false\n}\n";
        let f = parse(FILE, src);
        let locals = &f.blocks[0];
        // name, is_set, literal text
        let cases: &[(&str, Option<bool>, Option<&str>)] = &[
            ("a", Some(true), Some("Public")),
            ("b", Some(false), None),
            ("c", None, None),
            ("d", Some(true), None), // escapes: the value and the text differ
            ("e", Some(true), None),
            ("f", Some(true), None),
        ];
        for (name, set, literal) in cases {
            let attr = locals.attribute(name).unwrap();
            assert_eq!(attr.is_set(), *set, "{name}");
            let got = attr.string_literal_span().map(|s| text(src, s));
            assert_eq!(got, *literal, "{name}");
        }
    }

    #[test]
    fn unsupported_constructs_do_not_crash() {
        let src = r#"
locals {
  names   = [for c in var.containers : upper(c.name) if c.enabled]
  ids     = docker_container.ws[*].id
  legacy  = aws_instance.x.*.id
  encoded = provider::terraform::encode_expr(1)
  nested  = { a = [{ b = "${each.key}" }] }
  tpl     = "%{ for x in var.l }${x}%{ endfor }"
}
resource "docker_container" "ws" {
  count = data.coder_workspace.me.start_count
  dynamic "ports" {
    for_each = local.ports
    content {
      internal = ports.value
    }
  }
}
"#;
        let module = TerraformModule::new(vec![parse(FILE, src)]);
        assert_eq!(module.diagnostics().count(), 0);
        let ctx = &module.context;
        assert_eq!(ctx.local("names").unwrap().value, Value::Unknown);
        assert_eq!(ctx.local("encoded").unwrap().value, Value::Unknown);
        let ids = ctx.local("ids").unwrap().value.as_reference().unwrap();
        assert_eq!(ids.path, "docker_container.ws[*].id");
        let legacy = ctx.local("legacy").unwrap().value.as_reference().unwrap();
        assert_eq!(legacy.path, "aws_instance.x.*.id");
        assert!(matches!(
            ctx.local("tpl").unwrap().value,
            Value::Template(_)
        ));
        assert!(!ctx.local("nested").unwrap().value.is_known());
    }

    /// Deterministic pseudo-random numbers, enough to pick truncation points.
    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    #[test]
    fn random_truncations_never_panic() {
        let sources = [coder::tests::DOCKER_TEMPLATE, coder::tests::K8S_TEMPLATE];
        let mut seed = 7u64;
        for src in sources {
            for _ in 0..120 {
                let mut cut = (lcg(&mut seed) as usize) % (src.len() + 1);
                while !src.is_char_boundary(cut) {
                    cut -= 1;
                }
                let mut start = (lcg(&mut seed) as usize) % (cut + 1);
                while !src.is_char_boundary(start) {
                    start -= 1;
                }
                for piece in [&src[..cut], &src[start..cut]] {
                    let module = TerraformModule::new(vec![parse(FILE, piece)]);
                    for d in module.diagnostics() {
                        assert!(d.primary.span.end as usize <= piece.len());
                    }
                    // Exercise every Coder view on the partial module.
                    let _ = (
                        module.agents(),
                        module.apps(),
                        module.scripts(),
                        module.envs(),
                    );
                    let _ = (
                        module.modules(),
                        module.containers(|_| Some(super::coder::ContainerRuntime::Kubernetes)),
                        module.containers(|_| Some(super::coder::ContainerRuntime::Docker)),
                        module.coder_provider(),
                    );
                    let _ = (module.init_script_references(), module.token_references());
                }
            }
        }
    }
}
