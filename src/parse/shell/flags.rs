//! Flags of a command: how `--port 3210`, `--port=3210`, `-p 3000` and `-p3000` are read from its
//! arguments, and how a caller looks one up.

use super::{Command, Flag, Word};

impl Command {
    /// The last flag with one of these names (`&["--port", "-p"]`); programs take the last one.
    pub fn flag(&self, names: &[&str]) -> Option<&Flag> {
        self.flags
            .iter()
            .rev()
            .find(|f| names.contains(&f.name.as_str()))
    }

    /// The value of the last flag with one of these names.
    pub fn flag_value(&self, names: &[&str]) -> Option<&Word> {
        self.flag(names).and_then(|f| f.value.as_ref())
    }
}

/// The flags among `args`; see the module docs for how values are attached.
pub(super) fn parse_flags(args: &[Word]) -> Vec<Flag> {
    let mut flags = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        let lead = arg.leading_text();
        let single = arg.parts.len() == 1;
        if lead == "--" && single {
            break;
        }
        if !lead.starts_with('-') || lead.len() < 2 || lead.starts_with("---") {
            continue;
        }
        let next_value = |i: usize| {
            args.get(i)
                .filter(|n| !n.leading_text().starts_with('-') && !n.parts.is_empty())
                .cloned()
        };
        let (name_len, value) = if let Some(eq) = lead.find('=') {
            (eq, Some(arg.after_first(eq + 1)))
        } else if lead.starts_with("--") {
            if !single {
                continue;
            }
            let value = next_value(i);
            i += usize::from(value.is_some());
            (lead.len(), value)
        } else {
            // `-p`, `-p3000`, `-p$PORT`, `-it`, `-port`
            let first_len = lead.chars().nth(1).map_or(1, char::len_utf8);
            let rest = lead.get(1 + first_len..).unwrap_or("");
            if rest.starts_with(|c: char| !c.is_alphabetic()) || (rest.is_empty() && !single) {
                (1 + first_len, Some(arg.after_first(1 + first_len)))
            } else if single {
                let value = next_value(i);
                i += usize::from(value.is_some());
                (lead.len(), value)
            } else {
                continue;
            }
        };
        flags.push(Flag {
            name: lead.get(..name_len).unwrap_or(lead).to_string(),
            name_span: arg.leading_span(name_len),
            value,
        });
    }
    flags
}

#[cfg(test)]
mod tests {
    use crate::parse::shell::testing::*;
    use crate::parse::shell::*;

    #[test]
    fn convex_backend_flags_across_continued_lines() {
        let f = facts(CONVEX);
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
        let backend = command(&f, "convex-local-backend");
        assert_eq!(backend.wrappers.len(), 1);
        assert_eq!(backend.wrappers[0].literal().as_deref(), Some("exec"));
        // (flag, static value, span of the value)
        let table = [
            ("--port", Some("3210"), nth(CONVEX, "3210", 1)),
            ("--site-proxy-port", Some("3211"), at(CONVEX, "3211")),
            (
                "--convex-origin",
                None,
                at(CONVEX, "\"$CONVEX_CLOUD_ORIGIN\""),
            ),
            ("--convex-site", None, at(CONVEX, "\"$CONVEX_SITE_ORIGIN\"")),
        ];
        for (name, literal, range) in table {
            let value = backend.flag_value(&[name]).expect(name);
            assert_eq!(value.literal().as_deref(), literal, "{name}");
            assert_eq!(value.span.range(), range, "{name}");
        }
        let origin = backend.flag_value(&["--convex-origin"]).unwrap();
        assert_eq!(vars(origin), ["CONVEX_CLOUD_ORIGIN"]);
        assert!(!backend.background);

        let assignment = &f.assignments[0];
        assert_eq!(assignment.name, "CONVEX_CLOUD_ORIGIN");
        assert_eq!(assignment.keyword.as_deref(), Some("export"));
        assert!(assignment.exported);
        let WordPart::Variable(v) = &assignment.value.parts[0] else {
            panic!("{:?}", assignment.value)
        };
        assert_eq!(v.operator.as_deref(), Some(":-"));
        let operand = v.operand.as_ref().unwrap();
        assert_eq!(operand.literal().as_deref(), Some("http://127.0.0.1:3210"));

        // The default's URL is found, and no other URL is invented.
        assert_eq!(f.urls.len(), 1);
        let url = &f.urls[0];
        assert_eq!(url.scheme, "http");
        assert_eq!(url.host.literal().as_deref(), Some("127.0.0.1"));
        assert_eq!(url.port_number(), Some(3210));
        assert_eq!(url.span.range(), at(CONVEX, "http://127.0.0.1:3210"));
        assert_eq!(url.port.as_ref().unwrap().span.range(), at(CONVEX, "3210"));
        assert!(url.coder_app().is_none());
    }

    #[test]
    fn flags_in_every_syntax() {
        let src = "prog --port 3210 --port=3211 -p 3000 -p3001 --bind-addr 0.0.0.0:8080 \
                   -addr=:80 --verbose -it img --x=\"$P\" -p$PORT";
        let f = facts(src);
        let c = command(&f, "prog");
        let flags: Vec<(&str, Option<String>)> = c
            .flags
            .iter()
            .map(|fl| (fl.name.as_str(), fl.value.as_ref().map(Word::to_string)))
            .collect();
        let want: Vec<(&str, Option<String>)> = [
            ("--port", Some("3210")),
            ("--port", Some("3211")),
            ("-p", Some("3000")),
            ("-p", Some("3001")),
            ("--bind-addr", Some("0.0.0.0:8080")),
            ("-addr", Some(":80")),
            ("--verbose", None),
            ("-it", Some("img")),
            ("--x", Some("${P}")),
            ("-p", Some("${PORT}")),
        ]
        .into_iter()
        .map(|(n, v)| (n, v.map(str::to_string)))
        .collect();
        assert_eq!(flags, want);
        assert_eq!(
            c.flag_value(&["--port", "-p"]).unwrap().to_string(),
            "${PORT}"
        );
        let bind = c.flag_value(&["--bind-addr"]).unwrap();
        assert_eq!(bind.span.range(), at(src, "0.0.0.0:8080"));
        let eq = &c.flags[1];
        assert_eq!(eq.value.as_ref().unwrap().span.range(), at(src, "3211"));
        let eq_at = at(src, "--port=").start;
        assert_eq!(eq.name_span.range(), eq_at..eq_at + 6);
        let quoted = at(src, "\"$P\"");
        let x = c.flag_value(&["--x"]).unwrap();
        assert_eq!(x.span.range(), quoted.start + 1..quoted.end - 1);
    }
}
