//! Charms for the tests: our Rust charms staged from the build, Python charms with their `venv/`
//! linked to a shared install, and tiny shell charms.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use super::python;

/// The workspace root.
pub(crate) fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The ops releases the tests pin, one per hook-tool calling convention (≤ 3.3, 3.4–3.7, ≥ 3.8).
pub(crate) const OPS_OLD: &str = "3.3.1";
pub(crate) const OPS_MID: &str = "3.6.0";
pub(crate) const OPS_NEW: &str = "3.9.0";

/// The profile directory `juju-tls` was built in: the charm binaries are built next to it (one
/// workspace build, `./scripts/test`).
pub(crate) fn build_dir() -> &'static Path {
    Path::new(super::BIN)
        .parent()
        .expect("the binary is in a profile directory")
}

/// A Rust charm of `charms/` or `tests/charms/` staged as a charm directory under `dest_root`
/// (`charmcraft.yaml`, `dispatch`, `bin/<name>` from the build), once.
pub(crate) fn stage_rust_charm(dest_root: &Path, name: &str) -> PathBuf {
    let binary = build_dir().join(name);
    assert!(
        binary.is_file(),
        "{} is not built: run `cargo build --release --workspace --bins` (./scripts/test does)",
        binary.display()
    );
    let src = [
        root().join("charms"),
        root().join("tests/charms"),
        root().join("examples/migration"),
    ]
    .into_iter()
    .map(|d| d.join(name))
    .find(|d| d.join("charmcraft.yaml").exists())
    .unwrap_or_else(|| {
        panic!("no charm source named {name} under charms/, tests/charms/ or examples/migration/")
    });
    let dest = dest_root.join("charms").join(name);
    if dest.exists() {
        return dest;
    }
    std::fs::create_dir_all(dest.join("bin")).expect("mkdir");
    for f in ["charmcraft.yaml", "dispatch"] {
        std::fs::copy(src.join(f), dest.join(f)).expect("copy");
    }
    std::fs::copy(&binary, dest.join("bin").join(name)).expect("copy");
    for exe in [dest.join("dispatch"), dest.join("bin").join(name)] {
        std::fs::set_permissions(exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    dest
}

/// A Python charm source copied to `dest` with `venv/` linked to `venv`.
pub(crate) fn stage_python_charm(src: &Path, dest: &Path, venv: &Path) {
    copy_dir(src, dest);
    std::os::unix::fs::symlink(venv, dest.join("venv")).expect("venv link");
}

/// A directory with `ops==version` installed (pip --target), made once per target dir.
pub(crate) fn ops_install(version: &str) -> PathBuf {
    pip_target(version, &[&format!("ops=={version}")])
}

/// A directory with `packages` installed by the hook PATH's python3 (pip --target), made once
/// per target dir under `key`.
pub(crate) fn pip_target(key: &str, packages: &[&str]) -> PathBuf {
    python::pip_target("ops", key, packages, python::Finish::Plain)
}

/// The pinned Python libraries (`tests/requirements.txt`) installed once per target dir with the
/// hook's python3, byte-compiled and read-only: every unit of `tests/interop/` links it as
/// `venv/`.
pub(crate) fn interop_libs() -> PathBuf {
    let req = root().join("tests/requirements.txt");
    let pins = std::fs::read(&req).expect("requirements");
    // The pins name the directory, so a changed pin gets a fresh install.
    python::pip_target(
        "interop-pylibs",
        &python::tag(&pins),
        &[OsStr::new("-r"), req.as_os_str()],
        python::Finish::SharedReadOnly,
    )
}

/// charms.reactive and charmhelpers from PyPI, pinned by the reactive test charm's
/// `requirements.txt`, installed once per target dir like [`interop_libs`].
pub(crate) fn reactive_libs() -> PathBuf {
    let req = root().join("tests/charms/reactive-tls-client/requirements.txt");
    let pins = std::fs::read(&req).expect("requirements");
    python::pip_target(
        "reactive-pylibs",
        &python::tag(&pins),
        &[OsStr::new("-r"), req.as_os_str()],
        python::Finish::SharedReadOnly,
    )
}

/// A test charm from `tests/charms/<name>` copied to a temp dir, `venv/` linked to `venv`.
pub(crate) fn python_charm(name: &str, venv: &Path) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("charm-")
        .tempdir()
        .expect("temp dir");
    stage_python_charm(&root().join("tests/charms").join(name), dir.path(), venv);
    dir
}

/// The probe test charm with `venv/` linked to an ops install.
pub(crate) fn probe_charm(ops_version: &str) -> tempfile::TempDir {
    python_charm("probe", &ops_install(ops_version))
}

/// A tiny shell charm (no Python) for fast CLI tests: `provides`/`requires` as given.
pub(crate) fn shell_charm(name: &str, relations: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("shell-charm-")
        .tempdir()
        .expect("temp dir");
    std::fs::write(
        dir.path().join("metadata.yaml"),
        format!("name: {name}\n{relations}"),
    )
    .expect("metadata");
    std::fs::write(
        dir.path().join("config.yaml"),
        "options:\n  level:\n    type: int\n    default: 1\n",
    )
    .expect("config");
    write_dispatch(
        dir.path(),
        "#!/bin/sh\n[ \"$JUJU_HOOK_NAME\" = start ] && status-set active \"level $(config-get level)\"\nexit 0\n",
    );
    dir
}

/// Writes a charm's `dispatch` script (mode 0755).
pub(crate) fn write_dispatch(charm: &Path, script: &str) {
    let dispatch = charm.join("dispatch");
    std::fs::write(&dispatch, script).expect("dispatch");
    std::fs::set_permissions(&dispatch, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn copy_dir(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).expect("mkdir");
    for e in std::fs::read_dir(src).expect("read dir") {
        let e = e.expect("entry");
        let to = dest.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).expect("copy");
        }
    }
}
