//! Spec fields reach generated files only escaped for their language, and fields with a grammar
//! (paths, domains, names) are refused at load with file:line:column. Each test is one way a
//! hostile or unlucky spec used to run code at workspace start or break a real tool.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::sandbox::{canaries, Sandbox};
use common::{files_below, portolan, tool};

/// A spec written as `file` into its own folder, rendered into another.
struct Rendered {
    spec_dir: tempfile::TempDir,
    out: tempfile::TempDir,
    file: String,
    output: Output,
}

impl Rendered {
    fn new(file: &str, text: &str, extra: &[&str]) -> Self {
        let spec_dir = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        std::fs::write(spec_dir.path().join(file), text).unwrap();
        let output = portolan()
            .arg("render")
            .arg(file)
            .arg("--out")
            .arg(out.path())
            .args(extra)
            .current_dir(spec_dir.path())
            .output()
            .unwrap();
        Rendered {
            spec_dir,
            out,
            file: file.to_owned(),
            output,
        }
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    fn ok(self) -> Self {
        assert!(
            self.output.status.success(),
            "render failed:\n{}",
            self.stderr()
        );
        self
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.out.path().join(name)).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.out.path().join(name)
    }

    /// Asserts the spec was refused with an error at the first `needle` in the spec text (as
    /// `file:line:column`) containing `message`, and that nothing was written.
    fn refused_at(&self, needle: &str, message: &str) {
        let stderr = self.stderr();
        assert_eq!(self.output.status.code(), Some(2), "{stderr}");
        let text = std::fs::read_to_string(self.spec_dir.path().join(&self.file)).unwrap();
        let offset = text
            .find(needle)
            .unwrap_or_else(|| panic!("`{needle}` is not in the spec"));
        let line = text[..offset].matches('\n').count() + 1;
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        let at = format!("{}:{line}:{column}: error: ", self.file);
        let error = stderr
            .lines()
            .find(|l| l.starts_with(&at))
            .unwrap_or_else(|| panic!("no error at {at}:\n{stderr}"));
        assert!(error.contains(message), "{error}");
        assert_eq!(files_below(self.out.path()), Vec::<PathBuf>::new());
    }
}

fn run_start_script(rendered: &Rendered, sandbox: &Sandbox) -> Output {
    let script = rendered.path("start-workspace.sh");
    sandbox.run(
        &script,
        rendered.out.path(),
        &[
            ("CODER_WORKSPACE_NAME", "ws"),
            ("CODER_WORKSPACE_OWNER_NAME", "me"),
        ],
    )
}

// --- Item: spec fields run as code at workspace start --------------------------------------------

#[test]
fn env_file_path_that_runs_code_is_refused_at_load() {
    let r = Rendered::new(
        "portolan.yaml",
        "name: shop\nenv_files:\n  \"$(touch PWNED).env\": {A: b}\n",
        &[],
    );
    r.refused_at("\"$(touch", "env file path");
}

#[test]
fn env_file_path_with_unsafe_characters_is_refused_at_load() {
    for path in [
        "a b.env",
        "`x`.env",
        "a;b.env",
        "x\\ny.env",
        "é.env",
        "a/.env/",
    ] {
        let text = format!("name: shop\nenv_files:\n  {}: {{A: b}}\n", yaml_quote(path));
        let r = Rendered::new("portolan.yaml", &text, &[]);
        r.refused_at(&yaml_quote(path), "env file path");
    }
}

#[test]
fn healthcheck_paths_that_run_code_are_refused_at_load() {
    let text = "name: shop
services:
  web:
    run: sleep 1
    ports: { http: 3000 }
    healthcheck: { port: http, path: \"/$(touch PWNED)\" }
apps:
  web: { target: web.http, healthcheck: \"/`touch PWNED`\" }
";
    let r = Rendered::new("portolan.yaml", text, &[]);
    r.refused_at("\"/$(touch", "URL path");
    r.refused_at("\"/`touch", "URL path");
}

#[test]
fn healthcheck_path_with_a_query_is_requested_whole() {
    let text = "name: shop
services:
  web:
    run: sleep 1
    ports: { http: 3000 }
    healthcheck: { port: http, path: \"/health?a=1&b=2\" }
apps:
  web: { target: web.http, healthcheck: \"/health?a=1&b=2\" }
";
    let r = Rendered::new("portolan.yaml", text, &[]).ok();
    common::assert_shell_accepts(&r.path("start-workspace.sh"), "start-workspace.sh");
    let sandbox = Sandbox::new();
    let output = run_start_script(&r, &sandbox);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        sandbox.calls("curl"),
        "http://localhost:3000/health?a=1&b=2\n"
    );
    assert!(r
        .read("coder-apps.tf")
        .contains("url       = \"http://localhost:3000/health?a=1&b=2\""));
}

#[test]
fn wildcard_domain_that_injects_terraform_is_refused_at_load() {
    let text = "name: shop
coder:
  wildcard_domain: \"x\\\"\\n}\\nresource \\\"null_resource\\\" \\\"p\\\" {\\n  provisioner \\\"local-exec\\\" {\\n    command = \\\"touch PWNED\\\"\\n  }\\n}\\nvariable \\\"y\\\" {\\n  default = \\\"\"
";
    let r = Rendered::new("portolan.yaml", text, &[]);
    r.refused_at("\"x\\\"", "DNS name");
    for domain in ["$(touch PWNED)", "a..b", "-a.b", "a_b.c", "a b"] {
        let text = format!(
            "name: shop\ncoder:\n  wildcard_domain: {}\n",
            yaml_quote(domain)
        );
        let r = Rendered::new("portolan.yaml", &text, &[]);
        r.refused_at(&yaml_quote(domain), "DNS name");
    }
}

#[test]
fn workdirs_that_run_code_are_refused_at_load() {
    let text = "name: shop\ncoder:\n  workdir: \"/home/coder/$(touch PWNED)\"\n";
    let r = Rendered::new("portolan.yaml", text, &[]);
    r.refused_at("\"/home", "workdir");
    let text = "name: shop
services:
  web:
    run: sleep 1
    workdir: \"`touch PWNED`\"
";
    let r = Rendered::new("portolan.yaml", text, &[]);
    r.refused_at("\"`touch", "workdir");
}

#[test]
fn spec_file_name_does_not_run_at_workspace_start() {
    let text = "name: shop
services:
  web:
    run: sleep 1
    ports: { http: 3000 }
env_files:
  web.env: { A: b }
";
    let r = Rendered::new("$(touch PWNED).yaml", text, &["--full"]).ok();
    common::assert_shell_accepts(&r.path("start-workspace.sh"), "start-workspace.sh");
    let sandbox = Sandbox::new();
    let output = run_start_script(&r, &sandbox);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        canaries(&[r.out.path(), r.spec_dir.path()]),
        Vec::<PathBuf>::new()
    );
    assert!(
        r.read("web.env").starts_with(
            "# Written by start-workspace.sh at workspace start from $(touch PWNED).yaml."
        ),
        "{}",
        r.read("web.env")
    );
}

#[test]
fn spec_file_name_with_a_newline_stays_inside_comments() {
    let text = "name: shop
services:
  db: { image: postgres, ports: { pg: 5432 } }
apps:
  db: { target: db.pg }
";
    let r = Rendered::new("a\nresource \"x\" \"y\" {}\n.yaml", text, &["--full"]).ok();
    for tf in ["coder-apps.tf", "main.tf"] {
        let body: hcl::Body = hcl::from_str(&r.read(tf)).unwrap();
        assert!(
            body.blocks().all(|b| b.identifier() != "x"),
            "{tf}: the file name became a block"
        );
    }
    common::assert_shell_accepts(&r.path("start-workspace.sh"), "start-workspace.sh");
}

// --- Item: env_files may not name portolan's own outputs ------------------------------------------

#[test]
fn env_files_may_not_name_portolans_own_outputs() {
    for path in [
        "./start-workspace.sh",
        ".env",
        "docker-compose.yml",
        "coder-apps.tf",
        "main.tf",
        ".portolan/secrets.env",
        "./.portolan/secrets.env",
        ".portolan/logs/web.log",
        "sub/./../main.tf",
        "x/../.env",
        ".//.env",
        "Docker-Compose.yml",
        "MAIN.TF",
        ".git/config",
        "portolan.yaml",
        "main.tf/x.env",
        ".env/x",
    ] {
        let text = format!("name: shop\nenv_files:\n  {}: {{A: b}}\n", yaml_quote(path));
        let r = Rendered::new("portolan.yaml", &text, &["--full"]);
        r.refused_at(&yaml_quote(path), "");
        let stderr = r.stderr();
        assert!(
            stderr.contains("portolan writes") || stderr.contains("without `..`"),
            "{path}: {stderr}"
        );
    }
}

/// Names like render's temporary files are render's to clean up: an env file `.portolan-1.tmp`
/// would be written by one render and removed by the next.
#[test]
fn env_files_may_not_be_named_like_portolans_files() {
    for path in [
        ".portolan-1.tmp",
        "sub/.portolan-render-0123456789abcdef.tmp",
        ".portolanrc",
    ] {
        let text = format!("name: shop\nenv_files:\n  {}: {{A: b}}\n", yaml_quote(path));
        let r = Rendered::new("portolan.yaml", &text, &[]);
        r.refused_at(&yaml_quote(path), "named like portolan's own files");
    }
    // A folder of that name is no temporary file.
    let text = "name: shop\nenv_files:\n  .portolan-env/app.env: {A: b}\n";
    let r = Rendered::new("portolan.yaml", text, &[]);
    assert_eq!(r.output.status.code(), Some(0), "{}", r.stderr());
}

#[test]
fn env_file_inside_another_env_file_is_refused() {
    let text = "name: shop\nenv_files:\n  a.env/b.env: {B: c}\n  a.env: {A: b}\n";
    let r = Rendered::new("portolan.yaml", text, &[]);
    r.refused_at("a.env/b.env", "inside env file `a.env`");
}

#[test]
fn env_files_that_are_one_file_twice_are_refused() {
    let text = "name: shop\nenv_files:\n  a.env: {A: b}\n  ./a.env: {B: c}\n";
    let r = Rendered::new("portolan.yaml", text, &[]);
    r.refused_at("./a.env", "a.env");
}

// --- Item: output the real tools misread ---------------------------------------------------------

#[test]
fn compose_healthcheck_command_is_not_interpolated() {
    let Some(compose) = tool("docker-compose") else {
        return;
    };
    let text = "name: shop
services:
  db:
    image: postgres:16
    healthcheck:
      command: test -d ${HOME} && test \"$(id -u)\" = 0 && echo $$
";
    let r = Rendered::new("portolan.yaml", text, &[]).ok();
    let config = Command::new(&compose)
        .args(["config"])
        .current_dir(r.out.path())
        .env("HOME", "/interpolated")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&config.stdout);
    assert!(
        config.status.success(),
        "{}",
        String::from_utf8_lossy(&config.stderr)
    );
    assert!(!stdout.contains("/interpolated"), "{stdout}");
    // `config` prints the file escaped again: `$$` is one `$` for the container's shell.
    assert!(
        stdout.contains("test -d $${HOME} && test \"$$(id -u)\" = 0 && echo $$$$"),
        "{stdout}"
    );
}

#[test]
fn names_yaml_reads_as_other_types_stay_service_and_volume_names() {
    let Some(compose) = tool("docker-compose") else {
        return;
    };
    let text = "name: shop
services:
  \"yes\": { image: alpine, volumes: [\"no:/a\"] }
  \"null\": { image: alpine, volumes: [\"123:/b\"], depends_on: [\"yes\", \"on\"] }
  \"123\": { image: alpine, volumes: [\"true:/c\", \"./x:/d\"] }
  \"on\": { image: alpine, env: { \"true\": \"v1\", \"null\": \"v2\" } }
";
    let r = Rendered::new("portolan.yaml", text, &[]).ok();
    let list = |flag: &str| {
        let out = Command::new(&compose)
            .args(["config", flag])
            .current_dir(r.out.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    };
    assert_eq!(list("--services"), ["123", "null", "on", "yes"]);
    assert_eq!(list("--volumes"), ["123", "no", "true"]);
    let config = Command::new(&compose)
        .args(["config"])
        .current_dir(r.out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&config.stdout);
    for (key, value) in [("true", "v1"), ("null", "v2")] {
        let line = stdout
            .lines()
            // A whole value, not a temp folder's random name that happens to hold `v1`.
            .find(|l| l.trim_end().ends_with(&format!(": {value}")))
            .unwrap_or_else(|| panic!("{value} is missing:\n{stdout}"));
        assert!(line.contains(key), "{line}");
    }
}

#[test]
fn service_and_volume_names_outside_composes_grammar_are_refused() {
    for name in ["[x", "*x", "a #b", "Web", "a.b"] {
        let text = format!(
            "name: shop\nservices:\n  {}: {{ image: alpine }}\n",
            yaml_quote(name)
        );
        let r = Rendered::new("portolan.yaml", &text, &[]);
        r.refused_at(&yaml_quote(name), "service name");
    }
    for volume in ["[x:/a", "*x:/a", "a #b:/a", "${X}:/a", "-x:/a"] {
        let text = format!(
            "name: shop\nservices:\n  db:\n    image: alpine\n    volumes: [{}]\n",
            yaml_quote(volume)
        );
        let r = Rendered::new("portolan.yaml", &text, &[]);
        r.refused_at(&yaml_quote(volume), "volume");
    }
}

#[test]
fn slug_starting_with_a_digit_gets_a_terraform_resource_name() {
    let text = "name: shop
services:
  web:
    run: sleep 1
    ports: { http: 3000, alt: 3001 }
apps:
  \"3000\": { target: web.http }
  3001-x: { target: web.alt }
";
    let r = Rendered::new("portolan.yaml", text, &[]).ok();
    let apps = r.read("coder-apps.tf");
    assert!(
        apps.contains("resource \"coder_app\" \"_3000\" {"),
        "{apps}"
    );
    assert!(
        apps.contains("resource \"coder_app\" \"_3001_x\" {"),
        "{apps}"
    );
    assert!(apps.contains("slug      = \"3000\""), "{apps}");
    assert!(
        apps.contains("\"3000\"   = \"https://3000--main--"),
        "{apps}"
    );
    if let Some(terraform) = tool("terraform") {
        // `providers` loads the configuration (and checks resource names) without a network.
        let out = Command::new(terraform)
            .args(["providers", "-no-color"])
            .current_dir(r.out.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn agent_name_must_be_a_terraform_identifier() {
    let r = Rendered::new("portolan.yaml", "name: shop\ncoder:\n  agent: 3main\n", &[]);
    r.refused_at("3main", "agent name");
}

// --- Item: a `run` that is not complete shell code -----------------------------------------------

/// A spec whose one process runs `run` (given as YAML text).
fn run_spec(run_yaml: &str) -> String {
    format!("name: shop\nservices:\n  web:\n    run: {run_yaml}\n    ports: {{ http: 3000 }}\napps:\n  web: {{ target: web.http }}\n")
}

#[test]
fn run_that_is_not_complete_shell_code_is_refused_at_load() {
    for run in [
        "echo \"unterminated",
        "echo 'unterminated",
        "(echo a",
        "echo $(date",
        "echo a)",
        "x ) ; touch PWNED ; ( y",
        "fi",
        "echo a; done",
        "echo a &&",
        "echo a |",
        "echo a;;",
        "cat <<EOF",
        "if true; then fi",
        "",
        "# nothing",
    ] {
        let r = Rendered::new("portolan.yaml", &run_spec(&yaml_quote(run)), &[]);
        r.refused_at(
            &format!("{}\n", yaml_quote(run)),
            "`run` of `web` is not a complete shell command",
        );
    }
    // A plain scalar holds the code as written: the error points at the stray `)`.
    let r = Rendered::new("portolan.yaml", &run_spec("x ) ; touch PWNED ; ( y"), &[]);
    r.refused_at(") ; touch", "near `)`");
    // With references, the code the start script would run is checked: here a backslash escapes
    // the quote around the origin's expansion.
    let r = Rendered::new(
        "portolan.yaml",
        &run_spec(&yaml_quote("echo \\${origin:web}")),
        &[],
    );
    r.refused_at("\"echo", "is not a complete shell command");
}

#[test]
fn complete_runs_still_load_and_the_start_script_runs_them() {
    let runs = [
        "pnpm dev --host 0.0.0.0 | tee -a dev.log && echo \"started $(date +%s)\" 'done'",
        "cd app && FOO=\"${origin:web}\" pnpm dev -- --port ${port:web.http}",
        "case \"$x\" in a) echo a;; *) echo b;; esac; if [ -n \"$y\" ]; then echo y; fi",
        "for i in 1 2; do echo \"$i\"; done; while false; do :; done",
        "cat <<EOF >notes.txt\nhello ${port:web.http}\nEOF\npnpm dev",
        "{ echo a; echo b; } >x.txt; (cd . && pnpm dev) # a comment",
        "echo \"$((1 + 2))\" $'tab\\t' \"${HOME:-/}\" >/dev/null; exec pnpm dev",
    ];
    for run in runs {
        let r = Rendered::new("portolan.yaml", &run_spec(&yaml_quote(run)), &[]).ok();
        let script = r.path("start-workspace.sh");
        common::assert_bash_parses(&script, run);
    }
}

/// Runs made of the pieces that open, close or end shell constructs: whatever load accepts stays
/// inside the subshell the start script puts it in, as the real bash reads it. Each accepted run
/// is placed as the template places it, after an `exit 0`: nothing of it may run.
#[test]
fn every_run_load_accepts_stays_inside_its_subshell_in_bash() {
    const PIECES: &[&str] = &[
        "echo a",
        "echo a",
        "echo a",
        "touch PWNED",
        " ",
        " ",
        "\n",
        ";",
        "&",
        "&&",
        "|",
        "||",
        "(",
        ")",
        "{ ",
        " }",
        "$(",
        "`",
        "\"",
        "'",
        "\\",
        "#",
        "fi",
        "done",
        "esac",
        "if x; then ",
        "case y in z) ",
        ";;",
        "<<EOF\n",
        "\nEOF\n",
        "$'",
        "${",
        "}",
        "touch PWNED",
        " ; touch PWNED ; ",
        "x=(",
        "$((",
        "))",
        "while x; do ",
        "else ",
        "f() ",
    ];
    // `PORTOLAN_SEED=N` walks another sequence.
    let seed = std::env::var("PORTOLAN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9e37_79b9_7f4a_7c15_u64);
    let mut state = seed.max(1);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut accepted, mut refused) = (Vec::new(), 0);
    let mut sources = portolan::source::SourceMap::default();
    for _ in 0..3000 {
        let run: String = (0..1 + next() % 5)
            .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
            .collect();
        let spec = run_spec(&yaml_quote(&run));
        match portolan::spec::load(Path::new("portolan.yaml"), &spec, &mut sources) {
            Ok(_) => accepted.push(run),
            Err(e) => {
                assert!(
                    e.diagnostics
                        .iter()
                        .any(|d| d.message.contains("`run` of `web`")
                            || d.message.contains("is not a reference")),
                    "{run:?}: {:?}",
                    e.diagnostics
                );
                refused += 1;
            }
        }
    }
    assert!(
        refused > 100 && accepted.len() > 100,
        "{refused} refused, {} accepted",
        accepted.len()
    );
    let dir = tempfile::tempdir().unwrap();
    for run in &accepted {
        let code = format!("(\n  exit 0\n  {run}\n) >>log 2>&1 &\nwait\n");
        // A few runs tree-sitter-bash accepts are ones bash refuses whole: then nothing runs.
        Command::new("bash")
            .arg("-c")
            .arg(&code)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(
            canaries(&[dir.path()]),
            Vec::<PathBuf>::new(),
            "seed {seed}: {run:?} ran outside"
        );
    }
}

/// A YAML double-quoted scalar (JSON strings are YAML).
fn yaml_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

// --- The escaping itself -------------------------------------------------------------------------

/// Text that means something in at least one of the languages portolan writes.
const HOSTILE: &[&str] = &[
    "",
    "plain",
    "a b",
    "\"",
    "'",
    "it's \"quoted\"",
    "$(touch PWNED)",
    "`touch PWNED`",
    "${HOME}",
    "$HOME",
    "$$",
    "%{ if true }x%{ endif }",
    "${var.x}",
    "$${x}",
    "a\nb",
    "\nEOT\n",
    "EOT",
    "tab\tcr\r",
    "\u{1}\u{7f}\u{85}",
    "\u{2028}\u{feff}",
    "\\",
    "\\n",
    "é 🦀 ü",
    "#comment",
    "*x",
    "[x",
    "a: b",
    "- x",
    "yes",
    "null",
    "123",
    "-rf",
    ";touch PWNED;",
    "a&b|c>d<e",
    "!x",
    "~",
];

#[test]
fn bash_words_read_back_as_written() {
    let mut script = String::new();
    for s in HOSTILE {
        script.push_str(&format!(
            "printf '%s\\0' {}\n",
            portolan::render::value::sh_word(s)
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let words: Vec<&str> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .split_terminator('\0')
        .collect();
    assert_eq!(words, HOSTILE);
    assert_eq!(canaries(&[dir.path()]), Vec::<PathBuf>::new());
}

#[test]
fn hcl_and_yaml_strings_read_back_as_written() {
    use portolan::render::value::{hcl_string, yaml_key, yaml_string};
    for s in HOSTILE {
        let body = format!("x = {}\n", hcl_string(s));
        let value: std::collections::HashMap<String, String> =
            hcl::eval::from_str(&body, &hcl::eval::Context::new())
                .unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(value["x"], *s, "{body}");

        let yaml = format!("{}: {}\n", yaml_key(s), yaml_string(s));
        let value: std::collections::HashMap<String, String> =
            serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
        assert_eq!(value.get(*s).map(String::as_str), Some(*s), "{yaml}");
    }
}

#[test]
fn template_overrides_cannot_print_unescaped_text() {
    let text = "name: shop
services:
  web: { run: sleep 1, ports: { http: 3000 } }
apps:
  web: { target: web.http, display_name: \"a \\\"b\\\"\" }
";
    let templates = tempfile::tempdir().unwrap();
    // An override may print what the context escaped, and names.
    std::fs::write(
        templates.path().join("coder-apps.tf.j2"),
        "# {{ name }}\nvariable \"d\" {\n  default = {{ wildcard_domain_hcl }}\n}\n",
    )
    .unwrap();
    let arg = templates.path().to_str().unwrap();
    let r = Rendered::new("portolan.yaml", text, &["--templates", arg]).ok();
    assert!(r.read("coder-apps.tf").contains("default = \"\""));
    // Raw text, here built in the template from an escaped value, is refused.
    std::fs::write(
        templates.path().join("coder-apps.tf.j2"),
        "x = \"{{ apps[0].attributes[1] ~ '' }}\"\n",
    )
    .unwrap();
    let r = Rendered::new("portolan.yaml", text, &["--templates", arg]);
    assert_eq!(r.output.status.code(), Some(2), "{}", r.stderr());
    assert!(r.stderr().contains("coder-apps.tf.j2:1"), "{}", r.stderr());
    assert!(r.stderr().contains("without escaping"), "{}", r.stderr());
    assert_eq!(files_below(r.out.path()), Vec::<PathBuf>::new());
}
