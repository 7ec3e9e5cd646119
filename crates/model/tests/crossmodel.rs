//! Cross-model relations through the library: two models of one registry, shell charms that
//! journal `model unit hook remote`, serial settling. Checks Juju's order and naming across
//! the models, scale and removal on either side, and that a link half made (the consuming side
//! killed between its two commits, or another settler syncing in between) is completed, not
//! ended.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use model::{Model, Registry, SettleOptions};

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    journal: PathBuf,
    offering: Arc<Model>,
    consuming: Arc<Model>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let registry = Registry::at(self.root.join("data"));
        let _ = registry.destroy("off");
        let _ = registry.destroy("con");
    }
}

fn serial() -> SettleOptions {
    SettleOptions {
        serial: true,
        ..SettleOptions::default()
    }
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_owned();
        let registry = Registry::at(root.join("data"));
        let offering = Arc::new(registry.create("off").expect("model off"));
        let consuming = Arc::new(registry.create("con").expect("model con"));
        let f = Self {
            journal: root.join("journal"),
            _dir: dir,
            root,
            offering,
            consuming,
        };
        let prov = f.charm("prov", "provides:\n  x:\n    interface: ix\n");
        let req = f.charm("req", "requires:\n  x:\n    interface: ix\n");
        f.offering.deploy(&prov, None, 1, &[]).expect("deploy prov");
        f.consuming.deploy(&req, None, 2, &[]).expect("deploy req");
        f.settle();
        f.take();
        f
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
            format!(
                "#!/bin/sh\necho \"$JUJU_MODEL_NAME $JUJU_UNIT_NAME ${{JUJU_HOOK_NAME:-$JUJU_DISPATCH_PATH}} $JUJU_REMOTE_UNIT\" >> {}\n",
                self.journal.display()
            ),
        )
        .expect("dispatch");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dispatch, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        dir
    }

    /// Settles both models until neither has work.
    fn settle(&self) {
        let report = self.consuming.settle_with_peers(&serial()).expect("settle");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let report = self.offering.settle_with_peers(&serial()).expect("settle");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }

    fn take(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.journal).unwrap_or_default();
        let _ = std::fs::remove_file(&self.journal);
        text.lines().map(|l| l.trim_end().to_owned()).collect()
    }

    fn relate(&self) -> String {
        self.offering
            .offer("prov", &["x".to_owned()], None)
            .expect("offer");
        self.consuming
            .consume("off.prov", Some("p"))
            .expect("consume");
        self.consuming.integrate("req", "p").expect("integrate");
        self.settle();
        // The consumer's name in the offering model.
        let st = self.offering.status().expect("status");
        let r = st.relations.iter().find(|r| !r.peer).expect("a relation");
        r.other_app("prov").to_owned()
    }
}

/// Index of the first journal line equal to `line`.
fn at(journal: &[String], line: &str) -> usize {
    journal
        .iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("{line:?} not in {journal:#?}"))
}

fn hooks_of(journal: &[String], model: &str, unit: &str) -> Vec<String> {
    let prefix = format!("{model} {unit} ");
    journal
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
        .collect()
}

#[test]
fn units_join_change_and_depart_across_models_under_juju_names() {
    let f = Fixture::new();
    let remote = f.relate();
    assert!(remote.starts_with("remote-"), "{remote}");
    let token = &remote["remote-".len()..];
    assert!(
        token.len() == 32 && token.chars().all(|c| c.is_ascii_hexdigit()),
        "{remote}"
    );
    let j = f.take();
    // The offering unit sees the consumer's units as remote-<token>/N, after relation-created.
    let prov = hooks_of(&j, "off", "prov/0");
    assert_eq!(prov[0], "x-relation-created", "{j:#?}");
    for n in 0..2 {
        let joined = at(&j, &format!("off prov/0 x-relation-joined {remote}/{n}"));
        let changed = at(&j, &format!("off prov/0 x-relation-changed {remote}/{n}"));
        assert!(joined < changed, "{j:#?}");
    }
    // Each consuming unit sees the offering unit as p/0 (the SAAS name).
    for u in ["req/0", "req/1"] {
        let hooks = hooks_of(&j, "con", u);
        assert_eq!(
            hooks,
            [
                "x-relation-created",
                "x-relation-joined p/0",
                "x-relation-changed p/0"
            ],
            "{u}: {j:#?}"
        );
    }
    // Nothing ran twice.
    let mut sorted = j.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), j.len(), "a hook ran twice: {j:#?}");

    // A new consuming unit joins the offering unit, and the other way round.
    f.consuming.add_units("req", 1).expect("add unit");
    f.settle();
    let j = f.take();
    at(&j, &format!("off prov/0 x-relation-joined {remote}/2"));
    at(&j, "con req/2 x-relation-joined p/0");

    // A consuming unit removed: the offering unit sees it depart.
    f.consuming.remove_unit("req/1").expect("remove unit");
    f.settle();
    let j = f.take();
    at(&j, &format!("off prov/0 x-relation-departed {remote}/1"));

    // The relation removed on the offering side: broken on both sides, gone from both.
    f.offering
        .remove_relation("prov", &remote)
        .expect("remove relation");
    f.settle();
    f.settle();
    let j = f.take();
    at(&j, &format!("off prov/0 x-relation-departed {remote}/0"));
    at(&j, "off prov/0 x-relation-broken");
    for u in ["req/0", "req/2"] {
        at(&j, &format!("con {u} x-relation-departed p/0"));
        at(&j, &format!("con {u} x-relation-broken"));
    }
    for m in [&f.offering, &f.consuming] {
        let st = m.status().expect("status");
        assert!(
            st.relations.iter().all(|r| r.peer),
            "{}: {:?}",
            m.name(),
            st.relations
        );
    }
    // The consumer's stand-in went with its relation; the SAAS stays until remove-saas.
    assert_eq!(f.consuming.saas().expect("saas").len(), 1);
    f.consuming.remove_saas("p").expect("remove saas");
    assert!(f.consuming.saas().expect("saas").is_empty());
}

fn sql(db: &Path, statement: &str) {
    let c = rusqlite::Connection::open(db).expect("open store");
    c.execute_batch(statement).expect("sql");
}

#[test]
fn a_half_made_link_is_completed_not_ended() {
    let f = Fixture::new();
    let remote = f.relate();
    f.take();
    // As if the consuming side had died between committing the offering side's relation and
    // recording it in its own link.
    sql(
        &f.consuming.dir().join("model.db"),
        "UPDATE xrels SET peer_relation=NULL",
    );
    // The offering side syncs first, as its settler might.
    f.offering.sync_cross_model().expect("sync");
    f.consuming.sync_cross_model().expect("sync");
    f.settle();
    let j = f.take();
    assert!(
        !j.iter()
            .any(|l| l.contains("broken") || l.contains("departed")),
        "the relation was ended: {j:#?}"
    );
    let st = f.offering.status().expect("status");
    assert_eq!(st.offers[0].connections.len(), 1, "{:?}", st.offers);
    assert!(st.relations.iter().any(|r| r.involves(&remote)));
    // Data still flows: a new consuming unit joins across.
    f.consuming.add_units("req", 1).expect("add unit");
    f.settle();
    let j = f.take();
    at(&j, &format!("off prov/0 x-relation-joined {remote}/2"));
}

#[test]
fn the_offering_model_destroyed_breaks_the_consumers_side() {
    let f = Fixture::new();
    f.relate();
    f.take();
    Registry::at(f.root.join("data"))
        .destroy("off")
        .expect("destroy");
    let report = f.consuming.settle_with_peers(&serial()).expect("settle");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let j = f.take();
    for u in ["req/0", "req/1"] {
        at(&j, &format!("con {u} x-relation-departed p/0"));
        at(&j, &format!("con {u} x-relation-broken"));
    }
    assert!(
        f.consuming
            .status()
            .expect("status")
            .relations
            .iter()
            .all(|r| r.peer)
    );
}

#[test]
fn an_offered_application_cannot_be_removed_and_clocks_are_shared() {
    let f = Fixture::new();
    f.relate();
    let e = f
        .offering
        .remove_application("prov")
        .unwrap_err()
        .to_string();
    assert!(e.contains("remove the offer first"), "{e}");
    let before = f.offering.now().expect("now");
    f.consuming.advance(86_400).expect("advance");
    let after = f.offering.now().expect("now");
    assert!(after >= before + 86_400, "{before} -> {after}");
    assert!(after - f.consuming.now().expect("now") <= 1);
}
