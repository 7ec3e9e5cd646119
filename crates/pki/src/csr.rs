//! Certificate signing requests: built from request attributes, parsed with their signature
//! verified (proof of possession), and turned back into attributes so requests are compared by
//! what they ask for, not by their bytes.

use std::fmt;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer;

use crate::error::CsrError;
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::key_policy::{self, KeyPolicyError, PublicKeyKind, SignatureCheck};
use crate::name::{AttributeType, DistinguishedName};
use crate::san::SubjectAltNames;
use crate::{encode, pem, public_key};

/// An extension as raw parts: requested in a CSR, or asked for by a requirer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawExtension {
    /// Dotted OID.
    pub oid: String,
    /// Whether the extension is marked critical.
    pub critical: bool,
    /// The DER of the extension value (the content of its OCTET STRING).
    pub value: Vec<u8>,
}

/// What a requirer asks for: the Python library's `CertificateRequestAttributes` without
/// `is_ca`, which travels beside the CSR on the wire, not inside it.
///
/// Equality is the Python library's: SANs as sets, the unique identifier by presence only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RequestAttributes {
    /// Subject common name.
    pub common_name: Option<String>,
    /// Subject alternative names.
    pub sans: SubjectAltNames,
    /// Subject `emailAddress`.
    pub email_address: Option<String>,
    /// Subject `O`.
    pub organization: Option<String>,
    /// Subject `OU`.
    pub organizational_unit: Option<String>,
    /// Subject `C` (two letters).
    pub country_name: Option<String>,
    /// Subject `ST`.
    pub state_or_province_name: Option<String>,
    /// Subject `L`.
    pub locality_name: Option<String>,
    /// Put a random `x500UniqueIdentifier` UUID in the subject (the Python library's default:
    /// it makes every CSR unique, so two units asking for the same name get distinct requests).
    pub add_unique_id_to_subject_name: bool,
    /// Extra extensions to request, marked critical (the Python library's
    /// `additional_critical_extensions`).
    pub additional_critical_extensions: Vec<RawExtension>,
}

impl RequestAttributes {
    /// Attributes asking for `common_name` with the Python library's defaults.
    pub fn new(common_name: impl Into<String>) -> Self {
        Self {
            common_name: Some(common_name.into()),
            add_unique_id_to_subject_name: true,
            ..Self::default()
        }
    }

    /// The subject this request asks for, in the Python library's order: CN, unique id, O,
    /// OU, emailAddress, C, ST, L.
    fn subject(&self, unique_id: Option<String>) -> Result<DistinguishedName, CsrError> {
        let mut attrs = Vec::new();
        let mut push = |kind: AttributeType, value: &Option<String>| {
            if let Some(v) = value {
                attrs.push((kind, v.clone()));
            }
        };
        push(AttributeType::CommonName, &self.common_name);
        push(AttributeType::UniqueIdentifier, &unique_id);
        push(AttributeType::Organization, &self.organization);
        push(AttributeType::OrganizationalUnit, &self.organizational_unit);
        push(AttributeType::EmailAddress, &self.email_address);
        push(AttributeType::Country, &self.country_name);
        push(AttributeType::StateOrProvince, &self.state_or_province_name);
        push(AttributeType::Locality, &self.locality_name);
        DistinguishedName::build(attrs)
    }

    /// Builds and signs a CSR for these attributes with `key`.
    pub fn to_csr(&self, key: &PrivateKey) -> Result<Csr, crate::Error> {
        let unique_id = self
            .add_unique_id_to_subject_name
            .then(random_uuid)
            .transpose()?;
        let subject = self.subject(unique_id)?;
        encode::certification_request(
            &subject,
            key,
            &self.sans,
            &self.additional_critical_extensions,
        )
    }
}

fn random_uuid() -> Result<String, crate::Error> {
    let mut b = [0u8; 16];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| crate::error::KeyError::Crypto("draw random bytes"))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// What a request asks for, read from its `CertificationRequestInfo`.
struct RequestFields {
    subject: DistinguishedName,
    sans: SubjectAltNames,
    ignored_sans: Vec<String>,
    extensions: Vec<RawExtension>,
}

impl RequestFields {
    fn of(info: &x509_parser::certification_request::X509CertificationRequestInfo<'_>) -> Self {
        let subject = DistinguishedName::from_x509(&info.subject);
        let mut sans = SubjectAltNames::default();
        let mut ignored_sans = Vec::new();
        let mut extensions = Vec::new();
        for attr in info.iter_attributes() {
            let ParsedCriAttribute::ExtensionRequest(request) = attr.parsed_attribute() else {
                continue;
            };
            for ext in &request.extensions {
                if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
                    for name in &san.general_names {
                        if let Err(what) = sans.push_parsed(name) {
                            ignored_sans.push(what);
                        }
                    }
                } else {
                    extensions.push(RawExtension {
                        oid: ext.oid.to_id_string(),
                        critical: ext.critical,
                        value: ext.value.to_vec(),
                    });
                }
            }
        }
        Self {
            subject,
            sans,
            ignored_sans,
            extensions,
        }
    }
}

/// A CSR as [`Csr::inspect_der`] shows it: whatever the key policy thinks of it.
#[derive(Debug, Clone)]
pub struct CsrInspection {
    /// The requested subject.
    pub subject: DistinguishedName,
    /// The requested subject alternative names.
    pub sans: SubjectAltNames,
    /// Requested extensions other than the SAN.
    pub extensions: Vec<RawExtension>,
    /// SANs of kinds we cannot carry, described.
    pub ignored_sans: Vec<String>,
    /// The key algorithm, when it is one we generate.
    pub key_algorithm: Option<KeyAlgorithm>,
    /// The key, named ("RSA-1024", "ECDSA P-256").
    pub key: String,
    /// The signature algorithm, named ("sha1WithRSAEncryption").
    pub signature_algorithm: String,
    /// Whether the signature verifies with the request's own key.
    pub signature: SignatureCheck,
    /// What the key policy refuses, each naming its reason; empty when it accepts the request.
    pub refusals: Vec<KeyPolicyError>,
}

/// A parsed certificate signing request whose signature has been verified.
///
/// There is no way to hold an unverified CSR: the constructors verify, so a `Csr` is always
/// proof that the requester holds the private key of its public key.
#[derive(Clone, PartialEq, Eq)]
pub struct Csr {
    der: Vec<u8>,
    pem: String,
    subject: DistinguishedName,
    sans: SubjectAltNames,
    extensions: Vec<RawExtension>,
    ignored_sans: Vec<String>,
    public_key: Vec<u8>,
    key_algorithm: Option<KeyAlgorithm>,
    public_key_kind: PublicKeyKind,
}

impl fmt::Debug for Csr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Csr")
            .field("subject", &self.subject)
            .field("sans", &self.sans.to_strings())
            .finish_non_exhaustive()
    }
}

impl Csr {
    /// Parses a PEM CSR (`CERTIFICATE REQUEST`, or the older `NEW CERTIFICATE REQUEST`) and
    /// verifies its signature. The PEM text, trimmed, is kept: on the wire it is the identity.
    pub fn from_pem(text: &str) -> Result<Self, crate::Error> {
        let blocks = pem::parse_all(text)?;
        let labels = ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"];
        let block = blocks
            .iter()
            .find(|b| labels.contains(&b.label.as_str()))
            .ok_or_else(|| pem::PemError::UnexpectedLabel {
                expected: labels.join(" or "),
                found: blocks[0].label.clone(),
            })?;
        // A lone block keeps its text as given: on the wire, that text is the request's identity.
        let pem_text = if blocks.len() == 1 {
            text.trim().to_owned()
        } else {
            pem::encode("CERTIFICATE REQUEST", &block.der)
                .trim()
                .to_owned()
        };
        Ok(Self::parse(&block.der, pem_text)?)
    }

    /// Parses a DER CSR and verifies its signature.
    pub fn from_der(bytes: &[u8]) -> Result<Self, CsrError> {
        Self::parse(
            bytes,
            pem::encode("CERTIFICATE REQUEST", bytes).trim().to_owned(),
        )
    }

    /// Parses a PEM CSR whose exact DER the caller already verified with [`Csr::from_pem`]
    /// (`already_verified(der)` says so, e.g. from a cache of digests); any other is verified.
    /// A provider reading the same thousands of requests every hook verifies each once.
    pub fn from_pem_verified_before(
        text: &str,
        already_verified: impl Fn(&[u8]) -> bool,
    ) -> Result<Self, crate::Error> {
        let blocks = pem::parse_all(text)?;
        match blocks.as_slice() {
            [block]
                if ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"]
                    .contains(&block.label.as_str())
                    && already_verified(&block.der) =>
            {
                Ok(Self::parse_checked(
                    &block.der,
                    text.trim().to_owned(),
                    false,
                )?)
            }
            _ => Self::from_pem(text),
        }
    }

    fn parse(bytes: &[u8], pem: String) -> Result<Self, CsrError> {
        Self::parse_checked(bytes, pem, true)
    }

    fn parse_checked(bytes: &[u8], pem: String, verify: bool) -> Result<Self, CsrError> {
        let req = parse_request(bytes)?;
        // The key and signature algorithm are judged first: a refusal names the real reason. A CSR
        // whose exact DER passed before (a provider's cache) has only its key classified again.
        let public_key_kind = if verify {
            key_policy::check_and_verify(&req)?
        } else {
            key_policy::classify_key(&req.certification_request_info.subject_pki)?
        };
        let info = &req.certification_request_info;
        let RequestFields {
            subject,
            sans,
            ignored_sans,
            extensions,
        } = RequestFields::of(info);
        let public_key = info.subject_pki.raw.to_vec();
        let key_algorithm = public_key::algorithm(&public_key);
        Ok(Self {
            der: bytes.to_vec(),
            pem,
            subject,
            sans,
            extensions,
            ignored_sans,
            public_key,
            key_algorithm,
            public_key_kind,
        })
    }

    /// Inspects a DER CSR for a person: its fields, what the key policy refuses and why, and
    /// whether its signature verifies (checked with legacy verifiers too, so a SHA-1 or RSA-1024
    /// request is shown rather than refused). Only a structure that is not a CSR is an error.
    /// Inspection is not issuance: only [`Csr::from_der`] and [`Csr::from_pem`] make a `Csr`.
    pub fn inspect_der(bytes: &[u8]) -> Result<CsrInspection, CsrError> {
        let req = parse_request(bytes)?;
        let info = &req.certification_request_info;
        let RequestFields {
            subject,
            sans,
            ignored_sans,
            extensions,
        } = RequestFields::of(info);
        let judged = key_policy::inspect(&req);
        Ok(CsrInspection {
            subject,
            sans,
            extensions,
            ignored_sans,
            key_algorithm: public_key::algorithm(info.subject_pki.raw),
            key: judged.key,
            signature_algorithm: judged.signature_algorithm,
            signature: judged.signature,
            refusals: judged.refusals,
        })
    }

    /// The DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM text, trimmed (as it was given when parsed from PEM).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// The requested subject, with its exact bytes.
    pub fn subject(&self) -> &DistinguishedName {
        &self.subject
    }

    /// The requested subject alternative names.
    pub fn sans(&self) -> &SubjectAltNames {
        &self.sans
    }

    /// Requested extensions other than the SAN (the issuing policy decides what happens to
    /// them; by default nothing).
    pub fn extensions(&self) -> &[RawExtension] {
        &self.extensions
    }

    /// SANs of kinds we cannot carry, described (they are never copied into a certificate).
    pub fn ignored_sans(&self) -> &[String] {
        &self.ignored_sans
    }

    /// The requester's public key as a DER `SubjectPublicKeyInfo`.
    pub fn public_key_der(&self) -> &[u8] {
        &self.public_key
    }

    /// The requester's key algorithm, when it is one we know.
    pub fn key_algorithm(&self) -> Option<KeyAlgorithm> {
        self.key_algorithm
    }

    /// The requester's key kind as the key policy classified it (any accepted key, including
    /// those we do not generate: RSA up to 8192 bits, P-521).
    pub fn public_key_kind(&self) -> PublicKeyKind {
        self.public_key_kind
    }

    /// Whether this request was made with `key`.
    pub fn matches_key(&self, key: &PrivateKey) -> bool {
        public_key::same_key(&self.public_key, key.public_key_der())
    }

    /// Rebuilds the attributes this CSR asks for (the Python library's
    /// `CertificateRequestAttributes.from_csr`), so requests compare by what they ask for.
    pub fn attributes(&self) -> RequestAttributes {
        let get = |kind: AttributeType| self.subject.get(&kind).map(str::to_owned);
        RequestAttributes {
            common_name: get(AttributeType::CommonName),
            sans: self.sans.clone(),
            email_address: get(AttributeType::EmailAddress),
            organization: get(AttributeType::Organization),
            organizational_unit: get(AttributeType::OrganizationalUnit),
            country_name: get(AttributeType::Country),
            state_or_province_name: get(AttributeType::StateOrProvince),
            locality_name: get(AttributeType::Locality),
            add_unique_id_to_subject_name: self
                .subject
                .get(&AttributeType::UniqueIdentifier)
                .is_some(),
            additional_critical_extensions: self
                .extensions
                .iter()
                .filter(|e| e.critical)
                .cloned()
                .collect(),
        }
    }
}

/// The DER of one CSR, nothing after it.
fn parse_request(bytes: &[u8]) -> Result<X509CertificationRequest<'_>, CsrError> {
    let (rest, req) = X509CertificationRequest::from_der(bytes)
        .map_err(|e| CsrError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CsrError::Malformed(format!(
            "{} trailing bytes",
            rest.len()
        )));
    }
    Ok(req)
}
