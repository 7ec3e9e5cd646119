//! The background settling process of a model driven through the `juju` front end.
//!
//! Juju's changing verbs return once the change is recorded; the agents run the hooks. Here a
//! changing verb records, then starts `juju local-settle --model NAME` detached (its own
//! process group, output to `settler.log` in the model directory, 0600) and returns. The settler
//! holds the model's `settler` lock for its life, so a second one leaves at once; it runs hooks
//! until the model is idle, then lets the lock go and looks once more, so a change recorded
//! meanwhile is never left without a settler (either it sees the change, or the change's own
//! settler finds the lock free). A real-time model's settler instead stays while the model
//! does, firing timers when the real clock reaches them, and leaves when the model is destroyed.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use model::{LockKind, LockWait, Model, SettleOptions};

/// How often a real-time settler looks for new work and due timers.
const REALTIME_POLL: Duration = Duration::from_millis(200);

/// The settler's log, in the model directory.
const LOG_FILE: &str = "settler.log";

/// Starts a settler for `model` unless one is running (it would leave at once anyway).
pub(super) fn spawn(model: &Model) -> anyhow::Result<()> {
    if held(model) {
        // The running settler looks again after its settle, so it sees the new change.
        return Ok(());
    }
    let exe = std::env::current_exe().context("finding the juju-tls binary")?;
    let log = private_append(&model.dir().join(LOG_FILE))?;
    let err = log.try_clone().context("duplicating the settler log")?;
    let mut cmd = Command::new(exe);
    cmd.arg0("juju")
        .args(["local-settle", "--model", model.name()])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
    // Its own process group: the settler outlives this verb, and a Ctrl-C or a kill of the
    // caller's group (pytest, a terminal) does not reach it, as it would not reach a Juju agent.
    cmd.process_group(0);
    cmd.spawn().context("starting the background settler")?;
    Ok(())
}

/// Whether a settler holds the model's settler lock now.
pub(super) fn held(model: &Model) -> bool {
    match model.lock_with(LockKind::Settler, try_once()) {
        Ok(_lock) => false,
        Err(model::Error::LockTimeout { .. }) => true,
        // A dying or vanished model has no settler worth starting.
        Err(_) => true,
    }
}

/// The pid holding the settler lock, if one does.
pub(super) fn holder(model: &Model) -> Option<u32> {
    match model.lock_with(LockKind::Settler, try_once()) {
        Err(model::Error::LockTimeout { holder, .. }) if holder != 0 => Some(holder),
        _ => None,
    }
}

fn try_once() -> LockWait {
    LockWait {
        timeout: Some(Duration::ZERO),
        notice: None,
    }
}

fn private_append(path: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

/// Starts the settlers of the peer models (cross-model relations) in which a settle queued
/// hooks. A peer that cannot be started is logged: its next settle syncs anyway.
fn wake_peers(model: &Model, peers: &std::collections::BTreeSet<String>) {
    let registry = model.registry();
    for name in peers {
        match registry.open(Some(name)) {
            Ok(peer) => {
                if let Err(e) = spawn(&peer) {
                    eprintln!("starting the settler of model {name:?}: {e:#}");
                }
            }
            Err(e) => eprintln!("model {name:?}: {e}"),
        }
    }
}

/// `juju local-settle`: the settler's body.
pub(super) fn run(model: Arc<Model>) -> anyhow::Result<()> {
    let Ok(mut lock) = model.lock_with(LockKind::Settler, try_once()) else {
        return Ok(());
    };
    crate::cli::interrupt_on_signals(&model)?;
    let opts = SettleOptions::default();
    loop {
        // Cross-model relations: what the peers changed (a unit joined, a bag, the peer model
        // destroyed) becomes hooks here, and ours become theirs. Cheap without any.
        let woken = model.sync_cross_model()?;
        wake_peers(&model, &woken);
        let realtime = model.realtime()?;
        if realtime
            && model
                .next_timer_due()?
                .is_some_and(|due| due <= now(&model))
        {
            model.fire_due_timers()?;
        }
        if model.has_runnable()? {
            // Blocks while a `juju-tls` verb settles the same model; then picks up what is left.
            let report = model.settle(&opts)?;
            for (unit, hook) in &report.errors {
                eprintln!("{unit}: hook failed: \"{hook}\"");
            }
            wake_peers(&model, &report.peers_woken);
            continue;
        }
        if realtime {
            if gone(&model) {
                return Ok(());
            }
            std::thread::sleep(REALTIME_POLL);
            continue;
        }
        drop(lock);
        // A change recorded before this look is seen here; one recorded after it starts its
        // own settler, which finds the lock free.
        if !model.has_runnable()? {
            return Ok(());
        }
        match model.lock_with(LockKind::Settler, try_once()) {
            Ok(l) => lock = l,
            Err(_) => return Ok(()),
        }
    }
}

/// Whether the model is being destroyed or is gone.
fn gone(model: &Model) -> bool {
    model.is_destroyed()
}

fn now(model: &Model) -> i64 {
    model.now().unwrap_or(i64::MAX)
}
