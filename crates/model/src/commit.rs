//! What happens when a hook ends. Exit 0: its buffered writes are applied in one transaction,
//! and the events they cause are queued in the same transaction (relation-changed for the units
//! that can see a changed bag, joins when a unit enters a relation's scope, secret events).
//! Failure: nothing buffered is applied, the hook stays queued and the unit is in error until
//! `resolve` (actions fail instead and never put the unit in error).

use std::collections::{BTreeMap, BTreeSet};

use hook_tools::{HookKind, RelationHook};
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::context::HookContext;
use crate::error::Result;
use crate::lifecycle::delete_app;
use crate::model::Model;
use crate::names;
use crate::runner::Outcome;
use crate::store::{self, Hook, Relation, WorkloadStatus};

/// A written value at least this large makes its app bag's answer rendered ahead.
const WARM_BYTES: usize = 64 * 1024;

/// Applies the hook's writes and reactions.
pub(crate) fn succeed(model: &Model, ctx: &HookContext, outcome: &Outcome) -> Result<()> {
    let pending = ctx.take();
    let now = model.now()?;
    let hook = &ctx.hook;
    let unit = &ctx.unit.name;
    model.tx_warming(|c| {
        // Relation data: each written key's last value against its committed one. Events
        // only for bags whose net content changed, and a key written back unchanged is not
        // rewritten (a provider hands back its whole multi-megabyte list in every hook).
        let mut last: BTreeMap<(i64, &str, &str), &str> = BTreeMap::new();
        for w in &pending.bag_writes {
            last.insert((w.relation_id, &w.owner, &w.key), &w.value);
        }
        let mut changed: BTreeSet<(i64, &str)> = BTreeSet::new();
        for ((rel, owner, key), value) in last {
            if store::relation(c, rel)?.is_none() {
                continue;
            }
            // An empty value deletes the key.
            let value = (!value.is_empty()).then_some(value);
            if !model
                .bag_cache()
                .committed_value_is(c, rel, owner, key, value)?
            {
                store::relations::set_bag_key(c, rel, owner, key, value)?;
                changed.insert((rel, owner));
            }
        }
        // An app bag written with a large value is read by many units next (a provider's
        // certificates): its answer is rendered ahead, after the commit.
        let mut warm = Vec::new();
        for (rel, owner) in changed {
            if let Some(r) = store::relation(c, rel)? {
                bag_changed(c, &r, owner, unit)?;
            }
            let large = pending
                .bag_writes
                .iter()
                .any(|w| w.relation_id == rel && w.owner == owner && w.value.len() >= WARM_BYTES);
            if large && !owner.contains('/') {
                warm.push((rel, owner.to_owned()));
            }
        }
        crate::secrets::commit(c, ctx, &pending.secrets, now)?;
        for (open, port) in &pending.ports {
            store::units::set_port(c, unit, port, *open)?;
        }
        for (k, v) in &pending.state {
            store::units::set_state(c, unit, k, v.as_deref())?;
        }
        store::hooks::delete(c, hook.seq)?;
        store::units::clear_error(c, unit)?;
        if let Some(id) = hook.action_id {
            let (status, message) = match &pending.action_fail {
                Some(m) => ("failed", m.clone()),
                None => ("completed", String::new()),
            };
            finish_action(c, id, status, &message, &pending.action_results, outcome)?;
        }
        react(c, ctx, now)?;
        log_hook(c, now, unit, &hook.hook, outcome, &pending.error_lines)?;
        crate::failpoints::hit("commit");
        Ok(((), warm))
    })?;
    crate::failpoints::hit("after-commit");
    match hook.hook {
        HookKind::Stop => crate::workloads::kill_unit(model, unit),
        HookKind::Remove => {
            crate::workloads::kill_unit(model, unit);
            let _ = std::fs::remove_dir_all(model.unit_dir(unit));
            if store::app(&model.db(), &ctx.app.name)?.is_none() {
                crate::charm::remove_app_files(model.dir(), &ctx.app.name);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Records a failed hook: nothing buffered is applied. A failed action ends `failed` and the
/// unit carries on; a failed hook stays queued and the unit is in error.
pub(crate) fn fail(model: &Model, ctx: &HookContext, outcome: &Outcome) -> Result<()> {
    let pending = ctx.take();
    let now = model.now()?;
    let hook = &ctx.hook;
    let unit = &ctx.unit.name;
    model.tx(|c| {
        if let Some(id) = hook.action_id {
            let message = if outcome.timed_out {
                "action timed out".to_owned()
            } else {
                pending
                    .action_fail
                    .clone()
                    .unwrap_or_else(|| format!("exit status {}", outcome.code.unwrap_or(-1)))
            };
            finish_action(c, id, "failed", &message, &pending.action_results, outcome)?;
            store::hooks::delete(c, hook.seq)?;
            store::units::set_idle_if_executing(c, unit)?;
        } else {
            store::hooks::mark_failed(c, hook.seq)?;
            let why = if outcome.timed_out {
                format!("{} (hook timed out)", hook.hook)
            } else {
                hook.hook.to_string()
            };
            store::units::set_error(c, unit, &why)?;
        }
        log_hook(c, now, unit, &hook.hook, outcome, &pending.error_lines)
    })
}

fn finish_action(
    c: &Connection,
    id: i64,
    status: &str,
    message: &str,
    results: &serde_json::Map<String, Value>,
    outcome: &Outcome,
) -> Result<()> {
    let mut all = results.clone();
    all.insert(
        "return-code".into(),
        json!(outcome.code.unwrap_or(-1).to_string()),
    );
    if !outcome.stdout.is_empty() {
        all.insert("stdout".into(), json!(outcome.stdout));
    }
    if !outcome.stderr.is_empty() {
        all.insert("stderr".into(), json!(outcome.stderr));
    }
    store::actions::finish(c, id, status, message, &Value::Object(all))
}

fn log_hook(
    c: &Connection,
    now: i64,
    unit: &str,
    hook: &HookKind,
    o: &Outcome,
    errors: &[String],
) -> Result<()> {
    let mut output = String::new();
    for e in errors {
        output.push_str(e);
        output.push('\n');
    }
    output.push_str(&o.stdout);
    output.push_str(&o.stderr);
    if o.timed_out {
        output.push_str("hook timed out\n");
    }
    let code = if o.timed_out {
        -1
    } else {
        o.code.unwrap_or(-1)
    };
    store::logs::hook_run(
        c,
        &store::logs::HookRun {
            at: now,
            unit: unit.to_owned(),
            hook: hook.to_string(),
            code: i64::from(code),
            millis: o.elapsed.as_millis() as i64,
            output,
        },
    )
}

/// Whether `a` and `b` see each other in `r`: units of the two sides, or other units of the same
/// application in a peer relation.
fn related(r: &Relation, a: &str, b: &str) -> bool {
    if a == b {
        return false;
    }
    let app = |u: &str| u.split('/').next().unwrap_or(u).to_owned();
    if r.peer {
        app(a) == app(b)
    } else {
        app(a) != app(b)
    }
}

/// Queues relation-changed for the units that see a bag that changed: a unit bag → the units
/// that saw it join; an app bag → the remote side's units in scope (for peers, the other units).
/// Never the writer (§7.3).
fn bag_changed(c: &Connection, r: &Relation, owner: &str, writer: &str) -> Result<()> {
    if !owner.contains('/') {
        // An app bag wakes every unit on the other side (for peers, the other units): one
        // statement, not two per unit (a CA's bag wakes a thousand requirers).
        let seeing_app = if r.peer { owner } else { r.other_app(owner) };
        let hook = HookKind::relation(r.endpoint_of(seeing_app), RelationHook::Changed);
        store::hooks::enqueue_app_bag_changed(c, r.id, &hook, owner, seeing_app, writer)?;
        return Ok(());
    }
    let dying = store::units::dying_units(c)?;
    for v in store::scope(c, r.id)? {
        if v == writer || dying.contains(&v) {
            continue;
        }
        let v_app = names::app_of(&v)?.to_owned();
        let ep = r.endpoint_of(&v_app).to_owned();
        if owner.contains('/') {
            if !related(r, &v, owner) || !store::seen(c, r.id, &v)?.iter().any(|s| s == owner) {
                continue;
            }
            let app = names::app_of(owner)?.to_owned();
            store::enqueue(
                c,
                &Hook {
                    relation_id: Some(r.id),
                    remote_unit: owner.to_owned(),
                    remote_app: app,
                    ..Hook::new(v, HookKind::relation(ep, RelationHook::Changed))
                },
            )?;
        } else {
            let sees = if r.peer {
                v_app == owner
            } else {
                v_app != owner
            };
            if sees {
                store::enqueue(
                    c,
                    &Hook {
                        relation_id: Some(r.id),
                        remote_app: owner.to_owned(),
                        ..Hook::new(v, HookKind::relation(ep, RelationHook::Changed))
                    },
                )?;
            }
        }
    }
    Ok(())
}

/// Queues `x`'s joined + changed for `w` on `r`, unless `x` saw `w` already.
pub(crate) fn queue_join(c: &Connection, r: &Relation, x: &str, w: &str) -> Result<()> {
    if store::seen(c, r.id, x)?.iter().any(|s| s == w) {
        return Ok(());
    }
    let x_app = names::app_of(x)?.to_owned();
    let w_app = names::app_of(w)?.to_owned();
    let ep = r.endpoint_of(&x_app).to_owned();
    for kind in [RelationHook::Joined, RelationHook::Changed] {
        store::enqueue(
            c,
            &Hook {
                relation_id: Some(r.id),
                remote_unit: w.to_owned(),
                remote_app: w_app.clone(),
                ..Hook::new(x, HookKind::relation(&ep, kind))
            },
        )?;
    }
    Ok(())
}

/// Queues the joins a started unit is owed on a relation: it joins every unit in scope, and
/// every started unit in scope joins it.
fn queue_joins(c: &Connection, r: &Relation, unit: &str) -> Result<()> {
    if r.dying {
        // Departed and broken are queued; nobody joins a relation that is going.
        return Ok(());
    }
    let units = store::units(c)?;
    let me = units.iter().find(|u| u.name == unit);
    let Some(me) = me else { return Ok(()) };
    if me.dying {
        return Ok(());
    }
    for v in store::scope(c, r.id)? {
        if !related(r, unit, &v) {
            continue;
        }
        let Some(other) = units.iter().find(|u| u.name == v) else {
            continue;
        };
        if other.dying {
            continue;
        }
        if me.started {
            queue_join(c, r, unit, &v)?;
        }
        if other.started {
            queue_join(c, r, &v, unit)?;
        }
    }
    // Units of another model in scope (a cross-model relation): started on their side.
    if me.started {
        for w in store::crossmodel::remote_scope(c, r.id)? {
            queue_join(c, r, unit, &w)?;
        }
    }
    Ok(())
}

/// The model's own reactions to a committed hook (scope changes, lifecycle).
fn react(c: &Connection, ctx: &HookContext, now: i64) -> Result<()> {
    let unit = ctx.unit.name.as_str();
    let hook = &ctx.hook;
    if let (Some(kind), Some(id)) = (ctx.relation_kind(), hook.relation_id) {
        let Some(r) = store::relation(c, id)? else {
            return Ok(());
        };
        match kind {
            RelationHook::Created => {
                store::relations::enter_scope(c, id, unit)?;
                queue_joins(c, &r, unit)?;
            }
            RelationHook::Joined => {
                store::relations::set_seen(c, id, unit, &hook.remote_unit, true)?;
                // A unit of another model that left while this hook ran (the sync found no
                // departed to queue, as the join was not committed yet): it departs now.
                let remote = &hook.remote_unit;
                let is_remote = store::crossmodel::remote_app(c, names::app_of(remote)?)?.is_some();
                if is_remote
                    && !r.dying
                    && !store::crossmodel::remote_scope(c, id)?.contains(remote)
                {
                    let ep = r.endpoint_of(&ctx.app.name).to_owned();
                    store::enqueue(
                        c,
                        &crate::lifecycle::departed(&r, &ep, unit, remote, remote)?,
                    )?;
                }
            }
            RelationHook::Departed => {
                store::relations::set_seen(c, id, unit, &hook.remote_unit, false)?;
            }
            RelationHook::Broken => {
                store::relations::leave_scope(c, id, unit)?;
                if r.dying && store::scope(c, id)?.is_empty() {
                    store::relations::delete(c, id)?;
                }
            }
            RelationHook::Changed => {}
        }
        return Ok(());
    }
    match hook.hook {
        HookKind::Start => {
            let interval = crate::model_config::update_status_interval(c)?;
            store::units::mark_started(c, unit, now + interval)?;
            for r in store::relations(c)? {
                if store::scope(c, r.id)?.iter().any(|u| u == unit) {
                    queue_joins(c, &r, unit)?;
                }
            }
        }
        HookKind::Stop => {
            store::units::set_agent_status(c, unit, WorkloadStatus::Maintenance, "")?;
        }
        HookKind::Remove => {
            store::units::delete(c, unit)?;
            store::actions::fail_pending(c, unit, "unit removed")?;
            store::hooks::drop_all_of_unit(c, unit)?;
            // Relations whose last unit left are gone once nobody is in scope.
            for r in store::relations(c)? {
                if r.dying && store::scope(c, r.id)?.is_empty() {
                    store::relations::delete(c, r.id)?;
                }
            }
            let app = &ctx.app.name;
            if store::apps::is_dying(c, app)? && store::app_units(c, app)?.is_empty() {
                delete_app(c, app)?;
            }
            crate::secrets::queue_obsolete(c)?;
        }
        _ => {}
    }
    Ok(())
}
