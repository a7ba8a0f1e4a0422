//! Terraform template masking: `${expr}` interpolations and `%{...}` directives in text from a
//! `.tf` heredoc are hidden from the shell grammar before parsing, with offsets kept, and read
//! back as [`super::WordPart::HclInterpolation`].

use super::MAX_INTERPOLATION;

/// A Terraform `${...}` or `%{...}` found in the text (byte offsets into the text).
pub(super) struct HclRegion {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) expression: String,
    pub(super) directive: bool,
}

/// The text as bash sees it: Terraform interpolations replaced by `_` (or by spaces for a directive
/// alone on its line), the first byte of `$${` and `%%{` replaced by `.` (elided when read back).
/// Always the same length as the original, so offsets are shared.
pub(super) struct Template {
    pub(super) text: String,
    pub(super) hcl: Vec<HclRegion>,
    elided: Vec<usize>,
}

impl Template {
    /// Masks the Terraform pieces of script text held in a `.tf` file: `${x.y}`, `${f(x)}` and
    /// the like are Terraform, `${X}` is the shell's.
    pub(super) fn mask(source: &str) -> Template {
        Template::mask_as(source, false)
    }

    /// Masks a file that `templatefile()` reads: every `${...}` is Terraform (`$${X}` is the
    /// shell's `${X}`).
    pub(super) fn mask_template_file(source: &str) -> Template {
        Template::mask_as(source, true)
    }

    fn mask_as(source: &str, template_file: bool) -> Template {
        let bytes = source.as_bytes();
        let mut text = String::with_capacity(source.len());
        let (mut hcl, mut elided) = (Vec::new(), Vec::new());
        let (mut copied, mut i) = (0, 0);
        while let Some(&sigil) = bytes.get(i) {
            if sigil != b'$' && sigil != b'%' {
                i += 1;
                continue;
            }
            let next = bytes.get(i + 1).copied();
            if next == Some(sigil) && bytes.get(i + 2) == Some(&b'{') {
                text.push_str(source.get(copied..i).unwrap_or(""));
                text.push('.');
                elided.push(i);
                copied = i + 1;
                i += 3;
                continue;
            }
            let directive = sigil == b'%';
            let looks_hcl = next == Some(b'{')
                && if directive {
                    starts_directive(bytes, i + 2)
                } else {
                    template_file || starts_hcl_expression(bytes, i + 2)
                };
            if let Some(end) = looks_hcl
                .then(|| interpolation_end(bytes, i + 2, 0))
                .flatten()
            {
                let inner = source.get(i + 2..end - 1).unwrap_or("");
                text.push_str(source.get(copied..i).unwrap_or(""));
                let filler = if directive && alone_on_line(source, i, end) {
                    ' '
                } else {
                    '_'
                };
                text.extend(std::iter::repeat_n(filler, end - i));
                hcl.push(HclRegion {
                    start: i,
                    end,
                    expression: inner
                        .trim_matches(|c: char| c == '~' || c.is_whitespace())
                        .to_string(),
                    directive,
                });
                copied = end;
                i = end;
                continue;
            }
            i += 1;
        }
        text.push_str(source.get(copied..).unwrap_or(""));
        if text.len() != source.len() {
            return Template {
                text: source.to_string(),
                hcl: Vec::new(),
                elided: Vec::new(),
            };
        }
        Template { text, hcl, elided }
    }

    pub(super) fn is_elided(&self, offset: usize) -> bool {
        self.elided.binary_search(&offset).is_ok()
    }
}

/// Whether `${` at `from` starts a Terraform expression rather than a shell parameter expansion:
/// `${local.x}`, `${f(x)}`, `${ x }`, `${~x}`, `${"s"}`.
fn starts_hcl_expression(bytes: &[u8], from: usize) -> bool {
    match bytes.get(from) {
        Some(b'~' | b'"' | b'(' | b'[' | b' ' | b'\t' | b'\n') => true,
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {
            let mut i = from;
            while bytes
                .get(i)
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            {
                i += 1;
            }
            matches!(bytes.get(i), Some(b'.' | b'(' | b' ' | b'\t'))
        }
        _ => false,
    }
}

/// Whether `%{` at `from` starts a template directive (`if`, `else`, `endif`, `for`, `endfor`).
fn starts_directive(bytes: &[u8], from: usize) -> bool {
    let mut i = from;
    while bytes
        .get(i)
        .is_some_and(|b| *b == b'~' || b.is_ascii_whitespace())
    {
        i += 1;
    }
    let start = i;
    while bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
        i += 1;
    }
    let keyword = bytes.get(start..i).unwrap_or(&[]);
    [&b"if"[..], b"else", b"endif", b"for", b"endfor"].contains(&keyword)
}

/// The offset just after the `}` closing an interpolation whose content starts at `from`.
fn interpolation_end(bytes: &[u8], from: usize, nesting: usize) -> Option<usize> {
    if nesting > 8 {
        return None;
    }
    let limit = from.saturating_add(MAX_INTERPOLATION).min(bytes.len());
    let mut depth = 1usize;
    let mut i = from;
    while i < limit {
        match bytes.get(i)? {
            b'"' => {
                i = string_end(bytes, i + 1, limit, nesting)?;
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The offset just after the `"` closing a Terraform string that starts at `from`.
fn string_end(bytes: &[u8], from: usize, limit: usize, nesting: usize) -> Option<usize> {
    let mut i = from;
    while i < limit {
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            b'\n' => return None,
            b'$' | b'%' if bytes.get(i + 1) == Some(&b'{') => {
                i = interpolation_end(bytes, i + 2, nesting + 1)?;
            }
            _ => i += 1,
        }
    }
    None
}

/// Whether only whitespace surrounds `start..end` on its line.
fn alone_on_line(source: &str, start: usize, end: usize) -> bool {
    let before = source.get(..start).unwrap_or("");
    let after = source.get(end..).unwrap_or("");
    let line_before = before.rsplit('\n').next().unwrap_or("");
    let line_after = after.split('\n').next().unwrap_or("");
    line_before.trim().is_empty() && line_after.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use crate::parse::shell::testing::*;
    use crate::parse::shell::*;

    #[test]
    fn base_offset_and_terraform_template_pieces() {
        let start = at(TF, "    set -e").start;
        let end = at(TF, "  EOT\n}").start;
        let f = parse_script(&TF[start..end], FileId(3), start);
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);

        let cs = command(&f, "code-server");
        assert_eq!(cs.span.file, FileId(3));
        assert_eq!(
            cs.span.range(),
            at(TF, "code-server --port ${local.port} --auth none")
        );
        assert!(cs.background);
        let port = cs.flag_value(&["--port"]).unwrap();
        assert_eq!(port.span.range(), at(TF, "${local.port}"));
        assert!(matches!(
            &port.parts[..],
            [WordPart::HclInterpolation { expression, directive: false, .. }] if expression == "local.port"
        ));

        // `$${X}` is the shell's `${X}`.
        let app = f.urls[0].coder_app().unwrap();
        assert_eq!(app.slug, "app");
        assert_eq!(
            app.slug_span.range(),
            at(TF, "app--").start..at(TF, "app--").start + 3
        );
        assert_eq!(vars(&app.workspace), ["CODER_WORKSPACE_NAME"]);
        // The span of `${X}` in `$${X}`: the escaping `$` is Terraform's, not the shell's.
        let escaped = at(TF, "$${CODER_WORKSPACE_NAME}");
        assert_eq!(app.workspace.span.range(), escaped.start + 1..escaped.end);
        let body = &f.file_writes[0].body;
        assert_eq!(body.parts[0].span().range(), at(TF, "URL=https://app--"));

        // Both sides of a `%{ if }` are read; the directive itself is not a command.
        let pnpm = command(&f, "pnpm");
        assert_eq!(
            pnpm.flag_value(&["--port"]).unwrap().to_string(),
            "${var.dev_port}"
        );
        let programs: Vec<String> = f.commands.iter().map(|c| c.program.to_string()).collect();
        assert_eq!(programs, ["set", "code-server", "echo", "pnpm", "serve"]);
        let serve = command(&f, "serve").flag_value(&["--listen"]).unwrap();
        assert_eq!(
            serve.span.range(),
            at(TF, "${lookup(var.ports, \"web\", 80)}")
        );

        let mut lookup = |l: Lookup<'_>| match l {
            Lookup::Hcl("local.port") => Some("13337".to_string()),
            _ => None,
        };
        assert_eq!(port.evaluate(&mut lookup).as_deref(), Some("13337"));
    }

    #[test]
    fn shell_expansions_are_not_taken_for_terraform() {
        let f = facts("A=${B:-x} C=${D} E=${#F} G=${H[0]} I=$$\n");
        let hcl = |w: &Word| {
            w.parts
                .iter()
                .any(|p| matches!(p, WordPart::HclInterpolation { .. }))
        };
        assert!(f.assignments.iter().all(|a| !hcl(&a.value)));
        assert_eq!(f.assignments[0].value.to_string(), "${B:-x}");
        assert_eq!(f.assignments[1].value.to_string(), "${D}");
        assert!(matches!(
            f.assignments[2].value.parts[0],
            WordPart::Dynamic { .. }
        ));
        assert_eq!(vars(&f.assignments[4].value), ["$"]);
    }
}
