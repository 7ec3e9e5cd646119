//! Juju's hook order, checked through the library with `serial` settling (one deterministic
//! interleaving). The charms are shell scripts that append `unit hook remote` to a journal and
//! call no hook tool, so these tests need no `juju-tls` binary.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::{Model, Registry, SettleOptions};

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    journal: PathBuf,
    model: Arc<Model>,
}

impl Drop for Fixture {
    /// Destroyed rather than left with its temp dir: ends its workloads and gives its address
    /// block back at once (a deleted model's lease would only be reclaimed later).
    fn drop(&mut self) {
        let _ = Registry::at(self.root.join("data")).destroy("order");
    }
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_owned();
        let journal = root.join("journal");
        let model = Arc::new(Registry::at(root.join("data")).add("order").expect("model"));
        Self {
            _dir: dir,
            root,
            journal,
            model,
        }
    }

    fn charm(&self, name: &str, relations: &str) -> PathBuf {
        let dir = self.root.join("charms").join(name);
        std::fs::create_dir_all(&dir).expect("charm dir");
        std::fs::write(
            dir.join("metadata.yaml"),
            format!("name: {name}\n{relations}"),
        )
        .expect("metadata");
        let dispatch = dir.join("dispatch");
        std::fs::write(
            &dispatch,
            format!("#!/bin/sh\necho \"$JUJU_UNIT_NAME ${{JUJU_HOOK_NAME:-$JUJU_DISPATCH_PATH}} $JUJU_REMOTE_UNIT\" >> {}\n", self.journal.display()),
        )
        .expect("dispatch");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dispatch, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        dir
    }

    fn settle(&self) {
        let report = self
            .model
            .settle(&SettleOptions {
                serial: true,
                ..SettleOptions::default()
            })
            .expect("settle");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }

    /// Journal lines since the last call.
    fn take(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.journal).unwrap_or_default();
        let _ = std::fs::remove_file(&self.journal);
        text.lines().map(|l| l.trim_end().to_owned()).collect()
    }
}

fn lines(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn deploy_integrate_and_remove_unit_run_in_juju_order() {
    let f = Fixture::new();
    let web = f.charm(
        "web",
        "requires:\n  db:\n    interface: pg\npeers:\n  cluster:\n    interface: web-peer\n",
    );
    let db = f.charm("db", "provides:\n  db:\n    interface: pg\n");
    f.model
        .deploy(Path::new(&web), None, 2, &[])
        .expect("deploy web");
    f.settle();
    // Start-up block per unit (install, existing relations' created, leader hook, config-changed,
    // start); peers join once both are started.
    assert_eq!(
        f.take(),
        lines(&[
            "web/0 install",
            "web/0 cluster-relation-created",
            "web/0 leader-elected",
            "web/0 config-changed",
            "web/0 start",
            "web/1 install",
            "web/1 cluster-relation-created",
            "web/1 leader-settings-changed",
            "web/1 config-changed",
            "web/1 start",
            "web/0 cluster-relation-joined web/1",
            "web/0 cluster-relation-changed web/1",
            "web/1 cluster-relation-joined web/0",
            "web/1 cluster-relation-changed web/0",
        ])
    );

    f.model
        .deploy(Path::new(&db), None, 1, &[])
        .expect("deploy db");
    f.model.integrate("web", "db").expect("integrate");
    f.settle();
    // relation-created everywhere first, then each joined immediately followed by its changed.
    assert_eq!(
        f.take(),
        lines(&[
            "db/0 install",
            "db/0 leader-elected",
            "db/0 config-changed",
            "db/0 start",
            "web/0 db-relation-created",
            "web/1 db-relation-created",
            "db/0 db-relation-created",
            "db/0 db-relation-joined web/0",
            "db/0 db-relation-changed web/0",
            "web/0 db-relation-joined db/0",
            "web/0 db-relation-changed db/0",
            "db/0 db-relation-joined web/1",
            "db/0 db-relation-changed web/1",
            "web/1 db-relation-joined db/0",
            "web/1 db-relation-changed db/0",
        ])
    );

    // Teardown: departed on both sides, broken on the leaving unit (not for peers), then stop
    // and remove.
    f.model.remove_unit("web/1").expect("remove-unit");
    f.settle();
    assert_eq!(
        f.take(),
        lines(&[
            "web/0 cluster-relation-departed web/1",
            "web/1 cluster-relation-departed web/0",
            "db/0 db-relation-departed web/1",
            "web/1 db-relation-departed db/0",
            "web/1 db-relation-broken",
            "web/1 stop",
            "web/1 remove",
        ])
    );
    let status = f.model.status().expect("status");
    let web = status
        .applications
        .iter()
        .find(|a| a.name == "web")
        .expect("web");
    assert_eq!(
        web.units
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>(),
        ["web/0"]
    );

    // The leader leaves: the remaining unit is elected.
    f.model.add_units("web", 1).expect("add-unit");
    f.settle();
    f.take();
    f.model.remove_unit("web/0").expect("remove leader");
    f.settle();
    let after = f.take();
    assert!(
        after.contains(&"web/2 leader-elected".to_owned()),
        "{after:?}"
    );
    assert_eq!(after.last().map(String::as_str), Some("web/0 remove"));
}

#[test]
fn remove_relation_departs_then_breaks_and_refresh_upgrades() {
    let f = Fixture::new();
    let a = f.charm("a", "provides:\n  x:\n    interface: ix\n");
    let b = f.charm("b", "requires:\n  x:\n    interface: ix\n");
    f.model
        .deploy(Path::new(&a), None, 1, &[])
        .expect("deploy a");
    f.model
        .deploy(Path::new(&b), None, 1, &[])
        .expect("deploy b");
    f.model.integrate("a", "b").expect("integrate");
    f.settle();
    f.take();
    f.model.remove_relation("b", "a").expect("remove-relation");
    f.settle();
    assert_eq!(
        f.take(),
        lines(&[
            "a/0 x-relation-departed b/0",
            "a/0 x-relation-broken",
            "b/0 x-relation-departed a/0",
            "b/0 x-relation-broken"
        ])
    );
    assert!(
        f.model.status().expect("status").relations.is_empty(),
        "the relation is gone once every unit broke"
    );
    f.model.refresh("a", Path::new(&a), &[]).expect("refresh");
    f.settle();
    assert_eq!(
        f.take(),
        lines(&["a/0 upgrade-charm", "a/0 config-changed"])
    );
}

#[test]
fn update_status_fires_at_most_once_per_unit_per_advance() {
    let f = Fixture::new();
    let a = f.charm("a", "");
    f.model.deploy(Path::new(&a), None, 2, &[]).expect("deploy");
    f.settle();
    f.take();
    f.model.advance(3600).expect("advance");
    f.settle();
    assert_eq!(
        f.take(),
        lines(&["a/0 update-status", "a/1 update-status"]),
        "an hour passed, one each"
    );
    f.model.advance(60).expect("advance");
    f.settle();
    assert!(f.take().is_empty(), "not due again after a minute");
    f.model.advance(300).expect("advance");
    f.settle();
    assert_eq!(f.take().len(), 2);
}

#[test]
fn a_failed_hook_blocks_its_unit_until_resolved() {
    let f = Fixture::new();
    let a = f.charm("a", "");
    let dispatch = a.join("dispatch");
    let flag = f.root.join("fail-config-changed");
    std::fs::write(&flag, "").expect("flag");
    std::fs::write(
        &dispatch,
        format!(
            "#!/bin/sh\necho \"$JUJU_UNIT_NAME $JUJU_HOOK_NAME\" >> {}\n[ \"$JUJU_HOOK_NAME\" = config-changed ] && [ -e {} ] && exit 1\nexit 0\n",
            f.journal.display(),
            flag.display()
        ),
    )
    .expect("dispatch");
    f.model.deploy(Path::new(&a), None, 1, &[]).expect("deploy");
    let report = f
        .model
        .settle(&SettleOptions {
            serial: true,
            ..SettleOptions::default()
        })
        .expect("settle");
    assert_eq!(
        report.errors,
        vec![("a/0".to_owned(), "config-changed".to_owned())]
    );
    assert_eq!(
        f.take(),
        lines(&["a/0 install", "a/0 leader-elected", "a/0 config-changed"]),
        "start waits"
    );
    assert!(matches!(
        f.model.resolve("a/1"),
        Err(model::Error::Usage(_))
    ));
    std::fs::remove_file(&flag).expect("unflag");
    f.model.resolve("a/0").expect("resolve");
    f.settle();
    assert_eq!(f.take(), lines(&["a/0 config-changed", "a/0 start"]));
}

#[test]
fn refresh_keeps_declared_settings_drops_the_rest_and_checks_new_ones() {
    let f = Fixture::new();
    let old = f.charm("a", "");
    std::fs::write(
        old.join("config.yaml"),
        "options:\n  mode: {type: string}\n  port: {type: int, default: 1}\n",
    )
    .expect("config.yaml");
    let new = f.charm("a2", "");
    std::fs::write(
        new.join("config.yaml"),
        "options:\n  port: {type: int, default: 1}\n  name: {type: string}\n",
    )
    .expect("config.yaml");
    let set = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    f.model
        .deploy(&old, None, 1, &[set("mode", "unit"), set("port", "7")])
        .expect("deploy");
    f.settle();
    let bad = f.model.refresh("a", &new, &[set("mode", "app")]);
    assert!(bad.is_err(), "an option the new charm lacks is refused");
    f.model
        .refresh("a", &new, &[set("name", "x")])
        .expect("refresh");
    f.settle();
    let config = f.model.config("a").expect("config");
    let value = |k: &str| config[k].value.clone();
    assert_eq!(value("port"), Some(serde_json::json!(7)), "kept");
    assert_eq!(value("name"), Some(serde_json::json!("x")), "set");
    assert!(!config.contains_key("mode"), "dropped");

    // A kept value the new charm's type does not accept is refused, naming the option.
    let typed = f.charm("a3", "");
    std::fs::write(
        typed.join("config.yaml"),
        "options:\n  port: {type: int, default: 1}\n  name: {type: int}\n",
    )
    .expect("config.yaml");
    let refused = f
        .model
        .refresh("a", &typed, &[])
        .expect_err("x is not an int");
    assert!(refused.to_string().contains("\"name\""), "{refused}");
    f.model
        .refresh("a", &typed, &[set("name", "3")])
        .expect("the new value replaces it");
}

#[test]
fn a_free_job_slot_goes_first_to_an_application_with_no_hook_running() {
    let f = Fixture::new();
    let many = f.charm("many", "");
    let one = f.charm("one", "");
    f.model
        .deploy(Path::new(&many), None, 4, &[])
        .expect("deploy many");
    f.model
        .deploy(Path::new(&one), None, 1, &[])
        .expect("deploy one");
    let report = f
        .model
        .settle(&SettleOptions {
            jobs: 2,
            ..SettleOptions::default()
        })
        .expect("settle");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    // In plain queue order one/0 would wait for the 16 start-up hooks of many's units queued
    // before it; with many/0 running, the second slot goes to one/0. The journal is written by
    // the hooks as they start, so on a loaded machine a later hook may write before many/0's
    // first line: one/0's install is among the first few, not necessarily second.
    let journal = f.take();
    let position = journal.iter().position(|l| l == "one/0 install");
    assert!(position.is_some_and(|p| p < 4), "{journal:?}");
    assert_eq!(journal.len(), 5 * 4, "{journal:?}");
}
