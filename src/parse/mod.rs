//! Parsers: one per kind of file. Each turns text into facts that keep their [`crate::source::Span`]s,
//! never panics, and reports what it cannot parse as a [`crate::diagnostic::Diagnostic`].

pub mod compose;
pub mod dotenv;
pub mod interpolate;
pub mod shell;
pub mod terraform;
