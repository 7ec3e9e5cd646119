//! The model: what a charm handler reads and changes, over a [`Backend`].
//!
//! This layer holds what must be the same whatever the backend: Juju's access rules (only the
//! leader writes its app bag, nobody writes a remote bag, leader-only statuses and app secrets;
//! `juju-hook-environment.md` §7.1, §8.2, §9), per-hook caches (leadership is sticky-false within a
//! hook, config is read once, bags and relation members once), the charm state and the
//! custom/deferred event queue.
//! Refusals carry Juju's own error text, so a charm sees the same error from the test harness as
//! from a real controller.

mod relation;
mod secret;

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use hook_tools::error::msg;
use hook_tools::values::PortSpec;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use self::relation::Relation;
use crate::backend::{Backend, BackendError, BagOwner, Databag, LogLevel, Status};
use crate::charm_state::CharmState;
use crate::context::Context;
use crate::error::Error;
use crate::event::{CustomEvent, Event};
use crate::metadata::CharmMeta;
use crate::names::{AppName, RelationId, UnitName};

/// The charm's view of its model during one dispatch.
pub struct Model<'a> {
    ctx: &'a Context,
    meta: &'a CharmMeta,
    backend: &'a mut dyn Backend,
    state: &'a mut CharmState,
    /// `Some(false)` is sticky for the rest of the hook (§6.2); `Some(true)` is trusted for the
    /// dispatch, as ops trusts it for its 30-second lease.
    leader: Option<bool>,
    config: Option<serde_json::Map<String, serde_json::Value>>,
    bags: HashMap<(RelationId, BagOwner), Arc<Databag>>,
    relations: HashMap<RelationId, Relation>,
    current: Option<Event>,
    defer_requested: bool,
    emitted: Vec<CustomEvent>,
}

impl std::fmt::Debug for Model<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("unit", &self.ctx.unit)
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

impl<'a> Model<'a> {
    /// A model over `backend` for the dispatch described by `ctx`.
    pub fn new(
        ctx: &'a Context,
        meta: &'a CharmMeta,
        backend: &'a mut dyn Backend,
        state: &'a mut CharmState,
    ) -> Self {
        Model {
            ctx,
            meta,
            backend,
            state,
            leader: None,
            config: None,
            bags: HashMap::new(),
            relations: HashMap::new(),
            current: None,
            defer_requested: false,
            emitted: Vec::new(),
        }
    }

    // ----- identity -----

    /// The dispatch context (environment).
    pub fn context(&self) -> &Context {
        self.ctx
    }

    /// The charm's metadata.
    pub fn meta(&self) -> &CharmMeta {
        self.meta
    }

    /// This unit.
    pub fn unit(&self) -> &UnitName {
        &self.ctx.unit
    }

    /// This unit's application.
    pub fn app(&self) -> &AppName {
        self.ctx.app()
    }

    /// The current time, seconds since the Unix epoch: the wall clock in a real hook, the virtual
    /// clock under the test harness. Interfaces that schedule renewals take time from here.
    pub fn now(&self) -> i64 {
        self.backend.now()
    }

    // ----- leadership and config -----

    /// Whether this unit is the leader.
    pub fn is_leader(&mut self) -> Result<bool, Error> {
        if let Some(l) = self.leader {
            return Ok(l);
        }
        let l = self.backend.is_leader()?;
        self.leader = Some(l);
        Ok(l)
    }

    /// The config as `T`, typically a struct mirroring the options in `charmcraft.yaml`
    /// (`#[serde(rename_all = "kebab-case")]` for kebab-case options).
    pub fn config<T: DeserializeOwned>(&mut self) -> Result<T, Error> {
        let map = self.config_map()?.clone();
        serde_json::from_value(serde_json::Value::Object(map)).map_err(Error::Config)
    }

    /// The raw config map, read once per dispatch.
    pub fn config_map(&mut self) -> Result<&serde_json::Map<String, serde_json::Value>, Error> {
        if self.config.is_none() {
            self.config = Some(self.backend.config_get()?);
        }
        Ok(self.config.get_or_insert_default())
    }

    // ----- status, version, logging -----

    /// Sets this unit's workload status (immediate).
    pub fn set_unit_status(&mut self, status: Status) -> Result<(), Error> {
        Ok(self.backend.status_set(false, &status)?)
    }

    /// Sets the application's status (immediate). Leader only.
    pub fn set_app_status(&mut self, status: Status) -> Result<(), Error> {
        if !self.is_leader()? {
            return Err(BackendError::NotLeader(msg::NOT_LEADER.into()).into());
        }
        Ok(self.backend.status_set(true, &status)?)
    }

    /// This unit's current status.
    pub fn unit_status(&mut self) -> Result<Status, Error> {
        Ok(self.backend.status_get(false)?)
    }

    /// The application's current status. Leader only.
    pub fn app_status(&mut self) -> Result<Status, Error> {
        if !self.is_leader()? {
            return Err(BackendError::NotLeader(msg::APP_STATUS_NOT_LEADER.into()).into());
        }
        Ok(self.backend.status_get(true)?)
    }

    /// Sets the workload version shown by `juju status` (immediate).
    pub fn set_workload_version(&mut self, version: &str) -> Result<(), Error> {
        Ok(self.backend.application_version_set(version)?)
    }

    /// Writes to the unit's log through `juju-log` (immediate; survives a failed hook).
    pub fn log(&mut self, level: LogLevel, message: &str) -> Result<(), Error> {
        Ok(self.backend.juju_log(level, message)?)
    }

    // ----- ports and network -----

    /// Opens a port (at commit).
    pub fn open_port(&mut self, port: PortSpec) -> Result<(), Error> {
        Ok(self.backend.open_port(port)?)
    }

    /// Closes a port (at commit).
    pub fn close_port(&mut self, port: PortSpec) -> Result<(), Error> {
        Ok(self.backend.close_port(port)?)
    }

    /// Ports opened as of the start of this hook.
    pub fn opened_ports(&mut self) -> Result<Vec<PortSpec>, Error> {
        Ok(self.backend.opened_ports()?)
    }

    /// The address this unit binds to for `binding` (an endpoint or extra binding), optionally as
    /// seen on one relation: the first bind address `network-get` reports, if any.
    pub fn binding_address(
        &mut self,
        binding: &str,
        relation: Option<&RelationId>,
    ) -> Result<Option<IpAddr>, Error> {
        let info = self.backend.network_get(binding, relation)?;
        Ok(info
            .bind_addresses
            .iter()
            .flat_map(|b| &b.addresses)
            .find_map(|a| a.value.parse().ok()))
    }

    /// The full `network-get` answer.
    pub fn network(
        &mut self,
        binding: &str,
        relation: Option<&RelationId>,
    ) -> Result<hook_tools::output::NetworkInfo, Error> {
        Ok(self.backend.network_get(binding, relation)?)
    }

    // ----- actions -----

    fn require_action(&self) -> Result<(), Error> {
        if self.ctx.action.is_none() && !matches!(self.current, Some(Event::Action(_))) {
            return Err(BackendError::NotInAction.into());
        }
        Ok(())
    }

    /// The running action's parameters as `T`.
    pub fn action_params<T: DeserializeOwned>(&mut self) -> Result<T, Error> {
        self.require_action()?;
        let map = self.backend.action_get()?;
        serde_json::from_value(serde_json::Value::Object(map)).map_err(Error::ActionParams)
    }

    /// Records action results. Keys are dotted paths of segments matching
    /// `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`, none of them `stdout`, `stderr` or their `-encoding`
    /// (§6.4; Juju's rule, [`hook_tools::check_action_key`]). Values of any size up to the argv
    /// limit (128 KiB each).
    pub fn set_action_results(&mut self, results: &BTreeMap<String, String>) -> Result<(), Error> {
        self.require_action()?;
        for key in results.keys() {
            if let Err(e) = hook_tools::check_action_key(key) {
                return Err(BackendError::ApiMisuse(format!(
                    "invalid action result key {key:?}: {e}"
                ))
                .into());
            }
        }
        Ok(self.backend.action_set(results)?)
    }

    /// Reports progress of the running action.
    pub fn action_log(&mut self, message: &str) -> Result<(), Error> {
        self.require_action()?;
        Ok(self.backend.action_log(message)?)
    }

    /// Marks the running action failed; the hook may still exit 0 and commit.
    pub fn action_fail(&mut self, message: &str) -> Result<(), Error> {
        self.require_action()?;
        Ok(self.backend.action_fail(message)?)
    }

    // ----- charm state -----

    /// A value the charm stored in an earlier (or this) hook.
    pub fn stored<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        self.state
            .values
            .get(key)
            .map(|v| {
                T::deserialize(v).map_err(|source| Error::StateValue {
                    key: key.to_owned(),
                    source,
                })
            })
            .transpose()
    }

    /// Stores a value; kept only if the hook succeeds.
    pub fn store<T: Serialize>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        let v = serde_json::to_value(value).map_err(|source| Error::StateValue {
            key: key.to_owned(),
            source,
        })?;
        self.state.values.insert(key.to_owned(), v);
        Ok(())
    }

    /// Forgets a stored value.
    pub fn unstore(&mut self, key: &str) {
        self.state.values.remove(key);
    }

    // ----- events -----

    /// Emits a custom event; it is handled after the current handler returns, in this dispatch.
    pub fn emit(&mut self, event: CustomEvent) {
        self.emitted.push(event);
    }

    /// Defers the current event: it is re-delivered at the start of every later dispatch until
    /// a handler run completes without deferring it (see [`crate::event`] for when to prefer
    /// reconciling instead). Actions cannot be deferred.
    pub fn defer(&mut self) -> Result<(), Error> {
        match &self.current {
            Some(Event::Action(_)) => Err(Error::ApiMisuse("actions cannot be deferred")),
            Some(_) => {
                self.defer_requested = true;
                Ok(())
            }
            None => Err(Error::ApiMisuse("defer called outside a handler")),
        }
    }

    pub(crate) fn begin(&mut self, event: &Event) {
        self.current = Some(event.clone());
        self.defer_requested = false;
    }

    pub(crate) fn finish(&mut self) -> (bool, Vec<CustomEvent>) {
        self.current = None;
        (
            std::mem::take(&mut self.defer_requested),
            std::mem::take(&mut self.emitted),
        )
    }

    pub(crate) fn charm_state(&mut self) -> &mut CharmState {
        self.state
    }

    pub(crate) fn commit(&mut self) -> Result<(), Error> {
        Ok(self.backend.commit()?)
    }
}
