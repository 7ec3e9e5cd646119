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
