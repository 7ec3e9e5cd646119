//! `tls_client` end to end: the tls-client-demo charm under the local model, against our
//! self-signed-certificates charm and against the Python provider (the published
//! `TLSCertificatesProvidesV4`): a server and a client certificate at the configured paths, keys
//! 0600 that match their certificates, chains `openssl verify` accepts at the model's time, the
//! CA in the unit's private trust store (never the host's), gone when the relation is removed,
//! and the reactive layer's flags reported by the `flags` action. Against a provider that speaks
//! only the reactive wire (`tests/interop/reactive-provider`), the demo is blocked naming
//! `allow-reactive-wire` until it is set, then holds the provider-made keys and says so.

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

/// Deploys the demo (one unit, the server certificate also for `extra`, `config` more
/// options), relates it to `provider:certificates`, checks everything a unit holds against `ca`
/// (the provider's CA) and that no key is in the relation data (the current wire), then removes
/// the relation and checks the CA left the trust store.
fn end_to_end(
    m: &TestModel,
    provider: &str,
    config: &[&str],
    ca_of: impl Fn(&TestModel) -> String,
) {
    let mut args = vec![APP, "--config", "extra-sans=demo.example"];
    for c in config {
        args.extend(["--config", c]);
    }
    m.deploy(&m.rust_charm("tls-client-demo"), &args);
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
    // The current wire: the unit's key never left it, and no key is in any bag.
    for u in [unit.clone(), format!("{provider}/0")] {
        let shown = m.ok(&["show-unit", &u, "--json"]);
        assert!(
            !shown.contains("PRIVATE KEY"),
            "a key in {u}'s relation data"
        );
        assert!(!shown.contains(body), "the key in {u}'s relation data");
    }

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
    // Allowed the reactive wire, the demo still speaks the current one with a current provider.
    end_to_end(&m, "ca", &["allow-reactive-wire=true"], |m| {
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
    end_to_end(&m, "pyca", &[], |m| {
        m.completed("pyca/0", "get-ca", &[])["results"]["root"]
            .as_str()
            .expect("root")
            .to_owned()
    });
}

/// The CA the reactive provider publishes.
fn reactive_ca(m: &TestModel) -> String {
    m.completed("easy/0", "get-ca", &[])["results"]["ca"]
        .as_str()
        .expect("ca")
        .to_owned()
}

/// The demo against a provider that speaks only the reactive wire (`tests/interop/
/// reactive-provider`, as easyrsa): not allowed, it is blocked naming the option and nothing
/// comes; allowed, it gets the provider-made keys and certificates at its paths and says so. The
/// provider refuses a malformed requirer's bad keys by name and serves its good request.
#[test]
fn the_demo_uses_a_reactive_only_provider_only_when_allowed() {
    let m = TestModel::new("tlsclientrx");
    m.deploy(&m.interop_charm("reactive-provider"), &["easy"]);
    m.deploy(&m.rust_charm("tls-client-demo"), &[APP]);
    let bad = crate::reactive::malformed_requirer();
    m.deploy(bad.path(), &["bad"]);
    m.ok(&[
        "integrate",
        &format!("{APP}:certificates"),
        "easy:certificates",
    ]);
    m.ok(&["integrate", "bad:certificates", "easy:certificates"]);
    m.settle();
    let unit = format!("{APP}/0");
    let name = unit.replace('/', "-");
    let tls = m.charm_dir(&unit).join("tls");

    // Not allowed: blocked, naming the option; no file, and the provider made no key for it.
    let (workload, message) = m.unit_status(&unit);
    assert_eq!(workload, "blocked", "{message}");
    assert!(
        message.contains("only the reactive tls-certificates wire")
            && message.contains("set allow-reactive-wire=true"),
        "{message}"
    );
    assert!(!tls.join("server.crt").exists() && !trust_file(&m, &unit).exists());
    let wire_name = unit.replace('/', "_");
    let shown = m.ok(&["show-unit", "easy/0", "--json"]);
    assert!(!shown.contains(&format!("{wire_name}.server")), "{shown}");

    // Allowed: the reactive wire, with the provider's keys.
    m.ok(&["config", APP, "allow-reactive-wire=true"]);
    m.settle();
    let (workload, message) = m.unit_status(&unit);
    assert_eq!(workload, "active", "{message}");
    assert!(
        message.starts_with(&format!(
            "reactive wire in use (keys made by the provider): \
             server {name} -> tls/server.crt (key tls/server.key); \
             client {name}-client -> tls/client.crt (key tls/client.key); CA -> tls/ca.crt, "
        )),
        "{message}"
    );
    let ca = reactive_ca(&m);
    assert_eq!(read(&tls.join("ca.crt")).trim(), ca.trim());
    assert_eq!(read(&trust_file(&m, &unit)).trim(), ca.trim());
    let provider_bag = m.ok(&["show-unit", "easy/0", "--json"]);
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
        m.verify_pem(&format!("{unit} {}", cert.display()), &pem, &ca, &[])
            .unwrap_or_else(|e| panic!("{e}"));
        // The key is the one the provider made and published.
        let key_pem = read(&key);
        let body = key_pem.lines().nth(1).expect("a PEM body line");
        assert!(
            provider_bag.contains(body),
            "{} is the provider's",
            key.display()
        );
    }
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
    assert!(ok && text.contains(&format!("DNS:{name}")), "{text}");
    // The demo's own bag holds the reactive requests, its CSRs withdrawn.
    let own: Value = serde_json::from_str(&m.ok(&["show-unit", &unit, "--json"])).expect("JSON");
    let data = own["relations"][0]["unit_data"].clone();
    assert_eq!(data["unit_name"], wire_name.as_str(), "{own:#}");
    assert_eq!(data["common_name"], name.as_str(), "{own:#}");
    assert!(data["client_cert_requests"].is_string(), "{own:#}");
    assert!(
        data.get("certificate_signing_requests").is_none(),
        "{own:#}"
    );

    // The provider refused the malformed unit's bad keys by name and served its good request.
    let (_, easy) = m.unit_status("easy/0");
    assert!(
        easy.contains("reactive wire: 3 certificates for 2 unit(s), keys made here, 2 refused"),
        "{easy}"
    );
    let log = m.ok(&["debug-log", "-n", "100000"]);
    for (key, why) in [
        ("cert_requests", "invalid JSON"),
        ("ocsp_cert_requests", "unknown request type"),
    ] {
        assert!(
            log.lines().any(
                |l| l.contains("refused from unit bad/0 (relation certificates:")
                    && l.contains(&format!("key '{key}': {why}"))
            ),
            "{key} refused by name:\n{log}"
        );
    }
    let bad_bag = m.ok(&["show-unit", "bad/0", "--json"]);
    assert!(
        bad_bag.contains("bad_0.processed_client_requests") && bad_bag.contains("ok.example"),
        "{bad_bag}"
    );
}
