//! `portolan check --fix`, `--unsafe-fixes` and `--diff`: the fixes applied (or shown), and the
//! summary of what was fixed and what is left, in ruff's words.

use std::path::{Path, PathBuf};

use portolan::check::CheckResult;
use portolan::fix::{FixOptions, Outcome, MAX_ROUNDS};
use portolan::project::Project;

use super::{to_stdout, FAILED, FOUND, OK};

/// What `check` does about fixes.
#[derive(Clone, Copy, Debug)]
pub struct Mode {
    /// `--fix`: write the fixed files.
    pub write: bool,
    /// `--diff`: print the fixes as a unified diff, write nothing.
    pub diff: bool,
    pub options: FixOptions,
}

/// Checks with the fixes applied in memory. With `--diff`, prints the diff and the count and
/// returns `Err` with the exit code (1 when there is anything to fix); with `--fix`, writes
/// the fixed files and returns the last check and what it fixed, for the report. `Err(2)` when
/// the check or a write fails, said on stderr.
pub fn run(
    project: &Project,
    paths: &[PathBuf],
    root: &Path,
    mode: Mode,
) -> Result<(CheckResult, Outcome), u8> {
    let (result, outcome) = project.fix(paths, root, mode.options).map_err(|e| {
        eprintln!("error: {e}");
        FAILED
    })?;
    if !outcome.rounds.settled {
        eprintln!(
            "warning: the fixes did not settle in {MAX_ROUNDS} rounds (a fix keeps changing what another fixed); the findings shown are those left after the last round"
        );
    }
    for path in &outcome.broken {
        eprintln!(
            "warning: the fixes to {} were undone: they made it unreadable (a parse error); please report this",
            path.display()
        );
    }
    if outcome.in_files_not_fixed > 0 {
        super::output::note(format_args!(
            "note: {} left unapplied: {} files portolan renders (change the spec and render again) or files not read as regular files of the paths checked",
            plural(outcome.in_files_not_fixed, "fix", "fixes"),
            if outcome.in_files_not_fixed == 1 { "it changes" } else { "they change" },
        ));
    }
    if mode.diff {
        let diff: String = outcome.changes.iter().map(|c| c.diff()).collect();
        to_stdout(diff);
        super::output::note(format_args!("{}", would_fix(&outcome)));
        return Err(if outcome.changes.is_empty() {
            OK
        } else {
            FOUND
        });
    }
    if let Err(e) = portolan::fix::write(&outcome.changes) {
        eprintln!("error: {e}");
        return Err(FAILED);
    }
    Ok((result, outcome))
}

/// `Found 3 problems (2 fixed, 1 remaining).`, and on a line of its own how many fixes
/// `--unsafe-fixes` would add.
pub fn summary(outcome: &Outcome, remaining: usize) -> String {
    let mut text = format!(
        "Found {} ({} fixed, {remaining} remaining).\n",
        plural(outcome.rounds.fixed + remaining, "problem", "problems"),
        outcome.rounds.fixed,
    );
    if outcome.hidden_unsafe > 0 {
        text.push_str(&format!(
            "{} can be enabled with the `--unsafe-fixes` option.\n",
            plural(outcome.hidden_unsafe, "hidden fix", "hidden fixes"),
        ));
    }
    text
}

/// `Would fix 2 problems.`, with the fixes `--unsafe-fixes` would add.
fn would_fix(outcome: &Outcome) -> String {
    let hidden = outcome.hidden_unsafe;
    match (outcome.rounds.fixed, hidden) {
        (0, 0) => "No problems would be fixed.".to_owned(),
        (0, _) => format!(
            "No problems would be fixed ({} available with `--unsafe-fixes`).",
            plural(hidden, "fix", "fixes")
        ),
        (n, 0) => format!("Would fix {}.", plural(n, "problem", "problems")),
        (n, _) => format!(
            "Would fix {} ({} available with `--unsafe-fixes`).",
            plural(n, "problem", "problems"),
            plural(hidden, "additional fix", "additional fixes")
        ),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
