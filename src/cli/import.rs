//! `portolan import`: writes a `portolan.yaml` from an existing template folder.

use std::path::{Path, PathBuf};

use portolan::config;
use portolan::project::ProjectOptions;
use portolan::render::write;

use super::{FAILED, OK};

#[derive(clap::Args)]
pub struct Args {
    /// The template folder to read.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Where to write the spec (`-`: standard output); default DIR/portolan.yaml.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
    /// Knowledge added to the built-in knowledge base, in the shape of knowledge.yaml.
    #[arg(long, value_name = "FILE")]
    pub knowledge: Option<PathBuf>,
}

pub fn run(args: Args) -> u8 {
    let dir = &args.dir;
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            eprintln!(
                "error: {} is not a folder: import reads a template folder",
                dir.display()
            );
            return FAILED;
        }
        Err(e) => {
            eprintln!("error: cannot read folder {}: {e}", dir.display());
            return FAILED;
        }
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| dir.join("portolan.yaml"));
    let to_stdout = out == Path::new("-");
    // Whatever is there (a file, a link, even a dangling one) is replaced only with --force.
    if !to_stdout && std::fs::symlink_metadata(&out).is_ok() && !args.force {
        eprintln!(
            "error: {} exists; pass --force to replace it",
            out.display()
        );
        return FAILED;
    }
    let options = ProjectOptions {
        knowledge: args.knowledge.clone(),
        config: config::ConfigLookup::Discover(config::start_folder(dir)),
        ..ProjectOptions::default()
    };
    let project = match super::load(&options) {
        Ok(project) => project,
        Err(code) => return code,
    };
    let imported = match project.import(dir) {
        Ok(imported) => imported,
        Err(e) => {
            eprintln!("error: {e}; nothing written");
            return FAILED;
        }
    };
    if to_stdout {
        super::to_stdout(&imported.text);
    } else if let Err(e) = write::write_atomic(&out, &imported.text, 0o644) {
        eprintln!("error: cannot write {}: {e}", out.display());
        return FAILED;
    }
    for mark in &imported.marks {
        super::output::note(format_args!("marked: {mark}"));
    }
    if !to_stdout {
        let marked = match imported.marks.len() {
            0 => "nothing marked".to_owned(),
            1 => "1 thing marked in its comments".to_owned(),
            n => format!("{n} things marked in its comments"),
        };
        super::output::note(format_args!(
            "wrote {} ({marked}); next: review it, then `portolan render {}` and `portolan check --spec {}`",
            out.display(),
            out.display(),
            out.display()
        ));
    }
    OK
}
