//! Newtypes for Juju identifiers, parsed once at the edge (`FromStr`) so the rest of the SDK never
//! re-checks a string. Application, unit and endpoint names and their rules are the vocabulary's
//! (`hook_tools::names`, juju/names' rules); relation and secret ids are the SDK's.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use hook_tools::names::{AppName, Endpoint, NameError, UnitName};

fn err(kind: &'static str, value: &str, reason: &'static str) -> NameError {
    NameError {
        kind,
        value: value.to_owned(),
        reason,
    }
}

macro_rules! serde_via_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A relation, as Juju names it to charms: `<endpoint>:<id>` (`JUJU_RELATION_ID`, the output of
/// `relation-ids`). Keeping the endpoint lets the SDK pass `-r <endpoint>:<id>` as ops 3.8+ does
/// and know which endpoint a relation belongs to without a tool call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelationId {
    endpoint: Endpoint,
    id: u32,
}

impl RelationId {
    /// Builds `<endpoint>:<id>`.
    pub fn new(endpoint: Endpoint, id: u32) -> Self {
        RelationId { endpoint, id }
    }

    /// The endpoint the relation is on.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The integer id, unique in the model.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The reference the `relation-*` tools take (`-r <endpoint>:<id>`).
    pub fn to_tool_ref(&self) -> hook_tools::RelationRef {
        hook_tools::RelationRef::qualified(self.endpoint.as_str(), self.id)
    }
}

impl FromStr for RelationId {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let (ep, id) = s
            .rsplit_once(':')
            .ok_or_else(|| err("relation id", s, "expected <endpoint>:<id>"))?;
        let endpoint = ep
            .parse()
            .map_err(|_| err("relation id", s, "bad endpoint part"))?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("relation id", s, "bad id part"));
        }
        let id = id
            .parse()
            .map_err(|_| err("relation id", s, "id too large"))?;
        Ok(RelationId { endpoint, id })
    }
}

impl fmt::Display for RelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.endpoint, self.id)
    }
}
serde_via_str!(RelationId);

/// A secret's identity: its 20-character xid, whatever URI spelling it came in (`secret:<xid>`,
/// `secret://<model-uuid>/<xid>`, bare xid; §8.1). The spelling Juju gave is kept for display and
/// for passing back to tools, equality is on the xid.
///
/// Parsing is the vocabulary's (`hook_tools::SecretUri::parse`, Juju's `secrets.ParseURI`), so an
/// id the SDK accepts is one the hook tools accept.
#[derive(Debug, Clone)]
pub struct SecretId {
    uri: hook_tools::SecretUri,
}

impl SecretId {
    /// The bare xid.
    pub fn xid(&self) -> &str {
        self.uri.xid()
    }

    /// The URI as Juju gave it.
    pub fn as_str(&self) -> &str {
        self.uri.as_str()
    }

    /// The form the tools take.
    pub fn to_tool_uri(&self) -> hook_tools::SecretUri {
        self.uri.clone()
    }
}

impl PartialEq for SecretId {
    fn eq(&self, other: &Self) -> bool {
        self.xid() == other.xid()
    }
}
impl Eq for SecretId {}
impl std::hash::Hash for SecretId {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.xid().hash(h);
    }
}

impl FromStr for SecretId {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, NameError> {
        let uri = hook_tools::SecretUri::parse(s).map_err(|_| {
            err(
                "secret id",
                s,
                "expected secret:<xid>, secret://<model>/<xid> or <xid>, the xid 20 characters of 0-9a-v",
            )
        })?;
        Ok(SecretId { uri })
    }
}

impl fmt::Display for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.uri.as_str())
    }
}
serde_via_str!(SecretId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_ids() {
        let r: RelationId = "certificates:7".parse().unwrap();
        assert_eq!((r.endpoint().as_str(), r.id()), ("certificates", 7));
        assert_eq!(r.to_tool_ref().to_string(), "certificates:7");
        for bad in ["7", "certificates:", ":7", "cert:x"] {
            assert!(bad.parse::<RelationId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn secret_ids_compare_by_xid() {
        let a: SecretId = "secret:cq9e1u1mp25c77ab0abc".parse().unwrap();
        let b: SecretId = "secret://cdac5656-2423-4388-8f30-41854b4cca7d/cq9e1u1mp25c77ab0abc"
            .parse()
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(b.xid(), "cq9e1u1mp25c77ab0abc");
        assert!("secret:".parse::<SecretId>().is_err());
        assert!("secret:ABC".parse::<SecretId>().is_err());
        // Juju's rule, the one the hook tools apply: 20 characters of base32hex.
        assert!("secret:abc".parse::<SecretId>().is_err());
        assert!("secret:zzzzzzzzzzzzzzzzzzzz".parse::<SecretId>().is_err());
        assert!("cq9e1u1mp25c77ab0abc".parse::<SecretId>().is_ok());
    }
}
