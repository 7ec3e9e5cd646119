//! The intermediate-ca charm: a CA whose own certificate comes from another `tls-certificates`
//! provider on `parent-ca` (a root, a CA a person signed, or another intermediate). It signs
//! requirers' CSRs on `certificates` under a Vault-like signing policy, sends the chain up to the
//! root (`ca` = the root, the trust anchor), and publishes the root on `send-ca-cert`.
//!
//! Every hook reconciles. The leader keeps the CA request on `parent-ca` (the requirer library
//! keeps its key in an application secret), renews the CA with a new key while its remaining
//! validity still exceeds what it issues, signs every outstanding request, and publishes the
//! roots that still have valid certificates under them. A CA the parent replaced on its own
//! (a rotation or a CA change above) revokes and re-issues what was signed under it.
#![deny(missing_docs)]

pub mod config;
pub mod parent;

use std::collections::{BTreeMap, BTreeSet};

use charm::duration::format_config as format_duration;
use charm::{Charm, Endpoint, Event, HandlerError, LogLevel, Model, Status};
use pki::{Certificate, IssuingPolicy};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tls_interfaces::{
    Capabilities, RequirerEvent, Scope, Signer, TlsProvider, TlsRequirer, TransferProvider,
};

use crate::config::Config;
use crate::parent::{Issuing, PARENT, Standing};

/// The charm.
#[derive(Debug, Default)]
pub struct IntermediateCa;

const CERTIFICATES: &str = "certificates";
const SEND_CA_CERT: &str = "send-ca-cert";
/// Charm-state key: the CA certificate signed with last, with the CSR it answered.
const CA_IN_USE: &str = "ca-in-use";

impl Charm for IntermediateCa {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        match event {
            Event::Action(a) if a.name == "get-ca-certificate" => get_ca_certificate(model),
            Event::Action(_) | Event::Stop | Event::Remove => Ok(()),
            // Juju follows a unit's relation-joined with its relation-changed: reconcile there.
            Event::RelationJoined(r) if r.relation.endpoint().as_str() == CERTIFICATES => Ok(()),
            _ => reconcile(event, model),
        }
    }
}

fn endpoint(name: &str) -> Result<Endpoint, HandlerError> {
    Ok(name.parse()?)
}

fn now(model: &Model<'_>) -> Result<OffsetDateTime, HandlerError> {
    Ok(OffsetDateTime::from_unix_timestamp(model.now())?)
}

fn date(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn common_name(cert: &Certificate) -> String {
    cert.subject().common_name().unwrap_or_default().to_owned()
}

fn log(model: &mut Model<'_>, level: LogLevel, message: &str) {
    let _ = model.log(level, message);
}

fn reconcile(event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
    let config = match config::read(model.config_map()?) {
        Ok(c) => c,
        Err(problems) => {
            // Nothing issued is touched: certificates keep being served as they are.
            model.set_unit_status(Status::blocked(format!(
                "invalid config: {}",
                problems.join("; ")
            )))?;
            return Ok(());
        }
    };
    let parent = parent::requirer(endpoint(PARENT)?, &config)?;
    // A due CA is renewed below with a new key (the library's own renewal keeps the key, which
    // for RSA gives the same CSR bytes); its secret-expired still goes through the library,
    // which removes the expired secret.
    let events = parent.handle(event, model)?;
    for e in &events {
        if let RequirerEvent::CertificateDenied(d) = e {
            log(
                model,
                LogLevel::Warning,
                &format!("the parent CA refused our CA request: {}", d.error.message),
            );
        }
    }
    if !model.is_leader()? {
        return stand_by(model);
    }
    let at = now(model)?;
    let margin = parent::renewal_margin(&config);
    let mut standing = parent::standing(&parent, &config, model, at)?;
    if let Standing::Ready(issuing) = &standing {
        let due = at >= issuing.renew_at(margin);
        let new_algorithm = issuing.ca.key().algorithm() != config.ca.key_algorithm;
        if due || new_algorithm {
            let why = if due {
                format!(
                    "its remaining validity is down to {} (certificate-validity {} plus a margin)",
                    format_duration(issuing.ca.certificate().info().not_after - at),
                    format_duration(config.ca.certificate_validity)
                )
            } else {
                "ca-key-algorithm changed".to_owned()
            };
            log(
                model,
                LogLevel::Info,
                &format!(
                    "renewing the CA with a new key: {why}; certificates issued under the current one stay valid"
                ),
            );
            parent.regenerate_private_key(model, Some(Scope::App))?;
            standing = parent::standing(&parent, &config, model, at)?;
        }
    }
    let parent_app = model
        .relations(parent.endpoint())?
        .first()
        .and_then(|r| r.remote_app.as_ref().map(ToString::to_string))
        .unwrap_or_else(|| "the parent".to_owned());
    let issuing = match standing {
        Standing::Ready(i) => i,
        Standing::NoRelation => {
            model.set_unit_status(Status::blocked(
                "no CA: relate parent-ca to a tls-certificates provider that issues CA certificates (self-signed-certificates with allow-ca-requests=true, manual-tls-certificates, or another intermediate-ca)",
            ))?;
            return Ok(());
        }
        Standing::Waiting => {
            model.set_unit_status(Status::waiting(format!(
                "waiting for the CA certificate from {parent_app}"
            )))?;
            return Ok(());
        }
        Standing::Refused(message) => {
            model.set_unit_status(Status::blocked(format!(
                "{parent_app} refused the CA request: {message}"
            )))?;
            return Ok(());
        }
        Standing::Unusable(problem) => {
            model.set_unit_status(Status::blocked(format!(
                "the CA certificate from {parent_app} is unusable: {problem}"
            )))?;
            return Ok(());
        }
    };
    serve(model, &config, &issuing, at, margin, &parent_app)
}

/// Signs, publishes and reports with a CA ready to sign (leader).
fn serve(
    model: &mut Model<'_>,
    config: &Config,
    issuing: &Issuing,
    at: OffsetDateTime,
    margin: time::Duration,
    parent_app: &str,
) -> Result<(), HandlerError> {
    let provider = TlsProvider::new(endpoint(CERTIFICATES)?).with_limits(config.ca.limits);
    let ca_pem = issuing.ca.certificate().pem().trim().to_owned();
    let previous: Option<(String, String)> = model.stored(CA_IN_USE)?;
    let ca_changed = previous.as_ref().map(|(_, c)| c) != Some(&ca_pem);
    let mut state = if ca_changed {
        provider.load_full(model)?
    } else {
        provider.load(model)?
    };
    let root_pem = issuing.root().pem().trim().to_owned();
    state.drop_certificates_without_csr();
    // The parent answered the same CSR with another certificate: it replaced our CA on its own
    // (a rotation or a CA change above), so what we signed under the old one is revoked and
    // re-issued now. A renewal of ours sends a new CSR (new key) and revokes nothing.
    if let Some((csr, old)) = &previous
        && csr.trim() == issuing.csr.trim()
        && old != &ca_pem
    {
        let revoked = state.revoke_where(|c| {
            c.entry
                .chain
                .as_ref()
                .is_some_and(|chain| chain.iter().any(|p| p.trim() == old.trim()))
        });
        if let Some(old_root) = Certificate::from_pem(old)
            .ok()
            .map(|c| c.info().issuer.to_string())
        {
            log(
                model,
                LogLevel::Warning,
                &format!(
                    "{parent_app} replaced our CA certificate for the same request (issuer {old_root}): {} certificates signed under the old one revoked and re-issued",
                    revoked.len()
                ),
            );
        }
    }
    // Roots that still have valid, unrevoked certificates under them, before re-issuing.
    let mut published = state.trusted_cas(Some(&root_pem), at);
    let policy = IssuingPolicy {
        allow_ca: config.ca.allow_ca_requests,
        allow_ca_hint: "set the charm option allow-ca-requests=true to issue CA certificates"
            .into(),
        max_validity: Some(config.ca.certificate_validity),
        ..IssuingPolicy::default()
    };
    let provider_name = model.app().to_string();
    let signer = Signer {
        ca: &issuing.ca,
        issuers: &issuing.issuers,
        policy: &policy,
        names: Some(&config.names),
        validity: config.ca.certificate_validity,
        now: at,
        provider_name: &provider_name,
        limit_per_relation: config.ca.certificate_limit,
        limit_hint: "raise the charm option certificate-limit, or set it to -1 for no limit",
    };
    if ca_changed {
        state.ca_generated(issuing.ca.certificate());
    }
    state.sign_outstanding(&signer)?;
    let names = &config.names;
    state.set_capabilities(Some(&Capabilities {
        supports_ip_sans: Some(names.allow_ip_sans),
        supports_wildcard_dns: Some(names.allow_wildcards),
        supports_subdomain: Some(names.allow_any_name || names.allow_subdomains),
        supports_ca_certificates: Some(config.ca.allow_ca_requests),
        allowed_domains: (!names.allow_any_name).then(|| names.allowed_domains.clone()),
        provider_type: Some("intermediate-ca".into()),
    }));
    let issued = state.issued_count();
    provider.commit(model, state)?;
    model.store(CA_IN_USE, &(issuing.csr.trim(), &ca_pem))?;

    published.insert(root_pem);
    TransferProvider::new(endpoint(SEND_CA_CERT)?).publish(model, &published)?;

    let info = issuing.ca.certificate().info();
    let parent_cert = issuing.issuers.first().unwrap_or(issuing.root());
    model.set_unit_status(Status::active(format!(
        "CA '{}' from {parent_app} (issuer '{}', root '{}'), valid until {}, renewal {}; {issued} certificates issued ({} validity)",
        common_name(issuing.ca.certificate()),
        common_name(parent_cert),
        common_name(issuing.root()),
        date(info.not_after),
        date(issuing.renew_at(margin)),
        format_duration(config.ca.certificate_validity),
    )))?;
    Ok(())
}

/// A follower: the leader signs. A former leader withdraws the v0 keys it wrote on
/// `send-ca-cert`; `publish` on a follower does only that.
fn stand_by(model: &mut Model<'_>) -> Result<(), HandlerError> {
    model.unstore(CA_IN_USE);
    let busy_hook = model
        .context()
        .relation
        .as_ref()
        .is_some_and(|r| r.id.endpoint().as_str() == CERTIFICATES);
    if !busy_hook {
        TransferProvider::new(endpoint(SEND_CA_CERT)?).publish(model, &BTreeSet::new())?;
    }
    model.set_unit_status(Status::active("standby, the leader signs"))?;
    Ok(())
}

fn get_ca_certificate(model: &mut Model<'_>) -> Result<(), HandlerError> {
    if !model.is_leader()? {
        model.action_fail(
            "only the leader holds the CA's key and certificate; run this action on the leader unit",
        )?;
        return Ok(());
    }
    let config = match config::read(model.config_map()?) {
        Ok(c) => c,
        Err(problems) => {
            model.action_fail(&format!("invalid config: {}", problems.join("; ")))?;
            return Ok(());
        }
    };
    let parent: TlsRequirer = parent::requirer(endpoint(PARENT)?, &config)?;
    let at = now(model)?;
    match parent::standing(&parent, &config, model, at)? {
        Standing::Ready(i) => {
            let mut chain = vec![i.ca.certificate().pem().trim().to_owned()];
            chain.extend(i.issuers.iter().map(|c| c.pem().trim().to_owned()));
            model.set_action_results(&BTreeMap::from([
                ("ca-certificate".to_owned(), chain[0].clone()),
                ("chain".to_owned(), chain.join("\n")),
                ("root".to_owned(), i.root().pem().trim().to_owned()),
            ]))?;
        }
        _ => model.action_fail("the CA certificate is not there yet (see the unit status)")?,
    }
    Ok(())
}
