//! The seam between the model and Juju: one required method per hook-tool operation.
//!
//! This is the Rust `ops._ModelBackend` (`shared/style.md` §4): the model layer above it enforces
//! Juju's access rules and caches, so every implementation behaves the same. Two implementations:
//! [`HookTools`] runs the real tools as subprocesses; [`Memory`] serves everything from a
//! [`crate::testing::State`] for tests.
//!
//! Semantics every implementation keeps (`juju-hook-environment.md` §3.4): relation, secret and
//! port changes take effect only when the hook succeeds ([`Backend::commit`]); status, logs,
//! workload version and action output are immediate; the unit sees its own pending writes.

mod memory;
mod subprocess;

use std::collections::BTreeMap;
use std::fmt;

use hook_tools::values::{PortSpec, RotatePolicy, SecretOwner};
use hook_tools::{ErrorKind, Tool, ToolError};
use serde::{Deserialize, Serialize};

pub use self::memory::Memory;
pub use self::subprocess::HookTools;
use crate::names::{AppName, Endpoint, RelationId, SecretId, UnitName};

/// A relation databag: string keys to string values.
pub type Databag = BTreeMap<String, String>;

/// Secret content: keys (`^[a-z](-?[a-z0-9]){2,}$`) to values.
pub type SecretContent = BTreeMap<String, String>;

/// Whose databag, within one relation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BagOwner {
    /// A unit's bag.
    Unit(UnitName),
    /// An application's bag.
    App(AppName),
}

impl fmt::Display for BagOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BagOwner::Unit(u) => u.fmt(f),
            BagOwner::App(a) => a.fmt(f),
        }
    }
}

/// `juju-log` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LogLevel {
    /// Very verbose.
    Trace,
    /// Developer detail.
    Debug,
    /// Normal.
    Info,
    /// Something unexpected.
    Warning,
    /// A failure.
    Error,
    /// A severe failure.
    Critical,
}

impl LogLevel {
    /// The name `juju-log --log-level` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Critical => "CRITICAL",
        }
    }
}

/// Workload status names (§6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusKind {
    /// Ready.
    Active,
    /// Needs a human.
    Blocked,
    /// Waiting for something outside the charm.
    Waiting,
    /// Doing work.
    Maintenance,
    /// Set by Juju when a hook failed.
    Error,
    /// Never set.
    Unknown,
}

impl StatusKind {
    /// Juju's name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Active => "active",
            StatusKind::Blocked => "blocked",
            StatusKind::Waiting => "waiting",
            StatusKind::Maintenance => "maintenance",
            StatusKind::Error => "error",
            StatusKind::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> Option<StatusKind> {
        Some(match s {
            "active" => StatusKind::Active,
            "blocked" => StatusKind::Blocked,
            "waiting" => StatusKind::Waiting,
            "maintenance" => StatusKind::Maintenance,
            "error" => StatusKind::Error,
            "unknown" => StatusKind::Unknown,
            _ => return None,
        })
    }
}

/// A workload status with its message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Status {
    /// The status name.
    pub kind: StatusKind,
    /// The message, possibly empty.
    pub message: String,
}

impl Status {
    /// `active` with a message (often empty).
    pub fn active(message: impl Into<String>) -> Self {
        Status {
            kind: StatusKind::Active,
            message: message.into(),
        }
    }
    /// `blocked`: a human must act (e.g. a missing relation).
    pub fn blocked(message: impl Into<String>) -> Self {
        Status {
            kind: StatusKind::Blocked,
            message: message.into(),
        }
    }
    /// `waiting`: for another application.
    pub fn waiting(message: impl Into<String>) -> Self {
        Status {
            kind: StatusKind::Waiting,
            message: message.into(),
        }
    }
    /// `maintenance`: the charm is busy.
    pub fn maintenance(message: impl Into<String>) -> Self {
        Status {
            kind: StatusKind::Maintenance,
            message: message.into(),
        }
    }
    /// `unknown`, the status before any is set.
    pub fn unknown() -> Self {
        Status {
            kind: StatusKind::Unknown,
            message: String::new(),
        }
    }

    pub(crate) fn settable(&self) -> Option<hook_tools::values::SettableStatus> {
        use hook_tools::values::SettableStatus as S;
        Some(match self.kind {
            StatusKind::Active => S::Active,
            StatusKind::Blocked => S::Blocked,
            StatusKind::Waiting => S::Waiting,
            StatusKind::Maintenance => S::Maintenance,
            StatusKind::Error | StatusKind::Unknown => return None,
        })
    }

    pub(crate) fn from_tool(s: &hook_tools::output::StatusInfo) -> Option<Status> {
        Some(Status {
            kind: StatusKind::parse(&s.status)?,
            message: s.message.clone(),
        })
    }
}

/// A secret to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSecret {
    /// The content; keys must match `^[a-z](-?[a-z0-9]){2,}$`.
    pub content: SecretContent,
    /// Owner label, unique per owner.
    pub label: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Expiry of revision 1, RFC 3339 UTC (`2027-02-18T15:22:03Z`).
    pub expire: Option<String>,
    /// Rotation policy.
    pub rotate: Option<RotatePolicy>,
    /// Unit- or application-owned (application-owned needs leadership).
    pub owner: SecretOwner,
}

/// Changes to an owned secret; `None` fields are left alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretUpdate {
    /// New content: a new revision at commit, unless equal to the latest.
    pub content: Option<SecretContent>,
    /// New owner label.
    pub label: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New expiry of the latest revision (RFC 3339).
    pub expire: Option<String>,
    /// New rotation policy.
    pub rotate: Option<RotatePolicy>,
}

/// Which revision a secret read returns (§8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretRead {
    /// The tracked revision (owners: the latest committed one).
    Tracked,
    /// The latest revision, without moving tracking.
    Peek,
    /// The latest revision, and track it from now on.
    Refresh,
}

/// How a secret is looked up: by id, by label, or by id while setting the label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretLookup {
    /// By id.
    Id(SecretId),
    /// By owner or consumer label.
    Label(String),
    /// By id, and give it this label (owner label for owners, consumer label otherwise).
    IdWithLabel(SecretId, String),
}

/// What `secret-info-get` tells an owner about a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    /// The secret.
    pub id: SecretId,
    /// Latest revision.
    pub revision: u32,
    /// Owner label.
    pub label: Option<String>,
    /// Owner.
    pub owner: SecretOwner,
    /// Description.
    pub description: Option<String>,
    /// Expiry of the latest revision (RFC 3339).
    pub expiry: Option<String>,
    /// Rotation policy.
    pub rotation: Option<String>,
}

/// A backend operation failed. Variants say why, by cause, and carry Juju's own message, so a
/// refusal reads the same from real Juju and from the test harness.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The relation does not exist (any more).
    #[error("{0}")]
    RelationNotFound(String),
    /// The secret or label does not exist, or is not visible to this unit.
    #[error("{0}")]
    SecretNotFound(String),
    /// The unit may not do this (read a bag it may not read, read a secret not granted, write a
    /// bag it does not own).
    #[error("{0}")]
    PermissionDenied(String),
    /// A leader-only operation by a non-leader.
    #[error("{0}")]
    NotLeader(String),
    /// An `action-*` operation outside an action.
    #[error("{}", hook_tools::error::msg::NOT_RUNNING_ACTION)]
    NotInAction,
    /// Juju accepted nothing of this and said why; not one of the cases above.
    #[error("{tool} failed (exit {code}): {message}")]
    Tool {
        /// The tool.
        tool: Tool,
        /// Its exit code.
        code: i32,
        /// Its message (without `ERROR `).
        message: String,
    },
    /// The tool could not be started.
    #[error("cannot run {tool}: {source}")]
    Spawn {
        /// The tool.
        tool: Tool,
        /// The cause.
        source: std::io::Error,
    },
    /// The tool printed something that is not the documented shape.
    #[error("{tool} printed unexpected output: {detail}")]
    Output {
        /// The tool.
        tool: Tool,
        /// What was wrong.
        detail: String,
    },
    /// A local file operation (temporary secret files) failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The caller passed a value Juju would reject (a bad secret key, a reserved action key).
    /// Always a bug in the calling code, never caused by outside data.
    #[error("{0}")]
    ApiMisuse(String),
}

impl BackendError {
    /// Maps a failed tool to a typed error with the rules ops uses
    /// ([`hook_tools::ErrorKind::classify`]).
    pub fn from_tool(tool: Tool, error: ToolError) -> Self {
        match ErrorKind::classify(tool, &error) {
            ErrorKind::RelationNotFound => BackendError::RelationNotFound(error.message),
            ErrorKind::SecretNotFound => BackendError::SecretNotFound(error.message),
            ErrorKind::PermissionDenied => BackendError::PermissionDenied(error.message),
            ErrorKind::NotLeader => BackendError::NotLeader(error.message),
            ErrorKind::NotInAction => BackendError::NotInAction,
            _ => BackendError::Tool {
                tool,
                code: error.exit_code,
                message: error.message,
            },
        }
    }
}

/// Result of a backend operation.
pub type Result<T, E = BackendError> = std::result::Result<T, E>;

/// One method per hook-tool operation a charm needs. Access rules are *not* checked here but in
/// [`crate::Model`], so that all implementations refuse the same things.
pub trait Backend {
    /// `relation-ids <endpoint>`: live relations on an endpoint (a relation whose
    /// `relation-broken` is running is excluded).
    fn relation_ids(&mut self, endpoint: &Endpoint) -> Result<Vec<RelationId>>;
    /// `relation-list -r`: remote units in scope (other own units for peers).
    fn relation_units(&mut self, relation: &RelationId) -> Result<Vec<UnitName>>;
    /// `relation-list --app -r`: the remote application.
    fn relation_remote_app(&mut self, relation: &RelationId) -> Result<Option<AppName>>;
    /// `relation-get - <owner>`: a whole bag, including this hook's pending writes to own bags.
    fn relation_get(&mut self, relation: &RelationId, owner: &BagOwner) -> Result<Databag>;
    /// `relation-get <key> <owner>`: one key's value (`None` when unset), including this hook's
    /// pending writes to own bags. Only that value is moved: a provider's bag can hold
    /// megabytes of certificates a caller asking for one small key does not need.
    fn relation_get_key(
        &mut self,
        relation: &RelationId,
        owner: &BagOwner,
        key: &str,
    ) -> Result<Option<String>> {
        Ok(self.relation_get(relation, owner)?.remove(key))
    }
    /// `relation-set`: change keys of the own unit bag (`app = false`) or own app bag; an empty
    /// value deletes. May be buffered until [`Backend::commit`].
    fn relation_set(&mut self, relation: &RelationId, app: bool, changes: &Databag) -> Result<()>;
    /// `config-get`: all options that are set or defaulted.
    fn config_get(&mut self) -> Result<serde_json::Map<String, serde_json::Value>>;
    /// `is-leader`.
    fn is_leader(&mut self) -> Result<bool>;
    /// `status-get`: the unit's (or, `app`, the application's) status.
    fn status_get(&mut self, app: bool) -> Result<Status>;
    /// `status-set`: immediate.
    fn status_set(&mut self, app: bool, status: &Status) -> Result<()>;
    /// `application-version-set`: immediate.
    fn application_version_set(&mut self, version: &str) -> Result<()>;
    /// `juju-log`: immediate.
    fn juju_log(&mut self, level: LogLevel, message: &str) -> Result<()>;
    /// `action-get`: all parameters.
    fn action_get(&mut self) -> Result<serde_json::Map<String, serde_json::Value>>;
    /// `action-set`: results with dotted keys.
    fn action_set(&mut self, results: &BTreeMap<String, String>) -> Result<()>;
    /// `action-log`: a progress message.
    fn action_log(&mut self, message: &str) -> Result<()>;
    /// `action-fail`: mark the action failed.
    fn action_fail(&mut self, message: &str) -> Result<()>;
    /// `secret-add`: returns the new id.
    fn secret_add(&mut self, secret: &NewSecret) -> Result<SecretId>;
    /// `secret-get`: content of the revision `read` selects.
    fn secret_get(&mut self, lookup: &SecretLookup, read: SecretRead) -> Result<SecretContent>;
    /// `secret-set`.
    fn secret_set(&mut self, id: &SecretId, update: &SecretUpdate) -> Result<()>;
    /// `secret-info-get` (owned secrets only).
    fn secret_info(&mut self, lookup: &SecretLookup) -> Result<SecretInfo>;
    /// `secret-ids`: the secrets this unit owns (or its app owns, if leader).
    fn secret_ids(&mut self) -> Result<Vec<SecretId>>;
    /// `secret-grant`: let the remote app (or one unit) of a relation read the secret.
    fn secret_grant(
        &mut self,
        id: &SecretId,
        relation: &RelationId,
        unit: Option<&UnitName>,
    ) -> Result<()>;
    /// `secret-revoke`.
    fn secret_revoke(
        &mut self,
        id: &SecretId,
        relation: &RelationId,
        unit: Option<&UnitName>,
    ) -> Result<()>;
    /// `secret-remove`: one revision, or the whole secret.
    fn secret_remove(&mut self, id: &SecretId, revision: Option<u32>) -> Result<()>;
    /// `open-port`.
    fn open_port(&mut self, port: PortSpec) -> Result<()>;
    /// `close-port`.
    fn close_port(&mut self, port: PortSpec) -> Result<()>;
    /// `opened-ports`: as committed before this hook.
    fn opened_ports(&mut self) -> Result<Vec<PortSpec>>;
    /// `network-get`.
    fn network_get(
        &mut self,
        binding: &str,
        relation: Option<&RelationId>,
    ) -> Result<hook_tools::output::NetworkInfo>;
    /// The current time as seconds since the Unix epoch: the wall clock for real hooks, the
    /// state's virtual clock in tests.
    fn now(&self) -> i64;
    /// Sends whatever was buffered; called once, when the charm's handlers all succeeded.
    fn commit(&mut self) -> Result<()>;
}
