//! `parse-error` (PT001): A file, or a part of one, that portolan could not parse.

use crate::diagnostic::{RuleMeta, Severity};
use crate::model::Workspace;
use crate::rules::{Rule, Sink};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        name: "parse-error",
        code: "PT001",
        default_severity: Severity::Error,
        summary: "A file, or a part of one, that portolan could not parse",
        explanation: r#"## What it does
Reports what the parsers could not read, at the line and column where reading stopped: a
Terraform file that is not valid HCL, a compose file that is not valid YAML, a script construct
the shell parser does not understand. The rest of the file, and the other files, are still
checked.

The severity says how sure portolan is that the file is broken:
- **error**: Terraform or compose would refuse the file too (`terraform validate` fails on
  a `.tf` file that does not parse);
- **warning**: a script portolan refused to read at all (nested too deeply, or too costly
  to parse), so what it starts is not known;
- **note**: a shell construct portolan's parser (tree-sitter-bash) does not understand. bash
  may well run it (check with `bash -n`); only what portolan learns from that part of the
  script is lost. A note never fails `--strict`.

## Why is this bad?
What portolan cannot read, it cannot check: apps, listeners and env defined past the error are
unknown, so other rules may stay silent or say less. A Terraform syntax error also stops
`coder templates push`.

## Example
```hcl
resource "coder_app" "code" {
  url = "http://localhost:13337
}
```
Close the string: `url = "http://localhost:13337"`."#,
    },
    check,
};

fn check(workspace: &Workspace, sink: &mut Sink) {
    for found in &workspace.parse_errors {
        let mut d = found.clone();
        d.rule = Some(RULE.meta.name);
        d.code = Some(RULE.meta.code);
        sink.findings.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test::check;

    #[test]
    fn terraform_that_does_not_parse_is_an_error_and_a_shell_construct_a_note() {
        let tf = "resource \"coder_app\" \"code\" {\n  url = \"http://localhost:1\n}\n";
        let found = check(&RULE, &[("main.tf", tf)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("main.tf:2:") && found[0].contains(": error: Terraform syntax error"),
            "{found:?}"
        );
        let sh = "echo ok\nif then fi )\n";
        let found = check(&RULE, &[("start.sh", sh)]);
        assert!(!found.is_empty());
        assert!(
            found.iter().all(|f| f.contains(": info: shell syntax error")),
            "{found:?}"
        );
        assert!(check(&RULE, &[("start.sh", "echo ok\n")]).is_empty());
    }
}
