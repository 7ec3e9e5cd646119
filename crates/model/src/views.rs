//! Read-only views for the CLI: `status`, `show-unit`, `secrets`, `debug-log`, action results.
//! They read the store only, so they work while another process runs hooks (WAL).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Result, UsageError};
use crate::model::Model;
use crate::store::{self, AgentState, Relation, WorkloadStatus};

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
    /// Offers of other models this model consumed (`juju status`'s SAAS).
    pub saas: Vec<crate::RemoteApp>,
    /// This model's offers, with their connections.
    pub offers: Vec<crate::OfferView>,
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
    /// Owner: application or unit name, `<model>` for a user secret.
    pub owner: String,
    /// Owner label (a user secret's name).
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
impl Model {
    /// The whole model, like `juju status`.
    pub fn status(&self) -> Result<Status> {
        let db = self.db();
        let apps = app_statuses(&db)?;
        let saas = store::crossmodel::remote_apps(&db)?
            .into_iter()
            .filter(|r| r.kind == store::crossmodel::RemoteKind::Saas)
            .collect();
        drop(db);
        let offers = self.offers()?;
        let db = self.db();
        let pending = store::hooks::pending_count(&db)?;
        drop(db);
        Ok(Status {
            model: self.name().to_owned(),
            time: crate::clock::format_rfc3339(self.now()?),
            applications: apps,
            relations: store::relations(&self.db())?,
            pending_hooks: pending as usize,
            saas,
            offers,
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
            workload: u.status.as_str().to_owned(),
            message: u.message,
            agent: u.agent.as_str().to_owned(),
            relations,
        })
    }

    /// Every secret of the model.
    pub fn secrets(&self) -> Result<Vec<SecretSummary>> {
        let db = self.db();
        let mut out = Vec::new();
        for s in store::secrets::summaries(&db)? {
            out.push(SecretSummary {
                uri: match s.owner_app {
                    Some(_) => crate::secret_id::uri(self.uuid(), &s.xid),
                    None => crate::secret_id::short_uri(&s.xid),
                },
                owner: match (s.owner_unit, s.owner_app) {
                    (Some(unit), _) => unit,
                    (None, Some(app)) => app,
                    (None, None) => crate::user_secrets::MODEL_OWNER.to_owned(),
                },
                label: s.label.unwrap_or_default(),
                revision: s.latest,
                expiry: s.expiry.map(crate::clock::format_rfc3339),
                rotation: s.rotate,
                granted_to: store::secrets::grant_targets(&db, &s.xid)?,
                consumers: store::secrets::consumers(&db, &s.xid)?,
            });
        }
        Ok(out)
    }

    /// An action run.
    pub fn action(&self, id: i64) -> Result<ActionRun> {
        let run = store::actions::get(&self.db(), id)?
            .ok_or_else(|| UsageError::BadAction(format!("action {id} not found")))?;
        Ok(ActionRun {
            id: run.id,
            unit: run.unit,
            name: run.name,
            status: run.status,
            message: run.message,
            results: run.results,
            log: run.log,
        })
    }

    /// The last `limit` hook runs, oldest first, optionally of one unit.
    pub fn hook_log(&self, unit: Option<&str>, limit: usize) -> Result<Vec<HookLogEntry>> {
        let mut rows: Vec<HookLogEntry> = store::logs::hook_runs(&self.db(), unit, limit)?
            .into_iter()
            .map(|r| HookLogEntry {
                time: crate::clock::format_rfc3339(r.at),
                unit: r.unit,
                hook: r.hook,
                code: r.code,
                millis: r.millis,
                output: r.output,
            })
            .collect();
        rows.reverse();
        Ok(rows)
    }

    /// The last `limit` juju-log lines, oldest first, optionally of one unit.
    pub fn debug_log(&self, unit: Option<&str>, limit: usize) -> Result<Vec<LogLine>> {
        let mut rows: Vec<LogLine> = store::logs::lines(&self.db(), unit, limit)?
            .into_iter()
            .map(|l| LogLine {
                time: crate::clock::format_rfc3339(l.at),
                unit: l.unit,
                level: l.level,
                message: l.message,
            })
            .collect();
        rows.reverse();
        Ok(rows)
    }

    /// The queued hooks (for `status --json` and tests).
    pub fn pending_hooks(&self) -> Result<Vec<store::Hook>> {
        store::hooks::hooks(&self.db())
    }
}

/// Every application's status, derived as Juju derives it (also read from a peer model, for the
/// status its consumers show of an offer).
pub(crate) fn app_statuses(db: &rusqlite::Connection) -> Result<Vec<AppStatus>> {
    let units = store::units(db)?;
    let mut apps = Vec::new();
    for a in store::apps(db)? {
        let mut us = Vec::new();
        let mut statuses = Vec::new();
        for u in units.iter().filter(|u| u.app == a.name) {
            let ports = store::units::ports(db, &u.name)?;
            let (workload, message) = if u.agent == AgentState::Error {
                (
                    WorkloadStatus::Error,
                    format!(
                        "hook failed: \"{}\"",
                        u.error_hook.clone().unwrap_or_default()
                    ),
                )
            } else {
                (u.status, u.message.clone())
            };
            statuses.push(workload);
            us.push(UnitStatus {
                name: u.name.clone(),
                workload: workload.as_str().to_owned(),
                agent: if u.dying && u.agent != AgentState::Error {
                    "dying".into()
                } else {
                    u.agent.as_str().to_owned()
                },
                message,
                leader: u.leader,
                address: u.address.clone(),
                ports,
                version: u.version.clone(),
            });
        }
        let (status, message) = if a.status != WorkloadStatus::Unknown {
            (a.status.as_str().to_owned(), a.message.clone())
        } else {
            // Juju derives it from the most severe unit status (the enum's order).
            statuses
                .iter()
                .zip(&us)
                .min_by_key(|(s, _)| **s)
                .map(|(s, u)| (s.as_str().to_owned(), u.message.clone()))
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
    Ok(apps)
}
