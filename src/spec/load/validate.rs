//! Validating a parsed spec: names, services, apps, host ports, paths, env files and
//! references, each problem a located [`Diagnostic`]; and the lookups the spec answers
//! (`service.port` targets, app slugs, references).

use std::collections::HashMap;

use super::did_you_mean;
use super::grammar::{
    env_file_value_fits, is_container_name, is_dns_name, is_safe_path, is_url_path,
    is_valid_service_name, normalized_path, reserved_secret_name, shell_syntax_error, shown,
    slugify, DNS_LABEL_MAX, MIN_ROOM_FOR_WORKSPACE_AND_OWNER, RESERVED_FOLDERS, RESERVED_PATHS,
};
use super::{is_valid_env_name, is_valid_slug};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};
use crate::spec::reference::{self, Part, RefKind};
use crate::spec::{Generator, Located, Spec};

pub(super) struct Validator<'a> {
    spec: &'a Spec,
    file: FileId,
    text: &'a str,
    /// The spec's own file name, which no env file may take.
    spec_file: &'a str,
    out: Vec<Diagnostic>,
}

impl<'a> Validator<'a> {
    pub(super) fn new(spec: &'a Spec, file: FileId, text: &'a str, spec_file: &'a str) -> Self {
        Validator {
            spec,
            file,
            text,
            spec_file,
            out: Vec::new(),
        }
    }

    fn span<T>(&self, located: &Located<T>) -> Span {
        located.span(self.file)
    }

    fn error<T>(&mut self, at: &Located<T>, message: impl Into<String>) -> &mut Diagnostic {
        let span = self.span(at);
        self.out.push(Diagnostic::error(span, message));
        self.out.last_mut().expect("just pushed")
    }

    fn warning<T>(&mut self, at: &Located<T>, message: impl Into<String>) -> &mut Diagnostic {
        let span = self.span(at);
        self.out.push(Diagnostic::warning(span, message));
        self.out.last_mut().expect("just pushed")
    }

    pub(super) fn run(mut self) -> Vec<Diagnostic> {
        self.names();
        self.services();
        self.container_names();
        self.apps();
        self.host_ports();
        self.paths();
        self.workspace_settings();
        self.env_files();
        self.references();
        self.steps();
        self.out
    }

    fn names(&mut self) {
        let spec = self.spec;
        if !is_valid_service_name(&spec.name) {
            self.error(
                &spec.name,
                format!(
                    "project name {} must be lowercase letters, digits, `-` or `_`, starting with a letter or digit (it names the compose project)",
                    shown(&spec.name)
                ),
            );
        }
        let agent = &spec.coder.agent;
        if !is_valid_slug(&agent.to_ascii_lowercase()) {
            self.error(
                agent,
                format!(
                    "agent name {} is not accepted by Coder: it must match ^[a-z0-9](-?[a-z0-9])*$ (no underscores)",
                    shown(agent)
                ),
            );
        } else if !agent.starts_with(|c: char| c.is_ascii_alphabetic()) {
            self.error(
                agent,
                format!(
                    "agent name `{}` must start with a letter: it names the Terraform resource `coder_agent.{}`",
                    agent.value, agent.value
                ),
            );
        }
        if let Some(domain) = &spec.coder.wildcard_domain {
            if domain.starts_with("*.") || domain.contains("://") || domain.contains('/') {
                let fixed = domain
                    .trim_start_matches("https://")
                    .trim_start_matches("http://")
                    .trim_start_matches("*.")
                    .trim_end_matches('/');
                self.error(
                    domain,
                    format!("wildcard_domain is a bare domain: write `{fixed}`"),
                );
            } else if !is_dns_name(domain) {
                self.error(
                    domain,
                    format!(
                        "wildcard_domain {} is not a DNS name: labels of letters, digits and `-` joined by `.`, optionally with `:PORT`",
                        shown(domain)
                    ),
                );
            }
        }
    }

    fn services(&mut self) {
        let spec = self.spec;
        for (name, service) in &spec.services {
            if !is_valid_service_name(name) {
                self.error(
                    name,
                    format!(
                        "service name {} must be lowercase letters, digits, `-` or `_`, starting with a letter or digit (compose's grammar, lowercase so that it is also a host name)",
                        shown(name)
                    ),
                );
            }
            match (&service.image, &service.run) {
                (Some(_), Some(run)) => {
                    self.error(run, format!("service `{}` has both `image` and `run`; a service is either a compose container or a process", name.value));
                }
                (None, None) => {
                    self.error(name, format!("service `{}` needs `image` (a compose container) or `run` (a process the start script runs)", name.value));
                }
                _ => {}
            }
            if let Some(run) = &service.run {
                self.run_is_complete(&name.value, run);
                for (field, present) in [
                    ("command", service.command.is_some()),
                    ("entrypoint", service.entrypoint.is_some()),
                    ("volumes", !service.volumes.is_empty()),
                    ("depends_on", !service.depends_on.is_empty()),
                    ("container_name", service.container_name.is_some()),
                ] {
                    if present {
                        self.error(
                            name,
                            format!(
                                "`{field}` applies to compose services; `{}` is a `run` process",
                                name.value
                            ),
                        );
                    }
                }
            } else if let Some(workdir) = &service.workdir {
                self.error(workdir, "`workdir` applies to `run` processes; use the image's own working dir for compose services");
            }
            for (port_name, port) in &service.ports {
                if port.container() == 0 || port.host() == 0 {
                    self.error(
                        port,
                        format!(
                            "port `{}.{}` must be between 1 and 65535",
                            name.value, port_name.value
                        ),
                    );
                }
            }
            if let Some(health) = &service.healthcheck {
                match &health.port {
                    Some(port) if !service.ports.contains_key(port.as_str()) => {
                        let names: Vec<&str> = service.ports.keys().map(|k| k.as_str()).collect();
                        let hint = hint(port, &names);
                        self.error(
                            port,
                            format!(
                                "healthcheck port `{}` is not a port of service `{}`{hint}",
                                port.value, name.value
                            ),
                        );
                    }
                    Some(_) => {}
                    None if health.command.is_none() => {
                        self.error(name, format!("the healthcheck of `{}` needs a `port` (an HTTP check) or a `command` (compose services)", name.value));
                    }
                    None => {
                        if let Some(path) = &health.path {
                            self.error(path, "a healthcheck `path` needs a `port`");
                        }
                    }
                }
                if let Some(path) = &health.path {
                    if !path.starts_with('/') {
                        self.error(path, "healthcheck path must start with `/`");
                    } else if !is_url_path(path) {
                        self.url_path_error(path, "healthcheck path");
                    }
                }
                if service.run.is_some() {
                    if let Some(command) = &health.command {
                        self.error(command, "healthcheck `command` runs inside a container; a `run` process has none");
                    }
                }
            }
            for dep in &service.depends_on {
                match spec.services.get(dep.as_str()) {
                    Some(target) if target.is_compose() => {}
                    Some(_) => {
                        self.error(dep, format!("`{}` is a `run` process; compose `depends_on` can only name compose services", dep.value));
                    }
                    None => {
                        let names: Vec<&str> = spec.services.keys().map(|k| k.as_str()).collect();
                        let hint = hint(dep, &names);
                        self.error(
                            dep,
                            format!("depends_on names unknown service `{}`{hint}", dep.value),
                        );
                    }
                }
            }
        }
    }

    /// Container names as Docker accepts them, one container each.
    fn container_names(&mut self) {
        let mut seen: HashMap<&str, (&str, &Located<String>)> = HashMap::new();
        for (name, service) in &self.spec.services {
            let Some(container) = &service.container_name else {
                continue;
            };
            if !is_container_name(container) {
                self.error(
                    container,
                    format!(
                        "container_name {} of `{}` is not accepted by Docker: it must match [a-zA-Z0-9][a-zA-Z0-9_.-]*",
                        shown(container),
                        name.value
                    ),
                );
            } else if let Some((first, at)) =
                seen.insert(container.as_str(), (name.as_str(), container))
            {
                let first_span = self.span(at);
                self.error(
                    container,
                    format!(
                        "container_name `{}` of `{}` is already the container name of `{first}`; Docker runs one container per name",
                        container.value, name.value
                    ),
                )
                .related
                .push(crate::diagnostic::Label::new(
                    first_span,
                    format!("`{first}` takes it here"),
                ));
            }
        }
    }

    /// The compose file's path: inside the output folder, a YAML name, none of portolan's other
    /// files. Its normalised form, when valid, for the env file checks.
    fn compose_file(&mut self) -> Option<String> {
        let file = self.spec.compose.file.as_ref()?;
        if !self.spec.services.values().any(|s| s.is_compose()) {
            self.warning(
                file,
                "no service has an `image`, so no compose file is rendered; `compose.file` has nothing to name",
            );
        }
        if file.starts_with('/') {
            self.error(
                file,
                format!(
                    "compose file `{}` is absolute; it must be a path relative to the output folder, inside it",
                    file.value
                ),
            );
            return None;
        }
        if !is_safe_path(file) || file.ends_with('/') {
            self.error(
                file,
                format!(
                    "compose file {} must be a path relative to the output folder, of letters, digits and `/._-+@`",
                    shown(file)
                ),
            );
            return None;
        }
        let Some(normalized) = normalized_path(file) else {
            self.error(
                file,
                format!(
                    "compose file `{}` leaves the output folder (`..`); it must be relative to it, inside it",
                    file.value
                ),
            );
            return None;
        };
        let first = normalized.split('/').next().unwrap_or("");
        let name = normalized.rsplit('/').next().unwrap_or("");
        if !(name.ends_with(".yml") || name.ends_with(".yaml")) || name.starts_with('.') {
            self.error(
                file,
                format!(
                    "compose file `{}` must be named `NAME.yml` or `NAME.yaml`",
                    file.value
                ),
            );
        } else if (RESERVED_PATHS.contains(&first) && normalized != "docker-compose.yml")
            || RESERVED_FOLDERS.contains(&first)
            || (!self.spec_file.is_empty() && first == self.spec_file.to_ascii_lowercase())
        {
            self.error(
                file,
                format!(
                    "compose file `{}` is a file portolan writes or keeps state in, or the spec itself; choose another name",
                    file.value
                ),
            );
        } else {
            return Some(normalized);
        }
        None
    }

    fn apps(&mut self) {
        let spec = self.spec;
        let agent = spec.coder.agent.to_ascii_lowercase();
        let mut targets: HashMap<&str, &Located<String>> = HashMap::new();
        for (slug, app) in &spec.apps {
            if !is_valid_slug(slug) {
                let suggestion = slugify(slug);
                let d = self.error(
                    slug,
                    format!(
                        "invalid app slug {}: Coder requires ^[a-z0-9](-?[a-z0-9])*$",
                        shown(slug)
                    ),
                );
                if !suggestion.is_empty() {
                    d.help = Some(format!("use `{suggestion}`"));
                }
            } else {
                let prefix = if spec.coder.agent_in_host {
                    slug.len() + 2 + agent.len() + 2
                } else {
                    slug.len() + 2
                };
                let room = DNS_LABEL_MAX.saturating_sub(prefix + 2);
                if room < MIN_ROOM_FOR_WORKSPACE_AND_OWNER {
                    self.warning(slug, format!(
                        "slug `{}` leaves {room} characters of Coder's {DNS_LABEL_MAX}-character host label for workspace and owner names; longer names get a hashed host that URLs built in scripts cannot match",
                        slug.value
                    )).help = Some("use a shorter slug".to_owned());
                }
            }
            match self.spec.port(&app.target) {
                Ok(_) => {
                    if let Some(first) = targets.insert(app.target.as_str(), slug) {
                        let first = first.value.clone();
                        self.warning(
                            &app.target,
                            format!(
                                "apps `{first}` and `{}` both open `{}`",
                                slug.value, app.target.value
                            ),
                        );
                    }
                }
                Err(message) => {
                    self.error(&app.target, message);
                }
            }
            if app.hidden {
                for (field, present) in [
                    ("display_name", app.display_name.is_some()),
                    ("icon", app.icon.is_some()),
                    ("order", app.order.is_some()),
                ] {
                    if present {
                        self.warning(slug, format!("app `{}` is hidden, so its `{field}` is never shown (the Coder provider warns about this)", slug.value));
                    }
                }
            }
            if let Some(health) = &app.healthcheck {
                if !health.starts_with('/') {
                    self.error(health, "app healthcheck is a path and must start with `/`");
                } else if !is_url_path(health) {
                    self.url_path_error(health, "app healthcheck");
                }
            }
            for (field, value) in [("display_name", &app.display_name), ("group", &app.group)] {
                if let Some(value) = value {
                    if value.chars().count() > 64 {
                        self.error(
                            value,
                            format!(
                                "`{field}` is {} characters; Coder allows at most 64",
                                value.chars().count()
                            ),
                        );
                    }
                }
            }
        }
    }

    /// Host ports share one localhost: compose publishes them and `run` processes listen on them.
    fn host_ports(&mut self) {
        let mut seen: HashMap<u16, String> = HashMap::new();
        for (service, def) in &self.spec.services {
            for (name, port) in &def.ports {
                let here = format!("{}.{}", service.value, name.value);
                if let Some(first) = seen.insert(port.host(), here.clone()) {
                    self.error(
                        port,
                        format!(
                            "`{here}` uses localhost port {} which `{first}` already uses",
                            port.host()
                        ),
                    );
                }
            }
        }
    }

    /// A `run` is shell code the start script places between `(` and `) &`: it must be complete
    /// code, or it could end that subshell early (and run the rest as the script itself) or break
    /// the whole script.
    fn run_is_complete(&mut self, service: &str, run: &Located<String>) {
        self.code_is_complete(&format!("`run` of `{service}`"), run, "`( run ) &`");
    }

    /// Shell code the start script places inside its own code (`inside` shows how) must be
    /// complete code, or it could end that construct early.
    fn code_is_complete(&mut self, what: &str, run: &Located<String>, inside: &str) {
        let code = crate::render::value::shell_code(&crate::render::value::resolve(self.spec, run));
        let Some((range, why)) = shell_syntax_error(&code) else {
            return;
        };
        // Point into the value when the file holds it as written (a plain scalar without
        // references); else at the whole value.
        let as_written = self.text.get(run.start as usize..run.end as usize) == Some(code.as_str());
        let at = if as_written {
            Located {
                value: (),
                start: run.start + range.start as u32,
                end: run.start + range.end as u32,
            }
        } else {
            Located {
                value: (),
                start: run.start,
                end: run.end,
            }
        };
        self.error(
            &at,
            format!(
                "{what} is not a complete shell command: {why} (the start script runs it as {inside})"
            ),
        );
    }

    fn url_path_error(&mut self, path: &Located<String>, field: &str) {
        self.error(
            path,
            format!(
                "{field} {} is not a URL path: `/` then letters, digits and `-._~/:@+,;=&?`, other characters as `%HH`",
                shown(path)
            ),
        );
    }

    /// The `--full` template's settings: the repository URL's grammar, what the IDE module takes
    /// (its slug and port), and the project folder a dind sidecar shares.
    fn workspace_settings(&mut self) {
        use crate::spec::{DockerMode, Ide, CODE_SERVER_PORT, CODE_SERVER_SLUG};
        let spec = self.spec;
        if let Some(repo) = &spec.coder.repo {
            let scheme = ["https://", "http://", "ssh://", "git@"]
                .iter()
                .find(|s| repo.starts_with(**s));
            let rest = scheme.map_or("", |s| &repo[s.len()..]);
            let fits = repo.chars().all(|c| c.is_ascii_graphic())
                && !repo.contains(['"', '\\', '\'', '`', '$'])
                && !rest.is_empty()
                && rest
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric());
            if !fits {
                self.error(
                    repo,
                    format!(
                        "coder.repo {} is not a git URL: `https://`, `http://`, `ssh://` or `git@host:path`, without spaces, quotes, `$` or backslashes",
                        shown(repo)
                    ),
                );
            }
        }
        if spec.coder.ide.value == Ide::CodeServer {
            if let Some(slug) = spec.apps.keys().find(|s| s.as_str() == CODE_SERVER_SLUG) {
                self.error(slug, format!("app slug `{CODE_SERVER_SLUG}` is the one `ide: code-server` gives its module's app; slugs are unique across a template"))
                    .help = Some("rename this app, or drop `ide: code-server` and keep your own".to_owned());
            }
            for (name, service) in &spec.services {
                for (port_name, port) in &service.ports {
                    if port.host() == CODE_SERVER_PORT {
                        self.error(port, format!("port {CODE_SERVER_PORT} of `{}.{}` is where `ide: code-server` starts code-server in the workspace", name.value, port_name.value))
                            .help = Some("use another host port here, or drop `ide: code-server`".to_owned());
                    }
                }
            }
        }
        if spec.coder.docker == DockerMode::Dind {
            if let Some(workdir) = spec.coder.workdir.as_ref().filter(|w| {
                !w.starts_with("/home/coder/") || w.trim_end_matches('/') == "/home/coder"
            }) {
                self.error(
                    workdir,
                    format!(
                        "coder.workdir {} is outside /home/coder, the home volume the `docker: dind` sidecar shares: compose's bind mounts would not find the project there",
                        shown(workdir)
                    ),
                )
                .help = Some("put the project folder under /home/coder, or use `docker: sysbox`".to_owned());
            }
        }
    }

    /// Paths reach the start script, the compose file and Terraform: each has a grammar of
    /// characters that mean the same everywhere, and env files stay clear of portolan's own files.
    fn paths(&mut self) {
        let spec = self.spec;
        if let Some(workdir) = &spec.coder.workdir {
            if !workdir.starts_with('/') || !is_safe_path(workdir) {
                self.error(
                    workdir,
                    format!(
                        "coder.workdir {} must be an absolute path of letters, digits and `/._-+@`",
                        shown(workdir)
                    ),
                );
            }
        }
        for (name, service) in &spec.services {
            if let Some(workdir) = &service.workdir {
                if workdir.starts_with('/') || !is_safe_path(workdir) {
                    self.error(workdir, format!(
                        "workdir {} of `{}` must be a path relative to the project folder, of letters, digits and `/._-+@`",
                        shown(workdir), name.value
                    ));
                }
            }
            for volume in &service.volumes {
                let Some((source, _)) = volume.split_once(':') else {
                    continue;
                };
                let bind = source.starts_with(['.', '/', '~']);
                let mut chars = source.chars();
                let named = matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
                    && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
                if !bind && !named {
                    self.error(volume, format!(
                        "volume {}: a named volume is letters, digits, `_`, `.` and `-`, starting with a letter or digit (compose's grammar); a bind mount starts with `./`, `/` or `~`",
                        shown(volume)
                    ));
                }
            }
        }
        let compose = self.compose_file();
        let mut seen: HashMap<String, &Located<String>> = HashMap::new();
        for path in self.spec.env_files.keys() {
            let normalized = normalized_path(path);
            if path.starts_with('/') || !is_safe_path(path) || path.ends_with('/') {
                self.error(
                    path,
                    format!(
                        "env file path {} must be relative to the project folder, of letters, digits and `/._-+@`, without `..`",
                        shown(path)
                    ),
                );
                continue;
            }
            let Some(normalized) = normalized else {
                self.error(
                    path,
                    format!(
                        "env file path `{}` must be relative to the project folder, without `..`",
                        path.value
                    ),
                );
                continue;
            };
            // A reserved file is reserved as a folder too: `main.tf/x.env` cannot exist beside it.
            let first = normalized.split('/').next().unwrap_or("");
            if RESERVED_PATHS.contains(&first) || RESERVED_FOLDERS.contains(&first) {
                self.error(
                    path,
                    format!(
                        "env file `{}` is a file portolan writes or keeps state in; choose another name",
                        path.value
                    ),
                );
            } else if normalized
                .rsplit('/')
                .next()
                .is_some_and(|name| name.starts_with(".portolan"))
            {
                self.error(
                    path,
                    format!(
                        "env file `{}` is named like portolan's own files (`.portolan…`), which render may clean up; choose another name",
                        path.value
                    ),
                );
            } else if !self.spec_file.is_empty() && first == self.spec_file.to_ascii_lowercase() {
                self.error(
                    path,
                    format!("env file `{}` would replace the spec itself (portolan writes every env file); choose another name", path.value),
                );
            } else if compose.as_deref().is_some_and(|c| {
                c == normalized
                    || c.starts_with(&format!("{normalized}/"))
                    || normalized.starts_with(&format!("{c}/"))
            }) {
                self.error(
                    path,
                    format!(
                        "env file `{}` and the compose file `{}` are the same file, or one would be the other's folder; choose another name",
                        path.value,
                        self.spec.compose_file()
                    ),
                );
            } else if let Some(first) = seen.insert(normalized, path) {
                let first = first.value.clone();
                self.error(
                    path,
                    format!("env files `{first}` and `{}` are the same file", path.value),
                );
            }
        }
        // One env file cannot be another's folder.
        let mut clashes = Vec::new();
        for (normalized, path) in &seen {
            let mut prefix = normalized.as_str();
            while let Some((folder, _)) = prefix.rsplit_once('/') {
                if let Some(file) = seen.get(folder) {
                    clashes.push((*path, file.value.clone()));
                }
                prefix = folder;
            }
        }
        clashes.sort_by_key(|(path, _)| path.start);
        for (path, file) in clashes {
            self.error(
                path,
                format!(
                    "env file `{}` would be inside env file `{file}`; a file cannot be a folder",
                    path.value
                ),
            );
        }
    }

    fn env_files(&mut self) {
        for keys in self.spec.env_files.values() {
            for (key, value) in keys {
                if !is_valid_env_name(key) {
                    self.error(
                        key,
                        format!(
                            "`{}` is not a valid variable name: ^[A-Za-z_][A-Za-z0-9_]*$",
                            key.value
                        ),
                    );
                }
                if let Err(why) = env_file_value_fits(&value.0) {
                    self.error(
                        value,
                        format!(
                            "`{}` cannot be written to an env file that bash, docker compose and python-dotenv read alike: {why}",
                            key.value
                        ),
                    );
                }
            }
        }
        for (service, def) in &self.spec.services {
            for key in def.env.keys() {
                if !is_valid_env_name(key) {
                    self.error(key, format!("`{}` in service `{}` is not a valid variable name: ^[A-Za-z_][A-Za-z0-9_]*$", key.value, service.value));
                }
            }
        }
        for name in self.spec.secrets.keys() {
            if !is_valid_env_name(name) {
                self.error(
                    name,
                    format!(
                        "secret `{}` must be a valid variable name: ^[A-Za-z_][A-Za-z0-9_]*$",
                        name.value
                    ),
                );
            } else if let Some(meaning) = reserved_secret_name(name) {
                self.error(
                    name,
                    format!(
                        "secret `{}` would be exported to docker compose and written to `.env`, where {meaning}; choose another name",
                        name.value
                    ),
                );
            }
        }
        self.key_sets();
    }

    /// A `jwks` secret names the `rsa_2048` secret it publishes with `key`; no other has `key`.
    fn key_sets(&mut self) {
        let spec = self.spec;
        let keys: Vec<&str> = spec
            .secrets
            .iter()
            .filter(|(_, s)| {
                s.generate
                    .as_ref()
                    .is_some_and(|g| g.value == Generator::Rsa2048)
            })
            .map(|(name, _)| name.as_str())
            .collect();
        for (name, secret) in &spec.secrets {
            let Some(generate) = &secret.generate else {
                if let Some(key) = &secret.key {
                    self.error(key, format!("`key` belongs to `generate: jwks`; secret `{}` is printed by its `run`", name.value));
                }
                continue;
            };
            match (generate.value, &secret.key) {
                (Generator::Jwks, None) => {
                    self.error(generate, format!("secret `{}` is a key set: name the `rsa_2048` secret it publishes with `key:`{}", name.value, match keys.as_slice() {
                        [] => String::new(),
                        known => format!(" (known: {})", known.join(", ")),
                    }));
                }
                (Generator::Jwks, Some(key)) if !keys.contains(&key.as_str()) => {
                    let message = if spec.secrets.contains_key(key.as_str()) {
                        format!("secret `{}` is not an RSA key (`generate: rsa_2048`): a key set publishes one", key.value)
                    } else {
                        format!("unknown secret `{}`{}", key.value, hint(key, &keys))
                    };
                    self.error(key, message);
                }
                (Generator::Jwks, Some(_)) | (_, None) => {}
                (_, Some(key)) => {
                    self.error(
                        key,
                        format!(
                            "`key` belongs to `generate: jwks`; secret `{}` is generated by `{}`",
                            name.value,
                            generator_name(generate.value)
                        ),
                    );
                }
            }
        }
    }

    /// Every `${kind:target}` in env values, env files, `run` and `command` must resolve, and
    /// every other `${` is refused: in a value it would reach the service as that very text. Only
    /// `run`, which is shell code, may hold the shell's own `${NAME}` expansions.
    fn references(&mut self) {
        let spec = self.spec;
        // (start, end, is shell code)
        // (start, end, is shell code, where a multi-line value cannot go)
        let mut values: Vec<(u32, u32, bool, Option<&str>)> = Vec::new();
        for service in spec.services.values() {
            let compose = service
                .is_compose()
                .then_some("a compose service's environment");
            values.extend(
                service
                    .env
                    .values()
                    .map(|v| (v.start, v.end, false, compose)),
            );
            if let Some(run) = &service.run {
                values.push((run.start, run.end, true, None));
            }
            if let Some(command) = &service.command {
                values.push((command.start, command.end, false, Some("a command line")));
            }
            if let Some(entrypoint) = &service.entrypoint {
                values.push((
                    entrypoint.start,
                    entrypoint.end,
                    false,
                    Some("a command line"),
                ));
            }
        }
        for keys in spec.env_files.values() {
            values.extend(
                keys.values()
                    .map(|v| (v.start, v.end, false, Some("an env file"))),
            );
        }
        for task in spec.tasks.values() {
            values.extend(task.env.values().map(|v| (v.start, v.end, false, None)));
            if let Some(run) = &task.run {
                values.push((run.start, run.end, true, None));
            }
            if let Some(set) = &task.set {
                values.push((set.command.start, set.command.end, true, None));
                values.extend(set.values.values().map(|v| (v.start, v.end, false, None)));
            }
        }
        for secret in spec.secrets.values() {
            if let Some(run) = &secret.run {
                values.push((run.start, run.end, true, None));
            }
        }
        for (start, end, is_code, no_multiline) in values {
            // Check the text as written, so that ranges map to the file.
            let Some(raw) = self.text.get(start as usize..end as usize) else {
                continue;
            };
            let parsed = reference::parse(raw);
            let at = |range: std::ops::Range<usize>| Located {
                value: (),
                start: start + range.start as u32,
                end: start + range.end as u32,
            };
            match parsed {
                Err(err) => {
                    self.error(&at(err.range), err.message);
                }
                Ok(parts) => {
                    for part in parts {
                        if let Part::Ref(r) = part {
                            if let Err(message) = spec.check_reference(r.kind, &r.target) {
                                self.error(&at(r.range), message);
                            } else if let (RefKind::Secret, Some(place)) = (r.kind, no_multiline) {
                                if spec.secrets.get(r.target.as_str()).is_some_and(|s| {
                                    s.generate.as_ref().is_some_and(|g| g.is_multiline())
                                }) {
                                    self.error(&at(r.range.clone()), format!("secret `{}` is a PEM key of several lines, which {place} cannot carry", r.target)).help = Some("pass it where a multi-line value survives: the `env` or `run` of a `run` service, or a deployment variable a task sets".to_owned());
                                }
                            }
                        }
                    }
                }
            }
            for stray in reference::stray_expansions(raw) {
                if is_code && stray.is_shell_parameter() {
                    continue;
                }
                let (message, help) = stray.explain();
                self.error(&at(stray.range), message).help = Some(help);
            }
        }
    }

    /// Command secrets, tasks and what waits: each names what it needs, every name it waits
    /// for exists, and nothing waits for itself, directly or through others.
    fn steps(&mut self) {
        let spec = self.spec;
        for (name, secret) in &spec.secrets {
            match (&secret.generate, &secret.run) {
                (Some(_), Some(run)) => {
                    self.error(run, format!("secret `{}` has both `generate` and `run`; it is either generated or printed by a command", name.value));
                }
                (None, None) => {
                    self.error(name, format!("secret `{}` needs `generate` (a generator) or `run` (a command that prints it)", name.value));
                }
                _ => {}
            }
            if secret.generate.is_some() {
                if let Some(exec) = &secret.exec {
                    self.error(exec, "`exec` applies to secrets made by `run`");
                }
                if let Some(after) = secret.after.first() {
                    self.error(after, "`after` applies to secrets made by `run`; a generated secret needs nothing");
                }
            }
            if let Some(run) = &secret.run {
                if secret.exec.is_none() {
                    self.code_is_complete(
                        &format!("`run` of secret `{}`", name.value),
                        run,
                        "`value=$(run)`",
                    );
                }
            }
            if let Some(exec) = &secret.exec {
                match spec.services.get(exec.as_str()) {
                    Some(service) if service.is_compose() => {}
                    Some(_) => {
                        self.error(exec, format!("`exec` runs the command inside a compose service's container; `{}` is a `run` process", exec.value));
                    }
                    None => {
                        let names: Vec<&str> = spec
                            .services
                            .iter()
                            .filter(|(_, s)| s.is_compose())
                            .map(|(k, _)| k.as_str())
                            .collect();
                        let hint = hint(exec, &names);
                        self.error(
                            exec,
                            format!(
                                "`exec` names unknown compose service `{}`{hint}",
                                exec.value
                            ),
                        );
                    }
                }
            }
        }
        for (name, task) in &spec.tasks {
            if !is_valid_service_name(name) {
                self.error(
                    name,
                    format!(
                        "task name {} must be lowercase letters, digits, `-` or `_`, starting with a letter or digit (it names the task's log file)",
                        shown(name)
                    ),
                );
            } else if let Some((service, _)) = spec.services.get_key_value(name.as_str()) {
                let service_span = self.span(service);
                self.error(
                    name,
                    format!(
                        "task `{}` has the name of a service; `after` could not tell them apart",
                        name.value
                    ),
                )
                .related
                .push(crate::diagnostic::Label::new(
                    service_span,
                    "the service is named here",
                ));
            }
            match (&task.run, &task.set) {
                (Some(run), Some(_)) => {
                    self.error(
                        run,
                        format!(
                            "task `{}` has both `run` and `set`; a task does one of them",
                            name.value
                        ),
                    );
                }
                (None, None) => {
                    self.error(name, format!("task `{}` needs `run` (a shell command) or `set` (values set with a command)", name.value));
                }
                _ => {}
            }
            if let Some(run) = &task.run {
                self.code_is_complete(&format!("`run` of task `{}`", name.value), run, "`( run )`");
            }
            if let Some(set) = &task.set {
                if set.command.contains(['\n', '#']) {
                    self.error(&set.command, format!("`set.command` of task `{}` is the start of one command line, which the start script ends with `NAME -- VALUE`: no line break and no `#`", name.value));
                }
                self.code_is_complete(
                    &format!("`set.command` of task `{}`", name.value),
                    &set.command,
                    "`command NAME -- VALUE`",
                );
                if set.values.is_empty() {
                    self.warning(
                        &set.command,
                        format!("task `{}` sets no values", name.value),
                    );
                }
                for key in set.values.keys() {
                    if !is_valid_env_name(key) {
                        self.error(key, format!("`{}` in task `{}` is not a valid variable name: ^[A-Za-z_][A-Za-z0-9_]*$", key.value, name.value));
                    }
                }
            }
            for key in task.env.keys() {
                if !is_valid_env_name(key) {
                    self.error(key, format!("`{}` in task `{}` is not a valid variable name: ^[A-Za-z_][A-Za-z0-9_]*$", key.value, name.value));
                }
            }
            if let Some(workdir) = &task.workdir {
                if workdir.starts_with('/') || !is_safe_path(workdir) {
                    self.error(workdir, format!(
                        "workdir {} of task `{}` must be a path relative to the project folder, of letters, digits and `/._-+@`",
                        shown(workdir), name.value
                    ));
                }
            }
        }
        for (name, secret) in &spec.secrets {
            if !secret.is_command() {
                continue;
            }
            if spec.services.contains_key(name.as_str()) || spec.tasks.contains_key(name.as_str()) {
                self.error(name, format!("secret `{}` has the name of a service or task; `after` could not tell them apart", name.value));
            }
        }
        for (name, service) in &spec.services {
            if service.is_compose() {
                if let Some(after) = service.after.first() {
                    self.error(after, format!("`after` applies to `run` processes; compose service `{}` starts with compose (use `depends_on`)", name.value));
                }
                let mut texts: Vec<&str> = service.env.values().map(|v| v.0.as_str()).collect();
                for command in [&service.command, &service.entrypoint]
                    .into_iter()
                    .flatten()
                {
                    match &command.value {
                        crate::spec::CommandSpec::Shell(s) => texts.push(s),
                        crate::spec::CommandSpec::Args(args) => {
                            texts.extend(args.iter().map(String::as_str))
                        }
                    }
                }
                for secret in crate::spec::steps::command_secrets_in(spec, texts) {
                    self.error(name, format!("compose service `{}` uses secret `{secret}`, which a command makes after compose has started the services; only env files, tasks and `run` processes can use it", name.value));
                }
            }
        }
        let steps = crate::spec::steps::steps(spec);
        let mut known: Vec<&str> = spec.services.keys().map(|k| k.as_str()).collect();
        known.extend(
            steps
                .iter()
                .filter(|s| s.kind != crate::spec::steps::StepKind::Process)
                .map(|s| s.name.as_str()),
        );
        let mut unknown = false;
        for step in &steps {
            for (wait, at) in &step.waits {
                let Some(at) = at else { continue };
                if known.contains(&wait.as_str()) {
                    continue;
                }
                unknown = true;
                if spec.secrets.contains_key(wait.as_str()) {
                    self.error(*at, format!("`{wait}` is a generated secret, made before anything starts: there is nothing to wait for"));
                } else if step.kind == crate::spec::steps::StepKind::Secret
                    && Some(*at)
                        == spec
                            .secrets
                            .get(step.name.as_str())
                            .and_then(|s| s.exec.as_ref())
                {
                    // `exec` names a service: reported above.
                } else {
                    let hint = hint(wait, &known);
                    self.error(
                        *at,
                        format!("`after` of {} `{}` names `{wait}`, which is no service, task or command secret{hint}", step.kind.as_str(), step.name.value),
                    );
                }
            }
        }
        if unknown {
            return;
        }
        if let Err(cycle) = crate::spec::steps::order(&steps) {
            let Some(first) = cycle.first() else { return };
            let Some(step) = steps.iter().find(|s| s.name.as_str() == first) else {
                return;
            };
            let path: Vec<String> = cycle.iter().map(|n| format!("`{n}`")).collect();
            self.error(
                step.name,
                format!(
                    "{} `{}` waits for itself: {}",
                    step.kind.as_str(),
                    step.name.value,
                    path.join(" → ")
                ),
            )
            .help = Some("remove one of the waits on this path (an `after`, an `exec` or a `${secret:...}` of a command secret)".to_owned());
        }
    }
}

/// A generator as the spec writes it.
fn generator_name(generator: Generator) -> &'static str {
    match generator {
        Generator::Hex16 => "hex16",
        Generator::Hex32 => "hex32",
        Generator::Base64_32 => "base64_32",
        Generator::Rsa2048 => "rsa_2048",
        Generator::Jwks => "jwks",
    }
}

fn hint(word: &str, candidates: &[&str]) -> String {
    match did_you_mean(word, candidates.iter().copied()) {
        Some(best) => format!("; did you mean `{best}`?"),
        None if !candidates.is_empty() => format!(" (known: {})", candidates.join(", ")),
        None => String::new(),
    }
}

impl Spec {
    /// Looks up a `service.port` target.
    pub fn port(
        &self,
        target: &str,
    ) -> Result<(&Located<String>, &Located<String>, crate::spec::PortSpec), String> {
        let Some((service_name, port_name)) = target.split_once('.') else {
            return Err(format!("`{target}` is not `service.port`"));
        };
        let Some((service_key, service)) = self.services.get_key_value(service_name) else {
            let names: Vec<&str> = self.services.keys().map(|k| k.as_str()).collect();
            return Err(format!(
                "unknown service `{service_name}` in `{target}`{}",
                hint(service_name, &names)
            ));
        };
        let Some((port_key, port)) = service.ports.get_key_value(port_name) else {
            let names: Vec<&str> = service.ports.keys().map(|k| k.as_str()).collect();
            return Err(format!(
                "service `{service_name}` has no port `{port_name}`{}",
                hint(port_name, &names)
            ));
        };
        Ok((service_key, port_key, port.value))
    }

    /// The slug of the app whose target is `service.port`, or the slug itself if `target` is one.
    pub fn app_slug_for(&self, target: &str) -> Option<&str> {
        if self.apps.contains_key(target) {
            return self.apps.get_key_value(target).map(|(k, _)| k.as_str());
        }
        self.apps
            .iter()
            .find(|(_, app)| app.target.as_str() == target)
            .map(|(slug, _)| slug.as_str())
    }

    /// Whether a reference can be resolved; the error explains why not.
    pub fn check_reference(&self, kind: RefKind, target: &str) -> Result<(), String> {
        match kind {
            RefKind::Secret => {
                if self.secrets.contains_key(target) {
                    Ok(())
                } else {
                    let names: Vec<&str> = self.secrets.keys().map(|k| k.as_str()).collect();
                    Err(format!("unknown secret `{target}`{}", hint(target, &names)))
                }
            }
            RefKind::Origin => {
                if self.app_slug_for(target).is_some() {
                    return Ok(());
                }
                if target.contains('.') {
                    self.port(target)?;
                    Err(format!("`${{origin:{target}}}` needs an app whose target is `{target}`; add one under `apps`, or use `${{url:{target}}}` for the localhost URL"))
                } else {
                    let names: Vec<&str> = self.apps.keys().map(|k| k.as_str()).collect();
                    Err(format!("unknown app `{target}`{}", hint(target, &names)))
                }
            }
            RefKind::Port | RefKind::HostPort | RefKind::Url | RefKind::InternalUrl => {
                self.port(target).map(|_| ())
            }
            RefKind::Env => {
                if !is_valid_env_name(target) {
                    return Err(format!(
                        "`${{env:{target}}}` needs a variable name: ^[A-Za-z_][A-Za-z0-9_]*$"
                    ));
                }
                if self.secrets.contains_key(target) {
                    return Err(format!("`{target}` is a secret of this spec, which the start script exports under that name; use `${{secret:{target}}}`, or pass through a variable of another name"));
                }
                match super::grammar::reserved_pass_through_name(target) {
                    Some(why) => Err(format!(
                        "`${{env:{target}}}` cannot be passed through: {why}"
                    )),
                    None => Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::source::SourceMap;

    /// The error messages of a spec made of `body` after a compose service, with the text each
    /// points at; empty when it loads.
    fn errors(body: &str) -> Vec<(String, String)> {
        let text = format!("name: t\nservices:\n  db:\n    image: postgres:16\n{body}");
        let mut sources = SourceMap::default();
        match crate::spec::load(Path::new("portolan.yaml"), &text, &mut sources) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .diagnostics
                .iter()
                .map(|d| {
                    let r = d.primary.span.range();
                    (d.message.clone(), text[r].to_owned())
                })
                .collect(),
        }
    }

    #[test]
    fn the_repository_is_a_git_url_the_template_can_hold() {
        let repo = |url: &str| errors(&format!("coder:\n  repo: {url}\n"));
        for good in [
            "https://github.com/example/notes.git",
            "http://git.local/notes",
            "ssh://git@git.local:2222/notes.git",
            "git@github.com:example/notes.git",
            "\"https://github.com/example/notes/tree/main?x=1#y\"",
        ] {
            assert_eq!(repo(good), vec![], "{good}");
        }
        for bad in [
            "github.com/example/notes",
            "https://",
            "git@",
            "https:///x",
            "ftp://host/x",
            "\"https://host/a b\"",
            "\"https://host/$(id)\"",
            "\"https://host/a\\\"b\"",
            "\"https://host/`id`\"",
        ] {
            let found = repo(bad);
            assert_eq!(found.len(), 1, "{bad}: {found:?}");
            assert!(found[0].0.contains("is not a git URL"), "{found:?}");
            assert_eq!(found[0].1, bad, "located at the value");
        }
    }

    #[test]
    fn the_ide_and_dind_settings_guard_what_they_take() {
        let ide = "coder:\n  ide: code-server\n";
        assert_eq!(errors(ide), vec![]);
        let port = errors(&format!("    ports:\n      pg: 13337\n{ide}"));
        assert_eq!(port.len(), 1, "{port:?}");
        assert!(port[0].0.contains("port 13337 of `db.pg`"), "{port:?}");
        assert_eq!(port[0].1, "13337");
        let host = errors(&format!(
            "    ports: {{ pg: {{ port: 5432, host: 13337 }} }}\n{ide}"
        ));
        assert_eq!(host.len(), 1, "{host:?}");
        // The container's own port 13337 published elsewhere takes nothing of the workspace's.
        assert_eq!(
            errors(&format!(
                "    ports: {{ pg: {{ port: 13337, host: 15432 }} }}\n{ide}"
            )),
            vec![]
        );
        let dind =
            |workdir: &str| errors(&format!("coder:\n  docker: dind\n  workdir: {workdir}\n"));
        assert_eq!(dind("/home/coder/notes"), vec![]);
        assert_eq!(dind("/home/coder/a/b"), vec![]);
        for outside in [
            "/workspace/notes",
            "/home/coder",
            "/home/coderx/notes",
            "/home/coder/",
        ] {
            let found = dind(outside);
            assert_eq!(found.len(), 1, "{outside}: {found:?}");
            assert!(found[0].0.contains("outside /home/coder"), "{found:?}");
        }
        // sysbox has no sidecar to share the folder with.
        assert_eq!(
            errors("coder:\n  docker: sysbox\n  workdir: /workspace/notes\n"),
            vec![]
        );
    }

    #[test]
    fn container_names_are_dockers_and_unique() {
        assert!(errors("    container_name: my_db.1-x\n").is_empty());
        for bad in ["-db", "my db", "db/1", "\"\"", "é"] {
            let found = errors(&format!("    container_name: {bad}\n"));
            assert_eq!(found.len(), 1, "{bad}: {found:?}");
            assert!(found[0].0.contains("not accepted by Docker"), "{found:?}");
        }
        let twice = "    container_name: pg\n  cache:\n    image: redis\n    container_name: pg\n";
        let found = errors(twice);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.contains("already the container name of `db`"));
        let run = "  web:\n    run: x\n    container_name: web\n";
        let found = errors(run);
        assert!(found[0]
            .0
            .contains("`container_name` applies to compose services"));
    }

    #[test]
    fn command_secrets_name_what_they_need_and_where_they_run() {
        assert!(errors("secrets:\n  KEY: { run: ./key.sh, exec: db }\n").is_empty());
        assert!(errors("secrets:\n  KEY: { run: echo k }\n").is_empty());
        for (body, why, at) in [
            (
                "secrets:\n  KEY: { generate: hex16, run: echo k }\n",
                "both `generate` and `run`",
                "echo k",
            ),
            ("secrets:\n  KEY: {}\n", "needs `generate`", "KEY"),
            (
                "secrets:\n  KEY: { run: k, exec: dv }\n",
                "unknown compose service `dv`; did you mean `db`?",
                "dv",
            ),
            (
                "  web: { run: x }\nsecrets:\n  KEY: { run: k, exec: web }\n",
                "`web` is a `run` process",
                "web",
            ),
            (
                "secrets:\n  KEY: { generate: hex16, exec: db }\n",
                "`exec` applies to secrets made by `run`",
                "db",
            ),
            (
                "secrets:\n  KEY: { run: 'echo )' }\n",
                "not a complete shell command",
                "'echo )'",
            ),
            (
                "secrets:\n  KEY: { run: k, after: [S] }\n  S: { generate: hex16 }\n",
                "generated secret",
                "S",
            ),
        ] {
            let found = errors(body);
            assert_eq!(found.len(), 1, "{body}: {found:?}");
            assert!(found[0].0.contains(why), "{body}: {found:?}");
            assert_eq!(found[0].1, at, "{body}: {found:?}");
        }
    }

    #[test]
    fn compose_starts_before_command_secrets_and_has_no_after() {
        let found = errors("    environment: {}\n");
        assert!(!found.is_empty(), "unknown field: {found:?}");
        let uses = "    env: { K: '${secret:KEY}' }\nsecrets:\n  KEY: { run: k }\n";
        let found = errors(uses);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0]
            .0
            .contains("which a command makes after compose has started"));
        let found = errors("    after: [db]\n");
        assert!(found[0].0.contains("`after` applies to `run` processes"));
        // A process that uses it waits for it: no error.
        assert!(
            errors("  web: { run: 'x ${secret:KEY}' }\nsecrets:\n  KEY: { run: k }\n").is_empty()
        );
    }

    #[test]
    fn tasks_are_named_apart_from_services() {
        let found = errors("tasks:\n  db: { run: x }\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].0.contains("has the name of a service"),
            "{found:?}"
        );
        let found = errors("tasks:\n  Deploy: { run: x }\n");
        assert!(found[0].0.contains("task name `Deploy`"), "{found:?}");
        let found = errors("tasks:\n  t: { run: x, workdir: /abs }\n");
        assert!(
            found[0].0.contains("workdir `/abs` of task `t`"),
            "{found:?}"
        );
        let found = errors("tasks:\n  t: { set: { command: c, values: { 1X: v } } }\n");
        assert!(
            found[0].0.contains("not a valid variable name"),
            "{found:?}"
        );
        let found = errors("tasks:\n  t: { set: { command: 'c # x', values: { A: v } } }\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.contains("no line break and no `#`"), "{found:?}");
        let found = errors("tasks:\n  t: { run: 'x ${secret:NOPE}' }\n");
        assert!(found[0].0.contains("unknown secret `NOPE`"), "{found:?}");
    }

    #[test]
    fn the_compose_file_stays_in_the_output_folder() {
        for good in [
            "docker-compose.convex.yml",
            "infra/compose.yml",
            "./compose.yaml",
            "docker-compose.yml",
        ] {
            let found = errors(&format!("compose: {{ file: {good} }}\n"));
            assert!(found.is_empty(), "{good}: {found:?}");
        }
        for (bad, why) in [
            ("../compose.yml", "leaves the output folder"),
            ("infra/../../c.yml", "leaves the output folder"),
            ("/srv/compose.yml", "is absolute"),
            ("my compose.yml", "must be a path relative"),
            ("infra/", "must be a path relative"),
            ("compose.txt", "`NAME.yml` or `NAME.yaml`"),
            (".yml", "`NAME.yml` or `NAME.yaml`"),
            ("main.tf/c.yml", "a file portolan writes"),
            (".portolan/c.yml", "a file portolan writes"),
            ("portolan.yaml", "the spec itself"),
        ] {
            let found = errors(&format!("compose: {{ file: \"{bad}\" }}\n"));
            assert_eq!(found.len(), 1, "{bad}: {found:?}");
            assert!(found[0].0.contains(why), "{bad}: {found:?}");
            assert!(
                found[0].1.contains(bad),
                "{bad}: points at {:?}",
                found[0].1
            );
        }
    }

    #[test]
    fn a_compose_file_without_compose_services_is_a_warning() {
        let text = "name: t\ncompose: { file: c.yml }\nservices:\n  web: { run: x }\n";
        let mut sources = SourceMap::default();
        let loaded = crate::spec::load(Path::new("portolan.yaml"), text, &mut sources).unwrap();
        assert_eq!(loaded.warnings.len(), 1);
        assert!(loaded.warnings[0]
            .message
            .contains("no compose file is rendered"));
        assert_eq!(&text[loaded.warnings[0].primary.span.range()], "c.yml");
    }

    #[test]
    fn env_files_keep_clear_of_the_compose_file() {
        let spec = |env: &str| {
            format!("compose: {{ file: infra/compose.yml }}\nenv_files:\n  {env}: {{ A: b }}\n")
        };
        assert!(errors(&spec("web/.env.local")).is_empty());
        assert!(errors(&spec("infra/.env")).is_empty());
        for bad in [
            "infra/compose.yml",
            "infra/compose.yml/x.env",
            "Infra/Compose.yml",
        ] {
            let found = errors(&spec(bad));
            assert_eq!(found.len(), 1, "{bad}: {found:?}");
            assert!(found[0].0.contains("the compose file"), "{found:?}");
        }
        let found = errors("compose: { file: web/.env/c.yml }\nenv_files:\n  web/.env: { A: b }\n");
        assert!(found[0].0.contains("the compose file"), "{found:?}");
    }
}
