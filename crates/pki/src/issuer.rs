//! Certificate authorities: a self-signed root, intermediates, and issuing for a verified CSR
//! under an [`IssuingPolicy`].
//!
//! Certificates are encoded here (TBSCertificate in DER, then signed with `aws-lc-rs`), so the
//! issuer name is the CA's subject byte for byte, and each extension is one the policy chose:
//! leaves get BasicConstraints CA:FALSE, a KeyUsage suited to their key, serverAuth+clientAuth,
//! SKI, AKI and the requested SANs; CAs get CA:TRUE, keyCertSign+cRLSign, SKI and AKI.

use std::fmt;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use time::{Duration, OffsetDateTime};

use crate::certificate::Certificate;
use crate::csr::{Csr, RequestAttributes, extension};
use crate::der::{self, tag};
use crate::error::{CertificateError, KeyError, PolicyError};
use crate::key::PrivateKey;
use crate::policy::{CertificateKind, ExtendedKeyUsage, IssuingPolicy};
use crate::{duration, oid, public_key};

/// What to issue for one request.
#[derive(Debug, Clone, Copy)]
pub struct IssueRequest<'a> {
    /// The verified request.
    pub csr: &'a Csr,
    /// Leaf or CA: an explicit input, checked against the policy.
    pub kind: CertificateKind,
    /// Requested validity (the policy may shorten it).
    pub validity: Duration,
}

/// A CA certificate with its private key: the thing that signs.
pub struct CertificateAuthority {
    certificate: Certificate,
    key: PrivateKey,
    key_id: Vec<u8>,
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("certificate", &self.certificate)
            .field("key", &self.key)
            .finish()
    }
}

impl CertificateAuthority {
    /// Pairs a CA certificate with its key, checking that it is a CA allowed to sign
    /// certificates and that the key is its own. The key is parsed once here, not per signature
    /// (the Python helper re-parses it on every call, which dominates its cost).
    pub fn new(certificate: Certificate, key: PrivateKey) -> Result<Self, CertificateError> {
        let info = certificate.info();
        let subject = info.subject.to_string();
        if !info.is_ca {
            return Err(CertificateError::NotACa {
                subject,
                reason: "BasicConstraints does not say CA:TRUE",
            });
        }
        if !info.can_sign_certificates {
            return Err(CertificateError::NotACa {
                subject,
                reason: "KeyUsage lacks keyCertSign",
            });
        }
        if !certificate.matches_key(&key) {
            return Err(CertificateError::KeyMismatch { subject });
        }
        // AKI of what we issue = this CA's SKI, so the link holds for foreign CAs too.
        let key_id = match &info.subject_key_id {
            Some(id) => {
                hex::decode(id).unwrap_or_else(|_| public_key::key_identifier(key.public_key_der()))
            }
            None => public_key::key_identifier(key.public_key_der()),
        };
        Ok(Self {
            certificate,
            key,
            key_id,
        })
    }

    /// Reads a CA from PEM texts.
    pub fn from_pem(certificate_pem: &str, key_pem: &str) -> Result<Self, crate::Error> {
        let certificate = Certificate::from_pem(certificate_pem)?;
        let key = PrivateKey::from_pem(key_pem)?;
        Ok(Self::new(certificate, key)?)
    }

    /// Makes a self-signed root CA whose subject is built from `subject` (CN, O, OU, email, C,
    /// ST, L; no unique id, no SANs), valid from `now` (back-dated a little) for `validity`.
    pub fn self_signed_root(
        subject: &RequestAttributes,
        key: PrivateKey,
        validity: Duration,
        now: OffsetDateTime,
    ) -> Result<Self, crate::Error> {
        let attrs = RequestAttributes {
            add_unique_id_to_subject_name: false,
            sans: Default::default(),
            additional_critical_extensions: Vec::new(),
            ..subject.clone()
        };
        // A CSR of our own gives the subject DER and the key in one place.
        let csr = attrs.to_csr(&key)?;
        let policy = IssuingPolicy::default();
        let not_after = duration::checked_end(now, validity).map_err(CertificateError::from)?;
        let not_before =
            duration::checked_start(now, policy.backdate).map_err(CertificateError::from)?;
        let key_id = public_key::key_identifier(key.public_key_der());
        let tbs = Tbs {
            issuer: csr.subject().der(),
            subject: csr.subject().der(),
            spki: key.public_key_der(),
            not_before,
            not_after,
            extensions: ca_extensions(None, &key_id, &key_id),
        };
        let certificate = tbs.sign(&key)?;
        Ok(Self::new(certificate, key)?)
    }

    /// The CA certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The CA's private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// Issues a certificate for a verified CSR, under `policy`, at time `now`.
    pub fn issue(
        &self,
        request: &IssueRequest<'_>,
        policy: &IssuingPolicy,
        now: OffsetDateTime,
    ) -> Result<Certificate, crate::Error> {
        let ca = self.certificate.info();
        if !self.certificate.is_valid_at(now) {
            return Err(PolicyError::CaNotValid {
                at: now,
                not_before: ca.not_before,
                not_after: ca.not_after,
            }
            .into());
        }
        let csr = request.csr;
        if csr.subject().is_empty() && csr.sans().is_empty() {
            return Err(PolicyError::EmptyIdentity.into());
        }
        let validity = match policy.max_validity {
            Some(max) => request.validity.min(max),
            None => request.validity,
        };
        let mut not_after = duration::checked_end(now, validity).map_err(CertificateError::from)?;
        let not_before =
            duration::checked_start(now, policy.backdate).map_err(CertificateError::from)?;
        if policy.cap_at_issuer_expiry {
            not_after = not_after.min(ca.not_after);
        }
        let subject_key_id = public_key::key_identifier(csr.public_key_der());
        let mut extensions = match request.kind {
            CertificateKind::Leaf => leaf_extensions(csr, policy, &subject_key_id, &self.key_id)?,
            CertificateKind::Ca { path_len } => {
                if !policy.allow_ca {
                    return Err(PolicyError::CaNotAllowed {
                        hint: policy.allow_ca_hint.clone(),
                    }
                    .into());
                }
                let path_len = match ca.path_len {
                    Some(0) => return Err(PolicyError::PathLenExceeded { path_len: 0 }.into()),
                    Some(parent) => {
                        let room = u8::try_from(parent - 1).unwrap_or(u8::MAX);
                        Some(path_len.map_or(room, |p| p.min(room)))
                    }
                    None => path_len,
                };
                ca_extensions(path_len, &subject_key_id, &self.key_id)
            }
        };
        if !csr.sans().is_empty() && !matches!(request.kind, CertificateKind::Leaf) {
            extensions.push(extension(
                oid::SUBJECT_ALT_NAME,
                csr.subject().is_empty(),
                &csr.sans().to_der()?,
            ));
        }
        let tbs = Tbs {
            issuer: ca.subject.der(),
            subject: csr.subject().der(),
            spki: csr.public_key_der(),
            not_before,
            not_after,
            extensions,
        };
        tbs.sign(&self.key)
    }
}

fn leaf_extensions(
    csr: &Csr,
    policy: &IssuingPolicy,
    subject_key_id: &[u8],
    authority_key_id: &[u8],
) -> Result<Vec<Vec<u8>>, crate::Error> {
    // RSA keys may also encipher keys (TLS 1.2 RSA key exchange); EC and Ed25519 keys only sign.
    let rsa = csr.public_key_kind().is_rsa();
    let usage = if rsa {
        KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT
    } else {
        KU_DIGITAL_SIGNATURE
    };
    let ekus: &[&[u64]] = match policy.extended_key_usage {
        ExtendedKeyUsage::ServerAndClient => &[oid::EKU_SERVER_AUTH, oid::EKU_CLIENT_AUTH],
        ExtendedKeyUsage::Server => &[oid::EKU_SERVER_AUTH],
        ExtendedKeyUsage::Client => &[oid::EKU_CLIENT_AUTH],
    };
    let eku_oids: Vec<Vec<u8>> = ekus.iter().map(|o| der::oid(o)).collect();
    let eku_refs: Vec<&[u8]> = eku_oids.iter().map(Vec::as_slice).collect();
    let mut out = vec![
        extension(oid::BASIC_CONSTRAINTS, true, &der::seq(&[])),
        extension(oid::KEY_USAGE, true, &key_usage(usage)),
        extension(oid::EXTENDED_KEY_USAGE, false, &der::seq(&eku_refs)),
        extension(
            oid::SUBJECT_KEY_IDENTIFIER,
            false,
            &der::tlv(tag::OCTET_STRING, subject_key_id),
        ),
        extension(
            oid::AUTHORITY_KEY_IDENTIFIER,
            false,
            &der::seq(&[&der::context(0, false, authority_key_id)]),
        ),
    ];
    if !csr.sans().is_empty() {
        // RFC 5280: the SAN is critical when the subject is empty.
        out.push(extension(
            oid::SUBJECT_ALT_NAME,
            csr.subject().is_empty(),
            &csr.sans().to_der()?,
        ));
    }
    Ok(out)
}

fn ca_extensions(
    path_len: Option<u8>,
    subject_key_id: &[u8],
    authority_key_id: &[u8],
) -> Vec<Vec<u8>> {
    let constraints = match path_len {
        Some(n) => der::seq(&[&der::boolean(true), &der::small_int(u32::from(n))]),
        None => der::seq(&[&der::boolean(true)]),
    };
    vec![
        extension(oid::BASIC_CONSTRAINTS, true, &constraints),
        extension(
            oid::KEY_USAGE,
            true,
            &key_usage(KU_DIGITAL_SIGNATURE | KU_KEY_CERT_SIGN | KU_CRL_SIGN),
        ),
        extension(
            oid::SUBJECT_KEY_IDENTIFIER,
            false,
            &der::tlv(tag::OCTET_STRING, subject_key_id),
        ),
        extension(
            oid::AUTHORITY_KEY_IDENTIFIER,
            false,
            &der::seq(&[&der::context(0, false, authority_key_id)]),
        ),
    ]
}

// KeyUsage bits, numbered from the most significant bit of the first byte (RFC 5280 4.2.1.3).
const KU_DIGITAL_SIGNATURE: u8 = 0x80;
const KU_KEY_ENCIPHERMENT: u8 = 0x20;
const KU_KEY_CERT_SIGN: u8 = 0x04;
const KU_CRL_SIGN: u8 = 0x02;

/// A KeyUsage BIT STRING in DER: trailing zero bits are unused and must be declared so.
fn key_usage(bits: u8) -> Vec<u8> {
    let unused = bits.trailing_zeros().min(7) as u8;
    der::tlv(tag::BIT_STRING, &[unused, bits])
}

/// The parts of a TBSCertificate that vary.
struct Tbs<'a> {
    issuer: &'a [u8],
    subject: &'a [u8],
    spki: &'a [u8],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    extensions: Vec<Vec<u8>>,
}

impl Tbs<'_> {
    fn sign(&self, key: &PrivateKey) -> Result<Certificate, crate::Error> {
        let sig_alg = key.signature_algorithm_der();
        let ext_refs: Vec<&[u8]> = self.extensions.iter().map(Vec::as_slice).collect();
        let tbs = der::seq(&[
            &der::context(0, true, &der::small_int(2)),
            &der::uint(&random_serial()?),
            &sig_alg,
            self.issuer,
            &der::seq(&[&time(self.not_before), &time(self.not_after)]),
            self.subject,
            self.spki,
            &der::context(3, true, &der::seq(&ext_refs)),
        ]);
        let signature = key.sign(&tbs)?;
        let cert = der::seq(&[&tbs, &sig_alg, &der::bit_string(&signature)]);
        Ok(Certificate::from_der(&cert)?)
    }
}

/// A random positive serial of 16 bytes: at least 120 bits of entropy (CA/B Forum asks 64).
fn random_serial() -> Result<[u8; 16], KeyError> {
    let mut serial = [0u8; 16];
    SystemRandom::new()
        .fill(&mut serial)
        .map_err(|_| KeyError::Crypto("draw a random serial"))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x40; // no leading zero byte, so the DER length is always 16
    Ok(serial)
}

/// UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5).
fn time(t: OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let (y, mo, d, h, mi, s) = (
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    );
    if (1950..2050).contains(&y) {
        let text = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
        der::tlv(tag::UTC_TIME, text.as_bytes())
    } else {
        let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
        der::tlv(tag::GENERALIZED_TIME, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use x509_parser::prelude::FromDer;
    use x509_parser::time::ASN1Time;

    proptest! {
        #[test]
        fn validity_times_read_back_as_written(
            // 0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z
            secs in -62_167_219_200i64..=253_402_300_799,
        ) {
            let t = OffsetDateTime::from_unix_timestamp(secs)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let encoded = time(t);
            let utc = (1950..2050).contains(&t.year());
            prop_assert_eq!(encoded[0], if utc { tag::UTC_TIME } else { tag::GENERALIZED_TIME });
            let (rest, parsed) = ASN1Time::from_der(&encoded)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(rest.is_empty());
            prop_assert_eq!(parsed.timestamp(), secs);
        }
    }
}
