//! The X.509 core of juju-tls. It knows nothing of Juju.
//!
//! # Overview
//!
//! - [`PrivateKey`] / [`KeyAlgorithm`]: generate RSA 2048/3072/4096, ECDSA P-256/P-384 and
//!   Ed25519 keys; read and write PKCS#8 and the "traditional" PEM forms the Python
//!   tls-certificates library stores in Juju secrets. `Debug` never prints key material.
//! - [`RequestAttributes`] -> [`Csr`]: build a CSR with every attribute the Python library
//!   supports; parse one from PEM/DER, which first judges its key and signature algorithm
//!   against the key policy ([`KeyPolicyError`] names each refusal) and then always **verifies
//!   its signature** (a `Csr` value is proof of possession); rebuild its attributes so requests
//!   compare by what they ask for.
//! - [`CertificateAuthority`]: a self-signed root, or any CA certificate with its key; it
//!   [issues](CertificateAuthority::issue) for a `Csr` under an [`IssuingPolicy`]. Whether the
//!   result is a CA is an explicit [`CertificateKind`], and the policy may refuse it with a
//!   [`PolicyError`] saying which rule did.
//! - [`Certificate`]: parsed facts ([`CertificateInfo`]); [`chain::order`], and
//!   [`chain::verify_for_usage`] (rustls-webpki judges; [`chain::verify`], our own walk,
//!   explains refusals).
//! - [`duration`]: checked arithmetic from a start and a duration to a representable end.
//!
//! One crypto stack: `aws-lc-rs` signs and verifies (directly, and under `rustls-webpki`),
//! `x509-parser` reads.
//! What a certificate carries is decided by the issuing policy (`policy`); certificates and
//! CSRs are encoded apart from it by this crate (`encode`, over a small DER writer), not rcgen:
//! rcgen rebuilds names through a map (repeated attributes such as two OUs are lost, so a leaf's
//! issuer would not match a foreign CA's subject byte for byte) and cannot express OID SANs.
//!
//! ```
//! use juju_tls_pki::{CertificateAuthority, CertificateKind, IssueRequest, IssuingPolicy,
//!                    KeyAlgorithm, PrivateKey, RequestAttributes};
//! use juju_tls_pki::chain::{Usage, verify_for_usage};
//! use time::{Duration, OffsetDateTime};
//!
//! let now = OffsetDateTime::now_utc();
//! let ca_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
//! let ca = CertificateAuthority::self_signed_root(&RequestAttributes::new("Example CA"), ca_key,
//!                                                 Duration::days(365), now)?;
//! let mut wanted = RequestAttributes::new("db-0.example");
//! wanted.sans.push_str("DNS:db-0.example")?;
//! let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
//! let csr = wanted.to_csr(&key)?;
//! let leaf = ca.issue(&IssueRequest { csr: &csr, kind: CertificateKind::Leaf,
//!                                     validity: Duration::days(90) },
//!                     &IssuingPolicy::default(), now)?;
//! verify_for_usage(&leaf, &[], ca.certificate(), now, Usage::Any)?;
//! assert!(leaf.matches_key(&key));
//! # Ok::<(), juju_tls_pki::Error>(())
//! ```
#![deny(missing_docs)]

pub mod chain;
pub mod duration;
pub mod pem;

mod certificate;
mod csr;
mod der;
mod encode;
mod error;
mod issuer;
mod key;
mod key_policy;
mod name;
mod name_policy;
mod oid;
mod policy;
mod public_key;
mod san;

pub use certificate::{Certificate, CertificateInfo};
pub use csr::{Csr, CsrInspection, RawExtension, RequestAttributes};
pub use error::{
    CertificateError, ChainError, CsrError, Error, KeyError, KeyPolicyError, PemError, PolicyError,
    ValidityError,
};
pub use issuer::{CertificateAuthority, IssueRequest};
pub use key::{KeyAlgorithm, PrivateKey};
pub use key_policy::{EcCurve, PublicKeyKind, RSA_MAX_BITS, RSA_MIN_BITS, SignatureCheck};
pub use name::{AttributeType, DistinguishedName};
pub use name_policy::{NamePolicy, NameRefused, NameRule};
pub use policy::{CertificateKind, ExtendedKeyUsage, IssuingPolicy};
pub use san::SubjectAltNames;
pub use time;
