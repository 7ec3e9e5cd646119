//! Applications: their charm, config, status and leader settings.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::units::WorkloadStatus;
use super::{decode, encode};
use crate::charm::CharmMeta;
use crate::error::{Error, Result};

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
    pub status: WorkloadStatus,
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
    status: WorkloadStatus,
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

/// Records a new application (numbered after the highest so far); returns its number.
pub(crate) fn insert(
    c: &Connection,
    name: &str,
    charm_dir: &Path,
    meta: &CharmMeta,
    config: &BTreeMap<String, Value>,
) -> Result<i64> {
    let num: i64 = c.query_row("SELECT COALESCE(MAX(num),0)+1 FROM apps", [], |r| r.get(0))?;
    c.execute(
        "INSERT INTO apps(name,num,charm_dir,meta,config) VALUES(?1,?2,?3,?4,?5)",
        params![
            name,
            num,
            charm_dir.to_string_lossy(),
            encode("apps", name, "meta", meta)?,
            encode("apps", name, "config", config)?
        ],
    )?;
    Ok(num)
}

/// Takes the application's next unit number.
pub(crate) fn take_unit_number(c: &Connection, app: &str) -> Result<i64> {
    let n: i64 = c.query_row("SELECT next_unit FROM apps WHERE name=?1", [app], |r| {
        r.get(0)
    })?;
    c.execute(
        "UPDATE apps SET next_unit=?2 WHERE name=?1",
        params![app, n + 1],
    )?;
    Ok(n)
}

/// Replaces the user's config values.
pub(crate) fn set_config(
    c: &Connection,
    app: &str,
    config: &BTreeMap<String, Value>,
) -> Result<()> {
    c.execute(
        "UPDATE apps SET config=?2 WHERE name=?1",
        params![app, encode("apps", app, "config", config)?],
    )?;
    Ok(())
}

/// Records a refreshed charm: its directory, metadata, revision and the settings kept.
pub(crate) fn refresh(
    c: &Connection,
    app: &str,
    charm_dir: &Path,
    meta: &CharmMeta,
    charm_rev: i64,
    config: &BTreeMap<String, Value>,
) -> Result<()> {
    c.execute(
        "UPDATE apps SET charm_dir=?2, meta=?3, charm_rev=?4, config=?5 WHERE name=?1",
        params![
            app,
            charm_dir.to_string_lossy(),
            encode("apps", app, "meta", meta)?,
            charm_rev,
            encode("apps", app, "config", config)?
        ],
    )?;
    Ok(())
}

/// Sets the application status (`status-set --application`).
pub(crate) fn set_status(
    c: &Connection,
    app: &str,
    status: WorkloadStatus,
    message: &str,
) -> Result<()> {
    c.execute(
        "UPDATE apps SET status=?2, message=?3 WHERE name=?1",
        params![app, status, message],
    )?;
    Ok(())
}

/// Marks an application as being removed.
pub(crate) fn mark_dying(c: &Connection, app: &str) -> Result<()> {
    c.execute("UPDATE apps SET dying=1 WHERE name=?1", [app])?;
    Ok(())
}

/// Whether an application is being removed (false when it is gone).
pub(crate) fn is_dying(c: &Connection, app: &str) -> Result<bool> {
    Ok(
        c.query_row("SELECT dying FROM apps WHERE name=?1", [app], |r| r.get(0))
            .optional()?
            .unwrap_or(false),
    )
}

/// Forgets an application row, the secrets it owns and the user secrets granted to it (its
/// relations are the caller's).
pub(crate) fn delete(c: &Connection, app: &str) -> Result<()> {
    super::secrets::content_deleted();
    c.execute("DELETE FROM secrets WHERE owner_app=?1", [app])?;
    super::secrets::drop_model_grants_to(c, app)?;
    c.execute(
        "DELETE FROM secret_revisions WHERE xid NOT IN (SELECT xid FROM secrets)",
        [],
    )?;
    c.execute("DELETE FROM apps WHERE name=?1", [app])?;
    Ok(())
}

fn leader_settings_key(app: &str) -> String {
    format!("leader-settings:{app}")
}

/// The application's leader settings (`leader-get`).
pub(crate) fn leader_settings(c: &Connection, app: &str) -> Result<BTreeMap<String, String>> {
    let key = leader_settings_key(app);
    let raw = super::meta(c, &key)?.unwrap_or_else(|| "{}".into());
    decode("meta", &key, "value", &raw)
}

/// Replaces the application's leader settings.
pub(crate) fn set_leader_settings(
    c: &Connection,
    app: &str,
    settings: &BTreeMap<String, String>,
) -> Result<()> {
    let key = leader_settings_key(app);
    super::set_meta(c, &key, &encode("meta", &key, "value", settings)?)
}
