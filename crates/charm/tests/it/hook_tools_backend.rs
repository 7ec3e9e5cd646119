//! The hook-tool backend against stub tools: exact argv, values of any size through stdin and
//! files, one relation-set per bag, typed errors from stderr.

use std::collections::BTreeMap;

use juju_charm::{
    Backend, BackendError, BagOwner, HookTools, LogLevel, NewSecret, SecretLookup, SecretOwner,
    SecretRead, Status,
};

use crate::stub::StubTools;

fn unit() -> juju_charm::UnitName {
    "web/0".parse().unwrap()
}

fn rel() -> juju_charm::RelationId {
    "certificates:7".parse().unwrap()
}

fn backend(stub: &StubTools) -> HookTools {
    HookTools::new(unit()).with_tools_dir(stub.path())
}

/// 5 MiB of text with the characters that break naive encodings.
fn big_value(len: usize) -> String {
    let chunk = "-----BEGIN CERTIFICATE-----\nMIIB\"quoted\" \\ back\u{e9}\t<&>\n";
    chunk.chars().cycle().take(len).collect()
}

#[test]
fn five_megabyte_relation_value_round_trips_through_stdin() {
    let stub = StubTools::new("web/0");
    let value = big_value(5 * 1024 * 1024);
    let mut b = backend(&stub);
    let changes = BTreeMap::from([("certificates".to_owned(), value.clone())]);
    b.relation_set(&rel(), true, &changes).unwrap();
    assert!(stub.calls().is_empty(), "writes are buffered until commit");
    b.commit().unwrap();

    let argvs = stub.argvs();
    assert_eq!(
        argvs,
        [[
            "relation-set",
            "-r",
            "certificates:7",
            "--app",
            "--file",
            "-"
        ]]
    );
    assert!(
        argvs[0].iter().all(|a| a.len() < 100),
        "the value never goes through argv"
    );

    let mut fresh = backend(&stub);
    let bag = fresh
        .relation_get(&rel(), &BagOwner::App("web".parse().unwrap()))
        .unwrap();
    assert_eq!(bag["certificates"].len(), value.len());
    assert!(
        bag["certificates"] == value,
        "5 MiB value differs after the round trip"
    );
    assert_eq!(
        stub.argvs()[1],
        [
            "relation-get",
            "--format=json",
            "-r",
            "certificates:7",
            "--app",
            "--",
            "-",
            "web"
        ]
    );
}

#[test]
fn hundred_kilobyte_secret_round_trips_through_files() {
    let stub = StubTools::new("web/0");
    let value = big_value(100 * 1024);
    let mut b = backend(&stub);
    let id = b
        .secret_add(&NewSecret {
            content: BTreeMap::from([("private-key".to_owned(), value.clone())]),
            label: Some("tls-key".into()),
            description: None,
            expire: Some("2027-02-18T15:22:03Z".into()),
            rotate: None,
            owner: SecretOwner::Unit,
        })
        .unwrap();
    assert_eq!(id.xid(), "c0000000000000000000");
    let call = &stub.calls()[0];
    assert_eq!(
        call["files"]["private-key"].as_str().unwrap(),
        value,
        "the tool read the file during the call"
    );
    let argv = &stub.argvs()[0];
    assert_eq!(
        &argv[..7],
        [
            "secret-add",
            "--label",
            "tls-key",
            "--expire",
            "2027-02-18T15:22:03Z",
            "--owner",
            "unit"
        ]
    );
    let file_arg = &argv[7];
    let path = file_arg.strip_prefix("private-key#file=").unwrap();
    assert!(
        !std::path::Path::new(path).exists(),
        "secret files are deleted after the call"
    );

    let got = b
        .secret_get(&SecretLookup::Label("tls-key".into()), SecretRead::Refresh)
        .unwrap();
    assert!(got["private-key"] == value);
    assert_eq!(
        stub.argvs()[1],
        [
            "secret-get",
            "--format=json",
            "--label",
            "tls-key",
            "--refresh"
        ]
    );
}

#[test]
fn one_key_is_read_alone_and_sees_this_hooks_writes() {
    let stub = StubTools::new("web/0");
    let mut b = backend(&stub);
    let changes = BTreeMap::from([
        ("capabilities".to_owned(), "{}".to_owned()),
        ("certificates".to_owned(), big_value(1024 * 1024)),
    ]);
    b.relation_set(&rel(), true, &changes).unwrap();
    b.commit().unwrap();
    let web = BagOwner::App("web".parse().unwrap());
    let mut fresh = backend(&stub);
    assert_eq!(
        fresh
            .relation_get_key(&rel(), &web, "capabilities")
            .unwrap(),
        Some("{}".to_owned())
    );
    assert_eq!(fresh.relation_get_key(&rel(), &web, "gone").unwrap(), None);
    let gets: Vec<_> = stub
        .argvs()
        .into_iter()
        .filter(|a| a[0] == "relation-get")
        .collect();
    assert_eq!(
        gets[0],
        [
            "relation-get",
            "--format=json",
            "-r",
            "certificates:7",
            "--app",
            "--",
            "capabilities",
            "web"
        ]
    );
    // A pending write answers without a call; an empty one is a deletion.
    let pending = BTreeMap::from([
        ("capabilities".to_owned(), "{\"new\":1}".to_owned()),
        ("certificates".to_owned(), String::new()),
    ]);
    fresh.relation_set(&rel(), true, &pending).unwrap();
    assert_eq!(
        fresh
            .relation_get_key(&rel(), &web, "capabilities")
            .unwrap(),
        Some("{\"new\":1}".to_owned())
    );
    assert_eq!(
        fresh
            .relation_get_key(&rel(), &web, "certificates")
            .unwrap(),
        None
    );
    assert_eq!(
        stub.argvs()
            .iter()
            .filter(|a| a[0] == "relation-get")
            .count(),
        2
    );
}

#[test]
fn writes_are_batched_per_bag_and_visible_to_own_reads() {
    let stub = StubTools::new("web/0");
    let mut b = backend(&stub);
    let me = BagOwner::Unit(unit());
    for (k, v) in [("a", "1"), ("b", "2"), ("a", "3"), ("gone", "")] {
        b.relation_set(
            &rel(),
            false,
            &BTreeMap::from([(k.to_owned(), v.to_owned())]),
        )
        .unwrap();
    }
    let seen = b.relation_get(&rel(), &me).unwrap();
    assert_eq!(
        seen,
        BTreeMap::from([
            ("a".to_owned(), "3".to_owned()),
            ("b".to_owned(), "2".to_owned())
        ])
    );
    b.commit().unwrap();
    let sets: Vec<_> = stub
        .calls()
        .into_iter()
        .filter(|c| c["tool"] == "relation-set")
        .collect();
    assert_eq!(sets.len(), 1, "one relation-set per bag");
    let sent: BTreeMap<String, String> =
        serde_json::from_str(sets[0]["stdin"].as_str().unwrap()).unwrap();
    assert_eq!(sent["a"], "3");
    assert_eq!(sent["gone"], "", "deletions are sent as empty values");
}

#[test]
fn simple_tools_exact_argv_and_parsing() {
    let stub = StubTools::new("web/0");
    stub.answer("is-leader", "true\n");
    stub.answer("config-get", "{\"common_name\":\"banana\",\"port\":8443}\n");
    stub.answer("relation-ids", "[\"certificates:10\",\"certificates:7\"]\n");
    stub.answer("relation-list", "[\"ca/0\",\"ca/1\"]\n");
    stub.answer(
        "status-get",
        "{\"message\":\"waiting for ca\",\"status\":\"waiting\",\"status-data\":{}}\n",
    );
    stub.answer("opened-ports", "[\"80/tcp\",\"1000-2000/udp\",\"icmp\"]\n");
    stub.answer("secret-ids", "[\"cq9e1u1mp25c77ab0abc\"]\n");
    stub.answer(
        "network-get",
        r#"{"bind-addresses":[{"mac-address":"","interface-name":"lo","addresses":[{"hostname":"","value":"127.0.1.1","cidr":"127.0.1.1/32"}]}],"ingress-addresses":["127.0.1.1"]}"#,
    );
    let mut b = backend(&stub);
    assert!(b.is_leader().unwrap());
    assert_eq!(b.config_get().unwrap()["port"], 8443);
    let ids = b.relation_ids(&"certificates".parse().unwrap()).unwrap();
    assert_eq!(ids[1], rel());
    assert_eq!(b.relation_units(&rel()).unwrap()[1].to_string(), "ca/1");
    assert_eq!(
        b.status_get(false).unwrap(),
        Status::waiting("waiting for ca")
    );
    b.status_set(false, &Status::active("")).unwrap();
    b.juju_log(LogLevel::Info, "-starts with a dash").unwrap();
    assert_eq!(b.opened_ports().unwrap().len(), 3);
    assert_eq!(b.secret_ids().unwrap()[0].xid(), "cq9e1u1mp25c77ab0abc");
    let net = b.network_get("certificates", Some(&rel())).unwrap();
    assert_eq!(net.ingress_addresses, ["127.0.1.1"]);
    assert_eq!(
        stub.argvs(),
        [
            vec!["is-leader", "--format=json"],
            vec!["config-get", "--format=json"],
            vec!["relation-ids", "--format=json", "certificates"],
            vec!["relation-list", "--format=json", "-r", "certificates:7"],
            vec!["status-get", "--format=json", "--include-data"],
            vec!["status-set", "active", "--", ""],
            vec![
                "juju-log",
                "--log-level",
                "INFO",
                "--",
                "-starts with a dash"
            ],
            vec!["opened-ports", "--format=json"],
            vec!["secret-ids", "--format=json"],
            vec![
                "network-get",
                "--format=json",
                "-r",
                "7",
                "--",
                "certificates"
            ],
        ]
    );
}

#[test]
fn stderr_becomes_typed_errors() {
    let stub = StubTools::new("web/0");
    let mut b = backend(&stub);
    // secret-get of an unknown label: the stub prints Juju's text (transcripts §3.1).
    let e = b
        .secret_get(&SecretLookup::Label("nope".into()), SecretRead::Tracked)
        .unwrap_err();
    assert!(
        matches!(&e, BackendError::SecretNotFound(m) if m == "secret with label \"nope\" not found"),
        "{e:?}"
    );

    stub.fail(
        "relation-list",
        2,
        "invalid value \"db:99\" for option -r: relation not found",
    );
    let e = b.relation_units(&"db:99".parse().unwrap()).unwrap_err();
    assert!(matches!(e, BackendError::RelationNotFound(_)), "{e:?}");

    stub.fail("relation-get", 1, "permission denied");
    let e = b
        .relation_get(&rel(), &BagOwner::App("web".parse().unwrap()))
        .unwrap_err();
    assert!(matches!(e, BackendError::PermissionDenied(_)), "{e:?}");

    stub.fail("status-set", 1, "this unit is not the leader");
    let e = b.status_set(true, &Status::active("")).unwrap_err();
    assert!(matches!(e, BackendError::NotLeader(_)), "{e:?}");

    stub.fail("config-get", 1, "boom");
    let e = b.config_get().unwrap_err();
    assert!(
        matches!(&e, BackendError::Tool { code: 1, message, .. } if message == "boom"),
        "{e:?}"
    );

    stub.answer("is-leader", "not json");
    let e = b.is_leader().unwrap_err();
    assert!(matches!(e, BackendError::Output { .. }), "{e:?}");

    let mut missing = HookTools::new(unit()).with_tools_dir("/nonexistent");
    assert!(matches!(
        missing.is_leader(),
        Err(BackendError::Spawn { .. })
    ));
}

#[test]
fn full_dispatch_over_hook_tools() {
    // A whole dispatch from environment variables, as `juju_charm::main` does, against the stub.
    use juju_charm::charm_state::CharmState;
    use juju_charm::{Event, Model};

    struct Writer;
    impl juju_charm::Charm for Writer {
        fn handle(
            &mut self,
            event: &Event,
            model: &mut Model<'_>,
        ) -> Result<(), juju_charm::HandlerError> {
            if let Event::RelationChanged(r) = event {
                let me = model.own_unit_bag();
                model.set_relation_data(&r.relation, &me, "k1", "v1")?;
                model.set_relation_data(&r.relation, &me, "k2", "v2")?;
                model.store("seen", &r.relation.to_string())?;
                model.set_unit_status(Status::active(""))?;
            }
            Ok(())
        }
    }

    let stub = StubTools::new("web/0");
    let (ctx, meta) = web_relation_changed();
    let mut state = CharmState::default();
    let mut b = backend(&stub);
    let event = Event::from_context(&ctx).unwrap();
    {
        let mut model = Model::new(&ctx, &meta, &mut b, &mut state);
        juju_charm::run_dispatch(&mut Writer, &mut model, event).unwrap();
    }
    assert_eq!(state.values["seen"], "certificates:7");
    let tools: Vec<String> = stub
        .calls()
        .iter()
        .map(|c| c["tool"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        tools,
        ["status-set", "relation-set"],
        "two keys, one relation-set, sent at commit"
    );
}

#[test]
fn the_event_relation_is_read_once_and_its_remote_app_comes_from_the_environment() {
    use juju_charm::charm_state::CharmState;
    use juju_charm::{Event, Model};

    struct Reader;
    impl juju_charm::Charm for Reader {
        fn handle(
            &mut self,
            event: &Event,
            model: &mut Model<'_>,
        ) -> Result<(), juju_charm::HandlerError> {
            if let Event::RelationChanged(r) = event {
                for _ in 0..2 {
                    let relation = model.relation(&r.relation)?;
                    assert_eq!(
                        relation.remote_app.map(|a| a.to_string()),
                        Some("ca".into())
                    );
                    assert_eq!(relation.units.len(), 1);
                }
            }
            Ok(())
        }
    }

    let stub = StubTools::new("web/0");
    stub.answer("relation-list", "[\"ca/0\"]");
    let (ctx, meta) = web_relation_changed();
    let mut state = CharmState::default();
    let mut b = backend(&stub);
    let event = Event::from_context(&ctx).unwrap();
    {
        let mut model = Model::new(&ctx, &meta, &mut b, &mut state);
        juju_charm::run_dispatch(&mut Reader, &mut model, event).unwrap();
    }
    assert_eq!(
        stub.argvs(),
        [vec![
            "relation-list".to_owned(),
            "--format=json".to_owned(),
            "-r".to_owned(),
            "certificates:7".to_owned()
        ]],
        "one relation-list, no --app"
    );
}

/// web/0's `certificates-relation-changed` for ca/0 on relation 7, as Juju's environment says.
fn web_relation_changed() -> (juju_charm::Context, juju_charm::CharmMeta) {
    let ctx = juju_charm::Context::from_vars([
        ("JUJU_DISPATCH_PATH", "hooks/certificates-relation-changed"),
        ("JUJU_UNIT_NAME", "web/0"),
        ("JUJU_MODEL_NAME", "dev"),
        ("JUJU_MODEL_UUID", "cdac5656-2423-4388-8f30-41854b4cca7d"),
        ("JUJU_VERSION", "3.6.8"),
        ("JUJU_CHARM_DIR", "/tmp"),
        ("JUJU_RELATION", "certificates"),
        ("JUJU_RELATION_ID", "certificates:7"),
        ("JUJU_REMOTE_APP", "ca"),
        ("JUJU_REMOTE_UNIT", "ca/0"),
    ])
    .unwrap();
    let meta = juju_charm::CharmMeta::from_charmcraft_yaml(
        "name: web\nrequires: {certificates: {interface: tls-certificates}}\n",
    )
    .unwrap();
    (ctx, meta)
}
