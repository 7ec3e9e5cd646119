//! The planner: from what a hook sees ([`Observation`]) to what it should do ([`Plan`]), as a
//! pure function. No model, no randomness, no clock but the one observed: the same observation
//! always gives the same plan, and `plan_tests.rs` tests it alone.
//!
//! Each wanted request is in one [`RequestState`]; the plan is what moves it on: generate or
//! migrate the scope's key, withdraw CSRs (unwanted, for another key, revoked, due for renewal),
//! send CSRs for requests that have none, store certificates the provider sent that pass
//! [`accept::judge`], report refusals, and write each bag once when it changed. Making a key or
//! a CSR needs randomness, so the plan says which and `apply` makes them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use charm::{LogLevel, SecretContent, SecretId};
use pki::{Certificate, Csr, PrivateKey};

use super::observe::ProviderData;
use super::{
    AssignedCertificate, CertificateAvailable, CertificateDenied, CertificateRequest,
    RequirerEvent, Scope, accept, canonical_pem,
};
use crate::labels;
use crate::time_fmt;
use crate::wire::tls_certificates::{CertificateEntry, RequestEntry};

/// What one hook sees: the planner's whole input.
pub(crate) struct Observation {
    /// The hook's clock (Unix seconds).
    pub(crate) now: i64,
    /// This unit's number (labels carry it).
    pub(crate) unit: u32,
    /// Our endpoint's name (labels carry it).
    pub(crate) endpoint: String,
    /// When to renew.
    pub(crate) renewal: accept::Renewal,
    /// DER of the CSRs this hook was asked to renew (secret expired, or `renew`).
    pub(crate) renew: BTreeSet<Vec<u8>>,
    /// The provider's app bag.
    pub(crate) provider: ProviderData,
    /// The scopes this unit manages, UNIT first.
    pub(crate) scopes: Vec<ScopeObservation>,
}

/// What the hook sees of one scope.
pub(crate) struct ScopeObservation {
    pub(crate) scope: Scope,
    /// The charm's wanted requests of this scope, in order.
    pub(crate) wanted: Vec<CertificateRequest>,
    pub(crate) key: KeySource,
    /// Our bag's request entries, in order.
    pub(crate) bag: Vec<BagEntry>,
    /// Certificate secrets of the CSRs the provider answered, by CSR DER.
    pub(crate) secrets: BTreeMap<Vec<u8>, CertificateSecret>,
}

/// Where the scope's private key stands.
#[derive(Clone)]
pub(crate) enum KeySource {
    /// Supplied by the charm or stored under the current label.
    Held(Arc<PrivateKey>),
    /// Stored under the legacy APP label only: to be moved to the current label.
    Legacy(Arc<PrivateKey>),
    /// None yet: to be generated.
    Missing,
}

impl KeySource {
    /// The key, when there is one.
    pub(crate) fn key(&self) -> Option<&PrivateKey> {
        match self {
            Self::Held(k) | Self::Legacy(k) => Some(k),
            Self::Missing => None,
        }
    }
}

/// One request entry of our own bag, with its parsed CSR (`None` when unreadable).
#[derive(Clone)]
pub(crate) struct BagEntry {
    pub(crate) wire: RequestEntry,
    pub(crate) csr: Option<Csr>,
}

impl BagEntry {
    /// The request this entry makes, rebuilt from its CSR.
    fn request(&self, csr: &Csr) -> CertificateRequest {
        CertificateRequest {
            attributes: csr.attributes(),
            is_ca: self.wire.ca.unwrap_or(false),
        }
    }
}

/// A certificate secret of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertificateSecret {
    pub(crate) id: SecretId,
    /// The stored certificate PEM (not read for a revoked certificate).
    pub(crate) certificate: Option<String>,
}

/// Where one wanted request stands in this hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestState {
    /// The scope has no private key yet: one is generated, then a CSR sent.
    NoKey,
    /// No CSR of ours asks for it (none yet, or only for another key): a CSR is sent.
    NotRequested,
    /// Our CSR is in the bag and the provider has not answered it.
    CsrSent,
    /// The provider sent a certificate for our CSR (stored when it passes the checks).
    CertificateHeld,
    /// Renewal is due (secret expired, asked for, or the safety net): a new CSR, same key.
    RenewalDue,
    /// The provider revoked our certificate: its secret is removed and a new CSR sent.
    Revoked,
    /// The provider refused our CSR.
    Denied,
}

impl RequestState {
    /// Whether a new CSR is sent for the request in this state.
    pub(crate) fn needs_csr(self) -> bool {
        matches!(
            self,
            Self::NoKey | Self::NotRequested | Self::RenewalDue | Self::Revoked
        )
    }
}

/// What to do in one hook.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) scopes: Vec<ScopePlan>,
}

impl Plan {
    /// Whether applying the plan would change nothing: no key, secret or bag is written and no
    /// new certificate is reported. Logs (refusals, chain defects) and denials are reported on
    /// every hook while they last, so they do not count.
    #[cfg(test)]
    pub(crate) fn changes_nothing(&self) -> bool {
        self.scopes.iter().all(|s| {
            matches!(s.key, KeyStep::Use(_))
                && s.bag.is_none()
                && s.steps.iter().all(|step| {
                    matches!(
                        step,
                        Step::Log(..) | Step::Emit(RequirerEvent::CertificateDenied(_))
                    )
                })
        })
    }
}

/// What to do for one scope, in order: the key, then the steps, then the bag.
#[derive(Debug)]
pub(crate) struct ScopePlan {
    pub(crate) scope: Scope,
    pub(crate) key: KeyStep,
    pub(crate) steps: Vec<Step>,
    /// When the bag changes: the entries kept, in order; the CSRs sent are appended.
    pub(crate) bag: Option<Vec<RequestEntry>>,
    /// Each wanted request with its state (what the steps were planned from; read by the tests
    /// and shown by `Debug`).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) states: Vec<(CertificateRequest, RequestState)>,
}

/// The scope's key for this hook.
#[derive(Debug)]
pub(crate) enum KeyStep {
    /// Use the key held.
    Use(Arc<PrivateKey>),
    /// Move this key from the legacy APP label to the current one, then use it.
    MigrateLegacy(Arc<PrivateKey>),
    /// Generate and store a new key.
    Generate,
}

/// One thing to do.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    Log(LogLevel, String),
    RemoveSecret(SecretId),
    /// Make a CSR for the request with the scope's key, log it, and add it to the bag.
    SendCsr(CertificateRequest),
    /// Add or update a certificate secret.
    StoreCertificate(StoreCertificate),
    Emit(RequirerEvent),
}

/// A certificate secret to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreCertificate {
    pub(crate) scope: Scope,
    /// The secret to update; a new one is added under `label` when `None`.
    pub(crate) existing: Option<SecretId>,
    pub(crate) label: String,
    pub(crate) content: SecretContent,
    /// Unix seconds: the secret expires at the renewal time.
    pub(crate) expire: i64,
}

/// What the planner concluded about one entry of our bag.
enum Verdict {
    /// The CSR does not parse: dropped.
    Unreadable,
    /// Not wanted any more, or made with another key: withdrawn.
    Unwanted,
    /// The provider revoked its certificate: withdrawn.
    Revoked,
    /// Renewal due: withdrawn.
    RenewalDue,
    /// Kept, with the provider's certificate for it if any (never a revoked one).
    Kept(Option<CertificateEntry>),
}

/// The plan for `o`.
pub(crate) fn plan(o: &Observation) -> Plan {
    Plan {
        scopes: o.scopes.iter().map(|s| plan_scope(o, s)).collect(),
    }
}

fn plan_scope(o: &Observation, s: &ScopeObservation) -> ScopePlan {
    let key_step = match &s.key {
        KeySource::Held(k) => KeyStep::Use(Arc::clone(k)),
        KeySource::Legacy(k) => KeyStep::MigrateLegacy(Arc::clone(k)),
        KeySource::Missing => KeyStep::Generate,
    };
    let key = s.key.key();
    let mut steps = Vec::new();

    // 1. Judge each entry; revocations and the safety net are logged for every entry the
    //    provider answered, wanted or not.
    let mut verdicts = Vec::with_capacity(s.bag.len());
    for entry in &s.bag {
        let Some(csr) = &entry.csr else {
            verdicts.push(Verdict::Unreadable);
            continue;
        };
        let answer = o.provider.certificate_for(csr);
        let mut revoked = false;
        let mut renewal_due = o.renew.contains(csr.der());
        if let Some(cert) = &answer {
            if cert.revoked == Some(true) {
                steps.push(Step::Log(
                    LogLevel::Info,
                    format!(
                        "certificate for '{}' was revoked by the provider; requesting a new one",
                        csr.subject()
                    ),
                ));
                if let Some(secret) = s.secrets.get(csr.der()) {
                    steps.push(Step::RemoveSecret(secret.id.clone()));
                }
                revoked = true;
            } else if let Ok(c) = Certificate::from_pem(&cert.certificate)
                && key.is_some_and(|k| c.matches_key(k))
                && o.renewal.safety_net_due(&c, o.now)
            {
                steps.push(Step::Log(
                    LogLevel::Warning,
                    format!(
                        "certificate for '{}' is close to expiry and was not renewed; renewing now (safety net)",
                        csr.subject()
                    ),
                ));
                renewal_due = true;
            }
        }
        let wanted = s.wanted.contains(&entry.request(csr));
        let ours = key.is_some_and(|k| csr.matches_key(k));
        // A withdrawn CSR's certificate is not ours to serve any more: its secret goes with it
        // (else it would linger, and its expiry would wake the charm for nothing).
        if !(revoked || renewal_due || wanted && ours)
            && let Some(secret) = s.secrets.get(csr.der())
        {
            steps.push(Step::RemoveSecret(secret.id.clone()));
        }
        verdicts.push(if revoked {
            Verdict::Revoked
        } else if renewal_due {
            Verdict::RenewalDue
        } else if !wanted || !ours {
            Verdict::Unwanted
        } else {
            Verdict::Kept(answer)
        });
    }

    // 2. The state of each wanted request; a CSR for each that has none kept.
    let mut states = Vec::with_capacity(s.wanted.len());
    let mut sent: Vec<&CertificateRequest> = Vec::new();
    for request in &s.wanted {
        let state = request_state(o, s, &verdicts, request);
        // The same request twice in a scope gets one CSR.
        if state.needs_csr() && !sent.contains(&request) {
            steps.push(Step::SendCsr(request.clone()));
            sent.push(request);
        }
        states.push((request.clone(), state));
    }

    // 3. Take in the provider's answers to the CSRs kept.
    for (entry, verdict) in s.bag.iter().zip(&verdicts) {
        let (Verdict::Kept(answer), Some(csr), Some(key)) = (verdict, &entry.csr, key) else {
            continue;
        };
        if let Some(cert) = answer {
            accept_steps(o, s, entry, csr, cert, key, &mut steps);
        }
        if let Some(err) = o.provider.error_for(csr) {
            steps.push(Step::Emit(RequirerEvent::CertificateDenied(
                CertificateDenied {
                    certificate_signing_request: entry.wire.certificate_signing_request.clone(),
                    error: err.error.clone(),
                },
            )));
        }
    }

    // 4. The bag: written once, when an entry was dropped or a CSR is sent.
    let kept: Vec<RequestEntry> = s
        .bag
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| matches!(v, Verdict::Kept(_)))
        .map(|(e, _)| e.wire.clone())
        .collect();
    let bag = (kept.len() != s.bag.len() || !sent.is_empty()).then_some(kept);

    ScopePlan {
        scope: s.scope,
        key: key_step,
        steps,
        bag,
        states,
    }
}

/// The state of `request`: from the entry kept for it, else from the entry withdrawn for it.
fn request_state(
    o: &Observation,
    s: &ScopeObservation,
    verdicts: &[Verdict],
    request: &CertificateRequest,
) -> RequestState {
    if s.key.key().is_none() {
        return RequestState::NoKey;
    }
    let mut withdrawn = RequestState::NotRequested;
    for (entry, verdict) in s.bag.iter().zip(verdicts) {
        let Some(csr) = &entry.csr else { continue };
        if &entry.request(csr) != request {
            continue;
        }
        match verdict {
            Verdict::Kept(Some(_)) => return RequestState::CertificateHeld,
            Verdict::Kept(None) if o.provider.error_for(csr).is_some() => {
                return RequestState::Denied;
            }
            Verdict::Kept(None) => return RequestState::CsrSent,
            Verdict::Revoked => withdrawn = RequestState::Revoked,
            Verdict::RenewalDue if withdrawn != RequestState::Revoked => {
                withdrawn = RequestState::RenewalDue;
            }
            _ => {}
        }
    }
    withdrawn
}

/// Judges the provider's certificate for a kept CSR: refused with a reason, or accepted with
/// its chain's defects logged, and stored and reported when new or changed.
fn accept_steps(
    o: &Observation,
    s: &ScopeObservation,
    entry: &BagEntry,
    csr: &Csr,
    cert: &CertificateEntry,
    key: &PrivateKey,
    steps: &mut Vec<Step>,
) {
    let is_ca = entry.wire.ca.unwrap_or(false);
    let certificate = match accept::judge(csr, is_ca, cert, key) {
        Ok(c) => c,
        Err(reason) => {
            steps.push(Step::Log(LogLevel::Warning, reason));
            return;
        }
    };
    let subject = csr.subject().to_string();
    for defect in accept::chain_defects(&certificate, cert, &subject, o.now) {
        steps.push(Step::Log(LogLevel::Warning, defect));
    }
    let cert_pem = certificate.pem().trim().to_owned();
    let secret = s.secrets.get(csr.der());
    if secret.and_then(|x| x.certificate.as_deref()).map(str::trim) == Some(cert_pem.as_str()) {
        return;
    }
    let info = certificate.info();
    let not_after = info.not_after.unix_timestamp();
    let expire = o.renewal.time(o.now, not_after);
    let canonical = canonical_pem(csr);
    let sha = labels::csr_sha256(&canonical);
    steps.push(Step::StoreCertificate(StoreCertificate {
        scope: s.scope,
        existing: secret.map(|x| x.id.clone()),
        label: labels::certificate(s.scope, o.unit, &o.endpoint, &sha),
        content: BTreeMap::from([
            (labels::CERTIFICATE_KEY.to_owned(), cert_pem),
            (labels::CSR_KEY.to_owned(), canonical),
        ]),
        expire,
    }));
    steps.push(Step::Log(
        LogLevel::Info,
        format!(
            "certificate for '{subject}' received (serial {}, valid until {}); renewal at {}",
            info.serial,
            time_fmt::rfc3339(not_after),
            time_fmt::rfc3339(expire)
        ),
    ));
    steps.push(Step::Emit(RequirerEvent::CertificateAvailable(
        CertificateAvailable {
            scope: s.scope,
            certificate_signing_request: csr.pem().to_owned(),
            certificate: cert.certificate.clone(),
            ca: cert.ca.clone(),
            chain: cert.chain.clone().unwrap_or_default(),
        },
    )));
}

/// The certificates the provider assigned to the CSRs in `bag` that are for `key` and not
/// revoked (a query: nothing is judged beyond the key, nothing stored).
pub(crate) fn assigned(
    scope: Scope,
    key: Option<&PrivateKey>,
    bag: &[BagEntry],
    provider: &ProviderData,
) -> Vec<AssignedCertificate> {
    let Some(key) = key else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in bag {
        let Some(csr) = &entry.csr else { continue };
        let Some(cert_entry) = provider.certificate_for(csr) else {
            continue;
        };
        if cert_entry.revoked == Some(true) {
            continue;
        }
        let Ok(certificate) = Certificate::from_pem(&cert_entry.certificate) else {
            continue;
        };
        if !certificate.matches_key(key) {
            continue;
        }
        out.push(AssignedCertificate {
            scope,
            request: entry.request(csr),
            certificate,
            ca: cert_entry.ca.clone(),
            chain: cert_entry.chain.clone().unwrap_or_default(),
            csr: entry.wire.certificate_signing_request.clone(),
        });
    }
    out
}
