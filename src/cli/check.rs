//! `portolan check`: find port and origin mismatches in files.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use portolan::diagnostic::Severity;
use portolan::project::ProjectOptions;
use portolan::report::{self, Format, Report};
use portolan::rules;

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
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub strict: bool,
    /// Extra knowledge (programs, images, env roles, modules) in the shape of the built-in file.
    #[arg(long, value_name = "FILE")]
    pub knowledge: Option<PathBuf>,
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
    }) {
        Ok(project) => project,
        Err(code) => return code,
    };
    // Every format shows a path relative to the working folder when it is inside it, absolute
    // otherwise (as ruff does, and as GitHub's annotations and code scanning read them).
    let root = std::env::current_dir()
        .and_then(std::path::absolute)
        .unwrap_or_default();
    let stdin = std::path::Path::new("-");
    let reads_stdin = args.stdin_filename.is_some() || args.paths.iter().any(|p| p == stdin);
    let checked = if reads_stdin {
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
    let metas = rules::metas();
    let report = Report {
        findings: &findings,
        sources: &sources,
        files_checked: sources.len(),
        rules: &metas,
        read_although_ignored: &result.read_although_ignored,
        root: Some(&root),
    };
    let color = format == Format::Human && io::stdout().is_terminal();
    let mut stdout = io::stdout().lock();
    if let Err(e) = report::write(format, &report, color, &mut stdout).and_then(|()| stdout.flush())
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
