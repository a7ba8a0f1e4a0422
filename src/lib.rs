//! portolan renders and checks the ports and origins of Coder workspace templates.
//!
//! The shape of the crate follows the data:
//!
//! ```text
//! portolan.yaml ──spec──▶ Spec ──render──▶ main.tf · docker-compose.yml · start script · env files
//! files ──parse──▶ per-file facts ──model──▶ Workspace ──rules──▶ findings ──report──▶ text
//! Workspace (of files, or of what a spec renders) ──probe::plan──▶ chains ──probe──▶ report
//! ```
//!
//! [`project::Project`] is the one way in: it loads the spec, the knowledge and the options once,
//! then checks, renders (and checks what it rendered) or plans a probe.
//!
//! The library never prints; `main.rs` is the only place that writes to the terminal.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod check;
pub mod coder;
pub mod config;
pub mod diagnostic;
pub mod files;
pub mod fix;
pub mod import;
pub mod knowledge;
pub mod model;
pub mod parse;
#[cfg(feature = "probe")]
pub mod probe;
pub mod project;
pub mod render;
pub mod report;
pub mod rules;
pub mod source;
pub mod spec;
pub mod suppress;
