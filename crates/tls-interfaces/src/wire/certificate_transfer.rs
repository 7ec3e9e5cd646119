//! The `certificate_transfer` wire, v1 and v0 (charmlibs certificate-transfer 1.1.0).
//!
//! v1: the requirer's leader writes `version` = `1` in its app bag; the provider writes
//! `certificates` (a JSON list used as a set) and `version` = `1` in its app bag.
//! v0: the provider writes `ca`, `certificate` (JSON-quoted PEM strings; the original v0
//! library wrote raw PEM, which we also read), `chain` (JSON list) and `version` = `0` in its
//! leader's unit bag.

use std::collections::BTreeSet;

use charm::Databag;

use super::{Warning, read_list};

/// App/unit bag key of the version.
pub const VERSION_KEY: &str = "version";
/// v1 provider app bag key.
pub const CERTIFICATES_KEY: &str = "certificates";
/// v0 provider unit bag keys.
pub const V0_CA_KEY: &str = "ca";
/// v0 provider unit bag key.
pub const V0_CERTIFICATE_KEY: &str = "certificate";
/// v0 provider unit bag key.
pub const V0_CHAIN_KEY: &str = "chain";

/// Reads a v0 `ca` / `certificate` value: JSON-quoted PEM (current Python provider) or raw PEM
/// (the original v0 library).
pub fn read_v0_pem(value: &str) -> Option<String> {
    let trimmed = value.trim();
    if trimmed.starts_with('"') {
        serde_json::from_str::<String>(trimmed).ok()
    } else if trimmed.starts_with("-----BEGIN") {
        Some(trimmed.to_owned())
    } else {
        None
    }
}

/// Reads the v0 data of one unit bag: every PEM in `chain`, `ca` and `certificate`, trimmed.
/// A malformed value is skipped with a warning; the others are still read.
pub(crate) fn read_v0_bag(
    bag: &Databag,
    location: &str,
    warnings: &mut Vec<Warning>,
) -> BTreeSet<String> {
    let chain: Vec<String> = read_list(
        bag.get(V0_CHAIN_KEY),
        &format!("{location}, key {V0_CHAIN_KEY}"),
        warnings,
    );
    let mut set: BTreeSet<String> = chain.into_iter().map(|p| p.trim().to_owned()).collect();
    for key in [V0_CA_KEY, V0_CERTIFICATE_KEY] {
        if let Some(value) = bag.get(key) {
            match read_v0_pem(value) {
                Some(pem) => {
                    set.insert(pem);
                }
                None => warnings.push(Warning {
                    location: format!("{location}, key {key}"),
                    problem: "neither a JSON string nor a PEM certificate".into(),
                }),
            }
        }
    }
    set
}

/// Whether `bag` holds any v0 key.
pub(crate) fn has_v0_data(bag: &Databag) -> bool {
    [V0_CA_KEY, V0_CERTIFICATE_KEY, V0_CHAIN_KEY]
        .iter()
        .any(|k| bag.contains_key(*k))
}

/// Whether a `version` value is one the Python library's schema accepts: JSON for an integer
/// (`1`, `1.0`, `"1"`, or a boolean, as pydantic's lax mode reads them).
pub(crate) fn is_valid_version(value: &str) -> bool {
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::Number(n)) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        Ok(serde_json::Value::Bool(_)) => true,
        Ok(serde_json::Value::String(s)) => s.trim().parse::<i64>().is_ok(),
        _ => false,
    }
}
