use juju_tls_pki::{KeyAlgorithm, PrivateKey};

use crate::support::{key, openssl, tempdir, write};

#[test]
fn every_algorithm_round_trips_through_pkcs8_and_traditional_pem() {
    for algorithm in KeyAlgorithm::ALL {
        let k = key(algorithm, 0);
        assert_eq!(k.algorithm(), algorithm);
        let again = PrivateKey::from_pem(&k.to_pkcs8_pem()).unwrap();
        assert_eq!(again.public_key_der(), k.public_key_der(), "{algorithm}");
        let traditional = k.to_traditional_pem().unwrap();
        let expected = match algorithm {
            a if a.is_rsa() => "-----BEGIN RSA PRIVATE KEY-----",
            KeyAlgorithm::Ed25519 => "-----BEGIN PRIVATE KEY-----",
            _ => "-----BEGIN EC PRIVATE KEY-----",
        };
        assert!(
            traditional.starts_with(expected),
            "{algorithm}: {}",
            &traditional[..40]
        );
        let back = PrivateKey::from_pem(&traditional).unwrap();
        assert_eq!(back.public_key_der(), k.public_key_der(), "{algorithm}");
    }
}

#[test]
fn openssl_reads_our_keys_and_we_read_openssls() {
    let dir = tempdir();
    for algorithm in [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
    ] {
        let k = key(algorithm, 0);
        for (name, pem) in [
            ("pk8", k.to_pkcs8_pem().to_string()),
            ("trad", k.to_traditional_pem().unwrap().to_string()),
        ] {
            let path = write(dir.path(), &format!("{algorithm}-{name}.pem"), &pem);
            let (ok, out) = openssl(&["pkey", "-in", path.to_str().unwrap(), "-noout", "-text"]);
            assert!(ok, "{algorithm} {name}: {out}");
        }
    }
    // Keys written by openssl in the traditional forms.
    let rsa = dir.path().join("rsa.pem");
    let (ok, out) = openssl(&[
        "genrsa",
        "-traditional",
        "-out",
        rsa.to_str().unwrap(),
        "2048",
    ]);
    assert!(ok, "{out}");
    let text = std::fs::read_to_string(&rsa).unwrap();
    assert!(text.contains("BEGIN RSA PRIVATE KEY"));
    assert_eq!(
        PrivateKey::from_pem(&text).unwrap().algorithm(),
        KeyAlgorithm::Rsa2048
    );
    let ec = dir.path().join("ec.pem");
    let (ok, out) = openssl(&[
        "ecparam",
        "-name",
        "secp384r1",
        "-genkey",
        "-noout",
        "-out",
        ec.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let text = std::fs::read_to_string(&ec).unwrap();
    assert!(text.contains("BEGIN EC PRIVATE KEY"));
    assert_eq!(
        PrivateKey::from_pem(&text).unwrap().algorithm(),
        KeyAlgorithm::EcdsaP384
    );
}

#[test]
fn debug_never_prints_key_material() {
    let k = key(KeyAlgorithm::EcdsaP256, 0);
    let debug = format!("{k:?}");
    assert!(debug.contains("elided"), "{debug}");
    let pem = k.to_pkcs8_pem();
    let body_line = pem.lines().nth(1).unwrap();
    assert!(!debug.contains(body_line));
}

#[test]
fn algorithm_names_parse() {
    for a in KeyAlgorithm::ALL {
        assert_eq!(a.name().parse::<KeyAlgorithm>().unwrap(), a);
    }
    assert_eq!(
        "RSA-2048".parse::<KeyAlgorithm>().unwrap(),
        KeyAlgorithm::Rsa2048
    );
    assert!("dsa".parse::<KeyAlgorithm>().is_err());
}

#[test]
fn refuses_encrypted_and_non_key_pem() {
    let enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert!(
        PrivateKey::from_pem(enc)
            .unwrap_err()
            .to_string()
            .contains("encrypted")
    );
    let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(
        PrivateKey::from_pem(cert)
            .unwrap_err()
            .to_string()
            .contains("not a private key")
    );
}
