//! Render: from a [`Spec`] to the files of a Coder workspace, consistent by construction.
//!
//! [`context`] resolves the spec into pre-escaped strings; the minijinja templates in
//! `templates/` (embedded, overridable with `--templates DIR`) lay them out; [`header`] stamps
//! each file so hand edits are detected; [`write`] writes atomically or reports drift.

pub mod context;
pub mod header;
pub mod value;
pub mod write;

use std::path::{Path, PathBuf};

use minijinja::Environment;

use crate::spec::Spec;
use context::{Context, APPS_TF, COMPOSE_FILE, MAIN_TF, START_SCRIPT};

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

#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Also write `main.tf`, a complete docker-based Coder template.
    pub full: bool,
    /// A folder whose `*.j2` files replace the embedded templates of the same name.
    pub templates: Option<PathBuf>,
    /// The spec's file name as the generated files mention it.
    pub spec_file: String,
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
            let (Some(entry), None) = (entries.next(), entries.next()) else {
                return false;
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
        parsed.problems.is_empty()
            && parsed.entries.len() == self.start_values.len()
            && parsed
                .entries
                .iter()
                .zip(&self.start_values)
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
    /// A template failed to parse or render.
    Template {
        name: String,
        error: minijinja::Error,
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
            RenderError::Template { name, error } => {
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

/// Renders every file of the workspace, in a fixed order. Deterministic: the same spec and
/// templates give the same bytes.
pub fn render(spec: &Spec, options: &RenderOptions) -> Result<Vec<RenderedFile>, RenderError> {
    let env = environment(options.templates.as_deref())?;
    let context = Context::new(spec, &options.spec_file);
    let stamp = format!(
        "{}{}: change the spec and run `portolan render`, not this file.",
        header::RENDERED_BY,
        value::comment_text(&options.spec_file)
    );
    let run = |name: &str, extra: Option<minijinja::Value>| -> Result<String, RenderError> {
        let template = env
            .get_template(name)
            .map_err(|error| RenderError::Template {
                name: name.to_owned(),
                error,
            })?;
        let ctx = match extra {
            Some(extra) => {
                minijinja::context! { ..minijinja::Value::from_serialize(&context), ..extra }
            }
            None => minijinja::Value::from_serialize(&context),
        };
        let mut text = template
            .render(ctx)
            .map_err(|error| RenderError::Template {
                name: name.to_owned(),
                error,
            })?;
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
        })
    };
    push(APPS_TF, run("coder-apps.tf.j2", None)?, 0o644, None);
    if options.full {
        push(MAIN_TF, run("main.tf.j2", None)?, 0o644, None);
    }
    if !context.compose_services.is_empty() {
        push(
            COMPOSE_FILE,
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
    Ok(files)
}

/// The template environment. Its formatter prints only what the context escaped
/// ([`context::Escaped`]), numbers, booleans and plain names ([`context::is_plain_name`]): a
/// template that prints any other string fails, whoever wrote the template.
fn environment(overrides: Option<&Path>) -> Result<Environment<'static>, RenderError> {
    let mut env = Environment::new();
    env.set_keep_trailing_newline(true);
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
            .map_err(|error| RenderError::Template {
                name: name.to_string(),
                error,
            })?;
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
