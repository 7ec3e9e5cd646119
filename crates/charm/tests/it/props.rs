//! Property tests: the environment and JSON parsers never panic, and valid values round-trip.

use juju_charm::charm_state::CharmState;
use juju_charm::{AppName, Context, Event, RelationId, UnitName};
use proptest::prelude::*;

const VARS: &[&str] = &[
    "JUJU_DISPATCH_PATH",
    "JUJU_UNIT_NAME",
    "JUJU_MODEL_NAME",
    "JUJU_MODEL_UUID",
    "JUJU_VERSION",
    "JUJU_CHARM_DIR",
    "JUJU_RELATION_ID",
    "JUJU_REMOTE_APP",
    "JUJU_REMOTE_UNIT",
    "JUJU_DEPARTING_UNIT",
    "JUJU_SECRET_ID",
    "JUJU_SECRET_REVISION",
    "JUJU_ACTION_NAME",
    "JUJU_ACTION_UUID",
    "JUJU_STORAGE_ID",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "hooks/[a-z-]{0,30}",
        "actions/[a-z-]{0,10}",
        "[a-z]{1,8}/[0-9]{1,3}",
        "[a-z]{1,8}:[0-9]{1,4}",
        "secret:[a-z0-9]{0,20}",
        "[0-9]{1,2}\\.[0-9]{1,2}(\\.[0-9]{1,2})?",
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn context_from_arbitrary_env_never_panics(vars in prop::collection::vec((prop::sample::select(VARS), value()), 0..16)) {
        if let Ok(ctx) = Context::from_vars(vars) {
            let _ = Event::from_context(&ctx);
        }
    }

    #[test]
    fn valid_context_parses(app in "[a-z][a-z0-9]{0,5}(-[a-z0-9]{0,2}[a-z][a-z0-9]{0,2}){0,2}", n in 0u32..1000, ep in "[a-z][a-z0-9]{0,5}([-_][a-z0-9]{1,3}){0,2}", id in 0u32..100000) {
        // Generators: juju/names' application and relation name rules.
        let unit = format!("{app}/{n}");
        let rel = format!("{ep}:{id}");
        let ctx = Context::from_vars([
            ("JUJU_DISPATCH_PATH", format!("hooks/{ep}-relation-joined")),
            ("JUJU_UNIT_NAME", unit.clone()),
            ("JUJU_MODEL_NAME", "m".to_owned()),
            ("JUJU_MODEL_UUID", "u".to_owned()),
            ("JUJU_CHARM_DIR", "/c".to_owned()),
            ("JUJU_RELATION_ID", rel.clone()),
            ("JUJU_REMOTE_UNIT", unit.clone()),
        ]).unwrap();
        prop_assert_eq!(ctx.unit.to_string(), unit);
        let ev = Event::from_context(&ctx).unwrap();
        prop_assert_eq!(ev.relation().unwrap().relation.to_string(), rel);
    }

    #[test]
    fn names_never_panic_and_round_trip(s in any::<String>()) {
        if let Ok(u) = s.parse::<UnitName>() { prop_assert_eq!(u.to_string(), s.clone()); }
        if let Ok(a) = s.parse::<AppName>() { prop_assert_eq!(a.to_string(), s.clone()); }
        if let Ok(r) = s.parse::<RelationId>() { prop_assert_eq!(r.to_string(), s.clone()); }
    }

    #[test]
    fn json_parsers_never_panic(bytes in any::<Vec<u8>>()) {
        let _ = serde_json::from_slice::<CharmState>(&bytes);
        let _ = serde_json::from_slice::<Event>(&bytes);
        let _ = serde_json::from_slice::<hook_tools::output::SecretInfoOutput>(&bytes);
        let _ = serde_json::from_slice::<hook_tools::output::NetworkInfo>(&bytes);
    }

    #[test]
    fn charm_state_round_trips(values in prop::collection::btree_map("[a-z]{1,8}", any::<i64>(), 0..5)) {
        let dir = tempfile::tempdir().unwrap();
        let path = CharmState::path_in(dir.path());
        let mut s = CharmState::default();
        for (k, v) in values { s.values.insert(k, v.into()); }
        s.save(&path).unwrap();
        prop_assert_eq!(CharmState::load(&path).unwrap(), s);
    }
}
