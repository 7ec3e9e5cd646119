//! What the peer `tls` interface refuses from a peer, by cause. A refusal is bad input from one
//! unit, never an error of the hook: it is logged naming the unit, and everything else the hook
//! reads is still served.

use charm::UnitName;

/// One refused entry: whose, where it was read, and why.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {reason}")]
pub struct Refusal {
    /// The unit the entry is about (the requester of a CSR, the unit a certificate is for).
    pub unit: UnitName,
    /// Where it was read: `unit tls/2, key csr`.
    pub location: String,
    /// Why it was refused.
    pub reason: RefusalReason,
}

/// Why an entry was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefusalReason {
    /// A unit's `csr` is not a PEM CSR, its key or signature algorithm is refused by the key
    /// policy, or its signature does not verify with its own public key (the requester does not
    /// hold the key it asks a certificate for).
    #[error("the leader does not sign it: {0}")]
    BadCsr(pki::Error),
    /// The issuing policy refused a CSR that parsed (say, it names nothing).
    #[error("the leader cannot sign it: {0}")]
    Unsignable(pki::Error),
    /// A `<unit>_signed_certificate` value is not a PEM certificate.
    #[error("not a certificate: {0}")]
    BadCertificate(pki::Error),
    /// A certificate for this unit that is not for this unit's private key.
    #[error("the certificate is not for this unit's private key")]
    KeyMismatch,
    /// A certificate that does not verify against the application's CA now.
    #[error("the certificate does not verify against the application's CA: {0}")]
    NotFromCa(pki::ChainError),
    /// The `certificate_authority` of the application bag is not a PEM certificate.
    #[error("the CA is not a certificate: {0}")]
    BadCa(pki::Error),
}
