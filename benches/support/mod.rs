//! What every benchmark of the local model does first.

use std::process::Command;

/// The `juju-tls` binary cargo built for these benchmarks.
const BIN: &str = env!("CARGO_BIN_EXE_juju-tls");

/// The model links hook tools to the `juju-tls` binary, not to the benchmark: unless the variable
/// that says so is set, runs this benchmark again with it and exits with its status (no need to
/// mutate our own environment).
pub(crate) fn reexec_with_tool_binary() {
    if std::env::var_os(model::TOOL_BINARY_ENV).is_some() {
        return;
    }
    let status = Command::new(std::env::current_exe().expect("current exe"))
        .args(std::env::args_os().skip(1))
        .env(model::TOOL_BINARY_ENV, BIN)
        .status()
        .expect("re-running the benchmark");
    std::process::exit(status.code().unwrap_or(1));
}

/// A private (0700) data dir for a benchmark's models: the model refuses one open to others.
pub(crate) fn private_data_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .permissions(<std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700))
        .tempdir()
        .expect("temp dir")
}

/// Builds the charm binaries `charms` (`(source dir relative to the workspace, package)`) and
/// lays out a charm directory for each whose `dispatch` execs the binary where cargo put it:
/// many units then share one binary instead of a copy each (the model copies a charm directory
/// into every unit). In the order given.
#[allow(dead_code)] // local_model stages its own charms
pub(crate) fn build_and_stage(charms: &[(&str, &str)]) -> Vec<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");
    eprintln!("building the charms (cargo build --release)...");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(ROOT)
        .args(["build", "--release", "--bins"]);
    for (_, package) in charms {
        build.args(["-p", package]);
    }
    let status = build.status().expect("running cargo build");
    assert!(status.success(), "cargo build of the charms failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| Path::new(ROOT).join("target"), PathBuf::from)
        .join("release");
    charms
        .iter()
        .map(|(src, name)| {
            let src = Path::new(ROOT).join(src);
            let dir = tempfile::tempdir().expect("temp dir");
            std::fs::copy(
                src.join("charmcraft.yaml"),
                dir.path().join("charmcraft.yaml"),
            )
            .expect("charmcraft.yaml");
            let dispatch = dir.path().join("dispatch");
            std::fs::write(
                &dispatch,
                format!("#!/bin/sh\nexec {}\n", target.join(name).display()),
            )
            .expect("dispatch");
            std::fs::set_permissions(&dispatch, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            dir
        })
        .collect()
}
