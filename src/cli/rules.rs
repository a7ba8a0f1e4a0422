//! `portolan rules`: the rule table, or one rule's explanation.

use std::fmt::Write as _;

use portolan::{rules, spec};

use super::{to_stdout, FAILED, OK};

/// Lists the rules, or explains one.
pub fn run(rule: Option<&str>) -> u8 {
    match rule {
        None => {
            let mut text = String::new();
            for r in rules::RULES {
                let _ = writeln!(
                    text,
                    "{:<6} {:<33} {:<8} {}",
                    r.meta.code,
                    r.meta.name,
                    r.meta.default_severity.as_str(),
                    r.meta.summary
                );
            }
            to_stdout(text);
            OK
        }
        Some(name) => match rules::find(name) {
            Some(r) => {
                to_stdout(format!(
                    "# {} ({})\n\n{}\n\nDefault severity: {}\n\n{}\n",
                    r.meta.name,
                    r.meta.code,
                    r.meta.summary,
                    r.meta.default_severity.as_str(),
                    r.meta.explanation.trim_end()
                ));
                OK
            }
            None => {
                let names: Vec<&str> = rules::RULES.iter().map(|r| r.meta.name).collect();
                let hint = spec::did_you_mean(name, names.iter().copied())
                    .map(|b| format!("; did you mean `{b}`?"))
                    .unwrap_or_default();
                eprintln!("error: unknown rule `{name}`{hint}");
                FAILED
            }
        },
    }
}
