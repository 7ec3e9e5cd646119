//! Secret labels and content keys, identical to the Python library's so a charm that moves from
//! it keeps its keys and certificates. Source: charmlibs tls-certificates 1.12.0,
//! `_tls_certificates.py` (`_get_private_key_secret_label`, `_get_csr_secret_label`) and
//! `_backwards_compatibility.py` (the older labels it still reads).

use crate::requirer::Scope;

/// The Python library's LIBID, the prefix of every label.
pub const LIBID: &str = "afd8c2bccf834997afce12c2706d2ede";
/// Content key of the private key secret (traditional PEM).
pub const PRIVATE_KEY_KEY: &str = "private-key";
/// Content key of a certificate secret: the certificate PEM.
pub const CERTIFICATE_KEY: &str = "certificate";
/// Content key of a certificate secret: the CSR PEM.
pub const CSR_KEY: &str = "csr";

/// Label of the private key secret of `scope`.
pub fn private_key(scope: Scope, unit_number: u32, endpoint: &str) -> String {
    match scope {
        Scope::Unit => format!("{LIBID}-private-key-{unit_number}-{endpoint}"),
        Scope::App => format!("{LIBID}-private-key-app-{endpoint}"),
    }
}

/// Label older versions used for the APP private key (possibly unit-owned); migrated by the
/// leader to [`private_key`]`(Scope::App, ..)`.
pub fn legacy_app_private_key(endpoint: &str) -> String {
    format!("{LIBID}-private-key-{endpoint}")
}

/// Label of the secret holding the certificate for a CSR (`csr_sha256` = hex SHA-256 of the
/// CSR's PEM text as the Python library prints it, stripped).
pub fn certificate(scope: Scope, unit_number: u32, endpoint: &str, csr_sha256: &str) -> String {
    match scope {
        Scope::Unit => format!("{LIBID}-certificate-{unit_number}-{endpoint}-{csr_sha256}"),
        Scope::App => format!("{LIBID}-certificate-{endpoint}-{csr_sha256}"),
    }
}

/// The label older versions used, without the endpoint.
pub fn legacy_certificate(scope: Scope, unit_number: u32, csr_sha256: &str) -> String {
    match scope {
        Scope::Unit => format!("{LIBID}-certificate-{unit_number}-{csr_sha256}"),
        Scope::App => format!("{LIBID}-certificate-{csr_sha256}"),
    }
}

/// Prefix of the certificate secrets of one endpoint (used to clean up on relation-broken).
pub fn certificate_prefix(scope: Scope, unit_number: u32, endpoint: &str) -> String {
    match scope {
        Scope::Unit => format!("{LIBID}-certificate-{unit_number}-{endpoint}-"),
        Scope::App => format!("{LIBID}-certificate-{endpoint}-"),
    }
}

/// Whether a label is one of our certificate secrets (any version).
pub fn is_certificate(label: &str) -> bool {
    label.starts_with(&format!("{LIBID}-certificate"))
}

/// SHA-256 hex of a CSR's canonical PEM (what the Python library hashes).
pub fn csr_sha256(canonical_pem: &str) -> String {
    hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical_pem.as_bytes(),
    ))
}
