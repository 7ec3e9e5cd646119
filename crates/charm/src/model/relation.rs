//! Relations and databags, with Juju's access rules (`juju-hook-environment.md` §7.1):
//!
//! | bag | read | write |
//! |---|---|---|
//! | own unit | yes | yes |
//! | own app, non-peer relation | leader only (`permission denied`) | leader only (`cannot write relation settings`) |
//! | own app, peer relation | every unit | leader only |
//! | remote units, remote app, peer units | yes | no (`permission denied`) |
//!
//! In `relation-broken`, writes to the app bag fail as Juju fails them.

use std::collections::BTreeMap;
use std::sync::Arc;

use hook_tools::error::msg;

use super::Model;
use crate::backend::{BackendError, BagOwner, Databag};
use crate::error::Error;
use crate::event::Event;
use crate::names::{AppName, Endpoint, RelationId, UnitName};

/// A relation as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// `<endpoint>:<id>`.
    pub id: RelationId,
    /// The remote application (own app for peers); `None` if Juju does not know it yet.
    pub remote_app: Option<AppName>,
    /// Remote units in scope (other own units for peers).
    pub units: Vec<UnitName>,
}

impl Relation {
    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        self.id.endpoint()
    }
}

impl Model<'_> {
    /// The live relations on `endpoint` (a relation being broken is not listed).
    pub fn relations(&mut self, endpoint: &Endpoint) -> Result<Vec<Relation>, Error> {
        let ids = self.backend.relation_ids(endpoint)?;
        ids.into_iter().map(|id| self.relation(&id)).collect()
    }

    /// The ids of the live relations on `endpoint` (one `relation-ids` call, no unit lists).
    pub fn relation_ids(&mut self, endpoint: &Endpoint) -> Result<Vec<RelationId>, Error> {
        Ok(self.backend.relation_ids(endpoint)?)
    }

    /// One relation by id (also the relation of a `relation-broken` event).
    /// Read once per hook: Juju's view of a relation does not change while a hook runs.
    pub fn relation(&mut self, id: &RelationId) -> Result<Relation, Error> {
        if let Some(r) = self.relations.get(id) {
            return Ok(r.clone());
        }
        let units = self.backend.relation_units(id)?;
        // The event's own relation: Juju names its remote application in `JUJU_REMOTE_APP`
        // (§4.2), so no `relation-list --app` call is needed.
        let remote_app = match &self.ctx.relation {
            Some(event) if &event.id == id && event.remote_app.is_some() => {
                event.remote_app.clone()
            }
            _ => self.backend.relation_remote_app(id)?,
        };
        let relation = Relation {
            id: id.clone(),
            remote_app,
            units,
        };
        self.relations.insert(id.clone(), relation.clone());
        Ok(relation)
    }

    /// The bag of this unit in `relation`.
    pub fn own_unit_bag(&self) -> BagOwner {
        BagOwner::Unit(self.unit().clone())
    }

    /// The bag of this unit's application.
    pub fn own_app_bag(&self) -> BagOwner {
        BagOwner::App(self.app().clone())
    }

    /// Reads a whole bag (cached for the dispatch; own bags include this hook's writes). Shared,
    /// not copied: a provider's bag can hold megabytes of certificates.
    pub fn relation_data(
        &mut self,
        relation: &RelationId,
        owner: &BagOwner,
    ) -> Result<Arc<Databag>, Error> {
        self.check_read(relation, owner)?;
        let key = (relation.clone(), owner.clone());
        if let Some(bag) = self.bags.get(&key) {
            return Ok(Arc::clone(bag));
        }
        let bag = Arc::new(self.backend.relation_get(relation, owner)?);
        self.bags.insert(key, Arc::clone(&bag));
        Ok(bag)
    }

    /// Reads one key of a bag (`None` when unset): from the bag when this dispatch read it
    /// whole, else with a `relation-get` of that key alone, which moves only its value.
    pub fn relation_value(
        &mut self,
        relation: &RelationId,
        owner: &BagOwner,
        key: &str,
    ) -> Result<Option<String>, Error> {
        self.check_read(relation, owner)?;
        if let Some(bag) = self.bags.get(&(relation.clone(), owner.clone())) {
            return Ok(bag.get(key).cloned());
        }
        Ok(self.backend.relation_get_key(relation, owner, key)?)
    }

    /// Sets one key of an own bag; an empty value deletes the key.
    pub fn set_relation_data(
        &mut self,
        relation: &RelationId,
        owner: &BagOwner,
        key: &str,
        value: &str,
    ) -> Result<(), Error> {
        let mut changes = BTreeMap::new();
        changes.insert(key.to_owned(), value.to_owned());
        self.update_relation_data(relation, owner, &changes)
    }

    /// Sets several keys of an own bag at once; empty values delete. The hook-tool backend sends
    /// all of a hook's writes to one bag as one `relation-set` at commit.
    pub fn update_relation_data(
        &mut self,
        relation: &RelationId,
        owner: &BagOwner,
        changes: &Databag,
    ) -> Result<(), Error> {
        let app = self.check_write(relation, owner)?;
        self.backend.relation_set(relation, app, changes)?;
        if let Some(bag) = self.bags.get_mut(&(relation.clone(), owner.clone())) {
            let bag = Arc::make_mut(bag);
            for (k, v) in changes {
                if v.is_empty() {
                    bag.remove(k);
                } else {
                    bag.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(())
    }

    fn check_read(&mut self, relation: &RelationId, owner: &BagOwner) -> Result<(), Error> {
        if matches!(owner, BagOwner::App(a) if a == self.app())
            && !self.meta.is_peer(relation.endpoint().as_str())
            && !self.is_leader()?
        {
            return Err(BackendError::PermissionDenied(msg::PERMISSION_DENIED.into()).into());
        }
        Ok(())
    }

    /// Returns whether the write goes to the app bag.
    fn check_write(&mut self, relation: &RelationId, owner: &BagOwner) -> Result<bool, Error> {
        match owner {
            BagOwner::Unit(u) if u == self.unit() => Ok(false),
            BagOwner::App(a) if a == self.app() => {
                if matches!(&self.current, Some(Event::RelationBroken(r)) if r.relation == *relation)
                {
                    return Err(BackendError::PermissionDenied(
                        msg::CANNOT_READ_APP_SETTINGS.into(),
                    )
                    .into());
                }
                if !self.is_leader()? {
                    return Err(BackendError::NotLeader(
                        msg::CANNOT_WRITE_RELATION_SETTINGS.into(),
                    )
                    .into());
                }
                Ok(true)
            }
            _ => Err(BackendError::PermissionDenied(msg::PERMISSION_DENIED.into()).into()),
        }
    }
}
