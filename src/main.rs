//! The `portolan` command line: parses the arguments, runs one subcommand (`cli::*`, each a
//! thin layer over `portolan::project`), prints and exits. The only place that prints.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use portolan::report::Format;

mod cli;

use cli::{to_stdout, OK};

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
    /// Find port and origin mismatches across Coder templates, compose files, scripts and env files.
    Check {
        /// Files or folders to check (folders are walked, respecting .gitignore).
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        /// A portolan.yaml: its `ignore` list applies, and rendered files that differ are findings.
        #[arg(long, value_name = "FILE")]
        spec: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = FormatArg::Human)]
        format: FormatArg,
        /// Run only these rules (names or codes, comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "RULES")]
        select: Vec<String>,
        /// Skip these rules (names or codes, comma-separated).
        #[arg(long, value_delimiter = ',', value_name = "RULES")]
        ignore: Vec<String>,
        /// Exit 1 on warnings too.
        #[arg(long)]
        strict: bool,
        /// Extra knowledge (programs, images, env roles, modules) in the shape of the built-in file.
        #[arg(long, value_name = "FILE")]
        knowledge: Option<PathBuf>,
    },
    /// Walk every port chain of a running workspace and say which link is broken.
    Probe(cli::probe::Args),
    /// List the rules, or explain one.
    Rules {
        /// A rule name or code.
        rule: Option<String>,
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
enum FormatArg {
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
        Command::Init { preset, force, dir } => cli::init::run(preset.spec(), force, &dir),
        Command::Render {
            spec,
            out,
            full,
            check,
            force,
            templates,
        } => cli::render::run(cli::render::Args {
            spec,
            out,
            full,
            check,
            force,
            templates,
        }),
        Command::Check {
            paths,
            spec,
            format,
            select,
            ignore,
            strict,
            knowledge,
        } => cli::check::run(cli::check::Args {
            paths,
            spec,
            format: format.format(),
            select,
            ignore,
            strict,
            knowledge,
        }),
        Command::Rules { rule } => cli::rules::run(rule.as_deref()),
        Command::Probe(args) => cli::probe::run(args),
        Command::Schema => {
            let schema = portolan::spec::json_schema();
            to_stdout(serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n");
            OK
        }
        Command::Completions { shell } => {
            // Into memory first: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "portolan", &mut script);
            to_stdout(script);
            OK
        }
    };
    ExitCode::from(code)
}
