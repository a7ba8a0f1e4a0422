//! Shell scripts to facts.
//!
//! Reads the shell scripts of a workspace (a `coder_agent`'s `startup_script` heredoc, a
//! `coder_script.script`, `*.sh` files, scripts mounted into compose containers) with the
//! tree-sitter bash grammar and produces [`ScriptFacts`]: assignments, simple commands with their
//! flags, http(s) URLs, files written from heredocs/`echo`/`printf`, sourced files, and one
//! diagnostic per syntax-error region. Every fact keeps its [`Span`](crate::source::Span). `text`
//! may be a piece of a larger file (a heredoc inside a `.tf` file): pass its byte offset as `base`
//! and every span points into that larger file.
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
//! - Values (`values.rs`): a variable assigned once holds its value wherever it is used
//!   (several different assignments: unknown); arrays and `"${a[@]}"`, `set --` and `"$@"`,
//!   field splitting of unquoted expansions, `export`, `set -a`, a program held in a variable.
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
//!
//! ## Layout
//! The fact types are in `facts.rs` and `words.rs`. `template.rs` masks Terraform template pieces
//! before the grammar sees the text; `walk.rs` walks the syntax tree and reports syntax errors,
//! and what it reads is split by kind: `words.rs`, `commands.rs` (with assignments), `flags.rs`,
//! `writes.rs`, `urls.rs` (with Coder app hosts).

mod commands;
mod facts;
mod flags;
mod glob;
mod template;
#[cfg(test)]
mod testing;
mod urls;
mod values;
mod walk;
mod words;
mod writes;

pub use commands::{wrapper, Wrapper, BUILTINS, SHELLS, WRAPPERS};
pub use facts::{
    Assignment, CoderAppHost, Command, FileWrite, Flag, ScriptFacts, SourcedFile, Url, WriteKind,
};
pub use glob::unquoted_glob;
pub use urls::{coder_app_host, find_urls, PartialText, TextPiece};
pub use values::{Field, Values};
pub use words::{Lookup, VariableRef, Word, WordPart};

use crate::diagnostic::Diagnostic;
use crate::source::FileId;
use template::Template;
use tree_sitter::{Parser, Point, Range};
use walk::{Ctx, Walker};

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

/// Parses `text`, which starts at byte `base` of file `file`, into facts. Never panics; what the
/// grammar cannot read becomes an error diagnostic and the rest is still read. A script refused
/// whole (too deep, too costly to parse) gives one warning and [`ScriptFacts::refused`].
pub fn parse_script(text: &str, file: FileId, base: usize) -> ScriptFacts {
    parse_masked(&Template::mask(text), text, file, base)
}

/// Parses a file that Terraform's `templatefile()` reads: every `${...}` in it is a Terraform
/// interpolation, read back as [`WordPart::HclInterpolation`] (its expression is what
/// [`Lookup::Hcl`] asks for, a binding's name for `${PORT}`), and `$${X}` is the shell's `${X}`.
pub fn parse_template_file(text: &str, file: FileId, base: usize) -> ScriptFacts {
    parse_masked(&Template::mask_template_file(text), text, file, base)
}

fn parse_masked(template: &Template, text: &str, file: FileId, base: usize) -> ScriptFacts {
    let mut walker = Walker {
        file,
        base,
        src: &template.text,
        template,
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
                .push(Diagnostic::warning(span, refused.message()));
            walker.facts.refused = true;
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

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::source::Span;

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
