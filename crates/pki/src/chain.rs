//! Chains: put an unordered set of certificates in order (leaf first, root last) and verify a
//! leaf against a trust anchor at a given time.
//!
//! Verification here is our own, small and strict: names link byte for byte, each signature
//! verifies with the issuer's key, every certificate is valid at the time given, issuers are
//! CAs with keyCertSign, and path length constraints hold. Tests check it against `openssl
//! verify -x509_strict` and `rustls-webpki`, which are independent of it.

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;

use crate::certificate::Certificate;
use crate::error::{CertificateError, ChainError};

/// No deployment needs a longer chain; this also bounds loops in malformed input.
const MAX_DEPTH: usize = 8;

/// Orders certificates from leaf to root. The leaf is the one certificate that issued none of
/// the others; each next one is the issuer of the previous. Certificates that do not belong to
/// that single path are an error, so a mixed-up bundle never passes silently.
pub fn order(certificates: &[Certificate]) -> Result<Vec<Certificate>, ChainError> {
    if certificates.is_empty() {
        return Ok(Vec::new());
    }
    if certificates.len() > MAX_DEPTH {
        return Err(ChainError::TooLong(MAX_DEPTH));
    }
    let issues = |issuer: &Certificate, child: &Certificate| {
        !std::ptr::eq(issuer, child)
            && child.info().issuer.der() == issuer.subject().der()
            && signed_by(child, issuer)
    };
    let leaves: Vec<&Certificate> = certificates
        .iter()
        .filter(|c| !certificates.iter().any(|other| issues(c, other)))
        .collect();
    let [leaf] = leaves.as_slice() else {
        let subject = leaves
            .first()
            .map_or_else(String::new, |c| c.subject().to_string());
        return Err(ChainError::IssuerNotFound {
            subject,
            issuer: format!("{} certificates are not one chain", leaves.len()),
        });
    };
    let mut ordered = vec![(*leaf).clone()];
    while ordered.len() < certificates.len() {
        let current = &ordered[ordered.len() - 1];
        let next = certificates
            .iter()
            .find(|c| issues(c, current) && !ordered.iter().any(|o| o.der() == c.der()))
            .ok_or_else(|| ChainError::IssuerNotFound {
                subject: current.subject().to_string(),
                issuer: current.info().issuer.to_string(),
            })?;
        ordered.push(next.clone());
    }
    Ok(ordered)
}

/// Verifies `leaf` up to `anchor` through `intermediates` (in any order) at time `at`.
/// Returns the path used, leaf first, anchor last.
pub fn verify(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchor: &Certificate,
    at: OffsetDateTime,
) -> Result<Vec<Certificate>, ChainError> {
    let mut path = vec![leaf.clone()];
    check_validity(leaf, at)?;
    if leaf.der() == anchor.der() {
        return Ok(path);
    }
    loop {
        if path.len() > MAX_DEPTH {
            return Err(ChainError::TooLong(MAX_DEPTH));
        }
        let current = &path[path.len() - 1];
        let issuer_name = current.info().issuer.der();
        let candidates = std::iter::once(anchor).chain(intermediates.iter());
        let mut found = None;
        let mut bad_signature = None;
        for candidate in candidates {
            if candidate.subject().der() != issuer_name
                || path.iter().any(|p| p.der() == candidate.der())
            {
                continue;
            }
            if signed_by(current, candidate) {
                found = Some(candidate);
                break;
            }
            bad_signature = Some(candidate);
        }
        let Some(issuer) = found else {
            return Err(match bad_signature {
                Some(c) => ChainError::BadSignature {
                    subject: current.subject().to_string(),
                    issuer: c.subject().to_string(),
                },
                None => ChainError::IssuerNotFound {
                    subject: current.subject().to_string(),
                    issuer: current.info().issuer.to_string(),
                },
            });
        };
        let info = issuer.info();
        if !info.is_ca || !info.can_sign_certificates {
            return Err(ChainError::NotACa {
                subject: issuer.subject().to_string(),
            });
        }
        // Intermediates between this issuer and the leaf (the leaf itself does not count).
        let cas_below = path.len() - 1;
        if let Some(max) = info.path_len
            && cas_below > max as usize
        {
            return Err(ChainError::PathLenExceeded {
                subject: issuer.subject().to_string(),
            });
        }
        check_validity(issuer, at)?;
        let reached_anchor = issuer.der() == anchor.der();
        path.push(issuer.clone());
        if reached_anchor {
            return Ok(path);
        }
    }
}

fn check_validity(cert: &Certificate, at: OffsetDateTime) -> Result<(), ChainError> {
    if cert.is_valid_at(at) {
        return Ok(());
    }
    let info = cert.info();
    Err(ChainError::Expired {
        subject: cert.subject().to_string(),
        at,
        not_before: info.not_before,
        not_after: info.not_after,
    })
}

/// Whether `child`'s signature verifies with `issuer`'s public key.
fn signed_by(child: &Certificate, issuer: &Certificate) -> bool {
    let verified = || -> Result<bool, CertificateError> {
        let (_, issuer_x509) = X509Certificate::from_der_checked(issuer.der())?;
        child.with_x509(|c| c.verify_signature(Some(issuer_x509.public_key())).is_ok())
    };
    verified().unwrap_or(false)
}

trait FromDerChecked<'a>: Sized {
    fn from_der_checked(der: &'a [u8]) -> Result<(&'a [u8], Self), CertificateError>;
}

impl<'a> FromDerChecked<'a> for X509Certificate<'a> {
    fn from_der_checked(der: &'a [u8]) -> Result<(&'a [u8], Self), CertificateError> {
        use x509_parser::prelude::FromDer;
        X509Certificate::from_der(der).map_err(|e| CertificateError::Malformed(e.to_string()))
    }
}
