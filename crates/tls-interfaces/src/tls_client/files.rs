//! Files on the unit: written atomically (a temp file in the same directory, synced, renamed
//! over the target) with a fixed mode, so a workload never reads half a certificate and a key is
//! never readable by others, not even while it is being written. An existing file's owner and
//! group are kept (an operator may have given it to the workload's user).

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::os::unix::fs::{PermissionsExt as _, fchown};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Mode of certificates and CA files.
pub(crate) const PUBLIC: u32 = 0o644;
/// Mode of private keys.
pub(crate) const PRIVATE: u32 = 0o600;
/// Mode of directories this module creates (key files are 0600 whatever their directory).
const DIR: u32 = 0o755;

fn file_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::File {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Whether `path` holds exactly `content` with `mode`.
pub(crate) fn holds(path: &Path, content: &str, mode: u32) -> bool {
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    meta.permissions().mode() & 0o7777 == mode
        && fs::read(path).is_ok_and(|old| old == content.as_bytes())
}

/// Writes `content` to `path` with `mode` unless it already holds exactly that; says whether
/// it wrote. Missing parent directories are created (0755).
pub(crate) fn write_if_changed(path: &Path, content: &str, mode: u32) -> Result<bool, Error> {
    if holds(path, content, mode) {
        return Ok(false);
    }
    let (dir, name) = split(path)?;
    if !dir.is_dir() {
        create_dirs(dir)?;
    }
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    // A temp file left by a killed hook of the same pid would make create_new fail.
    let _ = fs::remove_file(&tmp);
    let written = write_tmp(&tmp, path, content, mode);
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    // The directory entry of the rename is durable too (best effort: some filesystems refuse
    // to sync a directory).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(true)
}

fn write_tmp(tmp: &Path, path: &Path, content: &str, mode: u32) -> Result<(), Error> {
    // Created 0600 whatever the final mode: a key is never readable by others, even half
    // written.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE)
        .open(tmp)
        .map_err(file_error("create", tmp))?;
    f.write_all(content.as_bytes())
        .map_err(file_error("write", tmp))?;
    if let Ok(old) = fs::metadata(path) {
        // Keeping the owner needs privileges a test run lacks; a file we may rewrite is ours.
        let _ = fchown(&f, Some(old.uid()), Some(old.gid()));
    }
    // Set explicitly: the hook's umask (0077 under the local model) must not decide it.
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(file_error("chmod", tmp))?;
    f.sync_all().map_err(file_error("sync", tmp))?;
    fs::rename(tmp, path).map_err(file_error("write", path))
}

/// Removes `path`; says whether it was there.
pub(crate) fn remove(path: &Path) -> Result<bool, Error> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(file_error("remove", path)(e)),
    }
}

/// The directory and file name of `path`.
fn split(path: &Path) -> Result<(&Path, String), Error> {
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => Ok((dir, name.to_string_lossy().into_owned())),
        _ => Err(Error::File {
            action: "write",
            path: path.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        }),
    }
}

/// Creates `dir` and its missing parents with mode 0755 (set explicitly, past the umask).
fn create_dirs(dir: &Path) -> Result<(), Error> {
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut d = Some(dir);
    while let Some(p) = d.filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
        missing.push(p.to_owned());
        d = p.parent();
    }
    for p in missing.iter().rev() {
        match fs::DirBuilder::new().mode(DIR).create(p) {
            Ok(()) => {}
            // Another process made it meanwhile: fine.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(file_error("create", p)(e)),
        }
        fs::set_permissions(p, fs::Permissions::from_mode(DIR)).map_err(file_error("chmod", p))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn writes_once_with_the_mode_asked_and_creates_parents() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("a/b/server.key");
        assert!(write_if_changed(&key, "secret\n", PRIVATE).unwrap());
        assert_eq!(fs::read_to_string(&key).unwrap(), "secret\n");
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&dir.path().join("a/b")), 0o755);
        assert!(
            !write_if_changed(&key, "secret\n", PRIVATE).unwrap(),
            "same content"
        );
        assert!(write_if_changed(&key, "other\n", PRIVATE).unwrap());
        // No temp file is left beside it.
        let names: Vec<_> = fs::read_dir(dir.path().join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("server.key")]);
    }

    #[test]
    fn a_wrong_mode_is_rewritten_and_a_certificate_is_world_readable() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("server.crt");
        fs::write(&cert, "cert\n").unwrap();
        fs::set_permissions(&cert, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(write_if_changed(&cert, "cert\n", PUBLIC).unwrap());
        assert_eq!(mode(&cert), 0o644);
        let key = dir.path().join("server.key");
        fs::write(&key, "key\n").unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(write_if_changed(&key, "key\n", PRIVATE).unwrap());
        assert_eq!(mode(&key), 0o600);
    }

    #[test]
    fn a_symlink_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        fs::write(&target, "keep\n").unwrap();
        let link = dir.path().join("server.key");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_if_changed(&link, "key\n", PRIVATE).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep\n");
        assert!(
            !fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn remove_says_whether_the_file_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.crt");
        assert!(!remove(&f).unwrap());
        fs::write(&f, "x").unwrap();
        assert!(remove(&f).unwrap());
        assert!(!f.exists());
    }

    #[test]
    fn a_path_without_a_file_name_is_an_error() {
        assert!(matches!(
            write_if_changed(Path::new("/"), "x", PUBLIC),
            Err(Error::File { .. })
        ));
    }
}
