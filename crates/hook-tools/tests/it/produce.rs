//! The exact argv of every tool as the SDK produces it, and parse(to_argv(x)) == x.

use juju_hook_tools::values::{
    FileArg, Format, PortSpec, RotatePolicy, SecretContentArg, SecretOwner, SecretValue,
    SettableStatus,
};
use juju_hook_tools::{Call, Invocation, Parsed, RelationRef, SecretMeta, SecretUri, parse_argv};

const URI: &str = "secret://cdac5656-2423-4388-8f30-41854b4cca7d/elsh3mph8ftr40r39lj9";

fn rel() -> Option<RelationRef> {
    Some(RelationRef::qualified("certificates", 7))
}

/// Checks the argv and that parsing it gives the call back with the preferred format.
fn check(call: Call, expected: &[&str]) {
    let argv = call.to_argv();
    assert_eq!(argv, expected, "argv of {call:?}");
    let parsed = parse_argv(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let want = Invocation {
        format: call.preferred_format(),
        call,
        output: None,
    };
    assert_eq!(parsed, Parsed::Run(want));
}

fn file(key: &str, path: &str) -> SecretContentArg {
    SecretContentArg {
        key: key.into(),
        value: SecretValue::File(path.into()),
    }
}

#[test]
fn relation_tools() {
    check(
        Call::RelationIds {
            endpoint: Some("certificates".into()),
        },
        &["relation-ids", "--format=json", "certificates"],
    );
    check(
        Call::RelationList {
            relation: rel(),
            app: false,
        },
        &["relation-list", "--format=json", "-r", "certificates:7"],
    );
    check(
        Call::RelationList {
            relation: rel(),
            app: true,
        },
        &[
            "relation-list",
            "--format=json",
            "-r",
            "certificates:7",
            "--app",
        ],
    );
    check(
        Call::RelationGet {
            relation: rel(),
            app: false,
            key: None,
            target: Some("requirer/0".into()),
        },
        &[
            "relation-get",
            "--format=json",
            "-r",
            "certificates:7",
            "--",
            "-",
            "requirer/0",
        ],
    );
    check(
        Call::RelationGet {
            relation: rel(),
            app: true,
            key: Some("certificates".into()),
            target: Some("ca".into()),
        },
        &[
            "relation-get",
            "--format=json",
            "-r",
            "certificates:7",
            "--app",
            "--",
            "certificates",
            "ca",
        ],
    );
    check(
        Call::RelationSet {
            relation: rel(),
            app: false,
            file: Some(FileArg::Stdin),
            settings: vec![],
        },
        &["relation-set", "-r", "certificates:7", "--file", "-"],
    );
    check(
        Call::RelationSet {
            relation: None,
            app: true,
            file: None,
            settings: vec![("a".into(), "1".into()), ("b".into(), "".into())],
        },
        &["relation-set", "--app", "--", "a=1", "b="],
    );
    check(
        Call::RelationModelGet { relation: rel() },
        &[
            "relation-model-get",
            "--format=json",
            "-r",
            "certificates:7",
        ],
    );
}

#[test]
fn config_leadership_status_log() {
    check(
        Call::ConfigGet {
            all: false,
            key: None,
        },
        &["config-get", "--format=json"],
    );
    check(
        Call::ConfigGet {
            all: true,
            key: Some("mode".into()),
        },
        &["config-get", "--format=json", "--all", "--", "mode"],
    );
    check(Call::IsLeader, &["is-leader", "--format=json"]);
    check(
        Call::LeaderGet {
            key: Some("k".into()),
        },
        &["leader-get", "--format=json", "--", "k"],
    );
    check(
        Call::LeaderSet {
            settings: vec![("k".into(), "v".into())],
        },
        &["leader-set", "--", "k=v"],
    );
    check(
        Call::StatusGet {
            application: true,
            include_data: true,
        },
        &[
            "status-get",
            "--format=json",
            "--include-data",
            "--application",
        ],
    );
    check(
        Call::StatusSet {
            application: false,
            status: SettableStatus::Active,
            message: Some(String::new()),
        },
        &["status-set", "active", "--", ""],
    );
    check(
        Call::StatusSet {
            application: true,
            status: SettableStatus::Blocked,
            message: Some("-needs a ca".into()),
        },
        &[
            "status-set",
            "--application",
            "blocked",
            "--",
            "-needs a ca",
        ],
    );
    check(
        Call::ApplicationVersionSet {
            version: "1.2.3".into(),
        },
        &["application-version-set", "--", "1.2.3"],
    );
    check(
        Call::JujuLog {
            level: Some("WARNING".into()),
            debug: false,
            message: "line one\n-line two".into(),
        },
        &[
            "juju-log",
            "--log-level",
            "WARNING",
            "--",
            "line one\n-line two",
        ],
    );
}

#[test]
fn action_tools() {
    check(
        Call::ActionGet { key: None },
        &["action-get", "--format=json"],
    );
    check(
        Call::ActionGet {
            key: Some("a.b".into()),
        },
        &["action-get", "--format=json", "--", "a.b"],
    );
    check(
        Call::ActionSet {
            results: vec![
                ("certificate".into(), "-----BEGIN\n…".into()),
                ("a.b".into(), "c".into()),
            ],
        },
        &["action-set", "--", "certificate=-----BEGIN\n…", "a.b=c"],
    );
    check(
        Call::ActionLog {
            message: "progress".into(),
        },
        &["action-log", "--", "progress"],
    );
    check(
        Call::ActionFail {
            message: Some("no cert".into()),
        },
        &["action-fail", "--", "no cert"],
    );
    check(Call::ActionFail { message: None }, &["action-fail"]);
}

#[test]
fn secret_tools() {
    check(
        Call::SecretAdd {
            meta: SecretMeta {
                label: Some("tls".into()),
                description: Some("d".into()),
                expire: Some("2027-02-18T15:22:03.320706Z".into()),
                rotate: Some(RotatePolicy::Daily),
            },
            owner: Some(SecretOwner::Unit),
            file: None,
            content: vec![
                file("private-key", "/tmp/x/private-key"),
                file("csr", "/tmp/x/csr"),
            ],
        },
        &[
            "secret-add",
            "--label",
            "tls",
            "--description",
            "d",
            "--expire",
            "2027-02-18T15:22:03.320706Z",
            "--rotate",
            "daily",
            "--owner",
            "unit",
            "private-key#file=/tmp/x/private-key",
            "csr#file=/tmp/x/csr",
        ],
    );
    check(
        Call::SecretSet {
            uri: SecretUri::new(URI),
            meta: SecretMeta::default(),
            owner: None,
            file: None,
            content: vec![file("certificate", "/tmp/y/certificate")],
        },
        &["secret-set", URI, "certificate#file=/tmp/y/certificate"],
    );
    check(
        Call::SecretGet {
            uri: None,
            key: None,
            label: Some("tls".into()),
            refresh: true,
            peek: false,
        },
        &["secret-get", "--format=json", "--label", "tls", "--refresh"],
    );
    check(
        Call::SecretGet {
            uri: Some(SecretUri::new(URI)),
            key: Some("csr".into()),
            label: None,
            refresh: false,
            peek: true,
        },
        &["secret-get", "--format=json", "--peek", URI, "csr"],
    );
    check(
        Call::SecretInfoGet {
            uri: Some(SecretUri::new(URI)),
            label: None,
        },
        &["secret-info-get", "--format=json", URI],
    );
    check(
        Call::SecretInfoGet {
            uri: None,
            label: Some("tls".into()),
        },
        &["secret-info-get", "--format=json", "--label", "tls"],
    );
    check(Call::SecretIds, &["secret-ids", "--format=json"]);
    check(
        Call::SecretGrant {
            uri: SecretUri::new(URI),
            relation: RelationRef::id(9),
            unit: Some("db/0".into()),
        },
        &["secret-grant", "--relation", "9", "--unit", "db/0", URI],
    );
    check(
        Call::SecretRevoke {
            uri: SecretUri::new(URI),
            relation: Some(RelationRef::id(9)),
            unit: None,
            app: None,
        },
        &["secret-revoke", "--relation", "9", URI],
    );
    check(
        Call::SecretRemove {
            uri: SecretUri::new(URI),
            revision: Some(1),
        },
        &["secret-remove", URI, "--revision", "1"],
    );
    check(
        Call::SecretRemove {
            uri: SecretUri::new(URI),
            revision: None,
        },
        &["secret-remove", URI],
    );
}

#[test]
fn ports_network_state_storage_misc() {
    check(
        Call::OpenPort {
            port: PortSpec::tcp(8443),
            endpoints: None,
        },
        &["open-port", "8443/tcp"],
    );
    check(
        Call::ClosePort {
            port: PortSpec::Icmp,
            endpoints: Some("a,b".into()),
        },
        &["close-port", "icmp", "--endpoints", "a,b"],
    );
    check(
        Call::OpenedPorts { endpoints: false },
        &["opened-ports", "--format=json"],
    );
    check(
        Call::NetworkGet {
            binding: "db".into(),
            relation: Some(RelationRef::id(9)),
            ingress_address: false,
            bind_address: false,
            egress_subnets: false,
        },
        &["network-get", "--format=json", "-r", "9", "--", "db"],
    );
    check(
        Call::UnitGet {
            key: "private-address".into(),
        },
        &["unit-get", "--format=json", "--", "private-address"],
    );
    check(
        Call::StateGet {
            key: Some("k".into()),
            strict: false,
        },
        &["state-get", "--format=json", "--", "k"],
    );
    check(
        Call::StateSet {
            file: Some(FileArg::Stdin),
            settings: vec![],
        },
        &["state-set", "--file", "-"],
    );
    check(
        Call::StateDelete { key: "k".into() },
        &["state-delete", "--", "k"],
    );
    check(
        Call::StorageList {
            name: Some("data".into()),
        },
        &["storage-list", "--format=json", "--", "data"],
    );
    check(
        Call::StorageGet {
            storage: Some("data/0".into()),
            key: None,
        },
        &["storage-get", "--format=json", "-s", "data/0"],
    );
    check(
        Call::StorageAdd {
            requests: vec!["data=2".into()],
        },
        &["storage-add", "--", "data=2"],
    );
    check(Call::GoalState, &["goal-state", "--format=json"]);
    check(
        Call::ResourceGet { name: "res".into() },
        &["resource-get", "--", "res"],
    );
    check(Call::JujuReboot { now: true }, &["juju-reboot", "--now"]);
}

#[test]
fn format_flag_is_only_for_printing_tools() {
    let e = parse_argv(&["status-set", "--format=json", "active"]).unwrap_err();
    assert_eq!(e.to_string(), "option provided but not defined: --format");
    let Ok(Parsed::Run(inv)) = parse_argv(&["secret-ids"]) else {
        panic!()
    };
    assert_eq!(
        inv.format, None,
        "tls-certificates runs plain secret-ids and wants smart output"
    );
    let Ok(Parsed::Run(inv)) = parse_argv(&["config-get", "--format", "yaml", "-o", "/tmp/out"])
    else {
        panic!()
    };
    assert_eq!(
        (inv.format, inv.output.as_deref()),
        (Some(Format::Yaml), Some("/tmp/out"))
    );
}
