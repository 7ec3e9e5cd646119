//! The opt-in fallback of [`TlsClient`](super::TlsClient) to the reactive `tls-certificates`
//! wire ([`crate::wire::reactive`]), for a provider that speaks nothing else (easyrsa and other
//! `charms.reactive` providers). **On that wire the provider makes the private keys and sends
//! them over the relation**, readable by every unit of this application and stored by the
//! controller: the weakness the current wire removed. The charm must allow it
//! ([`TlsClient::allow_reactive_wire`](super::TlsClient::allow_reactive_wire)); it is never
//! chosen on its own.
//!
//! How the provider's wire is told ([`detect`]), on the endpoint's relation, every hook:
//! 1. the provider application's bag holds `certificates` -> the current wire;
//! 2. else a provider unit's bag holds `ca` -> the reactive wire (a reactive provider publishes
//!    its CA as soon as the relation joins, before any request);
//! 3. else -> the current wire: CSRs are sent and the client waits (a current provider
//!    publishes only once it has signed something).
//!
//! On the reactive wire this unit writes in its unit bag what the layer's requires side writes
//! ([`request_bag`]): `unit_name`, the first server request at the top level (`common_name`,
//! `sans`, `certificate_name`), the other server requests in `cert_requests` and the client
//! requests in `client_cert_requests`; its `certificate_signing_requests` are withdrawn. It
//! reads `ca`, `chain`, `<u>.server.cert` / `.server.key` and `<u>.processed_requests` /
//! `processed_client_requests` from the provider's units ([`receive`]). A value that is not
//! usable (bad JSON, not PEM, a key that is not the certificate's) is a [`WireError`] naming the
//! key; everything else is still used.

use pki::{Certificate, PrivateKey};
use zeroize::Zeroizing;

use super::{CertKind, RequestedCertificate};
use crate::wire::reactive::{
    self, Bag, CA_KEY, CERTIFICATE_NAME_KEY, CHAIN_KEY, ProviderBag, Request, RequestType,
    RequirerBag, WireError,
};
use crate::wire::tls_certificates::{CERTIFICATES_KEY, CSRS_KEY};

/// The wire a provider speaks, as told from what it published ([`detect`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderWire {
    /// `certificates` in its application bag, or nothing published yet.
    Current,
    /// No `certificates`, and `ca` in a unit bag: only the reactive wire.
    ReactiveOnly,
}

/// The provider's wire from its application bag and its units' bags (see the module docs).
pub fn detect<'a>(app: &Bag, units: impl IntoIterator<Item = &'a Bag>) -> ProviderWire {
    if app.contains_key(CERTIFICATES_KEY) {
        return ProviderWire::Current;
    }
    if units.into_iter().any(reactive::is_reactive_provider) {
        ProviderWire::ReactiveOnly
    } else {
        ProviderWire::Current
    }
}

/// The request answered in the top-level keys: the first server request, as the layer's
/// first `request_server_cert`.
fn top_level(requests: &[RequestedCertificate]) -> Option<usize> {
    requests.iter().position(|r| r.kind == CertKind::Server)
}

/// The SANs of a request as the reactive wire spells them (DNS names and IP addresses), and
/// those it cannot carry (OIDs, emails, URIs), as `KIND:value`.
fn wire_sans(r: &RequestedCertificate) -> (Vec<String>, Vec<String>) {
    let sans = &r.attributes.sans;
    let mut names: Vec<String> = sans.dns.iter().cloned().collect();
    names.extend(sans.ip.iter().map(ToString::to_string));
    names.sort();
    names.dedup();
    let mut dropped = Vec::new();
    dropped.extend(sans.oid.iter().map(|v| format!("OID:{v}")));
    dropped.extend(sans.email.iter().map(|v| format!("email:{v}")));
    dropped.extend(sans.uri.iter().map(|v| format!("URI:{v}")));
    (names, dropped)
}

/// A stable `certificate_name` (the layer uses a random UUID; nothing reads it, but a new one
/// every hook would wake the provider every hook).
fn certificate_name(unit: &str, common_name: &str) -> String {
    let h = xxhash_rust::xxh3::xxh3_128(format!("{unit}\0{common_name}").as_bytes());
    let s = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &s[..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..]
    )
}

/// What unit `unit` writes for `requests` on the reactive wire, and the SANs left out (the
/// wire carries only DNS names and IP addresses).
pub(crate) fn request_bag(unit: &str, requests: &[RequestedCertificate]) -> (Bag, Vec<String>) {
    let top = top_level(requests);
    let mut parsed = RequirerBag {
        unit_name: Some(reactive::unit_key(unit)),
        ..RequirerBag::default()
    };
    let mut dropped = Vec::new();
    for (i, r) in requests.iter().enumerate() {
        let (sans, left_out) = wire_sans(r);
        dropped.extend(
            left_out
                .into_iter()
                .map(|s| format!("{}: {s}", r.common_name)),
        );
        let kind = match r.kind {
            CertKind::Server => RequestType::Server,
            CertKind::Client => RequestType::Client,
        };
        let request = Request {
            kind,
            common_name: r.common_name.clone(),
            sans,
        };
        if Some(i) == top {
            parsed.certificate_name = Some(certificate_name(unit, &r.common_name));
            parsed.top_level = Some(request);
        } else {
            parsed.requests.push(request);
        }
    }
    parsed.requests.sort();
    (parsed.to_bag(), dropped)
}

/// Every key the reactive requires side writes.
fn is_request_key(key: &str) -> bool {
    matches!(
        key,
        reactive::UNIT_NAME_KEY
            | reactive::COMMON_NAME_KEY
            | reactive::SANS_KEY
            | CERTIFICATE_NAME_KEY
    ) || RequestType::from_requests_key(key).is_some()
}

/// The writes that make our unit bag hold `wanted` on the reactive wire: changed values, other
/// reactive request keys deleted, and our CSRs withdrawn (a provider speaking both wires must
/// not see two kinds of request from one unit). Juju's own keys are left alone.
pub(crate) fn request_changes(current: &Bag, wanted: &Bag) -> Bag {
    let mut out: Bag = wanted
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for k in current.keys() {
        if (is_request_key(k) && !wanted.contains_key(k)) || k == CSRS_KEY {
            out.insert(k.clone(), String::new());
        }
    }
    out
}

/// The writes that withdraw our reactive requests (back on the current wire).
pub(crate) fn withdraw_changes(current: &Bag) -> Bag {
    current
        .keys()
        .filter(|k| is_request_key(k))
        .map(|k| (k.clone(), String::new()))
        .collect()
}

/// One certificate received on the reactive wire, checked: what goes in the files.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Received {
    /// The certificate file: the leaf, then the provider's `chain` (each certificate once).
    pub(crate) cert_file: String,
    /// The private key the provider made, as it sent it (PEM, with a final newline).
    pub(crate) key_file: Zeroizing<String>,
}

impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Received")
            .field("cert_file", &self.cert_file)
            .field("key_file", &"[elided]")
            .finish()
    }
}

/// What the provider's units published for this unit, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Answers {
    /// The CA (PEM, the certificates of `ca`, each once).
    pub(crate) ca: Option<String>,
    /// One entry per request, in order: its certificate and key, if answered and usable.
    pub(crate) certificates: Vec<Option<Received>>,
    /// What is unusable, each naming its key.
    pub(crate) errors: Vec<WireError>,
}

/// Reads the provider units' `bags` (merged: the first unit holding a key wins, as the layer
/// reads them) for `unit` and `requests`. Bad values become [`WireError`]s naming the key;
/// never a panic.
pub(crate) fn receive<'a>(
    bags: impl IntoIterator<Item = &'a Bag>,
    unit: &str,
    requests: &[RequestedCertificate],
) -> Answers {
    let (provider, mut errors) = ProviderBag::parse(bags, unit);
    let ca = provider.ca.as_deref().and_then(|text| {
        pem_certificates(CA_KEY, text)
            .map_err(|e| errors.push(e))
            .ok()
            .map(|certs| joined(&certs))
    });
    let chain: Vec<Certificate> = match provider.chain.as_deref() {
        Some(text) => pem_certificates(CHAIN_KEY, text)
            .map_err(|e| errors.push(e))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let top = top_level(requests);
    let (server_cert_key, _) = reactive::server_keys(unit);
    let mut certificates = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        let kind = match r.kind {
            CertKind::Server => RequestType::Server,
            CertKind::Client => RequestType::Client,
        };
        let is_top = Some(i) == top;
        let Some(pair) = provider.answer(kind, &r.common_name, is_top) else {
            certificates.push(None);
            continue;
        };
        // Where the answer was read from, to name it.
        let key = if is_top && provider.top_level_server.as_ref() == Some(pair) {
            server_cert_key.clone()
        } else {
            kind.processed_key(unit)
        };
        match check_pair(&pair.cert, &pair.key, &chain) {
            Ok(received) => certificates.push(Some(received)),
            Err(problem) => {
                errors.push(WireError::BadEntry {
                    key,
                    common_name: r.common_name.clone(),
                    problem,
                });
                certificates.push(None);
            }
        }
    }
    Answers {
        ca,
        certificates,
        errors,
    }
}

/// Every certificate of a PEM value; none, or one that does not parse, is an error.
fn pem_certificates(key: &str, text: &str) -> Result<Vec<Certificate>, WireError> {
    let bad = |problem: String| WireError::BadValue {
        key: key.to_owned(),
        problem,
    };
    let certs = Certificate::all_from_pem(text).map_err(|e| bad(format!("not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(bad("no certificate in it".into()));
    }
    Ok(certs)
}

/// PEM texts, each once, one per line block, with a final newline.
fn joined(certs: &[Certificate]) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in certs {
        let pem = c.pem().trim();
        if !parts.contains(&pem) {
            parts.push(pem);
        }
    }
    format!("{}\n", parts.join("\n"))
}

/// The files of one answer, if its certificate parses and is for the key sent with it.
fn check_pair(cert: &str, key: &str, chain: &[Certificate]) -> Result<Received, String> {
    let certs = Certificate::all_from_pem(cert).map_err(|e| format!("certificate: {e}"))?;
    let Some(leaf) = certs.first() else {
        return Err("certificate: no certificate in it".into());
    };
    let private = PrivateKey::from_pem(key).map_err(|e| format!("key: {e}"))?;
    if !leaf.matches_key(&private) {
        return Err("the certificate is not for the key sent with it".into());
    }
    let mut all: Vec<Certificate> = certs.clone();
    all.extend(chain.iter().cloned());
    Ok(Received {
        cert_file: joined(&all),
        key_file: Zeroizing::new(format!("{}\n", key.trim())),
    })
}

#[cfg(test)]
mod tests;
