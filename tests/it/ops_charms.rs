//! The probe charm under each ops calling convention: relations and databag visibility,
//! leadership and app-bag permissions, cross-application secrets with revision tracking,
//! config types, actions, timers from the virtual clock, leader change and relation removal.

use serde_json::Value;

use crate::support::{OPS_MID, OPS_NEW, OPS_OLD, TestModel, events, probe_charm};

#[test]
fn ops_3_9_charms_behave_as_under_juju() {
    full_flow(OPS_NEW);
}

#[test]
fn ops_3_6_charms_behave_as_under_juju() {
    full_flow(OPS_MID);
}

#[test]
fn ops_3_3_charms_behave_as_under_juju() {
    full_flow(OPS_OLD);
}

fn full_flow(ops: &str) {
    let charm = probe_charm(ops);
    let charm = charm.path().to_str().expect("utf-8 path");
    let m = TestModel::new("flow");
    m.ok(&["deploy", charm, "alpha", "-n", "2", "--serial"]);
    m.ok(&["deploy", charm, "beta", "--serial"]);
    m.ok(&["integrate", "alpha:data", "beta:source", "--serial"]);

    // Status: config types reach the charm as declared; addresses are per-unit loopback.
    let st = m.status();
    assert_eq!(st["pending_hooks"], 0);
    for unit in ["alpha/0", "alpha/1", "beta/0"] {
        let (workload, message) = m.unit_status(unit);
        assert_eq!(workload, "active", "{unit}");
        assert_eq!(message, "hello 3:int 0.5:float True:bool", "{unit}");
    }

    // The requirer: Juju's start-up order, then the relation hooks, with the app-level
    // relation-changed carrying an empty remote unit.
    let beta = m.dump("beta/0");
    assert_eq!(beta["ops-version"], ops);
    assert_eq!(beta["juju-version"], "3.6.8");
    // The model's third unit: 127.M.0.3 in the block the model leased.
    let beta_address = m.address("beta/0");
    let octets: Vec<u8> = beta_address
        .split('.')
        .map(|o| o.parse().expect("octet"))
        .collect();
    assert!(
        octets.len() == 4 && octets[0] == 127 && octets[1] >= 1 && octets[2..] == [0, 3],
        "{beta_address}"
    );
    assert_eq!(beta["address"], beta_address.as_str());
    // An extra binding answers `network-get` as Juju's do.
    assert_eq!(beta["metrics-address"], beta_address.as_str());
    let ev = events(&beta);
    assert_eq!(
        ev[..6],
        [
            "install",
            "cluster-relation-created remote=",
            "leader-elected",
            "config-changed",
            "start",
            "source-relation-created remote="
        ]
    );
    assert!(
        ev.contains(&"source-relation-joined remote=alpha/0".to_owned()),
        "{ev:?}"
    );
    assert!(
        ev.contains(&"source-relation-changed remote=".to_owned()),
        "app-level changed: {ev:?}"
    );
    let rel_key = beta["relations"]
        .as_object()
        .expect("relations")
        .keys()
        .find(|k| k.starts_with("source:"))
        .expect("source relation")
        .clone();
    let rel = &beta["relations"][&rel_key];
    assert_eq!(rel["units"], serde_json::json!(["alpha/0", "alpha/1"]));
    assert_eq!(rel["remote-app-data"]["reply"], "hello beta/0");
    assert_eq!(rel["unit-data"]["private-address"], beta_address.as_str());
    assert_eq!(beta["secret-content"], serde_json::json!({"token": "v1"}));

    // Leadership: alpha/0 leads; a follower cannot write the app bag.
    let alpha1 = m.dump("alpha/1");
    assert_eq!(alpha1["leader"], false);
    assert_eq!(m.dump("alpha/0")["leader"], true);
    let write = m.action("alpha/1", "app-write", &[]);
    assert_eq!(write["status"], "completed");
    let outcome = write["results"]["outcome"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        outcome == "RelationDataAccessError" || outcome == "ModelError",
        "follower app-bag write: {outcome}"
    );
    assert_eq!(
        m.action("alpha/0", "app-write", &[])["results"]["outcome"],
        "ok"
    );
    exercise_remaining_tools(&m);

    // A new revision of the shared secret reaches the consumer as secret-changed; once the
    // consumer refreshed, the owner is told to remove the old revision.
    assert_eq!(
        m.action("alpha/0", "rotate-shared", &["value=v2"])["status"],
        "completed"
    );
    let beta = m.dump("beta/0");
    assert_eq!(
        beta["secret-changed"],
        serde_json::json!([{"revision": "2", "label": "consumer-shared", "content": {"token": "v2"}}])
    );
    assert_eq!(m.dump("alpha/0")["removed"], serde_json::json!([1]));

    // Config: typed values, a config-changed on every unit; bad values are refused.
    m.ok(&[
        "config",
        "alpha",
        "count=7",
        "ratio=1.5",
        "enabled=false",
        "--serial",
    ]);
    assert_eq!(
        m.unit_status("alpha/1").1,
        "hello 7:int 1.5:float False:bool"
    );
    let err = m.fails(&["config", "alpha", "count=many"], 2);
    assert!(err.contains("option \"count\" expected int"), "{err}");

    // Actions: defaults filled in, results returned; a failed action exits non-zero.
    let greet = m.action("beta/0", "greet", &["times=3"]);
    assert_eq!(greet["results"]["name"], "world");
    assert_eq!(greet["results"]["times"], "3");
    let failed = m.run(&["run", "beta/0", "fail-action", "--json"]);
    assert_eq!(failed.status.code(), Some(1));
    let failed: Value = serde_json::from_slice(&failed.stdout).expect("action JSON");
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["message"], "intentional failure");
    assert_eq!(failed["results"]["partial"], "yes");
    assert_eq!(failed["log"], serde_json::json!(["about to fail"]));

    // Time: an expiring secret fires secret-expired on the owner once the clock passes it;
    // update-status fires at most once per unit per advance.
    let added = m.action("alpha/0", "add-expiring", &[]);
    assert_eq!(added["status"], "completed", "{added:#}");
    m.ok(&["advance", "2d", "--serial"]);
    let alpha0 = m.dump("alpha/0");
    assert_eq!(
        alpha0["expired"],
        serde_json::json!([{"label": "expiring", "revision": 1}])
    );
    assert_eq!(alpha0["update-status"], 1);
    // A new expiry then new content in one hook: Juju coalesces them into one update, so the
    // expiry belongs to the new revision (the published self-signed-certificates charm renews
    // its CA so, and would renew it again at every hook otherwise).
    for done in ["created", "renewed"] {
        let run = m.action("alpha/0", "renew-expiring", &[]);
        assert_eq!(run["results"]["done"], done, "{run:#}");
    }
    let secrets: Value = serde_json::from_str(&m.ok(&["secrets", "--json"])).expect("JSON");
    let renewed = secrets
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["label"] == "renewed")
        .expect("the renewed secret");
    assert_eq!(renewed["revision"], 2, "{renewed:#}");
    assert!(
        renewed["expiry"].is_string(),
        "the new revision lost the expiry: {renewed:#}"
    );
    m.ok(&["advance", "1m", "--serial"]);
    assert_eq!(
        m.dump("beta/0")["update-status"],
        1,
        "not due yet after one more minute"
    );
    m.ok(&["advance", "10m", "--serial"]);
    assert_eq!(m.dump("beta/0")["update-status"], 2);

    // Leader change: the leader leaves, the other unit is elected; the requirer sees it depart.
    m.ok(&["remove-unit", "alpha/0", "--serial"]);
    let alpha1 = m.dump("alpha/1");
    assert_eq!(alpha1["leader"], true);
    assert_eq!(alpha1["leader-elected"], 1);
    let ev = events(&m.dump("beta/0"));
    assert!(
        ev.contains(&"source-relation-departed remote=alpha/0".to_owned()),
        "{ev:?}"
    );

    // Remove the relation: departed then broken; relation-ids no longer lists it.
    m.ok(&["remove-relation", "alpha", "beta", "--serial"]);
    let beta = m.dump("beta/0");
    let ev = events(&beta);
    assert_eq!(
        ev.last().map(String::as_str),
        Some("source-relation-broken remote="),
        "{ev:?}"
    );
    assert!(
        beta["relations"]
            .as_object()
            .expect("relations")
            .keys()
            .all(|k| !k.starts_with("source:"))
    );
}

/// The tools no other handler uses, through the ops API (and, for the legacy ones, directly).
fn exercise_remaining_tools(m: &TestModel) {
    let first = m.action("alpha/0", "tools", &[]);
    assert_eq!(first["status"], "completed", "{first:#}");
    let r = &first["results"];
    assert_eq!(r["opened-before"], "", "nothing opened yet");
    assert!(
        r["status-read"]
            .as_str()
            .unwrap_or_default()
            .starts_with("active:hello"),
        "{r:#}"
    );
    assert_eq!(r["planned-units"], "2");
    assert_eq!(r["unit-get"], m.address("alpha/0").as_str());
    assert_eq!(r["state-before"], "");
    assert_eq!(r["secret-info"], "shared:1");
    assert_eq!(r["app-status-set"], "");
    assert!(
        r["app-status-read"]
            .as_str()
            .unwrap_or_default()
            .contains("\"application-status\""),
        "{r:#}"
    );
    assert_eq!(r["leader-set"], "");
    assert!(
        r["secret-ids"].as_str().unwrap_or_default().lines().count() >= 1,
        "{r:#}"
    );
    // Committed at exit 0: the port, the workload version, controller state, app status.
    let second = m.action("alpha/0", "tools", &[]);
    assert_eq!(second["results"]["opened-before"], "8080/tcp");
    assert_eq!(second["results"]["state-before"], "probe-value");
    assert_eq!(second["results"]["leader-get"], "{\"probe\":\"1\"}");
    let st = m.status();
    let alpha = st["applications"]
        .as_array()
        .expect("apps")
        .iter()
        .find(|a| a["name"] == "alpha")
        .expect("alpha")
        .clone();
    assert_eq!(alpha["status"], "active");
    assert_eq!(alpha["message"], "app ok");
    assert_eq!(alpha["units"][0]["ports"], serde_json::json!(["8080/tcp"]));
    assert_eq!(alpha["units"][0]["version"], "1.2.3");
    // Revoke then grant in one hook leaves the consumer its access: the secret-changed check
    // after rotate-shared below reads the new revision with it.
}
