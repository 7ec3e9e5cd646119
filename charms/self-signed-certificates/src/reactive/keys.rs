//! The private keys the CA made for reactive requirers, in one application-owned Juju secret
//! (label [`LABEL`]), never in charm state: any unit that becomes leader reads the same keys, so
//! a leader change re-keys nobody, and Juju keeps them as it keeps the CA's key.
//!
//! One content key per certificate, `k-<16 hex digits>` (a hash of the relation, the unit's
//! wire name, the request type and common name: secret content keys allow only lower-case
//! letters, digits and hyphens). A reconcile marks every key it uses; [`KeyStore::save`] drops
//! the others (a unit, a request or a relation gone) and removes the secret once it is empty.

use std::collections::BTreeSet;

use charm::{
    BackendError, Error as ModelError, Model, NewSecret, SecretContent, SecretLookup, SecretOwner,
    SecretRead, SecretUpdate,
};
use pki::{KeyAlgorithm, PrivateKey};

/// Label of the secret.
pub const LABEL: &str = "reactive-wire-keys";

/// The algorithm of the keys made: RSA-2048, what easyrsa makes, so the files a reactive charm
/// receives look like those it received before.
const ALGORITHM: KeyAlgorithm = KeyAlgorithm::Rsa2048;

/// The secret's content as loaded, and what this reconcile uses.
pub struct KeyStore {
    loaded: Option<SecretContent>,
    content: SecretContent,
    used: BTreeSet<String>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("keys", &self.content.len())
            .finish_non_exhaustive()
    }
}

/// Why a key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Juju failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Making a key failed.
    #[error(transparent)]
    Pki(#[from] pki::KeyError),
}

impl KeyStore {
    /// Reads the secret (leader only; none yet is an empty store).
    pub fn load(model: &mut Model<'_>) -> Result<Self, KeyError> {
        let loaded = match model.secret(&SecretLookup::Label(LABEL.into()), SecretRead::Refresh) {
            Ok(c) => Some(c),
            Err(ModelError::Backend(BackendError::SecretNotFound(_))) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(Self {
            content: loaded.clone().unwrap_or_default(),
            loaded,
            used: BTreeSet::new(),
        })
    }

    /// The key of the certificate `id` (relation, unit, type, common name), made on first use;
    /// `true` with it when it was just made (or the stored one was unreadable and replaced).
    pub fn key_for(&mut self, id: &str) -> Result<(PrivateKey, bool), KeyError> {
        let slot = content_key(id);
        self.used.insert(slot.clone());
        if let Some(pem) = self.content.get(&slot)
            && let Ok(key) = PrivateKey::from_pem(pem)
        {
            return Ok((key, false));
        }
        let key = PrivateKey::generate(ALGORITHM)?;
        self.content
            .insert(slot, key.to_pkcs8_pem().as_str().to_owned());
        Ok((key, true))
    }

    /// Writes what changed: keys not used in this reconcile are dropped; an empty store
    /// removes the secret. Returns how many keys are kept.
    pub fn save(mut self, model: &mut Model<'_>) -> Result<usize, KeyError> {
        self.content.retain(|k, _| self.used.contains(k));
        let kept = self.content.len();
        match (&self.loaded, kept) {
            (None, 0) => {}
            (None, _) => {
                model.add_secret(&NewSecret {
                    content: self.content,
                    label: Some(LABEL.into()),
                    description: Some(
                        "private keys this CA made for requirers on the reactive tls-certificates wire (reactive-wire=true)"
                            .into(),
                    ),
                    expire: None,
                    rotate: None,
                    owner: SecretOwner::Application,
                })?;
            }
            (Some(old), _) if *old == self.content => {}
            (Some(_), 0) => remove(model)?,
            (Some(_), _) => {
                let id = model.secret_info(&SecretLookup::Label(LABEL.into()))?.id;
                model.update_secret(
                    &id,
                    &SecretUpdate {
                        content: Some(self.content),
                        ..SecretUpdate::default()
                    },
                )?;
            }
        }
        Ok(kept)
    }
}

/// Removes the secret, if there is one (leader only).
pub fn remove(model: &mut Model<'_>) -> Result<(), KeyError> {
    match model.secret_info(&SecretLookup::Label(LABEL.into())) {
        Ok(info) => Ok(model.remove_secret(&info.id, None)?),
        Err(ModelError::Backend(BackendError::SecretNotFound(_))) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `k-` and 16 hex digits of a 64-bit FNV-1a hash of `id`: a valid secret content key for any
/// id. Only this charm reads it back, so the hash only has to be stable.
fn content_key(id: &str) -> String {
    let h = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("k-{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_keys_are_valid_secret_keys_and_stable() {
        let k = content_key("certificates:3\0web_0\0server\0web-0.example");
        assert_eq!(k.len(), 18);
        assert!(k.starts_with("k-"));
        assert!(
            k[2..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(
            k,
            content_key("certificates:3\0web_0\0server\0web-0.example")
        );
        assert_ne!(
            k,
            content_key("certificates:3\0web_0\0client\0web-0.example")
        );
    }
}
