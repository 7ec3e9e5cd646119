//! The system trust store: CA files in a directory (`/usr/local/share/ca-certificates/` on
//! Debian and Ubuntu), then `update-ca-certificates` to rebuild `/etc/ssl/certs`. The root is
//! overridable; when [`TRUST_STORE_ENV`] names one (the local model sets it per unit), the files
//! go there and no command runs, so nothing touches the host's store.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::Error;

/// Environment variable naming a private trust-store directory. Set by the local model for each
/// unit (`<unit dir>/trust-store`); unset on a real machine, where the system store is used.
pub const TRUST_STORE_ENV: &str = "JUJU_TLS_TRUST_STORE_DIR";

/// Debian's directory for locally added CAs (files must end in `.crt`).
pub const SYSTEM_TRUST_STORE: &str = "/usr/local/share/ca-certificates";

/// The command that rebuilds the system store from [`SYSTEM_TRUST_STORE`].
const UPDATE_COMMAND: &str = "update-ca-certificates";

/// Where CA certificates are installed, and whether the store is rebuilt afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustStore {
    root: PathBuf,
    update_command: Option<String>,
}

impl TrustStore {
    /// The machine's store: [`SYSTEM_TRUST_STORE`], then `update-ca-certificates` when it is
    /// installed.
    pub fn system() -> Self {
        Self {
            root: PathBuf::from(SYSTEM_TRUST_STORE),
            update_command: Some(UPDATE_COMMAND.to_owned()),
        }
    }

    /// A directory of CA files and nothing more (no command runs): a private store for tests,
    /// or a workload that reads its trust from a directory.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            update_command: None,
        }
    }

    /// [`TrustStore::at`] the directory [`TRUST_STORE_ENV`] names, else [`TrustStore::system`].
    pub fn from_env() -> Self {
        Self::from_var(std::env::var_os(TRUST_STORE_ENV).map(PathBuf::from))
    }

    fn from_var(value: Option<PathBuf>) -> Self {
        match value.filter(|v| !v.as_os_str().is_empty()) {
            Some(root) => Self::at(root),
            None => Self::system(),
        }
    }

    /// The directory CA files go to.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the store is rebuilt by a command after a change (the system store).
    pub fn runs_update(&self) -> bool {
        self.update_command.is_some()
    }

    /// The file of CA number `n` of `name` (the application): `<name>.crt` for the first, as
    /// the reactive layer names it, `<name>-<n>.crt` for more (a CA rotation in progress).
    pub(crate) fn file(&self, name: &str, n: usize) -> PathBuf {
        match n {
            0 => self.root.join(format!("{name}.crt")),
            n => self.root.join(format!("{name}-{n}.crt")),
        }
    }

    /// Rebuilds the store after files changed. A missing command is not an error (a machine
    /// without `ca-certificates`): the files are in place, and `Ok(false)` says nothing ran.
    pub(crate) fn update(&self) -> Result<bool, Error> {
        let Some(cmd) = &self.update_command else {
            return Ok(false);
        };
        match Command::new(cmd).output() {
            Ok(out) if out.status.success() => Ok(true),
            Ok(out) => Err(Error::TrustStore(format!(
                "{cmd} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::TrustStore(format!("cannot run {cmd}: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_picks_a_private_root_without_a_command() {
        let private = TrustStore::from_var(Some("/tmp/u0/trust-store".into()));
        assert_eq!(private.root(), Path::new("/tmp/u0/trust-store"));
        assert!(!private.runs_update());
        assert!(!private.update().unwrap());
        for unset in [None, Some(PathBuf::new())] {
            let system = TrustStore::from_var(unset);
            assert_eq!(system.root(), Path::new(SYSTEM_TRUST_STORE));
            assert!(system.runs_update());
        }
    }

    #[test]
    fn files_are_named_after_the_application() {
        let s = TrustStore::at("/r");
        assert_eq!(s.file("web", 0), Path::new("/r/web.crt"));
        assert_eq!(s.file("web", 2), Path::new("/r/web-2.crt"));
    }

    #[test]
    fn a_missing_command_is_not_an_error_and_a_failing_one_is() {
        let missing = TrustStore {
            root: "/r".into(),
            update_command: Some("/nonexistent/update-ca-certificates".into()),
        };
        assert!(!missing.update().unwrap());
        let failing = TrustStore {
            root: "/r".into(),
            update_command: Some("false".into()),
        };
        assert!(matches!(failing.update(), Err(Error::TrustStore(_))));
    }
}
