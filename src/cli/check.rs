//! `portolan check`: find port and origin mismatches in files.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use portolan::diagnostic::Severity;
use portolan::project::ProjectOptions;
use portolan::report::{self, Format, Report};
use portolan::rules;

use super::{stdout_failed, FAILED, FOUND, OK};

pub struct Args {
    pub paths: Vec<PathBuf>,
    pub spec: Option<PathBuf>,
    pub format: Format,
    pub select: Vec<String>,
    pub ignore: Vec<String>,
    pub strict: bool,
    pub knowledge: Option<PathBuf>,
}

pub fn run(args: Args) -> u8 {
    let project = match super::load(&ProjectOptions {
        spec: args.spec,
        knowledge: args.knowledge,
        select: args.select,
        ignore: args.ignore,
    }) {
        Ok(project) => project,
        Err(code) => return code,
    };
    // Paths are relative to the folder given (DESIGN.md), except for the formats GitHub reads:
    // code scanning and annotations need paths from the repository root, where CI runs.
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = match (args.format, args.paths.as_slice()) {
        (Format::Sarif | Format::Github, _) => cwd,
        (_, [one]) if one.is_dir() => one.clone(),
        _ => cwd,
    };
    let result = match project.check(&args.paths, &root) {
        Ok(result) => result,
        Err(e) => {
            eprintln!("error: {e}");
            return FAILED;
        }
    };
    let (sources, findings) = result.merged();
    let metas = rules::metas();
    let report = Report {
        findings: &findings,
        sources: &sources,
        files_checked: sources.len(),
        rules: &metas,
        read_although_ignored: &result.read_although_ignored,
    };
    let color = args.format == Format::Human && io::stdout().is_terminal();
    let mut stdout = io::stdout().lock();
    if let Err(e) =
        report::write(args.format, &report, color, &mut stdout).and_then(|()| stdout.flush())
    {
        stdout_failed(&e);
    }
    let errors = findings.iter().any(|d| d.severity == Severity::Error);
    let warnings = findings.iter().any(|d| d.severity == Severity::Warning);
    if errors || (args.strict && warnings) {
        FOUND
    } else {
        OK
    }
}
