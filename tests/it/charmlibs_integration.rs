//! The integration tests `charmlibs-interfaces-tls-certificates` 1.12.0 ships, unmodified, on
//! the local model: the sdist is downloaded from PyPI (`pip download --no-binary :all:`, cached
//! under the cargo target dir, never committed), its test charms are packed with
//! `juju-tls pack` (the `local` variants install the library from the sdist itself, as its
//! `[tool.uv.sources]` says; the `published` ones from PyPI, pins from tests/requirements.txt),
//! and its pytest module runs with our `juju` first on PATH. Charmhub names resolve through the
//! front end's local map: `self-signed-certificates` and `manual-tls-certificates` are our
//! Rust charms.
//!
//! Left out, with the reason:
//! * the two `requirer-fetch-lib-*` upgrade cases: their charms are built with
//!   `charmcraft fetch-libs`, which downloads the library from Charmhub;
//! * the renewal case that sleeps 300 s (`JUJU_TLS_TEST_SLOW=1` runs it).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{self, charms::stage_rust_charm};

const SDIST: &str = "charmlibs-interfaces-tls-certificates==1.12.0";
const SDIST_DIR: &str = "charmlibs_interfaces_tls_certificates-1.12.0";

fn run(what: &str, cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    support::success(what, &out)
}

/// The unpacked sdist, downloaded once per target dir.
fn sdist() -> PathBuf {
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("charmlibs-sdist");
    let root = cache.join(SDIST_DIR);
    if root
        .join("tests/integration/test_tls_certificates.py")
        .is_file()
    {
        return root;
    }
    let download = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    run(
        "pip download of the sdist",
        Command::new(support::venv_python())
            .args([
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
            ])
            .args(["--disable-pip-version-check", "-d"])
            .arg(download.path())
            .arg(SDIST),
    );
    let tarball = download.path().join(format!("{SDIST_DIR}.tar.gz"));
    let unpacked = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    run(
        "unpacking the sdist",
        Command::new("tar")
            .arg("xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(unpacked.path()),
    );
    std::fs::create_dir_all(&cache).expect("mkdir");
    // Another test process may have won the race; either copy is the same.
    let _ = std::fs::rename(unpacked.path().join(SDIST_DIR), &root);
    root
}

/// `cp -rL` of a test charm, then `juju-tls pack` into `packed/<charm>-<variant>.charm`.
fn pack(sdist: &Path, work: &Path, charm: &str, variant: &str, packed: &Path) {
    let src = sdist.join(format!("tests/integration/charms/{variant}-{charm}-charm"));
    let dir = work.join(format!("{charm}-{variant}"));
    run(
        "copying a test charm",
        Command::new("cp").arg("-rL").arg(&src).arg(&dir),
    );
    if variant == "local" {
        std::os::unix::fs::symlink(sdist, dir.join("library")).expect("library link");
    }
    let out_dir = work.join(format!("out-{charm}-{variant}"));
    run(
        "juju-tls pack",
        support::juju_tls()
            .args(["pack", "--out"])
            .arg(&out_dir)
            .arg(&dir)
            .env(
                "PIP_CONSTRAINT",
                support::root().join("tests/requirements.txt"),
            ),
    );
    let file = std::fs::read_dir(&out_dir)
        .expect("pack output")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "charm"))
        .expect("a .charm was written");
    std::fs::rename(file, packed.join(format!("{charm}-{variant}.charm"))).expect("move");
}

#[test]
fn the_librarys_own_integration_tests_pass_on_the_local_model() {
    let sdist = sdist();
    let work = tempfile::tempdir().expect("tempdir");
    let data = support::private_dir();
    // The test module and its helpers, copied unmodified next to the packed charms they read.
    let tests = work.path().join("integration");
    run(
        "copying the integration tests",
        Command::new("cp")
            .arg("-rL")
            .arg(sdist.join("tests/integration"))
            .arg(&tests),
    );
    let packed = tests.join(".packed");
    std::fs::create_dir_all(&packed).expect("mkdir");
    for charm in ["provider", "requirer"] {
        for variant in ["local", "published"] {
            pack(&sdist, work.path(), charm, variant, &packed);
        }
    }
    let ours = work.path().join("ours");
    let map = work.path().join("charmhub.yaml");
    let mut names = String::new();
    for name in ["self-signed-certificates", "manual-tls-certificates"] {
        let dir = stage_rust_charm(&ours, name);
        names.push_str(&format!("{name}: {}\n", dir.display()));
    }
    std::fs::write(&map, names).expect("map");
    let path = support::juju_on_path(work.path());

    let mut deselect = vec![
        "test_tls_certificates.py::TestIntegration::test_given_charmhub_lib_app_mode_deployment_when_upgraded_then_certificate_is_preserved",
    ];
    if std::env::var("JUJU_TLS_TEST_SLOW").as_deref() != Ok("1") {
        deselect.push("test_tls_certificates.py::TestIntegration::test_given_4_min_certificate_validity_when_certificate_expires_then_certificate_is_automatically_renewed");
    }
    let mut cmd = Command::new(support::venv_python());
    cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA"])
        .arg("test_tls_certificates.py");
    for d in &deselect {
        cmd.args(["--deselect", d]);
    }
    let out = cmd
        .current_dir(&tests)
        .env("PATH", path)
        .env("JUJU_TLS_DATA_DIR", data.path())
        .env("JUJU_TLS_CHARMHUB_MAP", &map)
        .output()
        .expect("running pytest");
    let stdout = support::text(&out.stdout);
    assert!(
        out.status.success(),
        "pytest failed ({}):\n{stdout}\n{}",
        out.status,
        support::text(&out.stderr)
    );
    eprintln!("{stdout}");
    assert!(!stdout.contains(" failed"), "{stdout}");
}
