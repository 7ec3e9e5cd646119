//! The `revoke-certificates` action: which certificates to revoke (one unit's, one
//! application's or one serial number), read from the action's parameters, and what to say
//! about them.
//!
//! Revocation is the `revoked: true` flag of the `tls-certificates` wire; this CA then issues a
//! new certificate for the same request (same key) in the same hook. No CRL or OCSP is
//! published yet, so a revoked certificate stays cryptographically valid until it expires:
//! clients that hold a copy keep trusting it.

use std::collections::BTreeMap;

use charm::{AppName, BagOwner, UnitName};
use serde::Deserialize;
use tls_interfaces::IssuedCertificate;

/// What the action tells the operator about the strength of a revocation.
pub const NOTE: &str = "revoked certificates stay cryptographically valid until they expire: \
no CRL is published yet, so a client holding one keeps trusting it; new certificates for the \
same requests (same keys) were issued at once";

/// The action's parameters, as Juju passes them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    unit: Option<String>,
    application: Option<String>,
    /// Hex text; a bare all-digit value arrives as a YAML number and is refused (quote it).
    serial: Option<serde_json::Value>,
}

/// The certificates to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Those issued for requests in one unit's bag.
    Unit(UnitName),
    /// Those issued to one application (its units' and its application bag's requests).
    Application(AppName),
    /// The one with this serial number (lowercase hex, no leading zeros).
    Serial(String),
}

impl Selector {
    /// Reads exactly one of `unit`, `application`, `serial`; an error names the problem.
    pub fn from_params(
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, String> {
        let params: Params = serde_json::from_value(serde_json::Value::Object(params.clone()))
            .map_err(|e| format!("invalid parameters: {e}"))?;
        match (params.unit, params.application, params.serial) {
            (Some(u), None, None) => u
                .parse()
                .map(Selector::Unit)
                .map_err(|e| format!("invalid unit name '{u}': {e}")),
            (None, Some(a), None) => a
                .parse()
                .map(Selector::Application)
                .map_err(|e| format!("invalid application name '{a}': {e}")),
            (None, None, Some(s)) => {
                // Juju's schema (type: string) refuses a bare number before the charm runs; the
                // local model passes it on: refuse it here, as a YAML number is not the hex text
                // the operator typed (0x1A would arrive as 26).
                let serde_json::Value::String(text) = s else {
                    return Err(format!(
                        "serial must be a string, got {s}: quote it, e.g. serial=\"'01AB'\""
                    ));
                };
                normalize_serial(&text).map(Selector::Serial).ok_or_else(|| {
                    format!(
                        "invalid serial number '{text}': expected hexadecimal digits (colons allowed)"
                    )
                })
            }
            _ => Err("give exactly one of unit, application or serial".to_owned()),
        }
    }

    /// Whether `certificate` is one of those to revoke.
    pub fn matches(&self, certificate: &IssuedCertificate) -> bool {
        match self {
            Selector::Unit(unit) => {
                matches!(&certificate.requester, Some(BagOwner::Unit(u)) if u == unit)
            }
            Selector::Application(app) => certificate.remote_app.as_ref() == Some(app),
            Selector::Serial(serial) => serial_of(certificate).as_deref() == Some(serial.as_str()),
        }
    }

    /// What the selector names, for messages.
    pub fn describe(&self) -> String {
        match self {
            Selector::Unit(u) => format!("unit {u}"),
            Selector::Application(a) => format!("application {a}"),
            Selector::Serial(s) => format!("serial {s}"),
        }
    }
}

/// The serial number of an issued certificate, normalized (`None` if it does not parse).
pub fn serial_of(certificate: &IssuedCertificate) -> Option<String> {
    pki::Certificate::from_pem(&certificate.entry.certificate)
        .ok()
        .and_then(|c| normalize_serial(&c.info().serial))
}

/// Lowercase hex without colons or leading zeros (`openssl x509 -serial` prints uppercase
/// with leading zeros; our own `pki show` lowercase).
fn normalize_serial(text: &str) -> Option<String> {
    let hex: String = text
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| *c != ':')
        .collect();
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let trimmed = hex.trim_start_matches('0').to_ascii_lowercase();
    Some(if trimmed.is_empty() {
        "0".to_owned()
    } else {
        trimmed
    })
}

/// The action's results: how many, the revoked and the new serial numbers (space-separated,
/// in the same order), and the note.
pub fn results(revoked: &[(String, Option<String>)]) -> BTreeMap<String, String> {
    let old: Vec<&str> = revoked.iter().map(|(o, _)| o.as_str()).collect();
    let new: Vec<&str> = revoked
        .iter()
        .map(|(_, n)| n.as_deref().unwrap_or("-"))
        .collect();
    BTreeMap::from([
        ("revoked".to_owned(), revoked.len().to_string()),
        ("revoked-serials".to_owned(), old.join(" ")),
        ("new-serials".to_owned(), new.join(" ")),
        ("note".to_owned(), NOTE.to_owned()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn selector(v: serde_json::Value) -> Result<Selector, String> {
        Selector::from_params(v.as_object().unwrap())
    }

    #[test]
    fn exactly_one_parameter() {
        assert!(selector(json!({})).is_err());
        assert!(selector(json!({"unit": "web/0", "serial": "01"})).is_err());
        assert!(
            selector(json!({"colour": "red"}))
                .unwrap_err()
                .contains("colour")
        );
        assert_eq!(
            selector(json!({"unit": "web/0"})).unwrap(),
            Selector::Unit("web/0".parse().unwrap())
        );
        assert!(
            selector(json!({"unit": "web"}))
                .unwrap_err()
                .contains("web")
        );
        assert!(selector(json!({"application": "Web"})).is_err());
    }

    #[test]
    fn serials_compare_as_numbers_in_any_spelling() {
        for s in ["0A:1B", "0a1b", "A1B", "0xa1b"] {
            assert_eq!(
                selector(json!({ "serial": s })).unwrap(),
                Selector::Serial("a1b".into())
            );
        }
        assert!(
            selector(json!({"serial": "xyz"}))
                .unwrap_err()
                .contains("xyz")
        );
        assert!(selector(json!({"serial": ""})).is_err());
        // `serial=1234` on the command line arrives as a YAML number: refused, quote it.
        assert!(
            selector(json!({ "serial": 1234 }))
                .unwrap_err()
                .contains("quote")
        );
    }
}
