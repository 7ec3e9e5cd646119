use super::*;
use proptest::prelude::*;

fn bag(pairs: &[(&str, &str)]) -> Bag {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// What the layer's `request_server_cert` twice, `request_client_cert` and
/// `request_application_cert` leave in the requirer's bag (`json.dumps(sort_keys=True)`).
fn layer_bag() -> Bag {
    bag(&[
        ("unit_name", "etcd_0"),
        ("common_name", "etcd-0.example"),
        ("sans", r#"["10.0.0.5", "etcd-0.example"]"#),
        ("certificate_name", "0b6e0a4e-8f4a-4bd4-9b0e-7f2d3a1c5e90"),
        (
            "cert_requests",
            r#"{"peer.example": {"sans": ["peer.example"]}}"#,
        ),
        ("client_cert_requests", r#"{"admin": {"sans": null}}"#),
        (
            "application_cert_requests",
            r#"{"etcd.example": {"sans": ["etcd.example", "10.0.0.9"]}}"#,
        ),
    ])
}

#[test]
fn reads_what_the_layer_writes() {
    let (parsed, errors) = RequirerBag::parse(&layer_bag());
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(parsed.unit_name.as_deref(), Some("etcd_0"));
    let top = parsed.top_level.as_ref().expect("top-level request");
    assert_eq!(top.common_name, "etcd-0.example");
    assert_eq!(top.sans, ["10.0.0.5", "etcd-0.example"]);
    let all: Vec<(RequestType, &str)> = parsed
        .all_requests()
        .iter()
        .map(|r| (r.kind, r.common_name.as_str()))
        .collect();
    assert_eq!(
        all,
        [
            (RequestType::Server, "etcd-0.example"),
            (RequestType::Server, "peer.example"),
            (RequestType::Client, "admin"),
            (RequestType::Application, "etcd.example"),
        ]
    );
    assert!(is_reactive_requirer(&layer_bag()));
}

#[test]
fn writes_what_the_layer_writes() {
    let (parsed, _) = RequirerBag::parse(&layer_bag());
    let mut expected = layer_bag();
    // Written back sorted and normalised: `null` SANs become `[]`, as the layer's
    // `request_server_cert` writes them.
    expected.insert(
        "client_cert_requests".into(),
        r#"{"admin": {"sans": []}}"#.into(),
    );
    expected.insert(
        "application_cert_requests".into(),
        r#"{"etcd.example": {"sans": ["10.0.0.9", "etcd.example"]}}"#.into(),
    );
    assert_eq!(parsed.to_bag(), expected);
}

#[test]
fn a_current_wire_requirer_is_not_reactive() {
    assert!(!is_reactive_requirer(&bag(&[
        ("certificate_signing_requests", "[]"),
        ("unit_name", "x_0"),
    ])));
    assert!(!is_reactive_requirer(&bag(&[(
        "egress-subnets",
        "10.0.0.0/32"
    )])));
    assert!(is_reactive_requirer(&bag(&[("unit_name", "x_0")])));
}

#[test]
fn bad_json_and_unknown_types_name_their_key_and_keep_the_rest() {
    let (parsed, errors) = RequirerBag::parse(&bag(&[
        ("unit_name", "web_1"),
        ("cert_requests", r#"{"good.example": {"sans": []}, "#),
        (
            "client_cert_requests",
            r#"{"ok": {"sans": ["ok"]}, "bad": {"sans": [1]}, "none": {}}"#,
        ),
        ("application_cert_requests", "[1, 2]"),
        ("bogus_cert_requests", r#"{"x": {"sans": []}}"#),
    ]));
    let keys: Vec<&str> = errors.iter().map(WireError::key).collect();
    assert_eq!(
        keys,
        [
            "application_cert_requests",
            "bogus_cert_requests",
            "cert_requests",
            "client_cert_requests",
            "client_cert_requests",
        ],
        "{errors:?}"
    );
    assert!(matches!(&errors[1], WireError::UnknownRequestType { .. }));
    assert!(matches!(&errors[2], WireError::InvalidJson { .. }));
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(text[3].contains("common name 'bad'"), "{text:?}");
    assert!(text[4].contains("common name 'none'") && text[4].contains("no \"sans\""));
    assert_eq!(
        parsed.requests,
        [Request {
            kind: RequestType::Client,
            common_name: "ok".into(),
            sans: vec!["ok".into()],
        }]
    );
}

#[test]
fn a_top_level_name_repeated_in_the_collection_is_one_request() {
    let (parsed, _) = RequirerBag::parse(&bag(&[
        ("common_name", "a"),
        (
            "cert_requests",
            r#"{"a": {"sans": ["x"]}, "b": {"sans": []}}"#,
        ),
    ]));
    let names: Vec<&str> = parsed
        .all_requests()
        .iter()
        .map(|r| r.common_name.as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
}

fn pair(n: u8) -> IssuedPair {
    IssuedPair {
        cert: format!("CERT{n}"),
        key: Zeroizing::new(format!("KEY{n}")),
    }
}

#[test]
fn provider_answers_round_trip_and_merge_across_units() {
    let unit = "etcd/0";
    let server = BTreeMap::from([("peer.example".to_owned(), pair(1))]);
    let app = BTreeMap::from([(APP_DATA.to_owned(), pair(2))]);
    let (cert_key, key_key) = server_keys(unit);
    let leader = bag(&[
        ("ca", "CA"),
        (&cert_key, "CERT0"),
        (&key_key, "KEY0"),
        (
            &RequestType::Server.processed_key(unit),
            &processed_value(&server),
        ),
        (
            &RequestType::Application.processed_key(unit),
            &processed_value(&app),
        ),
    ]);
    // A second provider unit adds the chain; the first unit's `ca` wins.
    let other = bag(&[("ca", "OTHER"), ("chain", "CHAIN")]);
    let (seen, errors) = ProviderBag::parse([&leader, &other], unit);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(seen.ca.as_deref(), Some("CA"));
    assert_eq!(seen.chain.as_deref(), Some("CHAIN"));
    assert_eq!(
        seen.answer(RequestType::Server, "etcd-0", true),
        Some(&pair(0))
    );
    assert_eq!(
        seen.answer(RequestType::Server, "peer.example", false),
        Some(&pair(1))
    );
    assert_eq!(
        seen.answer(RequestType::Application, "anything", false),
        Some(&pair(2))
    );
    assert_eq!(seen.answer(RequestType::Client, "admin", false), None);
    assert!(is_reactive_provider(&leader));
    assert_eq!(
        processed_value(&server),
        r#"{"peer.example": {"cert": "CERT1", "key": "KEY1"}}"#
    );
    assert_eq!(
        RequestType::Client.processed_key("etcd_0"),
        "etcd_0.processed_client_requests"
    );
}

#[test]
fn provider_keys_are_recognised() {
    for k in [
        "ca",
        "chain",
        "client.key",
        "web_0.server.cert",
        "web_0.server.key",
        "web_0.processed_requests",
        "web_0.processed_application_requests",
    ] {
        assert!(is_provider_key(k), "{k}");
    }
    for k in [
        "ingress-address",
        "certificates",
        "common_name",
        "web_0.other",
    ] {
        assert!(!is_provider_key(k), "{k}");
    }
}

#[test]
fn debug_never_prints_a_key() {
    let text = format!("{:?}", pair(7));
    assert!(text.contains("CERT7") && !text.contains("KEY7"), "{text}");
}

#[test]
fn a_bad_processed_value_is_named_and_the_others_kept() {
    let unit = "u/0";
    let client = BTreeMap::from([("c".to_owned(), pair(1))]);
    let (seen, errors) = ProviderBag::parse(
        [&bag(&[
            (&RequestType::Server.processed_key(unit), "{not json"),
            (
                &RequestType::Client.processed_key(unit),
                &processed_value(&client),
            ),
        ])],
        unit,
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].key(), "u_0.processed_requests");
    assert_eq!(seen.client.get("c"), Some(&pair(1)));
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z0-9.:-]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z.-]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_request() -> impl Strategy<Value = Request> {
    (
        prop::sample::select(RequestType::ALL.to_vec()),
        "[a-z][a-z0-9.-]{0,15}",
        prop::collection::btree_set("[a-z0-9][a-z0-9.-]{0,15}", 0..4),
    )
        .prop_map(|(kind, common_name, sans)| Request {
            kind,
            common_name,
            sans: sans.into_iter().collect(),
        })
}

proptest! {
    /// Any text under any request key: no panic, and every key that yields nothing usable is
    /// named by an error.
    #[test]
    fn parsing_arbitrary_values_never_panics_and_names_the_bad_key(
        values in prop::collection::btree_map(
            prop::sample::select(vec![
                "cert_requests", "client_cert_requests", "application_cert_requests",
                "intermediate_cert_requests", "other_cert_requests", "common_name", "sans",
                "unit_name",
            ]),
            prop_oneof![arb_json().prop_map(|v| v.to_string()), ".{0,40}"],
            0..6,
        )
    ) {
        let bag: Bag = values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let (parsed, errors) = RequirerBag::parse(&bag);
        for e in &errors {
            prop_assert!(bag.contains_key(e.key()), "{e}");
        }
        for r in &parsed.requests {
            let object: Value = serde_json::from_str(&bag[r.kind.requests_key()]).unwrap();
            prop_assert!(object.get(&r.common_name).is_some(), "{r:?}");
        }
        if bag.contains_key("other_cert_requests") {
            let unknown = errors
                .iter()
                .any(|e| matches!(e, WireError::UnknownRequestType { .. }));
            prop_assert!(unknown, "{errors:?}");
        }
    }

    /// What we write is read back as the same requests.
    #[test]
    fn requests_round_trip(
        requests in prop::collection::vec(arb_request(), 0..8),
        top in proptest::option::of(arb_request()),
    ) {
        let mut requests: Vec<Request> = requests
            .into_iter()
            .map(|r| ((r.kind, r.common_name.clone()), r))
            .collect::<BTreeMap<_, _>>()
            .into_values()
            .collect();
        requests.sort();
        let top = top.map(|t| Request { kind: RequestType::Server, ..t });
        let written = RequirerBag {
            unit_name: Some("app_3".into()),
            certificate_name: top.as_ref().map(|_| "name".to_owned()),
            top_level: top,
            requests,
        };
        let (read, errors) = RequirerBag::parse(&written.to_bag());
        prop_assert!(errors.is_empty(), "{errors:?}");
        prop_assert_eq!(read, written);
    }

    /// Provider answers round trip whatever the common names and PEM texts hold.
    #[test]
    fn provider_answers_round_trip(
        entries in prop::collection::btree_map(".{1,12}", (".{1,30}", ".{1,30}"), 0..5),
        unit in "[a-z]{1,6}/[0-9]{1,2}",
    ) {
        let entries: BTreeMap<String, IssuedPair> = entries
            .into_iter()
            .filter(|(_, (c, k))| !c.trim().is_empty() && !k.trim().is_empty())
            .map(|(cn, (cert, key))| (cn, IssuedPair { cert, key: Zeroizing::new(key) }))
            .collect();
        let b = bag(&[(&RequestType::Client.processed_key(&unit), &processed_value(&entries))]);
        let (seen, errors) = ProviderBag::parse([&b], &unit);
        prop_assert!(errors.is_empty());
        prop_assert_eq!(seen.client, entries);
    }
}
