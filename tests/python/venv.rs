//! The pinned test venv's Python and the JSON oracles beside this file, found one way by every
//! crate's tests and by the benchmarks (each includes this file with `#[path]`).
// Each includer uses its own part of this module.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root: the nearest ancestor of the including crate that holds `Cargo.lock`.
fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|dir| dir.join("Cargo.lock").exists())
        .unwrap_or(here)
        .to_path_buf()
}

/// `$JUJU_TLS_TEST_PYTHON`, else the `.venv` that `./scripts/test` creates at the workspace root.
pub(crate) fn python() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("JUJU_TLS_TEST_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let venv = workspace_root().join(".venv/bin/python");
    if venv.exists() {
        Ok(venv)
    } else {
        Err(format!(
            "no test venv at {}: run ./scripts/test, which creates it",
            venv.display()
        ))
    }
}

/// Runs `tests/python/<script>` with `input` as JSON on stdin and returns the JSON it prints.
pub(crate) fn oracle(script: &str, input: &serde_json::Value) -> Result<serde_json::Value, String> {
    let path = workspace_root().join("tests/python").join(script);
    let mut child = Command::new(python()?)
        .arg(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", path.display()))?;
    child
        .stdin
        .take()
        .ok_or("the oracle's stdin")?
        .write_all(input.to_string().as_bytes())
        .map_err(|e| format!("writing to {script}: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for {script}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{script} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{script} printed no JSON: {e}"))
}
