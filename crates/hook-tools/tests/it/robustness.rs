//! Arbitrary input never panics the parsers.

use hook_tools::{Tool, parse_argv, settings};
use proptest::prelude::*;

fn arg() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("--".to_owned()),
        Just("-".to_owned()),
        Just(String::new()),
        "-[a-z]{0,3}",
        "--[a-z-]{0,12}(=[a-zA-Z0-9:]{0,5})?",
        "[a-z0-9#=:/.-]{0,12}",
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn parse_argv_never_panics(tool in prop::sample::select(Tool::ALL), args in prop::collection::vec(arg(), 0..8)) {
        let mut argv = vec![tool.name().to_owned()];
        argv.extend(args);
        let _ = parse_argv(&argv);
    }

    #[test]
    fn settings_decode_never_panics(input in any::<Vec<u8>>()) {
        let _ = settings::decode(&input);
    }

    #[test]
    fn settings_round_trip(map in prop::collection::btree_map("[a-z_-]{1,10}", any::<String>(), 0..6)) {
        prop_assert_eq!(settings::decode(&settings::encode(&map)).unwrap(), map);
    }
}
