//! `rendered-file-drift` (PT701): a file portolan renders from the spec differs from the file on disk.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::{FileKind, Workspace};
use crate::rules::{Rule, Sink};
use crate::source::Span;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "rendered-file-drift",
        code: "PT701",
        default_severity: Severity::Error,
        summary: "A file portolan renders from the spec is missing or differs",
        explanation: "## What it does
With `portolan check --spec portolan.yaml`, renders the spec in memory and compares every file
it would write with the file on disk. Env files are rewritten by the start script at workspace
start: one that is missing, or as the script wrote it, is not drift; one edited by hand is.

Only files with portolan's header (every file render writes starts with one) are compared by
text. A file without it at the same path is the project's own, and so are files of other names
(`main.tf` with the `coder_app`s, `docker-compose.convex.yml`): `spec-disagreement` compares
those with the spec by meaning. A file is missing only when nothing on disk plays its part: no
Terraform file for `coder-apps.tf`, no compose file for the compose file, no script the agent
runs for the start script.

## Why is this bad?
The files were rendered consistent with each other. A file edited by hand, or a spec changed
without rendering again, brings back the drift portolan exists to prevent: a port changed in the
compose file but not in the `coder_app`.

## Example
`docker-compose.yml` publishes `\"3212:3212\"` where the spec says `site: 3211`.
Run `portolan render` and commit the result, or change the spec.
",
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    if workspace.expected.is_empty() {
        return;
    }
    // The spec given, among any others the walk read.
    let spec_file = workspace
        .spec_facts
        .as_ref()
        .and_then(|facts| workspace.sources.find(&facts.path))
        .or_else(|| {
            workspace
                .kinds
                .iter()
                .find(|(_, k)| *k == FileKind::Spec)
                .map(|(id, _)| *id)
        });
    for expected in &workspace.expected {
        let on_disk = workspace
            .sources
            .find(&expected.path)
            .map(|id| (id, workspace.sources.get(id).text.as_str()));
        // A hand-written file in its place is compared by meaning (`spec-disagreement`).
        if on_disk.is_some_and(|(id, _)| !workspace.stamped(id)) {
            continue;
        }
        if !expected.drifted(on_disk.map(|(_, text)| text)) {
            continue;
        }
        let Some((id, actual)) = on_disk else {
            if workspace.part_played_by_hand(expected) {
                continue;
            }
            if let Some(spec) = spec_file {
                sink.report(
                    Span::new(spec, 0, 0),
                    format!("{} is missing: the spec renders it", expected.path.display()),
                )
                .with_help("run `portolan render` and commit the result");
            }
            continue;
        };
        let (line, offset, want) = first_difference(actual, &expected.file.contents);
        let line_end = actual[offset..].find('\n').map_or(actual.len(), |i| offset + i);
        let finding = sink
            .report(
                Span::new(id, offset, line_end),
                format!(
                    "{} differs from what the spec renders, from line {line}",
                    expected.path.display()
                ),
            )
            .with_label(match want {
                // Env files hold secrets: name the key, never the value.
                Some(want) if expected.file.secret_values => match env_key(want) {
                    Some(key) => format!("the spec renders another line for `{key}` here"),
                    None => "the spec renders another line here".to_owned(),
                },
                Some(want) => format!("the spec renders `{}` here", want.trim()),
                None => "the spec renders nothing more here".to_owned(),
            })
            .with_help("run `portolan render` (with --force to replace hand edits) or move the change into the spec");
        if let Some(spec) = spec_file {
            finding.with_related(Span::new(spec, 0, 0), "the spec");
        }
    }
}

/// The 1-based line where two texts first differ, its byte offset in `actual`, and the line the
/// expected text has there.
fn first_difference<'a>(actual: &str, expected: &'a str) -> (usize, usize, Option<&'a str>) {
    let mut offset = 0;
    let mut expected_lines = expected.split_inclusive('\n');
    for (index, line) in actual.split_inclusive('\n').enumerate() {
        match expected_lines.next() {
            Some(want) if want == line => offset += line.len(),
            want => return (index + 1, offset, want),
        }
    }
    (actual.split_inclusive('\n').count() + 1, actual.len(), expected_lines.next())
}

/// The key of an env file line (`KEY=value`, `export KEY=value`), if it has one.
fn env_key(line: &str) -> Option<&str> {
    let line = line.trim_start();
    let line = line.strip_prefix("export ").unwrap_or(line);
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('#')).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_differing_line() {
        assert_eq!(first_difference("a\nb\nc\n", "a\nx\nc\n"), (2, 2, Some("x\n")));
        assert_eq!(first_difference("a\n", "a\nb\n"), (2, 2, Some("b\n")));
        assert_eq!(first_difference("a\nb\n", "a\n"), (2, 2, None));
    }

    #[test]
    fn env_lines_are_named_by_their_key() {
        assert_eq!(env_key("TOKEN='s3cret'\n"), Some("TOKEN"));
        assert_eq!(env_key("export A=b"), Some("A"));
        assert_eq!(env_key("# a comment = here"), None);
        assert_eq!(env_key("no equals"), None);
    }
}
