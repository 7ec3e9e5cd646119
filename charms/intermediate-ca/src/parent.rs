//! The CA certificate, from the provider on `parent-ca`: the application's one CA request,
//! checked before anything is signed with it (a CA, made for our key, with a chain that links
//! and verifies now).
//!
//! Renewal makes a new key: an RSA CSR for the same key and subject is the same bytes (PKCS#1
//! v1.5 signatures are deterministic), and a provider that already answered those bytes answers
//! nothing new. A new key per CA certificate is also what CAs should do anyway.

use charm::{Endpoint, Model};
use pki::{Certificate, CertificateAuthority, RequestAttributes};
use time::{Duration, OffsetDateTime};
use tls_interfaces::{CertificateRequest, Mode, Scope, TlsRequirer};

use crate::config::Config;

/// The endpoint the CA certificate comes from.
pub const PARENT: &str = "parent-ca";

/// The CA request: the configured subject, no random unique id (the subject stays the same
/// across renewals, so issuers of old and new leaves read alike).
pub fn request(config: &Config) -> CertificateRequest {
    let attributes = RequestAttributes {
        add_unique_id_to_subject_name: false,
        ..config.ca.subject.clone()
    };
    CertificateRequest {
        attributes,
        is_ca: true,
    }
}

/// How long before its expiry the CA renews: what it issues lives `certificate-validity`, plus
/// a tenth (at least an hour) for the parent to answer. [`Issuing::renew_at`] caps it at half
/// the CA's life.
pub fn renewal_margin(config: &Config) -> Duration {
    let validity = config.ca.certificate_validity;
    let slack: Duration = validity / 10;
    validity + slack.max(Duration::hours(1))
}

/// The requirer on `parent-ca`. Its own renewal (secret expiry) is set to the margin too, so
/// Juju wakes the leader when the CA is due.
pub fn requirer(endpoint: Endpoint, config: &Config) -> Result<TlsRequirer, tls_interfaces::Error> {
    TlsRequirer::new(endpoint, Mode::App)
        .with_key_algorithm(config.ca.key_algorithm)
        .with_renewal_before_expiry(renewal_margin(config))
        .with_request(Scope::App, request(config))
}

/// A CA ready to sign.
pub struct Issuing {
    /// Our CA certificate and key.
    pub ca: CertificateAuthority,
    /// Its issuers, from the parent up to the root.
    pub issuers: Vec<Certificate>,
    /// The CSR it answers (PEM).
    pub csr: String,
}

impl Issuing {
    /// The top of the chain: the trust anchor clients are asked to trust.
    pub fn root(&self) -> &Certificate {
        self.issuers.last().unwrap_or(self.ca.certificate())
    }

    /// When to renew: `margin` before expiry, but not before half the CA's life, and not
    /// after nine tenths of it (the requirer library's own renewal time, whose secret expiry
    /// wakes us: renewing later would leave that wake-up retrying).
    pub fn renew_at(&self, margin: Duration) -> OffsetDateTime {
        let info = self.ca.certificate().info();
        let life = info.not_after - info.not_before;
        info.not_after - margin.min(life / 2).max(life / 10)
    }
}

/// Where the CA stands.
pub enum Standing {
    /// No `parent-ca` relation.
    NoRelation,
    /// Asked, not answered yet.
    Waiting,
    /// The parent refused the request (its message).
    Refused(String),
    /// The parent answered with something we cannot sign with (why).
    Unusable(String),
    /// Ready.
    Ready(Box<Issuing>),
}

/// Reads and checks what the parent sent for our request.
pub fn standing(
    requirer: &TlsRequirer,
    config: &Config,
    model: &mut Model<'_>,
    at: OffsetDateTime,
) -> Result<Standing, tls_interfaces::Error> {
    if model.relations(requirer.endpoint())?.is_empty() {
        return Ok(Standing::NoRelation);
    }
    let wanted = request(config);
    let Some((assigned, key)) = requirer.assigned_certificate(model, &wanted)? else {
        let errors = requirer.request_errors(model)?;
        return Ok(match errors.into_iter().next() {
            Some(e) => Standing::Refused(e.error.message),
            None => Standing::Waiting,
        });
    };
    let ca = match CertificateAuthority::new(assigned.certificate.clone(), key) {
        Ok(ca) => ca,
        Err(e) => {
            return Ok(Standing::Unusable(format!(
                "{e}; the provider must honour CA requests (self-signed-certificates: allow-ca-requests=true)"
            )));
        }
    };
    let issuers = match issuers(&assigned.certificate, &assigned.chain, &assigned.ca, at) {
        Ok(i) => i,
        Err(problem) => return Ok(Standing::Unusable(problem)),
    };
    Ok(Standing::Ready(Box::new(Issuing {
        ca,
        issuers,
        csr: assigned.csr,
    })))
}

/// The issuers of `cert` from the chain and CA the parent sent (any order; duplicates and
/// `cert` itself dropped), checked to link up to the top one and verify at `at`.
fn issuers(
    cert: &Certificate,
    chain: &[String],
    ca: &str,
    at: OffsetDateTime,
) -> Result<Vec<Certificate>, String> {
    let mut all: Vec<Certificate> = vec![cert.clone()];
    for pem in chain.iter().map(String::as_str).chain(Some(ca)) {
        let c = Certificate::from_pem(pem).map_err(|e| {
            format!("the chain from the provider has an unreadable certificate: {e}")
        })?;
        if !all.iter().any(|a| a.der() == c.der()) {
            all.push(c);
        }
    }
    let ordered = pki::chain::order(&all)
        .map_err(|e| format!("the chain from the provider does not link: {e}"))?;
    if ordered.first().map(Certificate::der) != Some(cert.der()) {
        return Err("the chain from the provider does not start at our CA certificate".into());
    }
    let issuers = ordered[1..].to_vec();
    let Some(top) = issuers.last() else {
        return Err("the provider sent no issuer of our CA certificate (no chain, no CA)".into());
    };
    pki::chain::verify(cert, &issuers, top, at)
        .map_err(|e| format!("the chain from the provider does not verify now: {e}"))?;
    Ok(issuers)
}
