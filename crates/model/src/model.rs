//! One model: its store, its directory, its locks and the units' files. The verbs that change
//! it are in `verbs.rs`, the hooks they queue in `lifecycle.rs`; [`Model::settle`] runs them.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use rusqlite::Connection;

use crate::after_commit::{AfterCommit, Warm};
use crate::bag_cache::BagCache;
use crate::charm;
use crate::clock;
use crate::error::{Error, Result};
use crate::locks::{self, LockKind, LockWait, ModelLock};
use crate::{addresses, store};

/// Read connections kept open: the hook-tool server answers at most this many read-only calls
/// at once without one waiting for another (two job slots, each a hook and its shims, and the
/// scheduler).
const READERS: usize = 4;

/// A local model, open for reading and changing.
#[derive(Debug)]
pub struct Model {
    name: String,
    dir: PathBuf,
    uuid: String,
    conn: Mutex<Connection>,
    /// The hook-tool server's read connections, opened on first use; empty if they could not
    /// be.
    readers: OnceLock<Vec<Mutex<Connection>>>,
    /// Process groups of the hooks this process runs, by hook seq.
    running: Mutex<BTreeMap<i64, i32>>,
    /// Set by [`Model::interrupt`]: running hooks are being ended, nothing is recorded for them.
    stopping: AtomicBool,
    /// Bag values and `relation-get` answers by revision, for the hook-tool server.
    bags: Arc<BagCache>,
    /// Checkpoints the store's log and renders large bags after commits, off the committing
    /// connection.
    after_commit: AfterCommit,
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
            readers: OnceLock::new(),
            running: Mutex::new(BTreeMap::new()),
            stopping: AtomicBool::new(false),
            bags: Arc::default(),
            after_commit: AfterCommit::default(),
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
            readers: OnceLock::new(),
            running: Mutex::new(BTreeMap::new()),
            stopping: AtomicBool::new(false),
            bags: Arc::default(),
            after_commit: AfterCommit::default(),
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

    /// A connection for reads only (the hook-tool server's and the scheduler's): one of
    /// [`READERS`], each behind its own lock, a free one if any. One hook's tool calls are
    /// answered while another hook's results are committed on [`Model::db`], and two hooks'
    /// reads do not wait for each other (WAL readers never block). It sees what is committed,
    /// as the main connection does outside a transaction. Falls back to the main connection if
    /// none can be opened.
    pub(crate) fn read_db(&self) -> MutexGuard<'_, Connection> {
        let readers = self.readers.get_or_init(|| {
            (0..READERS)
                .map_while(|_| store::open_reader(&self.dir.join("model.db")).ok())
                .map(Mutex::new)
                .collect()
        });
        for r in readers {
            match r.try_lock() {
                Ok(guard) => return guard,
                Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        match readers.first() {
            Some(r) => r.lock().unwrap_or_else(|p| p.into_inner()),
            None => self.db(),
        }
    }

    /// Bag values and `relation-get` answers by revision (fill it from committed snapshots
    /// only: [`crate::bag_cache`]).
    pub(crate) fn bag_cache(&self) -> &BagCache {
        &self.bags
    }

    /// Runs `f` in one transaction. It takes the write lock when it begins (IMMEDIATE): a
    /// deferred transaction that read before another process committed could not upgrade to
    /// a writer and would fail at once with SQLITE_BUSY instead of waiting its turn.
    pub(crate) fn tx<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.tx_warming(|c| Ok((f(c)?, Warm::new())))
    }

    /// [`Model::tx`], then the `relation-get` answers of the bags `f` names are rendered ahead
    /// on the after-commit thread ([`crate::after_commit`]).
    pub(crate) fn tx_warming<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<(T, Warm)>,
    ) -> Result<T> {
        let mut db = self.db();
        let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let (out, warm) = f(&tx)?;
        tx.commit()?;
        if store::secrets::take_content_deleted() {
            // Best effort: a reader on an older snapshot keeps its frames until the next one.
            // Not beside the after-commit thread's checkpoint: SQLite runs one at a time and
            // would refuse this one at once.
            let _one_checkpoint = self.after_commit.checkpoint_lock();
            let _ = db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
        self.after_commit
            .committed(&self.dir.join("model.db"), &self.bags, warm);
        Ok(out)
    }

    /// Whether the model is being destroyed, or is gone.
    pub fn is_destroyed(&self) -> bool {
        !self.dir.join("model.db").exists() || self.dir.join(locks::TOMBSTONE).exists()
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
        store::hooks::set_pgid(&self.db(), seq, pgid)
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
            let _ = store::hooks::mark_not_running(&db, *seq);
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
