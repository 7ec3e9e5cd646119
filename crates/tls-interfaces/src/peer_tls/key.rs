//! The unit's private key: made on the unit, kept only in a unit-owned Juju secret (as the
//! requirer keeps its keys), never in relation data or a file. Made once: a leader change, a
//! renewal or a changed request reuses it, so peers that pinned it see no change.

use std::collections::BTreeMap;

use charm::{LogLevel, Model, NewSecret, SecretContent, SecretLookup, SecretOwner, SecretRead};
use pki::{KeyAlgorithm, PrivateKey};

use crate::error::{Error, is_secret_not_found};
use crate::labels::PRIVATE_KEY_KEY;
use crate::security_log::{self, SecurityEvent};

/// The label of the key secret of `endpoint`.
pub(crate) fn label(endpoint: &str) -> String {
    format!("peer-tls-private-key-{endpoint}")
}

/// The unit's key, if it has made one.
pub(crate) fn read(model: &mut Model<'_>, endpoint: &str) -> Result<Option<PrivateKey>, Error> {
    let label = label(endpoint);
    let content = match model.secret(&SecretLookup::Label(label.clone()), SecretRead::Tracked) {
        Ok(content) => content,
        Err(e) if is_secret_not_found(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let pem = content
        .get(PRIVATE_KEY_KEY)
        .ok_or_else(|| Error::State(format!("secret {label} has no '{PRIVATE_KEY_KEY}' key")))?;
    PrivateKey::from_pem(pem).map(Some).map_err(|e| {
        Error::State(format!(
            "secret {label} does not hold a usable private key: {e}"
        ))
    })
}

/// The unit's key, made and stored on first use.
pub(crate) fn ensure(
    model: &mut Model<'_>,
    endpoint: &str,
    algorithm: KeyAlgorithm,
) -> Result<PrivateKey, Error> {
    match read(model, endpoint)? {
        Some(key) => Ok(key),
        None => {
            let label = label(endpoint);
            let key = PrivateKey::generate(algorithm)?;
            let content: SecretContent = BTreeMap::from([(
                PRIVATE_KEY_KEY.to_owned(),
                key.to_traditional_pem()?.to_string(),
            )]);
            model.add_secret(&NewSecret {
                content,
                label: Some(label),
                description: Some("private key of this unit's peer tls certificate".into()),
                expire: None,
                rotate: None,
                owner: SecretOwner::Unit,
            })?;
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
    }
}
