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
//!
//! A hook is three steps: `observe` reads what the hook sees (the bags, our keys and
//! certificate secrets, the clock) into an [`plan::Observation`]; `plan` decides, as a pure
//! function, what to do about it (a [`plan::Plan`] over each request's [`plan::RequestState`]);
//! `apply` does it (secrets, one write per bag, logs) and returns the events. `keys` keeps the
//! private key secrets (and migrates the legacy APP label), `accept` judges a certificate the
//! provider sent (and diagnoses its chain), `lifecycle` handles relation-broken and secret
//! events.

mod accept;
mod apply;
mod keys;
mod lifecycle;
mod observe;
mod plan;
#[cfg(test)]
mod plan_tests;
mod queries;

use std::collections::BTreeSet;
use std::sync::Arc;

use charm::{CustomEvent, Endpoint, Event, Model};
use pki::{Certificate, Csr, KeyAlgorithm, PrivateKey, RequestAttributes};
use serde::Serialize;

use crate::error::{Error, Misuse};
use crate::labels;
use crate::wire::tls_certificates::{Capabilities, ErrorBody};

use observe::Context;

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

    /// Whether the request names something: a common name or at least one DNS, IP or OID
    /// subject alternative name (the Python library's `CertificateRequestAttributes.is_valid`;
    /// its constructor refuses the others, and [`TlsRequirer::with_request`] does too).
    ///
    /// ```
    /// use juju_tls_interfaces::CertificateRequest;
    /// assert!(CertificateRequest::leaf(pki::RequestAttributes::new("db.example")).is_valid());
    /// assert!(!CertificateRequest::leaf(pki::RequestAttributes::default()).is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        let a = &self.attributes;
        a.common_name.as_deref().is_some_and(|cn| !cn.is_empty())
            || !a.sans.dns.is_empty()
            || !a.sans.ip.is_empty()
            || !a.sans.oid.is_empty()
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

impl CertificateAvailable {
    /// The chain as one PEM text, certificates separated by a blank line: the Python
    /// library's `chain_as_pem()`, ready for a web server's certificate file.
    pub fn chain_pem(&self) -> String {
        join_pem(&self.chain)
    }
}

/// PEM texts joined by a blank line, as the Python library's `chain_as_pem()` joins them.
fn join_pem(chain: &[String]) -> String {
    chain
        .iter()
        .map(|c| c.trim())
        .collect::<Vec<_>>()
        .join("\n\n")
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

impl AssignedCertificate {
    /// The chain as one PEM text (see [`CertificateAvailable::chain_pem`]).
    pub fn chain_pem(&self) -> String {
        join_pem(&self.chain)
    }
}

/// The requirer side of one `tls-certificates` endpoint.
#[derive(Debug, Clone)]
pub struct TlsRequirer {
    endpoint: Endpoint,
    mode: Mode,
    requests: Vec<(Scope, CertificateRequest)>,
    key_algorithm: KeyAlgorithm,
    renewal: accept::Renewal,
    supplied_key: Option<String>,
    requests_from: Option<RequestsFn>,
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
            renewal: accept::Renewal::default(),
            supplied_key: None,
            requests_from: None,
        }
    }

    /// Adds a wanted certificate for `scope`. Requests are evaluated on each hook, so a charm
    /// can rebuild the requirer with its current addresses every time.
    pub fn with_request(
        mut self,
        scope: Scope,
        request: CertificateRequest,
    ) -> Result<Self, Error> {
        check_request(self.mode, &self.requests, scope, &request)?;
        self.requests.push((scope, request));
        Ok(self)
    }

    /// Adds requests computed on every hook from what the provider advertised (`None`: not
    /// advertised yet), besides those of [`Self::with_request`]: the Python library's callable
    /// `certificate_requests`. Keep the function a pure read; a request it stops returning is
    /// withdrawn, so gating churn is the charm's job, as there.
    ///
    /// ```rust,ignore
    /// let tls = TlsRequirer::new("certificates".parse()?, Mode::Unit).with_requests_from(|caps| {
    ///     let mut wanted = pki::RequestAttributes::new("db.example");
    ///     if caps.is_some_and(|c| c.supports_ip_sans == Some(true)) {
    ///         let _ = wanted.sans.push_str("IP:10.0.0.5");
    ///     }
    ///     vec![(Scope::Unit, CertificateRequest::leaf(wanted))]
    /// });
    /// ```
    pub fn with_requests_from(
        mut self,
        requests: impl Fn(Option<&Capabilities>) -> Vec<(Scope, CertificateRequest)>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.requests_from = Some(RequestsFn(Arc::new(requests)));
        self
    }

    /// Every wanted request: the fixed ones, then those computed from `capabilities`, each
    /// checked as [`Self::with_request`] checks them.
    fn wanted(
        &self,
        capabilities: Option<&Capabilities>,
    ) -> Result<Vec<(Scope, CertificateRequest)>, Error> {
        let mut all = self.requests.clone();
        if let Some(f) = &self.requests_from {
            for (scope, request) in (f.0)(capabilities) {
                check_request(self.mode, &all, scope, &request)?;
                if !all.iter().any(|(s, r)| *s == scope && r == &request) {
                    all.push((scope, request));
                }
            }
        }
        Ok(all)
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
            return Err(Misuse::RenewalRelativeTime(fraction).into());
        }
        self.renewal.fraction = fraction;
        Ok(self)
    }

    /// Renews at the latest `margin` before a certificate expires (and at the fraction of
    /// [`TlsRequirer::with_renewal_relative_time`] if that comes first). For a CA that must
    /// renew while its remaining validity still exceeds that of what it signs; the Python
    /// library has no equivalent. The margin is capped at half the time the certificate has
    /// left when it arrives, so a margin longer than its life never renews at once.
    pub fn with_renewal_before_expiry(mut self, margin: time::Duration) -> Self {
        self.renewal.before_expiry = Some(margin.whole_seconds().max(0));
        self
    }

    /// Stores `key` as the key of `scope` (every scope this unit manages when `None`: the APP
    /// key on the leader only) in the library's secret, replacing the current one, and replaces
    /// the CSRs made with the old key: the Python library's `import_private_key`. From then on
    /// the key is managed as a generated one (kept across hooks and leader changes, removed
    /// when the relation goes). Unlike the Python library, a key is imported also before the
    /// library made one (there it is silently ignored); it needs the relation, though (the key
    /// secret belongs to it): without one, or for the APP key on a non-leader, it is an error,
    /// not a silent no-op.
    ///
    /// ```rust,ignore
    /// let key = pki::PrivateKey::from_pem(&pem_from_operator)?;
    /// tls.import_private_key(model, &key, Some(Scope::App))?;
    /// ```
    pub fn import_private_key(
        &self,
        model: &mut Model<'_>,
        key: &PrivateKey,
        scope: Option<Scope>,
    ) -> Result<Vec<RequirerEvent>, Error> {
        self.replace_private_key(model, scope, Some(key))
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
    /// `secret-expired` of one of our certificate secrets, does nothing on `relation-joined` of
    /// our endpoint, and otherwise reconciles.
    ///
    /// `relation-joined` is skipped because Juju always follows a unit's `relation-joined` with
    /// its `relation-changed`, which sees the same bags or newer ones; the Python library does
    /// not observe it either. Reconciling there read the provider's whole app bag (every
    /// certificate it issued) once more per unit (docs/performance.md, "Local model at scale").
    pub fn handle(
        &self,
        event: &Event,
        model: &mut Model<'_>,
    ) -> Result<Vec<RequirerEvent>, Error> {
        match event {
            Event::RelationJoined(e) if e.relation.endpoint() == &self.endpoint => Ok(Vec::new()),
            Event::RelationBroken(e) if e.relation.endpoint() == &self.endpoint => {
                lifecycle::relation_broken(self, model)?;
                Ok(Vec::new())
            }
            Event::SecretExpired(e) if e.label.as_deref().is_some_and(labels::is_certificate) => {
                let renew = lifecycle::take_expired_secret(model, &e.id)?;
                self.reconcile_with(model, &renew)
            }
            Event::SecretRemove(e)
                if e.label
                    .as_deref()
                    .is_some_and(|l| l.starts_with(labels::LIBID)) =>
            {
                if let Some(revision) = e.revision {
                    lifecycle::remove_revision(model, &e.id, revision)?;
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
        let Some(mut cx) = Context::open(self, model)? else {
            return Ok(Vec::new());
        };
        for scope in cx.scopes(self.mode) {
            if let Some(id) = cx.certificate_secret_id(scope, &csr)? {
                cx.model.remove_secret(&id, None)?;
            }
        }
        drop(cx);
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
        self.replace_private_key(model, scope, None)
    }

    /// Stores `key` (a new one when `None`) for `scope` (every managed scope when `None`),
    /// then reconciles.
    fn replace_private_key(
        &self,
        model: &mut Model<'_>,
        scope: Option<Scope>,
        key: Option<&PrivateKey>,
    ) -> Result<Vec<RequirerEvent>, Error> {
        if self.supplied_key.is_some() {
            return Err(Misuse::SuppliedKeyCannotBeReplaced.into());
        }
        if let Some(s) = scope
            && !self.mode.has(s)
        {
            return Err(Misuse::ScopeNotInMode {
                scope: s,
                mode: self.mode,
            }
            .into());
        }
        let Some(cx) = Context::open(self, model)? else {
            // An imported key must not be lost silently (the library would make its own).
            return match key {
                Some(_) => Err(Misuse::NoRelationYet(self.endpoint.clone()).into()),
                None => Ok(Vec::new()),
            };
        };
        let managed = cx.scopes(self.mode);
        if key.is_some() && scope.is_some_and(|s| !managed.contains(&s)) {
            return Err(Error::NotLeader("import the APP private key"));
        }
        for s in managed {
            if scope.is_none_or(|wanted| wanted == s) {
                match key {
                    Some(k) => keys::store(cx.model, s, cx.unit, self.endpoint.as_str(), k)?,
                    None => {
                        keys::generate(
                            cx.model,
                            s,
                            cx.unit,
                            self.endpoint.as_str(),
                            self.key_algorithm,
                        )?;
                    }
                }
            }
        }
        drop(cx);
        self.reconcile(model)
    }

    /// One hook's work: observe, plan, apply. `renew` holds the DER of CSRs to replace.
    fn reconcile_with(
        &self,
        model: &mut Model<'_>,
        renew: &BTreeSet<Vec<u8>>,
    ) -> Result<Vec<RequirerEvent>, Error> {
        let Some(mut cx) = Context::open(self, model)? else {
            return Ok(Vec::new());
        };
        let observation = cx.observe(self, renew)?;
        let plan = plan::plan(&observation);
        let events = apply::apply(&mut cx, self, plan)?;
        cx.flush_warnings();
        Ok(events)
    }
}

/// Refuses a request `requests` (already wanted, in `mode`) cannot take for `scope`.
fn check_request(
    mode: Mode,
    requests: &[(Scope, CertificateRequest)],
    scope: Scope,
    request: &CertificateRequest,
) -> Result<(), Error> {
    if !mode.has(scope) {
        return Err(Misuse::ScopeNotInMode { scope, mode }.into());
    }
    if !request.is_valid() {
        return Err(Misuse::EmptyRequest.into());
    }
    if requests.iter().any(|(s, r)| r == request && *s != scope) {
        return Err(Misuse::SameRequestInBothScopes.into());
    }
    Ok(())
}

/// A charm's function computing requests from the provider's capabilities.
#[derive(Clone)]
struct RequestsFn(Arc<RequestsFnInner>);

type RequestsFnInner =
    dyn Fn(Option<&Capabilities>) -> Vec<(Scope, CertificateRequest)> + Send + Sync;

impl std::fmt::Debug for RequestsFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestsFn(..)")
    }
}

/// The CSR as the Python library prints it: PEM re-encoded from DER, stripped. Labels hash this.
fn canonical_pem(csr: &Csr) -> String {
    pki::pem::encode("CERTIFICATE REQUEST", csr.der())
        .trim()
        .to_owned()
}
