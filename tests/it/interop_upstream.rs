//! The published Python `self-signed-certificates` charm (our stand-in of it, on the PyPI
//! libraries of `tests/interop/`) refreshed in place to ours, under the local model. The model
//! is destroyed (every workload with it) when the test ends, pass or fail.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::interop_pypi::{Interop, certs};
use crate::support::TestModel;

/// A deployment of the published Python self-signed-certificates charm (our stand-in keeps and
/// renews its CA exactly as that charm does: same secret labels and content keys, CA from the
/// library's `generate_ca` with a random x500UniqueIdentifier, certificates from its helper) that
/// has renewed its CA (the old one in `expiring-ca-certificates`, certificates under it still
/// valid), refreshed in place to ours: the same CA and certificates everywhere, the same
/// `get-issued-certificates` bytes, both CAs on `send-ca-cert` (tls-demo's trust), probes pass, a
/// new unit is served under the active CA; once the certificates are renewed the old CA and its
/// secret go; then ours renews the CA it inherited, revoking nothing. Validities are days
/// (root 20d, certificates 10d) so the virtual clock gets there in a few steps.
#[test]
fn upstream_ca_refreshed_to_ours_keeps_its_ca_and_every_certificate() {
    let m = TestModel::new("interop");
    let demo = m.rust_charm("tls-demo");
    m.deploy(
        &m.interop_charm("upstream-ca"),
        &[
            "ca",
            "--config",
            "root-ca-validity=20d",
            "--config",
            "certificate-validity=10d",
        ],
    );
    // Models share the loopback addresses: this test's servers get their own port.
    m.deploy(
        &demo,
        &[
            "demo",
            "-n",
            "2",
            "--config",
            "port=9631",
            "--config",
            "mode=unit",
        ],
    );
    m.deploy(&m.interop_charm("tls-requirer"), &["pyreq"]);
    m.ok(&["integrate", "demo:certificates", "ca:certificates"]);
    m.ok(&["integrate", "demo:receive-ca-cert", "ca:send-ca-cert"]);
    m.ok(&["integrate", "pyreq:certificates", "ca:certificates"]);

    let ca_pem = || -> String {
        m.completed("ca/0", "get-ca-certificate", &[])["results"]["ca-certificate"]
            .as_str()
            .expect("ca-certificate")
            .trim()
            .to_owned()
    };
    let issued_bytes = || -> String {
        m.completed("ca/0", "get-issued-certificates", &[])["results"]["certificates"]
            .as_str()
            .expect("certificates")
            .to_owned()
    };
    let secret_labels = || -> Vec<String> {
        let list: Value = serde_json::from_str(&m.ok(&["secrets", "--json"])).expect("JSON");
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["label"].as_str().map(str::to_owned))
            .collect()
    };
    // The CAs a tls-demo unit trusts (its ca.pem: its certificate's CA and send-ca-cert's).
    let trusted = |unit: &str| -> Vec<String> {
        let text = std::fs::read_to_string(m.tls_dir(unit).join("ca.pem")).expect("ca.pem");
        let mut v: Vec<String> = text
            .split_inclusive("-----END CERTIFICATE-----")
            .map(str::trim)
            .filter(|c| c.starts_with("-----BEGIN"))
            .map(str::to_owned)
            .collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let old_ca = ca_pem();
    let subject = Command::new("openssl")
        .args(["x509", "-noout", "-subject", "-nameopt", "oneline"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write as _;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(old_ca.as_bytes())?;
            c.wait_with_output()
        })
        .expect("openssl");
    let subject = String::from_utf8_lossy(&subject.stdout).into_owned();
    assert!(
        subject.contains("x500UniqueIdentifier"),
        "the upstream CA layout carries a unique id: {subject}"
    );

    // Upstream renews the certificates at 9 days, under the CA it has; at 10 days (root minus
    // certificate validity) its CA secret expires and it renews the CA: the old one moves to
    // `expiring-ca-certificates`, the certificates under it stay (valid until day 19).
    m.ok(&["advance", "9d1h"]);
    m.ok(&["advance", "1d"]);
    let ca_before = ca_pem();
    assert_ne!(ca_before, old_ca, "upstream did not renew its CA");
    let labels = secret_labels();
    assert!(
        labels.iter().any(|l| l == "expiring-ca-certificates"),
        "upstream keeps the old CA in expiring-ca-certificates: {labels:?}"
    );
    let demo_units = ["demo/0", "demo/1"];
    let demo_before: Vec<String> = demo_units
        .iter()
        .map(|u| m.verify_demo(u, "unit"))
        .collect();
    let held = m.verify_held("pyreq/0", 1);
    assert_eq!(held[0]["ca"].as_str().map(str::trim), Some(old_ca.as_str()));
    let py_before = certs(&held);
    let issued_before = issued_bytes();
    assert!(issued_before.starts_with("['{\"csr\": "), "{issued_before}");

    m.ok(&[
        "refresh",
        "ca",
        "--path",
        m.rust_charm("self-signed-certificates")
            .to_str()
            .expect("utf-8"),
    ]);
    assert_eq!(ca_pem(), ca_before, "the refresh made a new CA");
    for (u, before) in demo_units.iter().zip(&demo_before) {
        assert_eq!(
            &m.verify_demo(u, "unit"),
            before,
            "{u} got a new certificate"
        );
        // Both CAs published on send-ca-cert: the old one still has valid certificates.
        assert_eq!(
            trusted(u),
            sorted(vec![old_ca.clone(), ca_before.clone()]),
            "{u} does not trust both CAs"
        );
    }
    assert_eq!(
        certs(&m.verify_held("pyreq/0", 1)),
        py_before,
        "pyreq/0 got a new certificate"
    );
    assert_eq!(
        issued_bytes(),
        issued_before,
        "get-issued-certificates differs from the published charm's bytes"
    );
    assert!(
        secret_labels()
            .iter()
            .any(|l| l == "expiring-ca-certificates"),
        "the expiring CA's secret went while certificates under it are valid"
    );
    let (w, msg) = m.unit_status("ca/0");
    assert_eq!(w, "active", "{msg}");
    for u in demo_units {
        let probe = m.completed(u, "probe", &[]);
        assert_eq!(probe["results"]["summary"], "1/1 peers ok", "{probe:#}");
    }

    // A new unit is served under the active CA, and trusts the old one too.
    m.ok(&["add-unit", "demo"]);
    m.verify_demo("demo/2", "unit");
    assert_eq!(
        trusted("demo/2"),
        sorted(vec![old_ca.clone(), ca_before.clone()])
    );
    let probe = m.completed("demo/2", "probe", &[]);
    assert_eq!(probe["results"]["summary"], "2/2 peers ok", "{probe:#}");

    // Day 18: the certificates under the old CA are renewed, under the active CA. With no valid
    // certificate under it left, the old CA leaves send-ca-cert (at the next hook: update-status)
    // and its secret, private key included, is removed.
    m.ok(&["advance", "8d1h"]);
    m.ok(&["advance", "5m"]);
    assert_eq!(ca_pem(), ca_before, "renewal replaced the CA");
    // The next CA is already published (ca-renewal-notice, capped at half the time to the
    // renewal on day 20), beside the active one; the old one is gone.
    let mut demo_renewed = Vec::new();
    let mut next_published = BTreeSet::new();
    for (u, before) in demo_units.iter().zip(&demo_before) {
        let now = m.verify_demo(u, "unit");
        assert_ne!(&now, before, "{u} was not renewed");
        let cas = trusted(u);
        assert!(
            cas.contains(&ca_before) && !cas.contains(&old_ca) && cas.len() == 2,
            "{u} trusts {cas:#?}"
        );
        next_published.extend(cas.into_iter().filter(|c| *c != ca_before));
        demo_renewed.push(now);
    }
    assert_eq!(next_published.len(), 1, "one next CA: {next_published:#?}");
    let renewed = m.verify_held("pyreq/0", 1);
    assert_ne!(certs(&renewed), py_before, "pyreq/0 was not renewed");
    assert_eq!(
        renewed[0]["ca"].as_str().map(str::trim),
        Some(ca_before.as_str())
    );
    let labels = secret_labels();
    assert!(
        !labels.iter().any(|l| l == "expiring-ca-certificates"),
        "the expiring CA's secret lingers: {labels:?}"
    );

    // Day 20: the CA we inherited is due (root minus certificate validity); ours renews it,
    // revoking and re-issuing nothing: both CAs are trusted until the certificates move.
    m.ok(&["advance", "2d"]);
    let ca_after = ca_pem();
    assert_ne!(ca_after, ca_before, "ours did not renew the CA");
    assert!(
        next_published.contains(&ca_after),
        "the CA published ahead is not the one that took over"
    );
    for (u, before) in demo_units.iter().zip(&demo_renewed) {
        assert_eq!(&m.verify_demo(u, "unit"), before, "{u} was re-issued");
        assert_eq!(
            trusted(u),
            sorted(vec![ca_before.clone(), ca_after.clone()]),
            "{u} does not trust both CAs"
        );
    }
    assert_eq!(
        certs(&m.verify_held("pyreq/0", 1)),
        certs(&renewed),
        "pyreq/0 was re-issued"
    );
    let probe = m.completed("demo/0", "probe", &[]);
    assert_eq!(probe["results"]["summary"], "2/2 peers ok", "{probe:#}");
}
