//! Single-certificate revocation under the local model: our CA's `revoke-certificates` action
//! revokes one unit's certificate; that unit (a Python requirer on the published library, and a
//! `tls-demo` unit on ours) gets a new certificate for the same key at once, and every other
//! unit keeps its own (same serial).

use serde_json::Value;

use crate::interop_pypi::Interop;
use crate::support::TestModel;
use crate::support::openssl::same_public_key;

/// The serial of a PEM certificate in hex without leading zeros, as the action prints it.
fn serial(pem: &str) -> String {
    let cert = pki::Certificate::from_pem(pem).expect("certificate");
    cert.info().serial.trim_start_matches('0').to_owned()
}

/// A Python unit's one certificate: (serial, sha256 of its private key).
fn python_held(m: &TestModel, unit: &str) -> (String, String) {
    let held = m.verify_held(unit, 1);
    (
        serial(held[0]["certificate"].as_str().expect("certificate")),
        held[0]["private-key-sha256"]
            .as_str()
            .expect("key")
            .to_owned(),
    )
}

/// A tls-demo unit's unit certificate (verified, for the key next to it): (serial, key PEM).
fn demo_held(m: &TestModel, unit: &str) -> (String, String) {
    let pem = m.verify_demo(unit, "unit");
    let key = std::fs::read_to_string(m.tls_dir(unit).join("unit.key")).expect("unit.key");
    (serial(&pem), key)
}

fn revoke(m: &TestModel, unit: &str) -> Value {
    let run = m.completed("ca/0", "revoke-certificates", &[&format!("unit={unit}")]);
    let r = &run["results"];
    assert_eq!(r["revoked"], "1", "{run:#}");
    assert!(
        r["note"]
            .as_str()
            .is_some_and(|n| n.contains("cryptographically valid until they expire")),
        "{run:#}"
    );
    run
}

#[test]
fn revoking_one_unit_reissues_its_certificate_and_leaves_the_others() {
    let m = TestModel::new("revoke");
    let ss = m.rust_charm("self-signed-certificates");
    let req = m.interop_charm("tls-requirer");
    let demo = m.rust_charm("tls-demo");
    m.deploy(&ss, &["ca", "-n", "2"]);
    m.deploy(
        &req,
        &[
            "pyreq",
            "-n",
            "2",
            "--config",
            "mode=unit",
            "--config",
            "count=1",
        ],
    );
    m.deploy(&demo, &["web", "-n", "2", "--config", "mode=unit"]);
    for app in ["pyreq", "web"] {
        m.ok(&[
            "integrate",
            &format!("{app}:certificates"),
            "ca:certificates",
        ]);
    }
    let py0 = python_held(&m, "pyreq/0");
    let py1 = python_held(&m, "pyreq/1");
    let web0 = demo_held(&m, "web/0");
    let web1 = demo_held(&m, "web/1");

    // The Python requirer's unit.
    let run = revoke(&m, "pyreq/0");
    assert_eq!(run["results"]["revoked-serials"], py0.0.as_str(), "{run:#}");
    let after = python_held(&m, "pyreq/0");
    assert_ne!(after.0, py0.0, "pyreq/0 has a new certificate");
    assert_eq!(after.1, py0.1, "for the same key");
    assert_eq!(run["results"]["new-serials"], after.0.as_str(), "{run:#}");
    assert_eq!(python_held(&m, "pyreq/1"), py1, "pyreq/1 keeps its own");

    // A tls-demo unit.
    revoke(&m, "web/1");
    let after = demo_held(&m, "web/1");
    assert_ne!(after.0, web1.0, "web/1 has a new certificate");
    assert_eq!(after.1, web1.1, "for the same key");
    assert!(same_public_key(
        &m.tls_dir("web/1").join("unit.crt"),
        &m.tls_dir("web/1").join("unit.key")
    ));
    assert_eq!(demo_held(&m, "web/0"), web0, "web/0 keeps its own");
    assert_eq!(
        run["results"]["new-serials"],
        python_held(&m, "pyreq/0").0.as_str()
    );

    // Refusals: a follower, bad parameters, nothing to revoke. Nothing changes.
    for (unit, params, says) in [
        ("ca/1", vec!["unit=web/0"], "leader"),
        ("ca/0", vec![], "exactly one"),
        ("ca/0", vec!["unit=web/0", "serial=01"], "exactly one"),
        ("ca/0", vec!["serial=zz"], "invalid serial"),
        ("ca/0", vec!["unit=nobody/7"], "nothing was revoked"),
    ] {
        let v = m.action(unit, "revoke-certificates", &params);
        assert_eq!(v["status"], "failed", "{unit} {params:?}: {v:#}");
        assert!(
            v["message"].as_str().is_some_and(|t| t.contains(says)),
            "{unit} {params:?}: {v:#}"
        );
    }
    assert_eq!(demo_held(&m, "web/0"), web0);
    assert_eq!(python_held(&m, "pyreq/1"), py1);
}
