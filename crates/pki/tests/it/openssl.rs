//! `openssl verify -x509_strict` accepts every chain we issue.

use juju_tls_pki::KeyAlgorithm;

use crate::support::{intermediate, leaf, openssl, root, tempdir, write};

fn verify(root_pem: &str, intermediates: &[&str], leaf_pem: &str, purpose: &str) {
    let dir = tempdir();
    let root_path = write(dir.path(), "root.pem", root_pem);
    let leaf_path = write(dir.path(), "leaf.pem", leaf_pem);
    let mut args = vec![
        "verify",
        "-x509_strict",
        "-purpose",
        purpose,
        "-CAfile",
        root_path.to_str().unwrap(),
    ];
    let inter_path = write(dir.path(), "inter.pem", &intermediates.concat());
    if !intermediates.is_empty() {
        args.extend(["-untrusted", inter_path.to_str().unwrap()]);
    }
    args.push(leaf_path.to_str().unwrap());
    let (ok, out) = openssl(&args);
    assert!(
        ok && out.contains(": OK"),
        "openssl verify {purpose}: {out}"
    );
}

#[test]
fn root_only_chains_verify_for_server_and_client() {
    for ca_alg in [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
    ] {
        let ca = root(ca_alg, &format!("Root {ca_alg}"));
        for leaf_alg in [
            KeyAlgorithm::Rsa2048,
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::Ed25519,
        ] {
            let (cert, _) = leaf(&ca, leaf_alg, "svc.example");
            for purpose in ["sslserver", "sslclient"] {
                verify(ca.certificate().pem(), &[], cert.pem(), purpose);
            }
        }
    }
}

#[test]
fn root_and_intermediate_chains_verify() {
    for (root_alg, inter_alg) in [
        (KeyAlgorithm::Rsa2048, KeyAlgorithm::Rsa2048),
        (KeyAlgorithm::EcdsaP384, KeyAlgorithm::EcdsaP256),
        (KeyAlgorithm::Rsa2048, KeyAlgorithm::EcdsaP256),
    ] {
        let r = root(root_alg, "Strict Root");
        let i = intermediate(&r, inter_alg, "Strict Intermediate");
        // The intermediate itself verifies against the root.
        verify(r.certificate().pem(), &[], i.certificate().pem(), "any");
        let (cert, _) = leaf(&i, KeyAlgorithm::Rsa2048, "deep.example");
        for purpose in ["sslserver", "sslclient"] {
            verify(
                r.certificate().pem(),
                &[i.certificate().pem()],
                cert.pem(),
                purpose,
            );
        }
    }
}
