//! The schema, its version, and the migration of a store made by an older binary.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, params};

use super::next_counter;
use crate::error::{Error, Result};

pub(super) const SCHEMA: &str = r#"
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
  rev INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY(relation_id, owner, key));
CREATE TABLE IF NOT EXISTS secrets(
  xid TEXT PRIMARY KEY, owner_app TEXT, owner_unit TEXT, label TEXT,
  description TEXT NOT NULL DEFAULT '', rotate TEXT NOT NULL DEFAULT '', rotate_due INTEGER,
  latest INTEGER NOT NULL, auto_prune INTEGER NOT NULL DEFAULT 0, created INTEGER, updated INTEGER);
CREATE TABLE IF NOT EXISTS secret_revisions(
  xid TEXT NOT NULL, rev INTEGER NOT NULL, content TEXT NOT NULL, expiry INTEGER, expire_due INTEGER,
  remove_notified INTEGER NOT NULL DEFAULT 0, created INTEGER, PRIMARY KEY(xid, rev));
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
CREATE TABLE IF NOT EXISTS offers(name TEXT PRIMARY KEY, app TEXT NOT NULL, endpoints TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS remote_apps(
  name TEXT PRIMARY KEY, kind TEXT NOT NULL, model_uuid TEXT NOT NULL, model_name TEXT NOT NULL,
  offer TEXT NOT NULL DEFAULT '', app TEXT NOT NULL, endpoints TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'unknown', message TEXT NOT NULL DEFAULT '', dying INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS xrels(
  relation_id INTEGER PRIMARY KEY, local_app TEXT NOT NULL, remote_app TEXT NOT NULL,
  peer_uuid TEXT NOT NULL, peer_model TEXT NOT NULL, peer_relation INTEGER);
CREATE TABLE IF NOT EXISTS remote_scope(relation_id INTEGER NOT NULL, unit TEXT NOT NULL, PRIMARY KEY(relation_id, unit));
CREATE TABLE IF NOT EXISTS remote_secrets(
  unit TEXT NOT NULL, xid TEXT NOT NULL, model_uuid TEXT NOT NULL, label TEXT,
  notified INTEGER NOT NULL, PRIMARY KEY(unit, xid));
"#;

/// The schema this binary writes (`PRAGMA user_version`). 0: stores made before versioning
/// (migrated); 1: hooks have `running`; 2: units have `addr_index`, hooks `pgid`; 3: hooks are
/// indexed by unit (the scheduler picks each unit's first hook without reading the queue); 4:
/// secrets may be owned by the model (`owner_app` NULL: user secrets), have `auto_prune` and
/// creation/update times; 5: cross-model relations (`offers`, `remote_apps`, `xrels`,
/// `remote_scope`, `remote_secrets`); 6: every bag value has a revision (`bags.rev`, unique in
/// the store, stored before the value so reading it does not read the value).
pub(crate) const SCHEMA_VERSION: i64 = 6;

/// Log pages after which a commit checkpoints by itself (SQLite's default is 1,000): only
/// when the model's checkpoint thread has fallen behind or is not running.
pub(crate) const BACKSTOP_CHECKPOINT_PAGES: i64 = 8_000;

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
    // The model checkpoints on a thread of its own after each transaction (`after_commit`);
    // the connection's own checkpoint, inside a commit, is the backstop.
    conn.pragma_update(None, "wal_autocheckpoint", BACKSTOP_CHECKPOINT_PAGES)?;
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

/// A second connection to an open store, for the hook-tool server's reads: in WAL mode a
/// reader sees the last commit and never waits for a writer, so one hook's tool calls are not
/// held up while another hook's results (a provider's multi-megabyte bag) are committed on the
/// main connection. `query_only`: a write through it is an error, not a second writer.
pub(crate) fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "query_only", "ON")?;
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
    if !has("secret_revisions", "created")? {
        tx.execute_batch("ALTER TABLE secret_revisions ADD COLUMN created INTEGER")?;
    }
    let owner_required: bool = tx.query_row(
        "SELECT \"notnull\" FROM pragma_table_info('secrets') WHERE name='owner_app'",
        [],
        |r| r.get(0),
    )?;
    if owner_required {
        // SQLite cannot drop NOT NULL in place: the table is rebuilt from SCHEMA, rowids (the
        // listing order) kept.
        tx.execute_batch("ALTER TABLE secrets RENAME TO secrets_v3")?;
        tx.execute_batch(SCHEMA)?;
        tx.execute_batch(
            "INSERT INTO secrets(rowid,xid,owner_app,owner_unit,label,description,rotate,rotate_due,latest) \
             SELECT rowid,xid,owner_app,owner_unit,label,description,rotate,rotate_due,latest FROM secrets_v3; \
             DROP TABLE secrets_v3;",
        )?;
    }
    if !has("bags", "rev")? {
        // A new column would go after the value, and reading it would read the value: the
        // table is rebuilt with `rev` before it, each value getting a revision of its own.
        tx.execute_batch("ALTER TABLE bags RENAME TO bags_v5")?;
        tx.execute_batch(SCHEMA)?;
        tx.execute_batch(
            "INSERT INTO bags(relation_id,owner,key,rev,value) \
             SELECT relation_id,owner,key,rowid,value FROM bags_v5",
        )?;
        let next: i64 =
            tx.query_row("SELECT COALESCE(MAX(rev),0)+1 FROM bags", [], |r| r.get(0))?;
        super::set_meta(
            &tx,
            &format!("counter:{}", super::relations::BAG_REVISION_COUNTER),
            &next.to_string(),
        )?;
        tx.execute_batch("DROP TABLE bags_v5")?;
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
