use juju_tls_pki::time::Duration;
use juju_tls_pki::{
    Certificate, CertificateAuthority, CertificateKind, Csr, Error, IssueRequest, IssuingPolicy,
    KeyAlgorithm, PolicyError, PrivateKey, RequestAttributes, chain,
};

use crate::support::{intermediate, issue_leaf, key, leaf, now, openssl, root, tempdir, write};

#[test]
fn a_leaf_links_to_its_issuer_and_gets_only_what_the_policy_gives() {
    let ca = root(KeyAlgorithm::EcdsaP256, "Links CA");
    let (cert, k) = leaf(&ca, KeyAlgorithm::Rsa2048, "app.example");
    let info = cert.info();
    assert_eq!(info.issuer.der(), ca.certificate().subject().der());
    assert_eq!(
        info.authority_key_id,
        ca.certificate().info().subject_key_id
    );
    assert!(info.subject_key_id.is_some());
    assert!(!info.is_ca);
    assert_eq!(
        info.extended_key_usages,
        ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]
    );
    assert!(cert.matches_key(&k));
    assert!(info.serial.len() >= 16, "serial {}", info.serial);
    assert!(info.not_before < now() - Duration::minutes(1), "back-dated");
    chain::verify(&cert, &[], ca.certificate(), now()).unwrap();
}

#[test]
fn serials_are_random_and_distinct() {
    let ca = root(KeyAlgorithm::EcdsaP256, "Serial CA");
    let csr = RequestAttributes::new("s")
        .to_csr(&key(KeyAlgorithm::EcdsaP256, 0))
        .unwrap();
    let a = issue_leaf(&ca, &csr).info().serial.clone();
    let b = issue_leaf(&ca, &csr).info().serial.clone();
    assert_ne!(a, b);
    assert_eq!(a.len(), 32, "16 bytes, no leading zero");
}

/// A CSR made by openssl that asks for CA:TRUE, codeSigning and an unknown extension.
fn greedy_csr(dir: &std::path::Path) -> Csr {
    let key_path = write(
        dir,
        "greedy.key",
        &key(KeyAlgorithm::EcdsaP256, 0).to_pkcs8_pem(),
    );
    let out = dir.join("greedy.csr");
    let (ok, text) = openssl(&[
        "req",
        "-new",
        "-key",
        key_path.to_str().unwrap(),
        "-subj",
        "/CN=greedy",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "extendedKeyUsage=codeSigning",
        "-addext",
        "1.2.3.4.5=ASN1:UTF8String:please",
        "-addext",
        "subjectAltName=DNS:greedy.example",
        "-out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    Csr::from_pem(&std::fs::read_to_string(out).unwrap()).unwrap()
}

#[test]
fn requested_extensions_are_never_copied_under_the_default_policy() {
    let dir = tempdir();
    let csr = greedy_csr(dir.path());
    assert!(csr.extensions().iter().any(|e| e.oid == "1.2.3.4.5"));
    let ca = root(KeyAlgorithm::EcdsaP256, "Strict CA");
    let cert = issue_leaf(&ca, &csr);
    let info = cert.info();
    assert!(!info.is_ca);
    assert!(
        !info
            .extended_key_usages
            .iter()
            .any(|e| e == "1.3.6.1.5.5.7.3.3"),
        "no codeSigning"
    );
    assert_eq!(info.sans.to_strings(), ["DNS:greedy.example"]);
    let path = write(dir.path(), "leaf.pem", cert.pem());
    let (ok, text) = openssl(&["x509", "-in", path.to_str().unwrap(), "-noout", "-text"]);
    assert!(ok, "{text}");
    assert!(!text.contains("1.2.3.4.5"), "{text}");
    assert!(text.contains("CA:FALSE"), "{text}");
}

#[test]
fn ca_requests_are_refused_unless_the_policy_allows_them() {
    let ca = root(KeyAlgorithm::EcdsaP256, "Policy CA");
    let csr = RequestAttributes::new("sub")
        .to_csr(&key(KeyAlgorithm::EcdsaP256, 0))
        .unwrap();
    let request = IssueRequest {
        csr: &csr,
        kind: CertificateKind::Ca { path_len: None },
        validity: Duration::days(30),
    };
    let policy = IssuingPolicy {
        allow_ca_hint: "set the allow-ca-requests option to true".into(),
        ..IssuingPolicy::default()
    };
    let err = ca.issue(&request, &policy, now()).unwrap_err();
    assert!(matches!(
        &err,
        Error::Policy(PolicyError::CaNotAllowed { .. })
    ));
    assert!(err.to_string().contains("allow-ca-requests"), "{err}");
    let sub = ca
        .issue(&request, &IssuingPolicy::allowing_ca(), now())
        .unwrap();
    assert!(sub.info().is_ca);
}

#[test]
fn a_path_length_of_zero_forbids_another_ca() {
    let r = root(KeyAlgorithm::EcdsaP256, "PL Root");
    let inter = intermediate(&r, KeyAlgorithm::EcdsaP256, "PL Inter");
    assert_eq!(inter.certificate().info().path_len, Some(0));
    let csr = RequestAttributes::new("deeper")
        .to_csr(&key(KeyAlgorithm::EcdsaP256, 0))
        .unwrap();
    let request = IssueRequest {
        csr: &csr,
        kind: CertificateKind::Ca { path_len: None },
        validity: Duration::days(30),
    };
    let err = inter
        .issue(&request, &IssuingPolicy::allowing_ca(), now())
        .unwrap_err();
    assert_eq!(
        err,
        Error::Policy(PolicyError::PathLenExceeded { path_len: 0 })
    );
}

#[test]
fn validity_is_capped_by_the_issuer_and_the_policy() {
    let ca = root(KeyAlgorithm::EcdsaP256, "Cap CA");
    let csr = RequestAttributes::new("long")
        .to_csr(&key(KeyAlgorithm::EcdsaP256, 0))
        .unwrap();
    let long = IssueRequest {
        csr: &csr,
        kind: CertificateKind::Leaf,
        validity: Duration::days(5000),
    };
    let cert = ca.issue(&long, &IssuingPolicy::default(), now()).unwrap();
    assert_eq!(cert.info().not_after, ca.certificate().info().not_after);
    let policy = IssuingPolicy {
        max_validity: Some(Duration::days(10)),
        ..IssuingPolicy::default()
    };
    let short = ca.issue(&long, &policy, now()).unwrap();
    assert!(short.info().not_after < now() + Duration::days(11));
}

#[test]
fn an_expired_ca_does_not_issue() {
    let ca = CertificateAuthority::self_signed_root(
        &RequestAttributes::new("Old CA"),
        key(KeyAlgorithm::EcdsaP256, 0),
        Duration::days(1),
        now() - Duration::days(10),
    )
    .unwrap();
    let csr = RequestAttributes::new("x")
        .to_csr(&key(KeyAlgorithm::EcdsaP256, 0))
        .unwrap();
    let err = ca
        .issue(
            &IssueRequest {
                csr: &csr,
                kind: CertificateKind::Leaf,
                validity: Duration::days(1),
            },
            &IssuingPolicy::default(),
            now(),
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::Policy(PolicyError::CaNotValid { .. })),
        "{err}"
    );
}

#[test]
fn a_foreign_ca_with_repeated_attributes_still_chains() {
    let dir = tempdir();
    let key_path = dir.path().join("foreign.key");
    let cert_path = dir.path().join("foreign.pem");
    let (ok, text) = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key_path.to_str().unwrap(),
        "-out",
        cert_path.to_str().unwrap(),
        "-days",
        "30",
        "-subj",
        "/C=GB/O=Foreign/OU=Team A/OU=Team B/CN=Foreign Root",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    assert!(ok, "{text}");
    let ca = CertificateAuthority::from_pem(
        &std::fs::read_to_string(&cert_path).unwrap(),
        &std::fs::read_to_string(&key_path).unwrap(),
    )
    .unwrap();
    let (cert, _) = leaf(&ca, KeyAlgorithm::EcdsaP256, "under.foreign");
    assert_eq!(cert.info().issuer.der(), ca.certificate().subject().der());
    assert_eq!(cert.info().issuer.attributes().len(), 5, "both OUs kept");
    let leaf_path = write(dir.path(), "leaf.pem", cert.pem());
    let (ok, text) = openssl(&[
        "verify",
        "-x509_strict",
        "-CAfile",
        cert_path.to_str().unwrap(),
        leaf_path.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
}

#[test]
fn a_ca_refuses_a_key_that_is_not_its_own_or_a_leaf_certificate() {
    let ca = root(KeyAlgorithm::EcdsaP256, "Own CA");
    let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let err = CertificateAuthority::new(ca.certificate().clone(), other).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    let (cert, k) = leaf(&ca, KeyAlgorithm::EcdsaP256, "leaf.example");
    let err = CertificateAuthority::new(cert, k).unwrap_err();
    assert!(err.to_string().contains("CA:TRUE"), "{err}");
}

#[test]
fn chains_are_ordered_from_any_order() {
    let r = root(KeyAlgorithm::EcdsaP256, "Order Root");
    let i = intermediate(&r, KeyAlgorithm::EcdsaP256, "Order Inter");
    let (l, _) = leaf(&i, KeyAlgorithm::EcdsaP256, "order.example");
    let shuffled: Vec<Certificate> =
        vec![r.certificate().clone(), l.clone(), i.certificate().clone()];
    let ordered = chain::order(&shuffled).unwrap();
    assert_eq!(ordered[0], l);
    assert_eq!(&ordered[1], i.certificate());
    assert_eq!(&ordered[2], r.certificate());
    let path = chain::verify(&l, &[i.certificate().clone()], r.certificate(), now()).unwrap();
    assert_eq!(path.len(), 3);
    // Without the intermediate, or at a time outside validity, verification fails.
    assert!(chain::verify(&l, &[], r.certificate(), now()).is_err());
    assert!(
        chain::verify(
            &l,
            &[i.certificate().clone()],
            r.certificate(),
            now() + Duration::days(400)
        )
        .is_err()
    );
    let stranger = root(KeyAlgorithm::EcdsaP256, "Order Root");
    assert!(
        chain::verify(
            &l,
            &[i.certificate().clone()],
            stranger.certificate(),
            now()
        )
        .is_err(),
        "same name, other key"
    );
}
