//! The charm's config, validated with lego's messages where lego has one, so operators moving
//! from lego see the same words.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Map, Value};

/// How challenges are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plugin {
    /// HTTP-01, answered by the charm on its unit address.
    Http,
    /// DNS-01 through RFC 2136 dynamic updates.
    Rfc2136,
}

impl Plugin {
    /// The plugin names this charm supports, for messages.
    pub const SUPPORTED: &'static str = "http (or http-01), rfc2136";
}

/// The validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// ACME account email.
    pub email: String,
    /// Directory URL.
    pub server: String,
    /// Challenge plugin.
    pub plugin: Plugin,
    /// Secret URI of the plugin settings.
    pub plugin_config_secret_id: Option<String>,
    /// Secret URI of the EAB credentials.
    pub eab_secret_id: Option<String>,
    /// PEM CA certificates to trust for the server's TLS.
    pub acme_ca_certificates: Vec<String>,
    /// Wait after creating DNS records.
    pub dns_propagation_wait: Option<Duration>,
    /// Name servers for zone and CNAME lookups.
    pub dns_nameservers: Vec<SocketAddr>,
    /// Do not follow CNAMEs of challenge names.
    pub disable_cname_support: bool,
    /// Fraction of lifetime left under which issued certificates are logged.
    pub expiry_ratio: f64,
    /// Request IP identifiers.
    pub request_ip_identifiers: bool,
    /// HTTP-01 port.
    pub http_01_port: u16,
    /// Per-request timeout.
    pub acme_request_timeout: Duration,
    /// How long a hook waits for orders.
    pub order_wait: Duration,
}

fn string(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn int(map: &Map<String, Value>, key: &str) -> Option<i64> {
    map.get(key).and_then(Value::as_i64)
}

fn seconds(
    map: &Map<String, Value>,
    key: &str,
    default: u64,
    max: u64,
) -> Result<Duration, String> {
    match int(map, key) {
        None => Ok(Duration::from_secs(default)),
        Some(n) if n > 0 && n.unsigned_abs() <= max => Ok(Duration::from_secs(n.unsigned_abs())),
        Some(n) if n > 0 => Err(format!("{key} must be at most {max} seconds (got {n})")),
        Some(n) => Err(format!("{key} must be greater than 0 (got {n})")),
    }
}

/// `lego`'s email check: something@something.something.
fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain
            .split_once('.')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
}

/// A directory URL needs a scheme and a host; ours must be https (the account key signs
/// requests, but the directory and certificates would travel in the clear).
fn valid_server(server: &str) -> bool {
    server
        .strip_prefix("https://")
        .and_then(|rest| rest.split('/').next())
        .is_some_and(|host| !host.is_empty())
}

/// `ip` or `ip:port` (IPv6 in brackets with a port), port 53 by default.
/// lego's messages for a bad port; an address that is not an IP is ours (lego hands it on).
pub fn parse_nameserver(entry: &str) -> Result<SocketAddr, String> {
    let bare = entry.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    let (host, port) = entry.rsplit_once(':').ok_or_else(|| {
        format!("invalid dns-nameservers entry {entry:?}: expected ip or ip:port")
    })?;
    let port: i64 = port
        .parse()
        .map_err(|_| format!("Invalid port format in dns-nameserver: {entry}"))?;
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("Invalid port {port} in dns-nameservers"))?;
    let ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .map_err(|_| format!("invalid dns-nameservers entry {entry:?}: expected ip or ip:port"))?;
    Ok(SocketAddr::new(ip, port))
}

/// Reads and validates the config; the message names the first problem.
pub fn read(map: &Map<String, Value>) -> Result<Config, String> {
    let email = string(map, "email").ok_or("email address was not provided")?;
    if !valid_email(&email) {
        return Err("invalid email address".into());
    }
    let server = string(map, "server").ok_or("acme server was not provided")?;
    if !valid_server(&server) {
        return Err("invalid ACME server".into());
    }
    let plugin = match string(map, "plugin").as_deref() {
        None => return Err("plugin was not provided".into()),
        Some("http" | "http-01") => Plugin::Http,
        Some("rfc2136") => Plugin::Rfc2136,
        Some(other) => {
            return Err(format!(
                "plugin {other:?} is not supported; supported plugins: {}",
                Plugin::SUPPORTED
            ));
        }
    };
    let plugin_config_secret_id = string(map, "plugin-config-secret-id");
    if plugin == Plugin::Rfc2136 && plugin_config_secret_id.is_none() {
        return Err("plugin configuration secret is not available".into());
    }
    let acme_ca_certificates = match string(map, "acme-ca-certificates") {
        None => Vec::new(),
        Some(pem) => split_pem(&pem).ok_or("acme-ca-certificates contains invalid PEM data")?,
    };
    let dns_propagation_wait = match int(map, "dns-propagation-wait") {
        None => None,
        Some(n) if n > 0 && n <= 86_400 => Some(Duration::from_secs(n.unsigned_abs())),
        Some(n) if n > 0 => {
            return Err(format!(
                "dns-propagation-wait must be at most 86400 seconds (got {n})"
            ));
        }
        Some(_) => return Err("dns-propagation-wait must be greater than 0".into()),
    };
    let dns_nameservers = match string(map, "dns-nameservers") {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|e| {
                let e = e.trim();
                if e.is_empty() {
                    Err("dns-nameservers cannot contain empty entries".to_owned())
                } else {
                    parse_nameserver(e)
                }
            })
            .collect::<Result<_, _>>()?,
    };
    let expiry_ratio = match map.get("expiry_ratio") {
        None | Some(Value::Null) => 0.15,
        Some(v) => v.as_f64().ok_or("expiry_ratio must be a number")?,
    };
    if !(expiry_ratio > 0.0 && expiry_ratio <= 1.0) {
        return Err("expiry_ratio must be > 0 and <= 1".into());
    }
    let http_01_port = match int(map, "http-01-port").unwrap_or(8080) {
        p @ 1..=65535 => u16::try_from(p).map_err(|e| e.to_string())?,
        p => return Err(format!("http-01-port must be 1-65535 (got {p})")),
    };
    Ok(Config {
        email,
        server,
        plugin,
        plugin_config_secret_id,
        eab_secret_id: string(map, "eab-secret-id"),
        acme_ca_certificates,
        dns_propagation_wait,
        dns_nameservers,
        disable_cname_support: map
            .get("disable-cname-support")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        expiry_ratio,
        request_ip_identifiers: map
            .get("request-ip-identifiers")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        http_01_port,
        acme_request_timeout: seconds(map, "acme-request-timeout", 30, 600)?,
        order_wait: seconds(map, "order-wait", 60, 3600)?,
    })
}

/// The certificates of a PEM bundle, each checked to parse; `None` if any does not (or none).
pub fn split_pem(bundle: &str) -> Option<Vec<String>> {
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = bundle;
    while let Some(end) = rest.find(END) {
        let block = rest[..end + END.len()].trim();
        pki::Certificate::from_pem(block).ok()?;
        out.push(block.to_owned());
        rest = &rest[end + END.len()..];
    }
    (!out.is_empty() && rest.trim().is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, Value)]) -> Result<Config, String> {
        let mut map = Map::new();
        map.insert("email".into(), "ops@example.com".into());
        map.insert(
            "server".into(),
            "https://acme-v02.api.letsencrypt.org/directory".into(),
        );
        map.insert("plugin".into(), "http".into());
        for (k, v) in pairs {
            map.insert((*k).into(), v.clone());
        }
        read(&map)
    }

    #[test]
    fn the_defaults_are_valid() {
        let c = config(&[]).unwrap();
        assert_eq!(c.plugin, Plugin::Http);
        assert_eq!(c.http_01_port, 8080);
        assert!((c.expiry_ratio - 0.15).abs() < f64::EPSILON);
    }

    #[test]
    fn each_bad_value_gets_lego_s_message() {
        for (key, value, message) in [
            ("email", "", "email address was not provided"),
            ("email", "nobody", "invalid email address"),
            ("email", "a@b", "invalid email address"),
            ("server", "", "acme server was not provided"),
            ("server", "acme.example", "invalid ACME server"),
            ("server", "http://acme.example/dir", "invalid ACME server"),
            ("plugin", "", "plugin was not provided"),
            (
                "plugin",
                "rfc2136",
                "plugin configuration secret is not available",
            ),
            (
                "acme-ca-certificates",
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
                "acme-ca-certificates contains invalid PEM data",
            ),
            (
                "dns-nameservers",
                "10.0.0.1,,10.0.0.2",
                "dns-nameservers cannot contain empty entries",
            ),
            (
                "dns-nameservers",
                "10.0.0.1:0",
                "Invalid port 0 in dns-nameservers",
            ),
            (
                "dns-nameservers",
                "10.0.0.1:x",
                "Invalid port format in dns-nameserver: 10.0.0.1:x",
            ),
            ("expiry_ratio", "x", "expiry_ratio must be a number"),
        ] {
            assert_eq!(
                config(&[(key, value.into())]).unwrap_err(),
                message,
                "{key}={value}"
            );
        }
    }

    #[test]
    fn other_plugins_are_refused_with_the_supported_list() {
        let e = config(&[("plugin", "route53".into())]).unwrap_err();
        assert!(e.contains("route53") && e.contains("rfc2136"), "{e}");
    }

    #[test]
    fn numbers_are_range_checked() {
        assert!(
            config(&[("dns-propagation-wait", 0.into())])
                .unwrap_err()
                .contains("greater than 0")
        );
        assert_eq!(
            config(&[("expiry_ratio", 0.0.into())]).unwrap_err(),
            "expiry_ratio must be > 0 and <= 1"
        );
        assert!(config(&[("expiry_ratio", 1.5.into())]).is_err());
        assert!(config(&[("http-01-port", 70000.into())]).is_err());
        assert!(config(&[("order-wait", 0.into())]).is_err());
        assert!(config(&[("order-wait", i64::MAX.into())]).is_err());
        assert!(config(&[("dns-propagation-wait", i64::MAX.into())]).is_err());
        let c = config(&[("dns-nameservers", "10.0.0.1, [::1]:5353".into())]).unwrap();
        assert_eq!(c.dns_nameservers[0].port(), 53);
        assert_eq!(c.dns_nameservers[1].port(), 5353);
    }
}
