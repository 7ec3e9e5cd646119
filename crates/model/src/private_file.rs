//! Files only the model's owner may read: the store and hook output can hold private keys.

use std::fs::{File, OpenOptions, Permissions};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use crate::error::{Error, Result};

/// What to do with what a file already holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Existing {
    /// Keep it (the store).
    Keep,
    /// Empty it (one hook's output).
    Truncate,
}

/// Opens `path` for writing, created 0600; an existing file (one made by an older binary may be
/// 0644) is made 0600 too.
pub(crate) fn open(path: &Path, existing: Existing) -> Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).mode(0o600);
    match existing {
        Existing::Keep => options.append(true),
        Existing::Truncate => options.write(true).truncate(true),
    };
    let file = options
        .open(path)
        .map_err(|e| Error::io("creating", path, e))?;
    file.set_permissions(Permissions::from_mode(0o600))
        .map_err(|e| Error::io("securing", path, e))?;
    Ok(file)
}
