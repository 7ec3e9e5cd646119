//! The reactive `tls-certificates` wire, served when the option `reactive-wire` is on: for
//! charms built on the reactive `tls-client` layer, which send no CSR but ask by common name.
//! **The CA then makes their private keys and sends them over the relation** (in this unit's
//! databag, readable by every unit of the requiring application, stored by the controller):
//! the weakness the current wire removed. Off by default.
//!
//! Per requiring unit, the wire is told from what the unit wrote
//! ([`is_reactive_requirer`](tls_interfaces::wire::reactive::is_reactive_requirer)): reactive
//! keys and no `certificate_signing_requests`. A relation may mix both kinds of units; the
//! current wire is served as before and the reactive units get, in the leader's unit bag:
//! `ca` and `chain` (the CA certificate: our leaves are issued by the root directly, so the
//! chain above a leaf is the root), their server, client and application certificates with
//! their keys. Intermediate CA requests are refused (a CA key would travel too).
//!
//! Keys live in an application-owned secret ([`keys`]); certificates are read back from what
//! this unit published ([`issue`]), so every hook is idempotent and a leader change re-keys
//! nobody. A bad key of a requirer's bag is refused by name in the log ([`requests`]); nothing
//! else is dropped and the hook does not fail.
//!
//! Cost: with the option on, every leader hook reads every unit bag of every `certificates`
//! relation (the current wire reads only the bag that changed). It is a compatibility mode.

pub mod issue;
pub mod keys;
pub mod requests;

use std::collections::{BTreeMap, BTreeSet};

use charm::{Databag, Endpoint, HandlerError, LogLevel, Model};
use pki::CertificateAuthority;
use time::{Duration, OffsetDateTime};
use tls_interfaces::wire::reactive::{
    self, APP_DATA, CA_KEY, CHAIN_KEY, IssuedPair, ProviderBag, RequestType,
};

use self::issue::Issuing;
use self::keys::KeyStore;
use self::requests::{Refusal, Requirer, Wanted};

/// Charm-state key: this unit has reactive keys in its unit bags (so a later hook withdraws
/// them when the option goes off or another unit leads; nothing is read when it is absent).
const PUBLISHED: &str = "reactive-wire-published";
/// Charm-state key: the refusals last logged, so each is logged once, not every hook.
const REFUSED: &str = "reactive-wire-refused";

/// What a reconcile served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Served {
    /// Requiring units on the reactive wire.
    pub units: usize,
    /// Certificates they hold (with keys made here).
    pub certificates: usize,
    /// Requests or keys refused.
    pub refused: usize,
}

impl Served {
    /// For the unit status: empty when no unit speaks the reactive wire.
    pub fn summary(&self) -> String {
        match self.units {
            0 => String::new(),
            n => format!(
                "; reactive wire: {} certificates for {n} unit(s), keys made here{}",
                self.certificates,
                match self.refused {
                    0 => String::new(),
                    r => format!(", {r} refused (see the log)"),
                }
            ),
        }
    }
}

/// Serves every reactive requirer of `endpoint` from `ca`. Leader only.
pub fn serve(
    model: &mut Model<'_>,
    endpoint: &Endpoint,
    ca: &CertificateAuthority,
    validity: Duration,
    now: OffsetDateTime,
) -> Result<Served, HandlerError> {
    let issuing = Issuing { ca, validity, now };
    let ca_pem = ca.certificate().pem().trim().to_owned();
    let mut keys = KeyStore::load(model)?;
    let mut served = Served::default();
    let mut refusals: Vec<Refusal> = Vec::new();
    let mut published = false;
    for relation in model.relations(endpoint)? {
        let read = requests::read(model, &relation)?;
        refusals.extend(read.refusals.iter().cloned());
        let own = model.own_unit_bag();
        let current = model.relation_data(&relation.id, &own)?;
        let mut wanted = Databag::new();
        if !read.requirers.is_empty() {
            wanted.insert(CA_KEY.into(), ca_pem.clone());
            wanted.insert(CHAIN_KEY.into(), ca_pem.clone());
        }
        let rel = relation.id.to_string();
        let application = match &read.application {
            Some(w) => {
                let app = relation
                    .remote_app
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let first = read.requirers.iter().find(|r| r.wants_application);
                let published =
                    first.and_then(|r| ProviderBag::parse([&*current], &r.wire_name).0.application);
                let id = format!("{rel}\0{app}\0application");
                answer(&issuing, &mut keys, &id, w, published.as_ref())
                    .map_err(|reason| {
                        if let Some(r) = first {
                            refusals.push(refusal(&rel, r, w, &reason));
                        }
                    })
                    .ok()
            }
            None => None,
        };
        for r in &read.requirers {
            served.units += 1;
            let (seen, _) = ProviderBag::parse([&*current], &r.wire_name);
            let mut processed: BTreeMap<RequestType, BTreeMap<String, IssuedPair>> =
                BTreeMap::new();
            for w in &r.wanted {
                let id = format!("{rel}\0{}\0{}\0{}", r.wire_name, w.kind, w.common_name);
                let before = seen.answer(w.kind, &w.common_name, w.top_level);
                let pair = match answer(&issuing, &mut keys, &id, w, before) {
                    Ok(p) => p,
                    Err(reason) => {
                        refusals.push(refusal(&rel, r, w, &reason));
                        continue;
                    }
                };
                served.certificates += 1;
                if w.top_level {
                    let (cert_key, key_key) = reactive::server_keys(&r.wire_name);
                    wanted.insert(cert_key, pair.cert);
                    wanted.insert(key_key, pair.key.as_str().to_owned());
                } else {
                    processed
                        .entry(w.kind)
                        .or_default()
                        .insert(w.common_name.clone(), pair);
                }
            }
            if let (true, Some(pair)) = (r.wants_application, &application) {
                served.certificates += 1;
                processed
                    .entry(RequestType::Application)
                    .or_default()
                    .insert(APP_DATA.into(), pair.clone());
            }
            for (kind, entries) in processed {
                wanted.insert(
                    kind.processed_key(&r.wire_name),
                    reactive::processed_value(&entries),
                );
            }
        }
        published |= !wanted.is_empty();
        let changes = changes(&current, &wanted);
        if !changes.is_empty() {
            model.update_relation_data(&relation.id, &own, &changes)?;
        }
    }
    keys.save(model)?;
    if published {
        model.store(PUBLISHED, &true)?;
    } else {
        model.unstore(PUBLISHED);
    }
    served.refused = refusals.len();
    log_refusals(model, &refusals)?;
    Ok(served)
}

/// Withdraws what this unit published on the reactive wire (the option went off, or another
/// unit leads now) and, on the leader, removes the keys' secret. Free when nothing was
/// published.
pub fn withdraw(model: &mut Model<'_>, endpoint: &Endpoint) -> Result<(), HandlerError> {
    if model.stored::<bool>(PUBLISHED).ok().flatten().is_none() {
        return Ok(());
    }
    for id in model.relation_ids(endpoint)? {
        let own = model.own_unit_bag();
        let current = model.relation_data(&id, &own)?;
        let changes = changes(&current, &Databag::new());
        if !changes.is_empty() {
            model.update_relation_data(&id, &own, &changes)?;
        }
    }
    if model.is_leader()? {
        keys::remove(model)?;
        let _ = model.log(
            LogLevel::Info,
            "reactive wire off: certificates and keys withdrawn from the relations, the keys' secret removed",
        );
    }
    model.unstore(PUBLISHED);
    model.unstore(REFUSED);
    Ok(())
}

/// The key, then the answer (published or new) for one request.
fn answer(
    issuing: &Issuing<'_>,
    keys: &mut KeyStore,
    id: &str,
    wanted: &Wanted,
    published: Option<&IssuedPair>,
) -> Result<IssuedPair, String> {
    let (key, _) = keys.key_for(id).map_err(|e| e.to_string())?;
    issue::answer(issuing, wanted, &key, published).map(|(pair, _)| pair)
}

fn refusal(relation: &str, r: &Requirer, w: &Wanted, reason: &str) -> Refusal {
    let key = if w.top_level {
        reactive::COMMON_NAME_KEY
    } else {
        w.kind.requests_key()
    };
    Refusal {
        unit: r.unit.to_string(),
        relation: relation.to_owned(),
        reason: format!("key '{key}', common name '{}': {reason}", w.common_name),
    }
}

/// The writes that make the reactive keys of `current` equal to `wanted`: changed values, and
/// reactive keys no longer wanted deleted. Other keys (Juju's addresses) are left alone.
fn changes(current: &Databag, wanted: &Databag) -> Databag {
    let mut out: Databag = wanted
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for k in current.keys() {
        if reactive::is_provider_key(k) && !wanted.contains_key(k) {
            out.insert(k.clone(), String::new());
        }
    }
    out
}

/// Logs each refusal once (as long as it lasts), as a warning naming unit and key.
fn log_refusals(model: &mut Model<'_>, refusals: &[Refusal]) -> Result<(), HandlerError> {
    let now: BTreeSet<String> = refusals.iter().map(ToString::to_string).collect();
    let before: BTreeSet<String> = model.stored(REFUSED).ok().flatten().unwrap_or_default();
    for line in now.difference(&before) {
        model.log(LogLevel::Warning, line)?;
    }
    if now.is_empty() {
        model.unstore(REFUSED);
    } else if now != before {
        model.store(REFUSED, &now)?;
    }
    Ok(())
}
