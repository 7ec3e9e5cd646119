//! The `tls-certificates` wire of the Python "v4" library (charmlibs 1.12.0).

use serde::{Deserialize, Serialize};

/// Requirer bag key: JSON list of [`RequestEntry`].
pub const CSRS_KEY: &str = "certificate_signing_requests";
/// Provider app bag key: JSON list of [`CertificateEntry`].
pub const CERTIFICATES_KEY: &str = "certificates";
/// Provider app bag key: JSON list of [`RequestErrorEntry`].
pub const REQUEST_ERRORS_KEY: &str = "request_errors";
/// Provider app bag key: JSON object [`Capabilities`].
pub const CAPABILITIES_KEY: &str = "capabilities";

/// One request in a requirer bag. `ca` is the only place a CA request is expressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEntry {
    /// PEM CSR, surrounding whitespace stripped.
    pub certificate_signing_request: String,
    /// Whether a CA certificate is requested (the Python library always writes it).
    #[serde(default)]
    pub ca: Option<bool>,
}

/// One certificate in the provider's app bag. Field order is the Python model's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateEntry {
    /// PEM of the CA (the root of the chain).
    pub ca: String,
    /// PEM of the CSR this answers.
    pub certificate_signing_request: String,
    /// PEM of the certificate.
    pub certificate: String,
    /// Leaf first, then each issuer up to the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Vec<String>>,
    /// Revoked by the provider (absent = false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<bool>,
    /// Seconds before expiry the provider recommends renewing (in the published schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended_expiry_notification_time: Option<i64>,
}

impl CertificateEntry {
    /// The Python library's `ProviderCertificate.to_json()`: `json.dumps` of `{"csr",
    /// "certificate", "ca", "chain", "revoked"}` in that order, with Python's separators and
    /// `revoked` `null` when the entry has none, each PEM re-encoded from its DER as Python's
    /// `str()` prints it (so a provider's CRLF or other line wrapping does not show). Scripts
    /// written against the published charms' actions parse this.
    ///
    /// ```
    /// # use juju_tls_interfaces::wire::tls_certificates::CertificateEntry;
    /// # let entry = CertificateEntry {
    /// #     ca: "CA".into(), certificate_signing_request: "CSR".into(),
    /// #     certificate: "CERT".into(), chain: Some(vec!["CERT".into(), "CA".into()]),
    /// #     revoked: None, recommended_expiry_notification_time: None,
    /// # };
    /// assert_eq!(
    ///     entry.to_json(),
    ///     r#"{"csr": "CSR", "certificate": "CERT", "ca": "CA", "chain": ["CERT", "CA"], "revoked": null}"#
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct Python<'a> {
            csr: &'a str,
            certificate: &'a str,
            ca: &'a str,
            chain: Vec<&'a str>,
            revoked: Option<bool>,
        }
        let e = self;
        let csr = canonical(&e.certificate_signing_request);
        let certificate = canonical(&e.certificate);
        let ca = canonical(&e.ca);
        let chain: Vec<String> = e.chain.iter().flatten().map(|c| canonical(c)).collect();
        crate::json::to_python_json(&Python {
            csr: &csr,
            certificate: &certificate,
            ca: &ca,
            chain: chain.iter().map(String::as_str).collect(),
            revoked: e.revoked,
        })
    }
}

/// `text` as Python's `str()` of the parsed object prints it: the PEM block re-encoded from its
/// DER (64-character lines, `\n`), stripped; text that is not one PEM block, trimmed as it is.
fn canonical(text: &str) -> String {
    match pki::pem::parse_all(text).as_deref() {
        Ok([block]) => pki::pem::encode(&block.label, &block.der).trim().to_owned(),
        _ => text.trim().to_owned(),
    }
}

/// The error of a refused request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// 101 IP_NOT_ALLOWED, 102 DOMAIN_NOT_ALLOWED, 103 WILDCARD_NOT_ALLOWED,
    /// 201 SERVER_NOT_AVAILABLE, 999 OTHER. The code decides; the name is informative.
    pub code: i64,
    /// Upper-case enum member name as the published providers write it.
    pub name: String,
    /// What went wrong, for people.
    pub message: String,
    /// Why, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Which provider refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Where more can be learnt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// Standard error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 101
    IpNotAllowed,
    /// 102
    DomainNotAllowed,
    /// 103
    WildcardNotAllowed,
    /// 201
    ServerNotAvailable,
    /// 999
    Other,
}

impl ErrorCode {
    /// The numeric code.
    pub fn code(self) -> i64 {
        match self {
            Self::IpNotAllowed => 101,
            Self::DomainNotAllowed => 102,
            Self::WildcardNotAllowed => 103,
            Self::ServerNotAvailable => 201,
            Self::Other => 999,
        }
    }

    /// The name published providers write.
    pub fn name(self) -> &'static str {
        match self {
            Self::IpNotAllowed => "IP_NOT_ALLOWED",
            Self::DomainNotAllowed => "DOMAIN_NOT_ALLOWED",
            Self::WildcardNotAllowed => "WILDCARD_NOT_ALLOWED",
            Self::ServerNotAvailable => "SERVER_NOT_AVAILABLE",
            Self::Other => "OTHER",
        }
    }

    /// An error body with this code.
    pub fn body(self, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            code: self.code(),
            name: self.name().to_owned(),
            message: message.into(),
            reason: None,
            provider: None,
            endpoint: None,
        }
    }
}

/// One refused request in the provider's app bag. The running Python library writes `csr`;
/// the published schema says `certificate_signing_request`: we write `csr` and read both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestErrorEntry {
    /// PEM of the refused CSR.
    #[serde(alias = "certificate_signing_request")]
    pub csr: String,
    /// Why.
    pub error: ErrorBody,
}

/// What a provider says it supports. Every field optional: absent = unspecified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// IP SANs are issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_ip_sans: Option<bool>,
    /// Wildcard DNS names are issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_wildcard_dns: Option<bool>,
    /// Subdomains of allowed domains are issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_subdomain: Option<bool>,
    /// CA certificates are issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supports_ca_certificates: Option<bool>,
    /// Domains the provider issues for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_domains: Option<Vec<String>>,
    /// `self-signed`, `acme`, `vault`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_type: Option<String>,
}

/// What a requirer knows of the provider's capabilities. "Not advertised yet" is not
/// "nothing supported".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapabilitiesState {
    /// No relation, or the provider has not written `capabilities`.
    NotAdvertised,
    /// The provider advertised these (fields may still be unspecified).
    Advertised(Capabilities),
}
