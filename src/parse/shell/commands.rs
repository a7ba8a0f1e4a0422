//! Simple commands and assignments: a command's words, the wrappers looked through (`exec`,
//! `sudo`, `env A=1`, ...), and `bash -c '...'` strings parsed again as scripts.

use super::flags::parse_flags;
use super::walk::{children, field_of, is_wordish, Ctx, Walker};
use super::words::{empty_word, join_words};
use super::MAX_SHELL_NESTING;
use super::{find_urls, parse_bounded, Assignment, Command, SourcedFile, Url, Word, WordPart};
use tree_sitter::{Node, Range};

/// Programs whose `-c` argument is a script.
/// Shells: they run scripts (`-c`, stdin, a file); what listens is in the script.
pub const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ash", "ksh"];

/// A command read from the tree, with the nodes of its arguments (to find a `-c` script).
pub(super) struct ReadCommand<'t> {
    pub(super) command: Command,
    /// `None` for an argument joined from several nodes.
    arg_nodes: Vec<Option<Node<'t>>>,
}

impl<'a> Walker<'a> {
    // -- assignments ---------------------------------------------------------------------------

    pub(super) fn assignment(
        &self,
        node: Node<'_>,
        keyword: Option<&str>,
        exported: bool,
    ) -> Assignment {
        let name_node = node.child_by_field_name("name");
        let value_node = node.child_by_field_name("value");
        let elements = value_node.filter(|v| v.kind() == "array").map(|array| {
            children(array)
                .into_iter()
                .filter(|c| c.is_named() && c.kind() != "comment")
                .map(|c| self.word(c, 0))
                .collect()
        });
        let value = match value_node {
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
            elements,
        }
    }

    pub(super) fn declaration(&mut self, node: Node<'_>) {
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
            } else if exported && kid.kind() == "variable_name" {
                let name = self.text(kid).to_string();
                self.facts.exported_names.push((name, self.node_span(kid)));
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
    pub(super) fn command(&mut self, node: Node<'_>, ctx: Ctx) -> Option<usize> {
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

    pub(super) fn read_command<'t>(&self, node: Node<'t>) -> Option<ReadCommand<'t>> {
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
        while let Some(name) = words
            .get(i)
            .and_then(|(w, _)| w.literal().or_else(|| self.wrapper_variable(w)))
        {
            let Some(wrapper) = wrapper(basename(&name)) else {
                break;
            };
            let rest = words.get(i + 1..).unwrap_or(&[]);
            let mut next = i + 1 + count_options(rest, wrapper.value_flags) + wrapper.operands;
            let mut wrapper_env = Vec::new();
            if wrapper.takes_assignments {
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

    /// The wrapper an unquoted `$SUDO` runs when every assignment of it so far is that
    /// wrapper's name or nothing (`SUDO=sudo` in one branch, `SUDO=""` in the other): the
    /// program is the word after it either way.
    fn wrapper_variable(&self, word: &Word) -> Option<String> {
        let [WordPart::Variable(v)] = word.parts.as_slice() else {
            return None;
        };
        if v.operator.is_some() || word.span != v.span {
            return None;
        }
        let mut found: Option<String> = None;
        for a in self.facts.assignments.iter().filter(|a| a.name == v.name) {
            let text = a
                .value
                .literal()
                .filter(|_| a.elements.is_none() && !a.append)?;
            if text.is_empty() {
                continue;
            }
            wrapper(basename(&text))?;
            if found.as_ref().is_some_and(|f| *f != text) {
                return None;
            }
            found = Some(text);
        }
        found
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
}

/// A program that runs the program after it: `exec`, `sudo -u app`, `timeout 5`, `env K=V`.
#[derive(Debug)]
pub struct Wrapper {
    pub name: &'static str,
    /// Its options that take a value (`sudo -u USER`).
    pub value_flags: &'static [&'static str],
    /// Words between its options and the program (`timeout DURATION`).
    pub operands: usize,
    /// Whether `NAME=value` words before the program set its environment (`env`, `sudo`).
    pub takes_assignments: bool,
}

/// Every wrapper the shell and the model look through to find the program: the one list.
pub const WRAPPERS: &[Wrapper] = &[
    wrapper_of("exec", &["-a"]),
    wrapper_of("nohup", &[]),
    wrapper_of("setsid", &[]),
    wrapper_of("command", &[]),
    wrapper_of("time", &[]),
    Wrapper {
        takes_assignments: true,
        ..wrapper_of(
            "sudo",
            &[
                "-u", "-g", "-U", "-C", "-D", "-h", "-p", "-r", "-t", "-T", "-R",
            ],
        )
    },
    Wrapper {
        takes_assignments: true,
        ..wrapper_of(
            "doas",
            &[
                "-u", "-g", "-U", "-C", "-D", "-h", "-p", "-r", "-t", "-T", "-R",
            ],
        )
    },
    Wrapper {
        takes_assignments: true,
        ..wrapper_of(
            "env",
            &["-u", "-C", "-S", "--unset", "--chdir", "--split-string"],
        )
    },
    wrapper_of("nice", &["-n", "--adjustment"]),
    Wrapper {
        operands: 1,
        ..wrapper_of("timeout", &["-s", "-k", "--signal", "--kill-after"])
    },
    wrapper_of("stdbuf", &["-i", "-o", "-e"]),
];

/// Shell builtins: their arguments never start a program (`set -- --port 1`, `echo --port 1`).
pub const BUILTINS: &[&str] = &[
    "set", "echo", "printf", "export", "local", "declare", "readonly", "typeset", "read", "test",
    "[", "[[", "shift", "cd", "exit", "return", "true", "false", "trap", "wait", "kill", "sleep",
    "unset", "alias", "eval", "source", ".", "let", "getopts", "type", "hash",
];

const fn wrapper_of(name: &'static str, value_flags: &'static [&'static str]) -> Wrapper {
    Wrapper {
        name,
        value_flags,
        operands: 0,
        takes_assignments: false,
    }
}

/// The wrapper named `name` (a base name: `sudo`, not `/usr/bin/sudo`).
pub fn wrapper(name: &str) -> Option<&'static Wrapper> {
    WRAPPERS.iter().find(|w| w.name == name)
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
        elements: None,
    })
}

pub(super) fn program_name(program: &Word) -> Option<String> {
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

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn is_identifier(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use crate::parse::shell::testing::*;
    use crate::parse::shell::*;

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
    fn sourced_files() {
        let src = "source ./env.sh\n. \"$HOME/.profile\"\necho . x\n";
        let f = facts(src);
        let paths: Vec<String> = f.sourced_files.iter().map(|s| s.path.to_string()).collect();
        assert_eq!(paths, ["./env.sh", "${HOME}/.profile"]);
        assert_eq!(f.sourced_files[0].path.span.range(), at(src, "./env.sh"));
    }
}
