//! The command line: one module per verb group, each with its own clap `Args` and a `run`.
//!
//! Adding a verb group means adding a module and one variant to [`Command`]; groups do not know
//! about each other.

mod demo;
mod model;
mod pack;
mod pki;

use std::process::ExitCode;

pub(crate) use model::{interrupt_on_signals, pairs, secret_content};

use clap::{Parser, Subcommand};

/// X.509 certificates for Juju deployments.
#[derive(Debug, Parser)]
#[command(name = "juju-tls", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Keys, CSRs, CAs, signing and verification (no Juju needed).
    #[command(subcommand)]
    Pki(pki::PkiCommand),
    /// Run the end-to-end walk-through (the README's main job).
    Demo(demo::DemoArgs),
    /// Build Rust charms and write the .charm files a Juju controller deploys.
    Pack(pack::PackArgs),
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
        Command::Pki(cmd) => pki::run(cmd),
        Command::Demo(args) => demo::run(args),
        Command::Pack(args) => pack::run(args),
        Command::Model(cmd) => model::run(cmd),
    }
}
