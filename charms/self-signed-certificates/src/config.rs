//! The charm's configuration, read and checked as a whole: every bad option is named with what
//! would be valid, so one look at the status tells the operator everything to fix.

use charm::duration::{format_config as format_duration, parse_config};
use pki::{KeyAlgorithm, RequestAttributes};
use serde_json::{Map, Value};
use time::Duration;
use tls_interfaces::Limits;

/// The configuration, valid.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Subject of the CA (CN, O, OU, email, C, ST, L).
    pub subject: RequestAttributes,
    /// Validity of the root CA.
    pub root_validity: Duration,
    /// Validity of issued certificates.
    pub certificate_validity: Duration,
    /// Most certificates per requirer relation (`None`: unlimited).
    pub certificate_limit: Option<usize>,
    /// Key algorithm of the CA.
    pub key_algorithm: KeyAlgorithm,
    /// Whether CA certificates are issued.
    pub allow_ca_requests: bool,
    /// Caps on what one requirer can make the CA read (`max-*` options).
    pub limits: Limits,
}

/// Reads the configuration; `Err` lists every problem, one per bad option.
pub fn read(map: &Map<String, Value>) -> Result<Config, Vec<String>> {
    let mut problems = Vec::new();
    let text = |key: &str| -> Option<String> {
        match map.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            _ => None,
        }
    };
    let common_name = text("ca-common-name");
    if common_name.is_none() {
        problems.push("ca-common-name is empty (give the CA a name)".to_owned());
    }
    let country = text("ca-country-name");
    if let Some(c) = &country
        && !(c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
    {
        problems.push(format!(
            "ca-country-name '{c}' is not a two-letter country code (e.g. US, FR)"
        ));
    }
    let mut duration = |key: &str, default: &str| -> Option<Duration> {
        let raw = text(key).unwrap_or_else(|| default.to_owned());
        // The charm-config dialect: a bare number means days, as in the published charm.
        match parse_config(&raw) {
            Ok(d) => Some(d),
            Err(e) => {
                problems.push(format!("{key} '{raw}' {}", e.problem()));
                None
            }
        }
    };
    let root_validity = duration("root-ca-validity", "365d");
    let certificate_validity = duration("certificate-validity", "90d");
    if let (Some(root), Some(cert)) = (root_validity, certificate_validity)
        && cert * 2 > root
    {
        problems.push(format!(
            "certificate-validity {} is more than half of root-ca-validity {} (raise root-ca-validity to at least {} or lower certificate-validity)",
            format_duration(cert),
            format_duration(root),
            format_duration(cert * 2)
        ));
    }
    let certificate_limit = match map.get("certificate-limit") {
        None => Some(99),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(-1 | 0) => None,
            Some(n) if n > 0 => Some(n as usize),
            _ => {
                problems.push(format!("certificate-limit {n} is not valid (a positive number, or -1 or 0 for unlimited)"));
                None
            }
        },
        Some(other) => {
            problems.push(format!("certificate-limit {other} is not an integer"));
            None
        }
    };
    let algorithm_name = text("ca-key-algorithm").unwrap_or_else(|| "rsa2048".to_owned());
    let key_algorithm = match algorithm_name.parse::<KeyAlgorithm>() {
        Ok(a) if a != KeyAlgorithm::Ed25519 => Some(a),
        _ => {
            problems.push(format!("ca-key-algorithm '{algorithm_name}' is not one of rsa2048, rsa3072, rsa4096, p256, p384"));
            None
        }
    };
    let allow_ca_requests = matches!(map.get("allow-ca-requests"), Some(Value::Bool(true)));
    let defaults = Limits::default();
    let mut cap = |key: &str, default: usize| -> usize {
        match map.get(key) {
            None | Some(Value::Null) => default,
            Some(Value::Number(n)) => match n.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(n) if n > 0 => n,
                _ => {
                    problems.push(format!("{key} {n} is not valid (a positive number)"));
                    default
                }
            },
            Some(other) => {
                problems.push(format!("{key} {other} is not an integer"));
                default
            }
        }
    };
    let limits = Limits {
        max_value_bytes: cap("max-databag-value-bytes", defaults.max_value_bytes),
        max_requests_per_bag: cap("max-requests-per-bag", defaults.max_requests_per_bag),
        max_csr_bytes: cap("max-csr-bytes", defaults.max_csr_bytes),
        max_sans: cap("max-sans-per-csr", defaults.max_sans),
    };

    match (
        common_name,
        root_validity,
        certificate_validity,
        key_algorithm,
    ) {
        (Some(cn), Some(root_validity), Some(certificate_validity), Some(key_algorithm))
            if problems.is_empty() =>
        {
            let subject = RequestAttributes {
                common_name: Some(cn),
                organization: text("ca-organization"),
                organizational_unit: text("ca-organizational-unit"),
                email_address: text("ca-email-address"),
                country_name: country,
                state_or_province_name: text("ca-state-or-province-name"),
                locality_name: text("ca-locality-name"),
                ..RequestAttributes::default()
            };
            Ok(Config {
                subject,
                root_validity,
                certificate_validity,
                certificate_limit,
                key_algorithm,
                allow_ca_requests,
                limits,
            })
        }
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn defaults_are_valid() {
        let c = read(&map(json!({"ca-common-name": "x", "root-ca-validity": "365d", "certificate-validity": "90d", "certificate-limit": 99}))).unwrap();
        assert_eq!(c.certificate_validity, Duration::days(90));
        assert_eq!(c.certificate_limit, Some(99));
        assert_eq!(c.key_algorithm, KeyAlgorithm::Rsa2048);
        assert!(!c.allow_ca_requests);
    }

    #[test]
    fn every_problem_is_named() {
        let problems = read(&map(json!({
            "ca-common-name": "", "ca-country-name": "France", "root-ca-validity": "1y",
            "certificate-validity": "90d", "certificate-limit": -5, "ca-key-algorithm": "dsa"
        })))
        .unwrap_err();
        let text = problems.join("; ");
        for needle in [
            "ca-common-name",
            "ca-country-name 'France'",
            "root-ca-validity '1y'",
            "certificate-limit -5",
            "ca-key-algorithm 'dsa'",
        ] {
            assert!(text.contains(needle), "{needle} missing in {text}");
        }
    }

    #[test]
    fn an_unrepresentable_validity_is_named_not_a_failed_hook() {
        // Was accepted, then failed every leader hook (now + validity past year 9999).
        let problems = read(&map(json!({"ca-common-name": "x", "root-ca-validity": "3000000d", "certificate-validity": "90d"}))).unwrap_err();
        assert!(
            problems[0].contains("root-ca-validity '3000000d' is too long"),
            "{problems:?}"
        );
    }

    #[test]
    fn certificate_validity_must_be_at_most_half_the_root() {
        let problems = read(&map(json!({"ca-common-name": "x", "root-ca-validity": "100d", "certificate-validity": "60d"}))).unwrap_err();
        assert!(problems[0].contains("more than half"), "{problems:?}");
        assert!(problems[0].contains("120d"), "{problems:?}");
    }

    #[test]
    fn caps_default_and_are_checked() {
        let c = read(&map(json!({"ca-common-name": "x"}))).unwrap();
        assert_eq!(c.limits, Limits::default());
        let c = read(&map(json!({"ca-common-name": "x", "max-sans-per-csr": 5}))).unwrap();
        assert_eq!(c.limits.max_sans, 5);
        let problems = read(&map(
            json!({"ca-common-name": "x", "max-csr-bytes": 0, "max-requests-per-bag": "many"}),
        ))
        .unwrap_err();
        let text = problems.join("; ");
        assert!(
            text.contains("max-csr-bytes 0") && text.contains("max-requests-per-bag"),
            "{text}"
        );
    }

    #[test]
    fn zero_and_minus_one_mean_unlimited() {
        for v in [0, -1] {
            let c = read(&map(json!({"ca-common-name": "x", "certificate-limit": v}))).unwrap();
            assert_eq!(c.certificate_limit, None);
        }
    }
}
