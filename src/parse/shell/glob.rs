//! Glob characters in a word as written: what the shell expands to file names.

/// The byte offset of the first glob character in `written` (a shell word as it is written,
/// quotes included) that the shell would expand: `*`, `?`, or a `[` with a closing `]`, outside
/// single and double quotes, not escaped by a backslash and not inside `${...}`, `$(...)` or
/// backquotes. `None` when the word has none.
pub fn unquoted_glob(written: &str) -> Option<usize> {
    let bytes = written.as_bytes();
    let mut i = 0;
    let mut double = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'\'' if !double => match written[i + 1..].find('\'') {
                Some(close) => i += close + 1,
                None => return None,
            },
            b'"' => double = !double,
            b'$' if matches!(bytes.get(i + 1), Some(b'{' | b'(')) => {
                i = closing(bytes, i + 1)?;
            }
            b'`' => i += written[i + 1..].find('`')? + 1,
            b'*' | b'?' if !double => return Some(i),
            b'[' if !double && written[i + 1..].contains(']') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index of the bracket that closes the one at `open` (`{` or `(`), nesting counted.
fn closing(bytes: &[u8], open: usize) -> Option<usize> {
    let (up, down) = match bytes.get(open)? {
        b'{' => (b'{', b'}'),
        _ => (b'(', b')'),
    };
    let mut depth = 0usize;
    for (k, b) in bytes.iter().enumerate().skip(open) {
        if *b == up {
            depth += 1;
        } else if *b == down {
            depth -= 1;
            if depth == 0 {
                return Some(k);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::unquoted_glob;

    #[test]
    fn globs_outside_quotes_only() {
        for (written, at) in [
            ("*", Some(0)),
            ("*.example.com", Some(0)),
            ("a.example.com,*", Some(14)),
            ("\"$HOST\"*", Some(7)),
            ("host?", Some(4)),
            ("[ab]c", Some(0)),
            ("'*'", None),
            ("\"*\"", None),
            ("\\*", None),
            ("${X:-*}", None),
            ("${X#*.}", None),
            ("$(ls *)", None),
            ("`ls *`", None),
            ("[", None),
            ("example.com", None),
            ("'unclosed *", None),
            ("\"a\"'b'*", Some(6)),
        ] {
            assert_eq!(unquoted_glob(written), at, "{written}");
        }
    }
}
