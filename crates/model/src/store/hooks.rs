//! The hook queue: what each unit runs next, in Juju's order, and what a running hook marks.

use hook_tools::{HookKind, RelationHook};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

/// A pending or failed hook.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hook {
    /// Queue position; lower runs first.
    pub seq: i64,
    /// The unit that runs it.
    pub unit: String,
    /// The hook (`install`, `db-relation-changed`), or `actions/<name>` for an action.
    #[serde(serialize_with = "hook_name")]
    pub hook: HookKind,
    /// Relation of a relation hook.
    pub relation_id: Option<i64>,
    /// `JUJU_REMOTE_UNIT`.
    pub remote_unit: String,
    /// `JUJU_REMOTE_APP`.
    pub remote_app: String,
    /// `JUJU_DEPARTING_UNIT`.
    pub departing: String,
    /// Secret xid of a secret hook.
    pub secret: Option<String>,
    /// `JUJU_SECRET_REVISION`.
    pub secret_rev: Option<i64>,
    /// The action run of an action.
    pub action_id: Option<i64>,
    /// Whether it failed and waits for `resolve`.
    pub failed: bool,
}

const HOOK_COLS: &str =
    "seq,unit,hook,relation_id,remote_unit,remote_app,departing,secret,secret_rev,action_id,failed";

fn hook_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Hook> {
    Ok(Hook {
        seq: r.get(0)?,
        unit: r.get(1)?,
        hook: HookKind::parse(&r.get::<_, String>(2)?),
        relation_id: r.get(3)?,
        remote_unit: r.get(4)?,
        remote_app: r.get(5)?,
        departing: r.get(6)?,
        secret: r.get(7)?,
        secret_rev: r.get(8)?,
        action_id: r.get(9)?,
        failed: r.get(10)?,
    })
}

/// The first hook in queue order that can run now: a unit's first queued hook, or for a unit in
/// error its first action (its failed hook waits for `resolve`; actions still run, §3.3);
/// units in `busy` are skipped, and so are the units of the applications in `skip_apps`. One
/// query with an index: the queue and the unit table run to thousands of rows at scale, and
/// this runs before every hook.
pub(crate) fn next_runnable(
    c: &Connection,
    busy: &[&str],
    skip_apps: &[&str],
) -> Result<Option<Hook>> {
    let cols = HOOK_COLS
        .split(',')
        .map(|col| format!("h.{}", col.trim()))
        .collect::<Vec<_>>()
        .join(",");
    let list = |from: usize, n: usize| {
        (from..from + n)
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let units = list(1, busy.len());
    let apps = list(busy.len() + 1, skip_apps.len());
    let sql = format!(
        "SELECT {cols} FROM hooks h LEFT JOIN units u ON u.name=h.unit \
         WHERE h.unit NOT IN ({units}) AND (u.app IS NULL OR u.app NOT IN ({apps})) \
         AND CASE WHEN u.agent='error' \
           THEN h.action_id IS NOT NULL AND h.seq=(SELECT MIN(seq) FROM hooks \
                WHERE unit=h.unit AND action_id IS NOT NULL) \
           ELSE h.seq=(SELECT MIN(seq) FROM hooks WHERE unit=h.unit) END \
         ORDER BY h.seq LIMIT 1"
    );
    let mut st = c.prepare_cached(&sql)?;
    Ok(st
        .query_row(
            rusqlite::params_from_iter(busy.iter().chain(skip_apps)),
            hook_row,
        )
        .optional()?)
}

/// Every queued hook in queue order.
pub(crate) fn hooks(c: &Connection) -> Result<Vec<Hook>> {
    let mut st = c.prepare(&format!("SELECT {HOOK_COLS} FROM hooks ORDER BY seq"))?;
    Ok(st
        .query_map([], hook_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// Queues a hook unless the same hook is already waiting (Juju collapses repeated changes: the
/// observer compares versions, it does not replay a queue). A hook that is already running does
/// not count: it may have read the data before this change, so it runs again afterwards.
pub(crate) fn enqueue(c: &Connection, h: &Hook) -> Result<()> {
    if h.action_id.is_none() {
        let dup: Option<i64> = c
            .query_row(
                &format!("SELECT seq FROM hooks h WHERE h.unit=?7 AND {SAME_HOOK_WAITS}"),
                params![
                    h.hook.to_string(),
                    h.relation_id,
                    h.remote_unit,
                    h.departing,
                    h.secret,
                    h.secret_rev,
                    h.unit
                ],
                |r| r.get(0),
            )
            .optional()?;
        if dup.is_some() {
            return Ok(());
        }
    }
    c.execute(
        "INSERT INTO hooks(unit,hook,relation_id,remote_unit,remote_app,departing,secret,secret_rev,action_id) \
         VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
        params![h.unit, h.hook.to_string(), h.relation_id, h.remote_unit, h.remote_app, h.departing, h.secret, h.secret_rev, h.action_id],
    )?;
    Ok(())
}

/// The rule of [`enqueue`] and [`enqueue_app_bag_changed`]: the same hook (name, relation,
/// remote unit, departing unit, secret and revision: `?1`..`?6`) already waits for the unit
/// (`h.unit`, bound by the caller), neither failed nor running.
const SAME_HOOK_WAITS: &str = "h.hook=?1 AND h.relation_id IS ?2 AND h.remote_unit=?3 \
     AND h.departing=?4 AND h.secret IS ?5 AND h.secret_rev IS ?6 AND h.failed=0 AND h.running=0";

/// Queues `hook` (a `relation-changed` for the app bag of `owner`) for every unit of
/// `seeing_app` in scope of `rel`, except `writer` and dying units, in scope order, unless the
/// same hook already waits: what [`enqueue`] does unit by unit, in one statement.
pub(crate) fn enqueue_app_bag_changed(
    c: &Connection,
    rel: i64,
    hook: &HookKind,
    owner: &str,
    seeing_app: &str,
    writer: &str,
) -> Result<()> {
    let mut st = c.prepare_cached(&format!(
        "INSERT INTO hooks(unit,hook,relation_id,remote_unit,remote_app,departing,secret,secret_rev) \
         SELECT s.unit, ?1, ?2, ?3, ?7, ?4, ?5, ?6 FROM scope s \
         WHERE s.relation_id=?2 AND s.unit<>?8 \
           AND substr(s.unit, 1, instr(s.unit, '/') - 1)=?9 \
           AND s.unit NOT IN (SELECT name FROM units WHERE dying=1) \
           AND NOT EXISTS (SELECT 1 FROM hooks h WHERE h.unit=s.unit AND {SAME_HOOK_WAITS}) \
         ORDER BY s.unit"
    ))?;
    // No remote unit, no departing unit, no secret: an app bag's change.
    st.execute(params![
        hook.to_string(),
        rel,
        "",
        "",
        None::<String>,
        None::<i64>,
        owner,
        writer,
        seeing_app
    ])?;
    Ok(())
}

fn hook_name<S: serde::Serializer>(hook: &HookKind, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(hook)
}

impl Hook {
    /// A hook of `unit` with no relation, secret or action.
    pub(crate) fn new(unit: impl Into<String>, hook: HookKind) -> Self {
        Hook {
            seq: 0,
            unit: unit.into(),
            hook,
            relation_id: None,
            remote_unit: String::new(),
            remote_app: String::new(),
            departing: String::new(),
            secret: None,
            secret_rev: None,
            action_id: None,
            failed: false,
        }
    }
}

/// Hooks waiting to run (not failed).
pub(crate) fn pending_count(c: &Connection) -> Result<i64> {
    Ok(
        c.query_row("SELECT COUNT(*) FROM hooks WHERE failed=0", [], |r| {
            r.get(0)
        })?,
    )
}

/// A hook marked running, and the process group recorded for it.
#[derive(Debug, Clone)]
pub(crate) struct Running {
    pub(crate) seq: i64,
    pub(crate) unit: String,
    pub(crate) hook: HookKind,
    pub(crate) pgid: Option<i32>,
}

/// Every hook marked running, in queue order.
pub(crate) fn running(c: &Connection) -> Result<Vec<Running>> {
    let mut st =
        c.prepare("SELECT seq, unit, hook, pgid FROM hooks WHERE running=1 ORDER BY seq")?;
    Ok(st
        .query_map([], |r| {
            Ok(Running {
                seq: r.get(0)?,
                unit: r.get(1)?,
                hook: HookKind::parse(&r.get::<_, String>(2)?),
                pgid: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// The hook started running.
pub(crate) fn mark_running(c: &Connection, seq: i64) -> Result<()> {
    c.execute("UPDATE hooks SET running=1 WHERE seq=?1", [seq])?;
    Ok(())
}

/// Records the process group of a running hook.
pub(crate) fn set_pgid(c: &Connection, seq: i64, pgid: i32) -> Result<()> {
    c.execute("UPDATE hooks SET pgid=?2 WHERE seq=?1", params![seq, pgid])?;
    Ok(())
}

/// The hook is pending again (its process was ended): it reruns from scratch.
pub(crate) fn mark_not_running(c: &Connection, seq: i64) -> Result<()> {
    c.execute("UPDATE hooks SET running=0, pgid=NULL WHERE seq=?1", [seq])?;
    Ok(())
}

/// The hook failed: it stays queued, waiting for `resolve`.
pub(crate) fn mark_failed(c: &Connection, seq: i64) -> Result<()> {
    c.execute("UPDATE hooks SET failed=1, running=0 WHERE seq=?1", [seq])?;
    Ok(())
}

/// The hook is done (committed, or an action that failed).
pub(crate) fn delete(c: &Connection, seq: i64) -> Result<()> {
    c.execute("DELETE FROM hooks WHERE seq=?1", [seq])?;
    Ok(())
}

/// `resolve`: the unit's failed hook runs again.
pub(crate) fn retry_failed(c: &Connection, unit: &str) -> Result<()> {
    c.execute("UPDATE hooks SET failed=0 WHERE unit=?1", [unit])?;
    Ok(())
}

/// Drops a unit's queued hooks, failed or not, but not its actions (a dying unit's teardown
/// replaces them).
pub(crate) fn drop_hooks_of_unit(c: &Connection, unit: &str) -> Result<()> {
    c.execute(
        "DELETE FROM hooks WHERE unit=?1 AND action_id IS NULL",
        [unit],
    )?;
    Ok(())
}

/// Drops everything queued for a removed unit, actions included.
pub(crate) fn drop_all_of_unit(c: &Connection, unit: &str) -> Result<()> {
    c.execute("DELETE FROM hooks WHERE unit=?1", [unit])?;
    Ok(())
}

/// The hook name pattern of one relation hook kind, for any endpoint.
fn any_endpoint(kind: RelationHook) -> String {
    format!("%-{}", kind.suffix())
}

/// Drops the joined and changed `unit` waits to run on `rel` for `remote` (which is leaving).
pub(crate) fn drop_arrivals_from(c: &Connection, unit: &str, rel: i64, remote: &str) -> Result<()> {
    c.execute(
        "DELETE FROM hooks WHERE unit=?1 AND relation_id=?2 AND remote_unit=?3 AND failed=0 \
         AND (hook LIKE ?4 OR hook LIKE ?5)",
        params![
            unit,
            rel,
            remote,
            any_endpoint(RelationHook::Joined),
            any_endpoint(RelationHook::Changed)
        ],
    )?;
    Ok(())
}

/// Drops the created, joined and changed hooks waiting on a relation that is going away.
pub(crate) fn drop_arrivals_on(c: &Connection, rel: i64) -> Result<()> {
    c.execute(
        "DELETE FROM hooks WHERE relation_id=?1 AND failed=0 \
         AND (hook LIKE ?2 OR hook LIKE ?3 OR hook LIKE ?4)",
        params![
            rel,
            any_endpoint(RelationHook::Joined),
            any_endpoint(RelationHook::Changed),
            any_endpoint(RelationHook::Created)
        ],
    )?;
    Ok(())
}

/// Drops the hooks waiting on a removed secret (`rev`: only those of that revision).
pub(crate) fn drop_secret_hooks(c: &Connection, xid: &str, rev: Option<i64>) -> Result<()> {
    match rev {
        None => c.execute("DELETE FROM hooks WHERE secret=?1 AND failed=0", [xid])?,
        Some(rev) => c.execute(
            "DELETE FROM hooks WHERE secret=?1 AND secret_rev=?2 AND failed=0",
            params![xid, rev],
        )?,
    };
    Ok(())
}
