//! The interop the local model exists for: an unmodified Python `ops` charm on the published
//! tls-certificates library (charmlibs, PyPI) gets certificates from our Rust CA charm, and
//! renews them when the virtual clock passes the library's renewal time.

use serde_json::Value;

use crate::support::{TestModel, pip_target, python_charm};

#[test]
fn python_requirer_gets_and_renews_certificates_from_the_rust_ca() {
    let venv = pip_target(
        "tls-requirer-ops-3.9.0",
        &[
            "ops==3.9.0",
            "charmlibs-interfaces-tls_certificates==1.12.0",
        ],
    );
    let requirer = python_charm("tls-requirer", &venv);
    let ca =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("charms/self-signed-certificates");
    let m = TestModel::new("interop");
    m.ok(&["deploy", ca.to_str().expect("path"), "ca"]);
    m.ok(&[
        "deploy",
        requirer.path().to_str().expect("path"),
        "req",
        "-n",
        "2",
    ]);
    assert_eq!(
        m.unit_status("req/0"),
        (
            "blocked".to_owned(),
            "Missing relation to certificates provider".to_owned()
        )
    );
    m.ok(&["integrate", "req", "ca"]);
    for unit in ["req/0", "req/1"] {
        assert_eq!(
            m.unit_status(unit),
            (
                "active".to_owned(),
                "certificate for banana.example".to_owned()
            ),
            "{unit}"
        );
    }
    let first = m.action("req/0", "get-certificate", &[]);
    assert_eq!(first["status"], "completed", "{first:#}");
    let expiry = |run: &Value| {
        time::OffsetDateTime::parse(
            run["results"]["expiry"].as_str().expect("expiry"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("RFC 3339")
    };
    let first_expiry = expiry(&first);

    // The library stores the certificate in a secret expiring at 90% of its life; once the
    // clock passes that, secret-expired makes it request a new one, which the CA signs.
    m.ok(&["advance", "82d"]);
    let renewed = m.action("req/0", "get-certificate", &[]);
    assert_eq!(renewed["status"], "completed");
    assert_ne!(
        renewed["results"]["certificate"],
        first["results"]["certificate"]
    );
    assert!(
        expiry(&renewed) - first_expiry >= time::Duration::days(81),
        "{} -> {}",
        first_expiry,
        expiry(&renewed)
    );
    assert_eq!(renewed["results"]["ca"], first["results"]["ca"], "same CA");
    assert_eq!(m.unit_status("req/1").0, "active");
}
