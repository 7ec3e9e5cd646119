//! Checkpoints the store's write-ahead log on a thread of its own.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses its threshold, while the
//! committing connection, and the model's lock on it, are held. At 1,000 requirer units a CA's
//! commit of its 4.5 MB bag spent about 15 ms of its 34 ms there, and every hook-tool call
//! that writes (`juju-log`, `status-set`, `secret-add`) waited for it. Here a commit only
//! signals; the checkpoint runs beside the next hook's work, on its own connection, in
//! PASSIVE mode (it never blocks a writer or a reader and never waits for one). The main
//! connection keeps an automatic checkpoint at a higher threshold
//! (`BACKSTOP_CHECKPOINT_PAGES` in `store::schema`) in case this thread falls behind.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

use rusqlite::{Connection, OpenFlags};

/// The thread, started on the first commit; it ends when the model closes.
#[derive(Debug, Default)]
pub(crate) struct Checkpointer {
    running: Mutex<Option<(SyncSender<()>, JoinHandle<()>)>>,
}

impl Checkpointer {
    /// Called after a commit to the store at `path`: wakes the thread (starting it the first
    /// time). Never blocks; a wake-up already pending covers this commit too.
    pub(crate) fn committed(&self, path: &Path) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.is_none() {
            let (wake, woken) = mpsc::sync_channel(1);
            let path = path.to_owned();
            let spawned = std::thread::Builder::new()
                .name("store-checkpoint".into())
                .spawn(move || checkpoint_loop(&path, &woken));
            // Without the thread, the main connection's own checkpoint still runs.
            let Ok(handle) = spawned else { return };
            *running = Some((wake, handle));
        }
        if let Some((wake, _)) = running.as_ref() {
            // Full: a wake-up is pending and covers this commit. Disconnected: the thread
            // could not open the store and ended; the main connection's checkpoint remains.
            let _: Result<(), TrySendError<()>> = wake.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let running = self.running.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some((wake, handle)) = running.take() {
            drop(wake);
            let _ = handle.join();
        }
    }
}

/// Checkpoints once per wake-up until the sender is gone, then once more. Opening never
/// creates the store: a model destroyed meanwhile ends the thread.
fn checkpoint_loop(path: &PathBuf, woken: &Receiver<()>) {
    let Ok(conn) = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return;
    };
    let checkpoint = || {
        // Errors (a store being removed) leave the log to the main connection's checkpoint.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    };
    while woken.recv().is_ok() {
        checkpoint();
    }
    checkpoint();
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
        let checkpointer = Checkpointer::default();
        let big = "x".repeat(1 << 20);
        for i in 0..3 {
            crate::store::set_meta(&c, &format!("k{i}"), &big).expect("write");
            checkpointer.committed(&path);
        }
        drop(checkpointer);
        // Everything was copied to the database by the final checkpoint: the next writer
        // starts the log over.
        crate::store::set_meta(&c, "small", "v").expect("write");
        assert!(wal_frames(&c) < 10, "the log was restarted");
    }
}
