//! Malformed data from the other side: skipped with a warning naming it; valid entries served;
//! the hook never fails.

use charm::Event;
use juju_tls_interfaces::Mode;
use pki::IssuingPolicy;
use proptest::prelude::*;

use crate::world::{RELATION_ID, World, list, unit, unit_wants};

#[test]
fn bad_requirer_entries_are_answered_and_good_ones_signed() {
    let mut w = World::new(
        Mode::Unit,
        &["req/0", "req/1"],
        "req/0",
        unit_wants(&["good.example"]),
        IssuingPolicy::default(),
    );
    w.run_requirer("req/0", Event::Install);
    // req/1 writes garbage: one invalid JSON bag, then a list with a tampered CSR.
    let prel = w
        .provider
        .relations
        .iter_mut()
        .find(|r| r.id == RELATION_ID)
        .unwrap();
    prel.remote_units
        .get_mut(&unit("req/1"))
        .unwrap()
        .insert("certificate_signing_requests".into(), "{not json".into());
    w.run_provider(Event::UpdateStatus);
    assert_eq!(list(&w.provider_bag()["certificates"]).len(), 1);
    assert!(
        w.provider
            .logs
            .iter()
            .any(|(_, m)| m.contains("req/1") && m.contains("invalid JSON")),
        "{:?}",
        w.provider.logs
    );

    let good = list(&w.unit_csrs("req/0").unwrap());
    let mut pem = good[0]["certificate_signing_request"]
        .as_str()
        .unwrap()
        .to_owned();
    let line = pem.lines().nth(3).unwrap().to_owned();
    let flipped: String = line.chars().rev().collect();
    pem = pem.replace(&line, &flipped);
    let tampered =
        serde_json::json!([{"certificate_signing_request": pem, "ca": false}, {"unexpected": 1}]);
    let prel = w
        .provider
        .relations
        .iter_mut()
        .find(|r| r.id == RELATION_ID)
        .unwrap();
    prel.remote_units
        .get_mut(&unit("req/1"))
        .unwrap()
        .insert("certificate_signing_requests".into(), tampered.to_string());
    w.run_provider(Event::UpdateStatus);
    assert_eq!(
        list(&w.provider_bag()["certificates"]).len(),
        1,
        "the good certificate is kept"
    );
    let errors = list(&w.provider_bag()["request_errors"]);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{errors:?}"
    );
}

#[test]
fn bad_provider_entries_are_skipped_and_good_ones_taken() {
    let mut w = World::new(
        Mode::Unit,
        &["req/0"],
        "req/0",
        unit_wants(&["one.example", "two.example"]),
        IssuingPolicy::default(),
    );
    w.round();
    w.take_events();
    w.forget_certificate_secrets("req/0");
    w.edit_provider_certificates(|certs| {
        certs[0]["certificate"] = serde_json::Value::String(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into(),
        );
        certs.push(serde_json::json!({"bogus": true}));
    });
    w.provider.relations[0]
        .local_app_data
        .insert("capabilities".into(), "[1,2".into());
    w.sync();
    w.run_requirer("req/0", Event::UpdateStatus);
    assert_eq!(
        w.take_events().len(),
        1,
        "the valid certificate is still taken"
    );
    let logs = &w.requirer("req/0").logs;
    assert!(
        logs.iter().any(|(_, m)| m.contains("certificates[2]")),
        "{logs:?}"
    );
    assert!(
        logs.iter().any(|(_, m)| m.contains("capabilities")),
        "{logs:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_databag_values_never_fail_a_hook(csrs in ".{0,200}", certs in ".{0,200}", errors in ".{0,200}", caps in ".{0,60}") {
        let mut w = World::single("p.example");
        let prel = w.provider.relations.iter_mut().find(|r| r.id == RELATION_ID).unwrap();
        prel.remote_units.get_mut(&unit("req/0")).unwrap().insert("certificate_signing_requests".into(), csrs);
        w.run_provider(Event::UpdateStatus);
        let rel = w.provider.relations.iter_mut().find(|r| r.id == RELATION_ID).unwrap();
        rel.local_app_data.insert("certificates".into(), certs);
        rel.local_app_data.insert("request_errors".into(), errors);
        rel.local_app_data.insert("capabilities".into(), caps);
        w.sync();
        // Neither side's hook may fail on it.
        w.run_requirer("req/0", Event::UpdateStatus);
        w.run_provider(Event::UpdateStatus);
    }

    #[test]
    fn arbitrary_json_entries_never_fail_a_hook(entries in proptest::collection::vec(prop_oneof![
        Just(serde_json::json!({})),
        Just(serde_json::json!({"certificate_signing_request": 5})),
        Just(serde_json::json!({"certificate_signing_request": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----", "ca": "yes"})),
        Just(serde_json::json!(null)),
        ".{0,40}".prop_map(serde_json::Value::String),
    ], 0..6)) {
        let mut w = World::single("q.example");
        let prel = w.provider.relations.iter_mut().find(|r| r.id == RELATION_ID).unwrap();
        prel.remote_units.get_mut(&unit("req/0")).unwrap().insert("certificate_signing_requests".into(), serde_json::Value::Array(entries.clone()).to_string());
        w.run_provider(Event::UpdateStatus);
        let rel = w.provider.relations.iter_mut().find(|r| r.id == RELATION_ID).unwrap();
        rel.local_app_data.insert("certificates".into(), serde_json::Value::Array(entries).to_string());
        w.sync();
        w.run_requirer("req/0", Event::UpdateStatus);
    }
}

#[test]
fn a_provider_that_reformats_our_csr_pem_is_still_understood() {
    let mut w = World::single("crlf.example");
    w.round();
    w.take_events();
    w.forget_certificate_secrets("req/0");
    w.edit_provider_certificates(|certs| {
        let csr = certs[0]["certificate_signing_request"]
            .as_str()
            .unwrap()
            .replace('\n', "\r\n");
        certs[0]["certificate_signing_request"] = serde_json::Value::String(format!("{csr}\r\n"));
    });
    w.run_requirer("req/0", Event::UpdateStatus);
    assert_eq!(
        w.take_events().len(),
        1,
        "found by DER when the text differs"
    );
}
