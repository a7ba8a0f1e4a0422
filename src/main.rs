//! The `portolan` command line: parses the arguments, runs one subcommand (`cli::*`, each a
//! thin layer over `portolan::project`), prints and exits. The only place that prints.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

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
    Render(cli::render::Args),
    /// Find port and origin mismatches across Coder templates, compose files, scripts and env files.
    Check(cli::check::Args),
    /// Walk every port chain of a running workspace and say which link is broken.
    Probe(cli::probe::Args),
    /// List the rules, or explain one.
    Rules {
        /// A rule name or code.
        rule: Option<String>,
    },
    /// Print the JSON Schema of portolan.yaml.
    Schema {
        /// Print the JSON Schema of the config file (.portolan.toml, portolan.toml) instead.
        #[arg(long)]
        config: bool,
    },
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
        Command::Init { preset, force, dir } => cli::init::run(preset.spec(), force, &dir),
        Command::Render(args) => cli::render::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Rules { rule } => cli::rules::run(rule.as_deref()),
        Command::Probe(args) => cli::probe::run(args),
        Command::Schema { config } => {
            let schema = if config {
                portolan::config::json_schema()
            } else {
                portolan::spec::json_schema()
            };
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
