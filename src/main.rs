//! The `portolan` command line. The only place that prints.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use portolan::diagnostic::Diagnostic;
use portolan::render::write::{self, Change};
use portolan::render::{self, header::Ownership, RenderOptions};
use portolan::source::SourceMap;
use portolan::spec;

/// Exit code: the command ran and found nothing wrong.
const OK: u8 = 0;
/// Exit code: the command ran and found errors (or drift, with `render --check`).
const FOUND: u8 = 1;
/// Exit code: the command itself could not run.
const FAILED: u8 = 2;

#[derive(Parser)]
#[command(
    name = "portolan",
    version,
    about = "Render and check the ports and origins of Coder workspace templates"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a starter portolan.yaml.
    Init {
        /// Starting point.
        #[arg(long, value_enum, default_value_t = Preset::Convex)]
        preset: Preset,
        /// Overwrite an existing portolan.yaml.
        #[arg(long)]
        force: bool,
        /// Folder to write portolan.yaml in.
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Render the Coder apps, compose file, start script and env files from a spec.
    Render {
        /// The spec.
        #[arg(default_value = "portolan.yaml")]
        spec: PathBuf,
        /// Output folder; defaults to the spec's folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write main.tf, a complete docker-based Coder template.
        #[arg(long)]
        full: bool,
        /// Write nothing; print a diff of every file that is missing or differs and exit 1 if any.
        #[arg(long)]
        check: bool,
        /// Overwrite files that were edited by hand or not written by portolan.
        #[arg(long)]
        force: bool,
        /// Folder of templates that replace the built-in ones of the same name.
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
    },
    /// Print the JSON Schema of portolan.yaml.
    Schema,
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Preset {
    /// Self-hosted Convex backend and dashboard with a Vite frontend.
    Convex,
    /// code-server with a Next.js app and PostgreSQL.
    CodeServer,
}

impl Preset {
    fn spec(self) -> &'static str {
        match self {
            Preset::Convex => include_str!("../examples/convex-selfhosted/portolan.yaml"),
            Preset::CodeServer => include_str!("../examples/code-server-nextjs/portolan.yaml"),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Init { preset, force, dir } => init(preset, force, &dir),
        Command::Render {
            spec,
            out,
            full,
            check,
            force,
            templates,
        } => render_command(&spec, out, full, check, force, templates),
        Command::Schema => {
            let schema = spec::json_schema();
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).unwrap_or_default()
            );
            OK
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "portolan",
                &mut std::io::stdout(),
            );
            OK
        }
    };
    ExitCode::from(code)
}

fn init(preset: Preset, force: bool, dir: &Path) -> u8 {
    let path = dir.join("portolan.yaml");
    if path.exists() && !force {
        eprintln!(
            "error: {} exists; pass --force to replace it",
            path.display()
        );
        return FAILED;
    }
    match write::write_atomic(&path, preset.spec(), 0o644) {
        Ok(()) => {
            eprintln!(
                "wrote {}; next: portolan render {}",
                path.display(),
                path.display()
            );
            OK
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            FAILED
        }
    }
}

fn render_command(
    spec_path: &Path,
    out: Option<PathBuf>,
    full: bool,
    check: bool,
    force: bool,
    templates: Option<PathBuf>,
) -> u8 {
    let text = match std::fs::read_to_string(spec_path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", spec_path.display());
            return FAILED;
        }
    };
    let mut sources = SourceMap::new();
    let loaded = match spec::load(spec_path, &text, &mut sources) {
        Ok(loaded) => loaded,
        Err(err) => {
            print_diagnostics(&err.diagnostics, &sources);
            return FAILED;
        }
    };
    print_diagnostics(&loaded.warnings, &sources);
    let out = out.unwrap_or_else(|| {
        spec_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    });
    let spec_file = spec_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "portolan.yaml".to_owned());
    let options = RenderOptions {
        full,
        templates,
        spec_file,
    };
    let files = match render::render(&loaded.spec, &options) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return FAILED;
        }
    };
    let planned = match write::plan(&files, &out) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", out.display());
            return FAILED;
        }
    };
    if check {
        let mut drift = false;
        let mut stdout = std::io::stdout().lock();
        for p in &planned {
            if p.change != Change::Unchanged {
                drift = true;
                let _ = write!(
                    stdout,
                    "{}",
                    write::unified_diff(p, &p.file.path.to_string_lossy())
                );
            }
        }
        if drift {
            eprintln!(
                "rendered files differ from {}: run `portolan render` and commit the result",
                spec_path.display()
            );
            return FOUND;
        }
        eprintln!("{} files match {}", planned.len(), spec_path.display());
        return OK;
    }
    let blocked: Vec<_> = planned
        .iter()
        .filter(|p| matches!(p.change, Change::Blocked(_)))
        .collect();
    if !blocked.is_empty() && !force {
        for p in &blocked {
            let why = match p.change {
                Change::Blocked(Ownership::EditedByHand) => {
                    "was edited by hand since portolan wrote it"
                }
                _ => "was not written by portolan",
            };
            eprintln!("error: {} {why}", p.target.display());
        }
        eprintln!("nothing written; move your changes into the spec, or pass --force to overwrite");
        return FAILED;
    }
    let color = std::io::stderr().is_terminal();
    for p in &planned {
        let verb = match p.change {
            Change::Unchanged => continue,
            Change::Create => "created",
            Change::Update => "updated",
            Change::Blocked(_) => "overwrote",
        };
        if let Err(e) = write::write_atomic(&p.target, &p.file.contents, p.file.mode) {
            eprintln!("error: cannot write {}: {e}", p.target.display());
            return FAILED;
        }
        if color {
            eprintln!("\x1b[32m{verb:>9}\x1b[0m {}", p.target.display());
        } else {
            eprintln!("{verb:>9} {}", p.target.display());
        }
    }
    OK
}

fn print_diagnostics(diagnostics: &[Diagnostic], sources: &SourceMap) {
    for d in diagnostics {
        let (start, _) = sources.resolve(d.primary.span);
        let path = sources.path(d.primary.span).display();
        eprintln!(
            "{path}:{}:{}: {}: {}",
            start.line,
            start.column,
            d.severity.as_str(),
            d.message
        );
        let line = sources.get(d.primary.span.file).line_text(start.line);
        eprintln!("{:>5} | {line}", start.line);
        if let Some(help) = &d.help {
            eprintln!("      = help: {help}");
        }
    }
}
