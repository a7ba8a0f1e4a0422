//! Source files and spans.
//!
//! Every fact portolan knows points back at the bytes it came from: a [`Span`] is a file id plus a
//! byte range. Lines and columns are computed only when a report is rendered, through the
//! [`SourceMap`] that owns the text of every file.

use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A byte range in one file. `start..end`, end exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        let start = u32::try_from(start).unwrap_or(u32::MAX);
        let end = u32::try_from(end).unwrap_or(u32::MAX).max(start);
        Span { file, start, end }
    }

    /// A span covering both `self` and `other` (which must be in the same file).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// A sub-range of this span, given as offsets relative to its start.
    pub fn sub(self, start: usize, end: usize) -> Span {
        Span::new(
            self.file,
            self.start as usize + start,
            self.start as usize + end,
        )
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A 1-based line and column. Columns count Unicode scalar values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct LineCol {
    pub line: u32,
    pub column: u32,
}

/// The text of one file and the offsets where its lines start.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as reports show it: relative to the folder being checked or rendered.
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<u32>,
    /// Whether the text is all ASCII: then a column is a byte count, found without a walk
    /// along the line (many findings on one long line stay linear).
    ascii: bool,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let text = text.into();
        let mut line_starts = vec![0u32];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| u32::try_from(i + 1).unwrap_or(u32::MAX)),
        );
        SourceFile {
            path: path.into(),
            ascii: text.is_ascii(),
            text,
            line_starts,
        }
    }

    /// Line and column of a byte offset. Offsets past the end clamp to the end; offsets inside a
    /// multi-byte character count as that character.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.text.len());
        let line = match self
            .line_starts
            .binary_search(&u32::try_from(offset).unwrap_or(u32::MAX))
        {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let line_start = self.line_starts[line] as usize;
        let mut end = offset;
        while end > line_start && !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let column = if self.ascii {
            end - line_start + 1
        } else {
            self.text[line_start..end].chars().count() + 1
        };
        LineCol {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }

    /// Byte offset of a 1-based line and column (columns in characters). Clamps to the text.
    pub fn offset(&self, pos: LineCol) -> usize {
        let line = (pos.line.max(1) as usize - 1).min(self.line_starts.len() - 1);
        let start = self.line_starts[line] as usize;
        let line_text = &self.text[start..self.line_end(line)];
        let byte_in_line = line_text
            .char_indices()
            .nth(pos.column.max(1) as usize - 1)
            .map(|(i, _)| i)
            .unwrap_or(line_text.len());
        start + byte_in_line
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: u32) -> &str {
        let idx = line.max(1) as usize - 1;
        if idx >= self.line_starts.len() {
            return "";
        }
        let start = self.line_starts[idx] as usize;
        self.text[start..self.line_end(idx)].trim_end_matches('\r')
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// The byte range of the line that holds `offset`, without its newline (a binary search, no
    /// walk along the line).
    pub fn line_bounds(&self, offset: usize) -> std::ops::Range<usize> {
        let offset = offset.min(self.text.len());
        let line = match self
            .line_starts
            .binary_search(&u32::try_from(offset).unwrap_or(u32::MAX))
        {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        start..self.line_end(line).max(start)
    }

    fn line_end(&self, idx: usize) -> usize {
        self.line_starts
            .get(idx + 1)
            .map(|s| *s as usize - 1)
            .unwrap_or(self.text.len())
    }

    /// The text a span covers (empty if the span does not fit this file).
    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or("")
    }
}

/// Every file that a run of portolan has read, addressed by [`FileId`].
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, path: impl Into<PathBuf>, text: impl Into<String>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile::new(path, text));
        id
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.path == path)
            .map(|i| FileId(i as u32))
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Start and end of a span as 1-based lines and columns.
    pub fn resolve(&self, span: Span) -> (LineCol, LineCol) {
        let file = self.get(span.file);
        (
            file.line_col(span.start as usize),
            file.line_col(span.end as usize),
        )
    }

    pub fn path(&self, span: Span) -> &Path {
        &self.get(span.file).path
    }

    pub fn slice(&self, span: Span) -> &str {
        self.get(span.file).slice(span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_and_in_characters() {
        let f = SourceFile::new("a", "ab\nçd\r\nx");
        assert_eq!(f.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(f.line_col(3), LineCol { line: 2, column: 1 });
        // 'd' is after the two-byte 'ç'
        assert_eq!(f.line_col(5), LineCol { line: 2, column: 2 });
        assert_eq!(f.line_col(8), LineCol { line: 3, column: 1 });
        assert_eq!(f.line_col(999), LineCol { line: 3, column: 2 });
        assert_eq!(f.line_text(2), "çd");
    }

    #[test]
    fn offset_inverts_line_col() {
        let f = SourceFile::new("a", "one\ntwo çx\nthree");
        for off in [0, 2, 4, 8, 10, 12] {
            if f.text.is_char_boundary(off) {
                assert_eq!(f.offset(f.line_col(off)), off, "offset {off}");
            }
        }
    }
}
