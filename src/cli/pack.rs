//! `juju-tls pack CHARM_DIR...`: builds Rust charms and writes the `.charm` files a Juju controller
//! deploys. The work is in [`crate::pack`], which `juju-tls demo` calls too.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use crate::pack::{self, PackOptions};
use crate::ui;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  juju-tls pack charms/self-signed-certificates
  juju-tls pack charms/self-signed-certificates charms/tls-demo --out dist
  juju deploy ./self-signed-certificates_ubuntu-22.04-amd64_ubuntu-24.04-amd64.charm
  juju-tls deploy ./self-signed-certificates_ubuntu-22.04-amd64_ubuntu-24.04-amd64.charm  # local model

The binary is built with `cargo build --profile release -p <package>` from the workspace the
charm belongs to (a no-op when it is fresh; CARGO_TARGET_DIR is honoured). The archive holds
metadata.yaml, config.yaml and actions.yaml rendered from charmcraft.yaml, charmcraft.yaml,
manifest.yaml, dispatch, bin/<name>, and README.md / LICENSE when present. Ubuntu 24.04 is
always declared; 22.04 too when the binary needs no glibc symbol newer than GLIBC_2.35.

A Python ops charm (src/charm.py, no Cargo.toml) is packed as charmcraft lays it out: its
requirements (requirements.txt, else pyproject.toml's dependencies, uv path sources resolved)
installed into venv/ by the hook PATH's python3 -m pip ($JUJU_TLS_PACK_PYTHON overrides), src/,
lib/, the rendered YAML files, manifest.yaml with the bases of charmcraft.yaml, and charmcraft's
dispatch.")]
pub(crate) struct PackArgs {
    /// Charm source directories: Rust (Cargo.toml, charmcraft.yaml, dispatch, src/; several
    /// are built with one cargo invocation) or Python ops (charmcraft.yaml, src/charm.py).
    #[arg(required = true, value_name = "CHARM_DIR")]
    charm_dirs: Vec<PathBuf>,
    /// Directory to write the .charm file to (created if missing).
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Do not run cargo: pack the binary already in the target directory.
    #[arg(long)]
    no_build: bool,
    /// Cargo profile of the binary.
    #[arg(long, default_value = "release")]
    profile: String,
    /// Also write the charm's files, as Juju unpacks them, into this new directory
    /// (`DIR/<name>` for each charm when several are packed).
    #[arg(long, value_name = "DIR")]
    unpack_to: Option<PathBuf>,
}

pub(crate) fn run(args: PackArgs) -> anyhow::Result<ExitCode> {
    let opts = PackOptions {
        build: !args.no_build,
        profile: args.profile,
        unpack_to: args.unpack_to,
    };
    let (python, rust): (Vec<&Path>, Vec<&Path>) = args
        .charm_dirs
        .iter()
        .map(PathBuf::as_path)
        .partition(|d| pack::is_python_charm(d));
    for dir in python {
        let unpack_to = opts.unpack_to.as_ref().map(|d| {
            if args.charm_dirs.len() > 1 {
                d.join(dir.file_name().unwrap_or_default())
            } else {
                d.clone()
            }
        });
        let packed = pack::pack_python(dir, &args.out, unpack_to)?;
        print_python(&packed);
    }
    if rust.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for packed in pack::pack_all(&rust, &args.out, &opts)? {
        println!("{} {}", ui::green("packed"), packed.path.display());
        println!("  charm:  {}", packed.name);
        println!("  bases:  {}", bases_line(&packed.bases));
        println!(
            "  glibc:  {} (newest symbol version the binary needs)",
            packed.glibc
        );
        println!("  binary: {}", packed.binary.display());
        if let Some(dir) = &packed.unpacked_dir {
            println!("  unpacked into {}", dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ubuntu 22.04, ubuntu 24.04 (amd64)`.
fn bases_line(bases: &[pack::Base]) -> String {
    let names: Vec<String> = bases
        .iter()
        .map(|b| format!("{} {}", b.name, b.channel))
        .collect();
    let arch = bases
        .first()
        .map(|b| b.architectures.join(", "))
        .unwrap_or_default();
    format!("{} ({arch})", names.join(", "))
}

fn print_python(packed: &pack::PackedPython) {
    println!("{} {}", ui::green("packed"), packed.path.display());
    println!("  charm:  {} (Python, ops)", packed.name);
    println!("  bases:  {}", bases_line(&packed.bases));
    println!("  venv:   {}", packed.requirements.join(" "));
    if let Some(dir) = &packed.unpacked_dir {
        println!("  unpacked into {}", dir.display());
    }
}
