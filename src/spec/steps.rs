//! What the start script does after the services are up: command secrets, tasks and `run`
//! processes that wait (`after`), each a step that waits for services and other steps.
//!
//! [`steps`] lists them with what each waits for; [`order`] puts them in an order where every
//! step comes after what it waits for, or names a cycle.

use super::reference::{self, Part, RefKind};
use super::{Located, Spec};

/// What a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// A secret a command prints.
    Secret,
    Task,
    /// A `run` process that waits for something.
    Process,
}

impl StepKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::Secret => "secret",
            StepKind::Task => "task",
            StepKind::Process => "service",
        }
    }
}

/// One step and the names it waits for, each with where the spec says so (none when implied
/// by a `${secret:...}` reference).
#[derive(Debug, Clone)]
pub struct Step<'a> {
    pub kind: StepKind,
    pub name: &'a Located<String>,
    pub waits: Vec<(String, Option<&'a Located<String>>)>,
}

/// The command secrets referenced in `texts`, in order, each once.
pub fn command_secrets_in<'s>(
    spec: &Spec,
    texts: impl IntoIterator<Item = &'s str>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for text in texts {
        let Ok(parts) = reference::parse(text) else {
            continue;
        };
        for part in parts {
            if let Part::Ref(r) = part {
                let is_command = r.kind == RefKind::Secret
                    && spec
                        .secrets
                        .get(r.target.as_str())
                        .is_some_and(|s| s.is_command());
                if is_command && !out.contains(&r.target) {
                    out.push(r.target);
                }
            }
        }
    }
    out
}

/// The texts of a service whose references the start script expands for a process.
fn service_texts(service: &super::Service) -> Vec<&str> {
    let mut texts: Vec<&str> = service.env.values().map(|v| v.0.as_str()).collect();
    texts.extend(service.run.as_ref().map(|r| r.as_str()));
    texts
}

/// The texts of a task whose references the start script expands.
pub fn task_texts(task: &super::Task) -> Vec<&str> {
    let mut texts: Vec<&str> = task.env.values().map(|v| v.0.as_str()).collect();
    texts.extend(task.run.as_ref().map(|r| r.as_str()));
    if let Some(set) = &task.set {
        texts.push(set.command.as_str());
        texts.extend(set.values.values().map(|v| v.0.as_str()));
    }
    texts
}

/// Whether a `run` process waits for something, so that the start script starts it after the
/// services are up rather than with them.
pub fn is_late_process(spec: &Spec, service: &super::Service) -> bool {
    service.run.is_some()
        && (!service.after.is_empty()
            || !command_secrets_in(spec, service_texts(service)).is_empty())
}

/// Every step in spec order: command secrets, then tasks, then waiting processes.
pub fn steps(spec: &Spec) -> Vec<Step<'_>> {
    fn add<'a>(
        waits: &mut Vec<(String, Option<&'a Located<String>>)>,
        name: String,
        at: Option<&'a Located<String>>,
    ) {
        if !waits.iter().any(|(n, _)| *n == name) {
            waits.push((name, at));
        }
    }
    let mut out = Vec::new();
    for (name, secret) in &spec.secrets {
        if !secret.is_command() {
            continue;
        }
        let mut waits = Vec::new();
        if let Some(exec) = &secret.exec {
            add(&mut waits, exec.value.clone(), Some(exec));
        }
        for after in &secret.after {
            add(&mut waits, after.value.clone(), Some(after));
        }
        for s in command_secrets_in(spec, secret.run.as_ref().map(|r| r.as_str())) {
            add(&mut waits, s, None);
        }
        out.push(Step {
            kind: StepKind::Secret,
            name,
            waits,
        });
    }
    for (name, task) in &spec.tasks {
        let mut waits = Vec::new();
        for after in &task.after {
            add(&mut waits, after.value.clone(), Some(after));
        }
        for s in command_secrets_in(spec, task_texts(task)) {
            add(&mut waits, s, None);
        }
        out.push(Step {
            kind: StepKind::Task,
            name,
            waits,
        });
    }
    for (name, service) in &spec.services {
        if !is_late_process(spec, service) {
            continue;
        }
        let mut waits = Vec::new();
        for after in &service.after {
            add(&mut waits, after.value.clone(), Some(after));
        }
        for s in command_secrets_in(spec, service_texts(service)) {
            add(&mut waits, s, None);
        }
        out.push(Step {
            kind: StepKind::Process,
            name,
            waits,
        });
    }
    out
}

/// The steps in an order where each comes after the steps it waits for, earlier in the spec
/// first among those that are ready; or the names of a cycle, its first step repeated last.
/// Names that are no step (services started with compose, processes that wait for nothing,
/// unknown names) are taken as ready.
pub fn order<'a>(steps: &'a [Step<'a>]) -> Result<Vec<&'a Step<'a>>, Vec<String>> {
    let index = |name: &str| steps.iter().position(|s| s.name.as_str() == name);
    let mut done = vec![false; steps.len()];
    let mut out = Vec::new();
    while out.len() < steps.len() {
        let next = (0..steps.len()).find(|&i| {
            !done[i]
                && steps[i]
                    .waits
                    .iter()
                    .all(|(w, _)| index(w).is_none_or(|j| done[j]))
        });
        match next {
            Some(i) => {
                done[i] = true;
                out.push(&steps[i]);
            }
            None => return Err(cycle(steps, &done)),
        }
    }
    Ok(out)
}

/// A cycle among the steps not done: from the first of them, follow a wait not done until a
/// step repeats.
fn cycle(steps: &[Step<'_>], done: &[bool]) -> Vec<String> {
    let index = |name: &str| steps.iter().position(|s| s.name.as_str() == name);
    let Some(mut at) = (0..steps.len()).find(|&i| !done[i]) else {
        return Vec::new();
    };
    let mut path: Vec<usize> = Vec::new();
    loop {
        if let Some(pos) = path.iter().position(|&p| p == at) {
            let mut names: Vec<String> = path[pos..]
                .iter()
                .map(|&i| steps[i].name.value.clone())
                .collect();
            names.push(steps[at].name.value.clone());
            return names;
        }
        path.push(at);
        let Some(next) = steps[at]
            .waits
            .iter()
            .filter_map(|(w, _)| index(w))
            .find(|&j| !done[j])
        else {
            return Vec::new();
        };
        at = next;
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::source::SourceMap;

    fn parse(text: &str) -> Spec {
        let mut sources = SourceMap::default();
        crate::spec::load(Path::new("portolan.yaml"), text, &mut sources)
            .map(|l| l.spec)
            .unwrap_or_else(|e| panic!("{:?}", e.diagnostics))
    }

    #[test]
    fn steps_come_after_what_they_wait_for_and_keep_spec_order_otherwise() {
        let spec = parse(
            "name: t\nservices:\n  db: { image: postgres }\n  web: { run: x, after: [deploy] }\n\
             secrets:\n  KEY: { run: echo k, exec: db }\n  S: { generate: hex16 }\n\
             tasks:\n  deploy: { after: [env], run: d }\n  env: { run: 'e ${secret:KEY}' }\n  \
             other: { run: o }\n",
        );
        let all = steps(&spec);
        let names: Vec<&str> = order(&all)
            .unwrap()
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(names, ["KEY", "env", "deploy", "other", "web"]);
        let env = all.iter().find(|s| s.name.as_str() == "env").unwrap();
        assert_eq!(env.waits.len(), 1);
        assert!(env.waits[0].1.is_none(), "implied by the reference");
    }

    #[test]
    fn a_cycle_is_named_from_its_first_step() {
        let spec = "name: t\ntasks:\n  a: { run: a, after: [b] }\n  b: { run: b, after: [c] }\n  c: { run: c, after: [b] }\n";
        let mut sources = SourceMap::default();
        let err = crate::spec::load(Path::new("portolan.yaml"), spec, &mut sources).unwrap_err();
        let messages: Vec<&str> = err.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(messages[0].contains("`b` → `c` → `b`"), "{messages:?}");
    }
}
