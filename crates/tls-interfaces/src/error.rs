//! Errors of the interfaces, by cause. Bad data from the other side is never an error here (it
//! becomes a [`crate::wire::Warning`]); what is left is the charm's own misuse of the library,
//! a call only the leader may make, and failures to talk to Juju or to make keys and CSRs.

/// Any error of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The charm model (hook tools or harness) failed.
    #[error(transparent)]
    Model(#[from] charm::Error),
    /// A key or CSR could not be made, or a charm-supplied key is unusable.
    #[error(transparent)]
    Pki(#[from] pki::Error),
    /// Our own stored state is unusable (e.g. the private key secret holds no valid key).
    #[error("{0}")]
    State(String),
    /// The charm configured or called the library wrongly: a caller bug, never outside data.
    #[error("invalid configuration: {0}")]
    Misuse(#[from] Misuse),
    /// The call needs leadership and this unit is not the leader.
    #[error("only the leader can {0}")]
    NotLeader(&'static str),
    /// A file of `tls_client` (certificate, key, CA, trust store) could not be written, read or
    /// removed.
    #[error("cannot {action} {}: {source}", .path.display())]
    File {
        /// What was being done ("write", "remove", ...).
        action: &'static str,
        /// The file or directory.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The system trust store's update command failed.
    #[error("{0}")]
    TrustStore(String),
}

/// How the charm misused the library. Each is a bug in the calling charm: fixing its code, not
/// the relation data, makes it go away.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Misuse {
    /// A request for a scope the endpoint's mode does not serve.
    #[error("a {scope:?} request on an endpoint in {mode:?} mode")]
    ScopeNotInMode {
        /// The request's scope.
        scope: crate::Scope,
        /// The endpoint's mode.
        mode: crate::Mode,
    },
    /// The same request in both scopes: the Python library could not tell them apart.
    #[error("the same request in both APP and UNIT scope; use distinct requests")]
    SameRequestInBothScopes,
    /// A renewal fraction outside (0.5, 1.0].
    #[error("renewal relative time {0} is outside (0.5, 1.0]")]
    RenewalRelativeTime(f64),
    /// `regenerate_private_key` or `import_private_key` on a requirer whose key the charm
    /// supplies.
    #[error("the private key is supplied by the charm; it cannot be regenerated or imported")]
    SuppliedKeyCannotBeReplaced,
    /// `import_private_key` before the endpoint has a relation.
    #[error("no relation on '{0}' yet: a key can be imported once the relation exists")]
    NoRelationYet(charm::Endpoint),
    /// A request with neither a common name nor a DNS, IP or OID subject alternative name.
    #[error("a certificate request needs a common name or a DNS, IP or OID SAN")]
    EmptyRequest,
    /// A relation id that is not one of the endpoint's relations.
    #[error("relation {0} is not a relation of this endpoint")]
    UnknownRelation(charm::RelationId),
    /// A `tls_client` path that is not absolute (hooks run in the charm directory, so a
    /// relative path would move with it).
    #[error("'{}' is not an absolute path", .0.display())]
    RelativePath(std::path::PathBuf),
    /// A `tls_client` path given two different contents (two certificates, or a key and a
    /// certificate or the CA).
    #[error("'{}' is asked to hold two different files", .0.display())]
    PathClash(std::path::PathBuf),
    /// A `tls_client` request without a common name.
    #[error("a certificate request of tls_client needs a common name")]
    EmptyCommonName,
    /// A subject alternative name that does not parse.
    #[error("invalid subject alternative name: {0}")]
    BadSubjectAltName(String),
}

impl From<charm::BackendError> for Error {
    fn from(e: charm::BackendError) -> Self {
        Error::Model(e.into())
    }
}

/// Whether a model error means "no such secret".
pub(crate) fn is_secret_not_found(e: &charm::Error) -> bool {
    matches!(
        e,
        charm::Error::Backend(charm::BackendError::SecretNotFound(_))
    )
}

impl From<pki::KeyError> for Error {
    fn from(e: pki::KeyError) -> Self {
        Error::Pki(e.into())
    }
}
