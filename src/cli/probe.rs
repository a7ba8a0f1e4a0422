//! `portolan probe`: walk every port chain of a running workspace.

use std::io::IsTerminal;
use std::path::PathBuf;

use portolan::probe::{self, plan};
use portolan::project::ProjectOptions;

use super::{output, to_stdout, FAILED, FOUND, OK};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// Folder with the workspace's files (ignored with --spec).
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Build the chains from a portolan.yaml instead of the files.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// Workspace name (default: CODER_WORKSPACE_NAME).
    #[arg(long)]
    pub workspace: Option<String>,
    /// Workspace owner (default: CODER_WORKSPACE_OWNER_NAME).
    #[arg(long)]
    pub owner: Option<String>,
    /// Wildcard app domain (default: PORTOLAN_WILDCARD_DOMAIN, or the spec's, which builds the
    /// origins but never receives the token).
    #[arg(long, value_name = "DOMAIN")]
    pub wildcard_domain: Option<String>,
    /// Coder session token for apps that are not public (default: CODER_SESSION_TOKEN); sent only over
    /// https to hosts under the wildcard domain given by --wildcard-domain or
    /// PORTOLAN_WILDCARD_DOMAIN, or to the access URL's host; after a redirect, only to the same host.
    #[arg(long)]
    pub token: Option<String>,
    /// Probe only these apps or env variables (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "APP")]
    pub only: Vec<String>,
    /// Seconds each probe may take (at most 86400).
    #[arg(long, default_value_t = 5, value_parser = seconds())]
    pub timeout: u64,
    /// Seconds the whole run may take (at most 86400).
    #[arg(long, default_value_t = 30, value_parser = seconds())]
    pub deadline: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report to FILE (replaced at once) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

/// How probe shows its progress on stderr while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Nothing: stderr is not a terminal (a pipe, a file, CI's log), or quiet was asked for.
    Hidden,
    /// A bar without colour.
    Plain,
    /// A coloured bar.
    Colored,
}

/// The one place that decides whether probe draws a progress bar, and in colour: only on a
/// terminal (`stderr_is_terminal`) that can redraw a line (not `TERM=dumb`), never when `quiet`;
/// in colour when `color` says so (`Some(true)`: always, `Some(false)`: never) or, left to the
/// environment (`None`), unless `NO_COLOR` is set to something (no-color.org) or `CLICOLOR=0`.
/// A piped run prints nothing more than its report and notes.
pub fn progress_mode(
    stderr_is_terminal: bool,
    quiet: bool,
    color: Option<bool>,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> ProgressMode {
    let set = |key: &str| env(key).filter(|v| !v.is_empty());
    if quiet || !stderr_is_terminal || set("TERM").is_some_and(|t| t == "dumb") {
        return ProgressMode::Hidden;
    }
    let colored = color
        .unwrap_or_else(|| set("NO_COLOR").is_none() && set("CLICOLOR").is_none_or(|v| v != "0"));
    if colored {
        ProgressMode::Colored
    } else {
        ProgressMode::Plain
    }
}

/// The progress bar for `total` links, drawn on stderr (hidden in [`ProgressMode::Hidden`]): how
/// many links are judged, and the chain of the last one.
fn progress_bar(mode: ProgressMode, total: usize) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let template = match mode {
        ProgressMode::Hidden => return ProgressBar::hidden(),
        ProgressMode::Plain => "probing [{bar:30}] {pos}/{len} links  {wide_msg}",
        ProgressMode::Colored => {
            "{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} links  {wide_msg:.dim}"
        }
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let bar = ProgressBar::with_draw_target(
        Some(u64::try_from(total).unwrap_or(u64::MAX)),
        ProgressDrawTarget::stderr(),
    )
    .with_style(style)
    .with_prefix("probing");
    bar.tick();
    bar
}

/// Longest `--timeout` and `--deadline`: a day. Larger values are refused at the command line
/// (a deadline of `u64::MAX` seconds is past what the clock can count).
const MAX_SECONDS: u64 = 24 * 60 * 60;

fn seconds() -> clap::builder::RangedU64ValueParser {
    clap::value_parser!(u64).range(0..=MAX_SECONDS)
}

pub fn run(args: Args) -> u8 {
    let options = plan::PlanOptions {
        only: args.only.clone(),
    };
    let project = match super::load(&ProjectOptions {
        spec: args.spec.clone(),
        ..ProjectOptions::default()
    }) {
        Ok(project) => project,
        Err(code) => return code,
    };
    let from_files = project.from_files();
    // What the user named: flags win over the agent's environment. The spec's domain and scheme
    // come last, and only for the origins: the token goes only where the user said.
    let flag = |key: &str| -> Option<String> {
        match key {
            "CODER_WORKSPACE_NAME" => args.workspace.clone(),
            "CODER_WORKSPACE_OWNER_NAME" => args.owner.clone(),
            "PORTOLAN_WILDCARD_DOMAIN" => args.wildcard_domain.clone(),
            "CODER_SESSION_TOKEN" => args.token.clone(),
            _ => None,
        }
    };
    let lookup =
        |key: &str| flag(key).or_else(|| std::env::var(key).ok().filter(|v| !v.is_empty()));
    let public = plan::public_context(lookup, &from_files);
    if let Some(p) = &public {
        if p.token.as_ref().is_some_and(|t| t.domain.is_none()) {
            output::note(format_args!(
                "note: the wildcard domain `{}` comes from the spec, so the session token is not sent there; pass --wildcard-domain (or set PORTOLAN_WILDCARD_DOMAIN) to probe apps that need a login",
                p.wildcard_domain
            ));
        }
    }
    if public.is_none() {
        if lookup("CODER_WORKSPACE_NAME").is_some()
            && lookup("PORTOLAN_WILDCARD_DOMAIN").is_none()
            && from_files.wildcard_domain.is_none()
        {
            output::note(format_args!("note: in a Coder workspace, but the wildcard app domain is unknown: pass --wildcard-domain to probe public origins"));
        } else {
            output::note(format_args!("note: outside a Coder workspace: probing local links only (pass --workspace, --owner and --wildcard-domain to probe public origins)"));
        }
    }
    let (mut probe_plan, sources) = match project.probe_plan(&args.path, public, &options) {
        Ok(planned) => planned,
        Err(e) => {
            eprintln!("error: {e}");
            return FAILED;
        }
    };
    if probe_plan.chains.is_empty() {
        if args.only.is_empty() {
            eprintln!("error: no app with a localhost url to probe");
        } else {
            eprintln!("error: no app or variable named {}", args.only.join(", "));
        }
        return FAILED;
    }
    probe_plan.timeout = std::time::Duration::from_secs(args.timeout.max(1));
    probe_plan.deadline = std::time::Duration::from_secs(args.deadline.max(1));
    let total = probe_plan.link_count();
    let start = std::time::Instant::now();
    let quiet = output::verbosity() < output::Verbosity::Normal;
    let mode = progress_mode(
        std::io::stderr().is_terminal(),
        quiet,
        Some(output::stderr_colored()),
        |key: &str| std::env::var_os(key),
    );
    let bar = progress_bar(mode, total);
    let on_link = |event: probe::LinkFinished<'_>| {
        bar.set_message(event.app.to_owned());
        bar.inc(1);
    };
    let result = probe::run_blocking(&probe_plan, &on_link);
    bar.finish_and_clear();
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return FAILED;
        }
    };
    output::debug(format_args!(
        "probed {total} links in {}",
        output::elapsed(start)
    ));
    let text = match args.format {
        Format::Human => probe::report::human(&report, Some(&sources)),
        Format::Json => probe::report::json(&report, Some(&sources)),
    };
    let text = if text.ends_with('\n') {
        text
    } else {
        text + "\n"
    };
    if let Some(path) = &args.output_file {
        if let Err(e) = output::write_report(path, &text) {
            eprintln!("error: {e}");
            return FAILED;
        }
    } else {
        to_stdout(text);
    }
    if !report.is_complete() {
        let missed: Vec<String> = report
            .chains
            .iter()
            .flat_map(|c| {
                c.not_reached()
                    .map(|l| format!("{} {}", c.app, probe::report::link_name(l)))
            })
            .collect();
        eprintln!(
            "error: could not finish within the {} s deadline (--deadline); not reached: {}",
            probe_plan.deadline.as_secs(),
            missed.join(", ")
        );
    }
    match report.exit_code() {
        0 => OK,
        1 => FOUND,
        _ => FAILED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, OsString)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    #[test]
    fn progress_only_on_a_terminal_and_in_colour_unless_told_not_to() {
        use ProgressMode::*;
        type Case<'a> = (
            bool,
            bool,
            Option<bool>,
            &'a [(&'a str, &'a str)],
            ProgressMode,
        );
        let cases: [Case<'_>; 12] = [
            (true, false, None, &[], Colored),
            // Piped, or to a file: nothing extra, whatever the colour says.
            (false, false, None, &[], Hidden),
            (false, false, Some(true), &[], Hidden),
            (true, true, None, &[], Hidden),
            (true, false, None, &[("TERM", "dumb")], Hidden),
            (true, false, None, &[("NO_COLOR", "1")], Plain),
            // NO_COLOR set but empty does not count (no-color.org).
            (true, false, None, &[("NO_COLOR", "")], Colored),
            (true, false, None, &[("CLICOLOR", "0")], Plain),
            (true, false, None, &[("CLICOLOR", "1")], Colored),
            // An explicit choice wins over the environment.
            (true, false, Some(true), &[("NO_COLOR", "1")], Colored),
            (true, false, Some(false), &[], Plain),
            (true, false, None, &[("TERM", "xterm-256color")], Colored),
        ];
        for (terminal, quiet, color, vars, mode) in cases {
            assert_eq!(
                progress_mode(terminal, quiet, color, env(vars)),
                mode,
                "terminal {terminal}, quiet {quiet}, color {color:?}, {vars:?}"
            );
        }
    }

    #[test]
    fn a_hidden_bar_draws_nothing() {
        let bar = progress_bar(ProgressMode::Hidden, 4);
        assert!(bar.is_hidden());
        for mode in [ProgressMode::Plain, ProgressMode::Colored] {
            assert_eq!(progress_bar(mode, 4).length(), Some(4));
        }
    }
}
