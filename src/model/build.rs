//! Building the model from parsed files (written once the parsers land).

/// The parsed facts of every file, by kind.
#[derive(Debug, Default)]
pub struct ParsedFiles {}
