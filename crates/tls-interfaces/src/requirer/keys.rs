//! The private key secrets: one per scope, under the Python library's label and content key
//! (traditional PEM), and the move of an APP key from the legacy label to the current one.

use std::collections::BTreeMap;

use charm::{LogLevel, Model, NewSecret, SecretContent, SecretLookup, SecretRead, SecretUpdate};
use pki::{KeyAlgorithm, PrivateKey};

use super::Scope;
use super::apply::owner_of;
use crate::error::{Error, is_secret_not_found};
use crate::labels;
use crate::security_log::{self, SecurityEvent};

/// The key kept under `label`, if that secret exists.
pub(super) fn read(model: &mut Model<'_>, label: &str) -> Result<Option<PrivateKey>, Error> {
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

/// Stores `key` as the key of `scope`, replacing the content of an existing secret.
pub(super) fn store(
    model: &mut Model<'_>,
    scope: Scope,
    unit: u32,
    endpoint: &str,
    key: &PrivateKey,
) -> Result<(), Error> {
    let label = labels::private_key(scope, unit, endpoint);
    let pem = key.to_traditional_pem()?;
    let content: SecretContent =
        BTreeMap::from([(labels::PRIVATE_KEY_KEY.to_owned(), pem.to_string())]);
    match model.secret_info(&SecretLookup::Label(label.clone())) {
        Ok(info) => {
            model.update_secret(
                &info.id,
                &SecretUpdate {
                    content: Some(content),
                    ..SecretUpdate::default()
                },
            )?;
        }
        Err(e) if is_secret_not_found(&e) => {
            model.add_secret(&NewSecret {
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
    Ok(())
}

/// Makes and stores a new key for `scope`, and logs the security event.
pub(super) fn generate(
    model: &mut Model<'_>,
    scope: Scope,
    unit: u32,
    endpoint: &str,
    algorithm: KeyAlgorithm,
) -> Result<PrivateKey, Error> {
    let key = PrivateKey::generate(algorithm)?;
    store(model, scope, unit, endpoint, &key)?;
    security_log::log(
        model,
        SecurityEvent {
            level: LogLevel::Info,
            event: "private_key_generated",
            description: "Private key generated",
            labels: vec![("key_size", key.algorithm().bits().to_string())],
        },
    );
    Ok(key)
}

/// Moves the APP key found under the legacy label to the current one.
pub(super) fn migrate_legacy_app_key(
    model: &mut Model<'_>,
    unit: u32,
    endpoint: &str,
    key: &PrivateKey,
) -> Result<(), Error> {
    let legacy = labels::legacy_app_private_key(endpoint);
    store(model, Scope::App, unit, endpoint, key)?;
    remove_by_label(model, &legacy)?;
    let _ = model.log(
        LogLevel::Info,
        &format!("migrated the APP private key from the legacy secret label {legacy}"),
    );
    Ok(())
}

/// Removes the secret labelled `label`, if there is one.
pub(super) fn remove_by_label(model: &mut Model<'_>, label: &str) -> Result<(), Error> {
    match model.secret_info(&SecretLookup::Label(label.to_owned())) {
        Ok(info) => Ok(model.remove_secret(&info.id, None)?),
        Err(e) if is_secret_not_found(&e) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
