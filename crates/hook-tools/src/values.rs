//! Typed argument values shared by several tools: relation references, secret URIs, output
//! formats, port ranges, secret content arguments.

use std::fmt;
use std::str::FromStr;

use crate::error::{UsageError, msg};

/// A relation as named on a command line: `-r <id>` or `-r <endpoint>:<id>`.
///
/// ops <= 3.7 sends a bare id, ops >= 3.8 `<endpoint>:<id>` for `relation-*` tools (transcripts
/// §2.1-§2.3); Juju 3.6 keeps only the digits after the last colon (§6). The endpoint is kept so
/// that argv round-trips and so that a model may check it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelationRef {
    /// Text before the last colon, if any (normally the endpoint name).
    pub endpoint: Option<String>,
    /// The relation's integer id.
    pub id: u32,
}

impl RelationRef {
    /// A bare id, as `network-get -r` and `secret-grant --relation` take it in every ops version.
    pub fn id(id: u32) -> Self {
        RelationRef { endpoint: None, id }
    }

    /// An endpoint-qualified id, as ops >= 3.8 passes it to the `relation-*` tools.
    pub fn qualified(endpoint: impl Into<String>, id: u32) -> Self {
        RelationRef {
            endpoint: Some(endpoint.into()),
            id,
        }
    }

    /// Parses a flag value; `flag` names the flag for Juju's error text.
    pub(crate) fn parse_flag(value: &str, flag: &str) -> Result<Self, UsageError> {
        let (endpoint, digits) = match value.rsplit_once(':') {
            Some((e, d)) => (Some(e.to_owned()), d),
            None => (None, value),
        };
        // Juju: strconv.Atoi on the part after the last colon.
        let id = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse::<u32>().ok()
        } else {
            None
        };
        let id = id.ok_or_else(|| {
            UsageError::new(msg::invalid_value(
                value,
                flag,
                &format!("invalid relation id {value:?}"),
            ))
        })?;
        Ok(RelationRef { endpoint, id })
    }
}

impl fmt::Display for RelationRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.endpoint {
            Some(e) => write!(f, "{e}:{}", self.id),
            None => write!(f, "{}", self.id),
        }
    }
}

/// A secret as named on a command line: `secret:<xid>`, `secret://<model-uuid>/<xid>` or a bare
/// xid (§8.1, transcripts D9). The original spelling is kept (ops passes `JUJU_SECRET_ID` back
/// verbatim) and [`SecretUri::xid`] gives the identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretUri(String);

impl SecretUri {
    /// Wraps a URI or bare xid without checking it. Checking is the model's business: an
    /// unknown id is a run-time `not found`, not a usage error.
    pub fn new(uri: impl Into<String>) -> Self {
        SecretUri(uri.into())
    }

    /// Parses a URI the way Juju's `secrets.ParseURI` does (juju/juju `core/secrets/secret.go`):
    /// scheme `secret` or none, an optional model/controller UUID, and a 20-character xid
    /// (base32hex, `0-9a-v`). Hook tools reject anything else as a usage error.
    pub fn parse(s: &str) -> Result<SecretUri, UsageError> {
        let not_valid = || UsageError::new(format!("secret URI {s:?} not valid"));
        let id = if let Some((scheme, rest)) = s.split_once("://") {
            if scheme != "secret" {
                return Err(UsageError::new(format!(
                    "secret URI scheme {scheme:?} not valid"
                )));
            }
            match rest.split_once('/') {
                Some((host, id)) if host.is_empty() || is_uuid(host) => id.trim_start_matches('/'),
                Some((host, _)) => {
                    return Err(UsageError::new(format!(
                        "host controller UUID {host:?} not valid"
                    )));
                }
                None => rest,
            }
        } else if let Some(id) = s.strip_prefix("secret:") {
            id
        } else if let Some((scheme, _)) = s.split_once(':') {
            return Err(UsageError::new(format!(
                "secret URI scheme {scheme:?} not valid"
            )));
        } else {
            s
        };
        let id = match id.split_once('/') {
            // `secret://<uuid>/<xid>` written as the opaque form `secret:<uuid>/<xid>`.
            Some((uuid, xid)) if is_uuid(uuid) => xid,
            Some(_) => return Err(not_valid()),
            None => id,
        };
        let xid_ok = id.len() == 20
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b));
        if xid_ok {
            Ok(SecretUri(s.to_owned()))
        } else {
            Err(not_valid())
        }
    }

    /// The text as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The model UUID the URI names, if any (`secret://<uuid>/<xid>`, `secret:<uuid>/<xid>`).
    pub fn model_uuid(&self) -> Option<&str> {
        let s = self.0.as_str();
        let rest = s
            .strip_prefix("secret://")
            .or_else(|| s.strip_prefix("secret:"))?;
        let (uuid, _) = rest.trim_start_matches('/').split_once('/')?;
        is_uuid(uuid).then_some(uuid)
    }

    /// The bare xid: what follows `secret:` or the last `/`.
    pub fn xid(&self) -> &str {
        let s = self.0.as_str();
        let s = s.strip_prefix("secret:").unwrap_or(s);
        s.rsplit('/').next().unwrap_or(s)
    }
}

/// `[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}`.
fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| {
            p.len() == n
                && p.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

impl fmt::Display for SecretUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `--format` (juju/cmd `output.go`, §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Go `json.Marshal` plus a newline.
    Json,
    /// goyaml.
    Yaml,
    /// The default of most tools: strings raw, lists one per line, booleans `True`/`False`.
    Smart,
}

impl Format {
    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Smart => "smart",
        }
    }
}

impl FromStr for Format {
    type Err = UsageError;
    fn from_str(s: &str) -> Result<Self, UsageError> {
        match s {
            "json" => Ok(Format::Json),
            "yaml" => Ok(Format::Yaml),
            "smart" => Ok(Format::Smart),
            other => Err(UsageError::new(msg::invalid_value(
                other,
                "format",
                &format!("unknown format {other:?}"),
            ))),
        }
    }
}

/// `--file` of `relation-set` / `state-set`: a path or `-` for stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileArg {
    /// `--file -`: a YAML (or JSON) map on stdin. What the SDK always uses for values of any size.
    Stdin,
    /// `--file <path>`.
    Path(String),
}

impl FileArg {
    fn parse(s: &str) -> Self {
        if s == "-" {
            FileArg::Stdin
        } else {
            FileArg::Path(s.to_owned())
        }
    }

    pub(crate) fn parse_opt(s: Option<&str>) -> Option<Self> {
        s.map(FileArg::parse)
    }
}

impl fmt::Display for FileArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileArg::Stdin => f.write_str("-"),
            FileArg::Path(p) => f.write_str(p),
        }
    }
}

/// One `key=value` argument. Juju splits at the first `=`.
pub(crate) fn parse_pair(arg: &str) -> Result<(String, String), UsageError> {
    match arg.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(UsageError::new(format!(
            "expected \"key=value\", got {arg:?}"
        ))),
    }
}

/// One content argument of `secret-add` / `secret-set` (§6.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretValue {
    /// `key=value`: the value inline (small values only: argv is capped at 128 KiB per argument).
    Inline(String),
    /// `key#base64=<b64>`: already base64-encoded.
    Base64(String),
    /// `key#file=<path>`: the tool reads the file during the call. What ops and the SDK use.
    File(String),
}

/// A secret content argument: key plus value source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretContentArg {
    /// The content key; Juju requires `^([a-z](?:-?[a-z0-9]){2,})$`.
    pub key: String,
    /// Where the value comes from.
    pub value: SecretValue,
}

impl SecretContentArg {
    /// Parses `key=value`, `key#base64=VALUE` or `key#file=PATH`, checking the key.
    pub fn parse(arg: &str) -> Result<Self, UsageError> {
        let (k, v) = parse_pair(arg)?;
        let (key, value) = if let Some(key) = k.strip_suffix("#file") {
            (key, SecretValue::File(v))
        } else if let Some(key) = k.strip_suffix("#base64") {
            (key, SecretValue::Base64(v))
        } else {
            (k.as_str(), SecretValue::Inline(v))
        };
        if !is_valid_secret_key(key) {
            return Err(UsageError::new(format!("invalid secret key {key:?}")));
        }
        Ok(SecretContentArg {
            key: key.to_owned(),
            value,
        })
    }

    pub(crate) fn to_arg(&self) -> String {
        match &self.value {
            SecretValue::Inline(v) => format!("{}={v}", self.key),
            SecretValue::Base64(v) => format!("{}#base64={v}", self.key),
            SecretValue::File(p) => format!("{}#file={p}", self.key),
        }
    }
}

/// Juju's (and ops') rule for secret content keys: `^([a-z](?:-?[a-z0-9]){2,})$`.
pub fn is_valid_secret_key(key: &str) -> bool {
    let b = key.as_bytes();
    let Some((first, rest)) = b.split_first() else {
        return false;
    };
    if !first.is_ascii_lowercase() {
        return false;
    }
    let mut groups = 0;
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == b'-' {
            i += 1;
        }
        match rest.get(i) {
            Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() => {
                groups += 1;
                i += 1;
            }
            _ => return false,
        }
    }
    groups >= 2
}

/// `--owner` of `secret-add` (§6.5; `application` is Juju's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretOwner {
    /// Owned by the application; managed by its leader.
    Application,
    /// Owned by the unit that created it.
    Unit,
}

impl SecretOwner {
    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretOwner::Application => "application",
            SecretOwner::Unit => "unit",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, UsageError> {
        match s {
            "application" => Ok(SecretOwner::Application),
            "unit" => Ok(SecretOwner::Unit),
            other => Err(UsageError::new(format!(
                "secret owner {other:?} not valid, expected \"application\" or \"unit\""
            ))),
        }
    }
}

/// `--rotate` policies (§6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotatePolicy {
    /// Never rotate.
    Never,
    /// Every hour.
    Hourly,
    /// Every day.
    Daily,
    /// Every week.
    Weekly,
    /// Every month.
    Monthly,
    /// Every quarter.
    Quarterly,
    /// Every year.
    Yearly,
}

impl RotatePolicy {
    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            RotatePolicy::Never => "never",
            RotatePolicy::Hourly => "hourly",
            RotatePolicy::Daily => "daily",
            RotatePolicy::Weekly => "weekly",
            RotatePolicy::Monthly => "monthly",
            RotatePolicy::Quarterly => "quarterly",
            RotatePolicy::Yearly => "yearly",
        }
    }
}

impl FromStr for RotatePolicy {
    type Err = UsageError;
    fn from_str(s: &str) -> Result<Self, UsageError> {
        Ok(match s {
            "never" => RotatePolicy::Never,
            "hourly" => RotatePolicy::Hourly,
            "daily" => RotatePolicy::Daily,
            "weekly" => RotatePolicy::Weekly,
            "monthly" => RotatePolicy::Monthly,
            "quarterly" => RotatePolicy::Quarterly,
            "yearly" => RotatePolicy::Yearly,
            other => {
                return Err(UsageError::new(format!(
                    "rotate policy {other:?} not valid"
                )));
            }
        })
    }
}

/// Workload statuses a charm may set with `status-set` (§6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettableStatus {
    /// The charm is doing work.
    Maintenance,
    /// The charm needs a human.
    Blocked,
    /// The charm waits for something outside it.
    Waiting,
    /// Ready.
    Active,
}

impl SettableStatus {
    /// The name Juju uses.
    pub fn as_str(self) -> &'static str {
        match self {
            SettableStatus::Maintenance => "maintenance",
            SettableStatus::Blocked => "blocked",
            SettableStatus::Waiting => "waiting",
            SettableStatus::Active => "active",
        }
    }
}

impl FromStr for SettableStatus {
    type Err = UsageError;
    fn from_str(s: &str) -> Result<Self, UsageError> {
        Ok(match s {
            "maintenance" => SettableStatus::Maintenance,
            "blocked" => SettableStatus::Blocked,
            "waiting" => SettableStatus::Waiting,
            "active" => SettableStatus::Active,
            other => return Err(UsageError::new(msg::invalid_status(other))),
        })
    }
}

/// Transport protocol of a port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP (the default when no protocol is given).
    Tcp,
    /// UDP.
    Udp,
}

/// An `open-port` / `close-port` argument: `8443`, `8443/tcp`, `1000-2000/udp`, `icmp` (§6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortSpec {
    /// A port or range for TCP or UDP; `from == to` for a single port.
    Range {
        /// First port (1-65535).
        from: u16,
        /// Last port, `>= from`.
        to: u16,
        /// The protocol.
        protocol: Protocol,
    },
    /// ICMP (no port).
    Icmp,
}

impl PortSpec {
    /// One TCP port.
    pub fn tcp(port: u16) -> Self {
        PortSpec::Range {
            from: port,
            to: port,
            protocol: Protocol::Tcp,
        }
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortSpec::Icmp => f.write_str("icmp"),
            PortSpec::Range { from, to, protocol } => {
                let p = match protocol {
                    Protocol::Tcp => "tcp",
                    Protocol::Udp => "udp",
                };
                if from == to {
                    write!(f, "{from}/{p}")
                } else {
                    write!(f, "{from}-{to}/{p}")
                }
            }
        }
    }
}

impl FromStr for PortSpec {
    type Err = UsageError;
    fn from_str(s: &str) -> Result<Self, UsageError> {
        let bad = || UsageError::new(format!("invalid port range {s:?}"));
        if s == "icmp" {
            return Ok(PortSpec::Icmp);
        }
        let (ports, protocol) = match s.split_once('/') {
            None => (s, Protocol::Tcp),
            Some((p, "tcp")) => (p, Protocol::Tcp),
            Some((p, "udp")) => (p, Protocol::Udp),
            Some(_) => return Err(bad()),
        };
        let port = |t: &str| t.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad);
        let (from, to) = match ports.split_once('-') {
            Some((a, b)) => (port(a)?, port(b)?),
            None => {
                let p = port(ports)?;
                (p, p)
            }
        };
        if to < from {
            return Err(bad());
        }
        Ok(PortSpec::Range { from, to, protocol })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_uri_names_its_model_when_it_has_one() {
        let uuid = "deadbeef-1234-4abc-8def-0123456789ab";
        for text in [
            format!("secret://{uuid}/cq2r5ai8jn1v2hq0sf6g"),
            format!("secret:{uuid}/cq2r5ai8jn1v2hq0sf6g"),
        ] {
            let uri = SecretUri::parse(&text).expect("valid");
            assert_eq!(uri.model_uuid(), Some(uuid), "{text}");
            assert_eq!(uri.xid(), "cq2r5ai8jn1v2hq0sf6g");
        }
        for text in ["secret:cq2r5ai8jn1v2hq0sf6g", "cq2r5ai8jn1v2hq0sf6g"] {
            assert_eq!(SecretUri::parse(text).expect("valid").model_uuid(), None);
        }
    }

    #[test]
    fn relation_refs() {
        assert_eq!(
            RelationRef::parse_flag("7", "r").unwrap(),
            RelationRef::id(7)
        );
        assert_eq!(
            RelationRef::parse_flag("certificates:7", "r").unwrap(),
            RelationRef::qualified("certificates", 7)
        );
        assert_eq!(
            RelationRef::parse_flag("db:x", "r")
                .unwrap_err()
                .to_string(),
            "invalid value \"db:x\" for option -r: invalid relation id \"db:x\""
        );
        assert_eq!(RelationRef::qualified("db", 9).to_string(), "db:9");
    }

    #[test]
    fn secret_uri_forms() {
        for s in [
            "secret:cq9e1u1mp25c77ab0abc",
            "secret://cdac5656-2423-4388-8f30-41854b4cca7d/cq9e1u1mp25c77ab0abc",
            "cq9e1u1mp25c77ab0abc",
        ] {
            assert_eq!(SecretUri::new(s).xid(), "cq9e1u1mp25c77ab0abc");
        }
    }

    #[test]
    fn secret_uri_validation_follows_juju() {
        for ok in [
            "secret:cq9e1u1mp25c77ab0abc",
            "secret://cdac5656-2423-4388-8f30-41854b4cca7d/cq9e1u1mp25c77ab0abc",
            "cq9e1u1mp25c77ab0abc",
            "secret:d0000000000000000000",
        ] {
            assert!(SecretUri::parse(ok).is_ok(), "{ok}");
        }
        let err = |s: &str| SecretUri::parse(s).unwrap_err().to_string();
        assert_eq!(err("secret:nope"), "secret URI \"secret:nope\" not valid");
        assert_eq!(
            err("secret:zzzzzzzzzzzzzzzzzzzz"),
            "secret URI \"secret:zzzzzzzzzzzzzzzzzzzz\" not valid"
        );
        assert_eq!(
            err("http://x/cq9e1u1mp25c77ab0abc"),
            "secret URI scheme \"http\" not valid"
        );
        assert_eq!(
            err("secret://host/cq9e1u1mp25c77ab0abc"),
            "host controller UUID \"host\" not valid"
        );
    }

    #[test]
    fn secret_keys() {
        assert!(is_valid_secret_key("private-key"));
        assert!(is_valid_secret_key("abc"));
        assert!(!is_valid_secret_key("ab"));
        assert!(!is_valid_secret_key("Abc"));
        assert!(!is_valid_secret_key("a--bc"));
        assert!(!is_valid_secret_key("abc-"));
        assert!(!is_valid_secret_key("1abc"));
    }

    #[test]
    fn ports() {
        for s in ["8443/tcp", "1000-2000/udp", "icmp"] {
            assert_eq!(s.parse::<PortSpec>().unwrap().to_string(), s);
        }
        assert_eq!("80".parse::<PortSpec>().unwrap(), PortSpec::tcp(80));
        assert!("0/tcp".parse::<PortSpec>().is_err());
        assert!("2000-1000".parse::<PortSpec>().is_err());
        assert!("80/sctp".parse::<PortSpec>().is_err());
    }
}
