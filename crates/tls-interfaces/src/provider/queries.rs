//! What a provider charm asks about the relations it serves: every request, every published
//! certificate (revoked ones too), the errors, the certificates nobody asks for any more; and
//! revoking one certificate or a chosen set. The Python library's `get_certificate_requests`,
//! `get_provider_certificates`, `get_provider_certificate_errors`,
//! `get_unsolicited_certificates` and a `set_relation_certificate` with `revoked` set.

use charm::{BagOwner, LogLevel, RelationId};
use pki::Csr;

use super::memory::sha256;
use super::relation::{Candidate, RelationState};
use super::{IssuedCertificate, Key, ProviderState, key_of_text};
use crate::request_error::RequestError;
use crate::security_log::SecurityEvent;

/// A request a requirer put in its bag: the Python library's `RequirerCertificateRequest`.
#[derive(Debug, Clone)]
pub struct RequirerRequest {
    /// The relation it came on.
    pub relation: RelationId,
    /// Whose bag holds it.
    pub requester: BagOwner,
    /// The CSR, parsed (its signature is verified when it is signed, not here).
    pub csr: Csr,
    /// Whether it asks for a CA certificate.
    pub is_ca: bool,
}

impl ProviderState {
    /// Every well-formed request of `relation` (every relation when `None`), unit bags first
    /// (by unit name), then the application bag, each in bag order, also those refused on read
    /// for a cap. Text that is not a CSR is left out: it is answered with a request error, and
    /// listed by [`Self::refused_on_read`].
    ///
    /// ```rust,ignore
    /// let mut state = provider.load(model)?;
    /// for r in state.requests(Some(&relation)) {
    ///     println!("{} asks for {}", r.requester, r.csr.subject());
    /// }
    /// ```
    pub fn requests(&mut self, relation: Option<&RelationId>) -> Vec<RequirerRequest> {
        self.materialize_all();
        let mut out = Vec::new();
        for r in self.relations_matching(relation) {
            for (owner, key, is_ca) in bag_order(r) {
                let Some(text) = request_text(r, &key) else {
                    continue;
                };
                let Ok(csr) = Csr::from_pem(text) else {
                    continue;
                };
                out.push(RequirerRequest {
                    relation: r.id.clone(),
                    requester: owner,
                    csr,
                    is_ca,
                });
            }
        }
        out
    }

    /// The well-formed requests of `relation` (every relation when `None`) without a valid
    /// certificate: none published, or the one published revoked. The Python library's
    /// `get_outstanding_certificate_requests`; requests answered with an error are included, as
    /// there. [`Self::sign_outstanding`] answers them all.
    pub fn outstanding(&mut self, relation: Option<&RelationId>) -> Vec<RequirerRequest> {
        let requests = self.requests(relation);
        requests
            .into_iter()
            .filter(|r| {
                let key = sha256(r.csr.der());
                !self
                    .relations
                    .iter()
                    .any(|s| s.id == r.relation && s.has_valid_certificate(&key))
            })
            .collect()
    }

    /// Every certificate published on `relation` (every relation when `None`), revoked ones
    /// included, in the order they were published: the Python library's
    /// `get_provider_certificates`. [`Self::issued`] leaves revoked ones out.
    pub fn certificates(&mut self, relation: Option<&RelationId>) -> Vec<IssuedCertificate> {
        self.materialize_all();
        let mut out = Vec::new();
        for r in self.relations_matching(relation) {
            let mut indexed: Vec<(usize, &Key)> =
                r.certificate_index.iter().map(|(k, i)| (*i, k)).collect();
            indexed.sort_unstable_by_key(|(i, _)| *i);
            for (i, key) in indexed {
                if let Some(entry) = &r.certificates[i] {
                    out.push(issued(r, key, entry));
                }
            }
        }
        out
    }

    /// The request errors published on `relation` (every relation when `None`): the Python
    /// library's `get_provider_certificate_errors`. An error answering text that is not a CSR
    /// is included too (its [`RequestError::csr`] does not parse; the Python library fails on
    /// such an entry).
    pub fn errors(&mut self, relation: Option<&RelationId>) -> Vec<RequestError> {
        self.materialize_all();
        self.relations_matching(relation)
            .flat_map(|r| {
                r.errors.iter().flatten().map(|e| RequestError {
                    relation: r.id.clone(),
                    csr_pem: e.csr.trim().to_owned(),
                    error: e.error.clone(),
                })
            })
            .collect()
    }

    /// Published certificates whose CSR no requirer asks for any more (revoked or not): the
    /// Python library's `get_unsolicited_certificates`. [`Self::drop_certificates_without_csr`]
    /// withdraws them.
    pub fn unsolicited(&mut self, relation: Option<&RelationId>) -> Vec<IssuedCertificate> {
        self.materialize_all();
        let mut out = Vec::new();
        for r in self.relations_matching(relation) {
            let mut gone: Vec<(usize, &Key)> = r
                .certificate_index
                .iter()
                .filter(|(k, _)| !r.wanted.contains_key(*k))
                .map(|(k, i)| (*i, k))
                .collect();
            gone.sort_unstable_by_key(|(i, _)| *i);
            for (i, key) in gone {
                if let Some(entry) = &r.certificates[i] {
                    out.push(issued(r, key, entry));
                }
            }
        }
        out
    }

    /// Revokes the certificate published for `csr` on `relation`: it stays in the bag with
    /// `"revoked": true` until the request is answered again, and the request is outstanding
    /// again, so [`Self::sign_outstanding`] in the same hook replaces it with a new
    /// certificate for the same CSR (same key). Returns whether a certificate was revoked.
    ///
    /// The Python library's `set_relation_certificate` drops the `revoked` flag it is given;
    /// Notary writes the flag itself. Revocation here is the wire flag only: the revoked
    /// certificate stays cryptographically valid until it expires (no CRL is published).
    ///
    /// ```rust,ignore
    /// let mut state = provider.load(model)?;
    /// state.revoke(&relation, &csr);
    /// state.sign_outstanding(&signer)?; // a new certificate, same key, same hook
    /// provider.commit(model, state)?;
    /// ```
    pub fn revoke(&mut self, relation: &RelationId, csr: &Csr) -> bool {
        let key = sha256(csr.der());
        !self
            .revoke_matching(Some(relation), |_, k| *k == key, true)
            .is_empty()
    }

    /// Revokes every published, non-revoked certificate `which` selects (see [`Self::revoke`]),
    /// over every relation; returns them as they were before revocation. A charm revokes the
    /// certificates of one unit, one application or one serial number with it.
    ///
    /// ```rust,ignore
    /// let unit: UnitName = "web/0".parse()?;
    /// let revoked = state.revoke_where(|c| c.requester == Some(BagOwner::Unit(unit.clone())));
    /// ```
    pub fn revoke_where(
        &mut self,
        which: impl Fn(&IssuedCertificate) -> bool,
    ) -> Vec<IssuedCertificate> {
        self.revoke_matching(None, |c, _| which(c), true)
    }

    /// Marks the selected live certificates revoked and makes their requests outstanding again
    /// (in the order they were published); with `log_each`, one security event per
    /// certificate.
    pub(super) fn revoke_matching(
        &mut self,
        relation: Option<&RelationId>,
        which: impl Fn(&IssuedCertificate, &Key) -> bool,
        log_each: bool,
    ) -> Vec<IssuedCertificate> {
        let mut revoked = Vec::new();
        let mut events = Vec::new();
        for r in self.relations.iter_mut() {
            if relation.is_some_and(|id| id != &r.id) {
                continue;
            }
            r.materialize(&mut self.warnings, &mut self.warning_keys);
            let mut chosen: Vec<(usize, Key)> = Vec::new();
            for (key, i) in &r.certificate_index {
                let Some(entry) = r.certificates[*i].as_ref() else {
                    continue;
                };
                if entry.revoked == Some(true) {
                    continue;
                }
                if which(&issued(r, key, entry), key) {
                    chosen.push((*i, *key));
                }
            }
            chosen.sort_unstable_by_key(|(i, _)| *i);
            for (i, key) in chosen {
                let before = match r.certificates[i].as_mut() {
                    Some(entry) => {
                        let before = entry.clone();
                        entry.revoked = Some(true);
                        before
                    }
                    None => continue,
                };
                r.certificates_changed = true;
                if log_each {
                    events.push(revoked_event(&r.id, &before.certificate));
                }
                if let Some((requester, is_ca)) = r.wanted.get(&key) {
                    r.candidates.push(Candidate {
                        requester: requester.clone(),
                        text: before.certificate_signing_request.trim().to_owned(),
                        key,
                        is_ca: *is_ca,
                    });
                }
                revoked.push(issued(r, &key, &before));
            }
        }
        self.security_events.extend(events);
        revoked
    }

    fn relations_matching<'s>(
        &'s self,
        relation: Option<&'s RelationId>,
    ) -> impl Iterator<Item = &'s RelationState> + 's {
        self.relations
            .iter()
            .filter(move |r| relation.is_none_or(|id| id == &r.id))
    }
}

/// The `certificate_revoked` security event of the certificate `pem` on `relation`.
fn revoked_event(relation: &RelationId, pem: &str) -> SecurityEvent {
    let common_name = pki::Certificate::from_pem(pem)
        .ok()
        .and_then(|c| c.subject().common_name().map(ToOwned::to_owned))
        .unwrap_or_default();
    SecurityEvent {
        event: "certificate_revoked",
        level: LogLevel::Warning,
        description: "Certificate revoked",
        labels: vec![
            ("relation_id", relation.id().to_string()),
            ("common_name", common_name),
        ],
    }
}

/// The published entry `entry` (for the request `key`) of relation `r`, as a charm sees it.
fn issued(
    r: &RelationState,
    key: &Key,
    entry: &crate::wire::tls_certificates::CertificateEntry,
) -> IssuedCertificate {
    IssuedCertificate {
        relation: r.id.clone(),
        remote_app: r.remote_app.clone(),
        requester: r.wanted.get(key).map(|(o, _)| o.clone()),
        entry: entry.clone(),
    }
}

/// Every request of `r` as `(owner, key, is_ca)`: unit bags by unit name, then the app bag,
/// each in bag order (the index keeps that order).
fn bag_order(r: &RelationState) -> Vec<(BagOwner, Key, bool)> {
    let mut out = Vec::new();
    let mut push = |owner: BagOwner, bag: &[(String, bool)]| {
        for (hex_key, is_ca) in bag {
            let mut key: Key = [0; 32];
            if hex::decode_to_slice(hex_key, &mut key).is_ok() {
                out.push((owner.clone(), key, *is_ca));
            }
        }
    };
    for (unit, bag) in &r.index.units {
        if let Ok(unit) = unit.parse() {
            push(BagOwner::Unit(unit), bag);
        }
    }
    if let Some(app) = &r.remote_app {
        push(BagOwner::App(app.clone()), &r.index.app);
    }
    out
}

/// The CSR text of the request `key`: from the certificate or error answering it, or from the
/// outstanding candidates.
fn request_text<'r>(r: &'r RelationState, key: &Key) -> Option<&'r str> {
    r.certificate_for(key)
        .map(|c| c.certificate_signing_request.as_str())
        .or_else(|| r.error_for(key).map(|e| e.csr.as_str()))
        .or_else(|| {
            r.candidates
                .iter()
                .find(|c| &c.key == key)
                .map(|c| c.text.as_str())
        })
        .or_else(|| {
            r.refused
                .iter()
                .find(|b| key_of_text(&b.csr_text) == *key)
                .map(|b| b.csr_text.as_str())
        })
}
