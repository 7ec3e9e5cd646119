//! The owned data a test builds and inspects: the unit's view of its model before and after one
//! event (in the spirit of `ops.testing.State`).

use std::collections::{BTreeMap, BTreeSet};

use hook_tools::values::{PortSpec, RotatePolicy};

use crate::backend::{Databag, LogLevel, SecretContent, Status};
use crate::event::Event;
use crate::names::{AppName, Endpoint, UnitName};

/// Everything the unit can observe or change, as owned data.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The unit the charm runs as.
    pub unit: UnitName,
    /// Whether it is the leader.
    pub leader: bool,
    /// Config values as `config-get` shows them; the harness fills in metadata defaults for
    /// options not given here.
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Relations the unit is in (peers included).
    pub relations: Vec<Relation>,
    /// Secrets the unit can see: its own, its application's, and other applications'.
    pub secrets: Vec<Secret>,
    /// Unit status.
    pub unit_status: Status,
    /// Application status.
    pub app_status: Status,
    /// `application-version-set` value.
    pub workload_version: Option<String>,
    /// Opened ports.
    pub opened_ports: BTreeSet<PortSpec>,
    /// The unit's address (seeded into its bags by Juju; answered by `network-get`). A loopback
    /// address, as the local model uses.
    pub address: String,
    /// Charm state kept across hooks ([`crate::Model::store`], [`crate::Model::stored`]).
    pub stored: BTreeMap<String, serde_json::Value>,
    /// Events deferred by earlier hooks, re-delivered first.
    pub deferred: Vec<Event>,
    /// The running action's parameters and output.
    pub action: ActionRecord,
    /// `juju-log` lines written, in order.
    pub logs: Vec<(LogLevel, String)>,
    /// Virtual clock: seconds since the Unix epoch.
    pub now: i64,
    /// `JUJU_MODEL_UUID`.
    pub model_uuid: String,
}

impl State {
    /// A fresh state for `unit`: not leader, nothing related, status unknown, clock at
    /// 2026-01-01T00:00:00Z, address `127.0.1.<n+1>`.
    pub fn new(unit: UnitName) -> Self {
        let address = format!("127.0.1.{}", (unit.number() % 254) + 1);
        State {
            unit,
            leader: false,
            config: serde_json::Map::new(),
            relations: Vec::new(),
            secrets: Vec::new(),
            unit_status: Status::unknown(),
            app_status: Status::unknown(),
            workload_version: None,
            opened_ports: BTreeSet::new(),
            address,
            stored: BTreeMap::new(),
            deferred: Vec::new(),
            action: ActionRecord::default(),
            logs: Vec::new(),
            now: 1_767_225_600,
            model_uuid: "00000000-0000-4000-8000-000000000000".to_owned(),
        }
    }

    /// Builder: set leadership.
    pub fn with_leader(mut self, leader: bool) -> Self {
        self.leader = leader;
        self
    }

    /// Builder: add a relation.
    pub fn with_relation(mut self, relation: Relation) -> Self {
        self.relations.push(relation);
        self
    }

    /// Builder: add a secret.
    pub fn with_secret(mut self, secret: Secret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Builder: set a config value.
    pub fn with_config(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.config.insert(key.to_owned(), value.into());
        self
    }

    /// The relation with this id.
    pub fn relation(&self, id: u32) -> Option<&Relation> {
        self.relations.iter().find(|r| r.id == id)
    }

    /// The secret with this owner label or consumer label.
    pub fn secret_by_label(&self, label: &str) -> Option<&Secret> {
        self.secrets.iter().find(|s| {
            s.label.as_deref() == Some(label) || s.consumer_label.as_deref() == Some(label)
        })
    }

    /// The application of the unit.
    pub fn app(&self) -> &AppName {
        self.unit.app()
    }
}

/// One relation from the unit's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Integer id.
    pub id: u32,
    /// The local endpoint.
    pub endpoint: Endpoint,
    /// The remote application (the own application for a peer relation).
    pub remote_app: AppName,
    /// The unit's own bag.
    pub local_unit_data: Databag,
    /// The own application's bag.
    pub local_app_data: Databag,
    /// The remote application's bag (unused for peers: their app bag is `local_app_data`).
    pub remote_app_data: Databag,
    /// Remote units in scope (peer units for a peer relation) and their bags.
    pub remote_units: BTreeMap<UnitName, Databag>,
}

impl Relation {
    /// A relation to `remote_app` with one remote unit `<remote_app>/0`, and Juju's default keys
    /// (`private-address`, `ingress-address`, `egress-subnets`) in every unit bag, as Scenario
    /// does.
    pub fn new(endpoint: Endpoint, id: u32, remote_app: AppName) -> Self {
        let remote_unit = UnitName::new(remote_app.clone(), 0);
        let mut remote_units = BTreeMap::new();
        remote_units.insert(remote_unit, default_unit_bag("127.0.2.1"));
        Relation {
            id,
            endpoint,
            remote_app,
            local_unit_data: default_unit_bag("127.0.1.1"),
            local_app_data: Databag::new(),
            remote_app_data: Databag::new(),
            remote_units,
        }
    }

    /// A peer relation of `app` with the given other units.
    pub fn peer(
        endpoint: Endpoint,
        id: u32,
        app: AppName,
        peers: impl IntoIterator<Item = UnitName>,
    ) -> Self {
        let remote_units = peers
            .into_iter()
            .map(|u| (u, default_unit_bag("127.0.1.2")))
            .collect();
        Relation {
            id,
            endpoint,
            remote_app: app,
            local_unit_data: default_unit_bag("127.0.1.1"),
            local_app_data: Databag::new(),
            remote_app_data: Databag::new(),
            remote_units,
        }
    }

    /// Builder: set the remote app bag.
    pub fn with_remote_app_data(mut self, data: Databag) -> Self {
        self.remote_app_data = data;
        self
    }

    /// Builder: set (or add) a remote unit's bag.
    pub fn with_remote_unit(mut self, unit: UnitName, data: Databag) -> Self {
        self.remote_units.insert(unit, data);
        self
    }

    /// Builder: remove every remote unit (e.g. before anyone joined).
    pub fn without_remote_units(mut self) -> Self {
        self.remote_units.clear();
        self
    }

    /// The relation id as Juju names it.
    pub fn relation_id(&self) -> crate::names::RelationId {
        crate::names::RelationId::new(self.endpoint.clone(), self.id)
    }
}

fn default_unit_bag(address: &str) -> Databag {
    [
        ("egress-subnets", format!("{address}/32")),
        ("ingress-address", address.to_owned()),
        ("private-address", address.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Who owns a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretOwnerEntity {
    /// A unit (only it manages and reads it).
    Unit(UnitName),
    /// An application (its leader manages it; its units read it).
    App(AppName),
}

/// One secret as the unit can see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// The xid.
    pub xid: String,
    /// Owner.
    pub owner: SecretOwnerEntity,
    /// Content by revision; the last is the latest.
    pub revisions: BTreeMap<u32, SecretContent>,
    /// Owner label.
    pub label: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Expiry of the latest revision (RFC 3339).
    pub expire: Option<String>,
    /// Rotation policy.
    pub rotate: Option<RotatePolicy>,
    /// This unit's consumer label (secrets of other applications).
    pub consumer_label: Option<String>,
    /// The revision this unit tracks as a consumer; `None` until it first reads.
    pub tracked: Option<u32>,
    /// Whether this unit's application was granted access (secrets of other applications).
    pub granted: bool,
    /// Grants made by the owner: (relation id, unit or whole app).
    pub grants: BTreeSet<(u32, Option<UnitName>)>,
    /// Content set in the running hook; becomes a revision at commit.
    pub(crate) pending: Option<SecretContent>,
}

impl Secret {
    /// A secret at revision 1 with `content`.
    pub fn new(xid: impl Into<String>, owner: SecretOwnerEntity, content: SecretContent) -> Self {
        Secret {
            xid: xid.into(),
            owner,
            revisions: BTreeMap::from([(1, content)]),
            label: None,
            description: None,
            expire: None,
            rotate: None,
            consumer_label: None,
            tracked: None,
            granted: false,
            grants: BTreeSet::new(),
            pending: None,
        }
    }

    /// Builder: the owner label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Builder: mark as granted to this unit's application.
    pub fn with_grant(mut self) -> Self {
        self.granted = true;
        self
    }

    /// The latest revision number.
    pub fn latest(&self) -> u32 {
        self.revisions.keys().next_back().copied().unwrap_or(0)
    }

    /// The latest content.
    pub fn content(&self) -> Option<&SecretContent> {
        self.revisions.values().next_back()
    }

    /// The id in the `secret:<xid>` form; fails for an xid that is not lowercase alphanumeric.
    pub fn id(&self) -> Result<crate::names::SecretId, crate::names::NameError> {
        format!("secret:{}", self.xid).parse()
    }
}

/// An action's parameters (input) and what the charm reported (output).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActionRecord {
    /// Parameters, as `action-get` returns them.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// `action-set` results (dotted keys).
    pub results: BTreeMap<String, String>,
    /// `action-log` messages.
    pub logs: Vec<String>,
    /// `action-fail` message, if the action failed.
    pub failure: Option<String>,
}
