//! Robustness: no input makes `portolan check` panic (issue 3, "Robustness").
//!
//! What is fed in: every prefix (at a stride) of the incident fixture's files, binary files and
//! invalid UTF-8 through `check_paths`, a large env file, YAML nested 10 000 levels deep, HCL
//! from other providers (for expressions, splats, dynamic blocks, provider functions), a broken
//! compose file beside a good `main.tf`, and seeded random mutations of the fixtures through
//! every parser. Besides "no panic", every span a parser or the model returns must lie within
//! its file's text and on char boundaries.
//!
//! Spans are found generically: every fact type derives `Debug`, so [`spans_in`] reads each
//! `Span { file: FileId(F), start: S, end: E }` out of the facts' debug text. A new fact type
//! is covered without touching this file.
//!
//! The large env file is 5 MB here, not 50 MB: debug builds parse about 6 MB/s, and this file
//! must stay fast. Set `PORTOLAN_ROBUSTNESS_ENV_MB=50` for the full size; `cargo bench --bench
//! check` always times 50 MB in release. No timing is asserted anywhere.

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use portolan::check::{
    check_files, check_paths, classify, CheckOptions, CheckResult, MAX_FILE_BYTES,
};
use portolan::diagnostic::{Diagnostic, Severity};
use portolan::knowledge::Knowledge;
use portolan::model::build::InputFile;
use portolan::model::{FileKind, Workspace};
use portolan::parse::dotenv::EnvProblemKind;
use portolan::parse::{compose, dotenv, shell, terraform};
use portolan::rules::RULES;
use portolan::source::FileId;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const INCIDENT: &str = "tests/fixtures/convex-incident";

/// The incident fixture's files as (name, text), sorted by name.
fn incident() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(INCIDENT);
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .map(|e| e.expect("fixture entry").path())
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).expect("fixture text");
            (name, text)
        })
        .collect();
    files.sort();
    assert!(files.len() >= 4, "the incident fixture has its files");
    files
}

fn input(path: &str, text: &str) -> InputFile {
    InputFile {
        path: PathBuf::from(path),
        text: text.to_owned(),
        kind: classify(Path::new(path), Some(text)).unwrap_or(FileKind::EnvFile),
    }
}

/// Runs every rule over in-memory files and checks every span of the result.
fn check(files: Vec<InputFile>) -> (Workspace, Vec<Diagnostic>) {
    let (ws, findings) = check_files(files, RULES, Knowledge::builtin().clone());
    assert_spans_fit_workspace(&ws, &findings);
    (ws, findings)
}

fn check_dir(dir: &Path) -> CheckResult {
    let result = check_paths(&[dir.to_path_buf()], dir, &CheckOptions::default())
        .expect("check_paths runs on a readable folder");
    for (ws, findings) in &result.workspaces {
        assert_spans_fit_workspace(ws, findings);
    }
    result
}

/// Every `Span { file: FileId(F), start: S, end: E }` in a debug text, as (F, S, E).
fn spans_in(debug: &str) -> Vec<(u32, usize, usize)> {
    const HEAD: &str = "Span { file: FileId(";
    let mut out = Vec::new();
    let mut rest = debug;
    while let Some(at) = rest.find(HEAD) {
        rest = &rest[at + HEAD.len()..];
        let (file, tail) = number(rest);
        let tail = tail.strip_prefix("), start: ").expect("Span debug format");
        let (start, tail) = number(tail);
        let tail = tail.strip_prefix(", end: ").expect("Span debug format");
        let (end, tail) = number(tail);
        out.push((file as u32, start, end));
        rest = tail;
    }
    out
}

fn number(text: &str) -> (usize, &str) {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let value = text[..digits].parse().expect("a number in Span debug text");
    (value, &text[digits..])
}

/// Asserts that a span lies within `text` and starts and ends on char boundaries.
fn assert_span_fits(text: &str, (file, start, end): (u32, usize, usize), what: &str) {
    assert!(
        start <= end && end <= text.len(),
        "{what}: span {start}..{end} of file {file} is outside its {} bytes",
        text.len()
    );
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "{what}: span {start}..{end} of file {file} splits a character"
    );
}

/// Checks the spans of one parser's output, all in file `file` (`FileId(0)` here).
fn assert_parser_spans(facts: &impl Debug, text: &str, parser: &str) -> usize {
    let spans = spans_in(&format!("{facts:?}"));
    for span in &spans {
        assert_eq!(span.0, 0, "{parser}: a span names another file");
        assert_span_fits(text, *span, parser);
    }
    spans.len()
}

/// Checks every span of the model and the findings against the file it names.
fn assert_spans_fit_workspace(ws: &Workspace, findings: &[Diagnostic]) {
    let debug = format!(
        "{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
        ws.apps,
        ws.services,
        ws.listeners,
        ws.env,
        ws.modules,
        ws.parse_errors,
        (
            &ws.template,
            &ws.compose_files,
            &ws.scripts,
            &ws.written_files,
            &ws.env_texts
        ),
        findings
    );
    for span in spans_in(&debug) {
        assert!(
            (span.0 as usize) < ws.sources.len(),
            "span names file {} of {}",
            span.0,
            ws.sources.len()
        );
        let file = ws.sources.get(FileId(span.0));
        assert_span_fits(&file.text, span, &file.path.display().to_string());
    }
}

/// Runs every parser on `text` (whatever kind of file it really is) and checks their spans.
/// Returns how many spans were checked.
fn parse_everything(text: &str) -> usize {
    let id = FileId(0);
    let tf = terraform::parse(id, text);
    let mut n = assert_parser_spans(&tf, text, "terraform");
    let module = terraform::TerraformModule::new(vec![tf]);
    n += assert_parser_spans(&module.files, text, "terraform module");
    let env = dotenv::parse(id, text);
    n += assert_parser_spans(&env, text, "dotenv");
    let vars = env.variables();
    let compose = compose::parse(id, text, &|name| vars.get(name).map(|v| v.to_string()));
    n += assert_parser_spans(&compose, text, "compose");
    let script = shell::parse_script(text, id, 0);
    n += assert_parser_spans(&script, text, "script");
    n
}

/// A small deterministic random generator (xorshift64*): the same seed gives the same cases,
/// so a failure names a seed that reproduces it.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Text that parsers treat specially: quotes, brackets, interpolations, heredocs, YAML
/// anchors and tags, line endings, a BOM, NUL and multi-byte characters.
#[rustfmt::skip]
const TOKENS: &[&str] = &[
    "\"", "'", "`", "\\", "{", "}", "[", "]", "(", ")", "${", "$${", "%{", "$(", "$", "=", "==",
    ":", ": ", "- ", "#", " #", "\n", "\r\n", "\r", "\t", "  ", "<<EOT\n", "<<-EOF\n", "EOT\n",
    "&a ", "*a", "<<: *a", "!!binary ", "---\n", "...\n", "?", "|\n", ">-\n", "\u{feff}", "\0",
    "é", "😀", "\u{2028}", "export ", "3210", "65536", "-1", "localhost:", "http://",
    "-----BEGIN PRIVATE KEY-----\n", "resource \"coder_app\" \"x\" {\n", "services:\n",
];

/// Applies 1 to 8 random edits to `text`: insert, delete, replace and duplicate bytes, insert
/// tokens, splice in lines of the other fixture files. The result is made valid UTF-8 the way
/// a reader would (`from_utf8_lossy`), which also brings in multi-byte replacement characters.
fn mutate(rng: &mut Rng, text: &str, corpus: &[(String, String)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    // Mostly one or two edits, sometimes up to eight.
    let most = 1 + rng.below(8);
    for _ in 0..1 + rng.below(most) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(7) {
            0 => bytes.insert(at, rng.next() as u8),
            1 => {
                let end = (at + 1 + rng.below(40)).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            2 => {
                if let Some(b) = bytes.get_mut(at) {
                    *b = rng.next() as u8;
                }
            }
            3 => {
                let end = (at + rng.below(80)).min(bytes.len());
                let copy = bytes[at.min(end)..end].to_vec();
                let to = rng.below(bytes.len() + 1);
                bytes.splice(to..to, copy);
            }
            4 => {
                let (_, other) = &corpus[rng.below(corpus.len())];
                let lines: Vec<&str> = other.split_inclusive('\n').collect();
                let start = rng.below(lines.len());
                let take = 1 + rng.below(4);
                let piece: String = lines.iter().skip(start).take(take).copied().collect();
                // Splice at a line start, where whole lines of another file would go.
                let line_start = bytes[..at]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(0, |i| i + 1);
                bytes.splice(line_start..line_start, piece.bytes());
            }
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())];
                bytes.splice(at..at, token.bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary folder")
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
    std::fs::write(dir.join(name), bytes).expect("write a test file");
}

fn errors_in<'a>(ws: &'a Workspace, findings: &'a [Diagnostic], path: &str) -> Vec<&'a Diagnostic> {
    findings
        .iter()
        .filter(|d| {
            d.severity == Severity::Error && ws.sources.path(d.primary.span) == Path::new(path)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Truncated files
// ---------------------------------------------------------------------------------------------

/// Every prefix (at a stride) of each fixture file, the other files intact: the model is built
/// and every rule runs on what could be read.
#[test]
fn truncated_fixture_files_never_panic() {
    let files = incident();
    let mut checks = 0;
    for (name, text) in &files {
        // About 80 cut points per file, always including 0 and the whole file.
        let stride = (text.len() / 80).max(1);
        let cuts = (0..text.len())
            .step_by(stride)
            .chain([text.len()])
            .filter(|&cut| text.is_char_boundary(cut));
        for cut in cuts {
            let inputs = files
                .iter()
                .map(|(n, t)| input(n, if n == name { &t[..cut] } else { t }))
                .collect();
            let (ws, _) = check(inputs);
            assert_eq!(ws.sources.len(), files.len(), "{name} cut at {cut}");
            checks += 1;
        }
    }
    assert!(checks > 300, "{checks} truncated workspaces checked");
}

/// `check --spec` with the incident's spec, every file cut at once at each fraction: the spec
/// rules' spans fit the files they name, the spec's included.
#[test]
fn a_cut_workspace_checked_against_its_spec_never_panics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("tests/fixtures/convex-spec/portolan.yaml"))
        .expect("the incident's spec");
    let mut sources = portolan::source::SourceMap::new();
    let loaded = portolan::spec::load(Path::new("portolan.yaml"), &text, &mut sources)
        .expect("the spec loads");
    let spec = portolan::check::SpecInput {
        dir: PathBuf::from("."),
        spec_file: "portolan.yaml".into(),
        spec: loaded.spec,
        text,
        render: Default::default(),
        recorded: false,
    };
    let files = incident();
    let mut found = 0;
    for percent in (0..=100).step_by(5) {
        let inputs = files
            .iter()
            .map(|(n, t)| {
                let mut cut = t.len() * percent / 100;
                while !t.is_char_boundary(cut) {
                    cut -= 1;
                }
                input(n, &t[..cut])
            })
            .collect();
        let knowledge = std::sync::Arc::new(Knowledge::builtin().clone());
        let (ws, findings) =
            portolan::check::check_files_with_spec(inputs, &spec, RULES, knowledge)
                .expect("the spec renders");
        assert_spans_fit_workspace(&ws, &findings);
        found += findings
            .iter()
            .filter(|d| d.rule == Some("spec-disagreement"))
            .count();
    }
    assert!(found > 0, "the whole incident disagrees with its spec");
}

/// All files cut at the same fraction: a half-written template.
#[test]
fn a_workspace_cut_everywhere_at_once_never_panics() {
    let files = incident();
    for percent in (0..=100).step_by(5) {
        let inputs = files
            .iter()
            .map(|(n, t)| {
                let mut cut = t.len() * percent / 100;
                while !t.is_char_boundary(cut) {
                    cut -= 1;
                }
                input(n, &t[..cut])
            })
            .collect();
        check(inputs);
    }
}

// ---------------------------------------------------------------------------------------------
// Binary files
// ---------------------------------------------------------------------------------------------

/// Random bytes, invalid UTF-8 and files over the size limit are reported as unreadable and
/// skipped; NUL bytes (valid UTF-8) are parsed like any text. The good `main.tf` beside them is still checked.
#[test]
fn binary_files_are_skipped_or_reported() {
    let mut rng = Rng::new(7);
    let dir = temp_dir();
    let d = dir.path();
    let main_tf = &incident()
        .into_iter()
        .find(|(n, _)| n == "main.tf")
        .expect("main.tf")
        .1;
    write(d, "main.tf", main_tf);
    let mut random = rng.bytes(4096);
    random[0] = 0xFF; // never valid UTF-8, whatever the seed
    write(d, "docker-compose.yml", &random);
    write(
        d,
        "random.env",
        rng.bytes(4096)
            .iter()
            .map(|b| b | 0x80)
            .collect::<Vec<u8>>(),
    );
    write(d, "latin1.sh", b"#!/bin/sh\necho caf\xe9 --port 3000\n");
    // `é` cut after its first byte.
    write(d, "truncated-utf8.tf", b"locals { a = \"\xc3\" }\n");
    write(
        d,
        "nul.tf",
        b"resource \"coder_app\" \"\0\" {\0\0 slug = \"x\0\"\n}\n\0\0\0",
    );
    write(d, ".env.nul", b"A=\0\0\nB\0=1\n\0\n");
    write(
        d,
        "compose.yaml",
        b"services:\n  a:\n    image: \"\0\"\n    ports: [\"\x003210:3210\"]\n",
    );
    write(d, "nul.sh", b"echo \0 --port \0 3000\n\0\0");
    write(d, "image.png", rng.bytes(1024));
    // Sparse: as large as the limit allows plus one byte, without writing 64 MiB.
    std::fs::File::create(d.join("huge.env"))
        .and_then(|f| f.set_len(MAX_FILE_BYTES + 1))
        .expect("a sparse file");

    let result = check_dir(d);
    let mut unreadable: Vec<String> = result
        .unreadable
        .iter()
        .map(|(p, why)| format!("{}: {why}", p.display()))
        .collect();
    unreadable.sort();
    assert_eq!(
        unreadable,
        [
            "docker-compose.yml: not UTF-8 text; skipped",
            "huge.env: larger than 64 MiB; skipped",
            "latin1.sh: not UTF-8 text; skipped",
            "random.env: not UTF-8 text; skipped",
            "truncated-utf8.tf: not UTF-8 text; skipped",
        ]
    );
    assert_eq!(result.workspaces.len(), 1);
    let (ws, findings) = &result.workspaces[0];
    // main.tf, nul.tf, .env.nul, compose.yaml and nul.sh; image.png is not a file portolan reads.
    assert_eq!(ws.sources.len(), 5);
    let slugs: Vec<&str> = ws.apps.iter().map(|a| a.slug.as_str()).collect();
    assert!(
        ["convex-api", "convex-site", "convex", "app"]
            .iter()
            .all(|s| slugs.contains(s)),
        "main.tf is still read: {slugs:?}"
    );
    assert!(
        !errors_in(ws, findings, "nul.tf").is_empty(),
        "NUL bytes in HCL are a syntax error"
    );
}

// ---------------------------------------------------------------------------------------------
// A large env file
// ---------------------------------------------------------------------------------------------

/// An env file of about `PORTOLAN_ROBUSTNESS_ENV_MB` (default 5) megabytes, every shape of line
/// in it. Returns the text, how many entries it sets and how many `KEY==value` lines it has.
fn large_env_file(megabytes: usize) -> (String, usize, usize) {
    let mut text = String::with_capacity(megabytes << 20);
    let (mut entries, mut double_equals) = (0, 0);
    let mut i = 0;
    while text.len() < megabytes << 20 {
        let line = match i % 10 {
            0 => "# a comment about the next lines\n".to_owned(),
            1 => format!("export SERVICE_{i}_PORT={}\n", 1024 + i % 60000),
            2 => format!(
                "SERVICE_{i}_URL=\"http://localhost:{}/path\"\n",
                1024 + i % 60000
            ),
            3 => format!("SERVICE_{i}_ORIGIN==https://app-{i}--ws--owner.coder.example.com\r\n"),
            4 => format!("SERVICE_{i}_NAME='single quoted ${{NOT_EXPANDED}}'\n"),
            5 => format!("SERVICE_{i}_MULTI=\"first line\nsecond line\"\n"),
            6 => "\n".to_owned(),
            7 => format!(
                "SERVICE_{i}_REF=${{SERVICE_{}_PORT:-3000}} # trailing comment\n",
                i - 6
            ),
            8 => "DUPLICATED=again\n".to_owned(),
            _ => format!("SERVICE_{i}_EMPTY=\n"),
        };
        entries += usize::from(!matches!(i % 10, 0 | 6));
        double_equals += usize::from(i % 10 == 3);
        text.push_str(&line);
        i += 1;
    }
    (text, entries, double_equals)
}

#[test]
fn a_large_env_file_is_checked_to_the_end() {
    let megabytes = std::env::var("PORTOLAN_ROBUSTNESS_ENV_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let (text, entries, double_equals) = large_env_file(megabytes);
    let dir = temp_dir();
    write(dir.path(), ".env", &text);

    let result = check_paths(
        &[dir.path().to_path_buf()],
        dir.path(),
        &CheckOptions::default(),
    )
    .expect("check runs");
    assert!(result.unreadable.is_empty());
    assert_eq!(result.files(), 1);
    let (ws, _findings) = &result.workspaces[0];
    let env = &ws.env_files().next().expect("the env file").env;
    assert_eq!(env.entries.len(), entries, "every assignment is read");
    assert_eq!(ws.env.len(), entries, "every assignment is in the model");
    let found = env
        .problems
        .iter()
        .filter(|p| p.kind == EnvProblemKind::DoubleEquals)
        .count();
    assert_eq!(found, double_equals, "every `KEY==value` line is found");
    let last = env.entries.last().expect("entries");
    assert!(
        last.line_span.end as usize >= text.len() - 64,
        "the last entry is near the end of the file"
    );
    assert_eq!(env.value("DUPLICATED"), Some("again"));
}

// ---------------------------------------------------------------------------------------------
// Deep nesting
// ---------------------------------------------------------------------------------------------

const DEEP: usize = 10_000;

/// YAML nested 10 000 levels deep (flow sequences, flow mappings, block mappings) is one error
/// in the compose file; the rest of the workspace is still read.
#[test]
fn deeply_nested_yaml_is_one_finding() {
    let main_tf = incident()
        .into_iter()
        .find(|(n, _)| n == "main.tf")
        .expect("main.tf")
        .1;
    let mut block = String::from("services:\n  a:\n");
    for depth in 0..DEEP {
        block.push_str(&" ".repeat(depth + 4));
        block.push_str("x:\n");
    }
    let cases = [
        format!(
            "services:\n  a:\n    labels: {}{}\n",
            "[".repeat(DEEP),
            "]".repeat(DEEP)
        ),
        format!(
            "services:\n  a:\n    labels: {}1{}\n",
            "{a: ".repeat(DEEP),
            "}".repeat(DEEP)
        ),
        format!("services: {}\n", "{a: [".repeat(DEEP / 2)),
        format!(
            "x: &a [{}]\nservices:\n  a: {{labels: [*a, *a, *a]}}\n",
            "[".repeat(DEEP)
        ),
        block,
    ];
    for (i, yaml) in cases.iter().enumerate() {
        let (ws, findings) = check(vec![
            input("main.tf", &main_tf),
            input("compose.yaml", yaml),
        ]);
        let errors = errors_in(&ws, &findings, "compose.yaml");
        assert_eq!(
            errors.len(),
            1,
            "case {i}: one error for the compose file: {errors:?}"
        );
        assert_eq!(ws.apps.len(), 4, "case {i}: main.tf is still read");
    }
}

/// Deep nesting in the other file kinds: HCL brackets and parentheses, shell substitutions and
/// `if`s, nested `${A:-${B:-...}}` defaults in env and compose values.
#[test]
fn deep_nesting_in_hcl_shell_and_interpolation_never_panics() {
    let nested_default = format!("{}x{}", "${A:-".repeat(DEEP), "}".repeat(DEEP));
    let cases = [
        (
            "main.tf",
            format!(
                "locals {{\n  a = {}1{}\n}}\n",
                "[".repeat(DEEP),
                "]".repeat(DEEP)
            ),
        ),
        (
            "main.tf",
            format!(
                "locals {{\n  a = {}1{}\n}}\n",
                "(".repeat(DEEP),
                ")".repeat(DEEP)
            ),
        ),
        (
            "main.tf",
            format!("locals {{\n  a = \"{}\"\n}}\n", "${\"".repeat(DEEP / 10)),
        ),
        (
            "main.tf",
            format!(
                "resource \"coder_agent\" \"a\" {{\n  startup_script = <<-EOT\n{}\n  EOT\n}}\n",
                "$(".repeat(DEEP)
            ),
        ),
        (
            "start.sh",
            format!("{}echo hi{}\n", "$(".repeat(DEEP), ")".repeat(DEEP)),
        ),
        (
            "start.sh",
            format!(
                "{}echo hi\n{}",
                "if true; then\n".repeat(DEEP),
                "fi\n".repeat(DEEP)
            ),
        ),
        ("start.sh", format!("echo \"{nested_default}\"\n")),
        (
            ".env",
            format!("A={nested_default}\nB=\"{nested_default}\"\n"),
        ),
        (
            "compose.yaml",
            format!("services:\n  a:\n    image: \"{nested_default}\"\n"),
        ),
    ];
    for (name, text) in cases {
        let (ws, _) = check(vec![input(name, &text)]);
        assert_eq!(ws.sources.len(), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// HCL portolan does not know
// ---------------------------------------------------------------------------------------------

const UNKNOWN_HCL: &str = r#"
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
    coder = { source = "coder/coder" }
  }
}

provider "aws" {
  region = var.region
  default_tags { tags = { Owner = "platform" } }
}

variable "region" { default = "eu-west-1" }
variable "ports" {
  type    = list(number)
  default = [3000, 3001]
  validation {
    condition     = alltrue([for p in var.ports : p > 1024])
    error_message = "Ports must be above 1024."
  }
}

locals {
  api_port = 3000 + 10
  names    = [for i, p in var.ports : "svc-${i}" if p > 3000]
  by_id    = { for s in aws_instance.web[*].id : s => upper(s)... }
  ips      = aws_instance.web.*.private_ip
  first    = aws_instance.web[0].private_ip
  subnet   = cidrsubnet(var.vpc_cidr, 8, 2)
  account  = provider::aws::arn_parse("arn:aws:iam::123456789012:role/x").account_id
  maybe    = var.region == "x" ? null : try(tonumber("3"), 0)
  nested   = flatten([for k, v in { a = [1], b = [2] } : [for x in v : "${k}-${x}"]])
  config   = <<-EOT
    %{ for p in var.ports ~}
    listen ${p}
    %{ endfor ~}
    %{ if var.region != "" }region ${var.region}%{ else }none%{ endif }
  EOT
}

data "aws_ami" "ubuntu" {
  most_recent = true
  filter {
    name   = "name"
    values = ["ubuntu/images/*"]
  }
}

resource "aws_instance" "web" {
  count         = length(var.ports)
  ami           = data.aws_ami.ubuntu.id
  instance_type = "t3.micro"
  user_data     = templatefile("${path.module}/cloud-init.yaml.tftpl", { port = var.ports[count.index] })

  dynamic "ebs_block_device" {
    for_each = toset(["/dev/sdb", "/dev/sdc"])
    iterator = dev
    content {
      device_name = dev.value
      volume_size = 10
    }
  }

  lifecycle {
    ignore_changes        = [tags, user_data]
    create_before_destroy = true
    precondition {
      condition     = self.instance_type != ""
      error_message = "x"
    }
  }
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.1.0"
  azs     = slice(data.aws_availability_zones.all.names, 0, 2)
}

check "health" {
  assert {
    condition     = length(aws_instance.web) > 0
    error_message = "no instances"
  }
}

import {
  to = aws_instance.web[0]
  id = "i-0123456789"
}

moved {
  from = aws_instance.old
  to   = aws_instance.web[0]
}

output "urls" {
  value     = [for ip in aws_instance.web[*].public_ip : "http://${ip}:${local.api_port}"]
  sensitive = false
}

resource "coder_agent" "main" {
  os   = "linux"
  arch = "amd64"
  env  = { for k, v in { A = "1" } : k => v }
}

resource "coder_app" "api" {
  agent_id = coder_agent.main.id
  slug     = "api"
  url      = "http://localhost:${local.api_port}"
}
"#;

/// Blocks and functions from other providers, for expressions, splats, dynamic blocks, template
/// directives and provider functions: read without errors, and the Coder parts still found.
#[test]
fn unknown_hcl_is_read_and_the_coder_parts_are_found() {
    let (ws, findings) = check(vec![input("main.tf", UNKNOWN_HCL)]);
    assert!(
        ws.parse_errors.is_empty(),
        "valid HCL: {:?}",
        ws.parse_errors
    );
    assert!(
        findings.iter().all(|d| d.rule.is_some()),
        "only rule findings, no read errors: {findings:?}"
    );
    let api = ws.app("api").expect("the coder_app is found");
    assert_eq!(api.url.as_ref().and_then(|u| u.port), Some(3010));
}

/// Every prefix of that file, too.
#[test]
fn truncated_unknown_hcl_never_panics() {
    for cut in (0..UNKNOWN_HCL.len()).step_by(23) {
        check(vec![input("main.tf", &UNKNOWN_HCL[..cut])]);
    }
}

// ---------------------------------------------------------------------------------------------
// One broken file among good ones
// ---------------------------------------------------------------------------------------------

/// A compose file that does not parse is one error at the problem; `main.tf` beside it still
/// gives its agent, apps and ports, and the env files are still read.
#[test]
fn a_broken_compose_file_is_one_finding_and_the_rest_is_still_checked() {
    let dir = temp_dir();
    for (name, text) in incident() {
        if name.ends_with(".yml") {
            continue;
        }
        write(dir.path(), &name, text);
    }
    let broken = "services:\n  convex-backend:\n    image: x\n    ports: [\"3210:3210\"\n  convex-dashboard: {\n";
    write(dir.path(), "docker-compose.yml", broken);

    let result = check_dir(dir.path());
    assert_eq!(result.workspaces.len(), 1);
    let (ws, findings) = &result.workspaces[0];
    let errors = errors_in(ws, findings, "docker-compose.yml");
    assert_eq!(
        errors.len(),
        1,
        "one finding for the broken file: {errors:?}"
    );
    let line = ws.sources.resolve(errors[0].primary.span).0.line;
    assert!(
        (4..=6).contains(&line),
        "the error points near the unclosed list, not line {line}"
    );

    let ports: Vec<(&str, Option<u16>)> = ws
        .apps
        .iter()
        .map(|a| (a.slug.as_str(), a.url.as_ref().and_then(|u| u.port)))
        .collect();
    assert_eq!(
        ports,
        [
            ("convex-api", Some(3210)),
            ("convex-site", Some(3212)),
            ("convex", Some(6791)),
            ("app", Some(5173))
        ]
    );
    assert!(
        ws.env.iter().any(|e| e.name == "CONVEX_SITE_URL"),
        "env files are read"
    );
    assert!(
        ws.listeners.iter().any(|l| l.port == 5173),
        "the agent's startup script is read"
    );
}

// ---------------------------------------------------------------------------------------------
// Random mutations through every parser
// ---------------------------------------------------------------------------------------------

/// Mutated fixture files, each given to all four parsers (a compose file read as HCL, a script
/// read as YAML, ...): no panic, and every span within the text and on char boundaries. The
/// corpus is the incident fixture plus the unknown HCL above. A failure prints its seed; rerun
/// one case with `PORTOLAN_SEED=<seed>`.
#[test]
fn mutated_files_never_panic_any_parser() {
    let mut corpus = incident();
    corpus.push(("unknown.tf".to_owned(), UNKNOWN_HCL.to_owned()));
    let mut spans = 0;
    for (_, text) in &corpus {
        spans += parse_everything(text);
    }
    assert!(
        spans > 100,
        "the unmutated fixtures give spans to check ({spans})"
    );

    let seeds: Vec<u64> = match std::env::var("PORTOLAN_SEED") {
        Ok(seed) => vec![seed.parse().expect("PORTOLAN_SEED is a number")],
        Err(_) => (0..600).collect(),
    };
    for seed in seeds {
        let mut rng = Rng::new(seed);
        let (name, text) = &corpus[seed as usize % corpus.len()];
        let mutated = mutate(&mut rng, text, &corpus);
        let outcome = std::panic::catch_unwind(|| parse_everything(&mutated));
        assert!(
            outcome.is_ok(),
            "seed {seed} ({name}) panicked; input:\n{mutated:?}"
        );
    }
}

/// Mutated files in a whole workspace, through the model and every rule.
#[test]
fn mutated_workspaces_never_panic_check() {
    let corpus = incident();
    for seed in 1000..1150u64 {
        let mut rng = Rng::new(seed);
        let target = seed as usize % corpus.len();
        let inputs: Vec<InputFile> = corpus
            .iter()
            .enumerate()
            .map(|(i, (n, t))| {
                let text = if i == target {
                    mutate(&mut rng, t, &corpus)
                } else {
                    t.clone()
                };
                input(n, &text)
            })
            .collect();
        let shown = inputs[target].text.clone();
        let outcome = std::panic::catch_unwind(|| check(inputs));
        assert!(
            outcome.is_ok(),
            "seed {seed} ({}) panicked; input:\n{shown:?}",
            corpus[target].0
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Special files: ignore files, FIFOs and symbolic links
// ---------------------------------------------------------------------------------------------

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// `check_dir` in a thread: a walk that hangs (on a FIFO) fails the test instead of hanging it.
fn check_dir_or_hang(dir: &Path) -> CheckResult {
    let dir = dir.to_path_buf();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(check_dir(&dir));
    });
    receive
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("check finishes (a FIFO or endless file must not hang it)")
}

/// What the walk skipped, as `path: why`, sorted.
fn skipped(result: &CheckResult) -> Vec<String> {
    let mut out: Vec<String> = result
        .skipped
        .iter()
        .map(|(p, why)| format!("{}: {why}", p.display()))
        .collect();
    out.sort();
    out
}

/// A `.gitignore` linked to `/dev/zero` and a FIFO `.ignore` are not read: check finishes, says
/// so, and their patterns do not apply; a regular `.gitignore` beside them still does.
#[test]
fn ignore_files_that_are_not_regular_files_are_skipped_and_said() {
    let dir = temp_dir();
    let d = dir.path();
    write(d, "start.sh", "echo hi\n");
    std::os::unix::fs::symlink("/dev/zero", d.join(".gitignore")).expect("symlink");
    std::fs::create_dir(d.join("fifo")).expect("folder");
    mkfifo(&d.join("fifo/.ignore"));
    write(d, "fifo/start.sh", "echo hi\n");
    std::fs::create_dir(d.join("zero")).expect("folder");
    std::os::unix::fs::symlink("/dev/zero", d.join("zero/.ignore")).expect("symlink");
    mkfifo(&d.join("zero/.gitignore"));
    write(d, "zero/start.sh", "echo hi\n");
    std::fs::create_dir(d.join("plain")).expect("folder");
    write(d, "plain/.gitignore", "ignored.sh\n");
    write(d, "plain/ignored.sh", "echo hi\n");
    write(d, "plain/kept.sh", "echo hi\n");
    // Over the size limit: a sparse regular file.
    std::fs::create_dir(d.join("big")).expect("folder");
    std::fs::File::create(d.join("big/.gitignore"))
        .and_then(|f| f.set_len(portolan::check::MAX_IGNORE_BYTES + 1))
        .expect("a sparse file");

    let result = check_dir_or_hang(d);
    assert_eq!(
        skipped(&result),
        [
            ".gitignore: not a regular file; its patterns are not applied",
            "big/.gitignore: larger than 1024 KiB; its patterns are not applied",
            "fifo/.ignore: not a regular file; its patterns are not applied",
            "zero/.gitignore: not a regular file; its patterns are not applied",
            "zero/.ignore: not a regular file; its patterns are not applied",
        ]
    );
    let mut paths: Vec<String> = result.workspaces[0]
        .0
        .sources
        .files()
        .map(|(_, f)| f.path.display().to_string())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "fifo/start.sh",
            "plain/kept.sh",
            "start.sh",
            "zero/start.sh"
        ]
    );
    // The report says it too, as warnings on the skipped files.
    let (sources, findings) = result.merged();
    let said: Vec<String> = findings
        .iter()
        .filter(|d| d.severity == Severity::Warning && d.rule.is_none())
        .map(|d| format!("{}: {}", sources.path(d.primary.span).display(), d.message))
        .collect();
    assert!(
        said.contains(
            &"fifo/.ignore: not checked: not a regular file; its patterns are not applied"
                .to_owned()
        ),
        "{said:?}"
    );
}

/// Links to regular files inside the checked folder are checked under the link's name; links
/// out of the folder, to folders, to FIFOs, broken links and link loops are skipped and said.
#[test]
fn symbolic_links_are_followed_inside_the_folder_and_said_otherwise() {
    let outside = temp_dir();
    write(outside.path(), "secret.sh", "echo outside\n");
    let dir = temp_dir();
    let d = dir.path();
    std::fs::create_dir(d.join("real")).expect("folder");
    write(d, "real/start.sh", "echo hi --port 3000\n");
    mkfifo(&d.join("real/pipe"));
    std::fs::create_dir(d.join("links")).expect("folder");
    let link = |target: &Path, name: &str| {
        std::os::unix::fs::symlink(target, d.join("links").join(name)).expect("symlink")
    };
    link(Path::new("../real/start.sh"), "inside.sh");
    link(&outside.path().join("secret.sh"), "outside.sh");
    link(Path::new("../real"), "folder");
    link(outside.path(), "outside-folder");
    link(Path::new("../real/pipe"), "pipe.sh");
    link(Path::new("missing.sh"), "broken.sh");
    link(Path::new("loop-b.sh"), "loop-a.sh");
    link(Path::new("loop-a.sh"), "loop-b.sh");
    link(Path::new("../real/start.sh"), "README.md");
    mkfifo(&d.join("fifo.sh"));

    let result = check_dir_or_hang(d);
    let mut paths: Vec<String> = result.workspaces[0]
        .0
        .sources
        .files()
        .map(|(_, f)| f.path.display().to_string())
        .collect();
    paths.sort();
    assert_eq!(paths, ["links/inside.sh", "real/start.sh"]);
    let said = skipped(&result);
    let reasons: Vec<&str> = said
        .iter()
        .map(|s| s.split_once(": ").map_or("", |(p, _)| p))
        .collect();
    assert_eq!(
        reasons,
        [
            "fifo.sh",
            "links/broken.sh",
            "links/folder",
            "links/loop-a.sh",
            "links/loop-b.sh",
            "links/outside-folder",
            "links/outside.sh",
            "links/pipe.sh",
        ],
        "{said:#?}"
    );
    assert!(said.contains(
        &"links/outside.sh: a symbolic link to a file outside the checked folder; skipped"
            .to_owned()
    ));
    assert!(said
        .contains(&"fifo.sh: not a regular file (a FIFO, socket or device); skipped".to_owned()));
}

/// A folder that holds only links to files outside it: nothing is read, so the check cannot
/// pass (exit 2), and the error says why each file was not read instead of "no problems in 0
/// files".
#[test]
fn a_folder_of_links_out_of_it_is_said() {
    let dir = temp_dir();
    write(dir.path(), "start.sh", "echo hi\n");
    std::fs::create_dir(dir.path().join("links")).expect("folder");
    std::os::unix::fs::symlink("../start.sh", dir.path().join("links/start.sh")).expect("symlink");
    let links = dir.path().join("links");
    let error = check_paths(
        std::slice::from_ref(&links),
        &links,
        &CheckOptions::default(),
    )
    .expect_err("nothing to check");
    assert!(error.starts_with("no file to check in `"), "{error}");
    assert!(
        error.contains("\n  not checked: start.sh: a symbolic link to a file outside the checked folder; skipped"),
        "{error}"
    );
}

/// The ignore files of the folders above the checked one apply up to the repository root, as
/// git applies them.
#[test]
fn ignore_files_above_the_checked_folder_apply_within_the_repository() {
    let dir = temp_dir();
    let d = dir.path();
    std::fs::create_dir_all(d.join("repo/.git")).expect("folder");
    std::fs::create_dir_all(d.join("repo/sub")).expect("folder");
    write(d, ".gitignore", "kept.sh\n"); // above the repository: not applied
    write(d, "repo/.gitignore", "/sub/generated.sh\n");
    write(d, "repo/sub/generated.sh", "echo hi\n");
    write(d, "repo/sub/kept.sh", "echo hi\n");
    let sub = d.join("repo/sub");
    let result =
        check_paths(std::slice::from_ref(&sub), &sub, &CheckOptions::default()).expect("check");
    let paths: Vec<String> = result.workspaces[0]
        .0
        .sources
        .files()
        .map(|(_, f)| f.path.display().to_string())
        .collect();
    assert_eq!(paths, ["kept.sh"]);
    assert!(result.skipped.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Port ranges
// ---------------------------------------------------------------------------------------------

/// `"1-65535:1-65535"` on 8 lines (1 KB) is 8 facts and at most one finding per line (it used
/// to be 65,534 findings per line): the first line publishes ports nothing listens on, the
/// other seven publish host ports the first already publishes.
#[test]
fn a_published_port_range_is_one_fact_and_one_finding() {
    let compose = format!(
        "services:\n  a:\n    image: nginx\n    ports:\n{}",
        "      - \"1-65535:1-65535\"\n".repeat(8)
    );
    let (ws, findings) = check(vec![input("docker-compose.yml", &compose)]);
    assert_eq!(ws.services[0].published.len(), 8);
    let mut per_line = std::collections::BTreeMap::new();
    for d in &findings {
        let line = ws.sources.resolve(d.primary.span).0.line;
        per_line
            .entry(line)
            .or_insert_with(Vec::new)
            .push(d.rule.unwrap_or("-"));
    }
    let lines: Vec<u32> = per_line.keys().copied().collect();
    assert_eq!(lines, (5..=12).collect::<Vec<u32>>(), "{per_line:?}");
    assert!(
        per_line.values().all(|rules| rules.len() == 1),
        "{per_line:?}"
    );
    assert_eq!(per_line[&5], ["published-port-without-listener"]);
    assert!((6..=12).all(|l| per_line[&l] == ["host-port-published-twice"]));
}

// ---------------------------------------------------------------------------------------------
// Hostile shapes (timed in `benches/check.rs`, phase 4; here only what they produce)
// ---------------------------------------------------------------------------------------------

/// Text that made a parser or rule superlinear gives a bounded number of findings, each file on
/// its own, and the good file beside them is still checked.
#[test]
fn hostile_text_gives_a_bounded_number_of_findings() {
    let shapes: Vec<(&str, String)> = vec![
        ("parens.sh", "(()".repeat(10_000)),
        ("dollar.sh", "\"${".repeat(10_000)),
        ("braces.sh", "{".repeat(100_000)),
        (
            "rescan.sh",
            format!("{}{}\n", "(()".repeat(900), ")".repeat(900)).repeat(4),
        ),
        ("errors.sh", "echo )\n".repeat(1_000)),
        (".env", format!("A={}\n", "${a}".repeat(20_000))),
    ];
    let mut files: Vec<InputFile> = shapes.iter().map(|(n, t)| input(n, t)).collect();
    files.push(input("good.sh", "echo ok )\n"));
    let (ws, findings) = check(files);
    for (name, _) in &shapes {
        let count = findings
            .iter()
            .filter(|d| ws.sources.path(d.primary.span) == Path::new(name))
            .count();
        assert!(
            (1..=shell::MAX_SYNTAX_ERRORS).contains(&count),
            "{name}: {count} findings"
        );
    }
    assert!(findings
        .iter()
        .any(|d| ws.sources.path(d.primary.span) == Path::new("good.sh")));
}
