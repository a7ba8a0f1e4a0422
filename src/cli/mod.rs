//! One module per subcommand, and what they share: exit codes, the one way to stdout, and how
//! diagnostics and load errors are shown.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use portolan::config::{self, ConfigLookup};
use portolan::diagnostic::Diagnostic;
use portolan::project::{LoadError, Project, ProjectOptions};
use portolan::report::{self, Report};
use portolan::source::SourceMap;

pub mod check;
pub mod fix;
pub mod import;
pub mod init;
pub mod output;
#[cfg(feature = "probe")]
pub mod probe;
pub mod render;
pub mod rules;

/// Exit code: the command ran and found nothing wrong.
pub const OK: u8 = 0;
/// Exit code: the command ran and found errors (or drift, with `render --check`).
pub const FOUND: u8 = 1;
/// Exit code: the command itself could not run.
pub const FAILED: u8 = 2;

/// Set once stdout is a closed pipe: nothing more is written to it.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes to stdout, unless `-qq`. Every subcommand's output goes through here; a report written
/// straight to stdout hands its write error to [`stdout_failed`].
pub fn to_stdout(text: impl AsRef<[u8]>) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) || output::verbosity() == output::Verbosity::Silent {
        return;
    }
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_ref())
        .and_then(|()| stdout.flush())
    {
        stdout_failed(&e);
    }
}

/// After a write to stdout failed. A closed pipe (`portolan check . | head -1`) is quiet, as in
/// ripgrep: the reader has what it wanted, nothing more is written, and the command still ends
/// with its verdict (1 for findings, drift or a broken chain, 2 when it could not finish), so a
/// CI step with `set -o pipefail` fails as it would unpiped. Any other error ends the process
/// with a message and exit 2.
pub fn stdout_failed(e: &io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        return;
    }
    eprintln!("error: cannot write to stdout: {e}");
    std::process::exit(i32::from(FAILED));
}

/// Shows spec diagnostics on stderr: `path:line:column: severity: message`, then the same code
/// frame `check`'s human report draws.
pub fn print_diagnostics(diagnostics: &[Diagnostic], sources: &SourceMap) {
    if diagnostics.is_empty() {
        return;
    }
    let report = Report {
        findings: diagnostics,
        sources,
        files_checked: sources.len(),
        rules: &[],
        read_although_ignored: &[],
        root: None,
    };
    let color = output::stderr_colored();
    let _ = report::human::write_located(&report, color, &mut io::stderr().lock());
}

/// Shows why a project could not be loaded (or its spec rendered): a sentence, or the
/// located errors with their code frames. Returns the exit code, 2.
pub fn load_failed(e: &LoadError) -> u8 {
    match e {
        LoadError::Read(message) => eprintln!("error: {message}"),
        LoadError::Invalid {
            diagnostics,
            sources,
        } => print_diagnostics(diagnostics, sources),
    }
    FAILED
}

/// Loads the spec, knowledge, config and options, and shows the spec's warnings; on failure
/// says why, for exit 2.
pub fn load(options: &ProjectOptions) -> Result<Project, u8> {
    let start = std::time::Instant::now();
    let project = Project::load(options).map_err(|e| load_failed(&e))?;
    if output::verbosity() > output::Verbosity::Silent {
        print_diagnostics(&project.warnings, &project.sources);
    }
    if let Some(config) = &project.config {
        output::debug(format_args!("config: {}", config.path.display()));
    }
    let mut knowledge = vec!["built-in".to_owned()];
    knowledge.extend(options.knowledge.iter().map(|k| k.display().to_string()));
    if let Some(path) = project
        .config
        .as_ref()
        .and_then(|c| c.check.knowledge.as_ref())
    {
        if options.knowledge.is_none() {
            knowledge.push(path.display().to_string());
        }
    }
    if let Some(spec) = &project.spec {
        output::debug(format_args!("spec: {}", spec.path.display()));
        if spec.spec.knowledge.is_some() {
            knowledge.push(format!("the `knowledge` of {}", spec.path.display()));
        }
    }
    output::debug(format_args!(
        "knowledge: {}; loaded in {}",
        knowledge.join(", "),
        output::elapsed(start)
    ));
    Ok(project)
}

/// `--config` and `--isolated`, shared by the subcommands that read the config file.
#[derive(clap::Args)]
pub struct ConfigArgs {
    /// Read this config file instead of the nearest .portolan.toml or portolan.toml.
    #[arg(long, value_name = "FILE", conflicts_with = "isolated")]
    pub config: Option<PathBuf>,
    /// Read no config file.
    #[arg(long)]
    pub isolated: bool,
}

impl ConfigArgs {
    /// Which config file to read: `--config`'s, none with `--isolated`, else the nearest one
    /// to `path` (a folder, a file, or `-`).
    pub fn lookup(&self, path: &Path) -> ConfigLookup {
        match &self.config {
            Some(file) => ConfigLookup::File(file.clone()),
            None if self.isolated => ConfigLookup::None,
            None => ConfigLookup::Discover(config::start_folder(path)),
        }
    }
}
