//! The local Juju model of juju-tls: runs real charms — Rust ones and unmodified Python `ops`
//! charms — on one machine with Juju 3.6's semantics.
//!
//! # Overview
//!
//! * [`Registry`]: where models live (`$JUJU_TLS_DATA_DIR`, else the user's data dir) and which
//!   one is current.
//! * [`Model`]: one model. Verbs ([`Model::deploy`], [`Model::integrate`], [`Model::set_config`],
//!   [`Model::queue_action`], [`Model::advance`], …) record a change in the SQLite store and
//!   queue the hooks Juju would run for it, in Juju's order. [`Model::settle`] then runs them.
//! * The scheduler runs one hook at a time per unit, units in parallel (or strictly in queue
//!   order with [`SettleOptions::serial`]); the runner starts `dispatch` in the unit's own charm
//!   directory with a Juju-exact environment; the hook-tool server answers the `juju-tls` shims
//!   that charms run as `relation-get`, `secret-add`, …, buffering writes until the hook exits 0,
//!   when they are committed in one transaction (and discarded on failure).
//! * Time is virtual: libfaketime makes hooks and workloads read the model's clock file, which
//!   [`Model::advance`] rewrites; timers (secret expiry and rotation, update-status) fire when
//!   the clock passes them.
//!
//! No daemon is needed: the process that changes the model can run its hooks, serving the tools
//! on a socket meanwhile (the `juju-tls` verbs do), or leave them to one background settling
//! process per model (the `juju` front end does; [`LockKind::Settler`] keeps it unique, and a
//! [`Model::realtime`] model's settler fires timers on the real clock, see
//! [`Model::next_timer_due`]). Locks outside the model directory keep processes apart: a short
//! change lock for recording a change, a settle lock for running hooks ([`LockKind`]). A
//! settle first ends and reruns, from scratch, the hooks a dead process left running; each
//! model leases a loopback block machine-wide for its units' addresses (see the crate's
//! README for both).
//!
//! ```no_run
//! use std::sync::Arc;
//! use model::{Registry, SettleOptions};
//!
//! let registry = Registry::from_env()?;
//! let model = Arc::new(registry.add("dev")?);
//! let _lock = model.lock()?;
//! model.deploy("charms/ca".as_ref(), None, 1, &[])?;
//! model.deploy("charms/web".as_ref(), None, 3, &[])?;
//! model.integrate("web", "ca")?;
//! let report = model.settle(&SettleOptions::default())?;
//! assert!(report.errors.is_empty());
//! # Ok::<(), model::Error>(())
//! ```
#![deny(missing_docs)]

mod addresses;
mod after_commit;
mod archive;
mod bag_cache;
mod charm;
mod clock;
mod commit;
mod context;
mod crossmodel;
mod error;
mod failpoints;
pub mod hook_tool_server;
mod lifecycle;
mod locks;
mod model;
mod model_config;
mod names;
mod private_file;
mod registry;
mod runner;
mod rust_charm;
mod scheduler;
mod secret_id;
mod secrets;
mod store;
mod timers;
mod tools;
mod user_secrets;
mod verbs;
mod views;
mod workloads;

pub use addresses::LEASE_DIR_ENV;
pub use archive::{MAX_ENTRIES, MAX_RATIO, MAX_UNPACKED_BYTES, RATIO_FLOOR};
pub use charm::{ActionSpec, CharmMeta, ConfigOption, Endpoint, Role};
pub use clock::{faketime_library, parse_duration, parse_expiry};
pub use crossmodel::{
    Offer, OfferConnection, OfferUrl, OfferView, RemoteApp, RemoteKind, role_name,
};
pub use error::{CharmError, Error, Result, UsageError};
pub use failpoints::FAILPOINT_ENV;
pub use locks::{LockKind, LockWait, ModelLock};
pub use model::Model;
pub use registry::{DATA_DIR_ENV, Registry};
pub use runner::{JUJU_VERSION, TOOL_BINARY_ENV, TOOL_NAMES, TRUST_STORE_ENV, tool_binary};
pub use scheduler::{HookRecord, SettleOptions, SettleReport};
pub use store::{AgentState, App, Hook, Relation, Unit, WorkloadStatus};
pub use tools::Reply;
pub use user_secrets::{
    SecretAccess, SecretDetails, SecretRevisionDetails, SecretUpdate, ShowSecret,
};
pub use verbs::ConfigEntry;
pub use views::{
    ActionRun, AppStatus, HookLogEntry, LogLine, SecretSummary, Status, UnitRelation, UnitStatus,
    UnitView,
};
