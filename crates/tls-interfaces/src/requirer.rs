//! The `tls-certificates` requirer: keys, CSRs and received certificates of one endpoint.
//!
//! Behaviour follows the Python library (charmlibs tls-certificates 1.12.0) so the two are
//! interchangeable on the wire and in the secrets they keep:
//!
//! - the private key is generated once per scope and kept in a Juju secret under the Python
//!   library's label (`{LIBID}-private-key-{unit}-{endpoint}` or `...-private-key-app-...`);
//! - a CSR already in the databag is matched to the wanted request **by attributes** (rebuilt
//!   from the CSR, SANs as sets, the unique id by presence) and by key: a new CSR is made only
//!   when something really changed, so keys and CSRs never churn across hooks;
//! - each certificate received is stored in a secret whose expiry is the renewal time; its
//!   `secret-expired` event (or the safety net, slightly later) makes a new CSR with the same key.
//!
//! Where the Python library is weak we differ, and say so: a malformed entry from the provider is
//! skipped with a warning instead of discarding the whole databag; a certificate that does not
//! match our key or our request is refused with a logged reason; one whose chain does not verify
//! (judged as `pki verify` judges it, by `rustls-webpki`) is accepted with a warning naming the
//! defect; `certificate-available` is emitted when a certificate is new or changed, not on every
//! hook; each databag is written once per hook.
//!
//! Call [`TlsRequirer::handle`] on every event (reconcile on every hook).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use charm::{
    AppName, BagOwner, CustomEvent, Endpoint, Event, LogLevel, Model, NewSecret, RelationId,
    SecretContent, SecretId, SecretLookup, SecretOwner, SecretRead, SecretUpdate,
};
use pki::chain::Usage;
use pki::{Certificate, Csr, KeyAlgorithm, PrivateKey, RequestAttributes};
use serde::Serialize;

use crate::error::{Error, is_secret_not_found};
use crate::json::to_python_json;
use crate::labels;
use crate::security_log::SecurityEvent;
use crate::time_fmt;
use crate::wire::certificate_index::CertificateIndex;
use crate::wire::tls_certificates::{
    CAPABILITIES_KEY, CERTIFICATES_KEY, CSRS_KEY, Capabilities, CapabilitiesState,
    CertificateEntry, ErrorBody, REQUEST_ERRORS_KEY, RequestEntry, RequestErrorEntry,
};
use crate::wire::{Warning, csr_der, read_list, read_value};

/// Who a certificate is for: the Python library's `Mode.UNIT` and `Mode.APP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Scope {
    /// This unit's own certificate (CSR in the unit bag, unit-owned secrets).
    Unit,
    /// The application's certificate, managed by the leader (CSR in the app bag, app-owned
    /// secrets).
    App,
}

/// Which scopes an endpoint requests: the Python library's `Mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Each unit requests its own certificates.
    Unit,
    /// The leader requests the application's certificates.
    App,
    /// Both.
    AppAndUnit,
}

impl Mode {
    fn has(self, scope: Scope) -> bool {
        matches!(
            (self, scope),
            (Mode::AppAndUnit, _) | (Mode::Unit, Scope::Unit) | (Mode::App, Scope::App)
        )
    }
}

/// One wanted certificate: what to put in the CSR, and whether it should be a CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRequest {
    /// Subject, SANs and the rest.
    pub attributes: RequestAttributes,
    /// Ask for a CA certificate (travels as `"ca": true` beside the CSR).
    pub is_ca: bool,
}

impl CertificateRequest {
    /// A leaf request for `attributes`.
    pub fn leaf(attributes: RequestAttributes) -> Self {
        Self {
            attributes,
            is_ca: false,
        }
    }
}

/// A certificate we hold, with what came with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateAvailable {
    /// Which scope it is for.
    pub scope: Scope,
    /// Our CSR (PEM).
    pub certificate_signing_request: String,
    /// The certificate (PEM).
    pub certificate: String,
    /// The CA (PEM).
    pub ca: String,
    /// Leaf first, then issuers (PEM).
    pub chain: Vec<String>,
}

/// A refusal from the provider for one of our requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateDenied {
    /// Our CSR (PEM).
    pub certificate_signing_request: String,
    /// What the provider said.
    pub error: ErrorBody,
}

/// What the requirer tells the charm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequirerEvent {
    /// A certificate is new or changed; it is stored and its renewal is scheduled.
    CertificateAvailable(CertificateAvailable),
    /// The provider refused a request.
    CertificateDenied(CertificateDenied),
}

impl RequirerEvent {
    /// The event as an SDK custom event (`certificate-available` / `certificate-denied`).
    pub fn to_custom_event(&self) -> CustomEvent {
        let (name, payload) = match self {
            Self::CertificateAvailable(e) => ("certificate-available", serde_json::to_value(e)),
            Self::CertificateDenied(e) => ("certificate-denied", serde_json::to_value(e)),
        };
        CustomEvent {
            name: name.to_owned(),
            payload: payload.unwrap_or_default(),
        }
    }
}

/// A certificate assigned to one of our requests, ready to serve.
#[derive(Debug, Clone)]
pub struct AssignedCertificate {
    /// Scope of the request.
    pub scope: Scope,
    /// The request it answers.
    pub request: CertificateRequest,
    /// The certificate.
    pub certificate: Certificate,
    /// The CA certificate (PEM, as the provider sent it).
    pub ca: String,
    /// The chain (PEM), leaf first.
    pub chain: Vec<String>,
    /// Our CSR (PEM).
    pub csr: String,
}

/// The requirer side of one `tls-certificates` endpoint.
#[derive(Debug, Clone)]
pub struct TlsRequirer {
    endpoint: Endpoint,
    mode: Mode,
    requests: Vec<(Scope, CertificateRequest)>,
    key_algorithm: KeyAlgorithm,
    renewal_relative_time: f64,
    supplied_key: Option<String>,
}

impl TlsRequirer {
    /// A requirer for `endpoint` in `mode`, with no request yet, RSA-2048 keys (the Python
    /// library's default) and renewal at 90% of the remaining validity.
    pub fn new(endpoint: Endpoint, mode: Mode) -> Self {
        Self {
            endpoint,
            mode,
            requests: Vec::new(),
            key_algorithm: KeyAlgorithm::Rsa2048,
            renewal_relative_time: 0.9,
            supplied_key: None,
        }
    }

    /// Adds a wanted certificate for `scope`. Requests are evaluated on each hook, so a charm
    /// can rebuild the requirer with its current addresses every time.
    pub fn with_request(
        mut self,
        scope: Scope,
        request: CertificateRequest,
    ) -> Result<Self, Error> {
        if !self.mode.has(scope) {
            return Err(Error::Config(format!(
                "a {scope:?} request on an endpoint in {:?} mode",
                self.mode
            )));
        }
        if self
            .requests
            .iter()
            .any(|(s, r)| r == &request && *s != scope)
        {
            return Err(Error::Config(
                "the same request in both APP and UNIT scope; use distinct requests".into(),
            ));
        }
        self.requests.push((scope, request));
        Ok(self)
    }

    /// Algorithm of generated keys.
    pub fn with_key_algorithm(mut self, algorithm: KeyAlgorithm) -> Self {
        self.key_algorithm = algorithm;
        self
    }

    /// When to renew, as a fraction of the time left when the certificate is stored: in
    /// (0.5, 1.0], like the Python library.
    pub fn with_renewal_relative_time(mut self, fraction: f64) -> Result<Self, Error> {
        if !(fraction > 0.5 && fraction <= 1.0) {
            return Err(Error::Config(format!(
                "renewal relative time {fraction} is outside (0.5, 1.0]"
            )));
        }
        self.renewal_relative_time = fraction;
        Ok(self)
    }

    /// Uses a key supplied by the charm instead of a generated one (discouraged: keys passed
    /// around by hand leak more easily).
    pub fn with_private_key(mut self, pem: &str) -> Result<Self, Error> {
        PrivateKey::from_pem(pem)?;
        self.supplied_key = Some(pem.to_owned());
        Ok(self)
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Handles any event: cleans up on `relation-broken` of our endpoint, renews on
    /// `secret-expired` of one of our certificate secrets, and otherwise reconciles.
    pub fn handle(
        &self,
        event: &Event,
        model: &mut Model<'_>,
    ) -> Result<Vec<RequirerEvent>, Error> {
        match event {
            Event::RelationBroken(e) if e.relation.endpoint() == &self.endpoint => {
                self.on_relation_broken(model)?;
                Ok(Vec::new())
            }
            Event::SecretExpired(e) if e.label.as_deref().is_some_and(labels::is_certificate) => {
                let renew = self.take_expired_secret(model, &e.id)?;
                self.reconcile_with(model, &renew)
            }
            Event::SecretRemove(e)
                if e.label
                    .as_deref()
                    .is_some_and(|l| l.starts_with(labels::LIBID)) =>
            {
                if let Some(rev) = e.revision {
                    match model.remove_secret(&e.id, Some(rev)) {
                        Ok(()) => {}
                        Err(err) if is_secret_not_found(&err) => {}
                        Err(err) => return Err(err.into()),
                    }
                }
                self.reconcile(model)
            }
            _ => self.reconcile(model),
        }
    }

    /// Brings keys, CSRs and certificate secrets in line with the wanted requests and the
    /// provider's answers.
    pub fn reconcile(&self, model: &mut Model<'_>) -> Result<Vec<RequirerEvent>, Error> {
        self.reconcile_with(model, &BTreeSet::new())
    }

    /// Asks for a new certificate for `csr_pem` (same key): its secret is removed and a new CSR
    /// replaces the old one.
    pub fn renew(&self, model: &mut Model<'_>, csr_pem: &str) -> Result<Vec<RequirerEvent>, Error> {
        let csr = Csr::from_pem(csr_pem)?;
        let Some(mut session) = Session::open(self, model)? else {
            return Ok(Vec::new());
        };
        for scope in session.scopes() {
            if let Some(id) = session.find_certificate_secret(scope, &csr)? {
                session.model.remove_secret(&id, None)?;
            }
        }
        drop(session);
        let renew = BTreeSet::from([csr.der().to_vec()]);
        self.reconcile_with(model, &renew)
    }

    /// Replaces the private key of `scope` (every scope when `None`) with a new one; CSRs made
    /// with the old key are replaced.
    pub fn regenerate_private_key(
        &self,
        model: &mut Model<'_>,
        scope: Option<Scope>,
    ) -> Result<Vec<RequirerEvent>, Error> {
        if self.supplied_key.is_some() {
            return Err(Error::Config(
                "the private key is supplied by the charm; it cannot be regenerated".into(),
            ));
        }
        let Some(mut session) = Session::open(self, model)? else {
            return Ok(Vec::new());
        };
        for s in session.scopes() {
            if scope.is_none_or(|wanted| wanted == s) {
                let key = PrivateKey::generate(self.key_algorithm)?;
                session.store_key(s, &key)?;
            }
        }
        drop(session);
        self.reconcile(model)
    }

    /// The private key of `scope`, when this unit may see it.
    pub fn private_key(
        &self,
        model: &mut Model<'_>,
        scope: Scope,
    ) -> Result<Option<PrivateKey>, Error> {
        let leader = model.is_leader()?;
        if scope == Scope::App && !leader {
            return Ok(None);
        }
        if let Some(pem) = &self.supplied_key {
            return Ok(Some(PrivateKey::from_pem(pem)?));
        }
        let label = labels::private_key(scope, unit_number(model), self.endpoint.as_str());
        read_key_secret(model, &label)
    }

    /// Certificates the provider assigned to our current requests of `scope`, each checked
    /// against our key.
    pub fn assigned_certificates(
        &self,
        model: &mut Model<'_>,
        scope: Scope,
    ) -> Result<Vec<AssignedCertificate>, Error> {
        let Some(mut session) = Session::open(self, model)? else {
            return Ok(Vec::new());
        };
        if !session.scopes().contains(&scope) {
            return Ok(Vec::new());
        }
        let key = session.key(scope)?;
        let provider = session.provider_data();
        let bag = session.load_bag(scope)?;
        let mut out = Vec::new();
        for entry in &bag.entries {
            let Some(csr) = &entry.csr else { continue };
            let Some(cert_entry) = provider.certificate_for(csr) else {
                continue;
            };
            if cert_entry.revoked == Some(true) {
                continue;
            }
            let Ok(certificate) = Certificate::from_pem(&cert_entry.certificate) else {
                continue;
            };
            if !certificate.matches_key(&key) {
                continue;
            }
            out.push(AssignedCertificate {
                scope,
                request: CertificateRequest {
                    attributes: csr.attributes(),
                    is_ca: entry.wire.ca.unwrap_or(false),
                },
                certificate,
                ca: cert_entry.ca.clone(),
                chain: cert_entry.chain.clone().unwrap_or_default(),
                csr: entry.wire.certificate_signing_request.clone(),
            });
        }
        session.flush_warnings();
        Ok(out)
    }

    /// Every certificate in the provider's databag (revoked ones included), tolerant of
    /// malformed entries.
    pub fn provider_certificates(
        &self,
        model: &mut Model<'_>,
    ) -> Result<Vec<CertificateEntry>, Error> {
        let Some(mut session) = Session::open(self, model)? else {
            return Ok(Vec::new());
        };
        let data = session.provider_data();
        session.flush_warnings();
        Ok(data.certificates.all())
    }

    /// What the provider advertised, keeping "not yet advertised" apart from "unsupported".
    pub fn provider_capabilities(&self, model: &mut Model<'_>) -> Result<CapabilitiesState, Error> {
        let Some(mut session) = Session::open(self, model)? else {
            return Ok(CapabilitiesState::NotAdvertised);
        };
        let data = session.provider_data();
        session.flush_warnings();
        Ok(match data.capabilities {
            Some(c) => CapabilitiesState::Advertised(c),
            None => CapabilitiesState::NotAdvertised,
        })
    }

    fn reconcile_with(
        &self,
        model: &mut Model<'_>,
        renew: &BTreeSet<Vec<u8>>,
    ) -> Result<Vec<RequirerEvent>, Error> {
        let Some(mut session) = Session::open(self, model)? else {
            return Ok(Vec::new());
        };
        let mut events = Vec::new();
        let provider = session.provider_data();
        let now = session.model.now();
        for scope in session.scopes() {
            let key = session.key(scope)?;
            let mut bag = session.load_bag(scope)?;
            let wanted: Vec<&CertificateRequest> = self
                .requests
                .iter()
                .filter(|(s, _)| *s == scope)
                .map(|(_, r)| r)
                .collect();

            // 1. Drop CSRs that no longer match a wanted request or our key, or that are due
            //    for renewal or were revoked.
            let mut to_renew: BTreeSet<Vec<u8>> = renew.clone();
            for entry in &bag.entries {
                let Some(csr) = &entry.csr else { continue };
                if let Some(cert) = provider.certificate_for(csr) {
                    if cert.revoked == Some(true) {
                        session.log(LogLevel::Info, &format!("certificate for '{}' was revoked by the provider; requesting a new one", csr.subject()));
                        if let Some(id) = session.find_certificate_secret(scope, csr)? {
                            session.model.remove_secret(&id, None)?;
                        }
                        to_renew.insert(csr.der().to_vec());
                    } else if let Ok(c) = Certificate::from_pem(&cert.certificate)
                        && c.matches_key(&key)
                        && self.safety_net_due(&c, now)
                    {
                        session.log(LogLevel::Warning, &format!("certificate for '{}' is close to expiry and was not renewed; renewing now (safety net)", csr.subject()));
                        to_renew.insert(csr.der().to_vec());
                    }
                }
            }
            let before = bag.entries.len();
            bag.entries.retain(|entry| {
                let Some(csr) = &entry.csr else { return false };
                let request = CertificateRequest {
                    attributes: csr.attributes(),
                    is_ca: entry.wire.ca.unwrap_or(false),
                };
                wanted.contains(&&request) && csr.matches_key(&key) && !to_renew.contains(csr.der())
            });
            bag.changed |= bag.entries.len() != before;

            // 2. Send a CSR for every wanted request that has none.
            for request in &wanted {
                let sent = bag.entries.iter().any(|e| {
                    e.csr
                        .as_ref()
                        .is_some_and(|c| c.attributes() == request.attributes)
                        && e.wire.ca.unwrap_or(false) == request.is_ca
                });
                if !sent {
                    let csr = request.attributes.to_csr(&key)?;
                    session.log(
                        LogLevel::Info,
                        &format!("requesting a certificate for '{}'", csr.subject()),
                    );
                    bag.entries.push(BagEntry {
                        wire: RequestEntry {
                            certificate_signing_request: csr.pem().to_owned(),
                            ca: Some(request.is_ca),
                        },
                        csr: Some(csr),
                    });
                    bag.changed = true;
                }
            }

            // 3. Take in the provider's answers to our current CSRs.
            for entry in &bag.entries {
                let Some(csr) = &entry.csr else { continue };
                if let Some(cert_entry) = provider.certificate_for(csr)
                    && cert_entry.revoked != Some(true)
                    && let Some(event) = session.accept_certificate(
                        scope,
                        csr,
                        entry.wire.ca.unwrap_or(false),
                        &cert_entry,
                        &key,
                    )?
                {
                    events.push(RequirerEvent::CertificateAvailable(event));
                }
                if let Some(err) = provider.error_for(csr) {
                    events.push(RequirerEvent::CertificateDenied(CertificateDenied {
                        certificate_signing_request: entry.wire.certificate_signing_request.clone(),
                        error: err.error.clone(),
                    }));
                }
            }
            session.write_bag(&bag)?;
        }
        session.flush_warnings();
        Ok(events)
    }

    fn safety_net_due(&self, cert: &Certificate, now: i64) -> bool {
        let info = cert.info();
        let start = info.not_before.unix_timestamp();
        let end = info.not_after.unix_timestamp();
        let threshold = (self.renewal_relative_time + 0.05).min(0.99);
        let due = start + ((end - start) as f64 * threshold) as i64;
        now >= due && now < end
    }

    /// Reads the CSR of an expired certificate secret and removes the secret.
    fn take_expired_secret(
        &self,
        model: &mut Model<'_>,
        id: &SecretId,
    ) -> Result<BTreeSet<Vec<u8>>, Error> {
        let content = match model.secret(&SecretLookup::Id(id.clone()), SecretRead::Refresh) {
            Ok(c) => c,
            Err(e) if is_secret_not_found(&e) => return Ok(BTreeSet::new()),
            Err(e) => return Err(e.into()),
        };
        let mut renew = BTreeSet::new();
        match content.get(labels::CSR_KEY).map(|p| Csr::from_pem(p)) {
            Some(Ok(csr)) => {
                renew.insert(csr.der().to_vec());
                model.log(
                    LogLevel::Info,
                    &format!(
                        "certificate secret expired; renewing the certificate for '{}'",
                        csr.subject()
                    ),
                )?;
            }
            _ => model.log(
                LogLevel::Warning,
                "an expired certificate secret holds no valid CSR; removing it",
            )?,
        }
        model.remove_secret(id, None)?;
        Ok(renew)
    }

    fn on_relation_broken(&self, model: &mut Model<'_>) -> Result<(), Error> {
        let leader = model.is_leader()?;
        let unit = unit_number(model);
        let endpoint = self.endpoint.as_str();
        let mut key_labels = Vec::new();
        let mut prefixes = Vec::new();
        for scope in [Scope::Unit, Scope::App] {
            if !self.mode.has(scope) || (scope == Scope::App && !leader) {
                continue;
            }
            key_labels.push(labels::private_key(scope, unit, endpoint));
            if scope == Scope::App {
                key_labels.push(labels::legacy_app_private_key(endpoint));
            }
            prefixes.push(labels::certificate_prefix(scope, unit, endpoint));
        }
        for label in key_labels {
            remove_by_label(model, &label)?;
        }
        for id in model.secret_ids()? {
            let info = match model.secret_info(&SecretLookup::Id(id.clone())) {
                Ok(info) => info,
                Err(e) if is_secret_not_found(&e) => continue,
                Err(e) => return Err(e.into()),
            };
            if info
                .label
                .as_deref()
                .is_some_and(|l| prefixes.iter().any(|p| l.starts_with(p)))
            {
                model.remove_secret(&id, None)?;
            }
        }
        model.log(
            LogLevel::Info,
            &format!(
                "relation on '{endpoint}' broken: removed its private keys and certificate secrets"
            ),
        )?;
        Ok(())
    }
}

/// One request entry of our own bag, with its parsed CSR (`None` when unreadable).
struct BagEntry {
    wire: RequestEntry,
    csr: Option<Csr>,
}

struct OwnBag {
    owner: BagOwner,
    entries: Vec<BagEntry>,
    changed: bool,
}

/// The provider's app bag, read once per hook.
#[derive(Default)]
struct ProviderData {
    /// Indexed, not parsed: only our own entries are deserialized.
    certificates: CertificateIndex,
    errors: Vec<RequestErrorEntry>,
    capabilities: Option<Capabilities>,
    errors_by_csr: BTreeMap<Vec<u8>, usize>,
}

impl ProviderData {
    fn certificate_for(&self, csr: &Csr) -> Option<CertificateEntry> {
        self.certificates.find(csr.pem(), csr.der())
    }

    fn error_for(&self, csr: &Csr) -> Option<&RequestErrorEntry> {
        self.errors_by_csr.get(csr.der()).map(|i| &self.errors[*i])
    }
}

/// The state of one hook's work on our relation.
struct Session<'r, 'm, 'a> {
    requirer: &'r TlsRequirer,
    model: &'m mut Model<'a>,
    relation: RelationId,
    provider_app: Option<AppName>,
    leader: bool,
    unit: u32,
    keys: BTreeMap<Scope, Arc<PrivateKey>>,
    warnings: Vec<Warning>,
}

impl<'r, 'm, 'a> Session<'r, 'm, 'a> {
    fn open(requirer: &'r TlsRequirer, model: &'m mut Model<'a>) -> Result<Option<Self>, Error> {
        let Some(relation) = model.relations(&requirer.endpoint)?.into_iter().next() else {
            return Ok(None);
        };
        let leader = model.is_leader()?;
        let unit = unit_number(model);
        Ok(Some(Self {
            requirer,
            model,
            relation: relation.id,
            provider_app: relation.remote_app,
            leader,
            unit,
            keys: BTreeMap::new(),
            warnings: Vec::new(),
        }))
    }

    fn scopes(&self) -> Vec<Scope> {
        [Scope::Unit, Scope::App]
            .into_iter()
            .filter(|s| self.requirer.mode.has(*s) && (*s == Scope::Unit || self.leader))
            .collect()
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        let _ = self.model.log(level, message);
    }

    fn flush_warnings(&mut self) {
        for w in std::mem::take(&mut self.warnings) {
            let _ = self.model.log(
                LogLevel::Warning,
                &format!("skipping bad relation data: {w}"),
            );
        }
    }

    fn endpoint(&self) -> &str {
        self.requirer.endpoint.as_str()
    }

    /// The key of `scope`: the charm's, the stored one (migrating the legacy APP label), or a
    /// new one stored in a secret.
    fn key(&mut self, scope: Scope) -> Result<Arc<PrivateKey>, Error> {
        if let Some(k) = self.keys.get(&scope) {
            return Ok(k.clone());
        }
        let key = if let Some(pem) = &self.requirer.supplied_key {
            PrivateKey::from_pem(pem)?
        } else {
            let label = labels::private_key(scope, self.unit, self.endpoint());
            match read_key_secret(self.model, &label)? {
                Some(k) => k,
                None => {
                    let migrated = if scope == Scope::App {
                        self.migrate_legacy_app_key()?
                    } else {
                        None
                    };
                    match migrated {
                        Some(k) => k,
                        None => {
                            let k = PrivateKey::generate(self.requirer.key_algorithm)?;
                            self.store_key(scope, &k)?;
                            crate::security_log::log(
                                self.model,
                                SecurityEvent {
                                    level: LogLevel::Info,
                                    event: "private_key_generated",
                                    description: "Private key generated",
                                    labels: vec![("key_size", k.algorithm().bits().to_string())],
                                },
                            );
                            k
                        }
                    }
                }
            }
        };
        let key = Arc::new(key);
        self.keys.insert(scope, key.clone());
        Ok(key)
    }

    fn migrate_legacy_app_key(&mut self) -> Result<Option<PrivateKey>, Error> {
        let legacy = labels::legacy_app_private_key(self.endpoint());
        let Some(key) = read_key_secret(self.model, &legacy)? else {
            return Ok(None);
        };
        self.store_key(Scope::App, &key)?;
        remove_by_label(self.model, &legacy)?;
        self.log(
            LogLevel::Info,
            &format!("migrated the APP private key from the legacy secret label {legacy}"),
        );
        Ok(Some(key))
    }

    fn store_key(&mut self, scope: Scope, key: &PrivateKey) -> Result<(), Error> {
        let label = labels::private_key(scope, self.unit, self.endpoint());
        let pem = key.to_traditional_pem()?;
        let content: SecretContent =
            BTreeMap::from([(labels::PRIVATE_KEY_KEY.to_owned(), pem.to_string())]);
        match self.model.secret_info(&SecretLookup::Label(label.clone())) {
            Ok(info) => {
                self.model.update_secret(
                    &info.id,
                    &SecretUpdate {
                        content: Some(content),
                        ..SecretUpdate::default()
                    },
                )?;
            }
            Err(e) if is_secret_not_found(&e) => {
                self.model.add_secret(&NewSecret {
                    content,
                    label: Some(label),
                    description: None,
                    expire: None,
                    rotate: None,
                    owner: owner_of(scope),
                })?;
            }
            Err(e) => return Err(e.into()),
        }
        self.keys.remove(&scope);
        Ok(())
    }

    fn load_bag(&mut self, scope: Scope) -> Result<OwnBag, Error> {
        let owner = match scope {
            Scope::Unit => self.model.own_unit_bag(),
            Scope::App => self.model.own_app_bag(),
        };
        let bag = self.model.relation_data(&self.relation, &owner)?;
        let location = format!(
            "relation {}, own {} bag, key {CSRS_KEY}",
            self.relation, owner
        );
        let wire: Vec<RequestEntry> = read_list(bag.get(CSRS_KEY), &location, &mut self.warnings);
        let mut changed = false;
        let entries = wire
            .into_iter()
            .map(|w| {
                let csr = Csr::from_pem(&w.certificate_signing_request).ok();
                if csr.is_none() {
                    changed = true;
                }
                BagEntry { wire: w, csr }
            })
            .collect();
        Ok(OwnBag {
            owner,
            entries,
            changed,
        })
    }

    fn write_bag(&mut self, bag: &OwnBag) -> Result<(), Error> {
        if !bag.changed {
            return Ok(());
        }
        let entries: Vec<&RequestEntry> = bag
            .entries
            .iter()
            .filter(|e| e.csr.is_some())
            .map(|e| &e.wire)
            .collect();
        // An empty list is written as an absent key, as the Python library does.
        let value = if entries.is_empty() {
            String::new()
        } else {
            to_python_json(&entries)
        };
        self.model
            .set_relation_data(&self.relation, &bag.owner, CSRS_KEY, &value)?;
        Ok(())
    }

    fn provider_data(&mut self) -> ProviderData {
        let Some(app) = self.provider_app.clone() else {
            return ProviderData::default();
        };
        let owner = BagOwner::App(app.clone());
        let bag = match self.model.relation_data(&self.relation, &owner) {
            Ok(b) => b,
            Err(e) => {
                self.log(
                    LogLevel::Warning,
                    &format!(
                        "cannot read the provider's data on relation {}: {e}",
                        self.relation
                    ),
                );
                return ProviderData::default();
            }
        };
        let at = |key: &str| format!("relation {}, app {app}, key {key}", self.relation);
        let certificates = CertificateIndex::new(
            Arc::clone(&bag),
            CERTIFICATES_KEY,
            &at(CERTIFICATES_KEY),
            &mut self.warnings,
        );
        let errors: Vec<RequestErrorEntry> = read_list(
            bag.get(REQUEST_ERRORS_KEY),
            &at(REQUEST_ERRORS_KEY),
            &mut self.warnings,
        );
        let capabilities = read_value(
            bag.get(CAPABILITIES_KEY),
            &at(CAPABILITIES_KEY),
            &mut self.warnings,
        );
        let errors_by_csr = errors
            .iter()
            .enumerate()
            .filter_map(|(i, e)| csr_der(&e.csr).map(|d| (d, i)))
            .collect();
        ProviderData {
            certificates,
            errors,
            capabilities,
            errors_by_csr,
        }
    }

    fn find_certificate_secret(
        &mut self,
        scope: Scope,
        csr: &Csr,
    ) -> Result<Option<SecretId>, Error> {
        let sha = labels::csr_sha256(&canonical_pem(csr));
        for label in [
            labels::certificate(scope, self.unit, self.endpoint(), &sha),
            labels::legacy_certificate(scope, self.unit, &sha),
        ] {
            match self.model.secret_info(&SecretLookup::Label(label)) {
                Ok(info) => return Ok(Some(info.id)),
                Err(e) if is_secret_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// Checks a certificate against our key and request, stores it, and says whether it is new.
    fn accept_certificate(
        &mut self,
        scope: Scope,
        csr: &Csr,
        is_ca: bool,
        entry: &CertificateEntry,
        key: &PrivateKey,
    ) -> Result<Option<CertificateAvailable>, Error> {
        let subject = csr.subject().to_string();
        let certificate = match Certificate::from_pem(&entry.certificate) {
            Ok(c) => c,
            Err(e) => {
                self.log(
                    LogLevel::Warning,
                    &format!("refusing the certificate for '{subject}': it does not parse: {e}"),
                );
                return Ok(None);
            }
        };
        if !certificate.matches_key(key) {
            self.log(
                LogLevel::Warning,
                &format!("refusing the certificate for '{subject}': it is not for our private key"),
            );
            return Ok(None);
        }
        let info = certificate.info();
        if info.is_ca != is_ca {
            let (asked, got) = if is_ca {
                ("a CA", "a leaf")
            } else {
                ("a leaf", "a CA")
            };
            self.log(LogLevel::Warning, &format!("refusing the certificate for '{subject}': {asked} certificate was requested, the provider sent {got}"));
            return Ok(None);
        }
        if info.subject.common_name() != csr.subject().common_name()
            || info.sans.dns != csr.sans().dns
            || info.sans.ip != csr.sans().ip
        {
            self.log(LogLevel::Warning, &format!("refusing the certificate for '{subject}': its subject or SANs ({}; {}) differ from the request ({}; {})", info.subject, info.sans.to_strings().join(", "), csr.subject(), csr.sans().to_strings().join(", ")));
            return Ok(None);
        }
        self.warn_if_chain_broken(&certificate, entry, &subject);

        let now = self.model.now();
        let not_after = info.not_after.unix_timestamp();
        let expire =
            now + ((not_after - now).max(0) as f64 * self.requirer.renewal_relative_time) as i64;
        let cert_pem = certificate.pem().trim().to_owned();
        let content: SecretContent = BTreeMap::from([
            (labels::CERTIFICATE_KEY.to_owned(), cert_pem.clone()),
            (labels::CSR_KEY.to_owned(), canonical_pem(csr)),
        ]);
        match self.find_certificate_secret(scope, csr)? {
            Some(id) => {
                let current = self
                    .model
                    .secret(&SecretLookup::Id(id.clone()), SecretRead::Refresh)?;
                if current.get(labels::CERTIFICATE_KEY).map(|s| s.trim()) == Some(cert_pem.as_str())
                {
                    return Ok(None);
                }
                self.model.update_secret(
                    &id,
                    &SecretUpdate {
                        content: Some(content),
                        expire: Some(time_fmt::rfc3339(expire)),
                        ..SecretUpdate::default()
                    },
                )?;
            }
            None => {
                let sha = labels::csr_sha256(&canonical_pem(csr));
                self.model.add_secret(&NewSecret {
                    content,
                    label: Some(labels::certificate(scope, self.unit, self.endpoint(), &sha)),
                    description: None,
                    expire: Some(time_fmt::rfc3339(expire)),
                    rotate: None,
                    owner: owner_of(scope),
                })?;
            }
        }
        self.log(
            LogLevel::Info,
            &format!(
                "certificate for '{subject}' received (serial {}, valid until {}); renewal at {}",
                info.serial,
                time_fmt::rfc3339(not_after),
                time_fmt::rfc3339(expire)
            ),
        );
        Ok(Some(CertificateAvailable {
            scope,
            certificate_signing_request: csr.pem().to_owned(),
            certificate: entry.certificate.clone(),
            ca: entry.ca.clone(),
            chain: entry.chain.clone().unwrap_or_default(),
        }))
    }

    /// Verifies leaf -> chain -> `ca` as `pki verify` does (`rustls-webpki` judges, for TLS
    /// server or client use: unknown critical extensions, extended key usages, name
    /// constraints; a CA certificate, for a CA request, or a v1 certificate is walked by our own
    /// verifier, which webpki does not judge) and logs what is wrong, naming the known Python
    /// provider defects. The certificate is still accepted: the key and request match, and the
    /// workload may trust its real issuer by other means.
    fn warn_if_chain_broken(
        &mut self,
        certificate: &Certificate,
        entry: &CertificateEntry,
        subject: &str,
    ) {
        let at = time_fmt::at(self.model.now());
        let Ok(ca) = Certificate::from_pem(&entry.ca) else {
            self.log(
                LogLevel::Warning,
                &format!("the CA sent with the certificate for '{subject}' does not parse"),
            );
            return;
        };
        let chain: Vec<Certificate> = entry
            .chain
            .iter()
            .flatten()
            .filter_map(|p| Certificate::from_pem(p).ok())
            .collect();
        if let Some(first) = chain.first()
            && first.der() != certificate.der()
        {
            self.log(LogLevel::Warning, &format!("the chain sent for '{subject}' does not start with the certificate (expected leaf first)"));
        }
        let intermediates: Vec<Certificate> = chain
            .into_iter()
            .filter(|c| c.der() != certificate.der() && c.der() != ca.der())
            .collect();
        if let Err(e) =
            pki::chain::verify_for_usage(certificate, &intermediates, &ca, at, Usage::Any)
        {
            let hint = if certificate.info().issuer.der() == ca.info().issuer.der()
                && !ca.is_self_issued()
            {
                " (the certificate's issuer is the CA's own issuer: the Python provider helper's intermediate-CA defect)"
            } else {
                ""
            };
            self.log(LogLevel::Warning, &format!("the certificate for '{subject}' does not chain to the CA it came with: {e}{hint}"));
        }
    }
}

fn owner_of(scope: Scope) -> SecretOwner {
    match scope {
        Scope::Unit => SecretOwner::Unit,
        Scope::App => SecretOwner::Application,
    }
}

/// The CSR as the Python library prints it: PEM re-encoded from DER, stripped. Labels hash this.
fn canonical_pem(csr: &Csr) -> String {
    pki::pem::encode("CERTIFICATE REQUEST", csr.der())
        .trim()
        .to_owned()
}

fn unit_number(model: &Model<'_>) -> u32 {
    model.unit().number()
}

fn read_key_secret(model: &mut Model<'_>, label: &str) -> Result<Option<PrivateKey>, Error> {
    let content = match model.secret(&SecretLookup::Label(label.to_owned()), SecretRead::Refresh) {
        Ok(c) => c,
        Err(e) if is_secret_not_found(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let pem = content.get(labels::PRIVATE_KEY_KEY).ok_or_else(|| {
        Error::State(format!(
            "secret {label} has no '{}' key",
            labels::PRIVATE_KEY_KEY
        ))
    })?;
    PrivateKey::from_pem(pem).map(Some).map_err(|e| {
        Error::State(format!(
            "secret {label} does not hold a usable private key: {e}"
        ))
    })
}

fn remove_by_label(model: &mut Model<'_>, label: &str) -> Result<(), Error> {
    match model.secret_info(&SecretLookup::Label(label.to_owned())) {
        Ok(info) => Ok(model.remove_secret(&info.id, None)?),
        Err(e) if is_secret_not_found(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
