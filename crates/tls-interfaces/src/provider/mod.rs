//! The `tls-certificates` provider: requests from every related unit and app, the certificates
//! and errors we publish, and a helper that signs everything outstanding.
//!
//! Work happens on a [`ProviderState`] loaded once per hook ([`TlsProvider::load`]); changes are
//! made in memory and [`TlsProvider::commit`] writes each relation's app bag **once**, whatever
//! the number of certificates (the Python library rewrites the whole list once per certificate,
//! which makes one hook with N requests cost O(N²)).
//!
//! The work of a hook is bounded whatever a requirer writes:
//! - [`Limits`] are checked before parsing: a value, a bag, a CSR or its SANs over a cap is
//!   answered with a request error naming the cap;
//! - a request already answered (a certificate, or an error) is not looked at again until
//!   something that could change the answer changes: its CSR, the CA, the policy, the validity
//!   or the limit, or freed room under the per-relation limit;
//! - a CSR's signature is verified once (a cache of SHA-256 digests of verified DER, kept in the
//!   charm state) and certificates and errors are indexed by the DER of their CSR;
//! - a malformed entry is warned about when it appears or changes, not on every hook.
//!
//! A request that cannot be read or verified, or that the issuing policy refuses, is answered
//! with a request error (code 999) naming the reason, never with a certificate.

mod limits;
mod memory;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use charm::context::Dispatch;
use charm::{AppName, BagOwner, Databag, Endpoint, LogLevel, Model, RelationId, UnitName};
use pki::{Certificate, CertificateAuthority, CertificateKind, Csr, IssueRequest, IssuingPolicy};
use time::{Duration, OffsetDateTime};

use self::limits::{Cap, scan_csrs};
pub use self::limits::{
    DEFAULT_MAX_CSR_BYTES, DEFAULT_MAX_REQUESTS_PER_BAG, DEFAULT_MAX_SANS, DEFAULT_MAX_VALUE_BYTES,
    Limits,
};
use self::memory::{
    BagIndex, Memory, RelationIndex, digest, published_digest, sha256, value_digest,
};
use crate::error::{Error, Misuse};
use crate::json::to_python_json;
use crate::security_log::SecurityEvent;
use crate::wire::tls_certificates::{
    CAPABILITIES_KEY, CERTIFICATES_KEY, CSRS_KEY, Capabilities, CertificateEntry, ErrorBody,
    ErrorCode, REQUEST_ERRORS_KEY, RequestEntry, RequestErrorEntry,
};
use crate::wire::{Warning, csr_der, read_list, read_value};

/// `reason` of the error answering a request over the per-relation limit: such a request is
/// judged again when room frees up.
const LIMIT_REASON: &str = "certificate-limit";
/// Digests of warnings given that partial reads keep, at most (a full read replaces them).
const MAX_WARNED: usize = 10_000;
/// `reason` of the error answering a request that is not a CSR or does not verify.
const BAD_CSR_REASON: &str = "bad-csr";

/// The provider side of one `tls-certificates` endpoint.
#[derive(Debug, Clone)]
pub struct TlsProvider {
    endpoint: Endpoint,
    limits: Limits,
}

/// A request that is refused without being signed: over a cap, or not a PEM CSR.
#[derive(Debug, Clone)]
pub struct BadRequest {
    /// The relation it came on.
    pub relation: RelationId,
    /// Whose bag holds it.
    pub requester: BagOwner,
    /// The CSR text as written (the identity used when answering with an error).
    pub csr_text: String,
    /// Why it was refused.
    pub reason: String,
    /// The cap it is over (`None`: not a PEM CSR).
    cap: Option<Cap>,
}

/// The identity of a request: SHA-256 of the DER of its CSR or, for text that is not a PEM CSR,
/// of the text itself (tagged, so the two never collide).
type Key = [u8; 32];

fn key_of_text(text: &str) -> Key {
    match csr_der(text) {
        Some(der) => sha256(&der),
        None => {
            let mut k = b"\0text:".to_vec();
            k.extend_from_slice(text.trim().as_bytes());
            sha256(&k)
        }
    }
}

/// A well-formed request without a valid certificate, not yet verified.
#[derive(Debug, Clone)]
struct Candidate {
    requester: BagOwner,
    text: String,
    key: Key,
    is_ca: bool,
}

#[derive(Debug)]
struct RelationState {
    id: RelationId,
    remote_app: Option<AppName>,
    /// Everything asked for this hook (well-formed or not), by key, with who asked and whether
    /// for a CA certificate.
    wanted: HashMap<Key, (BagOwner, bool)>,
    /// What each requirer bag asks for (persisted: the next hook's index).
    index: RelationIndex,
    /// Well-formed requests without a valid certificate, in bag order.
    candidates: Vec<Candidate>,
    /// Requests refused at read time (caps, not PEM).
    refused: Vec<BadRequest>,
    /// Our published certificates; `None` marks one removed this hook.
    certificates: Vec<Option<CertificateEntry>>,
    /// Key of each certificate's CSR -> index in `certificates`.
    certificate_index: HashMap<Key, usize>,
    /// Our published errors; `None` marks one removed this hook.
    errors: Vec<Option<RequestErrorEntry>>,
    /// Key of each error's CSR -> index in `errors`.
    error_index: HashMap<Key, usize>,
    capabilities: Option<Capabilities>,
    /// Digests of our bag's certificates and errors values (for [`RelationIndex::published`]):
    /// as read, then as written.
    published_certificates: String,
    published_errors: String,
    certificates_changed: bool,
    errors_changed: bool,
    capabilities_changed: bool,
    /// Our bag, not parsed: the relation is as the index describes it and settled (nothing to
    /// do), so its certificates and errors are parsed only if something asks for them; `index`
    /// then holds the index as read.
    untouched: Option<Arc<Databag>>,
}

impl RelationState {
    fn new(id: RelationId, remote_app: Option<AppName>) -> Self {
        RelationState {
            index: RelationIndex {
                remote_app: remote_app.as_ref().map(ToString::to_string),
                ..RelationIndex::default()
            },
            id,
            remote_app,
            wanted: HashMap::new(),
            candidates: Vec::new(),
            refused: Vec::new(),
            certificates: Vec::new(),
            certificate_index: HashMap::new(),
            published_certificates: String::new(),
            published_errors: String::new(),
            errors: Vec::new(),
            error_index: HashMap::new(),
            capabilities: None,
            certificates_changed: false,
            errors_changed: false,
            capabilities_changed: false,
            untouched: None,
        }
    }

    /// Parses an untouched relation: our certificates and errors from the bag kept at load,
    /// the requests from the index (validated at load).
    fn materialize(&mut self, warnings: &mut Vec<Warning>, keys: &mut Vec<String>) {
        let Some(bag) = self.untouched.take() else {
            return;
        };
        let known = std::mem::replace(
            &mut self.index,
            RelationIndex {
                remote_app: self.remote_app.as_ref().map(ToString::to_string),
                ..RelationIndex::default()
            },
        );
        parse_own_lists(&bag, self, warnings, keys);
        // The index was checked when loaded (settled, keys and names well formed), so every
        // request has its answer here.
        for (unit, bag) in &known.units {
            if let Ok(unit) = unit.parse::<UnitName>() {
                let _ = from_index(self, &BagOwner::Unit(unit), bag);
            }
        }
        if let Some(app) = self.remote_app.clone() {
            let _ = from_index(self, &BagOwner::App(app), &known.app);
        }
    }

    /// Whether the relation is settled (see [`RelationIndex::settled`]).
    fn is_settled(&self) -> bool {
        if self.untouched.is_some() {
            return self.index.settled;
        }
        let answered = |key: &Key| self.has_valid_certificate(key) || self.error_for(key).is_some();
        self.certificate_index
            .keys()
            .chain(self.error_index.keys())
            .all(|k| self.wanted.contains_key(k))
            && self.wanted.keys().all(answered)
            && !self
                .errors
                .iter()
                .flatten()
                .any(|e| e.error.reason.as_deref() == Some(LIMIT_REASON))
    }

    /// Published, non-revoked certificates.
    fn issued_count(&self) -> usize {
        if self.untouched.is_some() {
            return self.index.issued;
        }
        self.live_certificates()
            .filter(|c| c.revoked != Some(true))
            .count()
    }

    /// The `ca` of the published, non-revoked certificates, once each, in order.
    fn issuing_cas(&self) -> Vec<String> {
        if self.untouched.is_some() {
            return self.index.cas.clone();
        }
        let mut seen = BTreeSet::new();
        self.live_certificates()
            .filter(|c| c.revoked != Some(true))
            .map(|c| c.ca.trim())
            .filter(|ca| seen.insert(*ca))
            .map(ToOwned::to_owned)
            .collect()
    }

    fn live_certificates(&self) -> impl Iterator<Item = &CertificateEntry> {
        self.certificates.iter().flatten()
    }

    fn certificate_for(&self, key: &Key) -> Option<&CertificateEntry> {
        self.certificate_index
            .get(key)
            .and_then(|i| self.certificates[*i].as_ref())
    }

    fn error_for(&self, key: &Key) -> Option<&RequestErrorEntry> {
        self.error_index
            .get(key)
            .and_then(|i| self.errors[*i].as_ref())
    }

    fn has_valid_certificate(&self, key: &Key) -> bool {
        self.certificate_for(key)
            .is_some_and(|c| c.revoked != Some(true))
    }

    fn remove_error(&mut self, key: &Key) {
        if let Some(i) = self.error_index.remove(key) {
            self.errors[i] = None;
            self.errors_changed = true;
        }
    }

    fn remove_certificate(&mut self, key: &Key) -> bool {
        match self.certificate_index.remove(key) {
            Some(i) => {
                self.certificates[i] = None;
                self.certificates_changed = true;
                true
            }
            None => false,
        }
    }

    /// Records that `requester` asks for `key` (for the index and the "still wanted" checks).
    fn want(&mut self, requester: &BagOwner, key: Key, is_ca: bool) {
        self.wanted.insert(key, (requester.clone(), is_ca));
        let entry = (hex::encode(key), is_ca);
        match requester {
            BagOwner::Unit(u) => self
                .index
                .units
                .entry(u.to_string())
                .or_default()
                .push(entry),
            BagOwner::App(_) => self.index.app.push(entry),
        }
    }
}

/// What one hook knows of every relation of the endpoint, changed in memory, written once.
#[derive(Debug)]
pub struct ProviderState {
    endpoint: String,
    limits: Limits,
    relations: Vec<RelationState>,
    warnings: Vec<Warning>,
    /// Digest of each warning (with the value it is about), to warn once per appearance.
    warning_keys: Vec<String>,
    security_events: Vec<SecurityEvent>,
    memory: Memory,
    leader: bool,
    /// Bags read this hook (requirer bags; the rest came from the index).
    bags_read: usize,
    /// Whether some bags came from the index (their warnings were not given again this hook).
    partial: bool,
}

/// An issued certificate as the provider publishes it.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    /// The relation it is published on.
    pub relation: RelationId,
    /// The requirer application.
    pub remote_app: Option<AppName>,
    /// Whose bag holds the request it answers (`None` if the request is gone).
    pub requester: Option<BagOwner>,
    /// The wire entry.
    pub entry: CertificateEntry,
}

/// What signing the outstanding requests did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SignReport {
    /// Certificates issued.
    pub issued: usize,
    /// Requests answered with a new error (bad CSR, over a cap or the limit, refused by policy).
    pub refused: usize,
    /// CSR signatures verified in this hook (the others came from the cache or needed none).
    pub verified: usize,
}

/// How to sign: the issuing CA, the certificates above it, the policy and the validity.
#[derive(Debug)]
pub struct Signer<'a> {
    /// The CA that signs.
    pub ca: &'a CertificateAuthority,
    /// The CA's issuers, from its parent up to the root (empty for a root CA). The chain we
    /// publish is the leaf, the CA, then these; `ca` on the wire is the last of them (the root).
    pub issuers: &'a [Certificate],
    /// What the certificates may contain.
    pub policy: &'a IssuingPolicy,
    /// Validity of issued certificates.
    pub validity: Duration,
    /// The time of issuance (the virtual clock under the local model).
    pub now: OffsetDateTime,
    /// Name put in request errors (`provider` field).
    pub provider_name: &'a str,
    /// Most certificates published per relation (`None`: no limit). Requests beyond it get an
    /// error saying so, with `limit_hint` (how an operator raises it).
    pub limit_per_relation: Option<usize>,
    /// How to raise the limit, quoted in the error.
    pub limit_hint: &'a str,
}

impl Signer<'_> {
    /// What the answers depend on, besides the CSR: when it changes, refusals are judged again.
    fn fingerprint(&self) -> String {
        let mut text = Vec::new();
        text.extend_from_slice(self.ca.certificate().der());
        for c in self.issuers {
            text.extend_from_slice(c.der());
        }
        text.extend_from_slice(
            format!(
                "|{:?}|{}|{:?}|{}",
                self.policy,
                self.validity.whole_seconds(),
                self.limit_per_relation,
                self.provider_name
            )
            .as_bytes(),
        );
        digest(&text)
    }
}

/// The index could not be used (it names something unreadable, or a request with no answer to
/// take its text from): read everything instead.
struct Suspect;

impl TlsProvider {
    /// A provider for `endpoint`, with the default [`Limits`].
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            limits: Limits::default(),
        }
    }

    /// The same provider with other caps.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Reads what the hook needs: our published certificates, errors and capabilities, and the
    /// requests (checked against the caps, not yet verified). In a `relation-changed`,
    /// `-joined` or `-departed` hook of this endpoint on the leader, only the bag that changed
    /// (`JUJU_REMOTE_UNIT`) and the remote application bag are read; the other bags come from
    /// the index kept in the charm state, and relations nothing touched are not parsed.
    /// Everything is read when there is no usable index.
    /// On a non-leader only the requests are read (the app bag is the leader's).
    pub fn load(&self, model: &mut Model<'_>) -> Result<ProviderState, Error> {
        self.load_with(model, true)
    }

    /// [`Self::load`], reading every bag whatever the hook: for hooks where the index may not
    /// tell the whole story (the CA changes, every request is judged again).
    pub fn load_full(&self, model: &mut Model<'_>) -> Result<ProviderState, Error> {
        self.load_with(model, false)
    }

    fn load_with(&self, model: &mut Model<'_>, incremental: bool) -> Result<ProviderState, Error> {
        let leader = model.is_leader()?;
        let endpoint = self.endpoint.as_str().to_owned();
        let mut memory = if leader {
            Memory::load(model, &endpoint)
        } else {
            Memory::default()
        };
        let index = memory.index.take();
        let changed = if incremental && leader {
            self.changed_bag(model)
        } else {
            None
        };
        if let (Some((relation, unit)), Some(index)) = (changed, index) {
            let mut loader = Loader::new(self.limits, leader);
            if loader
                .incremental(model, &self.endpoint, &relation, unit.as_ref(), &index)?
                .is_ok()
            {
                return Ok(loader.finish(endpoint, memory, true));
            }
        }
        let mut loader = Loader::new(self.limits, leader);
        for relation in model.relations(&self.endpoint)? {
            let mut state = RelationState::new(relation.id.clone(), relation.remote_app.clone());
            if leader {
                loader.read_own(model, &mut state)?;
            }
            for unit in &relation.units {
                loader.read_bag(model, &mut state, &BagOwner::Unit(unit.clone()))?;
            }
            if let Some(app) = &relation.remote_app {
                loader.read_bag(model, &mut state, &BagOwner::App(app.clone()))?;
            }
            loader.relations.push(state);
        }
        Ok(loader.finish(endpoint, memory, false))
    }

    /// The relation and unit of a relation hook of this endpoint, when it is one.
    fn changed_bag(&self, model: &Model<'_>) -> Option<(RelationId, Option<UnitName>)> {
        let ctx = model.context();
        let Dispatch::Hook(name) = &ctx.dispatch else {
            return None;
        };
        let relation = ctx.relation.as_ref()?;
        let hook = [
            "-relation-changed",
            "-relation-joined",
            "-relation-departed",
        ]
        .iter()
        .any(|suffix| name.ends_with(suffix));
        (hook && relation.id.endpoint() == &self.endpoint)
            .then(|| (relation.id.clone(), relation.remote_unit.clone()))
    }

    /// Writes what changed: one `relation-set` per relation (only the changed keys), then the
    /// warnings not given before and the security events, each kind in one `juju-log` call.
    pub fn commit(&self, model: &mut Model<'_>, mut state: ProviderState) -> Result<(), Error> {
        let own_app = model.own_app_bag();
        for relation in &mut state.relations {
            let mut changes = Databag::new();
            if relation.certificates_changed {
                let live: Vec<&CertificateEntry> = relation.live_certificates().collect();
                changes.insert(
                    CERTIFICATES_KEY.to_owned(),
                    if live.is_empty() {
                        String::new()
                    } else {
                        to_python_json(&live)
                    },
                );
            }
            if relation.errors_changed {
                let live: Vec<&RequestErrorEntry> = relation.errors.iter().flatten().collect();
                let value = if live.is_empty() {
                    String::new()
                } else {
                    to_python_json(&live)
                };
                changes.insert(REQUEST_ERRORS_KEY.to_owned(), value);
            }
            if let Some(v) = changes.get(CERTIFICATES_KEY) {
                relation.published_certificates = value_digest(v.as_bytes());
            }
            if let Some(v) = changes.get(REQUEST_ERRORS_KEY) {
                relation.published_errors = value_digest(v.as_bytes());
            }
            relation.index.published = Some(published_digest(
                &relation.published_certificates,
                &relation.published_errors,
            ));
            if relation.untouched.is_none() {
                relation.index.settled = relation.is_settled();
                relation.index.issued = relation.issued_count();
                relation.index.cas = relation.issuing_cas();
            }
            if relation.capabilities_changed {
                let value = relation
                    .capabilities
                    .as_ref()
                    .map(to_python_json)
                    .unwrap_or_default();
                changes.insert(CAPABILITIES_KEY.to_owned(), value);
            }
            if !changes.is_empty() {
                if !state.leader {
                    return Err(Error::NotLeader("publish certificates"));
                }
                model.update_relation_data(&relation.id, &own_app, &changes)?;
            }
        }
        let asked = state.request_count();
        let mut memory = state.memory;
        let fresh: Vec<String> = state
            .warnings
            .iter()
            .zip(&state.warning_keys)
            .filter(|(_, key)| !memory.warned.contains(*key))
            .map(|(w, _)| format!("skipping bad relation data: {w}"))
            .collect();
        if !fresh.is_empty() {
            let _ = model.log(LogLevel::Warning, &fresh.join("\n"));
        }
        crate::security_log::log_many(model, &state.security_events);
        if state.leader {
            // After a partial read, the warnings about bags not read this hook stay given (so a
            // value that turns bad again before the next full read is not warned about twice;
            // the next full read starts afresh). Bounded whatever a requirer writes.
            if !state.partial || memory.warned.len() > MAX_WARNED {
                memory.warned.clear();
            }
            memory.warned.extend(state.warning_keys);
            // Keep the cache to what is still asked for (bounded by the caps).
            if memory.verified.len() > 2 * asked + 64 {
                let mut live: HashSet<String> = HashSet::new();
                for r in &state.relations {
                    live.extend(r.wanted.keys().map(hex::encode));
                    if r.untouched.is_some() {
                        live.extend(r.index.request_keys().cloned());
                    }
                }
                memory.verified.retain(|d| live.contains(d));
            }
            memory.index = Some(
                state
                    .relations
                    .into_iter()
                    .map(|r| (r.id.to_string(), r.index))
                    .collect(),
            );
            memory.save(model, &state.endpoint)?;
        }
        Ok(())
    }
}

/// Reads relations into [`RelationState`]s, with the warnings found.
struct Loader {
    limits: Limits,
    leader: bool,
    relations: Vec<RelationState>,
    warnings: Vec<Warning>,
    /// Digest of each warning with the value it is about.
    keys: Vec<String>,
    bags_read: usize,
}

impl Loader {
    fn new(limits: Limits, leader: bool) -> Self {
        Self {
            limits,
            leader,
            relations: Vec::new(),
            warnings: Vec::new(),
            keys: Vec::new(),
            bags_read: 0,
        }
    }

    fn finish(self, endpoint: String, memory: Memory, partial: bool) -> ProviderState {
        ProviderState {
            partial,
            endpoint,
            limits: self.limits,
            relations: self.relations,
            warnings: self.warnings,
            warning_keys: self.keys,
            security_events: Vec::new(),
            memory,
            leader: self.leader,
            bags_read: self.bags_read,
        }
    }

    /// Reads only the changed bag and the remote app bag of `changed`, new relations and new
    /// units; the rest comes from `index`. `Ok(Err(Suspect))`: the index cannot be trusted.
    fn incremental(
        &mut self,
        model: &mut Model<'_>,
        endpoint: &Endpoint,
        changed: &RelationId,
        changed_unit: Option<&UnitName>,
        index: &std::collections::BTreeMap<String, RelationIndex>,
    ) -> Result<Result<(), Suspect>, Error> {
        for id in model.relation_ids(endpoint)? {
            let Some(known) = index.get(&id.to_string()) else {
                // A relation the index does not know: read it all.
                let relation = model.relation(&id)?;
                let mut state = RelationState::new(id, relation.remote_app.clone());
                self.read_own(model, &mut state)?;
                for unit in &relation.units {
                    self.read_bag(model, &mut state, &BagOwner::Unit(unit.clone()))?;
                }
                if let Some(app) = &relation.remote_app {
                    self.read_bag(model, &mut state, &BagOwner::App(app.clone()))?;
                }
                self.relations.push(state);
                continue;
            };
            if &id == changed {
                let relation = model.relation(&id)?;
                let mut state = RelationState::new(id, relation.remote_app.clone());
                self.read_own(model, &mut state)?;
                if !self.published_as_indexed(&state, known) {
                    return Ok(Err(Suspect));
                }
                for unit in &relation.units {
                    let owner = BagOwner::Unit(unit.clone());
                    match known.units.get(&unit.to_string()) {
                        Some(bag) if Some(unit) != changed_unit => {
                            if from_index(&mut state, &owner, bag).is_err() {
                                return Ok(Err(Suspect));
                            }
                        }
                        _ => self.read_bag(model, &mut state, &owner)?,
                    }
                }
                // The app bag is read in every event of the relation: data an application wrote
                // before this unit was in scope may come with no event of its own.
                if let Some(app) = &relation.remote_app {
                    self.read_bag(model, &mut state, &BagOwner::App(app.clone()))?;
                }
                self.relations.push(state);
                continue;
            }
            let remote_app = match &known.remote_app {
                Some(a) => match a.parse::<AppName>() {
                    Ok(a) => Some(a),
                    Err(_) => return Ok(Err(Suspect)),
                },
                None => None,
            };
            let mut state = RelationState::new(id, remote_app.clone());
            let Some(own) = self.fetch_own(model, &mut state)? else {
                return Ok(Err(Suspect));
            };
            if !self.published_as_indexed(&state, known) {
                return Ok(Err(Suspect));
            }
            self.read_capabilities(&own, &mut state);
            if known.settled && index_is_well_formed(known) {
                // Nothing changed here and nothing was left to do: parsed only if asked.
                state.index = known.clone();
                state.untouched = Some(own);
                self.relations.push(state);
                continue;
            }
            parse_own_lists(&own, &mut state, &mut self.warnings, &mut self.keys);
            for (unit, bag) in &known.units {
                let Ok(unit) = unit.parse::<UnitName>() else {
                    return Ok(Err(Suspect));
                };
                if from_index(&mut state, &BagOwner::Unit(unit), bag).is_err() {
                    return Ok(Err(Suspect));
                }
            }
            if let Some(app) = remote_app {
                if from_index(&mut state, &BagOwner::App(app), &known.app).is_err() {
                    return Ok(Err(Suspect));
                }
            }
            // Nothing of this relation changed since the index was written, so every published
            // certificate answers a request in it; one that does not means another leader
            // served requests this index has not seen.
            if state
                .certificate_index
                .keys()
                .any(|k| !state.wanted.contains_key(k))
            {
                return Ok(Err(Suspect));
            }
            self.relations.push(state);
        }
        Ok(Ok(()))
    }

    /// Whether our bag of the relation holds what it held when the index was written: another
    /// leader in between may have issued, withdrawn or refused requests the index has not seen
    /// (an index without the digest, from an older version, counts as changed).
    fn published_as_indexed(&self, state: &RelationState, known: &RelationIndex) -> bool {
        known.published.as_deref()
            == Some(&published_digest(&state.published_certificates, &state.published_errors)[..])
    }

    fn read_own(&mut self, model: &mut Model<'_>, state: &mut RelationState) -> Result<(), Error> {
        if let Some(bag) = self.fetch_own(model, state)? {
            parse_own_lists(&bag, state, &mut self.warnings, &mut self.keys);
            self.read_capabilities(&bag, state);
        }
        Ok(())
    }

    /// Reads our app bag of the relation (on the leader) and records the digests of what it
    /// publishes; parses nothing.
    fn fetch_own(
        &mut self,
        model: &mut Model<'_>,
        state: &mut RelationState,
    ) -> Result<Option<Arc<Databag>>, Error> {
        if !self.leader {
            return Ok(None);
        }
        let own_app = model.own_app_bag();
        let bag = model.relation_data(&state.id, &own_app)?;
        let value = |key: &str| bag.get(key).map_or("", String::as_str).as_bytes();
        state.published_certificates = value_digest(value(CERTIFICATES_KEY));
        state.published_errors = value_digest(value(REQUEST_ERRORS_KEY));
        Ok(Some(bag))
    }

    fn read_capabilities(&mut self, bag: &Databag, state: &mut RelationState) {
        let value = bag.get(CAPABILITIES_KEY);
        let from = self.warnings.len();
        let at = format!("relation {}, own app bag, key {CAPABILITIES_KEY}", state.id);
        state.capabilities = read_value(value, &at, &mut self.warnings);
        key_warnings(
            &self.warnings,
            &mut self.keys,
            from,
            value.map_or("", String::as_str),
        );
    }

    fn read_bag(
        &mut self,
        model: &mut Model<'_>,
        state: &mut RelationState,
        requester: &BagOwner,
    ) -> Result<(), Error> {
        let bag = model.relation_data(&state.id, requester)?;
        self.bags_read += 1;
        if let Some(value) = bag.get(CSRS_KEY) {
            self.read_requests(requester, value, state);
        }
        Ok(())
    }

    fn read_requests(&mut self, requester: &BagOwner, value: &String, state: &mut RelationState) {
        let limits = self.limits;
        let location = format!("relation {}, {requester}, key {CSRS_KEY}", state.id);
        let refuse = |state: &mut RelationState, text: &str, cap: Option<Cap>, reason: String| {
            state.want(requester, key_of_text(text), false);
            state.refused.push(BadRequest {
                relation: state.id.clone(),
                requester: requester.clone(),
                csr_text: text.trim().to_owned(),
                reason,
                cap,
            });
        };
        let from = self.warnings.len();
        if value.len() > limits.max_value_bytes {
            let found = format!(
                "the {CSRS_KEY} value of {requester} is {} bytes",
                value.len()
            );
            let message = Cap::ValueBytes.message(&limits, &found);
            self.warnings.push(Warning {
                location: location.clone(),
                problem: format!("not parsed: {message}"),
            });
            for text in scan_csrs(value, limits.max_requests_per_bag) {
                refuse(state, &text, Some(Cap::ValueBytes), message.clone());
            }
            key_warnings(&self.warnings, &mut self.keys, from, value);
            return;
        }
        let entries: Vec<RequestEntry> = read_list(Some(value), &location, &mut self.warnings);
        let total = entries.len();
        if total > limits.max_requests_per_bag {
            self.warnings.push(Warning {
                location: location.clone(),
                problem: format!(
                    "{total} requests, over the cap of {} ({}): the rest are refused{}",
                    limits.max_requests_per_bag,
                    Cap::RequestsPerBag.name(),
                    if total > 2 * limits.max_requests_per_bag {
                        format!(
                            "; only the first {} of them are answered",
                            limits.max_requests_per_bag
                        )
                    } else {
                        String::new()
                    }
                ),
            });
        }
        for (i, entry) in entries.into_iter().enumerate() {
            let text = entry.certificate_signing_request;
            if i >= 2 * limits.max_requests_per_bag {
                break;
            }
            if i >= limits.max_requests_per_bag {
                let found = format!("{requester} asks for {total} certificates");
                let message = Cap::RequestsPerBag.message(&limits, &found);
                refuse(state, &text, Some(Cap::RequestsPerBag), message);
                continue;
            }
            if text.len() > limits.max_csr_bytes {
                let found = format!("the CSR is {} bytes", text.len());
                let message = Cap::CsrBytes.message(&limits, &found);
                refuse(state, &text, Some(Cap::CsrBytes), message);
                continue;
            }
            match csr_der(&text) {
                Some(der) => {
                    let key = sha256(&der);
                    let is_ca = entry.ca.unwrap_or(false);
                    state.want(requester, key, is_ca);
                    if !state.has_valid_certificate(&key) {
                        state.candidates.push(Candidate {
                            requester: requester.clone(),
                            text: text.trim().to_owned(),
                            key,
                            is_ca,
                        });
                    }
                }
                None => {
                    self.warnings.push(Warning {
                        location: location.clone(),
                        problem: "refusing a request: not a PEM certificate request".into(),
                    });
                    refuse(
                        state,
                        &text,
                        None,
                        "the certificate signing request was refused: not a PEM certificate request"
                            .into(),
                    );
                }
            }
        }
        key_warnings(&self.warnings, &mut self.keys, from, value);
    }
}

/// Keys the warnings pushed since `from` by their text and the value they are about.
fn key_warnings(warnings: &[Warning], keys: &mut Vec<String>, from: usize, value: &str) {
    if warnings.len() == from {
        return;
    }
    let value_digest = digest(value.as_bytes());
    for w in &warnings[from..] {
        keys.push(digest(format!("{w}|{value_digest}").as_bytes()));
    }
}

/// Parses the certificates and errors we publish on a relation into `state`.
fn parse_own_lists(
    bag: &Databag,
    state: &mut RelationState,
    warnings: &mut Vec<Warning>,
    keys: &mut Vec<String>,
) {
    let relation = state.id.clone();
    let at = |key: &str| format!("relation {relation}, own app bag, key {key}");
    let value = bag.get(CERTIFICATES_KEY);
    let from = warnings.len();
    let certificates: Vec<CertificateEntry> = read_list(value, &at(CERTIFICATES_KEY), warnings);
    for entry in certificates {
        match csr_der(&entry.certificate_signing_request) {
            Some(der) => {
                let key = sha256(&der);
                if let Some(i) = state
                    .certificate_index
                    .insert(key, state.certificates.len())
                {
                    // The same CSR twice: the later entry wins.
                    state.certificates[i] = None;
                    state.certificates_changed = true;
                }
                state.certificates.push(Some(entry));
            }
            None => {
                warnings.push(Warning {
                    location: at(CERTIFICATES_KEY),
                    problem: "dropping an entry whose CSR is not PEM".into(),
                });
                state.certificates_changed = true;
            }
        }
    }
    key_warnings(warnings, keys, from, value.map_or("", String::as_str));
    let value = bag.get(REQUEST_ERRORS_KEY);
    let from = warnings.len();
    let errors: Vec<RequestErrorEntry> = read_list(value, &at(REQUEST_ERRORS_KEY), warnings);
    for entry in errors {
        let key = key_of_text(&entry.csr);
        if let Some(i) = state.error_index.insert(key, state.errors.len()) {
            state.errors[i] = None;
            state.errors_changed = true;
        }
        state.errors.push(Some(entry));
    }
    key_warnings(warnings, keys, from, value.map_or("", String::as_str));
}

/// Whether every key and name of an index entry is well formed (what [`from_index`] needs).
fn index_is_well_formed(known: &RelationIndex) -> bool {
    let key_ok = |(k, _): &(String, bool)| k.len() == 64 && hex::decode(k).is_ok();
    known.app.iter().all(key_ok)
        && known
            .units
            .iter()
            .all(|(u, bag)| u.parse::<UnitName>().is_ok() && bag.iter().all(key_ok))
}

/// Takes a bag's requests from the index. A request without a valid certificate needs its text
/// to be judged again: it comes from our error (or revoked certificate) for it; a request
/// refused on read stays refused (its bag did not change).
fn from_index(
    state: &mut RelationState,
    requester: &BagOwner,
    bag: &BagIndex,
) -> Result<(), Suspect> {
    for (hex_key, is_ca) in bag {
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex_key, &mut key).map_err(|_| Suspect)?;
        state.want(requester, key, *is_ca);
        if state.has_valid_certificate(&key) {
            continue;
        }
        let text = match (state.error_for(&key), state.certificate_for(&key)) {
            (Some(e), _) => {
                let read_time = e.error.reason.as_deref().is_some_and(|r| {
                    [Cap::ValueBytes, Cap::RequestsPerBag, Cap::CsrBytes]
                        .iter()
                        .any(|c| c.name() == r)
                        || (r == BAD_CSR_REASON && csr_der(&e.csr).is_none())
                });
                if read_time {
                    continue;
                }
                e.csr.clone()
            }
            (None, Some(c)) => c.certificate_signing_request.clone(),
            (None, None) => return Err(Suspect),
        };
        state.candidates.push(Candidate {
            requester: requester.clone(),
            text,
            key,
            is_ca: *is_ca,
        });
    }
    Ok(())
}

impl ProviderState {
    /// Whether this unit leads (only the leader publishes).
    pub fn is_leader(&self) -> bool {
        self.leader
    }

    /// Problems found in the other side's data (logged on commit when new).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Requests refused when read (over a cap, or not a PEM CSR).
    pub fn refused_on_read(&self) -> impl Iterator<Item = &BadRequest> {
        self.relations.iter().flat_map(|r| r.refused.iter())
    }

    /// Requirer bags read from Juju in this hook (the others came from the index).
    pub fn bags_read(&self) -> usize {
        self.bags_read
    }

    /// Relations whose published certificates and errors were parsed in this hook; the others
    /// were untouched since the last hook and had nothing left to do, so they are parsed only
    /// if something asks for their certificates.
    pub fn relations_parsed(&self) -> usize {
        self.relations
            .iter()
            .filter(|r| r.untouched.is_none())
            .count()
    }

    /// How many requests are asked for (well-formed or not), over every relation.
    pub fn request_count(&self) -> usize {
        self.relations
            .iter()
            .map(|r| match r.untouched {
                Some(_) => r.index.request_keys().collect::<HashSet<_>>().len(),
                None => r.wanted.len(),
            })
            .sum()
    }

    /// Parses the relations left untouched at load (see [`RelationIndex::settled`]).
    fn materialize_all(&mut self) {
        for r in &mut self.relations {
            r.materialize(&mut self.warnings, &mut self.warning_keys);
        }
    }

    /// Published, non-revoked certificates.
    pub fn issued(&mut self) -> Vec<IssuedCertificate> {
        self.materialize_all();
        self.relations
            .iter()
            .flat_map(|r| {
                r.certificate_index
                    .iter()
                    .filter_map(move |(key, i)| {
                        let entry = r.certificates[*i].as_ref()?;
                        (entry.revoked != Some(true)).then_some((*i, key, entry))
                    })
                    .map(move |(i, key, entry)| {
                        (
                            i,
                            IssuedCertificate {
                                relation: r.id.clone(),
                                remote_app: r.remote_app.clone(),
                                requester: r.wanted.get(key).map(|(o, _)| o.clone()),
                                entry: entry.clone(),
                            },
                        )
                    })
                    .collect::<std::collections::BTreeMap<_, _>>()
                    .into_values()
            })
            .collect()
    }

    /// How many published certificates are not revoked.
    pub fn issued_count(&self) -> usize {
        self.relations.iter().map(RelationState::issued_count).sum()
    }

    /// The `ca` of every published, non-revoked certificate that is valid at `at`, once each:
    /// the CAs clients must still trust (during a CA renewal or rotation, the old one until
    /// nothing valid remains under it). `current` (the CA in use, trimmed PEM) counts without
    /// parsing its certificates; for the others certificates are parsed until a valid one.
    pub fn trusted_cas(&mut self, current: Option<&str>, at: OffsetDateTime) -> BTreeSet<String> {
        // Only an untouched relation with certificates under another CA needs parsing.
        for r in &mut self.relations {
            if r.untouched.is_some() && r.index.cas.iter().any(|ca| Some(ca.as_str()) != current) {
                r.materialize(&mut self.warnings, &mut self.warning_keys);
            }
        }
        let mut under: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut out = BTreeSet::new();
        for r in &self.relations {
            if r.untouched.is_some() {
                out.extend(r.index.cas.iter().cloned());
                continue;
            }
            for c in r.live_certificates().filter(|c| c.revoked != Some(true)) {
                under
                    .entry(c.ca.trim())
                    .or_default()
                    .push(c.certificate.as_str());
            }
        }
        for (ca, certificates) in under {
            if Some(ca) == current
                || certificates
                    .iter()
                    .any(|c| Certificate::from_pem(c).is_ok_and(|cert| cert.is_valid_at(at)))
            {
                out.insert(ca.to_owned());
            }
        }
        out
    }

    /// Publishes a certificate for a request (replacing any earlier one for the same CSR and
    /// clearing an error for it).
    pub fn set_certificate(
        &mut self,
        relation: &RelationId,
        csr: &Csr,
        certificate: &Certificate,
        ca: &Certificate,
        chain: &[Certificate],
    ) -> Result<(), Error> {
        let entry = CertificateEntry {
            ca: ca.pem().trim().to_owned(),
            certificate_signing_request: csr.pem().trim().to_owned(),
            certificate: certificate.pem().trim().to_owned(),
            chain: Some(chain.iter().map(|c| c.pem().trim().to_owned()).collect()),
            revoked: None,
            recommended_expiry_notification_time: None,
        };
        let common_name = certificate
            .subject()
            .common_name()
            .unwrap_or_default()
            .to_owned();
        let state = self.relation_mut(relation)?;
        let key = sha256(csr.der());
        state.remove_error(&key);
        match state.certificate_index.get(&key) {
            Some(&i) => state.certificates[i] = Some(entry),
            None => {
                state
                    .certificate_index
                    .insert(key, state.certificates.len());
                state.certificates.push(Some(entry));
            }
        }
        state.certificates_changed = true;
        self.security_events.push(SecurityEvent {
            event: "certificate_provided",
            level: LogLevel::Info,
            description: "Certificate provided to requirer",
            labels: vec![
                ("relation_id", relation.id().to_string()),
                ("common_name", common_name),
            ],
        });
        Ok(())
    }

    /// Answers a request with an error instead of a certificate (any published certificate for
    /// that CSR is withdrawn). The same answer given again changes nothing and logs nothing.
    pub fn set_error(
        &mut self,
        relation: &RelationId,
        csr_text: &str,
        error: ErrorBody,
    ) -> Result<(), Error> {
        self.answer_with_error(relation, csr_text, error)
            .map(|_| ())
    }

    /// [`Self::set_error`]; whether anything changed.
    fn answer_with_error(
        &mut self,
        relation: &RelationId,
        csr_text: &str,
        error: ErrorBody,
    ) -> Result<bool, Error> {
        let code = error.code;
        let state = self.relation_mut(relation)?;
        let key = key_of_text(csr_text);
        state.remove_certificate(&key);
        let entry = RequestErrorEntry {
            csr: csr_text.trim().to_owned(),
            error,
        };
        if state.error_for(&key) == Some(&entry) {
            return Ok(false);
        }
        match state.error_index.get(&key) {
            Some(&i) => state.errors[i] = Some(entry),
            None => {
                state.error_index.insert(key, state.errors.len());
                state.errors.push(Some(entry));
            }
        }
        state.errors_changed = true;
        self.security_events.push(SecurityEvent {
            event: "certificate_denied",
            level: LogLevel::Warning,
            description: "Certificate issuance failed for CSR",
            labels: vec![
                ("relation_id", relation.id().to_string()),
                ("code", code.to_string()),
            ],
        });
        Ok(true)
    }

    /// Marks every published certificate revoked (when the CA changes); the requests they
    /// answered are outstanding again.
    pub fn revoke_all(&mut self) {
        self.materialize_all();
        for r in &mut self.relations {
            let mut again = Vec::new();
            for (key, i) in &r.certificate_index {
                let Some(c) = r.certificates[*i].as_mut() else {
                    continue;
                };
                if c.revoked != Some(true) {
                    c.revoked = Some(true);
                    r.certificates_changed = true;
                    if let Some((requester, is_ca)) = r.wanted.get(key) {
                        again.push((
                            *i,
                            Candidate {
                                requester: requester.clone(),
                                text: c.certificate_signing_request.trim().to_owned(),
                                key: *key,
                                is_ca: *is_ca,
                            },
                        ));
                    }
                }
            }
            // In the order they were published.
            again.sort_by_key(|(i, _)| *i);
            r.candidates.extend(again.into_iter().map(|(_, c)| c));
        }
        self.security_events.push(SecurityEvent {
            event: "all_certificates_revoked",
            level: LogLevel::Warning,
            description: "All certificates revoked",
            labels: Vec::new(),
        });
    }

    /// Withdraws certificates and errors whose CSR no longer appears in any requirer bag.
    /// Returns how many certificates were withdrawn.
    pub fn drop_certificates_without_csr(&mut self) -> usize {
        let mut dropped = 0;
        // An untouched relation is settled: everything it publishes answers a request.
        for r in self.relations.iter_mut().filter(|r| r.untouched.is_none()) {
            let gone: Vec<Key> = r
                .certificate_index
                .keys()
                .filter(|k| !r.wanted.contains_key(*k))
                .cloned()
                .collect();
            for key in gone {
                if r.remove_certificate(&key) {
                    dropped += 1;
                }
            }
            let gone: Vec<Key> = r
                .error_index
                .keys()
                .filter(|k| !r.wanted.contains_key(*k))
                .cloned()
                .collect();
            for key in gone {
                r.remove_error(&key);
            }
        }
        dropped
    }

    /// Advertises `capabilities` on every relation (`None` withdraws them); writes only what
    /// differs.
    pub fn set_capabilities(&mut self, capabilities: Option<&Capabilities>) {
        for r in &mut self.relations {
            if r.capabilities.as_ref() != capabilities {
                r.capabilities = capabilities.cloned();
                r.capabilities_changed = true;
            }
        }
    }

    /// Answers every request that needs an answer: refusals found on read get an error naming
    /// the cap; requests without a valid certificate are verified (once: the digests of
    /// verified CSRs are remembered), checked against the SAN cap and the per-relation limit,
    /// and signed in parallel. A request already answered with an error is left alone unless
    /// the signer changed (CA, policy, validity, limit) or, for a request over the limit, room
    /// freed up.
    pub fn sign_outstanding(&mut self, signer: &Signer<'_>) -> Result<SignReport, Error> {
        let mut report = SignReport::default();
        let fingerprint = digest(format!("{}|{:?}", signer.fingerprint(), self.limits).as_bytes());
        let stale = self.memory.answered_under.as_deref() != Some(fingerprint.as_str());
        self.memory.answered_under = Some(fingerprint);
        if stale {
            // Every answer is judged again, also on relations nothing touched.
            self.materialize_all();
        }
        let limits = self.limits;
        let error = |message: String, reason: Option<String>| {
            let mut body = ErrorCode::Other.body(message);
            body.provider = Some(signer.provider_name.to_owned());
            body.reason = reason;
            body
        };

        // Refusals found on read: the same answer again is a no-op.
        let refused: Vec<BadRequest> = self
            .relations
            .iter_mut()
            .flat_map(|r| std::mem::take(&mut r.refused))
            .collect();
        for b in &refused {
            let reason = b.cap.map_or(BAD_CSR_REASON, Cap::name).to_owned();
            let body = error(b.reason.clone(), Some(reason));
            if self.answer_with_error(&b.relation, &b.csr_text, body)? {
                report.refused += 1;
            }
        }

        let mut jobs: Vec<(RelationId, Csr, bool)> = Vec::new();
        let mut answers: Vec<(RelationId, String, ErrorBody)> = Vec::new();
        let limit_message = |limit: usize| {
            format!(
                "certificate limit reached: at most {limit} certificates per relation ({})",
                signer.limit_hint
            )
        };
        for r in &mut self.relations {
            let mut room = signer.limit_per_relation.map(|limit| {
                let issued = r
                    .live_certificates()
                    .filter(|c| c.revoked != Some(true))
                    .count();
                limit.saturating_sub(issued)
            });
            // A CSR asked for twice (by two units, or twice in one bag) is one request.
            let mut seen: HashSet<Key> = HashSet::new();
            for c in &r.candidates {
                if r.has_valid_certificate(&c.key) || !seen.insert(c.key) {
                    continue;
                }
                let previous = r.error_for(&c.key);
                let over_limit_before =
                    previous.is_some_and(|e| e.error.reason.as_deref() == Some(LIMIT_REASON));
                if previous.is_some() && !stale && !over_limit_before {
                    continue; // answered, and nothing that decided it changed
                }
                if room == Some(0) {
                    if !over_limit_before || stale {
                        let limit = signer.limit_per_relation.unwrap_or_default();
                        answers.push((
                            r.id.clone(),
                            c.text.clone(),
                            error(limit_message(limit), Some(LIMIT_REASON.to_owned())),
                        ));
                    }
                    continue;
                }
                let d = hex::encode(c.key);
                let cached = self.memory.verified.contains(&d);
                let csr = match Csr::from_pem_verified_before(&c.text, |_| cached) {
                    Ok(csr) => csr,
                    Err(e) => {
                        report.verified += 1;
                        self.warnings.push(Warning {
                            location: format!("relation {}, {}", r.id, c.requester),
                            problem: format!("refusing a CSR: {e}"),
                        });
                        self.warning_keys
                            .push(digest(format!("bad|{d}|{e}").as_bytes()));
                        answers.push((
                            r.id.clone(),
                            c.text.clone(),
                            error(
                                format!("the certificate signing request was refused: {e}"),
                                Some(BAD_CSR_REASON.into()),
                            ),
                        ));
                        continue;
                    }
                };
                if !cached {
                    report.verified += 1;
                    self.memory.verified.insert(d);
                }
                let sans = csr.sans();
                let san_count = sans.dns.len()
                    + sans.ip.len()
                    + sans.oid.len()
                    + sans.email.len()
                    + csr.ignored_sans().len();
                if san_count > limits.max_sans {
                    let found = format!("the CSR has {san_count} subject alternative names");
                    answers.push((
                        r.id.clone(),
                        c.text.clone(),
                        error(
                            Cap::Sans.message(&limits, &found),
                            Some(Cap::Sans.name().to_owned()),
                        ),
                    ));
                    continue;
                }
                if let Some(n) = &mut room {
                    *n -= 1;
                }
                jobs.push((r.id.clone(), csr, c.is_ca));
            }
        }
        for (relation, text, body) in answers {
            if self.answer_with_error(&relation, &text, body)? {
                report.refused += 1;
            }
        }
        let results = issue_all(signer, &jobs);
        let ca_cert = signer.ca.certificate();
        let root = signer.issuers.last().unwrap_or(ca_cert);
        let mut chain_tail = vec![ca_cert.clone()];
        chain_tail.extend(signer.issuers.iter().cloned());
        for ((relation, csr, _), result) in jobs.iter().zip(results) {
            match result {
                Ok(cert) => {
                    let mut chain = Vec::with_capacity(chain_tail.len() + 1);
                    chain.push(cert.clone());
                    chain.extend(chain_tail.iter().cloned());
                    self.set_certificate(relation, csr, &cert, root, &chain)?;
                    report.issued += 1;
                }
                Err(e) => {
                    let body = error(format!("certificate not issued: {e}"), Some(e.to_string()));
                    if self.answer_with_error(relation, csr.pem(), body)? {
                        report.refused += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    fn relation_mut(&mut self, relation: &RelationId) -> Result<&mut RelationState, Error> {
        let r = self
            .relations
            .iter_mut()
            .find(|r| &r.id == relation)
            .ok_or_else(|| Error::Misuse(Misuse::UnknownRelation(relation.clone())))?;
        r.materialize(&mut self.warnings, &mut self.warning_keys);
        Ok(r)
    }
}

/// Issues for every job, spreading the signatures over the available cores.
fn issue_all(
    signer: &Signer<'_>,
    jobs: &[(RelationId, Csr, bool)],
) -> Vec<Result<Certificate, pki::Error>> {
    let issue = |(_, csr, is_ca): &(RelationId, Csr, bool)| {
        let kind = if *is_ca {
            CertificateKind::Ca { path_len: None }
        } else {
            CertificateKind::Leaf
        };
        signer.ca.issue(
            &IssueRequest {
                csr,
                kind,
                validity: signer.validity,
            },
            signer.policy,
            signer.now,
        )
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len().div_ceil(16))
        .max(1);
    if threads == 1 {
        return jobs.iter().map(issue).collect();
    }
    let chunk = jobs.len().div_ceil(threads);
    let slots: Vec<Mutex<Vec<Result<Certificate, pki::Error>>>> =
        (0..threads).map(|_| Mutex::new(Vec::new())).collect();
    std::thread::scope(|scope| {
        for (slot, part) in slots.iter().zip(jobs.chunks(chunk)) {
            let issue = &issue;
            scope.spawn(move || {
                let done: Vec<_> = part.iter().map(issue).collect();
                if let Ok(mut s) = slot.lock() {
                    *s = done;
                }
            });
        }
    });
    slots
        .into_iter()
        .flat_map(|s| s.into_inner().unwrap_or_default())
        .collect()
}
