//! Relations, who is in their scope, which remote units each unit has seen join, and databags.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

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
    let mut st =
        c.prepare_cached("SELECT key,value FROM bags WHERE relation_id=?1 AND owner=?2")?;
    Ok(st
        .query_map(params![rel, owner], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

/// The counter bag revisions come from (`meta`): a revision is never given twice, even to a
/// key deleted and set again, so a revision names one value for good.
pub(crate) const BAG_REVISION_COUNTER: &str = "bag_rev";

/// A bag's keys and the revision of each value, in key order, without reading the values.
pub(crate) fn bag_revisions(c: &Connection, rel: i64, owner: &str) -> Result<Vec<(String, i64)>> {
    let mut st = c.prepare_cached(
        "SELECT key,rev FROM bags WHERE relation_id=?1 AND owner=?2 ORDER BY key",
    )?;
    Ok(st
        .query_map(params![rel, owner], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?)
}

/// The revision of one key's value, if set.
pub(crate) fn bag_revision(
    c: &Connection,
    rel: i64,
    owner: &str,
    key: &str,
) -> Result<Option<i64>> {
    Ok(
        c.prepare_cached("SELECT rev FROM bags WHERE relation_id=?1 AND owner=?2 AND key=?3")?
            .query_row(params![rel, owner, key], |r| r.get(0))
            .optional()?,
    )
}

/// One key of a bag, if set.
pub(crate) fn bag_value(
    c: &Connection,
    rel: i64,
    owner: &str,
    key: &str,
) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT value FROM bags WHERE relation_id=?1 AND owner=?2 AND key=?3",
        params![rel, owner, key],
        |r| r.get(0),
    )
    .optional()?)
}

/// Records a relation (a peer relation has the same application and endpoint on both sides).
pub(crate) fn insert(c: &Connection, r: &Relation) -> Result<()> {
    c.execute(
        "INSERT INTO relations(id,app_a,ep_a,app_b,ep_b,interface,peer,dying) \
         VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
        params![
            r.id,
            r.app_a,
            r.ep_a,
            r.app_b,
            r.ep_b,
            r.interface,
            r.peer,
            r.dying
        ],
    )?;
    Ok(())
}

/// Marks a relation as being removed.
pub(crate) fn mark_dying(c: &Connection, id: i64) -> Result<()> {
    c.execute("UPDATE relations SET dying=1 WHERE id=?1", [id])?;
    Ok(())
}

/// Forgets a relation: its row, scope, what its units saw, its bags, the secret grants made on
/// it and its queued hooks (failed ones stay, for `resolve`).
pub(crate) fn delete(c: &Connection, id: i64) -> Result<()> {
    for sql in [
        "DELETE FROM relations WHERE id=?1",
        "DELETE FROM scope WHERE relation_id=?1",
        "DELETE FROM remote_scope WHERE relation_id=?1",
        "DELETE FROM seen WHERE relation_id=?1",
        "DELETE FROM bags WHERE relation_id=?1",
        "DELETE FROM secret_grants WHERE relation_id=?1",
        "DELETE FROM hooks WHERE relation_id=?1 AND failed=0",
    ] {
        c.execute(sql, [id])?;
    }
    Ok(())
}

/// `unit` enters the relation's scope (its relation-created committed).
pub(crate) fn enter_scope(c: &Connection, rel: i64, unit: &str) -> Result<()> {
    c.execute(
        "INSERT OR IGNORE INTO scope(relation_id,unit) VALUES(?1,?2)",
        params![rel, unit],
    )?;
    Ok(())
}

/// `unit` leaves the relation's scope (its relation-broken committed) and forgets whom it saw.
pub(crate) fn leave_scope(c: &Connection, rel: i64, unit: &str) -> Result<()> {
    c.execute(
        "DELETE FROM scope WHERE relation_id=?1 AND unit=?2",
        params![rel, unit],
    )?;
    c.execute(
        "DELETE FROM seen WHERE relation_id=?1 AND unit=?2",
        params![rel, unit],
    )?;
    Ok(())
}

/// `unit` saw `remote` join (`true`: its joined committed) or depart (`false`).
pub(crate) fn set_seen(
    c: &Connection,
    rel: i64,
    unit: &str,
    remote: &str,
    seen: bool,
) -> Result<()> {
    if seen {
        c.execute(
            "INSERT OR IGNORE INTO seen(relation_id,unit,remote) VALUES(?1,?2,?3)",
            params![rel, unit, remote],
        )?;
    } else {
        c.execute(
            "DELETE FROM seen WHERE relation_id=?1 AND unit=?2 AND remote=?3",
            params![rel, unit, remote],
        )?;
    }
    Ok(())
}

/// Sets (`Some`) or deletes one key of a databag.
pub(crate) fn set_bag_key(
    c: &Connection,
    rel: i64,
    owner: &str,
    key: &str,
    value: Option<&str>,
) -> Result<()> {
    match value {
        Some(v) => {
            let rev = super::next_counter(c, BAG_REVISION_COUNTER)?;
            c.execute(
                "INSERT INTO bags(relation_id,owner,key,rev,value) VALUES(?1,?2,?3,?4,?5) \
                 ON CONFLICT(relation_id,owner,key) DO UPDATE SET rev=?4, value=?5",
                params![rel, owner, key, rev, v],
            )?
        }
        None => c.execute(
            "DELETE FROM bags WHERE relation_id=?1 AND owner=?2 AND key=?3",
            params![rel, owner, key],
        )?,
    };
    Ok(())
}
