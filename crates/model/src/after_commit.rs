//! Work after a commit, on a thread of its own: checkpointing the store's write-ahead log, and
//! rendering the `relation-get` answer of a large bag just written.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, while the
//! committing connection, and the model's lock on it, are held. At 1,000 requirer units a CA's
//! commit of its 4.5 MB bag spent about 15 ms of its 34 ms there, and every hook-tool call
//! that writes (`juju-log`, `status-set`, `secret-add`) waited for it. Here a commit only
//! signals; the checkpoint runs beside the next hook's work, on its own connection, in
//! PASSIVE mode (it never blocks a writer or a reader and never waits for one). The main
//! connection keeps an automatic checkpoint at a higher threshold (`BACKSTOP_CHECKPOINT_PAGES`
//! in `store::schema`) in case this thread falls behind.
//!
//! A large bag just written (a provider's certificates) is read by its own charm in its next
//! hook and by every unit related to it; whoever came first used to render it (10 ms and more
//! at 4.5 MB) while its hook waited. The thread renders it ahead, into the model's
//! [`BagCache`], from a committed snapshot, as a reader would. Best effort: a wake-up that
//! finds the queue full is dropped and the first reader renders as before.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use hook_tools::values::Format;
use rusqlite::{Connection, OpenFlags};

use crate::bag_cache::BagCache;

/// Bags (relation id, owner) whose answers to render, as `relation-get --format=json` of the
/// whole bag asks (what ops and the Rust SDK send).
pub(crate) type Warm = Vec<(i64, String)>;

/// Wake-ups that may wait; more are dropped (each one checkpoints, so one pending is enough
/// for the log).
const QUEUED: usize = 8;

/// The thread, started on the first commit; it ends when the model closes.
#[derive(Debug, Default)]
pub(crate) struct AfterCommit {
    running: Mutex<Option<(SyncSender<Warm>, JoinHandle<()>)>>,
    /// Held by whoever checkpoints in this process: SQLite refuses a second checkpoint at
    /// once (`SQLITE_BUSY`) instead of waiting for the first.
    checkpointing: Arc<Mutex<()>>,
}

impl AfterCommit {
    /// Called after a commit to the store at `path`: wakes the thread (starting it the first
    /// time) to checkpoint, and to render the answers of the bags in `warm` into `cache`.
    /// Never blocks.
    pub(crate) fn committed(&self, path: &Path, cache: &Arc<BagCache>, warm: Warm) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.is_none() {
            let (wake, woken) = mpsc::sync_channel(QUEUED);
            let path = path.to_owned();
            let cache = Arc::clone(cache);
            let lock = Arc::clone(&self.checkpointing);
            let spawned = std::thread::Builder::new()
                .name("store-after-commit".into())
                .spawn(move || work(&path, &cache, &lock, &woken));
            // Without the thread, the main connection's own checkpoint still runs.
            let Ok(handle) = spawned else { return };
            *running = Some((wake, handle));
        }
        if let Some((wake, _)) = running.as_ref() {
            // Full: wake-ups are pending and checkpoint after this commit too. Disconnected:
            // the thread could not open the store and ended; the main connection's checkpoint
            // remains.
            let _: Result<(), TrySendError<Warm>> = wake.try_send(warm);
        }
    }

    /// Held while checkpointing on another connection of this model (the TRUNCATE after a
    /// secret's content is deleted), so that the thread's checkpoint does not make it fail.
    /// Best effort beyond that: another process checkpointing at that moment still can.
    pub(crate) fn checkpoint_lock(&self) -> MutexGuard<'_, ()> {
        self.checkpointing.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for AfterCommit {
    fn drop(&mut self) {
        let running = self.running.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some((wake, handle)) = running.take() {
            drop(wake);
            let _ = handle.join();
        }
    }
}

/// One checkpoint and the renderings asked for per wake-up until the sender is gone, then a
/// last checkpoint. Opening never creates the store: a model destroyed meanwhile ends the
/// thread.
fn work(path: &PathBuf, cache: &BagCache, lock: &Mutex<()>, woken: &Receiver<Warm>) {
    let Ok(mut conn) = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return;
    };
    let checkpoint = |conn: &Connection| {
        let _one_checkpoint = lock.lock().unwrap_or_else(|p| p.into_inner());
        // Errors (a store being removed) leave the log to the main connection's checkpoint.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    };
    while let Ok(warm) = woken.recv() {
        checkpoint(&conn);
        for (rel, owner) in warm {
            // One read transaction: the cache takes values from one committed snapshot only.
            let Ok(snapshot) = conn.transaction() else {
                continue;
            };
            let bag = cache.bag(&snapshot, rel, &owner, None);
            // Rendering needs only the values read: the log is not held meanwhile.
            drop(snapshot);
            if let Ok(bag) = bag {
                cache.answer(&bag, Format::Json, crate::tools::render);
            }
        }
    }
    checkpoint(&conn);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wal_frames(c: &Connection) -> i64 {
        // (busy, frames in the log, frames checkpointed); a no-op PASSIVE checkpoint reads them.
        c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .expect("checkpoint")
    }

    #[test]
    fn commits_are_checkpointed_by_the_thread_and_it_ends_with_the_model() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("model.db");
        let c = crate::store::open(&path).expect("store");
        let after = AfterCommit::default();
        let cache = Arc::new(BagCache::default());
        let big = "x".repeat(1 << 20);
        for i in 0..3 {
            crate::store::set_meta(&c, &format!("k{i}"), &big).expect("write");
            after.committed(&path, &cache, Vec::new());
        }
        drop(after);
        // Everything was copied to the database by the final checkpoint: the next writer
        // starts the log over.
        crate::store::set_meta(&c, "small", "v").expect("write");
        assert!(wal_frames(&c) < 10, "the log was restarted");
    }

    #[test]
    fn a_large_bag_named_after_a_commit_is_rendered_before_anyone_reads_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("model.db");
        let c = crate::store::open(&path).expect("store");
        let value = "y".repeat(100_000);
        crate::store::relations::set_bag_key(&c, 1, "ca", "certificates", Some(&value))
            .expect("write");
        let after = AfterCommit::default();
        let cache = Arc::new(BagCache::default());
        after.committed(&path, &cache, vec![(1, "ca".to_owned())]);
        drop(after);
        let bag = cache.bag(&c, 1, "ca", None).expect("bag");
        let renders = std::cell::Cell::new(0);
        let answer = cache.answer(&bag, Format::Json, |v, f| {
            renders.set(renders.get() + 1);
            crate::tools::render(v, f)
        });
        assert_eq!(renders.get(), 0, "rendered by the thread");
        assert_eq!(
            &*answer,
            crate::tools::render(&serde_json::json!({ "certificates": value }), Format::Json)
        );
    }
}
