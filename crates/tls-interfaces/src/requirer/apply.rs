//! Doing what the planner decided: keys, CSRs (made here: they need randomness), certificate
//! secrets, logs, and one write per bag. Returns the events for the charm, in plan order.

use std::sync::Arc;

use charm::{LogLevel, NewSecret, SecretOwner, SecretUpdate};

use super::observe::Context;
use super::plan::{KeyStep, Plan, Step, StoreCertificate};
use super::{RequirerEvent, Scope, TlsRequirer, keys};
use crate::error::Error;
use crate::json::to_python_json;
use crate::time_fmt;
use crate::wire::tls_certificates::{CSRS_KEY, RequestEntry};

/// Applies `plan` through `cx`.
pub(super) fn apply(
    cx: &mut Context<'_, '_>,
    requirer: &TlsRequirer,
    plan: Plan,
) -> Result<Vec<RequirerEvent>, Error> {
    let endpoint = requirer.endpoint.as_str();
    let mut events = Vec::new();
    for scope_plan in plan.scopes {
        let scope = scope_plan.scope;
        let key = match scope_plan.key {
            KeyStep::Use(key) => key,
            KeyStep::MigrateLegacy(key) => {
                keys::migrate_legacy_app_key(cx.model, cx.unit, endpoint, &key)?;
                key
            }
            KeyStep::Generate => Arc::new(keys::generate(
                cx.model,
                scope,
                cx.unit,
                endpoint,
                requirer.key_algorithm,
            )?),
        };
        let mut sent = Vec::new();
        for step in scope_plan.steps {
            match step {
                Step::Log(level, message) => cx.log(level, &message),
                Step::RemoveSecret(id) => cx.model.remove_secret(&id, None)?,
                Step::SendCsr(request) => {
                    let csr = request.attributes.to_csr(&key)?;
                    cx.log(
                        LogLevel::Info,
                        &format!("requesting a certificate for '{}'", csr.subject()),
                    );
                    sent.push(RequestEntry {
                        certificate_signing_request: csr.pem().to_owned(),
                        ca: Some(request.is_ca),
                    });
                }
                Step::StoreCertificate(store) => store_certificate(cx, store)?,
                Step::Emit(event) => events.push(event),
            }
        }
        if let Some(mut entries) = scope_plan.bag {
            entries.extend(sent);
            // An empty list is written as an absent key, as the Python library does.
            let value = if entries.is_empty() {
                String::new()
            } else {
                to_python_json(&entries)
            };
            let owner = cx.own_bag_owner(scope);
            let relation = cx.relation.clone();
            cx.model
                .set_relation_data(&relation, &owner, CSRS_KEY, &value)?;
        }
    }
    Ok(events)
}

fn store_certificate(cx: &mut Context<'_, '_>, store: StoreCertificate) -> Result<(), Error> {
    let expire = Some(time_fmt::rfc3339(store.expire));
    match store.existing {
        Some(id) => cx.model.update_secret(
            &id,
            &SecretUpdate {
                content: Some(store.content),
                expire,
                ..SecretUpdate::default()
            },
        )?,
        None => {
            cx.model.add_secret(&NewSecret {
                content: store.content,
                label: Some(store.label),
                description: None,
                expire,
                rotate: None,
                owner: owner_of(store.scope),
            })?;
        }
    }
    Ok(())
}

/// Who owns the secrets of `scope`.
pub(super) fn owner_of(scope: Scope) -> SecretOwner {
    match scope {
        Scope::Unit => SecretOwner::Unit,
        Scope::App => SecretOwner::Application,
    }
}
