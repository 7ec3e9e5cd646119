//! Finds and builds a Rust charm's binary with cargo.
//!
//! cargo is asked rather than guessed at: `cargo metadata` finds the workspace a charm directory
//! belongs to (walking up from it), the package whose manifest is the charm's `Cargo.toml`, its
//! binary targets, and the target directory (which honours `CARGO_TARGET_DIR` and cargo config).
//! Building always goes through `cargo build`, which is also the freshness check: when nothing
//! changed it only confirms the binary is up to date.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};
use serde::Deserialize;

/// The cargo package of a charm and where its binary goes.
#[derive(Debug, Clone)]
pub(crate) struct CharmPackage {
    /// The workspace root: cargo runs from here.
    pub(crate) workspace_root: PathBuf,
    /// The target directory (`target/` or `CARGO_TARGET_DIR`).
    pub(crate) target_directory: PathBuf,
    /// Package name (`-p`).
    pub(crate) package: String,
    /// The binary target packed as `bin/<bin>`.
    pub(crate) bin: String,
    /// The package's `Cargo.toml`, canonical: how cargo's build messages name the package.
    manifest: PathBuf,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_root: PathBuf,
    target_directory: PathBuf,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    manifest_path: PathBuf,
    targets: Vec<Target>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
}

/// Build messages cargo prints with `--message-format=json`; only artifacts matter here.
#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    manifest_path: Option<PathBuf>,
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    executable: Option<PathBuf>,
}

/// The cargo executable: the one running us when we run under cargo, else `cargo` on PATH.
fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Finds the package of `charm_dir` (which must hold its `Cargo.toml`) and its charm binary: the
/// binary target named like the charm, else the package's only binary target.
pub(crate) fn locate(charm_dir: &Path, charm_name: &str) -> anyhow::Result<CharmPackage> {
    let manifest = charm_dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!(
            "{} has no Cargo.toml: only Rust charms built with cargo are packed",
            charm_dir.display()
        );
    }
    let manifest =
        fs::canonicalize(&manifest).with_context(|| format!("resolving {}", manifest.display()))?;
    let out = Command::new(cargo())
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .stdin(Stdio::null())
        .output()
        .context("running `cargo metadata` (is cargo installed?)")?;
    if !out.status.success() {
        bail!(
            "`cargo metadata` failed for {}: {}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let metadata: Metadata =
        serde_json::from_slice(&out.stdout).context("reading `cargo metadata` output")?;
    let package = metadata
        .packages
        .into_iter()
        .find(|p| fs::canonicalize(&p.manifest_path).is_ok_and(|m| m == manifest))
        .with_context(|| {
            format!(
                "{} is not a member of the workspace at {}",
                manifest.display(),
                metadata.workspace_root.display()
            )
        })?;
    let bins: Vec<String> = package
        .targets
        .into_iter()
        .filter(|t| t.kind.iter().any(|k| k == "bin"))
        .map(|t| t.name)
        .collect();
    let bin = match bins.iter().find(|b| *b == charm_name) {
        Some(b) => b.clone(),
        None if bins.len() == 1 => bins[0].clone(),
        None if bins.is_empty() => bail!("package {} has no binary target", package.name),
        None => bail!(
            "package {} has several binaries ({}) and none is named {charm_name}",
            package.name,
            bins.join(", ")
        ),
    };
    Ok(CharmPackage {
        workspace_root: metadata.workspace_root,
        target_directory: metadata.target_directory,
        package: package.name,
        bin,
        manifest,
    })
}

/// Where the binary of `profile` is in the target directory, without building it.
pub(crate) fn existing_binary(pkg: &CharmPackage, profile: &str) -> anyhow::Result<PathBuf> {
    let path = pkg
        .target_directory
        .join(profile_dir(profile))
        .join(&pkg.bin);
    if !path.is_file() {
        bail!(
            "no binary at {} (build it with `cargo build --profile {profile} -p {}`, or pack \
             without --no-build)",
            path.display(),
            pkg.package
        );
    }
    Ok(path)
}

/// Builds the charm binaries with one `cargo build --profile <profile>` from their workspace root
/// (a no-op when they are fresh) and returns the path cargo reports for each, in order. One
/// invocation, so the crates the charms share are built once, with unified features. cargo's
/// progress and diagnostics go to our stderr.
pub(crate) fn build(pkgs: &[CharmPackage], profile: &str) -> anyhow::Result<Vec<PathBuf>> {
    let Some(first) = pkgs.first() else {
        return Ok(Vec::new());
    };
    if let Some(other) = pkgs
        .iter()
        .find(|p| p.workspace_root != first.workspace_root)
    {
        bail!(
            "{} and {} are in different cargo workspaces: pack them separately",
            first.package,
            other.package
        );
    }
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&first.workspace_root)
        .args(["build", "--profile", profile])
        .arg("--message-format=json-render-diagnostics");
    for pkg in pkgs {
        cmd.args(["-p", &pkg.package, "--bin", &pkg.bin]);
    }
    let names = || {
        pkgs.iter()
            .map(|p| p.package.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("running `cargo build` (is cargo installed?)")?;
    if !out.status.success() {
        bail!("`cargo build` of {} failed (see its output above)", names());
    }
    let messages: Vec<Message> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Message>(line).ok())
        .filter(|m| m.reason == "compiler-artifact")
        .collect();
    pkgs.iter()
        .map(|pkg| {
            messages
                .iter()
                .filter(|m| {
                    m.manifest_path
                        .as_ref()
                        .is_some_and(|p| fs::canonicalize(p).is_ok_and(|p| p == pkg.manifest))
                })
                .filter(|m| {
                    m.target
                        .as_ref()
                        .is_some_and(|t| t.name == pkg.bin && t.kind.iter().any(|k| k == "bin"))
                })
                .find_map(|m| m.executable.clone())
                .with_context(|| format!("`cargo build` reported no executable for {}", pkg.bin))
        })
        .collect()
}

/// The directory cargo writes a profile's artifacts to: `dev` and `test` share `debug/`, `bench`
/// shares `release/`, custom profiles use their own name.
fn profile_dir(profile: &str) -> &str {
    match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_directories_follow_cargo() {
        assert_eq!(profile_dir("release"), "release");
        assert_eq!(profile_dir("dev"), "debug");
        assert_eq!(profile_dir("test"), "debug");
        assert_eq!(profile_dir("bench"), "release");
        assert_eq!(profile_dir("dist"), "dist");
    }

    #[test]
    fn locates_the_self_signed_certificates_package() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let pkg = locate(
            &root.join("charms/self-signed-certificates"),
            "self-signed-certificates",
        )
        .unwrap();
        assert_eq!(pkg.package, "self-signed-certificates");
        assert_eq!(pkg.bin, "self-signed-certificates");
        assert_eq!(
            fs::canonicalize(&pkg.workspace_root).unwrap(),
            fs::canonicalize(root).unwrap()
        );
    }

    #[test]
    fn a_directory_without_cargo_toml_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = locate(dir.path(), "x").unwrap_err().to_string();
        assert!(err.contains("no Cargo.toml"), "{err}");
    }
}
