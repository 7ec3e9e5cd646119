//! Interoperability with Python charms, both directions, under the local model with real
//! processes: the Python test charms of `tests/interop/` run the **published** PyPI libraries
//! (pinned in `tests/requirements.txt`) against our Rust charms.
//!
//! - our `self-signed-certificates` serving the Python requirer in UNIT, APP and APP_AND_UNIT
//!   modes; every certificate a Python unit holds passes `openssl verify -x509_strict` at the
//!   model's virtual time; renewal through the clock, `rotate-private-key`, scaling, leader changes
//!   on both sides, relation removal;
//! - the Python provider (library signing helper) serving `tls-demo`; from an intermediate CA its
//!   known issuer defect must show up as a logged warning naming it;
//! - certificate_transfer from our provider to the PyPI v1 requirer and to a hand-written v0 one;
//! - migration: a Python requirer unit refreshed in place to `tls-demo` keeps key and certificate
//!   (the published Python CA charm refreshed to ours: `interop_upstream.rs`).
//!
//! Each test destroys its model (and every workload process) when it ends, pass or fail.

use serde_json::Value;

use crate::support::openssl::same_public_key;
use crate::support::{TestModel, python_list};

/// What these tests ask of a model beyond the harness: the Python charms' actions and our
/// charms' files, judged by openssl.
pub(crate) trait Interop {
    fn held(&self, unit: &str) -> Vec<Value>;
    fn verify_held(&self, unit: &str, expect: usize) -> Vec<Value>;
    fn verify_held_to(&self, unit: &str, expect: usize, anchor: Option<&str>) -> Vec<Value>;
    fn verify_demo(&self, unit: &str, identity: &str) -> String;
    fn py_issued(&self, unit: &str) -> Vec<Value>;
    fn debug_log(&self) -> String;
    fn issued(&self, provider_unit: &str) -> Vec<Value>;
}

impl Interop for TestModel {
    /// What a Python requirer unit holds (its `get-certificates` action).
    fn held(&self, unit: &str) -> Vec<Value> {
        let v = self.completed(unit, "get-certificates", &[]);
        serde_json::from_str(v["results"]["certificates"].as_str().expect("certificates"))
            .expect("certificates JSON")
    }

    /// Every certificate a Python unit holds verifies against the CA it came with (chain
    /// intermediates untrusted), and is for the unit's key.
    fn verify_held(&self, unit: &str, expect: usize) -> Vec<Value> {
        self.verify_held_to(unit, expect, None)
    }

    /// [`Self::verify_held`] against `anchor` (PEM) when given, instead of each certificate's
    /// `ca`: a CA whose `ca` is an intermediate (ACME) chains to a root the test knows.
    fn verify_held_to(&self, unit: &str, expect: usize, anchor: Option<&str>) -> Vec<Value> {
        let held = self.held(unit);
        assert_eq!(held.len(), expect, "{unit} holds {held:#?}");
        for c in &held {
            assert_eq!(
                c["key-matches"], true,
                "{unit}: certificate not for its key"
            );
            assert_eq!(c["revoked"], false, "{unit}: revoked certificate");
            let chain: Vec<&str> = c["chain"]
                .as_array()
                .expect("chain")
                .iter()
                .skip(1)
                .filter_map(Value::as_str)
                .collect();
            self.verify_pem(
                &format!("{unit} {}", c["common-name"]),
                c["certificate"].as_str().expect("certificate"),
                anchor.unwrap_or_else(|| c["ca"].as_str().expect("ca")),
                &chain,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        held
    }

    /// A tls-demo unit's `unit` or `app` certificate verifies against its `ca.pem` (the chain's
    /// intermediates untrusted) and is for the key next to it; returns its PEM.
    fn verify_demo(&self, unit: &str, identity: &str) -> String {
        let dir = self.tls_dir(unit);
        let read = |name: String| {
            std::fs::read_to_string(dir.join(&name))
                .unwrap_or_else(|e| panic!("{unit}: no {name}: {e}"))
        };
        let cert = read(format!("{identity}.crt"));
        let chain = read(format!("{identity}-chain.pem"));
        self.verify_pem(
            &format!("{unit} {identity}"),
            &cert,
            &read("ca.pem".into()),
            &[&chain],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            same_public_key(
                &dir.join(format!("{identity}.crt")),
                &dir.join(format!("{identity}.key"))
            ),
            "{unit}: {identity}.crt is not for {identity}.key"
        );
        cert
    }

    /// What the Python provider lists as issued (its `get-issued` action).
    fn py_issued(&self, unit: &str) -> Vec<Value> {
        let v = self.completed(unit, "get-issued", &[]);
        serde_json::from_str(v["results"]["certificates"].as_str().expect("certificates"))
            .expect("issued JSON")
    }

    fn debug_log(&self) -> String {
        self.ok(&["debug-log", "-n", "100000"])
    }

    /// Our provider's `get-issued-certificates` (run on its leader).
    fn issued(&self, provider_unit: &str) -> Vec<Value> {
        let v = self.action(provider_unit, "get-issued-certificates", &[]);
        if v["status"] == "failed" && v["message"] == "No certificates issued yet." {
            return Vec::new();
        }
        assert_eq!(v["status"], "completed", "{v:#}");
        let r = &v["results"];
        let text = r["certificates"].as_str().expect("certificates");
        python_list(text)
            .iter()
            .map(|item| {
                serde_json::from_str(item).unwrap_or_else(|e| panic!("issued JSON {e}: {r:#}"))
            })
            .collect()
    }
}

pub(crate) fn certs(held: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = held
        .iter()
        .map(|c| c["certificate"].as_str().unwrap_or_default().to_owned())
        .collect();
    v.sort();
    v
}

/// Our provider serving the Python requirer in all three modes, through renewal, CA key
/// rotation, scaling, leader changes on both sides and relation removal.
#[test]
fn rust_provider_serves_python_requirer_in_every_mode() {
    let m = TestModel::new("interop");
    let ss = m.rust_charm("self-signed-certificates");
    let req = m.interop_charm("tls-requirer");
    m.deploy(&ss, &["ca", "-n", "2"]);
    m.deploy(
        &req,
        &[
            "unitreq",
            "-n",
            "2",
            "--config",
            "mode=unit",
            "--config",
            "count=2",
        ],
    );
    m.deploy(&req, &["appreq", "-n", "2", "--config", "mode=app"]);
    m.deploy(
        &req,
        &["bothreq", "-n", "2", "--config", "mode=app-and-unit"],
    );
    for app in ["unitreq", "appreq", "bothreq"] {
        m.ok(&[
            "integrate",
            &format!("{app}:certificates"),
            "ca:certificates",
        ]);
    }
    // UNIT: 2 each; APP: the leader holds 1, the follower none; APP_AND_UNIT: 1 + leader's app 1.
    let check = |label: &str| {
        let a = m.verify_held("unitreq/0", 2);
        let b = m.verify_held("unitreq/1", 2);
        let c = m.verify_held("appreq/0", 1);
        m.verify_held("appreq/1", 0);
        let d = m.verify_held("bothreq/0", 2);
        let e = m.verify_held("bothreq/1", 1);
        eprintln!("{label}: every Python-held certificate verifies");
        [a, b, c, d, e].concat()
    };
    let first = check("issued");
    assert_eq!(m.unit_status("bothreq/0").1, "2 certificates");

    // Renewal by the virtual clock: certificates are valid 90 days, the Python library renews
    // at 90 % of that through its expiring secrets. New certificates, same keys.
    m.ok(&["advance", "82d"]);
    let renewed = check("renewed");
    let (old, new) = (certs(&first), certs(&renewed));
    for c in &new {
        assert!(
            !old.contains(c),
            "a certificate was not renewed after 82 days"
        );
    }
    let key_of = |held: &[Value]| -> Vec<String> {
        let mut k: Vec<String> = held
            .iter()
            .map(|c| {
                c["private-key-sha256"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        k.sort();
        k
    };
    assert_eq!(key_of(&first), key_of(&renewed), "renewal changed a key");

    // The Python requirer's own renew and regenerate-key actions.
    let before = certs(&m.held("unitreq/0"));
    m.completed("unitreq/0", "renew", &[]);
    let after = m.verify_held("unitreq/0", 2);
    assert!(
        certs(&after).iter().all(|c| !before.contains(c)),
        "renew action"
    );
    let key_before = key_of(&after);
    m.completed("unitreq/1", "regenerate-key", &[]);
    let regen = m.verify_held("unitreq/1", 2);
    assert_ne!(key_of(&regen), key_of(&m.held("unitreq/0")));
    assert_eq!(key_of(&m.held("unitreq/0")), key_before);

    // CA key rotation on our side: every Python unit ends up with a certificate from the new CA.
    let old_ca = first[0]["ca"].as_str().expect("ca").to_owned();
    m.completed("ca/0", "rotate-private-key", &[]);
    let rotated = check("after rotate-private-key");
    for c in &rotated {
        assert_ne!(c["ca"].as_str(), Some(old_ca.as_str()), "still the old CA");
    }

    // Leader change, provider side then requirer side.
    m.ok(&["set-leader", "ca/1"]);
    check("provider leader ca/1");
    m.ok(&["set-leader", "appreq/1"]);
    m.verify_held("appreq/1", 1);
    m.ok(&["set-leader", "bothreq/1"]);
    m.verify_held("bothreq/1", 2);
    m.verify_held("bothreq/0", 1);

    // Scaling the requirer.
    m.ok(&["add-unit", "unitreq"]);
    let units = m.units("unitreq");
    assert_eq!(units.len(), 3, "{units:?}");
    for u in &units {
        m.verify_held(u, 2);
    }
    let issued_before = m.issued("ca/1").len();
    m.ok(&["remove-unit", "unitreq/0"]);
    let issued_after = m.issued("ca/1").len();
    assert_eq!(
        issued_after + 2,
        issued_before,
        "the departed unit's certificates must be dropped by the provider"
    );

    // Removing the relation: the Python side forgets its certificates, ours its issued ones.
    m.ok(&["remove-relation", "appreq:certificates", "ca:certificates"]);
    m.verify_held("appreq/1", 0);
    let issued_final = m.issued("ca/1").len();
    assert_eq!(
        issued_final + 1,
        issued_after,
        "APP certificate not dropped"
    );
}

/// The Python provider (library signing helper) serving tls-demo in its three modes: every
/// certificate verifies, unit certificates carry mutual TLS between peers and the app-mode
/// leader serves the application certificate; renewal through the clock (same keys),
/// revocation, leader changes on both sides, scaling, relation removal (both sides clean up).
/// From an intermediate CA, the helper's issuer defect is logged by our requirer as a warning
/// that names it.
#[test]
fn python_provider_serves_tls_demo_in_every_mode() {
    let m = TestModel::new("interop");
    let prov = m.interop_charm("tls-provider");
    let demo = m.rust_charm("tls-demo");
    m.deploy(&prov, &["pyca", "-n", "2"]);
    // Every unit of every model has its own loopback address: all serve on the default port.
    m.deploy(&demo, &["both", "-n", "2"]);
    m.deploy(&demo, &["units", "-n", "2", "--config", "mode=unit"]);
    m.deploy(&demo, &["app", "-n", "2", "--config", "mode=app"]);
    for app in ["both", "units", "app"] {
        m.ok(&[
            "integrate",
            &format!("{app}:certificates"),
            "pyca:certificates",
        ]);
    }
    // APP_AND_UNIT: unit certs everywhere, the app cert on the leader; UNIT: unit certs only;
    // APP: the leader alone holds (and serves) the app cert, the follower stands by.
    let check = |label: &str| -> Vec<String> {
        let held = vec![
            m.verify_demo("both/0", "unit"),
            m.verify_demo("both/0", "app"),
            m.verify_demo("both/1", "unit"),
            m.verify_demo("units/0", "unit"),
            m.verify_demo("units/1", "unit"),
            m.verify_demo("app/0", "app"),
        ];
        for (unit, absent) in [
            ("both/1", "app.crt"),
            ("units/0", "app.crt"),
            ("units/1", "app.crt"),
            ("app/1", "app.crt"),
            ("app/1", "unit.crt"),
            ("app/0", "unit.crt"),
        ] {
            assert!(
                !m.tls_dir(unit).join(absent).exists(),
                "{label}: {unit} must not hold {absent}"
            );
        }
        for unit in ["both/0", "both/1", "units/0", "units/1", "app/0"] {
            let (w, msg) = m.unit_status(unit);
            assert!(
                w == "active" && msg.starts_with("https://"),
                "{label}: {unit}: {w} {msg}"
            );
        }
        let (w, msg) = m.unit_status("app/1");
        assert!(
            w == "active" && msg.contains("standby"),
            "{label}: app/1: {w} {msg}"
        );
        for unit in ["both/0", "units/1"] {
            let probe = m.completed(unit, "probe", &[]);
            assert_eq!(
                probe["results"]["summary"], "1/1 peers ok",
                "{label}: {probe:#}"
            );
        }
        eprintln!("{label}: every certificate verifies, mutual TLS works");
        held
    };
    let first = check("issued");
    assert_eq!(
        m.py_issued("pyca/0").len(),
        6,
        "3 + 2 unit certs, 1 app cert"
    );
    assert!(
        !m.debug_log().contains("does not chain"),
        "root-signed certificates must not warn"
    );
    let keys = |units: &[(&str, &str)]| -> Vec<String> {
        units
            .iter()
            .map(|(u, id)| {
                std::fs::read_to_string(m.tls_dir(u).join(format!("{id}.key"))).expect("key")
            })
            .collect()
    };
    let all = [
        ("both/0", "unit"),
        ("both/0", "app"),
        ("both/1", "unit"),
        ("units/0", "unit"),
        ("units/1", "unit"),
        ("app/0", "app"),
    ];
    let keys_before = keys(&all);

    // Renewal by the virtual clock (the library's secrets expire at 90 % of the validity):
    // every certificate replaced, every key kept.
    m.ok(&["advance", "82d"]);
    let renewed = check("renewed");
    for (old, new) in first.iter().zip(&renewed) {
        assert_ne!(old, new, "a certificate was not renewed after 82 days");
    }
    assert_eq!(keys(&all), keys_before, "renewal changed a key");

    // Revocation by the Python provider: our requirer drops and asks again.
    m.completed("pyca/0", "revoke-all", &[]);
    let fresh = check("after revoke-all");
    for (old, new) in renewed.iter().zip(&fresh) {
        assert_ne!(old, new, "a revoked certificate was not replaced");
    }

    // Leader changes: provider side, then requirer side. A new APP-mode leader serves the same
    // application certificate with the same key (app-owned secret): no new CSR.
    m.ok(&["set-leader", "pyca/1"]);
    let issued = m.py_issued("pyca/1").len();
    m.ok(&["set-leader", "app/1"]);
    let app_cert = m.verify_demo("app/1", "app");
    assert_eq!(
        app_cert, fresh[5],
        "the new leader serves another app certificate"
    );
    let (w, msg) = m.unit_status("app/0");
    assert!(w == "active" && msg.contains("standby"), "app/0: {w} {msg}");
    assert!(
        !m.tls_dir("app/0").join("app.key").exists(),
        "the former leader keeps the application key"
    );
    m.ok(&["set-leader", "both/1"]);
    assert_eq!(
        m.verify_demo("both/1", "app"),
        fresh[1],
        "the new leader holds another app certificate"
    );
    assert_eq!(
        m.py_issued("pyca/1").len(),
        issued,
        "a leader change made new CSRs"
    );

    // Scaling the requirer. The library provider drops a departed unit's certificate on its
    // next relation-changed or update-status (not on departed; ours does), so give it one.
    m.ok(&["add-unit", "units"]);
    m.verify_demo("units/2", "unit");
    assert!(m.completed("units/2", "probe", &[])["results"]["summary"] == "2/2 peers ok");
    assert_eq!(m.py_issued("pyca/1").len(), issued + 1);
    m.ok(&["remove-unit", "units/2"]);
    m.ok(&["advance", "10m"]);
    assert_eq!(
        m.py_issued("pyca/1").len(),
        issued,
        "departed unit's certificate kept"
    );

    // Removing a relation: the provider forgets its certificates, our units their secrets.
    let relation_of = |app: &str| -> i64 {
        m.status()["relations"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| {
                (r["app_a"] == app && r["app_b"] == "pyca")
                    || (r["app_b"] == app && r["app_a"] == "pyca")
            })
            .and_then(|r| r["id"].as_i64())
            .unwrap_or_else(|| panic!("no relation for {app}"))
    };
    let owned_by_units = || -> Vec<Value> {
        let secrets: Value =
            serde_json::from_str(&m.ok(&["secrets", "--json"])).expect("secrets JSON");
        secrets
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["owner"].as_str().is_some_and(|o| o.starts_with("units/")))
            .cloned()
            .collect()
    };
    assert_eq!(
        owned_by_units().len(),
        4,
        "a key and a certificate secret per unit"
    );
    let rel = relation_of("units");
    m.ok(&["remove-relation", "units:certificates", "pyca:certificates"]);
    assert!(
        m.py_issued("pyca/1")
            .iter()
            .all(|c| c["relation-id"].as_i64() != Some(rel)),
        "the library provider kept certificates of a removed relation"
    );
    let left = owned_by_units();
    assert!(
        left.is_empty(),
        "secrets left after relation removal: {left:#?}"
    );
    let (w, msg) = m.unit_status("units/0");
    assert_eq!(w, "waiting", "units/0 without a provider: {msg}");

    // Intermediate CA: the library helper writes the root's name as the leaf's issuer.
    m.deploy(&prov, &["pyinter", "--config", "intermediate=true"]);
    m.deploy(&demo, &["inter"]);
    m.ok(&["integrate", "inter:certificates", "pyinter:certificates"]);
    let log = m.debug_log();
    assert!(
        log.contains("intermediate-CA defect"),
        "the intermediate-CA defect must be logged by our requirer:\n{log}"
    );
}

/// certificate_transfer from our provider to the PyPI v1 requirer and a hand-written v0 one.
#[test]
fn certificate_transfer_to_python_v1_and_v0() {
    let m = TestModel::new("interop");
    let ss = m.rust_charm("self-signed-certificates");
    m.deploy(&ss, &["ca"]);
    m.deploy(&m.interop_charm("transfer-v1"), &["v1", "-n", "2"]);
    m.deploy(&m.interop_charm("transfer-v0"), &["v0"]);
    m.ok(&["integrate", "v1:receive-ca-cert", "ca:send-ca-cert"]);
    m.ok(&["integrate", "v0:receive-ca-cert", "ca:send-ca-cert"]);
    let ca = m.completed("ca/0", "get-ca-certificate", &[]);
    let ca = ca["results"]
        .as_object()
        .and_then(|r| r.values().find_map(Value::as_str))
        .expect("CA PEM")
        .trim()
        .to_owned();
    for u in ["v1/0", "v1/1", "v0/0"] {
        let got = m.completed(u, "get-certificates", &[]);
        let list: Vec<String> =
            serde_json::from_str(got["results"]["certificates"].as_str().expect("list"))
                .expect("JSON");
        let list: Vec<String> = list.iter().map(|c| c.trim().to_owned()).collect();
        assert!(list.contains(&ca), "{u} did not receive the CA: {list:?}");
        m.verify_pem(u, &ca, &ca, &[])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let v0 = m.completed("v0/0", "get-certificates", &[]);
    assert_eq!(v0["results"]["versions"], "[\"0\"]", "{v0:#}");

    // A new CA reaches both.
    m.completed("ca/0", "rotate-private-key", &[]);
    let new_ca = m.completed("ca/0", "get-ca-certificate", &[]);
    let new_ca = new_ca["results"]
        .as_object()
        .and_then(|r| r.values().find_map(Value::as_str))
        .expect("CA PEM")
        .trim()
        .to_owned();
    assert_ne!(new_ca, ca);
    for u in ["v1/0", "v0/0"] {
        let got = m.completed(u, "get-certificates", &[]);
        assert!(
            got["results"]["certificates"]
                .as_str()
                .unwrap_or_default()
                .contains(new_ca.lines().nth(1).unwrap_or("-")),
            "{u} did not get the rotated CA"
        );
    }
}

/// A unit running the Python requirer is refreshed in place to tls-demo (same endpoint, mode and
/// request attributes): it keeps its key and certificates, and no new CSR reaches the provider.
#[test]
fn python_requirer_migrates_to_rust_in_place() {
    let m = TestModel::new("interop");
    let ss = m.rust_charm("self-signed-certificates");
    m.deploy(&ss, &["ca"]);
    m.deploy(
        &m.interop_charm("tls-requirer"),
        &["mig", "-n", "2", "--config", "mode=app-and-unit"],
    );
    m.ok(&["integrate", "mig:certificates", "ca:certificates"]);
    let held0 = m.verify_held("mig/0", 2);
    let held1 = m.verify_held("mig/1", 1);
    let issued = m.issued("ca/0");
    assert_eq!(issued.len(), 3, "{issued:#?}");

    let demo = m.rust_charm("tls-demo");
    m.ok(&["refresh", "mig", "--path", demo.to_str().expect("utf-8")]);
    let issued_after = m.issued("ca/0");
    assert_eq!(
        issued_after.len(),
        3,
        "the refresh made new CSRs: {issued_after:#?}"
    );
    for (unit, held) in [("mig/0", &held0), ("mig/1", &held1)] {
        let tls = m.tls_dir(unit);
        let unit_crt = std::fs::read_to_string(tls.join("unit.crt"))
            .unwrap_or_else(|e| panic!("{unit}: no unit.crt after refresh: {e}"));
        let python_unit = held
            .iter()
            .find(|c| c["scope"] == "unit")
            .expect("unit cert");
        assert_eq!(
            unit_crt.trim(),
            python_unit["certificate"].as_str().expect("pem").trim(),
            "{unit}: the Rust charm does not serve the certificate the Python charm held"
        );
        // Same key: the key file matches the Python-era certificate.
        assert!(
            same_public_key(&tls.join("unit.crt"), &tls.join("unit.key")),
            "{unit}: key changed"
        );
    }
    let probe = m.completed("mig/0", "probe", &[]);
    assert!(
        !probe.to_string().to_lowercase().contains("fail"),
        "mutual TLS after migration: {probe:#}"
    );
}
