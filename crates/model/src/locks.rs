//! The two locks of a model, both files under `<data dir>/locks/` (outside the model directory,
//! so destroying a model never deletes a lock someone holds or waits on):
//!
//! * `<model>.change`: held briefly while a verb records a change (deploy, integrate, …) and by
//!   `destroy` while it tombstones the model;
//! * `<model>.settle`: held by the one process running the model's hooks;
//! * `<model>.settler`: held by the `juju` front end's background settling process while it
//!   lives (one per model).
//!
//! A verb can thus record a change while another process settles; that process picks up the new
//! hooks. Each lock file holds the pid of its holder, so a waiter can say whom it waits for.

use std::fs;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::FlockOperation;

use crate::error::{Error, Result, UsageError};

/// Which lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// Recording a change.
    Change,
    /// Running hooks.
    Settle,
    /// Held for its whole life by the model's one background settling process (the `juju`
    /// front end's), so a second one knows to leave.
    Settler,
}

/// How to wait for a lock.
#[derive(Debug, Clone, Copy, Default)]
pub struct LockWait {
    /// Give up after this long (`None`: wait for ever).
    pub timeout: Option<Duration>,
    /// Called once, with the holder's pid (0 when unknown), when the lock is busy.
    pub notice: Option<fn(u32)>,
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct ModelLock {
    _file: fs::File,
}

/// The tombstone `destroy` leaves in a model directory before anything else.
pub(crate) const TOMBSTONE: &str = "destroying";

fn path(model_dir: &Path, kind: LockKind) -> PathBuf {
    let name = model_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let root = model_dir
        .parent()
        .and_then(Path::parent)
        .unwrap_or(model_dir);
    let ext = match kind {
        LockKind::Change => "change",
        LockKind::Settle => "settle",
        LockKind::Settler => "settler",
    };
    root.join("locks").join(format!("{name}.{ext}"))
}

/// Takes a lock of the model in `model_dir`, then checks the model is still there and not being
/// destroyed (unless `destroying`, for `destroy` itself).
pub(crate) fn take(
    model_dir: &Path,
    model: &str,
    kind: LockKind,
    wait: LockWait,
    destroying: bool,
) -> Result<ModelLock> {
    let path = path(model_dir, kind);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| Error::io("creating", dir, e))?;
    }
    let mut file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("opening", &path, e))?;
    let started = Instant::now();
    let mut told = false;
    loop {
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => break,
            Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {
                let holder = fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse::<u32>().ok())
                    .unwrap_or(0);
                if !told {
                    if let Some(notice) = wait.notice {
                        notice(holder);
                    }
                    told = true;
                }
                if let Some(t) = wait.timeout {
                    if started.elapsed() >= t {
                        return Err(Error::LockTimeout {
                            secs: t.as_secs(),
                            holder,
                        });
                    }
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(Error::io("locking", &path, e.into())),
        }
    }
    // Our pid for waiters; the lock is ours, so nobody else writes the file now.
    let _ = file.set_len(0);
    let _ = file.rewind();
    let _ = write!(file, "{}", std::process::id());
    if !model_dir.join("model.db").exists() {
        return Err(UsageError::UnknownModel(model.to_owned()).into());
    }
    if !destroying && model_dir.join(TOMBSTONE).exists() {
        return Err(UsageError::ModelDying(model.to_owned()).into());
    }
    Ok(ModelLock { _file: file })
}
