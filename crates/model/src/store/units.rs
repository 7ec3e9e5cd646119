//! Units: their lifecycle flags, agent state and workload status, ports and charm state.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

/// A unit agent's state, as `juju status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentState {
    /// Recorded, its first hook not run yet.
    Allocating,
    /// Running a hook.
    Executing,
    /// Between hooks.
    Idle,
    /// A hook failed; only actions run until `resolve`.
    Error,
}

impl AgentState {
    /// The name Juju shows.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Allocating => "allocating",
            AgentState::Executing => "executing",
            AgentState::Idle => "idle",
            AgentState::Error => "error",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            AgentState::Allocating,
            AgentState::Executing,
            AgentState::Idle,
            AgentState::Error,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// A workload status: what a charm sets with `status-set`, what the agent sets around install
/// and stop, and what `status` derives for an application and a unit in error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadStatus {
    /// A hook failed (shown for a unit whose agent is in error; never stored).
    Error,
    /// The charm needs a human.
    Blocked,
    /// The charm is doing work.
    Maintenance,
    /// The charm waits for something outside it.
    Waiting,
    /// Ready.
    Active,
    /// Nothing set yet.
    Unknown,
}

impl WorkloadStatus {
    /// The name Juju shows.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadStatus::Error => "error",
            WorkloadStatus::Blocked => "blocked",
            WorkloadStatus::Maintenance => "maintenance",
            WorkloadStatus::Waiting => "waiting",
            WorkloadStatus::Active => "active",
            WorkloadStatus::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            WorkloadStatus::Error,
            WorkloadStatus::Blocked,
            WorkloadStatus::Maintenance,
            WorkloadStatus::Waiting,
            WorkloadStatus::Active,
            WorkloadStatus::Unknown,
        ]
        .into_iter()
        .find(|w| w.as_str() == s)
    }
}

impl From<hook_tools::values::SettableStatus> for WorkloadStatus {
    fn from(s: hook_tools::values::SettableStatus) -> Self {
        use hook_tools::values::SettableStatus as S;
        match s {
            S::Maintenance => WorkloadStatus::Maintenance,
            S::Blocked => WorkloadStatus::Blocked,
            S::Waiting => WorkloadStatus::Waiting,
            S::Active => WorkloadStatus::Active,
        }
    }
}

/// A text cell holding one of a fixed set of names.
fn named<T>(v: ValueRef<'_>, parse: fn(&str) -> Option<T>) -> FromSqlResult<T> {
    let s = v.as_str()?;
    parse(s).ok_or_else(|| FromSqlError::Other(format!("unknown state {s:?}").into()))
}

impl FromSql for AgentState {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        named(v, AgentState::parse)
    }
}

impl ToSql for AgentState {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

impl FromSql for WorkloadStatus {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        named(v, WorkloadStatus::parse)
    }
}

impl ToSql for WorkloadStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

/// A unit as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Unit {
    /// `app/n`.
    pub name: String,
    /// Its application.
    pub app: String,
    /// Its number.
    pub num: i64,
    /// Whether it holds leadership.
    pub leader: bool,
    /// Whether it is being removed.
    pub dying: bool,
    /// Whether its start hook has committed.
    pub started: bool,
    /// Workload status.
    pub status: WorkloadStatus,
    /// Workload message.
    pub message: String,
    /// Agent status.
    pub agent: AgentState,
    /// The failed hook while in error.
    pub error_hook: Option<String>,
    /// Workload version (application-version-set).
    pub version: String,
    /// Whether the charm ever set a status.
    pub status_ever_set: bool,
    /// Its loopback address (private and ingress), for life: see `LEASE_DIR_ENV`.
    pub address: String,
}

const UNIT_COLS: &str = "name,app,num,leader,dying,started,status,message,agent,error_hook,version,\
     status_ever_set,addr_index,(SELECT value FROM meta WHERE key='address_block')";

fn unit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Unit> {
    Ok(Unit {
        name: r.get(0)?,
        app: r.get(1)?,
        num: r.get(2)?,
        leader: r.get(3)?,
        dying: r.get(4)?,
        started: r.get(5)?,
        status: r.get(6)?,
        message: r.get(7)?,
        agent: r.get(8)?,
        error_hook: r.get(9)?,
        version: r.get(10)?,
        status_ever_set: r.get(11)?,
        address: crate::addresses::unit_address(
            r.get::<_, Option<String>>(13)?
                .and_then(|b| b.parse().ok())
                .unwrap_or(0),
            r.get::<_, Option<i64>>(12)?.unwrap_or(-1),
        ),
    })
}

/// Names of the units being removed (without reading every unit: runs on every bag write).
pub(crate) fn dying_units(c: &Connection) -> Result<BTreeSet<String>> {
    let mut st = c.prepare_cached("SELECT name FROM units WHERE dying=1")?;
    Ok(st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Every unit, by application then number.
pub(crate) fn units(c: &Connection) -> Result<Vec<Unit>> {
    let mut st = c.prepare(&format!("SELECT {UNIT_COLS} FROM units ORDER BY app, num"))?;
    Ok(st
        .query_map([], unit_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// The units of one application, by number.
pub(crate) fn app_units(c: &Connection, app: &str) -> Result<Vec<Unit>> {
    let mut st = c.prepare(&format!(
        "SELECT {UNIT_COLS} FROM units WHERE app=?1 ORDER BY num"
    ))?;
    Ok(st
        .query_map([app], unit_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// One unit.
pub(crate) fn unit(c: &Connection, name: &str) -> Result<Option<Unit>> {
    Ok(c.query_row(
        &format!("SELECT {UNIT_COLS} FROM units WHERE name=?1"),
        [name],
        unit_row,
    )
    .optional()?)
}

/// Records a new unit (no hooks: the caller queues them in the same transaction).
pub(crate) fn insert(
    c: &Connection,
    name: &str,
    app: &str,
    num: i64,
    leader: bool,
    addr_index: i64,
) -> Result<()> {
    c.execute(
        "INSERT INTO units(name,app,num,leader,addr_index) VALUES(?1,?2,?3,?4,?5)",
        params![name, app, num, leader, addr_index],
    )?;
    Ok(())
}

/// Whether some unit of `app` holds leadership.
pub(crate) fn app_has_leader(c: &Connection, app: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT COUNT(*)>0 FROM units WHERE app=?1 AND leader=1",
        [app],
        |r| r.get(0),
    )?)
}

/// Makes `unit` the only leader of `app`.
pub(crate) fn set_leader(c: &Connection, app: &str, unit: &str) -> Result<()> {
    c.execute(
        "UPDATE units SET leader=(name=?2) WHERE app=?1",
        params![app, unit],
    )?;
    Ok(())
}

/// Takes leadership away from `unit`.
pub(crate) fn drop_leadership(c: &Connection, unit: &str) -> Result<()> {
    c.execute("UPDATE units SET leader=0 WHERE name=?1", [unit])?;
    Ok(())
}

/// Marks a unit as being removed.
pub(crate) fn mark_dying(c: &Connection, unit: &str) -> Result<()> {
    c.execute("UPDATE units SET dying=1 WHERE name=?1", [unit])?;
    Ok(())
}

/// Records that a unit's start hook committed: it is started, its first update-status is due at
/// `update_status_due`, and a status the charm never set becomes `unknown`.
pub(crate) fn mark_started(c: &Connection, unit: &str, update_status_due: i64) -> Result<()> {
    c.execute(
        "UPDATE units SET started=1, update_status_due=?2, \
         status=CASE WHEN status_ever_set=0 THEN 'unknown' ELSE status END, \
         message=CASE WHEN status_ever_set=0 THEN '' ELSE message END WHERE name=?1",
        params![unit, update_status_due],
    )?;
    Ok(())
}

/// A hook starts: the agent is executing, unless the unit is in error (an action runs).
pub(crate) fn set_executing(c: &Connection, unit: &str) -> Result<()> {
    c.execute(
        "UPDATE units SET agent=?2 WHERE name=?1 AND agent<>?3",
        params![unit, AgentState::Executing, AgentState::Error],
    )?;
    Ok(())
}

/// An action ended: an executing agent is idle again; one in error stays so.
pub(crate) fn set_idle_if_executing(c: &Connection, unit: &str) -> Result<()> {
    c.execute(
        "UPDATE units SET agent=?2 WHERE name=?1 AND agent=?3",
        params![unit, AgentState::Idle, AgentState::Executing],
    )?;
    Ok(())
}

/// The unit is idle and out of error (a hook committed, `resolve`, removal).
pub(crate) fn clear_error(c: &Connection, unit: &str) -> Result<()> {
    c.execute(
        "UPDATE units SET agent=?2, error_hook=NULL WHERE name=?1",
        params![unit, AgentState::Idle],
    )?;
    Ok(())
}

/// A unit being removed leaves error (its failed hook is dropped); other states stay.
pub(crate) fn leave_error(c: &Connection, unit: &str) -> Result<()> {
    c.execute(
        "UPDATE units SET agent=CASE WHEN agent=?2 THEN ?3 ELSE agent END, error_hook=NULL \
         WHERE name=?1",
        params![unit, AgentState::Error, AgentState::Idle],
    )?;
    Ok(())
}

/// A hook failed: the unit is in error until `resolve`; `why` names the hook.
pub(crate) fn set_error(c: &Connection, unit: &str, why: &str) -> Result<()> {
    c.execute(
        "UPDATE units SET agent=?3, error_hook=?2 WHERE name=?1",
        params![unit, why, AgentState::Error],
    )?;
    Ok(())
}

/// A status the agent sets itself (around install, stop, remove): not the charm's.
pub(crate) fn set_agent_status(
    c: &Connection,
    unit: &str,
    status: WorkloadStatus,
    message: &str,
) -> Result<()> {
    c.execute(
        "UPDATE units SET status=?2, message=?3 WHERE name=?1",
        params![unit, status, message],
    )?;
    Ok(())
}

/// A status the charm sets (`status-set`).
pub(crate) fn set_charm_status(
    c: &Connection,
    unit: &str,
    status: WorkloadStatus,
    message: &str,
) -> Result<()> {
    c.execute(
        "UPDATE units SET status=?2, message=?3, status_ever_set=1 WHERE name=?1",
        params![unit, status, message],
    )?;
    Ok(())
}

/// `application-version-set`.
pub(crate) fn set_version(c: &Connection, unit: &str, version: &str) -> Result<()> {
    c.execute(
        "UPDATE units SET version=?2 WHERE name=?1",
        params![unit, version],
    )?;
    Ok(())
}

/// Started, live units whose update-status is due at `now`, by application and number.
pub(crate) fn update_status_due(c: &Connection, now: i64) -> Result<Vec<String>> {
    let mut st = c.prepare(
        "SELECT name FROM units WHERE started=1 AND dying=0 AND update_status_due<=?1 \
         ORDER BY app, num",
    )?;
    Ok(st
        .query_map([now], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// When a unit's next update-status is due.
pub(crate) fn set_update_status_due(c: &Connection, unit: &str, at: i64) -> Result<()> {
    c.execute(
        "UPDATE units SET update_status_due=?2 WHERE name=?1",
        params![unit, at],
    )?;
    Ok(())
}

/// Forgets a removed unit: its row, scope, what it saw, ports, charm state, the secrets it
/// consumed and owned. Its queued hooks are [`super::hooks::drop_all_of_unit`]'s.
pub(crate) fn delete(c: &Connection, unit: &str) -> Result<()> {
    super::secrets::content_deleted();
    for sql in [
        "DELETE FROM units WHERE name=?1",
        "DELETE FROM scope WHERE unit=?1",
        "DELETE FROM seen WHERE unit=?1",
        "DELETE FROM ports WHERE unit=?1",
        "DELETE FROM unit_state WHERE unit=?1",
        "DELETE FROM secret_consumers WHERE unit=?1",
        "DELETE FROM remote_secrets WHERE unit=?1",
        "DELETE FROM secret_revisions WHERE xid IN (SELECT xid FROM secrets WHERE owner_unit=?1)",
        "DELETE FROM secrets WHERE owner_unit=?1",
    ] {
        c.execute(sql, [unit])?;
    }
    Ok(())
}

/// A unit's opened ports (`80/tcp`), sorted.
pub(crate) fn ports(c: &Connection, unit: &str) -> Result<Vec<String>> {
    let mut st = c.prepare_cached("SELECT port FROM ports WHERE unit=?1 ORDER BY port")?;
    Ok(st
        .query_map([unit], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Opens (`true`) or closes a port.
pub(crate) fn set_port(c: &Connection, unit: &str, port: &str, open: bool) -> Result<()> {
    if open {
        c.execute(
            "INSERT OR IGNORE INTO ports(unit,port) VALUES(?1,?2)",
            params![unit, port],
        )?;
    } else {
        c.execute(
            "DELETE FROM ports WHERE unit=?1 AND port=?2",
            params![unit, port],
        )?;
    }
    Ok(())
}

/// A unit's charm state (`state-get`).
pub(crate) fn state(c: &Connection, unit: &str) -> Result<BTreeMap<String, String>> {
    let mut st = c.prepare("SELECT key,value FROM unit_state WHERE unit=?1")?;
    Ok(st
        .query_map([unit], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

/// Sets (`Some`) or deletes a key of a unit's charm state.
pub(crate) fn set_state(c: &Connection, unit: &str, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => c.execute(
            "INSERT INTO unit_state(unit,key,value) VALUES(?1,?2,?3) \
             ON CONFLICT(unit,key) DO UPDATE SET value=?3",
            params![unit, key, v],
        )?,
        None => c.execute(
            "DELETE FROM unit_state WHERE unit=?1 AND key=?2",
            params![unit, key],
        )?,
    };
    Ok(())
}
