//! The requirer side: announces v1, reads what the provider published, reports changes.

use std::collections::BTreeSet;

use charm::{BagOwner, Endpoint, Event, Model, RelationId};
use serde::Serialize;

use super::log_warnings;
use crate::error::Error;
use crate::json::to_python_json;
use crate::wire::certificate_transfer::{
    CERTIFICATES_KEY, V0_CA_KEY, V0_CERTIFICATE_KEY, V0_CHAIN_KEY, VERSION_KEY, read_v0_pem,
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
            let certificates = self.read(model, &relation.id)?;
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

    /// The certificates published on every relation of the endpoint, as one set.
    pub fn certificates(&self, model: &mut Model<'_>) -> Result<BTreeSet<String>, Error> {
        let mut all = BTreeSet::new();
        for relation in model.relations(&self.endpoint)? {
            all.extend(self.read(model, &relation.id)?);
        }
        Ok(all)
    }

    /// Reads v1 (the provider's app bag), falling back to v0 (the provider leader's unit bag,
    /// JSON-quoted or raw PEM) when the provider did not write v1.
    fn read(
        &self,
        model: &mut Model<'_>,
        relation_id: &RelationId,
    ) -> Result<BTreeSet<String>, Error> {
        let relation = model.relation(relation_id)?;
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
        let mut units = relation.units.clone();
        units.sort_by_key(ToString::to_string);
        for unit in units {
            let bag = model.relation_data(relation_id, &BagOwner::Unit(unit.clone()))?;
            let location = format!("relation {relation_id}, unit {unit}");
            let chain: Vec<String> = read_list(
                bag.get(V0_CHAIN_KEY),
                &format!("{location}, key {V0_CHAIN_KEY}"),
                &mut warnings,
            );
            set.extend(chain.into_iter().map(|p| p.trim().to_owned()));
            for key in [V0_CA_KEY, V0_CERTIFICATE_KEY] {
                if let Some(value) = bag.get(key) {
                    match read_v0_pem(value) {
                        Some(pem) => {
                            set.insert(pem);
                        }
                        None => warnings.push(Warning {
                            location: format!("{location}, key {key}"),
                            problem: "neither a JSON string nor a PEM certificate".into(),
                        }),
                    }
                }
            }
            if !set.is_empty() {
                break;
            }
        }
        log_warnings(model, &warnings);
        Ok(set)
    }
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
