//! The reactive `tls-certificates` wire (interface `tls-certificates` before the "v1" library),
//! as the `interface-tls-certificates` layer of `charms.reactive` charms speaks it. Still spoken
//! by charms built on the reactive `tls-client` layer and by providers such as easyrsa.
//!
//! **Here the provider makes the private keys and sends them over the relation**, in the
//! provider unit's databag, readable by every unit of the requiring application and stored by
//! Juju in the controller. That is the weakness the current wire removed (a CSR carries no key).
//! Speak it only to serve or use a charm that knows nothing else.
//!
//! Every value is a string; structured values are JSON (`json.dumps(value, sort_keys=True)` on
//! the Python side), raw values are PEM.
//!
//! Requirer **unit** databag ([`RequirerBag`]):
//! - `unit_name`: the unit's name, already with `/` replaced by `_` (the provider replaces again,
//!   so either spelling works).
//! - `common_name`, `sans` (JSON list), `certificate_name`: the first server certificate
//!   requested (the layer keeps it there for providers older than the collections).
//! - `cert_requests`, `client_cert_requests`, `application_cert_requests`,
//!   `intermediate_cert_requests`: JSON objects `{"<common name>": {"sans": [...] | null}}`.
//!
//! Provider **unit** databag ([`ProviderBag`], one requiring unit's view), `<u>` the requiring
//! unit's name with `/` replaced by `_`:
//! - `ca`, `chain` (PEM), `client.cert` / `client.key` (one client certificate shared by every
//!   requirer: deprecated, never written by our provider).
//! - `<u>.server.cert` / `<u>.server.key`: the certificate of the top-level `common_name`.
//! - `<u>.processed_requests`, `<u>.processed_client_requests`: JSON
//!   `{"<common name>": {"cert": PEM, "key": PEM}}`.
//! - `<u>.processed_application_requests`, `<u>.processed_intermediate_requests`: JSON
//!   `{"app_data": {"cert": PEM, "key": PEM}}`: one certificate for the whole application, its
//!   names the union of every unit's common names and SANs.
//!
//! The published v0 JSON schema does not match what reactive charms write; this follows the
//! layer's code. Reading is tolerant per key: a bad key becomes a [`WireError`] naming it and
//! every other key is still read.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::json::to_python_json;

/// A relation databag: key -> string value.
pub type Bag = BTreeMap<String, String>;

/// Requirer key: the requiring unit's name (`/` already replaced by `_` by the layer).
pub const UNIT_NAME_KEY: &str = "unit_name";
/// Requirer key: the common name of the top-level server certificate.
pub const COMMON_NAME_KEY: &str = "common_name";
/// Requirer key: JSON list of the top-level server certificate's SANs.
pub const SANS_KEY: &str = "sans";
/// Requirer key: a name the layer gives the top-level certificate (a random UUID; unused).
pub const CERTIFICATE_NAME_KEY: &str = "certificate_name";
/// Provider key: the CA certificate (PEM).
pub const CA_KEY: &str = "ca";
/// Provider key: the chain of trust of the certificates (PEM, one or more certificates).
pub const CHAIN_KEY: &str = "chain";
/// Provider key: the deprecated shared client certificate.
pub const CLIENT_CERT_KEY: &str = "client.cert";
/// Provider key: the deprecated shared client certificate's private key.
pub const CLIENT_KEY_KEY: &str = "client.key";
/// The one entry of an application or intermediate answer.
pub const APP_DATA: &str = "app_data";
/// The suffix every request collection key has; a key with it that is not one of
/// [`RequestType::ALL`] is an [`WireError::UnknownRequestType`].
pub const REQUESTS_SUFFIX: &str = "cert_requests";

/// What a request asks for, by the collection it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestType {
    /// `cert_requests` (and the top-level `common_name`): a server certificate per unit.
    Server,
    /// `client_cert_requests`: a client certificate per unit.
    Client,
    /// `application_cert_requests`: one certificate and key shared by the whole application.
    Application,
    /// `intermediate_cert_requests`: an intermediate CA certificate for the application.
    Intermediate,
}

impl RequestType {
    /// Every type, in the order the layer reads them.
    pub const ALL: [Self; 4] = [
        Self::Server,
        Self::Client,
        Self::Application,
        Self::Intermediate,
    ];

    /// `server`, `client`, `application`, `intermediate` (the layer's `cert_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
            Self::Application => "application",
            Self::Intermediate => "intermediate",
        }
    }

    /// The requirer key holding requests of this type.
    pub fn requests_key(self) -> &'static str {
        match self {
            Self::Server => "cert_requests",
            Self::Client => "client_cert_requests",
            Self::Application => "application_cert_requests",
            Self::Intermediate => "intermediate_cert_requests",
        }
    }

    /// The type whose requests are under `key`.
    pub fn from_requests_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.requests_key() == key)
    }

    /// The provider key answering requests of this type from `unit` (either spelling of the
    /// unit name).
    pub fn processed_key(self, unit: &str) -> String {
        let suffix = match self {
            Self::Server => "processed_requests",
            Self::Client => "processed_client_requests",
            Self::Application => "processed_application_requests",
            Self::Intermediate => "processed_intermediate_requests",
        };
        format!("{}.{suffix}", unit_key(unit))
    }

    /// Whether one certificate answers the whole application (`{"app_data": ...}`).
    pub fn is_per_application(self) -> bool {
        matches!(self, Self::Application | Self::Intermediate)
    }
}

impl fmt::Display for RequestType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unit name as the wire spells it in key prefixes: `/` replaced by `_`.
pub fn unit_key(unit: &str) -> String {
    unit.replace('/', "_")
}

/// The provider keys of `unit`'s top-level server certificate and key.
pub fn server_keys(unit: &str) -> (String, String) {
    let u = unit_key(unit);
    (format!("{u}.server.cert"), format!("{u}.server.key"))
}

/// Something wrong with one key of a bag written by the other side. The key is always named;
/// the rest of the bag is read regardless.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The value is not JSON.
    #[error("key '{key}': invalid JSON: {reason}")]
    InvalidJson {
        /// The databag key.
        key: String,
        /// The parser's message.
        reason: String,
    },
    /// The value is JSON of the wrong shape.
    #[error("key '{key}': expected {expected}, found {found}")]
    WrongShape {
        /// The databag key.
        key: String,
        /// What the wire has there.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// One entry of a collection is unusable; the other entries are kept.
    #[error("key '{key}', common name '{common_name}': {problem}")]
    BadEntry {
        /// The databag key.
        key: String,
        /// The entry's common name.
        common_name: String,
        /// What is wrong.
        problem: String,
    },
    /// A raw (non-JSON) value that is unusable, such as a `ca` that is not a PEM certificate.
    #[error("key '{key}': {problem}")]
    BadValue {
        /// The databag key.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// A `*cert_requests` key the wire does not define.
    #[error(
        "key '{key}': unknown request type (known: cert_requests, client_cert_requests, application_cert_requests, intermediate_cert_requests)"
    )]
    UnknownRequestType {
        /// The databag key.
        key: String,
    },
}

impl WireError {
    /// The databag key at fault.
    pub fn key(&self) -> &str {
        match self {
            Self::InvalidJson { key, .. }
            | Self::WrongShape { key, .. }
            | Self::BadEntry { key, .. }
            | Self::BadValue { key, .. }
            | Self::UnknownRequestType { key } => key,
        }
    }
}

/// One certificate a requiring unit asks for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Request {
    /// Server, client, application or intermediate.
    pub kind: RequestType,
    /// Its identity: same common name, same certificate (the SANs may change).
    pub common_name: String,
    /// Subject alternative names as written (DNS names or IP addresses), sorted, each once.
    pub sans: Vec<String>,
}

/// What one requiring unit wrote, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequirerBag {
    /// `unit_name` as written (absent in bags of very old requirers).
    pub unit_name: Option<String>,
    /// The top-level server request (`common_name`, `sans`), if any.
    pub top_level: Option<Request>,
    /// `certificate_name` of the top-level request, kept so a rewrite does not change it.
    pub certificate_name: Option<String>,
    /// Every request of the collections, by type then common name.
    pub requests: Vec<Request>,
}

/// Whether a requirer bag speaks the reactive wire: it holds one of the reactive requirer keys
/// and no current-wire `certificate_signing_requests`.
pub fn is_reactive_requirer(bag: &Bag) -> bool {
    if bag.contains_key(super::tls_certificates::CSRS_KEY) {
        return false;
    }
    bag.keys()
        .any(|k| k == UNIT_NAME_KEY || k == COMMON_NAME_KEY || k.ends_with(REQUESTS_SUFFIX))
}

impl RequirerBag {
    /// Parses a requirer unit bag; every unusable key or entry becomes a [`WireError`] and the
    /// rest is kept.
    pub fn parse(bag: &Bag) -> (Self, Vec<WireError>) {
        let mut errors = Vec::new();
        let mut out = Self {
            unit_name: non_empty(bag.get(UNIT_NAME_KEY)),
            certificate_name: non_empty(bag.get(CERTIFICATE_NAME_KEY)),
            ..Self::default()
        };
        if let Some(cn) = non_empty(bag.get(COMMON_NAME_KEY)) {
            let sans = match bag.get(SANS_KEY).map(|t| parse_json(SANS_KEY, t)) {
                None => Ok(Vec::new()),
                Some(Ok(v)) => sans_of(&v).map_err(|problem| WireError::BadEntry {
                    key: SANS_KEY.into(),
                    common_name: cn.clone(),
                    problem,
                }),
                Some(Err(e)) => Err(e),
            }
            .map_err(|e| errors.push(e))
            .ok();
            if let Some(sans) = sans {
                out.top_level = Some(Request {
                    kind: RequestType::Server,
                    common_name: cn,
                    sans,
                });
            }
        }
        for (key, text) in bag {
            let kind = match RequestType::from_requests_key(key) {
                Some(kind) => kind,
                None if key.ends_with(REQUESTS_SUFFIX) => {
                    errors.push(WireError::UnknownRequestType { key: key.clone() });
                    continue;
                }
                None => continue,
            };
            let object = match parse_json(key, text) {
                Ok(Value::Object(o)) => o,
                // The layer writes `{}` for "nothing yet"; `null` means the same.
                Ok(Value::Null) => continue,
                Ok(other) => {
                    errors.push(WireError::WrongShape {
                        key: key.clone(),
                        expected: "a JSON object {common name: {\"sans\": [...]}}",
                        found: kind_of(&other),
                    });
                    continue;
                }
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            for (cn, entry) in object {
                match request_entry(kind, &cn, &entry) {
                    Ok(r) => out.requests.push(r),
                    Err(problem) => errors.push(WireError::BadEntry {
                        key: key.clone(),
                        common_name: cn,
                        problem,
                    }),
                }
            }
        }
        out.requests.sort();
        (out, errors)
    }

    /// Every request, the top-level one first; a collection entry repeating the top-level
    /// server request's common name is the same request (the layer answers it in the
    /// top-level keys).
    pub fn all_requests(&self) -> Vec<&Request> {
        let mut out: Vec<&Request> = self.top_level.iter().collect();
        for r in &self.requests {
            let is_top = self
                .top_level
                .as_ref()
                .is_some_and(|t| r.kind == RequestType::Server && r.common_name == t.common_name);
            if !is_top {
                out.push(r);
            }
        }
        out
    }

    /// The bag the layer writes for these requests (`unit_name` and every request key;
    /// collections always present, `{}` when empty, as the layer leaves them).
    pub fn to_bag(&self) -> Bag {
        let mut bag = Bag::new();
        if let Some(u) = &self.unit_name {
            bag.insert(UNIT_NAME_KEY.into(), u.clone());
        }
        if let Some(top) = &self.top_level {
            bag.insert(COMMON_NAME_KEY.into(), top.common_name.clone());
            bag.insert(SANS_KEY.into(), to_python_json(&top.sans));
            bag.insert(
                CERTIFICATE_NAME_KEY.into(),
                self.certificate_name.clone().unwrap_or_default(),
            );
        }
        #[derive(Serialize)]
        struct Entry<'a> {
            sans: &'a [String],
        }
        for kind in RequestType::ALL {
            let entries: BTreeMap<&str, Entry<'_>> = self
                .requests
                .iter()
                .filter(|r| r.kind == kind)
                .map(|r| (r.common_name.as_str(), Entry { sans: &r.sans }))
                .collect();
            if !entries.is_empty() {
                bag.insert(kind.requests_key().into(), to_python_json(&entries));
            }
        }
        bag
    }
}

/// A certificate with its private key, as the provider sends them. `Debug` never prints the
/// key.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedPair {
    /// PEM of the certificate.
    pub cert: String,
    /// PEM of its private key, made by the provider.
    pub key: Zeroizing<String>,
}

impl IssuedPair {
    /// A certificate and its key.
    pub fn new(cert: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            cert: cert.into(),
            key: Zeroizing::new(key.into()),
        }
    }
}

impl fmt::Debug for IssuedPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedPair")
            .field("cert", &self.cert)
            .field("key", &"[elided]")
            .finish()
    }
}

/// The JSON value of a `<u>.processed_*` key: `{"<common name>": {"cert", "key"}}` (or
/// `{"app_data": ...}`), as `json.dumps(sort_keys=True)` writes it.
pub fn processed_value(entries: &BTreeMap<String, IssuedPair>) -> String {
    #[derive(Serialize)]
    struct Entry<'a> {
        cert: &'a str,
        key: &'a str,
    }
    let plain: BTreeMap<&str, Entry<'_>> = entries
        .iter()
        .map(|(cn, p)| {
            (
                cn.as_str(),
                Entry {
                    cert: &p.cert,
                    key: p.key.as_str(),
                },
            )
        })
        .collect();
    to_python_json(&plain)
}

/// What the provider's units published for one requiring unit (their bags merged: the layer
/// reads the first unit that has a key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderBag {
    /// `ca`.
    pub ca: Option<String>,
    /// `chain`.
    pub chain: Option<String>,
    /// `client.cert` and `client.key` (deprecated shared client certificate).
    pub shared_client: Option<IssuedPair>,
    /// `<u>.server.cert` and `<u>.server.key`: the top-level server certificate.
    pub top_level_server: Option<IssuedPair>,
    /// Server certificates by common name (`<u>.processed_requests`).
    pub server: BTreeMap<String, IssuedPair>,
    /// Client certificates by common name (`<u>.processed_client_requests`).
    pub client: BTreeMap<String, IssuedPair>,
    /// The application certificate (`<u>.processed_application_requests`, `app_data`).
    pub application: Option<IssuedPair>,
    /// The intermediate CA certificate (`<u>.processed_intermediate_requests`, `app_data`).
    pub intermediate: Option<IssuedPair>,
}

/// Whether `key` is one a reactive provider writes in its unit bag (`ca`, `chain`, the shared
/// client certificate, and every `<u>.server.*` and `<u>.processed_*` answer): what a provider
/// withdraws when it stops speaking the wire.
pub fn is_provider_key(key: &str) -> bool {
    key == CA_KEY
        || key == CHAIN_KEY
        || key == CLIENT_CERT_KEY
        || key == CLIENT_KEY_KEY
        || key.ends_with(".server.cert")
        || key.ends_with(".server.key")
        || RequestType::ALL
            .iter()
            .any(|t| key.ends_with(&t.processed_key("")))
}

/// Whether a provider bag speaks the reactive wire: it holds `ca` (a reactive provider
/// publishes it to every relation as soon as it has a CA, before any request).
pub fn is_reactive_provider(bag: &Bag) -> bool {
    non_empty(bag.get(CA_KEY)).is_some()
}

impl ProviderBag {
    /// Reads what the provider units' `bags` hold for `unit` (either spelling): for each key
    /// the first bag that has it, as the layer's `all_joined_units.received` does.
    pub fn parse<'a>(
        bags: impl IntoIterator<Item = &'a Bag>,
        unit: &str,
    ) -> (Self, Vec<WireError>) {
        let mut merged = Bag::new();
        for bag in bags {
            for (k, v) in bag {
                if !v.is_empty() {
                    merged.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        let mut errors = Vec::new();
        let pair = |cert: &str, key: &str| -> Option<IssuedPair> {
            match (non_empty(merged.get(cert)), non_empty(merged.get(key))) {
                (Some(cert), Some(key)) => Some(IssuedPair {
                    cert,
                    key: Zeroizing::new(key),
                }),
                _ => None,
            }
        };
        let (server_cert, server_key) = server_keys(unit);
        let mut out = Self {
            ca: non_empty(merged.get(CA_KEY)),
            chain: non_empty(merged.get(CHAIN_KEY)),
            shared_client: pair(CLIENT_CERT_KEY, CLIENT_KEY_KEY),
            top_level_server: pair(&server_cert, &server_key),
            ..Self::default()
        };
        for kind in RequestType::ALL {
            let key = kind.processed_key(unit);
            let Some(text) = merged.get(&key) else {
                continue;
            };
            let mut entries = processed_entries(&key, text, &mut errors);
            match kind {
                RequestType::Server => out.server = entries,
                RequestType::Client => out.client = entries,
                RequestType::Application => out.application = entries.remove(APP_DATA),
                RequestType::Intermediate => out.intermediate = entries.remove(APP_DATA),
            }
        }
        (out, errors)
    }

    /// The certificate answering `kind` / `common_name`, wherever the layer puts it: the
    /// top-level keys for the top-level server request, `app_data` for per-application types.
    pub fn answer(
        &self,
        kind: RequestType,
        common_name: &str,
        top_level: bool,
    ) -> Option<&IssuedPair> {
        match kind {
            RequestType::Server if top_level => self
                .top_level_server
                .as_ref()
                .or_else(|| self.server.get(common_name)),
            RequestType::Server => self.server.get(common_name),
            RequestType::Client => self.client.get(common_name),
            RequestType::Application => self.application.as_ref(),
            RequestType::Intermediate => self.intermediate.as_ref(),
        }
    }
}

fn processed_entries(
    key: &str,
    text: &str,
    errors: &mut Vec<WireError>,
) -> BTreeMap<String, IssuedPair> {
    let object = match parse_json(key, text) {
        Ok(Value::Object(o)) => o,
        Ok(Value::Null) => return BTreeMap::new(),
        Ok(other) => {
            errors.push(WireError::WrongShape {
                key: key.to_owned(),
                expected: "a JSON object {common name: {\"cert\", \"key\"}}",
                found: kind_of(&other),
            });
            return BTreeMap::new();
        }
        Err(e) => {
            errors.push(e);
            return BTreeMap::new();
        }
    };
    #[derive(Deserialize)]
    struct Entry {
        cert: String,
        key: String,
    }
    let mut out = BTreeMap::new();
    for (cn, entry) in object {
        match serde_json::from_value::<Entry>(entry) {
            Ok(p) if !p.cert.trim().is_empty() && !p.key.trim().is_empty() => {
                let pair = IssuedPair {
                    cert: p.cert,
                    key: Zeroizing::new(p.key),
                };
                out.insert(cn, pair);
            }
            Ok(_) => errors.push(WireError::BadEntry {
                key: key.to_owned(),
                common_name: cn,
                problem: "empty cert or key".into(),
            }),
            Err(e) => errors.push(WireError::BadEntry {
                key: key.to_owned(),
                common_name: cn,
                problem: e.to_string(),
            }),
        }
    }
    out
}

/// One `{"sans": [...]}` entry of a request collection.
fn request_entry(kind: RequestType, cn: &str, entry: &Value) -> Result<Request, String> {
    if cn.trim().is_empty() {
        return Err("an empty common name".into());
    }
    let Value::Object(fields) = entry else {
        return Err(format!(
            "expected an object {{\"sans\": [...]}}, found {}",
            kind_of(entry)
        ));
    };
    // The layer's provider reads `req["sans"]`: a missing field fails it; null means none.
    let sans = fields
        .get(SANS_KEY)
        .ok_or_else(|| "no \"sans\" field".to_owned())
        .and_then(sans_of)?;
    Ok(Request {
        kind,
        common_name: cn.to_owned(),
        sans,
    })
}

/// A SAN list: strings, or null for none; sorted, each once, empty strings dropped.
fn sans_of(v: &Value) -> Result<Vec<String>, String> {
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => return Err(format!("\"sans\" must be a list, found {}", kind_of(other))),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(s) if s.trim().is_empty() => {}
            Value::String(s) => out.push(s.trim().to_owned()),
            other => return Err(format!("a SAN must be a string, found {}", kind_of(other))),
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn parse_json(key: &str, text: &str) -> Result<Value, WireError> {
    serde_json::from_str(text).map_err(|e| WireError::InvalidJson {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

fn non_empty(v: Option<&String>) -> Option<String> {
    v.map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn kind_of(v: &Value) -> &'static str {
    super::kind_of(v)
}

#[cfg(test)]
mod tests;
