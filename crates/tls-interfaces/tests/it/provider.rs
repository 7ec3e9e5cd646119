use charm::Event;
use juju_tls_interfaces::{Mode, RequirerEvent, Scope};
use pki::IssuingPolicy;

use crate::world::{Wants, World, list, unit_wants};

#[test]
fn one_provider_hook_serves_every_unit_in_one_write() {
    let mut w = World::new(
        Mode::Unit,
        &["req/0", "req/1", "req/2"],
        "req/0",
        unit_wants(&["a.example", "b.example"]),
        IssuingPolicy::default(),
    );
    for n in ["req/0", "req/1", "req/2"] {
        w.run_requirer(n, Event::Install);
    }
    w.run_provider(Event::UpdateStatus);
    let certs = list(&w.provider_bag()["certificates"]);
    assert_eq!(certs.len(), 6);
    for c in &certs {
        let chain = c["chain"].as_array().unwrap();
        assert_eq!(chain[0], c["certificate"], "leaf first");
        assert_eq!(chain[1], c["ca"], "then the root");
        assert!(c.get("revoked").is_none());
    }
    let caps: serde_json::Value = serde_json::from_str(&w.provider_bag()["capabilities"]).unwrap();
    assert_eq!(caps["supports_ca_certificates"], false);
    assert_eq!(caps["provider_type"], "self-signed");
    // A second provider hook changes nothing.
    let before = w.provider_bag().clone();
    w.run_provider(Event::UpdateStatus);
    assert_eq!(w.provider_bag(), &before);
}

#[test]
fn ca_requests_get_an_error_naming_the_option_unless_allowed() {
    let wants = Wants(vec![(Scope::Unit, "sub-ca.example".into(), true)]);
    let policy = IssuingPolicy {
        allow_ca_hint: "set the allow-ca-requests option to true".into(),
        ..IssuingPolicy::default()
    };
    let mut w = World::new(Mode::Unit, &["req/0"], "req/0", wants.clone(), policy);
    w.round();
    assert!(w.provider_bag().get("certificates").is_none());
    let errors = list(&w.provider_bag()["request_errors"]);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["error"]["code"], 999);
    assert!(
        errors[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allow-ca-requests")
    );
    assert!(errors[0].get("csr").is_some(), "the running library's key");
    let denied = w
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, RequirerEvent::CertificateDenied(_)))
        .count();
    assert_eq!(denied, 1);

    let mut w = World::new(
        Mode::Unit,
        &["req/0"],
        "req/0",
        wants,
        IssuingPolicy::allowing_ca(),
    );
    w.round();
    let certs = list(&w.provider_bag()["certificates"]);
    let cert = pki::Certificate::from_pem(certs[0]["certificate"].as_str().unwrap()).unwrap();
    assert!(cert.info().is_ca);
    assert!(
        w.take_events()
            .iter()
            .any(|e| matches!(e, RequirerEvent::CertificateAvailable(_)))
    );
}

#[test]
fn a_removed_unit_loses_its_certificate() {
    let mut w = World::new(
        Mode::Unit,
        &["req/0", "req/1"],
        "req/0",
        unit_wants(&["x.example"]),
        IssuingPolicy::default(),
    );
    w.round();
    assert_eq!(list(&w.provider_bag()["certificates"]).len(), 2);
    w.provider.relations[0]
        .remote_units
        .remove(&crate::world::unit("req/1"));
    w.run_provider(Event::UpdateStatus);
    assert_eq!(list(&w.provider_bag()["certificates"]).len(), 1);
}

/// A signing policy refusal carries the library's code for its rule (101 IP, 102 domain, 103
/// wildcard), a message naming the rule, and the reason `signing policy`; what it allows is
/// signed in the same hook.
#[test]
fn the_name_policy_refuses_with_the_code_of_its_rule() {
    let wants = unit_wants(&["web.example.com", "*.example.com", "other.org", "10.0.0.7"]);
    let names = pki::NamePolicy {
        allowed_domains: vec!["example.com".into()],
        allow_subdomains: true,
        allow_wildcards: false,
        allow_ip_sans: false,
        allow_any_name: false,
        ..pki::NamePolicy::default()
    };
    let mut w = World::new(
        Mode::Unit,
        &["req/0"],
        "req/0",
        wants,
        IssuingPolicy::default(),
    )
    .with_name_policy(names);
    w.round();
    let certs = list(&w.provider_bag()["certificates"]);
    assert_eq!(certs.len(), 1, "only web.example.com: {certs:#?}");
    let mut codes: Vec<(i64, String)> = list(&w.provider_bag()["request_errors"])
        .iter()
        .map(|e| {
            assert_eq!(
                e["error"]["reason"],
                juju_tls_interfaces::NAME_POLICY_REASON
            );
            (
                e["error"]["code"].as_i64().unwrap(),
                format!(
                    "{} {}",
                    e["error"]["name"].as_str().unwrap(),
                    e["error"]["message"].as_str().unwrap()
                ),
            )
        })
        .collect();
    codes.sort();
    assert_eq!(codes.len(), 3, "{codes:#?}");
    assert_eq!(codes[0].0, 101);
    assert!(codes[0].1.starts_with("IP_NOT_ALLOWED"), "{codes:?}");
    assert!(codes[0].1.contains("allow-ip-sans is false"), "{codes:?}");
    assert_eq!(codes[1].0, 102);
    assert!(codes[1].1.contains("'other.org'"), "{codes:?}");
    assert_eq!(codes[2].0, 103);
    assert!(
        codes[2].1.contains("allow-wildcard-certificates"),
        "{codes:?}"
    );
}
