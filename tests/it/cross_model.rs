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

/// Writes a shell charm (`metadata.yaml`, optional `actions.yaml`, `dispatch`) under `dir`.
fn shell_charm(
    dir: &std::path::Path,
    name: &str,
    meta: &str,
    actions: &str,
    script: &str,
) -> std::path::PathBuf {
    let charm = dir.join(name);
    std::fs::create_dir_all(&charm).expect("charm dir");
    std::fs::write(
        charm.join("metadata.yaml"),
        format!("name: {name}\nsummary: s\ndescription: d\n{meta}"),
    )
    .expect("metadata");
    if !actions.is_empty() {
        std::fs::write(charm.join("actions.yaml"), actions).expect("actions");
    }
    crate::support::charms::write_dispatch(&charm, script);
    charm
}

/// A secret granted on a cross-model relation: the reader in the other model reads it by its
/// URI (which names the owner's model), under a label afterwards, and hears of a new revision
/// through secret-changed; the owner's store tracks the reader under its stand-in unit.
#[test]
fn a_secret_granted_across_models_is_read_and_its_changes_arrive() {
    let a = TestModel::new("sa");
    let b = a.another("sb");
    let dir = crate::support::private_dir();
    let owner = shell_charm(
        dir.path(),
        "xs-owner",
        "provides:\n  sec:\n    interface: xsec\n",
        "rotate:\n  description: new content\n",
        r#"#!/bin/sh
set -e
case "$JUJU_DISPATCH_PATH" in
  hooks/sec-relation-created)
    if [ "$(is-leader --format json)" = true ]; then
      uri=$(secret-add --label shared foo=bar)
      echo "$uri" > "$JUJU_CHARM_DIR/uri"
      secret-grant "$uri" -r "$JUJU_RELATION_ID"
      private=$(secret-add --label private hidden=yes)
      relation-set -r "$JUJU_RELATION_ID" --app uri="$uri" private="$private"
    fi ;;
  actions/rotate)
    secret-set "$(cat "$JUJU_CHARM_DIR/uri")" foo=baz ;;
esac
"#,
    );
    let reader = shell_charm(
        dir.path(),
        "xs-reader",
        "requires:\n  sec:\n    interface: xsec\n",
        "",
        r#"#!/bin/sh
set -e
case "$JUJU_DISPATCH_PATH" in
  hooks/sec-relation-changed)
    uri=$(relation-get --app uri "$JUJU_REMOTE_APP")
    [ -n "$uri" ] || exit 0
    echo "read $(secret-get "$uri" foo --label mine)" >> "$JUJU_CHARM_DIR/reads"
    private=$(relation-get --app private "$JUJU_REMOTE_APP")
    echo "private $(secret-get "$private" 2>&1)" >> "$JUJU_CHARM_DIR/reads" ;;
  hooks/secret-changed)
    echo "changed $JUJU_SECRET_LABEL $(secret-get --label mine --refresh 2>&1)" >> "$JUJU_CHARM_DIR/reads" ;;
esac
"#,
    );
    a.deploy(&owner, &["owner"]);
    a.ok(&["offer", "owner:sec"]);
    b.deploy(&reader, &["reader", "-n", "2"]);
    b.ok(&["integrate", "reader", "sa.owner"]);
    let reads = |u: &str| std::fs::read_to_string(b.charm_dir(u).join("reads")).unwrap_or_default();
    for u in ["reader/0", "reader/1"] {
        assert!(
            reads(u).lines().any(|l| l == "read bar"),
            "{u}: {:?}",
            reads(u)
        );
        // A secret of that model not granted to the reader stays unreadable.
        assert!(
            reads(u)
                .lines()
                .any(|l| l == "private ERROR permission denied"),
            "{u}: {:?}",
            reads(u)
        );
    }
    let uri = std::fs::read_to_string(a.charm_dir("owner/0").join("uri")).expect("uri");
    assert!(uri.starts_with("secret://"), "{uri}");

    // A new revision reaches both readers, by label.
    a.completed("owner/0", "rotate", &[]);
    b.settle();
    for u in ["reader/0", "reader/1"] {
        assert!(
            reads(u).lines().any(|l| l == "changed mine foo: baz"),
            "{u}: {:?}",
            reads(u)
        );
    }
    // Once, not at every sync.
    b.settle();
    a.settle();
    for u in ["reader/0", "reader/1"] {
        assert_eq!(
            reads(u).matches("changed").count(),
            1,
            "{u}: {:?}",
            reads(u)
        );
    }
    // The owner tracks its readers under their stand-ins: both on the new revision.
    let rows = crate::support::sqlite_rows(
        &a.data_dir().join("models/sa/model.db"),
        "SELECT unit, tracked FROM secret_consumers ORDER BY unit",
    );
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert!(row[0].starts_with("remote-"), "{rows:?}");
        assert_eq!(row[1], "2", "{rows:?}");
    }
}
