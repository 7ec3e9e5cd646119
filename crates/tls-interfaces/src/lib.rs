//! The `tls-certificates` and `certificate_transfer` interfaces, wire-compatible with the
//! published Python libraries (charmlibs tls-certificates 1.12.0, certificate-transfer 1.1.0).
//!
//! # Overview
//!
//! - [`wire`]: databag formats only (serde types, tolerant readers). No behaviour.
//! - [`TlsRequirer`]: keys, CSRs and received certificates of one endpoint, in
//!   [`Mode`]`::{Unit, App, AppAndUnit}`; the same secret labels and content keys as the Python
//!   library, so a charm moves between the two without new keys. Emits [`RequirerEvent`]s.
//! - [`TlsProvider`] / [`ProviderState`]: outstanding requests (CSRs verified on read), issued
//!   certificates, errors, capabilities; [`ProviderState::sign_outstanding`] signs everything
//!   with a `pki` CA under an issuing policy; [`TlsProvider::commit`] writes once per relation.
//! - [`TransferProvider`] / [`TransferRequirer`]: `certificate_transfer` v1 and v0.
//! - [`TlsClient`] ([`tls_client`]): the reactive `tls-client` layer's convenience on the
//!   requirer: server and client certificates written to the paths the charm names, the CA to
//!   a file and the system trust store, [`TlsClientEvent`]s named after the layer's flags.
//! - [`PeerTls`] ([`peer_tls`]): the reactive peer `tls` interface: the application's leader
//!   signs every unit's CSR with a CA kept in an application secret; no CA charm.
//!
//! Everything runs over [`charm::Model`], so the same code runs under real hook tools, the
//! in-memory harness (`charm::testing`) and the local model's virtual clock (time comes from
//! [`charm::Model::now`]). Bad data from the other side is skipped with a warning naming the
//! relation, the bag and the key; the valid entries are still served.
#![deny(missing_docs)]

pub mod labels;
pub mod peer_tls;
pub mod tls_client;
pub mod wire;

mod error;
mod json;
mod provider;
mod request_error;
mod requirer;
mod security_log;
mod time_fmt;
mod transfer;

pub use error::{Error, Misuse};
pub use json::to_python_json;
pub use peer_tls::{PeerCertificates, PeerTls, PeerTlsEvent, UnitState};
pub use provider::{
    BadRequest, DEFAULT_MAX_CSR_BYTES, DEFAULT_MAX_REQUESTS_PER_BAG, DEFAULT_MAX_SANS,
    DEFAULT_MAX_VALUE_BYTES, IssuedCertificate, Limits, NAME_POLICY_REASON, ProviderState,
    RequirerRequest, SignReport, Signer, TlsProvider,
};
pub use request_error::RequestError;
pub use requirer::{
    AssignedCertificate, CertificateAvailable, CertificateDenied, CertificateRequest, Mode,
    RequirerEvent, Scope, TlsRequirer,
};
pub use tls_client::{CertKind, TlsClient, TlsClientEvent, TrustStore};
pub use transfer::{TransferEvent, TransferProvider, TransferRequirer};
pub use wire::tls_certificates::{Capabilities, CapabilitiesState, ErrorBody, ErrorCode};
