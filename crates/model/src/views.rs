//! Read-only views for the CLI: `status`, `show-unit`, `secrets`, `debug-log`, action results.
//! They read the store only, so they work while another process runs hooks (WAL).

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use crate::error::{Result, UsageError};
use crate::model::Model;
use crate::store::{self, Relation};

/// `status`: the model at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Model name.
    pub model: String,
    /// Virtual time, RFC 3339.
    pub time: String,
    /// Applications by name.
    pub applications: Vec<AppStatus>,
    /// Relations.
    pub relations: Vec<Relation>,
    /// Hooks waiting to run.
    pub pending_hooks: usize,
}

/// One application in [`Status`].
#[derive(Debug, Clone, Serialize)]
pub struct AppStatus {
    /// Name.
    pub name: String,
    /// Charm name.
    pub charm: String,
    /// Charm revision (bumped by refresh).
    pub revision: i64,
    /// Application status as the leader set it, else derived from the units (like Juju).
    pub status: String,
    /// Its message.
    pub message: String,
    /// Units.
    pub units: Vec<UnitStatus>,
}

/// One unit in [`Status`].
#[derive(Debug, Clone, Serialize)]
pub struct UnitStatus {
    /// `app/n`.
    pub name: String,
    /// Workload status (`error` while the agent is in error).
    pub workload: String,
    /// Agent status.
    pub agent: String,
    /// Message (the failed hook while in error).
    pub message: String,
    /// Leader?
    pub leader: bool,
    /// Loopback address.
    pub address: String,
    /// Open ports.
    pub ports: Vec<String>,
    /// Workload version.
    pub version: String,
}

/// `show-unit`: a unit's relations and the bags it can see.
#[derive(Debug, Clone, Serialize)]
pub struct UnitView {
    /// The unit.
    pub name: String,
    /// Leader?
    pub leader: bool,
    /// Workload status and message.
    pub workload: String,
    /// Message.
    pub message: String,
    /// Agent status.
    pub agent: String,
    /// Each relation the unit is in.
    pub relations: Vec<UnitRelation>,
}

/// One relation of a [`UnitView`].
#[derive(Debug, Clone, Serialize)]
pub struct UnitRelation {
    /// Relation id.
    pub id: i64,
    /// The unit's endpoint.
    pub endpoint: String,
    /// Remote application.
    pub remote_app: String,
    /// Units it has seen join.
    pub related_units: Vec<String>,
    /// Its own unit bag.
    pub unit_data: BTreeMap<String, String>,
    /// Its application's bag.
    pub app_data: BTreeMap<String, String>,
    /// The remote application's bag.
    pub remote_app_data: BTreeMap<String, String>,
    /// The remote units' bags.
    pub remote_unit_data: BTreeMap<String, BTreeMap<String, String>>,
}

/// One secret in `secrets`.
#[derive(Debug, Clone, Serialize)]
pub struct SecretSummary {
    /// The URI.
    pub uri: String,
    /// Owner: application or unit name.
    pub owner: String,
    /// Owner label.
    pub label: String,
    /// Latest revision.
    pub revision: i64,
    /// Expiry of the latest revision, RFC 3339.
    pub expiry: Option<String>,
    /// Rotation policy.
    pub rotation: String,
    /// Grants: app or unit names.
    pub granted_to: Vec<String>,
    /// Consumers and the revision each tracks.
    pub consumers: BTreeMap<String, i64>,
}

/// A finished or pending action.
#[derive(Debug, Clone, Serialize)]
pub struct ActionRun {
    /// Id.
    pub id: i64,
    /// Unit.
    pub unit: String,
    /// Action name.
    pub name: String,
    /// pending, running, completed, failed.
    pub status: String,
    /// Failure message.
    pub message: String,
    /// Results (action-set plus return-code, stdout, stderr).
    pub results: Value,
    /// action-log lines.
    pub log: Vec<String>,
}

/// One hook run in the hook log.
#[derive(Debug, Clone, Serialize)]
pub struct HookLogEntry {
    /// Virtual time, RFC 3339.
    pub time: String,
    /// Unit.
    pub unit: String,
    /// Hook.
    pub hook: String,
    /// Exit code (-1 when killed).
    pub code: i64,
    /// Wall time.
    pub millis: i64,
    /// juju-log ERROR lines, stdout and stderr.
    pub output: String,
}

/// One `debug-log` line.
#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    /// Virtual time, RFC 3339.
    pub time: String,
    /// Unit.
    pub unit: String,
    /// Level.
    pub level: String,
    /// Message.
    pub message: String,
}

/// xid, owner app, owner unit, label, latest revision, its expiry, rotation policy.
type SecretRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    String,
);

impl Model {
    /// The whole model, like `juju status`.
    pub fn status(&self) -> Result<Status> {
        let db = self.db();
        let units = store::units(&db)?;
        let mut apps = Vec::new();
        for a in store::apps(&db)? {
            let mut us = Vec::new();
            for u in units.iter().filter(|u| u.app == a.name) {
                let mut st = db.prepare("SELECT port FROM ports WHERE unit=?1 ORDER BY port")?;
                let ports: Vec<String> = st
                    .query_map([&u.name], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                let (workload, message) = if u.agent == "error" {
                    (
                        "error".to_owned(),
                        format!(
                            "hook failed: \"{}\"",
                            u.error_hook.clone().unwrap_or_default()
                        ),
                    )
                } else {
                    (u.status.clone(), u.message.clone())
                };
                us.push(UnitStatus {
                    name: u.name.clone(),
                    workload,
                    agent: if u.dying && u.agent != "error" {
                        "dying".into()
                    } else {
                        u.agent.clone()
                    },
                    message,
                    leader: u.leader,
                    address: u.address.clone(),
                    ports,
                    version: u.version.clone(),
                });
            }
            let (status, message) = if a.status != "unknown" {
                (a.status.clone(), a.message.clone())
            } else {
                // Juju derives it from the most severe unit status.
                let rank = |s: &str| {
                    [
                        "error",
                        "blocked",
                        "maintenance",
                        "waiting",
                        "active",
                        "unknown",
                    ]
                    .iter()
                    .position(|x| *x == s)
                    .unwrap_or(6)
                };
                us.iter()
                    .min_by_key(|u| rank(&u.workload))
                    .map(|u| (u.workload.clone(), u.message.clone()))
                    .unwrap_or(("unknown".into(), String::new()))
            };
            apps.push(AppStatus {
                name: a.name.clone(),
                charm: a.meta.name.clone(),
                revision: a.charm_rev,
                status,
                message,
                units: us,
            });
        }
        let pending: i64 = db.query_row("SELECT COUNT(*) FROM hooks WHERE failed=0", [], |r| {
            r.get(0)
        })?;
        drop(db);
        Ok(Status {
            model: self.name().to_owned(),
            time: crate::clock::format_rfc3339(self.now()?),
            applications: apps,
            relations: store::relations(&self.db())?,
            pending_hooks: pending as usize,
        })
    }

    /// A unit's relations and the databags it sees.
    pub fn show_unit(&self, unit: &str) -> Result<UnitView> {
        let db = self.db();
        let u = store::unit(&db, unit)?.ok_or_else(|| UsageError::UnknownUnit(unit.to_owned()))?;
        let mut relations = Vec::new();
        for r in store::relations(&db)?
            .into_iter()
            .filter(|r| r.involves(&u.app))
        {
            if !store::scope(&db, r.id)?.contains(&u.name) {
                continue;
            }
            let remote_app = r.other_app(&u.app).to_owned();
            let related = store::seen(&db, r.id, &u.name)?;
            let mut remote_unit_data = BTreeMap::new();
            for w in &related {
                remote_unit_data.insert(w.clone(), store::bag(&db, r.id, w)?);
            }
            relations.push(UnitRelation {
                id: r.id,
                endpoint: r.endpoint_of(&u.app).to_owned(),
                unit_data: store::bag(&db, r.id, &u.name)?,
                app_data: store::bag(&db, r.id, &u.app)?,
                remote_app_data: if r.peer {
                    BTreeMap::new()
                } else {
                    store::bag(&db, r.id, &remote_app)?
                },
                remote_app,
                related_units: related,
                remote_unit_data,
            });
        }
        Ok(UnitView {
            name: u.name,
            leader: u.leader,
            workload: u.status,
            message: u.message,
            agent: u.agent,
            relations,
        })
    }

    /// Every secret of the model.
    pub fn secrets(&self) -> Result<Vec<SecretSummary>> {
        let db = self.db();
        let mut st = db.prepare(
            "SELECT s.xid, s.owner_app, s.owner_unit, s.label, s.latest, r.expiry, s.rotate FROM secrets s \
             LEFT JOIN secret_revisions r ON r.xid=s.xid AND r.rev=s.latest ORDER BY s.rowid",
        )?;
        let rows: Vec<SecretRow> = st
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for (xid, app, unit, label, latest, expiry, rotate) in rows {
            let mut g =
                db.prepare("SELECT target FROM secret_grants WHERE xid=?1 ORDER BY target")?;
            let granted_to: Vec<String> = g
                .query_map([&xid], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let mut cs = db.prepare("SELECT unit, tracked FROM secret_consumers WHERE xid=?1")?;
            let consumers: BTreeMap<String, i64> = cs
                .query_map([&xid], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            out.push(SecretSummary {
                uri: crate::secret_id::uri(self.uuid(), &xid),
                owner: unit.unwrap_or(app),
                label: label.unwrap_or_default(),
                revision: latest,
                expiry: expiry.map(crate::clock::format_rfc3339),
                rotation: rotate,
                granted_to,
                consumers,
            });
        }
        Ok(out)
    }

    /// An action run.
    pub fn action(&self, id: i64) -> Result<ActionRun> {
        let db = self.db();
        let row = db
            .query_row(
                "SELECT id,unit,name,status,message,results,log FROM actions WHERE id=?1",
                [id],
                |r| {
                    Ok((
                        ActionRun {
                            id: r.get(0)?,
                            unit: r.get(1)?,
                            name: r.get(2)?,
                            status: r.get(3)?,
                            message: r.get(4)?,
                            results: Value::Null,
                            log: Vec::new(),
                        },
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                    ))
                },
            )
            .optional()?;
        let (mut run, results, log) =
            row.ok_or_else(|| UsageError::BadAction(format!("action {id} not found")))?;
        run.results = store::decode("actions", &id.to_string(), "results", &results)?;
        run.log = store::decode("actions", &id.to_string(), "log", &log)?;
        Ok(run)
    }

    /// The last `limit` hook runs, oldest first, optionally of one unit.
    pub fn hook_log(&self, unit: Option<&str>, limit: usize) -> Result<Vec<HookLogEntry>> {
        let db = self.db();
        let mut st = db.prepare(
            "SELECT at,unit,hook,code,millis,output FROM hook_log WHERE (?1 IS NULL OR unit=?1) ORDER BY id DESC LIMIT ?2",
        )?;
        let mut rows: Vec<HookLogEntry> = st
            .query_map(params![unit, limit as i64], |r| {
                Ok(HookLogEntry {
                    time: crate::clock::format_rfc3339(r.get(0)?),
                    unit: r.get(1)?,
                    hook: r.get(2)?,
                    code: r.get(3)?,
                    millis: r.get(4)?,
                    output: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// The last `limit` juju-log lines, oldest first, optionally of one unit.
    pub fn debug_log(&self, unit: Option<&str>, limit: usize) -> Result<Vec<LogLine>> {
        let db = self.db();
        let mut st = db.prepare("SELECT at,unit,level,message FROM log WHERE (?1 IS NULL OR unit=?1) ORDER BY id DESC LIMIT ?2")?;
        let mut rows: Vec<LogLine> = st
            .query_map(params![unit, limit as i64], |r| {
                Ok(LogLine {
                    time: crate::clock::format_rfc3339(r.get(0)?),
                    unit: r.get(1)?,
                    level: r.get(2)?,
                    message: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// The queued hooks (for `status --json` and tests).
    pub fn pending_hooks(&self) -> Result<Vec<store::Hook>> {
        store::hooks(&self.db())
    }
}
