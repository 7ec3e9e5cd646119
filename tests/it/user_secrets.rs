//! User secrets (`add-secret`, `grant-secret`, `update-secret`, `revoke-secret`,
//! `remove-secret`, `show-secret`) seen by the `secret-reader` ops charm, which reads the secret
//! whose URI is in its `secret-id` option as a charm using a Juju user secret does.

use std::path::Path;

use serde_json::Value;

use crate::support::charms::ops_install;
use crate::support::{OPS_NEW, TestModel, python_charm};

/// What the unit recorded on config-changed and secret-changed.
fn reads(m: &TestModel, unit: &str) -> Vec<Value> {
    let run = m.completed(unit, "dump", &[]);
    serde_json::from_str(run["results"]["reads"].as_str().expect("reads")).expect("reads JSON")
}

/// A `secret-get` now (`mode`: "", "refresh" or "peek"): the content, or the error text.
fn read(m: &TestModel, unit: &str, mode: &str) -> Result<Value, String> {
    let run = m.completed(unit, "read", &[&format!("mode={mode}")]);
    let r = &run["results"];
    match r["content"].as_str() {
        Some(c) => Ok(serde_json::from_str(c).expect("content JSON")),
        None => Err(r["error"].as_str().unwrap_or_default().to_owned()),
    }
}

/// Whether `needle` is in the bytes of the model's store files.
fn in_store(model_dir: &Path, needle: &str) -> bool {
    ["model.db", "model.db-wal"].iter().any(|f| {
        std::fs::read(model_dir.join(f))
            .map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            .unwrap_or(false)
    })
}

#[test]
fn granted_apps_read_track_and_lose_a_user_secret() {
    let m = TestModel::new("usersecrets");
    let charm = python_charm("secret-reader", &ops_install(OPS_NEW));
    m.deploy(charm.path(), &["reader", "-n", "2"]);
    m.deploy(charm.path(), &["other"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let token_file = dir.path().join("token");
    let first_token = "token-one-5f1c0a7e9b2d4c68";
    std::fs::write(&token_file, first_token).expect("token file");

    // add -> grant -> config -> read.
    let uri = m
        .ok(&[
            "add-secret",
            "acme-eab",
            "kid=key-one",
            // "hmac-one", already base64.
            "hmac#base64=aG1hYy1vbmU=",
            &format!("private-token#file={}", token_file.display()),
            "--info",
            "EAB credentials",
        ])
        .trim()
        .to_owned();
    assert!(uri.starts_with("secret:") && uri.len() == 27, "{uri:?}");
    let xid = uri.trim_start_matches("secret:").to_owned();
    m.ok(&["grant-secret", "acme-eab", "reader"]);
    let option = format!("secret-id={uri}");
    m.ok(&["config", "reader", &option]);
    m.ok(&["config", "other", &option]);
    let first = serde_json::json!({
        "kid": "key-one", "hmac": "hmac-one", "private-token": "<26 chars>"
    });
    for unit in ["reader/0", "reader/1"] {
        let r = reads(&m, unit);
        assert_eq!(r.last().expect("a read")["content"], first, "{unit}: {r:?}");
        assert_eq!(m.unit_status(unit).1, "read secret");
    }
    // Not granted: Juju's permission error.
    let r = reads(&m, "other/0");
    let err = r.last().expect("a read")["error"]
        .as_str()
        .unwrap_or_default();
    assert!(err.contains("permission denied"), "{r:?}");
    // A consumer may not read the metadata of, change or remove a user secret.
    let info = m.completed("reader/0", "info", &[]);
    assert!(
        info["results"]["info"]
            .as_str()
            .is_some_and(|e| e.contains(&format!("secret \"{xid}\" not found"))),
        "{info:#}"
    );
    for tool in ["set", "remove"] {
        assert!(
            info["results"][tool]
                .as_str()
                .is_some_and(|e| e.contains("permission denied")),
            "{tool}: {info:#}"
        );
    }

    // update -> secret-changed -> the new content with --refresh; the old revision stays
    // readable by a consumer still tracking it (no --auto-prune).
    let second_token = "token-two-93be02c4d7a1f586";
    let second = format!("private-token={second_token}");
    m.ok(&[
        "update-secret",
        &uri,
        "kid=key-two",
        "hmac=hmac-two",
        &second,
    ]);
    for unit in ["reader/0", "reader/1"] {
        let r = reads(&m, unit);
        let last = r.last().expect("a read");
        assert_eq!(last["event"], "secret-changed", "{unit}: {r:?}");
        assert_eq!(
            last["content"],
            serde_json::json!({"kid": "key-two", "hmac": "hmac-two", "private-token": "<26 chars>"}),
            "{unit}"
        );
        assert_eq!(read(&m, unit, "").expect("read")["kid"], "key-two");
    }
    // The same content again makes no revision and no hook.
    m.ok(&[
        "update-secret",
        "acme-eab",
        "kid=key-two",
        "hmac=hmac-two",
        &second,
    ]);
    assert_eq!(reads(&m, "reader/0").len(), 2);

    // show-secret: Juju's shape, content only with --reveal.
    let shown = m.ok(&["show-secret", "acme-eab"]);
    assert!(
        shown.starts_with(&format!("{xid}:\n"))
            && shown.contains("  revision: 2\n")
            && shown.contains("  owner: <model>\n")
            && shown.contains("  name: acme-eab\n")
            && shown.contains("  description: EAB credentials\n")
            && shown.contains("- target: application-reader\n")
            && !shown.contains(second_token),
        "{shown}"
    );
    let revealed: Value =
        serde_json::from_str(&m.ok(&["show-secret", &uri, "--reveal", "--format", "json"]))
            .expect("show-secret JSON");
    assert_eq!(
        revealed[&xid]["content"],
        serde_json::json!({"kid": "key-two", "hmac": "hmac-two", "private-token": second_token})
    );
    let list: Value = serde_json::from_str(&m.ok(&["secrets", "--json"])).expect("JSON");
    assert!(
        list.as_array()
            .expect("list")
            .iter()
            .any(|s| s["uri"] == uri.as_str() && s["owner"] == "<model>"),
        "{list:#}"
    );

    // revoke -> permission denied.
    m.ok(&["revoke-secret", "acme-eab", "reader"]);
    let err = read(&m, "reader/0", "refresh").expect_err("revoked");
    assert!(err.contains("permission denied"), "{err}");

    // remove -> not found, and no content left in the store.
    m.ok(&["grant-secret", &uri, "reader,other"]);
    assert_eq!(read(&m, "other/0", "").expect("granted")["kid"], "key-two");
    let model_dir = m.data_dir().join("models/usersecrets");
    // The charm reports private values by length only: the store holds them only as content.
    for live in [first_token, second_token] {
        assert!(in_store(&model_dir, live), "the probe finds live content");
    }
    m.ok(&["remove-secret", "acme-eab"]);
    for unit in ["reader/0", "other/0"] {
        let err = read(&m, unit, "").expect_err("removed");
        assert!(
            err.contains(&format!("secret \"{xid}\" not found")),
            "{err}"
        );
    }
    for gone in [first_token, second_token] {
        assert!(!in_store(&model_dir, gone), "{gone} is still in the store");
    }
}

#[test]
fn user_secret_verbs_refuse_as_juju_does() {
    let m = TestModel::new("usersecret-errors");
    let uri = m.ok(&["add-secret", "db-pass", "password=s3cret"]);
    let uri = uri.trim();
    let err = m.fails(&["add-secret", "db-pass", "password=other"], 2);
    assert!(
        err.contains("secret with name \"db-pass\" already exists"),
        "{err}"
    );
    let err = m.fails(&["add-secret", "empty"], 2);
    assert!(err.contains("empty secret value not valid"), "{err}");
    let err = m.fails(&["add-secret", "bad-key", "x=1"], 1);
    assert!(err.contains("invalid secret key \"x\""), "{err}");
    let err = m.fails(&["grant-secret", "db-pass", "ghost"], 2);
    assert!(
        err.contains(&format!(
            "failed to grant/revoke secret: cannot change access to \"{uri}\" for \"ghost\": application \"ghost\" not found"
        )),
        "{err}"
    );
    let err = m.fails(&["show-secret", "nope"], 2);
    assert!(err.contains("secret \"nope\" not found"), "{err}");
    let err = m.fails(&["update-secret", "db-pass"], 2);
    assert!(
        err.contains("at least one attribute to update must be specified"),
        "{err}"
    );
    // A new name, then a name taken by another secret.
    m.ok(&["add-secret", "other", "password=x"]);
    m.ok(&["update-secret", "db-pass", "--name", "db-password"]);
    let err = m.fails(&["update-secret", "db-password", "--name", "other"], 2);
    assert!(
        err.contains("secret with name \"other\" already exists"),
        "{err}"
    );
    let shown = m.ok(&["show-secret", "db-password", "--revisions"]);
    assert!(
        shown.contains("  name: db-password\n") && shown.contains("  - revision: 1\n"),
        "{shown}"
    );
    assert!(!shown.contains("s3cret"), "{shown}");
}
