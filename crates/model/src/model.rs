//! One model: its store, its directory, and the verbs that change it. A verb records the change
//! and queues the hooks Juju would run for it, in Juju's order; [`Model::settle`] then runs them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, params};
use serde_json::Value;

use crate::charm::{self, CharmMeta, Role};
use crate::clock;
use crate::error::{Error, Result, UsageError};
use crate::locks::{self, LockKind, LockWait, ModelLock};
use crate::store::{self, Hook};
use crate::{addresses, failpoints, names};

/// Seconds between two update-status hooks (Juju's default `update-status-hook-interval`).
pub(crate) const UPDATE_STATUS_INTERVAL: i64 = 300;

/// A local model, open for reading and changing.
#[derive(Debug)]
pub struct Model {
    name: String,
    dir: PathBuf,
    uuid: String,
    conn: Mutex<Connection>,
    /// Process groups of the hooks this process runs, by hook seq.
    running: Mutex<BTreeMap<i64, i32>>,
    /// Set by [`Model::interrupt`]: running hooks are being ended, nothing is recorded for them.
    stopping: AtomicBool,
}

impl Model {
    pub(crate) fn create(name: &str, dir: &Path) -> Result<Self> {
        let conn = store::open(&dir.join("model.db"))?;
        let uuid = new_uuid();
        let block = addresses::acquire(dir, &uuid, None)?;
        store::set_meta(&conn, "name", name)?;
        store::set_meta(&conn, "uuid", &uuid)?;
        store::set_meta(&conn, "clock_offset", "0")?;
        store::set_meta(&conn, "address_block", &block.to_string())?;
        clock::write_offset_file(&dir.join("faketime"), 0)?;
        Ok(Self {
            name: name.to_owned(),
            dir: dir.to_owned(),
            uuid,
            conn: Mutex::new(conn),
            running: Mutex::new(BTreeMap::new()),
            stopping: AtomicBool::new(false),
        })
    }

    pub(crate) fn open(name: &str, dir: &Path) -> Result<Self> {
        let conn = store::open(&dir.join("model.db"))?;
        let uuid = store::meta(&conn, "uuid")?.ok_or_else(|| Error::Corrupt {
            table: "meta",
            row: "uuid".into(),
            column: "value",
            reason: "missing".into(),
        })?;
        // A model made before address leases gets its block the first time it is opened.
        if store::meta_int(&conn, "address_block")?.is_none()
            && !dir.join(locks::TOMBSTONE).exists()
        {
            let block = addresses::acquire(dir, &uuid, None)?;
            store::set_meta(&conn, "address_block", &block.to_string())?;
        }
        Ok(Self {
            name: name.to_owned(),
            dir: dir.to_owned(),
            uuid,
            conn: Mutex::new(conn),
            running: Mutex::new(BTreeMap::new()),
            stopping: AtomicBool::new(false),
        })
    }

    /// The model's name (`JUJU_MODEL_NAME`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model's UUID (`JUJU_MODEL_UUID`).
    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// The model's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store connection. Held briefly: hook-tool calls of parallel units share it.
    pub(crate) fn db(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one transaction.
    pub(crate) fn tx<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// The directory of a unit: its charm copy, tool links and workload files.
    pub fn unit_dir(&self, unit: &str) -> PathBuf {
        self.dir.join("units").join(unit.replace('/', "-"))
    }

    /// Virtual time now, in seconds since the epoch.
    pub fn now(&self) -> Result<i64> {
        Ok(clock::real_now() + self.clock_offset()?)
    }

    pub(crate) fn clock_offset(&self) -> Result<i64> {
        clock_offset_in(&self.db())
    }

    /// The libfaketime timestamp file hooks and workloads read.
    pub fn clock_file(&self) -> PathBuf {
        self.dir.join("faketime")
    }

    /// Takes the model's change lock, waiting as long as it takes: one process records a change
    /// at a time; `status` and other readers never take it. Settling takes its own lock.
    pub fn lock(&self) -> Result<ModelLock> {
        self.lock_with(LockKind::Change, LockWait::default())
    }

    /// Takes one of the model's locks (see [`LockKind`]), waiting as `wait` says. Fails when
    /// the model is being destroyed. Taking the change lock also makes sure the model still
    /// holds its address lease.
    pub fn lock_with(&self, kind: LockKind, wait: LockWait) -> Result<ModelLock> {
        let lock = locks::take(&self.dir, &self.name, kind, wait, false)?;
        if kind == LockKind::Change {
            let db = self.db();
            if let Some(block) = store::meta_int(&db, "address_block")? {
                let now = addresses::ensure(&self.dir, &self.uuid, block)?;
                if now != block {
                    store::set_meta(&db, "address_block", &now.to_string())?;
                }
            }
        }
        Ok(lock)
    }

    /// Records a started hook's process group (in the store, for a settle after a crash, and
    /// here, for [`Model::interrupt`]).
    pub(crate) fn hook_started(&self, seq: i64, pgid: i32) -> Result<()> {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(seq, pgid);
        self.db()
            .execute("UPDATE hooks SET pgid=?2 WHERE seq=?1", params![seq, pgid])?;
        Ok(())
    }

    /// Forgets a hook's process group once it has been waited for.
    pub(crate) fn hook_ended(&self, seq: i64) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&seq);
    }

    /// Whether [`Model::interrupt`] was called.
    pub(crate) fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Ends the hooks this process is running (SIGINT/SIGTERM to a settling `juju-tls`): their
    /// process groups are killed and the hooks marked not running, so the next settle runs them
    /// again from scratch; nothing they buffered is committed. Returns how many were ended.
    /// The caller is expected to exit soon after.
    pub fn interrupt(&self) -> usize {
        self.stopping.store(true, Ordering::SeqCst);
        let groups: Vec<(i64, i32)> = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(s, g)| (*s, *g))
            .collect();
        for (_, pgid) in &groups {
            crate::workloads::kill_group(*pgid);
        }
        let db = self.db();
        for (seq, _) in &groups {
            let _ = db.execute("UPDATE hooks SET running=0, pgid=NULL WHERE seq=?1", [seq]);
        }
        groups.len()
    }

    /// The lease of the model's address block, if it holds one.
    pub(crate) fn address_block(&self) -> Result<Option<i64>> {
        store::meta_int(&self.db(), "address_block")
    }

    /// Stages a unit's files (its charm copy and tool links) unless they are there: staged in a
    /// temporary directory and renamed into place, so a crash never leaves half a copy that
    /// looks complete, and two processes staging at once do not mix their copies.
    pub(crate) fn stage_unit(&self, unit: &str, charm_dir: &Path) -> Result<()> {
        let dest = self.unit_dir(unit).join("charm");
        if !dest.exists() {
            if !charm_dir.is_dir() {
                return Err(Error::io(
                    "reading the charm directory",
                    charm_dir,
                    std::io::Error::from(std::io::ErrorKind::NotFound),
                ));
            }
            let tmp = self
                .unit_dir(unit)
                .join(format!("charm.staging-{}", std::process::id()));
            let _ = fs::remove_dir_all(&tmp);
            charm::install_unit_copy(charm_dir, &tmp)?;
            if let Err(e) = fs::rename(&tmp, &dest) {
                let _ = fs::remove_dir_all(&tmp);
                if !dest.exists() {
                    return Err(Error::io("moving", &tmp, e));
                }
            }
        }
        if !self
            .unit_dir(unit)
            .join("tools")
            .join(crate::runner::TOOL_NAMES[0])
            .exists()
        {
            self.install_tools(unit)?;
        }
        Ok(())
    }

    // ---- verbs ---------------------------------------------------------------------------

    /// Deploys a charm as application `app` (default: the charm's name) with `units` units.
    pub fn deploy(
        &self,
        source: &Path,
        app: Option<&str>,
        units: usize,
        config: &[(String, String)],
    ) -> Result<String> {
        let staging = self
            .dir
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
            let kept = self.dir.join("charms").join(format!("{app}-1"));
            let _ = fs::remove_dir_all(&kept);
            fs::rename(&staging, &kept).map_err(|e| Error::io("moving", &staging, e))?;
            kept
        } else {
            dir
        };
        self.tx(|c| {
            let num: i64 = c.query_row("SELECT COALESCE(MAX(num),0)+1 FROM apps", [], |r| r.get(0))?;
            c.execute(
                "INSERT INTO apps(name,num,charm_dir,meta,config) VALUES(?1,?2,?3,?4,?5)",
                params![app, num, dir.to_string_lossy(), store::encode("apps", &app, "meta", &meta)?, store::encode("apps", &app, "config", &set)?],
            )?;
            for ep in meta.endpoints.iter().filter(|e| e.role == Role::Peers) {
                let id = store::next_counter(c, "relation")?;
                c.execute(
                    "INSERT INTO relations(id,app_a,ep_a,app_b,ep_b,interface,peer) VALUES(?1,?2,?3,?2,?3,?4,1)",
                    params![id, app, ep.name, ep.interface],
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
        if store::app(&self.db(), &app)?.is_some() {
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
                let n: i64 =
                    c.query_row("SELECT next_unit FROM apps WHERE name=?1", [app], |r| {
                        r.get(0)
                    })?;
                c.execute(
                    "UPDATE apps SET next_unit=?2 WHERE name=?1",
                    params![app, n + 1],
                )?;
                let name = format!("{app}/{n}");
                let has_leader: bool = c.query_row(
                    "SELECT COUNT(*)>0 FROM units WHERE app=?1 AND leader=1",
                    [app],
                    |r| r.get(0),
                )?;
                let k = store::next_counter(c, "address")?;
                if k >= addresses::UNITS_PER_MODEL {
                    return Err(
                        UsageError::UnitAddressesExhausted(addresses::UNITS_PER_MODEL).into(),
                    );
                }
                c.execute(
                    "INSERT INTO units(name,app,num,leader,addr_index) VALUES(?1,?2,?3,?4,?5)",
                    params![name, app, n, !has_leader, k],
                )?;
                queue_startup(c, &name)?;
                Ok(name)
            })?;
            failpoints::hit("add-unit");
            self.stage_unit(&name, Path::new(&a.charm_dir))?;
            added.push(name);
        }
        Ok(added)
    }

    fn install_tools(&self, unit: &str) -> Result<()> {
        let tools = self.unit_dir(unit).join("tools");
        fs::create_dir_all(&tools).map_err(|e| Error::io("creating", &tools, e))?;
        let exe = crate::runner::tool_binary()?;
        for tool in crate::runner::TOOL_NAMES {
            let link = tools.join(tool);
            let _ = fs::remove_file(&link);
            std::os::unix::fs::symlink(&exe, &link).map_err(|e| Error::io("linking", &link, e))?;
        }
        Ok(())
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
                c.execute("UPDATE units SET leader=0 WHERE name=?1", [unit])?;
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
        self.tx(|c| {
            c.execute("UPDATE apps SET dying=1 WHERE name=?1", [app])?;
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
                delete_app(c, app)?;
            }
            Ok(())
        })?;
        if store::app(&self.db(), app)?.is_none() {
            charm::remove_app_files(&self.dir, app);
        }
        Ok(())
    }

    /// Relates two endpoints (`app` or `app:endpoint` each); returns the relation id.
    pub fn integrate(&self, a: &str, b: &str) -> Result<i64> {
        let (app_a, ep_a) = split_endpoint(a);
        let (app_b, ep_b) = split_endpoint(b);
        let db = self.db();
        let ma = store::app(&db, app_a)?.ok_or_else(|| UsageError::UnknownApp(app_a.to_owned()))?;
        let mb = store::app(&db, app_b)?.ok_or_else(|| UsageError::UnknownApp(app_b.to_owned()))?;
        drop(db);
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
        for (m, ep) in [(&ma, ep_a), (&mb, ep_b)] {
            if let Some(ep) = ep {
                match m.meta.endpoint(ep) {
                    None => {
                        return Err(UsageError::UnknownEndpoint {
                            app: m.name.clone(),
                            endpoint: ep.to_owned(),
                            known: m
                                .meta
                                .endpoints
                                .iter()
                                .map(|e| e.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                        }
                        .into());
                    }
                    Some(e) if e.role == Role::Peers => {
                        return Err(cannot(format!("{}:{ep} is a peer endpoint", m.name)));
                    }
                    Some(_) => {}
                }
            }
        }
        let mut candidates = Vec::new();
        for ea in ma
            .meta
            .endpoints
            .iter()
            .filter(|e| e.role != Role::Peers && ep_a.is_none_or(|n| n == e.name))
        {
            for eb in mb
                .meta
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
                let describe = |m: &store::App, ep: Option<&str>| {
                    m.meta
                        .endpoints
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
                    describe(&ma, ep_a),
                    describe(&mb, ep_b)
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
        self.tx(|c| {
            for r in store::relations(c)? {
                let same = (r.app_a == app_a && r.ep_a == ea.name && r.app_b == app_b && r.ep_b == eb.name)
                    || (r.app_b == app_a && r.ep_b == ea.name && r.app_a == app_b && r.ep_a == eb.name);
                if same && !r.dying {
                    return Err(UsageError::CannotRelate { a: a.to_owned(), b: b.to_owned(), reason: "relation already exists".into() }.into());
                }
            }
            let id = store::next_counter(c, "relation")?;
            c.execute(
                "INSERT INTO relations(id,app_a,ep_a,app_b,ep_b,interface,peer) VALUES(?1,?2,?3,?4,?5,?6,0)",
                params![id, app_a, ea.name, app_b, eb.name, ea.interface],
            )?;
            for (app, ep, other) in [(app_a, &ea.name, app_b), (app_b, &eb.name, app_a)] {
                for u in store::app_units(c, app)?.into_iter().filter(|u| !u.dying) {
                    store::enqueue(c, &Hook { unit: u.name, hook: format!("{ep}-relation-created"), relation_id: Some(id), remote_app: other.to_owned(), ..Hook::default() })?;
                }
            }
            Ok(id)
        })
    }

    /// Removes the relation between two endpoints (`app[:ep]` each).
    pub fn remove_relation(&self, a: &str, b: &str) -> Result<()> {
        let (app_a, ep_a) = split_endpoint(a);
        let (app_b, ep_b) = split_endpoint(b);
        self.tx(|c| {
            for n in [app_a, app_b] {
                store::app(c, n)?.ok_or_else(|| UsageError::UnknownApp(n.to_owned()))?;
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
            c.execute(
                "UPDATE apps SET config=?2 WHERE name=?1",
                params![app, store::encode("apps", app, "config", &config)?],
            )?;
            for u in store::app_units(c, app)?.into_iter().filter(|u| !u.dying) {
                store::enqueue(
                    c,
                    &Hook {
                        unit: u.name,
                        hook: "config-changed".into(),
                        ..Hook::default()
                    },
                )?;
            }
            Ok(())
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
        let staging = self.dir.join("charms").join(format!("{app}-{rev}"));
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
            c.execute(
                "UPDATE apps SET charm_dir=?2, meta=?3, charm_rev=?4, config=?5 WHERE name=?1",
                params![
                    app,
                    dir.to_string_lossy(),
                    store::encode("apps", app, "meta", &meta)?,
                    rev,
                    store::encode("apps", app, "config", &settings)?
                ],
            )?;
            for u in units.iter().filter(|u| !u.dying) {
                store::enqueue(
                    c,
                    &Hook {
                        unit: u.name.clone(),
                        hook: "upgrade-charm".into(),
                        ..Hook::default()
                    },
                )?;
                store::enqueue(
                    c,
                    &Hook {
                        unit: u.name.clone(),
                        hook: "config-changed".into(),
                        ..Hook::default()
                    },
                )?;
            }
            Ok(())
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
            c.execute(
                "INSERT INTO actions(unit,name,params) VALUES(?1,?2,?3)",
                params![unit, action, Value::Object(p.clone()).to_string()],
            )?;
            let id = c.last_insert_rowid();
            store::enqueue(
                c,
                &Hook {
                    unit: unit.to_owned(),
                    hook: format!("actions/{action}"),
                    action_id: Some(id),
                    ..Hook::default()
                },
            )?;
            Ok(id)
        })
    }

    /// Re-queues the failed hook of a unit in error.
    pub fn resolve(&self, unit: &str) -> Result<()> {
        let u = store::unit(&self.db(), unit)?
            .ok_or_else(|| UsageError::UnknownUnit(unit.to_owned()))?;
        if u.agent != "error" {
            return Err(UsageError::NotInError(unit.to_owned()).into());
        }
        self.tx(|c| {
            c.execute("UPDATE hooks SET failed=0 WHERE unit=?1", [unit])?;
            c.execute(
                "UPDATE units SET agent='idle', error_hook=NULL WHERE name=?1",
                [unit],
            )?;
            Ok(())
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
    /// and secret-rotate for owners, and at most one update-status per started unit.
    pub fn advance(&self, seconds: i64) -> Result<i64> {
        if seconds < 0 {
            return Err(UsageError::BadArgument("the clock only moves forward".into()).into());
        }
        let offset = self.clock_offset()? + seconds;
        clock::write_offset_file(&self.clock_file(), offset)?;
        let now = clock::real_now() + offset;
        self.tx(|c| {
            store::set_meta(c, "clock_offset", &offset.to_string())?;
            crate::timers::fire_due(c, now)
        })?;
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

/// The clock offset read through a connection the caller already holds.
pub(crate) fn clock_offset_in(c: &Connection) -> Result<i64> {
    Ok(store::meta_int(c, "clock_offset")?.unwrap_or(0))
}

/// Virtual time now, through a connection the caller already holds (the store mutex is not
/// re-entrant).
pub(crate) fn now_in(c: &Connection) -> Result<i64> {
    Ok(clock::real_now() + clock_offset_in(c)?)
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

fn new_uuid() -> String {
    let x = crate::secret_id::new_xid();
    let hex: String = x.bytes().map(|b| format!("{:x}", b % 16)).collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..15],
        &hex[15..18],
        &hex[0..12].chars().rev().collect::<String>()
    )
}

/// Queues a new unit's start-up block in Juju's order: install, relation-created for the
/// relations that exist, leader-elected or leader-settings-changed, config-changed, start.
fn queue_startup(c: &Connection, unit: &str) -> Result<()> {
    let u = store::unit(c, unit)?.ok_or_else(|| UsageError::UnknownUnit(unit.to_owned()))?;
    let h = |hook: &str| Hook {
        unit: unit.to_owned(),
        hook: hook.to_owned(),
        ..Hook::default()
    };
    store::enqueue(c, &h("install"))?;
    for r in store::relations(c)?
        .into_iter()
        .filter(|r| r.involves(&u.app) && !r.dying)
    {
        store::enqueue(
            c,
            &Hook {
                relation_id: Some(r.id),
                remote_app: r.other_app(&u.app).to_owned(),
                ..h(&format!("{}-relation-created", r.endpoint_of(&u.app)))
            },
        )?;
    }
    store::enqueue(
        c,
        &h(if u.leader {
            "leader-elected"
        } else {
            "leader-settings-changed"
        }),
    )?;
    store::enqueue(c, &h("config-changed"))?;
    store::enqueue(c, &h("start"))?;
    Ok(())
}

/// Makes `unit` the leader of `app`: it runs leader-elected, the other live units
/// leader-settings-changed.
fn elect(c: &Connection, app: &str, unit: &str) -> Result<()> {
    c.execute(
        "UPDATE units SET leader=(name=?2) WHERE app=?1",
        params![app, unit],
    )?;
    for u in store::app_units(c, app)?.into_iter().filter(|u| !u.dying) {
        let hook = if u.name == unit {
            "leader-elected"
        } else {
            "leader-settings-changed"
        };
        store::enqueue(
            c,
            &Hook {
                unit: u.name,
                hook: hook.into(),
                ..Hook::default()
            },
        )?;
    }
    Ok(())
}

/// Queues the teardown of one unit: departed for every unit it saw (and for it, on the units
/// that saw it), broken for its non-peer relations, then stop and remove. With
/// `app_dying`, non-peer relations are handled by [`dying_relation`] instead.
fn teardown_unit(c: &Connection, unit: &str, app_dying: bool) -> Result<()> {
    let u = store::unit(c, unit)?.ok_or_else(|| UsageError::UnknownUnit(unit.to_owned()))?;
    c.execute("UPDATE units SET dying=1 WHERE name=?1", [unit])?;
    c.execute(
        "DELETE FROM hooks WHERE unit=?1 AND action_id IS NULL",
        [unit],
    )?;
    c.execute("UPDATE units SET agent=CASE WHEN agent='error' THEN 'idle' ELSE agent END, error_hook=NULL WHERE name=?1", [unit])?;
    for r in store::relations(c)?
        .into_iter()
        .filter(|r| r.involves(&u.app))
    {
        if !store::scope(c, r.id)?.contains(&u.name) || (app_dying && !r.peer) || r.dying {
            continue;
        }
        let ep = r.endpoint_of(&u.app).to_owned();
        for other in store::scope(c, r.id)? {
            if other == u.name {
                continue;
            }
            let oa = names::split_unit(&other)?.0.to_owned();
            let ep_o = r.endpoint_of(&oa).to_owned();
            c.execute(
                "DELETE FROM hooks WHERE unit=?1 AND relation_id=?2 AND remote_unit=?3 AND failed=0 AND (hook LIKE '%-relation-joined' OR hook LIKE '%-relation-changed')",
                params![other, r.id, u.name],
            )?;
            if store::seen(c, r.id, &other)?.contains(&u.name) {
                store::enqueue(
                    c,
                    &Hook {
                        unit: other.clone(),
                        hook: format!("{ep_o}-relation-departed"),
                        relation_id: Some(r.id),
                        remote_unit: u.name.clone(),
                        remote_app: u.app.clone(),
                        departing: u.name.clone(),
                        ..Hook::default()
                    },
                )?;
            }
        }
        for w in store::seen(c, r.id, &u.name)? {
            let wa = names::split_unit(&w)?.0.to_owned();
            store::enqueue(
                c,
                &Hook {
                    unit: u.name.clone(),
                    hook: format!("{ep}-relation-departed"),
                    relation_id: Some(r.id),
                    remote_unit: w,
                    remote_app: wa,
                    departing: u.name.clone(),
                    ..Hook::default()
                },
            )?;
        }
        if !r.peer {
            store::enqueue(
                c,
                &Hook {
                    unit: u.name.clone(),
                    hook: format!("{ep}-relation-broken"),
                    relation_id: Some(r.id),
                    remote_app: r.other_app(&u.app).to_owned(),
                    ..Hook::default()
                },
            )?;
        }
    }
    for hook in ["stop", "remove"] {
        store::enqueue(
            c,
            &Hook {
                unit: unit.to_owned(),
                hook: hook.into(),
                ..Hook::default()
            },
        )?;
    }
    Ok(())
}

/// Marks a relation dying and queues departed (for every unit each side saw) and broken on every
/// unit in scope. A relation nobody entered is deleted at once.
pub(crate) fn dying_relation(c: &Connection, id: i64) -> Result<()> {
    let r = store::relation(c, id)?.ok_or_else(|| UsageError::UnknownRelation(id.to_string()))?;
    c.execute("UPDATE relations SET dying=1 WHERE id=?1", [id])?;
    c.execute(
        "DELETE FROM hooks WHERE relation_id=?1 AND failed=0 AND (hook LIKE '%-relation-joined' OR hook LIKE '%-relation-changed' OR hook LIKE '%-relation-created')",
        [id],
    )?;
    let scope = store::scope(c, id)?;
    for u in &scope {
        let app = names::split_unit(u)?.0.to_owned();
        let ep = r.endpoint_of(&app).to_owned();
        for w in store::seen(c, id, u)? {
            let wa = names::split_unit(&w)?.0.to_owned();
            store::enqueue(
                c,
                &Hook {
                    unit: u.clone(),
                    hook: format!("{ep}-relation-departed"),
                    relation_id: Some(id),
                    remote_unit: w.clone(),
                    remote_app: wa,
                    departing: w,
                    ..Hook::default()
                },
            )?;
        }
        store::enqueue(
            c,
            &Hook {
                unit: u.clone(),
                hook: format!("{ep}-relation-broken"),
                relation_id: Some(id),
                remote_app: r.other_app(&app).to_owned(),
                ..Hook::default()
            },
        )?;
    }
    if scope.is_empty() {
        delete_relation(c, id)?;
    }
    Ok(())
}

/// Forgets a relation whose units have all left it, and the secret grants made on it.
pub(crate) fn delete_relation(c: &Connection, id: i64) -> Result<()> {
    for sql in [
        "DELETE FROM relations WHERE id=?1",
        "DELETE FROM scope WHERE relation_id=?1",
        "DELETE FROM seen WHERE relation_id=?1",
        "DELETE FROM bags WHERE relation_id=?1",
        "DELETE FROM secret_grants WHERE relation_id=?1",
        "DELETE FROM hooks WHERE relation_id=?1 AND failed=0",
    ] {
        c.execute(sql, [id])?;
    }
    Ok(())
}

/// Forgets an application whose units are all gone.
pub(crate) fn delete_app(c: &Connection, app: &str) -> Result<()> {
    for r in store::relations(c)?.into_iter().filter(|r| r.involves(app)) {
        delete_relation(c, r.id)?;
    }
    c.execute("DELETE FROM secrets WHERE owner_app=?1", [app])?;
    c.execute(
        "DELETE FROM secret_revisions WHERE xid NOT IN (SELECT xid FROM secrets)",
        [],
    )?;
    c.execute("DELETE FROM apps WHERE name=?1", [app])?;
    Ok(())
}
