//! `portolan rules`: the rule table, or one rule's explanation, as text or JSON.

use std::fmt::Write as _;

use portolan::rules::{self, Rule};
use portolan::spec;

use super::{to_stdout, FAILED, OK};

/// `rules --format`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Lists the rules, or explains one.
pub fn run(rule: Option<&str>, format: Format) -> u8 {
    match (rule, format) {
        (None, Format::Human) => {
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
        (None, Format::Json) => {
            let all: Vec<RuleJson> = rules::RULES.iter().map(|r| json(r)).collect();
            to_stdout(pretty(&all));
            OK
        }
        (Some(name), _) => match rules::find(name) {
            Some(r) if format == Format::Json => {
                to_stdout(pretty(&json(r)));
                OK
            }
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

/// One rule as `rules --format json` shows it (README.md, "Check", documents the shape).
#[derive(serde::Serialize)]
struct RuleJson {
    code: &'static str,
    name: &'static str,
    family: &'static str,
    default_severity: &'static str,
    summary: &'static str,
    /// Markdown: `## What it does`, `## Why is this bad?`, `## Example`.
    explanation: &'static str,
    /// Names the rule had before; `--select`, `--ignore` and ignores still accept them.
    former_names: Vec<&'static str>,
}

fn json(rule: &Rule) -> RuleJson {
    let m = &rule.meta;
    RuleJson {
        code: m.code,
        name: m.name,
        family: rules::family(rule),
        default_severity: m.default_severity.as_str(),
        summary: m.summary,
        explanation: m.explanation,
        former_names: rules::former_names(rule).collect(),
    }
}

fn pretty(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}
