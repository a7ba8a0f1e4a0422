//! `portolan check`: find the files, group them into workspaces, build each model, run the
//! rules, and return findings ready for a report.
//!
//! Grouping: a folder that holds `.tf` files is a Coder template; when a tree holds several,
//! each template folder and everything below it is one workspace, and files outside every
//! template folder form one more. With at most one template folder, the whole tree is one
//! workspace (a template in `coder/` checks against `docker-compose.yml` at the root).
//! A template folder that another calls as a module (`source = "../modules/x"`) is read in
//! its caller's workspace, as Terraform reads it; the modules `terraform init` installed beside
//! a template (`.terraform/modules/modules.json`) are read with it too.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Severity};
use crate::knowledge::Knowledge;
use crate::model::build::{self, InputFile};
use crate::model::{FileKind, Workspace};
use crate::rules::{self, Rule};
use crate::source::{FileId, SourceMap, Span};

mod installed;
mod walk;

pub use crate::files::{classify, classify_content, ExpectedFile};
pub use walk::MAX_IGNORE_BYTES;

/// Largest file read; larger ones are reported and skipped.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Options of one run.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Rule names or codes to run; empty means all.
    pub select: Vec<String>,
    /// Rule names or codes to skip.
    pub ignore: Vec<String>,
    /// The knowledge base; the built-in one when `None`.
    pub knowledge: Option<std::sync::Arc<Knowledge>>,
    /// A spec whose rendered files are compared with the files on disk.
    pub spec: Option<SpecInput>,
    /// The config's `exclude` (skipped by the walk below a path given) and `per-file-ignores`.
    pub paths: crate::config::PathFilters,
}

/// `check --spec`: the spec and where it lives.
#[derive(Debug, Clone)]
pub struct SpecInput {
    /// The spec's folder (render's default output folder).
    pub dir: PathBuf,
    /// The spec's file name.
    pub spec_file: String,
    pub spec: crate::spec::Spec,
    /// The spec's text, as loaded: findings about missing files point into it.
    pub text: String,
    /// How it is rendered (`Project::render_options`): `full` when `main.tf` must be there.
    pub render: crate::render::RenderOptions,
    /// Whether a record of the last render says what was rendered; without one, `main.tf` is
    /// compared only when present.
    pub recorded: bool,
}

/// The outcome of `check`: every workspace's findings, on one source map per workspace.
#[derive(Debug, Default)]
pub struct CheckResult {
    pub workspaces: Vec<(Workspace, Vec<Diagnostic>)>,
    /// Files that could not be read at all (I/O), with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Files the walk did not read on purpose (links out of the folder, FIFOs, ignore files
    /// that are not regular files), with the reason: warnings in the report.
    pub skipped: Vec<(PathBuf, String)>,
    /// Env files read although an ignore file lists them (see [`walk`]), as reports name them.
    pub read_although_ignored: Vec<PathBuf>,
    /// Specs the walk found and left alone (checked only with `--spec`), as reports name them.
    pub specs_not_checked: Vec<PathBuf>,
}

impl CheckResult {
    /// Every workspace's files and findings on one source map, for one report. Files that could
    /// not be read become findings of their own.
    pub fn merged(&self) -> (SourceMap, Vec<Diagnostic>) {
        let mut sources = SourceMap::new();
        let mut findings = Vec::new();
        for (workspace, found) in &self.workspaces {
            let offset = sources.len() as u32;
            for (_, file) in workspace.sources.files() {
                sources.add(file.path.clone(), file.text.clone());
            }
            let shift = |span: &mut Span| span.file = FileId(span.file.0 + offset);
            for d in found {
                let mut d = d.clone();
                shift(&mut d.primary.span);
                d.related.iter_mut().for_each(|l| shift(&mut l.span));
                if let Some(fix) = &mut d.fix {
                    fix.edits.iter_mut().for_each(|e| shift(&mut e.span));
                }
                findings.push(d);
            }
        }
        for (path, reason) in &self.unreadable {
            let id = sources.add(path.clone(), String::new());
            findings.push(Diagnostic::error(
                Span::new(id, 0, 0),
                format!("cannot check this file: {reason}"),
            ));
        }
        for (path, reason) in &self.skipped {
            let id = sources.add(path.clone(), String::new());
            findings.push(Diagnostic::warning(
                Span::new(id, 0, 0),
                format!("not checked: {reason}"),
            ));
        }
        (sources, findings)
    }

    pub fn files(&self) -> usize {
        self.workspaces.iter().map(|(w, _)| w.sources.len()).sum()
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.workspaces
            .iter()
            .flat_map(|(_, f)| f)
            .filter(|d| d.severity == severity)
            .count()
    }
}

/// Resolves `--select` / `--ignore` into the rules to run; an unknown name is an error.
pub fn select_rules(options: &CheckOptions) -> Result<Vec<&'static Rule>, String> {
    for name in options.select.iter().chain(&options.ignore) {
        if rules::find(name).is_none() {
            let names: Vec<&str> = rules::RULES.iter().map(|r| r.meta.name).collect();
            let hint = crate::spec::did_you_mean(name, names.iter().copied())
                .map(|b| format!("; did you mean `{b}`?"))
                .unwrap_or_default();
            return Err(format!(
                "unknown rule `{name}`{hint} (see `portolan rules`)"
            ));
        }
    }
    let wanted = |rule: &Rule| {
        let matches = |n: &String| rules::is_named(rule, n);
        (options.select.is_empty() || options.select.iter().any(matches))
            && !options.ignore.iter().any(matches)
    };
    Ok(rules::RULES.iter().copied().filter(|r| wanted(r)).collect())
}

/// Checks in-memory files as one workspace: what tests and editors use.
pub fn check_files(
    files: Vec<InputFile>,
    rules_to_run: &[&'static Rule],
    knowledge: impl Into<std::sync::Arc<Knowledge>>,
) -> (Workspace, Vec<Diagnostic>) {
    finish(
        build::build(files, knowledge),
        rules_to_run,
        &Expected::default(),
    )
}

/// What `check --spec` compares the files with: the files the spec renders (by text, for files
/// with portolan's header) and the spec's facts (by meaning, for the others).
#[derive(Debug, Clone, Default)]
struct Expected {
    files: Vec<ExpectedFile>,
    facts: Option<std::sync::Arc<crate::model::spec_facts::SpecFacts>>,
}

/// `check --spec` over in-memory files as one workspace: what tests and editors use. Paths are
/// relative to the spec's folder (`spec.dir` is not read); the spec joins the files.
pub fn check_files_with_spec(
    mut files: Vec<InputFile>,
    spec: &SpecInput,
    rules_to_run: &[&'static Rule],
    knowledge: std::sync::Arc<Knowledge>,
) -> Result<(Workspace, Vec<Diagnostic>), String> {
    let spec = SpecInput {
        dir: PathBuf::from("."),
        ..spec.clone()
    };
    let expected = expected_files(&spec, Path::new("."), &mut files, &knowledge)?;
    Ok(finish(
        build::build(files, knowledge),
        rules_to_run,
        &expected,
    ))
}

/// Checks files that render made, in memory, as one workspace: render's self-check and the model
/// `probe --spec` plans from.
pub fn check_rendered(
    files: &[crate::render::RenderedFile],
    rules_to_run: &[&'static Rule],
    knowledge: impl Into<std::sync::Arc<Knowledge>>,
) -> (Workspace, Vec<Diagnostic>) {
    let inputs = files
        .iter()
        .filter_map(|f| {
            Some(InputFile {
                kind: classify(&f.path, Some(&f.contents))?,
                path: f.path.clone(),
                text: f.contents.clone(),
            })
        })
        .collect();
    check_files(inputs, rules_to_run, knowledge)
}

/// Runs the rules over a built workspace and applies suppressions.
fn finish(
    mut workspace: Workspace,
    rules_to_run: &[&'static Rule],
    expected: &Expected,
) -> (Workspace, Vec<Diagnostic>) {
    workspace.expected = expected.files.clone();
    workspace.spec_facts = expected.facts.clone();
    let findings = rules::run(&workspace, rules_to_run);
    let findings = crate::suppress::apply(findings, &workspace.sources, rules_to_run);
    (workspace, findings)
}

/// Reads every file under `paths` (respecting .gitignore and .ignore; skipping .git,
/// .terraform, node_modules and .portolan; see [`walk`] for links and special files), groups them into workspaces and checks each. `root` is the folder paths in
/// reports are relative to.
pub fn check_paths(
    paths: &[PathBuf],
    root: &Path,
    options: &CheckOptions,
) -> Result<CheckResult, String> {
    let rules_to_run = select_rules(options)?;
    let result = read_and_check(paths, root, options, &rules_to_run)?;
    if result.files() == 0 && result.unreadable.is_empty() {
        return Err(nothing_to_check(paths, &result));
    }
    Ok(result)
}

/// The kinds of file portolan reads, for messages about files it does not.
const KINDS_READ: &str =
    "Terraform (`*.tf`), compose files, shell scripts (`*.sh`) and env files (`.env`, `*.env`)";

/// Why a check that read no file cannot pass: exit 2, with what was skipped and why.
fn nothing_to_check(paths: &[PathBuf], result: &CheckResult) -> String {
    let named: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
    let mut message = format!(
        "no file to check in {}: portolan reads {KINDS_READ}",
        crate::model::chain::and_list(&named)
    );
    for (path, why) in &result.skipped {
        message.push_str(&format!("\n  not checked: {}: {why}", path.display()));
    }
    for spec in &result.specs_not_checked {
        message.push_str(&format!(
            "\n  hint: {0} is a portolan spec: `portolan render {0}` writes its files, and `portolan check --spec {0}` checks them",
            spec.display()
        ));
    }
    message
}

/// `check -`: one text read from standard input, checked as one file. `name`
/// (`--stdin-filename`) says what kind of file it is and what path reports show; without it,
/// or when the name says nothing (`stack.txt`), the kind is told from the content
/// ([`classify_content`]), or the check cannot run.
pub fn check_stdin(
    text: String,
    name: Option<&Path>,
    root: &Path,
    options: &CheckOptions,
) -> Result<CheckResult, String> {
    let rules_to_run = select_rules(options)?;
    let root_abs = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let kind = match name {
        Some(name) => classify(name, Some(&text)).or_else(|| classify_content(&text)),
        None => classify_content(&text),
    };
    let shown = name.map_or_else(
        || "standard input".to_owned(),
        |n| format!("standard input (`--stdin-filename {}`)", n.display()),
    );
    let kind = match kind {
        Some(FileKind::Spec) => {
            return Err(format!(
                "{shown} is a portolan spec: check the files it renders with `--spec FILE`"
            ))
        }
        Some(kind) => kind,
        None if name.is_some() => {
            return Err(format!(
                "{shown}: cannot tell what kind of file it is, from its name or its content; portolan reads {KINDS_READ}"
            ))
        }
        None => {
            return Err(format!(
                "cannot tell what kind of file {shown} is from its content; name it with `--stdin-filename` (for example `--stdin-filename main.tf`); portolan reads {KINDS_READ}"
            ))
        }
    };
    let path = name.map_or_else(|| PathBuf::from("-"), |n| display_path(n, &root_abs));
    let knowledge = knowledge_of(options);
    // The config's `per-file-ignores`, for the name standard input is given.
    let mut ignored_in = HashMap::new();
    if let Some(name) = name.filter(|_| !options.paths.is_empty()) {
        let names = options.paths.ignored_rules(&root_abs.join(name));
        if !names.is_empty() {
            ignored_in.insert(path.clone(), names.into_iter().map(String::from).collect());
        }
    }
    let mut inputs = vec![InputFile { path, text, kind }];
    let expected = match &options.spec {
        Some(spec) => expected_files(spec, root, &mut inputs, &knowledge)?,
        None => Expected::default(),
    };
    inputs.sort_by(|a, b| a.path.cmp(&b.path));
    let read = ReadFiles {
        result: CheckResult::default(),
        disk: vec![(None, false); inputs.len()],
        inputs,
        expected,
        ignored_in,
    };
    Ok(check_read(read, &knowledge, &rules_to_run))
}

/// Paths that name standard input: read it with `check -` instead (a path into `/dev` or
/// `/proc` is never read).
const STDIN_PATHS: &[&str] = &["/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"];

/// Reads and models the files under `paths` as [`check_paths`] does, without running the rules:
/// what `probe` plans from. The findings are the files' parse errors only (`parse-error`).
pub fn model_paths(
    paths: &[PathBuf],
    root: &Path,
    options: &CheckOptions,
) -> Result<CheckResult, String> {
    read_and_check(paths, root, options, &[&rules::syntax::parse_error::RULE])
}

fn read_and_check(
    paths: &[PathBuf],
    root: &Path,
    options: &CheckOptions,
    rules_to_run: &[&'static Rule],
) -> Result<CheckResult, String> {
    let knowledge = knowledge_of(options);
    let read = read_files(paths, root, options)?;
    Ok(check_read(read, &knowledge, rules_to_run))
}

/// Models and checks what was read, one workspace a group, less what `per-file-ignores` leaves
/// out.
fn check_read(
    read: ReadFiles,
    knowledge: &std::sync::Arc<Knowledge>,
    rules_to_run: &[&'static Rule],
) -> CheckResult {
    let mut result = read.result;
    let groups = group_workspaces(read.inputs);
    result.workspaces = check_groups(groups, knowledge, rules_to_run, &read.expected);
    drop_per_file_ignored(&mut result.workspaces, &read.ignored_in);
    result
}

/// Drops the findings the config's `per-file-ignores` leaves out of their primary file.
fn drop_per_file_ignored(
    workspaces: &mut [(Workspace, Vec<Diagnostic>)],
    ignored_in: &HashMap<PathBuf, Vec<String>>,
) {
    if ignored_in.is_empty() {
        return;
    }
    for (workspace, findings) in workspaces {
        findings.retain(|d| !ignored_by_path(d, &workspace.sources, ignored_in));
    }
}

/// One knowledge base shared by every workspace of the run.
fn knowledge_of(options: &CheckOptions) -> std::sync::Arc<Knowledge> {
    options
        .knowledge
        .clone()
        .unwrap_or_else(|| std::sync::Arc::new(Knowledge::builtin().clone()))
}

/// What the walk read, before any model is built.
struct ReadFiles {
    /// What is known before the rules run: unreadable and skipped files; no workspaces yet.
    result: CheckResult,
    /// Every file to model, sorted by path.
    inputs: Vec<InputFile>,
    /// Where each input is on disk, every link resolved, and whether the walk read it as a
    /// regular file of a path given (not through a link to it, not a module `terraform init`
    /// installed): what `--fix` may write. Indexed as `inputs`.
    disk: Vec<(Option<PathBuf>, bool)>,
    expected: Expected,
    /// Per file (as reports name it), the rules the config's `per-file-ignores` leaves out.
    ignored_in: HashMap<PathBuf, Vec<String>>,
}

fn read_files(paths: &[PathBuf], root: &Path, options: &CheckOptions) -> Result<ReadFiles, String> {
    let root_abs = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let mut result = CheckResult::default();
    let mut found: Vec<(InputFile, Option<PathBuf>, bool)> = Vec::new();
    // Per file (as reports name it), the rules `per-file-ignores` leaves out.
    let mut ignored_in: HashMap<PathBuf, Vec<String>> = HashMap::new();
    for path in paths {
        if STDIN_PATHS.iter().any(|p| Path::new(p) == path) {
            return Err(format!(
                "{} is standard input, and portolan reads no file of the system: check it with `portolan check -` (add `--stdin-filename NAME` to say what kind of file it is)",
                path.display()
            ));
        }
        if std::fs::symlink_metadata(path).is_err() {
            return Err(format!("{}: no such file or folder", path.display()));
        }
        let mut walk = walk::Walk::new(path);
        walk.exclude = options.paths.clone();
        walk.run()?;
        let named = walk.named_file.clone();
        for file in &walk.read_although_ignored {
            result
                .read_although_ignored
                .push(display_path(file, &root_abs));
        }
        for (file, skipped) in walk.skipped {
            result
                .skipped
                .push((display_path(&file, &root_abs), skipped));
        }
        let real_root = std::fs::canonicalize(path).ok();
        let installed = installed::installed_module_files(&walk.files);
        let walked = walk.files.len();
        for (n, file) in walk.files.into_iter().chain(installed).enumerate() {
            let display = display_path(&file, &root_abs);
            if !options.paths.is_empty() {
                let real = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
                let names = options.paths.ignored_rules(&real);
                if !names.is_empty() {
                    let names = names.into_iter().map(String::from).collect();
                    ignored_in.insert(display.clone(), names);
                }
            }
            let text = match read_text(&file, MAX_FILE_BYTES) {
                Ok(text) => text,
                Err(reason) => {
                    result.unreadable.push((display, reason));
                    continue;
                }
            };
            let is_named = named.as_ref() == Some(&file);
            let kind = match classify(&file, Some(&text)) {
                Some(kind) => kind,
                // A file named on the command line is never skipped in silence: its content
                // says what it is, or the check cannot run.
                None if is_named => classify_content(&text).ok_or_else(|| {
                    format!(
                        "{}: not a kind of file portolan reads, by its name or its content; portolan reads {KINDS_READ}",
                        display.display()
                    )
                })?,
                None => continue,
            };
            if kind == FileKind::Spec && options.spec.is_none() {
                if is_named {
                    result.skipped.push((
                        display,
                        "a portolan spec: check the files it renders with `--spec FILE`; skipped"
                            .to_owned(),
                    ));
                } else {
                    result.specs_not_checked.push(display);
                }
                continue;
            }
            let real = std::fs::canonicalize(&file).ok();
            let regular = n < walked
                && std::fs::symlink_metadata(&file).is_ok_and(|m| m.file_type().is_file())
                && real
                    .as_ref()
                    .zip(real_root.as_ref())
                    .is_some_and(|(real, root)| real.starts_with(root));
            found.push((
                InputFile {
                    path: display,
                    text,
                    kind,
                },
                real,
                regular,
            ));
        }
    }
    let mut inputs: Vec<InputFile> = Vec::with_capacity(found.len());
    let mut disk = Vec::with_capacity(found.len());
    found.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    // A file named twice (`check . .env`) is read once.
    found.dedup_by(|a, b| a.0.path == b.0.path);
    for (input, real, regular) in found {
        inputs.push(input);
        disk.push((real, regular));
    }
    let expected = match &options.spec {
        Some(spec) => expected_files(spec, root, &mut inputs, &knowledge_of(options))?,
        None => Expected::default(),
    };
    // The spec, when only the spec's options brought it in, is not a file to fix.
    disk.resize(inputs.len(), (None, false));
    Ok(ReadFiles {
        result,
        inputs,
        disk,
        expected,
        ignored_in,
    })
}

/// `check --fix` and `--diff`: checks as [`check_paths`] does, applies the fixes `fix` allows to
/// the files in memory (see [`crate::fix`]) and checks again, until nothing more applies or
/// [`crate::fix::MAX_ROUNDS`] rounds have; writes nothing. Returns the last check, of the fixed
/// texts, and what changed.
pub fn fix_paths(
    paths: &[PathBuf],
    root: &Path,
    options: &CheckOptions,
    fix: crate::fix::FixOptions,
) -> Result<(CheckResult, crate::fix::Outcome), String> {
    use crate::fix::{self, TextEdit};
    let rules_to_run = select_rules(options)?;
    let knowledge = knowledge_of(options);
    let read = read_files(paths, root, options)?;
    let (inputs, disk, expected, ignored_in) =
        (read.inputs, read.disk, read.expected, read.ignored_in);
    let index: HashMap<PathBuf, usize> = inputs
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.clone(), i))
        .collect();
    let fixable: Vec<bool> = inputs
        .iter()
        .zip(&disk)
        .map(|(input, (_, regular))| {
            *regular
                && fix::may_fix(
                    &input.text,
                    expected.files.iter().any(|e| e.path == input.path),
                )
        })
        .collect();
    let originals: Vec<String> = inputs.iter().map(|f| f.text.clone()).collect();
    // A fix's edits in the files of the run, if every one of them is in a file that may change.
    let resolve = |workspace: &Workspace, fix: &crate::diagnostic::Fix| -> Option<Vec<TextEdit>> {
        fix.edits
            .iter()
            .map(|edit| {
                let path = &workspace.sources.get(edit.span.file).path;
                let file = *index.get(path)?;
                fixable[file].then(|| TextEdit {
                    file,
                    start: edit.span.start as usize,
                    end: edit.span.end as usize,
                    replacement: edit.replacement.clone(),
                })
            })
            .collect()
    };
    // A link to a fixed file reads what the file holds.
    let fixable_at: HashMap<&Path, usize> = (0..inputs.len())
        .filter(|&j| fixable[j])
        .filter_map(|j| Some((disk[j].0.as_deref()?, j)))
        .collect();
    let twins: Vec<(usize, usize)> = (0..inputs.len())
        .filter(|&i| !fixable[i])
        .filter_map(|i| Some((i, *fixable_at.get(disk[i].0.as_deref()?)?)))
        .collect();
    let kinds: Vec<(PathBuf, FileKind)> = inputs.iter().map(|f| (f.path.clone(), f.kind)).collect();
    let mut texts: Vec<String> = inputs.into_iter().map(|f| f.text).collect();
    let (checked, rounds) = fix::settle(&mut texts, |texts| {
        for &(i, j) in &twins {
            texts[i] = texts[j].clone();
        }
        let inputs = kinds
            .iter()
            .zip(texts.iter())
            .map(|((path, kind), text)| InputFile {
                path: path.clone(),
                text: text.clone(),
                kind: *kind,
            })
            .collect();
        let mut checked = check_groups(
            group_workspaces(inputs),
            &knowledge,
            &rules_to_run,
            &expected,
        );
        drop_per_file_ignored(&mut checked, &ignored_in);
        let mut parse_errors = vec![0; texts.len()];
        for (workspace, _) in &checked {
            for d in &workspace.parse_errors {
                if let Some(&i) = index.get(&workspace.sources.get(d.primary.span.file).path) {
                    parse_errors[i] += 1;
                }
            }
        }
        let fixes: Vec<Vec<TextEdit>> = checked
            .iter()
            .flat_map(|(workspace, found)| {
                found
                    .iter()
                    .filter_map(|d| d.fix.as_ref())
                    .filter(|f| fix.applies(f))
                    .filter_map(|f| resolve(workspace, f))
            })
            .collect();
        fix::Checked {
            result: checked,
            fixes,
            parse_errors,
        }
    });
    let mut outcome = fix::Outcome {
        broken: rounds.broken.iter().map(|&i| kinds[i].0.clone()).collect(),
        rounds,
        ..fix::Outcome::default()
    };
    for (workspace, found) in &checked {
        let (hidden, not_fixed) = fix::held_back(found, fix, |f| resolve(workspace, f).is_some());
        outcome.hidden_unsafe += hidden;
        outcome.in_files_not_fixed += not_fixed;
    }
    outcome.changes = (0..texts.len())
        .filter(|&i| fixable[i] && texts[i] != originals[i])
        .filter_map(|i| {
            Some(fix::Change {
                path: kinds[i].0.clone(),
                disk: disk[i].0.clone()?,
                original: originals[i].clone(),
                fixed: texts[i].clone(),
            })
        })
        .collect();
    let mut result = read.result;
    result.workspaces = checked;
    Ok((result, outcome))
}

/// Whether `per-file-ignores` leaves this finding out: its rule is named for the file of its
/// primary location.
fn ignored_by_path(
    finding: &Diagnostic,
    sources: &SourceMap,
    ignored_in: &HashMap<PathBuf, Vec<String>>,
) -> bool {
    let Some(rule) = finding.rule.and_then(rules::find) else {
        return false;
    };
    ignored_in
        .get(sources.path(finding.primary.span))
        .is_some_and(|names| names.iter().any(|n| rules::is_named(rule, n)))
}

/// Checks independent workspaces on every core, keeping their order.
fn check_groups(
    groups: Vec<Vec<InputFile>>,
    knowledge: &std::sync::Arc<Knowledge>,
    rules_to_run: &[&'static Rule],
    expected: &Expected,
) -> Vec<(Workspace, Vec<Diagnostic>)> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(groups.len());
    if workers <= 1 {
        return groups
            .into_iter()
            .map(|group| {
                finish(
                    build::build(group, knowledge.clone()),
                    rules_to_run,
                    expected,
                )
            })
            .collect();
    }
    let mut queues: Vec<Vec<(usize, Vec<InputFile>)>> = (0..workers).map(|_| Vec::new()).collect();
    for (index, group) in groups.into_iter().enumerate() {
        queues[index % workers].push((index, group));
    }
    let mut done: Vec<(usize, (Workspace, Vec<Diagnostic>))> = std::thread::scope(|scope| {
        let handles: Vec<_> = queues
            .into_iter()
            .map(|queue| {
                scope.spawn(move || {
                    queue
                        .into_iter()
                        .map(|(index, group)| {
                            let workspace = build::build(group, knowledge.clone());
                            (index, finish(workspace, rules_to_run, expected))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, checked)| checked).collect()
}

/// The files the spec renders, as paths relative to `root`, and the spec's facts from the model
/// of those files; adds the spec itself to `found` so findings can point at it. `knowledge` is
/// the check's, which `main.tf`'s provider pin is computed from, as `render` computes it.
fn expected_files(
    spec: &SpecInput,
    root: &Path,
    found: &mut Vec<InputFile>,
    knowledge: &std::sync::Arc<Knowledge>,
) -> Result<Expected, String> {
    let legacy = !spec.recorded && !spec.render.full;
    let rendered = crate::render::render_with(
        &spec.spec,
        &crate::render::RenderOptions {
            full: spec.render.full || legacy,
            spec_file: spec.spec_file.clone(),
            ..spec.render.clone()
        },
        knowledge,
    )
    .map_err(|e| e.to_string())?;
    let (model, _) = check_rendered(&rendered, &[], knowledge.clone());
    let mut facts = crate::model::spec_facts::SpecFacts::of(&spec.spec, &model);
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let dir = absolute(&spec.dir);
    let dir = dir
        .strip_prefix(absolute(root))
        .map(Path::to_path_buf)
        .unwrap_or(dir);
    let files = rendered
        .into_iter()
        .map(|file| ExpectedFile {
            path: build::normalize(&dir.join(&file.path)),
            optional: legacy && file.path == Path::new(crate::render::context::MAIN_TF),
            file,
        })
        .collect();
    let spec_path = build::normalize(&dir.join(&spec.spec_file));
    facts.path.clone_from(&spec_path);
    if !found.iter().any(|f| f.path == spec_path) {
        found.push(InputFile {
            path: spec_path,
            text: spec.text.clone(),
            kind: FileKind::Spec,
        });
    }
    Ok(Expected {
        files,
        facts: Some(std::sync::Arc::new(facts)),
    })
}

/// A file's path as reports show it: relative to `root` when it is below it, else absolute
/// (without `.` or `..`).
fn display_path(file: &Path, root: &Path) -> PathBuf {
    let absolute =
        build::normalize(&std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf()));
    match absolute.strip_prefix(build::normalize(root)) {
        Ok(relative) => relative.to_path_buf(),
        Err(_) => absolute,
    }
}

/// A regular file's text, at most `max` bytes of UTF-8; else why it is not read.
fn read_text(path: &Path, max: u64) -> Result<String, String> {
    use std::io::Read;
    let too_large = || format!("larger than {} MiB; skipped", max >> 20);
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file; skipped".to_owned());
    }
    if meta.len() > max {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text; skipped".to_owned())
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Splits files into workspaces (see the module docs).
pub fn group_workspaces(files: Vec<InputFile>) -> Vec<Vec<InputFile>> {
    // Looked up by ancestor, not compared pairwise: a tree of 1,000 templates stays linear.
    let mut roots: Vec<PathBuf> = {
        let template_dirs: HashSet<&Path> = files
            .iter()
            .filter(|f| f.kind == FileKind::Terraform)
            .filter_map(|f| f.path.parent())
            .collect();
        // Nested template folders belong to the outermost.
        template_dirs
            .iter()
            .filter(|d| !d.ancestors().skip(1).any(|a| template_dirs.contains(a)))
            .map(|d| d.to_path_buf())
            .collect()
    };
    roots.sort();
    if roots.len() <= 1 {
        return if files.is_empty() {
            Vec::new()
        } else {
            vec![files]
        };
    }
    let root_index: HashMap<&Path, usize> = roots
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_path(), i))
        .collect();
    let mut groups: Vec<Vec<InputFile>> = (0..=roots.len()).map(|_| Vec::new()).collect();
    for file in files {
        let index = file
            .path
            .ancestors()
            .find_map(|a| root_index.get(a).copied())
            .unwrap_or(roots.len());
        groups[index].push(file);
    }
    let groups = join_called_modules(groups, &roots);
    groups.into_iter().filter(|g| !g.is_empty()).collect()
}

/// A template folder that another calls as a local module (`source = "../modules/x"`) is read
/// with its caller, as Terraform reads it, and not on its own: its files join each caller's
/// workspace. `groups[i]` holds the files of `roots[i]`; the last group, the files outside
/// every template folder, is left as it is.
fn join_called_modules(mut groups: Vec<Vec<InputFile>>, roots: &[PathBuf]) -> Vec<Vec<InputFile>> {
    let mut calls: Vec<(usize, usize)> = Vec::new();
    for (caller, group) in groups.iter().enumerate().take(roots.len()) {
        for file in group.iter().filter(|f| f.kind == FileKind::Terraform) {
            let dir = file.path.parent().unwrap_or(Path::new(""));
            for source in local_sources(&file.text) {
                let target = build::normalize(&dir.join(source));
                let Some(callee) = roots.iter().position(|r| target.starts_with(r)) else {
                    continue;
                };
                if callee != caller && !calls.contains(&(caller, callee)) {
                    calls.push((caller, callee));
                }
            }
        }
    }
    if calls.is_empty() {
        return groups;
    }
    // Each caller gets the files of every module it calls, directly or through another.
    let originals = groups.clone();
    let callers: HashSet<usize> = calls.iter().map(|(caller, _)| *caller).collect();
    let mut called: HashSet<usize> = HashSet::new();
    for &caller in &callers {
        let mut reached: Vec<usize> = Vec::new();
        let mut todo = vec![caller];
        while let Some(at) = todo.pop() {
            for &(from, to) in &calls {
                if from == at && to != caller && !reached.contains(&to) {
                    reached.push(to);
                    todo.push(to);
                }
            }
        }
        for callee in reached {
            groups[caller].extend(originals[callee].iter().cloned());
            called.insert(callee);
        }
    }
    // A module is checked with its callers, not on its own; one that calls modules itself is
    // checked on its own too (so a loop, which Terraform refuses, loses no folder).
    for callee in called.difference(&callers) {
        groups[*callee].clear();
    }
    for group in &mut groups {
        group.sort_by(|a, b| a.path.cmp(&b.path));
    }
    groups
}

/// The local `source`s (`./x`, `../x`) of the module blocks in a `.tf` text, read from its
/// lines (a module's `source` must be a literal string).
fn local_sources(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim_start().strip_prefix("source")?;
            let rest = rest.trim_start().strip_prefix('=')?.trim_start();
            let value = rest.strip_prefix('"')?;
            let value = &value[..value.find('"')?];
            (value.starts_with("./") || value.starts_with("../")).then_some(value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A template folder another calls through `../` is read in its caller's workspace.
    #[test]
    fn modules_called_from_another_folder_join_their_caller() {
        let file = |path: &str, text: &str| InputFile {
            path: path.into(),
            text: text.to_owned(),
            kind: classify(Path::new(path), None).unwrap(),
        };
        let groups = group_workspaces(vec![
            file(
                "templates/a/main.tf",
                "module \"m\" {\n  source = \"../../modules/m\"\n}\n",
            ),
            file(
                "templates/b/main.tf",
                "resource \"coder_agent\" \"main\" {}\n",
            ),
            file(
                "modules/m/main.tf",
                "module \"n\" {\n  source = \"../n\"\n}\n",
            ),
            file("modules/m/run.sh", "true\n"),
            file("modules/n/main.tf", "variable \"port\" {}\n"),
        ]);
        let paths: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| g.iter().map(|f| f.path.to_str().unwrap()).collect())
            .collect();
        assert_eq!(
            paths,
            [
                vec!["modules/m/main.tf", "modules/m/run.sh", "modules/n/main.tf"],
                vec![
                    "modules/m/main.tf",
                    "modules/m/run.sh",
                    "modules/n/main.tf",
                    "templates/a/main.tf"
                ],
                vec!["templates/b/main.tf"],
            ]
        );
        assert_eq!(
            local_sources("  source   = \"./x\" # c\nsource=\"registry.coder.com/a/b/c\"\n"),
            ["./x"]
        );
    }

    /// Standard input is one file: its kind and path from `--stdin-filename`, else its kind
    /// from its content and its path `-`; a text of no known kind cannot be checked.
    #[test]
    fn standard_input_is_one_file_named_by_stdin_filename_or_by_its_content() {
        // Relative names are relative to the working folder, as paths on the command line.
        let cwd = std::env::current_dir().expect("a working folder");
        let root = cwd.as_path();
        let options = CheckOptions::default();
        let checked = |text: &str, name: Option<&str>| {
            check_stdin(text.to_owned(), name.map(Path::new), root, &options).map(|result| {
                let (workspace, _) = &result.workspaces[0];
                let (_, file) = workspace.sources.files().next().expect("one file");
                (file.path.display().to_string(), workspace.kinds.clone())
            })
        };
        let env = "A==b\n";
        let (path, kinds) = checked(env, Some("deploy/.env")).expect("checks");
        assert_eq!(path, "deploy/.env");
        assert_eq!(
            kinds.iter().map(|(_, k)| *k).collect::<Vec<_>>(),
            [FileKind::EnvFile]
        );
        let inside = cwd.join("app.env");
        let (path, _) = checked(env, inside.to_str()).expect("checks");
        assert_eq!(path, "app.env", "relative to the working folder inside it");
        let (path, _) = checked(env, Some("/srv/app.env")).expect("checks");
        assert_eq!(path, "/srv/app.env", "absolute outside it");
        let (path, kinds) = checked("services:\n  a:\n    image: x\n", None).expect("checks");
        assert_eq!(path, "-");
        assert_eq!(
            kinds.iter().map(|(_, k)| *k).collect::<Vec<_>>(),
            [FileKind::Compose]
        );
        let unknown = checked("notes\n", None).expect_err("no kind");
        assert!(unknown.contains("--stdin-filename"), "{unknown}");
        let named = checked("notes\n", Some("notes.txt")).expect_err("no kind");
        assert!(named.contains("notes.txt"), "{named}");
    }

    fn kind(path: &str) -> Option<FileKind> {
        classify(Path::new(path), Some("services:\n  a: {}\n"))
    }

    /// The containers whose env the model reads are those of the knowledge base's compute
    /// resources, a user's included.
    #[test]
    fn container_env_is_read_from_the_compute_resources_the_knowledge_base_names() {
        let tf = "resource \"kubernetes_deployment_v1\" \"a\" {\n  spec {\n    container {\n      env {\n        name  = \"FROM_DEPLOYMENT\"\n        value = \"1\"\n      }\n    }\n  }\n}\nresource \"acme_pod\" \"b\" {\n  spec {\n    container {\n      env {\n        name  = \"FROM_ACME\"\n        value = \"2\"\n      }\n    }\n  }\n}\n";
        let container_env = |knowledge: Knowledge| {
            let input = InputFile {
                path: "main.tf".into(),
                text: tf.to_owned(),
                kind: FileKind::Terraform,
            };
            let (ws, _) = check_files(vec![input], &[], knowledge);
            ws.env
                .iter()
                .filter(|v| v.scope == crate::model::EnvScope::Container)
                .map(|v| v.name.clone())
                .collect::<Vec<_>>()
        };
        let builtin = Knowledge::builtin().clone();
        assert_eq!(container_env(builtin.clone()), ["FROM_DEPLOYMENT"]);
        let mut kb = builtin;
        kb.extend(Knowledge::parse("compute:\n  acme_pod: { containers: kubernetes }\n").unwrap());
        assert_eq!(container_env(kb), ["FROM_DEPLOYMENT", "FROM_ACME"]);
    }

    #[test]
    fn files_are_classified_by_name_and_content() {
        assert_eq!(kind("main.tf"), Some(FileKind::Terraform));
        assert_eq!(kind("docker-compose.convex.yml"), Some(FileKind::Compose));
        assert_eq!(kind("deploy/stack.yaml"), Some(FileKind::Compose));
        assert_eq!(classify(Path::new("ci.yml"), Some("jobs: {}\n")), None);
        assert_eq!(kind(".env"), Some(FileKind::EnvFile));
        assert_eq!(kind(".env.convex.local"), Some(FileKind::EnvFile));
        assert_eq!(kind("backend.env"), Some(FileKind::EnvFile));
        assert_eq!(kind("start.sh"), Some(FileKind::Script));
        assert_eq!(kind("portolan.yaml"), Some(FileKind::Spec));
        assert_eq!(kind("README.md"), None);
    }

    #[test]
    fn template_folders_split_a_tree_into_workspaces() {
        let f = |p: &str, kind| InputFile {
            path: p.into(),
            text: String::new(),
            kind,
        };
        let one = group_workspaces(vec![
            f("coder/main.tf", FileKind::Terraform),
            f("docker-compose.yml", FileKind::Compose),
        ]);
        assert_eq!(one.len(), 1);
        let many = group_workspaces(vec![
            f("a/main.tf", FileKind::Terraform),
            f("a/.env", FileKind::EnvFile),
            f("b/main.tf", FileKind::Terraform),
            f("b/sub/x.sh", FileKind::Script),
            f("b/sub/nested.tf", FileKind::Terraform),
            f("bb/x.sh", FileKind::Script),
            f("shared.sh", FileKind::Script),
        ]);
        let paths: Vec<Vec<&str>> = many
            .iter()
            .map(|g| g.iter().map(|f| f.path.to_str().unwrap_or("")).collect())
            .collect();
        assert_eq!(
            paths,
            [
                vec!["a/main.tf", "a/.env"],
                vec!["b/main.tf", "b/sub/x.sh", "b/sub/nested.tf"],
                vec!["bb/x.sh", "shared.sh"],
            ]
        );
    }
}
