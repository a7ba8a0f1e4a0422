//! What `render` wrote, recorded beside the files in [`FILE`]: whether `main.tf` was rendered
//! (`--full`), the templates folder, and every file of the set. `render` writes it with the
//! others (stamped, staged, refused when edited by hand); `render --check` and `check --spec`
//! read it, so that they compare the set that was rendered, whatever flags they are given.
//!
//! ```yaml
//! # Written by portolan from portolan.yaml: ... portolan-sha256:...
//! full: true
//! templates: "templates"
//! files:
//!   - "coder-apps.tf"
//!   - "main.tf"
//! ```

use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use super::value::yaml_string;

/// The record's name, in the output folder. Env files may not start with `.portolan`, so no
/// rendered file takes it.
pub const FILE: &str = ".portolan-render.yaml";

/// What one render wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// `main.tf` was rendered (`--full`).
    #[serde(default)]
    pub full: bool,
    /// The templates folder, relative to the record's folder (`/`-separated), or absolute.
    #[serde(default)]
    pub templates: Option<String>,
    /// Every file written besides the record, relative to its folder.
    #[serde(default)]
    pub files: Vec<String>,
}

impl Record {
    /// The record's text, without the header.
    pub fn text(&self) -> String {
        let mut out = String::from(
            "# What `portolan render` wrote here: `render --check` and `check --spec` compare this set.\n",
        );
        out.push_str(&format!("full: {}\n", self.full));
        if let Some(templates) = &self.templates {
            out.push_str(&format!("templates: {}\n", yaml_string(templates)));
        }
        out.push_str("files:\n");
        for file in &self.files {
            out.push_str(&format!("  - {}\n", yaml_string(file)));
        }
        out
    }

    /// Reads a record; an error says where (`line:column: message`).
    pub fn parse(text: &str) -> Result<Record, String> {
        serde_saphyr::from_str(text).map_err(|e| {
            let message = e.to_string();
            let first = message.lines().next().unwrap_or("invalid YAML").to_owned();
            match e.location() {
                Some(loc) if !first.contains("line ") => {
                    format!("{}:{}: {first}", loc.line(), loc.column())
                }
                _ => first,
            }
        })
    }

    /// The files this record names that a render of `now` (relative paths) no longer writes:
    /// a renamed compose file leaves its old name behind, which `check` would still read.
    /// Names with control characters are left out (they are shown to the user).
    pub fn dropped<'r>(&'r self, now: &[&Path]) -> Vec<&'r str> {
        self.files
            .iter()
            .map(String::as_str)
            .filter(|f| !f.chars().any(char::is_control))
            .filter(|f| !now.iter().any(|n| *n == Path::new(f)))
            .collect()
    }

    /// The recorded templates folder, as a path usable from where `dir` (the record's folder)
    /// is named.
    pub fn templates_in(&self, dir: &Path) -> Option<PathBuf> {
        self.templates.as_ref().map(|t| dir.join(t))
    }
}

/// `path` relative to `base` (both as named from the working folder; links are not resolved),
/// `/`-separated: how the record names the templates folder from its own folder. Absolute when
/// the two share no root.
pub fn relative(path: &Path, base: &Path) -> String {
    let absolute = |p: &Path| {
        crate::model::build::normalize(&std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
    };
    let (path, base) = (absolute(path), absolute(base));
    let parts = |p: &Path| -> Vec<String> {
        p.components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect()
    };
    let (to, from) = (parts(&path), parts(&base));
    let common = to.iter().zip(&from).take_while(|(a, b)| a == b).count();
    if common == 0 && !to.is_empty() && !from.is_empty() {
        return path.to_string_lossy().into_owned();
    }
    let mut out: Vec<&str> = vec![".."; from.len() - common];
    out.extend(to[common..].iter().map(String::as_str));
    if out.is_empty() {
        ".".to_owned()
    } else {
        out.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_reads_back_what_it_wrote() {
        let record = Record {
            full: true,
            templates: Some("../my \"templates\"".to_owned()),
            files: vec!["coder-apps.tf".to_owned(), "web/.env.local".to_owned()],
        };
        assert_eq!(Record::parse(&record.text()), Ok(record.clone()));
        let plain = Record {
            templates: None,
            ..record
        };
        assert_eq!(Record::parse(&plain.text()), Ok(plain));
    }

    #[test]
    fn a_record_names_the_files_no_longer_rendered() {
        let record = Record {
            files: vec![
                "coder-apps.tf".to_owned(),
                "docker-compose.yml".to_owned(),
                "x\u{1b}[2J.yml".to_owned(),
            ],
            ..Record::default()
        };
        let now = [Path::new("coder-apps.tf"), Path::new("infra/compose.yml")];
        assert_eq!(record.dropped(&now), ["docker-compose.yml"]);
        let same = [Path::new("coder-apps.tf"), Path::new("docker-compose.yml")];
        assert!(Record {
            files: vec!["coder-apps.tf".to_owned()],
            ..Record::default()
        }
        .dropped(&same)
        .is_empty());
    }

    #[test]
    fn a_bad_record_says_where() {
        let err = Record::parse("full: true\nfuller: 1\n").unwrap_err();
        assert!(err.contains("unknown field `fuller`"), "{err}");
        assert!(err.contains('2'), "no line: {err}");
        assert!(Record::parse("full: [").is_err());
    }

    #[test]
    fn paths_are_relative_to_the_records_folder() {
        assert_eq!(relative(Path::new("tpl"), Path::new(".")), "tpl");
        assert_eq!(relative(Path::new("tpl"), Path::new("ws")), "../tpl");
        assert_eq!(relative(Path::new("ws/tpl"), Path::new("ws")), "tpl");
        assert_eq!(relative(Path::new("a/b"), Path::new("c/d/")), "../../a/b");
        assert_eq!(relative(Path::new("ws"), Path::new("ws/.")), ".");
        assert_eq!(relative(Path::new("/x/t"), Path::new("/x/y")), "../t");
        assert_eq!(relative(Path::new("/opt/t"), Path::new("/srv/w")), "/opt/t");
    }
}
