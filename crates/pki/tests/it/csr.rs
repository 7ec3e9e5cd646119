use juju_tls_pki::{Csr, CsrError, Error, KeyAlgorithm, RequestAttributes};

use crate::support::{key, openssl, tempdir, write};

fn full_attributes() -> RequestAttributes {
    let mut a = RequestAttributes::new("db.example.com");
    for san in [
        "DNS:db.example.com",
        "DNS:*.db.example.com",
        "IP:10.1.2.3",
        "IP:::1",
        "OID:1.3.6.1.4.1.28978.1",
    ] {
        a.sans.push_str(san).unwrap();
    }
    a.email_address = Some("ops@example.com".into());
    a.organization = Some("Example".into());
    a.organizational_unit = Some("Databases".into());
    a.country_name = Some("FR".into());
    a.state_or_province_name = Some("Ile-de-France".into());
    a.locality_name = Some("Paris".into());
    a
}

#[test]
fn a_csr_rebuilds_the_attributes_it_was_made_from() {
    for algorithm in [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
    ] {
        let k = key(algorithm, 0);
        let wanted = full_attributes();
        let csr = wanted.to_csr(&k).unwrap();
        assert_eq!(csr.attributes(), wanted, "{algorithm}");
        assert!(csr.matches_key(&k));
        assert_eq!(csr.key_algorithm(), Some(algorithm));
        // Parsing the PEM again verifies the signature and gives the same request.
        let again = Csr::from_pem(csr.pem()).unwrap();
        assert_eq!(again.attributes(), wanted);
    }
}

#[test]
fn requests_compare_by_attributes_not_bytes() {
    let k = key(KeyAlgorithm::EcdsaP256, 0);
    let wanted = full_attributes();
    let a = wanted.to_csr(&k).unwrap();
    let b = wanted.to_csr(&k).unwrap();
    assert_ne!(a.pem(), b.pem(), "the unique id makes every CSR distinct");
    assert_eq!(a.attributes(), b.attributes());
    let mut other = wanted.clone();
    other.sans.push_str("DNS:extra.example.com").unwrap();
    assert_ne!(a.attributes(), other);
    let mut without_id = wanted;
    without_id.add_unique_id_to_subject_name = false;
    assert_ne!(a.attributes(), without_id);
}

#[test]
fn openssl_reads_our_csr_and_agrees_on_subject_and_sans() {
    let dir = tempdir();
    let csr = full_attributes()
        .to_csr(&key(KeyAlgorithm::Rsa2048, 0))
        .unwrap();
    let path = write(dir.path(), "req.pem", csr.pem());
    let (ok, out) = openssl(&[
        "req",
        "-in",
        path.to_str().unwrap(),
        "-noout",
        "-verify",
        "-text",
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("verify OK") || out.contains("Certificate request self-signature verify OK"),
        "{out}"
    );
    for needle in [
        "CN = db.example.com",
        "x500UniqueIdentifier",
        "O = Example",
        "OU = Databases",
        "C = FR",
        "ST = Ile-de-France",
        "L = Paris",
        "DNS:*.db.example.com",
        "IP Address:10.1.2.3",
        "Registered ID:1.3.6.1.4.1.28978.1",
    ] {
        assert!(out.contains(needle), "missing {needle} in:\n{out}");
    }
    assert!(out.contains("sha256WithRSAEncryption"));
}

#[test]
fn p384_requests_are_signed_with_sha384() {
    let dir = tempdir();
    let csr = RequestAttributes::new("x")
        .to_csr(&key(KeyAlgorithm::EcdsaP384, 0))
        .unwrap();
    let path = write(dir.path(), "req.pem", csr.pem());
    let (ok, out) = openssl(&["req", "-in", path.to_str().unwrap(), "-noout", "-text"]);
    assert!(ok && out.contains("ecdsa-with-SHA384"), "{out}");
}

#[test]
fn a_tampered_csr_is_refused() {
    let csr = full_attributes()
        .to_csr(&key(KeyAlgorithm::EcdsaP256, 0))
        .unwrap();
    let mut der = csr.der().to_vec();
    // Flip a byte inside the subject (the signed part), keeping the structure valid.
    let at = der
        .windows(14)
        .position(|w| w == b"db.example.com")
        .unwrap();
    der[at] = b'x';
    assert_eq!(Csr::from_der(&der), Err(CsrError::BadSignature));
    let mut sig_flip = csr.der().to_vec();
    let last = sig_flip.len() - 3;
    sig_flip[last] ^= 0x01;
    assert!(matches!(
        Csr::from_der(&sig_flip),
        Err(CsrError::BadSignature | CsrError::Malformed(_))
    ));
}

#[test]
fn bad_attributes_are_named() {
    let mut a = RequestAttributes::new("x");
    a.country_name = Some("France".into());
    let err = a.to_csr(&key(KeyAlgorithm::EcdsaP256, 0)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Csr(CsrError::InvalidAttribute {
                attribute: "country_name",
                ..
            })
        ),
        "{err}"
    );
    assert!(
        RequestAttributes::default()
            .sans
            .clone()
            .push_str("IP:not-an-ip")
            .is_err()
    );
}
