//! The peer `tls` interface (the reactive `interface-tls` layer, with `layer-tls` behind it):
//! the units of one application get certificates from their leader, no CA charm needed.
//!
//! The interface's three states, and who moves each:
//!
//! ```text
//!  every unit                     leader                            every unit
//!  create certificate    --csr-->  sign certificate     --<unit>_signed_certificate-->  signed certificate
//!  signing request                 signing request                                   available
//!  (key in a unit secret)          (CA in an app secret)                             (cert, key, CA, chain)
//! ```
//!
//! [`PeerTls::reconcile`] does all of it from what the hook sees, on any event: the unit makes
//! its key once (kept in a unit-owned secret), publishes a CSR in its bag under `csr`; the
//! leader makes the application's CA once (kept in an application-owned secret, its certificate
//! published in the application bag), signs each unit's CSR and its own, and publishes each
//! certificate in its unit bag as `<unit>_signed_certificate`, the keys and bags of
//! `interface-tls` (see [`crate::wire::peer_tls`]). [`PeerTls::state`] says where this unit
//! is; in [`UnitState::Available`] the charm reads the [`PeerCertificates`] the reactive layer
//! exposed as `tls.server.certificate`, the easy-rsa key and the CA file.
//!
//! What it keeps across the life of the application:
//! - **Leader change**: the CA is in the application secret, so the new leader signs with it;
//!   it adopts the certificates its predecessor published instead of signing new ones, and
//!   nobody makes a new key. The old leader drops its entries once the new leader's are there.
//! - **Scale**: a new unit is signed when its CSR appears; a departed unit's entry is removed.
//! - **Renewal**: at two thirds of a certificate's life the leader signs the same CSR again
//!   (same key); any leader hook does it, and `update-status` comes every five minutes.
//! - **Bad input**: a malformed CSR, a CSR whose signature its key does not verify, a bad
//!   certificate PEM, a certificate for another key: each is a [`Refusal`] logged naming the
//!   unit and key, returned as [`PeerTlsEvent::Refused`]; every other entry is still served and
//!   the hook does not fail.
//!
//! Certificates are leaves for both TLS server and client authentication (the issuing
//! policy's default), so one certificate serves a unit's listener and its connections to
//! peers: `layer-tls`'s separate client certificate is not needed. The leader signs any CSR a
//! unit of its own application publishes, as `layer-tls` does: the peers are one trust domain.
//! The CA itself is not renewed (ten years by default, [`PeerTls::with_ca_validity`]);
//! certificates never outlive it.

mod authority;
mod key;
mod receive;
mod refusal;
mod request;
mod sign;

use std::collections::BTreeMap;
use std::sync::Arc;

use charm::{BagOwner, Databag, Endpoint, LogLevel, Model, Relation, UnitName};
use pki::{Certificate, Csr, KeyAlgorithm, PrivateKey, RequestAttributes};
use time::{Duration, OffsetDateTime};

pub use refusal::{Refusal, RefusalReason};
pub use sign::SignReason;

use crate::error::Error;
use crate::wire::Warning;
use crate::wire::peer_tls::{self as wire, CA_KEY, CSR_KEY};

/// The peer `tls` interface on one peer endpoint, for this unit.
#[derive(Debug, Clone)]
pub struct PeerTls {
    endpoint: Endpoint,
    request: RequestAttributes,
    key_algorithm: KeyAlgorithm,
    validity: Duration,
    ca_validity: Duration,
}

/// What one reconcile did, in the interface's words.
#[derive(Debug)]
#[non_exhaustive]
pub enum PeerTlsEvent {
    /// This unit published a new CSR: its first, or one for a changed request.
    CsrCreated,
    /// The leader signed a unit's CSR.
    Signed {
        /// The unit.
        unit: UnitName,
        /// Why.
        reason: SignReason,
    },
    /// The new leader took over the certificate an earlier leader published for a unit.
    Adopted {
        /// The unit.
        unit: UnitName,
    },
    /// This unit's certificate is new or changed (the first, a renewal, a changed request):
    /// read it with [`PeerTls::state`].
    CertificateAvailable,
    /// An entry of a peer was refused (also logged).
    Refused(Refusal),
}

/// Where this unit stands.
#[derive(Debug)]
#[non_exhaustive]
pub enum UnitState {
    /// The peer relation does not exist yet.
    NoRelation,
    /// No key or CSR yet ("create certificate signing request"): the next reconcile makes them.
    CreateCsr,
    /// The CSR is published; the leader has not signed it yet, or the CA is not published yet.
    AwaitingSignature {
        /// The published CSR.
        csr: Box<Csr>,
    },
    /// "signed certificate available".
    Available(Box<PeerCertificates>),
}

/// This unit's certificate with what goes with it: the reactive layer's
/// `tls.server.certificate` (and client certificate), its private key, and the CA it installed.
#[derive(Debug)]
pub struct PeerCertificates {
    /// This unit's certificate (server and client authentication).
    pub certificate: Certificate,
    /// Its private key. `Debug` does not print it.
    pub private_key: PrivateKey,
    /// The application's CA certificate: the one trust anchor of the peers.
    pub ca: Certificate,
    /// The chain, leaf first: the certificate, then the CA.
    pub chain: Vec<Certificate>,
}

/// Charm state key of the fingerprint of the last certificate reported available.
fn reported_key(endpoint: &Endpoint) -> String {
    format!("peer-tls.{endpoint}.certificate")
}

impl PeerTls {
    /// The interface on peer endpoint `endpoint`; this unit asks for `request` (its CSR's
    /// subject and SANs; no random unique identifier is added). Defaults: ECDSA P-256 keys,
    /// 90-day certificates, a ten-year CA.
    pub fn new(endpoint: Endpoint, request: RequestAttributes) -> Self {
        Self {
            endpoint,
            request: request::wanted(&request),
            key_algorithm: KeyAlgorithm::EcdsaP256,
            validity: Duration::days(90),
            ca_validity: Duration::days(3650),
        }
    }

    /// The algorithm of the unit keys and of the CA key, when they are made.
    pub fn with_key_algorithm(mut self, algorithm: KeyAlgorithm) -> Self {
        self.key_algorithm = algorithm;
        self
    }

    /// The validity of the certificates the leader signs (renewed at two thirds of it).
    pub fn with_validity(mut self, validity: Duration) -> Self {
        self.validity = validity;
        self
    }

    /// The validity of the CA, when the first leader makes it.
    pub fn with_ca_validity(mut self, validity: Duration) -> Self {
        self.ca_validity = validity;
        self
    }

    /// Moves the interface on from what this hook sees (any event): key and CSR for this unit,
    /// CA and signatures on the leader, the certificate taken up. Refusals are logged.
    pub fn reconcile(&self, model: &mut Model<'_>) -> Result<Vec<PeerTlsEvent>, Error> {
        let Some(relation) = self.relation(model)? else {
            return Ok(Vec::new());
        };
        let mut events = Vec::new();
        let me = model.unit().clone();
        let own = model.own_unit_bag();
        let key = key::ensure(model, self.endpoint.as_str(), self.key_algorithm)?;
        let own_bag = model.relation_data(&relation.id, &own)?;
        let (csr, created) = request::current(
            own_bag.get(CSR_KEY).map(String::as_str),
            &key,
            &self.request,
        )?;
        if created {
            model.set_relation_data(&relation.id, &own, CSR_KEY, csr.pem())?;
            events.push(PeerTlsEvent::CsrCreated);
        }
        let peers = peer_bags(model, &relation)?;
        if model.is_leader()? {
            self.lead(model, &relation, &me, &csr, &own_bag, &peers, &mut events)?;
        } else {
            drop_superseded(model, &relation, &me, &own_bag, &peers)?;
        }
        let (certificate, refusals) = self.receive(model, &relation, &key, Some(&csr), &peers)?;
        events.extend(refusals.into_iter().map(PeerTlsEvent::Refused));
        let fingerprint = certificate
            .as_ref()
            .map(|c| c.info().sha256_fingerprint.clone());
        let reported: Option<String> = model.stored(&reported_key(&self.endpoint))?;
        if fingerprint != reported {
            match &fingerprint {
                Some(f) => model.store(&reported_key(&self.endpoint), f)?,
                None => model.unstore(&reported_key(&self.endpoint)),
            }
            if fingerprint.is_some() {
                events.push(PeerTlsEvent::CertificateAvailable);
            }
        }
        for event in &events {
            if let PeerTlsEvent::Refused(refusal) = event {
                let _ = model.log(
                    LogLevel::Warning,
                    &format!("peer tls on {}: refused {refusal}", self.endpoint),
                );
            }
        }
        Ok(events)
    }

    /// Where this unit stands, read without changing anything.
    pub fn state(&self, model: &mut Model<'_>) -> Result<UnitState, Error> {
        let Some(relation) = self.relation(model)? else {
            return Ok(UnitState::NoRelation);
        };
        let Some(key) = key::read(model, self.endpoint.as_str())? else {
            return Ok(UnitState::CreateCsr);
        };
        let own = model.own_unit_bag();
        let own_bag = model.relation_data(&relation.id, &own)?;
        let Some(csr) = request::still_fits(
            own_bag.get(CSR_KEY).map(String::as_str),
            &key,
            &self.request,
        ) else {
            return Ok(UnitState::CreateCsr);
        };
        let peers = peer_bags(model, &relation)?;
        let (certificate, _) = self.receive(model, &relation, &key, Some(&csr), &peers)?;
        let Some(certificate) = certificate else {
            return Ok(UnitState::AwaitingSignature { csr: Box::new(csr) });
        };
        // `receive` verified the certificate against this CA: it parses.
        let ca = self
            .published_ca(model, &relation)?
            .ok_or_else(|| Error::State("the CA went away while it was read".into()))?;
        Ok(UnitState::Available(Box::new(PeerCertificates {
            chain: vec![certificate.clone(), ca.clone()],
            certificate,
            private_key: key,
            ca,
        })))
    }

    /// The peer relation of the endpoint, if Juju made it yet.
    fn relation(&self, model: &mut Model<'_>) -> Result<Option<Relation>, Error> {
        Ok(model.relations(&self.endpoint)?.into_iter().next())
    }

    /// The leader's part: the CA, its publication, and the signatures.
    #[allow(clippy::too_many_arguments)]
    fn lead(
        &self,
        model: &mut Model<'_>,
        relation: &Relation,
        me: &UnitName,
        csr: &Csr,
        own_bag: &Databag,
        peers: &Bags,
        events: &mut Vec<PeerTlsEvent>,
    ) -> Result<(), Error> {
        let now = now(model)?;
        let common_name = format!("{} peer CA", model.app());
        let ca = authority::ensure(
            model,
            self.endpoint.as_str(),
            &authority::CaSpec {
                common_name: &common_name,
                algorithm: self.key_algorithm,
                validity: self.ca_validity,
            },
            now,
        )?;
        let app = model.own_app_bag();
        let ca_pem = ca.certificate().pem().trim().to_owned();
        let published = model.relation_data(&relation.id, &app)?;
        if published.get(CA_KEY) != Some(&ca_pem) {
            model.set_relation_data(&relation.id, &app, CA_KEY, &ca_pem)?;
        }
        let mut warnings = Vec::new();
        let mut csrs: BTreeMap<UnitName, Option<String>> =
            BTreeMap::from([(me.clone(), Some(csr.pem().to_owned()))]);
        let mut others = Vec::new();
        for (unit, bag) in peers {
            csrs.insert(unit.clone(), bag.get(CSR_KEY).cloned());
            others.push(wire::signed_certificates(
                bag,
                &location(relation, unit),
                &mut warnings,
            ));
        }
        let view = sign::LeaderView {
            ca: &ca,
            now,
            validity: self.validity,
            csrs,
            own: wire::signed_certificates(own_bag, &location(relation, me), &mut warnings),
            others,
        };
        let plan = sign::plan(&view)?;
        let updates = sign::bag_updates(&plan);
        if !updates.is_empty() {
            model.update_relation_data(&relation.id, &model.own_unit_bag(), &updates)?;
        }
        log_warnings(model, &warnings);
        events.extend(
            plan.signed
                .into_iter()
                .map(|(unit, reason)| PeerTlsEvent::Signed { unit, reason }),
        );
        events.extend(
            plan.adopted
                .into_iter()
                .map(|unit| PeerTlsEvent::Adopted { unit }),
        );
        events.extend(plan.refusals.into_iter().map(PeerTlsEvent::Refused));
        Ok(())
    }

    /// This unit's certificate among every bag's entries for it, and the entries refused.
    fn receive(
        &self,
        model: &mut Model<'_>,
        relation: &Relation,
        key: &PrivateKey,
        csr: Option<&Csr>,
        peers: &Bags,
    ) -> Result<(Option<Certificate>, Vec<Refusal>), Error> {
        let me = model.unit().clone();
        let ca = match self.published_ca(model, relation) {
            Ok(Some(ca)) => ca,
            Ok(None) => return Ok((None, Vec::new())),
            Err(Error::Pki(e)) => {
                let refusal = Refusal {
                    unit: me,
                    location: format!("application bag, key {CA_KEY}"),
                    reason: RefusalReason::BadCa(e),
                };
                return Ok((None, vec![refusal]));
            }
            Err(e) => return Err(e),
        };
        let own = model.relation_data(&relation.id, &model.own_unit_bag())?;
        let key_name = wire::signed_certificate_key(&me);
        let offers: Vec<receive::Offer<'_>> = std::iter::once((&me, &own))
            .chain(peers)
            .filter_map(|(from, bag)| {
                bag.get(&key_name)
                    .filter(|v| !v.is_empty())
                    .map(|pem| receive::Offer { from, pem })
            })
            .collect();
        Ok(receive::choose(&me, key, csr, &ca, now(model)?, &offers))
    }

    /// The CA certificate of the application bag, if published.
    fn published_ca(
        &self,
        model: &mut Model<'_>,
        relation: &Relation,
    ) -> Result<Option<Certificate>, Error> {
        let app = model.own_app_bag();
        let bag = model.relation_data(&relation.id, &app)?;
        match bag.get(CA_KEY).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(pem) => Ok(Some(Certificate::from_pem(pem)?)),
        }
    }
}

/// Every other unit's bag on the relation, by unit.
type Bags = BTreeMap<UnitName, Arc<Databag>>;

/// Every other unit's bag on the relation.
fn peer_bags(model: &mut Model<'_>, relation: &Relation) -> Result<Bags, Error> {
    let mut bags = BTreeMap::new();
    for unit in &relation.units {
        let bag = model.relation_data(&relation.id, &BagOwner::Unit(unit.clone()))?;
        bags.insert(unit.clone(), bag);
    }
    Ok(bags)
}

/// A non-leader publishes no certificates: entries it wrote while it led are removed once
/// another bag (the new leader's) holds one for the same unit, or the unit has left. Until
/// then they stay, so a unit never goes without a certificate between two leaders.
fn drop_superseded(
    model: &mut Model<'_>,
    relation: &Relation,
    me: &UnitName,
    own_bag: &Databag,
    peers: &Bags,
) -> Result<(), Error> {
    let mut warnings = Vec::new();
    let mine = wire::signed_certificates(own_bag, &location(relation, me), &mut warnings);
    let mut updates = BTreeMap::new();
    for unit in mine.keys() {
        let key = wire::signed_certificate_key(unit);
        let present = unit == me || peers.contains_key(unit);
        let elsewhere = peers
            .values()
            .any(|bag| bag.get(&key).is_some_and(|v| !v.is_empty()));
        if !present || elsewhere {
            updates.insert(key, String::new());
        }
    }
    if !updates.is_empty() {
        model.update_relation_data(&relation.id, &model.own_unit_bag(), &updates)?;
    }
    Ok(())
}

fn location(relation: &Relation, unit: &UnitName) -> String {
    format!("relation {}, unit {unit}", relation.id)
}

fn log_warnings(model: &mut Model<'_>, warnings: &[Warning]) {
    for w in warnings {
        let _ = model.log(LogLevel::Warning, &format!("peer tls: skipped {w}"));
    }
}

fn now(model: &Model<'_>) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp(model.now())
        .map_err(|e| Error::State(format!("the model's clock is out of range: {e}")))
}

#[cfg(test)]
mod tests;
