//! `portolan render`: write (or, with `--check`, compare) the files a spec renders.

use std::path::{Path, PathBuf};

use portolan::model::build::normalize;
use portolan::project::{Project, ProjectOptions, Rendered};
use portolan::render::write::{self, Change};
use portolan::render::{record, RenderOptions, RenderedFile};
use portolan::report::{self, Format, Report};
use portolan::rules;

use super::output::{self, Verbosity};
use super::{to_stdout, FAILED, FOUND, OK};

/// `portolan render`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The specs; each renders into its own folder.
    #[arg(default_value = "portolan.yaml", value_name = "SPEC")]
    pub specs: Vec<PathBuf>,
    /// Output folder (one spec only); defaults to the spec's folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write main.tf, a complete docker-based Coder template.
    #[arg(long)]
    pub full: bool,
    /// Write nothing; print a diff of every file that is missing or differs and exit 1 if any.
    #[arg(long)]
    pub check: bool,
    /// Overwrite files that were edited by hand or not written by portolan.
    #[arg(long)]
    pub force: bool,
    /// Folder of templates that replace the built-in ones of the same name (default: the
    /// spec's `templates:`, else the one the last render used).
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Write the files (and exit 0) although `check`'s rules find errors in them.
    #[arg(long)]
    pub allow_findings: bool,
    #[command(flatten)]
    pub config: super::ConfigArgs,
}

pub fn run(args: Args) -> u8 {
    let Args {
        specs,
        out,
        full,
        check,
        force,
        templates,
        allow_findings,
        config,
    } = args;
    // Flags, and whatever else says how to render, land here.
    let given = RenderOptions {
        full,
        templates,
        out,
        spec_file: String::new(),
    };
    if specs.len() > 1 && given.out.is_some() {
        eprintln!(
            "error: --out takes one spec, and {} are given; without it each spec renders into its own folder",
            specs.len()
        );
        return FAILED;
    }
    // Each spec with its project (its own config, the nearest to it) and how it renders.
    let loaded: Vec<Result<Loaded<'_>, u8>> = specs
        .iter()
        .map(|spec| {
            let project = super::load(&ProjectOptions {
                spec: Some(spec.clone()),
                render: given.clone(),
                config: config.lookup(spec),
                ..ProjectOptions::default()
            })?;
            let (options, recorded) = project.render_options().map_err(|e| {
                eprintln!("error: {e}");
                FAILED
            })?;
            Ok((spec, project, options, recorded))
        })
        .collect();
    // Two specs rendering into one folder would write over each other's files.
    let folder = |options: &RenderOptions| {
        normalize(
            &std::path::absolute(options.out.as_deref().unwrap_or(Path::new("")))
                .unwrap_or_default(),
        )
    };
    let ok: Vec<&Loaded<'_>> = loaded.iter().filter_map(|l| l.as_ref().ok()).collect();
    for (i, (a, _, a_options, _)) in ok.iter().enumerate() {
        if let Some((b, _, _, _)) = ok[..i]
            .iter()
            .find(|(_, _, b_options, _)| folder(b_options) == folder(a_options))
        {
            eprintln!(
                "error: {} and {} render into the same folder; give each spec its own folder",
                b.display(),
                a.display()
            );
            return FAILED;
        }
    }
    let mode = Mode {
        check,
        force,
        allow_findings,
    };
    // Every spec is rendered (or checked), whatever the others gave: the worst verdict wins.
    loaded
        .iter()
        .map(|l| match l {
            Ok((spec, project, options, recorded)) => {
                render_one(spec, project, options, recorded.as_ref(), mode)
            }
            Err(code) => *code,
        })
        .max()
        .unwrap_or(OK)
}

/// A spec with its project, how it renders, and the record of its last render.
type Loaded<'s> = (&'s PathBuf, Project, RenderOptions, Option<record::Record>);

/// What to do with the files rendered: the flags that are not options of the render.
#[derive(Clone, Copy)]
struct Mode {
    /// `--check`: compare, write nothing.
    check: bool,
    /// `--force`: overwrite files edited by hand.
    force: bool,
    /// `--allow-findings`: write although the rules find errors in the files.
    allow_findings: bool,
}

/// `render` (or `render --check`) of one spec, loaded, with its options resolved.
fn render_one(
    spec_path: &Path,
    project: &Project,
    options: &RenderOptions,
    recorded: Option<&record::Record>,
    Mode {
        check,
        force,
        allow_findings,
    }: Mode,
) -> u8 {
    if let Some(templates) = &options.templates {
        output::debug(format_args!("templates: {}", templates.display()));
    }
    let start = std::time::Instant::now();
    let out = options.out.clone().unwrap_or_default();
    let rendered = match project.render(options) {
        Ok(rendered) => rendered,
        Err(e) => return super::load_failed(&e),
    };
    output::debug(format_args!(
        "rendered {} files in {}",
        rendered.files.len(),
        output::elapsed(start)
    ));
    report_rendered_findings(&rendered);
    let found_errors = !allow_findings && rendered.findings.iter().any(|d| d.is_error());
    if found_errors && !check {
        eprintln!("error: the rendered files have errors: nothing written; fix the spec, or pass --allow-findings to write them anyway");
        return FOUND;
    }
    let files = rendered.files;
    if let Some(recorded) = recorded {
        no_longer_rendered(recorded, &files, &out);
    }
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
        let drift = render_check(&planned, spec_path);
        return if found_errors { FOUND } else { drift };
    }
    let refused = write::refused(&planned, force);
    for (p, why) in &refused {
        eprintln!("error: {} {why}", p.target.display());
    }
    if !refused.is_empty() {
        if refused.iter().any(|(_, why)| !why.forceable()) {
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
    let color = output::stderr_colored();
    let say = |verb: &str, what: String| {
        if output::verbosity() < Verbosity::Normal {
            return;
        }
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

/// Notes each file the last render wrote that this spec no longer renders (a renamed compose
/// file) and that is still there: render leaves it, and `check` would read it with the rest.
fn no_longer_rendered(recorded: &record::Record, files: &[RenderedFile], out: &Path) {
    let now: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    for file in recorded.dropped(&now) {
        let path = out.join(file);
        if std::fs::symlink_metadata(&path).is_ok() {
            output::note(format_args!(
                "{} was rendered before and no longer is: remove it, or `check` reads it with the new files",
                path.display()
            ));
        }
    }
}

/// `render --check`: prints a diff of every file that drifted (env files: the keys that differ,
/// never their values) and names targets that are not regular files, without reading them.
fn render_check(planned: &[write::Planned<'_>], spec_path: &Path) -> u8 {
    let mut diffs = String::new();
    let mut drift = false;
    for p in planned.iter().filter(|p| p.drifted()) {
        drift = true;
        match &p.on_disk {
            write::OnDisk::NotAFile(kind) => output::finding(format_args!(
                "{} {}: not read",
                p.target.display(),
                write::Blocker::NotAFile(*kind)
            )),
            write::OnDisk::TooLarge(size) => output::finding(format_args!(
                "{} {}: not read",
                p.target.display(),
                write::Blocker::TooLarge(*size)
            )),
            _ => diffs.push_str(&write::diff(p, &display(p))),
        }
    }
    to_stdout(diffs);
    if drift {
        output::note(format_args!(
            "rendered files differ from {}: run `portolan render` and commit the result",
            spec_path.display()
        ));
        return FOUND;
    }
    let files = planned
        .iter()
        .filter(|p| p.file.path != Path::new(record::FILE))
        .count();
    output::note(format_args!("{files} files match {}", spec_path.display()));
    OK
}

/// A target as diffs name it: from the working folder when it is inside it, so that the diff
/// applies there (`git apply`, `patch -p1`) whichever spec it is of; else from the output folder.
fn display(planned: &write::Planned<'_>) -> String {
    let absolute = std::path::absolute(&planned.target).ok();
    let cwd = std::env::current_dir().ok();
    match (absolute, cwd) {
        (Some(target), Some(cwd)) => match normalize(&target).strip_prefix(&cwd) {
            Ok(inside) => inside.to_string_lossy().into_owned(),
            Err(_) => planned.file.path.to_string_lossy().into_owned(),
        },
        _ => planned.file.path.to_string_lossy().into_owned(),
    }
}

/// Says what `check`'s rules found in the rendered files: the spec is valid, but its ports may
/// not be the ones its images or programs listen on.
fn report_rendered_findings(rendered: &Rendered) {
    let verbosity = output::verbosity();
    if rendered.findings.is_empty() || verbosity == Verbosity::Silent {
        return;
    }
    let metas = rules::metas();
    let report = Report {
        findings: &rendered.findings,
        sources: &rendered.sources,
        files_checked: rendered.sources.len(),
        rules: &metas,
        read_although_ignored: &[],
        root: None,
    };
    output::note(format_args!(
        "the rendered files have problems the spec cannot see; `portolan check` would report:"
    ));
    let color = output::stderr_colored();
    let mut stderr = std::io::stderr().lock();
    let _ = if verbosity == Verbosity::Quiet {
        report::human::write_findings(&report, color, &mut stderr)
    } else {
        report::write(Format::Human, &report, color, &mut stderr)
    };
}
