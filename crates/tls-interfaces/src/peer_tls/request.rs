//! The unit's CSR ("create certificate signing request"), sans I/O: the one its bag holds is
//! kept while it is for the unit's key and asks for what the charm asks; otherwise a new one
//! is made with the same key. Keeping it matters: a CSR carries a fresh signature each time it
//! is made, and every new text would have the leader sign again.

use pki::{Csr, PrivateKey, RequestAttributes};

/// The attributes a peer CSR asks for: the charm's, without the random unique identifier the
/// Python library adds by default (a peer CSR is compared by what it asks, and only its
/// unit's key ever answers it).
pub(crate) fn wanted(attributes: &RequestAttributes) -> RequestAttributes {
    RequestAttributes {
        add_unique_id_to_subject_name: false,
        ..attributes.clone()
    }
}

/// The published CSR, if it still fits `key` and `wanted`.
pub(crate) fn still_fits(
    published: Option<&str>,
    key: &PrivateKey,
    wanted: &RequestAttributes,
) -> Option<Csr> {
    let csr = Csr::from_pem(published?).ok()?;
    (csr.matches_key(key) && csr.attributes() == *wanted).then_some(csr)
}

/// The CSR to publish: the published one when it fits, else a new one.
pub(crate) fn current(
    published: Option<&str>,
    key: &PrivateKey,
    wanted: &RequestAttributes,
) -> Result<(Csr, bool), pki::Error> {
    match still_fits(published, key, wanted) {
        Some(csr) => Ok((csr, false)),
        None => Ok((wanted.to_csr(key)?, true)),
    }
}
