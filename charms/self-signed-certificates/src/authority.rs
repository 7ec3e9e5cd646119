//! The CA, kept only in an application-owned Juju secret (label and content keys of the published
//! charm: `active-ca-certificates`, `private-key`, `ca-certificate`), so any unit can read it and a
//! new leader continues with the same CA. The secret expires at the CA's renewal time, so Juju
//! wakes the leader (`secret-expired`) when the CA must be renewed.
//!
//! The published charm, when it renews, moves the old CA (key included) to a second secret,
//! `expiring-ca-certificates`, and never reads it again. After a refresh from it we only need to
//! know which CA that is, to remove the secret once the CA is no longer published.

use std::collections::BTreeMap;

use charm::{
    BackendError, Error as ModelError, Model, NewSecret, SecretId, SecretLookup, SecretOwner,
    SecretRead, SecretUpdate,
};
use pki::{AttributeType, Certificate, CertificateAuthority, DistinguishedName, PrivateKey};
use time::{Duration, OffsetDateTime};

use crate::config::Config;

/// Label of the CA secret (the published charm's).
pub const ACTIVE_LABEL: &str = "active-ca-certificates";
/// Label of the secret where the published charm keeps its previous CA after a renewal.
pub const EXPIRING_LABEL: &str = "expiring-ca-certificates";
/// Label of the secret of the next CA: made `ca-renewal-notice` before the renewal and
/// published at once, so clients trust it before anything is issued under it.
pub const NEXT_LABEL: &str = "next-ca-certificates";
const KEY: &str = "private-key";
const CERTIFICATE: &str = "ca-certificate";

/// The CA with where it is kept.
pub struct StoredCa {
    /// The CA.
    pub ca: CertificateAuthority,
    /// Its secret, when known: set for a CA just created; a loaded CA reads by label and leaves
    /// the id (leader-only metadata) to be looked up when the CA is replaced.
    pub secret: Option<SecretId>,
}

impl StoredCa {
    /// When to renew: root validity minus certificate validity after the CA's start, as the
    /// published charm does, so every leaf it signed expires before it does.
    pub fn renew_at(&self, config: &Config) -> OffsetDateTime {
        self.ca.certificate().info().not_after - config.certificate_validity
    }

    /// When the next CA is made and published: `ca-renewal-notice` before the renewal, but not
    /// before half the time from this CA's start to its renewal (a notice longer than the CA's
    /// life would make a next CA at once, every time).
    pub fn publish_next_at(&self, config: &Config) -> OffsetDateTime {
        let renew_at = self.renew_at(config);
        let span = renew_at - self.ca.certificate().info().not_before;
        renew_at - config.renewal_notice.min(span / 2)
    }

    /// Whether the CA is what the configuration asks for (subject, key algorithm, root validity).
    /// The subject is compared attribute by attribute, ignoring `x500UniqueIdentifier`: the
    /// published charm's CAs carry a random one, and a CA it made must be kept on refresh.
    pub fn matches(&self, config: &Config) -> bool {
        let info = self.ca.certificate().info();
        let mut wanted = config.subject.clone();
        wanted.add_unique_id_to_subject_name = false;
        let Ok(expected) = wanted.to_csr(self.ca.key()) else {
            return false;
        };
        let lifetime = info.not_after - info.not_before;
        // Issuing back-dates the start by a few minutes; allow for it.
        let validity_matches = (lifetime - config.root_validity).abs() <= Duration::minutes(10);
        same_subject(expected.subject(), &info.subject)
            && self.ca.key().algorithm() == config.key_algorithm
            && validity_matches
    }
}

/// The same attributes (type and value), whatever their order, ignoring unique identifiers.
fn same_subject(a: &DistinguishedName, b: &DistinguishedName) -> bool {
    let significant = |n: &DistinguishedName| {
        let mut v: Vec<(String, String)> = n
            .attributes()
            .iter()
            .filter(|(t, _)| *t != AttributeType::UniqueIdentifier)
            .map(|(t, value)| (t.short_name().to_owned(), value.clone()))
            .collect();
        v.sort();
        v
    };
    significant(a) == significant(b)
}

/// Why the CA could not be read or stored.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    /// Juju failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The secret holds something unusable.
    #[error("the CA secret '{ACTIVE_LABEL}' is unusable: {0}")]
    Corrupt(String),
    /// Making the key or certificate failed.
    #[error(transparent)]
    Pki(#[from] pki::Error),
}

/// Reads the CA, if there is one.
/// Every unit reads by label (one `secret-get`); the secret's id, which only the leader can
/// see, is looked up when the CA is replaced.
pub fn load(model: &mut Model<'_>) -> Result<Option<StoredCa>, AuthorityError> {
    load_label(model, ACTIVE_LABEL)
}

/// Reads the next CA, if one was made. Leader only (it is only needed there).
pub fn load_next(model: &mut Model<'_>) -> Result<Option<StoredCa>, AuthorityError> {
    load_label(model, NEXT_LABEL)
}

fn load_label(model: &mut Model<'_>, label: &str) -> Result<Option<StoredCa>, AuthorityError> {
    let content = match model.secret(&SecretLookup::Label(label.into()), SecretRead::Refresh) {
        Ok(c) => c,
        Err(ModelError::Backend(BackendError::SecretNotFound(_))) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let cert = content
        .get(CERTIFICATE)
        .ok_or_else(|| AuthorityError::Corrupt(format!("no '{CERTIFICATE}'")))?;
    let key = content
        .get(KEY)
        .ok_or_else(|| AuthorityError::Corrupt(format!("no '{KEY}'")))?;
    let ca = CertificateAuthority::from_pem(cert, key)
        .map_err(|e| AuthorityError::Corrupt(e.to_string()))?;
    Ok(Some(StoredCa { ca, secret: None }))
}

/// The id of the secret labelled `label`, if there is one (leader only: the metadata of an
/// application secret is the leader's).
fn secret_id(model: &mut Model<'_>, label: &str) -> Result<Option<SecretId>, AuthorityError> {
    match model.secret_info(&SecretLookup::Label(label.into())) {
        Ok(info) => Ok(Some(info.id)),
        Err(ModelError::Backend(BackendError::SecretNotFound(_))) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// What the published charm left in `expiring-ca-certificates`, if that secret exists: its CA
/// certificate, or `None` when the content is unusable (no certificate, or one that does not
/// parse: nothing can chain to it). Leader only.
pub fn expiring_ca(model: &mut Model<'_>) -> Result<Option<Option<Certificate>>, AuthorityError> {
    let content = match model.secret(
        &SecretLookup::Label(EXPIRING_LABEL.into()),
        SecretRead::Refresh,
    ) {
        Ok(c) => c,
        Err(ModelError::Backend(BackendError::SecretNotFound(_))) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    Ok(Some(
        content
            .get(CERTIFICATE)
            .and_then(|pem| Certificate::from_pem(pem).ok()),
    ))
}

/// Removes `expiring-ca-certificates` (every revision), if it exists. Leader only.
pub fn remove_expiring(model: &mut Model<'_>) -> Result<(), AuthorityError> {
    if let Some(id) = secret_id(model, EXPIRING_LABEL)? {
        model.remove_secret(&id, None)?;
    }
    Ok(())
}

/// Makes a new CA for `config` now.
fn make(model: &Model<'_>, config: &Config) -> Result<CertificateAuthority, AuthorityError> {
    let now = OffsetDateTime::from_unix_timestamp(model.now())
        .map_err(|e| AuthorityError::Corrupt(e.to_string()))?;
    let key = PrivateKey::generate(config.key_algorithm).map_err(pki::Error::from)?;
    Ok(CertificateAuthority::self_signed_root(
        &config.subject,
        key,
        config.root_validity,
        now,
    )?)
}

/// Makes a new CA for `config` and stores it as the active one (replacing the content of
/// `existing`, or adding the secret). Leader only.
pub fn create(
    model: &mut Model<'_>,
    config: &Config,
    existing: Option<&SecretId>,
) -> Result<StoredCa, AuthorityError> {
    let ca = make(model, config)?;
    activate(model, config, ca, existing)
}

/// Makes the next CA and stores it under [`NEXT_LABEL`]; the active CA's secret then expires at
/// the renewal, when the next CA takes over. Leader only.
pub fn create_next(
    model: &mut Model<'_>,
    config: &Config,
    active: &StoredCa,
) -> Result<StoredCa, AuthorityError> {
    let ca = make(model, config)?;
    let secret = model.add_secret(&NewSecret {
        content: content(&ca)?,
        label: Some(NEXT_LABEL.into()),
        description: Some(
            "the next self-signed CA, published ahead of its use: private key and certificate"
                .into(),
        ),
        expire: None,
        rotate: None,
        owner: SecretOwner::Application,
    })?;
    if let Some(id) = active_id(model, active)? {
        model.update_secret(
            &id,
            &SecretUpdate {
                expire: Some(rfc3339(active.renew_at(config))?),
                ..SecretUpdate::default()
            },
        )?;
    }
    Ok(StoredCa {
        ca,
        secret: Some(secret),
    })
}

/// Makes `next` the active CA (its content moves to the active secret) and removes the next
/// CA's secret. Leader only.
pub fn promote(
    model: &mut Model<'_>,
    config: &Config,
    next: StoredCa,
    active: &StoredCa,
) -> Result<StoredCa, AuthorityError> {
    let existing = active_id(model, active)?;
    let stored = activate(model, config, next.ca, existing.as_ref())?;
    discard_next(model)?;
    Ok(stored)
}

/// Removes the next CA's secret, if there is one (a new CA was made another way). Leader only.
pub fn discard_next(model: &mut Model<'_>) -> Result<(), AuthorityError> {
    if let Some(id) = secret_id(model, NEXT_LABEL)? {
        model.remove_secret(&id, None)?;
    }
    Ok(())
}

fn active_id(model: &mut Model<'_>, active: &StoredCa) -> Result<Option<SecretId>, AuthorityError> {
    match &active.secret {
        Some(id) => Ok(Some(id.clone())),
        None => secret_id(model, ACTIVE_LABEL),
    }
}

fn rfc3339(t: OffsetDateTime) -> Result<String, AuthorityError> {
    t.format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| AuthorityError::Corrupt(e.to_string()))
}

fn content(ca: &CertificateAuthority) -> Result<BTreeMap<String, String>, AuthorityError> {
    Ok(BTreeMap::from([
        (
            KEY.to_owned(),
            ca.key()
                .to_traditional_pem()
                .map_err(pki::Error::from)?
                .to_string(),
        ),
        (
            CERTIFICATE.to_owned(),
            ca.certificate().pem().trim().to_owned(),
        ),
    ]))
}

/// Stores `ca` in the active secret, which expires when the next CA is due to be published (Juju
/// then wakes the leader with `secret-expired`).
fn activate(
    model: &mut Model<'_>,
    config: &Config,
    ca: CertificateAuthority,
    existing: Option<&SecretId>,
) -> Result<StoredCa, AuthorityError> {
    let mut stored = StoredCa { ca, secret: None };
    let expire = rfc3339(stored.publish_next_at(config))?;
    let content = content(&stored.ca)?;
    let existing = match existing {
        Some(id) => Some(id.clone()),
        None => secret_id(model, ACTIVE_LABEL)?,
    };
    let secret = match existing {
        Some(id) => {
            model.update_secret(
                &id,
                &SecretUpdate {
                    content: Some(content),
                    expire: Some(expire),
                    ..SecretUpdate::default()
                },
            )?;
            id
        }
        None => model.add_secret(&NewSecret {
            content,
            label: Some(ACTIVE_LABEL.into()),
            description: Some("the self-signed CA: private key and certificate".into()),
            expire: Some(expire),
            rotate: None,
            owner: SecretOwner::Application,
        })?,
    };
    stored.secret = Some(secret);
    Ok(stored)
}
