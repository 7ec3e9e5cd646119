//! What people type: clear messages for bad input, and the model left as it was.

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
    let dispatch = dir.path().join("dispatch");
    std::fs::write(&dispatch, "#!/bin/sh\n[ -f metadata.yaml ] && [ -f config.yaml ] && [ -f actions.yaml ] || exit 3\n[ \"$JUJU_HOOK_NAME\" = start ] && status-set active \"port $(config-get port)\"\nexit 0\n").expect("dispatch");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dispatch, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    m.ok(&["deploy", dir.path().to_str().expect("path")]);
    assert_eq!(
        m.unit_status("rendered/0"),
        ("active".to_owned(), "port 8080".to_owned())
    );
}
