//! The manual-tls-certificates charm: a person signs the `tls-certificates` requests with a CA
//! kept outside Juju and hands the certificates back through actions. Same endpoints, config,
//! actions, result keys and refusal texts as the published Python charm, so users can swap it
//! in; it differs where that charm fails its users (see README.md):
//!
//! - on a unit that does not lead, both actions fail and say so (the published charm reports
//!   success and publishes nothing);
//! - a provided certificate is checked before it is published ([`provide::check`]);
//! - `trusted-certificate-bundle` is published exactly ([`trust`]), not added to what was;
//! - the status names the soonest expiry of what was provided.
//!
//! Every hook reconciles: the leader withdraws certificates whose request is gone (the library's
//! unsolicited certificates), publishes the bundle, and sets the status.
#![deny(missing_docs)]

pub mod provide;
pub mod trust;

use std::collections::{BTreeMap, BTreeSet};

use charm::{Charm, Endpoint, Event, HandlerError, LogLevel, Model, RelationId, Status};
use pki::Certificate;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use tls_interfaces::{Capabilities, TlsProvider, TransferProvider, to_python_json};

use crate::provide::{Params, date};
use crate::trust::Bundle;

/// The charm.
#[derive(Debug, Default)]
pub struct ManualTlsCertificates;

const CERTIFICATES: &str = "certificates";
const TRUST_CERTIFICATE: &str = "trust_certificate";

/// The published charm's texts.
pub mod texts {
    /// No `certificates` relation.
    pub const NO_RELATION: &str = "No certificates relation has been created yet.";
    /// The CSR is in no requirer bag.
    pub const CSR_NOT_FOUND: &str = "CSR was not found in any requirer databags.";
    /// The CSR is in several relations and no relation id was given.
    pub const MULTIPLE_REQUIRERS: &str = "Multiple requirers with the same CSR found.";
    /// The CSR is not in the relation given.
    pub const WRONG_RELATION_ID: &str =
        "Requested relation id is not the correct id of any found CSR's.";
    /// No relation of the `certificates` endpoint has the id given.
    pub const NO_SUCH_RELATION: &str = "Relation does not exist with the provided id.";
    /// provide-certificate's result.
    pub const PROVIDED: &str = "Certificates successfully provided.";
    /// Status with nothing outstanding.
    pub const NO_OUTSTANDING: &str = "No outstanding requests.";
    /// Status with a trust relation and no bundle.
    pub const NO_BUNDLE: &str = "No trusted certificate bundle configured";
    /// Status with a trust relation and a bundle that does not parse.
    pub const INVALID_BUNDLE: &str = "Invalid trusted certificate bundle configured";
}

impl Charm for ManualTlsCertificates {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        match event {
            Event::Action(a) => match a.name.as_str() {
                "get-outstanding-certificate-requests" => get_outstanding(model),
                "provide-certificate" => provide_certificate(model),
                _ => Ok(()),
            },
            Event::Stop | Event::Remove => Ok(()),
            _ => reconcile(model),
        }
    }
}

fn endpoint(name: &str) -> Result<Endpoint, HandlerError> {
    Ok(name.parse()?)
}

fn now(model: &Model<'_>) -> Result<OffsetDateTime, HandlerError> {
    Ok(OffsetDateTime::from_unix_timestamp(model.now())?)
}

fn provider() -> Result<TlsProvider, HandlerError> {
    Ok(TlsProvider::new(endpoint(CERTIFICATES)?))
}

/// What the leader advertises to requirers: a person signs, nothing else is promised.
fn capabilities() -> Capabilities {
    Capabilities {
        provider_type: Some("manual".into()),
        ..Capabilities::default()
    }
}

/// Withdraws certificates nobody asks for any more, publishes the bundle, sets the status.
fn reconcile(model: &mut Model<'_>) -> Result<(), HandlerError> {
    let status = if model.is_leader()? {
        let provider = provider()?;
        let mut state = provider.load(model)?;
        let withdrawn = state.drop_certificates_without_csr();
        if withdrawn > 0 {
            log(
                model,
                &format!("withdrew {withdrawn} certificate(s) whose request is gone"),
            );
        }
        state.set_capabilities(Some(&capabilities()));
        let outstanding = state.outstanding(None).len();
        let soonest = soonest_expiry(&mut state);
        provider.commit(model, state)?;
        Status::active(outstanding_text(outstanding, soonest, now(model)?))
    } else {
        Status::active(
            "standby: only the leader reads the requests and provides certificates; run the actions on the leader",
        )
    };
    let status = publish_bundle(model)?.unwrap_or(status);
    model.set_unit_status(status)?;
    Ok(())
}

/// The soonest `not_after` of the certificates provided (not revoked).
fn soonest_expiry(state: &mut tls_interfaces::ProviderState) -> Option<OffsetDateTime> {
    state
        .issued()
        .iter()
        .filter_map(|c| Certificate::from_pem(&c.entry.certificate).ok())
        .map(|c| c.info().not_after)
        .min()
}

/// The published charm's status text, with the soonest expiry of what was provided.
fn outstanding_text(count: usize, soonest: Option<OffsetDateTime>, now: OffsetDateTime) -> String {
    let base = match count {
        0 => texts::NO_OUTSTANDING.trim_end_matches('.').to_owned(),
        n => format!("{n} outstanding requests, use juju actions to provide certificates"),
    };
    match soonest {
        None if count == 0 => texts::NO_OUTSTANDING.to_owned(),
        None => base,
        Some(t) if t < now => format!("{base}; soonest expiry {} (expired)", date(t)),
        Some(t) => format!("{base}; soonest expiry {}", date(t)),
    }
}

/// Publishes the bundle exactly on every `trust_certificate` relation (on a follower the
/// transfer provider only withdraws what it wrote as leader). Returns the status the bundle
/// imposes when such a relation exists.
fn publish_bundle(model: &mut Model<'_>) -> Result<Option<Status>, HandlerError> {
    let trust = endpoint(TRUST_CERTIFICATE)?;
    if model.relation_ids(&trust)?.is_empty() {
        return Ok(None);
    }
    let value = model
        .config_map()?
        .get(trust::OPTION)
        .and_then(Value::as_str)
        .map(str::to_owned);
    let transfer = TransferProvider::new(trust);
    match trust::read(value.as_deref()) {
        Bundle::Unset => {
            transfer.publish(model, &BTreeSet::new())?;
            Ok(Some(Status::active(texts::NO_BUNDLE)))
        }
        Bundle::Invalid(why) => {
            log(
                model,
                &format!(
                    "{} is not a PEM bundle of certificates: {why}; what was published stays",
                    trust::OPTION
                ),
            );
            Ok(Some(Status::blocked(texts::INVALID_BUNDLE)))
        }
        Bundle::Certificates(set) => {
            transfer.publish(model, &set)?;
            Ok(None)
        }
    }
}

fn log(model: &mut Model<'_>, message: &str) {
    let _ = model.log(LogLevel::Info, message);
}

/// The failure of an action run on a unit that does not lead.
fn not_leader(model: &mut Model<'_>, action: &str) -> Result<(), HandlerError> {
    let app = model.app().to_string();
    model.action_fail(&format!(
        "This unit is not the leader: only the leader can read and write the provider's relation data, so nothing was done here. Run the action on the leader: juju run {app}/leader {action} ..."
    ))?;
    Ok(())
}

/// The action's `relation-id`, checked to be a relation of the `certificates` endpoint;
/// `Err` is the failure message.
fn chosen_relation(
    ids: &[RelationId],
    relation_id: Option<u32>,
) -> Result<Option<RelationId>, String> {
    match relation_id {
        None => Ok(None),
        Some(n) => ids
            .iter()
            .find(|r| r.id() == n)
            .cloned()
            .map(Some)
            .ok_or_else(|| texts::NO_SUCH_RELATION.to_owned()),
    }
}

fn get_outstanding(model: &mut Model<'_>) -> Result<(), HandlerError> {
    if !model.is_leader()? {
        return not_leader(model, "get-outstanding-certificate-requests");
    }
    let params: Map<String, Value> = model.action_params()?;
    let ids = model.relation_ids(&endpoint(CERTIFICATES)?)?;
    if ids.is_empty() {
        model.action_fail(texts::NO_RELATION)?;
        return Ok(());
    }
    let wanted = match params.get("relation-id") {
        None | Some(Value::Null) => None,
        Some(v) => match provide::relation_id(v) {
            Ok(n) => Some(n),
            Err(e) => {
                model.action_fail(&e)?;
                return Ok(());
            }
        },
    };
    let relation = match chosen_relation(&ids, wanted) {
        Ok(r) => r,
        Err(e) => {
            model.action_fail(&e)?;
            return Ok(());
        }
    };
    let mut state = provider()?.load(model)?;
    let list: Vec<Value> = state
        .outstanding(relation.as_ref())
        .iter()
        .map(|r| json!({"csr": r.csr.pem(), "relation_id": r.relation.id()}))
        .collect();
    model.set_action_results(&BTreeMap::from([(
        "result".to_owned(),
        to_python_json(&list),
    )]))?;
    Ok(())
}

fn provide_certificate(model: &mut Model<'_>) -> Result<(), HandlerError> {
    if !model.is_leader()? {
        return not_leader(model, "provide-certificate");
    }
    match provide(model)? {
        Ok(results) => model.set_action_results(&results)?,
        Err(message) => {
            let _ = model.log(
                LogLevel::Warning,
                &format!("provide-certificate refused: {message}"),
            );
            model.action_fail(&message)?;
        }
    }
    reconcile(model)
}

/// Checks and publishes one certificate; the inner `Err` is the action's failure message.
fn provide(
    model: &mut Model<'_>,
) -> Result<Result<BTreeMap<String, String>, String>, HandlerError> {
    let ids = model.relation_ids(&endpoint(CERTIFICATES)?)?;
    if ids.is_empty() {
        return Ok(Err(texts::NO_RELATION.to_owned()));
    }
    let raw: Map<String, Value> = model.action_params()?;
    let params = match Params::from_action(&raw) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let checked = match provide::check(&params, now(model)?) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let chosen = match chosen_relation(&ids, params.relation_id) {
        Ok(r) => r,
        Err(e) => return Ok(Err(e)),
    };
    let provider = provider()?;
    let mut state = provider.load(model)?;
    let found: BTreeSet<RelationId> = state
        .requests(None)
        .into_iter()
        .filter(|r| r.csr.der() == checked.csr.der())
        .map(|r| r.relation)
        .collect();
    let relation = match (found.len(), chosen) {
        (0, _) => return Ok(Err(texts::CSR_NOT_FOUND.to_owned())),
        (_, Some(id)) if found.contains(&id) => id,
        (_, Some(_)) => return Ok(Err(texts::WRONG_RELATION_ID.to_owned())),
        (1, None) => found.into_iter().next().expect("one relation"),
        (_, None) => return Ok(Err(texts::MULTIPLE_REQUIRERS.to_owned())),
    };
    state.set_certificate(
        &relation,
        &checked.csr,
        &checked.certificate,
        &checked.ca,
        &checked.chain,
    )?;
    provider.commit(model, state)?;
    let info = checked.certificate.info();
    let mut results = BTreeMap::from([
        ("result".to_owned(), texts::PROVIDED.to_owned()),
        ("relation-id".to_owned(), relation.id().to_string()),
        ("serial".to_owned(), info.serial.clone()),
        ("expiry".to_owned(), date(info.not_after)),
    ]);
    if !checked.warnings.is_empty() {
        let warning = checked.warnings.join("; ");
        model.action_log(&format!("warning: {warning}"))?;
        let _ = model.log(
            LogLevel::Warning,
            &format!("provide-certificate: {warning}"),
        );
        results.insert("warning".to_owned(), warning);
    }
    log(
        model,
        &format!(
            "provided certificate '{}' (serial {}, until {}) on relation {relation}",
            info.subject,
            info.serial,
            date(info.not_after)
        ),
    );
    Ok(Ok(results))
}
