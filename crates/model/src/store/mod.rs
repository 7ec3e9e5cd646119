//! The SQLite store: one file per model, WAL, so `status` can read while another process runs
//! hooks. Everything the model knows lives here; the hook runner and the tool server hold only
//! the writes of running hooks, which are committed here in one transaction when a hook succeeds.
//!
//! Every SQL statement of the crate is in this module tree, one submodule per group of tables;
//! the rest of the crate calls typed functions. Functions take a `&Connection` so they work the
//! same inside and outside a transaction: transactions belong to the callers (a verb, a hook's
//! commit), which decide what must happen together.

pub(crate) mod actions;
pub(crate) mod apps;
pub(crate) mod crossmodel;
pub(crate) mod hooks;
pub(crate) mod logs;
pub(crate) mod relations;
mod schema;
pub(crate) mod secrets;
pub(crate) mod units;

pub use apps::App;
pub use hooks::Hook;
pub use relations::Relation;
pub use units::{AgentState, Unit, WorkloadStatus};

pub(crate) use apps::{app, apps};
pub(crate) use hooks::enqueue;
pub(crate) use relations::{bag, relation, relations, scope, seen};
#[cfg(test)]
use schema::SCHEMA_VERSION;
pub(crate) use schema::{open, open_reader};
pub(crate) use units::{app_units, unit, units};

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, Result};

#[cfg(test)]
use logs::LOG_CAP;
pub(crate) use logs::log;

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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::schema::SCHEMA;
    use super::*;

    /// A store as the binary before schema versions made it: no `user_version`, no address
    /// numbers, no process groups.
    fn old_store(path: &Path) {
        let c = Connection::open(path).unwrap();
        let old = SCHEMA
            .replace(", addr_index INTEGER", "")
            .replace(", pgid INTEGER", "")
            .replace("owner_app TEXT,", "owner_app TEXT NOT NULL,")
            .replace(
                ", auto_prune INTEGER NOT NULL DEFAULT 0, created INTEGER, updated INTEGER",
                "",
            )
            .replace(
                "remove_notified INTEGER NOT NULL DEFAULT 0, created INTEGER,",
                "remove_notified INTEGER NOT NULL DEFAULT 0,",
            )
            .replace("rev INTEGER NOT NULL, value TEXT", "value TEXT");
        c.execute_batch(&old).unwrap();
        c.execute_batch(
            "INSERT INTO apps(name,num,charm_dir,meta,config) VALUES('b',2,'/c','{}','{}'),('a',1,'/c','{}','{}');
             INSERT INTO units(name,app,num) VALUES('b/0','b',0),('a/1','a',1),('a/0','a',0);
             INSERT INTO meta(key,value) VALUES('address_block','9');
             INSERT INTO secrets(xid,owner_app,label,latest) VALUES('x2','b','second',1),('x1','a','first',1);
             INSERT INTO secret_revisions(xid,rev,content) VALUES('x2',1,'{}'),('x1',1,'{}');
             INSERT INTO bags(relation_id,owner,key,value) VALUES(1,'a','k','v'),(1,'b/0','k','w');",
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
        // Secrets survive the rebuild that lets the model own them, in their order.
        let owners: Vec<(String, Option<String>)> = secrets::summaries(&c)
            .unwrap()
            .into_iter()
            .map(|s| (s.xid, s.owner_app))
            .collect();
        assert_eq!(
            owners,
            [
                ("x2".to_owned(), Some("b".to_owned())),
                ("x1".to_owned(), Some("a".to_owned()))
            ]
        );
        let nullable: bool = c
            .query_row(
                "SELECT \"notnull\"=0 FROM pragma_table_info('secrets') WHERE name='owner_app'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(nullable);
        // Bag values keep their text and get revisions of their own, below the next one.
        let bag_revs: Vec<(String, i64)> = ["a", "b/0"]
            .iter()
            .flat_map(|o| relations::bag_revisions(&c, 1, o).unwrap())
            .collect();
        assert_eq!(bag(&c, 1, "b/0").unwrap()["k"], "w");
        assert!(bag_revs[0].1 != bag_revs[1].1, "{bag_revs:?}");
        let next = next_counter(&c, relations::BAG_REVISION_COUNTER).unwrap();
        assert!(
            bag_revs.iter().all(|(_, r)| *r < next),
            "{bag_revs:?} {next}"
        );
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
