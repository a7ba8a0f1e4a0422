//! The project config: `.portolan.toml` or `portolan.toml`, found in the checked folder (or the
//! spec's) or the nearest folder above it that has one, as ruff finds `ruff.toml`.
//!
//! [`discover`] finds the file, [`load`] reads it into a [`Config`] (every path in it resolved
//! against the config's folder, every rule name checked, every glob compiled), and the merge
//! functions ([`CheckConfig::select`], [`CheckConfig::ignore`]) say how the command line's
//! flags combine with it. Every problem is a [`Diagnostic`] located in the file. Nothing here
//! prints.
//!
//! To add a key: a field in [`CheckSection`] or [`RenderSection`] (serde and schemars read it
//! from there; `deny_unknown_fields` keeps misspellings errors), and its resolved value in
//! [`CheckConfig`] or [`RenderConfig`], which the CLI reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;
use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Diagnostic;
use crate::rules;
use crate::source::{FileId, SourceMap, Span};

/// The names a config file may have, in the order they win within one folder (ruff's
/// `.ruff.toml` wins over `ruff.toml` the same way).
pub const FILE_NAMES: [&str; 2] = [".portolan.toml", "portolan.toml"];

/// Largest config file read.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// Which config file a run reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ConfigLookup {
    /// None: `--isolated`, and library callers unless they ask.
    #[default]
    None,
    /// The nearest config file in this folder or above it.
    Discover(PathBuf),
    /// This file (`--config FILE`).
    File(PathBuf),
}

/// The file as written: what serde reads and what `portolan schema --config` describes.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "portolan config",
    description = "`.portolan.toml` or `portolan.toml`: the settings of `portolan check` and `portolan render` for this folder and the folders below it."
)]
pub struct ConfigFile {
    /// Settings of `portolan check`.
    #[serde(default)]
    pub check: CheckSection,
    /// Settings of `portolan render`.
    #[serde(default)]
    pub render: RenderSection,
}

/// `[check]`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckSection {
    /// Run only these rules (names or codes). `--select` replaces this and `extend-select`.
    #[schemars(with = "Option<Vec<String>>")]
    pub select: Option<Vec<Spanned<String>>>,
    /// Rules run besides `select` (names or codes).
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub extend_select: Vec<Spanned<String>>,
    /// Rules never run (names or codes). `--ignore` adds to these.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub ignore: Vec<Spanned<String>>,
    /// Exit 1 on warnings too, as `--strict` does.
    pub strict: Option<bool>,
    /// The least severity that fails the check, `error` or `warning`, as `--fail-on` gives it
    /// (it wins over `strict`; the flags win over both).
    pub fail_on: Option<crate::diagnostic::FailOn>,
    /// Files and folders the walk skips, as gitignore patterns relative to the config's folder.
    /// A path named on the command line is checked all the same.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub exclude: Vec<Spanned<String>>,
    /// Apply `exclude` to paths named on the command line too (pre-commit names each file), as
    /// `--force-exclude` does.
    pub force_exclude: Option<bool>,
    /// Extra knowledge, relative to the config's folder. `--knowledge` replaces it.
    #[schemars(with = "Option<String>")]
    pub knowledge: Option<Spanned<String>>,
    /// Rules not reported in some files: gitignore pattern (relative to the config's folder) →
    /// rule names or codes.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, Vec<String>>")]
    pub per_file_ignores: IndexMap<Spanned<String>, Vec<Spanned<String>>>,
}

/// `[render]`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RenderSection {
    /// Folder of templates that replace the built-in ones, relative to the config's folder.
    /// `--templates` replaces it.
    #[schemars(with = "Option<String>")]
    pub templates: Option<Spanned<String>>,
    /// Also write main.tf, as `--full` does.
    pub full: Option<bool>,
    /// Output folder, relative to the config's folder. `--out` replaces it.
    #[schemars(with = "Option<String>")]
    pub out: Option<Spanned<String>>,
}

/// A loaded config: every path resolved against the config's folder.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file, as reports name it.
    pub path: PathBuf,
    /// Its id in the source map it was loaded into.
    pub file: FileId,
    pub check: CheckConfig,
    pub render: RenderConfig,
}

/// `[check]`, resolved.
#[derive(Debug, Clone, Default)]
pub struct CheckConfig {
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub strict: Option<bool>,
    pub fail_on: Option<crate::diagnostic::FailOn>,
    pub knowledge: Option<PathBuf>,
    /// Where the config names `knowledge`, for an error about the file.
    pub knowledge_at: Option<Span>,
    /// `exclude` and `per-file-ignores`, compiled.
    pub paths: PathFilters,
}

/// `[render]`, resolved.
#[derive(Debug, Clone, Default)]
pub struct RenderConfig {
    pub templates: Option<PathBuf>,
    /// Where the config names `templates`, for an error about the folder.
    pub templates_at: Option<Span>,
    pub full: Option<bool>,
    pub out: Option<PathBuf>,
}

impl CheckConfig {
    /// The threshold the config sets: `fail-on`, else `strict = true` as `warning`.
    pub fn fail_on(&self) -> Option<crate::diagnostic::FailOn> {
        self.fail_on
            .or_else(|| (self.strict == Some(true)).then_some(crate::diagnostic::FailOn::Warning))
    }

    /// The rules to run (empty: every rule). `--select` replaces the config's `select` and
    /// `extend-select`, as in ruff; without either, `extend-select` adds to `select`.
    pub fn select(&self, cli: &[String]) -> Vec<String> {
        if !cli.is_empty() {
            return cli.to_vec();
        }
        match &self.select {
            Some(select) if !select.is_empty() => {
                select.iter().chain(&self.extend_select).cloned().collect()
            }
            // Every rule runs already.
            _ => Vec::new(),
        }
    }

    /// The rules to skip: the config's, then `--ignore`'s.
    pub fn ignore(&self, cli: &[String]) -> Vec<String> {
        self.ignore.iter().chain(cli).cloned().collect()
    }
}

/// `exclude` and `per-file-ignores`: gitignore patterns relative to the config's folder,
/// matched against paths with every link resolved.
#[derive(Debug, Clone, Default)]
pub struct PathFilters {
    /// The config's folder, links resolved.
    root: PathBuf,
    exclude: Option<Gitignore>,
    per_file_ignores: Vec<(Gitignore, Vec<String>)>,
    /// `force-exclude` or `--force-exclude`: see [`PathFilters::excludes_named`].
    pub force_exclude: bool,
}

impl PathFilters {
    /// Whether the walk skips this file or folder below a path it was given (`real`: links
    /// resolved). The walk asks at every level, so a folder's patterns are not asked again for
    /// what is inside it: a folder named on the command line inside an excluded one is walked.
    pub fn excludes(&self, real: &Path, is_dir: bool) -> bool {
        self.exclude.as_ref().is_some_and(|g| {
            real.starts_with(&self.root) && matches!(g.matched(real, is_dir), Match::Ignore(_))
        })
    }

    /// Whether a path named on the command line is skipped: only with `force-exclude`, when it
    /// or a folder above it is excluded.
    pub fn excludes_named(&self, real: &Path, is_dir: bool) -> bool {
        self.force_exclude
            && self
                .exclude
                .as_ref()
                .is_some_and(|g| matches(g, &self.root, real, is_dir))
    }

    /// The rules (names or codes) not reported in this file (`real`: links resolved).
    pub fn ignored_rules(&self, real: &Path) -> Vec<&str> {
        self.per_file_ignores
            .iter()
            .filter(|(g, _)| matches(g, &self.root, real, false))
            .flat_map(|(_, rules)| rules.iter().map(String::as_str))
            .collect()
    }

    /// Whether the config sets neither `exclude` nor `per-file-ignores`.
    pub fn is_empty(&self) -> bool {
        self.exclude.is_none() && self.per_file_ignores.is_empty()
    }
}

/// Whether a gitignore matcher ignores `path` or a folder above it, below `root`.
fn matches(g: &Gitignore, root: &Path, path: &Path, is_dir: bool) -> bool {
    // The matcher panics on a path outside its root.
    path.starts_with(root)
        && matches!(
            g.matched_path_or_any_parents(path, is_dir),
            Match::Ignore(_)
        )
}

/// The folder a run's config is looked up from: a folder itself, a file's folder, and the
/// current folder for `-` (stdin).
pub fn start_folder(path: &Path) -> PathBuf {
    if path == Path::new("-") || path.as_os_str().is_empty() {
        return PathBuf::from(".");
    }
    if path.is_dir() {
        return path.to_path_buf();
    }
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The nearest config file in `start` or a folder above it: in one folder, `.portolan.toml`
/// before `portolan.toml`. The path is relative to the current folder when inside it.
pub fn discover(start: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(start).ok()?;
    let found = absolute.ancestors().find_map(|dir| {
        FILE_NAMES
            .iter()
            .map(|name| dir.join(name))
            .find(|path| std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_dir()))
    })?;
    Some(shown(&found))
}

/// `path` relative to the current folder when inside it, else absolute.
fn shown(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().ok();
    match cwd.as_deref().and_then(|cwd| path.strip_prefix(cwd).ok()) {
        Some(rest) if !rest.as_os_str().is_empty() => rest.to_path_buf(),
        _ => path.to_path_buf(),
    }
}

/// Reads the config at `path` (as reports name it) from `text`, into `sources`. Errors: every
/// problem found, located in the file.
pub fn load(path: &Path, text: &str, sources: &mut SourceMap) -> Result<Config, Vec<Diagnostic>> {
    let file = sources.add(path, text);
    let raw: ConfigFile = toml::from_str(text).map_err(|e| vec![toml_error(file, text, &e)])?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut errors = Vec::new();
    let span = |s: &Spanned<String>| Span::new(file, s.span().start, s.span().end);
    let rule_names = |names: &[Spanned<String>], errors: &mut Vec<Diagnostic>| {
        for name in names {
            if let Some(error) = unknown_rule(name.get_ref(), span(name)) {
                errors.push(error);
            }
        }
        names
            .iter()
            .map(|n| n.get_ref().clone())
            .collect::<Vec<_>>()
    };
    let c = &raw.check;
    let select = c.select.as_deref().map(|s| rule_names(s, &mut errors));
    let extend_select = rule_names(&c.extend_select, &mut errors);
    let ignore = rule_names(&c.ignore, &mut errors);
    let real_dir = std::fs::canonicalize(&dir)
        .unwrap_or_else(|_| std::path::absolute(&dir).unwrap_or_else(|_| dir.clone()));
    let mut paths = PathFilters {
        root: real_dir.clone(),
        force_exclude: c.force_exclude == Some(true),
        ..PathFilters::default()
    };
    if !c.exclude.is_empty() {
        let mut builder = GitignoreBuilder::new(&real_dir);
        for pattern in &c.exclude {
            if let Err(e) = builder.add_line(None, pattern.get_ref()) {
                errors.push(bad_glob(span(pattern), &e));
            }
        }
        paths.exclude = builder.build().ok();
    }
    for (pattern, names) in &c.per_file_ignores {
        let mut builder = GitignoreBuilder::new(&real_dir);
        if let Err(e) = builder.add_line(None, pattern.get_ref()) {
            errors.push(bad_glob(span(pattern), &e));
        }
        let names = rule_names(names, &mut errors);
        if let Ok(matcher) = builder.build() {
            paths.per_file_ignores.push((matcher, names));
        }
    }
    // Relative to the config's folder, as reports show it (`build`, not `./build`).
    let relative = |p: &Option<Spanned<String>>| {
        p.as_ref().map(|p| {
            if dir == Path::new(".") {
                PathBuf::from(p.get_ref())
            } else {
                dir.join(p.get_ref())
            }
        })
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Config {
        path: path.to_path_buf(),
        file,
        check: CheckConfig {
            select,
            extend_select,
            ignore,
            strict: c.strict,
            fail_on: c.fail_on,
            knowledge: relative(&c.knowledge),
            knowledge_at: c.knowledge.as_ref().map(span),
            paths,
        },
        render: RenderConfig {
            templates: relative(&raw.render.templates),
            templates_at: raw.render.templates.as_ref().map(span),
            full: raw.render.full,
            out: relative(&raw.render.out),
        },
    })
}

/// The JSON Schema of the config file.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ConfigFile)).unwrap_or_default()
}

/// An error for a name that is no rule, with the nearest rule name.
fn unknown_rule(name: &str, span: Span) -> Option<Diagnostic> {
    if rules::find(name).is_some() {
        return None;
    }
    let names = rules::RULES.iter().map(|r| r.meta.name);
    let hint = crate::spec::did_you_mean(name, names)
        .map(|b| format!("; did you mean `{b}`?"))
        .unwrap_or_default();
    Some(
        Diagnostic::error(span, format!("unknown rule `{name}`{hint}"))
            .with_help("`portolan rules` lists every rule"),
    )
}

fn bad_glob(span: Span, error: &ignore::Error) -> Diagnostic {
    Diagnostic::error(span, format!("not a valid glob pattern: {error}"))
}

/// A TOML syntax or type error at its span, in portolan's words: an unknown key names the
/// nearest known one.
fn toml_error(file: FileId, text: &str, error: &toml::de::Error) -> Diagnostic {
    let range = error.span().unwrap_or(0..0);
    // A span over a whole table (a missing key) is shown at its first line only.
    let end = text
        .get(range.clone())
        .and_then(|covered| covered.find('\n'))
        .map_or(range.end, |i| range.start + i);
    let span = Span::new(file, range.start, end);
    let message = error.message().trim();
    let message = match message.strip_prefix("unknown field `") {
        Some(rest) => {
            let (key, expected) = rest.split_once('`').unwrap_or((rest, ""));
            let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            match crate::spec::did_you_mean(key, known.iter().copied()) {
                Some(best) => format!("unknown key `{key}`; did you mean `{best}`?"),
                None if known.is_empty() => format!("unknown key `{key}`"),
                None => format!(
                    "unknown key `{key}`; expected {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        None => message.to_owned(),
    };
    Diagnostic::error(span, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Config, (Vec<Diagnostic>, SourceMap)> {
        let mut sources = SourceMap::new();
        load(Path::new("dir/portolan.toml"), text, &mut sources).map_err(|e| (e, sources))
    }

    fn error_of(text: &str) -> (String, String) {
        let Err((errors, sources)) = load_text(text) else {
            panic!("{text} loads");
        };
        assert_eq!(errors.len(), 1, "{errors:?}");
        (
            errors[0].message.clone(),
            sources.slice(errors[0].primary.span).to_owned(),
        )
    }

    #[test]
    fn the_nearest_config_wins_and_dot_portolan_toml_first_in_one_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let deep = root.join("a/b/c");
        std::fs::create_dir_all(&deep).expect("mkdir");
        assert_eq!(discover(&deep), None);
        std::fs::write(root.join("portolan.toml"), "").expect("write");
        assert_eq!(discover(&deep), Some(root.join("portolan.toml")));
        std::fs::write(root.join("a/portolan.toml"), "").expect("write");
        assert_eq!(discover(&deep), Some(root.join("a/portolan.toml")));
        std::fs::write(root.join("a/.portolan.toml"), "").expect("write");
        assert_eq!(discover(&deep), Some(root.join("a/.portolan.toml")));
        // A folder of that name is no config.
        std::fs::create_dir(deep.join("portolan.toml")).expect("mkdir");
        assert_eq!(discover(&deep), Some(root.join("a/.portolan.toml")));
    }

    #[test]
    fn the_start_folder_is_a_folder_a_files_folder_or_the_current_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("main.tf");
        std::fs::write(&file, "").expect("write");
        assert_eq!(start_folder(dir.path()), dir.path());
        assert_eq!(start_folder(&file), dir.path());
        assert_eq!(start_folder(Path::new("-")), Path::new("."));
        assert_eq!(start_folder(Path::new("main.tf")), Path::new("."));
    }

    #[test]
    fn paths_are_relative_to_the_configs_folder() {
        let config = load_text(
            "[check]\nknowledge = \"kb.yaml\"\n[render]\ntemplates = \"tpl\"\nout = \"../out\"\nfull = true\n",
        )
        .expect("loads");
        assert_eq!(config.check.knowledge, Some(PathBuf::from("dir/kb.yaml")));
        assert_eq!(config.render.templates, Some(PathBuf::from("dir/tpl")));
        assert_eq!(config.render.out, Some(PathBuf::from("dir/../out")));
        assert_eq!(config.render.full, Some(true));
    }

    #[test]
    fn the_command_lines_select_replaces_and_its_ignore_adds() {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let config = load_text(
            "[check]\nselect = [\"PT201\"]\nextend-select = [\"PT301\"]\nignore = [\"PT203\"]\n",
        )
        .expect("loads")
        .check;
        assert_eq!(config.select(&[]), strings(&["PT201", "PT301"]));
        assert_eq!(config.select(&strings(&["PT101"])), strings(&["PT101"]));
        assert_eq!(config.ignore(&[]), strings(&["PT203"]));
        assert_eq!(
            config.ignore(&strings(&["PT102"])),
            strings(&["PT203", "PT102"])
        );
        // extend-select without select: every rule runs already.
        let config = load_text("[check]\nextend-select = [\"PT301\"]\n")
            .expect("loads")
            .check;
        assert!(config.select(&[]).is_empty());
    }

    #[test]
    fn excludes_and_per_file_ignores_match_below_the_configs_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = std::fs::canonicalize(dir.path()).expect("canonical");
        let mut sources = SourceMap::new();
        let config = load(
            &root.join("portolan.toml"),
            "[check]\nexclude = [\"generated/\", \"*.bak.tf\"]\n[check.per-file-ignores]\n\"legacy/**\" = [\"PT201\"]\n\"*.sh\" = [\"app-port-not-served\", \"PT203\"]\n",
            &mut sources,
        )
        .expect("loads");
        let paths = &config.check.paths;
        assert!(paths.excludes(&root.join("generated"), true));
        assert!(paths.excludes(&root.join("a/old.bak.tf"), false));
        assert!(!paths.excludes(&root.join("main.tf"), false));
        assert!(!paths.excludes(Path::new("/elsewhere/generated/main.tf"), false));
        // What is inside an excluded folder is the walk's to skip, by not entering it; a path
        // named inside it is skipped only with force-exclude.
        assert!(!paths.excludes(&root.join("generated/main.tf"), false));
        assert!(!paths.excludes_named(&root.join("generated/main.tf"), false));
        let forced = PathFilters {
            force_exclude: true,
            ..paths.clone()
        };
        assert!(forced.excludes_named(&root.join("generated/main.tf"), false));
        assert!(forced.excludes_named(&root.join("generated"), true));
        assert!(!forced.excludes_named(&root.join("main.tf"), false));
        assert_eq!(
            paths.ignored_rules(&root.join("legacy/x/main.tf")),
            ["PT201"]
        );
        assert_eq!(
            paths.ignored_rules(&root.join("bin/start.sh")),
            ["app-port-not-served", "PT203"]
        );
        assert!(paths.ignored_rules(&root.join("main.tf")).is_empty());
    }

    #[test]
    fn an_unknown_key_is_located_with_the_nearest_key() {
        assert_eq!(
            error_of("[check]\nselct = [\"PT201\"]\n"),
            (
                "unknown key `selct`; did you mean `select`?".to_owned(),
                "selct".to_owned()
            )
        );
        assert_eq!(
            error_of("[chek]\n").0,
            "unknown key `chek`; did you mean `check`?"
        );
    }

    #[test]
    fn a_wrong_type_is_located_at_the_value() {
        let (message, at) = error_of("[check]\nstrict = \"yes\"\n");
        assert!(message.contains("expected a boolean"), "{message}");
        assert_eq!(at, "\"yes\"");
    }

    /// Malformed TOML is an error inside the file, never a panic.
    #[test]
    fn malformed_toml_is_located_inside_the_file() {
        for text in [
            "[check\n",
            "[check]\nstrict = true\nstrict = false\n",
            "[check]\nselect = [\"PT201\",\n",
            "[check]\nselect = \"PT201\"\n",
            "[check.per-file-ignores]\n\"*.sh\" = \"PT201\"\n",
            "[[check]]\n",
            "é = 1\n\u{0}",
            "[render]\nout = 3\n",
        ] {
            let Err((errors, sources)) = load_text(text) else {
                panic!("{text:?} loads");
            };
            let span = errors[0].primary.span;
            assert!(span.end as usize <= text.len(), "{text:?}: {span:?}");
            assert!(!errors[0].message.is_empty());
            let _ = sources.resolve(span);
        }
        let (message, at) = error_of("[check]\nstrict = true\nstrict = false\n");
        assert!(message.contains("duplicate key"), "{message}");
        assert_eq!(at, "strict");
    }

    #[test]
    fn unknown_rules_are_located_wherever_they_are_named() {
        let Err((errors, sources)) = load_text(
            "[check]\nselect = [\"app-port-not-servd\"]\n[check.per-file-ignores]\n\"*.sh\" = [\"PT999\"]\n",
        ) else {
            panic!("loads");
        };
        let found: Vec<(&str, &str)> = errors
            .iter()
            .map(|d| (d.message.as_str(), sources.slice(d.primary.span)))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "unknown rule `app-port-not-servd`; did you mean `app-port-not-served`?",
                    "\"app-port-not-servd\""
                ),
                ("unknown rule `PT999`", "\"PT999\"")
            ]
        );
    }

    /// The README's example config is one.
    #[test]
    fn the_readmes_example_loads() {
        let readme = include_str!("../README.md");
        let (_, rest) = readme.split_once("```toml\n").expect("a toml example");
        let (example, _) = rest.split_once("```").expect("closed");
        let config = load_text(example).unwrap_or_else(|(e, _)| panic!("{e:?}"));
        assert_eq!(config.check.strict, Some(true));
        assert!(config
            .check
            .paths
            .excludes(&config.check.paths.root.join("generated"), true));
        assert_eq!(config.render.out, Some(PathBuf::from("dir/coder")));
    }

    /// Every key the schema lists loads with a value of the type it gives, and no other key
    /// does: the schema is the file's.
    #[test]
    fn the_schema_lists_the_keys_the_loader_accepts() {
        let schema = json_schema();
        let mut keys = 0;
        for (section, def) in [("check", "CheckSection"), ("render", "RenderSection")] {
            let properties = schema["$defs"][def]["properties"]
                .as_object()
                .expect("properties");
            for (key, property) in properties {
                let kind = match &property["type"] {
                    serde_json::Value::Array(kinds) => kinds[0].clone(),
                    kind => kind.clone(),
                };
                let value = match kind.as_str() {
                    // `fail-on`: one of the names of an enum.
                    None if property["anyOf"].is_array() => "\"warning\"",
                    Some("array") => "[]",
                    Some("boolean") => "true",
                    Some("string") => "\"x\"",
                    Some("object") => "{}",
                    other => panic!("{key}: {other:?}"),
                };
                let text = format!("[{section}]\n{key} = {value}\n");
                assert!(load_text(&text).is_ok(), "{text}");
                let misspelt = format!("[{section}]\n{key}x = {value}\n");
                assert!(load_text(&misspelt).is_err(), "{misspelt}");
                keys += 1;
            }
        }
        assert_eq!(keys, 12);
    }

    #[test]
    fn the_schema_names_every_section_and_key() {
        let schema = json_schema().to_string();
        for key in [
            "check",
            "render",
            "extend-select",
            "per-file-ignores",
            "exclude",
            "templates",
        ] {
            assert!(schema.contains(&format!("\"{key}\"")), "{key}: {schema}");
        }
    }
}
