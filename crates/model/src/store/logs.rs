//! The model's two logs: `debug-log` lines and hook runs, each capped at [`LOG_CAP`] rows.

use rusqlite::{Connection, params};

use crate::error::Result;

/// Rows kept in each of `log` and `hook_log`: older ones are dropped as new ones come, so a
/// long-lived model's store stays bounded.
pub(crate) const LOG_CAP: i64 = 10_000;

/// Appends a line to the model log (juju-log, hook output, model events).
pub(crate) fn log(c: &Connection, at: i64, unit: &str, level: &str, message: &str) -> Result<()> {
    c.execute(
        "INSERT INTO log(at,unit,level,message) VALUES(?1,?2,?3,?4)",
        params![at, unit, level, message],
    )?;
    c.execute(
        "DELETE FROM log WHERE id <= last_insert_rowid() - ?1",
        [LOG_CAP],
    )?;
    Ok(())
}

/// One hook run as `debug-log --hooks` shows it.
#[derive(Debug, Clone)]
pub(crate) struct HookRun {
    pub(crate) at: i64,
    pub(crate) unit: String,
    pub(crate) hook: String,
    pub(crate) code: i64,
    pub(crate) millis: i64,
    pub(crate) output: String,
}

/// Appends a hook run to the hook log.
pub(crate) fn hook_run(c: &Connection, run: &HookRun) -> Result<()> {
    c.execute(
        "INSERT INTO hook_log(at,unit,hook,code,millis,output) VALUES(?1,?2,?3,?4,?5,?6)",
        params![run.at, run.unit, run.hook, run.code, run.millis, run.output],
    )?;
    c.execute(
        "DELETE FROM hook_log WHERE id <= last_insert_rowid() - ?1",
        [LOG_CAP],
    )?;
    Ok(())
}

/// The last `limit` hook runs, newest first, optionally of one unit.
pub(crate) fn hook_runs(c: &Connection, unit: Option<&str>, limit: usize) -> Result<Vec<HookRun>> {
    let mut st = c.prepare(
        "SELECT at,unit,hook,code,millis,output FROM hook_log WHERE (?1 IS NULL OR unit=?1) \
         ORDER BY id DESC LIMIT ?2",
    )?;
    Ok(st
        .query_map(params![unit, limit as i64], |r| {
            Ok(HookRun {
                at: r.get(0)?,
                unit: r.get(1)?,
                hook: r.get(2)?,
                code: r.get(3)?,
                millis: r.get(4)?,
                output: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// One line of the model log.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) at: i64,
    pub(crate) unit: String,
    pub(crate) level: String,
    pub(crate) message: String,
}

/// The last `limit` log lines, newest first, optionally of one unit.
pub(crate) fn lines(c: &Connection, unit: Option<&str>, limit: usize) -> Result<Vec<Line>> {
    let mut st = c.prepare(
        "SELECT at,unit,level,message FROM log WHERE (?1 IS NULL OR unit=?1) \
         ORDER BY id DESC LIMIT ?2",
    )?;
    Ok(st
        .query_map(params![unit, limit as i64], |r| {
            Ok(Line {
                at: r.get(0)?,
                unit: r.get(1)?,
                level: r.get(2)?,
                message: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}
