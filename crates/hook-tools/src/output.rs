//! JSON shapes the hook tools print with `--format=json` (`juju-hook-environment.md` §6), and Go's
//! JSON rendering.
//!
//! The simple answers need no type: `relation-ids`/`relation-list`/`storage-list`/`secret-ids`
//! print a list of strings, `relation-list --app` and `unit-get` a string, `is-leader` a bool,
//! `relation-get`/`leader-get` a map of strings, `config-get`/`action-get` a map of JSON values,
//! `secret-get` a map of strings. The structured ones are below; field names follow Juju exactly
//! (`status-data`, `bind-addresses`, …).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `status-get --include-data` for the unit (§6.3). `status-data` is always present: ops >= 3.4
/// indexes it (transcripts D14).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusInfo {
    /// Message (may be empty).
    pub message: String,
    /// `active`, `blocked`, `maintenance`, `waiting`, `error` or `unknown`.
    pub status: String,
    /// Extra data; `{}` when none.
    #[serde(rename = "status-data", default)]
    pub status_data: serde_json::Map<String, serde_json::Value>,
}

/// `status-get --include-data --application` (§6.3). `units` is **inside** `application-status`,
/// as Juju prints it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplicationStatusOutput {
    /// The application's status.
    #[serde(rename = "application-status")]
    pub application_status: ApplicationStatus,
}

/// The application part of [`ApplicationStatusOutput`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApplicationStatus {
    /// Message (may be empty).
    pub message: String,
    /// Status name.
    pub status: String,
    /// Extra data; `{}` when none.
    #[serde(rename = "status-data", default)]
    pub status_data: serde_json::Map<String, serde_json::Value>,
    /// Each unit's status, by unit name.
    #[serde(default)]
    pub units: BTreeMap<String, StatusInfo>,
}

/// One entry of `secret-info-get` output, which is keyed by **bare xid** (§6.5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretInfo {
    /// Latest revision.
    pub revision: u32,
    /// Owner label, `""` if none (always present).
    #[serde(default)]
    pub label: String,
    /// `application` or `unit` (always present).
    pub owner: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Rotation policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<String>,
    /// Expiry of the latest revision, RFC 3339. The self-signed provider needs it (§2.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
    /// Next rotation time, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotates: Option<String>,
    /// Grants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<SecretAccess>,
}

/// A grant listed by `secret-info-get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretAccess {
    /// `application-<name>` or `unit-<name>-<n>`.
    pub target: String,
    /// The relation the grant is scoped to.
    pub scope: String,
    /// `view`.
    pub role: String,
}

/// `secret-info-get` output: xid → info.
pub type SecretInfoOutput = BTreeMap<String, SecretInfo>;

/// `network-get <binding>` without selector flags (§6.6). Missing top-level keys read as empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkInfo {
    /// Interfaces and their addresses.
    #[serde(
        rename = "bind-addresses",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub bind_addresses: Vec<BindAddress>,
    /// CIDRs egress traffic comes from.
    #[serde(
        rename = "egress-subnets",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub egress_subnets: Vec<String>,
    /// Addresses other units should use to reach this one.
    #[serde(
        rename = "ingress-addresses",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ingress_addresses: Vec<String>,
}

impl NetworkInfo {
    /// What a unit whose only address is `addr` on the loopback interface sees (the local
    /// model's units, and the SDK's in-memory harness).
    pub fn loopback(addr: &str) -> NetworkInfo {
        let cidr = format!("{addr}/32");
        NetworkInfo {
            bind_addresses: vec![BindAddress {
                mac_address: String::new(),
                interface_name: "lo".into(),
                addresses: vec![InterfaceAddress {
                    hostname: String::new(),
                    value: addr.to_owned(),
                    cidr: cidr.clone(),
                }],
            }],
            egress_subnets: vec![cidr],
            ingress_addresses: vec![addr.to_owned()],
        }
    }
}

/// One interface in [`NetworkInfo`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindAddress {
    /// MAC address.
    #[serde(rename = "mac-address", default)]
    pub mac_address: String,
    /// Interface name.
    #[serde(rename = "interface-name", default)]
    pub interface_name: String,
    /// Addresses on it.
    #[serde(default)]
    pub addresses: Vec<InterfaceAddress>,
}

/// One address of a [`BindAddress`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceAddress {
    /// Host name, often empty.
    #[serde(default)]
    pub hostname: String,
    /// The address.
    pub value: String,
    /// Its subnet.
    #[serde(default)]
    pub cidr: String,
}

/// `relation-model-get` (§6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationModel {
    /// UUID of the remote side's model.
    pub uuid: String,
}

/// `storage-get` without a key (§6.7); ops >= 3.4 needs both keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageAttributes {
    /// `filesystem` or `block`.
    pub kind: String,
    /// Mount point or device path.
    pub location: String,
}

/// `goal-state` (§6.7). `since` is `YYYY-MM-DD HH:MM:SSZ` and must be present for ops >= 3.4.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalState {
    /// This application's units, including the caller.
    pub units: BTreeMap<String, GoalStatus>,
    /// Endpoint → remote app or unit name → status.
    pub relations: BTreeMap<String, BTreeMap<String, GoalStatus>>,
}

/// One entry of [`GoalState`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalStatus {
    /// Status name.
    pub status: String,
    /// When it was entered.
    pub since: String,
}

/// Renders a value the way Go's `json.Marshal` does, plus the newline juju/cmd adds: object keys
/// sorted (our types use `BTreeMap`), and `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c`,
/// `\u003e`, `\u0026`, `\u2028`, `\u2029` (§5.2). Escaping outside strings is impossible since
/// those characters only occur inside them. Bags run to megabytes (a provider's certificates),
/// so the text is copied in runs between the few characters to escape, not char by char.
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let raw = serde_json::to_string(value)?;
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len() + 1);
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Every byte matched here starts a character, so `i` is a char boundary.
        let (escape, len) = match bytes[i] {
            b'<' => ("\\u003c", 1),
            b'>' => ("\\u003e", 1),
            b'&' => ("\\u0026", 1),
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => {
                ("\\u2028", 3)
            }
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => {
                ("\\u2029", 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&raw[copied..i]);
        out.push_str(escape);
        i += len;
        copied = i;
    }
    out.push_str(&raw[copied..]);
    out.push('\n');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_escapes_html_characters_and_line_separators_only() {
        let v = serde_json::json!({"k": "a<b>&c\u{2028}d\u{2029}é\n\"q\""});
        assert_eq!(
            to_go_json(&v).unwrap(),
            "{\"k\":\"a\\u003cb\\u003e\\u0026c\\u2028d\\u2029é\\n\\\"q\\\"\"}\n"
        );
        let plain = "x".repeat(1000);
        assert_eq!(to_go_json(&plain).unwrap(), format!("\"{plain}\"\n"));
    }

    #[test]
    fn status_shapes_match_juju() {
        // §6.3
        let unit: StatusInfo = serde_json::from_str(
            r#"{"message":"waiting for ca","status":"waiting","status-data":{}}"#,
        )
        .unwrap();
        assert_eq!(unit.status, "waiting");
        let app: ApplicationStatusOutput = serde_json::from_str(
            r#"{"application-status":{"message":"","status":"active","status-data":{},"units":{"web/0":{"message":"","status":"active","status-data":{}}}}}"#,
        )
        .unwrap();
        assert_eq!(app.application_status.units["web/0"].status, "active");
        assert_eq!(
            to_go_json(&unit).unwrap(),
            "{\"message\":\"waiting for ca\",\"status\":\"waiting\",\"status-data\":{}}\n"
        );
    }

    #[test]
    fn secret_info_keyed_by_xid() {
        // transcripts §3.2
        let info: SecretInfoOutput = serde_json::from_str(
            r#"{"dhioem3ig54peejjc4if":{"expiry":"2027-08-31T15:22:26.060754Z","label":"active-ca-certificates","owner":"application","revision":1}}"#,
        )
        .unwrap();
        let i = &info["dhioem3ig54peejjc4if"];
        assert_eq!((i.revision, i.owner.as_str()), (1, "application"));
        assert_eq!(i.expiry.as_deref(), Some("2027-08-31T15:22:26.060754Z"));
        assert_eq!(
            to_go_json(&info).unwrap(),
            "{\"dhioem3ig54peejjc4if\":{\"revision\":1,\"label\":\"active-ca-certificates\",\"owner\":\"application\",\"expiry\":\"2027-08-31T15:22:26.060754Z\"}}\n"
        );
    }

    #[test]
    fn network_get_shape_and_missing_keys() {
        // §6.6
        let n: NetworkInfo = serde_json::from_str(
            r#"{"bind-addresses":[{"mac-address":"00:16:3e:12:34:56","interface-name":"eth0","addresses":[{"hostname":"","value":"10.1.2.3","cidr":"10.1.2.0/24"}]}],"egress-subnets":["10.1.2.3/32"],"ingress-addresses":["10.1.2.3"]}"#,
        )
        .unwrap();
        assert_eq!(n.bind_addresses[0].addresses[0].value, "10.1.2.3");
        let empty: NetworkInfo = serde_json::from_str(r#"{"bind-addresses":[]}"#).unwrap();
        assert!(empty.ingress_addresses.is_empty());
    }

    #[test]
    fn go_escapes_html_characters() {
        assert_eq!(
            to_go_json("<a&b>").unwrap(),
            "\"\\u003ca\\u0026b\\u003e\"\n"
        );
    }
}
