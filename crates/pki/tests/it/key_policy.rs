//! The key policy, judged on CSRs made by `openssl req` (an independent encoder): weak keys and
//! broken hashes are refused with their real reason, never as a bad signature; every accepted
//! kind is issued and the result verifies with `openssl verify`.

use std::path::Path;

use juju_tls_pki::{Csr, CsrError, EcCurve, Error, KeyAlgorithm, KeyPolicyError, PublicKeyKind};

use crate::support::{issue_leaf, openssl, root, tempdir, write};

/// Makes a key with `genpkey_args` and a CSR for it signed with `req_args`; returns its PEM.
fn openssl_csr(dir: &Path, name: &str, genpkey_args: &[&str], req_args: &[&str]) -> String {
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    let mut args = vec!["genpkey", "-out", key.to_str().unwrap()];
    args.extend(genpkey_args);
    let (ok, out) = openssl(&args);
    assert!(ok, "openssl genpkey {genpkey_args:?}: {out}");
    let mut args = vec![
        "req",
        "-new",
        "-key",
        key.to_str().unwrap(),
        "-subj",
        "/CN=weak.example",
        "-out",
        csr.to_str().unwrap(),
    ];
    args.extend(req_args);
    let (ok, out) = openssl(&args);
    assert!(ok, "openssl req {req_args:?}: {out}");
    std::fs::read_to_string(csr).unwrap()
}

fn refusal(pem: &str) -> KeyPolicyError {
    match Csr::from_pem(pem) {
        Err(Error::Csr(CsrError::KeyPolicy(e))) => e,
        other => panic!("expected a key policy refusal, got {other:?}"),
    }
}

const RSA: [&str; 2] = ["-algorithm", "RSA"];

#[test]
fn rsa_1024_is_refused_for_its_size_whatever_the_hash() {
    let dir = tempdir();
    let bits = ["-pkeyopt", "rsa_keygen_bits:1024"];
    let genpkey = [RSA.as_slice(), &bits].concat();
    for (name, hash) in [("sha256", "-sha256"), ("sha1", "-sha1")] {
        let pem = openssl_csr(dir.path(), name, &genpkey, &[hash]);
        let err = refusal(&pem);
        assert_eq!(err, KeyPolicyError::RsaTooSmall { bits: 1024 });
        assert_eq!(err.to_string(), "RSA-1024 key: the minimum is 2048 bits");
        let wrapped = Csr::from_pem(&pem).unwrap_err();
        assert_eq!(wrapped.key_policy(), Some(&err));
    }
}

#[test]
fn broken_hashes_are_refused_by_name() {
    let dir = tempdir();
    let p256 = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
    for (name, genpkey, hash, expected) in [
        ("rsa-sha1", RSA.as_slice(), "-sha1", "SHA-1"),
        ("rsa-md5", RSA.as_slice(), "-md5", "MD5"),
        ("ec-sha1", p256.as_slice(), "-sha1", "SHA-1"),
    ] {
        let pem = openssl_csr(dir.path(), name, genpkey, &[hash]);
        let err = refusal(&pem);
        assert_eq!(err, KeyPolicyError::WeakHash { hash: expected }, "{name}");
        assert!(
            err.to_string()
                .starts_with(&format!("CSR signed with {expected}: ")),
            "{err}"
        );
    }
}

#[test]
fn keys_we_cannot_name_or_do_not_accept_are_refused_by_name() {
    let dir = tempdir();
    let k1 = openssl_csr(
        dir.path(),
        "k1",
        &[
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:secp256k1",
        ],
        &[],
    );
    let err = refusal(&k1);
    assert!(
        matches!(&err, KeyPolicyError::UnsupportedCurve { curve } if curve.contains("secp256k1")),
        "{err}"
    );
    let ed448 = openssl_csr(dir.path(), "ed448", &["-algorithm", "ED448"], &[]);
    let err = refusal(&ed448);
    assert!(
        matches!(&err, KeyPolicyError::UnsupportedKey { algorithm } if algorithm == "Ed448"),
        "{err}"
    );
}

#[test]
fn every_accepted_kind_is_issued_and_verifies_with_openssl() {
    let dir = tempdir();
    let ca = root(KeyAlgorithm::EcdsaP256, "Policy Root");
    let ca_path = write(dir.path(), "ca.pem", ca.certificate().pem());
    let cases: [(&str, Vec<&str>, Vec<&str>, PublicKeyKind); 5] = [
        (
            "p521",
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
            vec!["-sha512"],
            PublicKeyKind::Ec(EcCurve::P521),
        ),
        (
            "p384-sha256",
            vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            vec!["-sha256"],
            PublicKeyKind::Ec(EcCurve::P384),
        ),
        (
            "rsa3072-sha512",
            vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
            vec!["-sha512"],
            PublicKeyKind::Rsa { bits: 3072 },
        ),
        (
            "rsa2048-pss",
            RSA.to_vec(),
            vec![
                "-sha256",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
            ],
            PublicKeyKind::Rsa { bits: 2048 },
        ),
        (
            "ed25519",
            vec!["-algorithm", "ED25519"],
            vec![],
            PublicKeyKind::Ed25519,
        ),
    ];
    for (name, genpkey, req, kind) in cases {
        let pem = openssl_csr(dir.path(), name, &genpkey, &req);
        let csr = Csr::from_pem(&pem).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(csr.public_key_kind(), kind, "{name}");
        let cert = issue_leaf(&ca, &csr);
        let leaf = write(dir.path(), &format!("{name}.pem"), cert.pem());
        let (ok, out) = openssl(&[
            "verify",
            "-x509_strict",
            "-purpose",
            "sslserver",
            "-CAfile",
            ca_path.to_str().unwrap(),
            leaf.to_str().unwrap(),
        ]);
        assert!(ok && out.contains(": OK"), "{name}: {out}");
    }
}

#[test]
fn a_tampered_p521_csr_is_a_bad_signature() {
    let dir = tempdir();
    let pem = openssl_csr(
        dir.path(),
        "p521",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
        &["-sha512"],
    );
    let mut der = Csr::from_pem(&pem).unwrap().der().to_vec();
    let at = der.windows(12).position(|w| w == b"weak.example").unwrap();
    der[at] = b'x';
    assert_eq!(Csr::from_der(&der), Err(CsrError::BadSignature));
}
