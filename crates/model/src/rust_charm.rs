//! Rust charm sources: a charm directory with a `Cargo.toml` whose `dispatch` execs
//! `bin/<name>`, and no `bin/` yet. The model builds it the way the project's `pack` lays it out
//! (`cargo build --release`, the binary copied to `bin/<name>` of a staged copy), so
//! `juju-tls deploy charms/<name>` works straight from the source tree. A source that already
//! has its `bin/` is used as it is.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{CharmError, Error, Result};

/// Whether `dir` is a Rust charm source that still needs its binary.
pub(crate) fn needs_build(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && !dir.join("bin").exists()
}

/// Builds the charm in release mode and stages a copy of `src` with `bin/<binary>` in `dest`.
pub(crate) fn build_and_stage(src: &Path, dest: &Path) -> Result<PathBuf> {
    let manifest = src.join("Cargo.toml");
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--release",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .map_err(|e| CharmError::Unpack {
            path: src.to_owned(),
            reason: format!("running cargo: {e}"),
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        return Err(CharmError::Unpack {
            path: src.to_owned(),
            reason: format!(
                "cargo build --release failed:\n{}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ),
        }
        .into());
    }
    let manifest = fs::canonicalize(&manifest).map_err(|e| Error::io("resolving", &manifest, e))?;
    // The executables cargo reports for this package (not its dependencies).
    let mut binaries: Vec<PathBuf> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact"
            || msg["manifest_path"].as_str().map(Path::new) != Some(manifest.as_path())
        {
            continue;
        }
        if let Some(exe) = msg["executable"].as_str() {
            binaries.push(PathBuf::from(exe));
        }
    }
    let dispatch = fs::read_to_string(src.join("dispatch")).unwrap_or_default();
    let chosen = binaries
        .iter()
        .find(|b| {
            b.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| dispatch.contains(&format!("bin/{n}")))
        })
        .or_else(|| binaries.first())
        .ok_or_else(|| CharmError::Unpack {
            path: src.to_owned(),
            reason: "cargo built no executable for this package".into(),
        })?
        .clone();
    let _ = fs::remove_dir_all(dest);
    fs::create_dir_all(dest).map_err(|e| Error::io("creating", dest, e))?;
    copy_source(src, dest)?;
    let bin_dir = dest.join("bin");
    fs::create_dir_all(&bin_dir).map_err(|e| Error::io("creating", &bin_dir, e))?;
    let name = chosen.file_name().map(PathBuf::from).unwrap_or_default();
    fs::copy(&chosen, bin_dir.join(&name)).map_err(|e| Error::io("copying", &chosen, e))?;
    Ok(dest.to_owned())
}

/// The charm's files without the build tree.
fn copy_source(src: &Path, dest: &Path) -> Result<()> {
    for entry in fs::read_dir(src).map_err(|e| Error::io("reading", src, e))? {
        let entry = entry.map_err(|e| Error::io("reading", src, e))?;
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let from = entry.path();
        let to = dest.join(&name);
        let ft = entry
            .file_type()
            .map_err(|e| Error::io("reading", &from, e))?;
        if ft.is_dir() {
            fs::create_dir_all(&to).map_err(|e| Error::io("creating", &to, e))?;
            copy_source(&from, &to)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(&from).map_err(|e| Error::io("reading link", &from, e))?;
            std::os::unix::fs::symlink(target, &to).map_err(|e| Error::io("linking", &to, e))?;
        } else {
            fs::copy(&from, &to).map_err(|e| Error::io("copying", &from, e))?;
        }
    }
    Ok(())
}
