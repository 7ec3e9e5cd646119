//! The README's main job, run as a user runs it: `juju-tls demo` on a fresh local model, then
//! every chain the demo's units hold is checked by `openssl verify -x509_strict` at the model's
//! virtual time. The model is destroyed afterwards (its workload processes with it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Model {
    data: tempfile::TempDir,
    name: &'static str,
}

impl Model {
    fn juju_tls(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_juju-tls"))
            .env("JUJU_TLS_DATA_DIR", self.data.path())
            .args(args)
            .output()
            .unwrap()
    }

    fn unit_dir(&self, unit: &str) -> PathBuf {
        self.data
            .path()
            .join("models")
            .join(self.name)
            .join("units")
            .join(unit.replace('/', "-"))
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        let _ = self.juju_tls(&["model", "destroy", self.name]);
    }
}

fn openssl_verify(dir: &Path, at: i64) {
    let out = Command::new("openssl")
        .args([
            "verify",
            "-x509_strict",
            "-purpose",
            "sslserver",
            "-attime",
            &at.to_string(),
            "-CAfile",
        ])
        .arg(dir.join("ca.pem"))
        .arg(dir.join("unit.crt"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_demo_runs_end_to_end_and_every_chain_verifies() {
    let model = Model {
        // Data dirs must be private (0700): the model refuses others.
        data: tempfile::Builder::new()
            .permissions(
                <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
            )
            .tempdir()
            .unwrap(),
        name: "demo-test",
    };
    let out = model.juju_tls(&["demo", "--model", model.name]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.matches("2/2 peers ok").count(),
        3 * 3 + 3,
        "three probe rounds of three units, and the final table:\n{stdout}"
    );
    assert!(stdout.contains("3/3 unit certificates renewed"), "{stdout}");

    let status: serde_json::Value = serde_json::from_slice(
        &model
            .juju_tls(&["status", "-m", model.name, "--json"])
            .stdout,
    )
    .unwrap();
    let now = time::OffsetDateTime::parse(
        status["time"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    for unit in ["tls-demo/0", "tls-demo/1"] {
        let tls = model.unit_dir(unit).join("charm/tls");
        openssl_verify(&tls, now.unix_timestamp());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(tls.join("unit.key"))
                .unwrap()
                .permissions(),
        ) & 0o777;
        assert_eq!(mode, 0o600);
    }
}
