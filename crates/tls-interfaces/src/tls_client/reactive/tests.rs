use std::path::PathBuf;
use std::sync::OnceLock;

use pki::{
    CertificateAuthority, CertificateKind, IssueRequest, IssuingPolicy, KeyAlgorithm, PrivateKey,
    RequestAttributes,
};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::json::to_python_json;
use crate::wire::reactive::IssuedPair;

fn bag(pairs: &[(&str, &str)]) -> Bag {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn requested(kind: CertKind, cn: &str, sans: &[&str]) -> RequestedCertificate {
    let mut attributes = RequestAttributes::new(cn);
    for s in sans {
        attributes.sans.push_str(s).unwrap();
    }
    RequestedCertificate {
        kind,
        common_name: cn.to_owned(),
        attributes,
        cert_path: PathBuf::from(format!("/t/{cn}.crt")),
        key_path: PathBuf::from(format!("/t/{cn}.key")),
    }
}

/// Two server requests and a client request, as a charm asks for them.
fn three() -> Vec<RequestedCertificate> {
    vec![
        requested(CertKind::Server, "web-0", &["web-0", "10.0.0.5"]),
        requested(CertKind::Client, "web-0-client", &[]),
        requested(CertKind::Server, "admin.example", &["DNS:admin.example"]),
    ]
}

fn ca() -> &'static CertificateAuthority {
    static CA: OnceLock<CertificateAuthority> = OnceLock::new();
    CA.get_or_init(|| {
        CertificateAuthority::self_signed_root(
            &RequestAttributes::new("reactive test CA"),
            PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap(),
            Duration::days(365),
            OffsetDateTime::now_utc() - Duration::days(1),
        )
        .unwrap()
    })
}

/// What a reactive provider sends: a key it made and a certificate for it.
fn issued(cn: &str) -> IssuedPair {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = RequestAttributes::new(cn).to_csr(&key).unwrap();
    let cert = ca()
        .issue(
            &IssueRequest {
                csr: &csr,
                kind: CertificateKind::Leaf,
                validity: Duration::days(30),
            },
            &IssuingPolicy::default(),
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    IssuedPair::new(cert.pem().trim(), key.to_pkcs8_pem().trim())
}

fn ca_pem() -> String {
    ca().certificate().pem().trim().to_owned()
}

/// A provider unit bag answering every request of [`three`] for `web/0`.
fn provider_bag() -> Bag {
    let server = issued("web-0");
    let admin = issued("admin.example");
    let client = issued("web-0-client");
    let mut b = bag(&[
        ("ca", &ca_pem()),
        ("chain", &ca_pem()),
        ("web_0.server.cert", &server.cert),
        ("web_0.server.key", &server.key),
        ("private-address", "10.0.0.1"),
    ]);
    b.insert(
        "web_0.processed_requests".into(),
        processed(&[("admin.example", &admin)]),
    );
    b.insert(
        "web_0.processed_client_requests".into(),
        processed(&[("web-0-client", &client)]),
    );
    b
}

fn processed(entries: &[(&str, &IssuedPair)]) -> String {
    reactive::processed_value(
        &entries
            .iter()
            .map(|(cn, p)| ((*cn).to_owned(), (*p).clone()))
            .collect(),
    )
}

#[test]
fn the_providers_wire_is_told_from_what_it_published() {
    let empty = Bag::new();
    let reactive_unit = bag(&[("ca", "PEM"), ("private-address", "10.0.0.1")]);
    let plain_unit = bag(&[("private-address", "10.0.0.2")]);
    // `certificates` in the app bag: the current wire, whatever the units hold.
    let current_app = bag(&[("certificates", "[]")]);
    assert_eq!(
        detect(&current_app, [&reactive_unit]),
        ProviderWire::Current
    );
    // `ca` in some unit bag and no `certificates`: the reactive wire only.
    assert_eq!(
        detect(&empty, [&plain_unit, &reactive_unit]),
        ProviderWire::ReactiveOnly
    );
    // Neither (nothing published yet, or an empty `ca`): the current wire, waiting.
    assert_eq!(detect(&empty, [&plain_unit]), ProviderWire::Current);
    assert_eq!(
        detect(&empty, [&bag(&[("ca", " ")])]),
        ProviderWire::Current
    );
    assert_eq!(detect(&empty, []), ProviderWire::Current);
}

#[test]
fn requests_are_written_as_the_layer_writes_them() {
    let mut wanted = three();
    wanted[2].attributes.sans.push_str("OID:1.2.3.4").unwrap();
    let (b, dropped) = request_bag("web/0", &wanted);
    assert_eq!(b["unit_name"], "web_0");
    // The first server request at the top level, the second in the collection.
    assert_eq!(b["common_name"], "web-0");
    assert_eq!(b["sans"], r#"["10.0.0.5", "web-0"]"#);
    assert_eq!(
        b["cert_requests"],
        r#"{"admin.example": {"sans": ["admin.example"]}}"#
    );
    assert_eq!(
        b["client_cert_requests"],
        r#"{"web-0-client": {"sans": []}}"#
    );
    assert_eq!(dropped, ["admin.example: OID:1.2.3.4"]);
    // A stable certificate_name: the same bag every hook, so the provider is not woken.
    assert_eq!(b, request_bag("web/0", &wanted).0);
    assert_eq!(b["certificate_name"].len(), 36);
    // The provider's reader finds every request.
    let (parsed, errors) = RequirerBag::parse(&b);
    assert!(errors.is_empty(), "{errors:?}");
    let all: Vec<(RequestType, &str)> = parsed
        .all_requests()
        .iter()
        .map(|r| (r.kind, r.common_name.as_str()))
        .collect();
    assert_eq!(
        all,
        [
            (RequestType::Server, "web-0"),
            (RequestType::Server, "admin.example"),
            (RequestType::Client, "web-0-client"),
        ]
    );
    assert!(reactive::is_reactive_requirer(&b));
}

#[test]
fn the_bag_changes_withdraw_csrs_and_stale_requests_and_keep_jujus_keys() {
    let (wanted, _) = request_bag("web/0", &three()[..2]);
    let current = bag(&[
        ("certificate_signing_requests", "[]"),
        ("cert_requests", r#"{"old": {"sans": []}}"#),
        ("unit_name", "web_0"),
        ("private-address", "10.0.0.9"),
    ]);
    let changes = request_changes(&current, &wanted);
    assert_eq!(changes["certificate_signing_requests"], "");
    assert_eq!(changes["cert_requests"], "", "no second server request now");
    assert!(!changes.contains_key("unit_name"), "unchanged");
    assert!(!changes.contains_key("private-address"));
    assert_eq!(changes["common_name"], "web-0");
    // Applied, nothing is left to change.
    let mut after = current.clone();
    for (k, v) in &changes {
        if v.is_empty() {
            after.remove(k);
        } else {
            after.insert(k.clone(), v.clone());
        }
    }
    assert!(request_changes(&after, &wanted).is_empty());
    // Back on the current wire: every reactive key goes, Juju's and the CSRs stay.
    let back = withdraw_changes(&after);
    assert!(back.values().all(String::is_empty));
    assert!(back.contains_key("client_cert_requests") && back.contains_key("sans"));
    assert!(!back.contains_key("private-address"));
}

#[test]
fn every_answer_lands_on_its_request_with_the_chain() {
    let p = provider_bag();
    let a = receive([&p], "web/0", &three());
    assert!(a.errors.is_empty(), "{:?}", a.errors);
    assert_eq!(a.ca.as_deref(), Some(format!("{}\n", ca_pem()).as_str()));
    let got: Vec<&Received> = a.certificates.iter().flatten().collect();
    assert_eq!(got.len(), 3);
    for (r, g) in three().iter().zip(&got) {
        let leaf = Certificate::all_from_pem(&g.cert_file).unwrap();
        assert_eq!(leaf.len(), 2, "the leaf, then the chain");
        assert_eq!(
            leaf[0].subject().common_name(),
            Some(r.common_name.as_str())
        );
        assert_eq!(leaf[1].pem().trim(), ca_pem());
        let key = PrivateKey::from_pem(&g.key_file).unwrap();
        assert!(leaf[0].matches_key(&key));
        assert!(g.key_file.ends_with('\n'));
    }
    // Nothing answered yet: nothing held, no error.
    let nothing = receive([&bag(&[("ca", &ca_pem())])], "web/0", &three());
    assert_eq!(nothing.certificates, [None, None, None]);
    assert!(nothing.errors.is_empty());
    // Another unit's answers are not ours.
    assert_eq!(
        receive([&p], "web/1", &three()).certificates,
        [None, None, None]
    );
}

#[test]
fn unusable_answers_are_named_by_key_and_the_rest_is_used() {
    let mut p = provider_bag();
    p.insert("web_0.processed_client_requests".into(), "{not json".into());
    // The top-level server certificate with another certificate's key.
    let other = issued("web-0");
    p.insert("web_0.server.key".into(), other.key.to_string());
    p.insert("chain".into(), "not a certificate".into());
    let a = receive([&p], "web/0", &three());
    let keys: Vec<&str> = a.errors.iter().map(WireError::key).collect();
    assert_eq!(
        keys,
        [
            "web_0.processed_client_requests",
            "chain",
            "web_0.server.cert"
        ],
        "{:?}",
        a.errors
    );
    assert!(
        a.errors[2]
            .to_string()
            .contains("not for the key sent with it"),
        "{}",
        a.errors[2]
    );
    // The second server certificate is still used (without the bad chain), and the CA.
    assert!(a.certificates[0].is_none() && a.certificates[1].is_none());
    let admin = a.certificates[2].as_ref().expect("admin.example held");
    assert_eq!(
        Certificate::all_from_pem(&admin.cert_file).unwrap().len(),
        1
    );
    assert!(a.ca.is_some());

    // A CA that is not PEM is named too.
    let bad_ca = bag(&[(
        "ca",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
    )]);
    let a = receive([&bad_ca], "web/0", &three());
    assert_eq!(a.ca, None);
    assert_eq!(a.errors.len(), 1, "{:?}", a.errors);
    assert_eq!(a.errors[0].key(), "ca");
}

#[test]
fn a_key_is_never_in_debug_output() {
    let p = provider_bag();
    let a = receive([&p], "web/0", &three());
    let shown = format!("{a:?}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    assert!(shown.contains("CERTIFICATE"));
}

fn arb_value() -> impl Strategy<Value = String> {
    let pem = ca_pem();
    let pair = issued("web-0");
    let good = processed(&[("web-0-client", &pair), ("admin.example", &pair)]);
    prop_oneof![
        Just(pem.clone()),
        Just(pair.key.to_string()),
        Just(good),
        Just(to_python_json(
            &serde_json::json!({"web-0-client": {"cert": pem, "key": 1}})
        )),
        Just("[]".to_owned()),
        Just("null".to_owned()),
        ".{0,40}",
    ]
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("ca".to_owned()),
        Just("chain".to_owned()),
        Just("web_0.server.cert".to_owned()),
        Just("web_0.server.key".to_owned()),
        Just("web_0.processed_requests".to_owned()),
        Just("web_0.processed_client_requests".to_owned()),
        "[a-z_.]{1,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_provider_bags_never_panic_and_errors_name_a_key_of_the_bag(
        entries in proptest::collection::btree_map(arb_key(), arb_value(), 0..8),
    ) {
        let b: Bag = entries;
        let a = receive([&b], "web/0", &three());
        prop_assert_eq!(a.certificates.len(), 3);
        for e in &a.errors {
            prop_assert!(b.contains_key(e.key()), "{} names a key of the bag", e);
        }
        for held in a.certificates.iter().flatten() {
            let certs = Certificate::all_from_pem(&held.cert_file).unwrap();
            let key = PrivateKey::from_pem(&held.key_file).unwrap();
            prop_assert!(certs[0].matches_key(&key));
        }
    }
}
