//! The on-demand paths a charm drives (renew, regenerate the key, a key it supplies itself) and
//! the refusal of certificates that do not answer our request.

use charm::Event;
use charm::event::ActionEvent;
use juju_tls_interfaces::RequirerEvent;
use juju_tls_interfaces::labels;
use pki::{CertificateKind, Csr, IssuingPolicy, PrivateKey};

use crate::world::{World, list};

fn action(name: &str) -> Event {
    Event::Action(ActionEvent {
        name: name.into(),
        id: "1".into(),
    })
}

/// The first CSR of a `certificate_signing_requests` value.
fn first_csr(csrs: &str) -> Csr {
    let csrs = list(csrs);
    Csr::from_pem(
        csrs[0]["certificate_signing_request"]
            .as_str()
            .expect("pem"),
    )
    .expect("CSR")
}

/// The public key of the CSR `unit` has on the relation.
fn csr_key(w: &World, unit: &str) -> Vec<u8> {
    first_csr(&w.unit_csrs(unit).expect("CSRs"))
        .public_key_der()
        .to_vec()
}

fn available(w: &World) -> usize {
    w.take_events()
        .iter()
        .filter(|e| matches!(e, RequirerEvent::CertificateAvailable(_)))
        .count()
}

#[test]
fn renew_on_demand_sends_a_new_csr_with_the_same_key() {
    let mut w = World::single("renew.example");
    w.round();
    w.take_events();
    let (csrs, key) = (w.unit_csrs("req/0"), csr_key(&w, "req/0"));
    w.run_requirer("req/0", action("renew"));
    assert!(w.action_errors.borrow().is_empty());
    assert_ne!(w.unit_csrs("req/0"), csrs, "a new CSR");
    assert_eq!(csr_key(&w, "req/0"), key, "the same key");
    w.round();
    assert_eq!(available(&w), 1, "the renewed certificate arrives");
}

#[test]
fn regenerating_the_key_replaces_key_csr_and_certificate() {
    let mut w = World::single("rekey.example");
    w.round();
    w.take_events();
    let key = csr_key(&w, "req/0");
    w.run_requirer("req/0", action("regenerate-key"));
    assert!(w.action_errors.borrow().is_empty());
    assert_ne!(csr_key(&w, "req/0"), key, "a new key");
    w.round();
    let events = w.take_events();
    let Some(RequirerEvent::CertificateAvailable(new)) = events.first() else {
        panic!("no certificate for the new key: {events:?}");
    };
    let certificate = pki::Certificate::from_pem(&new.certificate).expect("certificate");
    assert!(
        certificate.matches_key(&own_key(&w)),
        "the certificate is for the new key"
    );
}

#[test]
fn a_key_the_charm_supplies_is_used_kept_out_of_secrets_and_never_regenerated() {
    let mut w = World::single("supplied.example");
    let key = PrivateKey::generate(pki::KeyAlgorithm::EcdsaP256).expect("key");
    *w.supplied_key.borrow_mut() = Some(key.to_pkcs8_pem().to_string());
    w.round();
    assert_eq!(available(&w), 1);
    let csr = first_csr(&w.unit_csrs("req/0").expect("CSRs"));
    let expected = crate::world::attributes("supplied.example")
        .to_csr(&key)
        .expect("CSR");
    assert_eq!(
        csr.public_key_der(),
        expected.public_key_der(),
        "the CSR is for the supplied key"
    );
    assert!(
        w.requirer("req/0").secrets.iter().all(|s| !s
            .label
            .as_deref()
            .unwrap_or("")
            .contains("private-key")),
        "the library stores no key of its own"
    );
    w.run_requirer("req/0", action("regenerate-key"));
    let errors = w.action_errors.borrow().clone();
    assert!(
        errors.iter().any(|e| e.contains("supplied by the charm")),
        "{errors:?}"
    );
}

/// Replaces the certificate the provider sent `req/0` with one the CA issues for `csr` as `kind`.
fn provider_sends(w: &mut World, csr: &Csr, kind: CertificateKind) {
    let now = time::OffsetDateTime::from_unix_timestamp(1_767_225_600).expect("time");
    let policy = IssuingPolicy {
        allow_ca: true,
        ..IssuingPolicy::default()
    };
    let forged = crate::world::ca()
        .issue(
            &pki::IssueRequest {
                csr,
                kind,
                validity: time::Duration::days(9),
            },
            &policy,
            now,
        )
        .expect("issue");
    w.edit_provider_certificates(|certs| {
        certs[0]["certificate"] = serde_json::Value::String(forged.pem().to_owned());
    });
    w.sync();
    w.forget_certificate_secrets("req/0");
    w.run_requirer("req/0", Event::UpdateStatus);
}

/// The requirer's own key, from its secret.
fn own_key(w: &World) -> PrivateKey {
    let secret = w
        .requirer("req/0")
        .secrets
        .iter()
        .find(|s| {
            s.label
                .as_deref()
                .is_some_and(|l| l.contains("private-key"))
        })
        .expect("key secret");
    let content = &secret.revisions[&secret.latest()];
    PrivateKey::from_pem(&content["private-key"]).expect("key")
}

#[test]
fn certificates_for_our_key_that_do_not_answer_the_request_are_refused() {
    let mut w = World::single("mine.example");
    w.round();
    w.take_events();
    let key = own_key(&w);
    let refused = |w: &World, why: &str| {
        let logs = &w.requirer("req/0").logs;
        assert!(
            logs.iter()
                .any(|(_, m)| m.contains("refusing the certificate") && m.contains(why)),
            "no refusal naming {why:?}: {logs:?}"
        );
    };

    // Our key, another name.
    let other = crate::world::attributes("other.example")
        .to_csr(&key)
        .expect("CSR");
    provider_sends(&mut w, &other, CertificateKind::Leaf);
    assert!(w.take_events().is_empty());
    refused(&w, "differ from the request");

    // Our key and name, but a CA certificate where a leaf was asked for.
    let same = crate::world::attributes("mine.example")
        .to_csr(&key)
        .expect("CSR");
    provider_sends(&mut w, &same, CertificateKind::Ca { path_len: None });
    assert!(w.take_events().is_empty());
    refused(
        &w,
        "a leaf certificate was requested, the provider sent a CA",
    );
    assert!(
        w.requirer("req/0")
            .secrets
            .iter()
            .all(|s| !s.label.as_deref().is_some_and(labels::is_certificate)),
        "nothing refused is stored"
    );
}

/// The OWASP-style security events (`datetime`, `appid`, `event`, `level`, `description`) of
/// both sides, one JSON object per line as the Python library's `_OWASPLogger` writes them.
fn security_events(logs: &[(charm::LogLevel, String)]) -> Vec<serde_json::Value> {
    logs.iter()
        .flat_map(|(_, m)| m.lines().map(str::to_owned).collect::<Vec<_>>())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .filter(|v| v.get("appid").is_some() && v.get("event").is_some())
        .collect()
}

#[test]
fn both_sides_log_security_events_in_the_owasp_shape() {
    let mut w = World::single("audit.example");
    w.round();
    let requirer = security_events(&w.requirer("req/0").logs);
    assert!(
        requirer
            .iter()
            .any(|e| e["event"] == "private_key_generated" && e["appid"] == "tls-certificates-req"),
        "{requirer:#?}"
    );
    let provider = security_events(&w.provider.logs);
    let provided = provider
        .iter()
        .find(|e| e["event"] == "certificate_provided")
        .unwrap_or_else(|| panic!("{provider:#?}"));
    for key in ["datetime", "level", "description"] {
        assert!(provided.get(key).is_some(), "{key} missing: {provided}");
    }
}

/// An APP key stored by an older Python library under the legacy label (unit-owned, no `-app-`)
/// is taken over by the leader: same key on the wire, moved to the current label, legacy gone.
#[test]
fn the_leader_moves_a_legacy_app_key_to_the_current_label_and_keeps_it() {
    use charm::testing::{Secret, SecretOwnerEntity};
    let mut w = World::new(
        juju_tls_interfaces::Mode::App,
        &["req/0"],
        "req/0",
        crate::world::Wants(vec![(
            juju_tls_interfaces::Scope::App,
            "app.example".into(),
            false,
        )]),
        IssuingPolicy::default(),
    );
    let legacy_key = PrivateKey::generate(pki::KeyAlgorithm::Rsa2048).expect("key");
    let legacy_label = labels::legacy_app_private_key("certificates");
    let content = std::collections::BTreeMap::from([(
        "private-key".to_owned(),
        legacy_key.to_traditional_pem().expect("pem").to_string(),
    )]);
    w.requirers
        .get_mut(&crate::world::unit("req/0"))
        .expect("req/0")
        .secrets
        .push(
            Secret::new(
                "d4mk5kvmp25c77s8jdl0",
                SecretOwnerEntity::Unit(crate::world::unit("req/0")),
                content,
            )
            .with_label(legacy_label.clone()),
        );
    w.round();
    assert_eq!(available(&w), 1);
    let csr = first_csr(&w.app_csrs("req/0").expect("app CSRs"));
    let expected = crate::world::attributes("app.example")
        .to_csr(&legacy_key)
        .expect("CSR");
    assert_eq!(
        csr.public_key_der(),
        expected.public_key_der(),
        "the legacy key is kept"
    );
    let secrets = &w.requirer("req/0").secrets;
    let current = labels::private_key(juju_tls_interfaces::Scope::App, 0, "certificates");
    assert!(
        secrets
            .iter()
            .any(|s| s.label.as_deref() == Some(current.as_str()))
    );
    assert!(
        secrets
            .iter()
            .all(|s| s.label.as_deref() != Some(legacy_label.as_str())),
        "the legacy secret is removed"
    );
}
