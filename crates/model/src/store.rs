//! The SQLite store: one file per model, WAL, so `status` can read while another process runs
//! hooks. Everything the model knows lives here; the hook runner and the tool server hold only
//! the writes of running hooks, which are committed here in one transaction when a hook succeeds.
//!
//! Functions take a `&Connection` so they work the same inside and outside a transaction.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::charm::CharmMeta;
use crate::error::Result;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS apps(
  name TEXT PRIMARY KEY, num INTEGER NOT NULL UNIQUE, charm_dir TEXT NOT NULL,
  meta TEXT NOT NULL, config TEXT NOT NULL, next_unit INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'unknown', message TEXT NOT NULL DEFAULT '',
  charm_rev INTEGER NOT NULL DEFAULT 1, dying INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS units(
  name TEXT PRIMARY KEY, app TEXT NOT NULL, num INTEGER NOT NULL,
  leader INTEGER NOT NULL DEFAULT 0, dying INTEGER NOT NULL DEFAULT 0,
  started INTEGER NOT NULL DEFAULT 0, status_ever_set INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'waiting', message TEXT NOT NULL DEFAULT 'agent initialising',
  agent TEXT NOT NULL DEFAULT 'allocating', error_hook TEXT, version TEXT NOT NULL DEFAULT '',
  update_status_due INTEGER);
CREATE TABLE IF NOT EXISTS relations(
  id INTEGER PRIMARY KEY, app_a TEXT NOT NULL, ep_a TEXT NOT NULL, app_b TEXT NOT NULL,
  ep_b TEXT NOT NULL, interface TEXT NOT NULL, peer INTEGER NOT NULL, dying INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS scope(relation_id INTEGER NOT NULL, unit TEXT NOT NULL, PRIMARY KEY(relation_id, unit));
CREATE TABLE IF NOT EXISTS seen(relation_id INTEGER NOT NULL, unit TEXT NOT NULL, remote TEXT NOT NULL,
  PRIMARY KEY(relation_id, unit, remote));
CREATE TABLE IF NOT EXISTS bags(relation_id INTEGER NOT NULL, owner TEXT NOT NULL, key TEXT NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY(relation_id, owner, key));
CREATE TABLE IF NOT EXISTS secrets(
  xid TEXT PRIMARY KEY, owner_app TEXT NOT NULL, owner_unit TEXT, label TEXT,
  description TEXT NOT NULL DEFAULT '', rotate TEXT NOT NULL DEFAULT '', rotate_due INTEGER,
  latest INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS secret_revisions(
  xid TEXT NOT NULL, rev INTEGER NOT NULL, content TEXT NOT NULL, expiry INTEGER, expire_due INTEGER,
  remove_notified INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(xid, rev));
CREATE TABLE IF NOT EXISTS secret_grants(xid TEXT NOT NULL, relation_id INTEGER NOT NULL, target TEXT NOT NULL,
  PRIMARY KEY(xid, relation_id, target));
CREATE TABLE IF NOT EXISTS secret_consumers(xid TEXT NOT NULL, unit TEXT NOT NULL, label TEXT,
  tracked INTEGER NOT NULL, PRIMARY KEY(xid, unit));
CREATE TABLE IF NOT EXISTS hooks(
  seq INTEGER PRIMARY KEY AUTOINCREMENT, unit TEXT NOT NULL, hook TEXT NOT NULL,
  relation_id INTEGER, remote_unit TEXT NOT NULL DEFAULT '', remote_app TEXT NOT NULL DEFAULT '',
  departing TEXT NOT NULL DEFAULT '', secret TEXT, secret_rev INTEGER, action_id INTEGER,
  failed INTEGER NOT NULL DEFAULT 0, running INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS actions(
  id INTEGER PRIMARY KEY AUTOINCREMENT, unit TEXT NOT NULL, name TEXT NOT NULL, params TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending', message TEXT NOT NULL DEFAULT '', results TEXT NOT NULL DEFAULT '{}',
  log TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS ports(unit TEXT NOT NULL, port TEXT NOT NULL, PRIMARY KEY(unit, port));
CREATE TABLE IF NOT EXISTS unit_state(unit TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(unit, key));
CREATE TABLE IF NOT EXISTS hook_log(
  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, unit TEXT NOT NULL, hook TEXT NOT NULL,
  code INTEGER NOT NULL, millis INTEGER NOT NULL, output TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log(
  id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, unit TEXT NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL);
"#;

/// Opens (creating if needed) the store of one model. The file is created 0600 before SQLite
/// opens it (it holds private keys), and SQLite gives its `-wal` and `-shm` files the same mode.
pub(crate) fn open(path: &Path) -> Result<Connection> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| crate::error::Error::io("creating", path, e))?;
    // A store made by an older binary may be 0644.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(|e| crate::error::Error::io("securing", path, e))?;
    drop(file);
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // Deleted rows (old secret revisions: private keys) are zeroed, not left in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(SCHEMA)?;
    // Stores made before hooks had a `running` flag.
    let has_running: bool = conn.query_row(
        "SELECT COUNT(*)>0 FROM pragma_table_info('hooks') WHERE name='running'",
        [],
        |r| r.get(0),
    )?;
    if !has_running {
        conn.execute_batch("ALTER TABLE hooks ADD COLUMN running INTEGER NOT NULL DEFAULT 0")?;
    }
    Ok(conn)
}

/// A row of `meta`.
pub(crate) fn meta(c: &Connection, key: &str) -> Result<Option<String>> {
    Ok(
        c.query_row("SELECT value FROM meta WHERE key=?1", [key], |r| r.get(0))
            .optional()?,
    )
}

/// Sets a row of `meta`.
pub(crate) fn set_meta(c: &Connection, key: &str, value: &str) -> Result<()> {
    c.execute(
        "INSERT INTO meta(key,value) VALUES(?1,?2) ON CONFLICT(key) DO UPDATE SET value=?2",
        [key, value],
    )?;
    Ok(())
}

/// Returns the next value of a named counter (relation ids, secret ids...).
pub(crate) fn next_counter(c: &Connection, name: &str) -> Result<i64> {
    let key = format!("counter:{name}");
    let n = meta(c, &key)?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    set_meta(c, &key, &(n + 1).to_string())?;
    Ok(n)
}

/// An application as stored.
#[derive(Debug, Clone)]
pub struct App {
    /// Application name.
    pub name: String,
    /// Its number, the third octet of its units' addresses.
    pub num: i64,
    /// The charm directory units are copied from.
    pub charm_dir: String,
    /// The charm's metadata.
    pub meta: CharmMeta,
    /// Config values set by the user (defaults are not stored).
    pub config: BTreeMap<String, Value>,
    /// Application status set by the leader.
    pub status: String,
    /// Its message.
    pub message: String,
    /// Bumped by every refresh.
    pub charm_rev: i64,
}

const APP_COLS: &str = "name,num,charm_dir,meta,config,status,message,charm_rev";

fn app_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<App> {
    let meta: String = r.get(3)?;
    let config: String = r.get(4)?;
    Ok(App {
        name: r.get(0)?,
        num: r.get(1)?,
        charm_dir: r.get(2)?,
        meta: serde_json::from_str(&meta).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, e.into())
        })?,
        config: serde_json::from_str(&config).unwrap_or_default(),
        status: r.get(5)?,
        message: r.get(6)?,
        charm_rev: r.get(7)?,
    })
}

/// Every application, by name.
pub(crate) fn apps(c: &Connection) -> Result<Vec<App>> {
    let mut st = c.prepare(&format!("SELECT {APP_COLS} FROM apps ORDER BY name"))?;
    Ok(st
        .query_map([], app_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// One application.
pub(crate) fn app(c: &Connection, name: &str) -> Result<Option<App>> {
    Ok(c.query_row(
        &format!("SELECT {APP_COLS} FROM apps WHERE name=?1"),
        [name],
        app_row,
    )
    .optional()?)
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
    pub status: String,
    /// Workload message.
    pub message: String,
    /// Agent status: allocating, executing, idle, error.
    pub agent: String,
    /// The failed hook while in error.
    pub error_hook: Option<String>,
    /// Workload version (application-version-set).
    pub version: String,
    /// Whether the charm ever set a status.
    pub status_ever_set: bool,
}

const UNIT_COLS: &str =
    "name,app,num,leader,dying,started,status,message,agent,error_hook,version,status_ever_set";

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
    })
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

/// A relation as stored. For a peer relation both sides are the same application.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Relation {
    /// The relation id (the number in `JUJU_RELATION_ID=<ep>:<id>`).
    pub id: i64,
    /// First application and its endpoint.
    pub app_a: String,
    /// First endpoint.
    pub ep_a: String,
    /// Second application.
    pub app_b: String,
    /// Second endpoint.
    pub ep_b: String,
    /// The shared interface name.
    pub interface: String,
    /// Whether it is a peer relation.
    pub peer: bool,
    /// Whether it is being removed.
    pub dying: bool,
}

impl Relation {
    /// The endpoint `app` uses in this relation.
    pub fn endpoint_of(&self, app: &str) -> &str {
        if self.app_a == app {
            &self.ep_a
        } else {
            &self.ep_b
        }
    }
    /// The application on the other side of `app` (itself for peers).
    pub fn other_app(&self, app: &str) -> &str {
        if self.app_a == app {
            &self.app_b
        } else {
            &self.app_a
        }
    }
    /// Whether `app` is one side of this relation.
    pub fn involves(&self, app: &str) -> bool {
        self.app_a == app || self.app_b == app
    }
    /// `a:ep b:ep` as `juju status` shows it.
    pub fn display(&self) -> String {
        if self.peer {
            format!("{}:{}", self.app_a, self.ep_a)
        } else {
            format!("{}:{} {}:{}", self.app_a, self.ep_a, self.app_b, self.ep_b)
        }
    }
}

const REL_COLS: &str = "id,app_a,ep_a,app_b,ep_b,interface,peer,dying";

fn rel_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Relation> {
    Ok(Relation {
        id: r.get(0)?,
        app_a: r.get(1)?,
        ep_a: r.get(2)?,
        app_b: r.get(3)?,
        ep_b: r.get(4)?,
        interface: r.get(5)?,
        peer: r.get(6)?,
        dying: r.get(7)?,
    })
}

/// Every relation, by id.
pub(crate) fn relations(c: &Connection) -> Result<Vec<Relation>> {
    let mut st = c.prepare(&format!("SELECT {REL_COLS} FROM relations ORDER BY id"))?;
    Ok(st
        .query_map([], rel_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// One relation.
pub(crate) fn relation(c: &Connection, id: i64) -> Result<Option<Relation>> {
    Ok(c.query_row(
        &format!("SELECT {REL_COLS} FROM relations WHERE id=?1"),
        [id],
        rel_row,
    )
    .optional()?)
}

/// The units in scope of a relation (those whose relation-created committed).
pub(crate) fn scope(c: &Connection, rel: i64) -> Result<Vec<String>> {
    let mut st = c.prepare("SELECT unit FROM scope WHERE relation_id=?1 ORDER BY unit")?;
    Ok(st
        .query_map([rel], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// The remote units `unit` has seen join `rel` (what relation-list returns).
pub(crate) fn seen(c: &Connection, rel: i64, unit: &str) -> Result<Vec<String>> {
    let mut st =
        c.prepare("SELECT remote FROM seen WHERE relation_id=?1 AND unit=?2 ORDER BY remote")?;
    Ok(st
        .query_map(params![rel, unit], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// A committed databag (owner is a unit or application name).
pub(crate) fn bag(c: &Connection, rel: i64, owner: &str) -> Result<BTreeMap<String, String>> {
    let mut st = c.prepare("SELECT key,value FROM bags WHERE relation_id=?1 AND owner=?2")?;
    Ok(st
        .query_map(params![rel, owner], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

/// A pending or failed hook.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Hook {
    /// Queue position; lower runs first.
    pub seq: i64,
    /// The unit that runs it.
    pub unit: String,
    /// Hook name (`install`, `db-relation-changed`) or `actions/<name>` for an action.
    pub hook: String,
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
        hook: r.get(2)?,
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
                "SELECT seq FROM hooks WHERE unit=?1 AND hook=?2 AND relation_id IS ?3 AND remote_unit=?4 \
                 AND departing=?5 AND secret IS ?6 AND secret_rev IS ?7 AND failed=0 AND running=0",
                params![h.unit, h.hook, h.relation_id, h.remote_unit, h.departing, h.secret, h.secret_rev],
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
        params![h.unit, h.hook, h.relation_id, h.remote_unit, h.remote_app, h.departing, h.secret, h.secret_rev, h.action_id],
    )?;
    Ok(())
}

/// Appends a line to the model log (juju-log, hook output, model events).
pub(crate) fn log(c: &Connection, at: i64, unit: &str, level: &str, message: &str) -> Result<()> {
    c.execute(
        "INSERT INTO log(at,unit,level,message) VALUES(?1,?2,?3,?4)",
        params![at, unit, level, message],
    )?;
    Ok(())
}
