//! The command line: one module per verb group, each with its own clap `Args` and a `run`.
//!
//! Adding a verb group means adding a module and one variant to [`Command`]; groups do not know
//! about each other.

mod model;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// X.509 certificates for Juju deployments.
#[derive(Debug, Parser)]
#[command(name = "juju-tls", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Local Juju model verbs (Juju's names: deploy, integrate, status, …).
    #[command(flatten)]
    Model(model::Command),
}

/// Parses the process arguments (exits with clap's message on bad usage).
pub(crate) fn parse() -> Cli {
    Cli::parse()
}

/// Runs the chosen verb.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Model(cmd) => model::run(cmd),
    }
}
