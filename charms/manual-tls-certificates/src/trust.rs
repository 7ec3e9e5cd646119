//! `trusted-certificate-bundle`: the CA certificates published on `trust_certificate`.
//!
//! The published charm adds the bundle to what each relation already holds, so a certificate
//! removed from the option stays trusted by every requirer. Here the relations hold exactly the
//! bundle: a change replaces the set, an unset option withdraws it. An unparsable bundle changes
//! nothing (what was published stays) and blocks the unit.

use std::collections::BTreeSet;

use pki::Certificate;

/// The option's name.
pub const OPTION: &str = "trusted-certificate-bundle";

/// What the option says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bundle {
    /// Unset or blank.
    Unset,
    /// Not a PEM bundle of certificates; the reason.
    Invalid(String),
    /// The certificates, as PEM re-encoded from their DER (nothing else of the text is kept).
    Certificates(BTreeSet<String>),
}

/// Reads the option's value.
pub fn read(value: Option<&str>) -> Bundle {
    let text = match value {
        Some(t) if !t.trim().is_empty() => t,
        _ => return Bundle::Unset,
    };
    match Certificate::all_from_pem(text) {
        Ok(list) if list.is_empty() => Bundle::Invalid("no CERTIFICATE block".into()),
        Ok(list) => Bundle::Certificates(list.iter().map(|c| c.pem().trim().to_owned()).collect()),
        Err(e) => Bundle::Invalid(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use pki::{CertificateAuthority, KeyAlgorithm, PrivateKey, RequestAttributes};

    use super::*;

    fn ca_pem(cn: &str) -> String {
        CertificateAuthority::self_signed_root(
            &RequestAttributes::new(cn),
            PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap(),
            time::Duration::days(30),
            time::OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap(),
        )
        .unwrap()
        .certificate()
        .pem()
        .to_owned()
    }

    #[test]
    fn blank_is_unset_and_garbage_is_invalid() {
        assert_eq!(read(None), Bundle::Unset);
        assert_eq!(read(Some("  \n")), Bundle::Unset);
        assert!(matches!(read(Some("hello")), Bundle::Invalid(_)));
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        assert!(matches!(
            read(Some(&key.to_pkcs8_pem())),
            Bundle::Invalid(_)
        ));
    }

    #[test]
    fn a_bundle_is_its_certificates_and_nothing_else() {
        let (a, b) = (ca_pem("A"), ca_pem("B"));
        let text = format!("# comment\n{a}\n\n{b}");
        let Bundle::Certificates(set) = read(Some(&text)) else {
            panic!("not read")
        };
        assert_eq!(
            set,
            BTreeSet::from([a.trim().to_owned(), b.trim().to_owned()])
        );
    }
}
