//! How the template's agents get started besides their `init_script`: the containers that
//! may run one, commands that run the agent itself (`coder agent`, the knowledge base's
//! `agent_start`), and what a container runs instead.

use super::template::{Container, ContainerRuntime, Value};
use super::{FileKind, Workspace};
use crate::knowledge::ContainerForm;
use crate::parse::shell::SHELLS;
use crate::source::Span;

impl Workspace {
    /// The containers of the template's compute resources (the knowledge base's `compute`).
    pub fn containers(&self) -> Vec<Container<'_>> {
        let Some(module) = &self.template else {
            return Vec::new();
        };
        module.containers(|resource_type| {
            Some(match self.knowledge.compute(resource_type)?.containers? {
                ContainerForm::Docker => ContainerRuntime::Docker,
                ContainerForm::Kubernetes => ContainerRuntime::Kubernetes,
            })
        })
    }

    /// The first file of the template or of its scripts that runs the agent itself
    /// (`coder agent`, outside comments): where an agent may be started with its token.
    pub fn agent_command(&self) -> Option<Span> {
        let command = &self.knowledge.agent_start.command;
        if command.is_empty() {
            return None;
        }
        self.kinds
            .iter()
            .filter(|(_, k)| matches!(k, FileKind::Terraform | FileKind::Script))
            .find_map(|(id, _)| {
                let file = self.sources.get(*id);
                let at = runs_command(&file.text, command)?;
                Some(Span::new(*id, at, at + 1))
            })
    }

    /// What a container runs instead of an agent: its entrypoint (and command), when every
    /// word of it is known and every program it runs is one that never starts an agent (a
    /// known server, or one of the knowledge base's `idle_programs`). `None` when the image's
    /// own entrypoint runs, or the command could run anything (a script of its own).
    pub fn runs_instead_of_agent(&self, container: &Container<'_>) -> Option<(Span, String)> {
        let entrypoint = container.entrypoint?;
        let mut words = known_words(&entrypoint.value.value)?;
        if let Some(command) = container.command {
            words.extend(known_words(&command.value.value)?);
        }
        let first = basename(words.first()?);
        let programs: Vec<String> =
            if SHELLS.contains(&first) && words.get(1).map(String::as_str) == Some("-c") {
                script_programs(words.get(2)?)
            } else {
                vec![first.to_owned()]
            };
        let kb = &self.knowledge;
        let never_starts =
            |p: &String| kb.program(p).is_some() || kb.agent_start.idle_programs.contains(p);
        if programs.is_empty() || !programs.iter().all(never_starts) {
            return None;
        }
        Some((entrypoint.value.span, words.join(" ")))
    }
}

/// Every word of a list or string value, when all are known strings.
fn known_words(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::List(items) => items
            .iter()
            .map(|i| i.value.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

/// The file name of a program word (`/usr/bin/sleep` → `sleep`), quotes removed.
fn basename(word: &str) -> &str {
    let word = word.trim_matches(|c| c == '"' || c == '\'');
    word.rsplit('/').next().unwrap_or(word)
}

/// The program of each command of a small script (`set -e; exec sleep infinity`): the first
/// word of each, after `exec` and `VAR=value` prefixes.
fn script_programs(script: &str) -> Vec<String> {
    script
        .split(['\n', ';', '&', '|'])
        .filter_map(|command| {
            command
                .split_whitespace()
                .find(|w| *w != "exec" && !w.contains('='))
                .map(|w| basename(w).to_owned())
        })
        .collect()
}

/// Where the first line of `text` starts that runs a command whose words begin with `command`
/// (`coder agent`; a program word counts by its file name, `/tmp/coder agent`), outside `#` and
/// `//` comments.
fn runs_command(text: &str, command: &[String]) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let code = line
            .find(['#'])
            .filter(|i| *i == 0 || line[..*i].ends_with(char::is_whitespace))
            .map_or(line, |i| &line[..i]);
        let code = match code.trim_start().starts_with("//") {
            true => "",
            false => code,
        };
        let words: Vec<&str> = code
            .split(|c: char| c.is_whitespace() || "();&|`,[]".contains(c))
            .filter(|w| !w.is_empty())
            .collect();
        let runs = (0..words.len()).any(|i| {
            command.iter().enumerate().all(|(k, part)| {
                words.get(i + k).is_some_and(|w| {
                    let w = if k == 0 {
                        basename(w)
                    } else {
                        w.trim_matches(|c| c == '"' || c == '\'')
                    };
                    w == part
                })
            })
        });
        if runs {
            return Some(offset + (line.len() - line.trim_start().len()));
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_that_run_the_agent() {
        let cmd = vec!["coder".to_owned(), "agent".to_owned()];
        let cases: &[(&str, Option<usize>)] = &[
            ("coder agent\n", Some(0)),
            (
                "export CODER_AGENT_TOKEN=x\n  exec /tmp/coder agent\n",
                Some(29),
            ),
            ("\"${BINARY_DIR}/coder\" agent --log-dir /tmp\n", Some(0)),
            ("command = [\"coder\", \"agent\"]\n", Some(0)),
            ("# coder agent puts this on the PATH\n", None),
            ("echo hi # then coder agent\n", None),
            ("// coder agent\n", None),
            ("coder agent-firewall -- curl x\n", None),
            ("coder stat cpu\n", None),
            ("recoder agent\n", None),
        ];
        for (text, want) in cases {
            assert_eq!(runs_command(text, &cmd), *want, "{text:?}");
        }
    }

    #[test]
    fn programs_of_a_small_script() {
        assert_eq!(
            script_programs("set -e; exec sleep infinity"),
            ["set", "sleep"]
        );
        assert_eq!(script_programs("PORT=1 /usr/bin/node app.js"), ["node"]);
    }
}
