//! `tls_client` end to end: the tls-client-demo charm under the local model, against our
//! self-signed-certificates charm and against the Python provider (the published
//! `TLSCertificatesProvidesV4`): a server and a client certificate at the configured paths, keys
//! 0600 that match their certificates, chains `openssl verify` accepts at the model's time, the
//! CA in the unit's private trust store (never the host's), gone when the relation is removed,
//! and the reactive layer's flags reported by the `flags` action.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::TestModel;
use crate::support::openssl::same_public_key;

/// The demo's application name: unusual, so a file of that name in the host's store would be
/// ours.
const APP: &str = "tlsclient-e2e-demo";

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The unit's private trust-store file for the demo (the local model's
/// `JUJU_TLS_TRUST_STORE_DIR`).
fn trust_file(m: &TestModel, unit: &str) -> PathBuf {
    m.charm_dir(unit)
        .parent()
        .expect("unit dir")
        .join("trust-store")
        .join(format!("{APP}.crt"))
}

/// The `flags` action's results.
fn flags(m: &TestModel, unit: &str) -> Value {
    m.completed(unit, "flags", &[])["results"].clone()
}

/// Deploys the demo (one unit, the server certificate also for `extra`), relates it to
/// `provider:certificates`, checks everything a unit holds against `ca` (the provider's CA),
/// then removes the relation and checks the CA left the trust store.
fn end_to_end(m: &TestModel, provider: &str, ca_of: impl Fn(&TestModel) -> String) {
    m.deploy(
        &m.rust_charm("tls-client-demo"),
        &[APP, "--config", "extra-sans=demo.example"],
    );
    let unit = format!("{APP}/0");
    let (workload, message) = m.unit_status(&unit);
    assert_eq!(workload, "blocked", "{message}");
    m.ok(&[
        "integrate",
        &format!("{APP}:certificates"),
        &format!("{provider}:certificates"),
    ]);
    m.settle();

    let dir = m.charm_dir(&unit);
    let tls = dir.join("tls");
    let (workload, message) = m.unit_status(&unit);
    assert_eq!(workload, "active", "{message}");
    let name = unit.replace('/', "-");
    assert!(
        message.starts_with(&format!(
            "server {name} -> tls/server.crt (key tls/server.key); \
             client {name}-client -> tls/client.crt (key tls/client.key); CA -> tls/ca.crt, "
        )),
        "{message}"
    );
    let ca = ca_of(m);
    assert_eq!(
        read(&tls.join("ca.crt")).trim(),
        ca.trim(),
        "the provider's CA"
    );
    for (cert, key) in [("server.crt", "server.key"), ("client.crt", "client.key")] {
        let (cert, key) = (tls.join(cert), tls.join(key));
        assert_eq!(mode(&key), 0o600, "{}", key.display());
        assert_eq!(mode(&cert), 0o644, "{}", cert.display());
        assert!(
            same_public_key(&cert, &key),
            "{} matches its key",
            cert.display()
        );
        let pem = read(&cert);
        m.verify_pem(&format!("{unit} {}", cert.display()), &pem, &ca, &[&pem])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let server = read(&tls.join("server.crt"));
    let (ok, text) = crate::support::openssl::run_in(
        &tls,
        &[
            "x509",
            "-noout",
            "-ext",
            "subjectAltName",
            "-in",
            "server.crt",
        ],
    );
    assert!(
        ok && text.contains("DNS:demo.example") && text.contains(&name),
        "{text}\n{server}"
    );

    // The CA is in the unit's own trust store, never in the host's.
    let trust = trust_file(m, &unit);
    assert_eq!(read(&trust).trim(), ca.trim());
    assert_eq!(mode(&trust), 0o644);
    assert!(message.ends_with(&trust.display().to_string()), "{message}");
    let host = Path::new("/usr/local/share/ca-certificates").join(format!("{APP}.crt"));
    assert!(!host.exists(), "{} must not be written", host.display());

    let f = flags(m, &unit);
    assert_eq!(
        f["set"], "tls_client.ca.saved tls_client.ca_installed tls_client.certs.saved",
        "{f:#}"
    );
    let raised: Vec<String> = serde_json::from_str(f["raised"].as_str().unwrap()).unwrap();
    for flag in [
        "tls_client.ca.saved".to_owned(),
        "tls_client.ca_installed".to_owned(),
        format!("tls_client.server.cert.{name}.changed"),
        format!("tls_client.client.cert.{name}-client.changed"),
        "tls_client.server.certs.changed".to_owned(),
        "tls_client.client.certs.changed".to_owned(),
        "tls_client.certs.changed".to_owned(),
        "tls_client.certs.saved".to_owned(),
    ] {
        assert_eq!(
            raised.iter().filter(|r| **r == flag).count(),
            1,
            "{flag} raised once: {raised:?}"
        );
    }
    let files: Value = serde_json::from_str(f["files"].as_str().unwrap()).unwrap();
    assert_eq!(
        files[tls.join("client.key").display().to_string()],
        format!("client key {name}-client")
    );
    assert_eq!(files[trust.display().to_string()], "CA (trust store)");
    // The key is on disk where asked, and nowhere in the unit's logs.
    let key = read(&tls.join("server.key"));
    let logs = m.ok(&["debug-log", "-n", "500"]);
    let body = key.lines().nth(1).expect("a PEM body line");
    assert!(!logs.contains(body), "the key is in the logs");

    // The relation goes: the CA leaves the trust store; the workload's files stay.
    m.ok(&[
        "remove-relation",
        &format!("{APP}:certificates"),
        &format!("{provider}:certificates"),
    ]);
    m.settle();
    assert!(!trust.exists(), "{} removed", trust.display());
    assert!(tls.join("server.crt").exists());
    let (workload, message) = m.unit_status(&unit);
    assert_eq!(workload, "blocked", "{message}");
    let f = flags(m, &unit);
    assert_eq!(f["set"], "", "{f:#}");
    let raised: Vec<String> = serde_json::from_str(f["raised"].as_str().unwrap()).unwrap();
    assert_eq!(
        raised.last().map(String::as_str),
        Some("(ca removed from the trust store)")
    );
}

#[test]
fn the_demo_gets_both_certificates_from_our_ca() {
    let m = TestModel::new("tlsclient");
    m.deploy(&m.rust_charm("self-signed-certificates"), &["ca"]);
    end_to_end(&m, "ca", |m| {
        m.completed("ca/0", "get-ca-certificate", &[])["results"]["ca-certificate"]
            .as_str()
            .expect("ca-certificate")
            .to_owned()
    });
}

#[test]
fn the_demo_gets_both_certificates_from_the_python_provider() {
    let m = TestModel::new("tlsclientpy");
    m.deploy(&m.interop_charm("tls-provider"), &["pyca"]);
    end_to_end(&m, "pyca", |m| {
        m.completed("pyca/0", "get-ca", &[])["results"]["root"]
            .as_str()
            .expect("root")
            .to_owned()
    });
}
