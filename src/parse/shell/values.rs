//! What a script's variables hold, read without running it, and the words of a command after
//! the shell's expansions.
//!
//! One assignment of a variable is its value wherever it is used; several assignments with
//! different values make it unknown (a reading that does not run the script cannot tell which
//! one reaches the use). Arrays (`args=(--port 8080)`) expand with `"${args[@]}"`, `set -- ...`
//! sets `"$@"`, and an unquoted expansion is split into fields on white space, as bash does
//! (`ARGS="-p 7684"; ttyd $ARGS` gives ttyd two words). Terraform pieces (`${PORT}` of a
//! `templatefile()` script, `${local.x}` of a heredoc) and variables the script does not assign
//! are asked of the caller; unquoted, they are split too.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};

use super::commands::program_name;
use super::words::is_verbatim;
use super::{Command, Lookup, ScriptFacts, Word, WordPart};
use crate::source::Span;

/// Deepest chain of variables holding variables that is followed.
const MAX_VALUE_DEPTH: usize = 16;
/// Expansion steps one question may take (`A=$B$B$B; B=$C$C$C; ...` grows exponentially):
/// past it, the answer is unknown.
const MAX_STEPS: usize = 4096;
/// Bytes of variable values one question may produce.
const MAX_BYTES: usize = 1 << 20;

/// One word of a command after expansion: its text when known, and where it is written (the
/// assignment's value when the word came whole from a literal assignment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub text: Option<String>,
    pub span: Span,
    /// An unquoted expansion whose value is unknown: it may stand for any number of words.
    pub spread: bool,
}

#[derive(Clone, Debug)]
enum Binding<'f> {
    One(&'f Word),
    Array(&'f [Word]),
    /// Assigned more than once, with different values.
    Several(Vec<&'f Word>),
    /// Assigned once, then grown by assignments that append to it (`X="$X -v a:b"`, some of
    /// them perhaps conditional): the first value's words are there, the rest perhaps.
    Grown(&'f Word, Vec<Word>),
    /// An array, then grown by `NAME+=(...)` (some perhaps conditional): its elements are
    /// there, the appended ones perhaps.
    GrownArray(&'f [Word], Vec<&'f [Word]>),
    /// `NAME+=(...)` as it is written, before it meets the array it grows.
    Appended(&'f [Word]),
}

/// The variables of one script: see the module docs.
#[derive(Debug, Default)]
pub struct Values<'f> {
    bindings: HashMap<&'f str, Binding<'f>>,
    exported: HashSet<&'f str>,
    /// `set -a`: every assignment is exported.
    all_exported: bool,
    /// `set -- a b`: the positional parameters, when set once.
    positional: Option<Binding<'f>>,
    /// Steps and bytes left for the question being answered.
    budget: Cell<(usize, usize)>,
}

impl ScriptFacts {
    /// What this script's variables hold.
    pub fn values(&self) -> Values<'_> {
        let mut values = Values::default();
        for a in &self.assignments {
            let binding = match &a.elements {
                Some(elements) => Binding::Array(elements),
                None => Binding::One(&a.value),
            };
            let binding = match (a.append, &a.elements) {
                (true, Some(elements)) => Binding::Appended(elements),
                (true, None) => Binding::Several(Vec::new()),
                (false, _) => binding,
            };
            values.bind(&a.name, binding);
            if a.exported {
                values.exported.insert(&a.name);
            }
        }
        for (name, _) in &self.exported_names {
            values.exported.insert(name);
        }
        for c in self
            .commands
            .iter()
            .filter(|c| c.program_name.as_deref() == Some("set"))
        {
            values.read_set(c);
        }
        values
    }
}

impl<'f> Values<'f> {
    fn bind(&mut self, name: &'f str, binding: Binding<'f>) {
        let merged = match (self.bindings.remove(name), binding) {
            // Appended to a value the script does not assign: not known.
            (None, Binding::Appended(_)) => Binding::Several(Vec::new()),
            (None, b) => b,
            (Some(Binding::Array(base)), Binding::Appended(more)) => {
                Binding::GrownArray(base, vec![more])
            }
            (Some(Binding::GrownArray(base, mut tail)), Binding::Appended(more)) => {
                tail.push(more);
                Binding::GrownArray(base, tail)
            }
            (Some(Binding::One(base)), Binding::One(w)) if grows(w, name).is_some() => {
                Binding::Grown(base, grows(w, name).into_iter().collect())
            }
            (Some(Binding::Grown(base, mut tail)), Binding::One(w)) if grows(w, name).is_some() => {
                tail.extend(grows(w, name));
                Binding::Grown(base, tail)
            }
            (Some(Binding::One(a)), Binding::One(b)) if a.to_string() == b.to_string() => {
                Binding::One(a)
            }
            (Some(old), new) => {
                let mut all = match old {
                    Binding::One(w) => vec![w],
                    Binding::Several(ws) => ws,
                    Binding::Array(_)
                    | Binding::Grown(..)
                    | Binding::GrownArray(..)
                    | Binding::Appended(_) => Vec::new(),
                };
                if let Binding::One(w) = new {
                    all.push(w);
                }
                Binding::Several(all)
            }
        };
        self.bindings.insert(name, merged);
    }

    /// `set -a`, `set -o allexport`, `set -- a b`, `set a b`.
    fn read_set(&mut self, set: &'f Command) {
        let args = &set.args;
        let first = args.first().and_then(Word::literal);
        if args.iter().any(|a| a.literal().as_deref() == Some("-a"))
            || args.windows(2).any(|w| {
                w[0].literal().as_deref() == Some("-o")
                    && w[1].literal().as_deref() == Some("allexport")
            })
        {
            self.all_exported = true;
        }
        let params = match first.as_deref() {
            Some("--") => args.get(1..).unwrap_or(&[]),
            Some(f) if !f.starts_with(['-', '+']) => &args[..],
            None if !args.is_empty() => &args[..],
            _ => return,
        };
        // `set -- "$@" more`: the parameters grown, as `args+=(more)` grows an array.
        let appends = params
            .first()
            .and_then(|w| match w.parts.as_slice() {
                [part] => array_expansion(part),
                _ => None,
            })
            .is_some_and(|name| name == "@");
        self.positional = Some(match (self.positional.take(), appends) {
            (None, false) => Binding::Array(params),
            (Some(Binding::Array(base)), true) => Binding::GrownArray(base, vec![&params[1..]]),
            (Some(Binding::GrownArray(base, mut tail)), true) => {
                tail.push(&params[1..]);
                Binding::GrownArray(base, tail)
            }
            _ => Binding::Several(Vec::new()),
        });
    }

    /// A fresh budget for one question.
    fn start(&self) {
        self.budget.set((MAX_STEPS, MAX_BYTES));
    }

    /// Takes one step (and `bytes`) from the budget; false once it is spent.
    fn spend(&self, bytes: usize) -> bool {
        let (steps, left) = self.budget.get();
        if steps == 0 || left < bytes {
            self.budget.set((0, 0));
            return false;
        }
        self.budget.set((steps - 1, left - bytes));
        true
    }

    /// Whether a command started by the script sees `name` in its environment.
    pub fn is_exported(&self, name: &str) -> bool {
        self.all_exported || self.exported.contains(name)
    }

    /// The names of the variables the script exports, with their values when known and where
    /// the value is written (when assigned once).
    pub fn exported(
        &self,
        outer: &dyn Fn(Lookup<'_>) -> Option<String>,
    ) -> Vec<(&'f str, Option<String>, Option<Span>)> {
        let mut names: Vec<&'f str> = self
            .bindings
            .keys()
            .copied()
            .filter(|n| self.is_exported(n))
            .collect();
        names.sort_unstable();
        names
            .into_iter()
            .map(|n| {
                let span = match self.bindings.get(n) {
                    Some(Binding::One(w)) => Some(w.span),
                    _ => None,
                };
                self.start();
                (n, self.scalar(n, outer, 0), span)
            })
            .collect()
    }

    /// The value of `word` as one string (no field splitting): `None` when a part is unknown.
    pub fn value(
        &self,
        word: &Word,
        outer: &dyn Fn(Lookup<'_>) -> Option<String>,
    ) -> Option<String> {
        self.start();
        self.value_at(word, outer, 0, None)
    }

    /// `own`: the variable whose assignment `word` is; a reference to it inside is the value
    /// it had before (`PORT="${PORT:-8080}"`, `PORT="${PORT}"` in a `templatefile()` script).
    fn value_at(
        &self,
        word: &Word,
        outer: &dyn Fn(Lookup<'_>) -> Option<String>,
        depth: usize,
        own: Option<&str>,
    ) -> Option<String> {
        if depth > MAX_VALUE_DEPTH || !self.spend(0) {
            return None;
        }
        word.evaluate(&mut |lookup| match lookup {
            Lookup::Variable(name) if Some(name) == own => outer(lookup),
            Lookup::Variable(name) => self.scalar(name, outer, depth + 1),
            Lookup::Hcl(_) => outer(lookup),
        })
    }

    /// The value of variable `name`, when it is known.
    fn scalar(
        &self,
        name: &str,
        outer: &dyn Fn(Lookup<'_>) -> Option<String>,
        depth: usize,
    ) -> Option<String> {
        let value = self.scalar_unbounded(name, outer, depth)?;
        self.spend(value.len()).then_some(value)
    }

    fn scalar_unbounded(
        &self,
        name: &str,
        outer: &dyn Fn(Lookup<'_>) -> Option<String>,
        depth: usize,
    ) -> Option<String> {
        if depth > MAX_VALUE_DEPTH || !self.spend(0) {
            return None;
        }
        let binding = match name {
            "@" | "*" => self.positional.as_ref()?,
            _ => match self.bindings.get(name) {
                Some(binding) => binding,
                None => return outer(Lookup::Variable(name)),
            },
        };
        match binding {
            Binding::One(w) => self.value_at(w, outer, depth + 1, Some(name)),
            Binding::Array(items) if matches!(name, "@" | "*") => {
                let texts: Option<Vec<String>> = items
                    .iter()
                    .map(|w| self.value_at(w, outer, depth + 1, None))
                    .collect();
                Some(texts?.join(" "))
            }
            // Which appends ran is known only when the script runs.
            Binding::GrownArray(..) if matches!(name, "@" | "*") => None,
            // `$arr` is its first element.
            Binding::Array(items) | Binding::GrownArray(items, _) => {
                self.value_at(items.first()?, outer, depth + 1, Some(name))
            }
            // Which appends ran is known only when the script runs.
            Binding::Grown(..) | Binding::Appended(_) => None,
            Binding::Several(words) => {
                let mut texts = words
                    .iter()
                    .map(|w| self.value_at(w, outer, depth + 1, Some(name)));
                let first = texts.next()??;
                texts.all(|t| t.as_deref() == Some(&first)).then_some(first)
            }
        }
    }

    /// The words of `word` after expansion and field splitting.
    pub fn fields(&self, word: &Word, outer: &dyn Fn(Lookup<'_>) -> Option<String>) -> Vec<Field> {
        self.start();
        self.fields_at(word, outer, 0)
    }

    fn fields_at(
        &self,
        word: &Word,
        outer: &dyn Fn(Lookup<'_>) -> Option<String>,
        depth: usize,
    ) -> Vec<Field> {
        let unknown = |spread| {
            vec![Field {
                text: None,
                span: word.span,
                spread,
            }]
        };
        if depth > MAX_VALUE_DEPTH || !self.spend(0) {
            return unknown(true);
        }
        if let [part] = word.parts.as_slice() {
            if let Some(name) = array_expansion(part) {
                let binding = match name {
                    "@" | "*" => self.positional.as_ref(),
                    _ => self.bindings.get(name),
                };
                return match binding {
                    Some(Binding::Array(items)) => items
                        .iter()
                        .flat_map(|w| self.fields_at(w, outer, depth + 1))
                        .collect(),
                    // Its elements, then elements that may or may not be there.
                    Some(Binding::GrownArray(items, tail)) => {
                        let mut out: Vec<Field> = items
                            .iter()
                            .flat_map(|w| self.fields_at(w, outer, depth + 1))
                            .collect();
                        out.extend(unknown(true));
                        for more in tail {
                            out.extend(
                                more.iter()
                                    .flat_map(|w| self.fields_at(w, outer, depth + 1)),
                            );
                        }
                        out
                    }
                    Some(Binding::One(w)) => self.fields_at(w, outer, depth + 1),
                    _ => unknown(true),
                };
            }
        }
        if let [WordPart::Variable(v)] = word.parts.as_slice() {
            if let (None, Some(Binding::Grown(base, tail))) =
                (&v.operator, self.bindings.get(v.name.as_str()))
            {
                if !is_unquoted(word) {
                    return unknown(false);
                }
                // The first value's words, then words that may or may not be there.
                let mut out = self.split_value(base, outer, depth + 1, Some(&v.name));
                out.push(Field {
                    text: None,
                    span: word.span,
                    spread: true,
                });
                for piece in tail {
                    out.extend(self.split_value(piece, outer, depth + 1, Some(&v.name)));
                }
                return out;
            }
        }
        if !is_unquoted(word) {
            return vec![Field {
                text: self.value_at(word, outer, depth, None),
                span: word.span,
                spread: false,
            }];
        }
        // Unquoted: literal text stays, what expansions give is split on white space.
        let mut out: Vec<Field> = Vec::new();
        let mut current: Option<String> = None;
        for part in &word.parts {
            let expanded = match part {
                WordPart::Literal { text, .. } => {
                    current.get_or_insert_with(String::new).push_str(text);
                    continue;
                }
                WordPart::Variable(v) => v.evaluate(&mut |lookup| match lookup {
                    Lookup::Variable(name) => self.scalar(name, outer, depth + 1),
                    Lookup::Hcl(_) => outer(lookup),
                }),
                WordPart::HclInterpolation {
                    expression,
                    directive: false,
                    ..
                } => outer(Lookup::Hcl(expression)),
                _ => None,
            };
            let Some(text) = expanded else {
                return unknown(true);
            };
            let mut pieces = text.split([' ', '\t', '\n']);
            if let Some(head) = pieces.next() {
                current.get_or_insert_with(String::new).push_str(head);
            }
            for piece in pieces {
                if let Some(done) = current.take().filter(|d| !d.is_empty()) {
                    out.push(Field {
                        text: Some(done),
                        span: word.span,
                        spread: false,
                    });
                }
                current = Some(piece.to_string());
            }
        }
        if let Some(done) = current.filter(|d| !d.is_empty()) {
            out.push(Field {
                text: Some(done),
                span: word.span,
                spread: false,
            });
        }
        // A word that came whole from one literal assignment points at that assignment.
        if let [WordPart::Variable(v)] = word.parts.as_slice() {
            if v.operator.is_none() {
                if let Some(Binding::One(source)) = self.bindings.get(v.name.as_str()) {
                    if let Some(spans) = piece_spans(source, out.len()) {
                        for (field, span) in out.iter_mut().zip(spans) {
                            field.span = span;
                        }
                    }
                }
            }
        }
        out
    }

    /// The value of `word` split into words, as an unquoted expansion of it is; the pieces of
    /// a literal point at their text.
    fn split_value(
        &self,
        word: &Word,
        outer: &dyn Fn(Lookup<'_>) -> Option<String>,
        depth: usize,
        own: Option<&str>,
    ) -> Vec<Field> {
        let Some(text) = self.value_at(word, outer, depth, own) else {
            return vec![Field {
                text: None,
                span: word.span,
                spread: true,
            }];
        };
        let pieces: Vec<&str> = text
            .split([' ', '\t', '\n'])
            .filter(|p| !p.is_empty())
            .collect();
        let spans = piece_spans(word, pieces.len());
        pieces
            .iter()
            .enumerate()
            .map(|(i, piece)| Field {
                text: Some((*piece).to_string()),
                span: spans
                    .as_ref()
                    .and_then(|s| s.get(i).copied())
                    .unwrap_or(word.span),
                spread: false,
            })
            .collect()
    }

    /// The words a command runs: its wrappers, program and arguments after expansion. A
    /// program held in a variable whose value is not known keeps the name its assignments
    /// agree on (`CODE_SERVER="$PREFIX/bin/code-server"` is `code-server`).
    pub fn command_fields(
        &self,
        command: &Command,
        outer: &dyn Fn(Lookup<'_>) -> Option<String>,
    ) -> Vec<Field> {
        let mut out: Vec<Field> = Vec::new();
        for w in &command.wrappers {
            out.extend(self.fields(w, outer));
        }
        let mut program = self.fields(&command.program, outer);
        if program.len() == 1 && program[0].text.is_none() {
            if let Some(name) = self.program_name_of(&command.program) {
                program[0].text = Some(name);
                program[0].spread = false;
            }
        }
        out.extend(program);
        for a in &command.args {
            out.extend(self.fields(a, outer));
        }
        out
    }

    /// The base name of the program a word runs, when every assignment that could reach it
    /// agrees on it: `"$JUPYTER"` after `JUPYTER=$HOME/.local/bin/jupyter-lab` or
    /// `JUPYTER=$(command -v jupyter-lab)`.
    pub fn program_name_of(&self, word: &Word) -> Option<String> {
        self.start();
        self.program_name_at(word, 0)
    }

    /// The base names `word` may have, one per assignment that could reach it
    /// (`"$CONF"` after `CONF=/etc/app/app.yaml` and, in a branch, `CONF=$HOME/.app/app.yaml`
    /// is `app.yaml`): empty when one of them is not known.
    pub fn base_names_of(&self, word: &Word) -> Vec<String> {
        self.start();
        let mut out = Vec::new();
        if !self.base_names_at(word, 0, &mut out) {
            out.clear();
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn base_names_at(&self, word: &Word, depth: usize, out: &mut Vec<String>) -> bool {
        if depth > MAX_VALUE_DEPTH || !self.spend(0) {
            return false;
        }
        if let Some(name) = program_name(word) {
            out.push(name);
            return true;
        }
        let [WordPart::Variable(v)] = word.parts.as_slice() else {
            return false;
        };
        let words: Vec<&Word> = match (&v.operator, self.bindings.get(v.name.as_str())) {
            (None, Some(Binding::One(w))) => vec![w],
            (None, Some(Binding::Several(ws))) if !ws.is_empty() => ws.clone(),
            _ => return false,
        };
        words
            .into_iter()
            .all(|w| self.base_names_at(w, depth + 1, out))
    }

    fn program_name_at(&self, word: &Word, depth: usize) -> Option<String> {
        if depth > MAX_VALUE_DEPTH || !self.spend(0) {
            return None;
        }
        if let Some(name) = program_name(word) {
            return Some(name);
        }
        match word.parts.as_slice() {
            [WordPart::Variable(v)] if v.operator.is_none() => {
                let words: Vec<&Word> = match self.bindings.get(v.name.as_str())? {
                    Binding::One(w) => vec![w],
                    Binding::Several(ws) => ws.clone(),
                    Binding::Array(_)
                    | Binding::Grown(..)
                    | Binding::GrownArray(..)
                    | Binding::Appended(_) => return None,
                };
                let mut names = words
                    .into_iter()
                    .map(|w| self.program_name_at(w, depth + 1));
                let first = names.next()??;
                names.all(|n| n.as_deref() == Some(&first)).then_some(first)
            }
            [WordPart::CommandSubstitution { script, .. }] => {
                let mut words = script.split_whitespace();
                match (words.next(), words.next(), words.next(), words.next()) {
                    (Some("command"), Some("-v"), Some(name), None)
                    | (Some("which"), Some(name), None, None) => {
                        Some(name.rsplit('/').next().unwrap_or(name).to_string())
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// What `word` appends to variable `name` when it is `"$name rest"` (or `${name} rest`):
/// `rest`, read unquoted as the expansion of the whole would be.
fn grows(word: &Word, name: &str) -> Option<Word> {
    let (first, rest) = word.parts.split_first()?;
    let WordPart::Variable(v) = first else {
        return None;
    };
    if v.name != name || v.operator.is_some() || rest.is_empty() {
        return None;
    }
    let span = rest[0].span().to(rest[rest.len() - 1].span());
    Some(Word {
        span,
        parts: rest.to_vec(),
    })
}

/// `${NAME[@]}`, `${NAME[*]}`, `$@`, `${@}`: the array expanded.
fn array_expansion(part: &WordPart) -> Option<&str> {
    match part {
        WordPart::Variable(v) if matches!(v.name.as_str(), "@" | "*") && v.operator.is_none() => {
            Some(&v.name)
        }
        WordPart::Dynamic { text, .. } => {
            let inner = text.strip_prefix("${")?.strip_suffix('}')?;
            let name = inner
                .strip_suffix("[@]")
                .or_else(|| inner.strip_suffix("[*]"))?;
            let valid = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            valid.then_some(name)
        }
        _ => None,
    }
}

/// Whether no part of `word` is quoted: its parts cover its whole text, so no byte of it is a
/// quote (a backslash escape is a part of its own).
fn is_unquoted(word: &Word) -> bool {
    let mut pos = word.span.start;
    for part in &word.parts {
        let span = part.span();
        if span.start != pos {
            return false;
        }
        pos = span.end;
    }
    pos == word.span.end && !word.parts.is_empty()
}

/// The spans of the white-space separated pieces of a verbatim literal word, when it has
/// `count` of them.
fn piece_spans(word: &Word, count: usize) -> Option<Vec<Span>> {
    let [WordPart::Literal { text, span }] = word.parts.as_slice() else {
        return None;
    };
    if !is_verbatim(text, *span) {
        return None;
    }
    let mut out = Vec::new();
    let mut offset = 0;
    for piece in text.split([' ', '\t', '\n']) {
        if !piece.is_empty() {
            out.push(span.sub(offset, offset + piece.len()));
        }
        offset += piece.len() + 1;
    }
    (out.len() == count).then_some(out)
}

#[cfg(test)]
mod tests {
    use crate::parse::shell::testing::*;
    use crate::parse::shell::*;

    fn no_hcl(_: Lookup<'_>) -> Option<String> {
        None
    }

    /// The fields of the command running `program`, as text (`?` for unknown, `*` for an
    /// unknown expansion that may be several words).
    fn line(src: &str, program: &str) -> Vec<String> {
        line_with(src, program, &no_hcl)
    }

    fn line_with(
        src: &str,
        program: &str,
        outer: &dyn Fn(Lookup<'_>) -> Option<String>,
    ) -> Vec<String> {
        let f = facts(src);
        let values = f.values();
        let c = f
            .commands
            .iter()
            .find(|c| {
                values.command_fields(c, outer).first().is_some_and(|fl| {
                    fl.text
                        .as_deref()
                        .map(|t| t.rsplit('/').next().unwrap_or(t))
                        == Some(program)
                })
            })
            .unwrap_or_else(|| panic!("{program} in {src}"));
        values
            .command_fields(c, outer)
            .into_iter()
            .map(|fl| match (fl.text, fl.spread) {
                (Some(t), _) => t,
                (None, true) => "*".into(),
                (None, false) => "?".into(),
            })
            .collect()
    }

    #[test]
    fn every_shell_form_of_values() {
        // (script, program, the command's words after expansion)
        let table: &[(&str, &str, &[&str])] = &[
            // A program held in a variable, known or by its last path segment.
            (
                "CS=/opt/cs/bin/code-server\n\"$CS\" --port 13337\n",
                "code-server",
                &["/opt/cs/bin/code-server", "--port", "13337"],
            ),
            (
                "CS=\"$PREFIX/bin/code-server\"\n$CS --port \"$P\"\nP=1\n",
                "code-server",
                &["code-server", "--port", "1"],
            ),
            (
                "if x; then J=$HOME/.venv/bin/jupyter-lab; else J=$(command -v jupyter-lab); fi\n\"$J\" --port 9\n",
                "jupyter-lab",
                &["jupyter-lab", "--port", "9"],
            ),
            // Word splitting of unquoted expansions; quoted ones stay one word.
            ("ARGS=\"-p 7684\"\nttyd $ARGS bash\n", "ttyd", &["ttyd", "-p", "7684", "bash"]),
            ("ARGS=\"-p 7684\"\nttyd \"$ARGS\"\n", "ttyd", &["ttyd", "-p 7684"]),
            ("ttyd $UNSET -p 1\n", "ttyd", &["ttyd", "*", "-p", "1"]),
            // Arrays and `set --`.
            (
                "args=(--port 8080 \"$X\")\nX=y\nprog \"${args[@]}\"\n",
                "prog",
                &["prog", "--port", "8080", "y"],
            ),
            ("set -- -p 7000\nttyd \"$@\"\n", "ttyd", &["ttyd", "-p", "7000"]),
            (
                "set -- serve --port 4000\nif x; then set -- \"$@\" --open \"$D\"; fi\nsrv \"$@\"\n",
                "srv",
                &["srv", "serve", "--port", "4000", "*", "--open", "?"],
            ),
            ("set -- \"$@\" -p 1\nttyd \"$@\"\n", "ttyd", &["ttyd", "*"]),
            ("set -- -p 1\nset -- -p 2\nttyd \"$@\"\n", "ttyd", &["ttyd", "*"]),
            ("ttyd \"${nothing[@]}\"\n", "ttyd", &["ttyd", "*"]),
            // Grown by `+=(...)`: its elements, then elements perhaps there.
            (
                "F=(--host 0.0.0.0 --port \"$P\")\nP=6767\nif x; then F+=(-c \"$C\"); fi\nfor a in *; do F+=(--agent \"$a\"); done\nsrv \"${F[@]}\"\n",
                "srv",
                &["srv", "--host", "0.0.0.0", "--port", "6767", "*", "-c", "?", "--agent", "?"],
            ),
            ("F+=(--port 1)\nsrv \"${F[@]}\"\n", "srv", &["srv", "*"]),
            ("F=x\nF+=(--port 1)\nsrv \"${F[@]}\"\n", "srv", &["srv", "*"]),
            ("F=(-p 1)\nF+=(-q)\nttyd \"$F\"\n", "ttyd", &["ttyd", "-p"]),
            // Several different assignments: unknown; the same value twice: known.
            ("P=1\nif x; then P=2; fi\nttyd -p $P\n", "ttyd", &["ttyd", "-p", "*"]),
            ("P=1\nP=1\nttyd -p \"$P\"\n", "ttyd", &["ttyd", "-p", "1"]),
            ("P+=1\nttyd -p \"$P\"\n", "ttyd", &["ttyd", "-p", "?"]),
            // Grown by appends: the first value's words, then perhaps more.
            (
                "A=\"-d -p 8080:80\"\nA=\"$A -v x:y\"\nif z; then A=\"${A} -e K=v\"; fi\ndocker run $A nginx\n",
                "docker",
                &["docker", "run", "-d", "-p", "8080:80", "*", "-v", "x:y", "-e", "K=v", "nginx"],
            ),
            ("A=1\nA=\"$A 2\"\nttyd -p \"$A\"\n", "ttyd", &["ttyd", "-p", "?"]),
            // A variable holding a variable, and a self reference with a default.
            ("A=$B\nB=7\nttyd -p \"$A\"\n", "ttyd", &["ttyd", "-p", "7"]),
            ("P=${P:-8}\nttyd -p \"$P\"\n", "ttyd", &["ttyd", "-p", "8"]),
        ];
        for (src, program, want) in table {
            assert_eq!(line(src, program), *want, "{src}");
        }
    }

    #[test]
    fn terraform_pieces_are_asked_and_split_when_unquoted() {
        // `templatefile()` bindings answer the names the script does not assign.
        let outer = |l: Lookup<'_>| match l {
            Lookup::Variable("PORT") => Some("13337".to_string()),
            Lookup::Variable("EXTRA") => Some("--auth none".to_string()),
            Lookup::Hcl("var.port") => Some("8080".to_string()),
            _ => None,
        };
        let src = "CS=\"${PREFIX}/bin/code-server\"\n$CS --port \"${PORT}\" ${EXTRA}\n";
        assert_eq!(
            line_with(src, "code-server", &outer),
            ["code-server", "--port", "13337", "--auth", "none"]
        );
        assert_eq!(
            line(src, "code-server"),
            ["code-server", "--port", "?", "*"]
        );
        // `PORT="${PORT}"`: the script's PORT is the binding's (Terraform wrote `$${PORT}` for
        // the shell's own reference).
        let src = "PORT=\"${PORT}\"\nttyd -p \"${PORT}\"\n";
        assert_eq!(line_with(src, "ttyd", &outer), ["ttyd", "-p", "13337"]);
        // `$${X}` is the shell's `${X}`, unquoted: split.
        let src = "A=\"-p ${PORT}\"\nA=\"$${A} -W\"\nttyd $${A} $${EXTRA}\n";
        assert_eq!(
            line_with(src, "ttyd", &outer),
            ["ttyd", "-p", "13337", "*", "-W", "--auth", "none"]
        );
        // A heredoc's Terraform piece, masked from the shell grammar, is asked too.
        let src = "ttyd -p ${var.port} ${var.port}\nttyd -p \"${local.p}\"\n";
        assert_eq!(
            line_with(src, "ttyd", &outer),
            ["ttyd", "-p", "8080", "8080"]
        );
    }

    /// Values that grow exponentially with nesting are given up, quickly.
    #[test]
    fn base_names_are_those_of_every_assignment() {
        // (script, the names the last word of `prog` may have)
        let table: &[(&str, &[&str])] = &[
            ("prog /etc/app/app.yaml\n", &["app.yaml"]),
            ("C=\"$HOME/.app/app.yaml\"\nprog \"$C\"\n", &["app.yaml"]),
            (
                "if x; then C=/etc/app.yaml; else C=\"$HOME/app.yaml\"; C=/dev/null; fi\nprog \"$C\"\n",
                &["app.yaml", "null"],
            ),
            ("C=/a/b.yaml\nD=$C\nprog \"$D\"\n", &["b.yaml"]),
            // One assignment not known: nothing is.
            ("C=/a/b.yaml\nif x; then C=$(pick); fi\nprog \"$C\"\n", &[]),
            ("prog \"$UNSET\"\n", &[]),
            ("prog \"${C:-/a/b.yaml}\"\n", &[]),
        ];
        for (src, want) in table {
            let f = facts(src);
            let values = f.values();
            let c = command(&f, "prog");
            let got = values.base_names_of(c.args.last().unwrap());
            assert_eq!(got, *want, "{src}");
        }
    }

    #[test]
    fn exponential_values_are_unknown() {
        let mut src = String::from("V0=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n");
        for i in 1..16 {
            let p = i - 1;
            src.push_str(&format!(
                "V{i}=\"$V{p}$V{p}$V{p}$V{p}$V{p}$V{p}$V{p}$V{p}\"\n"
            ));
        }
        src.push_str("A=(\"$V15\" \"$V15\" \"$V15\")\n");
        src.push_str("ttyd -p \"$V15\" $V15 \"${A[@]}\"\n");
        let started = std::time::Instant::now();
        assert_eq!(line(&src, "ttyd"), ["ttyd", "-p", "?", "*", "?", "?", "?"]);
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    }

    #[test]
    fn split_pieces_point_at_the_assignment_and_exports_are_known() {
        let src = "ARGS=\"-p 7684\"\nttyd $ARGS\nexport A=1\nB=2\nC=3\nexport C\n";
        let f = facts(src);
        let values = f.values();
        let c = command(&f, "ttyd");
        let fields = values.command_fields(c, &no_hcl);
        assert_eq!(fields[2].span.range(), at(src, "7684"));
        assert_eq!(fields[1].span.range(), at(src, "-p"));
        let exported: Vec<_> = values
            .exported(&no_hcl)
            .into_iter()
            .map(|(n, v, span)| (n, v, span.map(|s| s.range())))
            .collect();
        assert_eq!(
            exported,
            [
                (
                    "A",
                    Some("1".to_string()),
                    Some(at(src, "1\nB").start..at(src, "1\nB").start + 1)
                ),
                ("C", Some("3".to_string()), Some(at(src, "3").clone())),
            ]
        );
        assert!(!values.is_exported("B"));
        let all = facts("set -a\nB=2\n");
        assert!(all.values().is_exported("B"));
    }
}
