//! Writes a charm's files as a `.charm` zip, and optionally as a directory.
//!
//! Juju unpacks a charm with the unix modes stored in the zip, so `dispatch` and the binary must
//! carry 0755 there or no hook ever runs. Like charmcraft, the archive holds files only (no
//! directory entries), deflated. Entries carry the zip format's earliest timestamp, so the same
//! inputs give the same bytes (the manifest's pack time aside).

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

/// One file of the charm: its path inside the charm, its content and its unix mode.
pub(crate) struct Entry {
    /// Relative path with `/` separators (`bin/self-signed-certificates`).
    pub(crate) name: String,
    /// The file's bytes.
    pub(crate) data: Vec<u8>,
    /// Unix permission bits (0o644, 0o755).
    pub(crate) mode: u32,
}

/// Writes `entries` to the zip file `path`, through a temporary file renamed into place so a
/// failed pack never leaves a truncated `.charm` where a good one was.
pub(crate) fn write_zip(path: &Path, entries: &[Entry]) -> anyhow::Result<()> {
    let tmp = temporary_sibling(path)?;
    let result = write_zip_to(&tmp, entries).and_then(|()| {
        fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_zip_to(path: &Path, entries: &[Entry]) -> anyhow::Result<()> {
    let file = fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut zip = ZipWriter::new(file);
    for entry in entries {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .unix_permissions(entry.mode);
        zip.start_file(entry.name.as_str(), options)
            .with_context(|| format!("adding {} to {}", entry.name, path.display()))?;
        zip.write_all(&entry.data)
            .with_context(|| format!("writing {} to {}", entry.name, path.display()))?;
    }
    let file = zip
        .finish()
        .with_context(|| format!("finishing {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
}

/// Writes `entries` under `dir` with their modes: the charm as Juju would unpack it. `dir` must
/// not exist or be empty, so nothing of an older charm is left mixed in.
pub(crate) fn write_dir(dir: &Path, entries: &[Entry]) -> anyhow::Result<()> {
    if dir.exists() {
        let mut items = fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        if items.next().is_some() {
            bail!("{} exists and is not empty", dir.display());
        }
    }
    for entry in entries {
        let path = dir.join(&entry.name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&path, &entry.data).with_context(|| format!("writing {}", path.display()))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(entry.mode))
            .with_context(|| format!("setting the mode of {}", path.display()))?;
    }
    Ok(())
}

fn temporary_sibling(path: &Path) -> anyhow::Result<PathBuf> {
    let name = path
        .file_name()
        .with_context(|| format!("{} has no file name", path.display()))?;
    let mut tmp = std::ffi::OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".{}.tmp", std::process::id()));
    Ok(path.with_file_name(tmp))
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn entries() -> Vec<Entry> {
        vec![
            Entry {
                name: "dispatch".into(),
                data: b"#!/bin/sh\n".to_vec(),
                mode: 0o755,
            },
            Entry {
                name: "bin/x".into(),
                data: vec![7; 10_000],
                mode: 0o755,
            },
            Entry {
                name: "metadata.yaml".into(),
                data: b"name: x\n".to_vec(),
                mode: 0o644,
            },
        ]
    }

    #[test]
    fn zip_keeps_names_contents_and_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.charm");
        write_zip(&path, &entries()).unwrap();
        let mut zip = zip::ZipArchive::new(fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(zip.len(), 3);
        for want in entries() {
            let mut file = zip.by_name(&want.name).unwrap();
            assert_eq!(
                file.unix_mode().map(|m| m & 0o7777),
                Some(want.mode),
                "{}",
                want.name
            );
            assert!(file.is_file());
            assert_eq!(file.compression(), CompressionMethod::Deflated);
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            assert_eq!(data, want.data);
        }
        // Only the archive is left behind, no temporary file.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn same_entries_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.charm"), dir.path().join("b.charm"));
        write_zip(&a, &entries()).unwrap();
        write_zip(&b, &entries()).unwrap();
        assert_eq!(fs::read(a).unwrap(), fs::read(b).unwrap());
    }

    #[test]
    fn directory_gets_the_same_files_and_must_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("charm");
        write_dir(&out, &entries()).unwrap();
        for want in entries() {
            let path = out.join(&want.name);
            assert_eq!(fs::read(&path).unwrap(), want.data);
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
            assert_eq!(mode, want.mode, "{}", want.name);
        }
        let err = write_dir(&out, &entries()).unwrap_err().to_string();
        assert!(err.contains("not empty"), "{err}");
    }
}
