//! Chains: put an unordered set of certificates in order (leaf first, root last) and verify a
//! leaf against a trust anchor at a given time.
//!
//! [`verify_for_usage`] is the judge: `rustls-webpki` (on `aws-lc-rs`) decides, with the
//! usage asked for (TLS server, client, or either), unknown critical extensions, extended key
//! usages and name constraints. Our own walk ([`verify`]: names link byte for byte, each
//! signature verifies with the issuer's key, every certificate is valid at the time given,
//! issuers are CAs with keyCertSign, path length constraints hold) then only explains a refusal
//! in words, and judges what webpki will not: a CA certificate or a v1 certificate as the one
//! to verify (see [`Judge::OwnWalk`]).

use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use time::OffsetDateTime;
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::certificate::X509Certificate;
use x509_parser::x509::X509Version;

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

/// What the verified certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Usage {
    /// TLS server authentication (EKU serverAuth, or no EKU).
    Server,
    /// TLS client authentication (EKU clientAuth, or no EKU).
    Client,
    /// Either of the two: what a Juju unit's certificate is used for.
    #[default]
    Any,
}

impl Usage {
    /// The word used in messages and on the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
            Self::Any => "any",
        }
    }

    /// The EKU OIDs that satisfy this usage (anyExtendedKeyUsage does not: webpki does not
    /// honour it either).
    fn eku_oids(self) -> &'static [&'static str] {
        match self {
            Self::Server => &[EKU_SERVER],
            Self::Client => &[EKU_CLIENT],
            Self::Any => &[EKU_SERVER, EKU_CLIENT],
        }
    }
}

const EKU_SERVER: &str = "1.3.6.1.5.5.7.3.1";
const EKU_CLIENT: &str = "1.3.6.1.5.5.7.3.2";

/// Who judged a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judge {
    /// `rustls-webpki`, for the usage asked.
    Webpki,
    /// Our own walk, because webpki does not judge this certificate; the reason says why.
    /// Checked then: the walk of [`verify`], that every critical extension in the path is one
    /// webpki would understand (BasicConstraints, KeyUsage, ExtendedKeyUsage, SAN, name
    /// constraints, CRL distribution points), and the usage against the certificate's EKU when
    /// it has one. Name constraints are *not* checked.
    OwnWalk {
        /// Why webpki was not asked.
        reason: &'static str,
    },
}

/// A verified chain, and who judged it.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The path, leaf first, trust anchor last.
    pub path: Vec<Certificate>,
    /// Who judged it.
    pub judge: Judge,
}

/// Signature algorithms webpki may use, all from `aws-lc-rs` (no `ring`).
static ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P256_SHA512,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA512,
    webpki::aws_lc_rs::ECDSA_P521_SHA256,
    webpki::aws_lc_rs::ECDSA_P521_SHA384,
    webpki::aws_lc_rs::ECDSA_P521_SHA512,
    webpki::aws_lc_rs::ED25519,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// Critical extensions webpki understands; any other critical one refuses the certificate.
const KNOWN_CRITICAL: [&str; 6] = [
    "2.5.29.15", // keyUsage
    "2.5.29.17", // subjectAltName
    "2.5.29.19", // basicConstraints
    "2.5.29.30", // nameConstraints
    "2.5.29.31", // cRLDistributionPoints
    "2.5.29.37", // extKeyUsage
];

/// Verifies `leaf` for `usage` up to `anchor` through `intermediates` (any order) at `at`,
/// with `rustls-webpki` as the judge; see the module documentation. A refusal is explained in
/// words: by our own walk when it finds the fault, otherwise by naming what webpki objected to.
pub fn verify_for_usage(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchor: &Certificate,
    at: OffsetDateTime,
    usage: Usage,
) -> Result<Verified, ChainError> {
    if let Some(reason) = webpki_will_not_judge(leaf, anchor, at) {
        let path = verify(leaf, intermediates, anchor, at)?;
        check_critical_extensions(&path)?;
        check_usage(leaf, usage)?;
        return Ok(Verified {
            path,
            judge: Judge::OwnWalk { reason },
        });
    }
    match webpki_verify(leaf, intermediates, anchor, at, usage) {
        Ok(path) => Ok(Verified {
            path,
            judge: Judge::Webpki,
        }),
        Err(refusal) => {
            // Our walk names the fault when it sees it; otherwise say what webpki saw.
            let path = verify(leaf, intermediates, anchor, at)?;
            Err(explain(refusal, &path, usage))
        }
    }
}

/// Why webpki cannot be asked about this certificate, if it cannot.
fn webpki_will_not_judge(
    leaf: &Certificate,
    anchor: &Certificate,
    at: OffsetDateTime,
) -> Option<&'static str> {
    if leaf.der() == anchor.der() {
        Some("the certificate is the trust anchor itself")
    } else if leaf.info().is_ca {
        Some("webpki does not judge a CA certificate as the end entity")
    } else if leaf
        .with_x509(|c| c.version() == X509Version::V1)
        .unwrap_or(false)
    {
        Some("webpki does not judge v1 certificates")
    } else if at.unix_timestamp() < 0 {
        Some("webpki does not judge times before 1970")
    } else {
        None
    }
}

fn webpki_verify(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchor: &Certificate,
    at: OffsetDateTime,
    usage: Usage,
) -> Result<Vec<Certificate>, webpki::Error> {
    let leaf_der = CertificateDer::from(leaf.der());
    let anchor_der = CertificateDer::from(anchor.der());
    let anchors = [webpki::anchor_from_trusted_cert(&anchor_der)?];
    let intermediate_ders: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.der()))
        .collect();
    let end_entity = EndEntityCert::try_from(&leaf_der)?;
    let seconds = u64::try_from(at.unix_timestamp()).unwrap_or(0);
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds));
    let run = |key_usage: KeyUsage| {
        end_entity
            .verify_for_usage(
                ALGORITHMS,
                &anchors,
                &intermediate_ders,
                time,
                key_usage,
                None,
                None,
            )
            .map(|verified| {
                verified
                    .intermediate_certificates()
                    .filter_map(|c| intermediates.iter().find(|i| i.der() == c.der().as_ref()))
                    .cloned()
                    .collect::<Vec<_>>()
            })
    };
    let middle = match usage {
        Usage::Server => run(KeyUsage::server_auth()),
        Usage::Client => run(KeyUsage::client_auth()),
        Usage::Any => run(KeyUsage::server_auth()).or_else(|e| match e {
            webpki::Error::RequiredEkuNotFoundContext(_) => run(KeyUsage::client_auth()),
            other => Err(other),
        }),
    }?;
    let mut path = vec![leaf.clone()];
    path.extend(middle);
    path.push(anchor.clone());
    Ok(path)
}

/// Words for a webpki refusal our own walk did not see, naming the certificate at fault where
/// we can find it.
fn explain(refusal: webpki::Error, path: &[Certificate], usage: Usage) -> ChainError {
    match refusal {
        webpki::Error::UnsupportedCriticalExtension => check_critical_extensions(path)
            .err()
            .unwrap_or(ChainError::Refused {
                reason: "a certificate has a critical extension webpki does not understand".into(),
            }),
        webpki::Error::RequiredEkuNotFoundContext(_) => {
            let leaf = &path[0];
            ChainError::UsageNotAllowed {
                subject: leaf.subject().to_string(),
                usage: usage.name(),
                extended_key_usages: leaf.info().extended_key_usages.clone(),
            }
        }
        webpki::Error::NameConstraintViolation => ChainError::NameConstraintViolation {
            subject: path[0].subject().to_string(),
        },
        other => ChainError::Refused {
            reason: format!("rustls-webpki refused the chain: {other:?}"),
        },
    }
}

/// Every critical extension in `path` is one webpki would understand.
fn check_critical_extensions(path: &[Certificate]) -> Result<(), ChainError> {
    for cert in path {
        let unknown = cert
            .with_x509(|c| {
                c.extensions()
                    .iter()
                    .filter(|e| e.critical)
                    .map(|e| e.oid.to_id_string())
                    .find(|oid| !KNOWN_CRITICAL.contains(&oid.as_str()))
            })
            .ok()
            .flatten();
        if let Some(oid) = unknown {
            return Err(ChainError::UnknownCriticalExtension {
                subject: cert.subject().to_string(),
                oid,
            });
        }
    }
    Ok(())
}

/// The usage against the leaf's EKU, when it has one (no EKU allows every usage).
fn check_usage(leaf: &Certificate, usage: Usage) -> Result<(), ChainError> {
    let ekus = &leaf.info().extended_key_usages;
    if ekus.is_empty() || usage.eku_oids().iter().any(|o| ekus.iter().any(|e| e == o)) {
        return Ok(());
    }
    Err(ChainError::UsageNotAllowed {
        subject: leaf.subject().to_string(),
        usage: usage.name(),
        extended_key_usages: ekus.clone(),
    })
}
