//! `rustls-webpki` accepts our certificates as server and client certificates, and a real
//! TLS 1.3 handshake with mutual authentication succeeds with certificates issued under an
//! intermediate CA.

use std::io::{Read, Write};
use std::sync::Arc;

use juju_tls_pki::{Certificate, KeyAlgorithm, PrivateKey};
use rustls::client::ClientConnection;
use rustls::server::{ServerConnection, WebPkiClientVerifier};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use webpki::{EndEntityCert, KeyUsage, anchor_from_trusted_cert};

use crate::support::{intermediate, leaf, root};

fn der(c: &Certificate) -> CertificateDer<'static> {
    CertificateDer::from(c.der().to_vec())
}

fn key_der(k: &PrivateKey) -> PrivateKeyDer<'static> {
    let block = juju_tls_pki::pem::parse_one(&k.to_pkcs8_pem(), &["PRIVATE KEY"]).unwrap();
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(block.der.clone()))
}

#[test]
fn webpki_accepts_our_leaves_as_server_and_client_certificates() {
    let now = UnixTime::now();
    for ca_alg in [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
    ] {
        let r = root(ca_alg, "Webpki Root");
        let i = intermediate(&r, KeyAlgorithm::EcdsaP256, "Webpki Intermediate");
        for (issuer, intermediates) in [(&r, vec![]), (&i, vec![der(i.certificate())])] {
            let (cert, _) = leaf(issuer, KeyAlgorithm::EcdsaP256, "svc.example");
            let root_der = der(r.certificate());
            let anchor = anchor_from_trusted_cert(&root_der).unwrap();
            let cert_der = der(&cert);
            let ee = EndEntityCert::try_from(&cert_der).unwrap();
            for usage in [KeyUsage::server_auth(), KeyUsage::client_auth()] {
                ee.verify_for_usage(
                    rustls::crypto::aws_lc_rs::default_provider()
                        .signature_verification_algorithms
                        .all,
                    std::slice::from_ref(&anchor),
                    &intermediates,
                    now,
                    usage,
                    None,
                    None,
                )
                .unwrap_or_else(|e| panic!("{ca_alg}: {e:?}"));
            }
            ee.verify_is_valid_for_subject_name(&ServerName::try_from("svc.example").unwrap())
                .unwrap();
            ee.verify_is_valid_for_subject_name(&ServerName::try_from("127.0.0.1").unwrap())
                .unwrap();
        }
    }
}

#[test]
fn mutual_tls13_handshake_under_an_intermediate() {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let r = root(KeyAlgorithm::Rsa2048, "Handshake Root");
    let i = intermediate(&r, KeyAlgorithm::EcdsaP256, "Handshake Intermediate");
    let (server_cert, server_key) = leaf(&i, KeyAlgorithm::EcdsaP256, "server.example");
    let (client_cert, client_key) = leaf(&i, KeyAlgorithm::Rsa2048, "client.example");

    let mut roots = RootCertStore::empty();
    roots.add(der(r.certificate())).unwrap();
    let roots = Arc::new(roots);
    let client_verifier =
        WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .unwrap();
    let server_config = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(
            vec![der(&server_cert), der(i.certificate())],
            key_der(&server_key),
        )
        .unwrap();
    let client_config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![der(&client_cert), der(i.certificate())],
            key_der(&client_key),
        )
        .unwrap();

    let mut client = ClientConnection::new(
        Arc::new(client_config),
        ServerName::try_from("server.example").unwrap(),
    )
    .unwrap();
    let mut server = ServerConnection::new(Arc::new(server_config)).unwrap();
    client.writer().write_all(b"hello over mutual TLS").unwrap();
    for _ in 0..10 {
        pump(&mut client, &mut server);
        pump(&mut server, &mut client);
        if !client.is_handshaking() && !server.is_handshaking() {
            break;
        }
    }
    pump(&mut client, &mut server);
    assert!(!client.is_handshaking() && !server.is_handshaking());
    assert_eq!(
        server.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    let peer = server
        .peer_certificates()
        .expect("the server saw the client's certificate");
    assert_eq!(peer[0].as_ref(), client_cert.der());
    let mut got = vec![0u8; 64];
    let n = server.reader().read(&mut got).unwrap();
    assert_eq!(&got[..n], b"hello over mutual TLS");
}

fn pump<A, B, DA, DB>(from: &mut A, to: &mut B)
where
    A: std::ops::DerefMut<Target = rustls::ConnectionCommon<DA>>,
    B: std::ops::DerefMut<Target = rustls::ConnectionCommon<DB>>,
{
    let mut buf = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut buf).unwrap();
    }
    let mut slice = &buf[..];
    while !slice.is_empty() {
        to.read_tls(&mut slice).unwrap();
        to.process_new_packets().unwrap();
    }
}
