//! `juju run` (actions) and `juju exec` (commands): Juju's task output, keyed by unit, and its
//! exit codes: 1 with `ERROR the following task failed:` when the task failed or returned a
//! non-zero code, `timed out` when `--wait` passed first.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use model::Model;
use serde_json::{Value, json};

use super::background;

/// Juju's default `--wait` for `run` and `exec`.
const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// How often a waiting `run` looks at its action.
const POLL: Duration = Duration::from_millis(50);

/// `app/leader` to the leader's name; other names as given.
pub(super) fn resolve_unit(model: &Model, unit: &str) -> anyhow::Result<String> {
    let Some(app) = unit.strip_suffix("/leader") else {
        return Ok(unit.to_owned());
    };
    let st = model.status()?;
    let Some(a) = st.applications.iter().find(|a| a.name == app) else {
        bail!("application {app:?} not found");
    };
    a.units
        .iter()
        .find(|u| u.leader)
        .map(|u| u.name.clone())
        .with_context(|| format!("application {app:?} has no leader yet"))
}

/// A `--wait` value (`60s`, `5m`, a bare number of seconds).
pub(super) fn wait_for(text: Option<&str>) -> anyhow::Result<Duration> {
    match text {
        None => Ok(DEFAULT_WAIT),
        Some(t) => {
            let d = hook_tools::duration::parse_cli_or_seconds(t)
                .map_err(|e| anyhow::anyhow!("invalid --wait {t:?}: {e}"))?;
            Ok(Duration::from_secs_f64(d.as_seconds_f64().max(0.0)))
        }
    }
}

/// Parameters from `--params FILE` (YAML map) then `key=value` arguments (which win).
pub(super) fn params(
    file: Option<&Path>,
    args: &[String],
) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    if let Some(f) = file {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let map: serde_json::Map<String, Value> = serde_norway::from_str(&text)
            .with_context(|| format!("{} is not a YAML map of parameters", f.display()))?;
        for (k, v) in map {
            let v = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            out.push((k, v));
        }
    }
    out.extend(crate::cli::pairs(args)?);
    Ok(out)
}

/// Runs an action and waits for it; prints Juju's task JSON (or YAML).
pub(super) fn run_action(
    model: &Arc<Model>,
    unit: &str,
    action: &str,
    params: &[(String, String)],
    wait: Duration,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    let unit = resolve_unit(model, unit)?;
    let id = queue(model, |m| m.queue_action(&unit, action, params))?;
    await_task(model, &unit, id, wait, json_out)
}

/// `juju exec`: the command runs as a hook of the unit (`bash -c` in its charm directory, hook
/// tools available), recorded as a task; waits for it and prints it.
pub(super) fn exec(
    model: &Arc<Model>,
    unit: &str,
    command: &[String],
    wait: Duration,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    let unit = resolve_unit(model, unit)?;
    let id = queue(model, |m| m.queue_exec(&unit, &command.join(" ")))?;
    await_task(model, &unit, id, wait, json_out)
}

/// Queues a task under the model's change lock.
fn queue(model: &Model, f: impl FnOnce(&Model) -> model::Result<i64>) -> anyhow::Result<i64> {
    let _lock = model.lock()?;
    Ok(f(model)?)
}

/// Starts the settler, waits for task `id` to end (or `wait` to pass) and prints it as Juju
/// does, keyed by unit.
fn await_task(
    model: &Arc<Model>,
    unit: &str,
    id: i64,
    wait: Duration,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    background::spawn(model)?;
    let started = Instant::now();
    let run = loop {
        let run = model.action(id)?;
        if run.status != "pending" && run.status != "running" {
            break run;
        }
        if started.elapsed() >= wait {
            bail!("timed out waiting for results from: unit {unit}");
        }
        std::thread::sleep(POLL);
    };
    let mut results = match run.results {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    // Juju reports the code as a number; the store may hold it as text.
    let code = match results.get("return-code") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(1),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(1),
        _ => 0,
    };
    results.insert("return-code".into(), json!(code));
    let task = json!({ unit: {
        "id": id.to_string(),
        "status": run.status,
        "message": run.message,
        "log": run.log,
        "results": results,
        "unit": unit,
    }});
    super::print(&task, format(json_out))?;
    finish(&run.status, code, id)
}

fn format(json_out: bool) -> super::Format {
    if json_out {
        super::Format::Json
    } else {
        super::Format::Yaml
    }
}

/// Juju's exit: 1 and `ERROR the following task failed:` for a failed task or a non-zero code.
fn finish(status: &str, code: i64, id: i64) -> anyhow::Result<ExitCode> {
    if status == "completed" && code == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "ERROR the following task failed:\n id {id:?} with return code {code}\n\nuse 'juju show-task' to inspect the failure"
    );
    Ok(ExitCode::from(1))
}
