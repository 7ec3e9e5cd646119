//! The README's main job, run as a user runs it: `juju-tls demo` on a fresh local model, then
//! every chain the demo's units hold is checked by `openssl verify -x509_strict` at the model's
//! virtual time. The model is destroyed afterwards (its workload processes with it).
//!
//! Meanwhile another model of the same charms, application names and ports serves in another
//! data dir (as the README's `demo` leaves one serving): models lease their own loopback blocks,
//! so both serve side by side.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/staged.rs"]
mod staged;

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

    fn ok(&self, args: &[&str]) -> String {
        let out = self.juju_tls(args);
        assert!(
            out.status.success(),
            "juju-tls {args:?}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn addresses(&self) -> Vec<String> {
        let st: serde_json::Value =
            serde_json::from_str(&self.ok(&["status", "-m", self.name, "--json"])).unwrap();
        st["applications"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["units"].as_array().unwrap().iter())
            .map(|u| u["address"].as_str().unwrap().to_owned())
            .collect()
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

/// A model like the demo's, serving: the same charms, application names and default port.
fn serving_neighbour() -> Model {
    let m = Model {
        // Data dirs must be private (0700): the model refuses others.
        data: tempfile::Builder::new()
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .unwrap(),
        name: "demo",
    };
    m.ok(&["model", "add", m.name]);
    for (charm, units) in [("self-signed-certificates", "1"), ("tls-demo", "3")] {
        let dir = staged::staged_charm(m.data.path(), charm);
        m.ok(&["deploy", dir.to_str().unwrap(), "-n", units]);
    }
    m.ok(&[
        "integrate",
        "tls-demo:certificates",
        "self-signed-certificates:certificates",
    ]);
    m
}

fn probe_neighbour(m: &Model) {
    for unit in ["tls-demo/0", "tls-demo/1", "tls-demo/2"] {
        let out = m.ok(&["run", unit, "probe"]);
        assert!(out.contains("2/2 peers ok"), "{unit}: {out}");
    }
}

#[test]
fn the_demo_runs_end_to_end_and_every_chain_verifies() {
    let neighbour = serving_neighbour();
    probe_neighbour(&neighbour);
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
        3 * 3,
        "three probe rounds of three units:\n{stdout}"
    );
    // The last round runs after tls-demo/2 is removed; the final table is the model at the end.
    assert_eq!(
        stdout.matches("1/1 peers ok").count(),
        2 + 2,
        "the last probe round of two units, and the final table:\n{stdout}"
    );
    let table = &stdout[stdout.rfind("certificate serial").expect("final table")..];
    let table = &table[..table.find("step").unwrap_or(table.len())];
    assert!(
        !table.contains("tls-demo/2"),
        "removed unit listed:\n{table}"
    );
    assert!(table.contains("tls-demo/1"), "{table}");
    // Both models served side by side, on disjoint addresses.
    probe_neighbour(&neighbour);
    let mine = model.addresses();
    assert!(
        neighbour.addresses().iter().all(|a| !mine.contains(a)),
        "{mine:?}"
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
