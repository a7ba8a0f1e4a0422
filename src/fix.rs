//! `check --fix`: applying the fixes rules offer, and writing the fixed files.
//!
//! A round applies, per file, every chosen fix whose edits overlap no edit already taken in that
//! round (fixes are taken in the order of their first edit; a fix whose edits are not all
//! applicable is skipped whole): a skipped fix is found again by the next round's check, on the
//! text the earlier fixes left. [`settle`], which [`crate::check::fix_paths`] drives, runs rounds
//! until a check finds nothing more to apply, at most [`MAX_ROUNDS`] of them, in memory; only
//! then is anything written. A round after which a file has more parse errors than before is
//! undone, and that file is not fixed again.
//!
//! Which files a fix may change ([`may_fix`]): only regular files the walk read from the paths
//! given to `check` (not through a link, not the modules `terraform init` installed beside a
//! template), and never a file portolan writes itself: a file with portolan's
//! `portolan-sha256:` header (rendered, or written by the start script at workspace start, even
//! edited since), or,
//! with `--spec`, a file the spec renders. Those are fixed in the spec and rendered again: a
//! rendered file edited by hand is drift, which `render` then refuses to overwrite. A fix that
//! touches any such file is not applied, and its finding stays.
//!
//! Writing ([`write`]) is all or nothing as far as the file system allows: each file is read
//! again (never through a link) and compared with the text the check read, and every file is
//! staged in a temporary file beside it, with the file's permissions, before the first rename.
//! A file that changed on disk since it was read stops the whole write before anything changes.

use std::ffi::OsString;
use std::io::Read as _;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{self as fs, AtFlags, Mode, OFlags};

use crate::diagnostic::{Applicability, Diagnostic, Fix};

/// Rounds of fixing before giving up on reaching a fixed point (ruff stops at a cap too).
pub const MAX_ROUNDS: usize = 10;

/// Which fixes `--fix` applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FixOptions {
    /// Unsafe fixes too (`--unsafe-fixes`); safe ones only otherwise.
    pub unsafe_fixes: bool,
}

impl FixOptions {
    /// Whether a fix of this applicability is applied.
    pub fn applies(&self, fix: &Fix) -> bool {
        fix.applicability == Applicability::Safe || self.unsafe_fixes
    }
}

/// One edit, resolved to a file of the run (an index into its texts) and a byte range.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TextEdit {
    pub file: usize,
    pub start: usize,
    pub end: usize,
    pub replacement: String,
}

/// Whether `a` and `b`, edits of the same file, cannot both be applied: their ranges overlap,
/// or they start at the same offset (two insertions there, or an insertion before a
/// replacement: their order would be a guess).
fn conflict(a: &TextEdit, b: &TextEdit) -> bool {
    a.file == b.file && (a.start == b.start || (a.start < b.end && b.start < a.end))
}

/// Applies, in order of their first edit, every fix that conflicts with no fix taken before it
/// and whose edits all lie inside their text on character boundaries. Identical fixes (the same
/// finding in two workspaces that share a file) count once. Returns how many fixes were
/// applied.
pub fn apply(texts: &mut [String], fixes: Vec<Vec<TextEdit>>) -> usize {
    let mut fixes: Vec<Vec<TextEdit>> = fixes
        .into_iter()
        .filter(|edits| !edits.is_empty())
        .map(|mut edits| {
            edits.sort();
            edits
        })
        .collect();
    fixes.sort();
    fixes.dedup();
    let valid = |e: &TextEdit| {
        texts.get(e.file).is_some_and(|text| {
            e.start <= e.end
                && e.end <= text.len()
                && text.is_char_boundary(e.start)
                && text.is_char_boundary(e.end)
        })
    };
    let mut taken: Vec<TextEdit> = Vec::new();
    let mut applied = 0;
    for edits in fixes {
        let inside = edits.iter().all(valid);
        let apart = edits
            .iter()
            .enumerate()
            .all(|(i, e)| !edits[..i].iter().any(|f| conflict(e, f)));
        if !inside || !apart || edits.iter().any(|e| taken.iter().any(|t| conflict(e, t))) {
            continue;
        }
        taken.extend(edits);
        applied += 1;
    }
    // From the end of each file back, so earlier offsets stay where they were.
    taken.sort_by_key(|e| std::cmp::Reverse((e.file, e.start)));
    for edit in taken {
        texts[edit.file].replace_range(edit.start..edit.end, &edit.replacement);
    }
    applied
}

/// How a run of [`settle`] went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rounds {
    /// Fixes applied, over every round.
    pub fixed: usize,
    /// Rounds that applied fixes.
    pub rounds: usize,
    /// Whether the last check found nothing more to apply; false when [`MAX_ROUNDS`] rounds
    /// applied fixes and the check after them still had some.
    pub settled: bool,
    /// Files (indexes into the texts) whose fixes were undone because they made the file
    /// unreadable (more parse errors than before), and that no later fix touched.
    pub broken: Vec<usize>,
}

/// What one check of [`settle`] found.
pub struct Checked<C> {
    /// The check's result, returned for the last check.
    pub result: C,
    /// The fixes it offers, to apply.
    pub fixes: Vec<Vec<TextEdit>>,
    /// How many parse errors each file has.
    pub parse_errors: Vec<usize>,
}

/// Checks and fixes `texts` until a check offers no fix that applies, or [`MAX_ROUNDS`] rounds
/// have applied some. `check` checks the texts as they are (it may also bring texts that mirror
/// others up to date); the result of the last check is returned. A round after which a file has
/// more parse errors than before is undone whole, and that file is not fixed again (ruff
/// reverts a fix that introduces a syntax error too).
pub fn settle<C>(
    texts: &mut [String],
    mut check: impl FnMut(&mut [String]) -> Checked<C>,
) -> (C, Rounds) {
    let mut rounds = Rounds::default();
    // The texts before the last round, their parse errors, and the fixes the round applied.
    let mut before: Option<(Vec<String>, Vec<usize>, usize)> = None;
    loop {
        let checked = check(texts);
        if let Some((old, errors, applied)) = before.take() {
            let broke: Vec<usize> = (0..texts.len())
                .filter(|&i| checked.parse_errors.get(i) > errors.get(i))
                .collect();
            if !broke.is_empty() {
                texts.clone_from_slice(&old);
                rounds.fixed -= applied;
                rounds.rounds -= 1;
                rounds.broken.extend(broke);
                continue;
            }
        }
        let touches_broken =
            |fix: &Vec<TextEdit>| fix.iter().any(|e| rounds.broken.contains(&e.file));
        let fixes: Vec<Vec<TextEdit>> = checked
            .fixes
            .into_iter()
            .filter(|fix| !touches_broken(fix))
            .collect();
        if fixes.is_empty() {
            rounds.settled = true;
            return (checked.result, rounds);
        }
        if rounds.rounds == MAX_ROUNDS {
            return (checked.result, rounds);
        }
        let old = texts.to_vec();
        let applied = apply(texts, fixes);
        if applied == 0 {
            // Every fix offered is out of range or conflicts with itself: nothing will change.
            rounds.settled = true;
            return (checked.result, rounds);
        }
        before = Some((old, checked.parse_errors, applied));
        rounds.fixed += applied;
        rounds.rounds += 1;
    }
}

/// Whether `--fix` may change a file the check read, by its text and whether the spec renders it
/// (see the module docs; the caller knows whether the walk read it as a regular file).
pub fn may_fix(text: &str, rendered_by_spec: bool) -> bool {
    use crate::render::header::{ownership, Ownership};
    !rendered_by_spec && ownership(text) == Ownership::Foreign
}

/// What a fixing run did, for the report.
#[derive(Debug, Default)]
pub struct Outcome {
    pub rounds: Rounds,
    /// Findings left whose unsafe fix was not applied (without `--unsafe-fixes`).
    pub hidden_unsafe: usize,
    /// Findings left whose fix was not applied because it touches a file `--fix` does not
    /// change (rendered by portolan, or not read as a regular file of the checked paths).
    pub in_files_not_fixed: usize,
    /// Files whose fixes were undone because they made the file unreadable.
    pub broken: Vec<PathBuf>,
    /// Every file whose text the fixes changed.
    pub changes: Vec<Change>,
}

/// One file the fixes changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The path as reports show it.
    pub path: PathBuf,
    /// The file on disk, every link resolved.
    pub disk: PathBuf,
    /// The text the check read.
    pub original: String,
    pub fixed: String,
}

impl Change {
    /// A unified diff from the text read to the fixed text, with `a/` and `b/` paths.
    pub fn diff(&self) -> String {
        let path = self.path.to_string_lossy().replace('\\', "/");
        similar::TextDiff::from_lines(&self.original, &self.fixed)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string()
    }
}

/// Counts, among findings left after fixing, those whose fix was held back: unsafe ones
/// without `--unsafe-fixes`, and those `fixable` says touch a file that is not changed.
pub fn held_back<'a>(
    findings: impl IntoIterator<Item = &'a Diagnostic>,
    options: FixOptions,
    fixable: impl Fn(&Fix) -> bool,
) -> (usize, usize) {
    let (mut hidden, mut not_fixed) = (0, 0);
    for fix in findings.into_iter().filter_map(|d| d.fix.as_ref()) {
        if !fixable(fix) {
            not_fixed += 1;
        } else if !options.applies(fix) {
            hidden += 1;
        }
    }
    (hidden, not_fixed)
}

/// Why [`write`] wrote nothing, or stopped.
#[derive(Debug)]
pub enum WriteError {
    /// The file is not what the check read: edited meanwhile, replaced by a link or removed.
    /// Nothing was written.
    Changed { path: PathBuf, why: String },
    /// Reading or staging failed; every temporary file was removed and nothing was written.
    Stage {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A rename failed after `renamed` files were in place; the others were not written.
    Rename {
        path: PathBuf,
        error: std::io::Error,
        renamed: Vec<PathBuf>,
    },
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Changed { path, why } => write!(
                f,
                "{} {why} since portolan read it; nothing was written (run the check again)",
                path.display()
            ),
            WriteError::Stage { path, error } => {
                write!(
                    f,
                    "cannot write {}: {error}; nothing was written",
                    path.display()
                )
            }
            WriteError::Rename {
                path,
                error,
                renamed,
            } => {
                write!(f, "cannot write {}: {error}", path.display())?;
                if renamed.is_empty() {
                    write!(f, "; nothing was written")
                } else {
                    let names: Vec<String> =
                        renamed.iter().map(|p| p.display().to_string()).collect();
                    write!(f, "; already written: {}", names.join(", "))
                }
            }
        }
    }
}

impl std::error::Error for WriteError {}

/// The folder and name of a file on disk.
fn split(path: &Path) -> (&Path, &std::ffi::OsStr) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    (dir, path.file_name().unwrap_or(path.as_os_str()))
}

/// Opens a folder one component at a time without following a link: the paths of the files
/// to fix have every link resolved, so a link found on the way was put there since the check
/// read them, and is refused (`ELOOP`, or `ENOTDIR`).
fn open_folder(dir: &Path) -> std::io::Result<OwnedFd> {
    use std::path::Component;
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let start = if dir.is_absolute() { "/" } else { "." };
    let mut fd = fs::open(start, flags, Mode::empty())?;
    for part in dir.components() {
        match part {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(name) => {
                fd = fs::openat(&fd, name, flags | OFlags::NOFOLLOW, Mode::empty())?;
            }
            Component::ParentDir | Component::Prefix(_) => {
                return Err(std::io::Error::other("not a resolved path"));
            }
        }
    }
    Ok(fd)
}

/// Reads `name` in `dir` without following a link: its bytes and permission bits, or why not.
fn read_in(dir: &OwnedFd, name: &std::ffi::OsStr) -> Result<(Vec<u8>, u32), String> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match fs::openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::LOOP) => return Err("was replaced by a symbolic link".into()),
        Err(rustix::io::Errno::NOENT) => return Err("was removed".into()),
        Err(e) => return Err(format!("cannot be read ({e})")),
    };
    let stat = fs::fstat(&fd).map_err(|e| format!("cannot be read ({e})"))?;
    if fs::FileType::from_raw_mode(stat.st_mode) != fs::FileType::RegularFile {
        return Err("is no longer a regular file".into());
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read ({e})"))?;
    Ok((bytes, stat.st_mode & 0o7777))
}

/// Checks that every changed file on disk still holds the text the check read; returns each
/// one's open folder and permission bits.
fn verify(changes: &[Change]) -> Result<Vec<(OwnedFd, u32)>, WriteError> {
    let mut opened = Vec::with_capacity(changes.len());
    for change in changes {
        let (dir, name) = split(&change.disk);
        let changed = |why: String| WriteError::Changed {
            path: change.path.clone(),
            why,
        };
        let fd = open_folder(dir).map_err(|e| changed(format!("cannot be reached ({e})")))?;
        let (bytes, mode) = read_in(&fd, name).map_err(changed)?;
        if bytes != change.original.as_bytes() {
            return Err(changed("was changed".into()));
        }
        opened.push((fd, mode));
    }
    Ok(opened)
}

/// Writes every change (see the module docs): verified, staged with each file's permissions,
/// verified again, then renamed into place one by one.
pub fn write(changes: &[Change]) -> Result<(), WriteError> {
    let opened = verify(changes)?;
    let mut staged: Vec<OsString> = Vec::with_capacity(changes.len());
    let remove = |staged: &[OsString]| {
        for (temp, (dir, _)) in staged.iter().zip(&opened) {
            let _ = fs::unlinkat(dir, temp, AtFlags::empty());
        }
    };
    for (change, (dir, mode)) in changes.iter().zip(&opened) {
        match crate::render::write::stage(dir, &change.fixed, *mode) {
            Ok(temp) => staged.push(temp),
            Err(error) => {
                remove(&staged);
                return Err(WriteError::Stage {
                    path: change.path.clone(),
                    error,
                });
            }
        }
    }
    // Staging took time: a file edited meanwhile is still not overwritten.
    if let Err(e) = verify(changes) {
        remove(&staged);
        return Err(e);
    }
    let mut renamed = Vec::new();
    for (n, (change, (dir, _))) in changes.iter().zip(&opened).enumerate() {
        let (_, name) = split(&change.disk);
        if let Err(error) = fs::renameat(dir, &staged[n], dir, name) {
            for (temp, (dir, _)) in staged[n..].iter().zip(&opened[n..]) {
                let _ = fs::unlinkat(dir, temp, AtFlags::empty());
            }
            return Err(WriteError::Rename {
                path: change.path.clone(),
                error: error.into(),
                renamed,
            });
        }
        renamed.push(change.path.clone());
    }
    for (dir, _) in &opened {
        let _ = fs::fsync(dir);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(file: usize, start: usize, end: usize, replacement: &str) -> TextEdit {
        TextEdit {
            file,
            start,
            end,
            replacement: replacement.to_owned(),
        }
    }

    #[test]
    fn applies_fixes_apart_and_skips_those_that_overlap_an_earlier_one() {
        let mut texts = vec!["A = 1\nB==2\nC=3\n".to_owned(), "x y\n".to_owned()];
        let applied = apply(
            &mut texts,
            vec![
                vec![edit(0, 1, 4, "=")],       // A = 1 -> A=1
                vec![edit(0, 2, 3, "")],        // inside the first: skipped
                vec![edit(0, 7, 8, "")],        // B==2 -> B=2
                vec![edit(1, 1, 2, "_")],       // other file
                vec![edit(0, 13, 13, "\"")],    // insertion before 3
                vec![edit(0, 13, 13, "'")],     // a second insertion at the same place
                vec![edit(0, 100, 101, "out")], // outside the text: skipped
            ],
        );
        assert_eq!(applied, 4);
        assert_eq!(texts, vec!["A=1\nB=2\nC=\"3\n", "x_y\n"]);
    }

    #[test]
    fn a_fix_is_applied_whole_or_not_at_all() {
        let mut texts = vec!["abcdef".to_owned()];
        let applied = apply(
            &mut texts,
            vec![
                vec![edit(0, 0, 1, "A")],
                // Its second edit overlaps the first fix: neither edit is applied.
                vec![edit(0, 4, 5, "E"), edit(0, 0, 2, "")],
                vec![edit(0, 2, 3, "C"), edit(0, 5, 6, "F")],
            ],
        );
        assert_eq!(applied, 2);
        assert_eq!(texts, vec!["AbCdeF"]);
    }

    #[test]
    fn identical_fixes_count_once_and_edits_keep_to_character_boundaries() {
        let mut texts = vec!["é=1".to_owned()];
        let applied = apply(
            &mut texts,
            vec![
                vec![edit(0, 1, 2, "x")], // inside `é`: skipped
                vec![edit(0, 3, 4, "2")],
                vec![edit(0, 3, 4, "2")],
            ],
        );
        assert_eq!(applied, 1);
        assert_eq!(texts, vec!["é=2"]);
    }

    #[test]
    fn touching_edits_are_both_applied() {
        let mut texts = vec!["ab".to_owned()];
        assert_eq!(
            apply(
                &mut texts,
                vec![vec![edit(0, 0, 1, "X")], vec![edit(0, 1, 1, "-")]]
            ),
            2
        );
        assert_eq!(texts, vec!["X-b"]);
    }

    /// A check of one text, without parse errors, that offers `fixes`.
    fn checked(text: &str, fixes: Vec<Vec<TextEdit>>) -> Checked<String> {
        Checked {
            result: text.to_owned(),
            fixes,
            parse_errors: vec![0],
        }
    }

    #[test]
    fn settles_when_a_check_offers_nothing_more() {
        // Each check offers to drop the first `=` of a `==`: one per round, as overlapping
        // fixes are.
        let mut texts = vec!["A===1\n".to_owned()];
        let (last, rounds) = settle(&mut texts, |texts| {
            let fixes = texts[0]
                .find("==")
                .map(|at| vec![vec![edit(0, at, at + 1, "")]])
                .unwrap_or_default();
            checked(&texts[0], fixes)
        });
        assert_eq!(texts, vec!["A=1\n"]);
        assert_eq!(last, "A=1\n", "the last check is of the fixed text");
        assert_eq!(
            rounds,
            Rounds {
                fixed: 2,
                rounds: 2,
                settled: true,
                broken: Vec::new(),
            }
        );
    }

    #[test]
    fn stops_after_the_last_round_when_fixes_keep_coming() {
        let mut texts = vec![String::new()];
        let (last, rounds) = settle(&mut texts, |texts| {
            let end = texts[0].len();
            checked(&texts[0], vec![vec![edit(0, end, end, "x")]])
        });
        assert_eq!(texts[0], "x".repeat(MAX_ROUNDS));
        assert_eq!(last, texts[0]);
        assert_eq!(
            rounds,
            Rounds {
                fixed: MAX_ROUNDS,
                rounds: MAX_ROUNDS,
                settled: false,
                broken: Vec::new(),
            }
        );
    }

    #[test]
    fn a_round_that_breaks_a_file_is_undone_and_the_file_left_alone() {
        // File 0: a fix that opens a parenthesis (a parse error) and one that is fine; file 1:
        // a fine fix in the same round.
        let mut texts = vec!["a b\n".to_owned(), "c\n".to_owned()];
        let (_, rounds) = settle(&mut texts, |texts| {
            let mut fixes = Vec::new();
            if texts[0].contains('a') {
                fixes.push(vec![edit(0, 0, 1, "(")]);
            }
            if texts[0].contains('b') {
                fixes.push(vec![edit(0, 2, 3, "B")]);
            }
            if texts[1].contains('c') {
                fixes.push(vec![edit(1, 0, 1, "C")]);
            }
            let errors = |t: &str| t.matches('(').count();
            Checked {
                result: (),
                fixes,
                parse_errors: vec![errors(&texts[0]), errors(&texts[1])],
            }
        });
        assert_eq!(texts, vec!["a b\n", "C\n"]);
        assert_eq!(
            rounds,
            Rounds {
                fixed: 1,
                rounds: 1,
                settled: true,
                broken: vec![0],
            }
        );
    }

    #[test]
    fn only_safe_fixes_apply_without_unsafe_fixes() {
        let fix = |applicability| Fix {
            title: String::new(),
            applicability,
            edits: Vec::new(),
        };
        let safe = FixOptions::default();
        let all = FixOptions { unsafe_fixes: true };
        assert!(safe.applies(&fix(Applicability::Safe)));
        assert!(!safe.applies(&fix(Applicability::Unsafe)));
        assert!(all.applies(&fix(Applicability::Unsafe)));
    }

    #[test]
    fn files_portolan_writes_are_not_fixed() {
        use crate::render::header::stamp;
        let rendered = stamp("A = 1\n", "Written by portolan from portolan.yaml.");
        assert!(!may_fix(&rendered, false));
        let edited = rendered.replace("A = 1", "A = 2");
        assert!(!may_fix(&edited, false), "edited by hand, still portolan's");
        let at_start = stamp(
            "A = 1\n",
            "Written by start-workspace.sh at workspace start from portolan.yaml.",
        );
        assert!(!may_fix(&at_start, false));
        assert!(!may_fix("A = 1\n", true));
        assert!(may_fix("A = 1\n", false));
    }

    #[test]
    fn the_diff_is_unified_with_a_and_b_paths() {
        let change = Change {
            path: "web/.env".into(),
            disk: "/x/web/.env".into(),
            original: "A = 1\nB=2\n".into(),
            fixed: "A=1\nB=2\n".into(),
        };
        assert_eq!(
            change.diff(),
            "--- a/web/.env\n+++ b/web/.env\n@@ -1,2 +1,2 @@\n-A = 1\n+A=1\n B=2\n"
        );
    }

    fn temp_dir() -> tempfile::TempDir {
        tempfile::tempdir().expect("a temporary folder")
    }

    /// A change of `dir/name`, with every link of `dir` resolved as the check resolves them.
    fn change(dir: &Path, name: &str, original: &str, fixed: &str) -> Change {
        Change {
            path: name.into(),
            disk: std::fs::canonicalize(dir).unwrap().join(name),
            original: original.into(),
            fixed: fixed.into(),
        }
    }

    #[test]
    fn writes_every_file_keeping_its_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = temp_dir();
        std::fs::write(dir.path().join("a.sh"), "old a\n").unwrap();
        std::fs::write(dir.path().join(".env"), "old b\n").unwrap();
        std::fs::set_permissions(
            dir.path().join("a.sh"),
            std::fs::Permissions::from_mode(0o750),
        )
        .unwrap();
        std::fs::set_permissions(
            dir.path().join(".env"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        write(&[
            change(dir.path(), "a.sh", "old a\n", "new a\n"),
            change(dir.path(), ".env", "old b\n", "new b\n"),
        ])
        .expect("written");
        for (name, text, mode) in [("a.sh", "new a\n", 0o750), (".env", "new b\n", 0o600)] {
            let path = dir.path().join(name);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
            let meta = std::fs::metadata(&path).unwrap();
            assert_eq!(meta.permissions().mode() & 0o7777, mode, "{name}");
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file is left: {left:?}");
    }

    #[test]
    fn a_file_changed_since_it_was_read_stops_the_whole_set() {
        let dir = temp_dir();
        std::fs::write(dir.path().join("a.env"), "A = 1\n").unwrap();
        std::fs::write(dir.path().join("b.env"), "B = 2, edited meanwhile\n").unwrap();
        let err = write(&[
            change(dir.path(), "a.env", "A = 1\n", "A=1\n"),
            change(dir.path(), "b.env", "B = 2\n", "B=2\n"),
        ])
        .expect_err("b.env changed");
        assert!(
            err.to_string()
                .starts_with("b.env was changed since portolan read it; nothing was written"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.env")).unwrap(),
            "A = 1\n"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "no temporary file is left: {left:?}");
    }

    #[test]
    fn a_link_put_in_place_of_a_folder_is_not_written_through() {
        let dir = temp_dir();
        let real = dir.path().join("real");
        std::fs::create_dir_all(real.join("web")).unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        std::fs::write(real.join("web/.env"), "A = 1\n").unwrap();
        std::fs::write(dir.path().join("elsewhere/.env"), "A = 1\n").unwrap();
        let fix = change(&real.join("web"), ".env", "A = 1\n", "A=1\n");
        std::fs::remove_dir_all(real.join("web")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), real.join("web")).unwrap();
        let err = write(&[fix]).expect_err("a folder replaced by a link");
        assert!(err.to_string().contains("cannot be reached"), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("elsewhere/.env")).unwrap(),
            "A = 1\n"
        );
    }

    #[test]
    fn a_link_put_in_place_of_the_file_is_not_written_through() {
        let dir = temp_dir();
        std::fs::write(dir.path().join("elsewhere"), "A = 1\n").unwrap();
        std::os::unix::fs::symlink("elsewhere", dir.path().join(".env")).unwrap();
        let err = write(&[change(dir.path(), ".env", "A = 1\n", "A=1\n")])
            .expect_err("a link is not written through");
        assert!(
            err.to_string().contains("replaced by a symbolic link"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("elsewhere")).unwrap(),
            "A = 1\n"
        );
        assert!(std::fs::symlink_metadata(dir.path().join(".env"))
            .unwrap()
            .file_type()
            .is_symlink());
    }
}
