//! The charm's configuration: the options every CA charm of ours has, and the signing policy.

use ca_options::{CaOptions, Options};
use pki::NamePolicy;
use serde_json::{Map, Value};

/// The configuration, valid.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Subject, key algorithm, validity and limits.
    pub ca: CaOptions,
    /// Which names are signed for.
    pub names: NamePolicy,
}

/// Reads the configuration; `Err` lists every problem, one per bad option.
pub fn read(map: &Map<String, Value>) -> Result<Config, Vec<String>> {
    let mut o = Options::new(map);
    let ca = o.ca("30d");
    let names = NamePolicy {
        allowed_domains: o.list("allowed-domains"),
        allow_bare_domains: o.flag("allow-bare-domains", false),
        allow_subdomains: o.flag("allow-subdomains", false),
        allow_wildcards: o.flag("allow-wildcard-certificates", true),
        allow_ip_sans: o.flag("allow-ip-sans", true),
        allow_any_name: o.flag("allow-any-name", true),
    };
    if !names.allow_any_name && names.allowed_domains.is_empty() {
        o.problem(
            "allow-any-name is false and allowed-domains is empty: no DNS name could be signed (list domains in allowed-domains)"
                .into(),
        );
    }
    if let Some(bad) = names
        .allowed_domains
        .iter()
        .find(|d| d.contains('*') || d.contains(' '))
    {
        o.problem(format!(
            "allowed-domains entry '{bad}' is not a domain (no wildcards or spaces: 'example.com' with allow-subdomains)"
        ));
    }
    o.finish(ca.map(|ca| Config { ca, names }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn defaults_sign_any_name() {
        let c = read(&map(json!({"ca-common-name": "int"}))).unwrap();
        assert_eq!(c.names, NamePolicy::default());
        assert_eq!(c.ca.certificate_validity, time::Duration::days(30));
    }

    #[test]
    fn a_policy_that_refuses_every_name_is_named() {
        let problems = read(&map(
            json!({"ca-common-name": "int", "allow-any-name": false}),
        ))
        .unwrap_err();
        assert!(
            problems[0].contains("allowed-domains is empty"),
            "{problems:?}"
        );
        let problems = read(&map(
            json!({"ca-common-name": "int", "allow-any-name": false,
            "allowed-domains": "example.com, *.bad.org"}),
        ))
        .unwrap_err();
        assert!(problems[0].contains("'*.bad.org'"), "{problems:?}");
    }
}
