//! The statically known value of a Terraform expression: [`Value`] with its parts (map entries,
//! template parts, references, `file()`/`templatefile()` calls) and the ways rules read it
//! (`as_str`, `as_port`, `as_reference`, `get`, `is_known`, ...), plus the limits that keep
//! values built from locals bounded.

use super::Spanned;
use crate::source::Span;

/// Strings longer than this (in bytes) and values with more nodes than [`MAX_NODES`] become
/// [`Value::Unknown`]: locals that double a string at every step must not exhaust memory.
pub(super) const MAX_TEXT: usize = 1 << 20;
pub(super) const MAX_NODES: usize = 100_000;

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
    pub(super) fn deeper_than(&self, limit: usize) -> bool {
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
    pub(super) fn weight(&self) -> usize {
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
