//! The Terraform functions evaluated statically: `format` (`%s`, `%d`, `%v`, `%q`), `join`,
//! `lower`, `upper`, `trimspace`, `tostring`, `tonumber`, `merge`, `coalesce`, `replace` (with a
//! literal `from`), and `file()`/`templatefile()`, which become [`Value::File`] for the caller to
//! read. Any other function, a namespaced one (`provider::...`), an expanded final argument, a
//! regex `replace` or a `format` width or precision is [`Value::Unknown`].

use hcl_edit::expr::FuncCall;

use super::eval::Evaluator;
use super::template::{finish_template, number_text, push_parts};
use super::value::MAX_TEXT;
use super::{FileCall, FileFunction, MapEntry, Spanned, TemplatePart, Value};

impl Evaluator<'_> {
    /// The value of a function call whose arguments are known enough.
    pub(super) fn call(&self, call: &FuncCall) -> Value {
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
    use crate::parse::terraform::eval::tests::{eval_in, s};

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
}
