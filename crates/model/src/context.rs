//! The context of one running hook: who runs it, and the writes it made so far.
//!
//! Juju buffers a hook's relation, secret, port and state writes in the hook context and flushes
//! them only when the hook exits 0 (`juju-hook-environment.md` §3.4); the unit sees its own
//! buffered writes meanwhile. [`HookContext`] is that buffer; `tools` serves the hook tools
//! from it and the store, and `commit.rs` flushes it in one transaction.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use hook_tools::RelationHook;
use serde_json::Value;

use crate::store::{App, Hook, Relation, Unit};

/// A write to a databag, kept in call order (one hook may delete a key and set it again).
#[derive(Debug, Clone)]
pub(crate) struct BagWrite {
    pub(crate) relation_id: i64,
    /// Unit or application name.
    pub(crate) owner: String,
    pub(crate) key: String,
    /// Empty deletes.
    pub(crate) value: String,
}

/// A buffered secret change.
#[derive(Debug, Clone)]
pub(crate) enum SecretOp {
    /// `secret-add`.
    Add {
        xid: String,
        owner_unit: Option<String>,
        label: Option<String>,
        description: Option<String>,
        expiry: Option<i64>,
        rotate: Option<String>,
        content: BTreeMap<String, String>,
    },
    /// `secret-set`; `None` fields are left as they are.
    Set {
        xid: String,
        content: Option<BTreeMap<String, String>>,
        label: Option<String>,
        description: Option<String>,
        expiry: Option<i64>,
        rotate: Option<String>,
    },
    /// `secret-remove [--revision]`.
    Remove { xid: String, revision: Option<i64> },
    /// `secret-grant`.
    Grant {
        xid: String,
        relation_id: i64,
        target: String,
    },
    /// `secret-revoke`.
    Revoke {
        xid: String,
        relation_id: Option<i64>,
        target: Option<String>,
    },
}

impl SecretOp {
    pub(crate) fn xid(&self) -> &str {
        match self {
            SecretOp::Add { xid, .. }
            | SecretOp::Set { xid, .. }
            | SecretOp::Remove { xid, .. }
            | SecretOp::Grant { xid, .. }
            | SecretOp::Revoke { xid, .. } => xid,
        }
    }
}

/// Everything a hook did that is not yet committed.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// Once found not to be leader, a unit stays "minion" for the rest of the hook (§6.2).
    pub(crate) minion: bool,
    pub(crate) bag_writes: Vec<BagWrite>,
    pub(crate) secrets: Vec<SecretOp>,
    /// (open?, "80/tcp").
    pub(crate) ports: Vec<(bool, String)>,
    /// (key, Some(value) | None for delete).
    pub(crate) state: Vec<(String, Option<String>)>,
    pub(crate) action_results: serde_json::Map<String, Value>,
    pub(crate) action_fail: Option<String>,
    /// Errors Juju reports only when it flushes the context: the hook then fails although
    /// its process exited 0 (`secret-set`/`secret-remove` of an unknown secret, §6.5, §8.5).
    pub(crate) commit_errors: Vec<String>,
    /// juju-log ERROR lines: ops reports an uncaught exception there, not on stderr (D18).
    pub(crate) error_lines: Vec<String>,
    /// Tool calls served, for the benchmark's overhead figures.
    pub(crate) calls: usize,
    /// Time the server spent answering them (parse, store, render), same purpose.
    pub(crate) serving: std::time::Duration,
}

/// A fresh `JUJU_CONTEXT_ID`: `{unit}-{hook}-` (readable in logs, as Juju's) then 128 random
/// bits in hex, so no other process can guess a running hook's id.
pub(crate) fn new_id(unit: &str, hook: &hook_tools::HookKind) -> crate::error::Result<String> {
    let hex = random_hex()?;
    Ok(format!(
        "{}-{}-{hex}",
        unit.replace('/', "-"),
        hook.to_string().replace('/', "-")
    ))
}

/// One running hook.
#[derive(Debug)]
pub(crate) struct HookContext {
    /// `JUJU_CONTEXT_ID`.
    pub(crate) id: String,
    /// The unit as it was when the hook started.
    pub(crate) unit: Unit,
    /// Its application.
    pub(crate) app: App,
    /// The hook.
    pub(crate) hook: Hook,
    /// The relation of a relation hook.
    pub(crate) relation: Option<Relation>,
    pending: Mutex<Pending>,
}

impl HookContext {
    pub(crate) fn new(
        id: String,
        unit: Unit,
        app: App,
        hook: Hook,
        relation: Option<Relation>,
    ) -> Self {
        Self {
            id,
            unit,
            app,
            hook,
            relation,
            pending: Mutex::new(Pending::default()),
        }
    }

    /// The buffered writes.
    pub(crate) fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the buffered writes out for commit.
    pub(crate) fn take(&self) -> Pending {
        std::mem::take(&mut *self.pending())
    }

    /// The relation hook kind of a relation hook: `Joined` for `db-relation-joined`.
    pub(crate) fn relation_kind(&self) -> Option<RelationHook> {
        self.hook.relation_id?;
        self.hook.hook.relation_kind()
    }
}

/// 128 random bits from the OS, in hex: what makes a context id or a socket name unguessable.
pub(crate) fn random_hex() -> crate::error::Result<String> {
    use std::io::Read;
    let mut bits = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bits))
        .map_err(|e| crate::error::Error::io("reading", "/dev/urandom", e))?;
    Ok(bits.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn context_ids_carry_128_random_bits_after_a_readable_prefix() {
        let a = super::new_id("web/0", &hook_tools::HookKind::ConfigChanged).expect("id");
        let b = super::new_id("web/0", &hook_tools::HookKind::ConfigChanged).expect("id");
        assert_ne!(a, b);
        let random = a.strip_prefix("web-0-config-changed-").expect("prefix");
        assert_eq!(random.len(), 32);
        assert!(random.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
