//! The one error type of the crate, split by who is at fault.
//!
//! [`UsageError`] is the caller asking for something the model cannot do (an unknown
//! application, mismatched interfaces): the CLI shows it as is and the model is left untouched.
//! [`CharmError`] is a charm directory that cannot be deployed. Everything else is the machine
//! (I/O, SQLite) failing under us.

use std::path::PathBuf;

/// Everything that can go wrong in the local model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request does not fit the model; nothing was changed.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// A charm directory or package could not be read.
    #[error(transparent)]
    Charm(#[from] CharmError),
    /// The SQLite store failed.
    #[error("model store: {0}")]
    Store(#[from] rusqlite::Error),
    /// A stored cell does not decode: the store was damaged or written by something else.
    /// Nothing is rewritten from a default.
    #[error("model store: table {table}, row {row}, column {column} does not decode: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The row's key.
        row: String,
        /// The column.
        column: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The store was made by a newer `juju-tls` whose schema this binary does not know.
    #[error(
        "{}: written by a newer juju-tls (store schema {found}; this binary knows up to {known}); use that version or destroy the model",
        path.display()
    )]
    NewerStore {
        /// The store file.
        path: PathBuf,
        /// Its schema version.
        found: i64,
        /// The newest this binary knows.
        known: i64,
    },
    /// Every loopback block a model can lease is taken.
    #[error("no free loopback address block: {0}")]
    NoAddressBlock(String),
    /// A lock was not obtained within the timeout.
    #[error("timed out after {secs}s waiting for the model lock held by pid {holder}")]
    LockTimeout {
        /// The timeout.
        secs: u64,
        /// Who holds it (0 when unknown).
        holder: u32,
    },
    /// A signal or a failpoint ended the settle; interrupted hooks rerun from scratch.
    #[error("interrupted: the running hooks were ended and will rerun from scratch")]
    Interrupted,
    /// The thread running a unit's hook panicked (a bug in the model): the settle stops after
    /// the other running hooks end; the hook was not committed and runs again next time.
    #[error("the model's worker for {unit} panicked: {message}")]
    WorkerPanicked {
        /// The unit whose hook it ran.
        unit: String,
        /// The panic's message.
        message: String,
    },
    /// A file or process operation failed.
    #[error("{context} {}: {source}", path.display())]
    Io {
        /// What we were doing.
        context: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with what was being done and where.
    pub(crate) fn io(
        context: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            context,
            path: path.into(),
            source,
        }
    }
}

/// Requests that do not fit the model. The model is unchanged when one of these is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsageError {
    /// No model of that name exists.
    #[error("model \"{0}\" not found (see `juju-tls model list`)")]
    UnknownModel(String),
    /// A model of that name already exists.
    #[error("model \"{0}\" already exists")]
    ModelExists(String),
    /// No model was named and no current model is set.
    #[error("no current model: add one with `juju-tls model add NAME` or pass -m NAME")]
    NoCurrentModel,
    /// A name is not a valid Juju name.
    #[error("invalid {kind} name \"{name}\": {reason}")]
    InvalidName {
        /// application, unit, model, endpoint ...
        kind: &'static str,
        /// The rejected name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// No application of that name.
    #[error("application \"{0}\" not found")]
    UnknownApp(String),
    /// An application of that name exists already.
    #[error("application \"{0}\" already exists")]
    AppExists(String),
    /// No unit of that name.
    #[error("unit \"{0}\" not found")]
    UnknownUnit(String),
    /// The application has no such endpoint.
    #[error("application \"{app}\" has no endpoint \"{endpoint}\" (endpoints: {known})")]
    UnknownEndpoint {
        /// The application.
        app: String,
        /// The endpoint asked for.
        endpoint: String,
        /// Its endpoints, comma separated.
        known: String,
    },
    /// Endpoints that cannot be related.
    #[error("cannot relate {a} and {b}: {reason}")]
    CannotRelate {
        /// First side as written.
        a: String,
        /// Second side as written.
        b: String,
        /// Why not.
        reason: String,
    },
    /// An offer URL that does not parse.
    #[error("invalid offer URL {url:?}: {reason}")]
    BadOfferUrl {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// No offer of that name in that model.
    #[error("offer \"admin/{model}.{offer}\" not found")]
    UnknownOffer {
        /// The offering model.
        model: String,
        /// The offer.
        offer: String,
    },
    /// An offer of that name exists already.
    #[error("offer \"{0}\" already exists")]
    OfferExists(String),
    /// The offer cannot be made or withdrawn.
    #[error("cannot offer \"{offer}\": {reason}")]
    CannotOffer {
        /// The offer's name.
        offer: String,
        /// Why not.
        reason: String,
    },
    /// A model consuming its own offer.
    #[error("cannot consume {0}: it is an offer of this model; relate the application directly")]
    ConsumeOwnOffer(String),
    /// The application is offered to other models.
    #[error(
        "cannot remove application \"{app}\": it is offered as {offers}; remove the offer first (remove-offer)"
    )]
    AppOffered {
        /// The application.
        app: String,
        /// Its offers, comma separated.
        offers: String,
    },
    /// No consumed offer of that name.
    #[error("saas application \"{0}\" not found")]
    UnknownSaas(String),
    /// No relation between those endpoints.
    #[error("relation {0} not found")]
    UnknownRelation(String),
    /// A config key the charm does not declare, or a value of the wrong type.
    #[error("{0}")]
    BadConfig(String),
    /// The charm declares no such action, or its parameters are wrong.
    #[error("{0}")]
    BadAction(String),
    /// A duration, time or other argument that does not parse.
    #[error("{0}")]
    BadArgument(String),
    /// No secret with that id or name (Juju's text).
    #[error("secret \"{0}\" not found")]
    SecretNotFound(String),
    /// A user secret of that name exists already (Juju's text).
    #[error("secret with name \"{0}\" already exists")]
    SecretNameExists(String),
    /// `grant-secret` / `revoke-secret` failed for some applications (Juju's text).
    #[error("failed to grant/revoke secret: {0}")]
    SecretAccess(String),
    /// A user verb on a secret a charm owns (Juju's text).
    #[error("permission denied")]
    SecretPermissionDenied,
    /// The unit is not in error, so there is nothing to resolve.
    #[error("unit \"{0}\" is not in error")]
    NotInError(String),
    /// The model is being destroyed.
    #[error("model \"{0}\" is being destroyed")]
    ModelDying(String),
    /// The model has no room for more unit addresses.
    #[error("model has no free unit address left (at most {0} units over its life)")]
    UnitAddressesExhausted(i64),
    /// The virtual clock needs libfaketime, which is not installed.
    #[error(
        "libfaketime is not installed (apt-get install libfaketime): charms cannot see the virtual clock"
    )]
    NoFaketime,
    /// Neither `JUJU_TLS_DATA_DIR`, `XDG_DATA_HOME` nor `HOME` says where models live.
    #[error(
        "no data dir: HOME is not set; set JUJU_TLS_DATA_DIR to a directory of your own (it is created 0700)"
    )]
    NoDataDir,
    /// A data or model directory other users could read or replace.
    #[error("{}: {reason}", path.display())]
    UnsafeDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

impl UsageError {
    /// `app` has no endpoint `endpoint`; `known` lists those it has.
    pub(crate) fn unknown_endpoint<'a>(
        app: &str,
        endpoint: &str,
        known: impl IntoIterator<Item = &'a crate::charm::Endpoint>,
    ) -> Self {
        UsageError::UnknownEndpoint {
            app: app.to_owned(),
            endpoint: endpoint.to_owned(),
            known: known
                .into_iter()
                .map(|e| e.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// A charm that cannot be deployed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CharmError {
    /// The path is neither a charm directory, a `.charm` file, nor a charm source tree.
    #[error("{}: not a charm (no metadata.yaml or charmcraft.yaml)", .0.display())]
    NoMetadata(PathBuf),
    /// A YAML file of the charm does not parse or lacks a required field.
    #[error("{}: {reason}", path.display())]
    BadYaml {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The charm has no `dispatch` (and no `hooks/` directory) to run.
    #[error("{}: no dispatch script", .0.display())]
    NoDispatch(PathBuf),
    /// The `.charm` archive could not be unpacked.
    #[error("{}: cannot unpack: {reason}", path.display())]
    Unpack {
        /// The archive.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
