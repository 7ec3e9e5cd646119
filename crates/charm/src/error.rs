//! The crate's error type, by cause.

use std::path::PathBuf;

use crate::backend::BackendError;
use crate::context::ContextError;
use crate::metadata::MetadataError;

/// What a handler returns on failure: any error. The dispatcher logs it through `juju-log` at
/// ERROR and exits non-zero, so Juju discards the hook's writes and retries the hook.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in the SDK.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Juju (or the harness) refused or failed an operation.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The environment is not a usable dispatch context.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// The charm's metadata could not be read.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// Config values do not fit the charm's config type.
    #[error("config does not match the charm's config type: {0}")]
    Config(#[source] serde_json::Error),
    /// Action parameters do not fit the action's parameter type.
    #[error("action parameters do not match: {0}")]
    ActionParams(#[source] serde_json::Error),
    /// A charm state value does not fit the requested type, or cannot be stored.
    #[error("charm state key {key:?}: {source}")]
    StateValue {
        /// The key.
        key: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// The charm state file could not be read or written.
    #[error("charm state file {path}: {source}")]
    StateFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The charm state file is corrupt.
    #[error("charm state file {path} is corrupt: {source}")]
    StateCorrupt {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// A handler failed.
    #[error("handler failed on {event}: {source}")]
    Handler {
        /// The event being handled.
        event: String,
        /// The handler's error.
        source: HandlerError,
    },
    /// A handler panicked; the message is the panic payload.
    #[error("handler panicked: {0}")]
    Panic(String),
    /// Custom events kept emitting more custom events.
    #[error("more than {0} custom events in one dispatch: an emit loop?")]
    EventLoop(usize),
    /// A caller bug: an operation that makes no sense at this point (e.g. `defer` in an action).
    #[error("{0}")]
    ApiMisuse(&'static str),
}
