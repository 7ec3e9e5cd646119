//! Errors of the interfaces. Bad data from the other side is never an error here (it becomes a
//! [`crate::wire::Warning`]); these are failures to talk to Juju or to make keys and CSRs.

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
    /// The library was configured wrongly by the charm (a caller bug, not outside data).
    #[error("invalid configuration: {0}")]
    Config(String),
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
