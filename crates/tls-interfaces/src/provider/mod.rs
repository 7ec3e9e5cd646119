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
//!
//! Here: the types, [`TlsProvider::load`] and [`TlsProvider::commit`]. `load.rs` reads the
//! relations (in full, or from the index), `relation.rs` is one relation's state, `state.rs`
//! the changes a hook makes in memory, `sign.rs` signing what is outstanding, `limits.rs` the
//! caps checked before parsing, `memory.rs` what is kept in the charm state between hooks.

mod limits;
mod load;
mod memory;
mod queries;
mod relation;
mod sign;
mod state;

use std::collections::HashSet;

use charm::context::Dispatch;
use charm::{
    AppName, BagOwner, Databag, Endpoint, Event, HookKind, LogLevel, Model, RelationHook,
    RelationId, UnitName,
};

use self::limits::Cap;
pub use self::limits::{
    DEFAULT_MAX_CSR_BYTES, DEFAULT_MAX_REQUESTS_PER_BAG, DEFAULT_MAX_SANS, DEFAULT_MAX_VALUE_BYTES,
    Limits,
};
use self::load::Loader;
use self::memory::{Memory, published_digest, sha256, value_digest};
pub use self::queries::RequirerRequest;
use self::relation::RelationState;
pub use self::sign::{NAME_POLICY_REASON, Signer};
use crate::error::Error;
use crate::json::to_python_json;
use crate::security_log::SecurityEvent;
use crate::wire::tls_certificates::{
    CAPABILITIES_KEY, CERTIFICATES_KEY, Capabilities, CertificateEntry, REQUEST_ERRORS_KEY,
    RequestErrorEntry,
};
use crate::wire::{Warning, csr_der};

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
    capabilities: Option<Capabilities>,
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

impl IssuedCertificate {
    /// The Python library's `ProviderCertificate.to_json()` of this certificate (see
    /// [`CertificateEntry::to_json`]).
    pub fn to_json(&self) -> String {
        self.entry.to_json()
    }

    /// Whether the provider marked it revoked.
    pub fn is_revoked(&self) -> bool {
        self.entry.revoked == Some(true)
    }
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

impl TlsProvider {
    /// A provider for `endpoint`, with the default [`Limits`].
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            limits: Limits::default(),
            capabilities: None,
        }
    }

    /// The same provider advertising `capabilities` from [`Self::handle`] (the Python
    /// library's `provider_capabilities` argument).
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = Some(capabilities);
        self
    }

    /// The housekeeping the Python provider does by itself, in one call from the charm's event
    /// dispatch: on `relation-created`, `-joined` and `-changed` of this endpoint and on
    /// `update-status`, the leader withdraws certificates and errors whose request vanished and
    /// advertises the capabilities given to [`Self::with_capabilities`] (withdrawing them when
    /// none were given, as the Python library does). Other events and other units: nothing.
    /// Returns whether it ran. Charms that sign in the same hook use [`Self::handle_with`] (one
    /// load and one write per relation), or [`Self::load`] and [`Self::commit`] themselves.
    ///
    /// ```rust,ignore
    /// fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
    ///     TlsProvider::new("certificates".parse()?)
    ///         .with_capabilities(Capabilities { provider_type: Some("manual".into()), ..Default::default() })
    ///         .handle(event, model)?;
    ///     Ok(())
    /// }
    /// ```
    pub fn handle(&self, event: &Event, model: &mut Model<'_>) -> Result<bool, Error> {
        self.handle_with(event, model, |_, _| Ok::<(), Error>(()))
    }

    /// [`Self::handle`] with the charm's own work on the same state, before the housekeeping
    /// and the one write per relation: e.g. signing what is outstanding.
    ///
    /// ```rust,ignore
    /// provider.handle_with(event, model, |state, _model| {
    ///     state.sign_outstanding(&signer)?;
    ///     Ok::<_, juju_tls_interfaces::Error>(())
    /// })?;
    /// ```
    pub fn handle_with<E: From<Error>>(
        &self,
        event: &Event,
        model: &mut Model<'_>,
        work: impl FnOnce(&mut ProviderState, &mut Model<'_>) -> Result<(), E>,
    ) -> Result<bool, E> {
        let ours = match event {
            Event::RelationCreated(e) | Event::RelationJoined(e) | Event::RelationChanged(e) => {
                e.relation.endpoint() == &self.endpoint
            }
            Event::UpdateStatus => true,
            _ => false,
        };
        if !ours || !model.is_leader().map_err(Error::from)? {
            return Ok(false);
        }
        let mut state = self.load(model)?;
        // Before the charm's work, so capabilities it sets itself win.
        state.set_capabilities(self.capabilities.as_ref());
        work(&mut state, model)?;
        state.drop_certificates_without_csr();
        self.commit(model, state)?;
        Ok(true)
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
        let hook = matches!(
            HookKind::parse(name).relation_kind(),
            Some(RelationHook::Changed | RelationHook::Joined | RelationHook::Departed)
        );
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
                let any = relation.live_certificates().next().is_some();
                changes.insert(
                    CERTIFICATES_KEY.to_owned(),
                    if any {
                        relation.certificates_json()
                    } else {
                        String::new()
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
