//! The in-memory test harness, in the spirit of `ops.testing` (Scenario): build a [`State`], run
//! one event through a charm with [`Context::run`], inspect the output [`State`].
//!
//! The same model layer as in production enforces Juju's rules, and the [`crate::Memory`] backend
//! refuses what Juju refuses with Juju's error text (reading a secret not granted, managing an
//! app secret as a non-leader, …). A failing hook returns [`RunError::Hook`] with the state as
//! Juju would leave it: only the immediate effects (status, logs, workload version, action
//! output) kept, everything else discarded.
//!
//! ```
//! use juju_charm::testing::{Context, State};
//! use juju_charm::{Charm, Event, HandlerError, Model, Status};
//!
//! struct Hello;
//! impl Charm for Hello {
//!     fn handle(&mut self, _: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
//!         model.set_unit_status(Status::active("hello"))?;
//!         Ok(())
//!     }
//! }
//!
//! let ctx = Context::from_charmcraft_yaml("name: hello\n", || Hello).unwrap();
//! let out = ctx.run(Event::Start, State::new("hello/0".parse().unwrap())).unwrap();
//! assert_eq!(out.unit_status, Status::active("hello"));
//! ```

mod state;

pub use self::state::{ActionRecord, Relation, Secret, SecretOwnerEntity, State};
use crate::backend::Memory;
use crate::charm_state::CharmState;
use crate::context::{
    ActionContext, Context as DispatchContext, Dispatch, JujuVersion, RelationContext,
    SecretContext, StorageContext,
};
use crate::dispatch::{Charm, run_dispatch};
use crate::error::Error;
use crate::event::Event;
use crate::metadata::{CharmMeta, MetadataError};

/// Why a run did not produce an output state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The state and event could not happen in Juju (an event on an undeclared endpoint, a
    /// relation event for a relation not in the state, …): a mistake in the test.
    #[error("inconsistent test input: {0}")]
    Inconsistent(String),
    /// The hook failed; `state` is what Juju would keep.
    #[error("hook failed: {error}")]
    Hook {
        /// The failure.
        error: Error,
        /// The input state plus the immediate effects.
        state: Box<State>,
    },
}

impl RunError {
    /// The SDK error of a failed hook.
    pub fn hook_error(&self) -> Option<&Error> {
        match self {
            RunError::Hook { error, .. } => Some(error),
            RunError::Inconsistent(_) => None,
        }
    }
}

/// Runs events through fresh instances of a charm.
pub struct Context<C> {
    meta: CharmMeta,
    factory: Box<dyn Fn() -> C>,
}

impl<C: Charm> Context<C> {
    /// A harness for a charm with this metadata; `factory` builds a fresh charm for each run, as
    /// each hook is a fresh process.
    pub fn new(meta: CharmMeta, factory: impl Fn() -> C + 'static) -> Self {
        Context {
            meta,
            factory: Box::new(factory),
        }
    }

    /// A harness from the text of a `charmcraft.yaml`.
    pub fn from_charmcraft_yaml(
        yaml: &str,
        factory: impl Fn() -> C + 'static,
    ) -> Result<Self, MetadataError> {
        Ok(Context::new(
            CharmMeta::from_charmcraft_yaml(yaml)?,
            factory,
        ))
    }

    /// The metadata.
    pub fn meta(&self) -> &CharmMeta {
        &self.meta
    }

    /// Runs one event (after any deferred ones in `state`) and returns the state after commit.
    pub fn run(&self, event: Event, state: State) -> Result<State, RunError> {
        self.check(&event, &state)?;
        let ctx = self.dispatch_context(&event, &state)?;
        // The hook cannot change remote bags: move them into the working copy rather than copy
        // them (a provider's bag can hold megabytes), and back if the hook fails.
        let mut state = state;
        let remote: Vec<_> = state
            .relations
            .iter_mut()
            .map(|r| {
                (
                    std::mem::take(&mut r.remote_app_data),
                    std::mem::take(&mut r.remote_units),
                )
            })
            .collect();
        let mut working = state.clone();
        for (r, (app, units)) in working.relations.iter_mut().zip(remote) {
            r.remote_app_data = app;
            r.remote_units = units;
        }
        for (k, v) in self.meta.config_defaults() {
            working.config.entry(k).or_insert(v);
        }
        if let Event::Action(a) = &event {
            // Juju fills declared parameter defaults into `action-get` (§6.4).
            for (name, schema) in self
                .meta
                .actions
                .get(&a.name)
                .map(|m| &m.params)
                .into_iter()
                .flatten()
            {
                if let Some(default) = schema.get("default") {
                    working
                        .action
                        .params
                        .entry(name.clone())
                        .or_insert_with(|| default.clone());
                }
            }
        }
        let mut charm_state = CharmState {
            values: std::mem::take(&mut working.stored),
            deferred: std::mem::take(&mut working.deferred),
        };
        let broken = match &event {
            Event::RelationBroken(r) => Some(r.relation.id()),
            _ => None,
        };
        let in_action = matches!(event, Event::Action(_));
        let mut charm = (self.factory)();
        let result = {
            let mut backend = Memory::new(&mut working, &self.meta)
                .with_broken_relation(broken)
                .with_action(in_action);
            let mut model = crate::Model::new(&ctx, &self.meta, &mut backend, &mut charm_state);
            run_dispatch(&mut charm, &mut model, event)
        };
        match result {
            Ok(()) => {
                working.stored = charm_state.values;
                working.deferred = charm_state.deferred;
                Ok(working)
            }
            Err(error) => {
                let mut kept = state;
                for (k, w) in kept.relations.iter_mut().zip(&mut working.relations) {
                    k.remote_app_data = std::mem::take(&mut w.remote_app_data);
                    k.remote_units = std::mem::take(&mut w.remote_units);
                }
                kept.unit_status = working.unit_status;
                kept.app_status = working.app_status;
                kept.logs = working.logs;
                kept.workload_version = working.workload_version;
                kept.action = working.action;
                Err(RunError::Hook {
                    error,
                    state: Box::new(kept),
                })
            }
        }
    }

    /// Rejects input Juju could never produce (Scenario's consistency checker).
    fn check(&self, event: &Event, state: &State) -> Result<(), RunError> {
        let bad = |m: String| Err(RunError::Inconsistent(m));
        if state.app().as_str() != self.meta.name && !self.meta.name.is_empty() {
            return bad(format!(
                "unit {} is not of charm {:?}",
                state.unit, self.meta.name
            ));
        }
        for r in &state.relations {
            if self.meta.role(r.endpoint.as_str()).is_none() {
                return bad(format!(
                    "relation {} is on undeclared endpoint {:?}",
                    r.id,
                    r.endpoint.as_str()
                ));
            }
        }
        if let Some(r) = event.relation() {
            match state.relation(r.relation.id()) {
                Some(rel) if rel.endpoint == *r.relation.endpoint() => {}
                _ => {
                    return bad(format!(
                        "event on relation {} which is not in the state",
                        r.relation
                    ));
                }
            }
        }
        if let Some(s) = event.secret() {
            if !state.secrets.iter().any(|x| x.xid == s.id.xid()) {
                return bad(format!(
                    "event on secret {} which is not in the state",
                    s.id
                ));
            }
        }
        if let Event::Action(a) = event {
            if !self.meta.actions.contains_key(&a.name) {
                return bad(format!("action {:?} is not declared", a.name));
            }
        }
        Ok(())
    }

    fn dispatch_context(&self, event: &Event, state: &State) -> Result<DispatchContext, RunError> {
        let hook = |name: String| Dispatch::Hook(name);
        let (dispatch, action) = match event {
            Event::Action(a) => (
                Dispatch::Action(a.name.clone()),
                Some(ActionContext {
                    name: a.name.clone(),
                    id: a.id.clone(),
                }),
            ),
            Event::Custom(c) => (hook(c.name.clone()), None),
            Event::Other { hook: h } => (hook(h.clone()), None),
            other => (hook(hook_name(other)), None),
        };
        Ok(DispatchContext {
            dispatch,
            unit: state.unit.clone(),
            model_name: "test".to_owned(),
            model_uuid: state.model_uuid.clone(),
            juju_version: JujuVersion::new(3, 6, 8),
            charm_dir: std::path::PathBuf::from("/nonexistent/charm"),
            relation: event.relation().map(|r| RelationContext {
                id: r.relation.clone(),
                remote_app: r.remote_app.clone(),
                remote_unit: r.remote_unit.clone(),
                departing_unit: r.departing_unit.clone(),
            }),
            secret: event.secret().map(|s| SecretContext {
                id: s.id.clone(),
                label: s.label.clone(),
                revision: s.revision,
            }),
            action,
            storage: match event {
                Event::StorageAttached(s) | Event::StorageDetaching(s) => Some(StorageContext {
                    id: s.id.clone(),
                    location: s.location.as_ref().map(Into::into),
                    kind: None,
                }),
                _ => None,
            },
            workload: match event {
                Event::PebbleReady { workload } => Some(workload.clone()),
                _ => None,
            },
            machine_id: Some("0".to_owned()),
            availability_zone: None,
        })
    }
}

/// The hook name Juju would dispatch for an event.
fn hook_name(event: &Event) -> String {
    let storage_name = |id: &str| id.split('/').next().unwrap_or(id).to_owned();
    match event {
        Event::Install => "install".into(),
        Event::Start => "start".into(),
        Event::Stop => "stop".into(),
        Event::Remove => "remove".into(),
        Event::UpgradeCharm => "upgrade-charm".into(),
        Event::ConfigChanged => "config-changed".into(),
        Event::UpdateStatus => "update-status".into(),
        Event::LeaderElected => "leader-elected".into(),
        Event::LeaderSettingsChanged => "leader-settings-changed".into(),
        Event::PreSeriesUpgrade => "pre-series-upgrade".into(),
        Event::PostSeriesUpgrade => "post-series-upgrade".into(),
        Event::RelationCreated(r) => format!("{}-relation-created", r.relation.endpoint()),
        Event::RelationJoined(r) => format!("{}-relation-joined", r.relation.endpoint()),
        Event::RelationChanged(r) => format!("{}-relation-changed", r.relation.endpoint()),
        Event::RelationDeparted(r) => format!("{}-relation-departed", r.relation.endpoint()),
        Event::RelationBroken(r) => format!("{}-relation-broken", r.relation.endpoint()),
        Event::SecretChanged(_) => "secret-changed".into(),
        Event::SecretExpired(_) => "secret-expired".into(),
        Event::SecretRotate(_) => "secret-rotate".into(),
        Event::SecretRemove(_) => "secret-remove".into(),
        Event::StorageAttached(s) => format!("{}-storage-attached", storage_name(&s.id)),
        Event::StorageDetaching(s) => format!("{}-storage-detaching", storage_name(&s.id)),
        Event::PebbleReady { workload } => format!("{workload}-pebble-ready"),
        Event::Action(a) => a.name.clone(),
        Event::Custom(c) => c.name.clone(),
        Event::Other { hook } => hook.clone(),
    }
}
