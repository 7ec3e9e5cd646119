//! Every parser of outside data returns errors, never panics, on arbitrary bytes and on
//! mangled versions of valid inputs.

use std::sync::OnceLock;

use juju_tls_pki::{Certificate, Csr, KeyAlgorithm, PrivateKey, RequestAttributes, chain};
use proptest::prelude::*;

use crate::support::{key, leaf, now, root};

struct Samples {
    csr: Vec<u8>,
    cert: Vec<u8>,
    ca: Certificate,
    key_pems: Vec<String>,
}

fn samples() -> &'static Samples {
    static S: OnceLock<Samples> = OnceLock::new();
    S.get_or_init(|| {
        let ca = root(KeyAlgorithm::EcdsaP256, "Fuzz CA");
        let (cert, _) = leaf(&ca, KeyAlgorithm::EcdsaP256, "fuzz.example");
        let k = key(KeyAlgorithm::Rsa2048, 3);
        let csr = RequestAttributes::new("fuzz").to_csr(&k).unwrap();
        let ec = key(KeyAlgorithm::EcdsaP256, 0);
        Samples {
            csr: csr.der().to_vec(),
            cert: cert.der().to_vec(),
            ca: ca.certificate().clone(),
            key_pems: vec![
                k.to_pkcs8_pem().to_string(),
                k.to_traditional_pem().unwrap().to_string(),
                ec.to_traditional_pem().unwrap().to_string(),
            ],
        }
    })
}

fn mangle(mut bytes: Vec<u8>, at: usize, value: u8, truncate: bool) -> Vec<u8> {
    if bytes.is_empty() {
        return bytes;
    }
    let at = at % bytes.len();
    if truncate {
        bytes.truncate(at);
    } else {
        bytes[at] = value;
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Csr::from_der(&bytes);
        let _ = Certificate::from_der(&bytes);
        let _ = PrivateKey::from_pkcs8_der(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = Csr::from_pem(&text);
        let _ = Certificate::from_pem(&text);
        let _ = PrivateKey::from_pem(&text);
    }

    #[test]
    fn mangled_der_never_panics(at in any::<usize>(), value in any::<u8>(), truncate in any::<bool>()) {
        let s = samples();
        let _ = Csr::from_der(&mangle(s.csr.clone(), at, value, truncate));
        let _ = Certificate::from_der(&mangle(s.cert.clone(), at, value, truncate));
    }

    #[test]
    fn mangled_leaves_never_panic_the_verifier(at in any::<usize>(), value in any::<u8>(), usage in 0usize..3) {
        let s = samples();
        let usage = [chain::Usage::Server, chain::Usage::Client, chain::Usage::Any][usage];
        if let Ok(cert) = Certificate::from_der(&mangle(s.cert.clone(), at, value, false)) {
            let _ = chain::verify_for_usage(&cert, &[], &s.ca, now(), usage);
        }
    }

    #[test]
    fn mangled_key_pem_never_panics(which in 0usize..3, at in any::<usize>(), value in 32u8..127, truncate in any::<bool>()) {
        let pem = samples().key_pems[which].clone().into_bytes();
        let text = String::from_utf8_lossy(&mangle(pem, at, value, truncate)).into_owned();
        let _ = PrivateKey::from_pem(&text);
    }

    #[test]
    fn mangled_pkcs1_and_sec1_bodies_never_panic(which in 1usize..3, at in any::<usize>(), value in any::<u8>()) {
        let block = juju_tls_pki::pem::parse_all(&samples().key_pems[which]).unwrap().remove(0);
        let der = mangle(block.der, at, value, false);
        let text = juju_tls_pki::pem::encode(&block.label, &der);
        let _ = PrivateKey::from_pem(&text);
    }
}
