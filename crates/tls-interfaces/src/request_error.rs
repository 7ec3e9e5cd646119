//! A provider's refusal of one request, as both sides read it from the provider's bag.

use charm::RelationId;
use pki::Csr;

use crate::wire::tls_certificates::ErrorBody;

/// A request the provider answered with an error instead of a certificate: the Python library's
/// `ProviderCertificateError`. Given by [`crate::TlsRequirer::request_errors`] and
/// [`crate::ProviderState::errors`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// The relation it is published on.
    pub relation: RelationId,
    /// The request's CSR text as published (trimmed). Usually a PEM CSR; a provider may also
    /// answer text that is not one (ours does, to say why it was refused).
    pub csr_pem: String,
    /// What the provider said.
    pub error: ErrorBody,
}

impl RequestError {
    /// The CSR, parsed.
    pub fn csr(&self) -> Result<Csr, pki::Error> {
        Csr::from_pem(&self.csr_pem)
    }
}
