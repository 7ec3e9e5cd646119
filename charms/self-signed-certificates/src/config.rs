//! The charm's configuration, read and checked as a whole: every bad option is named with what
//! would be valid, so one look at the status tells the operator everything to fix.

use ca_options::Options;
use charm::duration::format_config as format_duration;
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
    /// How long before the CA's renewal the next CA is published (`ca-renewal-notice`).
    pub renewal_notice: Duration,
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
    /// Whether requirers on the reactive wire are served (`reactive-wire`): the CA then makes
    /// their keys and sends them over the relation.
    pub reactive_wire: bool,
}

/// Reads the configuration; `Err` lists every problem, one per bad option.
pub fn read(map: &Map<String, Value>) -> Result<Config, Vec<String>> {
    let mut o = Options::new(map);
    let ca = o.ca("90d");
    let root_validity = o.duration("root-ca-validity", "365d");
    let renewal_notice = o.duration("ca-renewal-notice", "7d");
    let reactive_wire = o.flag("reactive-wire", false);
    if let (Some(root), Some(ca)) = (root_validity, &ca)
        && ca.certificate_validity * 2 > root
    {
        let cert = ca.certificate_validity;
        o.problem(format!(
            "certificate-validity {} is more than half of root-ca-validity {} (raise root-ca-validity to at least {} or lower certificate-validity)",
            format_duration(cert),
            format_duration(root),
            format_duration(cert * 2)
        ));
    }
    let config = match (ca, root_validity, renewal_notice) {
        (Some(ca), Some(root_validity), Some(renewal_notice)) => Some(Config {
            subject: ca.subject,
            root_validity,
            renewal_notice,
            certificate_validity: ca.certificate_validity,
            certificate_limit: ca.certificate_limit,
            key_algorithm: ca.key_algorithm,
            allow_ca_requests: ca.allow_ca_requests,
            limits: ca.limits,
            reactive_wire,
        }),
        _ => None,
    };
    o.finish(config)
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
        assert!(!c.reactive_wire, "the reactive wire is opt-in");
    }

    #[test]
    fn the_reactive_wire_is_a_boolean() {
        let c = read(&map(json!({"ca-common-name": "x", "reactive-wire": true}))).unwrap();
        assert!(c.reactive_wire);
        let problems =
            read(&map(json!({"ca-common-name": "x", "reactive-wire": "yes"}))).unwrap_err();
        assert!(problems[0].contains("reactive-wire"), "{problems:?}");
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
