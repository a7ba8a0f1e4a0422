//! The one way in: [`Project::load`] reads the spec (if any), the knowledge base (built-in, then
//! `--knowledge`, then the spec's `knowledge:`) and the rule options once; [`Project::check`],
//! [`Project::render`] and [`Project::probe_plan`] then run the same pipeline from there:
//! files → parse → model → rules → findings. Every subcommand enters here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::check::{self, CheckOptions, CheckResult, SpecInput};
use crate::config::{self, Config, ConfigLookup};
use crate::diagnostic::Diagnostic;
use crate::knowledge::Knowledge;
#[cfg(feature = "probe")]
use crate::probe::plan::{self, FromFiles, PlanOptions};
#[cfg(feature = "probe")]
use crate::probe::{ProbePlan, PublicContext};
use crate::render::record::{self, Record};
use crate::render::write::{self as render_write, NodeKind, ReadError};
use crate::render::{self, RenderOptions, RenderedFile};
use crate::rules::{self, Rule};
use crate::source::{FileId, SourceMap};
use crate::spec::{self, Spec};

/// Largest spec read.
pub const SPEC_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// What a run is given, before anything is read.
#[derive(Debug, Clone, Default)]
pub struct ProjectOptions {
    /// A portolan.yaml.
    pub spec: Option<PathBuf>,
    /// Extra knowledge, in the shape of the built-in file.
    pub knowledge: Option<PathBuf>,
    /// Rule names or codes to run; empty means all.
    pub select: Vec<String>,
    /// Rule names or codes to skip (the spec's `ignore:` is added to these).
    pub ignore: Vec<String>,
    /// How to render, as the flags (and a config) give it: `render`, and the set `check
    /// --spec` compares. [`Project::render_options`] completes it.
    pub render: RenderOptions,
    /// The config file to read: flags above replace its keys, except `ignore`, which adds.
    pub config: ConfigLookup,
    /// `--force-exclude`: the config's `exclude` applies to the paths given too.
    pub force_exclude: bool,
}

/// A loaded spec and where it lives.
#[derive(Debug, Clone)]
pub struct SpecFile {
    /// As given.
    pub path: PathBuf,
    pub spec: Spec,
    /// Its id in [`Project::sources`].
    pub file: FileId,
}

impl SpecFile {
    /// The spec's folder: render's default output folder.
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// The spec's file name, as rendered files mention it.
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "portolan.yaml".to_owned())
    }
}

/// Why a project could not be loaded, or its spec rendered.
#[derive(Debug)]
pub enum LoadError {
    /// A file could not be read: the sentence to say.
    Read(String),
    /// The spec, the knowledge file, the config or a template is invalid: its errors (and the
    /// spec's warnings), located in `sources`.
    Invalid {
        diagnostics: Vec<Diagnostic>,
        sources: SourceMap,
    },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Read(message) => f.write_str(message),
            LoadError::Invalid { diagnostics, .. } => {
                write!(f, "{} problems", diagnostics.len())
            }
        }
    }
}

/// The spec, knowledge and options of one run, read once.
#[derive(Debug)]
pub struct Project {
    /// The spec's text, for its warnings and for locations in probe plans (and the config's
    /// and knowledge file's).
    pub sources: SourceMap,
    pub spec: Option<SpecFile>,
    /// The config file read, if any: the CLI reads its other keys (`strict`, `[render]`).
    pub config: Option<Config>,
    /// Built-in knowledge, then `--knowledge`, then the spec's `knowledge:`.
    pub knowledge: Arc<Knowledge>,
    /// `--select`, else the config's `select` and `extend-select`.
    pub select: Vec<String>,
    /// The config's `ignore`, `--ignore`, then the spec's `ignore:`.
    pub ignore: Vec<String>,
    /// The config's `exclude` and `per-file-ignores`, and whether `exclude` is forced.
    pub paths: config::PathFilters,
    /// The spec's warnings.
    pub warnings: Vec<Diagnostic>,
    /// [`ProjectOptions::render`].
    pub render: RenderOptions,
}

/// What render made, and what checking it found.
#[derive(Debug)]
pub struct Rendered {
    pub files: Vec<RenderedFile>,
    /// Findings of `check`'s rules (less the spec's `ignore:`) on the rendered files: the spec
    /// is valid, but its ports may not be the ones its images or programs listen on.
    pub findings: Vec<Diagnostic>,
    /// The rendered files, for the findings' locations.
    pub sources: SourceMap,
}

impl Project {
    /// Reads the knowledge file and the spec (each only from a regular file: a spec linked to
    /// `/proc/self/environ` would print the environment in its parse error).
    pub fn load(options: &ProjectOptions) -> Result<Project, LoadError> {
        let mut sources = SourceMap::new();
        let config = load_config(&options.config, &mut sources)?;
        let mut check_config = config.as_ref().map(|c| c.check.clone()).unwrap_or_default();
        check_config.paths.force_exclude |= options.force_exclude;
        let mut knowledge = Knowledge::builtin().clone();
        if let Some(path) = options
            .knowledge
            .as_ref()
            .or(check_config.knowledge.as_ref())
        {
            // A file the config names is missing at the config's line.
            let named_at = check_config
                .knowledge_at
                .filter(|_| options.knowledge.is_none());
            let text = read_file(path).map_err(|e| match (e, named_at) {
                (LoadError::Read(message), Some(at)) => LoadError::Invalid {
                    diagnostics: vec![Diagnostic::error(at, message)],
                    sources: sources.clone(),
                },
                (e, _) => e,
            })?;
            let extra = Knowledge::load(path, &text, &mut sources).map_err(|diagnostics| {
                LoadError::Invalid {
                    diagnostics,
                    sources: sources.clone(),
                }
            })?;
            knowledge.extend(extra);
        }
        let select = check_config.select(&options.select);
        let mut ignore = check_config.ignore(&options.ignore);
        let mut warnings = Vec::new();
        let spec = match &options.spec {
            Some(path) => {
                let text = read_spec(path)?;
                let loaded = match spec::load(path, &text, &mut sources) {
                    Ok(loaded) => loaded,
                    Err(err) => {
                        return Err(LoadError::Invalid {
                            diagnostics: err.diagnostics,
                            sources,
                        })
                    }
                };
                let unknown = unknown_rules(&loaded.spec, loaded.file);
                if !unknown.is_empty() {
                    let mut diagnostics = loaded.warnings;
                    diagnostics.extend(unknown);
                    return Err(LoadError::Invalid {
                        diagnostics,
                        sources,
                    });
                }
                // A folder the flags or the config name is used instead of the spec's.
                let templates_given = options.render.templates.is_some()
                    || config
                        .as_ref()
                        .is_some_and(|c| c.render.templates.is_some());
                if !templates_given {
                    if let Some(error) = missing_templates(path, &loaded.spec, loaded.file) {
                        let mut diagnostics = loaded.warnings;
                        diagnostics.push(error);
                        return Err(LoadError::Invalid {
                            diagnostics,
                            sources,
                        });
                    }
                }
                ignore.extend(loaded.spec.ignore.iter().map(|r| r.value.clone()));
                if let Some(extra) = loaded.spec.knowledge.clone() {
                    knowledge.extend(extra);
                }
                warnings = loaded.warnings;
                Some(SpecFile {
                    path: path.clone(),
                    spec: loaded.spec,
                    file: loaded.file,
                })
            }
            None => None,
        };
        Ok(Project {
            sources,
            spec,
            config,
            knowledge: Arc::new(knowledge),
            select,
            ignore,
            paths: check_config.paths,
            warnings,
            render: options.render.clone(),
        })
    }

    /// `portolan check`: the files under `paths`, with paths in reports relative to `root`;
    /// with a spec, the files it renders that differ on disk are findings too.
    pub fn check(&self, paths: &[PathBuf], root: &Path) -> Result<CheckResult, String> {
        check::check_paths(paths, root, &self.check_options()?)
    }

    /// `portolan check -`: one text from standard input, its kind from `name`
    /// (`--stdin-filename`) or its content; paths in reports relative to `root`.
    pub fn check_stdin(
        &self,
        text: String,
        name: Option<&Path>,
        root: &Path,
    ) -> Result<CheckResult, String> {
        check::check_stdin(text, name, root, &self.check_options()?)
    }

    /// `portolan check --fix` and `--diff`: [`Project::check`], with the fixes `fix` allows
    /// applied in memory until nothing more applies (see [`crate::fix`]). Writes nothing: the
    /// outcome's changes go to [`crate::fix::write`].
    pub fn fix(
        &self,
        paths: &[PathBuf],
        root: &Path,
        fix: crate::fix::FixOptions,
    ) -> Result<(CheckResult, crate::fix::Outcome), String> {
        check::fix_paths(paths, root, &self.check_options()?, fix)
    }

    /// The options of `check`: the rules, the knowledge, and with a spec, what it renders
    /// (resolved as `render` resolves it: flags or config, the spec's `templates:`, the record).
    fn check_options(&self) -> Result<CheckOptions, String> {
        let spec = match &self.spec {
            Some(s) => {
                let (render, record) = self.render_options()?;
                Some(SpecInput {
                    dir: render.out.clone().unwrap_or_else(|| s.dir()),
                    spec_file: s.file_name(),
                    spec: s.spec.clone(),
                    text: self.sources.get(s.file).text.clone(),
                    render,
                    recorded: record.is_some(),
                })
            }
            None => None,
        };
        let options = CheckOptions {
            select: self.select.clone(),
            ignore: self.ignore.clone(),
            knowledge: Some(self.knowledge.clone()),
            paths: self.paths.clone(),
            spec,
        };
        Ok(options)
    }

    /// How this run renders: the given options ([`ProjectOptions::render`]: flags), the config's `[render]`,
    /// then the spec's `templates:` (relative to the spec's folder), then the record of the last
    /// render in the output folder ([`record`]): `--full` once given stays, and its templates
    /// folder applies when neither the options nor the spec name one. `out` is always set (the
    /// spec's folder by default). Also returns the record found, if any.
    pub fn render_options(&self) -> Result<(RenderOptions, Option<Record>), String> {
        let spec = self.spec.as_ref().ok_or("no spec to render")?;
        let mut options = self.render.clone();
        // The config's `[render]` keys, under the flags.
        if let Some(configured) = self.config.as_ref().map(|c| &c.render) {
            if options.out.is_none() {
                options.out.clone_from(&configured.out);
            }
            if options.templates.is_none() {
                options.templates.clone_from(&configured.templates);
            }
            options.full |= configured.full == Some(true);
        }
        let out = options.out.clone().unwrap_or_else(|| spec.dir());
        options.spec_file = spec.file_name();
        let record = read_record(&out)?;
        if options.templates.is_none() {
            options.templates = match (&spec.spec.templates, &record) {
                (Some(templates), _) => Some(beside(&spec.path, &templates.value)),
                (None, Some(record)) => record.templates_in(&out),
                (None, None) => None,
            };
        }
        options.full |= record.as_ref().is_some_and(|r| r.full);
        options.out = Some(out);
        Ok((options, record))
    }

    /// `portolan render`: the spec's files, in memory (the record of this render last), and
    /// what `check`'s rules find in them. `options` as [`Project::render_options`] gives them.
    /// A template's error is located in the template.
    pub fn render(&self, options: &RenderOptions) -> Result<Rendered, LoadError> {
        let spec = self
            .spec
            .as_ref()
            .ok_or_else(|| LoadError::Read("no spec to render".to_owned()))?;
        let mut files = render::render_with(&spec.spec, options, &self.knowledge).map_err(|e| {
            // A templates folder the config names is wrong at the config's line.
            let configured = self.config.as_ref().map(|c| &c.render);
            if let (render::RenderError::TemplatesFolder { path, .. }, Some(configured)) =
                (&e, configured)
            {
                if let (Some(at), true) = (
                    configured.templates_at,
                    configured.templates.as_ref() == Some(path),
                ) {
                    return LoadError::Invalid {
                        diagnostics: vec![Diagnostic::error(at, e.to_string())],
                        sources: self.sources.clone(),
                    };
                }
            }
            let mut sources = SourceMap::new();
            match e.diagnostic(&mut sources) {
                Some(diagnostic) => LoadError::Invalid {
                    diagnostics: vec![diagnostic],
                    sources,
                },
                None => LoadError::Read(e.to_string()),
            }
        })?;
        let rules = self.rules().map_err(LoadError::Read)?;
        let (workspace, findings) = check::check_rendered(&files, &rules, self.knowledge.clone());
        let out = options.out.clone().unwrap_or_else(|| spec.dir());
        files.push(render::record_file(&files, options, &out));
        Ok(Rendered {
            files,
            findings,
            sources: workspace.sources,
        })
    }

    #[cfg(feature = "probe")]
    /// What the spec says about the deployment, for the probe's public origins: only where the
    /// user's environment is silent, and never where the session token goes.
    pub fn from_files(&self) -> FromFiles {
        self.spec
            .as_ref()
            .map(|s| FromFiles::of_spec(&s.spec))
            .unwrap_or_default()
    }

    #[cfg(feature = "probe")]
    /// `portolan probe`: the chains to walk, from the model of what the spec renders, else of
    /// the files under `path`; with the source map their locations point into.
    pub fn probe_plan(
        &self,
        path: &Path,
        public: Option<PublicContext>,
        plan_options: &PlanOptions,
    ) -> Result<(ProbePlan, SourceMap), String> {
        if let Some(spec) = &self.spec {
            let mut plan =
                plan::plan_from_spec(&spec.spec, spec.file, &self.knowledge, public, plan_options)
                    .map_err(|e| e.to_string())?;
            // The rendered files live next to the spec.
            for chain in &mut plan.chains {
                chain.compose = chain.compose.take().map(|c| c.rendered_in(&spec.dir()));
            }
            return Ok((plan, self.sources.clone()));
        }
        // Paths as `check` shows them: relative to the working folder inside it, else absolute.
        let root = std::env::current_dir().unwrap_or_default();
        // The model `check` builds, without its rules: their findings are check's to report.
        let options = CheckOptions {
            knowledge: Some(self.knowledge.clone()),
            ..CheckOptions::default()
        };
        let result = check::model_paths(&[path.to_path_buf()], &root, &options)?;
        let Some((workspace, _)) = result.workspaces.into_iter().next() else {
            return Err(format!(
                "no Coder template, compose file, script or env file under {}",
                path.display()
            ));
        };
        // The files' paths are named from the working folder, as `docker compose -f` runs.
        let plan = plan::plan_from_workspace(&workspace, public, plan_options);
        Ok((plan, workspace.sources))
    }

    /// `portolan import`: the spec of the template folder `dir`, from the model `check` builds
    /// of its files (with this project's knowledge). Another template folder under `dir`, and
    /// what could not be read, are marked in the spec's header. Fails when `dir` holds no file
    /// portolan reads.
    pub fn import(&self, dir: &Path) -> Result<crate::import::Imported, String> {
        let options = CheckOptions {
            knowledge: Some(self.knowledge.clone()),
            ..CheckOptions::default()
        };
        let result = check::model_paths(&[dir.to_path_buf()], dir, &options)?;
        let pick = result
            .workspaces
            .iter()
            .position(|(ws, _)| ws.is_coder_template())
            .unwrap_or(0);
        let Some((workspace, findings)) = result.workspaces.get(pick) else {
            return Err(format!(
                "no template file in {}: portolan reads Terraform (`*.tf`), compose files, shell scripts (`*.sh`) and env files (`.env`, `*.env`)",
                dir.display()
            ));
        };
        let mut notes = Vec::new();
        for (i, (other, _)) in result.workspaces.iter().enumerate() {
            if i != pick {
                let first = other
                    .sources
                    .files()
                    .next()
                    .map(|(_, f)| f.path.display().to_string());
                notes.push(format!(
                    "another template folder ({}) is not imported: run `portolan import` on it",
                    first.unwrap_or_default()
                ));
            }
        }
        for finding in findings {
            let file = workspace.sources.get(finding.primary.span.file);
            let at = file.line_col(finding.primary.span.start as usize);
            notes.push(format!(
                "{}:{}:{}: could not be read: {}",
                file.path.display(),
                at.line,
                at.column,
                finding.message
            ));
        }
        let name = std::path::absolute(dir)
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        crate::import::import(workspace, &name, &notes)
    }

    /// The rules this run applies.
    pub fn rules(&self) -> Result<Vec<&'static Rule>, String> {
        check::select_rules(&CheckOptions {
            select: self.select.clone(),
            ignore: self.ignore.clone(),
            ..CheckOptions::default()
        })
    }
}

/// The config named by `lookup`, if any, loaded into `sources`.
fn load_config(
    lookup: &ConfigLookup,
    sources: &mut SourceMap,
) -> Result<Option<Config>, LoadError> {
    let path = match lookup {
        ConfigLookup::None => return Ok(None),
        ConfigLookup::File(path) => path.clone(),
        ConfigLookup::Discover(start) => match config::discover(start) {
            Some(path) => path,
            None => return Ok(None),
        },
    };
    let text =
        render_write::read_regular(&path, config::MAX_BYTES).map_err(|e| read_error(&path, e))?;
    config::load(&path, &text, sources)
        .map(Some)
        .map_err(|diagnostics| LoadError::Invalid {
            diagnostics,
            sources: sources.clone(),
        })
}

/// The spec's text, as [`read_file`] reads it; a spec that is not there suggests `portolan
/// init`.
fn read_spec(path: &Path) -> Result<String, LoadError> {
    render_write::read_regular(path, SPEC_MAX_BYTES).map_err(|e| {
        let missing = matches!(&e, ReadError::Io(io) if io.kind() == std::io::ErrorKind::NotFound);
        match read_error(path, e) {
            LoadError::Read(message) if missing => {
                let dir = path
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .map(|d| format!(" {}", d.display()))
                    .unwrap_or_default();
                LoadError::Read(format!(
                    "{message}; `portolan init{dir}` writes a starter portolan.yaml"
                ))
            }
            e => e,
        }
    })
}

/// The text of the spec or the knowledge file, from a regular file of at most
/// [`SPEC_MAX_BYTES`].
fn read_file(path: &Path) -> Result<String, LoadError> {
    render_write::read_regular(path, SPEC_MAX_BYTES).map_err(|e| read_error(path, e))
}

/// Why a file was not read.
fn read_error(path: &Path, e: ReadError) -> LoadError {
    LoadError::Read(match e {
        ReadError::Io(e) => format!("cannot read {}: {e}", path.display()),
        e @ ReadError::NotAFile(NodeKind::Symlink) => {
            format!("{} {e}: not read; name the file itself", path.display())
        }
        e => format!("{} {e}: not read", path.display()),
    })
}

/// The record of the last render in `out`, if there is one; one that cannot be read or parsed
/// is an error naming it.
fn read_record(out: &Path) -> Result<Option<Record>, String> {
    let path = out.join(record::FILE);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    let text = render_write::read_regular(&path, render_write::MAX_TARGET_BYTES)
        .map_err(|e| read_error(&path, e).to_string())?;
    Record::parse(&text)
        .map(Some)
        .map_err(|e| format!("{}:{e}", path.display()))
}

/// `relative` as named from where the spec is named: beside the spec.
fn beside(spec: &Path, relative: &str) -> PathBuf {
    match spec.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir.join(relative),
        None => PathBuf::from(relative),
    }
}

/// An error at the spec's `templates:` when it names no folder.
fn missing_templates(path: &Path, spec: &Spec, file: FileId) -> Option<Diagnostic> {
    let templates = spec.templates.as_ref()?;
    let dir = beside(path, &templates.value);
    let why = match std::fs::metadata(&dir) {
        Ok(meta) if meta.is_dir() => return None,
        Ok(_) => "not a folder".to_owned(),
        Err(e) => e.to_string(),
    };
    Some(Diagnostic::error(
        templates.span(file),
        format!("templates folder {}: {why}", dir.display()),
    ))
}

/// Errors for names in the spec's `ignore:` that are no rule, at the name.
fn unknown_rules(spec: &Spec, file: FileId) -> Vec<Diagnostic> {
    spec.ignore
        .iter()
        .filter(|name| rules::find(&name.value).is_none())
        .map(|name| {
            let names = rules::RULES.iter().map(|r| r.meta.name);
            let hint = spec::did_you_mean(&name.value, names)
                .map(|b| format!("; did you mean `{b}`?"))
                .unwrap_or_default();
            Diagnostic::error(
                name.span(file),
                format!("unknown rule `{}`{hint}", name.value),
            )
            .with_help("`portolan rules` lists every rule")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    /// A Convex backend published on 4000, where it does not listen.
    const MISPORTED: &str = "name: x\nservices:\n  backend:\n    image: ghcr.io/get-convex/convex-backend:latest\n    ports: { api: 4000 }\napps:\n  api: { target: backend.api }\n";

    fn rules_found(findings: &[Diagnostic]) -> Vec<&str> {
        let mut rules: Vec<&str> = findings.iter().filter_map(|d| d.rule).collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }

    fn rendered_rules(project: &Project) -> Vec<&'static str> {
        let rendered = project.render(&RenderOptions::default()).expect("renders");
        let mut rules: Vec<&str> = rendered.findings.iter().filter_map(|d| d.rule).collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }

    #[test]
    fn render_checks_what_it_wrote_without_the_rules_the_spec_ignores() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = write(dir.path(), "portolan.yaml", MISPORTED);
        let load = |spec: &Path| {
            Project::load(&ProjectOptions {
                spec: Some(spec.to_path_buf()),
                ..ProjectOptions::default()
            })
            .expect("loads")
        };
        assert_eq!(
            rendered_rules(&load(&spec)),
            vec!["app-port-not-served", "published-port-without-listener"]
        );
        // By name and by code, in render and in check alike.
        let ignoring = write(
            dir.path(),
            "ignoring.yaml",
            &format!("{MISPORTED}ignore: [app-port-not-served, PT203]\n"),
        );
        let project = load(&ignoring);
        assert_eq!(rendered_rules(&project), Vec::<&str>::new());
        let checked = project
            .check(&[dir.path().to_path_buf()], dir.path())
            .expect("checks");
        let (_, findings) = checked.merged();
        assert!(
            !rules_found(&findings)
                .iter()
                .any(|r| *r == "app-port-not-served" || *r == "published-port-without-listener"),
            "{findings:?}"
        );
    }

    /// Built-in knowledge, then `--knowledge`, then the spec's `knowledge:`: each later one
    /// replaces what an earlier one says about the same image.
    #[test]
    fn knowledge_is_the_builtin_base_then_the_flag_then_the_spec() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec_text = "name: x\nservices:\n  web:\n    image: acme/web\n    ports: { http: 4000 }\napps:\n  web: { target: web.http }\n";
        let spec = write(dir.path(), "portolan.yaml", spec_text);
        let flag = write(
            dir.path(),
            "extra.yaml",
            "images:\n  acme/web:\n    listeners:\n      - { name: http, default: 8080 }\n",
        );
        let load = |spec: &Path, knowledge: Option<PathBuf>| {
            Project::load(&ProjectOptions {
                spec: Some(spec.to_path_buf()),
                knowledge,
                ..ProjectOptions::default()
            })
            .expect("loads")
        };
        let messages = |project: &Project| -> Vec<String> {
            let rendered = project.render(&RenderOptions::default()).expect("renders");
            rendered.findings.into_iter().map(|d| d.message).collect()
        };
        // An image nothing is known about.
        assert_eq!(
            messages(&load(&spec, None)),
            ["coder_app web targets localhost:4000; compose publishes 4000 to web:4000, but nothing is known to listen on 4000 in web"]
        );
        // The flag says it listens on 8080.
        let from_flag = messages(&load(&spec, Some(flag.clone())));
        assert!(
            from_flag
                .iter()
                .any(|m| m.contains("web listens only on 8080")),
            "{from_flag:?}"
        );
        // The spec says 4000, over the flag.
        let own = write(
            dir.path(),
            "own.yaml",
            &format!("{spec_text}knowledge:\n  images:\n    acme/web:\n      listeners:\n        - {{ name: http, default: 4000 }}\n"),
        );
        assert_eq!(messages(&load(&own, Some(flag))), Vec::<String>::new());
    }

    #[cfg(feature = "probe")]
    /// `probe` plans from the model of the files and runs no rule: the incident's files, whose
    /// checks find errors, give the probe its chains and no findings.
    #[test]
    fn the_probe_plans_from_the_model_without_running_the_rules() {
        let incident = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convex-incident");
        let project = Project::load(&ProjectOptions::default()).expect("loads");
        let (plan, sources) = project
            .probe_plan(&incident, None, &PlanOptions::default())
            .expect("plans");
        assert!(plan.chains.iter().any(|c| c.app == "convex-site"));
        assert!(sources.len() >= 3);
        let modelled = check::model_paths(
            std::slice::from_ref(&incident),
            &incident,
            &CheckOptions::default(),
        )
        .expect("models");
        assert_eq!(modelled.count(crate::diagnostic::Severity::Error), 0);
        let checked = project
            .check(std::slice::from_ref(&incident), &incident)
            .expect("checks");
        assert!(checked.count(crate::diagnostic::Severity::Error) > 0);
    }

    #[test]
    fn an_unknown_rule_in_the_spec_ignore_is_a_located_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = write(
            dir.path(),
            "portolan.yaml",
            &format!("{MISPORTED}ignore: [app-port-not-servd]\n"),
        );
        let Err(LoadError::Invalid {
            diagnostics,
            sources,
        }) = Project::load(&ProjectOptions {
            spec: Some(spec),
            ..ProjectOptions::default()
        })
        else {
            panic!("an unknown rule loads");
        };
        assert_eq!(diagnostics.len(), 1);
        let d = &diagnostics[0];
        assert_eq!(
            d.message,
            "unknown rule `app-port-not-servd`; did you mean `app-port-not-served`?"
        );
        assert_eq!(sources.slice(d.primary.span), "app-port-not-servd");
    }

    /// `check --spec` and `probe --spec` read the spec as render does: a link is not followed,
    /// so a spec linked to a secret file never shows it in a parse error.
    #[test]
    fn a_linked_spec_is_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = write(dir.path(), "secret.txt", "TOKEN=hunter2\n");
        let link = dir.path().join("portolan.yaml");
        std::os::unix::fs::symlink(&secret, &link).expect("symlink");
        let Err(LoadError::Read(message)) = Project::load(&ProjectOptions {
            spec: Some(link),
            ..ProjectOptions::default()
        }) else {
            panic!("a linked spec loads");
        };
        assert!(
            message.contains("not read; name the file itself"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");
    }

    /// The config's keys under the flags: `--select` replaces, `--ignore` adds, `--knowledge`
    /// replaces, and the config's paths are relative to its folder.
    #[test]
    fn the_config_loads_under_the_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("conf")).expect("mkdir");
        let config = write(
            dir.path(),
            "conf/portolan.toml",
            "[check]\nselect = [\"PT201\"]\nextend-select = [\"PT203\"]\nignore = [\"PT208\"]\nknowledge = \"kb.yaml\"\n",
        );
        write(
            dir.path(),
            "conf/kb.yaml",
            "images:\n  acme/web:\n    listeners:\n      - { name: http, default: 8080 }\n",
        );
        let load = |select: &[&str], ignore: &[&str]| {
            Project::load(&ProjectOptions {
                select: select.iter().map(|s| s.to_string()).collect(),
                ignore: ignore.iter().map(|s| s.to_string()).collect(),
                config: ConfigLookup::File(config.clone()),
                ..ProjectOptions::default()
            })
            .expect("loads")
        };
        let project = load(&[], &[]);
        assert_eq!(project.select, ["PT201", "PT203"]);
        assert_eq!(project.ignore, ["PT208"]);
        assert!(project.knowledge.images.contains_key("acme/web"));
        let project = load(&["PT101"], &["PT102"]);
        assert_eq!(project.select, ["PT101"]);
        assert_eq!(project.ignore, ["PT208", "PT102"]);
        // Without the config, only the flags.
        let isolated = Project::load(&ProjectOptions {
            select: vec!["PT101".into()],
            ..ProjectOptions::default()
        })
        .expect("loads");
        assert_eq!(isolated.select, ["PT101"]);
        assert!(isolated.ignore.is_empty());
        assert!(!isolated.knowledge.images.contains_key("acme/web"));
    }

    /// A bad knowledge file is located in the file, as a spec error is.
    #[test]
    fn a_bad_knowledge_file_is_a_located_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "kb.yaml",
            "images:\n  acme/web:\n    listeners:\n      - { name: http, defualt: 8080 }\n",
        );
        let Err(LoadError::Invalid {
            diagnostics,
            sources,
        }) = Project::load(&ProjectOptions {
            knowledge: Some(path.clone()),
            ..ProjectOptions::default()
        })
        else {
            panic!("a bad knowledge file loads");
        };
        let d = &diagnostics[0];
        assert_eq!(
            d.message,
            "unknown field `defualt`; did you mean `default`?"
        );
        assert_eq!(sources.path(d.primary.span), path);
        assert_eq!(sources.slice(d.primary.span), "defualt");
    }

    #[test]
    fn a_missing_spec_suggests_init() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = dir.path().join("portolan.yaml");
        let Err(LoadError::Read(message)) = Project::load(&ProjectOptions {
            spec: Some(spec),
            ..ProjectOptions::default()
        }) else {
            panic!("a missing spec loads");
        };
        assert!(
            message.ends_with(&format!(
                "; `portolan init {}` writes a starter portolan.yaml",
                dir.path().display()
            )),
            "{message}"
        );
    }

    /// A template's error points into the override that failed, with the template's text.
    #[test]
    fn a_template_error_is_located_in_the_template() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = write(dir.path(), "portolan.yaml", MISPORTED);
        let templates = dir.path().join("tpl");
        std::fs::create_dir(&templates).expect("mkdir");
        write(&templates, "env-file.j2", "# env\n{{ no_such_field.x }}\n");
        write(
            &templates,
            "coder-apps.tf.j2",
            "# apps of {{ name }}\n{% include \"env-file.j2\" %}\n",
        );
        let project = Project::load(&ProjectOptions {
            spec: Some(spec),
            ..ProjectOptions::default()
        })
        .expect("loads");
        let Err(LoadError::Invalid {
            diagnostics,
            sources,
        }) = project.render(&RenderOptions {
            templates: Some(templates.clone()),
            ..RenderOptions::default()
        })
        else {
            panic!("a failing template renders");
        };
        let d = &diagnostics[0];
        assert_eq!(sources.path(d.primary.span), templates.join("env-file.j2"));
        assert_eq!(sources.slice(d.primary.span), "no_such_field.x");
        assert_eq!(sources.resolve(d.primary.span).0.line, 2);
        assert!(d.message.starts_with("undefined value"), "{}", d.message);
        // And where it was included from.
        let include = &d.related[0];
        assert_eq!(
            sources.path(include.span),
            templates.join("coder-apps.tf.j2")
        );
        assert_eq!(sources.slice(include.span), "include \"env-file.j2\"");
    }
}
