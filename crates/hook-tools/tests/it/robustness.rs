//! Arbitrary input never panics the parsers.

use juju_hook_tools::{Tool, parse_argv, settings};
use proptest::prelude::*;

fn arg() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("--".to_owned()),
        Just("-".to_owned()),
        Just(String::new()),
        "-[a-z]{0,3}",
        "--[a-z-]{0,12}(=[a-zA-Z0-9:]{0,5})?",
        "[a-z0-9#=:/.-]{0,12}",
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn parse_argv_never_panics(tool in prop::sample::select(Tool::ALL), args in prop::collection::vec(arg(), 0..8)) {
        let mut argv = vec![tool.name().to_owned()];
        argv.extend(args);
        let _ = parse_argv(&argv);
    }

    #[test]
    fn settings_decode_never_panics(input in any::<Vec<u8>>()) {
        let _ = settings::decode(&input);
    }

    #[test]
    fn settings_round_trip(map in prop::collection::btree_map("[a-z_-]{1,10}", any::<String>(), 0..6)) {
        prop_assert_eq!(settings::decode(&settings::encode(&map)).unwrap(), map);
    }
}

mod round_trip {
    //! parse(to_argv(call)) == call for arbitrary calls, with free text that starts with `-`,
    //! contains `=`, newlines, or is empty: the argv the SDK produces always means what it says.

    use juju_hook_tools::values::{
        FileArg, PortSpec, Protocol, RotatePolicy, SecretContentArg, SecretOwner, SecretValue,
        SettableStatus,
    };
    use juju_hook_tools::{
        Call, Invocation, Parsed, RelationRef, SecretMeta, SecretUri, parse_argv,
    };
    use proptest::option::of;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("-".to_owned()),
            Just("--".to_owned()),
            "-{1,2}[a-z=]{0,6}",
            any::<String>()
        ]
    }
    fn name() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9-]{0,10}"
    }
    fn rel() -> impl Strategy<Value = RelationRef> {
        (of("[a-z][a-z-]{0,8}"), any::<u32>())
            .prop_map(|(endpoint, id)| RelationRef { endpoint, id })
    }
    fn uri() -> impl Strategy<Value = SecretUri> {
        prop_oneof![
            "secret:[0-9a-v]{20}",
            "secret://[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}/[0-9a-v]{20}",
            "[0-9a-v]{20}"
        ]
        .prop_map(SecretUri::new)
    }
    fn pairs(min: usize) -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec(("[a-z][a-z0-9._-]{0,8}", text()), min..4)
    }
    fn content() -> impl Strategy<Value = Vec<SecretContentArg>> {
        let value = prop_oneof![
            text().prop_map(SecretValue::Inline),
            "[A-Za-z0-9+/=]{0,12}".prop_map(SecretValue::Base64),
            "/[a-z/]{1,12}".prop_map(SecretValue::File),
        ];
        prop::collection::vec(
            ("[a-z]{3,8}", value).prop_map(|(key, value)| SecretContentArg { key, value }),
            1..3,
        )
    }
    fn meta() -> impl Strategy<Value = SecretMeta> {
        let rotate = prop::sample::select(vec![
            RotatePolicy::Never,
            RotatePolicy::Daily,
            RotatePolicy::Yearly,
        ]);
        (of(text()), of(text()), of(text()), of(rotate)).prop_map(
            |(label, description, expire, rotate)| SecretMeta {
                label,
                description,
                expire,
                rotate,
            },
        )
    }
    fn owner() -> impl Strategy<Value = Option<SecretOwner>> {
        of(prop::sample::select(vec![
            SecretOwner::Application,
            SecretOwner::Unit,
        ]))
    }
    fn port() -> impl Strategy<Value = PortSpec> {
        prop_oneof![
            Just(PortSpec::Icmp),
            (1u16.., any::<bool>()).prop_map(|(p, udp)| PortSpec::Range {
                from: p,
                to: p,
                protocol: if udp { Protocol::Udp } else { Protocol::Tcp }
            }),
        ]
    }
    fn key() -> impl Strategy<Value = Option<String>> {
        of(text().prop_filter("`-` means all keys", |k| k != "-"))
    }
    fn status() -> impl Strategy<Value = SettableStatus> {
        prop::sample::select(vec![
            SettableStatus::Active,
            SettableStatus::Blocked,
            SettableStatus::Waiting,
            SettableStatus::Maintenance,
        ])
    }

    fn call() -> impl Strategy<Value = Call> {
        prop_oneof![
            of(text()).prop_map(|endpoint| Call::RelationIds { endpoint }),
            (of(rel()), any::<bool>())
                .prop_map(|(relation, app)| Call::RelationList { relation, app }),
            (of(rel()), any::<bool>(), key(), of(text())).prop_map(
                |(relation, app, key, target)| Call::RelationGet {
                    relation,
                    app,
                    key: if target.is_some() {
                        key
                    } else {
                        key.filter(|k| !k.is_empty())
                    },
                    target
                }
            ),
            (of(rel()), any::<bool>(), any::<bool>(), pairs(0)).prop_map(
                |(relation, app, stdin, settings)| Call::RelationSet {
                    relation,
                    app,
                    file: stdin.then_some(FileArg::Stdin),
                    settings
                }
            ),
            (any::<bool>(), of(text())).prop_map(|(all, key)| Call::ConfigGet { all, key }),
            (any::<bool>(), status(), of(text())).prop_map(|(application, status, message)| {
                Call::StatusSet {
                    application,
                    status,
                    message,
                }
            }),
            text().prop_map(|version| Call::ApplicationVersionSet { version }),
            (of("[A-Z]{1,8}"), any::<bool>(), text()).prop_map(|(level, debug, message)| {
                Call::JujuLog {
                    level,
                    debug,
                    message,
                }
            }),
            pairs(1).prop_map(|results| Call::ActionSet { results }),
            text().prop_map(|message| Call::ActionLog { message }),
            of(text()).prop_map(|message| Call::ActionFail { message }),
            (meta(), owner(), content()).prop_map(|(meta, owner, content)| Call::SecretAdd {
                meta,
                owner,
                file: None,
                content
            }),
            (
                uri(),
                meta(),
                owner(),
                prop::collection::vec(content(), 0..2)
            )
                .prop_map(|(uri, meta, owner, c)| Call::SecretSet {
                    uri,
                    meta,
                    owner,
                    file: None,
                    content: c.into_iter().flatten().collect()
                }),
            (uri(), key(), of(text()), 0u8..3).prop_map(|(uri, key, label, mode)| {
                Call::SecretGet {
                    uri: Some(uri),
                    key,
                    label,
                    refresh: mode == 1,
                    peek: mode == 2,
                }
            }),
            (text(), any::<bool>()).prop_map(|(label, refresh)| Call::SecretGet {
                uri: None,
                key: None,
                label: Some(label),
                refresh,
                peek: false
            }),
            (uri(), rel(), of(text())).prop_map(|(uri, relation, unit)| Call::SecretGrant {
                uri,
                relation,
                unit
            }),
            (uri(), of(any::<u32>()))
                .prop_map(|(uri, revision)| Call::SecretRemove { uri, revision }),
            (port(), of(text())).prop_map(|(port, endpoints)| Call::OpenPort { port, endpoints }),
            (text(), of(rel()), any::<bool>()).prop_map(|(binding, relation, ingress_address)| {
                Call::NetworkGet {
                    binding,
                    relation,
                    ingress_address,
                    bind_address: false,
                    egress_subnets: false,
                }
            }),
            (key(), any::<bool>()).prop_map(|(key, strict)| Call::StateGet { key, strict }),
            (of(text()), of(text())).prop_map(|(storage, key)| Call::StorageGet { storage, key }),
            prop::collection::vec(text(), 1..3).prop_map(|requests| Call::StorageAdd { requests }),
            name().prop_map(|name| Call::ResourceGet { name }),
        ]
    }

    proptest! {
        #[test]
        fn parse_inverts_to_argv(call in call()) {
            let argv = call.to_argv();
            let want = Invocation { format: call.preferred_format(), call, output: None };
            prop_assert_eq!(parse_argv(&argv), Ok(Parsed::Run(want)), "argv: {:?}", argv);
        }
    }
}
