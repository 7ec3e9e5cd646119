//! `tls_client`: the reactive `tls-client` layer's convenience over the current
//! `tls-certificates` wire. A charm asks for server and client certificates by common name and
//! names the files they go to; the library requests them (one CSR per distinct request, the
//! unit's key kept in the requirer's secret: keys never leave the unit), writes certificate,
//! key and CA to those paths atomically (keys 0600, certificates 0644), installs the CA in the
//! system trust store (or the private root the local model gives each unit) and reports what
//! changed as [`TlsClientEvent`]s, one per flag of the reactive layer.
//!
//! Build a [`TlsClient`] on every hook from the charm's current names and paths, as a
//! [`TlsRequirer`]:
//!
//! ```rust,ignore
//! let client = TlsClient::new("certificates".parse()?)
//!     .with_ca_certificate_path("/etc/myapp/ca.crt")?
//!     .request_server_cert("db-0.example", &["db-0.example", "10.0.0.5"],
//!                          "/etc/myapp/server.crt", "/etc/myapp/server.key")?
//!     .request_client_cert("admin", &[], "/etc/myapp/client.crt", "/etc/myapp/client.key")?;
//! for e in client.handle(event, model)? {
//!     if matches!(e, TlsClientEvent::CertsChanged) { reload_workload()?; }
//! }
//! ```
//!
//! What is remembered between hooks (digests of what was written, the trust-store files, whether
//! every certificate was saved, the wire in use) is in the charm state under
//! `tls-client:<endpoint>`; keys are never in it.
//!
//! # The reactive wire: an opt-in fallback
//!
//! A provider that speaks only the reactive `tls-certificates` wire (easyrsa and other
//! `charms.reactive` providers) makes the private keys itself and sends them over the relation.
//! A charm that must use such a provider says so with
//! [`TlsClient::allow_reactive_wire`]`(true)`; it is never chosen on its own. The provider's
//! wire is told on every hook from what it published ([`detect`]): `certificates` in its
//! application bag is the current wire; else `ca` in one of its unit bags is the reactive wire;
//! neither is the current wire (CSRs are sent, and the client waits). Only a provider that
//! speaks the reactive wire alone is served on it; then this unit writes the layer's request
//! keys instead of CSRs, and the provider's certificates and keys go to the same paths, with the
//! same modes and the same [`TlsClientEvent`]s. [`ClientState::wire`] says which wire is in use
//! (for the charm's status), and [`Wire::ReactiveNotAllowed`] that the provider speaks only the
//! reactive wire and the charm has not allowed it (a hint is logged once; nothing will come).

mod files;
mod reactive;
mod trust_store;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use charm::{BagOwner, Databag, Endpoint, Event, LogLevel, Model, Relation};
use pki::{KeyAlgorithm, RequestAttributes};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use reactive::{ProviderWire, detect};
pub use trust_store::{SYSTEM_TRUST_STORE, TRUST_STORE_ENV, TrustStore};

use crate::error::{Error, Misuse};
use crate::{
    AssignedCertificate, CertificateDenied, CertificateRequest, Mode, RequirerEvent, Scope,
    TlsRequirer,
};

/// A server or a client certificate (the reactive layer's `request_server_cert` and
/// `request_client_cert`).
///
/// The current wire carries no purpose: the provider chooses the extended key usages (our CAs
/// give serverAuth and clientAuth by default). The kind decides which files and which events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CertKind {
    /// A certificate the workload serves with.
    Server,
    /// A certificate the workload connects with.
    Client,
}

impl CertKind {
    /// `server` or `client`, as in the reactive flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
        }
    }
}

/// One certificate the charm asked for, and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedCertificate {
    /// Server or client.
    pub kind: CertKind,
    /// The common name: the identity of the request (asking again replaces the SANs and paths).
    pub common_name: String,
    /// What the CSR asks for (the common name, the SANs).
    pub attributes: RequestAttributes,
    /// Where the certificate goes, leaf first, then the rest of the chain the provider sent.
    pub cert_path: PathBuf,
    /// Where the unit's private key goes (0600).
    pub key_path: PathBuf,
}

impl RequestedCertificate {
    fn request(&self) -> CertificateRequest {
        CertificateRequest::leaf(self.attributes.clone())
    }

    /// The key of this certificate in the charm state.
    fn id(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.common_name)
    }
}

/// What happened in a hook, one variant per flag of the reactive `tls-client` layer
/// ([`TlsClientEvent::flag`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsClientEvent {
    /// The CA was written to the `ca_certificate_path` (first time or changed):
    /// `tls_client.ca.saved` (and `tls_client.ca.written`).
    CaSaved {
        /// The CA file.
        path: PathBuf,
    },
    /// The CA was installed in the trust store, and the store rebuilt when it is the system's:
    /// `tls_client.ca_installed`.
    CaInstalled {
        /// The trust-store files.
        paths: Vec<PathBuf>,
    },
    /// The CA left the trust store: the relation went, or the unit is being removed (the
    /// reactive layer never removes it).
    CaRemoved {
        /// The trust-store files removed.
        paths: Vec<PathBuf>,
    },
    /// One certificate (and key) was written: `tls_client.<kind>.cert.<common name>.changed`.
    CertificateChanged {
        /// Server or client.
        kind: CertKind,
        /// Its common name.
        common_name: String,
        /// The certificate file.
        cert_path: PathBuf,
        /// The key file.
        key_path: PathBuf,
    },
    /// At least one server certificate changed: `tls_client.server.certs.changed`.
    ServerCertsChanged,
    /// At least one client certificate changed: `tls_client.client.certs.changed`.
    ClientCertsChanged,
    /// At least one certificate changed: `tls_client.certs.changed`.
    CertsChanged,
    /// Every requested certificate has now been written at least once: `tls_client.certs.saved`.
    CertsSaved,
    /// The provider refused a request (no reactive flag; the requirer's `certificate-denied`).
    CertificateDenied(CertificateDenied),
}

impl TlsClientEvent {
    /// The reactive layer's flag for this event (`None` for those it has no flag for).
    pub fn flag(&self) -> Option<String> {
        Some(match self {
            Self::CaSaved { .. } => "tls_client.ca.saved".into(),
            Self::CaInstalled { .. } => "tls_client.ca_installed".into(),
            Self::CertificateChanged {
                kind, common_name, ..
            } => format!("tls_client.{}.cert.{common_name}.changed", kind.as_str()),
            Self::ServerCertsChanged => "tls_client.server.certs.changed".into(),
            Self::ClientCertsChanged => "tls_client.client.certs.changed".into(),
            Self::CertsChanged => "tls_client.certs.changed".into(),
            Self::CertsSaved => "tls_client.certs.saved".into(),
            Self::CaRemoved { .. } | Self::CertificateDenied(_) => return None,
        })
    }
}

/// The wire a [`TlsClient`] speaks with its provider (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Wire {
    /// The current wire: CSRs out, the unit's own key (kept in a secret, never sent).
    #[default]
    Current,
    /// The reactive wire, allowed by the charm: the provider made the keys and sent them over
    /// the relation.
    Reactive,
    /// The provider speaks only the reactive wire and the charm has not allowed it: CSRs are
    /// out, but no certificate will come.
    ReactiveNotAllowed,
}

/// What stays true between hooks: the reactive layer's flags that are set and left set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientState {
    /// The CA is at the `ca_certificate_path`.
    pub ca_saved: bool,
    /// The trust-store files holding the CA (empty: not installed).
    pub ca_installed: Vec<PathBuf>,
    /// Every requested certificate was written (as of the last hook).
    pub certs_saved: bool,
    /// The certificates written at least once, as `(kind, common name)`.
    pub saved: BTreeSet<(CertKind, String)>,
    /// The wire in use (as of the last hook).
    pub wire: Wire,
}

impl ClientState {
    /// The reactive flags these stand for: `tls_client.ca.saved`, `tls_client.ca_installed`,
    /// `tls_client.certs.saved`.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.ca_saved {
            out.push("tls_client.ca.saved");
        }
        if !self.ca_installed.is_empty() {
            out.push("tls_client.ca_installed");
        }
        if self.certs_saved {
            out.push("tls_client.certs.saved");
        }
        out
    }
}

/// The charm state of one endpoint: digests of what was written (never a key), the
/// trust-store files installed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Stored {
    /// Digest of the CA file (path and content) last written.
    #[serde(default)]
    ca: Option<String>,
    /// Trust-store file -> digest of its content.
    #[serde(default)]
    installed: BTreeMap<String, String>,
    /// `<kind>/<common name>` -> digest of its paths and certificate.
    #[serde(default)]
    certs: BTreeMap<String, String>,
    #[serde(default)]
    all_saved: bool,
    /// The wire of the last hook.
    #[serde(default)]
    wire: Wire,
    /// The provider's unusable reactive values last logged (each logged once).
    #[serde(default)]
    reactive_errors: BTreeSet<String>,
}

/// One certificate to write: the certificate file and the key file.
struct Held {
    cert_file: String,
    key_file: Zeroizing<String>,
}

/// The `tls-client` convenience on one `tls-certificates` endpoint (unit certificates).
#[derive(Debug, Clone)]
pub struct TlsClient {
    endpoint: Endpoint,
    ca_certificate_path: Option<PathBuf>,
    trust_store: TrustStore,
    requests: Vec<RequestedCertificate>,
    key_algorithm: KeyAlgorithm,
    allow_reactive_wire: bool,
}

impl TlsClient {
    /// A client on `endpoint` with no request yet, the trust store of
    /// [`TrustStore::from_env`] and RSA-2048 keys (the requirer's default).
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            ca_certificate_path: None,
            trust_store: TrustStore::from_env(),
            requests: Vec::new(),
            key_algorithm: KeyAlgorithm::Rsa2048,
            allow_reactive_wire: false,
        }
    }

    /// Allows the reactive wire, used only with a provider that speaks nothing else (see the
    /// module docs). **The provider then makes the private keys and sends them over the
    /// relation**; say so to the operator ([`ClientState::wire`]). Off by default.
    pub fn allow_reactive_wire(mut self, allow: bool) -> Self {
        self.allow_reactive_wire = allow;
        self
    }

    /// Whether the charm allowed the reactive wire.
    pub fn allows_reactive_wire(&self) -> bool {
        self.allow_reactive_wire
    }

    /// Also writes the CA (every CA of our certificates, one file) to `path`: the layer's
    /// `ca_certificate_path` option.
    pub fn with_ca_certificate_path(mut self, path: impl Into<PathBuf>) -> Result<Self, Error> {
        self.ca_certificate_path = Some(absolute(path.into())?);
        Ok(self)
    }

    /// Installs the CA in `store` instead of the one [`TrustStore::from_env`] picks.
    pub fn with_trust_store(mut self, store: TrustStore) -> Self {
        self.trust_store = store;
        self
    }

    /// Algorithm of the unit's key.
    pub fn with_key_algorithm(mut self, algorithm: KeyAlgorithm) -> Self {
        self.key_algorithm = algorithm;
        self
    }

    /// Asks for a server certificate for `common_name` with `sans` (bare names are DNS names,
    /// or IPs when they parse as one; `DNS:`, `IP:` prefixes work too), written to `cert_path`
    /// with the unit's key at `key_path`. Asking again for the same common name replaces the
    /// SANs and paths (same certificate, renewed when the SANs change).
    pub fn request_server_cert(
        self,
        common_name: &str,
        sans: &[impl AsRef<str>],
        cert_path: impl Into<PathBuf>,
        key_path: impl Into<PathBuf>,
    ) -> Result<Self, Error> {
        self.request(CertKind::Server, common_name, sans, cert_path, key_path)
    }

    /// [`Self::request_server_cert`] for a client certificate.
    pub fn request_client_cert(
        self,
        common_name: &str,
        sans: &[impl AsRef<str>],
        cert_path: impl Into<PathBuf>,
        key_path: impl Into<PathBuf>,
    ) -> Result<Self, Error> {
        self.request(CertKind::Client, common_name, sans, cert_path, key_path)
    }

    fn request(
        mut self,
        kind: CertKind,
        common_name: &str,
        sans: &[impl AsRef<str>],
        cert_path: impl Into<PathBuf>,
        key_path: impl Into<PathBuf>,
    ) -> Result<Self, Error> {
        if common_name.trim().is_empty() {
            return Err(Misuse::EmptyCommonName.into());
        }
        let mut attributes = RequestAttributes::new(common_name);
        for san in sans {
            attributes
                .sans
                .push_str(san.as_ref())
                .map_err(|e| Misuse::BadSubjectAltName(e.to_string()))?;
        }
        let wanted = RequestedCertificate {
            kind,
            common_name: common_name.to_owned(),
            attributes,
            cert_path: absolute(cert_path.into())?,
            key_path: absolute(key_path.into())?,
        };
        self.requests
            .retain(|r| !(r.kind == kind && r.common_name == common_name));
        self.requests.push(wanted);
        Ok(self)
    }

    /// The certificates asked for, in order.
    pub fn requests(&self) -> &[RequestedCertificate] {
        &self.requests
    }

    /// Where the CA file goes, if anywhere.
    pub fn ca_certificate_path(&self) -> Option<&Path> {
        self.ca_certificate_path.as_deref()
    }

    /// The trust store the CA goes to.
    pub fn trust_store(&self) -> &TrustStore {
        &self.trust_store
    }

    /// The requirer underneath (UNIT mode, one request per distinct certificate), for its
    /// queries (`request_errors`, `provider_capabilities`, ...).
    pub fn requirer(&self) -> Result<TlsRequirer, Error> {
        let mut requirer = TlsRequirer::new(self.endpoint.clone(), Mode::Unit)
            .with_key_algorithm(self.key_algorithm);
        let mut seen = Vec::new();
        for r in &self.requests {
            // A server and a client certificate asking for the same names share one CSR.
            let request = r.request();
            if !seen.contains(&request) {
                requirer = requirer.with_request(Scope::Unit, request.clone())?;
                seen.push(request);
            }
        }
        Ok(requirer)
    }

    /// Handles any event: on `relation-broken` of the endpoint (and on `remove`) the CA leaves
    /// the trust store, and the requirer removes its key and certificate secrets; otherwise
    /// the requirer reconciles and every certificate held is written where it was asked for.
    /// The certificate and key files stay when the relation goes, as with the reactive layer
    /// (a workload may still be using them).
    pub fn handle(
        &self,
        event: &Event,
        model: &mut Model<'_>,
    ) -> Result<Vec<TlsClientEvent>, Error> {
        self.check_paths()?;
        let requirer = self.requirer()?;
        match event {
            Event::RelationBroken(e) if e.relation.endpoint() == &self.endpoint => {
                let out = self.uninstall(model)?;
                requirer.handle(event, model)?;
                Ok(out)
            }
            Event::Remove => self.uninstall(model),
            _ => {
                let mut out = Vec::new();
                let relation = model.relations(&self.endpoint)?.into_iter().next();
                let wire = match &relation {
                    Some(r) => self.wire(model, r)?,
                    None => Wire::Current,
                };
                match (wire, &relation) {
                    (Wire::Reactive, Some(r)) => self.handle_reactive(model, r, &mut out)?,
                    _ => {
                        if let Some(r) = &relation {
                            // Back from the reactive wire: our requests there are withdrawn.
                            let own = model.relation_data(&r.id, &model.own_unit_bag())?;
                            let changes = reactive::withdraw_changes(&own);
                            if !changes.is_empty() {
                                model.update_relation_data(
                                    &r.id,
                                    &model.own_unit_bag(),
                                    &changes,
                                )?;
                            }
                        }
                        for e in requirer.handle(event, model)? {
                            if let RequirerEvent::CertificateDenied(d) = e {
                                out.push(TlsClientEvent::CertificateDenied(d));
                            }
                        }
                        self.save_current(&requirer, model, wire, &mut out)?;
                    }
                }
                Ok(out)
            }
        }
    }

    /// The wire to speak on `relation`: the provider's, as far as the charm allows.
    fn wire(&self, model: &mut Model<'_>, relation: &Relation) -> Result<Wire, Error> {
        let app = match &relation.remote_app {
            Some(app) => model.relation_data(&relation.id, &BagOwner::App(app.clone()))?,
            None => Arc::new(Databag::new()),
        };
        let units = provider_unit_bags(model, relation)?;
        Ok(
            match (
                detect(&app, units.iter().map(|b| &**b)),
                self.allow_reactive_wire,
            ) {
                (ProviderWire::Current, _) => Wire::Current,
                (ProviderWire::ReactiveOnly, true) => Wire::Reactive,
                (ProviderWire::ReactiveOnly, false) => Wire::ReactiveNotAllowed,
            },
        )
    }

    /// The reactive wire: our requests in our unit bag, the provider's certificates and keys to
    /// the files.
    fn handle_reactive(
        &self,
        model: &mut Model<'_>,
        relation: &Relation,
        out: &mut Vec<TlsClientEvent>,
    ) -> Result<(), Error> {
        let unit = model.unit().to_string();
        let own = model.own_unit_bag();
        let current = model.relation_data(&relation.id, &own)?;
        let (wanted, dropped) = reactive::request_bag(&unit, &self.requests);
        let changes = reactive::request_changes(&current, &wanted);
        if !changes.is_empty() {
            if !dropped.is_empty() {
                model.log(
                    LogLevel::Warning,
                    &format!(
                        "tls-client: the reactive wire carries only DNS names and IP addresses; left out: {}",
                        dropped.join(", ")
                    ),
                )?;
            }
            model.update_relation_data(&relation.id, &own, &changes)?;
        }
        let bags = provider_unit_bags(model, relation)?;
        let answers = reactive::receive(bags.iter().map(|b| &**b), &unit, &self.requests);
        let held: Vec<Option<Held>> = answers
            .certificates
            .into_iter()
            .map(|c| {
                c.map(|c| Held {
                    cert_file: c.cert_file,
                    key_file: c.key_file,
                })
            })
            .collect();
        let errors: BTreeSet<String> = answers
            .errors
            .iter()
            .map(|e| {
                format!(
                    "tls-client: unusable reactive answer on {}: {e}",
                    relation.id
                )
            })
            .collect();
        let cas: Vec<String> = answers.ca.iter().map(|c| c.trim().to_owned()).collect();
        self.save(model, Wire::Reactive, &held, &cas, errors, out)
    }

    /// What stays set between hooks (see [`ClientState::flags`]).
    pub fn state(&self, model: &Model<'_>) -> ClientState {
        let stored = self.load(model);
        let saved = self
            .requests
            .iter()
            .filter(|r| stored.certs.contains_key(&r.id()))
            .map(|r| (r.kind, r.common_name.clone()))
            .collect();
        ClientState {
            ca_saved: self.ca_certificate_path.is_some() && stored.ca.is_some(),
            ca_installed: stored.installed.keys().map(PathBuf::from).collect(),
            certs_saved: stored.all_saved,
            saved,
            wire: stored.wire,
        }
    }

    fn state_key(&self) -> String {
        format!("tls-client:{}", self.endpoint)
    }

    /// Our charm state; unreadable state (another version's) starts afresh, which at worst
    /// reports every file as changed once.
    fn load(&self, model: &Model<'_>) -> Stored {
        model
            .stored::<Stored>(&self.state_key())
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Refuses a path asked to hold two different files. Key paths may repeat: every
    /// certificate of the unit has the same key.
    fn check_paths(&self) -> Result<(), Error> {
        let mut public: BTreeSet<&Path> = BTreeSet::new();
        for p in self
            .requests
            .iter()
            .map(|r| r.cert_path.as_path())
            .chain(self.ca_certificate_path.as_deref())
        {
            if !public.insert(p) {
                return Err(Misuse::PathClash(p.to_owned()).into());
            }
        }
        if let Some(r) = self
            .requests
            .iter()
            .find(|r| public.contains(r.key_path.as_path()))
        {
            return Err(Misuse::PathClash(r.key_path.clone()).into());
        }
        Ok(())
    }

    /// The current wire: the requirer's certificates and the unit's key to the files.
    fn save_current(
        &self,
        requirer: &TlsRequirer,
        model: &mut Model<'_>,
        wire: Wire,
        out: &mut Vec<TlsClientEvent>,
    ) -> Result<(), Error> {
        let assigned = requirer.assigned_certificates(model, Scope::Unit)?;
        let key = if assigned.is_empty() {
            None
        } else {
            requirer.private_key(model, Scope::Unit)?
        };
        let mut cas: Vec<String> = Vec::new();
        let mut held = Vec::with_capacity(self.requests.len());
        for r in &self.requests {
            let request = r.request();
            let (Some(a), Some(key)) = (assigned.iter().find(|a| a.request == request), &key)
            else {
                held.push(None);
                continue;
            };
            held.push(Some(Held {
                cert_file: certificate_file(a),
                key_file: key.to_pkcs8_pem(),
            }));
            let ca = a.ca.trim().to_owned();
            if !ca.is_empty() && !cas.contains(&ca) {
                cas.push(ca);
            }
        }
        self.save(model, wire, &held, &cas, BTreeSet::new(), out)
    }

    /// Writes every certificate held (`held`: one entry per request, in order), the CA file
    /// and the trust store; records what changed and the wire; logs each new problem once.
    fn save(
        &self,
        model: &mut Model<'_>,
        wire: Wire,
        held: &[Option<Held>],
        cas: &[String],
        problems: BTreeSet<String>,
        out: &mut Vec<TlsClientEvent>,
    ) -> Result<(), Error> {
        let mut stored = self.load(model);
        let before = stored.clone();
        if stored.wire != wire {
            self.log_wire(model, wire)?;
            stored.wire = wire;
        }
        for p in problems.difference(&stored.reactive_errors) {
            model.log(LogLevel::Warning, p)?;
        }
        stored.reactive_errors = problems;
        let mut changed: Vec<TlsClientEvent> = Vec::new();
        let mut kinds = BTreeSet::new();
        let mut all = !self.requests.is_empty();
        let mut ids = BTreeSet::new();
        for (i, r) in self.requests.iter().enumerate() {
            ids.insert(r.id());
            let Some(Some(h)) = held.get(i) else {
                // Same common name, same certificate: one written before (new SANs pending)
                // still counts as saved, as in the reactive layer.
                all &= stored.certs.contains_key(&r.id());
                continue;
            };
            let cert = &h.cert_file;
            // The key first: a workload reloading on the new certificate finds its key.
            let wrote_key = files::write_if_changed(&r.key_path, &h.key_file, files::PRIVATE)?;
            let wrote_cert = files::write_if_changed(&r.cert_path, cert, files::PUBLIC)?;
            let d = digest(&[
                &r.cert_path.to_string_lossy(),
                &r.key_path.to_string_lossy(),
                cert,
            ]);
            if wrote_key || wrote_cert || stored.certs.get(&r.id()) != Some(&d) {
                model.log(
                    LogLevel::Info,
                    &format!(
                        "tls-client: {} certificate '{}' written to {} (key {})",
                        r.kind.as_str(),
                        r.common_name,
                        r.cert_path.display(),
                        r.key_path.display()
                    ),
                )?;
                kinds.insert(r.kind);
                changed.push(TlsClientEvent::CertificateChanged {
                    kind: r.kind,
                    common_name: r.common_name.clone(),
                    cert_path: r.cert_path.clone(),
                    key_path: r.key_path.clone(),
                });
            }
            stored.certs.insert(r.id(), d);
        }
        // A certificate no longer asked for is forgotten: asked again, it counts as new.
        stored.certs.retain(|id, _| ids.contains(id));
        if !cas.is_empty() {
            self.save_ca(model, cas, &mut stored, out)?;
        }
        out.extend(changed);
        if kinds.contains(&CertKind::Server) {
            out.push(TlsClientEvent::ServerCertsChanged);
        }
        if kinds.contains(&CertKind::Client) {
            out.push(TlsClientEvent::ClientCertsChanged);
        }
        if !kinds.is_empty() {
            out.push(TlsClientEvent::CertsChanged);
        }
        if all && !stored.all_saved {
            out.push(TlsClientEvent::CertsSaved);
        }
        stored.all_saved = all;
        if before != stored {
            model.store(&self.state_key(), &stored)?;
        }
        Ok(())
    }

    /// Says once which wire is now in use, and why when it matters.
    fn log_wire(&self, model: &mut Model<'_>, wire: Wire) -> Result<(), Error> {
        let (level, message) = match wire {
            Wire::Current => (
                LogLevel::Info,
                format!(
                    "tls-client: the current tls-certificates wire on {}",
                    self.endpoint
                ),
            ),
            Wire::Reactive => (
                LogLevel::Warning,
                format!(
                    "tls-client: the provider on {} speaks only the reactive tls-certificates wire; \
                     using it as the charm allows: the provider makes the private keys and sends \
                     them over the relation",
                    self.endpoint
                ),
            ),
            Wire::ReactiveNotAllowed => (
                LogLevel::Warning,
                format!(
                    "tls-client: the provider on {} speaks only the reactive tls-certificates wire \
                     (it makes the keys and sends them over the relation); this charm has not \
                     allowed it (TlsClient::allow_reactive_wire), so no certificate will come",
                    self.endpoint
                ),
            ),
        };
        model.log(level, &message)?;
        Ok(())
    }

    /// The CA file and the trust store. On the current wire there is no CA until a
    /// certificate arrives (it comes with each certificate); on the reactive wire it comes first.
    fn save_ca(
        &self,
        model: &mut Model<'_>,
        cas: &[String],
        stored: &mut Stored,
        out: &mut Vec<TlsClientEvent>,
    ) -> Result<(), Error> {
        if let Some(path) = &self.ca_certificate_path {
            // A newline at the end: some tools refuse a PEM file without one.
            let bundle = format!("{}\n", cas.join("\n"));
            let wrote = files::write_if_changed(path, &bundle, files::PUBLIC)?;
            let d = digest(&[&path.to_string_lossy(), &bundle]);
            if wrote || stored.ca.as_ref() != Some(&d) {
                model.log(
                    LogLevel::Info,
                    &format!("tls-client: CA written to {}", path.display()),
                )?;
                out.push(TlsClientEvent::CaSaved { path: path.clone() });
            }
            stored.ca = Some(d);
        }
        // One file per CA: update-ca-certificates takes the first certificate of a file only.
        let app = model.app().to_string();
        let mut wanted = BTreeMap::new();
        for (n, ca) in cas.iter().enumerate() {
            let path = self.trust_store.file(&app, n);
            wanted.insert(path.to_string_lossy().into_owned(), format!("{ca}\n"));
        }
        let mut changed = false;
        for (path, content) in &wanted {
            let d = digest(&[content]);
            changed |= files::write_if_changed(Path::new(path), content, files::PUBLIC)?
                || stored.installed.get(path) != Some(&d);
            stored.installed.insert(path.clone(), d);
        }
        let stale: Vec<String> = stored
            .installed
            .keys()
            .filter(|p| !wanted.contains_key(*p))
            .cloned()
            .collect();
        for path in stale {
            files::remove(Path::new(&path))?;
            stored.installed.remove(&path);
            changed = true;
        }
        if changed {
            self.update_trust_store(model, "installed in")?;
            let paths: Vec<PathBuf> = wanted.keys().map(PathBuf::from).collect();
            out.push(TlsClientEvent::CaInstalled { paths });
        }
        Ok(())
    }

    /// Takes the CA out of the trust store and forgets what was saved.
    fn uninstall(&self, model: &mut Model<'_>) -> Result<Vec<TlsClientEvent>, Error> {
        let stored = self.load(model);
        let mut removed = Vec::new();
        for path in stored.installed.keys() {
            if files::remove(Path::new(path))? {
                removed.push(PathBuf::from(path));
            }
        }
        model.unstore(&self.state_key());
        if removed.is_empty() {
            return Ok(Vec::new());
        }
        self.update_trust_store(model, "removed from")?;
        Ok(vec![TlsClientEvent::CaRemoved { paths: removed }])
    }

    /// Runs the trust store's update and says what changed where.
    fn update_trust_store(&self, model: &mut Model<'_>, what: &str) -> Result<(), Error> {
        let ran = self.trust_store.update()?;
        model.log(
            LogLevel::Info,
            &format!(
                "tls-client: CA {what} {}{}",
                self.trust_store.root().display(),
                if ran {
                    " (update-ca-certificates ran)"
                } else {
                    ""
                }
            ),
        )?;
        Ok(())
    }
}

/// The bags of the provider's units in `relation` (Juju's view is fixed for the hook, and
/// each bag is read once per hook by the model's cache).
fn provider_unit_bags(
    model: &mut Model<'_>,
    relation: &Relation,
) -> Result<Vec<Arc<Databag>>, Error> {
    let mut out = Vec::with_capacity(relation.units.len());
    for unit in &relation.units {
        out.push(model.relation_data(&relation.id, &BagOwner::Unit(unit.clone()))?);
    }
    Ok(out)
}

fn absolute(path: PathBuf) -> Result<PathBuf, Error> {
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(Misuse::RelativePath(path).into())
    }
}

/// The certificate file: the leaf, then the rest of the chain the provider sent (each once).
fn certificate_file(a: &AssignedCertificate) -> String {
    let leaf = a.certificate.pem().trim().to_owned();
    let mut parts = vec![leaf];
    for c in &a.chain {
        let c = c.trim().to_owned();
        if !c.is_empty() && !parts.contains(&c) {
            parts.push(c);
        }
    }
    format!("{}\n", parts.join("\n"))
}

/// A digest for change detection only (never of a key).
fn digest(parts: &[&str]) -> String {
    let mut text = String::new();
    for p in parts {
        text.push_str(p);
        text.push('\0');
    }
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(text.as_bytes()))
}
