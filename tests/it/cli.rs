//! What people type: clear messages for bad input, and the model left as it was.

use crate::support::charms::write_dispatch;
use crate::support::{TestModel, shell_charm};

#[test]
fn bad_input_is_refused_and_leaves_the_model_intact() {
    let m = TestModel::new("cli");
    let web = shell_charm("web", "requires:\n  db:\n    interface: pg\n");
    let db = shell_charm("db", "provides:\n  db:\n    interface: pg\n");
    let cache = shell_charm("cache", "provides:\n  cache:\n    interface: redis\n");
    m.ok(&["deploy", web.path().to_str().expect("path"), "-n", "2"]);
    m.ok(&["deploy", db.path().to_str().expect("path")]);
    m.ok(&["deploy", cache.path().to_str().expect("path")]);
    let before = m.status();
    assert_eq!(
        m.unit_status("web/1"),
        ("active".to_owned(), "level 1".to_owned())
    );

    let err = m.fails(&["integrate", "nope", "db"], 2);
    assert!(err.contains("application \"nope\" not found"), "{err}");
    let err = m.fails(&["integrate", "web:nope", "db"], 2);
    assert!(
        err.contains("application \"web\" has no endpoint \"nope\" (endpoints: db)"),
        "{err}"
    );
    let err = m.fails(&["integrate", "web", "cache"], 2);
    assert!(
        err.contains("cannot relate web and cache: no matching endpoints"),
        "{err}"
    );
    let err = m.fails(&["config", "web", "colour=red"], 2);
    assert!(err.contains("unknown option \"colour\""), "{err}");
    let err = m.fails(&["remove-unit", "web/7"], 2);
    assert!(err.contains("unit \"web/7\" not found"), "{err}");
    let err = m.fails(&["run", "web/0", "explode"], 2);
    assert!(err.contains("action \"explode\" not defined"), "{err}");
    let empty = tempfile::tempdir().expect("temp dir");
    let err = m.fails(
        &["deploy", empty.path().to_str().expect("path"), "ghost"],
        2,
    );
    assert!(
        err.contains("not a charm (no metadata.yaml or charmcraft.yaml)"),
        "{err}"
    );
    let err = m.fails(&["deploy", web.path().to_str().expect("path")], 2);
    assert!(err.contains("application \"web\" already exists"), "{err}");
    let err = m.fails(&["advance", "soon"], 2);
    assert!(err.contains("invalid duration"), "{err}");
    let err = m.fails(&["status", "-m", "elsewhere"], 2);
    assert!(err.contains("model \"elsewhere\" not found"), "{err}");

    let mut after = m.status();
    let mut before = before;
    before["time"] = serde_json::Value::Null;
    after["time"] = serde_json::Value::Null;
    assert_eq!(before, after, "bad input changed nothing");

    // And good input still works: the two matching endpoints relate.
    m.ok(&["integrate", "web", "db"]);
    assert_eq!(
        m.status()["relations"].as_array().expect("relations").len(),
        1
    );
}

#[test]
fn charmcraft_yaml_sources_are_rendered_for_ops() {
    let m = TestModel::new("render");
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("charmcraft.yaml"),
        "name: rendered\ntype: charm\nbases: [{name: ubuntu, channel: '22.04'}]\nprovides:\n  api: {interface: http}\nconfig:\n  options:\n    port: {type: int, default: 8080}\nactions:\n  ping: {description: pong}\n",
    )
    .expect("charmcraft.yaml");
    write_dispatch(
        dir.path(),
        "#!/bin/sh\n[ -f metadata.yaml ] && [ -f config.yaml ] && [ -f actions.yaml ] || exit 3\n[ \"$JUJU_HOOK_NAME\" = start ] && status-set active \"port $(config-get port)\"\nexit 0\n",
    );
    m.ok(&["deploy", dir.path().to_str().expect("path")]);
    assert_eq!(
        m.unit_status("rendered/0"),
        ("active".to_owned(), "port 8080".to_owned())
    );
}

/// A shell charm that records its environment and answers of hook tools to files in the charm
/// directory.
fn recording_charm() -> tempfile::TempDir {
    let dir = shell_charm(
        "rec",
        "provides:\n  api:\n    interface: http\nrequires:\n  up:\n    interface: http\n",
    );
    write_dispatch(
        dir.path(),
        r#"#!/bin/sh
env > "env-$JUJU_HOOK_NAME"
case "$JUJU_HOOK_NAME" in
  up-relation-created)
    # Delete Juju's seeded address key; the model must not put it back.
    relation-set -r "$JUJU_RELATION_ID" private-address= ;;
  up-relation-changed)
    relation-get --format=json -r "$JUJU_RELATION_ID" - "$JUJU_UNIT_NAME" > own-bag
    relation-list -r "$JUJU_RELATION_ID" --format=json > remote-units ;;
  api-relation-changed)
    [ -n "$JUJU_REMOTE_UNIT" ] && relation-set -r "$JUJU_RELATION_ID" "seen=$JUJU_REMOTE_UNIT" ;;
esac
[ "$JUJU_HOOK_NAME" = start ] && status-set active "level $(config-get level)"
exit 0
"#,
    );
    dir
}

#[test]
fn hooks_get_a_juju_environment_and_seeded_keys_stay_deleted() {
    let m = TestModel::new("env");
    let charm = recording_charm();
    let path = charm.path().to_str().expect("path");
    m.ok(&["deploy", path, "server"]);
    m.ok(&["deploy", path, "client"]);
    m.ok(&["integrate", "client:up", "server:api"]);
    let unit_dir = |unit: &str| {
        m.data_dir()
            .join("models/env/units")
            .join(unit.replace('/', "-"))
            .join("charm")
    };
    let env = std::fs::read_to_string(unit_dir("client/0").join("env-up-relation-changed"))
        .expect("env file");
    let vars: std::collections::BTreeMap<&str, &str> =
        env.lines().filter_map(|l| l.split_once('=')).collect();
    for (k, v) in [
        ("JUJU_VERSION", "3.6.8"),
        ("JUJU_UNIT_NAME", "client/0"),
        ("JUJU_MODEL_NAME", "env"),
        ("JUJU_HOOK_NAME", "up-relation-changed"),
        ("JUJU_DISPATCH_PATH", "hooks/up-relation-changed"),
        ("JUJU_RELATION", "up"),
        ("JUJU_REMOTE_APP", "server"),
        ("JUJU_AGENT_SOCKET_NETWORK", "unix"),
        ("LANG", "C.UTF-8"),
        ("JUJU_AVAILABILITY_ZONE", ""),
        ("JUJU_PRINCIPAL_UNIT", ""),
        ("CLOUD_API_VERSION", ""),
        ("FAKETIME_NO_CACHE", "1"),
    ] {
        assert_eq!(vars.get(k).copied(), Some(v), "{k} in\n{env}");
    }
    assert!(vars["JUJU_RELATION_ID"].starts_with("up:"), "{env}");
    assert!(
        vars["PATH"]
            .ends_with("/tools:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        "{env}"
    );
    assert!(
        vars["JUJU_CHARM_DIR"].ends_with("/units/client-0/charm"),
        "{env}"
    );
    // Ours: the unit's private CA trust directory (tls_client installs there, never the host's).
    assert!(
        vars["JUJU_TLS_TRUST_STORE_DIR"].ends_with("/units/client-0/trust-store"),
        "{env}"
    );
    for leak in [
        "OPERATOR_DISPATCH",
        "JUJU_DEBUG",
        "JUJU_DEBUG_AT",
        "HOME",
        "JUJU_TLS_DATA_DIR",
    ] {
        assert!(
            !vars.contains_key(leak),
            "{leak} leaked into the hook environment"
        );
    }
    // The own bag lost private-address for good; the other seeded keys stay.
    let own: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(unit_dir("client/0").join("own-bag")).expect("own bag"),
    )
    .expect("JSON");
    let addr = m.address("client/0");
    assert!(addr.starts_with("127.") && addr.ends_with(".0.2"), "{addr}");
    assert_eq!(
        own,
        serde_json::json!({"egress-subnets": format!("{addr}/32"), "ingress-address": addr})
    );
    let remote: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(unit_dir("client/0").join("remote-units")).expect("units"),
    )
    .expect("JSON");
    assert_eq!(remote, serde_json::json!(["server/0"]));
    // The server saw the client's unit-bag change.
    let server = m.ok(&["show-unit", "server/0", "--json"]);
    assert!(server.contains("\"seen\": \"client/0\""), "{server}");
}

#[test]
fn no_wait_records_and_wait_drains() {
    let m = TestModel::new("later");
    let charm = shell_charm("lazy", "");
    m.ok(&[
        "deploy",
        charm.path().to_str().expect("path"),
        "-n",
        "2",
        "--no-wait",
    ]);
    assert_eq!(
        m.status()["pending_hooks"],
        8,
        "install, leader hook, config-changed, start per unit"
    );
    m.settle();
    assert_eq!(m.status()["pending_hooks"], 0);
    assert_eq!(m.unit_status("lazy/1").0, "active");
}

#[test]
fn packed_charm_files_deploy() {
    let m = TestModel::new("packed");
    let charm = shell_charm("zipped", "");
    let packed = tempfile::tempdir().expect("temp dir");
    let file = packed.path().join("zipped.charm");
    let out = std::process::Command::new("python3")
        .args(["-c", "import os,sys,zipfile\nz=zipfile.ZipFile(sys.argv[2],'w')\nfor n in os.listdir(sys.argv[1]): z.write(os.path.join(sys.argv[1],n),n)\nz.close()"])
        .arg(charm.path())
        .arg(&file)
        .output()
        .expect("python3 zipfile");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    m.ok(&["deploy", file.to_str().expect("path")]);
    assert_eq!(
        m.unit_status("zipped/0"),
        ("active".to_owned(), "level 1".to_owned())
    );
}

#[test]
fn rust_charm_sources_are_built_and_deployed() {
    let m = TestModel::new("rusty");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charms/rust-mini");
    let copy = tempfile::tempdir().expect("temp dir");
    for f in ["Cargo.toml", "charmcraft.yaml", "dispatch"] {
        std::fs::copy(src.join(f), copy.path().join(f)).expect("copy");
    }
    std::fs::create_dir(copy.path().join("src")).expect("src");
    std::fs::copy(src.join("src/main.rs"), copy.path().join("src/main.rs")).expect("copy");
    m.ok(&[
        "deploy",
        copy.path().to_str().expect("path"),
        "--config",
        "word=built",
    ]);
    assert_eq!(
        m.unit_status("rust-mini/0"),
        ("active".to_owned(), "rust says built".to_owned())
    );
    assert!(
        !copy.path().join("bin").exists(),
        "the source tree is left as it was (bin/ is staged in the model)"
    );
}

#[test]
fn secret_set_of_an_unknown_secret_fails_the_hook_at_commit() {
    let m = TestModel::new("flush");
    let charm = shell_charm("flushy", "");
    write_dispatch(
        charm.path(),
        "#!/bin/sh\nif [ \"$JUJU_HOOK_NAME\" = install ]; then\n  secret-set secret:d0000000000000000000 token=x || exit 9\n  relation-ids cluster >/dev/null 2>&1\nfi\nexit 0\n",
    );
    // Juju accepts the call and fails the hook when it flushes the context (§6.5, §8.5).
    let err = m.fails(&["deploy", charm.path().to_str().expect("path")], 1);
    assert!(err.contains("flushy/0: hook failed: \"install\""), "{err}");
    assert!(
        err.contains("hook commit failed: secret \"d0000000000000000000\" not found"),
        "{err}"
    );
}
