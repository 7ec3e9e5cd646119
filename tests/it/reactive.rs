//! The reactive `tls-certificates` wire end to end: a charm written with `charms.reactive` and
//! `charmhelpers` from PyPI (`tests/charms/reactive-tls-client`, doing what the reactive
//! tls-client layer does) served by our self-signed-certificates charm with `reactive-wire=true`
//! (files at the requested paths, the CA in the unit's private trust directory, the
//! `tls_client.*` flags, chains `openssl verify` accepts); bad requests refused by name while a
//! good unit is still served.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::TestModel;
use crate::support::charms::write_dispatch;
use crate::support::openssl::{run_in, same_public_key};

/// The reactive charm's application name.
const APP: &str = "rtc";

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// The serial number of the certificate file `cert` (first certificate in it).
fn serial(cert: &Path) -> String {
    let dir = cert.parent().expect("a directory");
    let name = cert.file_name().and_then(|n| n.to_str()).expect("a name");
    let (ok, text) = run_in(dir, &["x509", "-noout", "-serial", "-in", name]);
    assert!(ok, "{text}");
    text.trim().to_owned()
}

/// A model with our CA serving the reactive wire.
fn ca_with_reactive_wire(name: &str) -> TestModel {
    let m = TestModel::new(name);
    m.deploy(
        &m.rust_charm("self-signed-certificates"),
        &["ca", "--config", "reactive-wire=true"],
    );
    m
}

fn ca_pem(m: &TestModel) -> String {
    m.completed("ca/0", "get-ca-certificate", &[])["results"]["ca-certificate"]
        .as_str()
        .expect("ca-certificate")
        .to_owned()
}

/// Everything one unit of the reactive charm holds, checked against `ca`.
fn check_reactive_unit(m: &TestModel, unit: &str, ca: &str) -> PathBuf {
    let (workload, message) = m.unit_status(unit);
    assert_eq!(workload, "active", "{unit}: {message}");
    let name = unit.replace('/', "-");
    let flags = m.completed(unit, "flags", &[])["results"].clone();
    let set: Vec<&str> = flags["set"].as_str().expect("set").split(' ').collect();
    for flag in [
        "tls_client.ca.saved".to_owned(),
        "tls_client.ca_installed".to_owned(),
        "tls_client.certs.saved".to_owned(),
        "tls_client.certs.changed".to_owned(),
        "tls_client.server.certs.changed".to_owned(),
        "tls_client.client.certs.changed".to_owned(),
        format!("tls_client.server.cert.{name}.changed"),
        format!("tls_client.client.cert.{name}-client.changed"),
    ] {
        assert!(set.contains(&flag.as_str()), "{flag} in {set:?}");
        assert!(message.contains(&flag), "{flag} in the status: {message}");
    }
    let tls = m.charm_dir(unit).join("tls");
    assert_eq!(read(&tls.join("ca.crt")).trim(), ca.trim());
    for (cert, key, purpose) in [
        ("server.crt", "server.key", "sslserver"),
        ("client.crt", "client.key", "sslclient"),
    ] {
        let (cert, key) = (tls.join(cert), tls.join(key));
        assert_eq!(mode(&key), 0o600, "{}", key.display());
        assert!(
            same_public_key(&cert, &key),
            "{} matches its key",
            cert.display()
        );
        m.verify_pem(&format!("{unit} {}", cert.display()), &read(&cert), ca, &[])
            .unwrap_or_else(|e| panic!("{e}"));
        crate::support::openssl::verify_files(
            &format!("{unit} {} for {purpose}", cert.display()),
            m.now(),
            Some(purpose),
            &tls.join("ca.crt"),
            None,
            &cert,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let files: Value = serde_json::from_str(flags["files"].as_str().expect("files")).expect("JSON");
    assert_eq!(
        files[tls.join("server.key").display().to_string()],
        format!("server key {name}")
    );
    // The CA is in the unit's private trust directory, never in the host's.
    let trust = m
        .charm_dir(unit)
        .parent()
        .expect("unit dir")
        .join("trust-store")
        .join(format!("{APP}.crt"));
    assert_eq!(read(&trust).trim(), ca.trim());
    let host = Path::new("/usr/local/share/ca-certificates").join(format!("{APP}.crt"));
    assert!(!host.exists(), "{} must not be written", host.display());
    tls
}

#[test]
fn a_reactive_charm_gets_its_files_from_our_ca_on_the_reactive_wire() {
    let m = ca_with_reactive_wire("reactive");
    m.deploy(&m.reactive_charm("reactive-tls-client"), &[APP, "-n", "2"]);
    m.ok(&[
        "integrate",
        &format!("{APP}:certificates"),
        "ca:certificates",
    ]);
    m.settle();
    let ca = ca_pem(&m);
    let units = m.units(APP);
    assert_eq!(units.len(), 2);
    let tls: Vec<PathBuf> = units
        .iter()
        .map(|u| check_reactive_unit(&m, u, &ca))
        .collect();
    let (_, ca_status) = m.unit_status("ca/0");
    assert!(
        ca_status.contains("reactive wire: 4 certificates for 2 unit(s), keys made here"),
        "{ca_status}"
    );

    // Same common name, same certificate: a change of SANs re-issues the server certificate
    // with the same key; the client certificate and every key stay as they were.
    let before: Vec<(String, String, String)> = tls
        .iter()
        .map(|d| {
            (
                serial(&d.join("server.crt")),
                serial(&d.join("client.crt")),
                read(&d.join("server.key")),
            )
        })
        .collect();
    m.ok(&["config", APP, "server-sans=extra.example"]);
    m.settle();
    for (d, (server, client, key)) in tls.iter().zip(&before) {
        assert_ne!(&serial(&d.join("server.crt")), server, "server re-issued");
        assert_eq!(&serial(&d.join("client.crt")), client, "client kept");
        assert_eq!(&read(&d.join("server.key")), key, "key kept");
        let (ok, text) = run_in(
            d,
            &[
                "x509",
                "-noout",
                "-ext",
                "subjectAltName",
                "-in",
                "server.crt",
            ],
        );
        assert!(ok && text.contains("DNS:extra.example"), "{text}");
    }

    // The option goes off: certificates and keys leave the relation and the keys' secret goes.
    m.ok(&["config", "ca", "reactive-wire=false"]);
    m.settle();
    let shown = m.ok(&["show-unit", &units[0], "--json"]);
    assert!(
        !shown.contains(".processed_client_requests"),
        "withdrawn: {shown}"
    );
    let secrets = m.ok(&["secrets"]);
    assert!(!secrets.contains("reactive-wire-keys"), "{secrets}");
}

/// A shell charm that writes, in its unit bag, a bad JSON value, an unknown request type and
/// one good client request.
pub(crate) fn malformed_requirer() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("bad-reactive-")
        .tempdir()
        .expect("temp dir");
    std::fs::write(
        dir.path().join("metadata.yaml"),
        "name: bad-reactive\nrequires:\n  certificates:\n    interface: tls-certificates\n",
    )
    .expect("metadata");
    write_dispatch(
        dir.path(),
        r#"#!/bin/sh
case "$JUJU_HOOK_NAME" in
  certificates-relation-joined)
    relation-set unit_name="$(echo "$JUJU_UNIT_NAME" | tr / _)" \
      'cert_requests={"broken.example": {"sans": [' \
      'ocsp_cert_requests={"x.example": {"sans": []}}' \
      'client_cert_requests={"ok.example": {"sans": ["ok.example"]}}'
    ;;
esac
status-set active ready
"#,
    );
    dir
}

#[test]
fn malformed_reactive_requests_are_refused_by_name_and_the_rest_is_served() {
    let m = ca_with_reactive_wire("reactivebad");
    let bad = malformed_requirer();
    m.deploy(bad.path(), &["bad"]);
    m.deploy(&m.reactive_charm("reactive-tls-client"), &[APP]);
    m.ok(&["integrate", "bad:certificates", "ca:certificates"]);
    m.ok(&[
        "integrate",
        &format!("{APP}:certificates"),
        "ca:certificates",
    ]);
    m.settle();

    // The good unit of another application is served in full.
    let ca = ca_pem(&m);
    check_reactive_unit(&m, &format!("{APP}/0"), &ca);
    // The CA logged one refusal per bad key, naming unit and key; the hook did not fail.
    let (workload, message) = m.unit_status("ca/0");
    assert_eq!(workload, "active", "{message}");
    assert!(message.contains("2 refused (see the log)"), "{message}");
    let log = m.ok(&["debug-log", "-n", "100000"]);
    let needle = "refused from unit bad/0 (relation certificates:";
    for key in ["cert_requests", "ocsp_cert_requests"] {
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains(needle) && l.contains(&format!("key '{key}'")))
            .collect();
        assert_eq!(lines.len(), 1, "one refusal for {key}, logged once:\n{log}");
    }
    assert!(log.contains("unknown request type"), "{log}");
    // The bad unit's good request is still answered, with a key and a certificate.
    let shown: Value =
        serde_json::from_str(&m.ok(&["show-unit", "bad/0", "--json"])).expect("JSON");
    let text = shown.to_string();
    assert!(
        text.contains("bad_0.processed_client_requests") && text.contains("ok.example"),
        "{shown:#}"
    );
}
