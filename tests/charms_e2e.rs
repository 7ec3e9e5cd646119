//! The self-signed-certificates and tls-demo charms end to end under the local model, driven
//! through the CLI as a user would: provider leader change, requirer scale up and down, a CA
//! request refused then granted by `allow-ca-requests`, invalid config; and the scale
//! benchmark's test charm (`tests/charms/cert-requirer`), so the benchmark cannot rot. Every
//! chain a unit holds is checked with `openssl verify -x509_strict` at the model's virtual time.
//! Each test destroys its model (and the workload processes) when it ends.

use std::path::PathBuf;
use std::process::{Command, Output};

#[path = "common/staged.rs"]
mod staged;
use staged::staged_charm;

struct LocalModel {
    data: tempfile::TempDir,
}

impl LocalModel {
    fn new() -> Self {
        let m = Self {
            // Data dirs must be private (0700): the model refuses others.
            data: tempfile::Builder::new()
                .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
                .tempdir()
                .unwrap(),
        };
        m.ok(&["model", "add", "e2e"]);
        m
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_juju-tls"))
            .env("JUJU_TLS_DATA_DIR", self.data.path())
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "juju-tls {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn deploy(&self, name: &str, extra: &[&str]) {
        let dir = staged_charm(self.data.path(), name);
        let mut args = vec!["deploy", dir.to_str().unwrap()];
        args.extend(extra);
        self.ok(&args);
    }

    fn status(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).unwrap()
    }

    fn unit_message(&self, unit: &str) -> String {
        let status = self.status();
        status["applications"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["units"].as_array().unwrap().iter())
            .find(|u| u["name"] == unit)
            .map(|u| {
                format!(
                    "{} {}",
                    u["workload"].as_str().unwrap(),
                    u["message"].as_str().unwrap()
                )
            })
            .unwrap_or_default()
    }

    fn tls_dir(&self, unit: &str) -> PathBuf {
        self.data
            .path()
            .join("models/e2e/units")
            .join(unit.replace('/', "-"))
            .join("charm/tls")
    }

    fn now(&self) -> i64 {
        let t = self.status()["time"].as_str().unwrap().to_owned();
        time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp()
    }

    fn verify(&self, unit: &str, cert: &str) {
        let dir = self.tls_dir(unit);
        let out = Command::new("openssl")
            .args([
                "verify",
                "-x509_strict",
                "-attime",
                &self.now().to_string(),
                "-CAfile",
            ])
            .arg(dir.join("ca.pem"))
            .arg(dir.join(cert))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{unit} {cert}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn probe(&self, unit: &str) -> String {
        self.ok(&["run", unit, "probe"])
    }
}

impl Drop for LocalModel {
    fn drop(&mut self) {
        let _ = self.run(&["model", "destroy", "e2e"]);
    }
}

#[test]
fn provider_leader_change_and_requirer_scaling() {
    let m = LocalModel::new();
    m.deploy("self-signed-certificates", &["-n", "2"]);
    // Every model leases its own loopback block: the default port, whatever else serves.
    m.deploy("tls-demo", &["-n", "2"]);
    m.ok(&[
        "integrate",
        "tls-demo:certificates",
        "self-signed-certificates:certificates",
    ]);
    assert!(m.probe("tls-demo/0").contains("1/1 peers ok"));
    m.verify("tls-demo/0", "unit.crt");
    m.verify("tls-demo/0", "app.crt");
    let ca_before = std::fs::read_to_string(m.tls_dir("tls-demo/0").join("ca.pem")).unwrap();
    assert!(
        m.unit_message("self-signed-certificates/1")
            .contains("standby"),
        "{}",
        m.unit_message("self-signed-certificates/1")
    );

    // Leadership moves to the other provider unit; it continues with the same CA.
    m.ok(&["set-leader", "self-signed-certificates/1"]);
    m.ok(&["add-unit", "tls-demo"]);
    let ca_new_unit = std::fs::read_to_string(m.tls_dir("tls-demo/2").join("ca.pem")).unwrap();
    assert_eq!(
        ca_new_unit, ca_before,
        "the new leader signs with the same CA"
    );
    m.verify("tls-demo/2", "unit.crt");
    assert!(m.probe("tls-demo/2").contains("2/2 peers ok"));

    // Scale down: the removed unit's certificate is withdrawn.
    let removed = std::fs::read_to_string(m.tls_dir("tls-demo/2").join("unit.crt")).unwrap();
    m.ok(&["remove-unit", "tls-demo/2"]);
    let issued = m.ok(&[
        "run",
        "self-signed-certificates/1",
        "get-issued-certificates",
        "--json",
    ]);
    let issued: serde_json::Value = serde_json::from_str(&issued).unwrap();
    // The published charm's bytes: Python's str() of a list of JSON strings, read by Python.
    let out = Command::new("python3")
        .args([
            "-c",
            "import ast,json,sys; sys.stdout.write(json.dumps(ast.literal_eval(sys.argv[1])))",
            issued["results"]["certificates"].as_str().unwrap(),
        ])
        .output()
        .unwrap();
    let list: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    let certificates: Vec<String> = list
        .iter()
        .map(|c| {
            let v: serde_json::Value = serde_json::from_str(c).unwrap();
            v["certificate"].as_str().unwrap().trim().to_owned()
        })
        .collect();
    assert!(
        !certificates.contains(&removed.trim().to_owned()),
        "the removed unit's certificate is still issued"
    );
    assert_eq!(list.len(), 3, "two unit certificates and the app's");

    // A port another process holds blocks the unit (no failed hook); a free one serves again,
    // and peers learn the new port.
    let address = m.status()["applications"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["units"].as_array().unwrap().iter())
        .find(|u| u["name"] == "tls-demo/0")
        .and_then(|u| u["address"].as_str())
        .unwrap()
        .to_owned();
    let squatter = std::net::TcpListener::bind(format!("{address}:9445")).unwrap();
    m.ok(&["config", "tls-demo", "port=9445"]);
    let blocked = m.unit_message("tls-demo/0");
    assert!(
        blocked.starts_with("blocked") && blocked.contains(&format!("{address}:9445")),
        "{blocked}"
    );
    drop(squatter);
    m.ok(&["config", "tls-demo", "port=9446"]);
    assert!(m.unit_message("tls-demo/0").starts_with("active"));
    assert!(m.probe("tls-demo/1").contains("1/1 peers ok"));
}

#[test]
fn ca_requests_follow_the_option_and_invalid_config_loses_nothing() {
    let m = LocalModel::new();
    m.deploy("self-signed-certificates", &[]);
    m.deploy("tls-demo", &["--config", "request-ca-certificate=true"]);
    m.ok(&[
        "integrate",
        "tls-demo:certificates",
        "self-signed-certificates:certificates",
    ]);
    m.ok(&[
        "integrate",
        "tls-demo:receive-ca-cert",
        "self-signed-certificates:send-ca-cert",
    ]);
    let message = m.unit_message("tls-demo/0");
    assert!(
        message.contains("denied") && message.contains("allow-ca-requests"),
        "{message}"
    );

    m.ok(&[
        "config",
        "self-signed-certificates",
        "allow-ca-requests=true",
    ]);
    let message = m.unit_message("tls-demo/0");
    assert!(
        message.contains("CA certificate") && message.contains("granted"),
        "{message}"
    );
    m.verify("tls-demo/0", "app-ca.crt");
    let ca_cert = std::fs::read_to_string(m.tls_dir("tls-demo/0").join("app-ca.crt")).unwrap();
    assert!(pki::Certificate::from_pem(&ca_cert).unwrap().info().is_ca);

    let before = std::fs::read_to_string(m.tls_dir("tls-demo/0").join("unit.crt")).unwrap();
    m.ok(&[
        "config",
        "self-signed-certificates",
        "certificate-validity=1y",
        "ca-country-name=France",
    ]);
    let message = m.unit_message("self-signed-certificates/0");
    assert!(
        message.starts_with("blocked")
            && message.contains("certificate-validity")
            && message.contains("ca-country-name"),
        "{message}"
    );
    m.ok(&["run", "tls-demo/0", "probe"]);
    assert_eq!(
        std::fs::read_to_string(m.tls_dir("tls-demo/0").join("unit.crt")).unwrap(),
        before,
        "nothing issued was lost"
    );
    m.verify("tls-demo/0", "unit.crt");
}

#[test]
fn the_scale_benchmarks_requirer_gets_a_p256_certificate_per_unit() {
    let m = LocalModel::new();
    m.deploy("self-signed-certificates", &[]);
    m.deploy("cert-requirer", &["-n", "3"]);
    m.ok(&[
        "integrate",
        "cert-requirer:certificates",
        "self-signed-certificates:certificates",
    ]);
    let mut serials = std::collections::BTreeSet::new();
    for unit in ["cert-requirer/0", "cert-requirer/1", "cert-requirer/2"] {
        let message = m.unit_message(unit);
        let serial = message
            .strip_prefix("active certificate ")
            .unwrap_or_else(|| panic!("{unit}: {message}"));
        serials.insert(serial.to_owned());
        m.verify(unit, "unit.crt");
        let pem = std::fs::read_to_string(m.tls_dir(unit).join("unit.crt")).unwrap();
        let text = Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(m.tls_dir(unit).join("unit.crt"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains("prime256v1"),
            "{unit}: not a P-256 key:\n{text}"
        );
        let name = unit.replace('/', "-");
        assert!(
            text.contains(&format!("CN={name}")) || text.contains(&format!("CN = {name}")),
            "{text}"
        );
        assert_eq!(
            pki::Certificate::from_pem(&pem).unwrap().info().serial,
            serial,
            "{unit}: the status names the certificate it wrote"
        );
    }
    assert_eq!(serials.len(), 3, "one certificate per unit: {serials:?}");
}
