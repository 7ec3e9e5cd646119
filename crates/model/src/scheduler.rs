//! Runs queued hooks until the model settles. One hook at a time per unit (Juju's uniter runs
//! one operation at a time), units in parallel up to `jobs`; with `serial`, exactly one hook at a
//! time in queue order, so a test sees one deterministic interleaving. A unit in error runs
//! nothing but actions until `resolve`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use crate::commit;
use crate::context::HookContext;
use crate::error::{Result, UsageError};
use crate::hook_tool_server::Server;
use crate::locks::{LockKind, LockWait};
use crate::model::Model;
use crate::runner::{self, Launch};
use crate::store::{self, AgentState, Hook, WorkloadStatus};
use hook_tools::{HookKind, RelationHook};

/// How to settle.
#[derive(Debug, Clone)]
pub struct SettleOptions {
    /// One hook at a time, in queue order.
    pub serial: bool,
    /// Units that may run hooks at once (ignored with `serial`).
    pub jobs: usize,
    /// A hook running longer is killed (its process group) and the unit goes to error.
    pub hook_timeout: Duration,
    /// How to wait for the settle lock when another process is settling the model.
    pub lock_wait: LockWait,
}

impl Default for SettleOptions {
    fn default() -> Self {
        let jobs = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Self {
            serial: false,
            jobs,
            hook_timeout: Duration::from_secs(300),
            lock_wait: LockWait::default(),
        }
    }
}

/// What one hook run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HookRecord {
    /// The unit.
    pub unit: String,
    /// The hook (or `actions/<name>`).
    pub hook: String,
    /// Exit code; `None` when killed.
    pub code: Option<i32>,
    /// Whether it timed out.
    pub timed_out: bool,
    /// Wall time of the process.
    pub elapsed: Duration,
    /// Hook-tool calls it made.
    pub tool_calls: usize,
    /// Time the hook-tool server spent answering them (not counting the shims' start-up).
    pub tool_time: Duration,
    /// Time the model spent recording the hook's start and its results in the store (waiting
    /// for the store's write lock included), outside the hook's own wall time.
    pub store_time: Duration,
}

/// What a settle did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SettleReport {
    /// Every hook run, in completion order.
    pub runs: Vec<HookRecord>,
    /// Units left in error, with the failed hook.
    pub errors: Vec<(String, String)>,
    /// Models related to this one across models in which the settle queued hooks: their
    /// settlers have work ([`Model::settle_with_peers`] runs it).
    pub peers_woken: BTreeSet<String>,
}

impl Model {
    /// Runs hooks until nothing runnable is left. Timers that are not due are not waited for.
    /// Cross-model relations are synced before and after (see `crossmodel`): hooks that queues
    /// here run too; the peers it wakes are named in the report.
    pub fn settle(self: &Arc<Self>, opts: &SettleOptions) -> Result<SettleReport> {
        let mut report = SettleReport::default();
        loop {
            report.peers_woken.extend(self.sync_cross_model()?);
            let round = self.settle_queue(opts)?;
            report.errors = round.errors;
            if round.runs.is_empty() {
                return Ok(report);
            }
            report.runs.extend(round.runs);
        }
    }

    /// Settles this model and the models related to it across models, until none has work: a
    /// hook here can queue hooks there and the other way round. Runs of peer models are named
    /// `model:unit` in the report, and so are their units in error.
    pub fn settle_with_peers(self: &Arc<Self>, opts: &SettleOptions) -> Result<SettleReport> {
        let mut report = SettleReport::default();
        let registry = self.registry();
        loop {
            let mine = self.settle(opts)?;
            let mut ran = !mine.runs.is_empty();
            report.runs.extend(mine.runs);
            report.errors = mine.errors;
            let mut peers: BTreeSet<String> = self.peer_models()?.into_iter().collect();
            peers.extend(mine.peers_woken);
            for name in peers {
                // A peer destroyed meanwhile has nothing to run; the next sync ends our side.
                let Ok(peer) = registry.open(Some(&name)) else {
                    continue;
                };
                let peer = Arc::new(peer);
                let theirs = peer.settle(opts)?;
                ran |= !theirs.runs.is_empty();
                report.errors.extend(
                    theirs
                        .errors
                        .into_iter()
                        .map(|(u, h)| (format!("{name}:{u}"), h)),
                );
                report.runs.extend(theirs.runs.into_iter().map(|mut r| {
                    r.unit = format!("{name}:{}", r.unit);
                    r
                }));
            }
            if !ran {
                return Ok(report);
            }
        }
    }

    /// Runs this model's queued hooks until none is runnable (no sync).
    fn settle_queue(self: &Arc<Self>, opts: &SettleOptions) -> Result<SettleReport> {
        let mut report = SettleReport::default();
        if self.next_runnable(&BTreeSet::new())?.is_none() {
            report.errors = self.errors()?;
            return Ok(report);
        }
        let _lock = self.lock_with(LockKind::Settle, opts.lock_wait)?;
        self.end_interrupted()?;
        let server = Arc::new(Server::start(self.clone())?);
        let jobs = if opts.serial { 1 } else { opts.jobs.max(1) };
        // Every worker sends exactly one message, its unit's, even if it panics: the loop
        // below always learns when a unit is free, and never waits for a message that cannot
        // come.
        let (tx, rx) = mpsc::channel::<(String, Result<HookRecord>)>();
        let mut busy: BTreeSet<String> = BTreeSet::new();
        let mut first_error = None;
        loop {
            while first_error.is_none() && busy.len() < jobs {
                let Some(hook) = self.next_runnable(&busy)? else {
                    break;
                };
                let unit = hook.unit.clone();
                busy.insert(unit.clone());
                let model = self.clone();
                let server = server.clone();
                let tx = tx.clone();
                let timeout = opts.hook_timeout;
                std::thread::spawn(move || {
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        model.run_one(&server, hook, timeout)
                    }))
                    .unwrap_or_else(|panic| {
                        let message = panic
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "(no message)".to_owned());
                        Err(crate::Error::WorkerPanicked {
                            unit: unit.clone(),
                            message,
                        })
                    });
                    // Let go of the server before reporting, so it stops when settle returns.
                    drop(server);
                    let _ = tx.send((unit, result));
                });
            }
            if busy.is_empty() {
                break;
            }
            let Ok((unit, result)) = rx.recv() else {
                break;
            };
            busy.remove(&unit);
            match result {
                Ok(rec) => report.runs.push(rec),
                // The model failed under a hook (I/O, store, a panic): start no more hooks, let
                // the running ones finish (the loop waits for each), then report the first.
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        drop(server);
        if let Some(e) = first_error {
            return Err(e);
        }
        report.errors = self.errors()?;
        Ok(report)
    }

    /// Hooks left marked running by a settling process that died: only the holder of the
    /// settle lock runs hooks, so they are not running for anyone now, though their processes
    /// may be. Each one's recorded process group is killed (when its members are still the
    /// unit's hook), then the hook is pending again and reruns from scratch: nothing it
    /// buffered was committed.
    fn end_interrupted(&self) -> Result<()> {
        let stale = store::hooks::running(&self.db())?;
        for store::hooks::Running {
            seq,
            unit,
            hook,
            pgid,
        } in stale
        {
            match pgid {
                Some(pgid) => {
                    if crate::workloads::group_is_units(pgid, self.uuid(), &unit) {
                        crate::workloads::kill_group(pgid);
                    }
                }
                None => {
                    // Died before recording the group: find it by what the hook was started as.
                    let dispatch = runner::dispatch_path(&hook);
                    for g in crate::workloads::hook_groups(self.uuid(), &unit, &dispatch) {
                        crate::workloads::kill_group(g);
                    }
                }
            }
            self.tx(|c| {
                store::hooks::mark_not_running(c, seq)?;
                let now = crate::model::now_in(c)?;
                store::log(
                    c,
                    now,
                    &unit,
                    "WARNING",
                    &format!("hook {hook} was interrupted (its juju-tls process ended); running it again from the start"),
                )
            })?;
        }
        Ok(())
    }

    /// Whether a hook is waiting that a settle would run now.
    pub fn has_runnable(&self) -> Result<bool> {
        Ok(self.next_runnable(&BTreeSet::new())?.is_some())
    }

    /// Units in error and their failed hooks.
    pub fn errors(&self) -> Result<Vec<(String, String)>> {
        Ok(store::units(&self.db())?
            .into_iter()
            .filter(|u| u.agent == AgentState::Error)
            .map(|u| (u.name, u.error_hook.unwrap_or_default()))
            .collect())
    }

    /// The first queued hook of a unit that is not busy, an application with no hook running
    /// first; units in error run only actions.
    ///
    /// The fair share between applications stands in for Juju running every unit agent at
    /// once: in plain queue order a provider's answers wait behind the start-up hooks of every
    /// requirer unit queued before them, and each requirer then reads the provider's data
    /// again for every batch of answers (docs/performance.md, "Local model at scale").
    fn next_runnable(&self, busy: &BTreeSet<String>) -> Result<Option<Hook>> {
        let units: Vec<&str> = busy.iter().map(String::as_str).collect();
        let apps = busy
            .iter()
            .map(|u| crate::names::app_of(u))
            .collect::<Result<BTreeSet<&str>>>()?;
        let apps: Vec<&str> = apps.into_iter().collect();
        let db = self.read_db();
        if !apps.is_empty()
            && let Some(hook) = store::hooks::next_runnable(&db, &units, &apps)?
        {
            return Ok(Some(hook));
        }
        store::hooks::next_runnable(&db, &units, &[])
    }

    fn run_one(&self, server: &Server, hook: Hook, timeout: Duration) -> Result<HookRecord> {
        crate::failpoints::panic_at("worker-panic");
        let (unit, app, relation, label, endpoint) = {
            let db = self.read_db();
            let unit = store::unit(&db, &hook.unit)?
                .ok_or_else(|| UsageError::UnknownUnit(hook.unit.clone()))?;
            let app = store::app(&db, &unit.app)?
                .ok_or_else(|| UsageError::UnknownApp(unit.app.clone()))?;
            let relation = match hook.relation_id {
                Some(id) => store::relation(&db, id)?,
                None => None,
            };
            let label = crate::secrets::hook_label(&db, &hook)?;
            let endpoint = relation
                .as_ref()
                .map(|r| r.endpoint_of(&unit.app).to_owned())
                .unwrap_or_default();
            (unit, app, relation, label, endpoint)
        };
        let started = std::time::Instant::now();
        self.before_hook(&hook, &unit, relation.as_ref())?;
        let mut store_time = started.elapsed();
        // A unit whose files were never staged (a crash right after add-unit recorded it) gets
        // them now; a charm that cannot be staged fails the hook.
        let staged = self.stage_unit(&unit.name, std::path::Path::new(&app.charm_dir));
        let context_id = crate::context::new_id(&unit.name, &hook.hook)?;
        let ctx = Arc::new(HookContext::new(
            context_id.clone(),
            unit.clone(),
            app.clone(),
            hook.clone(),
            relation,
        ));
        server.register(ctx.clone());
        let launch = Launch {
            model: self,
            unit: &unit,
            app: &app,
            hook: &hook,
            context_id: &context_id,
            socket: server.address(),
            timeout,
            secret_label: &label,
            endpoint: &endpoint,
        };
        let outcome = match staged {
            Ok(()) => runner::run(&launch),
            Err(e) => Ok(runner::not_started(
                format!("cannot stage the unit's charm: {e}"),
                std::time::Instant::now(),
            )),
        };
        server.unregister(&context_id);
        let outcome = outcome?;
        if self.stopping() {
            // Interrupted: the hook reruns from scratch next settle; nothing is recorded.
            return Err(crate::error::Error::Interrupted);
        }
        let (calls, serving) = {
            let p = ctx.pending();
            (p.calls, p.serving)
        };
        let commit_errors = std::mem::take(&mut ctx.pending().commit_errors);
        let committing = std::time::Instant::now();
        if outcome.code == Some(0) && commit_errors.is_empty() {
            commit::succeed(self, &ctx, &outcome)?;
        } else if outcome.code == Some(0) {
            // The process succeeded but Juju's flush would fail: nothing is committed.
            let mut failed = outcome.clone();
            for e in &commit_errors {
                failed
                    .stderr
                    .push_str(&format!("hook commit failed: {e}\n"));
            }
            failed.code = Some(1);
            commit::fail(self, &ctx, &failed)?;
        } else {
            commit::fail(self, &ctx, &outcome)?;
        }
        store_time += committing.elapsed();
        Ok(HookRecord {
            unit: unit.name,
            hook: hook.hook.to_string(),
            code: outcome.code,
            timed_out: outcome.timed_out,
            elapsed: outcome.elapsed,
            tool_calls: calls,
            tool_time: serving,
            store_time,
        })
    }

    /// What the unit agent does just before a hook: the statuses it sets itself (§3.5), the
    /// address keys Juju seeds into a unit's bag when it enters a relation's scope (once: a
    /// charm that deletes them keeps them deleted, D12), and the action's state.
    fn before_hook(
        &self,
        hook: &Hook,
        unit: &store::Unit,
        relation: Option<&store::Relation>,
    ) -> Result<()> {
        self.tx(|c| {
            store::units::set_executing(c, &unit.name)?;
            store::hooks::mark_running(c, hook.seq)?;
            let agent_status = match hook.hook {
                HookKind::Install if !unit.status_ever_set => Some("installing charm software"),
                HookKind::Stop => Some("stopping charm software"),
                HookKind::Remove => Some("cleaning up prior to charm deletion"),
                _ => None,
            };
            if let Some(message) = agent_status {
                store::units::set_agent_status(
                    c,
                    &unit.name,
                    WorkloadStatus::Maintenance,
                    message,
                )?;
            }
            if let (Some(r), Some(RelationHook::Created)) = (relation, hook.hook.relation_kind()) {
                let key = format!("seeded:{}:{}", r.id, unit.name);
                if store::meta(c, &key)?.is_none() {
                    let addr = unit.address.clone();
                    for (k, v) in [
                        ("egress-subnets", format!("{addr}/32")),
                        ("ingress-address", addr.clone()),
                        ("private-address", addr.clone()),
                    ] {
                        store::relations::set_bag_key(c, r.id, &unit.name, k, Some(&v))?;
                    }
                    store::set_meta(c, &key, "1")?;
                }
            }
            if let Some(id) = hook.action_id {
                store::actions::set_running(c, id)?;
            }
            Ok(())
        })
    }
}
