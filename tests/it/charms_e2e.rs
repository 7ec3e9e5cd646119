//! The self-signed-certificates and tls-demo charms end to end under the local model, driven
//! through the CLI as a user would: provider leader change, requirer scale up and down, a CA
//! request refused then granted by `allow-ca-requests`, invalid config; and the scale
//! benchmark's test charm (`tests/charms/cert-requirer`), so the benchmark cannot rot. Every
//! chain a unit holds is checked with `openssl verify -x509_strict` at the model's virtual time.
//! Each test destroys its model (and the workload processes) when it ends.

use std::process::Command;

use crate::support::{TestModel, python_list};

/// A model named `e2e` with our charms staged from the build.
fn model() -> TestModel {
    TestModel::new("e2e")
}

/// `deploy` of a Rust charm of ours, staged from the build.
fn deploy(m: &TestModel, name: &str, extra: &[&str]) {
    m.deploy(&m.rust_charm(name), extra);
}

/// A unit's workload status and message, as one line.
fn unit_message(m: &TestModel, unit: &str) -> String {
    let (workload, message) = m.unit_status(unit);
    format!("{workload} {message}")
}

fn probe(m: &TestModel, unit: &str) -> String {
    m.ok(&["run", unit, "probe"])
}

#[test]
fn provider_leader_change_and_requirer_scaling() {
    let m = model();
    deploy(&m, "self-signed-certificates", &["-n", "2"]);
    // Every model leases its own loopback block: the default port, whatever else serves.
    deploy(&m, "tls-demo", &["-n", "2"]);
    m.ok(&[
        "integrate",
        "tls-demo:certificates",
        "self-signed-certificates:certificates",
    ]);
    assert!(probe(&m, "tls-demo/0").contains("1/1 peers ok"));
    m.verify_tls_file("tls-demo/0", "unit.crt", None);
    m.verify_tls_file("tls-demo/0", "app.crt", None);
    let ca_before = std::fs::read_to_string(m.tls_dir("tls-demo/0").join("ca.pem")).unwrap();
    assert!(
        unit_message(&m, "self-signed-certificates/1").contains("standby"),
        "{}",
        unit_message(&m, "self-signed-certificates/1")
    );

    // Leadership moves to the other provider unit; it continues with the same CA.
    m.ok(&["set-leader", "self-signed-certificates/1"]);
    m.ok(&["add-unit", "tls-demo"]);
    let ca_new_unit = std::fs::read_to_string(m.tls_dir("tls-demo/2").join("ca.pem")).unwrap();
    assert_eq!(
        ca_new_unit, ca_before,
        "the new leader signs with the same CA"
    );
    m.verify_tls_file("tls-demo/2", "unit.crt", None);
    assert!(probe(&m, "tls-demo/2").contains("2/2 peers ok"));

    // Scale down: the removed unit's certificate is withdrawn.
    let removed = std::fs::read_to_string(m.tls_dir("tls-demo/2").join("unit.crt")).unwrap();
    m.ok(&["remove-unit", "tls-demo/2"]);
    let issued = m.ok(&[
        "run",
        "self-signed-certificates/1",
        "get-issued-certificates",
        "--json",
    ]);
    let issued: serde_json::Value = serde_json::from_str(&issued).unwrap();
    // The published charm's bytes: Python's str() of a list of JSON strings, read by Python.
    let list = python_list(issued["results"]["certificates"].as_str().unwrap());
    let certificates: Vec<String> = list
        .iter()
        .map(|c| {
            let v: serde_json::Value = serde_json::from_str(c).unwrap();
            v["certificate"].as_str().unwrap().trim().to_owned()
        })
        .collect();
    assert!(
        !certificates.contains(&removed.trim().to_owned()),
        "the removed unit's certificate is still issued"
    );
    assert_eq!(list.len(), 3, "two unit certificates and the app's");

    // A port another process holds blocks the unit (no failed hook); a free one serves again,
    // and peers learn the new port.
    let address = m.address("tls-demo/0");
    let squatter = std::net::TcpListener::bind(format!("{address}:9445")).unwrap();
    m.ok(&["config", "tls-demo", "port=9445"]);
    let blocked = unit_message(&m, "tls-demo/0");
    assert!(
        blocked.starts_with("blocked") && blocked.contains(&format!("{address}:9445")),
        "{blocked}"
    );
    drop(squatter);
    m.ok(&["config", "tls-demo", "port=9446"]);
    assert!(unit_message(&m, "tls-demo/0").starts_with("active"));
    assert!(probe(&m, "tls-demo/1").contains("1/1 peers ok"));
}

#[test]
fn ca_requests_follow_the_option_and_invalid_config_loses_nothing() {
    let m = model();
    deploy(&m, "self-signed-certificates", &[]);
    deploy(&m, "tls-demo", &["--config", "request-ca-certificate=true"]);
    m.ok(&[
        "integrate",
        "tls-demo:certificates",
        "self-signed-certificates:certificates",
    ]);
    m.ok(&[
        "integrate",
        "tls-demo:receive-ca-cert",
        "self-signed-certificates:send-ca-cert",
    ]);
    let message = unit_message(&m, "tls-demo/0");
    assert!(
        message.contains("denied") && message.contains("allow-ca-requests"),
        "{message}"
    );

    m.ok(&[
        "config",
        "self-signed-certificates",
        "allow-ca-requests=true",
    ]);
    let message = unit_message(&m, "tls-demo/0");
    assert!(
        message.contains("CA certificate") && message.contains("granted"),
        "{message}"
    );
    m.verify_tls_file("tls-demo/0", "app-ca.crt", None);
    let ca_cert = std::fs::read_to_string(m.tls_dir("tls-demo/0").join("app-ca.crt")).unwrap();
    assert!(pki::Certificate::from_pem(&ca_cert).unwrap().info().is_ca);

    let before = std::fs::read_to_string(m.tls_dir("tls-demo/0").join("unit.crt")).unwrap();
    m.ok(&[
        "config",
        "self-signed-certificates",
        "certificate-validity=1y",
        "ca-country-name=France",
    ]);
    let message = unit_message(&m, "self-signed-certificates/0");
    assert!(
        message.starts_with("blocked")
            && message.contains("certificate-validity")
            && message.contains("ca-country-name"),
        "{message}"
    );
    m.ok(&["run", "tls-demo/0", "probe"]);
    assert_eq!(
        std::fs::read_to_string(m.tls_dir("tls-demo/0").join("unit.crt")).unwrap(),
        before,
        "nothing issued was lost"
    );
    m.verify_tls_file("tls-demo/0", "unit.crt", None);
}

#[test]
fn the_scale_benchmarks_requirer_gets_a_p256_certificate_per_unit() {
    let m = model();
    deploy(&m, "self-signed-certificates", &[]);
    deploy(&m, "cert-requirer", &["-n", "3"]);
    m.ok(&[
        "integrate",
        "cert-requirer:certificates",
        "self-signed-certificates:certificates",
    ]);
    let mut serials = std::collections::BTreeSet::new();
    for unit in ["cert-requirer/0", "cert-requirer/1", "cert-requirer/2"] {
        let message = unit_message(&m, unit);
        let serial = message
            .strip_prefix("active certificate ")
            .unwrap_or_else(|| panic!("{unit}: {message}"));
        serials.insert(serial.to_owned());
        m.verify_tls_file(unit, "unit.crt", None);
        let pem = std::fs::read_to_string(m.tls_dir(unit).join("unit.crt")).unwrap();
        let text = Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(m.tls_dir(unit).join("unit.crt"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains("prime256v1"),
            "{unit}: not a P-256 key:\n{text}"
        );
        let name = unit.replace('/', "-");
        assert!(
            text.contains(&format!("CN={name}")) || text.contains(&format!("CN = {name}")),
            "{text}"
        );
        assert_eq!(
            pki::Certificate::from_pem(&pem).unwrap().info().serial,
            serial,
            "{unit}: the status names the certificate it wrote"
        );
    }
    assert_eq!(serials.len(), 3, "one certificate per unit: {serials:?}");
}
