//! The application's CA: made by the first leader, kept in an application-owned Juju secret
//! (the key never goes into relation data or a file), so whichever unit leads later signs with
//! the same CA and every certificate issued before stays valid. Its certificate is published
//! in the application bag under `certificate_authority`.

use std::collections::BTreeMap;

use charm::{Model, NewSecret, SecretContent, SecretLookup, SecretOwner, SecretRead};
use pki::{CertificateAuthority, KeyAlgorithm, PrivateKey, RequestAttributes};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, is_secret_not_found};

/// Content key of the CA certificate (PEM) in the secret.
const CERTIFICATE: &str = "ca-certificate";
/// Content key of the CA private key (PKCS#8 PEM) in the secret.
const KEY: &str = "private-key";

/// The label of the CA secret of `endpoint`.
pub(crate) fn label(endpoint: &str) -> String {
    format!("peer-tls-ca-{endpoint}")
}

/// What a new CA is made of.
pub(crate) struct CaSpec<'a> {
    /// Its common name.
    pub(crate) common_name: &'a str,
    /// Its key algorithm.
    pub(crate) algorithm: KeyAlgorithm,
    /// Its validity.
    pub(crate) validity: Duration,
}

/// The CA, made and stored on first use. Leader only (application secrets are the leader's to
/// create).
pub(crate) fn ensure(
    model: &mut Model<'_>,
    endpoint: &str,
    spec: &CaSpec<'_>,
    now: OffsetDateTime,
) -> Result<CertificateAuthority, Error> {
    let label = label(endpoint);
    match model.secret(&SecretLookup::Label(label.clone()), SecretRead::Tracked) {
        Ok(content) => {
            let field = |name: &str| {
                content
                    .get(name)
                    .ok_or_else(|| Error::State(format!("secret {label} has no '{name}' key")))
            };
            CertificateAuthority::from_pem(field(CERTIFICATE)?, field(KEY)?)
                .map_err(|e| Error::State(format!("secret {label} does not hold a usable CA: {e}")))
        }
        Err(e) if is_secret_not_found(&e) => {
            let key = PrivateKey::generate(spec.algorithm)?;
            let mut subject = RequestAttributes::new(spec.common_name);
            subject.add_unique_id_to_subject_name = false;
            let ca = CertificateAuthority::self_signed_root(&subject, key, spec.validity, now)?;
            let content: SecretContent = BTreeMap::from([
                (
                    CERTIFICATE.to_owned(),
                    ca.certificate().pem().trim().to_owned(),
                ),
                (KEY.to_owned(), ca.key().to_pkcs8_pem().to_string()),
            ]);
            model.add_secret(&NewSecret {
                content,
                label: Some(label),
                description: Some("the CA of the peer tls relation".into()),
                expire: None,
                rotate: None,
                owner: SecretOwner::Application,
            })?;
            Ok(ca)
        }
        Err(e) => Err(e.into()),
    }
}
