//! `$VAR` and `${VAR...}` in compose values and env files: finding references and expanding
//! them the way docker compose does. Compose files and env files share this one reading.

use std::ops::Range;

/// How deeply `${A:-${B:-...}}` arguments may nest before the text is called invalid.
const MAX_INTERPOLATION_DEPTH: usize = 16;

/// What `${NAME<op>argument}` does with an unset variable. With `if_empty` (the `:` forms), an
/// empty variable counts as unset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// `${NAME:-arg}`, `${NAME-arg}`: use `arg` instead.
    Default { if_empty: bool },
    /// `${NAME:?arg}`, `${NAME?arg}`: an error with message `arg`.
    Required { if_empty: bool },
    /// `${NAME:+arg}`, `${NAME+arg}`: `arg` when the variable is set, nothing otherwise.
    Alternative { if_empty: bool },
}

/// A `$NAME` or `${NAME...}` in a string. Ranges are byte offsets into that string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableReference {
    pub name: String,
    /// From the `$` to the end of the name or the closing `}`.
    pub range: Range<usize>,
    pub operator: Option<Operator>,
    /// The text after the operator; empty without one.
    pub argument: Range<usize>,
}

/// The result of [`interpolate`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interpolated {
    pub value: String,
    /// Variables with no value and no default, in order of first use.
    pub missing: Vec<MissingVariable>,
    /// A `${` compose cannot read (`${}`, `${1X}`, no closing `}`); it is kept as written.
    pub invalid: bool,
}

/// A variable [`interpolate`] found no value for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingVariable {
    pub name: String,
    /// The message of `${NAME:?message}`.
    pub error: Option<String>,
}

/// Expands compose-style variables in `text`: `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`,
/// `${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}` (arguments may nest) and `$$` for a
/// literal `$`. A variable `lookup` knows nothing about expands to nothing and is reported in
/// [`Interpolated::missing`] unless a default covers it.
pub fn interpolate(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Interpolated {
    let mut out = Interpolated::default();
    let mut value = String::with_capacity(text.len());
    expand(text, 0..text.len(), lookup, 0, &mut value, &mut out);
    out.value = value;
    out
}

/// Every variable reference in `text`, nested ones (inside an argument) after their parent.
/// With `backslash_escapes`, `\$` is not a reference (double-quoted env values).
pub fn variable_references(text: &str, backslash_escapes: bool) -> Vec<VariableReference> {
    let mut found = Vec::new();
    for_each_variable_reference(text, backslash_escapes, &mut |r| found.push(r));
    found
}

/// Calls `f` with each reference [`variable_references`] would return, without collecting them.
pub fn for_each_variable_reference(
    text: &str,
    backslash_escapes: bool,
    f: &mut dyn FnMut(VariableReference),
) {
    visit_references(text, 0..text.len(), backslash_escapes, 0, f);
}

enum Token {
    /// `$$`.
    Escaped(Range<usize>),
    /// A `$` that starts nothing (`$1`, `$ `, a final `$`): kept as written.
    Lone(Range<usize>),
    Reference(VariableReference),
    /// A `${` compose rejects.
    Invalid(Range<usize>),
}

impl Token {
    fn range(&self) -> Range<usize> {
        match self {
            Token::Escaped(r) | Token::Lone(r) | Token::Invalid(r) => r.clone(),
            Token::Reference(r) => r.range.clone(),
        }
    }
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn name_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    i
}

/// The next token in `text[from..]` (`text` ends where the scan must stop).
fn next_token(text: &str, from: usize, backslash_escapes: bool) -> Option<Token> {
    let b = text.as_bytes();
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'\\' if backslash_escapes => i += 2,
            b'$' => return Some(token_at(text, i)),
            _ => i += 1,
        }
    }
    None
}

fn token_at(text: &str, i: usize) -> Token {
    let b = text.as_bytes();
    match b.get(i + 1) {
        Some(b'$') => Token::Escaped(i..i + 2),
        Some(b'{') => braced_token(text, i),
        Some(&c) if is_name_start(c) => {
            let end = name_end(b, i + 1);
            Token::Reference(VariableReference {
                name: text.get(i + 1..end).unwrap_or("").to_owned(),
                range: i..end,
                operator: None,
                argument: end..end,
            })
        }
        _ => Token::Lone(i..i + 1),
    }
}

/// Reads `${...}` starting at the `$` at `i`.
fn braced_token(text: &str, i: usize) -> Token {
    let b = text.as_bytes();
    let invalid = || {
        let end = b[i..]
            .iter()
            .position(|&c| c == b'}')
            .map_or(b.len(), |p| i + p + 1);
        Token::Invalid(i..end)
    };
    let start = i + 2;
    if !b.get(start).copied().is_some_and(is_name_start) {
        return invalid();
    }
    let end = name_end(b, start);
    let name = text.get(start..end).unwrap_or("").to_owned();
    let (if_empty, op_at) = match b.get(end) {
        Some(b'}') => {
            return Token::Reference(VariableReference {
                name,
                range: i..end + 1,
                operator: None,
                argument: end..end,
            })
        }
        Some(b':') => (true, end + 1),
        _ => (false, end),
    };
    let operator = match b.get(op_at) {
        Some(b'-') => Operator::Default { if_empty },
        Some(b'?') => Operator::Required { if_empty },
        Some(b'+') => Operator::Alternative { if_empty },
        _ => return invalid(),
    };
    let arg_start = op_at + 1;
    let Some(close) = matching_brace(b, arg_start) else {
        return Token::Invalid(i..b.len());
    };
    Token::Reference(VariableReference {
        name,
        range: i..close + 1,
        operator: Some(operator),
        argument: arg_start..close,
    })
}

/// Offset of the `}` that closes a `${` whose argument starts at `i`.
fn matching_brace(b: &[u8], mut i: usize) -> Option<usize> {
    let mut depth = 1usize;
    while i < b.len() {
        match (b[i], b.get(i + 1)) {
            (b'$', Some(b'$')) => i += 2,
            (b'$', Some(b'{')) => {
                depth += 1;
                i += 2;
            }
            (b'}', _) => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

fn expand(
    text: &str,
    range: Range<usize>,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
    value: &mut String,
    out: &mut Interpolated,
) {
    let Some(scope) = text.get(..range.end) else {
        return;
    };
    if depth > MAX_INTERPOLATION_DEPTH {
        out.invalid = true;
        value.push_str(scope.get(range.start..).unwrap_or(""));
        return;
    }
    let mut i = range.start;
    while let Some(token) = next_token(scope, i, false) {
        let r = token.range();
        value.push_str(scope.get(i..r.start).unwrap_or(""));
        i = r.end.min(scope.len());
        match token {
            Token::Escaped(_) | Token::Lone(_) => value.push('$'),
            Token::Invalid(r) => {
                out.invalid = true;
                value.push_str(scope.get(r).unwrap_or(""));
            }
            Token::Reference(r) => {
                let found = lookup(&r.name);
                let usable = |if_empty: bool| {
                    found
                        .as_deref()
                        .filter(|v| !(if_empty && v.is_empty()))
                        .is_some()
                };
                match r.operator {
                    None => match &found {
                        Some(v) => value.push_str(v),
                        None => missing(out, &r.name, None),
                    },
                    Some(Operator::Default { if_empty }) => {
                        if usable(if_empty) {
                            value.push_str(found.as_deref().unwrap_or(""));
                        } else {
                            expand(text, r.argument, lookup, depth + 1, value, out);
                        }
                    }
                    Some(Operator::Required { if_empty }) => {
                        if usable(if_empty) {
                            value.push_str(found.as_deref().unwrap_or(""));
                        } else {
                            let mut message = String::new();
                            expand(text, r.argument, lookup, depth + 1, &mut message, out);
                            missing(out, &r.name, Some(message));
                        }
                    }
                    Some(Operator::Alternative { if_empty }) => {
                        if usable(if_empty) {
                            expand(text, r.argument, lookup, depth + 1, value, out);
                        }
                    }
                }
            }
        }
    }
    value.push_str(scope.get(i..).unwrap_or(""));
}

fn missing(out: &mut Interpolated, name: &str, error: Option<String>) {
    if !out.missing.iter().any(|m| m.name == name) {
        out.missing.push(MissingVariable {
            name: name.to_owned(),
            error,
        });
    }
}

fn visit_references(
    text: &str,
    range: Range<usize>,
    backslash_escapes: bool,
    depth: usize,
    f: &mut dyn FnMut(VariableReference),
) {
    let Some(scope) = text.get(..range.end) else {
        return;
    };
    let mut i = range.start;
    while let Some(token) = next_token(scope, i, backslash_escapes) {
        i = token.range().end;
        if let Token::Reference(r) = token {
            let argument = r.argument.clone();
            f(r);
            if depth < MAX_INTERPOLATION_DEPTH && !argument.is_empty() {
                visit_references(text, argument, backslash_escapes, depth + 1, f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_follows_compose() {
        let vars = |name: &str| match name {
            "SET" => Some("v".to_owned()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let cases: &[(&str, &str, &[&str], bool)] = &[
            ("plain", "plain", &[], false),
            ("$SET/${SET}", "v/v", &[], false),
            ("$UNSET-x", "-x", &["UNSET"], false),
            ("${UNSET}", "", &["UNSET"], false),
            ("${UNSET:-d}", "d", &[], false),
            ("${EMPTY:-d}", "d", &[], false),
            ("${EMPTY-d}", "", &[], false),
            ("${UNSET-d}", "d", &[], false),
            ("${SET:-d}", "v", &[], false),
            ("${UNSET:?msg}", "", &["UNSET"], false),
            ("${EMPTY:?msg}", "", &["EMPTY"], false),
            ("${EMPTY?msg}", "", &[], false),
            ("${SET:+alt}", "alt", &[], false),
            ("${EMPTY:+alt}", "", &[], false),
            ("${EMPTY+alt}", "alt", &[], false),
            ("${UNSET+alt}", "", &[], false),
            ("${UNSET:-${SET}}", "v", &[], false),
            ("${UNSET:-${ALSO}x}", "x", &["ALSO"], false),
            ("${UNSET:-a}b}", "ab}", &[], false),
            ("$$SET $$ $", "$SET $ $", &[], false),
            ("$1 $-", "$1 $-", &[], false),
            ("${}", "${}", &[], true),
            ("${1X}", "${1X}", &[], true),
            ("${SET", "${SET", &[], true),
            ("${SET:x}", "${SET:x}", &[], true),
            ("ünï${SET}✓", "ünïv✓", &[], false),
        ];
        for &(text, value, missing, invalid) in cases {
            let result = interpolate(text, &vars);
            let names: Vec<_> = result.missing.iter().map(|m| m.name.as_str()).collect();
            assert_eq!(
                (result.value.as_str(), names.as_slice(), result.invalid),
                (value, missing, invalid),
                "{text}"
            );
        }
        let deep = format!("{}x{}", "${U:-".repeat(100), "}".repeat(100));
        assert!(interpolate(&deep, &vars).invalid);
    }

    #[test]
    fn references_with_their_ranges() {
        let text = "a$B ${C:-${D}} \\$E";
        let found: Vec<_> = variable_references(text, true)
            .into_iter()
            .map(|r| (r.name, &text[r.range], &text[r.argument]))
            .collect();
        assert_eq!(
            found,
            [
                ("B".into(), "$B", ""),
                ("C".into(), "${C:-${D}}", "${D}"),
                ("D".into(), "${D}", "")
            ]
        );
        assert_eq!(variable_references(text, false).len(), 4);
    }
}
