//! Certificate authorities: a self-signed root, intermediates, and issuing for a verified CSR
//! under an [`IssuingPolicy`].
//!
//! The issuer name is the CA's subject byte for byte, and each extension is one the policy
//! chose ([`crate::policy`]): leaves get BasicConstraints CA:FALSE, a KeyUsage suited to their
//! key, serverAuth+clientAuth, SKI, AKI and the requested SANs; CAs get CA:TRUE,
//! keyCertSign+cRLSign, SKI and AKI. [`crate::encode`] writes the DER and signs it.

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::certificate::Certificate;
use crate::csr::{Csr, RequestAttributes};
use crate::encode::{self, Tbs};
use crate::error::CertificateError;
use crate::key::PrivateKey;
use crate::policy::{self, CertificateKind, IssuingPolicy, Profile};
use crate::public_key;

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
        let window = policy::root_window(validity, now).map_err(CertificateError::from)?;
        let key_id = public_key::key_identifier(key.public_key_der());
        let tbs = Tbs {
            issuer: csr.subject().der(),
            subject: csr.subject().der(),
            spki: key.public_key_der(),
            not_before: window.not_before,
            not_after: window.not_after,
            extensions: encode::certificate_extensions(
                &Profile::ca(None, csr.subject().is_empty()),
                csr.sans(),
                &key_id,
                &key_id,
            )?,
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
        let csr = request.csr;
        policy::admit(ca, now, csr.subject().is_empty(), csr.sans().is_empty())?;
        let window = policy
            .window(request.validity, now, ca.not_after)
            .map_err(CertificateError::from)?;
        let profile = policy.profile(
            request.kind,
            csr.public_key_kind().is_rsa(),
            ca.path_len,
            csr.subject().is_empty(),
        )?;
        let subject_key_id = public_key::key_identifier(csr.public_key_der());
        let tbs = Tbs {
            issuer: ca.subject.der(),
            subject: csr.subject().der(),
            spki: csr.public_key_der(),
            not_before: window.not_before,
            not_after: window.not_after,
            extensions: encode::certificate_extensions(
                &profile,
                csr.sans(),
                &subject_key_id,
                &self.key_id,
            )?,
        };
        tbs.sign(&self.key)
    }
}
