//! What a hook sees, read into the planner's input: our relation, leadership, the provider's
//! app bag, our own bags, our keys and the certificate secrets of our CSRs. Reads only; the
//! one exception is logging (and collecting) warnings about bad relation data.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use charm::{
    AppName, BagOwner, Databag, LogLevel, Model, RelationId, SecretId, SecretLookup, SecretRead,
};
use pki::{Csr, PrivateKey};

use super::plan::{BagEntry, CertificateSecret, KeySource, Observation, ScopeObservation};
use super::{Mode, Scope, TlsRequirer, canonical_pem, keys};
use crate::error::{Error, is_secret_not_found};
use crate::labels;
use crate::wire::certificate_index::CertificateIndex;
use crate::wire::tls_certificates::{
    CAPABILITIES_KEY, CERTIFICATES_KEY, CSRS_KEY, Capabilities, CertificateEntry,
    REQUEST_ERRORS_KEY, RequestEntry, RequestErrorEntry,
};
use crate::wire::{Warning, csr_der, read_list, read_value};

/// The provider's app bag, read once per hook.
#[derive(Default)]
pub(crate) struct ProviderData {
    /// Indexed, not parsed: only our own entries are deserialized.
    pub(crate) certificates: CertificateIndex,
    errors: Vec<RequestErrorEntry>,
    pub(crate) capabilities: Option<Capabilities>,
    errors_by_csr: BTreeMap<Vec<u8>, usize>,
}

impl ProviderData {
    /// Reads the provider's app `bag` on `relation` (its app is `app`); malformed entries
    /// become `warnings`.
    pub(crate) fn read(
        relation: &RelationId,
        app: &AppName,
        bag: Arc<Databag>,
        warnings: &mut Vec<Warning>,
    ) -> Self {
        let at = |key: &str| format!("relation {relation}, app {app}, key {key}");
        let certificates = CertificateIndex::new(
            Arc::clone(&bag),
            CERTIFICATES_KEY,
            &at(CERTIFICATES_KEY),
            warnings,
        );
        let errors: Vec<RequestErrorEntry> = read_list(
            bag.get(REQUEST_ERRORS_KEY),
            &at(REQUEST_ERRORS_KEY),
            warnings,
        );
        let capabilities = read_value(bag.get(CAPABILITIES_KEY), &at(CAPABILITIES_KEY), warnings);
        let errors_by_csr = errors
            .iter()
            .enumerate()
            .filter_map(|(i, e)| csr_der(&e.csr).map(|d| (d, i)))
            .collect();
        Self {
            certificates,
            errors,
            capabilities,
            errors_by_csr,
        }
    }

    /// The provider's capabilities alone (the value of its `capabilities` key), for a hook
    /// with none of our CSRs on the relation: certificates and errors only answer CSRs.
    pub(crate) fn capabilities_only(
        relation: &RelationId,
        app: &AppName,
        value: Option<String>,
        warnings: &mut Vec<Warning>,
    ) -> Self {
        let at = format!("relation {relation}, app {app}, key {CAPABILITIES_KEY}");
        Self {
            capabilities: read_value(value.as_ref(), &at, warnings),
            ..Self::default()
        }
    }

    /// The provider's certificate entry for `csr` (revoked or not).
    pub(crate) fn certificate_for(&self, csr: &Csr) -> Option<CertificateEntry> {
        self.certificates.find(csr.pem(), csr.der())
    }

    /// Every request error the provider published (well-formed entries only).
    pub(crate) fn errors(&self) -> &[RequestErrorEntry] {
        &self.errors
    }

    /// The provider's refusal of `csr`.
    pub(crate) fn error_for(&self, csr: &Csr) -> Option<&RequestErrorEntry> {
        self.errors_by_csr.get(csr.der()).map(|i| &self.errors[*i])
    }
}

/// The relation one hook works on, and the model to read (and, in `apply`, write) it through.
pub(super) struct Context<'m, 'a> {
    pub(super) model: &'m mut Model<'a>,
    pub(super) relation: RelationId,
    provider_app: Option<AppName>,
    leader: bool,
    pub(super) unit: u32,
    endpoint: String,
    warnings: Vec<Warning>,
}

impl<'m, 'a> Context<'m, 'a> {
    /// The context of `requirer`'s relation; `None` when the endpoint has no relation.
    pub(super) fn open(
        requirer: &TlsRequirer,
        model: &'m mut Model<'a>,
    ) -> Result<Option<Self>, Error> {
        let Some(relation) = model.relations(&requirer.endpoint)?.into_iter().next() else {
            return Ok(None);
        };
        let leader = model.is_leader()?;
        let unit = model.unit().number();
        Ok(Some(Self {
            model,
            relation: relation.id,
            provider_app: relation.remote_app,
            leader,
            unit,
            endpoint: requirer.endpoint.as_str().to_owned(),
            warnings: Vec::new(),
        }))
    }

    /// The scopes this unit manages: UNIT always, APP on the leader, as `mode` allows.
    pub(super) fn scopes(&self, mode: Mode) -> Vec<Scope> {
        [Scope::Unit, Scope::App]
            .into_iter()
            .filter(|s| mode.has(*s) && (*s == Scope::Unit || self.leader))
            .collect()
    }

    /// Logs; a logging failure never fails the hook.
    pub(super) fn log(&mut self, level: LogLevel, message: &str) {
        let _ = self.model.log(level, message);
    }

    /// Logs the warnings about bad relation data collected while reading.
    pub(super) fn flush_warnings(&mut self) {
        for w in std::mem::take(&mut self.warnings) {
            self.log(
                LogLevel::Warning,
                &format!("skipping bad relation data: {w}"),
            );
        }
    }

    /// Everything the planner needs for `requirer` in this hook; `renew` holds the DER of CSRs
    /// the hook was asked to replace.
    pub(super) fn observe(
        &mut self,
        requirer: &TlsRequirer,
        renew: &BTreeSet<Vec<u8>>,
    ) -> Result<Observation, Error> {
        let mut own = Vec::new();
        for scope in self.scopes(requirer.mode) {
            own.push((scope, self.own_bag(scope)?));
        }
        // Before our first CSR (relation-created, a new unit) nothing in the provider's bag
        // but its capabilities concerns us: the rest, megabytes at a thousand units, is not read.
        let provider = if own.iter().any(|(_, bag)| !bag.is_empty()) {
            self.provider_data()
        } else {
            self.provider_capabilities()
        };
        let wanted = requirer.wanted(provider.capabilities.as_ref())?;
        let now = self.model.now();
        let mut scopes = Vec::new();
        for (scope, bag) in own {
            let key = self.key(requirer, scope)?;
            let secrets = self.certificate_secrets(scope, &bag, &provider)?;
            scopes.push(ScopeObservation {
                scope,
                wanted: wanted
                    .iter()
                    .filter(|(s, _)| *s == scope)
                    .map(|(_, r)| r.clone())
                    .collect(),
                key,
                bag,
                secrets,
            });
        }
        Ok(Observation {
            now,
            unit: self.unit,
            endpoint: self.endpoint.clone(),
            renewal: requirer.renewal,
            renew: renew.clone(),
            provider,
            scopes,
        })
    }

    /// The key of `scope`: the charm's, the stored one, the one under the legacy APP label, or
    /// none yet.
    pub(super) fn key(&mut self, requirer: &TlsRequirer, scope: Scope) -> Result<KeySource, Error> {
        if let Some(pem) = &requirer.supplied_key {
            return Ok(KeySource::Held(Arc::new(PrivateKey::from_pem(pem)?)));
        }
        let label = labels::private_key(scope, self.unit, &self.endpoint);
        if let Some(key) = keys::read(self.model, &label)? {
            return Ok(KeySource::Held(Arc::new(key)));
        }
        if scope == Scope::App {
            let legacy = labels::legacy_app_private_key(&self.endpoint);
            if let Some(key) = keys::read(self.model, &legacy)? {
                return Ok(KeySource::Legacy(Arc::new(key)));
            }
        }
        Ok(KeySource::Missing)
    }

    /// Our own bag of `scope`: each request entry with its CSR parsed (`None` when unreadable).
    pub(super) fn own_bag(&mut self, scope: Scope) -> Result<Vec<BagEntry>, Error> {
        let owner = self.own_bag_owner(scope);
        let bag = self.model.relation_data(&self.relation, &owner)?;
        let location = format!(
            "relation {}, own {} bag, key {CSRS_KEY}",
            self.relation, owner
        );
        let wire: Vec<RequestEntry> = read_list(bag.get(CSRS_KEY), &location, &mut self.warnings);
        Ok(wire
            .into_iter()
            .map(|w| BagEntry {
                csr: Csr::from_pem(&w.certificate_signing_request).ok(),
                wire: w,
            })
            .collect())
    }

    pub(super) fn own_bag_owner(&self, scope: Scope) -> BagOwner {
        match scope {
            Scope::Unit => self.model.own_unit_bag(),
            Scope::App => self.model.own_app_bag(),
        }
    }

    /// The provider's app bag; empty (with a logged warning) when it cannot be read.
    pub(super) fn provider_data(&mut self) -> ProviderData {
        let Some(app) = self.provider_app.clone() else {
            return ProviderData::default();
        };
        let owner = BagOwner::App(app.clone());
        match self.model.relation_data(&self.relation, &owner) {
            Ok(bag) => ProviderData::read(&self.relation, &app, bag, &mut self.warnings),
            Err(e) => {
                let message = format!(
                    "cannot read the provider's data on relation {}: {e}",
                    self.relation
                );
                self.log(LogLevel::Warning, &message);
                ProviderData::default()
            }
        }
    }

    /// The provider's capabilities alone ([`ProviderData::capabilities_only`]); none (with a
    /// logged warning) when they cannot be read.
    fn provider_capabilities(&mut self) -> ProviderData {
        let Some(app) = self.provider_app.clone() else {
            return ProviderData::default();
        };
        let owner = BagOwner::App(app.clone());
        match self
            .model
            .relation_value(&self.relation, &owner, CAPABILITIES_KEY)
        {
            Ok(value) => {
                ProviderData::capabilities_only(&self.relation, &app, value, &mut self.warnings)
            }
            Err(e) => {
                let message = format!(
                    "cannot read the provider's data on relation {}: {e}",
                    self.relation
                );
                self.log(LogLevel::Warning, &message);
                ProviderData::default()
            }
        }
    }

    /// The secret holding the certificate for `csr`, under the current or the legacy label.
    pub(super) fn certificate_secret_id(
        &mut self,
        scope: Scope,
        csr: &Csr,
    ) -> Result<Option<SecretId>, Error> {
        let sha = labels::csr_sha256(&canonical_pem(csr));
        for label in [
            labels::certificate(scope, self.unit, &self.endpoint, &sha),
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

    /// The certificate secrets of the CSRs in `bag` the provider answered, by CSR DER: the id,
    /// and the stored certificate unless the provider revoked it (then only the id is needed).
    fn certificate_secrets(
        &mut self,
        scope: Scope,
        bag: &[BagEntry],
        provider: &ProviderData,
    ) -> Result<BTreeMap<Vec<u8>, CertificateSecret>, Error> {
        let mut out = BTreeMap::new();
        for entry in bag {
            let Some(csr) = &entry.csr else { continue };
            let Some(answer) = provider.certificate_for(csr) else {
                continue;
            };
            let Some(id) = self.certificate_secret_id(scope, csr)? else {
                continue;
            };
            let certificate = if answer.revoked == Some(true) {
                None
            } else {
                self.model
                    .secret(&SecretLookup::Id(id.clone()), SecretRead::Refresh)?
                    .get(labels::CERTIFICATE_KEY)
                    .cloned()
            };
            out.insert(csr.der().to_vec(), CertificateSecret { id, certificate });
        }
        Ok(out)
    }
}
