//! The provider side: the set of CA certificates each relation trusts, written by the leader.
//!
//! The set of a relation lives in our app bag (`certificates`, v1), so it survives a change of
//! leader; requirers that did not announce v1 also get it in the leader's unit bag (v0).

use std::collections::BTreeSet;

use charm::{BagOwner, Databag, Endpoint, LogLevel, Model, Relation, RelationId};

use super::{live_relation, log_warnings};
use crate::error::Error;
use crate::json::to_python_json;
use crate::wire::Warning;
use crate::wire::certificate_transfer::{
    CERTIFICATES_KEY, V0_CA_KEY, V0_CERTIFICATE_KEY, V0_CHAIN_KEY, VERSION_KEY, read_v0_bag,
};
use crate::wire::read_list;

/// The provider side of a `certificate_transfer` endpoint.
///
/// Every write is the leader's: on other units each call only withdraws the v0 keys the unit
/// wrote while it led (the Python library does nothing there and leaves them), so a charm may
/// call it on every unit. PEMs are trimmed of surrounding whitespace
/// before they are compared or written (the Python library keeps them as given). Only keys
/// whose value differs are written, and no other key of a bag is touched (the Python library
/// clears the whole bag, Juju's address keys in the unit bag included).
#[derive(Debug, Clone)]
pub struct TransferProvider {
    endpoint: Endpoint,
}

impl TransferProvider {
    /// A provider for `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self { endpoint }
    }

    /// Publishes exactly `certificates` (PEM) on every relation of the endpoint, whatever each
    /// relation held before: v1 in our app bag; for requirers that did not announce version 1,
    /// also v0 in this (leader) unit's bag. The call for a charm that knows its whole set, as
    /// a CA charm does.
    ///
    /// ```rust,ignore
    /// let transfer = TransferProvider::new("send-ca-cert".parse()?);
    /// transfer.publish(model, &BTreeSet::from([ca.certificate().pem()]))?;
    /// ```
    pub fn publish(
        &self,
        model: &mut Model<'_>,
        certificates: &BTreeSet<String>,
    ) -> Result<(), Error> {
        if !is_leader(model)? {
            return self.withdraw_former_v0(model);
        }
        let set = trimmed(certificates);
        for relation in model.relations(&self.endpoint)? {
            write_set(model, &relation, &set)?;
        }
        Ok(())
    }

    /// Adds `certificates` (PEM) to what `relation` already holds, or to what each relation of
    /// the endpoint holds when `relation` is `None`: a union per relation (Python's
    /// `add_certificates`).
    ///
    /// A relation that is gone (or being broken) is skipped, as in the Python library; the id
    /// of a relation of another endpoint is a caller bug, [`crate::Misuse::UnknownRelation`]
    /// (the Python library skips it too). The same holds for [`Self::remove`] and
    /// [`Self::remove_all`].
    ///
    /// ```rust,ignore
    /// let transfer = TransferProvider::new("send-ca-cert".parse()?);
    /// // On every relation:
    /// transfer.add(model, &BTreeSet::from([root_pem]), None)?;
    /// // On one relation only:
    /// transfer.add(model, &BTreeSet::from([partner_pem]), Some(&relation_id))?;
    /// ```
    pub fn add(
        &self,
        model: &mut Model<'_>,
        certificates: &BTreeSet<String>,
        relation: Option<&RelationId>,
    ) -> Result<(), Error> {
        let added = trimmed(certificates);
        self.update(model, relation, |set| set.extend(added.iter().cloned()))
    }

    /// Removes one certificate (PEM) from `relation`, or from every relation of the endpoint
    /// when `relation` is `None` (Python's `remove_certificate`). Removing a certificate a
    /// relation does not hold changes nothing.
    ///
    /// When a relation's set becomes empty, its v0 keys are withdrawn too; the Python library
    /// leaves them, so its v0 requirers keep trusting the removed certificate (and its next
    /// `add_certificates` on that relation brings the removed ones back).
    ///
    /// ```rust,ignore
    /// let transfer = TransferProvider::new("send-ca-cert".parse()?);
    /// transfer.remove(model, &old_root_pem, None)?;
    /// ```
    pub fn remove(
        &self,
        model: &mut Model<'_>,
        certificate: &str,
        relation: Option<&RelationId>,
    ) -> Result<(), Error> {
        let removed = certificate.trim();
        self.update(model, relation, |set| {
            set.remove(removed);
        })
    }

    /// Publishes an empty set on `relation`, or on every relation of the endpoint when
    /// `relation` is `None` (Python's `remove_all_certificates`): `certificates` = `[]` in our
    /// app bag, and the v0 keys withdrawn from this unit's bag (the Python library leaves them).
    ///
    /// ```rust,ignore
    /// let transfer = TransferProvider::new("send-ca-cert".parse()?);
    /// transfer.remove_all(model, Some(&relation_id))?;
    /// ```
    pub fn remove_all(
        &self,
        model: &mut Model<'_>,
        relation: Option<&RelationId>,
    ) -> Result<(), Error> {
        self.update(model, relation, BTreeSet::clear)
    }

    /// On a unit that no longer leads: removes the v0 keys it wrote as leader from its own unit
    /// bag, so v0 requirers (which read any provider unit's bag) stop trusting a set only the
    /// new leader now keeps up to date. The Python library leaves them.
    fn withdraw_former_v0(&self, model: &mut Model<'_>) -> Result<(), Error> {
        let own = model.own_unit_bag();
        for relation in model.relations(&self.endpoint)? {
            let clear: Databag = [V0_CA_KEY, V0_CERTIFICATE_KEY, V0_CHAIN_KEY, VERSION_KEY]
                .into_iter()
                .map(|k| (k.to_owned(), String::new()))
                .collect();
            write_if_changed(model, &relation.id, &own, clear)?;
        }
        Ok(())
    }

    /// Applies `change` to the set each target relation holds, and writes the result.
    fn update(
        &self,
        model: &mut Model<'_>,
        relation: Option<&RelationId>,
        change: impl Fn(&mut BTreeSet<String>),
    ) -> Result<(), Error> {
        if !is_leader(model)? {
            return self.withdraw_former_v0(model);
        }
        let targets = match relation {
            None => model.relations(&self.endpoint)?,
            Some(id) => match live_relation(model, &self.endpoint, id)? {
                Some(relation) => vec![relation],
                None => {
                    let _ = model.log(
                        LogLevel::Debug,
                        &format!("certificate_transfer: relation {id} is gone; nothing written"),
                    );
                    Vec::new()
                }
            },
        };
        for relation in targets {
            let mut set = published(model, &relation.id)?;
            change(&mut set);
            write_set(model, &relation, &set)?;
        }
        Ok(())
    }
}

/// Whether this unit may write; a debug line when it may not.
fn is_leader(model: &mut Model<'_>) -> Result<bool, Error> {
    let leader = model.is_leader()?;
    if !leader {
        let _ = model.log(
            LogLevel::Debug,
            "certificate_transfer: only the leader publishes certificates; withdrawing any v0 keys this unit wrote as leader",
        );
    }
    Ok(leader)
}

fn trimmed(certificates: &BTreeSet<String>) -> BTreeSet<String> {
    certificates.iter().map(|c| c.trim().to_owned()).collect()
}

/// What `relation` holds now: our app bag's `certificates`; if the app bag has never been
/// written in v1 form, the v0 data of this unit's bag (left by an earlier provider that served
/// v0 requirers only, as the Python library did before 1.1). Malformed entries are skipped with
/// a warning (the Python library then starts again from an empty set).
fn published(model: &mut Model<'_>, relation: &RelationId) -> Result<BTreeSet<String>, Error> {
    let mut warnings: Vec<Warning> = Vec::new();
    let app_owner = model.own_app_bag();
    let app = model.relation_data(relation, &app_owner)?;
    let set = if app.contains_key(CERTIFICATES_KEY) {
        let location = format!("relation {relation}, our app bag, key {CERTIFICATES_KEY}");
        let list: Vec<String> = read_list(app.get(CERTIFICATES_KEY), &location, &mut warnings);
        list.into_iter().map(|p| p.trim().to_owned()).collect()
    } else {
        let unit_owner = model.own_unit_bag();
        let unit = model.relation_data(relation, &unit_owner)?;
        read_v0_bag(
            &unit,
            &format!("relation {relation}, our unit bag"),
            &mut warnings,
        )
    };
    log_warnings(model, &warnings);
    Ok(set)
}

/// Writes `set` on `relation`: v1 in our app bag; for a requirer that did not announce v1, also
/// v0 in this unit's bag (withdrawn when the set is empty). Writes only what differs.
fn write_set(
    model: &mut Model<'_>,
    relation: &Relation,
    set: &BTreeSet<String>,
) -> Result<(), Error> {
    let version = match &relation.remote_app {
        Some(app) => model
            .relation_data(&relation.id, &BagOwner::App(app.clone()))?
            .get(VERSION_KEY)
            .cloned(),
        None => None,
    };
    // Sorted, as the Python library sorts: both write the same bytes for the same set.
    let pems: Vec<&String> = set.iter().collect();
    let app_bag = model.own_app_bag();
    let mut app_changes = Databag::new();
    app_changes.insert(CERTIFICATES_KEY.to_owned(), to_python_json(&pems));
    app_changes.insert(VERSION_KEY.to_owned(), "1".to_owned());
    write_if_changed(model, &relation.id, &app_bag, app_changes)?;
    if version.as_deref() == Some("1") {
        return Ok(());
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
    write_if_changed(model, &relation.id, &unit_bag, unit_changes)
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
