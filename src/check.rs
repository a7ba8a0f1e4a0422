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

pub use crate::files::{classify, ExpectedFile};
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
    finish(build::build(files, knowledge), rules_to_run, &[])
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
    expected: &[ExpectedFile],
) -> (Workspace, Vec<Diagnostic>) {
    workspace.expected = expected.to_vec();
    let findings = rules::run(&workspace, rules_to_run);
    let findings = crate::suppress::apply(findings, &workspace.sources);
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
    read_and_check(paths, root, options, &rules_to_run)
}

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
    // One knowledge base shared by every workspace of the run.
    let knowledge = options
        .knowledge
        .clone()
        .unwrap_or_else(|| std::sync::Arc::new(Knowledge::builtin().clone()));
    let root_abs = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let mut result = CheckResult::default();
    let mut found: Vec<InputFile> = Vec::new();
    // Per file (as reports name it), the rules `per-file-ignores` leaves out.
    let mut ignored_in: HashMap<PathBuf, Vec<String>> = HashMap::new();
    for path in paths {
        if std::fs::symlink_metadata(path).is_err() {
            return Err(format!("{}: no such file or folder", path.display()));
        }
        let mut walk = walk::Walk::new(path);
        walk.exclude = options.paths.clone();
        walk.run()?;
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
        let installed = installed::installed_module_files(&walk.files);
        for file in walk.files.into_iter().chain(installed) {
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
            let Some(kind) = classify(&file, Some(&text)) else {
                continue;
            };
            if kind == FileKind::Spec && options.spec.is_none() {
                continue;
            }
            found.push(InputFile {
                path: display,
                text,
                kind,
            });
        }
    }
    let expected = match &options.spec {
        Some(spec) => expected_files(spec, root, &mut found)?,
        None => Vec::new(),
    };
    found.sort_by(|a, b| a.path.cmp(&b.path));
    let groups = group_workspaces(found);
    result.workspaces = check_groups(groups, &knowledge, rules_to_run, &expected);
    if !ignored_in.is_empty() {
        for (workspace, findings) in &mut result.workspaces {
            findings.retain(|d| !ignored_by_path(d, &workspace.sources, &ignored_in));
        }
    }
    Ok(result)
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
    expected: &[ExpectedFile],
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

/// The files the spec renders, as paths relative to `root`; adds the spec itself to `found` so
/// findings about missing files can point at it.
fn expected_files(
    spec: &SpecInput,
    root: &Path,
    found: &mut Vec<InputFile>,
) -> Result<Vec<ExpectedFile>, String> {
    let rendered = crate::render::render(
        &spec.spec,
        &crate::render::RenderOptions {
            full: true,
            templates: None,
            spec_file: spec.spec_file.clone(),
        },
    )
    .map_err(|e| e.to_string())?;
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let dir = absolute(&spec.dir);
    let dir = dir
        .strip_prefix(absolute(root))
        .map(Path::to_path_buf)
        .unwrap_or(dir);
    let expected = rendered
        .into_iter()
        .map(|file| ExpectedFile {
            path: build::normalize(&dir.join(&file.path)),
            file,
        })
        .collect();
    let spec_path = build::normalize(&dir.join(&spec.spec_file));
    if !found.iter().any(|f| f.path == spec_path) {
        found.push(InputFile {
            path: spec_path,
            text: spec.text.clone(),
            kind: FileKind::Spec,
        });
    }
    Ok(expected)
}

/// A file's path as reports show it: relative to `root` when it is below it, else as given
/// (without `./`).
fn display_path(file: &Path, root: &Path) -> PathBuf {
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    match absolute.strip_prefix(root) {
        Ok(relative) => build::normalize(relative),
        Err(_) => build::normalize(file),
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
