//! The scope expressions are evaluated in: [`EvalContext`] holds the `variable` defaults and the
//! `locals` of a module (across all its files). Locals may refer to variables and to each other in
//! any order; they are resolved depth first, a reference cycle makes its members unknown, and
//! chains and nesting too deep or too large to keep become unknown too.

use std::collections::{BTreeMap, HashMap};

use hcl_edit::Span as _;

use super::eval::{span_of, Evaluator};
use super::value::{MAX_NODES, MAX_TEXT};
use super::{Reference, Spanned, TerraformFile, Value};

/// How deep a chain of locals referring to locals may go before the rest counts as unknown.
const MAX_LOCAL_DEPTH: usize = 128;
/// How deeply lists and maps in a local may nest (locals nesting locals could otherwise build
/// values deep enough to overflow the stack when dropped).
const MAX_VALUE_DEPTH: usize = 64;

/// Variable defaults and locals of a module: what [`Value`]s may refer to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvalContext {
    variables: BTreeMap<String, Spanned<Value>>,
    locals: BTreeMap<String, Spanned<Value>>,
    /// Object keys renamed so that a repeated key parses: (file, offset) → the key as written.
    renamed_keys: BTreeMap<(crate::source::FileId, usize), String>,
}

impl EvalContext {
    /// The `default` of every `variable` block and the value of every local in these files (the
    /// files of one module). Locals may refer to variables and to other locals in any order and
    /// any file; locals in a reference cycle are [`Value::Unknown`]. The first definition of a
    /// repeated name wins.
    pub fn from_files(files: &[TerraformFile]) -> EvalContext {
        EvalContext::with_inputs(files, &BTreeMap::new())
    }

    /// As [`EvalContext::from_files`], for a module called with these arguments: a declared
    /// variable takes its argument's value (evaluated by the caller) instead of its default.
    pub fn with_inputs(
        files: &[TerraformFile],
        inputs: &BTreeMap<String, Spanned<Value>>,
    ) -> EvalContext {
        let mut ctx = EvalContext::default();
        for file in files {
            ctx.add_renamed_keys(file.file, &file.renamed_keys);
        }
        let mut defs: HashMap<&str, &super::Attribute> = HashMap::new();
        for file in files {
            for block in &file.blocks {
                match block.kind.value.as_str() {
                    "variable" => {
                        if let Some(input) = block.labels.first().and_then(|n| inputs.get(&n.value))
                        {
                            ctx.variables
                                .entry(block.labels[0].value.clone())
                                .or_insert_with(|| input.clone());
                            continue;
                        }
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

    /// Adds the object keys of `file` that were renamed so that it parses.
    pub(super) fn add_renamed_keys(
        &mut self,
        file: crate::source::FileId,
        renamed: &BTreeMap<usize, String>,
    ) {
        for (at, key) in renamed {
            self.renamed_keys.insert((file, *at), key.clone());
        }
    }

    /// The key as written, for an object key whose name starts at `span` and was renamed.
    pub(super) fn renamed_key(&self, span: crate::source::Span) -> Option<&str> {
        if self.renamed_keys.is_empty() {
            return None;
        }
        self.renamed_keys
            .get(&(span.file, span.range().start))
            .map(String::as_str)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::terraform::eval::tests::{eval_in, s, FILE};
    use crate::parse::terraform::{parse, TerraformModule};

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
}
