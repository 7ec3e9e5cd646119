//! The events that are not a plain reconcile: `relation-broken` of our endpoint (remove our
//! keys and certificate secrets), `secret-expired` of a certificate secret (renew its CSR) and
//! `secret-remove` of one of our secrets (drop the unused revision).

use std::collections::BTreeSet;

use charm::{LogLevel, Model, SecretId, SecretLookup, SecretRead};
use pki::Csr;

use super::{Scope, TlsRequirer, keys};
use crate::error::{Error, is_secret_not_found};
use crate::labels;

/// Removes the private keys and certificate secrets of the endpoint this unit may manage.
pub(super) fn relation_broken(requirer: &TlsRequirer, model: &mut Model<'_>) -> Result<(), Error> {
    let leader = model.is_leader()?;
    let unit = model.unit().number();
    let endpoint = requirer.endpoint.as_str();
    let mut key_labels = Vec::new();
    let mut prefixes = Vec::new();
    for scope in [Scope::Unit, Scope::App] {
        if !requirer.mode.has(scope) || (scope == Scope::App && !leader) {
            continue;
        }
        key_labels.push(labels::private_key(scope, unit, endpoint));
        if scope == Scope::App {
            key_labels.push(labels::legacy_app_private_key(endpoint));
        }
        prefixes.push(labels::certificate_prefix(scope, unit, endpoint));
    }
    for label in key_labels {
        keys::remove_by_label(model, &label)?;
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

/// Reads the CSR of an expired certificate secret and removes the secret; the CSR (DER) is
/// to be renewed.
pub(super) fn take_expired_secret(
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

/// Removes a revision of one of our secrets that no one tracks any more.
pub(super) fn remove_revision(
    model: &mut Model<'_>,
    id: &SecretId,
    revision: u32,
) -> Result<(), Error> {
    match model.remove_secret(id, Some(revision)) {
        Ok(()) => Ok(()),
        Err(err) if is_secret_not_found(&err) => Ok(()),
        Err(err) => Err(err.into()),
    }
}
