//! Packs a Python `ops` charm (`src/charm.py`) the way `charmcraft pack` lays it out, without
//! charmcraft's build container: the charm's requirements installed into `venv/` with pip,
//! `src/` and `lib/`, the YAML files Juju reads rendered from `charmcraft.yaml`, and charmcraft's
//! own `dispatch`.
//!
//! Requirements come from `requirements.txt` when present, else from `pyproject.toml`'s
//! `[project].dependencies`, a dependency that `[tool.uv.sources]` maps to a local `path` being
//! installed from that path (the charmlibs test charms do this). pip runs with the `python3` a
//! hook finds on Juju's PATH (or `$JUJU_TLS_PACK_PYTHON`), so compiled wheels match the Python
//! that runs the charm here; a controller's machines must run the same Python minor version.
//! Symlinks in the source are followed, as `cp --dereference` does before charmcraft packs.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::archive::{self, Entry};
use super::bases::Base;
use super::render;

/// Environment variable naming the Python whose pip installs the charm's requirements.
pub(crate) const PACK_PYTHON_ENV: &str = "JUJU_TLS_PACK_PYTHON";

/// The `dispatch` charmcraft writes for an ops charm.
const DISPATCH: &str = "#!/bin/sh\n\
JUJU_DISPATCH_PATH=\"${JUJU_DISPATCH_PATH:-$0}\" PYTHONPATH=lib:venv /usr/bin/env python3 ./src/charm.py\n";

/// Whether `dir` holds a Python charm (`src/charm.py`, no `Cargo.toml`).
pub(crate) fn is_python_charm(dir: &Path) -> bool {
    dir.join("src/charm.py").is_file() && !dir.join("Cargo.toml").exists()
}

/// What [`pack`] wrote.
#[derive(Debug, Clone)]
pub(crate) struct PackedPython {
    /// The `.charm` file.
    pub(crate) path: PathBuf,
    /// The charm name.
    pub(crate) name: String,
    /// The bases in `manifest.yaml`.
    pub(crate) bases: Vec<Base>,
    /// The requirements pip installed.
    pub(crate) requirements: Vec<String>,
    /// The unpacked copy, when asked for.
    pub(crate) unpacked_dir: Option<PathBuf>,
}

/// Packs the Python charm in `dir` into `out`.
pub(crate) fn pack(
    dir: &Path,
    out: &Path,
    unpack_to: Option<PathBuf>,
) -> anyhow::Result<PackedPython> {
    let project = render::Project::load(dir)?;
    let bases = bases_of(dir)?;
    let requirements = requirements(dir)?;
    let staging = tempfile::tempdir().context("creating a staging directory")?;
    let venv = staging.path().join("venv");
    fs::create_dir_all(&venv).with_context(|| format!("creating {}", venv.display()))?;
    if !requirements.is_empty() {
        pip_install(&requirements, &venv)?;
    }

    let started_at = OffsetDateTime::now_utc().format(&Rfc3339)?;
    let mut entries = super::juju_yaml_entries(dir, &project)?;
    entries.push(Entry {
        name: "manifest.yaml".to_owned(),
        data: render::manifest_yaml(&bases, &started_at, "python", "operator")?.into_bytes(),
        mode: 0o644,
    });
    entries.extend(super::copied_files(dir)?);
    entries.push(Entry {
        name: "dispatch".to_owned(),
        data: DISPATCH.as_bytes().to_vec(),
        mode: 0o755,
    });
    tree_entries(&dir.join("src"), "src", &mut entries)?;
    if dir.join("lib").is_dir() {
        tree_entries(&dir.join("lib"), "lib", &mut entries)?;
    }
    tree_entries(&venv, "venv", &mut entries)?;
    // ops runs src/charm.py as the entrypoint: it must be executable.
    if let Some(e) = entries.iter_mut().find(|e| e.name == "src/charm.py") {
        e.mode = 0o755;
    }

    let platforms: Vec<String> = bases.iter().map(ToString::to_string).collect();
    let path = out.join(format!("{}_{}.charm", project.name, platforms.join("_")));
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    archive::write_zip(&path, &entries)?;
    if let Some(d) = &unpack_to {
        archive::write_dir(d, &entries)?;
    }
    Ok(PackedPython {
        path,
        name: project.name,
        bases,
        requirements,
        unpacked_dir: unpack_to,
    })
}

/// The run-on bases of `charmcraft.yaml` (`bases:` of charmcraft 2, or `base:` with
/// `platforms:` of charmcraft 3), for this machine's architecture.
fn bases_of(dir: &Path) -> anyhow::Result<Vec<Base>> {
    let path = dir.join("charmcraft.yaml");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc: serde_json::Value =
        serde_norway::from_str(&text).with_context(|| format!("{} is not YAML", path.display()))?;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let mut out: Vec<Base> = Vec::new();
    let mut add = |name: &str, channel: &str| {
        let b = Base {
            name: name.to_owned(),
            channel: channel.to_owned(),
            architectures: vec![arch.to_owned()],
        };
        if !out.contains(&b) {
            out.push(b);
        }
    };
    if let Some(list) = doc.get("bases").and_then(|b| b.as_array()) {
        for b in list {
            let run_on = b
                .get("run-on")
                .and_then(|r| r.as_array())
                .cloned()
                .unwrap_or_else(|| vec![b.clone()]);
            for r in run_on {
                if let (Some(n), Some(c)) = (
                    r.get("name").and_then(|v| v.as_str()),
                    r.get("channel").and_then(|v| v.as_str()),
                ) {
                    add(n, c);
                }
            }
        }
    }
    if let Some((n, c)) = doc
        .get("base")
        .and_then(|b| b.as_str())
        .and_then(|b| b.split_once('@'))
    {
        add(n, c);
    }
    if out.is_empty() {
        bail!(
            "{} declares no base (`bases:` with `run-on`, or `base: ubuntu@24.04`)",
            path.display()
        );
    }
    Ok(out)
}

/// The pip requirements of the charm: `requirements.txt` lines, else `pyproject.toml`'s
/// dependencies with uv path sources resolved to absolute paths.
fn requirements(dir: &Path) -> anyhow::Result<Vec<String>> {
    let txt = dir.join("requirements.txt");
    if txt.is_file() {
        return Ok(vec!["-r".to_owned(), txt.to_string_lossy().into_owned()]);
    }
    let pyproject = dir.join("pyproject.toml");
    if !pyproject.is_file() {
        bail!(
            "{} has neither requirements.txt nor pyproject.toml: nothing says which packages (ops at least) the charm needs",
            dir.display()
        );
    }
    let text = fs::read_to_string(&pyproject)
        .with_context(|| format!("reading {}", pyproject.display()))?;
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", pyproject.display()))?;
    let deps: Vec<String> = doc
        .get("project")
        .and_then(|p| p.get("dependencies"))
        .and_then(|d| d.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let sources: BTreeMap<String, PathBuf> = doc
        .get("tool")
        .and_then(|t| t.get("uv"))
        .and_then(|u| u.get("sources"))
        .and_then(|s| s.as_table())
        .map(|t| {
            t.iter()
                .filter_map(|(name, spec)| {
                    let path = spec.get("path")?.as_str()?;
                    Some((normalise(name), dir.join(path)))
                })
                .collect()
        })
        .unwrap_or_default();
    deps.into_iter()
        .map(|dep| {
            let name = normalise(requirement_name(&dep));
            match sources.get(&name) {
                Some(path) => {
                    let path = path
                        .canonicalize()
                        .with_context(|| format!("the uv source of {dep:?}: {}", path.display()))?;
                    Ok(path.to_string_lossy().into_owned())
                }
                None => Ok(dep),
            }
        })
        .collect()
}

/// The distribution name at the start of a requirement (`ops>=2` -> `ops`).
fn requirement_name(req: &str) -> &str {
    let end = req
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(req.len());
    &req[..end]
}

/// PEP 503 normalised name.
fn normalise(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

fn pip_install(requirements: &[String], target: &Path) -> anyhow::Result<()> {
    let python = std::env::var_os(PACK_PYTHON_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/python3"));
    let out = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-warn-script-location",
            "--target",
        ])
        .arg(target)
        .args(requirements)
        .output()
        .with_context(|| format!("running {} -m pip", python.display()))?;
    if !out.status.success() {
        bail!(
            "pip could not install the charm's requirements ({}):\n{}",
            requirements.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Every file under `root` as an entry named `prefix/<relative path>`, symlinks followed,
/// executables kept executable, `__pycache__` of the source left out.
fn tree_entries(root: &Path, prefix: &str, entries: &mut Vec<Entry>) -> anyhow::Result<()> {
    let mut stack = vec![(root.to_path_buf(), prefix.to_owned())];
    while let Some((dir, name)) = stack.pop() {
        let mut children: Vec<_> = fs::read_dir(&dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("reading {}", dir.display()))?;
        children.sort_by_key(|e| e.file_name());
        for child in children {
            let file_name = child.file_name().to_string_lossy().into_owned();
            let path = child.path();
            // Follows symlinks, as charmcraft's copy does.
            let meta =
                fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?;
            let entry_name = format!("{name}/{file_name}");
            if meta.is_dir() {
                if prefix == "src" && file_name == "__pycache__" {
                    continue;
                }
                stack.push((path, entry_name));
            } else if meta.is_file() {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = if meta.permissions().mode() & 0o111 != 0 {
                    0o755
                } else {
                    0o644
                };
                let data =
                    fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                entries.push(Entry {
                    name: entry_name,
                    data,
                    mode,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirement_names_are_found_and_normalised() {
        assert_eq!(requirement_name("ops>=2.0"), "ops");
        assert_eq!(
            requirement_name("charmlibs-interfaces-tls_certificates"),
            "charmlibs-interfaces-tls_certificates"
        );
        assert_eq!(
            requirement_name("cryptography; python_version>'3'"),
            "cryptography"
        );
        assert_eq!(
            normalise("charmlibs-interfaces-tls_certificates"),
            "charmlibs-interfaces-tls-certificates"
        );
    }

    #[test]
    fn uv_path_sources_become_local_paths() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("library")).unwrap();
        fs::write(
            dir.path().join("pyproject.toml"),
            "[project]\nname='c'\ndependencies=['ops', 'charmlibs-interfaces-tls_certificates']\n\
             [tool.uv.sources]\ncharmlibs-interfaces-tls_certificates = { path = \"library\", editable = true }\n",
        )
        .unwrap();
        let reqs = requirements(dir.path()).unwrap();
        assert_eq!(reqs[0], "ops");
        assert!(reqs[1].ends_with("/library"), "{reqs:?}");
    }

    #[test]
    fn bases_come_from_either_charmcraft_form() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("charmcraft.yaml"),
            "bases:\n  - build-on: [{name: ubuntu, channel: '22.04'}]\n    run-on: [{name: ubuntu, channel: '22.04'}]\n",
        )
        .unwrap();
        assert_eq!(bases_of(dir.path()).unwrap()[0].channel, "22.04");
        fs::write(dir.path().join("charmcraft.yaml"), "base: ubuntu@24.04\n").unwrap();
        assert_eq!(bases_of(dir.path()).unwrap()[0].channel, "24.04");
        fs::write(dir.path().join("charmcraft.yaml"), "name: x\n").unwrap();
        assert!(bases_of(dir.path()).is_err());
    }
}
