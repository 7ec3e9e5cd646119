//! Certificates: parsed once into the facts callers ask about (subject, issuer, SANs, serial,
//! validity, fingerprint, CA-ness, key), with the DER and PEM kept.

use std::fmt;

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

use crate::error::CertificateError;
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::name::DistinguishedName;
use crate::san::SubjectAltNames;
use crate::{pem, public_key};

/// A parsed X.509 certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    der: Vec<u8>,
    pem: String,
    info: CertificateInfo,
}

/// What a certificate says, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Subject name.
    pub subject: DistinguishedName,
    /// Issuer name.
    pub issuer: DistinguishedName,
    /// Subject alternative names.
    pub sans: SubjectAltNames,
    /// Serial number, lower-case hex without separators.
    pub serial: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// SHA-256 fingerprint of the DER, lower-case hex.
    pub sha256_fingerprint: String,
    /// BasicConstraints CA flag.
    pub is_ca: bool,
    /// BasicConstraints pathLenConstraint.
    pub path_len: Option<u32>,
    /// Whether KeyUsage allows signing certificates (or KeyUsage is absent).
    pub can_sign_certificates: bool,
    /// The subject's key algorithm, when known.
    pub key_algorithm: Option<KeyAlgorithm>,
    /// Subject key identifier, hex.
    pub subject_key_id: Option<String>,
    /// Authority key identifier, hex.
    pub authority_key_id: Option<String>,
    /// Extended key usages, as dotted OIDs.
    pub extended_key_usages: Vec<String>,
    /// The subject public key (DER SPKI).
    pub public_key_der: Vec<u8>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.info.subject)
            .field("serial", &self.info.serial)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Parses the first `CERTIFICATE` block of a PEM text.
    pub fn from_pem(text: &str) -> Result<Self, crate::Error> {
        let block = pem::parse_one(text, &["CERTIFICATE"])?;
        Ok(Self::from_der(&block.der)?)
    }

    /// Parses every `CERTIFICATE` block of a PEM text (a bundle or a chain), in order.
    pub fn all_from_pem(text: &str) -> Result<Vec<Self>, crate::Error> {
        pem::parse_all(text)?
            .into_iter()
            .filter(|b| b.label == "CERTIFICATE")
            .map(|b| Self::from_der(&b.der).map_err(Into::into))
            .collect()
    }

    /// Parses a DER certificate.
    pub fn from_der(bytes: &[u8]) -> Result<Self, CertificateError> {
        let (rest, x509) = X509Certificate::from_der(bytes)
            .map_err(|e| CertificateError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(CertificateError::Malformed(format!(
                "{} trailing bytes",
                rest.len()
            )));
        }
        let info = info_of(&x509, bytes)?;
        Ok(Self {
            der: bytes.to_vec(),
            pem: pem::encode("CERTIFICATE", bytes),
            info,
        })
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM text (one block, ending with a newline).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// What the certificate says.
    pub fn info(&self) -> &CertificateInfo {
        &self.info
    }

    /// Subject name.
    pub fn subject(&self) -> &DistinguishedName {
        &self.info.subject
    }

    /// Whether `key` is the private key of this certificate's public key.
    pub fn matches_key(&self, key: &PrivateKey) -> bool {
        public_key::same_key(&self.info.public_key_der, key.public_key_der())
    }

    /// Whether this certificate certifies the public key of `spki` (a CSR's key, say).
    pub fn matches_public_key(&self, spki: &[u8]) -> bool {
        public_key::same_key(&self.info.public_key_der, spki)
    }

    /// Whether the certificate is valid at `at`.
    pub fn is_valid_at(&self, at: OffsetDateTime) -> bool {
        self.info.not_before <= at && at <= self.info.not_after
    }

    /// Whether it is self-issued (subject equals issuer, byte for byte).
    pub fn is_self_issued(&self) -> bool {
        self.info.subject.der() == self.info.issuer.der()
    }

    pub(crate) fn with_x509<T>(
        &self,
        f: impl FnOnce(&X509Certificate<'_>) -> T,
    ) -> Result<T, CertificateError> {
        let (_, x509) = X509Certificate::from_der(&self.der)
            .map_err(|e| CertificateError::Malformed(e.to_string()))?;
        Ok(f(&x509))
    }
}

fn info_of(x509: &X509Certificate<'_>, der: &[u8]) -> Result<CertificateInfo, CertificateError> {
    let mut sans = SubjectAltNames::default();
    let mut is_ca = false;
    let mut path_len = None;
    let mut can_sign_certificates = true;
    let mut subject_key_id = None;
    let mut authority_key_id = None;
    let mut extended_key_usages = Vec::new();
    for ext in x509.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    // Kinds we do not model are left out of the facts, not an error.
                    let _ = sans.push_parsed(name);
                }
            }
            ParsedExtension::BasicConstraints(bc) => {
                is_ca = bc.ca;
                path_len = bc.path_len_constraint;
            }
            ParsedExtension::KeyUsage(ku) => can_sign_certificates = ku.key_cert_sign(),
            ParsedExtension::SubjectKeyIdentifier(id) => subject_key_id = Some(hex::encode(id.0)),
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                authority_key_id = aki.key_identifier.as_ref().map(|id| hex::encode(id.0));
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                let mut push = |cond: bool, oid: &str| {
                    if cond {
                        extended_key_usages.push(oid.to_owned());
                    }
                };
                push(eku.server_auth, "1.3.6.1.5.5.7.3.1");
                push(eku.client_auth, "1.3.6.1.5.5.7.3.2");
                push(eku.code_signing, "1.3.6.1.5.5.7.3.3");
                push(eku.email_protection, "1.3.6.1.5.5.7.3.4");
                push(eku.time_stamping, "1.3.6.1.5.5.7.3.8");
                push(eku.ocsp_signing, "1.3.6.1.5.5.7.3.9");
                push(eku.any, "2.5.29.37.0");
                extended_key_usages.extend(eku.other.iter().map(|o| o.to_id_string()));
            }
            _ => {}
        }
    }
    let not_before = x509.validity().not_before.to_datetime();
    let not_after = x509.validity().not_after.to_datetime();
    let public_key_der = x509.tbs_certificate.subject_pki.raw.to_vec();
    Ok(CertificateInfo {
        subject: DistinguishedName::from_x509(x509.subject()),
        issuer: DistinguishedName::from_x509(x509.issuer()),
        sans,
        serial: hex::encode(x509.raw_serial()),
        not_before,
        not_after,
        sha256_fingerprint: hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der)),
        is_ca,
        path_len,
        can_sign_certificates,
        key_algorithm: public_key::algorithm(&public_key_der),
        subject_key_id,
        authority_key_id,
        extended_key_usages,
        public_key_der,
    })
}
