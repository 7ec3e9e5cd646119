//! Action runs: parameters, state, results and the `action-log` lines.

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::{decode, encode};
use crate::error::Result;

/// Records a queued action run; returns its id.
pub(crate) fn insert(c: &Connection, unit: &str, name: &str, params_in: &Value) -> Result<i64> {
    c.execute(
        "INSERT INTO actions(unit,name,params) VALUES(?1,?2,?3)",
        params![unit, name, params_in.to_string()],
    )?;
    Ok(c.last_insert_rowid())
}

/// The run started.
pub(crate) fn set_running(c: &Connection, id: i64) -> Result<()> {
    c.execute("UPDATE actions SET status='running' WHERE id=?1", [id])?;
    Ok(())
}

/// The run ended (`completed` or `failed`) with its results.
pub(crate) fn finish(
    c: &Connection,
    id: i64,
    status: &str,
    message: &str,
    results: &Value,
) -> Result<()> {
    c.execute(
        "UPDATE actions SET status=?2, message=?3, results=?4 WHERE id=?1",
        params![id, status, message, results.to_string()],
    )?;
    Ok(())
}

/// The unit's runs that never started fail with `message` (the unit is gone).
pub(crate) fn fail_pending(c: &Connection, unit: &str, message: &str) -> Result<()> {
    c.execute(
        "UPDATE actions SET status='failed', message=?2 WHERE unit=?1 AND status='pending'",
        params![unit, message],
    )?;
    Ok(())
}

/// A run's parameters (`action-get`).
pub(crate) fn params(c: &Connection, id: i64) -> Result<Value> {
    let raw: String = c.query_row("SELECT params FROM actions WHERE id=?1", [id], |r| r.get(0))?;
    decode("actions", &id.to_string(), "params", &raw)
}

/// Appends a line to a run's log (`action-log`).
pub(crate) fn append_log(c: &Connection, id: i64, message: &str) -> Result<()> {
    let row = id.to_string();
    let raw: String = c.query_row("SELECT log FROM actions WHERE id=?1", [id], |r| r.get(0))?;
    let mut log: Vec<String> = decode("actions", &row, "log", &raw)?;
    log.push(message.to_owned());
    c.execute(
        "UPDATE actions SET log=?2 WHERE id=?1",
        params![id, encode("actions", &row, "log", &log)?],
    )?;
    Ok(())
}

/// An action run as stored.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub(crate) id: i64,
    pub(crate) unit: String,
    pub(crate) name: String,
    pub(crate) status: String,
    pub(crate) message: String,
    pub(crate) results: Value,
    pub(crate) log: Vec<String>,
}

/// One run, if it exists.
pub(crate) fn get(c: &Connection, id: i64) -> Result<Option<Run>> {
    let row = c
        .query_row(
            "SELECT id,unit,name,status,message,results,log FROM actions WHERE id=?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                ))
            },
        )
        .optional()?;
    let Some((id, unit, name, status, message, results, log)) = row else {
        return Ok(None);
    };
    let key = id.to_string();
    Ok(Some(Run {
        id,
        unit,
        name,
        status,
        message,
        results: decode("actions", &key, "results", &results)?,
        log: decode("actions", &key, "log", &log)?,
    }))
}
