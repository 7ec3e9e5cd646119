//! Python for the test charms, shared by the test binaries (included with `#[path]`): the
//! `python3` a hook finds on Juju's PATH, and `pip install --target` directories made once per
//! target dir and shared by every test process.
// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `python3` a hook finds on Juju's PATH (system dirs, not the caller's).
pub(crate) fn hook_python() -> PathBuf {
    for dir in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        let p = Path::new(dir).join("python3");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "no python3 in the system directories of a hook's PATH: apt-get install python3 python3-pip"
    );
}

/// How a [`pip_target`] directory is finished.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finish {
    /// Used as is.
    Plain,
    /// Byte-compiled, then made read-only: units share it as their `venv/` and must not write
    /// `__pycache__` into it.
    SharedReadOnly,
}

/// `pip install --target` of `args` (packages, or `-r FILE`) with the hook's python3, into
/// `$CARGO_TARGET_TMPDIR/<area>/<key>`, once: a `.complete` marker names a finished install,
/// and concurrent test processes race by renaming their staging directory into place.
pub(crate) fn pip_target<S: AsRef<OsStr>>(
    area: &str,
    key: &str,
    args: &[S],
    finish: Finish,
) -> PathBuf {
    // One install at a time in this process; across processes the rename below decides.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(area);
    let dir = base.join(key);
    if dir.join(".complete").exists() {
        return dir;
    }
    std::fs::create_dir_all(&base).expect("pip target base dir");
    let staging = base.join(format!("{key}.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let out = Command::new(hook_python())
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-warn-script-location",
            "--target",
        ])
        .arg(&staging)
        .args(args)
        .output()
        .expect("running pip");
    assert!(
        out.status.success(),
        "pip install {:?} failed (scripts/test installs python3-pip; the machine needs PyPI \
         access):\n{}",
        args.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    if finish == Finish::SharedReadOnly {
        let compiled = Command::new(hook_python())
            .args(["-m", "compileall", "-q"])
            .arg(&staging)
            .output()
            .expect("compileall");
        assert!(compiled.status.success(), "compileall failed");
    }
    std::fs::write(staging.join(".complete"), "").expect("marker");
    if finish == Finish::SharedReadOnly {
        let st = Command::new("chmod")
            .args(["-R", "a-w"])
            .arg(&staging)
            .status()
            .expect("chmod");
        assert!(st.success(), "chmod -R a-w {}", staging.display());
    }
    // Another test process may have won the race; either copy is complete.
    if std::fs::rename(&staging, &dir).is_err() {
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+w")
            .arg(&staging)
            .status();
        let _ = std::fs::remove_dir_all(&staging);
    }
    dir
}

/// A short stable tag of `bytes` (FNV-1a), to name an install after what it installs.
pub(crate) fn tag(bytes: &[u8]) -> String {
    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{h:016x}")
}
