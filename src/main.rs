//! The `portolan` command line. The only place that prints.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use portolan::check::{self, CheckOptions};
use portolan::diagnostic::{Diagnostic, Severity};
use portolan::render::write::{self, Change};
use portolan::render::{self, RenderOptions};
use portolan::report::{self, Format, Report};
use portolan::rules;
use portolan::source::SourceMap;
use portolan::spec;

/// Exit code: the command ran and found nothing wrong.
const OK: u8 = 0;
/// Exit code: the command ran and found errors (or drift, with `render --check`).
const FOUND: u8 = 1;
/// Exit code: the command itself could not run.
const FAILED: u8 = 2;

/// Largest spec `render` reads.
const SPEC_MAX_BYTES: u64 = 4 * 1024 * 1024;

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
    Probe(ProbeArgs),
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

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ProbeFormat {
    Human,
    Json,
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
        Command::Check {
            paths,
            spec,
            format,
            select,
            ignore,
            strict,
            knowledge,
        } => check_command(
            paths,
            spec,
            format.format(),
            select,
            ignore,
            strict,
            knowledge,
        ),
        Command::Rules { rule } => rules_command(rule.as_deref()),
        Command::Probe(args) => probe_command(args),
        Command::Schema => {
            let schema = spec::json_schema();
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

/// Writes to stdout. Every subcommand's output goes through here; a report written straight to
/// stdout ends in [`stdout_failed`] when the write fails.
fn to_stdout(text: impl AsRef<[u8]>) {
    let mut stdout = io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_ref())
        .and_then(|()| stdout.flush())
    {
        stdout_failed(&e);
    }
}

/// Ends the process after a write to stdout failed. A closed pipe (`portolan rules | head -1`)
/// ends it quietly with exit 0, as ripgrep does: the reader has what it wanted. Any other error
/// is said, with exit 2.
fn stdout_failed(e: &io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(i32::from(OK));
    }
    eprintln!("error: cannot write to stdout: {e}");
    std::process::exit(i32::from(FAILED));
}

fn init(preset: Preset, force: bool, dir: &Path) -> u8 {
    let path = dir.join("portolan.yaml");
    // Whatever is there (a file, a link, even a dangling one) is replaced only with --force.
    if std::fs::symlink_metadata(&path).is_ok() && !force {
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
    // Only from a regular file: a spec linked to /proc/self/environ would print the environment
    // in its parse error.
    let text = match write::read_regular(spec_path, SPEC_MAX_BYTES) {
        Ok(text) => text,
        Err(write::ReadError::Io(e)) => {
            eprintln!("error: cannot read {}: {e}", spec_path.display());
            return FAILED;
        }
        Err(e @ write::ReadError::NotAFile(write::NodeKind::Symlink)) => {
            eprintln!(
                "error: {} {e}: not read; name the file itself",
                spec_path.display()
            );
            return FAILED;
        }
        Err(e) => {
            eprintln!("error: {} {e}: not read", spec_path.display());
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
    report_rendered_findings(&loaded.spec, &files);
    let planned = match write::plan(&files, &out) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            if !check {
                eprintln!("nothing written");
            }
            return FAILED;
        }
    };
    if check {
        return render_check(&planned, spec_path);
    }
    let mut refused = false;
    for p in &planned {
        if let Change::Blocked(why) = p.change {
            if !force || !why.forceable() {
                refused = true;
                eprintln!("error: {} {why}", p.target.display());
            }
        }
    }
    if refused {
        let folder = planned
            .iter()
            .any(|p| matches!(p.change, Change::Blocked(b) if !b.forceable()));
        if folder {
            eprintln!("nothing written; move what is in the way elsewhere");
        } else {
            eprintln!(
                "nothing written; move your changes into the spec, or pass --force to overwrite"
            );
        }
        return FAILED;
    }
    let written = match write::write_set(&planned, &out) {
        Ok(written) => written,
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                write::WriteError::Rename { renamed, .. } => {
                    for i in renamed {
                        eprintln!("  written: {}", planned[i].target.display());
                    }
                    eprintln!(
                        "the other files were not written; run `portolan render` again to finish"
                    );
                }
                _ => eprintln!("nothing written"),
            }
            return FAILED;
        }
    };
    let color = std::io::stderr().is_terminal();
    let say = |verb: &str, what: String| {
        if color {
            eprintln!("\x1b[32m{verb:>9}\x1b[0m {what}");
        } else {
            eprintln!("{verb:>9} {what}");
        }
    };
    for stale in &written.stale_removed {
        say(
            "removed",
            format!("{} (left by an interrupted run)", stale.display()),
        );
    }
    for &i in &written.files {
        let p = &planned[i];
        let verb = match p.change {
            Change::Create => "created",
            Change::Update => "updated",
            _ => "replaced",
        };
        say(verb, p.target.display().to_string());
    }
    for p in planned.iter().filter(|p| p.change == Change::KeptFromStart) {
        say(
            "kept",
            format!(
                "{} (written at workspace start: it holds the workspace's origins and secrets, and the start script rewrites it)",
                p.target.display()
            ),
        );
    }
    OK
}

/// `render --check`: prints a diff of every file that drifted (env files: the keys that differ,
/// never their values) and names targets that are not regular files, without reading them.
fn render_check(planned: &[write::Planned<'_>], spec_path: &Path) -> u8 {
    let mut diffs = String::new();
    let mut drift = false;
    for p in planned.iter().filter(|p| p.drifted()) {
        drift = true;
        match &p.on_disk {
            write::OnDisk::NotAFile(kind) => eprintln!(
                "{} {}: not read",
                p.target.display(),
                write::Blocker::NotAFile(*kind)
            ),
            write::OnDisk::TooLarge(size) => eprintln!(
                "{} {}: not read",
                p.target.display(),
                write::Blocker::TooLarge(*size)
            ),
            _ => diffs.push_str(&write::diff(p, &p.file.path.to_string_lossy())),
        }
    }
    to_stdout(diffs);
    if drift {
        eprintln!(
            "rendered files differ from {}: run `portolan render` and commit the result",
            spec_path.display()
        );
        return FOUND;
    }
    eprintln!("{} files match {}", planned.len(), spec_path.display());
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

fn check_command(
    paths: Vec<PathBuf>,
    spec_path: Option<PathBuf>,
    format: Format,
    select: Vec<String>,
    mut ignore: Vec<String>,
    strict: bool,
    knowledge: Option<PathBuf>,
) -> u8 {
    let mut options = CheckOptions {
        select,
        ..CheckOptions::default()
    };
    if let Some(path) = knowledge {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return FAILED;
            }
        };
        match portolan::knowledge::Knowledge::parse(&text) {
            Ok(k) => options.knowledge = Some(k),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return FAILED;
            }
        }
    }
    if let Some(spec_path) = &spec_path {
        let text = match std::fs::read_to_string(spec_path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", spec_path.display());
                return FAILED;
            }
        };
        let mut sources = SourceMap::new();
        match spec::load(spec_path, &text, &mut sources) {
            Ok(loaded) => {
                ignore.extend(loaded.spec.ignore.iter().map(|r| r.value.clone()));
                if let Some(extra) = loaded.spec.knowledge.clone() {
                    let mut knowledge = options.knowledge.take().unwrap_or_default();
                    knowledge.extend(extra);
                    options.knowledge = Some(knowledge);
                }
                options.spec = Some(check::SpecInput {
                    dir: spec_path
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_default(),
                    spec_file: spec_path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    spec: loaded.spec,
                });
            }
            Err(err) => {
                print_diagnostics(&err.diagnostics, &sources);
                return FAILED;
            }
        }
    }
    options.ignore = ignore;
    // Paths are relative to the folder given (DESIGN.md), except for the formats GitHub reads:
    // code scanning and annotations need paths from the repository root, where CI runs.
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = match (format, paths.as_slice()) {
        (Format::Sarif | Format::Github, _) => cwd,
        (_, [one]) if one.is_dir() => one.clone(),
        _ => cwd,
    };
    let result = match check::check_paths(&paths, &root, &options) {
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
    };
    let color = format == Format::Human && std::io::stdout().is_terminal();
    let mut stdout = io::stdout().lock();
    if let Err(e) = report::write(format, &report, color, &mut stdout).and_then(|()| stdout.flush())
    {
        stdout_failed(&e);
    }
    let errors = findings.iter().any(|d| d.severity == Severity::Error);
    let warnings = findings.iter().any(|d| d.severity == Severity::Warning);
    if errors || (strict && warnings) {
        FOUND
    } else {
        OK
    }
}

fn rules_command(rule: Option<&str>) -> u8 {
    match rule {
        None => {
            let mut text = String::new();
            for r in rules::RULES {
                let _ = writeln!(
                    text,
                    "{:<6} {:<33} {:<8} {}",
                    r.meta.code,
                    r.meta.name,
                    r.meta.default_severity.as_str(),
                    r.meta.summary
                );
            }
            to_stdout(text);
            OK
        }
        Some(name) => match rules::find(name) {
            Some(r) => {
                to_stdout(format!(
                    "# {} ({})\n\n{}\n\nDefault severity: {}\n\n{}\n",
                    r.meta.name,
                    r.meta.code,
                    r.meta.summary,
                    r.meta.default_severity.as_str(),
                    r.meta.explanation.trim_end()
                ));
                OK
            }
            None => {
                let names: Vec<&str> = rules::RULES.iter().map(|r| r.meta.name).collect();
                let hint = spec::did_you_mean(name, names.iter().copied())
                    .map(|b| format!("; did you mean `{b}`?"))
                    .unwrap_or_default();
                eprintln!("error: unknown rule `{name}`{hint}");
                FAILED
            }
        },
    }
}

#[derive(clap::Args)]
struct ProbeArgs {
    /// Folder with the workspace's files (ignored with --spec).
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Build the chains from a portolan.yaml instead of the files.
    #[arg(long, value_name = "FILE")]
    spec: Option<PathBuf>,
    /// Workspace name (default: CODER_WORKSPACE_NAME).
    #[arg(long)]
    workspace: Option<String>,
    /// Workspace owner (default: CODER_WORKSPACE_OWNER_NAME).
    #[arg(long)]
    owner: Option<String>,
    /// Wildcard app domain (default: PORTOLAN_WILDCARD_DOMAIN, or the spec's, which builds the
    /// origins but never receives the token).
    #[arg(long, value_name = "DOMAIN")]
    wildcard_domain: Option<String>,
    /// Coder session token for apps that are not public (default: CODER_SESSION_TOKEN); sent only over
    /// https to hosts under the wildcard domain given by --wildcard-domain or
    /// PORTOLAN_WILDCARD_DOMAIN, or to the access URL's host; after a redirect, only to the same host.
    #[arg(long)]
    token: Option<String>,
    /// Probe only these apps or env variables (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "APP")]
    only: Vec<String>,
    /// Seconds each probe may take.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
    /// Seconds the whole run may take.
    #[arg(long, default_value_t = 30)]
    deadline: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ProbeFormat::Human)]
    format: ProbeFormat,
}

fn probe_command(args: ProbeArgs) -> u8 {
    use portolan::probe::{self, plan};
    let options = plan::PlanOptions {
        only: args.only.clone(),
    };
    let mut knowledge = portolan::knowledge::Knowledge::builtin().clone();
    let mut from_files = plan::FromFiles::default();
    let mut sources = SourceMap::new();
    let loaded = match &args.spec {
        Some(path) => {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", path.display());
                    return FAILED;
                }
            };
            match spec::load(path, &text, &mut sources) {
                Ok(loaded) => {
                    if let Some(extra) = loaded.spec.knowledge.clone() {
                        knowledge.extend(extra);
                    }
                    from_files = plan::FromFiles::of_spec(&loaded.spec);
                    Some(loaded)
                }
                Err(err) => {
                    print_diagnostics(&err.diagnostics, &sources);
                    return FAILED;
                }
            }
        }
        None => None,
    };
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
            eprintln!(
                "note: the wildcard domain `{}` comes from the spec, so the session token is not sent there; pass --wildcard-domain (or set PORTOLAN_WILDCARD_DOMAIN) to probe apps that need a login",
                p.wildcard_domain
            );
        }
    }
    if public.is_none() {
        if lookup("CODER_WORKSPACE_NAME").is_some()
            && lookup("PORTOLAN_WILDCARD_DOMAIN").is_none()
            && from_files.wildcard_domain.is_none()
        {
            eprintln!("note: in a Coder workspace, but the wildcard app domain is unknown: pass --wildcard-domain to probe public origins");
        } else {
            eprintln!("note: outside a Coder workspace: probing local links only (pass --workspace, --owner and --wildcard-domain to probe public origins)");
        }
    }
    let (mut probe_plan, sources) = match loaded {
        Some(loaded) => (
            plan::plan_from_spec(&loaded.spec, loaded.file, &knowledge, public, &options),
            sources,
        ),
        None => {
            let root = if args.path.is_dir() {
                args.path.clone()
            } else {
                std::env::current_dir().unwrap_or_default()
            };
            let result = match check::check_paths(
                std::slice::from_ref(&args.path),
                &root,
                &CheckOptions::default(),
            ) {
                Ok(result) => result,
                Err(e) => {
                    eprintln!("error: {e}");
                    return FAILED;
                }
            };
            let Some((workspace, _)) = result.workspaces.into_iter().next() else {
                eprintln!(
                    "error: no Coder template, compose file, script or env file under {}",
                    args.path.display()
                );
                return FAILED;
            };
            (
                plan::plan_from_workspace(&workspace, public, &options),
                workspace.sources,
            )
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
    let progress = std::io::stderr().is_terminal();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let on_link = |event: probe::LinkFinished<'_>| {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if progress {
            eprint!("\r\x1b[2Kprobing: {n}/{total} links ({})", event.app);
        }
    };
    let report = match probe::run_blocking(&probe_plan, &on_link) {
        Ok(report) => report,
        Err(e) => {
            if progress {
                eprintln!();
            }
            eprintln!("error: {e}");
            return FAILED;
        }
    };
    if progress {
        eprint!("\r\x1b[2K");
    }
    let text = match args.format {
        ProbeFormat::Human => probe::report::human(&report, Some(&sources)),
        ProbeFormat::Json => probe::report::json(&report, Some(&sources)),
    };
    if text.ends_with('\n') {
        to_stdout(text);
    } else {
        to_stdout(text + "\n");
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

/// Checks what was rendered, as `check` would, and prints what it finds: the spec is valid, but
/// its ports may not be the ones its images or programs listen on.
fn report_rendered_findings(spec: &spec::Spec, files: &[render::RenderedFile]) {
    let inputs = files
        .iter()
        .filter_map(|f| {
            let kind = check::classify(&f.path, Some(&f.contents))?;
            Some(portolan::model::build::InputFile {
                path: f.path.clone(),
                text: f.contents.clone(),
                kind,
            })
        })
        .collect();
    let mut knowledge = portolan::knowledge::Knowledge::builtin().clone();
    if let Some(extra) = spec.knowledge.clone() {
        knowledge.extend(extra);
    }
    let ignore: Vec<String> = spec.ignore.iter().map(|r| r.value.clone()).collect();
    let rules: Vec<_> = rules::RULES
        .iter()
        .copied()
        .filter(|r| !ignore.iter().any(|i| rules::is_named(r, i)))
        .collect();
    let (workspace, findings) = check::check_files(inputs, &rules, knowledge);
    if findings.is_empty() {
        return;
    }
    let metas = rules::metas();
    let report = Report {
        findings: &findings,
        sources: &workspace.sources,
        files_checked: workspace.sources.len(),
        rules: &metas,
    };
    eprintln!(
        "the rendered files have problems the spec cannot see; `portolan check` would report:"
    );
    let mut stderr = std::io::stderr().lock();
    let _ = report::write(
        Format::Human,
        &report,
        std::io::stderr().is_terminal(),
        &mut stderr,
    );
}
