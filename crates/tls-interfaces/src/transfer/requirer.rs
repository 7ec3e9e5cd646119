//! The requirer side: announces v1, reads what the provider published, reports changes.

use std::collections::{BTreeMap, BTreeSet};

use charm::{BagOwner, Endpoint, Event, Model, Relation, RelationId};
use serde::Serialize;

use super::{live_relation, log_warnings};
use crate::error::Error;
use crate::json::to_python_json;
use crate::wire::certificate_transfer::{
    CERTIFICATES_KEY, VERSION_KEY, has_v0_data, is_valid_version, read_v0_bag,
};
use crate::wire::{Warning, read_list};

/// What the requirer tells the charm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TransferEvent {
    /// The set of certificates on a relation changed (it is given whole).
    CertificatesAvailable {
        /// The relation.
        relation: String,
        /// Every certificate now published on it.
        certificates: BTreeSet<String>,
    },
    /// A relation is gone: stop trusting what it brought.
    CertificatesRemoved {
        /// The relation.
        relation: String,
    },
}

/// The requirer side of a `certificate_transfer` endpoint.
///
/// Reading is tolerant: a malformed entry is skipped with a warning naming the relation, bag and
/// key, and the rest is still read (the Python library reads the whole relation as empty). From
/// a v0 provider, `ca` and `certificate` are read as well as `chain`, JSON-quoted or raw PEM (the
/// Python library reads `chain` only, and only when `ca` and `certificate` are JSON). PEMs are
/// trimmed of surrounding whitespace.
#[derive(Debug, Clone)]
pub struct TransferRequirer {
    endpoint: Endpoint,
}

impl TransferRequirer {
    /// A requirer for `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self { endpoint }
    }

    /// Announces v1 (leader), and reports a changed or removed set. Call on every event.
    pub fn handle(
        &self,
        event: &Event,
        model: &mut Model<'_>,
    ) -> Result<Vec<TransferEvent>, Error> {
        if let Event::RelationBroken(e) = event
            && e.relation.endpoint() == &self.endpoint
        {
            model.unstore(&state_key(&e.relation));
            return Ok(vec![TransferEvent::CertificatesRemoved {
                relation: e.relation.to_string(),
            }]);
        }
        let leader = model.is_leader()?;
        let mut events = Vec::new();
        for relation in model.relations(&self.endpoint)? {
            if leader {
                let own = model.own_app_bag();
                if model
                    .relation_data(&relation.id, &own)?
                    .get(VERSION_KEY)
                    .map(String::as_str)
                    != Some("1")
                {
                    model.set_relation_data(&relation.id, &own, VERSION_KEY, "1")?;
                }
            }
            let certificates = read(model, &relation)?;
            let digest = digest_of(&certificates);
            let key = state_key(&relation.id);
            if model.stored::<String>(&key)?.as_deref() != Some(digest.as_str()) {
                model.store(&key, &digest)?;
                events.push(TransferEvent::CertificatesAvailable {
                    relation: relation.id.to_string(),
                    certificates,
                });
            }
        }
        Ok(events)
    }

    /// The certificates published on every relation of the endpoint, as one set (Python's
    /// `get_all_certificates()`).
    ///
    /// ```rust,ignore
    /// let transfer = TransferRequirer::new("receive-ca-cert".parse()?);
    /// write_trust_bundle(&transfer.certificates(model)?)?;
    /// ```
    pub fn certificates(&self, model: &mut Model<'_>) -> Result<BTreeSet<String>, Error> {
        let mut all = BTreeSet::new();
        for relation in model.relations(&self.endpoint)? {
            all.extend(read(model, &relation)?);
        }
        Ok(all)
    }

    /// The certificates published on one relation (Python's `get_all_certificates(id)`).
    ///
    /// A relation that is gone or being broken has nothing to trust: the empty set (the Python
    /// library fails with a `KeyError` on an unknown id, and still reads a relation being
    /// broken). The id of a relation of another endpoint is a caller bug,
    /// [`crate::Misuse::UnknownRelation`].
    ///
    /// ```rust,ignore
    /// let transfer = TransferRequirer::new("receive-ca-cert".parse()?);
    /// let trusted = transfer.certificates_on(model, &relation_id)?;
    /// ```
    pub fn certificates_on(
        &self,
        model: &mut Model<'_>,
        relation: &RelationId,
    ) -> Result<BTreeSet<String>, Error> {
        match live_relation(model, &self.endpoint, relation)? {
            Some(relation) => read(model, &relation),
            None => Ok(BTreeSet::new()),
        }
    }

    /// The certificates of each relation of the endpoint, by relation; a relation with nothing
    /// published maps to an empty set (Python's `get_all_certificates_by_relation()`, whose
    /// sorted lists are the sets' order here).
    ///
    /// ```rust,ignore
    /// let transfer = TransferRequirer::new("receive-ca-cert".parse()?);
    /// for (relation, pems) in transfer.certificates_by_relation(model)? {
    ///     write_bundle(&format!("/etc/trust/{}.pem", relation.id()), &pems)?;
    /// }
    /// ```
    pub fn certificates_by_relation(
        &self,
        model: &mut Model<'_>,
    ) -> Result<BTreeMap<RelationId, BTreeSet<String>>, Error> {
        let mut by_relation = BTreeMap::new();
        for relation in model.relations(&self.endpoint)? {
            let set = read(model, &relation)?;
            by_relation.insert(relation.id, set);
        }
        Ok(by_relation)
    }

    /// Whether the provider has published on `relation`, in a form read without a warning: a
    /// `certificates` list of strings in its app bag (with a valid `version`, if any), or, when
    /// it has none and did not say version 1, v0 data in one of its units' bags.
    ///
    /// Malformed data answers `false`, as in the Python library. Unlike it, a provider that has
    /// published nothing yet is not ready (the Python library answers `true` for an empty app
    /// bag, since its schema has defaults for both keys), and a relation that is gone or being
    /// broken answers `false` (the Python library fails with a `KeyError` on an unknown id).
    ///
    /// ```rust,ignore
    /// let transfer = TransferRequirer::new("receive-ca-cert".parse()?);
    /// if !transfer.is_ready(model, &relation_id)? {
    ///     model.set_unit_status(Status::waiting("waiting for CA certificates"))?;
    /// }
    /// ```
    pub fn is_ready(&self, model: &mut Model<'_>, relation: &RelationId) -> Result<bool, Error> {
        let Some(relation) = live_relation(model, &self.endpoint, relation)? else {
            return Ok(false);
        };
        let mut warnings: Vec<Warning> = Vec::new();
        if let Some(app) = &relation.remote_app {
            let bag = model.relation_data(&relation.id, &BagOwner::App(app.clone()))?;
            if bag.get(VERSION_KEY).is_some_and(|v| !is_valid_version(v)) {
                return Ok(false);
            }
            if bag.contains_key(CERTIFICATES_KEY) {
                let _: Vec<String> = read_list(bag.get(CERTIFICATES_KEY), "", &mut warnings);
                return Ok(warnings.is_empty());
            }
            if bag.get(VERSION_KEY).map(String::as_str) == Some("1") {
                // A v1 provider that has not published yet: no v0 data is read for it.
                return Ok(false);
            }
        }
        for unit in sorted_units(&relation) {
            let bag = model.relation_data(&relation.id, &BagOwner::Unit(unit))?;
            if has_v0_data(&bag) {
                read_v0_bag(&bag, "", &mut warnings);
                if warnings.is_empty() {
                    return Ok(true);
                }
                warnings.clear();
            }
        }
        Ok(false)
    }
}

/// Reads v1 (the provider's app bag), falling back to v0 (the first provider unit's bag, by
/// name, that holds any; JSON-quoted or raw PEM) when the provider did not write v1.
fn read(model: &mut Model<'_>, relation: &Relation) -> Result<BTreeSet<String>, Error> {
    let relation_id = &relation.id;
    let mut warnings: Vec<Warning> = Vec::new();
    let mut set = BTreeSet::new();
    if let Some(app) = &relation.remote_app {
        let bag = model.relation_data(relation_id, &BagOwner::App(app.clone()))?;
        let location = format!("relation {relation_id}, app {app}, key {CERTIFICATES_KEY}");
        let list: Vec<String> = read_list(bag.get(CERTIFICATES_KEY), &location, &mut warnings);
        set.extend(list.into_iter().map(|p| p.trim().to_owned()));
        if !set.is_empty() || bag.get(VERSION_KEY).map(String::as_str) == Some("1") {
            log_warnings(model, &warnings);
            return Ok(set);
        }
    }
    for unit in sorted_units(relation) {
        let bag = model.relation_data(relation_id, &BagOwner::Unit(unit.clone()))?;
        let location = format!("relation {relation_id}, unit {unit}");
        set.extend(read_v0_bag(&bag, &location, &mut warnings));
        if !set.is_empty() {
            break;
        }
    }
    log_warnings(model, &warnings);
    Ok(set)
}

fn sorted_units(relation: &Relation) -> Vec<charm::UnitName> {
    let mut units = relation.units.clone();
    units.sort_by_key(ToString::to_string);
    units
}

fn state_key(relation: &RelationId) -> String {
    format!("certificate_transfer/{relation}")
}

/// A digest of the set that does not depend on order (the Python library's hash of the sorted
/// JSON list).
fn digest_of(set: &BTreeSet<String>) -> String {
    let sorted: Vec<&String> = set.iter().collect();
    hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        to_python_json(&sorted).as_bytes(),
    ))
}
