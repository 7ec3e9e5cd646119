//! Packs a Rust charm directory into a `.charm` file a real Juju controller can deploy.
//!
//! A Rust charm source directory (`charms/<name>/`) holds `Cargo.toml`, `charmcraft.yaml`, a
//! `dispatch` script that execs `bin/<name>`, and `src/`. The packed charm holds what Juju reads
//! and runs: `metadata.yaml`, `config.yaml` and `actions.yaml` rendered from `charmcraft.yaml`
//! (see [`render`]), `charmcraft.yaml` itself, `manifest.yaml` with the bases the binary can run
//! on (see [`bases`]), `dispatch`, `bin/<name>`, and `README.md` / `LICENSE` when present.
//!
//! This is charmcraft's job for Python charms; doing it here avoids charmcraft's build container
//! for a charm that is one executable, and lets `juju-tls demo` build its charms itself. Python
//! `ops` charms are packed too ([`python`]), with pip instead of charmcraft's build container.

mod archive;
mod bases;
mod cargo;
mod elf;
mod python;
mod render;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) use bases::Base;
pub(crate) use elf::GlibcVersion;
pub(crate) use python::{PackedPython, is_python_charm, pack as pack_python};

use archive::Entry;

/// How to get the charm binary and what else to write.
#[derive(Debug, Clone)]
pub(crate) struct PackOptions {
    /// Run `cargo build` first (a no-op when the binary is fresh). When false, the binary
    /// already in the target directory is packed as it is: tests reuse the one release build.
    pub(crate) build: bool,
    /// The cargo profile of the binary (`release`).
    pub(crate) profile: String,
    /// Also write the charm's files, as Juju unpacks them, into this directory (which must not
    /// exist or be empty), or into `<dir>/<name>` when several charms are packed: the local model
    /// deploys such a directory without unzipping.
    pub(crate) unpack_to: Option<PathBuf>,
}

impl Default for PackOptions {
    fn default() -> Self {
        Self {
            build: true,
            profile: "release".to_owned(),
            unpack_to: None,
        }
    }
}

/// What [`pack_all`] wrote for one charm.
#[derive(Debug, Clone)]
pub(crate) struct PackedCharm {
    /// The `.charm` file: `<out>/<name>_<base>[_<base>…].charm`.
    pub(crate) path: PathBuf,
    /// The charm name from `charmcraft.yaml`.
    pub(crate) name: String,
    /// The bases declared in `manifest.yaml`, oldest first.
    pub(crate) bases: Vec<Base>,
    /// The newest glibc symbol version the binary needs.
    pub(crate) glibc: GlibcVersion,
    /// The binary that was packed (in the cargo target directory).
    pub(crate) binary: PathBuf,
    /// The unpacked copy, when [`PackOptions::unpack_to`] asked for one.
    pub(crate) unpacked_dir: Option<PathBuf>,
}

/// Builds (unless told not to) and packs the Rust charms in `charm_dirs`, all of one cargo
/// workspace, each into a `.charm` file in `out` (created if missing), replacing files of the
/// same names. One `cargo build` builds every binary, so the crates they share are built once;
/// every charm is checked before anything is built. Returns what was written, in order.
pub(crate) fn pack_all(
    charm_dirs: &[&Path],
    out: &Path,
    opts: &PackOptions,
) -> anyhow::Result<Vec<PackedCharm>> {
    let sources = charm_dirs
        .iter()
        .map(|dir| Source::read(dir))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let packages: Vec<cargo::CharmPackage> = sources.iter().map(|s| s.package.clone()).collect();
    let binaries = if opts.build {
        cargo::build(&packages, &opts.profile)?
    } else {
        packages
            .iter()
            .map(|p| cargo::existing_binary(p, &opts.profile))
            .collect::<anyhow::Result<_>>()?
    };
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let several = sources.len() > 1;
    sources
        .into_iter()
        .zip(binaries)
        .map(|(source, binary)| {
            let unpack_to = opts.unpack_to.as_ref().map(|dir| {
                if several {
                    dir.join(&source.project.name)
                } else {
                    dir.clone()
                }
            });
            source.pack(binary, out, unpack_to)
        })
        .collect()
}

/// A charm directory read and checked, before its binary exists.
struct Source {
    dir: PathBuf,
    project: render::Project,
    dispatch: Vec<u8>,
    package: cargo::CharmPackage,
}

impl Source {
    fn read(dir: &Path) -> anyhow::Result<Self> {
        let project = render::Project::load(dir)?;
        let dispatch_path = dir.join("dispatch");
        let dispatch = fs::read(&dispatch_path).with_context(|| {
            format!(
                "reading {} (Juju runs it for every hook)",
                dispatch_path.display()
            )
        })?;
        let package = cargo::locate(dir, &project.name)?;
        check_dispatch(&dispatch, &format!("bin/{}", package.bin))
            .with_context(|| format!("in {}", dispatch_path.display()))?;
        Ok(Self {
            dir: dir.to_owned(),
            project,
            dispatch,
            package,
        })
    }

    /// Writes the `.charm` (and the unpacked copy) around `binary`.
    fn pack(
        self,
        binary: PathBuf,
        out: &Path,
        unpack_to: Option<PathBuf>,
    ) -> anyhow::Result<PackedCharm> {
        let binary_bytes =
            fs::read(&binary).with_context(|| format!("reading {}", binary.display()))?;
        let info =
            elf::inspect(&binary_bytes).with_context(|| format!("reading {}", binary.display()))?;
        // Static glibc would also defeat libfaketime, the local model's virtual clock.
        let glibc = info.glibc.with_context(|| {
            format!(
                "{} needs no GLIBC_2.x symbol version: it is not dynamically linked against glibc",
                binary.display()
            )
        })?;
        let bases = bases::for_glibc(glibc, info.architecture)
            .with_context(|| format!("checking {}", binary.display()))?;

        let started_at = OffsetDateTime::now_utc().format(&Rfc3339)?;
        let mut entries = juju_yaml_entries(&self.dir, &self.project)?;
        entries.push(Entry {
            name: "manifest.yaml".to_owned(),
            data: render::manifest_yaml(&bases, &started_at, "unknown", "unknown")?.into_bytes(),
            mode: 0o644,
        });
        entries.extend(copied_files(&self.dir)?);
        entries.push(Entry {
            name: "dispatch".to_owned(),
            data: self.dispatch,
            mode: 0o755,
        });
        entries.push(Entry {
            name: format!("bin/{}", self.package.bin),
            data: binary_bytes,
            mode: 0o755,
        });

        let platforms: Vec<String> = bases.iter().map(ToString::to_string).collect();
        let path = out.join(format!(
            "{}_{}.charm",
            self.project.name,
            platforms.join("_")
        ));
        archive::write_zip(&path, &entries)?;
        if let Some(dir) = &unpack_to {
            archive::write_dir(dir, &entries)?;
        }
        Ok(PackedCharm {
            path,
            name: self.project.name,
            bases,
            glibc,
            binary,
            unpacked_dir: unpack_to,
        })
    }
}

/// `charmcraft.yaml` (required), `README.md` and `LICENSE` (when present), packed as they are.
fn copied_files(charm_dir: &Path) -> anyhow::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for (name, required) in [
        ("charmcraft.yaml", true),
        ("README.md", false),
        ("LICENSE", false),
    ] {
        let path = charm_dir.join(name);
        if required || path.is_file() {
            let data = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            entries.push(Entry {
                name: name.to_owned(),
                data,
                mode: 0o644,
            });
        }
    }
    Ok(entries)
}

/// `metadata.yaml`, `config.yaml` and `actions.yaml`: a file of that name in the charm directory
/// is packed as it is (charmcraft does the same), otherwise it is rendered from `charmcraft.yaml`
/// and left out when there is nothing to put in it (config and actions only).
fn juju_yaml_entries(charm_dir: &Path, project: &render::Project) -> anyhow::Result<Vec<Entry>> {
    let rendered = [
        ("metadata.yaml", Some(project.metadata_yaml()?)),
        ("config.yaml", project.config_yaml()?),
        ("actions.yaml", project.actions_yaml()?),
    ];
    let mut entries = Vec::new();
    for (name, rendered) in rendered {
        let own = charm_dir.join(name);
        let data = if own.is_file() {
            fs::read(&own).with_context(|| format!("reading {}", own.display()))?
        } else if let Some(text) = rendered {
            text.into_bytes()
        } else {
            continue;
        };
        entries.push(Entry {
            name: name.to_owned(),
            data,
            mode: 0o644,
        });
    }
    Ok(entries)
}

/// Checks that `dispatch` ends by running the packed binary, named relative to the charm root.
///
/// Juju runs `dispatch` with the charm directory as the working directory. `charmcraft analyse`
/// and Charmhub find a charm's entrypoint as the last word of the last non-empty line of
/// `dispatch`, relative to the charm root, and report an error when no such file exists; a
/// script that ends in `exec "$here/bin/x"` runs fine but fails that check, so it is refused
/// here with the fix, before anything is built.
fn check_dispatch(dispatch: &[u8], bin_entry: &str) -> anyhow::Result<()> {
    let text = std::str::from_utf8(dispatch).context("dispatch is not UTF-8 text")?;
    if !text.starts_with("#!") {
        bail!("dispatch does not start with #! (Juju executes it directly)");
    }
    let last_word = text
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .and_then(|line| line.split_whitespace().last())
        .unwrap_or_default()
        .trim_matches(|c| c == '"' || c == '\'');
    if last_word.trim_start_matches("./") != bin_entry {
        bail!(
            "the last line of dispatch must end with the entrypoint relative to the charm \
             directory, `./{bin_entry}` (found {last_word:?}): charmcraft analyse and Charmhub \
             look for the entrypoint there; for example\n  \
             case $0 in */*) cd \"${{0%/*}}\" || exit 1 ;; esac\n  exec ./{bin_entry}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatch_must_name_the_binary_last() {
        let ok = "#!/bin/sh\ncase $0 in */*) cd \"${0%/*}\" || exit 1 ;; esac\nexec ./bin/x\n\n";
        check_dispatch(ok.as_bytes(), "bin/x").unwrap();
        check_dispatch(b"#!/bin/sh\nexec bin/x", "bin/x").unwrap();
        check_dispatch(b"#!/bin/sh\nexec 'bin/x'\n", "bin/x").unwrap();
        for bad in [
            "#!/bin/sh\nexec \"$here/bin/x\"\n",
            "#!/bin/sh\nexec ./bin/y\n",
            "#!/bin/sh\nexec ./bin/x\necho done\n",
            "exec ./bin/x\n",
            "",
        ] {
            assert!(check_dispatch(bad.as_bytes(), "bin/x").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn files_in_the_charm_directory_win_over_rendered_ones() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("charmcraft.yaml"),
            "name: x\nsummary: s\ndescription: d\nconfig:\n  options:\n    a: {type: int}\n",
        )
        .unwrap();
        let project = render::Project::load(dir.path()).unwrap();
        let names = |entries: &[Entry]| entries.iter().map(|e| e.name.clone()).collect::<Vec<_>>();
        let entries = juju_yaml_entries(dir.path(), &project).unwrap();
        assert_eq!(names(&entries), ["metadata.yaml", "config.yaml"]);
        assert!(String::from_utf8_lossy(&entries[1].data).contains("type: int"));

        let own = "options:\n  b: {type: string}\n";
        fs::write(dir.path().join("config.yaml"), own).unwrap();
        fs::write(dir.path().join("actions.yaml"), "go: {}\n").unwrap();
        let entries = juju_yaml_entries(dir.path(), &project).unwrap();
        assert_eq!(
            names(&entries),
            ["metadata.yaml", "config.yaml", "actions.yaml"]
        );
        assert_eq!(entries[1].data, own.as_bytes());
    }

    #[test]
    fn every_charm_of_the_repository_is_packable() {
        // Reading a source checks charmcraft.yaml, the cargo package and dispatch; nothing is
        // built. A new charm whose dispatch Charmhub would reject fails here.
        let charms = Path::new(env!("CARGO_MANIFEST_DIR")).join("charms");
        let mut read = 0;
        for entry in fs::read_dir(&charms).unwrap() {
            let dir = entry.unwrap().path();
            if dir.join("charmcraft.yaml").is_file() {
                if let Err(e) = Source::read(&dir) {
                    panic!("{}: {e:#}", dir.display());
                }
                read += 1;
            }
        }
        assert!(read >= 2, "found {read} charms in {}", charms.display());
    }
}
