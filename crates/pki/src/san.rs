//! Subject alternative names as sets: requests are compared by the set of names they ask for,
//! never by their order in the extension (the Python library's order is not stable).

use std::collections::BTreeSet;
use std::net::IpAddr;

use x509_parser::extensions::GeneralName;

use crate::der;
use crate::error::CsrError;

/// The subject alternative names of a request or a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SubjectAltNames {
    /// `dNSName` entries.
    pub dns: BTreeSet<String>,
    /// `iPAddress` entries.
    pub ip: BTreeSet<IpAddr>,
    /// `registeredID` entries, as dotted OIDs.
    pub oid: BTreeSet<String>,
    /// `rfc822Name` (email) entries.
    pub email: BTreeSet<String>,
    /// `uniformResourceIdentifier` entries.
    pub uri: BTreeSet<String>,
}

impl SubjectAltNames {
    /// Whether there is no name at all.
    pub fn is_empty(&self) -> bool {
        self.dns.is_empty()
            && self.ip.is_empty()
            && self.oid.is_empty()
            && self.email.is_empty()
            && self.uri.is_empty()
    }

    /// Adds one parsed general name; kinds we do not carry (directory names, other names) are
    /// reported back so the caller can say what it ignored.
    pub(crate) fn push_parsed(&mut self, name: &GeneralName<'_>) -> Result<(), String> {
        match name {
            GeneralName::DNSName(s) => {
                self.dns.insert((*s).to_owned());
            }
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => {
                    let a: [u8; 4] = [bytes[0], bytes[1], bytes[2], bytes[3]];
                    self.ip.insert(IpAddr::from(a));
                }
                16 => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(bytes);
                    self.ip.insert(IpAddr::from(a));
                }
                n => return Err(format!("an IP address SAN of {n} bytes")),
            },
            GeneralName::RegisteredID(oid) => {
                self.oid.insert(oid.to_id_string());
            }
            GeneralName::RFC822Name(s) => {
                self.email.insert((*s).to_owned());
            }
            GeneralName::URI(s) => {
                self.uri.insert((*s).to_owned());
            }
            other => return Err(format!("a SAN of unsupported kind {other:?}")),
        }
        Ok(())
    }

    /// Every name as `KIND:value` strings, in a stable order (for display and JSON).
    pub fn to_strings(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.dns.iter().map(|v| format!("DNS:{v}")));
        out.extend(self.ip.iter().map(|v| format!("IP:{v}")));
        out.extend(self.oid.iter().map(|v| format!("OID:{v}")));
        out.extend(self.email.iter().map(|v| format!("email:{v}")));
        out.extend(self.uri.iter().map(|v| format!("URI:{v}")));
        out
    }

    /// Parses one `KIND:value` string (`DNS:example.com`, `IP:10.0.0.1`, `OID:1.2.3`,
    /// `email:a@b`, `URI:https://x`); a bare value is a DNS name, or an IP if it parses as one.
    pub fn push_str(&mut self, spec: &str) -> Result<(), CsrError> {
        let invalid = |reason: String| CsrError::InvalidAttribute {
            attribute: "SAN",
            reason,
        };
        match spec.split_once(':') {
            Some((kind, value)) if kind.eq_ignore_ascii_case("dns") => {
                self.dns.insert(value.to_owned());
            }
            Some((kind, value)) if kind.eq_ignore_ascii_case("ip") => {
                let ip = value
                    .parse()
                    .map_err(|_| invalid(format!("'{value}' is not an IP address")))?;
                self.ip.insert(ip);
            }
            Some((kind, value))
                if kind.eq_ignore_ascii_case("oid") || kind.eq_ignore_ascii_case("rid") =>
            {
                der::parse_dotted_oid(value).ok_or_else(|| {
                    invalid(format!("'{value}' is not a dotted OID {}", der::OID_RULES))
                })?;
                self.oid.insert(value.to_owned());
            }
            Some((kind, value)) if kind.eq_ignore_ascii_case("email") => {
                self.email.insert(value.to_owned());
            }
            Some((kind, value)) if kind.eq_ignore_ascii_case("uri") => {
                self.uri.insert(value.to_owned());
            }
            _ => match spec.parse::<IpAddr>() {
                Ok(ip) => {
                    self.ip.insert(ip);
                }
                Err(_) if !spec.contains(':') && !spec.is_empty() => {
                    self.dns.insert(spec.to_owned());
                }
                Err(_) => {
                    return Err(invalid(format!(
                        "'{spec}' (expected DNS:, IP:, OID:, email: or URI:)"
                    )));
                }
            },
        }
        Ok(())
    }
}
