//! What each generation of ops really sent, transcribed from `shared/ops-hook-tool-transcripts.md`
//! (section in each test), parsed into the same calls.

use juju_hook_tools::values::{FileArg, Format, SecretOwner, SecretValue, SettableStatus};
use juju_hook_tools::{Call, Invocation, Parsed, RelationRef, SecretUri, Tool, parse_argv};

const URI: &str = "secret://cdac5656-2423-4388-8f30-41854b4cca7d/elsh3mph8ftr40r39lj9";

fn run(argv: &[&str]) -> Invocation {
    match parse_argv(argv) {
        Ok(Parsed::Run(inv)) => inv,
        other => panic!("{argv:?}: {other:?}"),
    }
}

fn call(argv: &[&str]) -> Call {
    run(argv).call
}

fn relation_get(relation: RelationRef, app: bool, target: &str) -> Call {
    Call::RelationGet {
        relation: Some(relation),
        app,
        key: None,
        target: Some(target.into()),
    }
}

#[test]
fn relation_get_in_three_generations() {
    // §2.3 (ops 3.3.1): absolute argv[0], `--app` after positionals, `--format=json` last.
    let old = run(&[
        "/var/lib/juju/tools/unit-requirer-0/relation-get",
        "-r",
        "7",
        "-",
        "self-signed",
        "--app",
        "--format=json",
    ]);
    assert_eq!(
        old.call,
        relation_get(RelationRef::id(7), true, "self-signed")
    );
    assert_eq!(old.format, Some(Format::Json));
    // §2.2 (ops 3.4.0 / 3.6.0): bare id, `--format=json` first.
    assert_eq!(
        call(&[
            "relation-get",
            "--format=json",
            "-r",
            "7",
            "--app",
            "-",
            "self-signed"
        ]),
        relation_get(RelationRef::id(7), true, "self-signed")
    );
    // §2.1 (ops 3.9.0): endpoint-qualified id.
    assert_eq!(
        call(&[
            "relation-get",
            "--format=json",
            "-r",
            "certificates:7",
            "-",
            "requirer/0"
        ]),
        relation_get(
            RelationRef::qualified("certificates", 7),
            false,
            "requirer/0"
        )
    );
}

#[test]
fn relation_list_and_ids() {
    // §2.3 / §2.2 / §2.1
    let want = |r| Call::RelationList {
        relation: Some(r),
        app: false,
    };
    assert_eq!(
        call(&["relation-list", "-r", "7", "--format=json"]),
        want(RelationRef::id(7))
    );
    assert_eq!(
        call(&["relation-list", "--format=json", "-r", "7"]),
        want(RelationRef::id(7))
    );
    assert_eq!(
        call(&["relation-list", "--format=json", "-r", "certificates:7"]),
        want(RelationRef::qualified("certificates", 7))
    );
    // §2.5: `relation-list --format=json --app -r db:99`
    assert_eq!(
        call(&["relation-list", "--format=json", "--app", "-r", "db:99"]),
        Call::RelationList {
            relation: Some(RelationRef::qualified("db", 99)),
            app: true
        }
    );
    // §2.1: `relation-ids <ep> --format=json`
    assert_eq!(
        call(&["relation-ids", "certificates", "--format=json"]),
        Call::RelationIds {
            endpoint: Some("certificates".into())
        }
    );
}

#[test]
fn relation_set_all_generations() {
    // §2.1 / §2.2 / §2.3: always `--file -`, JSON (>= 3.4) or YAML (<= 3.3) on stdin.
    for argv in [
        &[
            "relation-set",
            "-r",
            "certificates:7",
            "--app",
            "--file",
            "-",
        ][..],
        &["relation-set", "-r", "7", "--app", "--file", "-"][..],
    ] {
        let Call::RelationSet {
            app,
            file,
            settings,
            ..
        } = call(argv)
        else {
            panic!()
        };
        assert!(app);
        assert_eq!(file, Some(FileArg::Stdin));
        assert!(settings.is_empty());
    }
    // The deprecated `--format` is accepted and ignored (§6.1).
    assert!(matches!(
        call(&["relation-set", "--format=json", "k=v"]),
        Call::RelationSet { .. }
    ));
}

#[test]
fn status_set_with_and_without_double_dash() {
    // §2.1 (>= 3.4): `status-set --application=False active -- ''`
    let want = Call::StatusSet {
        application: false,
        status: SettableStatus::Active,
        message: Some(String::new()),
    };
    assert_eq!(
        call(&["status-set", "--application=False", "active", "--", ""]),
        want
    );
    // §2.3 (3.3.1): no `--`, empty positional.
    assert_eq!(
        call(&["status-set", "--application=False", "active", ""]),
        want
    );
    // §2.5: app status by the leader.
    assert_eq!(
        call(&[
            "status-set",
            "--application=True",
            "waiting",
            "--",
            "Waiting for certificate"
        ]),
        Call::StatusSet {
            application: true,
            status: SettableStatus::Waiting,
            message: Some("Waiting for certificate".into())
        }
    );
    // §2.5: status-get in both orders.
    let want = Call::StatusGet {
        application: false,
        include_data: true,
    };
    assert_eq!(
        call(&[
            "status-get",
            "--include-data",
            "--format=json",
            "--application=false"
        ]),
        want
    );
    assert_eq!(
        call(&[
            "status-get",
            "--include-data",
            "--application=False",
            "--format=json"
        ]),
        want
    );
}

#[test]
fn juju_log_and_actions() {
    // §2.1: `juju-log --log-level <LEVEL> -- <msg>` with raw newlines (D19).
    assert_eq!(
        call(&[
            "juju-log",
            "--log-level",
            "ERROR",
            "--",
            "Uncaught exception while in charm code:\nTraceback"
        ]),
        Call::JujuLog {
            level: Some("ERROR".into()),
            debug: false,
            message: "Uncaught exception while in charm code:\nTraceback".into()
        }
    );
    // Juju joins words.
    assert_eq!(
        call(&["juju-log", "two", "words"]),
        Call::JujuLog {
            level: None,
            debug: false,
            message: "two words".into()
        }
    );
    // §2.5: `action-log -- <msg>` (>= 3.4) and `action-log <msg>` (3.3).
    assert_eq!(
        call(&["action-log", "--", "working"]),
        call(&["action-log", "working"])
    );
    assert_eq!(
        call(&["action-fail", "--", "bad"]),
        Call::ActionFail {
            message: Some("bad".into())
        }
    );
    // §2.5: `action-set a.b=c a.d-e=f flat=yes num=3`
    let Call::ActionSet { results } =
        call(&["action-set", "a.b=c", "a.d-e=f", "flat=yes", "num=3"])
    else {
        panic!()
    };
    assert_eq!(results[1], ("a.d-e".into(), "f".into()));
    assert_eq!(
        call(&["action-get", "--format=json"]),
        Call::ActionGet { key: None }
    );
}

#[test]
fn secret_calls_from_transcripts() {
    // §3.1: `secret-add --label <label> --owner unit private-key#file=<tmp>/private-key`
    let Call::SecretAdd {
        meta,
        owner,
        content,
        ..
    } = call(&[
        "secret-add",
        "--label",
        "k-0-certificates",
        "--owner",
        "unit",
        "private-key#file=/tmp/t/private-key",
    ])
    else {
        panic!()
    };
    assert_eq!(meta.label.as_deref(), Some("k-0-certificates"));
    assert_eq!(owner, Some(SecretOwner::Unit));
    assert_eq!(content[0].key, "private-key");
    assert_eq!(
        content[0].value,
        SecretValue::File("/tmp/t/private-key".into())
    );
    // §2.4: naive `--expire` (ops <= 3.6 timedelta), D5.
    let Call::SecretAdd { meta, .. } = call(&[
        "secret-add",
        "--label",
        "active-ca-certificates",
        "--expire",
        "2027-08-31T15:21:43.416027",
        "--owner",
        "application",
        "private-key#file=/t/private-key",
        "ca-certificate#file=/t/ca-certificate",
    ]) else {
        panic!()
    };
    assert_eq!(meta.expire.as_deref(), Some("2027-08-31T15:21:43.416027"));
    // §2.5: `secret-set --owner application <uri> k#file=…` (ops >= 3.4), and 3.3's order.
    let new = call(&[
        "secret-set",
        "--owner",
        "application",
        URI,
        "certificate#file=/t/c",
    ]);
    let Call::SecretSet { uri, content, .. } = &new else {
        panic!()
    };
    assert_eq!(uri.xid(), "elsh3mph8ftr40r39lj9");
    assert_eq!(content.len(), 1);
    assert!(matches!(
        call(&["secret-set", URI, "certificate#file=/t/c"]),
        Call::SecretSet { owner: None, .. }
    ));
    // §2.1 / §2.3: secret-get by label, `--format=json` first or last.
    let want = Call::SecretGet {
        uri: None,
        key: None,
        label: Some("L".into()),
        refresh: true,
        peek: false,
    };
    assert_eq!(
        call(&["secret-get", "--format=json", "--label", "L", "--refresh"]),
        want
    );
    assert_eq!(
        call(&["secret-get", "--label", "L", "--refresh", "--format=json"]),
        want
    );
    // §2.5: short id passed through verbatim (D9).
    let Call::SecretGet { uri, .. } = call(&[
        "secret-get",
        "--format=json",
        "secret:d0000000000000000000",
        "--label",
        "L",
    ]) else {
        panic!()
    };
    assert_eq!(uri, Some(SecretUri::new("secret:d0000000000000000000")));
    // §2.5: grant / revoke / remove in both orders.
    assert_eq!(
        call(&["secret-grant", "--relation", "9", "--unit", "db/0", URI]),
        call(&["secret-grant", URI, "--relation", "9", "--unit", "db/0"])
    );
    assert_eq!(
        call(&["secret-revoke", "--relation", "9", URI]),
        call(&["secret-revoke", URI, "--relation", "9"])
    );
    assert_eq!(
        call(&["secret-remove", URI, "--revision", "1"]),
        Call::SecretRemove {
            uri: SecretUri::new(URI),
            revision: Some(1)
        }
    );
    // §3.3: plain `secret-ids`, smart output wanted.
    assert_eq!(run(&["secret-ids"]).format, None);
}

#[test]
fn ports_network_storage_state() {
    // §2.5
    assert!(matches!(
        call(&["open-port", "icmp"]),
        Call::OpenPort { .. }
    ));
    assert!(matches!(
        call(&["close-port", "53/udp"]),
        Call::ClosePort { .. }
    ));
    assert_eq!(
        run(&["opened-ports"]).format,
        None,
        "ops 3.3 wants smart lines"
    );
    let want = Call::NetworkGet {
        binding: "db".into(),
        relation: Some(RelationRef::id(9)),
        ingress_address: false,
        bind_address: false,
        egress_subnets: false,
    };
    assert_eq!(
        call(&["network-get", "--format=json", "-r", "9", "db"]),
        want
    );
    assert_eq!(
        call(&["network-get", "db", "-r", "9", "--format=json"]),
        want
    );
    // D2: ops <= 3.3 asks `storage-get --help`, then `storage-get -s data/0 location --format=json`.
    assert_eq!(
        parse_argv(&["storage-get", "--help"]),
        Ok(Parsed::Help(Tool::StorageGet))
    );
    assert_eq!(
        call(&["storage-get", "-s", "data/0", "location", "--format=json"]),
        Call::StorageGet {
            storage: Some("data/0".into()),
            key: Some("location".into())
        }
    );
    // §2.5: controller state, no --format.
    assert_eq!(
        call(&["state-set", "--file", "-"]),
        Call::StateSet {
            file: Some(FileArg::Stdin),
            settings: vec![]
        }
    );
    assert_eq!(run(&["state-get", "k"]).format, None);
    assert!(matches!(
        call(&["relation-model-get", "-r", "9", "--format=json"]),
        Call::RelationModelGet { .. }
    ));
}

#[test]
fn usage_errors_carry_juju_text() {
    let err = |argv: &[&str]| parse_argv(argv).unwrap_err().to_string();
    assert_eq!(
        err(&["status-set", "bogus"]),
        "invalid status \"bogus\", expected one of [maintenance blocked waiting active]"
    );
    assert_eq!(
        err(&["secret-add", "--label", "x"]),
        "missing secret value or filename"
    );
    assert_eq!(
        err(&["secret-info-get", URI, "--label", "x"]),
        "specify either a secret URI or label but not both"
    );
    assert_eq!(
        err(&["relation-get", "--foo"]),
        "option provided but not defined: --foo"
    );
    assert_eq!(err(&["relation-get", "-r"]), "option needs an argument: -r");
    assert_eq!(
        err(&["is-leader", "extra"]),
        "unrecognized args: [\"extra\"]"
    );
    assert_eq!(
        err(&["secret-get", URI, "--peek", "--refresh"]),
        "specify one of --peek or --refresh but not both"
    );
    assert_eq!(err(&["not-a-tool"]), "unknown hook tool \"not-a-tool\"");
    // juju/juju core/secrets ParseURI, reported by the tools' Init (exit 2).
    assert_eq!(
        err(&["secret-get", "secret:nope"]),
        "secret URI \"secret:nope\" not valid"
    );
    assert_eq!(
        err(&["secret-remove", "https://x"]),
        "secret URI scheme \"https\" not valid"
    );
}
