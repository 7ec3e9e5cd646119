//! The provider side: the set of CA certificates a relation trusts, written by the leader.

use std::collections::BTreeSet;

use charm::{BagOwner, Databag, Endpoint, Model, RelationId};

use crate::error::Error;
use crate::json::to_python_json;
use crate::wire::certificate_transfer::{
    CERTIFICATES_KEY, V0_CA_KEY, V0_CERTIFICATE_KEY, V0_CHAIN_KEY, VERSION_KEY,
};

/// The provider side of a `certificate_transfer` endpoint.
#[derive(Debug, Clone)]
pub struct TransferProvider {
    endpoint: Endpoint,
}

impl TransferProvider {
    /// A provider for `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self { endpoint }
    }

    /// Publishes exactly `certificates` (PEM) on every relation of the endpoint: v1 in our app
    /// bag; for requirers that did not announce version 1, also v0 in this (leader) unit's bag.
    /// Writes only what differs. Leader only; on other units this does nothing.
    pub fn publish(
        &self,
        model: &mut Model<'_>,
        certificates: &BTreeSet<String>,
    ) -> Result<(), Error> {
        if !model.is_leader()? {
            return Ok(());
        }
        let pems: Vec<String> = certificates
            .iter()
            .map(|c| c.trim().to_owned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for relation in model.relations(&self.endpoint)? {
            let version = match &relation.remote_app {
                Some(app) => model
                    .relation_data(&relation.id, &BagOwner::App(app.clone()))?
                    .get(VERSION_KEY)
                    .cloned(),
                None => None,
            };
            let app_bag = model.own_app_bag();
            let mut app_changes = Databag::new();
            app_changes.insert(CERTIFICATES_KEY.to_owned(), to_python_json(&pems));
            app_changes.insert(VERSION_KEY.to_owned(), "1".to_owned());
            write_if_changed(model, &relation.id, &app_bag, app_changes)?;
            if version.as_deref() == Some("1") {
                continue;
            }
            let unit_bag = model.own_unit_bag();
            let mut unit_changes = Databag::new();
            match pems.first() {
                Some(first) => {
                    // The current Python provider JSON-quotes `ca` and `certificate`.
                    unit_changes.insert(V0_CA_KEY.to_owned(), to_python_json(first));
                    unit_changes.insert(V0_CERTIFICATE_KEY.to_owned(), to_python_json(first));
                    unit_changes.insert(V0_CHAIN_KEY.to_owned(), to_python_json(&pems));
                    unit_changes.insert(VERSION_KEY.to_owned(), "0".to_owned());
                }
                None => {
                    // Nothing to trust any more: withdraw the v0 keys too (the Python provider
                    // leaves them, so v0 requirers keep trusting a removed CA).
                    for key in [V0_CA_KEY, V0_CERTIFICATE_KEY, V0_CHAIN_KEY, VERSION_KEY] {
                        unit_changes.insert(key.to_owned(), String::new());
                    }
                }
            }
            write_if_changed(model, &relation.id, &unit_bag, unit_changes)?;
        }
        Ok(())
    }
}

fn write_if_changed(
    model: &mut Model<'_>,
    relation: &RelationId,
    owner: &BagOwner,
    changes: Databag,
) -> Result<(), Error> {
    let current = model.relation_data(relation, owner)?;
    let differs: Databag = changes
        .into_iter()
        .filter(|(k, v)| current.get(k).map_or(!v.is_empty(), |c| c != v))
        .collect();
    if !differs.is_empty() {
        model.update_relation_data(relation, owner, &differs)?;
    }
    Ok(())
}
