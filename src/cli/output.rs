//! The flags every subcommand shares about its output, `--color`, `-q` and `-v`, and the one
//! decision each makes: whether a stream gets ANSI colour, and which messages are shown.

use std::ffi::OsString;
use std::io;
use std::sync::atomic::{AtomicU8, Ordering};

use anstream::stream::RawStream;
use anstream::{AutoStream, ColorChoice};

/// Options of every subcommand (`global = true`).
#[derive(clap::Args)]
pub struct GlobalArgs {
    /// When to colour the output (auto: on a terminal, unless NO_COLOR; FORCE_COLOR forces it).
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
    /// Print only the findings, no summary or notes; -qq: nothing but an error that stops it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,
    /// Print nothing; the same as -qq.
    #[arg(long, global = true, conflicts_with = "verbose")]
    pub silent: bool,
    /// Also say on stderr which files were read and checked, and how long each step took.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

impl GlobalArgs {
    pub fn verbosity(&self) -> Verbosity {
        match (self.silent, self.quiet, self.verbose) {
            (true, _, _) | (_, 2.., _) => Verbosity::Silent,
            (_, 1, _) => Verbosity::Quiet,
            (_, _, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        }
    }
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// `auto` as anstream decides it (NO_COLOR set and non-empty: never; CLICOLOR_FORCE: always;
    /// CLICOLOR=0: never; else a terminal that is not `TERM=dumb`), with FORCE_COLOR (set and
    /// non-empty: always, after NO_COLOR) added, as in <https://force-color.org>. The flag wins
    /// over the environment.
    fn choice(self, env: impl Fn(&str) -> Option<OsString>) -> ColorChoice {
        let set = |key: &str| env(key).is_some_and(|v| !v.is_empty());
        match self {
            ColorWhen::Always => ColorChoice::Always,
            ColorWhen::Never => ColorChoice::Never,
            ColorWhen::Auto if set("NO_COLOR") => ColorChoice::Never,
            ColorWhen::Auto if set("FORCE_COLOR") => ColorChoice::Always,
            ColorWhen::Auto => ColorChoice::Auto,
        }
    }
}

/// Makes `when` the choice of every stream, clap's help and errors included (they follow
/// anstream's global choice).
pub fn set_color(when: ColorWhen) {
    when.choice(|key| std::env::var_os(key)).write_global();
}

/// The `--color` of a command line, read before clap parses it so that clap's own help and
/// errors follow it too. A value clap will refuse counts as `auto`.
pub fn color_in_args(args: impl IntoIterator<Item = OsString>) -> ColorWhen {
    let mut when = ColorWhen::Auto;
    let mut args = args.into_iter();
    let parse = |value: &OsString| match value.to_str() {
        Some("always") => ColorWhen::Always,
        Some("never") => ColorWhen::Never,
        _ => ColorWhen::Auto,
    };
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if arg == "--color" {
            if let Some(value) = args.next() {
                when = parse(&value);
            }
        } else if let Some(value) = arg.to_str().and_then(|a| a.strip_prefix("--color=")) {
            when = parse(&value.into());
        }
    }
    when
}

fn colored(stream: &impl RawStream) -> bool {
    AutoStream::choice(stream) != ColorChoice::Never
}

/// Whether what goes to stdout gets colour.
pub fn stdout_colored() -> bool {
    colored(&io::stdout())
}

/// Whether what goes to stderr gets colour.
pub fn stderr_colored() -> bool {
    colored(&io::stderr())
}

/// `--output-file`: writes a report to `path` through a temporary file and a rename. An
/// existing file of a kind `check` reads (`main.tf`, a compose file, a script, an env file, a
/// spec) is never replaced: a report written over a template would lose the template. Says why
/// on failure, for exit 2.
pub fn write_report(path: &std::path::Path, report: &str) -> Result<(), String> {
    let exists = std::fs::symlink_metadata(path).is_ok();
    if exists && portolan::check::classify(path, None).is_some() {
        return Err(format!(
            "{} is a file portolan checks; the report does not replace it: name another --output-file",
            path.display()
        ));
    }
    portolan::render::write::write_atomic(path, report, 0o644)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    debug(format_args!("report written to {}", path.display()));
    Ok(())
}

/// How much the CLI says (`-q`, `-v`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-qq`, `--silent`: nothing but the error that stops a command.
    Silent,
    /// `-q`: the findings (or the report, or the diff), without summary lines or notes.
    Quiet,
    Normal,
    /// `-v`: also what was read, what was checked and how long it took, on stderr.
    Verbose,
}

static VERBOSITY: AtomicU8 = AtomicU8::new(Verbosity::Normal as u8);

pub fn set_verbosity(verbosity: Verbosity) {
    VERBOSITY.store(verbosity as u8, Ordering::Relaxed);
}

/// How much the CLI says.
pub fn verbosity() -> Verbosity {
    match VERBOSITY.load(Ordering::Relaxed) {
        0 => Verbosity::Silent,
        1 => Verbosity::Quiet,
        2 => Verbosity::Normal,
        _ => Verbosity::Verbose,
    }
}

/// A note, a warning or a summary on stderr: shown unless `-q`.
pub fn note(message: std::fmt::Arguments<'_>) {
    if verbosity() >= Verbosity::Normal {
        eprintln!("{message}");
    }
}

/// A finding told on stderr: shown unless `-qq`.
pub fn finding(message: std::fmt::Arguments<'_>) {
    if verbosity() > Verbosity::Silent {
        eprintln!("{message}");
    }
}

/// A `-v` line on stderr: `debug: MESSAGE`.
pub fn debug(message: std::fmt::Arguments<'_>) {
    if verbosity() >= Verbosity::Verbose {
        eprintln!("debug: {message}");
    }
}

/// How long since `start`, for `-v`: `1.2 ms`.
pub fn elapsed(start: std::time::Instant) -> String {
    format!("{:.1} ms", start.elapsed().as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |key| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn no_color_turns_auto_off_and_force_color_on() {
        let auto = ColorWhen::Auto;
        assert_eq!(auto.choice(env(&[])), ColorChoice::Auto);
        assert_eq!(auto.choice(env(&[("NO_COLOR", "1")])), ColorChoice::Never);
        assert_eq!(auto.choice(env(&[("NO_COLOR", "")])), ColorChoice::Auto);
        assert_eq!(
            auto.choice(env(&[("FORCE_COLOR", "1")])),
            ColorChoice::Always
        );
        assert_eq!(auto.choice(env(&[("FORCE_COLOR", "")])), ColorChoice::Auto);
        assert_eq!(
            auto.choice(env(&[("NO_COLOR", "1"), ("FORCE_COLOR", "1")])),
            ColorChoice::Never
        );
    }

    #[test]
    fn the_flag_wins_over_the_environment() {
        let vars = [("NO_COLOR", "1"), ("FORCE_COLOR", "1")];
        assert_eq!(
            ColorWhen::Always.choice(env(&vars[..1])),
            ColorChoice::Always
        );
        assert_eq!(ColorWhen::Never.choice(env(&vars[1..])), ColorChoice::Never);
    }

    #[test]
    fn color_is_read_from_the_command_line_before_parsing() {
        let args = |line: &str| line.split(' ').map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            color_in_args(args("portolan check --color always")),
            ColorWhen::Always
        );
        assert_eq!(
            color_in_args(args("portolan --color=never check")),
            ColorWhen::Never
        );
        assert_eq!(
            color_in_args(args("portolan check --color=always --color=never")),
            ColorWhen::Never
        );
        assert_eq!(
            color_in_args(args("portolan check -- --color=always")),
            ColorWhen::Auto
        );
        assert_eq!(
            color_in_args(args("portolan check --color=sometimes")),
            ColorWhen::Auto
        );
    }
}
