//! The peer `tls` interface's databag keys (the reactive `interface-tls` layer with `layer-tls`),
//! and a tolerant reader of the bags. No behaviour lives here.
//!
//! What each bag of the peer relation holds:
//!
//! | bag | key | value |
//! |---|---|---|
//! | every unit's | `csr` | the unit's CSR, PEM (`TlsPeer.set_csr`) |
//! | the leader's unit bag | `<unit>_signed_certificate` | the certificate for `<unit>`'s CSR, PEM (`TlsPeer.set_cert`, the unit name as Juju spells it: `tls/1_signed_certificate`) |
//! | the application's | `certificate_authority` | the CA certificate, PEM |
//!
//! `layer-tls` shares the CA through leader settings (`leader_set`) under the same key; Juju
//! replaced leader settings with the peer relation's application bag, which every unit of the
//! application reads and only the leader writes: the same audience, the same writer. Only the
//! place differs, and no unit of another charm can be on this relation to mind it (a peer
//! relation is within one application).

use std::collections::BTreeMap;

use charm::{Databag, UnitName};

use super::Warning;

/// A unit's CSR, in its own unit bag.
pub const CSR_KEY: &str = "csr";
/// The CA certificate, in the application bag.
pub const CA_KEY: &str = "certificate_authority";
/// What follows the unit name in the key of a signed certificate.
pub const SIGNED_CERTIFICATE_SUFFIX: &str = "_signed_certificate";

/// The key under which the leader publishes `unit`'s certificate.
pub fn signed_certificate_key(unit: &UnitName) -> String {
    format!("{unit}{SIGNED_CERTIFICATE_SUFFIX}")
}

/// The unit a key names, if it is a signed-certificate key: `None` for any other key, an error
/// for a key with the suffix whose prefix is no unit name.
pub fn signed_certificate_unit(key: &str) -> Option<Result<UnitName, String>> {
    let unit = key.strip_suffix(SIGNED_CERTIFICATE_SUFFIX)?;
    Some(
        unit.parse::<UnitName>()
            .map_err(|e| format!("'{unit}' is not a unit name: {e}")),
    )
}

/// The signed certificates one bag holds, by the unit they are for (PEM text, unchecked).
/// Keys with the suffix but no unit name become warnings located at `location`.
pub fn signed_certificates(
    bag: &Databag,
    location: &str,
    warnings: &mut Vec<Warning>,
) -> BTreeMap<UnitName, String> {
    let mut out = BTreeMap::new();
    for (key, value) in bag {
        match signed_certificate_unit(key) {
            None => {}
            Some(Ok(unit)) => {
                out.insert(unit, value.clone());
            }
            Some(Err(problem)) => warnings.push(Warning {
                location: format!("{location}, key {key}"),
                problem,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn keys_are_spelled_as_the_reactive_layer_spells_them() {
        let unit: UnitName = "tls/1".parse().unwrap();
        assert_eq!(signed_certificate_key(&unit), "tls/1_signed_certificate");
    }

    #[test]
    fn other_keys_are_not_signed_certificates() {
        for key in [
            "csr",
            "certificate_authority",
            "ingress-address",
            "_signed_certificate2",
        ] {
            assert!(signed_certificate_unit(key).is_none(), "{key}");
        }
    }

    #[test]
    fn a_suffix_without_a_unit_is_a_warning_and_the_rest_is_read() {
        let bag = Databag::from([
            ("tls/0_signed_certificate".to_owned(), "A".to_owned()),
            ("nonsense_signed_certificate".to_owned(), "B".to_owned()),
            ("csr".to_owned(), "C".to_owned()),
        ]);
        let mut warnings = Vec::new();
        let read = signed_certificates(&bag, "relation 3, unit tls/1", &mut warnings);
        assert_eq!(
            read,
            BTreeMap::from([("tls/0".parse().unwrap(), "A".to_owned())])
        );
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0]
                .location
                .contains("key nonsense_signed_certificate"),
            "{:?}",
            warnings[0]
        );
    }

    proptest! {
        #[test]
        fn unit_names_round_trip(app in "[a-z][a-z0-9]{0,10}(-[a-z][a-z0-9]{0,5}){0,2}", n in 0u32..100_000) {
            let unit: UnitName = format!("{app}/{n}").parse().unwrap();
            let key = signed_certificate_key(&unit);
            prop_assert_eq!(signed_certificate_unit(&key), Some(Ok(unit)));
        }

        #[test]
        fn any_key_parses_without_panic_and_what_parses_round_trips(key in ".{0,60}") {
            if let Some(Ok(unit)) = signed_certificate_unit(&key) {
                prop_assert_eq!(signed_certificate_key(&unit), key);
            }
        }
    }
}
