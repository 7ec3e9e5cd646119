//! The configuration options our CA charms share, read and checked as a whole: every bad option
//! is named with what would be valid, so one look at the status tells the operator everything
//! to fix.
//!
//! A charm reads its options through one [`Options`], which collects problems instead of
//! stopping at the first, then calls [`Options::finish`].
#![deny(missing_docs)]

use charm::duration::parse_config;
use pki::{KeyAlgorithm, RequestAttributes};
use serde_json::{Map, Value};
use time::Duration;
use tls_interfaces::Limits;

/// The options every CA charm of ours has.
#[derive(Debug, Clone, PartialEq)]
pub struct CaOptions {
    /// Subject of the CA (`ca-common-name`, `ca-organization`, ...).
    pub subject: RequestAttributes,
    /// Key algorithm of the CA (`ca-key-algorithm`).
    pub key_algorithm: KeyAlgorithm,
    /// Validity of issued certificates (`certificate-validity`).
    pub certificate_validity: Duration,
    /// Most certificates per requirer relation (`certificate-limit`; `None`: unlimited).
    pub certificate_limit: Option<usize>,
    /// Whether CA certificates are issued (`allow-ca-requests`).
    pub allow_ca_requests: bool,
    /// Caps on what one requirer can make the CA read (`max-*` options).
    pub limits: Limits,
}

/// A reader of one configuration map that collects every problem.
#[derive(Debug)]
pub struct Options<'a> {
    map: &'a Map<String, Value>,
    problems: Vec<String>,
}

impl<'a> Options<'a> {
    /// Starts reading `map` (the charm's `config-get --all`).
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Self {
            map,
            problems: Vec::new(),
        }
    }

    /// Records a problem the charm found itself (a relation between two options).
    pub fn problem(&mut self, text: String) {
        self.problems.push(text);
    }

    /// The trimmed text of a string option; `None` when unset or blank.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.map.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            _ => None,
        }
    }

    /// A boolean option (`default` when unset).
    pub fn flag(&mut self, key: &str, default: bool) -> bool {
        match self.map.get(key) {
            None | Some(Value::Null) => default,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.problems
                    .push(format!("{key} {other} is not a boolean (true or false)"));
                default
            }
        }
    }

    /// A comma-separated list option, lower-cased, blanks dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.text(key)
            .map(|t| {
                t.split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A duration option in the charm-config dialect (a bare number means days, as in the
    /// published self-signed charm), `default` when unset.
    pub fn duration(&mut self, key: &str, default: &str) -> Option<Duration> {
        let raw = self.text(key).unwrap_or_else(|| default.to_owned());
        match parse_config(&raw) {
            Ok(d) => Some(d),
            Err(e) => {
                self.problems.push(format!("{key} '{raw}' {}", e.problem()));
                None
            }
        }
    }

    /// The CA subject from the `ca-*` options: a common name is required, the country is two
    /// letters.
    pub fn subject(&mut self) -> Option<RequestAttributes> {
        let common_name = self.text("ca-common-name");
        if common_name.is_none() {
            self.problems
                .push("ca-common-name is empty (give the CA a name)".to_owned());
        }
        let country = self.text("ca-country-name");
        if let Some(c) = &country
            && !(c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
        {
            self.problems.push(format!(
                "ca-country-name '{c}' is not a two-letter country code (e.g. US, FR)"
            ));
            return None;
        }
        Some(RequestAttributes {
            common_name: Some(common_name?),
            organization: self.text("ca-organization"),
            organizational_unit: self.text("ca-organizational-unit"),
            email_address: self.text("ca-email-address"),
            country_name: country,
            state_or_province_name: self.text("ca-state-or-province-name"),
            locality_name: self.text("ca-locality-name"),
            ..RequestAttributes::default()
        })
    }

    /// `ca-key-algorithm`: rsa2048 (default), rsa3072, rsa4096, p256 or p384.
    pub fn key_algorithm(&mut self) -> Option<KeyAlgorithm> {
        let name = self
            .text("ca-key-algorithm")
            .unwrap_or_else(|| "rsa2048".to_owned());
        match name.parse::<KeyAlgorithm>() {
            Ok(a) if a != KeyAlgorithm::Ed25519 => Some(a),
            _ => {
                self.problems.push(format!(
                    "ca-key-algorithm '{name}' is not one of rsa2048, rsa3072, rsa4096, p256, p384"
                ));
                None
            }
        }
    }

    /// `certificate-limit`: a positive number, or -1 or 0 for unlimited (`None`); 99 when unset.
    pub fn certificate_limit(&mut self) -> Option<usize> {
        match self.map.get("certificate-limit") {
            None => Some(99),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(-1 | 0) => None,
                Some(n) if n > 0 => Some(n as usize),
                _ => {
                    self.problems.push(format!(
                        "certificate-limit {n} is not valid (a positive number, or -1 or 0 for unlimited)"
                    ));
                    None
                }
            },
            Some(other) => {
                self.problems
                    .push(format!("certificate-limit {other} is not an integer"));
                None
            }
        }
    }

    /// The `max-*` caps (the library's defaults when unset).
    pub fn limits(&mut self) -> Limits {
        let defaults = Limits::default();
        Limits {
            max_value_bytes: self.cap("max-databag-value-bytes", defaults.max_value_bytes),
            max_requests_per_bag: self.cap("max-requests-per-bag", defaults.max_requests_per_bag),
            max_csr_bytes: self.cap("max-csr-bytes", defaults.max_csr_bytes),
            max_sans: self.cap("max-sans-per-csr", defaults.max_sans),
        }
    }

    fn cap(&mut self, key: &str, default: usize) -> usize {
        match self.map.get(key) {
            None | Some(Value::Null) => default,
            Some(Value::Number(n)) => match n.as_u64().and_then(|n| usize::try_from(n).ok()) {
                Some(n) if n > 0 => n,
                _ => {
                    self.problems
                        .push(format!("{key} {n} is not valid (a positive number)"));
                    default
                }
            },
            Some(other) => {
                self.problems
                    .push(format!("{key} {other} is not an integer"));
                default
            }
        }
    }

    /// Every shared CA option, with `certificate-validity` defaulting to `default_validity`.
    pub fn ca(&mut self, default_validity: &str) -> Option<CaOptions> {
        let subject = self.subject();
        let key_algorithm = self.key_algorithm();
        let certificate_validity = self.duration("certificate-validity", default_validity);
        let certificate_limit = self.certificate_limit();
        let allow_ca_requests = self.flag("allow-ca-requests", false);
        let limits = self.limits();
        Some(CaOptions {
            subject: subject?,
            key_algorithm: key_algorithm?,
            certificate_validity: certificate_validity?,
            certificate_limit,
            allow_ca_requests,
            limits,
        })
    }

    /// `Ok(value)` when no problem was found, else every problem.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Vec<String>> {
        match value {
            Some(v) if self.problems.is_empty() => Ok(v),
            _ if self.problems.is_empty() => Err(vec!["the configuration is incomplete".into()]),
            _ => Err(self.problems),
        }
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
        let m = map(json!({"ca-common-name": "x"}));
        let mut o = Options::new(&m);
        let ca = o.ca("90d");
        let c = o.finish(ca).unwrap();
        assert_eq!(c.certificate_validity, Duration::days(90));
        assert_eq!(c.certificate_limit, Some(99));
        assert_eq!(c.key_algorithm, KeyAlgorithm::Rsa2048);
        assert_eq!(c.limits, Limits::default());
        assert!(!c.allow_ca_requests);
    }

    #[test]
    fn every_problem_is_named() {
        let m = map(json!({
            "ca-common-name": "", "ca-country-name": "France", "certificate-validity": "1y",
            "certificate-limit": -5, "ca-key-algorithm": "dsa", "max-csr-bytes": 0,
            "allow-ca-requests": "yes"
        }));
        let mut o = Options::new(&m);
        let ca = o.ca("90d");
        let text = o.finish(ca).unwrap_err().join("; ");
        for needle in [
            "ca-common-name",
            "ca-country-name 'France'",
            "certificate-validity '1y'",
            "certificate-limit -5",
            "ca-key-algorithm 'dsa'",
            "max-csr-bytes 0",
            "allow-ca-requests \"yes\"",
        ] {
            assert!(text.contains(needle), "{needle} missing in {text}");
        }
    }

    #[test]
    fn zero_and_minus_one_mean_unlimited_and_lists_split() {
        for v in [0, -1] {
            let m = map(json!({"certificate-limit": v, "domains": " A.com, ,b.org "}));
            let mut o = Options::new(&m);
            assert_eq!(o.certificate_limit(), None);
            assert_eq!(o.list("domains"), ["a.com", "b.org"]);
        }
    }
}
