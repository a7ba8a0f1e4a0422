//! Render: from a [`Spec`] to the files of a Coder workspace, consistent by construction.
//!
//! [`context`] resolves the spec into pre-escaped strings; the minijinja templates in
//! `templates/` (embedded, overridable with `--templates DIR`) lay them out; [`header`] stamps
//! each file so hand edits are detected; [`write`] writes atomically or reports drift.

pub mod context;
pub mod header;
pub mod pin;
pub mod record;
pub mod value;
pub mod write;

use std::path::{Path, PathBuf};

use minijinja::Environment;

use crate::diagnostic::Diagnostic;
use crate::source::{LineCol, SourceMap, Span};
use crate::spec::Spec;
use context::{Context, APPS_TF, MAIN_TF, START_SCRIPT};

/// The templates shipped in the binary: (name, text).
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "coder-apps.tf.j2",
        include_str!("../../templates/coder-apps.tf.j2"),
    ),
    ("main.tf.j2", include_str!("../../templates/main.tf.j2")),
    (
        "docker-compose.yml.j2",
        include_str!("../../templates/docker-compose.yml.j2"),
    ),
    (
        "start-workspace.sh.j2",
        include_str!("../../templates/start-workspace.sh.j2"),
    ),
    ("env-file.j2", include_str!("../../templates/env-file.j2")),
];

/// How to render: what the flags (and a project config) say, completed by
/// `Project::render_options` from the spec's `templates:` and the record of the last render
/// ([`record`]).
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Also write `main.tf`, a complete docker-based Coder template.
    pub full: bool,
    /// A folder whose `*.j2` files replace the embedded templates of the same name.
    pub templates: Option<PathBuf>,
    /// The spec's file name as the generated files mention it.
    pub spec_file: String,
    /// The output folder; the spec's folder when `None`.
    pub out: Option<PathBuf>,
}

/// One file to write, relative to the output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub path: PathBuf,
    pub contents: String,
    /// Unix permission bits.
    pub mode: u32,
    /// Rewritten by the start script at workspace start (the env files): missing, or as the
    /// script wrote it, is not drift.
    pub runtime: bool,
    /// Holds values that may be secrets (env files): diffs name the keys, never the values.
    pub secret_values: bool,
    /// For an env file: each key and its value resolved, in the order the start script writes
    /// them. Empty for other files.
    pub start_values: Vec<(String, Vec<value::Piece>)>,
    /// Keys of `start_values` the start script writes only once the secret they use is made
    /// by its command: a file written at start may lack them.
    pub later_keys: Vec<String>,
}

impl RenderedFile {
    /// Whether the file on disk (`None`: missing) counts as drift from this rendering.
    pub fn drifted(&self, on_disk: Option<&str>) -> bool {
        match on_disk {
            None => !self.runtime,
            Some(text) => text != self.contents && !self.written_at_start(text),
        }
    }

    /// Whether `text` is this env file as the start script writes it: the start script's header,
    /// and portolan's part of the file unchanged since (the header's hash covers the note that
    /// names portolan's keys and their lines, in the spec's order), and the meaning the spec gives
    /// it. A header only proves the shape, so portolan's keys are compared too: each set once,
    /// unexported; every value without a reference equal to the spec's; every origin a URL with
    /// its scheme and every secret non-empty ([`value::could_be_at_start`]). Other lines are the
    /// user's, which the start script keeps. Such a file is the workspace's state: not drift,
    /// and render leaves it alone.
    pub fn written_at_start(&self, text: &str) -> bool {
        if !self.runtime || !header::written_at_start(text) {
            return false;
        }
        let Some((recorded, body)) = header::split_header(text) else {
            return false;
        };
        let note = context::env_note(self.start_values.iter().map(|(k, _)| k.as_str()));
        if !body.lines().any(|line| line == note) {
            return self.written_at_start_whole(text);
        }
        let parsed = crate::parse::dotenv::parse(crate::source::FileId(0), &body);
        let mut managed = format!("{note}\n");
        for (key, pieces) in &self.start_values {
            let mut entries = parsed.entries.iter().filter(|e| e.key == *key);
            let entry = match (entries.next(), entries.next()) {
                (Some(entry), None) => entry,
                (None, _) if self.later_keys.contains(key) => continue,
                _ => return false,
            };
            if entry.exported || !value::could_be_at_start(pieces, &entry.value) {
                return false;
            }
            managed.push_str(&body[entry.line_span.range()]);
            managed.push('\n');
        }
        recorded == header::hash(&managed)
    }

    /// Whether `text` is this env file as start scripts wrote it before they kept the user's
    /// lines (without the note): the whole file unchanged since, exactly the spec's keys in its
    /// order, each meaning what the spec gives it.
    fn written_at_start_whole(&self, text: &str) -> bool {
        if header::ownership(text) != header::Ownership::Untouched {
            return false;
        }
        let parsed = crate::parse::dotenv::parse(crate::source::FileId(0), text);
        // A key whose command secret was not made yet may be missing.
        let expected: Vec<_> = self
            .start_values
            .iter()
            .filter(|(key, _)| {
                !self.later_keys.contains(key) || parsed.entries.iter().any(|e| e.key == *key)
            })
            .collect();
        parsed.problems.is_empty()
            && parsed.entries.len() == expected.len()
            && parsed
                .entries
                .iter()
                .zip(expected)
                .all(|(entry, (key, pieces))| {
                    entry.key == *key
                        && !entry.exported
                        && value::could_be_at_start(pieces, &entry.value)
                })
    }
}

#[derive(Debug)]
pub enum RenderError {
    /// The `--templates` folder is missing or is not a folder.
    TemplatesFolder {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A template override could not be read.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A template override is not a regular file (or is too large): not read.
    NotRead {
        path: PathBuf,
        why: write::ReadError,
    },
    /// A file in the templates folder has the name of no template portolan renders: a
    /// misspelt override would otherwise be ignored.
    UnknownTemplate {
        path: PathBuf,
        /// The built-in name it is closest to.
        did_you_mean: Option<&'static str>,
    },
    /// A template failed to parse or render.
    Template {
        name: String,
        error: minijinja::Error,
        /// The folder of template overrides (`--templates`), if any.
        overrides: Option<PathBuf>,
    },
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenderError::TemplatesFolder { path, error } => {
                write!(f, "templates folder {}: {error}", path.display())
            }
            RenderError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            RenderError::NotRead { path, why } => write!(f, "{} {why}: not read", path.display()),
            RenderError::UnknownTemplate { path, did_you_mean } => {
                write!(
                    f,
                    "{}: no template portolan renders has this name",
                    path.display()
                )?;
                match did_you_mean {
                    Some(name) => write!(f, "; did you mean `{name}`?"),
                    None => {
                        let names: Vec<&str> = TEMPLATES.iter().map(|(n, _)| *n).collect();
                        write!(f, "; the templates are {}", names.join(", "))
                    }
                }
            }
            RenderError::Template { name, error, .. } => {
                write!(f, "template {name}")?;
                if let Some(line) = error.line() {
                    write!(f, ":{line}")?;
                }
                write!(f, ": {}", error.detail().unwrap_or(&error.to_string()))
            }
        }
    }
}

impl std::error::Error for RenderError {}

/// The header comment of every file render writes.
fn stamp_comment(spec_file: &str) -> String {
    format!(
        "{}{}: change the spec and run `portolan render`, not this file.",
        header::RENDERED_BY,
        value::comment_text(spec_file)
    )
}

/// The record of a render that wrote `files` into `out` with `options` ([`record`]).
pub fn record_file(files: &[RenderedFile], options: &RenderOptions, out: &Path) -> RenderedFile {
    let record = record::Record {
        full: options.full,
        templates: options
            .templates
            .as_deref()
            .map(|t| record::relative(t, out)),
        files: files
            .iter()
            .map(|f| f.path.to_string_lossy().into_owned())
            .collect(),
    };
    RenderedFile {
        path: PathBuf::from(record::FILE),
        contents: header::stamp(&record.text(), &stamp_comment(&options.spec_file)),
        mode: 0o644,
        runtime: false,
        secret_values: false,
        start_values: Vec::new(),
        later_keys: Vec::new(),
    }
}

impl RenderError {
    /// A template's error as a diagnostic located in the template that failed, added to
    /// `sources`: an override under its path, a built-in template as `NAME (built-in)`; an
    /// error in an included template points at it, with the include as a related location.
    /// `None` for the other errors, which have no place in a file.
    pub fn diagnostic(&self, sources: &mut SourceMap) -> Option<Diagnostic> {
        let RenderError::Template {
            name,
            error,
            overrides,
        } = self
        else {
            return None;
        };
        // The chain from the template rendered to the one that failed, as minijinja nests them.
        let mut chain = vec![error];
        let mut next = std::error::Error::source(error);
        while let Some(inner) = next {
            if let Some(inner) = inner.downcast_ref::<minijinja::Error>() {
                chain.push(inner);
            }
            next = inner.source();
        }
        let mut located = chain
            .iter()
            .filter_map(|e| Some((e, locate(e, name, overrides.as_deref(), sources)?)));
        let (outer, outer_span) = located.next()?;
        let (failed, span) = located.last().unwrap_or((outer, outer_span));
        let message = match failed.detail() {
            Some(detail) => format!("{}: {detail}", failed.kind()),
            None => failed.kind().to_string(),
        };
        let diagnostic = Diagnostic::error(span, message);
        Some(if span == outer_span {
            diagnostic
        } else {
            diagnostic.with_related(outer_span, "included here")
        })
    }
}

/// Where a template error happened, with its template added to `sources`.
fn locate(
    error: &minijinja::Error,
    name: &str,
    overrides: Option<&Path>,
    sources: &mut SourceMap,
) -> Option<Span> {
    let text = error.template_source()?;
    let failing = error.name().unwrap_or(name);
    let path = overrides
        .map(|dir| dir.join(failing))
        .filter(|path| std::fs::symlink_metadata(path).is_ok())
        .unwrap_or_else(|| PathBuf::from(format!("{failing} (built-in)")));
    let id = match sources.find(&path) {
        Some(id) if sources.get(id).text == text => id,
        _ => sources.add(path, text),
    };
    let source = sources.get(id);
    Some(match (error.range(), error.line()) {
        (Some(range), _) => Span::new(id, range.start, range.end),
        (None, Some(line)) => {
            let start = source.offset(LineCol {
                line: u32::try_from(line).unwrap_or(1),
                column: 1,
            });
            let line = source.line_bounds(start);
            Span::new(id, line.start, line.end)
        }
        (None, None) => Span::new(id, 0, 0),
    })
}

/// A template's error, with the folder of overrides it may be in.
fn template_error(name: &str, error: minijinja::Error, overrides: Option<&Path>) -> RenderError {
    RenderError::Template {
        name: name.to_owned(),
        error,
        overrides: overrides.map(Path::to_path_buf),
    }
}

/// Renders every file of the workspace, in a fixed order, with the built-in knowledge.
/// Deterministic: the same spec and templates give the same bytes.
pub fn render(spec: &Spec, options: &RenderOptions) -> Result<Vec<RenderedFile>, RenderError> {
    render_with(spec, options, crate::knowledge::Knowledge::builtin())
}

/// [`render`] with the knowledge `check` reads the result with: `main.tf` pins the lowest
/// Coder provider that knows every attribute the rendered Terraform files use ([`pin`]).
pub fn render_with(
    spec: &Spec,
    options: &RenderOptions,
    knowledge: &crate::knowledge::Knowledge,
) -> Result<Vec<RenderedFile>, RenderError> {
    let env = environment(options.templates.as_deref())?;
    let context = Context::new(spec, &options.spec_file);
    let stamp = stamp_comment(&options.spec_file);
    let run = |name: &str, extra: Option<minijinja::Value>| -> Result<String, RenderError> {
        let template = env
            .get_template(name)
            .map_err(|error| template_error(name, error, options.templates.as_deref()))?;
        let ctx = match extra {
            Some(extra) => {
                minijinja::context! { ..minijinja::Value::from_serialize(&context), ..extra }
            }
            None => minijinja::Value::from_serialize(&context),
        };
        let mut text = template
            .render(ctx)
            .map_err(|error| template_error(name, error, options.templates.as_deref()))?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(text)
    };
    let mut files = Vec::new();
    let mut push = |path: &str, body: String, mode: u32, start_values: Option<&[_]>| {
        files.push(RenderedFile {
            path: PathBuf::from(path),
            contents: header::stamp(&body, &stamp),
            mode,
            runtime: start_values.is_some(),
            // The files the start script rewrites are the env files, and they hold secrets.
            secret_values: start_values.is_some(),
            start_values: start_values.unwrap_or_default().to_vec(),
            later_keys: Vec::new(),
        })
    };
    let apps_tf = run("coder-apps.tf.j2", None)?;
    let main_tf = if options.full {
        // The pin depends on the attributes of both files, main.tf's own too (a template
        // override may use newer ones); they do not depend on the pin, so a second pass with
        // the pin the first one needs is final.
        let with_pin = |needed| {
            let pin = minijinja::Value::from_safe_string(pin::constraint(needed));
            run(
                "main.tf.j2",
                Some(minijinja::context! { coder_provider_version_hcl => pin }),
            )
        };
        let guess = pin::needed(&[&apps_tf], knowledge);
        let first = with_pin(guess)?;
        let needed = pin::needed(&[&apps_tf, &first], knowledge);
        Some(if needed == guess {
            first
        } else {
            with_pin(needed)?
        })
    } else {
        None
    };
    push(APPS_TF, apps_tf, 0o644, None);
    if let Some(main_tf) = main_tf {
        push(MAIN_TF, main_tf, 0o644, None);
    }
    if !context.compose_services.is_empty() {
        push(
            &context.compose_path.clone(),
            run("docker-compose.yml.j2", None)?,
            0o644,
            None,
        );
    }
    push(
        START_SCRIPT,
        run("start-workspace.sh.j2", None)?,
        0o755,
        None,
    );
    for env_file in &context.env_files {
        let extra = minijinja::context! { env_file => minijinja::Value::from_serialize(env_file) };
        push(
            &env_file.path,
            run("env-file.j2", Some(extra))?,
            0o600,
            Some(&env_file.values),
        );
    }
    for env_file in &context.env_files {
        if let Some(file) = files
            .iter_mut()
            .find(|f| f.path == Path::new(&env_file.path))
        {
            file.later_keys = env_file.later_keys.clone();
        }
    }
    Ok(files)
}

/// The first file of the templates folder named like no built-in template: a `*.j2` file, or
/// one whose name is close to a template's (`coder-apps.tf`, `main.tf.jinja`). Other files
/// (a README, `.gitkeep`) may sit beside the templates.
fn unknown_templates(dir: &Path) -> Result<(), RenderError> {
    let names = || TEMPLATES.iter().map(|(n, _)| *n);
    let entries = std::fs::read_dir(dir).map_err(|error| RenderError::TemplatesFolder {
        path: dir.to_path_buf(),
        error,
    })?;
    let mut unknown: Vec<(PathBuf, Option<&'static str>)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            if name.starts_with('.') || names().any(|n| n == name) {
                return None;
            }
            let near = crate::spec::did_you_mean(&name, names());
            (name.ends_with(".j2") || near.is_some()).then(|| (dir.join(&name), near))
        })
        .collect();
    unknown.sort();
    match unknown.into_iter().next() {
        Some((path, did_you_mean)) => Err(RenderError::UnknownTemplate { path, did_you_mean }),
        None => Ok(()),
    }
}

/// The template environment. Its formatter prints only what the context escaped
/// ([`context::Escaped`]), numbers, booleans and plain names ([`context::is_plain_name`]): a
/// template that prints any other string fails, whoever wrote the template.
fn environment(overrides: Option<&Path>) -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_keep_trailing_newline(true);
    // Keeps each template's source and spans, for errors located in the template.
    env.set_debug(true);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_formatter(|out, _state, value| {
        use minijinja::value::ValueKind;
        let printable = match value.kind() {
            ValueKind::Number | ValueKind::Bool => true,
            ValueKind::String => {
                value.is_safe() || value.as_str().is_some_and(context::is_plain_name)
            }
            _ => false,
        };
        if !printable {
            return Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!(
                    "prints {} without escaping; print a field the context escaped for this file",
                    value::yaml_string(&value.to_string())
                ),
            ));
        }
        write!(out, "{value}").map_err(|_| {
            minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write output")
        })
    });
    // A folder that is not there is a typo, not a folder without overrides: rendering with the
    // built-in templates instead would pass unnoticed.
    if let Some(dir) = overrides {
        let folder = match std::fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => Ok(()),
            Ok(_) => Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                "not a folder",
            )),
            Err(error) => Err(error),
        };
        if let Err(error) = folder {
            return Err(RenderError::TemplatesFolder {
                path: dir.to_path_buf(),
                error,
            });
        }
        unknown_templates(dir)?;
    }
    for (name, text) in TEMPLATES {
        // An override is read only from a regular file: a link could point at any file.
        let text = match overrides.map(|dir| dir.join(name)) {
            Some(path) if std::fs::symlink_metadata(&path).is_ok() => {
                match write::read_regular(&path, write::MAX_TARGET_BYTES) {
                    Ok(text) => text,
                    Err(write::ReadError::Io(error)) => {
                        return Err(RenderError::Io { path, error })
                    }
                    Err(why) => return Err(RenderError::NotRead { path, why }),
                }
            }
            _ => (*text).to_owned(),
        };
        env.add_template_owned(name.to_string(), text)
            .map_err(|error| template_error(name, error, overrides))?;
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rendered `.env.local` of a small spec, and the header the start script gives `body`.
    fn env_file() -> RenderedFile {
        let yaml = "name: t\nservices:\n  web:\n    run: x\n    ports: { http: 3000 }\napps:\n  web: { target: web.http }\nenv_files:\n  .env.local:\n    URL: ${origin:web.http}\n    MODE: dev\n";
        let mut sources = crate::source::SourceMap::default();
        let spec = crate::spec::load(Path::new("portolan.yaml"), yaml, &mut sources)
            .unwrap()
            .spec;
        let files = render(&spec, &RenderOptions::default()).unwrap();
        files
            .into_iter()
            .find(|f| f.path == Path::new(".env.local"))
            .unwrap()
    }

    fn started(managed: &str, file: &str) -> String {
        format!(
            "# Written by start-workspace.sh at workspace start from portolan.yaml. {}{}\n{file}",
            header::MARK,
            header::hash(managed)
        )
    }

    #[test]
    fn env_files_written_at_start_keep_the_users_lines() {
        let file = env_file();
        let note = context::env_note(["URL", "MODE"]);
        let managed = format!("{note}\nURL=https://web--main--ws--me.coder.test\nMODE=dev\n");
        assert!(file.written_at_start(&started(&managed, &managed)));
        // The user's key and comment, between and after portolan's lines.
        let mixed = format!(
            "{note}\nURL=https://web--main--ws--me.coder.test\n# mine\nADMIN_KEY='a b'\nMODE=dev\n"
        );
        assert!(file.written_at_start(&started(&managed, &mixed)));
        assert!(!file.drifted(Some(&started(&managed, &mixed))));
        // A value of portolan's changed by hand, set twice, or not meaning what the spec says.
        for wrong in [
            mixed.replace("MODE=dev", "MODE=prod"),
            format!("{mixed}MODE=dev\n"),
            mixed.replace("https://web--main--ws--me.coder.test", "ftp://x"),
            mixed.replace(&note, "# portolan sets: URL."),
        ] {
            let text = started(&managed, &wrong);
            assert!(!file.written_at_start(&text), "{wrong}");
        }
    }
}
