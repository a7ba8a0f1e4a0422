//! A seeded property test over spec loading and rendering: hostile strings (quotes, `$(`,
//! backticks, newlines, `${`, `*`, `#`, `%`, unicode, very long, empty) in every string field of
//! the spec. Each spec is either refused at load with a location in the spec, or everything
//! rendered from it is accepted by `bash -n`, shellcheck, `terraform fmt`, hcl-rs and
//! `docker-compose config`; and the start script and the agent's startup script, run in a
//! sandbox with stubbed `docker` and `curl`, create no file but the ones they are meant to.
//!
//! A second round bypasses validation: hostile strings are put straight into a loaded spec's
//! fields, so escaping alone must keep them data.
//!
//! `PORTOLAN_SEED=N` replays a run; the seed is printed with every failure. The external tools run
//! once per batch (shellcheck, `terraform fmt`) or once per case (`docker-compose`), so the whole
//! test takes seconds.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::sandbox::{canaries, Sandbox};
use common::tool;
use portolan::render::{self, RenderOptions};
use portolan::source::SourceMap;
use portolan::spec::{self, CommandSpec, Located, Spec, Text};

/// Cases in the first round (through `spec::load`) and the second (validation bypassed).
const LOADED_CASES: usize = 40;
const BYPASS_CASES: usize = 12;

/// SplitMix64: small, seeded, good enough to pick strings.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Pieces hostile strings are made of.
const PIECES: &[&str] = &[
    "",
    "\"",
    "'",
    "$(touch PWNED)",
    "`touch PWNED`",
    "${HOME}",
    "$HOME",
    "$",
    "$$",
    "${",
    "%{",
    "%",
    "%2",
    "*",
    "#",
    "# x",
    "\n",
    "\nEOT\n",
    "\r\n",
    "\t",
    "\u{1}",
    "\u{85}",
    "\u{2028}",
    "é",
    "🦀",
    "\\",
    "\\\"",
    ";",
    "&",
    "|",
    "<",
    ">",
    "!",
    "~",
    " ",
    ": ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "yes",
    "null",
    "123",
    "-x",
    "..",
    "/",
    "a",
    "web",
    "${origin:",
    "${secret:DB_PASSWORD}",
];

fn hostile(rng: &mut Rng) -> String {
    let mut out = String::new();
    for _ in 0..1 + rng.below(3) {
        out.push_str(rng.pick(PIECES));
    }
    match rng.below(8) {
        0 => out = out.repeat(200),
        1 => out.insert(0, 'a'),
        _ => {}
    }
    out
}

/// Every string field of the spec, with a valid default.
const FIELDS: &[(&str, &str)] = &[
    ("name", "shop"),
    ("agent", "main"),
    ("wildcard_domain", "coder.test"),
    ("coder_workdir", "/home/coder/shop"),
    ("db", "db"),
    ("image", "postgres:16"),
    ("command", "postgres -c log_statement=all"),
    ("entrypoint", "docker-entrypoint.sh"),
    ("volume", "pgdata:/var/lib/postgresql/data"),
    ("bind", "./init:/docker-entrypoint-initdb.d"),
    ("port_name", "pg"),
    ("db_env_key", "POSTGRES_DB"),
    ("db_env_value", "shop"),
    ("health_command", "pg_isready -U postgres"),
    ("web", "web"),
    ("web_workdir", "."),
    ("web_env_key", "NOTE"),
    ("web_env_value", "hello"),
    ("health_path", "/health"),
    ("slug", "web"),
    ("display_name", "Web"),
    ("icon", "/icon/web.svg"),
    ("group", "Dev"),
    ("app_health", "/health"),
    ("env_path", "web.env"),
    ("env_key", "NOTE"),
    ("env_value", "hello"),
    ("secret", "DB_PASSWORD"),
    ("ignore", "env-unquoted-value"),
    ("spec_file", "portolan.yaml"),
];

fn yaml(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// The spec text for field values `v` (indexed like [`FIELDS`]).
fn spec_text(v: &[String]) -> String {
    let f = |name: &str| {
        let i = FIELDS.iter().position(|(n, _)| *n == name).unwrap();
        yaml(&v[i])
    };
    let raw = |name: &str| {
        let i = FIELDS.iter().position(|(n, _)| *n == name).unwrap();
        v[i].clone()
    };
    let web_http = yaml(&format!("{}.http", raw("web")));
    let origin = yaml(&format!("${{origin:{}.http}}", raw("web")));
    let secret = yaml(&format!("${{secret:{}}}", raw("secret")));
    let run = yaml(&format!("true --port ${{port:{}.http}}", raw("web")));
    let mut t = String::new();
    let _ = write!(
        t,
        "name: {name}
coder:
  agent: {agent}
  wildcard_domain: {domain}
  workdir: {workdir}
services:
  {db}:
    image: {image}
    command: {command}
    entrypoint: [{entrypoint}]
    volumes: [{volume}, {bind}]
    ports: {{ {port_name}: 5432 }}
    env:
      {db_env_key}: {db_env_value}
      PASSWORD: {secret}
      SITE: {origin}
    healthcheck: {{ command: {health_command}, timeout: 1 }}
  {web}:
    run: {run}
    workdir: {web_workdir}
    ports: {{ http: 3000 }}
    env:
      {web_env_key}: {web_env_value}
      API: {origin}
    healthcheck: {{ port: http, path: {health_path}, timeout: 1 }}
apps:
  {slug}:
    target: {web_http}
    display_name: {display_name}
    icon: {icon}
    group: {group}
    healthcheck: {app_health}
env_files:
  {env_path}:
    {env_key}: {env_value}
    URL: {origin}
secrets:
  {secret_name}: {{ generate: base64_32 }}
ignore: [{ignore}]
",
        name = f("name"),
        agent = f("agent"),
        domain = f("wildcard_domain"),
        workdir = f("coder_workdir"),
        db = f("db"),
        image = f("image"),
        command = f("command"),
        entrypoint = f("entrypoint"),
        volume = f("volume"),
        bind = f("bind"),
        port_name = f("port_name"),
        db_env_key = f("db_env_key"),
        db_env_value = f("db_env_value"),
        health_command = f("health_command"),
        web = f("web"),
        web_workdir = f("web_workdir"),
        web_env_key = f("web_env_key"),
        web_env_value = f("web_env_value"),
        health_path = f("health_path"),
        slug = f("slug"),
        display_name = f("display_name"),
        icon = f("icon"),
        group = f("group"),
        app_health = f("app_health"),
        env_path = f("env_path"),
        env_key = f("env_key"),
        env_value = f("env_value"),
        secret_name = f("secret"),
        ignore = f("ignore"),
    );
    t
}

/// A file name: no `/` or NUL, not empty, `.` or `..`.
fn file_name(s: &str) -> String {
    let name: String = s.replace(['/', '\0'], "_").chars().take(200).collect();
    if matches!(name.as_str(), "" | "." | "..") {
        format!("s{name}")
    } else {
        name
    }
}

/// One rendered case waiting for the tools.
struct Case {
    label: String,
    dir: PathBuf,
    /// Paths (relative) the start script may create besides `.portolan/`.
    allowed: BTreeSet<PathBuf>,
    agent: String,
}

struct Run {
    seed: u64,
    root: tempfile::TempDir,
    cases: Vec<Case>,
    failures: Vec<String>,
}

impl Run {
    fn fail(&mut self, label: &str, message: String) {
        self.failures
            .push(format!("[seed {} {label}] {message}", self.seed));
    }

    /// Renders `spec` into a fresh folder and checks what can be checked in-process.
    fn render(&mut self, label: String, spec: &Spec, spec_file: &str) {
        let options = RenderOptions {
            full: true,
            templates: None,
            out: None,
            spec_file: spec_file.to_owned(),
        };
        let files = match render::render(spec, &options) {
            Ok(files) => files,
            Err(e) => return self.fail(&label, format!("render failed: {e}")),
        };
        let dir = self.root.path().join(format!("case-{}", self.cases.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut allowed = BTreeSet::new();
        for file in &files {
            let path = dir.join(&file.path);
            if !path.starts_with(&dir) {
                return self.fail(&label, format!("writes outside: {}", file.path.display()));
            }
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &file.contents).unwrap();
            allowed.insert(file.path.clone());
        }
        allowed.insert(PathBuf::from(".env"));
        for name in ["coder-apps.tf", "main.tf"] {
            let text = std::fs::read_to_string(dir.join(name)).unwrap();
            if let Err(e) = hcl::parse(&text) {
                self.fail(&label, format!("hcl-rs cannot parse {name}: {e}\n{text}"));
            }
        }
        self.cases.push(Case {
            label,
            dir,
            allowed,
            agent: spec.coder.agent.value.clone(),
        });
    }

    /// Runs the external tools over every case.
    fn check_all(&mut self) {
        let scripts: Vec<PathBuf> = self
            .cases
            .iter()
            .map(|c| c.dir.join("start-workspace.sh"))
            .collect();
        // bash -n, in one process.
        let mut loop_script = String::new();
        for s in &scripts {
            let _ = writeln!(
                loop_script,
                "bash -n {} || echo \"FAILED {}\"",
                portolan::render::value::sh_word(&s.to_string_lossy()),
                s.display()
            );
        }
        let out = Command::new("bash")
            .arg("-c")
            .arg(&loop_script)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if !text.trim().is_empty() {
            self.fail("batch", format!("bash -n:\n{text}"));
        }
        if let Some(shellcheck) = tool("shellcheck") {
            let out = Command::new(shellcheck)
                .args(["-f", "gcc"])
                .args(&scripts)
                .output()
                .unwrap();
            if !out.status.success() {
                self.fail(
                    "batch",
                    format!("shellcheck:\n{}", String::from_utf8_lossy(&out.stdout)),
                );
            }
        }
        if let Some(terraform) = tool("terraform") {
            let out = Command::new(terraform)
                .args(["fmt", "-check", "-recursive", "-no-color"])
                .arg(self.root.path())
                .output()
                .unwrap();
            if !out.status.success() {
                self.fail(
                    "batch",
                    format!(
                        "terraform fmt -check:\n{}{}",
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    ),
                );
            }
        }
        let compose = tool("docker-compose");
        let sandbox = Sandbox::new();
        for i in 0..self.cases.len() {
            let (label, dir) = (self.cases[i].label.clone(), self.cases[i].dir.clone());
            let wrote_env = self.start_script(i, &sandbox);
            self.startup_script(i, &sandbox);
            if let Some(compose) = &compose {
                if dir.join("docker-compose.yml").exists() {
                    // The start script wrote .env with the secrets compose requires; where it
                    // refused a value and wrote nothing, they are given here.
                    let mut command = Command::new(compose);
                    if !wrote_env {
                        let file = std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap();
                        for name in required_variables(&file) {
                            command.env(name, "x");
                        }
                    }
                    let out = command
                        .args(["config", "-q"])
                        .current_dir(&dir)
                        .output()
                        .unwrap();
                    if !out.status.success() {
                        let file = std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap();
                        self.fail(
                            &label,
                            format!(
                                "docker-compose config:\n{}\n{file}",
                                String::from_utf8_lossy(&out.stderr)
                            ),
                        );
                    }
                }
            }
        }
        let found = canaries(&[self.root.path(), sandbox.log.path()]);
        if !found.is_empty() {
            self.fail("batch", format!("canary files: {found:?}"));
        }
    }

    /// Runs the start script in the sandbox; false when it refused a value and wrote no env file.
    fn start_script(&mut self, i: usize, sandbox: &Sandbox) -> bool {
        let case = &self.cases[i];
        let out = sandbox.run(
            &case.dir.join("start-workspace.sh"),
            &case.dir,
            &[
                ("CODER_WORKSPACE_NAME", "ws"),
                ("CODER_WORKSPACE_OWNER_NAME", "me"),
            ],
        );
        let (label, dir, allowed) = (case.label.clone(), case.dir.clone(), case.allowed.clone());
        // A value no env-file quoting carries alike (only reachable when load's checks are
        // bypassed) stops the script before it writes any env file: safe, and said.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let refused_value = stderr.contains("no quoting reads alike")
            || stderr.contains("which python-dotenv reads as escaping the closing quote")
            || stderr.contains("holds a carriage return, which python-dotenv");
        if !out.status.success() && !refused_value {
            self.fail(
                &label,
                format!(
                    "start script failed:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                ),
            );
        }
        // Background processes (`run: true`) end at once; give them a moment.
        std::thread::sleep(std::time::Duration::from_millis(20));
        for file in common::files_below(&dir) {
            if !allowed.contains(&file) && !file.starts_with(".portolan") {
                self.fail(&label, format!("start script created {}", file.display()));
            }
        }
        !refused_value
    }

    /// The agent's `startup_script` from main.tf, as Terraform would pass it, run in bash.
    fn startup_script(&mut self, i: usize, sandbox: &Sandbox) {
        let case = &self.cases[i];
        let (label, dir, agent) = (case.label.clone(), case.dir.clone(), case.agent.clone());
        let text = std::fs::read_to_string(dir.join("main.tf")).unwrap();
        let Ok(body) = hcl::parse(&text) else {
            return; // reported already
        };
        let script = body
            .blocks()
            .find(|b| {
                b.identifier() == "resource"
                    && b.labels()
                        .iter()
                        .map(|l| l.as_str())
                        .eq(["coder_agent", agent.as_str()])
            })
            .and_then(|b| b.body().attributes().find(|a| a.key() == "startup_script"))
            .map(|a| a.expr().clone());
        let Some(expr) = script else {
            return self.fail(
                &label,
                "main.tf has no coder_agent startup_script".to_owned(),
            );
        };
        use hcl::eval::Evaluate;
        let value = match expr.evaluate(&hcl::eval::Context::new()) {
            Ok(hcl::Value::String(s)) => s,
            other => {
                return self.fail(
                    &label,
                    format!("startup_script is not literal text: {other:?}"),
                )
            }
        };
        let file = sandbox.log.path().join(format!("startup-{i}.sh"));
        std::fs::write(&file, &value).unwrap();
        let out = sandbox.run(&file, &dir, &[]);
        if !out.status.success() {
            self.fail(
                &label,
                format!(
                    "startup script failed:\n{}\n{value}",
                    String::from_utf8_lossy(&out.stderr)
                ),
            );
        }
    }
}

fn seed() -> u64 {
    std::env::var("PORTOLAN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0f70_4701)
}

#[test]
fn hostile_specs_are_refused_with_a_location_or_render_to_files_the_tools_accept() {
    let seed = seed();
    let mut rng = Rng(seed);
    let mut run = Run {
        seed,
        root: tempfile::tempdir().unwrap(),
        cases: Vec::new(),
        failures: Vec::new(),
    };
    let (mut refused, mut rendered) = (0, 0);
    for case in 0..LOADED_CASES {
        let mut values: Vec<String> = FIELDS.iter().map(|(_, v)| v.to_string()).collect();
        let mut changed = Vec::new();
        for _ in 0..1 + rng.below(2) {
            let i = rng.below(FIELDS.len());
            values[i] = hostile(&mut rng);
            changed.push(format!("{}={:?}", FIELDS[i].0, values[i]));
        }
        let label = format!("case {case}: {}", changed.join(", "));
        let spec_file = file_name(&values[FIELDS.len() - 1]);
        let text = spec_text(&values);
        let mut sources = SourceMap::new();
        match spec::load(Path::new(&spec_file), &text, &mut sources) {
            Err(err) => {
                refused += 1;
                let errors: Vec<_> = err.diagnostics.iter().filter(|d| d.is_error()).collect();
                if errors.is_empty() {
                    run.fail(&label, "refused without an error".to_owned());
                }
                for d in errors {
                    let span = d.primary.span;
                    let file = sources.get(span.file);
                    if file.path != Path::new(&spec_file)
                        || span.start > span.end
                        || span.end as usize > text.len()
                    {
                        run.fail(
                            &label,
                            format!("error without a location in the spec: {d:?}"),
                        );
                    }
                }
            }
            Ok(loaded) => {
                rendered += 1;
                run.render(label, &loaded.spec, &spec_file);
            }
        }
    }
    assert!(
        refused >= LOADED_CASES / 5 && rendered >= LOADED_CASES / 5,
        "seed {seed}: {refused} refused, {rendered} rendered: the generator lost its balance"
    );

    // Validation bypassed: escaping alone keeps every value data.
    let base: Vec<String> = FIELDS.iter().map(|(_, v)| v.to_string()).collect();
    let mut sources = SourceMap::new();
    let base = spec::load(Path::new("portolan.yaml"), &spec_text(&base), &mut sources)
        .unwrap_or_else(|e| panic!("{:?}", e.diagnostics))
        .spec;
    for case in 0..BYPASS_CASES {
        let mut spec = base.clone();
        let mut h = || Located::synthetic(hostile(&mut rng));
        spec.coder.wildcard_domain = Some(h());
        spec.coder.workdir = Some(h());
        let db = spec.services.get_mut("db").unwrap();
        db.image = Some(h());
        db.command = Some(Located::synthetic(CommandSpec::Shell(h().value)));
        db.entrypoint = Some(Located::synthetic(CommandSpec::Args(vec![
            h().value,
            h().value,
        ])));
        // Named volumes have a grammar (checked at load); bind mount paths are escaped.
        db.volumes = vec![Located::synthetic(format!("./{}:/x", h().value))];
        for v in db.env.values_mut() {
            v.value = Text(h().value);
        }
        db.healthcheck.as_mut().unwrap().command = Some(h());
        let web = spec.services.get_mut("web").unwrap();
        web.workdir = Some(h());
        for v in web.env.values_mut() {
            v.value = Text(h().value);
        }
        web.healthcheck.as_mut().unwrap().path = Some(h());
        let app = spec.apps.get_mut("web").unwrap();
        app.display_name = Some(h());
        app.icon = Some(h());
        app.group = Some(h());
        app.healthcheck = Some(h());
        let (_, keys) = spec.env_files.pop().unwrap();
        let mut keys = keys;
        for v in keys.values_mut() {
            v.value = Text(h().value);
        }
        let path = format!("e{}", file_name(&h().value));
        spec.env_files
            .insert(Located::synthetic(path.clone()), keys);
        let spec_file = file_name(&h().value);
        run.render(
            format!("bypass {case}: env file {path:?}, spec file {spec_file:?}"),
            &spec,
            &spec_file,
        );
    }

    run.check_all();
    assert!(
        run.failures.is_empty(),
        "{} failures (replay with PORTOLAN_SEED={seed}):\n{}",
        run.failures.len(),
        run.failures.join("\n\n")
    );
}

/// The variables a compose file requires (`${NAME:?message}`).
fn required_variables(compose_file: &str) -> Vec<&str> {
    compose_file
        .split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once(":?").map(|(name, _)| name))
        .filter(|name| name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .collect()
}
