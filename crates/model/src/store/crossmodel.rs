//! Cross-model relations: the offers a model makes, the remote applications it relates to (a
//! consumed offer, `saas`; or, in the offering model, the consuming application, `consumer`),
//! which local relation is linked to which relation of which peer model, and the remote units
//! in each linked relation's scope.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::{decode, encode};
use crate::charm::Endpoint;
use crate::error::Result;

/// An offer: endpoints of a local application other models may consume.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Offer {
    /// The offer's name (`juju offer app:ep NAME`; the application's name by default).
    pub name: String,
    /// The offered application.
    pub app: String,
    /// The offered endpoints, by name.
    pub endpoints: Vec<String>,
}

/// Which side of a cross-model relation a remote application stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RemoteKind {
    /// A consumed offer, in the consuming model (`juju consume`; status's SAAS).
    Saas,
    /// The consuming application, in the offering model (`remote-<token>`, as Juju names it).
    Consumer,
}

/// An application of another model, as this model sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RemoteApp {
    /// Its name here: the SAAS alias, or `remote-<token>`.
    pub name: String,
    /// Saas or consumer.
    pub kind: RemoteKind,
    /// The other model's UUID.
    pub model_uuid: String,
    /// The other model's name.
    pub model_name: String,
    /// The offer's name (saas only).
    pub offer: String,
    /// The application's name in its own model.
    pub app: String,
    /// Its endpoints usable from here.
    pub endpoints: Vec<Endpoint>,
    /// The offering application's status (saas only), as last synced.
    pub status: String,
    /// Its status message.
    pub message: String,
    /// `remove-saas` was asked: gone once no relation uses it.
    pub dying: bool,
}

/// A local relation linked to a relation of another model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    /// The local relation.
    pub relation_id: i64,
    /// The local application in it.
    pub local_app: String,
    /// The remote application in it.
    pub remote_app: String,
    /// The peer model's UUID.
    pub peer_uuid: String,
    /// The peer model's name.
    pub peer_model: String,
    /// The peer's relation, once linked.
    pub peer_relation: Option<i64>,
}

/// Every offer, by name.
pub(crate) fn offers(c: &Connection) -> Result<Vec<Offer>> {
    let mut st = c.prepare("SELECT name,app,endpoints FROM offers ORDER BY name")?;
    let rows: Vec<(String, String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(name, app, eps)| {
            let endpoints = decode("offers", &name, "endpoints", &eps)?;
            Ok(Offer {
                name,
                app,
                endpoints,
            })
        })
        .collect()
}

/// One offer.
pub(crate) fn offer(c: &Connection, name: &str) -> Result<Option<Offer>> {
    Ok(offers(c)?.into_iter().find(|o| o.name == name))
}

/// Records an offer.
pub(crate) fn insert_offer(c: &Connection, o: &Offer) -> Result<()> {
    let eps = encode("offers", &o.name, "endpoints", &o.endpoints)?;
    c.execute(
        "INSERT INTO offers(name,app,endpoints) VALUES(?1,?2,?3)",
        params![o.name, o.app, eps],
    )?;
    Ok(())
}

/// Forgets an offer.
pub(crate) fn delete_offer(c: &Connection, name: &str) -> Result<()> {
    c.execute("DELETE FROM offers WHERE name=?1", [name])?;
    Ok(())
}

/// Forgets every offer of an application.
pub(crate) fn delete_offers_of(c: &Connection, app: &str) -> Result<()> {
    c.execute("DELETE FROM offers WHERE app=?1", [app])?;
    Ok(())
}

const REMOTE_COLS: &str =
    "name,kind,model_uuid,model_name,offer,app,endpoints,status,message,dying";

fn remote_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(RemoteApp, String)> {
    let kind: String = r.get(1)?;
    Ok((
        RemoteApp {
            name: r.get(0)?,
            kind: if kind == "saas" {
                RemoteKind::Saas
            } else {
                RemoteKind::Consumer
            },
            model_uuid: r.get(2)?,
            model_name: r.get(3)?,
            offer: r.get(4)?,
            app: r.get(5)?,
            endpoints: Vec::new(),
            status: r.get(7)?,
            message: r.get(8)?,
            dying: r.get(9)?,
        },
        r.get(6)?,
    ))
}

/// Every remote application, by name.
pub(crate) fn remote_apps(c: &Connection) -> Result<Vec<RemoteApp>> {
    let mut st = c.prepare(&format!(
        "SELECT {REMOTE_COLS} FROM remote_apps ORDER BY name"
    ))?;
    let rows: Vec<(RemoteApp, String)> = st
        .query_map([], remote_row)?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(mut app, eps)| {
            app.endpoints = decode("remote_apps", &app.name, "endpoints", &eps)?;
            Ok(app)
        })
        .collect()
}

/// One remote application.
pub(crate) fn remote_app(c: &Connection, name: &str) -> Result<Option<RemoteApp>> {
    let row = c
        .query_row(
            &format!("SELECT {REMOTE_COLS} FROM remote_apps WHERE name=?1"),
            [name],
            remote_row,
        )
        .optional()?;
    row.map(|(mut app, eps)| {
        app.endpoints = decode("remote_apps", &app.name, "endpoints", &eps)?;
        Ok(app)
    })
    .transpose()
}

/// Records a remote application.
pub(crate) fn insert_remote_app(c: &Connection, a: &RemoteApp) -> Result<()> {
    let eps = encode("remote_apps", &a.name, "endpoints", &a.endpoints)?;
    let kind = match a.kind {
        RemoteKind::Saas => "saas",
        RemoteKind::Consumer => "consumer",
    };
    c.execute(
        &format!("INSERT INTO remote_apps({REMOTE_COLS}) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"),
        params![
            a.name,
            kind,
            a.model_uuid,
            a.model_name,
            a.offer,
            a.app,
            eps,
            a.status,
            a.message,
            a.dying
        ],
    )?;
    Ok(())
}

/// Records the offering application's status on a SAAS; whether it changed.
pub(crate) fn set_remote_status(
    c: &Connection,
    name: &str,
    status: &str,
    message: &str,
) -> Result<bool> {
    Ok(c.execute(
        "UPDATE remote_apps SET status=?2, message=?3 WHERE name=?1 AND (status<>?2 OR message<>?3)",
        params![name, status, message],
    )? > 0)
}

/// Marks a remote application dying (`remove-saas`).
pub(crate) fn mark_remote_dying(c: &Connection, name: &str) -> Result<()> {
    c.execute("UPDATE remote_apps SET dying=1 WHERE name=?1", [name])?;
    Ok(())
}

/// Forgets a remote application.
pub(crate) fn delete_remote_app(c: &Connection, name: &str) -> Result<()> {
    c.execute("DELETE FROM remote_apps WHERE name=?1", [name])?;
    Ok(())
}

fn link_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Link> {
    Ok(Link {
        relation_id: r.get(0)?,
        local_app: r.get(1)?,
        remote_app: r.get(2)?,
        peer_uuid: r.get(3)?,
        peer_model: r.get(4)?,
        peer_relation: r.get(5)?,
    })
}

const LINK_COLS: &str = "relation_id,local_app,remote_app,peer_uuid,peer_model,peer_relation";

/// Every linked relation.
pub(crate) fn links(c: &Connection) -> Result<Vec<Link>> {
    let mut st = c.prepare(&format!(
        "SELECT {LINK_COLS} FROM xrels ORDER BY relation_id"
    ))?;
    Ok(st
        .query_map([], link_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// Whether any relation is linked to another model (the cheap test a settle makes first).
pub(crate) fn has_links(c: &Connection) -> Result<bool> {
    Ok(c.query_row("SELECT EXISTS(SELECT 1 FROM xrels)", [], |r| r.get(0))?)
}

/// The link of a local relation.
pub(crate) fn link(c: &Connection, relation_id: i64) -> Result<Option<Link>> {
    Ok(c.query_row(
        &format!("SELECT {LINK_COLS} FROM xrels WHERE relation_id=?1"),
        [relation_id],
        link_row,
    )
    .optional()?)
}

/// The local relation linked to `peer_relation` of the model `peer_uuid`.
pub(crate) fn link_to(c: &Connection, peer_uuid: &str, peer_relation: i64) -> Result<Option<Link>> {
    Ok(c.query_row(
        &format!("SELECT {LINK_COLS} FROM xrels WHERE peer_uuid=?1 AND peer_relation=?2"),
        params![peer_uuid, peer_relation],
        link_row,
    )
    .optional()?)
}

/// Records a link.
pub(crate) fn insert_link(c: &Connection, l: &Link) -> Result<()> {
    c.execute(
        &format!("INSERT INTO xrels({LINK_COLS}) VALUES(?1,?2,?3,?4,?5,?6)"),
        params![
            l.relation_id,
            l.local_app,
            l.remote_app,
            l.peer_uuid,
            l.peer_model,
            l.peer_relation
        ],
    )?;
    Ok(())
}

/// Records the peer's relation of a link.
pub(crate) fn set_peer_relation(c: &Connection, relation_id: i64, peer: i64) -> Result<()> {
    c.execute(
        "UPDATE xrels SET peer_relation=?2 WHERE relation_id=?1",
        params![relation_id, peer],
    )?;
    Ok(())
}

/// Forgets a link.
pub(crate) fn delete_link(c: &Connection, relation_id: i64) -> Result<()> {
    c.execute("DELETE FROM xrels WHERE relation_id=?1", [relation_id])?;
    Ok(())
}

/// The remote units in a relation's scope.
pub(crate) fn remote_scope(c: &Connection, rel: i64) -> Result<Vec<String>> {
    let mut st =
        c.prepare_cached("SELECT unit FROM remote_scope WHERE relation_id=?1 ORDER BY unit")?;
    Ok(st
        .query_map([rel], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?)
}

/// A remote unit enters (`true`) or leaves a relation's scope.
pub(crate) fn set_remote_scope(c: &Connection, rel: i64, unit: &str, inside: bool) -> Result<()> {
    if inside {
        c.execute(
            "INSERT OR IGNORE INTO remote_scope(relation_id,unit) VALUES(?1,?2)",
            params![rel, unit],
        )?;
    } else {
        c.execute(
            "DELETE FROM remote_scope WHERE relation_id=?1 AND unit=?2",
            params![rel, unit],
        )?;
    }
    Ok(())
}

/// Replaces a whole databag (a remote unit's or application's, as synced).
pub(crate) fn replace_bag(
    c: &Connection,
    rel: i64,
    owner: &str,
    bag: &BTreeMap<String, String>,
) -> Result<()> {
    c.execute(
        "DELETE FROM bags WHERE relation_id=?1 AND owner=?2",
        params![rel, owner],
    )?;
    for (k, v) in bag {
        super::relations::set_bag_key(c, rel, owner, k, Some(v))?;
    }
    Ok(())
}

/// A secret of another model a local unit reads: its label here, and the latest revision the
/// unit was told about (read, or announced by secret-changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteSecret {
    /// The consuming unit.
    pub unit: String,
    /// The secret's xid.
    pub xid: String,
    /// The owning model's UUID.
    pub model_uuid: String,
    /// The unit's label for it.
    pub label: Option<String>,
    /// The latest revision the unit has read or been sent secret-changed for.
    pub notified: i64,
}

fn remote_secret_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RemoteSecret> {
    Ok(RemoteSecret {
        unit: r.get(0)?,
        xid: r.get(1)?,
        model_uuid: r.get(2)?,
        label: r.get(3)?,
        notified: r.get(4)?,
    })
}

/// The remote secrets units of this model read.
pub(crate) fn remote_secrets(c: &Connection) -> Result<Vec<RemoteSecret>> {
    let mut st = c.prepare(
        "SELECT unit,xid,model_uuid,label,notified FROM remote_secrets ORDER BY unit, xid",
    )?;
    Ok(st
        .query_map([], remote_secret_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// The remote secret `unit` labelled `label`.
pub(crate) fn remote_secret_by_label(
    c: &Connection,
    unit: &str,
    label: &str,
) -> Result<Option<RemoteSecret>> {
    Ok(c.query_row(
        "SELECT unit,xid,model_uuid,label,notified FROM remote_secrets WHERE unit=?1 AND label=?2",
        params![unit, label],
        remote_secret_row,
    )
    .optional()?)
}

/// The record of `unit` reading `xid`.
pub(crate) fn remote_secret(c: &Connection, unit: &str, xid: &str) -> Result<Option<RemoteSecret>> {
    Ok(c.query_row(
        "SELECT unit,xid,model_uuid,label,notified FROM remote_secrets WHERE unit=?1 AND xid=?2",
        params![unit, xid],
        remote_secret_row,
    )
    .optional()?)
}

/// Records (or updates) a unit's read of a remote secret.
pub(crate) fn upsert_remote_secret(c: &Connection, s: &RemoteSecret) -> Result<()> {
    c.execute(
        "INSERT INTO remote_secrets(unit,xid,model_uuid,label,notified) VALUES(?1,?2,?3,?4,?5) \
         ON CONFLICT(unit,xid) DO UPDATE SET label=COALESCE(?4,label), notified=MAX(notified,?5)",
        params![s.unit, s.xid, s.model_uuid, s.label, s.notified],
    )?;
    Ok(())
}
