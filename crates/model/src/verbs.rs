//! The verbs that change a model: deploy, add/remove units and applications, integrate and
//! remove relations, config, refresh, actions, resolve, leadership, the clock. Each checks its
//! input, then records the change and queues its hooks (`lifecycle.rs`) in one transaction.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::charm::{self, CharmMeta, Role};
use crate::clock;
use crate::error::{Error, Result, UsageError};
use crate::lifecycle::{self, dying_relation, elect, teardown_unit};
use crate::model::Model;
use crate::{addresses, failpoints, names, store};

impl Model {
    /// Deploys a charm as application `app` (default: the charm's name) with `units` units.
    pub fn deploy(
        &self,
        source: &Path,
        app: Option<&str>,
        units: usize,
        config: &[(String, String)],
    ) -> Result<String> {
        let staging = self
            .dir()
            .join("charms")
            .join(format!("staging-{}", std::process::id()));
        let checked = self.check_deploy(source, app, config, &staging);
        let (dir, meta, app, set) = match checked {
            Ok(v) => v,
            Err(e) => {
                // Bad input leaves nothing behind.
                let _ = fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        // A packed or built charm is kept under the model so units can be re-copied later.
        let dir = if dir == staging {
            let kept = self.dir().join("charms").join(format!("{app}-1"));
            let _ = fs::remove_dir_all(&kept);
            fs::rename(&staging, &kept).map_err(|e| Error::io("moving", &staging, e))?;
            kept
        } else {
            dir
        };
        self.tx(|c| {
            store::apps::insert(c, &app, &dir, &meta, &set)?;
            for ep in meta.endpoints.iter().filter(|e| e.role == Role::Peers) {
                let id = store::next_counter(c, "relation")?;
                store::relations::insert(
                    c,
                    &store::Relation {
                        id,
                        app_a: app.clone(),
                        ep_a: ep.name.clone(),
                        app_b: app.clone(),
                        ep_b: ep.name.clone(),
                        interface: ep.interface.clone(),
                        peer: true,
                        dying: false,
                    },
                )?;
            }
            Ok(())
        })?;
        self.add_units(&app, units.max(1))?;
        Ok(app)
    }

    /// Everything `deploy` checks before it changes the model.
    fn check_deploy(
        &self,
        source: &Path,
        app: Option<&str>,
        config: &[(String, String)],
        staging: &Path,
    ) -> Result<(PathBuf, CharmMeta, String, BTreeMap<String, Value>)> {
        let dir = charm::resolve_source(source, staging)?;
        let meta = CharmMeta::load(&dir)?;
        let app = app.unwrap_or(&meta.name).to_owned();
        names::check_app(&app)?;
        if store::app(&self.db(), &app)?.is_some()
            || store::crossmodel::remote_app(&self.db(), &app)?.is_some()
        {
            return Err(UsageError::AppExists(app).into());
        }
        let mut set = BTreeMap::new();
        for (k, v) in config {
            set.insert(k.clone(), meta.parse_config_value(k, v)?);
        }
        if !dir.join("dispatch").exists() && !dir.join("hooks").is_dir() {
            return Err(crate::CharmError::NoDispatch(dir).into());
        }
        Ok((dir, meta, app, set))
    }

    /// Adds `count` units to an application; returns their names.
    pub fn add_units(&self, app: &str, count: usize) -> Result<Vec<String>> {
        let a =
            store::app(&self.db(), app)?.ok_or_else(|| UsageError::UnknownApp(app.to_owned()))?;
        let mut added = Vec::new();
        for _ in 0..count {
            // The unit and its start-up hooks in one transaction: a crash leaves either no
            // unit or one with all its hooks (its files are staged again if missing).
            let name = self.tx(|c| {
                let n = store::apps::take_unit_number(c, app)?;
                let name = format!("{app}/{n}");
                let has_leader = store::units::app_has_leader(c, app)?;
                let k = store::next_counter(c, "address")?;
                if k >= addresses::UNITS_PER_MODEL {
                    return Err(
                        UsageError::UnitAddressesExhausted(addresses::UNITS_PER_MODEL).into(),
                    );
                }
                store::units::insert(c, &name, app, n, !has_leader, k)?;
                lifecycle::queue_startup(c, &name)?;
                Ok(name)
            })?;
            failpoints::hit("add-unit");
            self.stage_unit(&name, Path::new(&a.charm_dir))?;
            added.push(name);
        }
        Ok(added)
    }

    /// Starts removing a unit: its relations depart, then stop and remove run. Leadership moves
    /// to the lowest-numbered remaining unit if it was the leader.
    pub fn remove_unit(&self, unit: &str) -> Result<()> {
        let u = store::unit(&self.db(), unit)?
            .ok_or_else(|| UsageError::UnknownUnit(unit.to_owned()))?;
        if u.dying {
            return Ok(());
        }
        self.tx(|c| {
            if u.leader {
                store::units::drop_leadership(c, unit)?;
                let next = store::app_units(c, &u.app)?
                    .into_iter()
                    .find(|x| !x.dying && x.name != unit);
                if let Some(next) = next {
                    elect(c, &u.app, &next.name)?;
                }
            }
            teardown_unit(c, unit, false)
        })
    }

    /// Removes an application: its relations are removed (the remote side sees departed and
    /// broken), then every unit is torn down.
    pub fn remove_application(&self, app: &str) -> Result<()> {
        store::app(&self.db(), app)?.ok_or_else(|| UsageError::UnknownApp(app.to_owned()))?;
        let offers: Vec<String> = store::crossmodel::offers(&self.db())?
            .into_iter()
            .filter(|o| o.app == app)
            .map(|o| o.name)
            .collect();
        if !offers.is_empty() {
            // Juju refuses too: consumers would lose their relations without being asked.
            return Err(UsageError::AppOffered {
                app: app.to_owned(),
                offers: offers.join(", "),
            }
            .into());
        }
        self.tx(|c| {
            store::apps::mark_dying(c, app)?;
            for r in store::relations(c)? {
                if r.involves(app) && !r.peer && !r.dying {
                    dying_relation(c, r.id)?;
                }
            }
            for u in store::app_units(c, app)? {
                if !u.dying {
                    teardown_unit(c, &u.name, true)?;
                }
            }
            if store::app_units(c, app)?.is_empty() {
                lifecycle::delete_app(c, app)?;
            }
            Ok(())
        })?;
        if store::app(&self.db(), app)?.is_none() {
            charm::remove_app_files(self.dir(), app);
        }
        Ok(())
    }

    /// Relates two endpoints (`app` or `app:endpoint` each); returns the relation id. Either
    /// side may be a consumed offer (SAAS), or an offer URL (`[owner/]MODEL.OFFER[:endpoint]`),
    /// which is consumed first under the offer's name, as `juju integrate` does.
    pub fn integrate(&self, a: &str, b: &str) -> Result<i64> {
        let (a, made_a) = self.offer_operand(a)?;
        let (b, made_b) = match self.offer_operand(b) {
            Ok(x) => x,
            Err(e) => {
                self.forget_saas(made_a);
                return Err(e);
            }
        };
        let result = self.integrate_resolved(&a, &b);
        if result.is_err() {
            // A SAAS consumed only for this integrate does not outlive its failure.
            self.forget_saas(made_a);
            self.forget_saas(made_b);
        }
        result
    }

    fn forget_saas(&self, name: Option<String>) {
        if let Some(n) = name {
            let _ = self.tx(|c| store::crossmodel::delete_remote_app(c, &n));
        }
    }

    fn integrate_resolved(&self, a: &str, b: &str) -> Result<i64> {
        let (app_a, ep_a) = split_endpoint(a);
        let (app_b, ep_b) = split_endpoint(b);
        let sa = self.relatable(app_a)?;
        let sb = self.relatable(app_b)?;
        let cannot = |reason: String| {
            Error::from(UsageError::CannotRelate {
                a: a.to_owned(),
                b: b.to_owned(),
                reason,
            })
        };
        if app_a == app_b {
            return Err(cannot("an application is related to itself only through its peer endpoints, which Juju relates on deploy".into()));
        }
        if sa.remote.is_some() && sb.remote.is_some() {
            return Err(cannot(
                "both are applications of other models: relate them in one of those models".into(),
            ));
        }
        for (m, ep) in [(&sa, ep_a), (&sb, ep_b)] {
            if let Some(ep) = ep {
                match m.endpoints.iter().find(|e| e.name == ep) {
                    None => {
                        return Err(UsageError::unknown_endpoint(&m.name, ep, &m.endpoints).into());
                    }
                    Some(e) if e.role == Role::Peers => {
                        return Err(cannot(format!("{}:{ep} is a peer endpoint", m.name)));
                    }
                    Some(_) => {}
                }
            }
        }
        let mut candidates = Vec::new();
        for ea in sa
            .endpoints
            .iter()
            .filter(|e| e.role != Role::Peers && ep_a.is_none_or(|n| n == e.name))
        {
            for eb in sb
                .endpoints
                .iter()
                .filter(|e| e.role != Role::Peers && ep_b.is_none_or(|n| n == e.name))
            {
                let roles_fit = matches!(
                    (ea.role, eb.role),
                    (Role::Provides, Role::Requires) | (Role::Requires, Role::Provides)
                );
                if roles_fit && ea.interface == eb.interface {
                    candidates.push((ea.clone(), eb.clone()));
                }
            }
        }
        let (ea, eb) = match candidates.len() {
            1 => candidates.remove(0),
            0 => {
                let describe = |m: &Relatable, ep: Option<&str>| {
                    m.endpoints
                        .iter()
                        .filter(|e| e.role != Role::Peers && ep.is_none_or(|n| n == e.name))
                        .map(|e| {
                            format!("{}:{} ({:?} {})", m.name, e.name, e.role, e.interface)
                                .to_lowercase()
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                return Err(cannot(format!(
                    "no matching endpoints: the interfaces must be equal and one side must provide what the other requires; have {} and {}",
                    describe(&sa, ep_a),
                    describe(&sb, ep_b)
                )));
            }
            _ => {
                let list = candidates
                    .iter()
                    .map(|(x, y)| format!("{app_a}:{} {app_b}:{}", x.name, y.name))
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(cannot(format!("ambiguous, name the endpoints: {list}")));
            }
        };
        let remote = sa.remote.as_ref().or(sb.remote.as_ref());
        if let Some(saas) = remote {
            crate::crossmodel::sync::check_offer(self, saas)?;
        }
        let id = self.tx(|c| {
            for r in store::relations(c)? {
                let same = (r.app_a == app_a
                    && r.ep_a == ea.name
                    && r.app_b == app_b
                    && r.ep_b == eb.name)
                    || (r.app_b == app_a
                        && r.ep_b == ea.name
                        && r.app_a == app_b
                        && r.ep_a == eb.name);
                if same && !r.dying {
                    return Err(UsageError::CannotRelate {
                        a: a.to_owned(),
                        b: b.to_owned(),
                        reason: "relation already exists".into(),
                    }
                    .into());
                }
            }
            let id = store::next_counter(c, "relation")?;
            let r = store::Relation {
                id,
                app_a: app_a.to_owned(),
                ep_a: ea.name.clone(),
                app_b: app_b.to_owned(),
                ep_b: eb.name.clone(),
                interface: ea.interface.clone(),
                peer: false,
                dying: false,
            };
            store::relations::insert(c, &r)?;
            if let Some(saas) = remote {
                let local_app = if saas.name == app_a { app_b } else { app_a };
                store::crossmodel::insert_link(
                    c,
                    &store::crossmodel::Link {
                        relation_id: id,
                        local_app: local_app.to_owned(),
                        remote_app: saas.name.clone(),
                        peer_uuid: saas.model_uuid.clone(),
                        peer_model: saas.model_name.clone(),
                        peer_relation: None,
                    },
                )?;
            }
            lifecycle::relation_created(c, &r)?;
            Ok(id)
        })?;
        if remote.is_some() {
            // Makes the offering side now; a failure here is retried by the next sync.
            self.sync_cross_model()?;
        }
        Ok(id)
    }

    /// An `integrate` operand that is an offer URL (`[ctrl:][owner/]MODEL.OFFER[:endpoint]`),
    /// consumed (once) under the offer's name, with the SAAS's name when this call made it;
    /// anything else as it is.
    fn offer_operand(&self, operand: &str) -> Result<(String, Option<String>)> {
        if !operand.contains('.') {
            return Ok((operand.to_owned(), None));
        }
        // The endpoint follows the last ':' unless that is the controller's (`ctl:m.offer`).
        let (url, ep) = match operand.rsplit_once(':') {
            Some((url, ep)) if !ep.contains('.') && !ep.contains('/') => (url, Some(ep)),
            _ => (operand, None),
        };
        // `consume` names the SAAS after the offer; it is this call's if it was not there.
        let offer = crate::crossmodel::OfferUrl::parse(url)?.offer;
        let existed = store::crossmodel::remote_app(&self.db(), &offer)?.is_some();
        let saas = self.consume(url, None)?;
        let made = (!existed).then(|| saas.name.clone());
        let name = match ep {
            Some(ep) => format!("{}:{ep}", saas.name),
            None => saas.name,
        };
        Ok((name, made))
    }

    /// A local application, or a consumed offer, with the endpoints it can relate on.
    fn relatable(&self, name: &str) -> Result<Relatable> {
        let db = self.db();
        if let Some(app) = store::app(&db, name)? {
            return Ok(Relatable {
                name: app.name,
                endpoints: app.meta.endpoints,
                remote: None,
            });
        }
        match store::crossmodel::remote_app(&db, name)? {
            Some(r) if r.kind == store::crossmodel::RemoteKind::Saas && !r.dying => Ok(Relatable {
                name: r.name.clone(),
                endpoints: r.endpoints.clone(),
                remote: Some(r),
            }),
            _ => Err(UsageError::UnknownApp(name.to_owned()).into()),
        }
    }

    /// Removes the relation between two endpoints (`app[:ep]` each).
    pub fn remove_relation(&self, a: &str, b: &str) -> Result<()> {
        let (app_a, ep_a) = split_endpoint(a);
        let (app_b, ep_b) = split_endpoint(b);
        self.tx(|c| {
            for n in [app_a, app_b] {
                if store::app(c, n)?.is_none() && store::crossmodel::remote_app(c, n)?.is_none() {
                    return Err(UsageError::UnknownApp(n.to_owned()).into());
                }
            }
            let matches: Vec<_> = store::relations(c)?
                .into_iter()
                .filter(|r| !r.peer && !r.dying)
                .filter(|r| {
                    let fits = |x: &str, xe: &str, y: &str, ye: &str| {
                        x == app_a
                            && ep_a.is_none_or(|e| e == xe)
                            && y == app_b
                            && ep_b.is_none_or(|e| e == ye)
                    };
                    fits(&r.app_a, &r.ep_a, &r.app_b, &r.ep_b)
                        || fits(&r.app_b, &r.ep_b, &r.app_a, &r.ep_a)
                })
                .collect();
            match matches.as_slice() {
                [r] => dying_relation(c, r.id),
                [] => Err(UsageError::UnknownRelation(format!("between {a} and {b}")).into()),
                _ => Err(UsageError::UnknownRelation(format!(
                    "between {a} and {b} is ambiguous: name the endpoints"
                ))
                .into()),
            }
        })
    }

    /// Sets config values; every unit runs config-changed when something changed.
    pub fn set_config(
        &self,
        app: &str,
        pairs: &[(String, String)],
        reset: &[String],
    ) -> Result<()> {
        let a =
            store::app(&self.db(), app)?.ok_or_else(|| UsageError::UnknownApp(app.to_owned()))?;
        let mut config = a.config.clone();
        for (k, v) in pairs {
            config.insert(k.clone(), a.meta.parse_config_value(k, v)?);
        }
        for k in reset {
            if !a.meta.config.contains_key(k) {
                return Err(UsageError::BadConfig(format!("unknown option \"{k}\"")).into());
            }
            config.remove(k);
        }
        if config == a.config {
            return Ok(());
        }
        self.tx(|c| {
            store::apps::set_config(c, app, &config)?;
            lifecycle::config_changed(c, app)
        })
    }

    /// The effective config of an application with each option's type and whether it is set.
    pub fn config(&self, app: &str) -> Result<BTreeMap<String, ConfigEntry>> {
        let a =
            store::app(&self.db(), app)?.ok_or_else(|| UsageError::UnknownApp(app.to_owned()))?;
        Ok(a.meta
            .config
            .iter()
            .map(|(k, o)| {
                let set = a.config.get(k).cloned();
                let value = set.clone().or_else(|| o.default.clone());
                (
                    k.clone(),
                    ConfigEntry {
                        kind: o.kind.clone(),
                        value,
                        default: set.is_none(),
                    },
                )
            })
            .collect())
    }

    /// Replaces an application's charm; units keep their state and run upgrade-charm then
    /// config-changed.
    pub fn refresh(&self, app: &str, source: &Path, config: &[(String, String)]) -> Result<()> {
        let a =
            store::app(&self.db(), app)?.ok_or_else(|| UsageError::UnknownApp(app.to_owned()))?;
        let rev = a.charm_rev + 1;
        let staging = self.dir().join("charms").join(format!("{app}-{rev}"));
        let dir = charm::resolve_source(source, &staging)?;
        let meta = CharmMeta::load(&dir)?;
        // Like Juju: settings the new charm does not declare are dropped, `--config` values are
        // checked against the new charm's options.
        let mut settings = BTreeMap::new();
        for (k, v) in config {
            settings.insert(k.clone(), meta.parse_config_value(k, v)?);
        }
        for (k, v) in a
            .config
            .iter()
            .filter(|(k, _)| meta.config.contains_key(*k))
        {
            if settings.contains_key(k) {
                continue;
            }
            // A kept setting must still fit the option's type in the new charm.
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            let value = meta.parse_config_value(k, &text).map_err(|_| {
                UsageError::BadConfig(format!(
                    "option \"{k}\" is set to {v}, which the new charm's {} option does not \
                     accept: pass --config {k}=... or reset it first",
                    meta.config[k].kind
                ))
            })?;
            settings.insert(k.clone(), value);
        }
        for r in store::relations(&self.db())?
            .iter()
            .filter(|r| r.involves(app) && !r.dying)
        {
            if meta.endpoint(r.endpoint_of(app)).is_none() {
                return Err(UsageError::BadArgument(format!(
                    "the new charm lacks endpoint \"{}\" used by relation {}",
                    r.endpoint_of(app),
                    r.display()
                ))
                .into());
            }
        }
        let units = store::app_units(&self.db(), app)?;
        for u in &units {
            charm::install_unit_copy(&dir, &self.unit_dir(&u.name).join("charm"))?;
        }
        self.tx(|c| {
            store::apps::refresh(c, app, &dir, &meta, rev, &settings)?;
            lifecycle::upgraded(c, app)
        })
    }

    /// Queues an action on a unit; returns its id. Parameters are checked against
    /// `actions.yaml` and declared defaults are filled in.
    pub fn queue_action(
        &self,
        unit: &str,
        action: &str,
        params_in: &[(String, String)],
    ) -> Result<i64> {
        let u = store::unit(&self.db(), unit)?
            .ok_or_else(|| UsageError::UnknownUnit(unit.to_owned()))?;
        let a =
            store::app(&self.db(), &u.app)?.ok_or_else(|| UsageError::UnknownApp(u.app.clone()))?;
        let spec = a.meta.actions.get(action).ok_or_else(|| {
            UsageError::BadAction(format!(
                "action \"{action}\" not defined for unit \"{unit}\" (actions: {})",
                a.meta
                    .actions
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let mut p = serde_json::Map::new();
        for (k, v) in params_in {
            let parsed: Value = serde_norway::from_str::<serde_norway::Value>(v)
                .ok()
                .and_then(|y| serde_json::to_value(y).ok())
                .filter(|v| !v.is_null())
                .unwrap_or_else(|| Value::String(v.clone()));
            insert_dotted(&mut p, k, parsed);
        }
        for (k, schema) in &spec.params {
            if !p.contains_key(k) {
                if let Some(d) = schema.get("default") {
                    p.insert(k.clone(), d.clone());
                }
            }
        }
        for r in &spec.required {
            if !p.contains_key(r) {
                return Err(UsageError::BadAction(format!(
                    "action \"{action}\" needs parameter \"{r}\""
                ))
                .into());
            }
        }
        self.tx(|c| {
            let id = store::actions::insert(c, unit, action, &Value::Object(p.clone()))?;
            lifecycle::action_queued(c, unit, action, id)?;
            Ok(id)
        })
    }

    /// Queues `juju exec`: `command` run by `bash -c` in the unit's charm directory with a hook
    /// context open (hook tools work; what it writes commits when it exits 0, as a hook's
    /// does), recorded as a task like an action; returns its id. A non-zero exit fails the task,
    /// never the unit.
    pub fn queue_exec(&self, unit: &str, command: &str) -> Result<i64> {
        store::unit(&self.db(), unit)?.ok_or_else(|| UsageError::UnknownUnit(unit.to_owned()))?;
        self.tx(|c| {
            let params = serde_json::json!({ "command": command });
            let id = store::actions::insert(c, unit, lifecycle::EXEC_HOOK, &params)?;
            lifecycle::exec_queued(c, unit, id)?;
            Ok(id)
        })
    }

    /// Re-queues the failed hook of a unit in error.
    pub fn resolve(&self, unit: &str) -> Result<()> {
        let u = store::unit(&self.db(), unit)?
            .ok_or_else(|| UsageError::UnknownUnit(unit.to_owned()))?;
        if u.agent != store::AgentState::Error {
            return Err(UsageError::NotInError(unit.to_owned()).into());
        }
        self.tx(|c| {
            store::hooks::retry_failed(c, unit)?;
            store::units::clear_error(c, unit)
        })
    }

    /// Hands leadership to `unit` (local-model-only: Juju never lets anyone choose).
    pub fn set_leader(&self, unit: &str) -> Result<()> {
        let u = store::unit(&self.db(), unit)?
            .ok_or_else(|| UsageError::UnknownUnit(unit.to_owned()))?;
        if u.leader {
            return Ok(());
        }
        self.tx(|c| elect(c, &u.app, unit))
    }

    /// Moves the virtual clock forward by `seconds` and queues what became due: secret-expired
    /// and secret-rotate for owners, and at most one update-status per started unit. Models
    /// related to this one across models are brought to the same time.
    pub fn advance(&self, seconds: i64) -> Result<i64> {
        if seconds < 0 {
            return Err(UsageError::BadArgument("the clock only moves forward".into()).into());
        }
        // Read, moved and written in one transaction: two advances at once (a peer's bringing
        // this model along) both count.
        let (offset, now) = self.tx(|c| {
            let offset = crate::model::clock_offset_in(c)? + seconds;
            clock::write_offset_file(&self.clock_file(), offset)?;
            let now = clock::real_now() + offset;
            store::set_meta(c, "clock_offset", &offset.to_string())?;
            crate::timers::fire_due(c, now)?;
            Ok((offset, now))
        })?;
        // Models related across models share one clock, as they do under one controller: a
        // peer behind is brought to the same time (and, through it, its own peers).
        for name in self.peer_models()? {
            if let Ok(peer) = self.registry().open(Some(&name)) {
                let behind = offset - peer.clock_offset()?;
                if behind > 0 {
                    peer.advance(behind)?;
                }
            }
        }
        Ok(now)
    }

    /// Kills every workload of every unit (model destroy). The model-wide sweep runs even when
    /// the store cannot list the units; the store's error is returned afterwards.
    pub fn kill_all_workloads(&self) -> Result<()> {
        let units = store::units(&self.db());
        for u in units.iter().flatten() {
            crate::workloads::kill_unit(self, &u.name);
        }
        crate::workloads::kill_model(self);
        units.map(|_| ())
    }
}

/// One config option as `config APP` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConfigEntry {
    /// Declared type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Effective value (set, else default), if any.
    pub value: Option<Value>,
    /// Whether the value is the default.
    pub default: bool,
}

fn split_endpoint(s: &str) -> (&str, Option<&str>) {
    match s.split_once(':') {
        Some((a, e)) => (a, Some(e)),
        None => (s, None),
    }
}

fn insert_dotted(map: &mut serde_json::Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            map.insert(key.to_owned(), value);
        }
        Some((head, rest)) => {
            let entry = map
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(Default::default()));
            if !entry.is_object() {
                *entry = Value::Object(Default::default());
            }
            if let Value::Object(inner) = entry {
                insert_dotted(inner, rest, value);
            }
        }
    }
}

/// One side of an `integrate`: a local application or a consumed offer.
struct Relatable {
    name: String,
    endpoints: Vec<charm::Endpoint>,
    remote: Option<store::crossmodel::RemoteApp>,
}
