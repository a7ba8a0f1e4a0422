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
    #[command(flatten)]
    global: cli::output::GlobalArgs,
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
    /// Write a portolan.yaml from an existing template folder.
    Import(cli::import::Args),
    /// Walk every port chain of a running workspace and say which link is broken.
    #[cfg(feature = "probe")]
    Probe(cli::probe::Args),
    /// Walk every port chain of a running workspace and say which link is broken.
    #[cfg(not(feature = "probe"))]
    Probe {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// List the rules, or explain one.
    Rules {
        /// A rule name or code.
        rule: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = cli::rules::Format::Human)]
        format: cli::rules::Format,
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
    // Before parsing: clap's help and errors follow --color too.
    cli::output::set_color(cli::output::color_in_args(std::env::args_os()));
    let cli = Cli::parse();
    cli::output::set_color(cli.global.color);
    cli::output::set_verbosity(cli.global.verbosity());
    let code = match cli.command {
        Command::Init { preset, force, dir } => cli::init::run(preset.spec(), force, &dir),
        Command::Import(args) => cli::import::run(args),
        Command::Render(args) => cli::render::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Rules { rule, format } => cli::rules::run(rule.as_deref(), format),
        #[cfg(feature = "probe")]
        Command::Probe(args) => cli::probe::run(args),
        #[cfg(not(feature = "probe"))]
        Command::Probe { .. } => {
            eprintln!("error: this portolan was built without probe (`--no-default-features`); install it with `cargo install portolan` to probe a running workspace");
            cli::FAILED
        }
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
