//! Named failpoints for crash tests: `JUJU_TLS_FAILPOINT=name` (or `name:N`, the N-th time the
//! point is reached) makes the process abort there, as a SIGKILL would stop it: no destructors,
//! no cleanup. Compiled in; when the variable is unset a point costs one atomic load.
//!
//! Points: `add-unit` (unit recorded, files not staged), `spawned` (a hook started, its process
//! group not yet recorded), `settle` (a hook started and recorded, not waited for), `commit` (inside a hook's commit transaction, before it commits), `after-commit` (the
//! transaction committed, the unit's workloads not yet handled). `worker-panic` panics instead
//! (in the thread about to run a hook), as a bug in the model would.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable naming the failpoint.
pub const FAILPOINT_ENV: &str = "JUJU_TLS_FAILPOINT";

static ARMED: OnceLock<Option<(String, u64)>> = OnceLock::new();
static HITS: AtomicU64 = AtomicU64::new(0);

fn armed() -> &'static Option<(String, u64)> {
    ARMED.get_or_init(|| {
        let v = std::env::var(FAILPOINT_ENV).ok()?;
        match v.split_once(':') {
            Some((name, n)) => Some((name.to_owned(), n.parse().unwrap_or(1).max(1))),
            None if !v.is_empty() => Some((v, 1)),
            None => None,
        }
    })
}

/// Aborts the process if `name` is the armed failpoint and this is its N-th hit.
pub(crate) fn hit(name: &str) {
    if let Some((armed, nth)) = armed() {
        if armed == name && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *nth {
            eprintln!("juju-tls: failpoint {name} reached: aborting");
            std::process::abort();
        }
    }
}

/// Panics if `name` is the armed failpoint and this is its N-th hit (a bug in a worker thread,
/// not a crash of the process).
pub(crate) fn panic_at(name: &str) {
    if let Some((armed, nth)) = armed()
        && armed == name
        && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *nth
    {
        panic!("failpoint {name} reached");
    }
}
