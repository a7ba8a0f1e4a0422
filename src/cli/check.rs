//! `portolan check`: find port and origin mismatches in files.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use portolan::diagnostic::FailOn;
use portolan::project::ProjectOptions;
use portolan::report::{self, Format, Report};
use portolan::rules;

use super::output::{self, Verbosity};
use super::{stdout_failed, FAILED, FOUND, OK};

/// `portolan check`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// Files or folders to check (folders are walked, respecting .gitignore); `-` reads
    /// standard input.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// With `-`: the file standard input stands for, which says its kind and the path reports
    /// show (standard input is read whenever this is given).
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<PathBuf>,
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
    /// Exit 1 on warnings too: the same as --fail-on warning.
    #[arg(long, conflicts_with = "fail_on")]
    pub strict: bool,
    /// The least severity that makes check exit 1 [default: error].
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOnArg>,
    /// Exit 0 even when findings fail the check (still 2 when it cannot run).
    #[arg(long)]
    pub exit_zero: bool,
    /// Write the report to FILE (replaced at once, never coloured) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Extra knowledge (programs, images, env roles, modules) in the shape of the built-in file.
    #[arg(long, value_name = "FILE")]
    pub knowledge: Option<PathBuf>,
    /// Apply the safe fixes, then report the findings left.
    #[arg(long)]
    pub fix: bool,
    /// Apply the unsafe fixes too (with --fix or --diff).
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Show the fixes as a unified diff instead of writing them; exit 1 if there is any.
    #[arg(long)]
    pub diff: bool,
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

/// `--fail-on`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FailOnArg {
    Error,
    Warning,
}

impl Args {
    /// The threshold the flags set (`--strict` is `--fail-on warning`), if they set one.
    pub fn fail_on(&self) -> Option<FailOn> {
        match (self.strict, self.fail_on) {
            (true, _) | (_, Some(FailOnArg::Warning)) => Some(FailOn::Warning),
            (_, Some(FailOnArg::Error)) => Some(FailOn::Error),
            (false, None) => None,
        }
    }
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
    let fail_on_flag = args.fail_on();
    let project = match super::load(&ProjectOptions {
        spec: args.spec,
        knowledge: args.knowledge,
        select: args.select,
        ignore: args.ignore,
        config: args
            .config
            .lookup(args.paths.first().map_or(Path::new("."), PathBuf::as_path)),
        force_exclude: args.force_exclude,
        ..ProjectOptions::default()
    }) {
        Ok(project) => project,
        Err(code) => return code,
    };
    // The flags, else the config's `fail-on`, else its `strict`.
    let fail_on = fail_on_flag
        .or_else(|| project.config.as_ref().and_then(|c| c.check.fail_on()))
        .unwrap_or_default();
    // Every format shows a path relative to the working folder when it is inside it, absolute
    // otherwise (as ruff does, and as GitHub's annotations and code scanning read them).
    let root = std::env::current_dir()
        .and_then(std::path::absolute)
        .unwrap_or_default();
    let stdin = std::path::Path::new("-");
    let reads_stdin = args.stdin_filename.is_some() || args.paths.iter().any(|p| p == stdin);
    let start = std::time::Instant::now();
    let fix = super::fix::Mode {
        write: args.fix,
        diff: args.diff,
        options: portolan::fix::FixOptions {
            unsafe_fixes: args.unsafe_fixes,
        },
    };
    let mut fixed = None;
    let checked = if reads_stdin {
        if fix.write || fix.diff {
            eprintln!("error: --fix and --diff change files: they do not apply to standard input");
            return FAILED;
        }
        if args.paths.len() > 1 && args.paths.iter().any(|p| p == stdin) {
            eprintln!("error: `-` (standard input) is checked alone, not with other paths");
            return FAILED;
        }
        // As ruff does: `--stdin-filename` reads standard input, whatever paths are given.
        for path in args
            .paths
            .iter()
            .filter(|p| *p != stdin && *p != std::path::Path::new("."))
        {
            eprintln!(
                "warning: ignoring {} in favour of standard input (`--stdin-filename`)",
                path.display()
            );
        }
        match read_stdin() {
            Ok(text) => project.check_stdin(text, args.stdin_filename.as_deref(), &root),
            Err(e) => Err(e),
        }
    } else if fix.write || fix.diff {
        match super::fix::run(&project, &args.paths, &root, fix) {
            Ok((result, outcome)) => {
                fixed = Some(outcome);
                Ok(result)
            }
            Err(code) => return code,
        }
    } else {
        project.check(&args.paths, &root)
    };
    let result = match checked {
        Ok(result) => result,
        Err(e) => {
            eprintln!("error: {e}");
            return FAILED;
        }
    };
    let (sources, findings) = result.merged();
    if output::verbosity() == Verbosity::Verbose {
        for (_, file) in sources.files() {
            output::debug(format_args!("checked {}", file.path.display()));
        }
        output::debug(format_args!(
            "checked {} files in {}",
            sources.len(),
            output::elapsed(start)
        ));
    }
    let metas = rules::metas();
    let report = Report {
        findings: &findings,
        sources: &sources,
        files_checked: sources.len(),
        rules: &metas,
        read_although_ignored: &result.read_although_ignored,
        root: Some(&root),
    };
    if let Some(path) = &args.output_file {
        let mut text = Vec::new();
        let written = match report::write(format, &report, false, &mut text) {
            Ok(()) => output::write_report(path, &String::from_utf8_lossy(&text)),
            Err(e) => Err(format!("cannot write {}: {e}", path.display())),
        };
        if let Err(e) = written {
            eprintln!("error: {e}");
            return FAILED;
        }
    } else {
        let color = format == Format::Human && output::stdout_colored();
        let mut stdout = io::stdout().lock();
        let written = match (output::verbosity(), format) {
            (Verbosity::Silent, _) => Ok(()),
            (Verbosity::Quiet, Format::Human) => {
                let mut out = io::BufWriter::new(&mut stdout);
                report::human::write_findings(&report, color, &mut out).and_then(|()| out.flush())
            }
            _ => report::write(format, &report, color, &mut stdout),
        };
        if let Err(e) = written.and_then(|()| stdout.flush()) {
            stdout_failed(&e);
        }
    }
    if let Some(outcome) = &fixed {
        // Beside the human report on stdout; on stderr beside a machine format or a report
        // written to a file; nowhere with --silent.
        let summary = super::fix::summary(outcome, findings.len());
        match (output::verbosity(), format, &args.output_file) {
            (Verbosity::Silent, _, _) => {}
            (Verbosity::Normal | Verbosity::Verbose, Format::Human, None) => {
                super::to_stdout(summary)
            }
            _ => eprint!("{summary}"),
        }
    }
    if fail_on.any_fails(&findings) && !args.exit_zero {
        FOUND
    } else {
        OK
    }
}

/// Standard input's text: UTF-8, at most the size of the largest file `check` reads.
fn read_stdin() -> Result<String, String> {
    use std::io::Read;
    let max = portolan::check::MAX_FILE_BYTES;
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "standard input is larger than {} MiB: not checked",
            max >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|_| "standard input is not UTF-8 text: not checked".to_owned())
}
