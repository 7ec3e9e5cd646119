//! One answer of the reactive wire: the certificate already published when it still fits, or
//! a new one. Same common name, same certificate: a hook that changes nothing re-issues
//! nothing, so the requirer's files and flags stay still. A certificate is issued again (with
//! the same key) when its names change, when the CA changed, or once two thirds of its life
//! has passed (on this wire the requirer never asks again: renewing is the provider's job).

use pki::{
    CertificateAuthority, CertificateKind, ExtendedKeyUsage, IssueRequest, IssuingPolicy,
    PrivateKey, RequestAttributes,
};
use time::{Duration, OffsetDateTime};
use tls_interfaces::wire::reactive::{IssuedPair, RequestType};

use super::requests::Wanted;

/// What every answer is issued with.
pub struct Issuing<'a> {
    /// The CA.
    pub ca: &'a CertificateAuthority,
    /// Validity of a new certificate (`certificate-validity`).
    pub validity: Duration,
    /// The model's time.
    pub now: OffsetDateTime,
}

/// The answer to `wanted`: `published` when it still fits `key`, the names and the CA, else a
/// new certificate. `Err` says why nothing can be issued (a SAN that is not a name or address).
pub fn answer(
    issuing: &Issuing<'_>,
    wanted: &Wanted,
    key: &PrivateKey,
    published: Option<&IssuedPair>,
) -> Result<(IssuedPair, bool), String> {
    let attributes = attributes(wanted)?;
    let key_pem = key.to_pkcs8_pem();
    if let Some(p) = published
        && p.key.trim() == key_pem.trim()
        && fits(issuing, &p.cert, key, &attributes)
    {
        return Ok((p.clone(), false));
    }
    let csr = attributes.to_csr(key).map_err(|e| e.to_string())?;
    let policy = IssuingPolicy {
        max_validity: Some(issuing.validity),
        extended_key_usage: usage(wanted.kind),
        ..IssuingPolicy::default()
    };
    let cert = issuing
        .ca
        .issue(
            &IssueRequest {
                csr: &csr,
                kind: CertificateKind::Leaf,
                validity: issuing.validity,
            },
            &policy,
            issuing.now,
        )
        .map_err(|e| e.to_string())?;
    Ok((IssuedPair::new(cert.pem().trim(), key_pem.trim()), true))
}

/// Client certificates get clientAuth only; server and application certificates serverAuth
/// and clientAuth, as every certificate of this CA (Juju units serve and connect with one).
fn usage(kind: RequestType) -> ExtendedKeyUsage {
    match kind {
        RequestType::Client => ExtendedKeyUsage::Client,
        _ => ExtendedKeyUsage::ServerAndClient,
    }
}

fn attributes(wanted: &Wanted) -> Result<RequestAttributes, String> {
    let mut a = RequestAttributes::new(wanted.common_name.clone());
    for san in &wanted.sans {
        a.sans
            .push_str(san)
            .map_err(|e| format!("subject alternative name '{san}': {e}"))?;
    }
    Ok(a)
}

/// Whether the published certificate is for this key, these names, from this CA, and not yet
/// two thirds through its life.
fn fits(
    issuing: &Issuing<'_>,
    cert_pem: &str,
    key: &PrivateKey,
    wanted: &RequestAttributes,
) -> bool {
    let Ok(cert) = pki::Certificate::from_pem(cert_pem) else {
        return false;
    };
    let info = cert.info();
    let ca = issuing.ca.certificate().info();
    let renew_at = info.not_before + (info.not_after - info.not_before) * 2 / 3;
    cert.matches_key(key)
        && info.authority_key_id.is_some()
        && info.authority_key_id == ca.subject_key_id
        && info.subject.common_name() == wanted.common_name.as_deref()
        && info.sans == wanted.sans
        && issuing.now < renew_at
}
