//! The certificate files the workload reads. Written atomically (temp file + rename) and only when
//! their content changes, so the server reloads exactly when something new arrived; the key is
//! created with mode 0600 from the start.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Names of the files in the TLS directory.
pub const UNIT_CERT: &str = "unit.crt";
/// The unit certificate's chain (leaf first).
pub const UNIT_CHAIN: &str = "unit-chain.pem";
/// The unit's private key (0600).
pub const UNIT_KEY: &str = "unit.key";
/// The application certificate (leader only).
pub const APP_CERT: &str = "app.crt";
/// The application certificate's chain (leader first, leader only).
pub const APP_CHAIN: &str = "app-chain.pem";
/// The application key (leader only, 0600).
pub const APP_KEY: &str = "app.key";
/// Every CA this unit trusts.
pub const CA_BUNDLE: &str = "ca.pem";

/// Which certificate a unit serves and presents to its peers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identity {
    /// The unit's own certificate (modes `unit` and `app-and-unit`).
    Unit,
    /// The application's certificate, which only the leader holds (mode `app`).
    App,
}

impl Identity {
    /// The certificate file of this identity.
    pub fn cert_file(self) -> &'static str {
        match self {
            Self::Unit => UNIT_CERT,
            Self::App => APP_CERT,
        }
    }

    /// The chain file (leaf first) of this identity.
    pub fn chain_file(self) -> &'static str {
        match self {
            Self::Unit => UNIT_CHAIN,
            Self::App => APP_CHAIN,
        }
    }

    /// The key file of this identity.
    pub fn key_file(self) -> &'static str {
        match self {
            Self::Unit => UNIT_KEY,
            Self::App => APP_KEY,
        }
    }

    /// The spelling of the server's `--identity` flag.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unit => "unit",
            Self::App => "app",
        }
    }
}

impl std::str::FromStr for Identity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "unit" => Ok(Self::Unit),
            "app" => Ok(Self::App),
            other => Err(format!("unknown identity {other:?} (unit or app)")),
        }
    }
}

/// The TLS directory of a unit: `<charm dir>/tls`.
pub fn tls_dir(charm_dir: &Path) -> PathBuf {
    charm_dir.join("tls")
}

/// Writes `content` to `dir/name` with `mode` if it differs; says whether it changed.
pub fn write_if_changed(dir: &Path, name: &str, content: &str, mode: u32) -> std::io::Result<bool> {
    let path = dir.join(name);
    if fs::read_to_string(&path).is_ok_and(|old| old == content) {
        return Ok(false);
    }
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
    fs::rename(&tmp, &path)?;
    Ok(true)
}
