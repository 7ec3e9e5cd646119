//! The `tls-certificates` provider: outstanding requests from every related unit and app, the
//! certificates and errors we publish, and a helper that signs everything outstanding.
//!
//! Work happens on a [`ProviderState`] loaded once per hook ([`TlsProvider::load`]); changes are
//! made in memory and [`TlsProvider::commit`] writes each relation's app bag **once**, whatever
//! the number of certificates (the Python library rewrites the whole list once per certificate,
//! which makes one hook with N requests cost O(N²)).
//!
//! Every CSR is verified when it is read (proof of possession). A request that cannot be read
//! or verified, or a CA request the issuing policy does not allow, is answered with a request
//! error (code 999) naming the reason, never with a certificate.

use std::collections::HashMap;
use std::sync::Mutex;

use charm::{AppName, BagOwner, Databag, Endpoint, LogLevel, Model, RelationId};
use pki::{Certificate, CertificateAuthority, CertificateKind, Csr, IssueRequest, IssuingPolicy};
use time::{Duration, OffsetDateTime};

use crate::error::Error;
use crate::json::to_python_json;
use crate::security_log::SecurityEvent;
use crate::wire::tls_certificates::{
    CAPABILITIES_KEY, CERTIFICATES_KEY, CSRS_KEY, Capabilities, CertificateEntry, ErrorBody,
    ErrorCode, REQUEST_ERRORS_KEY, RequestEntry, RequestErrorEntry,
};
use crate::wire::{Warning, csr_der, read_list, read_value};

/// The provider side of one `tls-certificates` endpoint.
#[derive(Debug, Clone)]
pub struct TlsProvider {
    endpoint: Endpoint,
}

/// A verified request from a requirer.
#[derive(Debug, Clone)]
pub struct Request {
    /// The relation it came on.
    pub relation: RelationId,
    /// The unit or application whose bag holds it.
    pub requester: BagOwner,
    /// The verified CSR.
    pub csr: Csr,
    /// Whether a CA certificate is asked for.
    pub is_ca: bool,
}

/// A request that could not be read or whose signature does not verify.
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
}

#[derive(Debug)]
struct RelationState {
    id: RelationId,
    remote_app: Option<AppName>,
    requests: Vec<Request>,
    bad_requests: Vec<BadRequest>,
    /// Our published certificates; `None` marks one removed this hook.
    certificates: Vec<Option<CertificateEntry>>,
    /// DER of each certificate's CSR -> index in `certificates`.
    certificate_index: HashMap<Vec<u8>, usize>,
    errors: Vec<RequestErrorEntry>,
    capabilities: Option<Capabilities>,
    certificates_changed: bool,
    errors_changed: bool,
    capabilities_changed: bool,
}

impl RelationState {
    fn live_certificates(&self) -> impl Iterator<Item = &CertificateEntry> {
        self.certificates.iter().flatten()
    }

    fn certificate_for(&self, csr_der: &[u8]) -> Option<&CertificateEntry> {
        self.certificate_index
            .get(csr_der)
            .and_then(|i| self.certificates[*i].as_ref())
    }

    fn remove_errors_for(&mut self, der: &[u8]) {
        let before = self.errors.len();
        self.errors
            .retain(|e| csr_der(&e.csr).as_deref() != Some(der));
        self.errors_changed |= self.errors.len() != before;
    }
}

/// What one hook knows of every relation of the endpoint, changed in memory, written once.
#[derive(Debug)]
pub struct ProviderState {
    relations: Vec<RelationState>,
    warnings: Vec<Warning>,
    security_events: Vec<SecurityEvent>,
    leader: bool,
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
    /// Requests answered with an error (bad CSR, refused by policy, CA not valid).
    pub refused: usize,
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

impl TlsProvider {
    /// A provider for `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        Self { endpoint }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Reads every relation of the endpoint: requests (verified), our published certificates,
    /// errors and capabilities. On a non-leader only the requests are read (the app bag is the
    /// leader's to read and write).
    pub fn load(&self, model: &mut Model<'_>) -> Result<ProviderState, Error> {
        let leader = model.is_leader()?;
        let own_app = model.own_app_bag();
        let mut warnings = Vec::new();
        let mut relations = Vec::new();
        for relation in model.relations(&self.endpoint)? {
            let mut state = RelationState {
                id: relation.id.clone(),
                remote_app: relation.remote_app.clone(),
                requests: Vec::new(),
                bad_requests: Vec::new(),
                certificates: Vec::new(),
                certificate_index: HashMap::new(),
                errors: Vec::new(),
                capabilities: None,
                certificates_changed: false,
                errors_changed: false,
                capabilities_changed: false,
            };
            let mut requesters: Vec<BagOwner> =
                relation.units.iter().cloned().map(BagOwner::Unit).collect();
            if let Some(app) = &relation.remote_app {
                requesters.push(BagOwner::App(app.clone()));
            }
            for requester in requesters {
                let bag = model.relation_data(&relation.id, &requester)?;
                read_requests(&relation.id, &requester, &bag, &mut state, &mut warnings);
            }
            if leader {
                let bag = model.relation_data(&relation.id, &own_app)?;
                let at = |key: &str| format!("relation {}, own app bag, key {key}", relation.id);
                let certificates: Vec<CertificateEntry> = read_list(
                    bag.get(CERTIFICATES_KEY),
                    &at(CERTIFICATES_KEY),
                    &mut warnings,
                );
                for entry in certificates {
                    match csr_der(&entry.certificate_signing_request) {
                        Some(der) => {
                            state
                                .certificate_index
                                .insert(der, state.certificates.len());
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
                state.errors = read_list(
                    bag.get(REQUEST_ERRORS_KEY),
                    &at(REQUEST_ERRORS_KEY),
                    &mut warnings,
                );
                state.capabilities = read_value(
                    bag.get(CAPABILITIES_KEY),
                    &at(CAPABILITIES_KEY),
                    &mut warnings,
                );
            }
            relations.push(state);
        }
        Ok(ProviderState {
            relations,
            warnings,
            security_events: Vec::new(),
            leader,
        })
    }

    /// Writes what changed: one `relation-set` per relation (only the changed keys), then the
    /// warnings and security events, each kind in one `juju-log` call.
    pub fn commit(&self, model: &mut Model<'_>, state: ProviderState) -> Result<(), Error> {
        let own_app = model.own_app_bag();
        for relation in &state.relations {
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
                let value = if relation.errors.is_empty() {
                    String::new()
                } else {
                    to_python_json(&relation.errors)
                };
                changes.insert(REQUEST_ERRORS_KEY.to_owned(), value);
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
                    return Err(Error::Config(
                        "only the leader can publish certificates".into(),
                    ));
                }
                model.update_relation_data(&relation.id, &own_app, &changes)?;
            }
        }
        if !state.warnings.is_empty() {
            let text: Vec<String> = state
                .warnings
                .iter()
                .map(|w| format!("skipping bad relation data: {w}"))
                .collect();
            let _ = model.log(LogLevel::Warning, &text.join("\n"));
        }
        crate::security_log::log_many(model, &state.security_events);
        Ok(())
    }
}

fn read_requests(
    relation: &RelationId,
    requester: &BagOwner,
    bag: &Databag,
    state: &mut RelationState,
    warnings: &mut Vec<Warning>,
) {
    let location = format!("relation {relation}, {requester}, key {CSRS_KEY}");
    let entries: Vec<RequestEntry> = read_list(bag.get(CSRS_KEY), &location, warnings);
    for entry in entries {
        match Csr::from_pem(&entry.certificate_signing_request) {
            Ok(csr) => state.requests.push(Request {
                relation: relation.clone(),
                requester: requester.clone(),
                csr,
                is_ca: entry.ca.unwrap_or(false),
            }),
            Err(e) => {
                warnings.push(Warning {
                    location: location.clone(),
                    problem: format!("refusing a CSR: {e}"),
                });
                state.bad_requests.push(BadRequest {
                    relation: relation.clone(),
                    requester: requester.clone(),
                    csr_text: entry.certificate_signing_request.trim().to_owned(),
                    reason: e.to_string(),
                });
            }
        }
    }
}

impl ProviderState {
    /// Whether this unit leads (only the leader publishes).
    pub fn is_leader(&self) -> bool {
        self.leader
    }

    /// Problems found in the other side's data (also logged on commit).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Every verified request.
    pub fn requests(&self) -> impl Iterator<Item = &Request> {
        self.relations.iter().flat_map(|r| r.requests.iter())
    }

    /// Requests that could not be read or verified.
    pub fn bad_requests(&self) -> impl Iterator<Item = &BadRequest> {
        self.relations.iter().flat_map(|r| r.bad_requests.iter())
    }

    /// Requests without a valid (non-revoked, same key) certificate.
    pub fn outstanding(&self) -> Vec<&Request> {
        self.relations
            .iter()
            .flat_map(|r| r.requests.iter().filter(move |q| !issued_for(r, q)))
            .collect()
    }

    /// Published, non-revoked certificates.
    pub fn issued(&self) -> Vec<IssuedCertificate> {
        self.relations
            .iter()
            .flat_map(|r| {
                let requesters: HashMap<&[u8], &BagOwner> = r
                    .requests
                    .iter()
                    .map(|q| (q.csr.der(), &q.requester))
                    .collect();
                r.live_certificates()
                    .filter(|c| c.revoked != Some(true))
                    .map(move |c| IssuedCertificate {
                        relation: r.id.clone(),
                        remote_app: r.remote_app.clone(),
                        requester: csr_der(&c.certificate_signing_request)
                            .and_then(|d| requesters.get(d.as_slice()).map(|o| (*o).clone())),
                        entry: c.clone(),
                    })
            })
            .collect()
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
            certificate_signing_request: pki::pem::encode("CERTIFICATE REQUEST", csr.der())
                .trim()
                .to_owned(),
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
        let der = csr.der().to_vec();
        state.remove_errors_for(&der);
        match state.certificate_index.get(&der) {
            Some(&i) => state.certificates[i] = Some(entry),
            None => {
                state
                    .certificate_index
                    .insert(der, state.certificates.len());
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
    /// that CSR is withdrawn).
    pub fn set_error(
        &mut self,
        relation: &RelationId,
        csr_text: &str,
        error: ErrorBody,
    ) -> Result<(), Error> {
        let code = error.code;
        let state = self.relation_mut(relation)?;
        let der = csr_der(csr_text);
        if let Some(der) = &der {
            if let Some(i) = state.certificate_index.remove(der) {
                state.certificates[i] = None;
                state.certificates_changed = true;
            }
            state.remove_errors_for(der);
        }
        let entry = RequestErrorEntry {
            csr: csr_text.trim().to_owned(),
            error,
        };
        if !state.errors.contains(&entry) {
            state.errors.push(entry);
            state.errors_changed = true;
        }
        self.security_events.push(SecurityEvent {
            event: "certificate_denied",
            level: LogLevel::Warning,
            description: "Certificate issuance failed for CSR",
            labels: vec![
                ("relation_id", relation.id().to_string()),
                ("code", code.to_string()),
            ],
        });
        Ok(())
    }

    /// Marks every published certificate revoked (when the CA changes).
    pub fn revoke_all(&mut self) {
        for r in &mut self.relations {
            for c in r.certificates.iter_mut().flatten() {
                if c.revoked != Some(true) {
                    c.revoked = Some(true);
                    r.certificates_changed = true;
                }
            }
        }
        self.security_events.push(SecurityEvent {
            event: "all_certificates_revoked",
            level: LogLevel::Warning,
            description: "All certificates revoked",
            labels: Vec::new(),
        });
    }

    /// Withdraws certificates (and errors) whose CSR no longer appears in any requirer bag.
    /// Returns how many certificates were withdrawn.
    pub fn drop_certificates_without_csr(&mut self) -> usize {
        let mut dropped = 0;
        for r in &mut self.relations {
            let wanted: std::collections::HashSet<&[u8]> =
                r.requests.iter().map(|q| q.csr.der()).collect();
            let gone: Vec<Vec<u8>> = r
                .certificate_index
                .keys()
                .filter(|k| !wanted.contains(k.as_slice()))
                .cloned()
                .collect();
            for der in gone {
                if let Some(i) = r.certificate_index.remove(&der) {
                    r.certificates[i] = None;
                    r.certificates_changed = true;
                    dropped += 1;
                }
            }
            let bad: std::collections::HashSet<&str> =
                r.bad_requests.iter().map(|b| b.csr_text.as_str()).collect();
            let before = r.errors.len();
            r.errors.retain(|e| {
                csr_der(&e.csr).is_some_and(|d| wanted.contains(d.as_slice()))
                    || bad.contains(e.csr.trim())
            });
            r.errors_changed |= r.errors.len() != before;
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

    /// Signs every outstanding request with `signer`, in parallel, and answers bad or refused
    /// requests with errors. The CA key was parsed once, when the `CertificateAuthority` was
    /// made; here each request costs one CSR verification (done at load) and one signature.
    pub fn sign_outstanding(&mut self, signer: &Signer<'_>) -> Result<SignReport, Error> {
        let mut report = SignReport::default();
        // Bad CSRs first: an error, never a certificate.
        let bad: Vec<(RelationId, String, String)> = self
            .bad_requests()
            .filter(|b| !self.has_error_for_text(&b.relation, &b.csr_text))
            .map(|b| (b.relation.clone(), b.csr_text.clone(), b.reason.clone()))
            .collect();
        for (relation, text, reason) in bad {
            let mut body = ErrorCode::Other.body(format!(
                "the certificate signing request was refused: {reason}"
            ));
            body.provider = Some(signer.provider_name.to_owned());
            self.set_error(&relation, &text, body)?;
            report.refused += 1;
        }

        let mut jobs: Vec<(RelationId, Csr, bool)> = Vec::new();
        let mut over_limit: Vec<(RelationId, Csr)> = Vec::new();
        for r in &self.relations {
            let mut room = signer.limit_per_relation.map(|limit| {
                let issued = r
                    .live_certificates()
                    .filter(|c| c.revoked != Some(true))
                    .count();
                limit.saturating_sub(issued)
            });
            for q in r.requests.iter().filter(|q| !issued_for(r, q)) {
                match &mut room {
                    Some(0) => over_limit.push((q.relation.clone(), q.csr.clone())),
                    Some(n) => {
                        *n -= 1;
                        jobs.push((q.relation.clone(), q.csr.clone(), q.is_ca));
                    }
                    None => jobs.push((q.relation.clone(), q.csr.clone(), q.is_ca)),
                }
            }
        }
        for (relation, csr) in over_limit {
            let limit = signer.limit_per_relation.unwrap_or_default();
            let mut body = ErrorCode::Other.body(format!(
                "certificate limit reached: at most {limit} certificates per relation ({})",
                signer.limit_hint
            ));
            body.provider = Some(signer.provider_name.to_owned());
            self.set_error(&relation, csr.pem(), body)?;
            report.refused += 1;
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
                    let mut body = ErrorCode::Other.body(format!("certificate not issued: {e}"));
                    body.provider = Some(signer.provider_name.to_owned());
                    body.reason = Some(e.to_string());
                    self.set_error(relation, csr.pem(), body)?;
                    report.refused += 1;
                }
            }
        }
        Ok(report)
    }

    fn has_error_for_text(&self, relation: &RelationId, text: &str) -> bool {
        self.relations
            .iter()
            .any(|r| &r.id == relation && r.errors.iter().any(|e| e.csr.trim() == text.trim()))
    }

    fn relation_mut(&mut self, relation: &RelationId) -> Result<&mut RelationState, Error> {
        self.relations
            .iter_mut()
            .find(|r| &r.id == relation)
            .ok_or_else(|| {
                Error::Config(format!(
                    "relation {relation} is not a relation of this endpoint"
                ))
            })
    }
}

fn issued_for(relation: &RelationState, request: &Request) -> bool {
    match relation.certificate_for(request.csr.der()) {
        Some(entry) if entry.revoked != Some(true) => Certificate::from_pem(&entry.certificate)
            .is_ok_and(|c| c.matches_public_key(request.csr.public_key_der())),
        _ => false,
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
