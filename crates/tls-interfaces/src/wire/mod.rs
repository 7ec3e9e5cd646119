//! Databag formats only: serde types and tolerant readers. No behaviour lives here.
//!
//! Every relation databag value is a string; structured values are JSON in one key. Reading is
//! tolerant per entry: a malformed entry is skipped with a [`Warning`] that names it, and the
//! valid entries are still returned (the Python library drops the whole databag instead).

pub(crate) mod certificate_index;
pub mod certificate_transfer;
pub mod peer_tls;
pub mod reactive;
pub mod tls_certificates;

use serde::de::DeserializeOwned;

/// A problem found in data written by the other side: reported, never fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where: `relation 3, unit ca/0, key certificates[2]`.
    pub location: String,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.problem)
    }
}

/// Reads the JSON list in `value` and deserializes each element on its own; elements that do not
/// fit `T` become warnings located at `location[index]`.
pub(crate) fn read_list<T: DeserializeOwned>(
    value: Option<&String>,
    location: &str,
    warnings: &mut Vec<Warning>,
) -> Vec<T> {
    read_list_positioned(value, location, warnings)
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

/// [`read_list`], each element with its position in the list.
pub(crate) fn read_list_positioned<T: DeserializeOwned>(
    value: Option<&String>,
    location: &str,
    warnings: &mut Vec<Warning>,
) -> Vec<(usize, T)> {
    let Some(text) = value else { return Vec::new() };
    // Fast path: the whole list is well formed (the usual case, and the one that must be fast
    // for a provider bag of thousands of certificates).
    if let Ok(all) = serde_json::from_str::<Vec<T>>(text) {
        return all.into_iter().enumerate().collect();
    }
    let items: Vec<serde_json::Value> = match serde_json::from_str(text) {
        Ok(serde_json::Value::Array(items)) => items,
        Ok(other) => {
            warnings.push(Warning {
                location: location.to_owned(),
                problem: format!("expected a JSON list, found {}", kind_of(&other)),
            });
            return Vec::new();
        }
        Err(e) => {
            warnings.push(Warning {
                location: location.to_owned(),
                problem: format!("invalid JSON: {e}"),
            });
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match serde_json::from_value(item) {
            Ok(v) => out.push((i, v)),
            Err(e) => warnings.push(Warning {
                location: format!("{location}[{i}]"),
                problem: e.to_string(),
            }),
        }
    }
    out
}

/// DER of a PEM CSR, without verifying it: on the wire a request is identified by its CSR, and
/// equality of DER is equality of requests (both sides only compare, they never trust it here).
pub(crate) fn csr_der(pem_text: &str) -> Option<Vec<u8>> {
    pki::pem::parse_one(
        pem_text,
        &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"],
    )
    .ok()
    .map(|b| b.der)
}

/// Reads one JSON value of type `T`; a bad value becomes a warning and `None`.
pub(crate) fn read_value<T: DeserializeOwned>(
    value: Option<&String>,
    location: &str,
    warnings: &mut Vec<Warning>,
) -> Option<T> {
    let text = value?;
    match serde_json::from_str(text) {
        Ok(v) => Some(v),
        Err(e) => {
            warnings.push(Warning {
                location: location.to_owned(),
                problem: format!("invalid value: {e}"),
            });
            None
        }
    }
}

pub(crate) fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}
