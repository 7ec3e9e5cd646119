//! `juju-tls`: the one binary of the project.
//!
//! It is a CLI (one module per verb group under `cli/`), and later also the hook-tool shim that
//! the local model links under each tool's name. Errors from the library crates are typed; here,
//! at the edge, they become `anyhow` chains printed once, and the exit code is chosen in one place.

mod cli;
mod ui;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            ui::error(&format!("{err:#}"));
            ExitCode::from(1)
        }
    }
}
