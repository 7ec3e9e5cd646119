//! What a hook does to the provider's state in memory: read the requests and issued
//! certificates, answer requests with certificates or errors, revoke, drop, advertise.

use std::collections::{BTreeSet, HashMap, HashSet};

use charm::{LogLevel, RelationId};
use pki::{Certificate, Csr};
use time::OffsetDateTime;

use super::memory::sha256;
use super::relation::RelationState;
use super::{BadRequest, IssuedCertificate, Key, ProviderState, key_of_text};
use crate::error::{Error, Misuse};
use crate::security_log::SecurityEvent;
use crate::wire::Warning;
use crate::wire::tls_certificates::{Capabilities, CertificateEntry, ErrorBody, RequestErrorEntry};

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
    pub(super) fn materialize_all(&mut self) {
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
    pub(super) fn answer_with_error(
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
    /// answered are outstanding again. One `all_certificates_revoked` security event, not one
    /// per certificate.
    pub fn revoke_all(&mut self) {
        self.revoke_matching(None, |_, _| true, false);
        self.security_events.push(SecurityEvent {
            event: "all_certificates_revoked",
            level: LogLevel::Warning,
            description: "All certificates revoked",
            labels: Vec::new(),
        });
    }

    /// Records the `ca_certificate_generated` security event (logged on commit, under the same
    /// bound as the others) for a CA the charm made in this hook: the Python library logs it
    /// from `generate_ca`.
    pub fn ca_generated(&mut self, ca: &Certificate) {
        let info = ca.info();
        self.security_events.push(SecurityEvent {
            event: "ca_certificate_generated",
            level: LogLevel::Info,
            description: "CA certificate generated",
            labels: vec![
                (
                    "common_name",
                    info.subject.common_name().unwrap_or_default().to_owned(),
                ),
                (
                    "validity_days",
                    (info.not_after - info.not_before).whole_days().to_string(),
                ),
            ],
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

    pub(super) fn relation_mut(
        &mut self,
        relation: &RelationId,
    ) -> Result<&mut RelationState, Error> {
        let r = self
            .relations
            .iter_mut()
            .find(|r| &r.id == relation)
            .ok_or_else(|| Error::Misuse(Misuse::UnknownRelation(relation.clone())))?;
        r.materialize(&mut self.warnings, &mut self.warning_keys);
        Ok(r)
    }
}
