//! A unit's choice of its certificate, sans I/O: among the `<unit>_signed_certificate` entries
//! for it in every bag of the relation (the leader's, and an earlier leader's until it cleans
//! up), one for its own key that verifies against the application's CA now; the one for its
//! current CSR first, then the most recent. Entries that fail are refused by name.

use pki::chain::{Usage, verify_for_usage};
use pki::{Certificate, Csr, PrivateKey};
use time::OffsetDateTime;

use super::refusal::{Refusal, RefusalReason};
use charm::UnitName;

/// A certificate for this unit found in one bag.
pub(crate) struct Offer<'a> {
    /// Whose bag it is in.
    pub(crate) from: &'a UnitName,
    /// The PEM text.
    pub(crate) pem: &'a str,
}

/// The certificate this unit uses, and the offers refused on the way.
pub(crate) fn choose(
    me: &UnitName,
    key: &PrivateKey,
    csr: Option<&Csr>,
    ca: &Certificate,
    now: OffsetDateTime,
    offers: &[Offer<'_>],
) -> (Option<Certificate>, Vec<Refusal>) {
    let mut refusals = Vec::new();
    let mut best: Option<((bool, OffsetDateTime), Certificate)> = None;
    for offer in offers {
        let refuse = |reason| Refusal {
            unit: me.clone(),
            location: format!(
                "unit {}, key {}",
                offer.from,
                crate::wire::peer_tls::signed_certificate_key(me)
            ),
            reason,
        };
        let certificate = match Certificate::from_pem(offer.pem) {
            Ok(c) => c,
            Err(e) => {
                refusals.push(refuse(RefusalReason::BadCertificate(e)));
                continue;
            }
        };
        if !certificate.matches_key(key) {
            refusals.push(refuse(RefusalReason::KeyMismatch));
            continue;
        }
        if let Err(e) = verify_for_usage(&certificate, &[], ca, now, Usage::Any) {
            refusals.push(refuse(RefusalReason::NotFromCa(e)));
            continue;
        }
        let for_current_request = csr.is_some_and(|csr| {
            certificate.subject().der() == csr.subject().der()
                && certificate.info().sans == *csr.sans()
        });
        let rank = (for_current_request, certificate.info().not_before);
        if best.as_ref().is_none_or(|(r, _)| rank > *r) {
            best = Some((rank, certificate));
        }
    }
    (best.map(|(_, c)| c), refusals)
}
