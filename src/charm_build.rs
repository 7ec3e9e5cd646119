//! Builds a Rust charm of this workspace and stages it as a directory Juju (or the local model)
//! can deploy: `metadata.yaml`-free source layout with `charmcraft.yaml`, `dispatch` and
//! `bin/<name>`. Dynamically linked against glibc on purpose: libfaketime (the local model's
//! virtual clock) cannot hook a static binary.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// Builds the binaries of the charms in `charm_dirs` with one `cargo build --release` (one
/// invocation, so shared crates are built once with unified features) and returns each path.
pub(crate) fn build_binaries(charm_dirs: &[&Path]) -> anyhow::Result<Vec<PathBuf>> {
    let manifests: Vec<PathBuf> = charm_dirs
        .iter()
        .map(|d| {
            fs::canonicalize(d.join("Cargo.toml"))
                .with_context(|| format!("{} has no Cargo.toml", d.display()))
        })
        .collect::<anyhow::Result<_>>()?;
    let workspace = charm_dirs
        .first()
        .and_then(|d| d.ancestors().find(|a| a.join("Cargo.lock").is_file()))
        .context("the charms are not inside a cargo workspace")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace).args([
        "build",
        "--release",
        "--message-format=json-render-diagnostics",
    ]);
    for dir in charm_dirs {
        let name = dir.file_name().context("charm directory has no name")?;
        cmd.arg("-p").arg(name);
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo build")?;
    if !out.status.success() {
        bail!(
            "cargo build failed for {}",
            charm_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut found: Vec<Option<PathBuf>> = vec![None; manifests.len()];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(manifest), Some(exe)) =
            (msg["manifest_path"].as_str(), msg["executable"].as_str())
        else {
            continue;
        };
        if let Some(i) = manifests.iter().position(|m| m == Path::new(manifest)) {
            found[i] = Some(PathBuf::from(exe));
        }
    }
    found
        .into_iter()
        .zip(charm_dirs)
        .map(|(exe, dir)| {
            exe.with_context(|| format!("cargo built no executable for {}", dir.display()))
        })
        .collect()
}

/// Builds the charms in `charm_dirs` and stages each under `out/<name>`; returns the directories.
pub(crate) fn stage_all(charm_dirs: &[&Path], out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let binaries = build_binaries(charm_dirs)?;
    charm_dirs
        .iter()
        .zip(binaries)
        .map(|(dir, binary)| stage(dir, &binary, out))
        .collect()
}

/// Stages the charm in `charm_dir` with its built `binary` under `out/<name>`.
pub(crate) fn stage(charm_dir: &Path, binary: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    let name = charm_dir
        .file_name()
        .context("charm directory has no name")?
        .to_string_lossy()
        .into_owned();
    let dest = out.join(&name);
    let _ = fs::remove_dir_all(&dest);
    fs::create_dir_all(dest.join("bin"))?;
    for file in [
        "charmcraft.yaml",
        "metadata.yaml",
        "config.yaml",
        "actions.yaml",
        "dispatch",
        "README.md",
    ] {
        let from = charm_dir.join(file);
        if from.is_file() {
            fs::copy(&from, dest.join(file))
                .with_context(|| format!("copying {}", from.display()))?;
        }
    }
    let bin_name = binary.file_name().context("binary has no name")?;
    fs::copy(binary, dest.join("bin").join(bin_name))
        .with_context(|| format!("copying {}", binary.display()))?;
    for exe in [dest.join("dispatch"), dest.join("bin").join(bin_name)] {
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755))?;
    }
    Ok(dest)
}
