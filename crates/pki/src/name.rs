//! Distinguished names: built from attributes with the string types the Python library uses, and
//! read back from DER while keeping the exact bytes (an issuer name must be copied byte for byte).

use std::fmt;

use x509_parser::x509::X509Name;

use crate::der::{self, tag};
use crate::error::CsrError;
use crate::oid;

/// The attribute types we build and name; others are kept by OID.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AttributeType {
    /// `CN`
    CommonName,
    /// `x500UniqueIdentifier` (2.5.4.45), holding a UUID in requests from the Python library.
    UniqueIdentifier,
    /// `O`
    Organization,
    /// `OU`
    OrganizationalUnit,
    /// `emailAddress` (PKCS#9)
    EmailAddress,
    /// `C`
    Country,
    /// `ST`
    StateOrProvince,
    /// `L`
    Locality,
    /// Any other attribute, by dotted OID.
    Other(String),
}

impl AttributeType {
    fn arcs(&self) -> Option<&'static [u64]> {
        Some(match self {
            Self::CommonName => oid::COMMON_NAME,
            Self::UniqueIdentifier => oid::X500_UNIQUE_IDENTIFIER,
            Self::Organization => oid::ORGANIZATION,
            Self::OrganizationalUnit => oid::ORGANIZATIONAL_UNIT,
            Self::EmailAddress => oid::EMAIL_ADDRESS,
            Self::Country => oid::COUNTRY,
            Self::StateOrProvince => oid::STATE,
            Self::Locality => oid::LOCALITY,
            Self::Other(_) => return None,
        })
    }

    fn from_oid(dotted: &str) -> Self {
        [
            Self::CommonName,
            Self::UniqueIdentifier,
            Self::Organization,
            Self::OrganizationalUnit,
            Self::EmailAddress,
            Self::Country,
            Self::StateOrProvince,
            Self::Locality,
        ]
        .into_iter()
        .find(|t| t.arcs().is_some_and(|a| dotted_of(a) == dotted))
        .unwrap_or_else(|| Self::Other(dotted.to_owned()))
    }

    /// The short name used when printing (`CN`, `O`, ...).
    pub fn short_name(&self) -> &str {
        match self {
            Self::CommonName => "CN",
            Self::UniqueIdentifier => "x500UniqueIdentifier",
            Self::Organization => "O",
            Self::OrganizationalUnit => "OU",
            Self::EmailAddress => "emailAddress",
            Self::Country => "C",
            Self::StateOrProvince => "ST",
            Self::Locality => "L",
            Self::Other(oid) => oid,
        }
    }
}

fn dotted_of(arcs: &[u64]) -> String {
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A distinguished name: its attributes in order, and the exact DER it came from.
#[derive(Clone, PartialEq, Eq)]
pub struct DistinguishedName {
    der: Vec<u8>,
    attributes: Vec<(AttributeType, String)>,
}

impl DistinguishedName {
    /// Builds a name, one attribute per RDN, in the given order. String types follow what
    /// Python `cryptography` writes: PrintableString for C, IA5String for emailAddress,
    /// UTF8String for the rest.
    pub fn build(attributes: Vec<(AttributeType, String)>) -> Result<Self, CsrError> {
        let mut rdns = Vec::with_capacity(attributes.len());
        for (kind, value) in &attributes {
            let arcs = kind.arcs().ok_or(CsrError::InvalidAttribute {
                attribute: "name",
                reason: "only the standard attribute types can be built".into(),
            })?;
            let encoded_value = match kind {
                AttributeType::Country => {
                    if value.len() != 2 || !value.chars().all(|c| c.is_ascii_alphabetic()) {
                        return Err(CsrError::InvalidAttribute {
                            attribute: "country_name",
                            reason: format!("'{value}' is not a two-letter country code"),
                        });
                    }
                    der::tlv(tag::PRINTABLE_STRING, value.as_bytes())
                }
                AttributeType::EmailAddress => {
                    if !value.is_ascii() {
                        return Err(CsrError::InvalidAttribute {
                            attribute: "email_address",
                            reason: format!("'{value}' is not ASCII"),
                        });
                    }
                    der::tlv(tag::IA5_STRING, value.as_bytes())
                }
                _ => der::tlv(tag::UTF8_STRING, value.as_bytes()),
            };
            if value.is_empty() {
                return Err(CsrError::InvalidAttribute {
                    attribute: "name",
                    reason: format!("{} is empty", kind.short_name()),
                });
            }
            let atv = der::seq(&[&der::oid(arcs), &encoded_value]);
            rdns.push(der::set_of(&[&atv]));
        }
        let refs: Vec<&[u8]> = rdns.iter().map(Vec::as_slice).collect();
        Ok(Self {
            der: der::seq(&refs),
            attributes,
        })
    }

    /// Reads a parsed name, keeping its bytes.
    pub(crate) fn from_x509(name: &X509Name<'_>) -> Self {
        let attributes = name
            .iter_attributes()
            .map(|atv| {
                let kind = AttributeType::from_oid(&atv.attr_type().to_id_string());
                let value = match atv.as_str() {
                    Ok(s) => s.to_owned(),
                    // Non-string values (rare): show them as hex rather than dropping them.
                    Err(_) => format!("#{}", hex::encode(atv.attr_value().data)),
                };
                (kind, value)
            })
            .collect();
        Self {
            der: name.as_raw().to_vec(),
            attributes,
        }
    }

    /// The exact DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> &[(AttributeType, String)] {
        &self.attributes
    }

    /// The first value of an attribute type.
    pub fn get(&self, kind: &AttributeType) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, v)| v.as_str())
    }

    /// The first common name.
    pub fn common_name(&self) -> Option<&str> {
        self.get(&AttributeType::CommonName)
    }

    /// Whether the name has no attributes.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }
}

impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (kind, value)) in self.attributes.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={}", kind.short_name(), value)?;
        }
        Ok(())
    }
}

impl fmt::Debug for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistinguishedName({self})")
    }
}
