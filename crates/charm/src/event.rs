//! Typed events: one variant per kind of hook Juju runs, plus actions and custom events.
//!
//! Events are plain data (`Clone`, serde) so that they can be stored for [deferral] and built by
//! tests. The hook name comes from `JUJU_DISPATCH_PATH`; relation, secret, storage and workload
//! hooks are recognised by suffix (`<endpoint>-relation-changed`, `<name>-storage-attached`,
//! `<container>-pebble-ready`), with the details taken from the other `JUJU_*` variables.
//!
//! # Custom events
//!
//! Libraries (the TLS interface) add their own events with [`CustomEvent`]: a name and a JSON
//! payload. A handler emits one with [`crate::Model::emit`]; the dispatcher delivers it to the
//! charm after the current handler returns, in the same hook, before committing.
//!
//! # Retrying work that cannot be done yet
//!
//! Recommended: **reconcile on every hook**. Handlers compute the desired state from what the
//! model shows now (relation data, secrets, config) and converge towards it; work that cannot be
//! done yet is simply done by a later hook, and `update-status` (every 5 minutes by default)
//! guarantees there is one. This has no hidden queue and survives failed hooks.
//!
//! Available when an event's own data matters: ops-like **defer**. [`crate::Model::defer`] stores
//! the current event in the charm state file; it is re-delivered at the start of every later
//! dispatch until a handler run completes without deferring again (`juju-hook-environment.md`
//! §10.5). Deferred events are committed with the rest of the charm state, so a failed hook
//! neither loses nor duplicates them. Actions cannot be deferred.
//!
//! [deferral]: crate::Model::defer

use hook_tools::{HookKind, RelationHook, SecretHook, StorageHook};
use serde::{Deserialize, Serialize};

use crate::context::{Context, ContextError, Dispatch};
use crate::names::{AppName, Endpoint, RelationId, SecretId, UnitName};

/// The relation details of a relation event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationEvent {
    /// The relation.
    pub relation: RelationId,
    /// The remote application.
    pub remote_app: Option<AppName>,
    /// The remote unit; `None` for created, broken and application-level changed.
    pub remote_unit: Option<UnitName>,
    /// The unit leaving, in `relation-departed` (the local unit when it is the one going away).
    pub departing_unit: Option<UnitName>,
}

/// The secret details of a secret event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretEvent {
    /// The secret.
    pub id: SecretId,
    /// Owner label (owner events) or consumer label (`secret-changed`).
    pub label: Option<String>,
    /// The revision concerned: new latest for changed, expiring/removable one for
    /// expired/remove; `None` for rotate.
    pub revision: Option<u32>,
}

/// The storage details of a storage event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageEvent {
    /// `<name>/<n>`.
    pub id: String,
    /// Mount point or device path, when Juju gives it.
    pub location: Option<String>,
}

/// An action invocation. Parameters are read with [`crate::Model::action_params`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionEvent {
    /// Name from `actions.yaml`.
    pub name: String,
    /// Juju's id for this run.
    pub id: String,
}

/// An event defined by a library or charm, e.g. `certificate-available`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomEvent {
    /// Kebab-case name, unique within the charm.
    pub name: String,
    /// Event data.
    pub payload: serde_json::Value,
}

impl CustomEvent {
    /// Builds an event with a serialisable payload.
    pub fn new<T: Serialize>(
        name: impl Into<String>,
        payload: &T,
    ) -> Result<Self, serde_json::Error> {
        Ok(CustomEvent {
            name: name.into(),
            payload: serde_json::to_value(payload)?,
        })
    }

    /// Reads the payload back as `T`.
    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.payload)
    }
}

/// One event delivered to a charm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Event {
    /// `install`: first hook of a unit.
    Install,
    /// `start`: after the first `config-changed`.
    Start,
    /// `stop`: before removal.
    Stop,
    /// `remove`: last hook of a unit.
    Remove,
    /// `upgrade-charm`: the charm was refreshed.
    UpgradeCharm,
    /// `config-changed`.
    ConfigChanged,
    /// `update-status`: periodic (5 min by default); a natural reconcile tick.
    UpdateStatus,
    /// `leader-elected`: this unit is now leader.
    LeaderElected,
    /// `leader-settings-changed`: sent to non-leaders.
    LeaderSettingsChanged,
    /// `<endpoint>-relation-created`.
    RelationCreated(RelationEvent),
    /// `<endpoint>-relation-joined`.
    RelationJoined(RelationEvent),
    /// `<endpoint>-relation-changed`.
    RelationChanged(RelationEvent),
    /// `<endpoint>-relation-departed`.
    RelationDeparted(RelationEvent),
    /// `<endpoint>-relation-broken`.
    RelationBroken(RelationEvent),
    /// `secret-changed`: a consumed secret has a new revision.
    SecretChanged(SecretEvent),
    /// `secret-expired`: an owned revision expired; repeats until it is removed.
    SecretExpired(SecretEvent),
    /// `secret-rotate`: an owned secret is due for rotation.
    SecretRotate(SecretEvent),
    /// `secret-remove`: an owned revision is no longer tracked by anyone.
    SecretRemove(SecretEvent),
    /// `<name>-storage-attached`.
    StorageAttached(StorageEvent),
    /// `<name>-storage-detaching`.
    StorageDetaching(StorageEvent),
    /// `<container>-pebble-ready` (Kubernetes).
    PebbleReady {
        /// The container.
        workload: String,
    },
    /// `pre-series-upgrade`.
    PreSeriesUpgrade,
    /// `post-series-upgrade`.
    PostSeriesUpgrade,
    /// `<name>-action`.
    Action(ActionEvent),
    /// A library- or charm-defined event.
    Custom(CustomEvent),
    /// A hook this SDK does not model (e.g. a new Juju hook, or `juju-exec` of a custom name);
    /// charms normally ignore it.
    Other {
        /// The hook name.
        hook: String,
    },
}

impl Event {
    /// The event of a dispatch context.
    pub fn from_context(ctx: &Context) -> Result<Event, ContextError> {
        let hook = match &ctx.dispatch {
            Dispatch::Action(_) => {
                let a = ctx
                    .action
                    .as_ref()
                    .ok_or(ContextError::Missing("JUJU_ACTION_NAME"))?;
                return Ok(Event::Action(ActionEvent {
                    name: a.name.clone(),
                    id: a.id.clone(),
                }));
            }
            Dispatch::Hook(h) => h.as_str(),
        };
        Ok(match HookKind::parse(hook) {
            HookKind::Install => Event::Install,
            HookKind::Start => Event::Start,
            HookKind::Stop => Event::Stop,
            HookKind::Remove => Event::Remove,
            HookKind::UpgradeCharm => Event::UpgradeCharm,
            HookKind::ConfigChanged => Event::ConfigChanged,
            HookKind::UpdateStatus => Event::UpdateStatus,
            HookKind::LeaderElected => Event::LeaderElected,
            HookKind::LeaderSettingsChanged => Event::LeaderSettingsChanged,
            HookKind::PreSeriesUpgrade => Event::PreSeriesUpgrade,
            HookKind::PostSeriesUpgrade => Event::PostSeriesUpgrade,
            HookKind::Secret(kind) => {
                let s = ctx
                    .secret
                    .as_ref()
                    .ok_or(ContextError::Missing("JUJU_SECRET_ID"))?;
                let ev = SecretEvent {
                    id: s.id.clone(),
                    label: s.label.clone(),
                    revision: s.revision,
                };
                match kind {
                    SecretHook::Changed => Event::SecretChanged(ev),
                    SecretHook::Expired => Event::SecretExpired(ev),
                    SecretHook::Rotate => Event::SecretRotate(ev),
                    SecretHook::Remove => Event::SecretRemove(ev),
                }
            }
            HookKind::Relation { endpoint, kind } => {
                let r = ctx
                    .relation
                    .as_ref()
                    .ok_or(ContextError::Missing("JUJU_RELATION_ID"))?;
                if r.id.endpoint().as_str() != endpoint {
                    return Err(ContextError::DispatchPath(format!(
                        "hooks/{hook} does not match JUJU_RELATION_ID {}",
                        r.id
                    )));
                }
                let ev = RelationEvent {
                    relation: r.id.clone(),
                    remote_app: r.remote_app.clone(),
                    remote_unit: r.remote_unit.clone(),
                    departing_unit: r.departing_unit.clone(),
                };
                match kind {
                    RelationHook::Created => Event::RelationCreated(ev),
                    RelationHook::Joined => Event::RelationJoined(ev),
                    RelationHook::Changed => Event::RelationChanged(ev),
                    RelationHook::Departed => Event::RelationDeparted(ev),
                    RelationHook::Broken => Event::RelationBroken(ev),
                }
            }
            HookKind::Storage { kind, .. } => {
                let s = ctx
                    .storage
                    .as_ref()
                    .ok_or(ContextError::Missing("JUJU_STORAGE_ID"))?;
                let ev = StorageEvent {
                    id: s.id.clone(),
                    location: s.location.as_ref().map(|p| p.display().to_string()),
                };
                match kind {
                    StorageHook::Attached => Event::StorageAttached(ev),
                    StorageHook::Detaching => Event::StorageDetaching(ev),
                }
            }
            HookKind::PebbleReady { container } => Event::PebbleReady {
                workload: container,
            },
            // A hook is dispatched as `hooks/<name>`; `actions/...` here is not an action.
            HookKind::Action { .. } | HookKind::Other(_) => Event::Other {
                hook: hook.to_owned(),
            },
        })
    }

    /// The relation of a relation event.
    pub fn relation(&self) -> Option<&RelationEvent> {
        match self {
            Event::RelationCreated(r)
            | Event::RelationJoined(r)
            | Event::RelationChanged(r)
            | Event::RelationDeparted(r)
            | Event::RelationBroken(r) => Some(r),
            _ => None,
        }
    }

    /// The endpoint of a relation event.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        self.relation().map(|r| r.relation.endpoint())
    }

    /// The secret of a secret event.
    pub fn secret(&self) -> Option<&SecretEvent> {
        match self {
            Event::SecretChanged(s)
            | Event::SecretExpired(s)
            | Event::SecretRotate(s)
            | Event::SecretRemove(s) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(extra: &[(&str, &str)]) -> Context {
        let mut v: Vec<(String, String)> = [
            ("JUJU_UNIT_NAME", "web/0"),
            ("JUJU_MODEL_NAME", "dev"),
            ("JUJU_MODEL_UUID", "u"),
            ("JUJU_VERSION", "3.6.8"),
            ("JUJU_CHARM_DIR", "/c"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        v.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Context::from_vars(v).unwrap()
    }

    #[test]
    fn lifecycle_and_other() {
        assert_eq!(
            Event::from_context(&ctx(&[("JUJU_DISPATCH_PATH", "hooks/config-changed")])).unwrap(),
            Event::ConfigChanged
        );
        assert_eq!(
            Event::from_context(&ctx(&[("JUJU_DISPATCH_PATH", "hooks/collect-metrics")])).unwrap(),
            Event::Other {
                hook: "collect-metrics".into()
            }
        );
    }

    #[test]
    fn relation_departed() {
        let e = Event::from_context(&ctx(&[
            ("JUJU_DISPATCH_PATH", "hooks/cert-relation-departed"),
            ("JUJU_RELATION_ID", "cert:4"),
            ("JUJU_REMOTE_APP", "ca"),
            ("JUJU_REMOTE_UNIT", "ca/0"),
            ("JUJU_DEPARTING_UNIT", "ca/0"),
        ]))
        .unwrap();
        let Event::RelationDeparted(r) = e else {
            panic!()
        };
        assert_eq!(r.departing_unit.unwrap().to_string(), "ca/0");
    }

    #[test]
    fn mismatched_relation_is_an_error() {
        let e = Event::from_context(&ctx(&[
            ("JUJU_DISPATCH_PATH", "hooks/db-relation-changed"),
            ("JUJU_RELATION_ID", "cert:4"),
        ]));
        assert!(e.is_err());
        let e = Event::from_context(&ctx(&[("JUJU_DISPATCH_PATH", "hooks/db-relation-changed")]));
        assert_eq!(e.unwrap_err(), ContextError::Missing("JUJU_RELATION_ID"));
    }

    #[test]
    fn events_serialise_for_deferral() {
        let e = Event::from_context(&ctx(&[
            ("JUJU_DISPATCH_PATH", "hooks/secret-rotate"),
            ("JUJU_SECRET_ID", "secret:cq9e1u1mp25c77ab0abc"),
            ("JUJU_SECRET_LABEL", "k"),
        ]))
        .unwrap();
        let back: Event = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }
}
