//! Benchmark of `portolan check` (issue 3, "A benchmark"). Run with `cargo bench --bench check`.
//!
//! Phases, one table row each (runs, median, p95, peak memory):
//! 1. **one folder**: `check_paths` on `tests/fixtures/convex-incident/`, many times, and a
//!    breakdown of where one check spends its time (walk and read, knowledge base, each parser,
//!    model, rules, suppressions);
//! 2. **1,000 folders**: a generated tree of template folders (copies of the incident fixture
//!    with shifted ports and renamed slugs, so rules have work; every third also starts servers
//!    from `templatefile()` scripts, its own and a local module's), `check_paths` on the whole tree
//!    against `terraform fmt -check -recursive` on the same tree, interleaved so both see the
//!    same machine load; the ratio is printed (skipped with a note when terraform is missing);
//! 3. **50 MB env file**: `dotenv::parse` alone, the model built from it, and `check_paths` on
//!    a folder holding it;
//! 4. **hostile inputs** (issue 7): each shape that used to be superlinear (compose port ranges,
//!    `(()` and `"${` and `{` runs in a script, shell error recovery that rescans the file, an env
//!    line of `${a}` repeated, a `.tf` of tens of thousands of apps), at two sizes, one twice the
//!    other: `check_paths` on a folder holding only that file, then the human report of its
//!    findings. The time ratio of the two sizes shows linearity (about 2); the peak memory is
//!    shown against the input size.
//!
//! Memory: `VmRSS` when a phase starts and `VmHWM` (peak) when it ends, from `/proc/self/status`;
//! the peak is reset before each phase by writing `5` to `/proc/self/clear_refs` (when the kernel
//! refuses, it is the peak so far). The `terraform` child process is not measured.
//! A plain binary (`harness = false`), no criterion: the dependency tree stays lean. Set
//! `PORTOLAN_BENCH_QUICK=1` for fewer runs (and hostile inputs a quarter the size),
//! `PORTOLAN_BENCH_ENV_MB=N` for another env file size, `PORTOLAN_BENCH_PHASES=hostile` to run the
//! hostile-inputs phase alone, `PORTOLAN_BENCH_PHASES=tree` the 1,000-folder phase alone.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use portolan::check::{check_files, check_paths, classify, CheckOptions, CheckResult};
use portolan::knowledge::Knowledge;
use portolan::model::build::{self, InputFile};
use portolan::model::FileKind;
use portolan::parse::{compose, dotenv, shell, terraform};
use portolan::rules::{self, RULES};
use portolan::source::FileId;

const FIXTURE: &str = "tests/fixtures/convex-incident";
const FOLDERS: usize = 1_000;
/// Size of the generated env file; `PORTOLAN_BENCH_ENV_MB` overrides it.
const ENV_MEGABYTES: usize = 50;
/// The ports of the incident fixture; each generated folder shifts them all by one offset.
const PORTS: &[u16] = &[3210, 3211, 3212, 6791, 5173];

fn main() {
    let quick = std::env::var_os("PORTOLAN_BENCH_QUICK").is_some();
    let runs = |full: usize| {
        if quick {
            full.div_ceil(10).max(2)
        } else {
            full
        }
    };
    let env_mb: usize = std::env::var("PORTOLAN_BENCH_ENV_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(ENV_MEGABYTES);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let mut table = Table::default();

    println!("portolan check benchmark ({} build)", build_kind());
    println!("cores: {}", cores());
    println!(
        "peak RSS: {}",
        if reset_peak_memory() {
            "reset before each phase"
        } else {
            "cannot be reset here: each figure is the peak so far"
        }
    );
    println!();

    let phases = std::env::var("PORTOLAN_BENCH_PHASES").unwrap_or_default();
    if phases == "hostile" {
        hostile_inputs(quick, runs(5));
        return;
    }
    if phases == "tree" {
        let (ours, theirs, fmt_status, tree) = tree_phase(&fixture, runs(5), &mut table);
        table.print();
        println!();
        print_tree_aim(&ours, &theirs, fmt_status, tree);
        return;
    }

    // 1. One workspace folder.
    let before = start_phase();
    let one = time(runs(500), || check(&fixture));
    let files = check(&fixture).map(|r| r.files()).unwrap_or(0);
    table.row(&format!("one folder ({files} files)"), &one, memory(before));
    let breakdown = breakdown(&fixture, runs(500));

    // 2. A tree of 1,000 template folders.
    let (ours, theirs, fmt_status, tree) = tree_phase(&fixture, runs(5), &mut table);

    // 3. A large env file.
    let env_dir = tempfile::tempdir().expect("a temporary folder");
    let text = large_env_file(env_mb);
    let env_path = env_dir.path().join(".env");
    std::fs::write(&env_path, &text).expect("write the env file");
    let before = start_phase();
    let parse = time(runs(5), || dotenv::parse(FileId(0), &text));
    table.row(
        &format!("{env_mb} MB env file: parse"),
        &parse,
        memory(before),
    );
    let entries = dotenv::parse(FileId(0), &text).entries.len();
    let env_input = InputFile {
        path: PathBuf::from(".env"),
        text: text.clone(),
        kind: FileKind::EnvFile,
    };
    let before = start_phase();
    let env_build = time(runs(3), || {
        build::build(vec![env_input.clone()], Knowledge::builtin().clone())
    });
    table.row(
        &format!("{env_mb} MB env file: build model"),
        &env_build,
        memory(before),
    );
    drop(env_input);
    let env_root = env_dir.path().to_path_buf();
    let before = start_phase();
    let env_check = time(runs(3), || check(&env_root));
    table.row(
        &format!("{env_mb} MB env file: check"),
        &env_check,
        memory(before),
    );

    table.print();
    println!();
    println!("Aims (issue 3):");
    let one_ms = ms(median(&one));
    println!(
        "  one folder under 5 ms: median {one_ms:.3} ms, p95 {:.3} ms -> {}",
        ms(p95(&one)),
        if one_ms < 5.0 { "met" } else { "MISSED" }
    );
    print_tree_aim(&ours, &theirs, fmt_status, tree);
    println!(
        "  env file: {:.1} MB, {entries} entries, parse {:.0} MB/s",
        text.len() as f64 / 1e6,
        text.len() as f64 / 1e6 / median(&parse).as_secs_f64()
    );
    println!();
    breakdown.print();
    println!();
    hostile_inputs(quick, runs(5));
}

// ---------------------------------------------------------------------------------------------
// Hostile inputs
// ---------------------------------------------------------------------------------------------

/// One hostile shape: its file name and its text at a size (`n` repetitions).
struct Shape {
    name: &'static str,
    file: &'static str,
    /// Repetitions at the smaller size (the larger is twice as many).
    n: usize,
    text: fn(usize) -> String,
    /// Other files beside it, at the same size.
    more: fn(usize) -> Vec<(&'static str, String)>,
}

fn alone(_: usize) -> Vec<(&'static str, String)> {
    Vec::new()
}

fn hostile_shapes(quick: bool) -> Vec<Shape> {
    let scale = |n: usize| if quick { n / 4 } else { n };
    vec![
        Shape {
            name: "compose \"1-65535:1-65535\" lines",
            file: "docker-compose.yml",
            n: 8,
            text: |n| {
                format!(
                    "services:\n  a:\n    image: nginx\n    ports:\n{}",
                    "      - \"1-65535:1-65535\"\n".repeat(n)
                )
            },
            more: alone,
        },
        Shape {
            name: "script `(()` x",
            file: "x.sh",
            n: scale(10_000),
            text: |n| "(()".repeat(n),
            more: alone,
        },
        Shape {
            name: "script (`(()` x900 `)` x900) lines x",
            file: "x.sh",
            n: scale(40).max(2),
            text: |n| format!("{}{}\n", "(()".repeat(900), ")".repeat(900)).repeat(n),
            more: alone,
        },
        Shape {
            name: "script `\"${` x",
            file: "x.sh",
            n: scale(100_000),
            text: |n| "\"${".repeat(n),
            more: alone,
        },
        Shape {
            name: "script `{` x",
            file: "x.sh",
            n: scale(3_000_000),
            text: |n| "{".repeat(n),
            more: alone,
        },
        Shape {
            name: "script `echo )` lines x",
            file: "x.sh",
            n: scale(12_500),
            text: |n| "echo )\n".repeat(n),
            more: alone,
        },
        Shape {
            name: "env `${a}` x",
            file: ".env",
            n: scale(20_000),
            text: |n| format!("A={}\n", "${a}".repeat(n)),
            more: alone,
        },
        Shape {
            name: "env `${aN}` (distinct) x",
            file: ".env",
            n: scale(20_000),
            text: |n| {
                let refs: String = (0..n).map(|i| format!("${{a{i}}}")).collect();
                format!("A={refs}\n")
            },
            more: alone,
        },
        Shape {
            name: "compose ports, script listeners, .tf apps x",
            file: "docker-compose.yml",
            n: scale(10_000),
            text: |n| {
                let ports: String = (0..n)
                    .map(|i| format!("      - \"{}:80\"\n", 30_000 + i))
                    .collect();
                format!("services:\n  a:\n    image: nginx\n    ports:\n{ports}")
            },
            more: |n| {
                let listeners: String = (0..n)
                    .map(|i| format!("npx next dev -p {} &\n", 1025 + i))
                    .collect();
                let apps: String = (0..n)
                    .map(|i| {
                        format!(
                            "resource \"coder_app\" \"a{i}\" {{\n  agent_id = coder_agent.main.id\n  slug     = \"s{i}\"\n  url      = \"http://localhost:{}\"\n}}\n",
                            1024 + i
                        )
                    })
                    .collect();
                vec![("start.sh", listeners), ("main.tf", apps)]
            },
        },
        Shape {
            name: "compose `S-65535` ranges (a service each), .tf apps x",
            file: "docker-compose.yml",
            n: scale(2_000),
            text: |n| {
                let services: String = (0..n)
                    .map(|i| {
                        let s = 1000 + i;
                        format!("  s{i}: {{image: \"example/x:1\", ports: [\"{s}-65535:{s}-65535\"]}}\n")
                    })
                    .collect();
                format!("services:\n{services}")
            },
            more: |n| {
                let apps: String = (0..n)
                    .map(|a| {
                        format!(
                            "resource \"coder_app\" \"a{a}\" {{\n  slug = \"a{a}\"\n  url  = \"http://localhost:{}\"\n}}\n",
                            a * 7 + 100
                        )
                    })
                    .collect();
                vec![("main.tf", apps)]
            },
        },
        Shape {
            name: ".tf coder_app blocks x",
            file: "main.tf",
            n: scale(34_000),
            text: |n| {
                (0..n)
                    .map(|i| {
                        format!(
                            "resource \"coder_app\" \"a{i}\" {{\n  agent_id = coder_agent.main.id\n  slug     = \"s{}\"\n  url      = \"http://localhost:{}\"\n}}\n",
                            i % (n / 2).max(1),
                            1024 + i % 60_000
                        )
                    })
                    .collect()
            },
            more: alone,
        },
    ]
}

/// Phase 4: each hostile shape at two sizes.
fn hostile_inputs(quick: bool, runs: usize) {
    let mut table = Table::default();
    let mut ratios = Vec::new();
    for shape in hostile_shapes(quick) {
        let mut medians = Vec::new();
        for n in [shape.n, shape.n * 2] {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let mut text = (shape.text)(n);
            std::fs::write(dir.path().join(shape.file), &text).expect("write the file");
            for (name, more) in (shape.more)(n) {
                std::fs::write(dir.path().join(name), &more).expect("write the file");
                text.push_str(&more); // counted in the input's size
            }
            let root = dir.path().to_path_buf();
            let before = start_phase();
            let mut findings = 0;
            let times = time(runs, || {
                let result = check(&root).expect("check runs");
                let (sources, found) = result.merged();
                findings = found.len();
                let metas = rules::metas();
                let report = portolan::report::Report {
                    findings: &found,
                    sources: &sources,
                    files_checked: sources.len(),
                    rules: &metas,
                    read_although_ignored: &[],
                    root: None,
                };
                let mut out = std::io::sink();
                portolan::report::write(portolan::report::Format::Human, &report, false, &mut out)
                    .expect("write the report");
            });
            let used = memory(before);
            table.row(
                &format!(
                    "{}{n} ({}, {findings} findings)",
                    shape.name,
                    size(text.len())
                ),
                &times,
                used,
            );
            medians.push((median(&times), text.len(), used));
        }
        ratios.push((shape.name, shape.n, medians));
    }
    println!("Hostile inputs (issue 7): check + human report of one folder, two sizes");
    table.print();
    println!();
    println!("Time at twice the size / time at the size (about 2 when linear):");
    println!("(the memory figure is the peak above the RSS the phase started from; freed heap is");
    println!("not always returned, so a small input can show 0x after a large one)");
    for (name, n, medians) in ratios {
        let [(small, _, _), (large, bytes, memory)] = medians[..] else {
            continue;
        };
        // What the run added to the resident set, against the input's size.
        let grown = match (memory.before, memory.peak) {
            (Some(before), Some(peak)) => {
                format!(
                    "{:.1}x",
                    (peak.saturating_sub(before) * 1024) as f64 / bytes as f64
                )
            }
            _ => "-".to_owned(),
        };
        println!(
            "  {:<44} {:>6.2}  (peak RSS growth / input at the larger size: {grown})",
            format!("{name}{n}"),
            ms(large) / ms(small).max(0.001)
        );
    }
}

fn size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.0} KB", bytes as f64 / 1e3)
    }
}

/// `portolan check DIR` with default options, paths relative to `DIR`.
fn check(dir: &Path) -> Result<CheckResult, String> {
    check_paths(&[dir.to_path_buf()], dir, &CheckOptions::default())
}

// ---------------------------------------------------------------------------------------------
// Timing and memory
// ---------------------------------------------------------------------------------------------

/// Runs `f` a few times to warm caches, then `runs` times, and returns each run's duration.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Vec<Duration> {
    for _ in 0..(runs / 10).clamp(1, 20) {
        black_box(f());
    }
    (0..runs).map(|_| timed(&mut f)).collect()
}

fn timed<T>(mut f: impl FnMut() -> T) -> Duration {
    let started = Instant::now();
    black_box(f());
    started.elapsed()
}

fn sorted(runs: &[Duration]) -> Vec<Duration> {
    let mut sorted = runs.to_vec();
    sorted.sort();
    sorted
}

fn median(runs: &[Duration]) -> Duration {
    sorted(runs)
        .get(runs.len() / 2)
        .copied()
        .unwrap_or_default()
}

/// The 95th percentile (nearest rank).
fn p95(runs: &[Duration]) -> Duration {
    let rank = (runs.len() * 95).div_ceil(100).max(1);
    sorted(runs).get(rank - 1).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Resident memory of one phase, in KiB: before it started, and its peak.
#[derive(Default, Clone, Copy)]
struct Memory {
    before: Option<u64>,
    peak: Option<u64>,
}

/// Resets the peak resident set size (`VmHWM`) where the kernel allows it, and returns the
/// resident size now (`VmRSS`). Freed heap is not always given back to the system, so a phase
/// starts from what earlier phases left resident.
fn start_phase() -> Option<u64> {
    let _ = reset_peak_memory();
    status_kib("VmRSS:")
}

fn memory(before: Option<u64>) -> Memory {
    Memory {
        before,
        peak: status_kib("VmHWM:"),
    }
}

/// Whether writing `5` to `/proc/self/clear_refs` reset the peak resident set size.
fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// A `KiB` field of `/proc/self/status`.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn build_kind() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// The result table: one row per phase.
#[derive(Default)]
struct Table {
    rows: Vec<[String; 7]>,
}

impl Table {
    fn row(&mut self, name: &str, runs: &[Duration], memory: Memory) {
        let mib = |kib: Option<u64>| {
            kib.map_or("-".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
        };
        self.rows.push([
            name.to_owned(),
            runs.len().to_string(),
            format!("{:.3} ms", ms(median(runs))),
            format!("{:.3} ms", ms(p95(runs))),
            format!(
                "{:.3} ms",
                ms(sorted(runs).first().copied().unwrap_or_default())
            ),
            mib(memory.before),
            mib(memory.peak),
        ]);
    }

    fn print(&self) {
        let head = [
            "phase",
            "runs",
            "median",
            "p95",
            "min",
            "RSS before",
            "peak RSS",
        ];
        let width = |i: usize| {
            self.rows
                .iter()
                .map(|r| r[i].len())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..head.len()).map(width).collect();
        let line = |cells: [&str; 7]| {
            let mut out = format!("| {:<w$} |", cells[0], w = widths[0]);
            for (cell, w) in cells.iter().zip(&widths).skip(1) {
                out.push_str(&format!(" {cell:>w$} |"));
            }
            println!("{out}");
        };
        line(head);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        println!("|-{}-|", rule.join("-|-"));
        for row in &self.rows {
            line([
                &row[0], &row[1], &row[2], &row[3], &row[4], &row[5], &row[6],
            ]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Where one check spends its time
// ---------------------------------------------------------------------------------------------

/// Median time of each step of one check of the fixture folder.
struct Breakdown {
    steps: Vec<(String, Duration)>,
    rules: Vec<(&'static str, Duration)>,
}

impl Breakdown {
    fn print(&self) {
        println!("Where one check of the fixture folder goes (medians):");
        for (step, d) in &self.steps {
            println!("  {step:<44} {:>9.3} ms", ms(*d));
        }
        let total: Duration = self.rules.iter().map(|(_, d)| *d).sum();
        println!(
            "  {:<44} {:>9.3} ms; slowest:",
            format!("each of the {} rules alone, summed", self.rules.len()),
            ms(total)
        );
        for (name, d) in self.rules.iter().take(5) {
            println!("    {name:<42} {:>9.3} ms", ms(*d));
        }
    }
}

fn breakdown(fixture: &Path, runs: usize) -> Breakdown {
    let inputs = read_folder(fixture);
    let knowledge = Knowledge::builtin();
    let text_of = |kind: FileKind| -> Vec<&str> {
        inputs
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| f.text.as_str())
            .collect()
    };
    let (tf, yml, env, sh) = (
        text_of(FileKind::Terraform),
        text_of(FileKind::Compose),
        text_of(FileKind::EnvFile),
        text_of(FileKind::Script),
    );
    let mut steps = Vec::new();
    let mut step = |name: &str, d: Vec<Duration>| steps.push((name.to_owned(), median(&d)));

    step(
        "check_paths (walk, read, build, rules)",
        time(runs, || check(fixture)),
    );
    step(
        "check_files (build, rules, suppressions)",
        time(runs, || {
            check_files(inputs.clone(), RULES, knowledge.clone())
        }),
    );
    step(
        "  clone the knowledge base",
        time(runs, || knowledge.clone()),
    );
    step(
        "  build the model (parse every file)",
        time(runs, || build::build(inputs.clone(), knowledge.clone())),
    );
    step(
        "    terraform: parse + evaluate .tf",
        time(runs, || {
            let files = tf.iter().map(|t| terraform::parse(FileId(0), t)).collect();
            terraform::TerraformModule::new(files)
        }),
    );
    step(
        "    compose: parse",
        time(runs, || {
            yml.iter()
                .map(|t| compose::parse(FileId(0), t, &|_| None))
                .collect::<Vec<_>>()
        }),
    );
    step(
        "    env files: parse",
        time(runs, || {
            env.iter()
                .map(|t| dotenv::parse(FileId(0), t))
                .collect::<Vec<_>>()
        }),
    );
    step(
        "    scripts: parse (.sh files only)",
        time(runs, || {
            sh.iter()
                .map(|t| shell::parse_script(t, FileId(0), 0))
                .collect::<Vec<_>>()
        }),
    );
    let workspace = build::build(inputs.clone(), knowledge.clone());
    step(
        "  run every rule",
        time(runs, || rules::run(&workspace, RULES)),
    );
    let findings = rules::run(&workspace, RULES);
    step(
        "  apply suppressions",
        time(runs, || {
            portolan::suppress::apply(findings.clone(), &workspace.sources, RULES)
        }),
    );
    let mut by_rule: Vec<(&'static str, Duration)> = RULES
        .iter()
        .map(|rule| {
            let one = [*rule];
            (
                rule.meta.name,
                median(&time(runs, || rules::run(&workspace, &one))),
            )
        })
        .collect();
    by_rule.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
    Breakdown {
        steps,
        rules: by_rule,
    }
}

/// What the tree phase measured besides the timings.
#[derive(Clone, Copy)]
struct TreeFacts {
    workspaces: usize,
    findings: usize,
    generated: Duration,
}

/// Phase 2: writes the tree of [`FOLDERS`] template folders, then checks it and runs
/// `terraform fmt -check -recursive` on it, taking turns. Adds its rows to `table`; returns
/// portolan's times, terraform's (empty without terraform), terraform's exit code and the facts.
fn tree_phase(
    fixture: &Path,
    runs: usize,
    table: &mut Table,
) -> (Vec<Duration>, Vec<Duration>, Option<i32>, TreeFacts) {
    let tree = tempfile::tempdir().expect("a temporary folder");
    let started = Instant::now();
    let written = write_tree(tree.path(), fixture);
    let generated = started.elapsed();
    let root = tree.path().to_path_buf();
    let before = start_phase();
    let check_once = || check(&root).expect("check the tree");
    let result = check_once();
    let facts = TreeFacts {
        workspaces: result.workspaces.len(),
        findings: result.workspaces.iter().map(|(_, f)| f.len()).sum(),
        generated,
    };
    drop(result);
    let terraform = terraform_binary();
    let (mut ours, mut theirs, mut fmt_status) = (Vec::new(), Vec::new(), None);
    for _ in 0..runs {
        ours.push(timed(check_once));
        if let Some(bin) = &terraform {
            let started = Instant::now();
            let status = Command::new(bin)
                .args(["fmt", "-check", "-recursive"])
                .current_dir(&root)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            theirs.push(started.elapsed());
            fmt_status = status.ok().and_then(|s| s.code());
        }
    }
    let tree_memory = memory(before);
    table.row(
        &format!("{FOLDERS} folders ({written} files)"),
        &ours,
        tree_memory,
    );
    if terraform.is_some() {
        table.row(
            "terraform fmt -check -recursive",
            &theirs,
            Memory::default(),
        );
    }
    (ours, theirs, fmt_status, facts)
}

/// The aim of phase 2: faster than `terraform fmt -check -recursive` on the same tree.
fn print_tree_aim(
    ours: &[Duration],
    theirs: &[Duration],
    fmt_status: Option<i32>,
    tree: TreeFacts,
) {
    if theirs.is_empty() {
        println!("  {FOLDERS} folders vs terraform fmt: skipped, terraform is not on PATH");
    } else {
        let ratio = ms(median(ours)) / ms(median(theirs));
        println!(
            "  {FOLDERS} folders faster than terraform fmt: portolan / terraform = {ratio:.2} \
             (medians) -> {}",
            if ratio < 1.0 { "met" } else { "MISSED" }
        );
        println!(
            "    terraform fmt exit code {} (3 = some files not formatted; it still read all)",
            fmt_status.map_or("?".to_owned(), |c| c.to_string())
        );
    }
    println!(
        "  tree: {} workspaces, {} findings, {:.3} ms per folder; generated in {:.0} ms",
        tree.workspaces,
        tree.findings,
        ms(median(ours)) / FOLDERS as f64,
        ms(tree.generated)
    );
}

/// The fixture's files as `check` reads them.
fn read_folder(dir: &Path) -> Vec<InputFile> {
    let mut files: Vec<InputFile> = std::fs::read_dir(dir)
        .expect("the fixture folder")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let text = std::fs::read_to_string(&path).ok()?;
            let kind = classify(&path, Some(&text))?;
            let name = PathBuf::from(path.file_name()?);
            Some(InputFile {
                path: name,
                text,
                kind,
            })
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

// ---------------------------------------------------------------------------------------------
// Generated inputs
// ---------------------------------------------------------------------------------------------

/// Writes `FOLDERS` copies of the fixture under `root`, each in its own folder with its ports
/// shifted by a multiple of 10 and its workspace name changed; every fourth has the incident's
/// port fixed, every fifth a renamed site slug, every third the [`SCRIPTED_SHAPES`] too.
/// Returns how many files were written.
fn write_tree(root: &Path, fixture: &Path) -> usize {
    let files = read_folder(fixture);
    let mut written = 0;
    for i in 0..FOLDERS {
        let dir = root
            .join(format!("team-{:02}", i % 20))
            .join(format!("tpl-{i:04}"));
        std::fs::create_dir_all(&dir).expect("create a template folder");
        let offset = 10 * (i % 500) as u16;
        for file in &files {
            let mut text =
                shift_ports(&file.text, offset).replace("convex-ai-chat", &format!("chat-{i}"));
            if file.kind == FileKind::Terraform && i % 4 == 0 {
                let (wrong, right) = (3212 + offset, 3211 + offset);
                text = text.replace(&format!("localhost:{wrong}"), &format!("localhost:{right}"));
            }
            if file.kind == FileKind::Terraform && i % 5 == 0 {
                text = text.replace("\"convex-site\"", &format!("\"site-{i}\""));
            }
            std::fs::write(dir.join(&file.path), text).expect("write a template file");
            written += 1;
        }
        if i % 3 == 0 {
            for (path, text) in SCRIPTED_SHAPES {
                let path = dir.join(path);
                std::fs::create_dir_all(path.parent().expect("a folder")).expect("a folder");
                std::fs::write(path, text).expect("write a template file");
                written += 1;
            }
        }
    }
    written
}

/// Files added to every third folder of the tree: servers started from `templatefile()`
/// scripts, one by the template itself and one by a local module, whose `port` input is
/// substituted into its `run.sh` (`$${X}` is bash's own `${X}`).
const SCRIPTED_SHAPES: &[(&str, &str)] = &[
    (
        "tools.tf",
        r#"module "code-server" {
  source   = "./modules/code-server"
  agent_id = coder_agent.main.id
  port     = 13340
}

resource "coder_script" "terminal" {
  agent_id     = coder_agent.main.id
  display_name = "Web terminal"
  run_on_start = true
  script = templatefile("${path.module}/scripts/terminal.sh", {
    PORT     = 7690
    LOG_PATH = "/tmp/ttyd.log"
  })
}

resource "coder_app" "terminal" {
  agent_id     = coder_agent.main.id
  slug         = "terminal"
  display_name = "Terminal"
  url          = "http://localhost:7690"
}
"#,
    ),
    (
        "scripts/terminal.sh",
        r#"#!/usr/bin/env bash
set -eu
if ! command -v ttyd >/dev/null; then
  echo "ttyd is not installed in $${HOME}" >&2
  exit 1
fi
ttyd -p "${PORT}" -W bash >"${LOG_PATH}" 2>&1 &
"#,
    ),
    (
        "modules/code-server/main.tf",
        r#"variable "agent_id" {
  type = string
}

variable "port" {
  type    = number
  default = 13337
}

variable "install_prefix" {
  type    = string
  default = "/tmp/code-server"
}

resource "coder_script" "code-server" {
  agent_id     = var.agent_id
  display_name = "code-server"
  run_on_start = true
  script = templatefile("${path.module}/run.sh", {
    PORT           = var.port
    INSTALL_PREFIX = var.install_prefix
  })
}

resource "coder_app" "code-server" {
  agent_id     = var.agent_id
  slug         = "code-server"
  display_name = "code-server"
  url          = "http://localhost:${var.port}/?folder=/home/coder"

  healthcheck {
    url       = "http://localhost:${var.port}/healthz"
    interval  = 5
    threshold = 6
  }
}
"#,
    ),
    (
        "modules/code-server/run.sh",
        r#"#!/usr/bin/env bash
set -eu
CODE_SERVER="${INSTALL_PREFIX}/bin/code-server"
if [ ! -x "$CODE_SERVER" ]; then
  curl -fsSL https://code-server.dev/install.sh | sh -s -- --method=standalone --prefix="${INSTALL_PREFIX}"
fi
for extension in $${EXTENSIONS:-}; do
  "$CODE_SERVER" --install-extension "$extension"
done
"$CODE_SERVER" --auth none --port "${PORT}" >/tmp/code-server.log 2>&1 &
"#,
    ),
];

/// Replaces every number in `text` that is one of [`PORTS`] with that port plus `offset`.
fn shift_ports(text: &str, offset: u16) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        match digits.parse::<u16>() {
            Ok(p) if PORTS.contains(&p) => out.push_str(&(p + offset).to_string()),
            _ => out.push_str(digits),
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

/// An env file of about `megabytes` MB with every shape of line `dotenv` reads.
fn large_env_file(megabytes: usize) -> String {
    let mut text = String::with_capacity(megabytes * 1_000_000 + 256);
    let mut i = 0usize;
    while text.len() < megabytes * 1_000_000 {
        let line = match i % 8 {
            0 => "# a comment about the next lines\n".to_owned(),
            1 => format!("export SERVICE_{i}_PORT={}\n", 1024 + i % 60000),
            2 => format!(
                "SERVICE_{i}_URL=\"http://localhost:{}/path\"\n",
                1024 + i % 60000
            ),
            3 => format!("SERVICE_{i}_ORIGIN==https://app-{i}--ws--owner.coder.example.com\r\n"),
            4 => format!("SERVICE_{i}_NAME='single quoted ${{NOT_EXPANDED}}'\n"),
            5 => format!("SERVICE_{i}_MULTI=\"first line\nsecond line\"\n"),
            6 => format!(
                "SERVICE_{i}_REF=${{SERVICE_{}_PORT:-3000}} # comment\n",
                i - 5
            ),
            _ => "DUPLICATED=again\n".to_owned(),
        };
        text.push_str(&line);
        i += 1;
    }
    text
}

fn terraform_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("terraform"))
        .find(|p| p.is_file())
}
