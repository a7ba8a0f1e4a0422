//! Diffs from the file on disk to the rendered file: unified for most files, by key name for
//! env files, whose values are secrets and never shown.

use super::Planned;

/// A unified diff from the file on disk (or nothing) to the rendered file. For files that hold
/// secrets (env files), the names of the keys that differ instead: values are never shown.
pub fn diff(planned: &Planned<'_>, display: &str) -> String {
    let old = planned.current();
    let old_name = match old {
        Some(_) => format!("a/{display}"),
        None => "/dev/null".to_owned(),
    };
    if planned.file.secret_values {
        return key_diff(
            old.unwrap_or(""),
            &planned.file.contents,
            &old_name,
            display,
        );
    }
    similar::TextDiff::from_lines(old.unwrap_or(""), &planned.file.contents)
        .unified_diff()
        .context_radius(3)
        .header(&old_name, &format!("b/{display}"))
        .to_string()
}

fn key_diff(old: &str, new: &str, old_name: &str, display: &str) -> String {
    use crate::parse::dotenv;
    use crate::source::FileId;
    let old_file = dotenv::parse(FileId(0), old);
    let new_file = dotenv::parse(FileId(0), new);
    let (old_vars, new_vars) = (old_file.variables(), new_file.variables());
    let mut keys: Vec<&str> = old_vars.keys().chain(new_vars.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut text = format!(
        "--- {old_name}\n+++ b/{display}\n# values are not shown (env files hold secrets); keys that differ:\n"
    );
    let mut any = false;
    for key in keys {
        let line = match (old_vars.get(key), new_vars.get(key)) {
            (Some(a), Some(b)) if a == b => continue,
            (Some(_), Some(_)) => format!("#   changed: {}\n", printable(key)),
            (None, _) => format!("#   missing: {} (the spec sets it)\n", printable(key)),
            (_, None) => format!("#   extra: {} (not in the spec)\n", printable(key)),
        };
        any = true;
        text.push_str(&line);
    }
    if !any {
        text.push_str("#   none: comments, quoting or order differ\n");
    }
    text
}

/// A key as it can be printed to a terminal: control characters escaped.
fn printable(key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_graphic()) {
        key.to_owned()
    } else {
        key.escape_debug().to_string()
    }
}
