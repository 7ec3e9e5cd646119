//! Errors, one enum per cause, gathered in [`Error`].
//!
//! Every variant carries what a message needs to name the problem. None of them is produced by
//! a panic path: parsers of outside data return these instead.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Times in messages read like the CLI prints them.
fn rfc3339(t: &OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

pub use crate::duration::ValidityError;
pub use crate::key_policy::KeyPolicyError;
pub use crate::pem::PemError;

/// Any error of this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// PEM armour is malformed.
    #[error(transparent)]
    Pem(#[from] PemError),
    /// A private key could not be generated, read or used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A certificate signing request is malformed or its signature does not verify.
    #[error(transparent)]
    Csr(#[from] CsrError),
    /// A certificate is malformed or unusable for what was asked.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// The issuing policy refused a request.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A chain does not verify.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

impl Error {
    /// The key policy's refusal, if that is what this error is: a provider answers it to the
    /// requester as its request error (`Display` names the problem).
    pub fn key_policy(&self) -> Option<&KeyPolicyError> {
        match self {
            Self::Csr(CsrError::KeyPolicy(e)) => Some(e),
            _ => None,
        }
    }
}

/// Problems with private keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key material was rejected by the crypto library (bad encoding or inconsistent key).
    #[error("invalid {format} private key: {reason}")]
    Invalid {
        /// The encoding that was tried (PKCS#8, PKCS#1, SEC1).
        format: &'static str,
        /// What the crypto library said.
        reason: String,
    },
    /// The key uses an algorithm or curve we do not support.
    #[error("unsupported private key algorithm: {0}")]
    Unsupported(String),
    /// The PEM label is not one of a private key.
    #[error(
        "'{0}' is not a private key PEM label (expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)"
    )]
    NotAKey(String),
    /// Encrypted keys need a passphrase we do not handle.
    #[error(
        "encrypted private keys are not supported; decrypt it first (openssl pkey -in KEY -out PLAIN)"
    )]
    Encrypted,
    /// The crypto library failed to generate or sign.
    #[error("the crypto library failed to {0}")]
    Crypto(&'static str),
    /// An unknown algorithm name was given.
    #[error(
        "unknown key algorithm '{0}' (expected rsa2048, rsa3072, rsa4096, p256, p384 or ed25519)"
    )]
    UnknownAlgorithm(String),
}

/// Problems with certificate signing requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrError {
    /// Not a PKCS#10 structure.
    #[error("malformed certificate signing request: {0}")]
    Malformed(String),
    /// The signature does not verify with the CSR's own public key: no proof of possession.
    #[error(
        "the certificate signing request's signature does not verify (no proof of possession of the key)"
    )]
    BadSignature,
    /// The key or the signature algorithm is refused by the key policy (checked before the
    /// signature is verified, so the refusal names the real reason).
    #[error(transparent)]
    KeyPolicy(#[from] KeyPolicyError),
    /// An attribute cannot be encoded (e.g. a country that is not two letters).
    #[error("invalid request attribute {attribute}: {reason}")]
    InvalidAttribute {
        /// Which attribute.
        attribute: &'static str,
        /// Why.
        reason: String,
    },
}

/// Problems with certificates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// Not an X.509 certificate.
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// The certificate cannot issue: not a CA, or no keyCertSign.
    #[error("certificate '{subject}' cannot issue certificates: {reason}")]
    NotACa {
        /// Subject of the certificate.
        subject: String,
        /// Why.
        reason: &'static str,
    },
    /// The private key given does not belong to the certificate.
    #[error("the private key does not match the certificate '{subject}'")]
    KeyMismatch {
        /// Subject of the certificate.
        subject: String,
    },
    /// A validity period is not positive, or not representable in a certificate.
    #[error(transparent)]
    Validity(#[from] ValidityError),
}

/// Refusals of the issuing policy: each names the rule and how to allow it, if it can be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A CA certificate was requested and the policy does not allow CA requests.
    #[error("CA certificates are not allowed by the issuing policy ({hint})")]
    CaNotAllowed {
        /// How an operator allows it (an option name, a CLI flag).
        hint: String,
    },
    /// A CA was requested but the issuing CA's path length leaves no room for another CA.
    #[error("the issuing CA's path length constraint ({path_len}) forbids issuing another CA")]
    PathLenExceeded {
        /// The issuer's pathLenConstraint.
        path_len: u8,
    },
    /// The request has neither a subject nor any subject alternative name.
    #[error("the request names no subject and no subject alternative name")]
    EmptyIdentity,
    /// The issuing CA is not valid at the time of issuance.
    #[error("the issuing CA is not valid at {} (valid {} to {})", rfc3339(.at), rfc3339(.not_before), rfc3339(.not_after))]
    CaNotValid {
        /// Issuance time.
        at: OffsetDateTime,
        /// CA validity start.
        not_before: OffsetDateTime,
        /// CA validity end.
        not_after: OffsetDateTime,
    },
}

/// Why a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// No issuer of this certificate is among the intermediates or the trust anchor.
    #[error("no issuer found for '{subject}' (issuer '{issuer}')")]
    IssuerNotFound {
        /// Subject of the certificate without an issuer.
        subject: String,
        /// The issuer it names.
        issuer: String,
    },
    /// A signature in the chain does not verify.
    #[error("the signature of '{subject}' does not verify with the key of '{issuer}'")]
    BadSignature {
        /// Subject of the certificate.
        subject: String,
        /// Subject of the issuer whose key was used.
        issuer: String,
    },
    /// A certificate is not valid at the time of verification.
    #[error("'{subject}' is not valid at {} (valid {} to {})", rfc3339(.at), rfc3339(.not_before), rfc3339(.not_after))]
    Expired {
        /// Subject of the certificate.
        subject: String,
        /// Verification time.
        at: OffsetDateTime,
        /// Validity start.
        not_before: OffsetDateTime,
        /// Validity end.
        not_after: OffsetDateTime,
    },
    /// An issuer in the chain is not a CA, or cannot sign certificates.
    #[error("'{subject}' is used as an issuer but is not a CA allowed to sign certificates")]
    NotACa {
        /// Subject of the offending issuer.
        subject: String,
    },
    /// A pathLenConstraint is exceeded.
    #[error("the path length constraint of '{subject}' is exceeded")]
    PathLenExceeded {
        /// Subject of the constraining CA.
        subject: String,
    },
    /// The chain is longer than any sane deployment needs (a loop guard).
    #[error("chain longer than {0} certificates")]
    TooLong(usize),
    /// A certificate has a critical extension the verifier does not understand.
    #[error(
        "'{subject}' has a critical extension {oid} that is not understood (RFC 5280 says refuse)"
    )]
    UnknownCriticalExtension {
        /// Subject of the certificate.
        subject: String,
        /// The extension's dotted OID.
        oid: String,
    },
    /// The leaf's extended key usages do not allow the usage asked for.
    #[error("'{subject}' is not allowed for {usage} authentication (its extended key usages: {})", .extended_key_usages.join(", "))]
    UsageNotAllowed {
        /// Subject of the leaf.
        subject: String,
        /// The usage asked for (server, client, any).
        usage: &'static str,
        /// The leaf's EKUs, dotted.
        extended_key_usages: Vec<String>,
    },
    /// A name of the leaf falls outside an issuer's name constraints.
    #[error("a name of '{subject}' is outside the name constraints of an issuer in the chain")]
    NameConstraintViolation {
        /// Subject of the leaf.
        subject: String,
    },
    /// The verifier refused the chain for a reason our own walk does not check.
    #[error("{reason}")]
    Refused {
        /// What the verifier said.
        reason: String,
    },
}
