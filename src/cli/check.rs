//! `portolan check`: find port and origin mismatches in files.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use portolan::diagnostic::Severity;
use portolan::project::ProjectOptions;
use portolan::report::{self, Format, Report};
use portolan::rules;

use super::{stdout_failed, FAILED, FOUND, OK};

/// `portolan check`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Files or folders to check (folders are walked, respecting .gitignore).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// A portolan.yaml: its `ignore` list applies, and rendered files that differ are findings.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
    /// Run only these rules (names or codes, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Vec<String>,
    /// Skip these rules (names or codes, comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub strict: bool,
    /// Extra knowledge (programs, images, env roles, modules) in the shape of the built-in file.
    #[arg(long, value_name = "FILE")]
    pub knowledge: Option<PathBuf>,
    /// Skip the config's `exclude` patterns even in paths named here (for pre-commit).
    #[arg(long)]
    pub force_exclude: bool,
    #[command(flatten)]
    pub config: super::ConfigArgs,
}

/// `--format`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Human,
    Json,
    Sarif,
    Github,
}

impl FormatArg {
    fn format(self) -> Format {
        match self {
            FormatArg::Human => Format::Human,
            FormatArg::Json => Format::Json,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Github => Format::Github,
        }
    }
}

pub fn run(args: Args) -> u8 {
    let format = args.format.format();
    let project = match super::load(&ProjectOptions {
        spec: args.spec,
        knowledge: args.knowledge,
        select: args.select,
        ignore: args.ignore,
        config: args
            .config
            .lookup(args.paths.first().map_or(Path::new("."), PathBuf::as_path)),
        force_exclude: args.force_exclude,
    }) {
        Ok(project) => project,
        Err(code) => return code,
    };
    // Paths are relative to the folder given (DESIGN.md), except for the formats GitHub reads:
    // code scanning and annotations need paths from the repository root, where CI runs.
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = match (format, args.paths.as_slice()) {
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
    let color = format == Format::Human && io::stdout().is_terminal();
    let mut stdout = io::stdout().lock();
    if let Err(e) = report::write(format, &report, color, &mut stdout).and_then(|()| stdout.flush())
    {
        stdout_failed(&e);
    }
    let errors = findings.iter().any(|d| d.severity == Severity::Error);
    let warnings = findings.iter().any(|d| d.severity == Severity::Warning);
    let strict = args.strict || project.config.as_ref().and_then(|c| c.check.strict) == Some(true);
    if errors || (strict && warnings) {
        FOUND
    } else {
        OK
    }
}
