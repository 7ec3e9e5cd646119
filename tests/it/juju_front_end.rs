//! The `juju` front end driven by jubilant: `tests/jubilant/test_front_end.py` (pytest with
//! pytest-jubilant's `juju` fixture, pinned in tests/requirements.txt) runs with a `juju` link
//! to the binary first on PATH, in a private data dir, against our staged charms. Afterwards no
//! background settler of that data dir may be left running.

use std::path::Path;
use std::process::Command;

use crate::support::{self, charms::stage_rust_charm};

/// Processes whose environment names `data_dir` as their juju-tls data dir.
fn processes_of(data_dir: &Path) -> Vec<String> {
    let needle = format!("JUJU_TLS_DATA_DIR={}", data_dir.display());
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in entries.flatten() {
        let Ok(environ) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if environ.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            found.push(String::from_utf8_lossy(&cmd).replace('\0', " "));
        }
    }
    found
}

#[test]
fn jubilant_drives_every_verb_and_nothing_is_left_running() {
    let work = tempfile::tempdir().expect("tempdir");
    let data = support::private_dir();
    let charms = work.path().join("charms");
    for name in ["self-signed-certificates", "tls-demo"] {
        stage_rust_charm(work.path(), name);
    }
    let path = support::juju_on_path(work.path());
    let map = work.path().join("charmhub.yaml");
    std::fs::write(
        &map,
        format!(
            "self-signed-certificates: {}\n",
            charms.join("self-signed-certificates").display()
        ),
    )
    .expect("write map");
    let out = Command::new(support::venv_python())
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"])
        .arg(support::root().join("tests/jubilant/test_front_end.py"))
        .current_dir(work.path())
        .env("PATH", path)
        .env("JUJU_TLS_DATA_DIR", data.path())
        .env("JUJU_TLS_TEST_CHARMS", &charms)
        .env("JUJU_TLS_CHARMHUB_MAP", &map)
        .env("NO_COLOR", "1")
        .output()
        .expect("running pytest");
    let stdout = support::text(&out.stdout);
    assert!(
        out.status.success(),
        "pytest failed ({}):\n{stdout}\n{}",
        out.status,
        support::text(&out.stderr)
    );
    assert!(stdout.contains("passed"), "{stdout}");
    let left = processes_of(data.path());
    assert!(left.is_empty(), "still running after the tests: {left:#?}");
}
