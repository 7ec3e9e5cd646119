//! The peer `tls` interface end to end: tls-demo with `certificates-from=peers`, no CA charm.
//! The leader signs every unit's CSR with the application's CA; every unit handshakes with
//! every peer over mutual TLS (`probe`); `openssl verify` at the model's time accepts each
//! certificate against the CA. Then leadership moves (same CA bytes, same keys, same
//! certificates), the application scales to 4 and down to 2 (the removed units' entries leave
//! the leader's bag), and the clock passes the renewal point (new certificates, same keys).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;

use serde_json::Value;

use crate::support::TestModel;
use crate::support::openssl::same_public_key;

const APP: &str = "tls-demo";

/// What one unit holds in its TLS directory.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    ca: String,
    certificate: String,
    key: String,
}

fn held(m: &TestModel, unit: &str) -> Held {
    let dir = m.tls_dir(unit);
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{unit} {f}: {e}"))
    };
    let key_mode = std::fs::metadata(dir.join("unit.key"))
        .expect("unit.key")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(key_mode, 0o600, "{unit}: unit.key");
    assert!(
        same_public_key(&dir.join("unit.crt"), &dir.join("unit.key")),
        "{unit}: the certificate is not for the unit's key"
    );
    Held {
        ca: read("ca.pem"),
        certificate: read("unit.crt"),
        key: read("unit.key"),
    }
}

/// What every unit holds, after checking it: one CA for all, each certificate verified by
/// `openssl` against it for TLS server and client use, and every probe passing.
fn check_all(m: &TestModel) -> BTreeMap<String, Held> {
    let units = m.units(APP);
    let all: BTreeMap<String, Held> = units.iter().map(|u| (u.clone(), held(m, u))).collect();
    let first_ca = &all[&units[0]].ca;
    for (unit, h) in &all {
        assert_eq!(&h.ca, first_ca, "{unit} trusts another CA");
        m.verify_tls_file(unit, "unit.crt", Some("sslserver"));
        m.verify_tls_file(unit, "unit.crt", Some("sslclient"));
    }
    for unit in &units {
        let results = m.completed(unit, "probe", &[])["results"].clone();
        let peers = units.len() - 1;
        assert_eq!(
            results["summary"],
            format!("{peers}/{peers} peers ok"),
            "{unit}: {results:#}"
        );
    }
    all
}

/// The leader's status says it signs; the others' do not.
fn leader_says_so(m: &TestModel, leader: &str) {
    for unit in m.units(APP) {
        let (workload, message) = m.unit_status(&unit);
        assert_eq!(workload, "active", "{unit}: {message}");
        assert!(message.contains("from the peer CA"), "{unit}: {message}");
        assert_eq!(
            message.contains("leader: signs"),
            unit == leader,
            "{unit}: {message}"
        );
    }
}

/// The `<unit>_signed_certificate` keys of a unit's own `tls-peers` bag, as `show-unit` shows it.
fn signed_keys(m: &TestModel, unit: &str) -> Vec<String> {
    let shown: Value = serde_json::from_str(&m.ok(&["show-unit", unit, "--json"])).expect("JSON");
    let relation = shown["relations"]
        .as_array()
        .expect("relations")
        .iter()
        .find(|r| r["endpoint"] == "tls-peers")
        .unwrap_or_else(|| panic!("{unit} has no tls-peers relation: {shown:#}"));
    let mut keys: Vec<String> = relation["unit_data"]
        .as_object()
        .expect("unit_data")
        .keys()
        .filter(|k| k.ends_with("_signed_certificate"))
        .cloned()
        .collect();
    keys.sort();
    keys
}

#[test]
fn peers_sign_each_other_through_leader_change_scaling_and_renewal() {
    let m = TestModel::new("peer-tls");
    m.deploy(
        &m.rust_charm("tls-demo"),
        &["-n", "3", "--config", "certificates-from=peers"],
    );
    let first = check_all(&m);
    leader_says_so(&m, "tls-demo/0");

    // Leadership moves: the CA stays (its key is in the application secret), nobody makes a
    // new key, and the new leader adopts the certificates instead of signing new ones.
    m.ok(&["set-leader", "tls-demo/1"]);
    let after_election = check_all(&m);
    assert_eq!(
        after_election, first,
        "a leader change changed what a unit holds"
    );
    leader_says_so(&m, "tls-demo/1");
    assert!(
        signed_keys(&m, "tls-demo/0").is_empty(),
        "the old leader still publishes certificates: {:?}",
        signed_keys(&m, "tls-demo/0")
    );

    // Scale up: the new unit is signed by the new leader under the same CA.
    m.ok(&["add-unit", APP]);
    let four = check_all(&m);
    assert_eq!(four.len(), 4);
    assert_eq!(four["tls-demo/3"].ca, first["tls-demo/0"].ca);

    // Scale down, the old leader included: their entries leave the leader's bag.
    m.ok(&["remove-unit", "tls-demo/0"]);
    m.ok(&["remove-unit", "tls-demo/3"]);
    let two = check_all(&m);
    assert_eq!(two.keys().collect::<Vec<_>>(), ["tls-demo/1", "tls-demo/2"]);
    assert_eq!(
        signed_keys(&m, "tls-demo/1"),
        [
            "tls-demo/1_signed_certificate",
            "tls-demo/2_signed_certificate"
        ]
    );

    // Past two thirds of the 90 days: the leader signs again, same keys, same CA.
    m.ok(&["advance", "61d"]);
    let renewed = check_all(&m);
    for (unit, h) in &renewed {
        assert_ne!(
            h.certificate, two[unit].certificate,
            "{unit} was not renewed"
        );
        assert_eq!(h.key, two[unit].key, "{unit} made a new key");
        assert_eq!(h.ca, first["tls-demo/0"].ca, "{unit}: the CA changed");
    }
}
