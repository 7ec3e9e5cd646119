//! The self-signed-certificates charm: a CA that signs `tls-certificates` requests and publishes
//! itself over `certificate_transfer`. Same endpoints, config, actions and CA secret as the
//! published Python charm, so users can swap it in; it differs where that charm is weak (see
//! README.md).
//!
//! Every hook reconciles: the leader makes sure the CA matches the configuration (a new CA and
//! re-issue when a CA field changed, a renewal without revocation when it is due), signs every
//! outstanding request, withdraws certificates whose request vanished, advertises its
//! capabilities and publishes the CAs that still have valid certificates under them (removing
//! the published charm's `expiring-ca-certificates` once its CA is no longer among them).
#![deny(missing_docs)]

pub mod authority;
pub mod config;
pub mod reactive;
pub mod revocation;
pub mod upstream;

use std::collections::{BTreeMap, BTreeSet};

use charm::duration::format_config as format_duration;
use charm::{Charm, Endpoint, Event, HandlerError, LogLevel, Model, Status};
use pki::{Certificate, IssuingPolicy};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tls_interfaces::{
    Capabilities, IssuedCertificate, ProviderState, Signer, TlsProvider, TransferProvider,
};

use crate::authority::StoredCa;
use crate::revocation::Selector;

/// The charm.
#[derive(Debug, Default)]
pub struct SelfSignedCertificates;

const CERTIFICATES: &str = "certificates";
const SEND_CA_CERT: &str = "send-ca-cert";

impl Charm for SelfSignedCertificates {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        match event {
            Event::Action(a) => match a.name.as_str() {
                "get-ca-certificate" => get_ca_certificate(model),
                "get-issued-certificates" => get_issued_certificates(model),
                "rotate-private-key" => rotate_private_key(model),
                "revoke-certificates" => revoke_certificates(model),
                _ => Ok(()),
            },
            Event::Stop | Event::Remove => Ok(()),
            // A revision nobody tracks any more (an old CA after a rotation or renewal): delete
            // it, so the old private key does not linger in the controller.
            Event::SecretRemove(e) => match e.revision {
                Some(rev) if model.is_leader()? => Ok(model.remove_secret(&e.id, Some(rev))?),
                _ => Ok(()),
            },
            // Juju always follows a unit's `relation-joined` with its `relation-changed`, which
            // sees the same bags: reconciling there alone halves the provider's hooks that read
            // every requirer unit's bag (docs/performance.md, "Local model at scale").
            Event::RelationJoined(r) if r.relation.endpoint().as_str() == CERTIFICATES => Ok(()),
            // A refresh may follow a run of the published charm, which may have left a new
            // `expiring-ca-certificates`: look again.
            Event::UpgradeCharm => {
                model.unstore(EXPIRING_CA_KEY);
                reconcile(model, CaChange::IfNeeded, None).map(|_| ())
            }
            _ => reconcile(model, CaChange::IfNeeded, None).map(|_| ()),
        }
    }
}

/// What to do with the CA in this reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CaChange {
    /// Create, replace (config changed) or renew (due) as needed.
    IfNeeded,
    /// Replace it now with a new key (rotate-private-key).
    Rotate,
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

/// What a reconcile did, for the actions that ask for one.
struct Reconciled {
    /// The CA in use.
    stored: StoredCa,
    /// Serial numbers of the certificates revoked on request, each with the serial of the
    /// certificate issued in its place (`None`: not re-issued, e.g. the request is over a cap).
    revoked: Vec<(String, Option<String>)>,
}

/// Brings everything in line, first revoking what `revoke` selects; `None` when the
/// configuration is invalid or this unit does not lead.
fn reconcile(
    model: &mut Model<'_>,
    change: CaChange,
    revoke: Option<&Selector>,
) -> Result<Option<Reconciled>, HandlerError> {
    let config = match config::read(model.config_map()?) {
        Ok(c) => c,
        Err(problems) => {
            // Nothing issued is touched: certificates keep being served as they are.
            model.set_unit_status(Status::blocked(format!(
                "invalid config: {}",
                problems.join("; ")
            )))?;
            return Ok(None);
        }
    };
    if !model.is_leader()? {
        // What this unit published as leader says nothing once another unit leads.
        model.unstore(PUBLISHED_CAS);
        // A former leader withdraws the v0 keys it wrote on send-ca-cert (v0 requirers read any
        // provider unit's bag); on a follower `publish` does only that. Not in the busy
        // `certificates` hooks.
        let busy_hook = model
            .context()
            .relation
            .as_ref()
            .is_some_and(|r| r.id.endpoint().as_str() == CERTIFICATES);
        if !busy_hook {
            TransferProvider::new(endpoint(SEND_CA_CERT)?).publish(model, &BTreeSet::new())?;
        }
        // What this unit published on the reactive wire as leader (nothing read otherwise).
        reactive::withdraw(model, &endpoint(CERTIFICATES)?)?;
        let status = match authority::load(model)? {
            Some(stored) => Status::active(format!(
                "standby, the leader signs; CA '{}'",
                common_name(stored.ca.certificate())
            )),
            None => Status::waiting("waiting for the leader to create the CA"),
        };
        model.set_unit_status(status)?;
        return Ok(None);
    }

    let provider = TlsProvider::new(endpoint(CERTIFICATES)?).with_limits(config.limits);
    let at = now(model)?;
    let stored = authority::load(model)?;
    // A CA change judges every request again: read every bag. Otherwise a relation hook reads
    // only the bag that changed (the provider's index has the rest).
    let ca_changes = match (&stored, change) {
        (None, _) | (_, CaChange::Rotate) => true,
        (Some(s), CaChange::IfNeeded) => !s.matches(&config) || at >= s.renew_at(&config),
    };
    let mut state = if ca_changes {
        provider.load_full(model)?
    } else {
        provider.load(model)?
    };
    // CAs that still have valid certificates under them, before anything changes: during a
    // rotation or renewal both the old and the new CA are published; the old one goes once no
    // valid certificate under it remains.
    let current = stored
        .as_ref()
        .map(|s| s.ca.certificate().pem().trim().to_owned());
    let mut published = state.trusted_cas(current.as_deref(), at);

    // The next CA, when one was made ahead of the renewal (only its certificate is needed
    // here; its key is read when it takes over).
    let mut next = known_next_ca(model)?;
    let (stored, revoke_all, created) = match (stored, change) {
        (None, _) => {
            log(model, "creating the CA");
            (authority::create(model, &config, None)?, false, true)
        }
        (Some(s), CaChange::Rotate) => {
            log(
                model,
                "rotating the CA key: new CA, every certificate re-issued under it",
            );
            forget_next(model, &mut next)?;
            (
                authority::create(model, &config, s.secret.as_ref())?,
                true,
                true,
            )
        }
        (Some(s), CaChange::IfNeeded) if !s.matches(&config) => {
            log(
                model,
                "the CA no longer matches the configuration: new CA, every certificate re-issued under it",
            );
            forget_next(model, &mut next)?;
            (
                authority::create(model, &config, s.secret.as_ref())?,
                true,
                true,
            )
        }
        (Some(s), CaChange::IfNeeded) if at >= s.renew_at(&config) => {
            published.insert(s.ca.certificate().pem().trim().to_owned());
            let renewed = match authority::load_next(model)? {
                Some(n) if n.matches(&config) => {
                    log(
                        model,
                        "renewing the CA: the next CA, published since its notice, takes over; certificates issued under the old one stay valid",
                    );
                    authority::promote(model, &config, n, &s)?
                }
                _ => {
                    log(
                        model,
                        "renewing the CA before it expires; certificates issued under the old one stay valid",
                    );
                    authority::discard_next(model)?;
                    authority::create(model, &config, s.secret.as_ref())?
                }
            };
            model.store(NEXT_CA_KEY, &None::<String>)?;
            next = None;
            (renewed, false, true)
        }
        (Some(s), CaChange::IfNeeded) => (s, false, false),
    };
    if next.is_none() && !created && at >= stored.publish_next_at(&config) {
        log(
            model,
            &format!(
                "publishing the next CA ahead of the renewal on {}: clients trust it before anything is issued under it",
                date(stored.renew_at(&config))
            ),
        );
        let made = authority::create_next(model, &config, &stored)?;
        let pem = made.ca.certificate().pem().trim().to_owned();
        model.store(NEXT_CA_KEY, &Some(&pem))?;
        next = Some(pem);
    }
    if let Some(pem) = &next {
        published.insert(pem.clone());
    }
    if created {
        state.ca_generated(stored.ca.certificate());
    }
    if revoke_all {
        state.revoke_all();
    }
    state.drop_certificates_without_csr();
    let revoked = match revoke {
        Some(selector) => state.revoke_where(|c| selector.matches(c)),
        None => Vec::new(),
    };
    let policy = IssuingPolicy {
        allow_ca: config.allow_ca_requests,
        allow_ca_hint: "set the charm option allow-ca-requests=true to issue CA certificates"
            .into(),
        max_validity: Some(config.certificate_validity),
        ..IssuingPolicy::default()
    };
    let provider_name = model.app().to_string();
    let signer = Signer {
        ca: &stored.ca,
        issuers: &[],
        policy: &policy,
        names: None,
        validity: config.certificate_validity,
        now: at,
        provider_name: &provider_name,
        limit_per_relation: config.certificate_limit,
        limit_hint: "raise the charm option certificate-limit, or set it to -1 for no limit",
    };
    // What was issued or refused is logged by the provider as security events (one per
    // certificate up to 10, then a summary with counts): no line of our own repeats it.
    state.sign_outstanding(&signer)?;
    let revoked = replacements(&mut state, &revoked);
    state.set_capabilities(Some(&Capabilities {
        supports_ip_sans: Some(true),
        supports_wildcard_dns: Some(true),
        supports_subdomain: Some(true),
        supports_ca_certificates: Some(config.allow_ca_requests),
        allowed_domains: None,
        provider_type: Some("self-signed".into()),
    }));
    let issued = state.issued_count();
    provider.commit(model, state)?;
    let reactive = if config.reactive_wire {
        reactive::serve(
            model,
            &endpoint(CERTIFICATES)?,
            &stored.ca,
            config.certificate_validity,
            at,
        )?
    } else {
        reactive::withdraw(model, &endpoint(CERTIFICATES)?)?;
        reactive::Served::default()
    };

    published.insert(stored.ca.certificate().pem().trim().to_owned());
    publish_cas(model, &published)?;
    retire_expiring_ca(model, &published)?;

    let info = stored.ca.certificate().info();
    let renewal = date(stored.renew_at(&config).min(info.not_after));
    let sequence = if next.is_some() {
        format!("next CA published, in use from {renewal}")
    } else {
        format!(
            "CA renewal {renewal}, next CA published from {}",
            date(stored.publish_next_at(&config))
        )
    };
    let previous = published
        .len()
        .saturating_sub(1 + usize::from(next.is_some()));
    let previous = match previous {
        0 => String::new(),
        n => format!("; {n} previous CA(s) published until their certificates expire"),
    };
    model.set_unit_status(Status::active(format!(
        "CA '{}': {issued} certificates issued ({} validity); {sequence}{previous}{}",
        common_name(stored.ca.certificate()),
        format_duration(config.certificate_validity),
        reactive.summary(),
    )))?;
    Ok(Some(Reconciled { stored, revoked }))
}

/// The serial of each revoked certificate, with that of the certificate now published for the
/// same request (if one was issued).
fn replacements(
    state: &mut ProviderState,
    revoked: &[IssuedCertificate],
) -> Vec<(String, Option<String>)> {
    if revoked.is_empty() {
        return Vec::new();
    }
    let now: Vec<IssuedCertificate> = state.issued();
    revoked
        .iter()
        .map(|old| {
            let new = now.iter().find(|c| {
                c.relation == old.relation
                    && c.entry.certificate_signing_request.trim()
                        == old.entry.certificate_signing_request.trim()
            });
            (
                revocation::serial_of(old).unwrap_or_default(),
                new.and_then(revocation::serial_of),
            )
        })
        .collect()
}

/// Charm-state key: the CAs last published on `send-ca-cert`.
const PUBLISHED_CAS: &str = "send-ca-cert-published";

/// Publishes the CAs to trust on every `send-ca-cert` relation. In a hook of the `certificates`
/// endpoint (the busy one: one per requirer unit change) an unchanged set is not published again:
/// that skips the `send-ca-cert` relation reads. Any other hook publishes, so a new relation, a
/// new leader or a requirer's changed version is always served in its own hook.
fn publish_cas(model: &mut Model<'_>, cas: &BTreeSet<String>) -> Result<(), HandlerError> {
    let busy_hook = model
        .context()
        .relation
        .as_ref()
        .is_some_and(|r| r.id.endpoint().as_str() == CERTIFICATES);
    let last: Option<BTreeSet<String>> = model.stored(PUBLISHED_CAS).ok().flatten();
    if busy_hook && last.as_ref() == Some(cas) {
        return Ok(());
    }
    TransferProvider::new(endpoint(SEND_CA_CERT)?).publish(model, cas)?;
    model.store(PUBLISHED_CAS, cas)?;
    Ok(())
}

/// Charm-state key: the certificate of the next CA (`null`: none; absent: not looked at yet).
const NEXT_CA_KEY: &str = "next-ca";

/// The next CA's certificate, if one was made: from charm state, else (first look after an
/// upgrade) from its secret. Leader only.
fn known_next_ca(model: &mut Model<'_>) -> Result<Option<String>, HandlerError> {
    if let Some(known) = model.stored::<Option<String>>(NEXT_CA_KEY)? {
        return Ok(known);
    }
    let pem = authority::load_next(model)?.map(|n| n.ca.certificate().pem().trim().to_owned());
    model.store(NEXT_CA_KEY, &pem)?;
    Ok(pem)
}

/// Drops the next CA (a new CA is made at once instead).
fn forget_next(model: &mut Model<'_>, next: &mut Option<String>) -> Result<(), HandlerError> {
    if next.take().is_some() {
        authority::discard_next(model)?;
    }
    Ok(model.store(NEXT_CA_KEY, &None::<String>)?)
}

/// Charm-state key: what we know of `expiring-ca-certificates` (absent: not looked at since the
/// last refresh; `null`: there is none; a PEM: its CA), so relation hooks do not ask Juju.
const EXPIRING_CA_KEY: &str = "expiring-ca";

/// Removes the published charm's `expiring-ca-certificates` once its CA is no longer published
/// (no valid certificate under it remains): we never sign with that key, and it should not
/// linger in the controller. Leader only.
fn retire_expiring_ca(
    model: &mut Model<'_>,
    published: &BTreeSet<String>,
) -> Result<(), HandlerError> {
    let known: Option<Option<String>> = model.stored(EXPIRING_CA_KEY)?;
    let ca = match known {
        Some(None) => return Ok(()),
        Some(Some(pem)) => Certificate::from_pem(&pem).ok(),
        None => match authority::expiring_ca(model)? {
            None => return Ok(model.store(EXPIRING_CA_KEY, &None::<String>)?),
            Some(ca) => ca,
        },
    };
    if let Some(ca) = ca
        && published
            .iter()
            .any(|p| Certificate::from_pem(p).is_ok_and(|c| c.der() == ca.der()))
    {
        return Ok(model.store(EXPIRING_CA_KEY, &Some(ca.pem().trim()))?);
    }
    authority::remove_expiring(model)?;
    log(
        model,
        &format!(
            "removed the secret '{}' the published charm left: no valid certificate chains to its CA any more, and its key is never used",
            authority::EXPIRING_LABEL
        ),
    );
    Ok(model.store(EXPIRING_CA_KEY, &None::<String>)?)
}

fn common_name(cert: &Certificate) -> String {
    cert.subject().common_name().unwrap_or_default().to_owned()
}

fn log(model: &mut Model<'_>, message: &str) {
    let _ = model.log(LogLevel::Info, message);
}

fn get_ca_certificate(model: &mut Model<'_>) -> Result<(), HandlerError> {
    match authority::load(model)? {
        Some(stored) => model.set_action_results(&BTreeMap::from([(
            "ca-certificate".to_owned(),
            stored.ca.certificate().pem().trim().to_owned(),
        )]))?,
        None => model.action_fail("Root Certificate is not yet generated")?,
    }
    Ok(())
}

fn get_issued_certificates(model: &mut Model<'_>) -> Result<(), HandlerError> {
    if !model.is_leader()? {
        model.action_fail(
            "only the leader can read the issued certificates; run this action on the leader unit",
        )?;
        return Ok(());
    }
    let mut state = TlsProvider::new(endpoint(CERTIFICATES)?).load(model)?;
    let list: Vec<String> = state.issued().into_iter().map(|c| c.to_json()).collect();
    if list.is_empty() {
        model.action_fail("No certificates issued yet.")?;
        return Ok(());
    }
    model.set_action_results(&BTreeMap::from([(
        "certificates".to_owned(),
        upstream::python_str_of_list(&list),
    )]))?;
    Ok(())
}

fn rotate_private_key(model: &mut Model<'_>) -> Result<(), HandlerError> {
    if !model.is_leader()? {
        model.action_fail("This action can only be run on the leader unit.")?;
        return Ok(());
    }
    match reconcile(model, CaChange::Rotate, None)? {
        Some(Reconciled { stored, .. }) => {
            let info = stored.ca.certificate().info();
            model.set_action_results(&BTreeMap::from([
                (
                    "result".to_owned(),
                    "New private key and CA certificate generated and stored.".to_owned(),
                ),
                ("ca-serial".to_owned(), info.serial.clone()),
                (
                    "note".to_owned(),
                    "Trust may break at once: the new CA was not published ahead (a rotation is for a compromised key), every certificate was revoked and re-issued under it, and a client that trusts only the old CA rejects the new certificates until it receives the new CA over send-ca-cert.".to_owned(),
                ),
            ]))?;
        }
        None => model.action_fail(
            "the configuration is invalid (see the unit status); nothing was changed",
        )?,
    }
    Ok(())
}

fn revoke_certificates(model: &mut Model<'_>) -> Result<(), HandlerError> {
    if !model.is_leader()? {
        model.action_fail("This action can only be run on the leader unit.")?;
        return Ok(());
    }
    let params: serde_json::Map<String, serde_json::Value> = model.action_params()?;
    let selector = match Selector::from_params(&params) {
        Ok(s) => s,
        Err(problem) => {
            model.action_fail(&problem)?;
            return Ok(());
        }
    };
    match reconcile(model, CaChange::IfNeeded, Some(&selector))? {
        Some(done) if done.revoked.is_empty() => model.action_fail(&format!(
            "no issued, unrevoked certificate belongs to {}; nothing was revoked",
            selector.describe()
        ))?,
        Some(done) => model.set_action_results(&revocation::results(&done.revoked))?,
        None => model.action_fail(
            "the configuration is invalid (see the unit status); nothing was revoked",
        )?,
    }
    Ok(())
}
