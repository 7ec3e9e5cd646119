//! Our charms staged as charm directories from the release build (`./scripts/test` builds every
//! binary once), for tests that deploy them without packing.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// The release build of the test script holds the charm binaries; stage them as charm dirs.
pub(crate) fn staged_charm(data: &Path, name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let binary = target.join("release").join(name);
    assert!(
        binary.exists(),
        "{} is not built: run ./scripts/test (it builds every binary once)",
        binary.display()
    );
    let src = [
        root.join("charms").join(name),
        root.join("tests/charms").join(name),
    ]
    .into_iter()
    .find(|d| d.join("charmcraft.yaml").exists())
    .unwrap_or_else(|| panic!("no charm source named {name} under charms/ or tests/charms/"));
    let dest = data.join("charms").join(name);
    std::fs::create_dir_all(dest.join("bin")).unwrap();
    for f in ["charmcraft.yaml", "dispatch"] {
        std::fs::copy(src.join(f), dest.join(f)).unwrap();
    }
    std::fs::copy(&binary, dest.join("bin").join(name)).unwrap();
    for exe in [dest.join("dispatch"), dest.join("bin").join(name)] {
        std::fs::set_permissions(exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dest
}
