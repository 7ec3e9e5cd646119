//! `juju-tls`: the one binary of the project.
//!
//! It is a CLI (one module per verb group under `cli/`), and the hook-tool shim that the local
//! model links under each tool's name: argv\[0\] is checked before any CLI parsing, so a charm
//! running `relation-get` reaches the model in a few milliseconds. Errors from the library crates
//! are typed; here, at the edge, they become `anyhow` chains printed once, and the exit code is
//! chosen in one place.

mod cli;
mod juju;
mod pack;
mod shim;
mod ui;

use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if argv.first().and_then(|a0| shim::tool_name(a0)).is_some() {
        return shim::run(argv);
    }
    if argv.first().is_some_and(|a0| juju::invoked_as_juju(a0)) {
        return juju::run(argv);
    }
    let args = cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            if err
                .downcast_ref::<model::Error>()
                .is_some_and(|e| matches!(e, model::Error::Interrupted))
            {
                // A SIGINT/SIGTERM thread is ending the process with the signal's exit code.
                loop {
                    std::thread::park();
                }
            }
            ui::error(&format!("{err:#}"));
            // Bad input (unknown application, mismatched interfaces, …) is a usage error.
            let usage = err
                .downcast_ref::<model::Error>()
                .is_some_and(|e| matches!(e, model::Error::Usage(_) | model::Error::Charm(_)));
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}
