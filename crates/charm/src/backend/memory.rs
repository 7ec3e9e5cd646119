//! [`Memory`]: the backend of the test harness, serving every operation from a
//! [`crate::testing::State`] and answering refusals with Juju's own error texts.
//!
//! It works on the harness's copy of the state; the harness keeps that copy only if the hook
//! succeeds (Juju's commit) and otherwise keeps just the immediate effects (status, logs).

use std::collections::{BTreeMap, BTreeSet};

use hook_tools::Tool;
use hook_tools::error::msg;
use hook_tools::output::NetworkInfo;
use hook_tools::values::{PortSpec, SecretOwner};

use super::{
    Backend, BackendError, BagOwner, Databag, LogLevel, NewSecret, Result, SecretContent,
    SecretInfo, SecretLookup, SecretRead, SecretUpdate, Status,
};
use crate::metadata::CharmMeta;
use crate::names::{AppName, Endpoint, RelationId, SecretId, UnitName};
use crate::testing::{Relation, Secret, SecretOwnerEntity, State};

/// Serves the backend from a [`State`].
#[derive(Debug)]
pub struct Memory<'s> {
    state: &'s mut State,
    meta: &'s CharmMeta,
    /// The relation whose `relation-broken` is running: excluded from `relation-ids`.
    broken: Option<u32>,
    in_action: bool,
    /// Ports as committed before the hook (`opened-ports` does not show pending changes).
    ports_at_start: BTreeSet<PortSpec>,
}

impl<'s> Memory<'s> {
    /// Serves `state` for a charm with `meta`.
    pub fn new(state: &'s mut State, meta: &'s CharmMeta) -> Self {
        let ports_at_start = state.opened_ports.clone();
        Memory {
            state,
            meta,
            broken: None,
            in_action: false,
            ports_at_start,
        }
    }

    /// Marks the relation whose `relation-broken` hook runs.
    pub fn with_broken_relation(mut self, id: Option<u32>) -> Self {
        self.broken = id;
        self
    }

    /// Marks that an action runs (enables `action-*`).
    pub fn with_action(mut self, in_action: bool) -> Self {
        self.in_action = in_action;
        self
    }

    fn relation_mut(&mut self, id: &RelationId) -> Result<&mut Relation> {
        self.state
            .relations
            .iter_mut()
            .find(|r| r.id == id.id())
            .ok_or_else(|| BackendError::RelationNotFound(msg::relation_not_found(&id.to_string())))
    }

    fn relation(&self, id: &RelationId) -> Result<&Relation> {
        self.state
            .relations
            .iter()
            .find(|r| r.id == id.id())
            .ok_or_else(|| BackendError::RelationNotFound(msg::relation_not_found(&id.to_string())))
    }

    fn app(&self) -> &AppName {
        self.state.unit.app()
    }

    /// The unit's own secrets and its application's: it reads them as an owner.
    fn owned_by_us(&self, s: &Secret) -> bool {
        match &s.owner {
            SecretOwnerEntity::Unit(u) => *u == self.state.unit,
            SecretOwnerEntity::App(a) => a == self.app(),
        }
    }

    /// Whether the unit may change, grant, remove and list the secret.
    fn manages(&self, s: &Secret) -> bool {
        match &s.owner {
            SecretOwnerEntity::Unit(u) => *u == self.state.unit,
            SecretOwnerEntity::App(a) => a == self.app() && self.state.leader,
        }
    }

    fn find(&self, lookup: &SecretLookup) -> Result<usize> {
        let secrets = &self.state.secrets;
        match lookup {
            SecretLookup::Id(id) | SecretLookup::IdWithLabel(id, _) => secrets
                .iter()
                .position(|s| s.xid == id.xid())
                .ok_or_else(|| BackendError::SecretNotFound(msg::secret_not_found(id.xid()))),
            SecretLookup::Label(label) => secrets
                .iter()
                .position(|s| self.owned_by_us(s) && s.label.as_deref() == Some(label))
                .or_else(|| {
                    secrets
                        .iter()
                        .position(|s| s.consumer_label.as_deref() == Some(label))
                })
                .ok_or_else(|| BackendError::SecretNotFound(msg::secret_label_not_found(label))),
        }
    }

    fn managed(&self, id: &SecretId) -> Result<usize> {
        let i = self.find(&SecretLookup::Id(id.clone()))?;
        let s = &self.state.secrets[i];
        if self.manages(s) {
            return Ok(i);
        }
        if matches!(&s.owner, SecretOwnerEntity::App(a) if a == self.app()) {
            return Err(BackendError::NotLeader(msg::NOT_LEADER.to_owned()));
        }
        Err(BackendError::PermissionDenied(
            msg::PERMISSION_DENIED.to_owned(),
        ))
    }

    fn new_xid(&self) -> String {
        (self.state.secrets.len()..)
            .map(|n| format!("d{n:019}"))
            .find(|x| !self.state.secrets.iter().any(|s| &s.xid == x))
            .unwrap_or_default()
    }
}

fn apply(bag: &mut Databag, changes: &Databag) {
    for (k, v) in changes {
        if v.is_empty() {
            bag.remove(k);
        } else {
            bag.insert(k.clone(), v.clone());
        }
    }
}

fn to_tool_uri(xid: &str) -> Result<SecretId> {
    format!("secret:{xid}")
        .parse()
        .map_err(|e: crate::names::NameError| BackendError::Output {
            tool: Tool::SecretIds,
            detail: e.to_string(),
        })
}

impl Backend for Memory<'_> {
    fn relation_ids(&mut self, endpoint: &Endpoint) -> Result<Vec<RelationId>> {
        Ok(self
            .state
            .relations
            .iter()
            .filter(|r| r.endpoint == *endpoint && Some(r.id) != self.broken)
            .map(Relation::relation_id)
            .collect())
    }

    fn relation_units(&mut self, relation: &RelationId) -> Result<Vec<UnitName>> {
        if Some(relation.id()) == self.broken {
            return Ok(Vec::new());
        }
        Ok(self
            .relation(relation)?
            .remote_units
            .keys()
            .cloned()
            .collect())
    }

    fn relation_remote_app(&mut self, relation: &RelationId) -> Result<Option<AppName>> {
        Ok(Some(self.relation(relation)?.remote_app.clone()))
    }

    fn relation_get(&mut self, relation: &RelationId, owner: &BagOwner) -> Result<Databag> {
        let me = self.state.unit.clone();
        let my_app = self.app().clone();
        let r = self.relation(relation)?;
        match owner {
            BagOwner::Unit(u) if *u == me => Ok(r.local_unit_data.clone()),
            BagOwner::App(a) if *a == my_app => Ok(r.local_app_data.clone()),
            BagOwner::App(a) if *a == r.remote_app => Ok(r.remote_app_data.clone()),
            BagOwner::Unit(u) => r
                .remote_units
                .get(u)
                .cloned()
                .ok_or_else(|| BackendError::Tool {
                    tool: Tool::RelationGet,
                    code: 1,
                    message: format!(
                        "cannot read settings for unit {:?} in relation {:?}: settings not found",
                        u.to_string(),
                        relation.to_string()
                    ),
                }),
            BagOwner::App(a) => Err(BackendError::Tool {
                tool: Tool::RelationGet,
                code: 1,
                message: format!(
                    "application {:?} is not in relation {:?}",
                    a.to_string(),
                    relation.to_string()
                ),
            }),
        }
    }

    fn relation_set(&mut self, relation: &RelationId, app: bool, changes: &Databag) -> Result<()> {
        let r = self.relation_mut(relation)?;
        apply(
            if app {
                &mut r.local_app_data
            } else {
                &mut r.local_unit_data
            },
            changes,
        );
        Ok(())
    }

    fn config_get(&mut self) -> Result<serde_json::Map<String, serde_json::Value>> {
        Ok(self.state.config.clone())
    }

    fn is_leader(&mut self) -> Result<bool> {
        Ok(self.state.leader)
    }

    fn status_get(&mut self, app: bool) -> Result<Status> {
        Ok(if app {
            self.state.app_status.clone()
        } else {
            self.state.unit_status.clone()
        })
    }

    fn status_set(&mut self, app: bool, status: &Status) -> Result<()> {
        if status.settable().is_none() {
            return Err(BackendError::Tool {
                tool: Tool::StatusSet,
                code: 2,
                message: msg::invalid_status(status.kind.as_str()),
            });
        }
        *(if app {
            &mut self.state.app_status
        } else {
            &mut self.state.unit_status
        }) = status.clone();
        Ok(())
    }

    fn application_version_set(&mut self, version: &str) -> Result<()> {
        self.state.workload_version = Some(version.to_owned());
        Ok(())
    }

    fn juju_log(&mut self, level: LogLevel, message: &str) -> Result<()> {
        self.state.logs.push((level, message.to_owned()));
        Ok(())
    }

    fn action_get(&mut self) -> Result<serde_json::Map<String, serde_json::Value>> {
        if !self.in_action {
            return Err(BackendError::NotInAction);
        }
        Ok(self.state.action.params.clone())
    }

    fn action_set(&mut self, results: &BTreeMap<String, String>) -> Result<()> {
        if !self.in_action {
            return Err(BackendError::NotInAction);
        }
        self.state
            .action
            .results
            .extend(results.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(())
    }

    fn action_log(&mut self, message: &str) -> Result<()> {
        if !self.in_action {
            return Err(BackendError::NotInAction);
        }
        self.state.action.logs.push(message.to_owned());
        Ok(())
    }

    fn action_fail(&mut self, message: &str) -> Result<()> {
        if !self.in_action {
            return Err(BackendError::NotInAction);
        }
        self.state.action.failure = Some(message.to_owned());
        Ok(())
    }

    fn secret_add(&mut self, secret: &NewSecret) -> Result<SecretId> {
        if let Some(bad) = secret
            .content
            .keys()
            .find(|k| !hook_tools::values::is_valid_secret_key(k))
        {
            return Err(BackendError::ApiMisuse(format!(
                "invalid secret content key {bad:?}"
            )));
        }
        if secret.content.is_empty() {
            return Err(BackendError::Tool {
                tool: Tool::SecretAdd,
                code: 2,
                message: msg::MISSING_SECRET_VALUE.into(),
            });
        }
        let owner = match secret.owner {
            SecretOwner::Unit => SecretOwnerEntity::Unit(self.state.unit.clone()),
            SecretOwner::Application if !self.state.leader => {
                return Err(BackendError::NotLeader(msg::NOT_LEADER.to_owned()));
            }
            SecretOwner::Application => SecretOwnerEntity::App(self.app().clone()),
        };
        if let Some(label) = &secret.label {
            if self
                .state
                .secrets
                .iter()
                .any(|s| s.owner == owner && s.label.as_ref() == Some(label))
            {
                return Err(BackendError::Tool {
                    tool: Tool::SecretAdd,
                    code: 1,
                    message: msg::secret_label_exists(label),
                });
            }
        }
        let xid = self.new_xid();
        let mut s = Secret::new(xid.clone(), owner, secret.content.clone());
        s.label = secret.label.clone();
        s.description = secret.description.clone();
        s.expire = secret.expire.clone();
        s.rotate = secret.rotate;
        self.state.secrets.push(s);
        to_tool_uri(&xid)
    }

    fn secret_get(&mut self, lookup: &SecretLookup, read: SecretRead) -> Result<SecretContent> {
        let i = self.find(lookup)?;
        let (owned, manages) = (
            self.owned_by_us(&self.state.secrets[i]),
            self.manages(&self.state.secrets[i]),
        );
        let s = &mut self.state.secrets[i];
        if !owned && !s.granted {
            return Err(BackendError::PermissionDenied(
                msg::PERMISSION_DENIED.to_owned(),
            ));
        }
        if let SecretLookup::IdWithLabel(_, label) = lookup {
            if manages {
                s.label = Some(label.clone())
            } else {
                s.consumer_label = Some(label.clone())
            }
        }
        let latest = s.latest();
        let content = |s: &Secret, rev: u32| s.revisions.get(&rev).cloned().unwrap_or_default();
        if owned {
            // Owners read the latest committed revision; peek/refresh also see this hook's change.
            return Ok(match (read, &s.pending) {
                (SecretRead::Peek | SecretRead::Refresh, Some(p)) => p.clone(),
                _ => content(s, latest),
            });
        }
        let rev = match (read, s.tracked) {
            (SecretRead::Tracked, Some(t)) => t,
            (SecretRead::Peek, _) => latest,
            (SecretRead::Tracked | SecretRead::Refresh, _) => {
                s.tracked = Some(latest);
                latest
            }
        };
        Ok(content(s, rev))
    }

    fn secret_set(&mut self, id: &SecretId, update: &SecretUpdate) -> Result<()> {
        let i = self.managed(id)?;
        let s = &mut self.state.secrets[i];
        if let Some(c) = &update.content {
            if let Some(bad) = c
                .keys()
                .find(|k| !hook_tools::values::is_valid_secret_key(k))
            {
                return Err(BackendError::ApiMisuse(format!(
                    "invalid secret content key {bad:?}"
                )));
            }
            s.pending = Some(c.clone());
        }
        if update.label.is_some() {
            s.label.clone_from(&update.label);
        }
        if update.description.is_some() {
            s.description.clone_from(&update.description);
        }
        if update.expire.is_some() {
            s.expire.clone_from(&update.expire);
        }
        if update.rotate.is_some() {
            s.rotate = update.rotate;
        }
        Ok(())
    }

    fn secret_info(&mut self, lookup: &SecretLookup) -> Result<SecretInfo> {
        let i = self.find(lookup)?;
        let s = &self.state.secrets[i];
        if !self.manages(s) {
            return Err(BackendError::SecretNotFound(msg::secret_not_found(&s.xid)));
        }
        Ok(SecretInfo {
            id: match lookup {
                SecretLookup::Id(id) | SecretLookup::IdWithLabel(id, _) => id.clone(),
                SecretLookup::Label(_) => to_tool_uri(&s.xid)?,
            },
            revision: s.latest(),
            label: s.label.clone(),
            owner: match s.owner {
                SecretOwnerEntity::Unit(_) => SecretOwner::Unit,
                SecretOwnerEntity::App(_) => SecretOwner::Application,
            },
            description: s.description.clone(),
            expiry: s.expire.clone(),
            rotation: s.rotate.map(|r| r.as_str().to_owned()),
        })
    }

    fn secret_ids(&mut self) -> Result<Vec<SecretId>> {
        self.state
            .secrets
            .iter()
            .filter(|s| self.manages(s))
            .map(|s| to_tool_uri(&s.xid))
            .collect()
    }

    fn secret_grant(
        &mut self,
        id: &SecretId,
        relation: &RelationId,
        unit: Option<&UnitName>,
    ) -> Result<()> {
        self.relation(relation)?;
        let i = self.managed(id)?;
        self.state.secrets[i]
            .grants
            .insert((relation.id(), unit.cloned()));
        Ok(())
    }

    fn secret_revoke(
        &mut self,
        id: &SecretId,
        relation: &RelationId,
        unit: Option<&UnitName>,
    ) -> Result<()> {
        let i = self.managed(id)?;
        self.state.secrets[i]
            .grants
            .remove(&(relation.id(), unit.cloned()));
        Ok(())
    }

    fn secret_remove(&mut self, id: &SecretId, revision: Option<u32>) -> Result<()> {
        let i = self.managed(id)?;
        match revision {
            Some(r) => {
                self.state.secrets[i].revisions.remove(&r);
                if self.state.secrets[i].revisions.is_empty() {
                    self.state.secrets.remove(i);
                }
            }
            None => {
                self.state.secrets.remove(i);
            }
        }
        Ok(())
    }

    fn open_port(&mut self, port: PortSpec) -> Result<()> {
        self.state.opened_ports.insert(port);
        Ok(())
    }

    fn close_port(&mut self, port: PortSpec) -> Result<()> {
        self.state.opened_ports.remove(&port);
        Ok(())
    }

    fn opened_ports(&mut self) -> Result<Vec<PortSpec>> {
        Ok(self.ports_at_start.iter().copied().collect())
    }

    fn network_get(&mut self, binding: &str, relation: Option<&RelationId>) -> Result<NetworkInfo> {
        if let Some(r) = relation {
            self.relation(r)?;
        }
        if !self.meta.has_binding(binding) {
            return Err(BackendError::Tool {
                tool: Tool::NetworkGet,
                code: 1,
                message: msg::no_network_config(binding),
            });
        }
        Ok(NetworkInfo::loopback(&self.state.address))
    }

    fn now(&self) -> i64 {
        self.state.now
    }

    fn commit(&mut self) -> Result<()> {
        // Pending content becomes a new revision unless it equals the latest (Juju 3.6, §6.5).
        for s in &mut self.state.secrets {
            if let Some(content) = s.pending.take() {
                if s.content() != Some(&content) {
                    let next = s.latest() + 1;
                    s.revisions.insert(next, content);
                }
            }
        }
        Ok(())
    }
}
