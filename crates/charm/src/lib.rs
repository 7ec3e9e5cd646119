//! A Rust charm SDK in the spirit of Python `ops`. It knows nothing of TLS.
//!
//! # Overview
//!
//! * [`Context`]: the dispatch environment (`JUJU_*`), parsed once into typed values
//!   ([`UnitName`], [`AppName`], [`RelationId`], [`SecretId`], [`Endpoint`]).
//! * [`Event`]: the typed event of the dispatch (every hook kind, actions, and [`CustomEvent`]s
//!   that libraries emit). [`event`] explains how to retry work: reconcile on every hook, or
//!   [`Model::defer`].
//! * [`Charm`]: the trait a charm implements — one `handle(event, model)`.
//! * [`Model`]: config, relations and databags with Juju's access rules, leadership, secrets,
//!   status, actions, ports, network, logging and charm state, over a [`Backend`].
//! * [`Backend`]: one method per hook-tool operation, with [`HookTools`] (real tools, values
//!   through stdin and files, writes batched per bag) and [`Memory`] (the test harness).
//! * [`testing`]: `State` in, event, `State` out, like `ops.testing`.
//! * [`CharmMeta`]: `charmcraft.yaml` or `metadata.yaml` + `config.yaml` + `actions.yaml`.
//! * [`main`]: the entry point of a charm binary; the `dispatch` script only has to exec it.
//!
//! The hook-tool grammar itself lives in the `hook-tools` crate, shared with the local model.
//!
//! # Example
//!
//! ```
//! use juju_charm::testing::{Context, Relation, State};
//! use juju_charm::{Charm, Event, HandlerError, Model, Status};
//!
//! /// Publishes its unit name to every related unit; active once related.
//! struct Greeter;
//!
//! impl Charm for Greeter {
//!     fn handle(&mut self, _event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
//!         let relations = model.relations(&"greeting".parse()?)?;
//!         if relations.is_empty() {
//!             model.set_unit_status(Status::blocked("needs a greeting relation"))?;
//!             return Ok(());
//!         }
//!         let me = model.own_unit_bag();
//!         let name = model.unit().to_string();
//!         for r in &relations {
//!             model.set_relation_data(&r.id, &me, "hello", &name)?;
//!         }
//!         model.set_unit_status(Status::active(""))?;
//!         Ok(())
//!     }
//! }
//!
//! let meta = "name: greeter\nprovides:\n  greeting: {interface: greeting}\n";
//! let ctx = Context::from_charmcraft_yaml(meta, || Greeter).unwrap();
//! let rel = Relation::new("greeting".parse().unwrap(), 3, "friend".parse().unwrap());
//! let state = State::new("greeter/0".parse().unwrap()).with_relation(rel);
//! let out = ctx.run(Event::UpdateStatus, state).unwrap();
//! assert_eq!(out.relation(3).unwrap().local_unit_data["hello"], "greeter/0");
//! assert_eq!(out.unit_status, Status::active(""));
//! ```
#![deny(missing_docs)]

pub mod backend;
pub mod charm_state;
pub mod context;
mod dispatch;
pub mod error;
pub mod event;
pub mod metadata;
mod model;
pub mod names;
pub mod testing;

pub use backend::{
    Backend, BackendError, BagOwner, Databag, HookTools, LogLevel, Memory, NewSecret,
    SecretContent, SecretInfo, SecretLookup, SecretRead, SecretUpdate, Status, StatusKind,
};
pub use context::Context;
pub use dispatch::{Charm, main, run_dispatch};
pub use error::{Error, HandlerError};
pub use event::{CustomEvent, Event};
/// Durations as Juju users write them; charm options use the charm-config dialect
/// (`duration::parse_config`: `90d`, a bare number is days).
pub use hook_tools::duration;
pub use hook_tools::values::{PortSpec, Protocol, RotatePolicy, SecretOwner};
pub use hook_tools::{HookKind, RelationHook};
pub use metadata::CharmMeta;
pub use model::{Model, Relation};
pub use names::{AppName, Endpoint, RelationId, SecretId, UnitName};

/// The README's examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
