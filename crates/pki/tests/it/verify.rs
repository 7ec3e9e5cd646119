//! `chain::verify_for_usage` (rustls-webpki as the judge) on certificates made by `openssl`, an
//! independent encoder: unknown critical extensions, extended key usages and name constraints
//! are honoured, and `openssl verify` agrees on each verdict. What webpki will not judge (a CA
//! or a v1 certificate as the end entity) is judged by our own walk, and says so.

use std::path::Path;

use juju_tls_pki::chain::{self, Judge, Usage};
use juju_tls_pki::time::Duration;
use juju_tls_pki::{Certificate, ChainError, KeyAlgorithm};

use crate::support::{intermediate, leaf, now, openssl, root, tempdir, write};

/// A P-256 root made by `openssl req -x509`, with extra `-addext` values.
fn openssl_root(dir: &Path, name: &str, addext: &[&str]) {
    let key = dir.join(format!("{name}.key"));
    let (ok, out) = openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        key.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let cert = dir.join(format!("{name}.pem"));
    let mut args = vec![
        "req".to_owned(),
        "-x509".into(),
        "-new".into(),
        "-key".into(),
        key.to_str().unwrap().into(),
        "-subj".into(),
        format!("/CN={name}"),
        "-days".into(),
        "30".into(),
        "-addext".into(),
        "basicConstraints=critical,CA:TRUE".into(),
        "-addext".into(),
        "keyUsage=critical,keyCertSign,cRLSign".into(),
        "-out".into(),
        cert.to_str().unwrap().into(),
    ];
    for ext in addext {
        args.extend(["-addext".to_owned(), (*ext).to_owned()]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out) = openssl(&refs);
    assert!(ok, "{out}");
}

/// A P-256 leaf signed by `ca` with `openssl x509 -req`, with these extension lines (none: a
/// v1 certificate).
fn openssl_leaf(dir: &Path, ca: &str, name: &str, extensions: &[&str]) -> Certificate {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let cert = dir.join(format!("{name}.pem"));
    let (ok, out) = openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-subj",
        &format!("/CN={name}"),
        "-out",
        csr.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let ca_cert = dir.join(format!("{ca}.pem"));
    let ca_key = dir.join(format!("{ca}.key"));
    let mut args = vec![
        "x509",
        "-req",
        "-in",
        csr.to_str().unwrap(),
        "-CA",
        ca_cert.to_str().unwrap(),
        "-CAkey",
        ca_key.to_str().unwrap(),
        "-days",
        "5",
        "-out",
        cert.to_str().unwrap(),
    ];
    let ext_path = write(dir, &format!("{name}.ext"), &(extensions.join("\n") + "\n"));
    if !extensions.is_empty() {
        args.extend(["-extfile", ext_path.to_str().unwrap()]);
    }
    let (ok, out) = openssl(&args);
    assert!(ok, "{out}");
    Certificate::from_pem(&std::fs::read_to_string(cert).unwrap()).unwrap()
}

fn ca(dir: &Path, name: &str) -> Certificate {
    Certificate::from_pem(&std::fs::read_to_string(dir.join(format!("{name}.pem"))).unwrap())
        .unwrap()
}

/// `openssl verify -purpose`'s verdict on `leaf` under root `ca`.
fn openssl_accepts(dir: &Path, ca: &str, leaf: &Certificate, purpose: &str) -> bool {
    let path = write(dir, "judged.pem", leaf.pem());
    let ca_path = dir.join(format!("{ca}.pem"));
    let (ok, _) = openssl(&[
        "verify",
        "-purpose",
        purpose,
        "-CAfile",
        ca_path.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    ok
}

const LEAF: &str = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature";

#[test]
fn an_unknown_critical_extension_is_refused() {
    let dir = tempdir();
    let d = dir.path();
    openssl_root(d, "root", &[]);
    let cert = openssl_leaf(
        d,
        "root",
        "odd",
        &[
            LEAF,
            "subjectAltName=DNS:odd.example",
            "1.3.6.1.4.1.99999.7=critical,DER:05:00",
        ],
    );
    let err = chain::verify_for_usage(&cert, &[], &ca(d, "root"), now(), Usage::Any).unwrap_err();
    assert_eq!(
        err,
        ChainError::UnknownCriticalExtension {
            subject: "CN=odd".into(),
            oid: "1.3.6.1.4.1.99999.7".into()
        }
    );
    assert!(!openssl_accepts(d, "root", &cert, "any"));
    // The hand-written walk alone would have let it through: that is why it no longer judges.
    assert!(chain::verify(&cert, &[], &ca(d, "root"), now()).is_ok());
}

#[test]
fn an_extended_key_usage_mismatch_is_refused() {
    let dir = tempdir();
    let d = dir.path();
    openssl_root(d, "root", &[]);
    let cert = openssl_leaf(
        d,
        "root",
        "client-only",
        &[
            LEAF,
            "extendedKeyUsage=clientAuth",
            "subjectAltName=DNS:c.example",
        ],
    );
    let root = ca(d, "root");
    let err = chain::verify_for_usage(&cert, &[], &root, now(), Usage::Server).unwrap_err();
    assert!(
        matches!(
            &err,
            ChainError::UsageNotAllowed {
                usage: "server",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("not allowed for server authentication"),
        "{err}"
    );
    assert!(!openssl_accepts(d, "root", &cert, "sslserver"));
    for usage in [Usage::Client, Usage::Any] {
        let ok = chain::verify_for_usage(&cert, &[], &root, now(), usage).unwrap();
        assert_eq!(ok.judge, Judge::Webpki);
        assert_eq!(ok.path.len(), 2);
    }
    assert!(openssl_accepts(d, "root", &cert, "sslclient"));
}

#[test]
fn name_constraints_are_honoured() {
    let dir = tempdir();
    let d = dir.path();
    openssl_root(
        d,
        "constrained",
        &["nameConstraints=critical,permitted;DNS:.example.com"],
    );
    let root = ca(d, "constrained");
    let inside = openssl_leaf(
        d,
        "constrained",
        "inside",
        &[LEAF, "subjectAltName=DNS:db.example.com"],
    );
    let outside = openssl_leaf(
        d,
        "constrained",
        "outside",
        &[LEAF, "subjectAltName=DNS:db.example.org"],
    );
    let ok = chain::verify_for_usage(&inside, &[], &root, now(), Usage::Server).unwrap();
    assert_eq!(ok.judge, Judge::Webpki);
    assert!(openssl_accepts(d, "constrained", &inside, "sslserver"));
    let err = chain::verify_for_usage(&outside, &[], &root, now(), Usage::Server).unwrap_err();
    assert_eq!(
        err,
        ChainError::NameConstraintViolation {
            subject: "CN=outside".into()
        }
    );
    assert!(!openssl_accepts(d, "constrained", &outside, "sslserver"));
}

#[test]
fn what_webpki_will_not_judge_is_walked_and_says_so() {
    let dir = tempdir();
    let d = dir.path();
    openssl_root(d, "root", &[]);
    let root_cert = ca(d, "root");
    // A v1 leaf: our walk judges it, signature and validity included.
    let v1 = openssl_leaf(d, "root", "v1-leaf", &[]);
    let ok = chain::verify_for_usage(&v1, &[], &root_cert, now(), Usage::Server).unwrap();
    assert_eq!(
        ok.judge,
        Judge::OwnWalk {
            reason: "webpki does not judge v1 certificates"
        }
    );
    let other = root(KeyAlgorithm::EcdsaP256, "root");
    assert!(chain::verify_for_usage(&v1, &[], other.certificate(), now(), Usage::Any).is_err());

    // A CA certificate as the end entity: an intermediate, and the anchor itself.
    let r = root(KeyAlgorithm::EcdsaP256, "Walk Root");
    let i = intermediate(&r, KeyAlgorithm::EcdsaP256, "Walk Intermediate");
    let ok =
        chain::verify_for_usage(i.certificate(), &[], r.certificate(), now(), Usage::Any).unwrap();
    assert!(matches!(ok.judge, Judge::OwnWalk { reason } if reason.contains("CA certificate")));
    assert_eq!(ok.path.len(), 2);
    let ok =
        chain::verify_for_usage(r.certificate(), &[], r.certificate(), now(), Usage::Any).unwrap();
    assert!(matches!(ok.judge, Judge::OwnWalk { .. }));
    // Our own leaves under an intermediate: webpki judges, for both usages.
    let (l, _) = leaf(&i, KeyAlgorithm::Rsa2048, "walk.example");
    for usage in [Usage::Server, Usage::Client, Usage::Any] {
        let ok = chain::verify_for_usage(
            &l,
            &[i.certificate().clone()],
            r.certificate(),
            now(),
            usage,
        )
        .unwrap();
        assert_eq!(ok.judge, Judge::Webpki);
        assert_eq!(ok.path.len(), 3);
    }
    // Failures are explained in words by the walk: no issuer, expired.
    let err = chain::verify_for_usage(&l, &[], r.certificate(), now(), Usage::Any).unwrap_err();
    assert!(matches!(err, ChainError::IssuerNotFound { .. }), "{err}");
    let later = now() + Duration::days(400);
    let err = chain::verify_for_usage(
        &l,
        &[i.certificate().clone()],
        r.certificate(),
        later,
        Usage::Any,
    )
    .unwrap_err();
    assert!(matches!(err, ChainError::Expired { .. }), "{err}");
}
