//! What a requirer charm asks without changing anything: its keys and their secrets, the
//! certificate of one request or of a scope, the requests it sent, the provider's certificates,
//! errors and capabilities. Reads only (a bad entry from the provider is logged and skipped).

use charm::{BagOwner, Model, SecretId, SecretLookup};
use pki::{Csr, PrivateKey};

use super::observe::Context;
use super::{AssignedCertificate, CertificateRequest, Scope, TlsRequirer, keys, plan};
use crate::error::{Error, is_secret_not_found};
use crate::labels;
use crate::provider::RequirerRequest;
use crate::request_error::RequestError;
use crate::wire::tls_certificates::{CapabilitiesState, CertificateEntry};

impl TlsRequirer {
    /// The private key of `scope`, when this unit may see it (the APP key: the leader only).
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
        let label = labels::private_key(scope, model.unit().number(), self.endpoint.as_str());
        keys::read(model, &label)
    }

    /// The id of the Juju secret holding the key of `scope`: `None` when the charm supplies the
    /// key, when none was made yet, or for the APP key on a non-leader. The Python library's
    /// `get_private_key_secret_id`. Treat the id as sensitive metadata (do not log it), and
    /// never change the secret: the library owns it.
    ///
    /// Never grant this secret to another application: that hands it the private key.
    ///
    /// ```rust,ignore
    /// // e.g. tell the workload which secret to watch for key rotations (same unit only)
    /// let watched = tls.private_key_secret_id(model, Scope::Unit)?;
    /// ```
    pub fn private_key_secret_id(
        &self,
        model: &mut Model<'_>,
        scope: Scope,
    ) -> Result<Option<SecretId>, Error> {
        if self.supplied_key.is_some() || !self.mode.has(scope) {
            return Ok(None);
        }
        if scope == Scope::App && !model.is_leader()? {
            return Ok(None);
        }
        let label = labels::private_key(scope, model.unit().number(), self.endpoint.as_str());
        match model.secret_info(&SecretLookup::Label(label)) {
            Ok(info) => Ok(Some(info.id)),
            Err(e) if is_secret_not_found(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Certificates the provider assigned to our current requests of `scope`, each checked
    /// against our key (revoked ones left out).
    pub fn assigned_certificates(
        &self,
        model: &mut Model<'_>,
        scope: Scope,
    ) -> Result<Vec<AssignedCertificate>, Error> {
        let Some(mut cx) = Context::open(self, model)? else {
            return Ok(Vec::new());
        };
        if !cx.scopes(self.mode).contains(&scope) {
            return Ok(Vec::new());
        }
        // Read only: a key not made yet has no certificate, so none is made here.
        let key = cx.key(self, scope)?;
        let provider = cx.provider_data();
        let bag = cx.own_bag(scope)?;
        let out = plan::assigned(scope, key.key(), &bag, &provider);
        cx.flush_warnings();
        Ok(out)
    }

    /// The certificate assigned to one request, with the key it was made for: the Python
    /// library's `get_assigned_certificate`. `None` until the provider answered (or when the
    /// request is not in our bag, or is for the APP scope on a non-leader).
    ///
    /// ```rust,ignore
    /// let request = CertificateRequest::leaf(pki::RequestAttributes::new("db.example"));
    /// if let Some((assigned, key)) = tls.assigned_certificate(model, &request)? {
    ///     write_files(&assigned.certificate, &assigned.chain, &key)?;
    /// }
    /// ```
    pub fn assigned_certificate(
        &self,
        model: &mut Model<'_>,
        request: &CertificateRequest,
    ) -> Result<Option<(AssignedCertificate, PrivateKey)>, Error> {
        let Some(cx) = Context::open(self, model)? else {
            return Ok(None);
        };
        let scopes = cx.scopes(self.mode);
        drop(cx);
        for scope in scopes {
            let found = self
                .assigned_certificates(model, scope)?
                .into_iter()
                .find(|a| &a.request == request);
            if let Some(assigned) = found
                && let Some(key) = self.private_key(model, scope)?
            {
                return Ok(Some((assigned, key)));
            }
        }
        Ok(None)
    }

    /// The requests this unit sent (its unit bag, and on the leader the app bag, as the mode
    /// allows), CSRs parsed: the Python library's `get_csrs_from_requirer_relation_data`.
    /// Entries whose CSR does not parse are left out.
    pub fn requests_sent(&self, model: &mut Model<'_>) -> Result<Vec<RequirerRequest>, Error> {
        let Some(mut cx) = Context::open(self, model)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for scope in cx.scopes(self.mode) {
            let requester: BagOwner = cx.own_bag_owner(scope);
            for entry in cx.own_bag(scope)? {
                let Some(csr) = entry.csr else { continue };
                out.push(RequirerRequest {
                    relation: cx.relation.clone(),
                    requester: requester.clone(),
                    csr,
                    is_ca: entry.wire.ca.unwrap_or(false),
                });
            }
        }
        cx.flush_warnings();
        Ok(out)
    }

    /// Every certificate in the provider's databag (revoked ones included), tolerant of
    /// malformed entries.
    pub fn provider_certificates(
        &self,
        model: &mut Model<'_>,
    ) -> Result<Vec<CertificateEntry>, Error> {
        let Some(mut cx) = Context::open(self, model)? else {
            return Ok(Vec::new());
        };
        let data = cx.provider_data();
        cx.flush_warnings();
        Ok(data.certificates.all())
    }

    /// Every request error in the provider's databag (for any requirer of the relation, as the
    /// Python library's `get_request_errors` gives them); entries whose CSR does not parse are
    /// left out, as there.
    pub fn request_errors(&self, model: &mut Model<'_>) -> Result<Vec<RequestError>, Error> {
        let Some(mut cx) = Context::open(self, model)? else {
            return Ok(Vec::new());
        };
        let data = cx.provider_data();
        cx.flush_warnings();
        let relation = cx.relation.clone();
        Ok(data
            .errors()
            .iter()
            .filter(|e| Csr::from_pem(&e.csr).is_ok())
            .map(|e| RequestError {
                relation: relation.clone(),
                csr_pem: e.csr.trim().to_owned(),
                error: e.error.clone(),
            })
            .collect())
    }

    /// The provider's error for `csr` (compared by DER), if it refused it: the Python library's
    /// `get_request_error`.
    ///
    /// ```rust,ignore
    /// for sent in tls.requests_sent(model)? {
    ///     if let Some(e) = tls.request_error(model, &sent.csr)? {
    ///         model.set_unit_status(Status::blocked(format!("CA refused: {}", e.error.message)))?;
    ///     }
    /// }
    /// ```
    pub fn request_error(
        &self,
        model: &mut Model<'_>,
        csr: &Csr,
    ) -> Result<Option<RequestError>, Error> {
        let Some(mut cx) = Context::open(self, model)? else {
            return Ok(None);
        };
        let data = cx.provider_data();
        cx.flush_warnings();
        Ok(data.error_for(csr).map(|e| RequestError {
            relation: cx.relation.clone(),
            csr_pem: e.csr.trim().to_owned(),
            error: e.error.clone(),
        }))
    }

    /// What the provider advertised, keeping "not yet advertised" apart from "unsupported".
    pub fn provider_capabilities(&self, model: &mut Model<'_>) -> Result<CapabilitiesState, Error> {
        let Some(mut cx) = Context::open(self, model)? else {
            return Ok(CapabilitiesState::NotAdvertised);
        };
        let data = cx.provider_data();
        cx.flush_warnings();
        Ok(match data.capabilities {
            Some(c) => CapabilitiesState::Advertised(c),
            None => CapabilitiesState::NotAdvertised,
        })
    }
}
