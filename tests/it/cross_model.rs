//! Cross-model relations between two models of one machine: our CA in model A, offered;
//! requirers in model B (`tls-demo` and the Python requirer on the published library) through
//! `consume` + `integrate`. Certificates issued and verified by openssl, the remote side named
//! as Juju names it, renewal by the shared clock, relation removal on either side,
//! `certificate_transfer` across models, `remove-saas`, and the offering model destroyed under
//! a live relation.

use serde_json::Value;

use crate::interop_pypi::{Interop, certs};
use crate::support::TestModel;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The relations of `app` in `m`'s status, as `a:ep b:ep` strings.
fn relations(m: &TestModel) -> Vec<String> {
    m.status()["relations"]
        .as_array()
        .expect("relations")
        .iter()
        .filter(|r| r["peer"] == false)
        .map(|r| {
            format!(
                "{}:{} {}:{}",
                r["app_a"].as_str().unwrap_or_default(),
                r["ep_a"].as_str().unwrap_or_default(),
                r["app_b"].as_str().unwrap_or_default(),
                r["ep_b"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

fn ca_pem(a: &TestModel) -> String {
    a.completed("ca/0", "get-ca-certificate", &[])["results"]["ca-certificate"]
        .as_str()
        .expect("ca-certificate")
        .trim()
        .to_owned()
}

#[test]
fn a_ca_offered_in_one_model_serves_requirers_in_another() {
    let a = TestModel::new("xa");
    let b = a.another("xb");
    a.deploy(&a.rust_charm("self-signed-certificates"), &["ca"]);
    a.ok(&["offer", "ca:certificates"]);
    a.ok(&["offer", "ca:send-ca-cert", "ca-transfer"]);
    b.deploy(&b.rust_charm("tls-demo"), &["demo", "-n", "2"]);
    b.deploy(
        &b.interop_charm("tls-requirer"),
        &["pyreq", "--config", "mode=unit"],
    );
    b.ok(&["consume", "xa.ca"]);
    b.ok(&["integrate", "demo:certificates", "ca:certificates"]);
    // An offer URL as an operand consumes it on the way (`juju integrate` does the same).
    b.ok(&["integrate", "pyreq:certificates", "admin/xa.ca"]);

    // Issued across models, chained to A's CA.
    let ca = ca_pem(&a);
    for u in ["demo/0", "demo/1"] {
        let pem = b.verify_demo(u, "unit");
        assert!(!pem.is_empty());
        let trusted = std::fs::read_to_string(b.tls_dir(u).join("ca.pem")).expect("ca.pem");
        assert!(trusted.contains(ca.lines().nth(1).expect("a PEM body")));
    }
    let first = b.verify_held("pyreq/0", 1);

    // Each side sees the other as Juju presents it: the SAAS alias and its units in B,
    // `remote-<token>` in A.
    let st_b = json(&b.ok(&["status", "--json"]));
    assert_eq!(st_b["saas"][0]["name"], "ca", "{st_b:#}");
    assert_eq!(st_b["saas"][0]["model_name"], "xa");
    assert_eq!(st_b["saas"][0]["status"], "active");
    let rels_a = relations(&a);
    assert_eq!(rels_a.len(), 2, "{rels_a:?}");
    for r in &rels_a {
        let remote = r.split(' ').nth(1).expect("two sides");
        assert!(
            remote.starts_with("remote-")
                && remote.len() == "remote-".len() + 32 + ":certificates".len(),
            "{r}"
        );
    }
    let demo0 = json(&b.ok(&["show-unit", "demo/0", "--json"]));
    let seen: Vec<String> = demo0["relations"]
        .as_array()
        .expect("relations")
        .iter()
        .filter(|r| r["endpoint"] == "certificates")
        .flat_map(|r| r["related_units"].as_array().cloned().unwrap_or_default())
        .filter_map(|u| u.as_str().map(str::to_owned))
        .collect();
    assert_eq!(seen, ["ca/0"], "{demo0:#}");
    let offers = json(&a.ok(&["offers", "--json"]));
    let conns: Vec<&Value> = offers
        .as_array()
        .expect("offers")
        .iter()
        .filter(|o| o["name"] == "ca")
        .flat_map(|o| o["connections"].as_array().expect("connections"))
        .collect();
    let mut apps: Vec<&str> = conns.iter().filter_map(|c| c["app"].as_str()).collect();
    apps.sort();
    assert_eq!(apps, ["demo", "pyreq"], "{offers:#}");
    assert!(conns.iter().all(|c| c["model"] == "xb"));

    // Renewal by the clock both models share: advancing B brings A along.
    let before = a.now();
    b.ok(&["advance", "82d"]);
    assert!(
        a.now() >= before + 82 * 86_400 - 5,
        "A's clock did not follow B's"
    );
    let renewed = b.verify_held("pyreq/0", 1);
    assert_ne!(certs(&first), certs(&renewed), "not renewed across models");
    b.verify_demo("demo/0", "unit");

    // certificate_transfer across models.
    b.deploy(&b.interop_charm("transfer-v1"), &["trust"]);
    b.ok(&["consume", "xa.ca-transfer"]);
    b.ok(&["integrate", "trust:receive-ca-cert", "ca-transfer"]);
    let got = b.completed("trust/0", "get-certificates", &[]);
    let list: Vec<String> =
        serde_json::from_str(got["results"]["certificates"].as_str().expect("list")).expect("JSON");
    assert!(
        list.iter().any(|c| c.trim() == ca),
        "the CA did not cross: {list:?}"
    );

    // Removing the relation on the consuming side ends it on the offering side.
    b.ok(&["remove-relation", "pyreq", "ca"]);
    assert_eq!(relations(&a).len(), 2, "{:?}", relations(&a));
    assert!(!relations(&b).iter().any(|r| r.contains("pyreq")));
    // ... and on the offering side (a forced withdrawal of the offer) ends it on the consumer.
    a.ok(&["remove-offer", "ca-transfer", "--force"]);
    b.settle();
    assert!(
        !relations(&b).iter().any(|r| r.contains("trust")),
        "{:?}",
        relations(&b)
    );
    b.ok(&["remove-saas", "ca-transfer"]);
    let st_b = json(&b.ok(&["status", "--json"]));
    assert_eq!(st_b["saas"].as_array().map(Vec::len), Some(1), "{st_b:#}");

    // The offering model destroyed under a live relation: B's side is broken, nothing hangs.
    drop(a);
    b.settle();
    assert!(relations(&b).is_empty(), "{:?}", relations(&b));
    let (workload, message) = b.unit_status("demo/0");
    assert_ne!(workload, "error", "{message}");
}

#[test]
fn bad_offers_and_urls_are_refused_by_name() {
    let a = TestModel::new("xc");
    let b = a.another("xd");
    a.deploy(&a.rust_charm("self-signed-certificates"), &["ca"]);
    let e = a.fails(&["offer", "ca:nope"], 2);
    assert!(e.contains("has no endpoint \"nope\""), "{e}");
    a.ok(&["offer", "ca:certificates"]);
    let e = a.fails(&["offer", "ca:certificates"], 2);
    assert!(e.contains("offer \"ca\" already exists"), "{e}");
    let e = b.fails(&["consume", "xc"], 2);
    assert!(e.contains("invalid offer URL \"xc\""), "{e}");
    let e = b.fails(&["consume", "xc.nope"], 2);
    assert!(e.contains("offer \"admin/xc.nope\" not found"), "{e}");
    let e = b.fails(&["consume", "nomodel.ca"], 2);
    assert!(e.contains("not found"), "{e}");
    let e = a.fails(&["consume", "xc.ca"], 2);
    assert!(e.contains("it is an offer of this model"), "{e}");
    let e = b.fails(&["remove-saas", "ca"], 2);
    assert!(e.contains("saas application \"ca\" not found"), "{e}");
    b.ok(&["consume", "xc.ca", "theca"]);
    b.deploy(&b.rust_charm("tls-demo"), &["demo"]);
    b.ok(&["integrate", "demo", "theca"]);
    let e = a.fails(&["remove-offer", "ca"], 2);
    assert!(e.contains("remove them first or use --force"), "{e}");
}
