//! The SQLite store: one file per model, WAL, so `status` can read while another process runs
//! hooks. Everything the model knows lives here; the hook runner and the tool server hold only
//! the writes of running hooks, which are committed here in one transaction when a hook succeeds.
//!
//! Functions take a `&Connection` so they work the same inside and outside a transaction.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::charm::CharmMeta;
use crate::error::{Error, Result};

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
  update_status_due INTEGER, addr_index INTEGER);
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
  failed INTEGER NOT NULL DEFAULT 0, running INTEGER NOT NULL DEFAULT 0, pgid INTEGER);
CREATE INDEX IF NOT EXISTS hooks_by_unit ON hooks(unit, seq);
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

/// The schema this binary writes (`PRAGMA user_version`). 0: stores made before versioning
/// (migrated); 1: hooks have `running`; 2: units have `addr_index`, hooks `pgid`; 3: hooks are
/// indexed by unit (the scheduler picks each unit's first hook without reading the queue).
pub(crate) const SCHEMA_VERSION: i64 = 3;

/// Rows kept in each of `log` and `hook_log`: older ones are dropped as new ones come, so a
/// long-lived model's store stays bounded.
pub(crate) const LOG_CAP: i64 = 10_000;

/// Opens (creating if needed) the store of one model, migrating one made by an older binary and
/// refusing one made by a newer. The file is created 0600 before SQLite opens it (it holds
/// private keys), and SQLite gives its `-wal` and `-shm` files the same mode.
pub(crate) fn open(path: &Path) -> Result<Connection> {
    drop(crate::private_file::open(
        path,
        crate::private_file::Existing::Keep,
    )?);
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // Deleted rows (old secret revisions: private keys) are zeroed, not left in free pages.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(Error::NewerStore {
            path: path.to_owned(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    if version < SCHEMA_VERSION {
        migrate(&mut conn)?;
    }
    Ok(conn)
}

/// Brings a store to [`SCHEMA_VERSION`] in one transaction: missing tables and columns are
/// added, existing units are numbered for addresses in (application, unit) order.
fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the write lock.
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version >= SCHEMA_VERSION {
        return Ok(());
    }
    tx.execute_batch(SCHEMA)?;
    let has = |table: &str, column: &str| -> rusqlite::Result<bool> {
        tx.query_row(
            "SELECT COUNT(*)>0 FROM pragma_table_info(?1) WHERE name=?2",
            [table, column],
            |r| r.get(0),
        )
    };
    if !has("hooks", "running")? {
        tx.execute_batch("ALTER TABLE hooks ADD COLUMN running INTEGER NOT NULL DEFAULT 0")?;
    }
    if !has("hooks", "pgid")? {
        tx.execute_batch("ALTER TABLE hooks ADD COLUMN pgid INTEGER")?;
    }
    if !has("units", "addr_index")? {
        tx.execute_batch("ALTER TABLE units ADD COLUMN addr_index INTEGER")?;
    }
    let unnumbered: Vec<String> = {
        let mut st = tx.prepare(
            "SELECT u.name FROM units u JOIN apps a ON a.name=u.app \
             WHERE u.addr_index IS NULL ORDER BY a.num, u.num",
        )?;
        st.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    for unit in unnumbered {
        let k = next_counter(&tx, "address")?;
        tx.execute(
            "UPDATE units SET addr_index=?2 WHERE name=?1",
            params![unit, k],
        )?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Decodes a JSON cell. A cell that does not decode is an error naming its table, row and
/// column: a default would be written back by the next change and lose what was there.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    table: &'static str,
    row: &str,
    column: &'static str,
    text: &str,
) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Corrupt {
        table,
        row: row.to_owned(),
        column,
        reason: e.to_string(),
    })
}

/// Encodes a value for a JSON cell.
pub(crate) fn encode<T: serde::Serialize>(
    table: &'static str,
    row: &str,
    column: &'static str,
    value: &T,
) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Corrupt {
        table,
        row: row.to_owned(),
        column,
        reason: format!("cannot encode: {e}"),
    })
}

/// Parses an integer kept as text in `meta`.
pub(crate) fn meta_int(c: &Connection, key: &str) -> Result<Option<i64>> {
    meta(c, key)?
        .map(|v| {
            v.trim().parse::<i64>().map_err(|e| Error::Corrupt {
                table: "meta",
                row: key.to_owned(),
                column: "value",
                reason: format!("{v:?} is not an integer: {e}"),
            })
        })
        .transpose()
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
    let n = meta_int(c, &key)?.unwrap_or(0);
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

/// An `apps` row before its JSON cells are decoded.
struct AppRow {
    name: String,
    num: i64,
    charm_dir: String,
    meta: String,
    config: String,
    status: String,
    message: String,
    charm_rev: i64,
}

fn app_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AppRow> {
    Ok(AppRow {
        name: r.get(0)?,
        num: r.get(1)?,
        charm_dir: r.get(2)?,
        meta: r.get(3)?,
        config: r.get(4)?,
        status: r.get(5)?,
        message: r.get(6)?,
        charm_rev: r.get(7)?,
    })
}

impl AppRow {
    fn decode(self) -> Result<App> {
        Ok(App {
            meta: decode("apps", &self.name, "meta", &self.meta)?,
            config: decode("apps", &self.name, "config", &self.config)?,
            name: self.name,
            num: self.num,
            charm_dir: self.charm_dir,
            status: self.status,
            message: self.message,
            charm_rev: self.charm_rev,
        })
    }
}

/// Every application, by name.
pub(crate) fn apps(c: &Connection) -> Result<Vec<App>> {
    let mut st = c.prepare(&format!("SELECT {APP_COLS} FROM apps ORDER BY name"))?;
    st.query_map([], app_row)?
        .map(|r| r.map_err(Error::from).and_then(AppRow::decode))
        .collect()
}

/// One application.
pub(crate) fn app(c: &Connection, name: &str) -> Result<Option<App>> {
    c.query_row(
        &format!("SELECT {APP_COLS} FROM apps WHERE name=?1"),
        [name],
        app_row,
    )
    .optional()?
    .map(AppRow::decode)
    .transpose()
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

/// The first hook in queue order that can run now: a unit's first queued hook, or for a unit in
/// error its first action (its failed hook waits for `resolve`; actions still run, §3.3);
/// units in `busy` are skipped. One query with an index: the queue and the unit table run to
/// thousands of rows at scale, and this runs before every hook.
pub(crate) fn next_runnable(c: &Connection, busy: &[&str]) -> Result<Option<Hook>> {
    let cols = HOOK_COLS
        .split(',')
        .map(|col| format!("h.{}", col.trim()))
        .collect::<Vec<_>>()
        .join(",");
    let placeholders = (1..=busy.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let sql = format!(
        "SELECT {cols} FROM hooks h LEFT JOIN units u ON u.name=h.unit \
         WHERE h.unit NOT IN ({placeholders}) AND CASE WHEN u.agent='error' \
           THEN h.action_id IS NOT NULL AND h.seq=(SELECT MIN(seq) FROM hooks \
                WHERE unit=h.unit AND action_id IS NOT NULL) \
           ELSE h.seq=(SELECT MIN(seq) FROM hooks WHERE unit=h.unit) END \
         ORDER BY h.seq LIMIT 1"
    );
    let mut st = c.prepare_cached(&sql)?;
    Ok(st
        .query_row(rusqlite::params_from_iter(busy.iter()), hook_row)
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
                    h.hook,
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
        params![h.unit, h.hook, h.relation_id, h.remote_unit, h.remote_app, h.departing, h.secret, h.secret_rev, h.action_id],
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
    hook: &str,
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
        hook,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A store as the binary before schema versions made it: no `user_version`, no address
    /// numbers, no process groups.
    fn old_store(path: &Path) {
        let c = Connection::open(path).unwrap();
        let old = SCHEMA
            .replace(", addr_index INTEGER", "")
            .replace(", pgid INTEGER", "");
        c.execute_batch(&old).unwrap();
        c.execute_batch(
            "INSERT INTO apps(name,num,charm_dir,meta,config) VALUES('b',2,'/c','{}','{}'),('a',1,'/c','{}','{}');
             INSERT INTO units(name,app,num) VALUES('b/0','b',0),('a/1','a',1),('a/0','a',0);
             INSERT INTO meta(key,value) VALUES('address_block','9');",
        )
        .unwrap();
    }

    #[test]
    fn an_older_store_is_migrated_and_a_newer_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.db");
        old_store(&path);
        let c = open(&path).unwrap();
        let v: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let addrs: Vec<(String, String)> = units(&c)
            .unwrap()
            .into_iter()
            .map(|u| (u.name, u.address))
            .collect();
        assert_eq!(
            addrs,
            [
                ("a/0".to_owned(), "127.9.0.1".to_owned()),
                ("a/1".to_owned(), "127.9.0.2".to_owned()),
                ("b/0".to_owned(), "127.9.0.3".to_owned()),
            ]
        );
        assert_eq!(next_counter(&c, "address").unwrap(), 3, "new units go on");
        drop(c);
        // Opening again is a no-op.
        open(&path).unwrap();
        let c = Connection::open(&path).unwrap();
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(c);
        let err = open(&path).unwrap_err().to_string();
        assert!(err.contains("written by a newer juju-tls"), "{err}");
    }

    #[test]
    fn corrupt_cells_and_counters_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let c = open(&dir.path().join("model.db")).unwrap();
        c.execute_batch(
            r#"INSERT INTO apps(name,num,charm_dir,meta,config) VALUES('web',1,'/c','{"name":"web","endpoints":[],"config":{},"actions":{}}','{oops');
             INSERT INTO meta(key,value) VALUES('counter:relation','7x');"#,
        )
        .unwrap();
        let err = app(&c, "web").unwrap_err().to_string();
        assert!(
            err.starts_with("model store: table apps, row web, column config does not decode"),
            "{err}"
        );
        let err = next_counter(&c, "relation").unwrap_err().to_string();
        assert!(err.contains("table meta, row counter:relation"), "{err}");
        assert_eq!(meta(&c, "counter:relation").unwrap().as_deref(), Some("7x"));
    }

    #[test]
    fn logs_are_capped() {
        let dir = tempfile::tempdir().unwrap();
        let c = open(&dir.path().join("model.db")).unwrap();
        for i in 0..LOG_CAP + 5 {
            log(&c, i, "u/0", "INFO", "x").unwrap();
        }
        let (n, min): (i64, i64) = c
            .query_row("SELECT COUNT(*), MIN(at) FROM log", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((n, min), (LOG_CAP, 5));
    }
}
