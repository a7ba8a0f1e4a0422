//! The facts one shell script yields: [`ScriptFacts`] and the assignments, commands, flags, URLs,
//! file writes and sourced files it holds. Every fact keeps its [`Span`].

use super::Word;
use crate::diagnostic::Diagnostic;
use crate::source::Span;

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
    /// Names exported without a value here (`export PORT`, `declare -x PORT`), with their spans.
    pub exported_names: Vec<(String, Span)>,
    /// Syntax errors (one per region) and warnings about parts that were skipped.
    pub diagnostics: Vec<Diagnostic>,
    /// The script was not parsed at all (too deep or too costly): its one warning says why.
    pub refused: bool,
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
    /// `NAME=(a b c)`: the array's elements (then `value` is the whole `(...)`, dynamic).
    pub elements: Option<Vec<Word>>,
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
