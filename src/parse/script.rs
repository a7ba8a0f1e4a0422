//! Shell scripts to facts.
//!
//! Reads the shell scripts of a workspace (a `coder_agent`'s `startup_script` heredoc, a
//! `coder_script.script`, `*.sh` files, scripts mounted into compose containers) with the
//! tree-sitter bash grammar and produces [`ScriptFacts`]: assignments, simple commands with their
//! flags, http(s) URLs, files written from heredocs/`echo`/`printf`, sourced files, and one
//! diagnostic per syntax-error region. Every fact keeps its [`Span`]. `text` may be a piece of a
//! larger file (a heredoc inside a `.tf` file): pass its byte offset as `base` and every span points
//! into that larger file.
//!
//! Values are [`Word`]s: a list of [`WordPart`]s (literal text after quote removal, `$X`/`${X:-d}`
//! variable references, `$(...)`, Terraform interpolations, other dynamic pieces) that a caller can
//! evaluate with [`Word::evaluate`] once it knows the variables.
//!
//! ## Terraform templates
//! Text from a `.tf` heredoc is a Terraform template before it is a script. Before parsing,
//! `${expr}` interpolations whose content is not a shell parameter expansion (`${local.x}`,
//! `${var.y}`, `${lower(x)}`, `${ x }`) and `%{ if }`/`%{ for }` directives are masked, and come
//! back as [`WordPart::HclInterpolation`]; the escapes `$${X}` and `%%{` read as the shell sees
//! them (`${X}`, `%{`). Plain `.sh` files get the same treatment; these forms do not occur there.
//! A directive alone on its line is invisible to the shell, so both branches of a `%{ if }` are read.
//!
//! ## Understood
//! - `A=1`, `A+=1`, `export`/`local`/`declare`/`readonly`/`typeset` assignments.
//! - Every simple command wherever it is: pipelines, `&&`/`||` lists, subshells, `{ }` groups,
//!   functions, `if`/`for`/`while`/`case` bodies, `$(...)`, trailing `&` (recorded as background).
//!   The wrappers `exec`, `nohup`, `sudo`, `env A=1`, `nice`, `setsid`, `timeout`, `stdbuf`,
//!   `command`, `time` are looked through (launchers such as `npx` are the knowledge base's,
//!   read by the model); `bash -c '...'`, `sh -c "..."` and
//!   `su -c '...'` strings are parsed again as scripts with spans into the original text.
//! - Flags: `--port 3210`, `--port=3210`, `-p 3000`, `-p3000`, `-addr=:80`.
//! - File writes: `cat > f <<EOF`, `cat <<'EOF' >> f`, `tee [-a] f <<EOF`, `cat <<EOF | tee f`,
//!   `echo ... > f`, `printf FMT ... >> f`, `echo ... | tee f`, `{ echo; echo; } > f`, `<<<` strings.
//! - `source f` and `. f`.
//!
//! ## Not understood
//! - Nothing is run: loops, conditionals and functions are read as text. Values assigned in both
//!   branches of an `if` are both recorded, in source order; a function's commands are recorded
//!   where it is defined, not where it is called. No `eval`, aliases, brace or glob expansion.
//! - Flags are read without knowing the program: `--name value` takes the next word as its value
//!   when that word does not start with `-`, so a boolean flag swallows a following positional
//!   argument; `-abc` with letters only is read as one flag named `-abc`.
//! - A double-quoted `-c` string is parsed as written: `bash -c "echo \"x\""` reads `echo \"x\"`.
//! - `echo -e` escapes and `<<-` tab stripping are not applied to written bodies.

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use std::fmt;
use tree_sitter::{Node, Parser, Point, Range};

/// Deepest syntax nesting read; deeper parts of a pathological script are skipped with a warning.
const MAX_DEPTH: usize = 200;
/// Deepest nesting of expansions inside one word (`${a:-${b:-...}}`).
const MAX_WORD_DEPTH: usize = 32;
/// Deepest bracket nesting (`(`, `{`, `[`, counted on the raw text) a script may have to be
/// parsed at all: the bash grammar's error recovery on deeper text costs memory and time out of
/// proportion to its size (`{` three million times took a gigabyte).
pub const MAX_NESTING: usize = 1000;
/// Bytes the bash lexer may read per byte of script (plus [`LEXER_SLACK`]) before the parse is
/// given up: well-formed and broken scripts alike read each byte once or twice, while error
/// recovery on text like `(()` repeated rescans the rest of the file at every token.
pub const LEXER_READS_PER_BYTE: usize = 32;
/// Lexer reads allowed on top of [`LEXER_READS_PER_BYTE`], so small scripts never hit the limit.
const LEXER_SLACK: usize = 1 << 20;
/// Bytes handed to the lexer at a time: each rescan of a chunk counts as reading all of it.
const LEXER_CHUNK: usize = 4096;
/// Syntax errors reported per script; the last one counts the rest.
pub const MAX_SYNTAX_ERRORS: usize = 20;
/// How many levels of `bash -c '...'` are parsed again.
const MAX_SHELL_NESTING: usize = 4;
/// Longest Terraform interpolation looked for, in bytes.
const MAX_INTERPOLATION: usize = 1024;
/// Programs whose `-c` argument is a script.
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ash", "ksh"];
/// Node kinds that are whole statements; anything else directly inside an ERROR node is the error.
const STATEMENTS: &[&str] = &[
    "command",
    "redirected_statement",
    "pipeline",
    "list",
    "variable_assignment",
    "variable_assignments",
    "declaration_command",
    "unset_command",
    "if_statement",
    "for_statement",
    "c_style_for_statement",
    "while_statement",
    "case_statement",
    "function_definition",
    "subshell",
    "compound_statement",
    "negated_command",
    "test_command",
    "comment",
];

/// Everything portolan reads from one shell script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptFacts {
    /// `NAME=value`, `export NAME=value`, `local`/`declare`/`readonly` assignments, in source order.
    /// Assignments prefixed to a command (`PORT=1 node`) are in [`Command::env`] instead.
    pub assignments: Vec<Assignment>,
    /// Every simple command, in source order (a `bash -c` string's commands follow the `bash`).
    pub commands: Vec<Command>,
    /// Every http(s) URL in a word, string or heredoc body.
    pub urls: Vec<Url>,
    /// Files written from heredocs, here-strings, `echo` and `printf`.
    pub file_writes: Vec<FileWrite>,
    /// `source f` and `. f`.
    pub sourced_files: Vec<SourcedFile>,
    /// Syntax errors (one per region) and warnings about parts that were skipped.
    pub diagnostics: Vec<Diagnostic>,
}

/// A shell word as written (`"$HOME/x"`, `--port=${PORT:-3000}`, a heredoc body): its span and its
/// pieces in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The whole word as written, quotes included.
    pub span: Span,
    pub parts: Vec<WordPart>,
}

/// One piece of a [`Word`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WordPart {
    /// Text the shell sees after quote and backslash removal. When `text` is as long as `span`, its
    /// bytes map one to one onto the source; otherwise it is one escaped character (`\"`) or a
    /// decoded `$'...'` string.
    Literal { text: String, span: Span },
    /// `$X`, `${X}`, `${X:-default}`, ...
    Variable(VariableRef),
    /// `$(...)` or backquotes; `script` is the text inside. Its commands are in
    /// [`ScriptFacts::commands`].
    CommandSubstitution { script: String, span: Span },
    /// A Terraform template piece: `${local.x}` has `expression` `local.x`; `directive` is true for
    /// an inline `%{ if ... }`.
    HclInterpolation {
        expression: String,
        directive: bool,
        span: Span,
    },
    /// Something whose value is not known without running the script: `$((1+2))`, `<(cmd)`,
    /// `${#X}`, `${X[0]}`, arrays.
    Dynamic { text: String, span: Span },
}

/// A parameter expansion: `$X`, `${X}`, `${X:-default}`, `${X#prefix}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariableRef {
    pub name: String,
    /// `:-`, `-`, `:=`, `=`, `:+`, `+`, `:?`, `#`, `%`, `/`, `^^`, ... when present.
    pub operator: Option<String>,
    /// The word after the operator (`default` in `${X:-default}`).
    pub operand: Option<Word>,
    pub span: Span,
}

/// What [`Word::evaluate`] asks its caller for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// The value of a shell variable; answer `None` when it is unset or unknown.
    Variable(&'a str),
    /// The value of a Terraform expression such as `local.port`.
    Hcl(&'a str),
}

/// `NAME=value`, possibly declared with `export`, `local`, `declare`, `readonly` or `typeset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub name: String,
    pub name_span: Span,
    /// The value; an empty word (empty span after `=`) for `NAME=`.
    pub value: Word,
    /// The whole `NAME=value`.
    pub span: Span,
    /// `export`, `local`, `declare`, `readonly` or `typeset`; `None` for a plain assignment.
    pub keyword: Option<String>,
    /// Set by `export` or `declare -x`.
    pub exported: bool,
    /// `NAME+=value`.
    pub append: bool,
}

/// One simple command, after looking through wrappers such as `exec`, `sudo` and `env`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The whole command as written, wrappers and prefix assignments included.
    pub span: Span,
    /// `PORT=3000 node ...`, `env PORT=3000 node ...`: the environment given to the program.
    pub env: Vec<Assignment>,
    /// Wrapper programs looked through, as written (`exec`, `sudo`, `nohup`, ...).
    pub wrappers: Vec<Word>,
    /// The program as written.
    pub program: Word,
    /// The program's file name without directories (`code-server` for
    /// `/tmp/code-server/bin/code-server`), when its last path segment is static.
    pub program_name: Option<String>,
    pub args: Vec<Word>,
    /// The flags found in `args`.
    pub flags: Vec<Flag>,
    /// Followed by `&` (itself or an enclosing list or group).
    pub background: bool,
}

/// A flag and its value: `--port 3210`, `--port=3210`, `-p 3000`, `-p3000`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flag {
    /// With its dashes: `--port`, `-p`.
    pub name: String,
    pub name_span: Span,
    /// The value; its span covers the value alone (not `--port=`).
    pub value: Option<Word>,
}

/// An http(s) URL found in a script. Host, port and path may contain variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub span: Span,
    /// `http` or `https`, lowercase.
    pub scheme: String,
    pub host: Word,
    /// The port after `:`, when written.
    pub port: Option<Word>,
    /// From the first `/`, `?` or `#` after the host to the end; empty when absent.
    pub path: Word,
}

/// The parts of a Coder subdomain app host:
/// `{slug}--{agent}--{workspace}--{owner}.{domain}` or `{slug}--{workspace}--{owner}.{domain}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoderAppHost {
    /// The app slug, or the port of a port-forward URL (`3210`, `3210s`).
    pub slug: String,
    pub slug_span: Span,
    /// The port, when the slug is a port-forward port.
    pub port: Option<u16>,
    /// A port-forward slug ending in `s`: the upstream speaks https.
    pub https_upstream: bool,
    pub agent: Option<Word>,
    pub workspace: Word,
    pub owner: Word,
    pub domain: Word,
}

/// How a [`FileWrite`] got its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    /// `<<EOF`; `quoted` for `<<'EOF'`, whose body has no expansions.
    Heredoc {
        quoted: bool,
    },
    /// `<<< "text"`.
    HereString,
    Echo,
    Printf,
}

/// A file written by the script: `cat > .env <<EOF`, `echo "K=v" >> .env`, `tee f <<EOF`, ...
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileWrite {
    /// The statement that writes.
    pub span: Span,
    pub target: Word,
    /// `>>` or `tee -a`; false for `>` and `tee`.
    pub append: bool,
    /// The written text: a heredoc body, the `echo` arguments joined by spaces (without the final
    /// newline), or the `printf` format expanded with its arguments.
    pub body: Word,
    pub kind: WriteKind,
}

/// `source path` or `. path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcedFile {
    pub span: Span,
    pub path: Word,
}

/// Parses `text`, which starts at byte `base` of file `file`, into facts. Never panics; what the
/// grammar cannot read becomes an error diagnostic and the rest is still read.
pub fn parse_script(text: &str, file: FileId, base: usize) -> ScriptFacts {
    let template = Template::mask(text);
    let mut walker = Walker {
        file,
        base,
        src: &template.text,
        template: &template,
        facts: ScriptFacts::default(),
        warned_depth: false,
    };
    let tree = match parse_bounded(template.text.as_bytes(), None) {
        Ok(tree) => tree,
        Err(refused) => {
            let span = walker.span(0, text.len());
            walker
                .facts
                .diagnostics
                .push(Diagnostic::error(span, refused.message()));
            return walker.facts;
        }
    };
    walker.collect_errors(tree.root_node());
    walker.walk(tree.root_node(), Ctx::top());
    walker
        .facts
        .diagnostics
        .sort_by_key(|d| (d.primary.span.start, d.primary.span.end));
    walker.facts
}

/// Why a script was not parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// Nested deeper than [`MAX_NESTING`].
    TooDeep,
    /// The lexer read more than its budget ([`LEXER_READS_PER_BYTE`]).
    TooComplex,
    /// The grammar could not be loaded, or tree-sitter gave up.
    Failed,
}

impl Refused {
    fn message(self) -> String {
        match self {
            Refused::TooDeep => format!(
                "script nested more than {MAX_NESTING} levels deep: not parsed"
            ),
            Refused::TooComplex => "script too complex to parse (error recovery would rescan the file at every token): not parsed".to_owned(),
            Refused::Failed => "the bash parser could not read this script".to_owned(),
        }
    }
}

/// The deepest nesting of `(`, `{` and `[` in `text`, counted without regard to quotes: a
/// bound on what the grammar would nest, never less.
fn nesting_depth(text: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for &b in text {
        match b {
            b'(' | b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' | b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Parses `text` (or the part of it in `range`) with the bash grammar, within the nesting and
/// lexer-work bounds: the cost stays linear in the text whatever it holds.
fn parse_bounded(text: &[u8], range: Option<Range>) -> Result<tree_sitter::Tree, Refused> {
    let region = range.map_or(text, |r| text.get(r.start_byte..r.end_byte).unwrap_or(&[]));
    if nesting_depth(region) > MAX_NESTING {
        return Err(Refused::TooDeep);
    }
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_bash::LANGUAGE.into())
        .map_err(|_| Refused::Failed)?;
    if let Some(range) = range {
        parser
            .set_included_ranges(&[range])
            .map_err(|_| Refused::Failed)?;
    }
    let budget = region
        .len()
        .saturating_mul(LEXER_READS_PER_BYTE)
        .saturating_add(LEXER_SLACK);
    let read = std::cell::Cell::new(0usize);
    let over = || read.get() > budget;
    let mut input = |offset: usize, _: Point| -> &[u8] {
        if over() {
            return &[]; // end of input: the parse winds down, then the callback stops it
        }
        let chunk = text
            .get(offset..offset.saturating_add(LEXER_CHUNK).min(text.len()))
            .unwrap_or(&[]);
        read.set(read.get() + chunk.len());
        chunk
    };
    let mut progress = |_: &tree_sitter::ParseState| {
        if over() {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    };
    let options = tree_sitter::ParseOptions::new().progress_callback(&mut progress);
    let tree = parser.parse_with_options(&mut input, None, Some(options));
    if over() {
        return Err(Refused::TooComplex);
    }
    tree.ok_or(Refused::Failed)
}

/// Every http(s) URL in a word, including those in `${X:-default}` operands.
pub fn find_urls(word: &Word) -> Vec<Url> {
    let mut urls = Vec::new();
    let atoms = atoms(&word.parts);
    let mut i = 0;
    while i < atoms.len() {
        let Some((scheme, scheme_len)) = scheme_at(&atoms, i) else {
            i += 1;
            continue;
        };
        let start = i + scheme_len;
        let mut end = start;
        while atoms
            .get(end)
            .is_some_and(|a| !a.ch().is_some_and(ends_url))
        {
            end += 1;
        }
        while end > start
            && atoms
                .get(end - 1)
                .and_then(Atom::ch)
                .is_some_and(|c| matches!(c, '.' | ',' | ':'))
        {
            end -= 1;
        }
        let char_in = |from: usize, to: usize, wanted: &dyn Fn(char) -> bool| {
            (from..to).find(|&k| atoms.get(k).and_then(Atom::ch).is_some_and(wanted))
        };
        let authority_end = char_in(start, end, &|c| matches!(c, '/' | '?' | '#')).unwrap_or(end);
        let host_start = (start..authority_end)
            .rev()
            .find(|&k| atoms.get(k).and_then(Atom::ch) == Some('@'))
            .map_or(start, |k| k + 1);
        let bracket_end = if atoms.get(host_start).and_then(Atom::ch) == Some('[') {
            char_in(host_start, authority_end, &|c| c == ']').unwrap_or(host_start)
        } else {
            host_start
        };
        let colon = char_in(bracket_end, authority_end, &|c| c == ':');
        let host_end = colon.unwrap_or(authority_end);
        if host_end > host_start {
            let slice = |a: usize, b: usize| atoms.get(a..b).unwrap_or(&[]);
            let at = |k: usize| {
                atoms.get(k).map_or(word.span.end as usize, |a| {
                    a.span(&word.parts).start as usize
                })
            };
            let empty = |k: usize| Span::new(word.span.file, at(k), at(k));
            urls.push(Url {
                span: word_from_atoms(&word.parts, slice(i, end), empty(i)).span,
                scheme: scheme.to_string(),
                host: word_from_atoms(&word.parts, slice(host_start, host_end), empty(host_start)),
                port: colon
                    .filter(|&c| c + 1 < authority_end)
                    .map(|c| word_from_atoms(&word.parts, slice(c + 1, authority_end), empty(c))),
                path: word_from_atoms(&word.parts, slice(authority_end, end), empty(authority_end)),
            });
        }
        i = end.max(i + 1);
    }
    for part in &word.parts {
        if let WordPart::Variable(VariableRef {
            operand: Some(operand),
            ..
        }) = part
        {
            urls.extend(find_urls(operand));
        }
    }
    urls
}

/// Recognises a Coder subdomain app host (see [`CoderAppHost`], read by
/// [`crate::coder::AppHost`]); the workspace, owner and agent may be variables such as
/// `${CODER_WORKSPACE_NAME}`, the slug must be static.
pub fn coder_app_host(host: &Word) -> Option<CoderAppHost> {
    let atoms = atoms(&host.parts);
    // The host as text, each variable one unknown character; `starts[k]` is where atom `k` is.
    let mut text = String::new();
    let mut starts = Vec::with_capacity(atoms.len() + 1);
    for atom in &atoms {
        starts.push(text.len());
        text.push(atom.ch().unwrap_or(crate::coder::UNKNOWN));
    }
    starts.push(text.len());
    let found = crate::coder::AppHost::parse(&text)?;
    let to_atoms = |r: &std::ops::Range<usize>| {
        let from = starts.binary_search(&r.start).unwrap_or(0);
        let to = starts.binary_search(&r.end).unwrap_or(from);
        atoms.get(from..to).unwrap_or(&[])
    };
    let fallback = Span::new(
        host.span.file,
        host.span.end as usize,
        host.span.end as usize,
    );
    let word_of = |r: &std::ops::Range<usize>| word_from_atoms(&host.parts, to_atoms(r), fallback);
    Some(CoderAppHost {
        slug: text[found.slug.clone()].to_owned(),
        slug_span: word_of(&found.slug).span,
        https_upstream: found.https,
        port: found.port,
        agent: found.agent.as_ref().map(word_of),
        workspace: word_of(&found.workspace),
        owner: word_of(&found.owner),
        domain: word_of(&found.domain),
    })
}

impl Word {
    /// A word made of one static piece of text (for callers that have a value from elsewhere).
    pub fn from_literal(text: &str, span: Span) -> Word {
        Word {
            span,
            parts: vec![WordPart::Literal {
                text: text.to_string(),
                span,
            }],
        }
    }

    /// The value, when every part is static text.
    pub fn literal(&self) -> Option<String> {
        self.parts
            .iter()
            .map(|p| match p {
                WordPart::Literal { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The value, asking `lookup` for variables and Terraform expressions. `None` when a part
    /// cannot be known (command substitution, arithmetic) or `lookup` has no answer and the
    /// expansion has no default.
    pub fn evaluate(&self, lookup: &mut dyn FnMut(Lookup<'_>) -> Option<String>) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                WordPart::Literal { text, .. } => out.push_str(text),
                WordPart::Variable(var) => out.push_str(&var.evaluate(lookup)?),
                WordPart::HclInterpolation {
                    expression,
                    directive: false,
                    ..
                } => out.push_str(&lookup(Lookup::Hcl(expression))?),
                _ => return None,
            }
        }
        Some(out)
    }

    /// Every http(s) URL in this word.
    pub fn urls(&self) -> Vec<Url> {
        find_urls(self)
    }

    /// The text of the first part when it is literal (where flags and `NAME=` start).
    fn leading_text(&self) -> &str {
        match self.parts.first() {
            Some(WordPart::Literal { text, .. }) => text,
            _ => "",
        }
    }

    /// The parts after bytes `from..to` of the first part's text, which must be a literal.
    fn after_first(&self, to: usize) -> Word {
        let mut parts = Vec::new();
        if let Some(WordPart::Literal { text, span }) = self.parts.first() {
            let rest = text.get(to..).unwrap_or("");
            let rest_span = if is_verbatim(text, *span) {
                span.sub(to.min(text.len()), text.len())
            } else {
                Span::new(span.file, span.end as usize, span.end as usize)
            };
            if !rest.is_empty() {
                parts.push(WordPart::Literal {
                    text: rest.to_string(),
                    span: rest_span,
                });
            }
            parts.extend(self.parts.iter().skip(1).cloned());
            let span = match (parts.first(), parts.last()) {
                (Some(a), Some(b)) => a.span().to(b.span()),
                _ => rest_span,
            };
            return Word { span, parts };
        }
        self.clone()
    }

    /// The span of the first `len` bytes of the first part's text.
    fn leading_span(&self, len: usize) -> Span {
        match self.parts.first() {
            Some(WordPart::Literal { text, span }) if is_verbatim(text, *span) => {
                span.sub(0, len.min(text.len()))
            }
            Some(part) => part.span(),
            None => self.span,
        }
    }
}

impl fmt::Display for Word {
    /// Shell-like text: literals as they are, variables as `${NAME}`, `$(...)`, `${hcl}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                WordPart::Literal { text, .. } | WordPart::Dynamic { text, .. } => {
                    f.write_str(text)?
                }
                WordPart::Variable(v) => {
                    write!(f, "${{{}{}", v.name, v.operator.as_deref().unwrap_or(""))?;
                    if let Some(operand) = &v.operand {
                        write!(f, "{operand}")?;
                    }
                    f.write_str("}")?;
                }
                WordPart::CommandSubstitution { script, .. } => write!(f, "$({script})")?,
                WordPart::HclInterpolation {
                    expression,
                    directive,
                    ..
                } => write!(f, "{}{{{expression}}}", if *directive { '%' } else { '$' })?,
            }
        }
        Ok(())
    }
}

impl WordPart {
    pub fn span(&self) -> Span {
        match self {
            WordPart::Literal { span, .. }
            | WordPart::CommandSubstitution { span, .. }
            | WordPart::HclInterpolation { span, .. }
            | WordPart::Dynamic { span, .. } => *span,
            WordPart::Variable(v) => v.span,
        }
    }
}

impl VariableRef {
    /// The value of this expansion, applying `:-`, `-`, `:=`, `=`, `:+`, `+`, `:?` and `?`.
    /// Other operators (`#`, `%`, `/`, ...) give `None`.
    pub fn evaluate(&self, lookup: &mut dyn FnMut(Lookup<'_>) -> Option<String>) -> Option<String> {
        let value = lookup(Lookup::Variable(&self.name));
        let operand = self.operand.as_ref();
        match self.operator.as_deref() {
            None | Some(":?" | "?") => value,
            Some(":-" | ":=") => match value {
                Some(v) if !v.is_empty() => Some(v),
                _ => operand?.evaluate(lookup),
            },
            Some("-" | "=") => match value {
                Some(v) => Some(v),
                None => operand?.evaluate(lookup),
            },
            Some(":+") => match value {
                Some(v) if !v.is_empty() => operand?.evaluate(lookup),
                _ => Some(String::new()),
            },
            Some("+") => match value {
                Some(_) => operand?.evaluate(lookup),
                None => Some(String::new()),
            },
            Some(_) => None,
        }
    }
}

impl Command {
    /// The last flag with one of these names (`&["--port", "-p"]`); programs take the last one.
    pub fn flag(&self, names: &[&str]) -> Option<&Flag> {
        self.flags
            .iter()
            .rev()
            .find(|f| names.contains(&f.name.as_str()))
    }

    /// The value of the last flag with one of these names.
    pub fn flag_value(&self, names: &[&str]) -> Option<&Word> {
        self.flag(names).and_then(|f| f.value.as_ref())
    }
}

impl Url {
    /// The port as a number, when written and static.
    pub fn port_number(&self) -> Option<u16> {
        self.port.as_ref()?.literal()?.parse().ok()
    }

    /// The Coder subdomain app this URL's host names, if it is one.
    pub fn coder_app(&self) -> Option<CoderAppHost> {
        coder_app_host(&self.host)
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        if let Some(port) = &self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.path)
    }
}

// ---------------------------------------------------------------------------------------------
// Terraform template masking

/// A Terraform `${...}` or `%{...}` found in the text (byte offsets into the text).
struct HclRegion {
    start: usize,
    end: usize,
    expression: String,
    directive: bool,
}

/// The text as bash sees it: Terraform interpolations replaced by `_` (or by spaces for a directive
/// alone on its line), the first byte of `$${` and `%%{` replaced by `.` (elided when read back).
/// Always the same length as the original, so offsets are shared.
struct Template {
    text: String,
    hcl: Vec<HclRegion>,
    elided: Vec<usize>,
}

impl Template {
    fn mask(source: &str) -> Template {
        let bytes = source.as_bytes();
        let mut text = String::with_capacity(source.len());
        let (mut hcl, mut elided) = (Vec::new(), Vec::new());
        let (mut copied, mut i) = (0, 0);
        while let Some(&sigil) = bytes.get(i) {
            if sigil != b'$' && sigil != b'%' {
                i += 1;
                continue;
            }
            let next = bytes.get(i + 1).copied();
            if next == Some(sigil) && bytes.get(i + 2) == Some(&b'{') {
                text.push_str(source.get(copied..i).unwrap_or(""));
                text.push('.');
                elided.push(i);
                copied = i + 1;
                i += 3;
                continue;
            }
            let directive = sigil == b'%';
            let looks_hcl = next == Some(b'{')
                && if directive {
                    starts_directive(bytes, i + 2)
                } else {
                    starts_hcl_expression(bytes, i + 2)
                };
            if let Some(end) = looks_hcl
                .then(|| interpolation_end(bytes, i + 2, 0))
                .flatten()
            {
                let inner = source.get(i + 2..end - 1).unwrap_or("");
                text.push_str(source.get(copied..i).unwrap_or(""));
                let filler = if directive && alone_on_line(source, i, end) {
                    ' '
                } else {
                    '_'
                };
                text.extend(std::iter::repeat_n(filler, end - i));
                hcl.push(HclRegion {
                    start: i,
                    end,
                    expression: inner
                        .trim_matches(|c: char| c == '~' || c.is_whitespace())
                        .to_string(),
                    directive,
                });
                copied = end;
                i = end;
                continue;
            }
            i += 1;
        }
        text.push_str(source.get(copied..).unwrap_or(""));
        if text.len() != source.len() {
            return Template {
                text: source.to_string(),
                hcl: Vec::new(),
                elided: Vec::new(),
            };
        }
        Template { text, hcl, elided }
    }

    fn is_elided(&self, offset: usize) -> bool {
        self.elided.binary_search(&offset).is_ok()
    }
}

/// Whether `${` at `from` starts a Terraform expression rather than a shell parameter expansion:
/// `${local.x}`, `${f(x)}`, `${ x }`, `${~x}`, `${"s"}`.
fn starts_hcl_expression(bytes: &[u8], from: usize) -> bool {
    match bytes.get(from) {
        Some(b'~' | b'"' | b'(' | b'[' | b' ' | b'\t' | b'\n') => true,
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
            let mut i = from;
            while bytes
                .get(i)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            {
                i += 1;
            }
            matches!(bytes.get(i), Some(b'.' | b'(' | b' ' | b'\t'))
        }
        _ => false,
    }
}

/// Whether `%{` at `from` starts a template directive (`if`, `else`, `endif`, `for`, `endfor`).
fn starts_directive(bytes: &[u8], from: usize) -> bool {
    let mut i = from;
    while bytes
        .get(i)
        .is_some_and(|b| *b == b'~' || b.is_ascii_whitespace())
    {
        i += 1;
    }
    let start = i;
    while bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
        i += 1;
    }
    let keyword = bytes.get(start..i).unwrap_or(&[]);
    [&b"if"[..], b"else", b"endif", b"for", b"endfor"].contains(&keyword)
}

/// The offset just after the `}` closing an interpolation whose content starts at `from`.
fn interpolation_end(bytes: &[u8], from: usize, nesting: usize) -> Option<usize> {
    if nesting > 8 {
        return None;
    }
    let limit = from.saturating_add(MAX_INTERPOLATION).min(bytes.len());
    let mut depth = 1usize;
    let mut i = from;
    while i < limit {
        match bytes.get(i)? {
            b'"' => {
                i = string_end(bytes, i + 1, limit, nesting)?;
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The offset just after the `"` closing a Terraform string that starts at `from`.
fn string_end(bytes: &[u8], from: usize, limit: usize, nesting: usize) -> Option<usize> {
    let mut i = from;
    while i < limit {
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            b'\n' => return None,
            b'$' | b'%' if bytes.get(i + 1) == Some(&b'{') => {
                i = interpolation_end(bytes, i + 2, nesting + 1)?;
            }
            _ => i += 1,
        }
    }
    None
}

/// Whether only whitespace surrounds `start..end` on its line.
fn alone_on_line(source: &str, start: usize, end: usize) -> bool {
    let before = source.get(..start).unwrap_or("");
    let after = source.get(end..).unwrap_or("");
    let line_before = before.rsplit('\n').next().unwrap_or("");
    let line_after = after.split('\n').next().unwrap_or("");
    line_before.trim().is_empty() && line_after.trim().is_empty()
}

// ---------------------------------------------------------------------------------------------
// Walking the syntax tree

/// How a stretch of source text is quoted, which decides what a backslash does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    Unquoted,
    Double,
    Heredoc,
    Raw,
}

/// What the walk knows about the surroundings of a node.
#[derive(Clone, Copy)]
struct Ctx {
    background: bool,
    /// Inside a word whose URLs were already collected.
    in_word: bool,
    depth: usize,
    shell_depth: usize,
    parent: &'static str,
}

impl Ctx {
    fn top() -> Ctx {
        Ctx {
            background: false,
            in_word: false,
            depth: 0,
            shell_depth: 0,
            parent: "",
        }
    }
}

/// A command read from the tree, with the nodes of its arguments (to find a `-c` script).
struct ReadCommand<'t> {
    command: Command,
    /// `None` for an argument joined from several nodes.
    arg_nodes: Vec<Option<Node<'t>>>,
}

/// The redirections of one statement.
#[derive(Default)]
struct StatementIo<'t> {
    command: Option<Node<'t>>,
    output: Option<(Word, bool)>,
    stdin: Option<(Word, WriteKind)>,
    /// `cat <<EOF | tee f`: the grammar hangs the pipeline under the heredoc.
    piped: Option<Node<'t>>,
}

struct Walker<'a> {
    file: FileId,
    base: usize,
    /// The masked text all tree offsets point into.
    src: &'a str,
    template: &'a Template,
    facts: ScriptFacts,
    warned_depth: bool,
}

fn children<'t>(node: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = node.walk();
    node.children(&mut cursor).collect()
}

fn field_of(node: Node<'_>, index: usize) -> Option<&'static str> {
    node.field_name_for_child(u32::try_from(index).ok()?)
}

fn is_wordish(kind: &str) -> bool {
    matches!(
        kind,
        "word"
            | "string"
            | "raw_string"
            | "concatenation"
            | "ansi_c_string"
            | "translated_string"
            | "heredoc_body"
            | "expansion"
            | "simple_expansion"
    )
}

fn is_verbatim(text: &str, span: Span) -> bool {
    text.len() == span.range().len()
}

/// Appends a part, merging it into the previous literal when both map one to one and touch.
fn push_part(out: &mut Vec<WordPart>, part: WordPart) {
    if let (
        Some(WordPart::Literal {
            text: last_text,
            span: last_span,
        }),
        WordPart::Literal { text, span },
    ) = (out.last_mut(), &part)
    {
        if is_verbatim(last_text, *last_span)
            && is_verbatim(text, *span)
            && last_span.end == span.start
        {
            last_text.push_str(text);
            last_span.end = span.end;
            return;
        }
    }
    out.push(part);
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn is_identifier(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl<'a> Walker<'a> {
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, self.base + start, self.base + end)
    }

    fn node_span(&self, node: Node<'_>) -> Span {
        self.span(node.start_byte(), node.end_byte())
    }

    fn text(&self, node: Node<'_>) -> &'a str {
        self.src.get(node.byte_range()).unwrap_or("")
    }

    fn walk(&mut self, node: Node<'_>, ctx: Ctx) {
        if ctx.depth > MAX_DEPTH {
            self.warn_depth(node);
            return;
        }
        let kind = node.kind();
        let wordish = is_wordish(kind);
        // Commands and assignments collect the URLs of the (repaired) words they read.
        if wordish && !ctx.in_word {
            let word = self.word(node, 0);
            self.facts.urls.extend(find_urls(&word));
        }
        let mut reparsed = None;
        match kind {
            "command" => {
                reparsed = self.command(node, ctx);
                if ctx.parent != "redirected_statement" {
                    self.statement_writes(node);
                }
            }
            "variable_assignment" if !matches!(ctx.parent, "command" | "declaration_command") => {
                let assignment = self.assignment(node, None, false);
                self.facts.urls.extend(find_urls(&assignment.value));
                self.facts.assignments.push(assignment);
            }
            "declaration_command" => self.declaration(node),
            "redirected_statement" => self.statement_writes(node),
            "pipeline" => self.pipeline_writes(node),
            _ => {}
        }
        let in_word = match kind {
            "command_substitution" | "process_substitution" => false,
            _ => ctx.in_word || wordish,
        };
        let kids = children(node);
        for (i, child) in kids.iter().enumerate() {
            if reparsed == Some(child.id()) {
                continue;
            }
            let background = ctx.background
                || kids
                    .get(i + 1)
                    .is_some_and(|n| n.kind() == "&" && !n.is_named());
            let covered = match kind {
                "command" => {
                    matches!(field_of(node, i), Some("name" | "argument"))
                        || child.kind() == "variable_assignment"
                }
                "declaration_command" | "variable_assignment" => true,
                _ => false,
            };
            let child_ctx = Ctx {
                background,
                in_word: in_word || covered,
                depth: ctx.depth + 1,
                parent: kind,
                ..ctx
            };
            self.walk(*child, child_ctx);
        }
    }

    fn warn_depth(&mut self, node: Node<'_>) {
        if !self.warned_depth {
            self.warned_depth = true;
            let span = self.node_span(node);
            self.facts.diagnostics.push(
                Diagnostic::warning(span, "script nested too deeply; portolan skipped this part")
                    .with_label("not read"),
            );
        }
    }

    // -- words ---------------------------------------------------------------------------------

    fn word(&self, node: Node<'_>, depth: usize) -> Word {
        let mut parts = Vec::new();
        self.parts(node, depth, &mut parts);
        Word {
            span: self.node_span(node),
            parts,
        }
    }

    fn parts(&self, node: Node<'_>, depth: usize, out: &mut Vec<WordPart>) {
        let (start, end) = (node.start_byte(), node.end_byte());
        if depth > MAX_WORD_DEPTH {
            return self.dynamic(node, out);
        }
        match node.kind() {
            "word"
            | "number"
            | "regex"
            | "extglob_pattern"
            | "special_variable_name"
            | "variable_name" => self.literal(start, end, Quoting::Unquoted, out),
            "raw_string" if end >= start + 2 => self.literal(start + 1, end - 1, Quoting::Raw, out),
            "string" | "translated_string" => {
                let text = self.text(node);
                let open = text.find('"').map_or(start, |i| start + i + 1);
                let close = if text.len() > 1 && text.ends_with('"') {
                    end - 1
                } else {
                    end
                };
                self.children_parts(node, open, close, Quoting::Double, depth, out);
            }
            "ansi_c_string" => push_part(
                out,
                WordPart::Literal {
                    text: decode_ansi_c(self.text(node)),
                    span: self.node_span(node),
                },
            ),
            "concatenation" => self.children_parts(node, start, end, Quoting::Unquoted, depth, out),
            "heredoc_body" => {
                let quoted = node
                    .parent()
                    .and_then(|p| {
                        children(p)
                            .into_iter()
                            .find(|c| c.kind() == "heredoc_start")
                    })
                    .is_some_and(|s| self.text(s).contains(['\'', '"', '\\']));
                if quoted {
                    self.literal(start, end, Quoting::Raw, out);
                } else {
                    self.children_parts(node, start, end, Quoting::Heredoc, depth, out);
                }
            }
            "simple_expansion" => {
                let text = self.text(node);
                let name = text.strip_prefix('$').unwrap_or(text);
                out.push(WordPart::Variable(VariableRef {
                    name: name.to_string(),
                    operator: None,
                    operand: None,
                    span: self.node_span(node),
                }));
            }
            "expansion" => self.expansion(node, depth, out),
            "command_substitution" => {
                let text = self.text(node);
                let inner = text
                    .strip_prefix("$(")
                    .and_then(|t| t.strip_suffix(')'))
                    .or_else(|| text.strip_prefix('`').and_then(|t| t.strip_suffix('`')))
                    .unwrap_or(text);
                out.push(WordPart::CommandSubstitution {
                    script: inner.trim().to_string(),
                    span: self.node_span(node),
                });
            }
            _ if node.named_child_count() == 0 && !node.is_error() => {
                self.literal(start, end, Quoting::Unquoted, out)
            }
            _ => self.dynamic(node, out),
        }
    }

    fn dynamic(&self, node: Node<'_>, out: &mut Vec<WordPart>) {
        out.push(WordPart::Dynamic {
            text: self.text(node).to_string(),
            span: self.node_span(node),
        });
    }

    /// The parts of the children of `node` inside `from..to`; text between children is literal.
    fn children_parts(
        &self,
        node: Node<'_>,
        from: usize,
        to: usize,
        quoting: Quoting,
        depth: usize,
        out: &mut Vec<WordPart>,
    ) {
        let mut pos = from;
        for child in children(node) {
            let (s, e) = (child.start_byte(), child.end_byte());
            if s < from || e > to {
                continue;
            }
            if s > pos {
                self.literal(pos, s, quoting, out);
            }
            if !child.is_named() || matches!(child.kind(), "string_content" | "heredoc_content") {
                self.literal(s, e, quoting, out);
            } else {
                self.parts(child, depth + 1, out);
            }
            pos = pos.max(e);
        }
        if pos < to {
            self.literal(pos, to, quoting, out);
        }
    }

    fn expansion(&self, node: Node<'_>, depth: usize, out: &mut Vec<WordPart>) {
        let kids = children(node);
        let name_index = kids
            .iter()
            .position(|c| matches!(c.kind(), "variable_name" | "special_variable_name"));
        let first_named = kids.iter().position(|c| c.is_named());
        // `${#X}`, `${!X}`, `${X[0]}` and anything unusual: not a plain variable.
        let Some(name_index) = name_index.filter(|&i| Some(i) == first_named && i == 1) else {
            return self.dynamic(node, out);
        };
        let Some(name_node) = kids.get(name_index) else {
            return self.dynamic(node, out);
        };
        let operator_index =
            (name_index + 1..kids.len()).find(|&i| field_of(node, i) == Some("operator"));
        let (operator, operand) = match operator_index.and_then(|i| kids.get(i)) {
            Some(op) => {
                let close = kids
                    .last()
                    .filter(|c| c.kind() == "}")
                    .map_or(node.end_byte(), |c| c.start_byte());
                let from = op.end_byte().min(close);
                let mut parts = Vec::new();
                if matches!(
                    self.text(*op),
                    ":-" | "-" | ":=" | "=" | ":+" | "+" | ":?" | "?"
                ) {
                    self.children_parts(node, from, close, Quoting::Unquoted, depth, &mut parts);
                } else if from < close {
                    self.literal(from, close, Quoting::Raw, &mut parts);
                }
                let operand = Word {
                    span: self.span(from, close),
                    parts,
                };
                (Some(self.text(*op).to_string()), Some(operand))
            }
            None => (None, None),
        };
        out.push(WordPart::Variable(VariableRef {
            name: self.text(*name_node).to_string(),
            operator,
            operand,
            span: self.node_span(node),
        }));
    }

    /// Literal text of `start..end`, with Terraform interpolations split out as their own parts.
    fn literal(&self, start: usize, end: usize, quoting: Quoting, out: &mut Vec<WordPart>) {
        let hcl = &self.template.hcl;
        let first = hcl.partition_point(|r| r.end <= start);
        let mut pos = start;
        for region in hcl.iter().skip(first).take_while(|r| r.start < end) {
            if region.start > pos {
                self.plain(pos, region.start, quoting, out);
            }
            out.push(WordPart::HclInterpolation {
                expression: region.expression.clone(),
                directive: region.directive,
                span: self.span(region.start, region.end),
            });
            pos = pos.max(region.end.min(end));
        }
        if pos < end {
            self.plain(pos, end, quoting, out);
        }
    }

    /// Literal text of `start..end` after backslash removal for `quoting`.
    fn plain(&self, start: usize, end: usize, quoting: Quoting, out: &mut Vec<WordPart>) {
        let Some(text) = self.src.get(start..end) else {
            return;
        };
        let flush = |out: &mut Vec<WordPart>, from: usize, to: usize| {
            if let Some(piece) = text.get(from..to).filter(|p| !p.is_empty()) {
                push_part(
                    out,
                    WordPart::Literal {
                        text: piece.to_string(),
                        span: self.span(start + from, start + to),
                    },
                );
            }
        };
        let mut run = 0;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '.' && self.template.is_elided(start + i) {
                flush(out, run, i);
                run = i + 1;
                continue;
            }
            if c != '\\' || quoting == Quoting::Raw {
                continue;
            }
            let Some(&(j, n)) = chars.peek() else {
                continue;
            };
            let escapes = match quoting {
                Quoting::Unquoted => true,
                Quoting::Double => matches!(n, '$' | '`' | '"' | '\\' | '\n'),
                Quoting::Heredoc => matches!(n, '$' | '`' | '\\' | '\n'),
                Quoting::Raw => false,
            };
            if !escapes {
                continue;
            }
            chars.next();
            flush(out, run, i);
            let after = j + n.len_utf8();
            if n != '\n' {
                out.push(WordPart::Literal {
                    text: n.to_string(),
                    span: self.span(start + i, start + after),
                });
            }
            run = after;
        }
        flush(out, run, text.len());
    }

    // -- assignments ---------------------------------------------------------------------------

    fn assignment(&self, node: Node<'_>, keyword: Option<&str>, exported: bool) -> Assignment {
        let name_node = node.child_by_field_name("name");
        let value = match node.child_by_field_name("value") {
            Some(value) => self.word(value, 0),
            None => Word {
                span: self.span(node.end_byte(), node.end_byte()),
                parts: Vec::new(),
            },
        };
        Assignment {
            name: name_node.map_or("", |n| self.text(n)).to_string(),
            name_span: name_node.map_or(self.node_span(node), |n| self.node_span(n)),
            value,
            span: self.node_span(node),
            keyword: keyword.map(str::to_string),
            exported,
            append: children(node).iter().any(|c| c.kind() == "+="),
        }
    }

    fn declaration(&mut self, node: Node<'_>) {
        let kids = children(node);
        let keyword = kids.first().map_or("", |k| self.text(*k));
        let exported = keyword == "export"
            || kids.iter().any(|k| {
                let text = self.text(*k);
                k.kind() == "word" && text.starts_with('-') && text.contains('x')
            });
        let mut assignments: Vec<(Assignment, usize)> = Vec::new();
        for kid in kids {
            // A word touching the previous assignment is the rest of its value (grammar bug).
            if let Some((last, end)) = assignments.last_mut() {
                if *end == kid.start_byte() && is_wordish(kid.kind()) {
                    let tail = self.word(kid, 0);
                    last.span = last.span.to(tail.span);
                    last.value = join_words(
                        std::mem::replace(&mut last.value, empty_word(tail.span)),
                        tail,
                    );
                    *end = kid.end_byte();
                    continue;
                }
            }
            if kid.kind() == "variable_assignment" {
                let assignment = self.assignment(kid, Some(keyword), exported);
                assignments.push((assignment, kid.end_byte()));
            }
        }
        for (assignment, _) in assignments {
            self.facts.urls.extend(find_urls(&assignment.value));
            self.facts.assignments.push(assignment);
        }
    }

    // -- commands ------------------------------------------------------------------------------

    /// Records the command at `node` (or its assignments, when it has no program); returns the id
    /// of a `-c` argument that was parsed again.
    fn command(&mut self, node: Node<'_>, ctx: Ctx) -> Option<usize> {
        let (env, words) = self.command_words(node);
        if words.is_empty() {
            for assignment in env {
                self.facts.urls.extend(find_urls(&assignment.value));
                self.facts.assignments.push(assignment);
            }
            return None;
        }
        let ReadCommand {
            mut command,
            arg_nodes,
        } = self.command_from(node, env, words)?;
        command.background = ctx.background;
        if matches!(command.program_name.as_deref(), Some("source" | ".")) {
            if let Some(path) = command.args.first() {
                self.facts.sourced_files.push(SourcedFile {
                    span: command.span,
                    path: path.clone(),
                });
            }
        }
        let script_index = shell_script_index(&command);
        let script = script_index.and_then(|i| arg_nodes.get(i).copied().flatten());
        let scanned = command
            .env
            .iter()
            .map(|a| &a.value)
            .chain(&command.wrappers)
            .chain([&command.program])
            .chain(
                command
                    .args
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| Some(*i) != script_index)
                    .map(|(_, a)| a),
            );
        let urls: Vec<Url> = scanned.flat_map(find_urls).collect();
        self.facts.urls.extend(urls);
        self.facts.commands.push(command);
        let script = script?;
        self.reparse(script, ctx).then(|| script.id())
    }

    /// The prefix assignments and the words of a command. Nodes that touch are one shell word:
    /// they are joined, which also repairs the grammar's split of `$A-$B.c` into `$A-$` and `B.c`
    /// (tree-sitter-bash issues 180 and 315). Leading `NAME=value` words are assignments.
    fn command_words<'t>(
        &self,
        node: Node<'t>,
    ) -> (Vec<Assignment>, Vec<(Word, Option<Node<'t>>)>) {
        enum Item<'t> {
            Assign(Assignment),
            Word(Word, Option<Node<'t>>),
        }
        let mut items: Vec<(Item<'t>, usize)> = Vec::new();
        for (i, child) in children(node).into_iter().enumerate() {
            let item = match field_of(node, i) {
                Some("name") => {
                    let target = child.named_child(0).unwrap_or(child);
                    Item::Word(self.word(target, 0), Some(target))
                }
                Some("argument") => Item::Word(self.word(child, 0), Some(child)),
                _ if child.kind() == "variable_assignment" => {
                    Item::Assign(self.assignment(child, None, false))
                }
                _ => continue,
            };
            if let (Some((last, end)), Item::Word(word, _)) = (items.last_mut(), &item) {
                if *end == child.start_byte() {
                    match last {
                        Item::Assign(a) => {
                            a.span = a.span.to(word.span);
                            a.value = join_words(
                                std::mem::replace(&mut a.value, empty_word(word.span)),
                                word.clone(),
                            );
                        }
                        Item::Word(w, n) => {
                            *w = join_words(
                                std::mem::replace(w, empty_word(word.span)),
                                word.clone(),
                            );
                            *n = None;
                        }
                    }
                    *end = child.end_byte();
                    continue;
                }
            }
            items.push((item, child.end_byte()));
        }
        let mut env = Vec::new();
        let mut words = Vec::new();
        for (item, _) in items {
            match item {
                Item::Assign(a) if words.is_empty() => env.push(a),
                Item::Assign(_) => {}
                Item::Word(w, n) => match assignment_in_word(&w).filter(|_| words.is_empty()) {
                    Some(a) => env.push(a),
                    None => words.push((w, n)),
                },
            }
        }
        (env, words)
    }

    fn read_command<'t>(&self, node: Node<'t>) -> Option<ReadCommand<'t>> {
        let (env, words) = self.command_words(node);
        self.command_from(node, env, words)
    }

    /// The command made of these words, after looking through wrappers; `None` without a program.
    fn command_from<'t>(
        &self,
        node: Node<'t>,
        mut env: Vec<Assignment>,
        words: Vec<(Word, Option<Node<'t>>)>,
    ) -> Option<ReadCommand<'t>> {
        let mut wrappers = Vec::new();
        let mut i = 0;
        while let Some(name) = words.get(i).and_then(|(w, _)| w.literal()) {
            let value_flags: &[&str] = match basename(&name) {
                "exec" => &["-a"],
                "nohup" | "setsid" | "command" | "time" => &[],
                "sudo" | "doas" => &[
                    "-u", "-g", "-U", "-C", "-D", "-h", "-p", "-r", "-t", "-T", "-R",
                ],
                "env" => &["-u", "-C", "-S", "--unset", "--chdir", "--split-string"],
                "nice" => &["-n", "--adjustment"],
                "timeout" => &["-s", "-k", "--signal", "--kill-after"],
                "stdbuf" => &["-i", "-o", "-e"],
                _ => break,
            };
            let rest = words.get(i + 1..).unwrap_or(&[]);
            let mut next = i + 1 + count_options(rest, value_flags);
            if basename(&name) == "timeout" {
                next += 1;
            }
            let mut wrapper_env = Vec::new();
            if matches!(basename(&name), "env" | "sudo" | "doas") {
                while let Some(a) = words.get(next).and_then(|(w, _)| assignment_in_word(w)) {
                    wrapper_env.push(a);
                    next += 1;
                }
            }
            if next >= words.len() {
                break;
            }
            env.extend(wrapper_env);
            if let Some((w, _)) = words.get(i) {
                wrappers.push(w.clone());
            }
            i = next;
        }
        let mut rest = words.into_iter().skip(i);
        let (program, _) = rest.next()?;
        let (args, arg_nodes): (Vec<Word>, Vec<Option<Node<'t>>>) = rest.unzip();
        let command = Command {
            span: self.node_span(node),
            env,
            wrappers,
            program_name: program_name(&program),
            program,
            flags: parse_flags(&args),
            args,
            background: false,
        };
        Some(ReadCommand { command, arg_nodes })
    }

    /// Parses a `-c` string again as a script. Returns false when it was not.
    fn reparse(&mut self, arg: Node<'_>, ctx: Ctx) -> bool {
        let (start, end) = (arg.start_byte(), arg.end_byte());
        let (from, to) = match arg.kind() {
            "raw_string" | "string" if end >= start + 2 => (start + 1, end - 1),
            "word" => (start, end),
            _ => return false,
        };
        if ctx.shell_depth >= MAX_SHELL_NESTING || from >= to {
            return false;
        }
        let range = Range {
            start_byte: from,
            end_byte: to,
            start_point: self.point(from),
            end_point: self.point(to),
        };
        let Ok(tree) = parse_bounded(self.src.as_bytes(), Some(range)) else {
            return false;
        };
        if arg.kind() != "string" {
            self.collect_errors(tree.root_node());
        }
        let inner = Ctx {
            in_word: false,
            depth: ctx.depth + 1,
            shell_depth: ctx.shell_depth + 1,
            parent: "",
            ..ctx
        };
        self.walk(tree.root_node(), inner);
        true
    }

    fn point(&self, offset: usize) -> Point {
        let before = self.src.as_bytes().get(..offset).unwrap_or(&[]);
        let row = before.iter().filter(|&&b| b == b'\n').count();
        let column = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(offset, |p| offset - p - 1);
        Point { row, column }
    }

    // -- file writes ---------------------------------------------------------------------------

    fn statement_io<'t>(&self, stmt: Node<'t>) -> StatementIo<'t> {
        let mut io = StatementIo::default();
        if stmt.kind() == "redirected_statement" {
            io.command = stmt.child_by_field_name("body");
            for (i, child) in children(stmt).into_iter().enumerate() {
                if field_of(stmt, i) == Some("redirect") {
                    self.read_redirect(child, &mut io);
                }
            }
        } else {
            io.command = Some(stmt);
        }
        if let Some(command) = io.command.filter(|c| c.kind() == "command") {
            for child in children(command) {
                if child.kind() == "herestring_redirect" {
                    self.read_redirect(child, &mut io);
                }
            }
        }
        io
    }

    fn read_redirect<'t>(&self, redirect: Node<'t>, io: &mut StatementIo<'t>) {
        match redirect.kind() {
            "file_redirect" => {
                let kids = children(redirect);
                let operator = kids.iter().find(|k| !k.is_named()).map(|k| self.text(*k));
                let descriptor = redirect
                    .child_by_field_name("descriptor")
                    .map(|d| self.text(d));
                let destination = redirect.child_by_field_name("destination");
                let append = match operator {
                    Some(">" | ">|" | "&>") => false,
                    Some(">>" | "&>>") => true,
                    _ => return,
                };
                if let (Some(dest), None | Some("1")) = (destination, descriptor) {
                    io.output = Some((self.word(dest, 0), append));
                }
            }
            "heredoc_redirect" => {
                let kids = children(redirect);
                let quoted = kids
                    .iter()
                    .find(|k| k.kind() == "heredoc_start")
                    .is_some_and(|s| self.text(*s).contains(['\'', '"', '\\']));
                for kid in kids {
                    match kid.kind() {
                        "heredoc_body" => {
                            io.stdin = Some((self.word(kid, 0), WriteKind::Heredoc { quoted }));
                        }
                        "file_redirect" => self.read_redirect(kid, io),
                        "pipeline" => io.piped = Some(kid),
                        _ => {}
                    }
                }
            }
            "herestring_redirect" => {
                if let Some(value) = redirect.named_child(0) {
                    io.stdin = Some((self.word(value, 0), WriteKind::HereString));
                }
            }
            _ => {}
        }
    }

    /// File writes made by a command or redirected statement.
    fn statement_writes(&mut self, stmt: Node<'_>) {
        let io = self.statement_io(stmt);
        let Some(body) = io.command else { return };
        let span = self.node_span(stmt);
        match body.kind() {
            "command" => {
                if let Some(piped) = io.piped {
                    let last = children(piped).into_iter().rev().find(|c| c.is_named());
                    if let (Some(content), Some(last)) = (self.stdout_of(body, io.stdin), last) {
                        self.write_through_tee(last, content, span);
                    }
                } else if self.program_of(body).as_deref() == Some("tee") {
                    if let Some(content) = io.stdin {
                        self.write_through_tee(stmt, content, span);
                    }
                } else if let Some((target, append)) = io.output {
                    if let Some((body, kind)) = self.stdout_of(body, io.stdin) {
                        self.facts.file_writes.push(FileWrite {
                            span,
                            target,
                            append,
                            body,
                            kind,
                        });
                    }
                }
            }
            "compound_statement" | "subshell" => {
                let Some((target, append)) = io.output else {
                    return;
                };
                let mut written = 0;
                for inner in children(body) {
                    if !matches!(inner.kind(), "command" | "redirected_statement") {
                        continue;
                    }
                    let inner_io = self.statement_io(inner);
                    let Some(command) = inner_io.command.filter(|_| inner_io.output.is_none())
                    else {
                        continue;
                    };
                    if let Some((body, kind)) = self.stdout_of(command, inner_io.stdin) {
                        self.facts.file_writes.push(FileWrite {
                            span: self.node_span(inner),
                            target: target.clone(),
                            append: append || written > 0,
                            body,
                            kind,
                        });
                        written += 1;
                    }
                }
            }
            _ => {}
        }
    }

    /// `echo x | tee f`, `printf ... | sudo tee -a f`.
    fn pipeline_writes(&mut self, node: Node<'_>) {
        let stages: Vec<Node<'_>> = children(node)
            .into_iter()
            .filter(|c| c.is_named())
            .collect();
        let [first, last] = stages.as_slice() else {
            return;
        };
        let io = self.statement_io(*first);
        let Some(command) = io.command else { return };
        if io.output.is_none() {
            if let Some(content) = self.stdout_of(command, io.stdin) {
                self.write_through_tee(*last, content, self.node_span(node));
            }
        }
    }

    /// Records `content` written by `tee` at `stmt` (if it is a `tee`) into each of its files.
    fn write_through_tee(&mut self, stmt: Node<'_>, content: (Word, WriteKind), span: Span) {
        let io = self.statement_io(stmt);
        let Some(read) = io.command.and_then(|c| self.read_command(c)) else {
            return;
        };
        if read.command.program_name.as_deref() != Some("tee") {
            return;
        }
        let args = &read.command.args;
        let append = args
            .iter()
            .any(|a| matches!(a.literal().as_deref(), Some("-a" | "--append")));
        for target in args.iter().filter(|a| !a.leading_text().starts_with('-')) {
            self.facts.file_writes.push(FileWrite {
                span,
                target: target.clone(),
                append,
                body: content.0.clone(),
                kind: content.1,
            });
        }
    }

    fn program_of(&self, command: Node<'_>) -> Option<String> {
        self.read_command(command)?.command.program_name
    }

    /// What a command writes to its standard output, when it is `cat` of its stdin, `echo` or `printf`.
    fn stdout_of(
        &self,
        command: Node<'_>,
        stdin: Option<(Word, WriteKind)>,
    ) -> Option<(Word, WriteKind)> {
        let read = self.read_command(command)?;
        let args = &read.command.args;
        match read.command.program_name.as_deref()? {
            "cat" if args.iter().all(|a| a.leading_text().starts_with('-')) => stdin,
            "echo" => echo_body(args).map(|w| (w, WriteKind::Echo)),
            "printf" => printf_body(args).map(|w| (w, WriteKind::Printf)),
            _ => None,
        }
    }

    // -- syntax errors -------------------------------------------------------------------------

    fn collect_errors(&mut self, root: Node<'_>) {
        if !root.has_error() {
            return;
        }
        let mut regions: Vec<(usize, usize, Diagnostic)> = Vec::new();
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            if node.is_error() {
                let (start, end) = self.error_focus(node);
                let snippet: String = self
                    .src
                    .get(start..end)
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(40)
                    .collect();
                let message = if snippet.trim().is_empty() {
                    "shell syntax error".to_string()
                } else {
                    format!("shell syntax error near `{}`", snippet.trim())
                };
                let diagnostic = Diagnostic::error(self.span(start, end), message)
                    .with_label("bash cannot parse this");
                regions.push((start, end, diagnostic));
            } else if node.is_missing() {
                let at = node.start_byte();
                let mut diagnostic = Diagnostic::error(
                    self.span(at, at),
                    format!("shell syntax error: missing `{}`", node.kind()),
                )
                .with_label(format!("expected `{}` here", node.kind()));
                if let Some(opener) = node.parent().and_then(|p| p.child(0)) {
                    diagnostic = diagnostic.with_related(self.node_span(opener), "opened here");
                }
                regions.push((at, at, diagnostic));
            } else if node.has_error() {
                let kids = children(node);
                stack.extend(kids.into_iter().rev());
            }
        }
        regions.sort_by_key(|r| (r.0, r.1));
        let mut last_end: Option<usize> = None;
        let mut kept: Vec<Diagnostic> = Vec::new();
        let mut more = 0usize;
        for (start, end, diagnostic) in regions {
            if last_end.is_some_and(|e| start <= e) {
                last_end = last_end.map(|e| e.max(end));
                continue;
            }
            last_end = Some(end);
            if kept.len() < MAX_SYNTAX_ERRORS {
                kept.push(diagnostic);
            } else {
                more += 1;
            }
        }
        if more > 0 {
            if let Some(last) = kept.last_mut() {
                last.message.push_str(&format!(
                    " (and {more} more syntax errors after it, not shown)"
                ));
            }
        }
        self.facts.diagnostics.extend(kept);
    }

    /// The part of an ERROR node that is the error: its first run of children that are not whole
    /// statements (tree-sitter often wraps good statements into the error node).
    fn error_focus(&self, node: Node<'_>) -> (usize, usize) {
        let kids = children(node);
        let separator =
            |n: &Node<'_>| !n.is_named() && matches!(n.kind(), "&" | ";" | "&&" | "||" | "|");
        let bad = |n: &Node<'_>| {
            n.is_error() || n.is_missing() || !(STATEMENTS.contains(&n.kind()) || separator(n))
        };
        let Some(first) = kids.iter().position(bad) else {
            return (node.start_byte(), node.end_byte());
        };
        let last = kids
            .iter()
            .skip(first)
            .take_while(|n| bad(n))
            .last()
            .map_or(node.end_byte(), |n| n.end_byte());
        let start = kids
            .get(first)
            .map_or(node.start_byte(), |n| n.start_byte());
        (start, last.max(start))
    }
}

// ---------------------------------------------------------------------------------------------
// Commands, flags and written bodies

/// An empty word at the start of `at`.
fn empty_word(at: Span) -> Word {
    Word {
        span: Span::new(at.file, at.start as usize, at.start as usize),
        parts: Vec::new(),
    }
}

/// `a` and `b` as one word (they touch in the source). A `$` ending `a` followed by a name starting
/// `b` is a variable reference that the grammar split.
fn join_words(a: Word, b: Word) -> Word {
    let span = a.span.to(b.span);
    let mut parts = a.parts;
    let name_len = identifier_len(b.leading_text());
    let dangling = match (parts.last(), b.parts.first()) {
        (
            Some(WordPart::Literal { text, span }),
            Some(WordPart::Literal {
                text: next,
                span: next_span,
            }),
        ) if text.ends_with('$')
            && is_verbatim(text, *span)
            && is_verbatim(next, *next_span)
            && name_len > 0 =>
        {
            Some((span.end as usize - 1, next_span.start as usize))
        }
        _ => None,
    };
    let Some((dollar, name_start)) = dangling else {
        for part in b.parts {
            push_part(&mut parts, part);
        }
        return Word { span, parts };
    };
    if let Some(WordPart::Literal { text, span }) = parts.last_mut() {
        text.pop();
        span.end -= 1;
        if text.is_empty() {
            parts.pop();
        }
    }
    parts.push(WordPart::Variable(VariableRef {
        name: b.leading_text().get(..name_len).unwrap_or("").to_string(),
        operator: None,
        operand: None,
        span: Span::new(span.file, dollar, name_start + name_len),
    }));
    for part in b.after_first(name_len).parts {
        push_part(&mut parts, part);
    }
    Word { span, parts }
}

/// The length of the shell variable name at the start of `text` (0 if none).
fn identifier_len(text: &str) -> usize {
    if !text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return 0;
    }
    text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len())
}

/// How many leading words of `words` are options of a wrapper (with their values).
fn count_options(words: &[(Word, Option<Node<'_>>)], value_flags: &[&str]) -> usize {
    let mut count = 0;
    while let Some((word, _)) = words.get(count) {
        let text = word.leading_text();
        if text == "--" {
            return count + 1;
        }
        if !text.starts_with('-') || text.len() < 2 {
            break;
        }
        count += if value_flags.contains(&text) && word.parts.len() == 1 {
            2
        } else {
            1
        };
    }
    count.min(words.len())
}

/// `NAME=value` written as a command word (after `env` or `sudo`).
fn assignment_in_word(word: &Word) -> Option<Assignment> {
    let text = word.leading_text();
    let eq = text.find('=')?;
    let name = text.get(..eq)?;
    if !is_identifier(name) {
        return None;
    }
    Some(Assignment {
        name: name.to_string(),
        name_span: word.leading_span(eq),
        value: word.after_first(eq + 1),
        span: word.span,
        keyword: None,
        exported: false,
        append: false,
    })
}

fn program_name(program: &Word) -> Option<String> {
    if let Some(text) = program.literal() {
        return Some(basename(&text).to_string());
    }
    match program.parts.last() {
        Some(WordPart::Literal { text, .. }) if text.contains('/') => {
            Some(basename(text).to_string()).filter(|n| !n.is_empty())
        }
        _ => None,
    }
}

/// The index of the argument holding the script of `bash -c '...'` or `su -c '...'`.
fn shell_script_index(command: &Command) -> Option<usize> {
    let name = command.program_name.as_deref()?;
    let args = &command.args;
    if name == "su" {
        let c = args
            .iter()
            .position(|a| matches!(a.literal().as_deref(), Some("-c" | "--command")))?;
        return Some(c + 1).filter(|&i| i < args.len());
    }
    if !SHELLS.contains(&name) {
        return None;
    }
    let c = args.iter().position(|a| {
        let text = a.leading_text();
        text.starts_with('-')
            && !text.starts_with("--")
            && text.contains('c')
            && text.chars().skip(1).all(|ch| ch.is_ascii_alphabetic())
    })?;
    (c + 1..args.len()).find(|&i| {
        args.get(i)
            .is_some_and(|a| !a.leading_text().starts_with('-'))
    })
}

/// The flags among `args`; see the module docs for how values are attached.
fn parse_flags(args: &[Word]) -> Vec<Flag> {
    let mut flags = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        let lead = arg.leading_text();
        let single = arg.parts.len() == 1;
        if lead == "--" && single {
            break;
        }
        if !lead.starts_with('-') || lead.len() < 2 || lead.starts_with("---") {
            continue;
        }
        let next_value = |i: usize| {
            args.get(i)
                .filter(|n| !n.leading_text().starts_with('-') && !n.parts.is_empty())
                .cloned()
        };
        let (name_len, value) = if let Some(eq) = lead.find('=') {
            (eq, Some(arg.after_first(eq + 1)))
        } else if lead.starts_with("--") {
            if !single {
                continue;
            }
            let value = next_value(i);
            i += usize::from(value.is_some());
            (lead.len(), value)
        } else {
            // `-p`, `-p3000`, `-p$PORT`, `-it`, `-port`
            let first_len = lead.chars().nth(1).map_or(1, char::len_utf8);
            let rest = lead.get(1 + first_len..).unwrap_or("");
            if rest.starts_with(|c: char| !c.is_alphabetic()) || (rest.is_empty() && !single) {
                (1 + first_len, Some(arg.after_first(1 + first_len)))
            } else if single {
                let value = next_value(i);
                i += usize::from(value.is_some());
                (lead.len(), value)
            } else {
                continue;
            }
        };
        flags.push(Flag {
            name: lead.get(..name_len).unwrap_or(lead).to_string(),
            name_span: arg.leading_span(name_len),
            value,
        });
    }
    flags
}

/// The text `echo` prints (without its final newline): the arguments after `-n`/`-e`/`-E` joined
/// by spaces.
fn echo_body(args: &[Word]) -> Option<Word> {
    let is_flag = |w: &Word| {
        w.literal().is_some_and(|t| {
            t.len() > 1 && t.starts_with('-') && t.chars().skip(1).all(|c| "neE".contains(c))
        })
    };
    let start = args.iter().position(|w| !is_flag(w))?;
    let words = args.get(start..)?;
    let mut parts = Vec::new();
    for (k, word) in words.iter().enumerate() {
        if k > 0 {
            if let Some(prev) = words.get(k - 1) {
                push_part(
                    &mut parts,
                    WordPart::Literal {
                        text: " ".to_string(),
                        span: Span::new(
                            word.span.file,
                            prev.span.end as usize,
                            word.span.start as usize,
                        ),
                    },
                );
            }
        }
        for part in &word.parts {
            push_part(&mut parts, part.clone());
        }
    }
    Some(Word {
        span: words.first()?.span.to(words.last()?.span),
        parts,
    })
}

/// The text `printf FORMAT ARGS...` prints: `%s`-like conversions take the next argument, `%%`,
/// `\n`, `\t` and `\\` are decoded, and the format repeats while arguments remain.
fn printf_body(args: &[Word]) -> Option<Word> {
    let format = args.first()?;
    if format.leading_text() == "-v" {
        return None; // assigns to a variable, prints nothing
    }
    let span = format.span.to(args.last()?.span);
    let Some(fmt_text) = format.literal() else {
        return Some(Word {
            span,
            parts: vec![WordPart::Dynamic {
                text: format.to_string(),
                span,
            }],
        });
    };
    // Exact sub-spans when the format is one verbatim literal (`'%s\n'`).
    let fmt_span = match format.parts.as_slice() {
        [WordPart::Literal { text, span }] if is_verbatim(text, *span) => Some(*span),
        _ => None,
    };
    let piece_span = |a: usize, b: usize| fmt_span.map_or(format.span, |s| s.sub(a, b));
    let mut values = args.iter().skip(1);
    let mut parts = Vec::new();
    let rounds = args.len().max(2) - 1;
    for _ in 0..rounds {
        let mut consumed = false;
        let mut chars = fmt_text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let literal = |text: &str, end: usize| WordPart::Literal {
                text: text.to_string(),
                span: piece_span(i, end),
            };
            match c {
                '%' if chars.peek().map(|p| p.1) == Some('%') => {
                    chars.next();
                    push_part(&mut parts, literal("%", i + 2));
                }
                '%' => {
                    while chars
                        .peek()
                        .is_some_and(|p| "-+ #0123456789.".contains(p.1))
                    {
                        chars.next();
                    }
                    chars.next();
                    consumed = true;
                    if let Some(value) = values.next() {
                        for part in &value.parts {
                            push_part(&mut parts, part.clone());
                        }
                    }
                }
                '\\' => {
                    let Some((j, n)) = chars.next() else {
                        push_part(&mut parts, literal("\\", i + 1));
                        continue;
                    };
                    let decoded = match n {
                        'n' => "\n".to_string(),
                        't' => "\t".to_string(),
                        '\\' => "\\".to_string(),
                        other => format!("\\{other}"),
                    };
                    push_part(&mut parts, literal(&decoded, j + n.len_utf8()));
                }
                _ => push_part(&mut parts, literal(&c.to_string(), i + c.len_utf8())),
            }
        }
        if !consumed || values.len() == 0 {
            break;
        }
    }
    Some(Word { span, parts })
}

/// Decodes a `$'...'` string's common escapes.
fn decode_ansi_c(text: &str) -> String {
    let inner = text
        .strip_prefix("$'")
        .and_then(|t| t.strip_suffix('\''))
        .unwrap_or(text);
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('e' | 'E') => out.push('\u{1b}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Looking at a word character by character (URLs, Coder hosts)

/// One character of a literal part, or a whole non-literal part.
#[derive(Clone, Copy)]
enum Atom {
    Char { part: usize, at: usize, ch: char },
    Opaque(usize),
}

impl Atom {
    fn ch(&self) -> Option<char> {
        match self {
            Atom::Char { ch, .. } => Some(*ch),
            Atom::Opaque(_) => None,
        }
    }

    fn span(&self, parts: &[WordPart]) -> Span {
        match *self {
            Atom::Char { part, at, ch } => match parts.get(part) {
                Some(WordPart::Literal { text, span }) if is_verbatim(text, *span) => {
                    span.sub(at, at + ch.len_utf8())
                }
                Some(p) => p.span(),
                None => Span::default(),
            },
            Atom::Opaque(part) => parts.get(part).map_or(Span::default(), WordPart::span),
        }
    }
}

fn atoms(parts: &[WordPart]) -> Vec<Atom> {
    let mut atoms = Vec::new();
    for (index, part) in parts.iter().enumerate() {
        match part {
            WordPart::Literal { text, .. } => {
                atoms.extend(text.char_indices().map(|(at, ch)| Atom::Char {
                    part: index,
                    at,
                    ch,
                }))
            }
            _ => atoms.push(Atom::Opaque(index)),
        }
    }
    atoms
}

/// A word made of a run of atoms; `empty` is its span when there are none.
fn word_from_atoms(parts: &[WordPart], atoms: &[Atom], empty: Span) -> Word {
    let mut out: Vec<WordPart> = Vec::new();
    let mut current: Option<(usize, String, Span)> = None;
    let flush = |out: &mut Vec<WordPart>, current: &mut Option<(usize, String, Span)>| {
        if let Some((_, text, span)) = current.take() {
            out.push(WordPart::Literal { text, span });
        }
    };
    for atom in atoms {
        match *atom {
            Atom::Char { part, ch, .. } => {
                let span = atom.span(parts);
                match &mut current {
                    Some((p, text, s)) if *p == part => {
                        text.push(ch);
                        *s = s.to(span);
                    }
                    _ => {
                        flush(&mut out, &mut current);
                        current = Some((part, ch.to_string(), span));
                    }
                }
            }
            Atom::Opaque(part) => {
                flush(&mut out, &mut current);
                if let Some(p) = parts.get(part) {
                    out.push(p.clone());
                }
            }
        }
    }
    flush(&mut out, &mut current);
    let span = match (out.first(), out.last()) {
        (Some(a), Some(b)) => a.span().to(b.span()),
        _ => empty,
    };
    Word { span, parts: out }
}

/// `http://` or `https://` (any case) starting at atom `i`, not inside a longer word.
fn scheme_at(atoms: &[Atom], i: usize) -> Option<(&'static str, usize)> {
    if i > 0
        && atoms
            .get(i - 1)
            .and_then(Atom::ch)
            .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    let matches = |pattern: &str| {
        pattern.chars().enumerate().all(|(k, p)| {
            atoms
                .get(i + k)
                .and_then(Atom::ch)
                .is_some_and(|c| c.eq_ignore_ascii_case(&p))
        })
    };
    if matches("https://") {
        Some(("https", 8))
    } else if matches("http://") {
        Some(("http", 7))
    } else {
        None
    }
}

/// Characters that end a URL inside a word or heredoc line.
fn ends_url(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '<' | '>' | '`' | '|' | ';' | '(' | ')' | '{' | '}' | '\\'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> ScriptFacts {
        parse_script(src, FileId(0), 0)
    }

    /// The byte range of the `n`th (0-based) occurrence of `needle` in `src`.
    fn nth(src: &str, needle: &str, n: usize) -> std::ops::Range<usize> {
        let start = src
            .match_indices(needle)
            .nth(n)
            .expect("needle in source")
            .0;
        start..start + needle.len()
    }

    fn at(src: &str, needle: &str) -> std::ops::Range<usize> {
        nth(src, needle, 0)
    }

    fn command<'f>(facts: &'f ScriptFacts, program: &str) -> &'f Command {
        facts
            .commands
            .iter()
            .find(|c| c.program_name.as_deref() == Some(program))
            .unwrap_or_else(|| panic!("no command {program} in {:#?}", facts.commands))
    }

    fn vars(word: &Word) -> Vec<&str> {
        word.parts
            .iter()
            .filter_map(|p| match p {
                WordPart::Variable(v) => Some(v.name.as_str()),
                _ => None,
            })
            .collect()
    }

    const CONVEX: &str = r#"#!/bin/bash
set -e
export CONVEX_CLOUD_ORIGIN="${CONVEX_CLOUD_ORIGIN:-http://127.0.0.1:3210}"
exec convex-local-backend --port 3210 --site-proxy-port 3211 \
  --convex-origin "$CONVEX_CLOUD_ORIGIN" \
  --convex-site "$CONVEX_SITE_ORIGIN" \
  --instance-name "${INSTANCE_NAME:-convex}"
"#;

    #[test]
    fn convex_backend_flags_across_continued_lines() {
        let f = facts(CONVEX);
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
        let backend = command(&f, "convex-local-backend");
        assert_eq!(backend.wrappers.len(), 1);
        assert_eq!(backend.wrappers[0].literal().as_deref(), Some("exec"));
        // (flag, static value, span of the value)
        let table = [
            ("--port", Some("3210"), nth(CONVEX, "3210", 1)),
            ("--site-proxy-port", Some("3211"), at(CONVEX, "3211")),
            (
                "--convex-origin",
                None,
                at(CONVEX, "\"$CONVEX_CLOUD_ORIGIN\""),
            ),
            ("--convex-site", None, at(CONVEX, "\"$CONVEX_SITE_ORIGIN\"")),
        ];
        for (name, literal, range) in table {
            let value = backend.flag_value(&[name]).expect(name);
            assert_eq!(value.literal().as_deref(), literal, "{name}");
            assert_eq!(value.span.range(), range, "{name}");
        }
        let origin = backend.flag_value(&["--convex-origin"]).unwrap();
        assert_eq!(vars(origin), ["CONVEX_CLOUD_ORIGIN"]);
        assert!(!backend.background);

        let assignment = &f.assignments[0];
        assert_eq!(assignment.name, "CONVEX_CLOUD_ORIGIN");
        assert_eq!(assignment.keyword.as_deref(), Some("export"));
        assert!(assignment.exported);
        let WordPart::Variable(v) = &assignment.value.parts[0] else {
            panic!("{:?}", assignment.value)
        };
        assert_eq!(v.operator.as_deref(), Some(":-"));
        let operand = v.operand.as_ref().unwrap();
        assert_eq!(operand.literal().as_deref(), Some("http://127.0.0.1:3210"));

        // The default's URL is found, and no other URL is invented.
        assert_eq!(f.urls.len(), 1);
        let url = &f.urls[0];
        assert_eq!(url.scheme, "http");
        assert_eq!(url.host.literal().as_deref(), Some("127.0.0.1"));
        assert_eq!(url.port_number(), Some(3210));
        assert_eq!(url.span.range(), at(CONVEX, "http://127.0.0.1:3210"));
        assert_eq!(url.port.as_ref().unwrap().span.range(), at(CONVEX, "3210"));
        assert!(url.coder_app().is_none());
    }

    const STARTUP: &str = r#"#!/bin/sh
set -e
curl -fsSL https://code-server.dev/install.sh | sh -s -- --method=standalone
/tmp/code-server/bin/code-server --auth none --port 13337 >/tmp/code-server.log 2>&1 &
cd ~/app && pnpm install && pnpm dev --port 5173 &
npx next dev -p 3000
PORT=3000 node server.js
sudo -u coder bash -c 'cd /srv && PORT=8080 nohup node api.js --port=8081 &'
vite --host 0.0.0.0 -p3001 --strictPort -- --port 1
"#;

    #[test]
    fn coder_startup_script_commands() {
        let f = facts(STARTUP);
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
        // (program name, flag names, static value, background)
        let table: &[(&str, &[&str], Option<&str>, bool)] = &[
            ("code-server", &["--port"], Some("13337"), true),
            ("code-server", &["--auth"], Some("none"), true),
            ("pnpm", &["--port"], Some("5173"), true),
            ("npx", &["-p", "--port"], Some("3000"), false),
            ("vite", &["-p"], Some("3001"), false),
            ("vite", &["--host"], Some("0.0.0.0"), false),
            ("vite", &["--strictPort"], None, false),
        ];
        for (program, flags, value, background) in table {
            let c = f
                .commands
                .iter()
                .find(|c| c.program_name.as_deref() == Some(program) && c.flag(flags).is_some())
                .unwrap_or_else(|| panic!("{program} {flags:?}"));
            let flag = c.flag(flags).unwrap();
            assert_eq!(
                flag.value.as_ref().and_then(Word::literal).as_deref(),
                *value
            );
            assert_eq!(c.background, *background, "{program}");
        }
        // `sh -s -- --method=standalone`: after `--` nothing is a flag.
        assert!(command(&f, "sh").flags.iter().all(|fl| fl.name == "-s"));
        // `pnpm install` and `pnpm dev` are two commands; only `dev` has the flag.
        let pnpm: Vec<_> = f
            .commands
            .iter()
            .filter(|c| c.program_name.as_deref() == Some("pnpm"))
            .collect();
        assert_eq!(pnpm.len(), 2);
        assert!(pnpm[0].flags.is_empty());
        // `-p3001` splits into flag and value with their own spans; `-- --port 1` is no flag.
        let vite = command(&f, "vite");
        let p = vite.flag(&["-p"]).unwrap();
        let p_at = at(STARTUP, "-p3001").start;
        assert_eq!(p.name_span.range(), p_at..p_at + 2);
        assert_eq!(p.value.as_ref().unwrap().span.range(), at(STARTUP, "3001"));
        assert!(vite.flag(&["--port"]).is_none());

        // `npx` is a launcher, not a shell wrapper: the model looks through it.
        let next = command(&f, "npx");
        assert!(next.wrappers.is_empty());
        assert_eq!(next.args[0].literal().as_deref(), Some("next"));

        let node = command(&f, "node");
        assert_eq!(node.env.len(), 1);
        assert_eq!(node.env[0].name, "PORT");
        assert_eq!(node.env[0].value.literal().as_deref(), Some("3000"));
        assert_eq!(node.env[0].value.span.range(), nth(STARTUP, "3000", 1));
        // Prefix assignments are the command's, not the script's.
        assert!(f.assignments.is_empty());

        let cs = command(&f, "code-server");
        assert_eq!(
            cs.program.literal().as_deref(),
            Some("/tmp/code-server/bin/code-server")
        );
        assert_eq!(
            cs.flag_value(&["--port"]).unwrap().span.range(),
            at(STARTUP, "13337")
        );
        assert!(
            f.file_writes.is_empty(),
            "a log redirect is not a file write"
        );
        assert_eq!(f.urls.len(), 1, "{:?}", f.urls);
    }

    #[test]
    fn bash_c_strings_are_parsed_with_outer_spans() {
        let f = facts(STARTUP);
        let bash = command(&f, "bash");
        assert_eq!(bash.wrappers[0].literal().as_deref(), Some("sudo"));
        let api = f
            .commands
            .iter()
            .find(|c| c.args.first().and_then(Word::literal).as_deref() == Some("api.js"))
            .expect("node inside bash -c");
        assert_eq!(api.wrappers[0].literal().as_deref(), Some("nohup"));
        assert_eq!(api.env[0].value.literal().as_deref(), Some("8080"));
        let env_at = at(STARTUP, "PORT=8080").start;
        assert_eq!(api.env[0].name_span.range(), env_at..env_at + 4);
        assert!(api.background);
        let port = api.flag_value(&["--port"]).unwrap();
        assert_eq!(port.literal().as_deref(), Some("8081"));
        assert_eq!(port.span.range(), at(STARTUP, "8081"));
        assert!(f
            .commands
            .iter()
            .any(|c| c.span.range() == at(STARTUP, "cd /srv")));

        // Double quotes, `sh -lc` and nested shells.
        let src = "sh -lc \"exec serve -l 4000\"\nbash -c 'bash -c \"x --port 9\"'\n";
        let f = facts(src);
        let serve = command(&f, "serve").flag_value(&["-l"]).unwrap();
        assert_eq!(serve.span.range(), at(src, "4000"));
        let x = command(&f, "x").flag_value(&["--port"]).unwrap();
        assert_eq!(x.span.range(), at(src, "9"));
        // Not scripts: `bash run.sh --color`, `bash -c` without argument.
        let f = facts("bash run.sh --color\nbash -c\n");
        assert_eq!(f.commands.len(), 2);
    }

    #[test]
    fn flags_in_every_syntax() {
        let src = "prog --port 3210 --port=3211 -p 3000 -p3001 --bind-addr 0.0.0.0:8080 \
                   -addr=:80 --verbose -it img --x=\"$P\" -p$PORT";
        let f = facts(src);
        let c = command(&f, "prog");
        let flags: Vec<(&str, Option<String>)> = c
            .flags
            .iter()
            .map(|fl| (fl.name.as_str(), fl.value.as_ref().map(Word::to_string)))
            .collect();
        let want: Vec<(&str, Option<String>)> = [
            ("--port", Some("3210")),
            ("--port", Some("3211")),
            ("-p", Some("3000")),
            ("-p", Some("3001")),
            ("--bind-addr", Some("0.0.0.0:8080")),
            ("-addr", Some(":80")),
            ("--verbose", None),
            ("-it", Some("img")),
            ("--x", Some("${P}")),
            ("-p", Some("${PORT}")),
        ]
        .into_iter()
        .map(|(n, v)| (n, v.map(str::to_string)))
        .collect();
        assert_eq!(flags, want);
        assert_eq!(
            c.flag_value(&["--port", "-p"]).unwrap().to_string(),
            "${PORT}"
        );
        let bind = c.flag_value(&["--bind-addr"]).unwrap();
        assert_eq!(bind.span.range(), at(src, "0.0.0.0:8080"));
        let eq = &c.flags[1];
        assert_eq!(eq.value.as_ref().unwrap().span.range(), at(src, "3211"));
        let eq_at = at(src, "--port=").start;
        assert_eq!(eq.name_span.range(), eq_at..eq_at + 6);
        let quoted = at(src, "\"$P\"");
        let x = c.flag_value(&["--x"]).unwrap();
        assert_eq!(x.span.range(), quoted.start + 1..quoted.end - 1);
    }

    #[test]
    fn assignments_with_keywords_and_parts() {
        let src = "A=1\nexport B=\"x$Y${Z:-d}$(date)\"\nlocal c=2\ndeclare -x D=3\nreadonly E\n\
                   F+=more\nif [ -n \"$X\" ]; then G=a; else G=b; fi\nH=\nI='lit $NOT'\n";
        let f = facts(src);
        let got: Vec<(&str, Option<&str>, bool, bool)> = f
            .assignments
            .iter()
            .map(|a| (a.name.as_str(), a.keyword.as_deref(), a.exported, a.append))
            .collect();
        assert_eq!(
            got,
            [
                ("A", None, false, false),
                ("B", Some("export"), true, false),
                ("c", Some("local"), false, false),
                ("D", Some("declare"), true, false),
                ("F", None, false, true),
                ("G", None, false, false),
                ("G", None, false, false),
                ("H", None, false, false),
                ("I", None, false, false),
            ]
        );
        let b = &f.assignments[1];
        let b_at = at(src, "B=").start;
        assert_eq!(b.name_span.range(), b_at..b_at + 1);
        assert_eq!(b.value.span.range(), at(src, "\"x$Y${Z:-d}$(date)\""));
        let kinds: Vec<String> = b
            .value
            .parts
            .iter()
            .map(|p| match p {
                WordPart::Literal { text, .. } => format!("lit {text}"),
                WordPart::Variable(v) => format!("var {} {:?}", v.name, v.operator),
                WordPart::CommandSubstitution { script, .. } => format!("cmd {script}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            ["lit x", "var Y None", "var Z Some(\":-\")", "cmd date"]
        );
        assert_eq!(b.value.parts[0].span().range(), b_at + 3..b_at + 4);
        assert_eq!(f.assignments[5].value.literal().as_deref(), Some("a"));
        assert_eq!(f.assignments[6].value.literal().as_deref(), Some("b"));
        let h = &f.assignments[7];
        let h_end = at(src, "H=").end;
        assert_eq!(h.value.literal().as_deref(), Some(""));
        assert_eq!(h.value.span.range(), h_end..h_end);
        assert_eq!(
            f.assignments[8].value.literal().as_deref(),
            Some("lit $NOT")
        );
        // `date` inside `$(...)` is a command too.
        assert!(f
            .commands
            .iter()
            .any(|c| c.program_name.as_deref() == Some("date")));
    }

    #[test]
    fn escapes_map_back_to_the_source() {
        let src = "echo a\\ b \"q\\\"uote\" $'x\\ny'\n";
        let f = facts(src);
        let args: Vec<Option<String>> =
            command(&f, "echo").args.iter().map(Word::literal).collect();
        assert_eq!(
            args,
            [
                Some("a b".to_string()),
                Some("q\"uote".into()),
                Some("x\ny".into())
            ]
        );
        let quote = &command(&f, "echo").args[1];
        // `q`, the escaped `"` (two bytes in the source), `uote`.
        let spans: Vec<_> = quote.parts.iter().map(|p| p.span().range()).collect();
        let q = at(src, "q\\").start;
        assert_eq!(spans, [q..q + 1, q + 1..q + 3, q + 3..q + 7]);
    }

    #[test]
    fn split_words_are_joined_again() {
        // tree-sitter-bash splits `$A/$B/x` after the second `$`; portolan joins the pieces.
        let src = "echo $A/$B/$C/x\n$BIN/$NAME/run --port 1\nexport X=http://$H:$P/x\nA=$B-$C.d D=$E-$F.g cmd\nL=$B-$C.d\n";
        let f = facts(src);
        let echo = command(&f, "echo");
        assert_eq!(echo.args.len(), 1);
        assert_eq!(vars(&echo.args[0]), ["A", "B", "C"]);
        assert_eq!(echo.args[0].to_string(), "${A}/${B}/${C}/x");
        let b = &echo.args[0].parts[2];
        assert_eq!(
            b.span().range(),
            at(src, "$B/").start..at(src, "$B/").start + 2
        );

        let run = command(&f, "run");
        assert_eq!(run.program.to_string(), "${BIN}/${NAME}/run");
        assert_eq!(
            run.flag_value(&["--port"])
                .and_then(Word::literal)
                .as_deref(),
            Some("1")
        );

        let x = f.assignments.iter().find(|a| a.name == "X").unwrap();
        assert_eq!(x.value.to_string(), "http://${H}:${P}/x");
        assert_eq!(x.span.range(), at(src, "X=http://$H:$P/x"));
        let url = f
            .urls
            .iter()
            .find(|u| u.span.range() == at(src, "http://$H:$P/x"))
            .unwrap();
        assert_eq!(
            (vars(&url.host), url.port.as_ref().map(vars)),
            (vec!["H"], Some(vec!["P"]))
        );

        let cmd = command(&f, "cmd");
        let env: Vec<String> = cmd
            .env
            .iter()
            .map(|a| format!("{}={}", a.name, a.value))
            .collect();
        assert_eq!(env, ["A=${B}-${C}.d", "D=${E}-${F}.g"]);
        // Without a program, the joined words are the script's assignments.
        let l = f.assignments.iter().find(|a| a.name == "L").unwrap();
        assert_eq!(l.value.to_string(), "${B}-${C}.d");
        assert!(f.commands.iter().all(|c| c.program.to_string() != "C.d"));
    }

    #[test]
    fn evaluate_applies_defaults_and_lookups() {
        let src = "A=\"${HOST:-localhost}:${PORT-3000}/${local.path}\"\nB=${X#p}\nC=\"$(id -u)\"\n";
        let f = facts(src);
        let mut lookup = |l: Lookup<'_>| match l {
            Lookup::Variable("PORT") => Some("8080".to_string()),
            Lookup::Variable(_) => None,
            Lookup::Hcl(expr) => Some(format!("<{expr}>")),
        };
        let a = &f.assignments[0].value;
        assert_eq!(
            a.evaluate(&mut lookup).as_deref(),
            Some("localhost:8080/<local.path>")
        );
        assert_eq!(f.assignments[1].value.evaluate(&mut lookup), None);
        assert_eq!(f.assignments[2].value.evaluate(&mut lookup), None);
        assert_eq!(
            a.to_string(),
            "${HOST:-localhost}:${PORT-3000}/${local.path}"
        );
    }

    const WRITES: &str = r#"cat > .env.local <<EOF
VITE_CONVEX_URL=${CONVEX_URL}
EOF
cat <<'EOF' >> "$HOME/.env"
A=$NOT_EXPANDED
EOF
echo "KEY=v" >> .env
printf '%s\n' "X=1" "Y=2" > f.env
tee config.env <<EOF
Z=3
EOF
{ echo A=1; echo -n B=2; } > grouped.env
echo "K=1" | sudo tee -a /etc/environment >/dev/null
cat <<EOF | tee piped.env
P=1
EOF
tee -a here.env <<< "H=1"
echo not-a-file
cat existing.env > copy.env
"#;

    #[test]
    fn heredoc_and_echo_writes() {
        let f = facts(WRITES);
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
        let heredoc = WriteKind::Heredoc { quoted: false };
        // (target, append, body as text, body span, kind)
        let table = [
            (
                ".env.local",
                false,
                "VITE_CONVEX_URL=${CONVEX_URL}\n",
                at(WRITES, "VITE_CONVEX_URL=${CONVEX_URL}\n"),
                heredoc,
            ),
            (
                "${HOME}/.env",
                true,
                "A=$NOT_EXPANDED\n",
                at(WRITES, "A=$NOT_EXPANDED\n"),
                WriteKind::Heredoc { quoted: true },
            ),
            (
                ".env",
                true,
                "KEY=v",
                at(WRITES, "\"KEY=v\""),
                WriteKind::Echo,
            ),
            (
                "f.env",
                false,
                "X=1\nY=2\n",
                at(WRITES, "'%s\\n' \"X=1\" \"Y=2\""),
                WriteKind::Printf,
            ),
            ("config.env", false, "Z=3\n", at(WRITES, "Z=3\n"), heredoc),
            (
                "grouped.env",
                false,
                "A=1",
                at(WRITES, "A=1;").start..at(WRITES, "A=1;").end - 1,
                WriteKind::Echo,
            ),
            (
                "grouped.env",
                true,
                "B=2",
                at(WRITES, "B=2"),
                WriteKind::Echo,
            ),
            (
                "/etc/environment",
                true,
                "K=1",
                at(WRITES, "\"K=1\""),
                WriteKind::Echo,
            ),
            ("piped.env", false, "P=1\n", at(WRITES, "P=1\n"), heredoc),
            (
                "here.env",
                true,
                "H=1",
                at(WRITES, "\"H=1\""),
                WriteKind::HereString,
            ),
        ];
        assert_eq!(f.file_writes.len(), table.len(), "{:#?}", f.file_writes);
        for (write, (target, append, body, span, kind)) in f.file_writes.iter().zip(table) {
            assert_eq!(write.target.to_string(), target);
            assert_eq!(write.append, append, "{target}");
            assert_eq!(write.body.to_string(), body, "{target}");
            assert_eq!(write.body.span.range(), span, "{target}");
            assert_eq!(write.kind, kind, "{target}");
        }
        // The quoted heredoc is one literal whose bytes map onto the file: an env parser can use it.
        let quoted = &f.file_writes[1].body;
        assert_eq!(quoted.parts.len(), 1);
        assert_eq!(quoted.literal().as_deref(), Some("A=$NOT_EXPANDED\n"));
        // The echo body keeps the span of the text inside the quotes.
        let echo = &f.file_writes[2].body;
        assert_eq!(echo.parts[0].span().range(), at(WRITES, "KEY=v"));
        // printf pieces from a verbatim format map exactly.
        let newline = at(WRITES, "\\n'").start;
        assert_eq!(
            f.file_writes[3].body.parts[1].span().range(),
            newline..newline + 2
        );
    }

    #[test]
    fn sourced_files() {
        let src = "source ./env.sh\n. \"$HOME/.profile\"\necho . x\n";
        let f = facts(src);
        let paths: Vec<String> = f.sourced_files.iter().map(|s| s.path.to_string()).collect();
        assert_eq!(paths, ["./env.sh", "${HOME}/.profile"]);
        assert_eq!(f.sourced_files[0].path.span.range(), at(src, "./env.sh"));
    }

    const CODER_URLS: &str = r#"DOMAIN="coder.example.com"
export CONVEX_CLOUD_ORIGIN="https://convex-api--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.${DOMAIN}"
SITE=https://convex-site--main--$CODER_WORKSPACE_NAME--$CODER_WORKSPACE_OWNER_NAME.$DOMAIN/http
PF="https://3210s--${WORKSPACE}--${OWNER}.coder.example.com/api?x=1"
LITERAL=https://app--ws--alice.coder.example.com:8443
curl -s "http://localhost:${PORT:-3000}/health" https://example.com https://xn--80ak6aa92e.com https://a--b.example.com https://UP--ws--o.example.com
"#;

    #[test]
    fn urls_built_from_coder_variables() {
        let f = facts(CODER_URLS);
        let shown: Vec<String> = f.urls.iter().map(Url::to_string).collect();
        assert_eq!(
            shown,
            [
                "https://convex-api--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.${DOMAIN}",
                "https://convex-site--main--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.${DOMAIN}/http",
                "https://3210s--${WORKSPACE}--${OWNER}.coder.example.com/api?x=1",
                "https://app--ws--alice.coder.example.com:8443",
                "http://localhost:${PORT:-3000}/health",
                "https://example.com",
                "https://xn--80ak6aa92e.com",
                "https://a--b.example.com",
                "https://UP--ws--o.example.com",
            ]
        );
        let api = f.urls[0].coder_app().expect("coder app");
        assert_eq!(api.slug, "convex-api");
        assert_eq!(api.slug_span.range(), at(CODER_URLS, "convex-api"));
        assert_eq!((api.agent, api.port), (None, None));
        assert_eq!(vars(&api.workspace), ["CODER_WORKSPACE_NAME"]);
        assert_eq!(vars(&api.owner), ["CODER_WORKSPACE_OWNER_NAME"]);
        assert_eq!(api.domain.to_string(), "${DOMAIN}");
        let whole =
            "https://convex-api--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.${DOMAIN}";
        assert_eq!(f.urls[0].span.range(), at(CODER_URLS, whole));

        let site = f.urls[1].coder_app().unwrap();
        assert_eq!(site.slug, "convex-site");
        assert_eq!(site.agent.map(|a| a.to_string()).as_deref(), Some("main"));
        assert_eq!(f.urls[1].path.literal().as_deref(), Some("/http"));

        let pf = f.urls[2].coder_app().unwrap();
        assert_eq!(
            (pf.slug.as_str(), pf.port, pf.https_upstream),
            ("3210s", Some(3210), true)
        );
        assert_eq!(f.urls[2].path.span.range(), at(CODER_URLS, "/api?x=1"));

        let literal = f.urls[3].coder_app().unwrap();
        assert_eq!(literal.slug, "app");
        assert_eq!(
            (literal.workspace.to_string(), literal.owner.to_string()),
            ("ws".into(), "alice".into())
        );
        assert_eq!(f.urls[3].port_number(), Some(8443));

        let local = &f.urls[4];
        assert_eq!(local.host.literal().as_deref(), Some("localhost"));
        assert_eq!(local.port.as_ref().unwrap().to_string(), "${PORT:-3000}");
        assert_eq!(local.port_number(), None);
        // Not Coder hosts: no `--`, one `--` (punycode), too few parts, an invalid slug.
        for url in &f.urls[4..] {
            assert!(url.coder_app().is_none(), "{url}");
        }
    }

    #[test]
    fn heredoc_urls_and_no_urls_in_comments() {
        let src = "# see https://docs.example.com\ncat > .env <<EOF\n\
                   SITE_URL=https://app--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.example.com\nEOF\n";
        let f = facts(src);
        assert_eq!(f.urls.len(), 1);
        assert_eq!(f.urls[0].coder_app().unwrap().slug, "app");
        let whole =
            "https://app--${CODER_WORKSPACE_NAME}--${CODER_WORKSPACE_OWNER_NAME}.example.com";
        assert_eq!(f.urls[0].span.range(), at(src, whole));
    }

    const TF: &str = r#"resource "coder_agent" "main" {
  startup_script = <<-EOT
    set -e
    code-server --port ${local.port} --auth none &
    echo "URL=https://app--$${CODER_WORKSPACE_NAME}--$${CODER_WORKSPACE_OWNER_NAME}.example.com" >> .env
    %{ if var.dev }
    pnpm dev --port ${var.dev_port}
    %{ endif }
    serve --listen=${lookup(var.ports, "web", 80)}
  EOT
}
"#;

    #[test]
    fn base_offset_and_terraform_template_pieces() {
        let start = at(TF, "    set -e").start;
        let end = at(TF, "  EOT\n}").start;
        let f = parse_script(&TF[start..end], FileId(3), start);
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);

        let cs = command(&f, "code-server");
        assert_eq!(cs.span.file, FileId(3));
        assert_eq!(
            cs.span.range(),
            at(TF, "code-server --port ${local.port} --auth none")
        );
        assert!(cs.background);
        let port = cs.flag_value(&["--port"]).unwrap();
        assert_eq!(port.span.range(), at(TF, "${local.port}"));
        assert!(matches!(
            &port.parts[..],
            [WordPart::HclInterpolation { expression, directive: false, .. }] if expression == "local.port"
        ));

        // `$${X}` is the shell's `${X}`.
        let app = f.urls[0].coder_app().unwrap();
        assert_eq!(app.slug, "app");
        assert_eq!(
            app.slug_span.range(),
            at(TF, "app--").start..at(TF, "app--").start + 3
        );
        assert_eq!(vars(&app.workspace), ["CODER_WORKSPACE_NAME"]);
        // The span of `${X}` in `$${X}`: the escaping `$` is Terraform's, not the shell's.
        let escaped = at(TF, "$${CODER_WORKSPACE_NAME}");
        assert_eq!(app.workspace.span.range(), escaped.start + 1..escaped.end);
        let body = &f.file_writes[0].body;
        assert_eq!(body.parts[0].span().range(), at(TF, "URL=https://app--"));

        // Both sides of a `%{ if }` are read; the directive itself is not a command.
        let pnpm = command(&f, "pnpm");
        assert_eq!(
            pnpm.flag_value(&["--port"]).unwrap().to_string(),
            "${var.dev_port}"
        );
        let programs: Vec<String> = f.commands.iter().map(|c| c.program.to_string()).collect();
        assert_eq!(programs, ["set", "code-server", "echo", "pnpm", "serve"]);
        let serve = command(&f, "serve").flag_value(&["--listen"]).unwrap();
        assert_eq!(
            serve.span.range(),
            at(TF, "${lookup(var.ports, \"web\", 80)}")
        );

        let mut lookup = |l: Lookup<'_>| match l {
            Lookup::Hcl("local.port") => Some("13337".to_string()),
            _ => None,
        };
        assert_eq!(port.evaluate(&mut lookup).as_deref(), Some("13337"));
    }

    #[test]
    fn shell_expansions_are_not_taken_for_terraform() {
        let f = facts("A=${B:-x} C=${D} E=${#F} G=${H[0]} I=$$\n");
        let hcl = |w: &Word| {
            w.parts
                .iter()
                .any(|p| matches!(p, WordPart::HclInterpolation { .. }))
        };
        assert!(f.assignments.iter().all(|a| !hcl(&a.value)));
        assert_eq!(f.assignments[0].value.to_string(), "${B:-x}");
        assert_eq!(f.assignments[1].value.to_string(), "${D}");
        assert!(matches!(
            f.assignments[2].value.parts[0],
            WordPart::Dynamic { .. }
        ));
        assert_eq!(vars(&f.assignments[4].value), ["$"]);
    }

    #[test]
    fn pathological_nesting_is_refused_before_parsing() {
        for src in ["{".repeat(MAX_NESTING + 1), "\"${".repeat(MAX_NESTING + 1)] {
            let f = facts(&src);
            assert_eq!(f.diagnostics.len(), 1, "{:?}", f.diagnostics);
            assert!(f.diagnostics[0]
                .message
                .contains("nested more than 1000 levels"));
            assert_eq!(f.diagnostics[0].primary.span.range(), 0..src.len());
        }
        // At the limit it is parsed (and is a syntax error, reported once per region).
        let f = facts(&"{".repeat(MAX_NESTING));
        assert!(f.diagnostics[0].message.starts_with("shell syntax error"));
    }

    /// `(()` repeated makes the grammar's error recovery rescan the rest of the file at every
    /// token (quadratic); the lexer's reads are counted and the parse is given up.
    #[test]
    fn error_recovery_that_rescans_the_file_is_given_up() {
        let src = "(()".repeat(900); // nested 900 deep: under MAX_NESTING
        assert!(nesting_depth(src.as_bytes()) <= MAX_NESTING);
        let f = facts(&src);
        assert_eq!(f.diagnostics.len(), 1, "{:?}", f.diagnostics);
        assert!(f.diagnostics[0].message.contains("too complex"));
        // Ordinary broken and well-formed scripts read each byte about once.
        let ordinary = "echo a\necho )\nif true; then\n  x=$(( 1 + (2 * 3) ))\nfi\n".repeat(2000);
        assert!(parse_bounded(ordinary.as_bytes(), None).is_ok());
    }

    #[test]
    fn syntax_errors_are_capped_per_script() {
        let src = "echo )\n".repeat(MAX_SYNTAX_ERRORS + 5);
        let f = facts(&src);
        assert_eq!(
            f.diagnostics.len(),
            MAX_SYNTAX_ERRORS,
            "{:?}",
            f.diagnostics
        );
        assert!(f.diagnostics[MAX_SYNTAX_ERRORS - 1]
            .message
            .ends_with("(and 5 more syntax errors after it, not shown)"));
    }

    #[test]
    fn syntax_errors_one_per_region() {
        let src = "echo a\necho )\necho c\n";
        let f = facts(src);
        assert_eq!(f.diagnostics.len(), 1, "{:?}", f.diagnostics);
        let d = &f.diagnostics[0];
        assert!(d.is_error());
        assert_eq!(d.primary.span.range(), at(src, ")"));
        let first_args: Vec<_> = f
            .commands
            .iter()
            .filter_map(|c| c.args.first()?.literal())
            .collect();
        assert!(first_args.contains(&"c".to_string()));

        let src = "echo ok\nif true; then\n  echo b\n";
        let f = facts(src);
        assert_eq!(f.diagnostics.len(), 1);
        assert_eq!(f.diagnostics[0].message, "shell syntax error: missing `fi`");
        assert_eq!(f.diagnostics[0].related[0].span.range(), at(src, "if"));
        assert_eq!(f.commands.len(), 3);

        let src = "code-server --port 8080 &\nif then fi\necho \"unterminated\n";
        let f = facts(src);
        assert!(!f.diagnostics.is_empty());
        assert!(f.diagnostics.len() <= 2, "{:?}", f.diagnostics);
        let if_at = at(src, "if").start as u32;
        assert!(f
            .diagnostics
            .iter()
            .all(|d| d.is_error() && d.primary.span.start >= if_at));
        let cs = command(&f, "code-server");
        assert_eq!(
            cs.flag_value(&["--port"]).unwrap().literal().as_deref(),
            Some("8080")
        );

        // Syntax errors inside a `bash -c '...'` string point into it.
        let src = "bash -c 'echo )'\n";
        let f = facts(src);
        assert_eq!(f.diagnostics.len(), 1, "{:?}", f.diagnostics);
        assert_eq!(f.diagnostics[0].primary.span.range(), at(src, ")"));

        assert!(facts(CONVEX).diagnostics.is_empty());
    }

    #[test]
    fn garbage_does_not_panic() {
        let nasty = [
            "\0\0$(".to_string(),
            "${".into(),
            "$${".into(),
            "%{".into(),
            "%{ if".into(),
            "${ local.x".into(),
            "'".into(),
            "\"".into(),
            "<<EOF".into(),
            "cat <<EOF\n${local.x}".into(),
            "\u{feff}é\u{1F600}=${é}".into(),
            "bash -c '".into(),
            "bash -c 'bash -c \"bash -c x".into(),
            "(".repeat(5000),
            "$(".repeat(3000),
            "${a:-".repeat(2000),
            "${ ${ ${".repeat(2000),
            "bash -c '".repeat(50),
            "echo \\".into(),
            "printf '%".into(),
            "printf '\\".into(),
            "https://".into(),
            "x=https://--.".into(),
            "%%{ $${ %{ endif }".into(),
        ];
        for text in nasty {
            let f = parse_script(&text, FileId(1), 7);
            assert_spans_inside(&f, 7, text.len());
        }
        let binary: Vec<u8> = (0..=255u8).cycle().take(2000).collect();
        let text = String::from_utf8_lossy(&binary);
        assert_spans_inside(&parse_script(&text, FileId(1), 0), 0, text.len());
    }

    /// Every span of every fact lies within `base..base + len`.
    fn assert_spans_inside(f: &ScriptFacts, base: usize, len: usize) {
        let mut spans = Vec::new();
        let word = |w: &Word, spans: &mut Vec<Span>| {
            spans.push(w.span);
            spans.extend(w.parts.iter().map(WordPart::span));
        };
        for a in f
            .assignments
            .iter()
            .chain(f.commands.iter().flat_map(|c| &c.env))
        {
            spans.extend([a.span, a.name_span]);
            word(&a.value, &mut spans);
        }
        for c in &f.commands {
            spans.push(c.span);
            word(&c.program, &mut spans);
            for a in &c.args {
                word(a, &mut spans);
            }
            for fl in &c.flags {
                spans.push(fl.name_span);
                if let Some(v) = &fl.value {
                    word(v, &mut spans);
                }
            }
        }
        for u in &f.urls {
            spans.push(u.span);
            word(&u.host, &mut spans);
            word(&u.path, &mut spans);
        }
        for w in &f.file_writes {
            spans.push(w.span);
            word(&w.target, &mut spans);
            word(&w.body, &mut spans);
        }
        spans.extend(f.diagnostics.iter().map(|d| d.primary.span));
        for s in spans {
            let inside =
                s.start as usize >= base && s.end as usize <= base + len && s.start <= s.end;
            assert!(inside, "{s:?} outside {base}+{len}");
        }
    }

    /// A small deterministic PRNG (xorshift64*), enough for fuzzing without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn random_bytes_and_truncations_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let corpus = [CONVEX, STARTUP, WRITES, CODER_URLS, TF];
        let alphabet = b"$%{}()[]'\"`\\<>|&;= \n\t-_.:/#~!*?abcEOF0123456789";
        for round in 0..300 {
            let script = corpus[round % corpus.len()];
            // A truncation at a random character boundary.
            let mut cut = rng.below(script.len() + 1);
            while !script.is_char_boundary(cut) {
                cut -= 1;
            }
            let piece = &script[..cut];
            assert_spans_inside(&parse_script(piece, FileId(0), 100), 100, piece.len());
            // Shell punctuation spliced in at random places.
            let mut bytes = script.as_bytes().to_vec();
            for _ in 0..1 + rng.below(20) {
                let at = rng.below(bytes.len() + 1);
                bytes.insert(at, alphabet[rng.below(alphabet.len())]);
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            assert_spans_inside(&parse_script(&text, FileId(0), 0), 0, text.len());
            // Random bytes.
            let noise: Vec<u8> = (0..rng.below(400)).map(|_| rng.next() as u8).collect();
            let text = String::from_utf8_lossy(&noise).into_owned();
            assert_spans_inside(&parse_script(&text, FileId(0), 0), 0, text.len());
        }
    }
}
