//! The leader's decision, sans I/O: from every unit's CSR, the certificates its own bag and the
//! other bags hold, the CA and the time, what to publish and what to remove in its own bag.
//!
//! A certificate is only re-issued when nothing valid exists for the unit's current CSR: a new
//! leader finds the certificates its predecessor published (their bag is still on the relation)
//! and adopts them byte for byte, so a leader change changes nobody's certificate.

use std::collections::BTreeMap;

use charm::UnitName;
use pki::chain::{Usage, verify_for_usage};
use pki::{Certificate, CertificateAuthority, CertificateKind, Csr, IssueRequest, IssuingPolicy};
use time::{Duration, OffsetDateTime};

use super::refusal::{Refusal, RefusalReason};
use crate::wire::peer_tls::{CSR_KEY, signed_certificate_key};

/// What the leader sees in one hook.
pub(crate) struct LeaderView<'a> {
    /// The application's CA.
    pub(crate) ca: &'a CertificateAuthority,
    /// Now (the model's clock).
    pub(crate) now: OffsetDateTime,
    /// The validity of the certificates it issues.
    pub(crate) validity: Duration,
    /// Every unit on the relation, the leader included, with the `csr` of its bag if any.
    pub(crate) csrs: BTreeMap<UnitName, Option<String>>,
    /// The signed certificates the leader's own bag holds.
    pub(crate) own: BTreeMap<UnitName, String>,
    /// The signed certificates other units' bags hold (left by earlier leaders).
    pub(crate) others: Vec<BTreeMap<UnitName, String>>,
}

/// Why a certificate is (re-)issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignReason {
    /// The unit had no valid certificate for its CSR: its first, or one for a changed request.
    New,
    /// Its certificate reached the renewal point.
    Renewal,
}

/// What the leader does to its own bag.
#[derive(Debug, Default)]
pub(crate) struct LeaderPlan {
    /// Certificates to write, by unit.
    pub(crate) publish: BTreeMap<UnitName, String>,
    /// Units whose entry goes: they left the relation.
    pub(crate) remove: Vec<UnitName>,
    /// Units signed in this hook, and why.
    pub(crate) signed: Vec<(UnitName, SignReason)>,
    /// Units whose certificate was taken over from an earlier leader's bag.
    pub(crate) adopted: Vec<UnitName>,
    /// Entries refused.
    pub(crate) refusals: Vec<Refusal>,
}

/// Leaves are renewed once two thirds of their life has passed, as the Python library's
/// default renewal point: a third of the validity is left to notice a failed renewal.
pub(crate) fn renewal_time(certificate: &Certificate) -> OffsetDateTime {
    let info = certificate.info();
    info.not_before + (info.not_after - info.not_before) * 2 / 3
}

/// The leader's plan for this hook.
pub(crate) fn plan(view: &LeaderView<'_>) -> Result<LeaderPlan, pki::Error> {
    let mut plan = LeaderPlan::default();
    for unit in view.own.keys() {
        if !view.csrs.contains_key(unit) {
            plan.remove.push(unit.clone());
        }
    }
    for (unit, csr_text) in &view.csrs {
        let Some(csr_text) = csr_text else { continue };
        let csr = match Csr::from_pem(csr_text) {
            Ok(csr) => csr,
            Err(e) => {
                // Whatever this unit held before stays: only the new request is refused.
                plan.refusals.push(Refusal {
                    unit: unit.clone(),
                    location: format!("unit {unit}, key {CSR_KEY}"),
                    reason: RefusalReason::BadCsr(e),
                });
                continue;
            }
        };
        let own = view.own.get(unit).and_then(|pem| fitting(pem, &csr, view));
        let reason = match own {
            Some(Fit::Current) => continue,
            Some(Fit::Due) => SignReason::Renewal,
            None => {
                let earlier = view
                    .others
                    .iter()
                    .filter_map(|bag| bag.get(unit))
                    .find(|pem| matches!(fitting(pem, &csr, view), Some(Fit::Current)));
                if let Some(pem) = earlier {
                    plan.publish.insert(unit.clone(), pem.clone());
                    plan.adopted.push(unit.clone());
                    continue;
                }
                SignReason::New
            }
        };
        let request = IssueRequest {
            csr: &csr,
            kind: CertificateKind::Leaf,
            validity: view.validity,
        };
        match view.ca.issue(&request, &IssuingPolicy::default(), view.now) {
            Ok(certificate) => {
                plan.publish
                    .insert(unit.clone(), certificate.pem().trim().to_owned());
                plan.signed.push((unit.clone(), reason));
            }
            // The policy judges the request (a CSR naming nothing, say): the requester's fault.
            Err(e @ pki::Error::Policy(_)) => plan.refusals.push(Refusal {
                unit: unit.clone(),
                location: format!("unit {unit}, key {CSR_KEY}"),
                reason: RefusalReason::Unsignable(e),
            }),
            // Anything else is our CA failing to sign: the hook fails and is retried.
            Err(e) => return Err(e),
        }
    }
    Ok(plan)
}

/// How a published certificate fits a CSR.
enum Fit {
    /// It certifies the CSR's key and names, under this CA, and is not due for renewal.
    Current,
    /// As [`Fit::Current`], but at or past its renewal time.
    Due,
}

/// Whether `pem` is a certificate for what `csr` asks, from the CA, valid now.
fn fitting(pem: &str, csr: &Csr, view: &LeaderView<'_>) -> Option<Fit> {
    let certificate = Certificate::from_pem(pem).ok()?;
    let same_request = certificate.matches_public_key(csr.public_key_der())
        && certificate.subject().der() == csr.subject().der()
        && certificate.info().sans == *csr.sans();
    if !same_request {
        return None;
    }
    verify_for_usage(
        &certificate,
        &[],
        view.ca.certificate(),
        view.now,
        Usage::Any,
    )
    .ok()?;
    Some(if view.now >= renewal_time(&certificate) {
        Fit::Due
    } else {
        Fit::Current
    })
}

/// The bag key of each published certificate, for the writer.
pub(crate) fn bag_updates(plan: &LeaderPlan) -> BTreeMap<String, String> {
    let mut updates: BTreeMap<String, String> = plan
        .publish
        .iter()
        .map(|(unit, pem)| (signed_certificate_key(unit), pem.clone()))
        .collect();
    // An empty value deletes the key, as with relation-set.
    for unit in &plan.remove {
        updates.insert(signed_certificate_key(unit), String::new());
    }
    updates
}

#[cfg(test)]
#[path = "sign_tests.rs"]
mod tests;
