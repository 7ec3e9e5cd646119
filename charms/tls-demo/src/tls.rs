//! PEM files into rustls types, and the probe's client handshake.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

/// Every certificate of a PEM file.
pub fn read_chain(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let certs: Vec<CertificateDer<'static>> = pki::pem::parse_all(&text)?
        .into_iter()
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| CertificateDer::from(b.der))
        .collect();
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", path.display());
    Ok(certs)
}

/// A private key file (any PEM form), as PKCS#8 for rustls.
pub fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let key = pki::PrivateKey::from_pem(&text)?;
    let block = pki::pem::parse_one(&key.to_pkcs8_pem(), &["PRIVATE KEY"])?;
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        block.der.clone(),
    )))
}

/// Connects to `ip:port` with mutual TLS: our chain and key as client certificate, `roots` to
/// verify the server, which must present a certificate for `name` (its DNS name) or else for
/// `ip`. Returns the server's answer.
pub fn probe(
    ip: IpAddr,
    name: Option<String>,
    port: u16,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    roots: RootCertStore,
) -> anyhow::Result<String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)?;
    let server_name = match name {
        Some(n) => ServerName::try_from(n)?,
        None => ServerName::IpAddress(ip.into()),
    };
    let conn = ClientConnection::new(Arc::new(config), server_name)?;
    let addr = SocketAddr::new(ip, port);
    let sock = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .with_context(|| format!("connecting to {addr}"))?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))?;
    sock.set_write_timeout(Some(Duration::from_secs(5)))?;
    let mut tls = StreamOwned::new(conn, sock);
    tls.write_all(b"GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")?;
    let mut response = Vec::new();
    match tls.read_to_end(&mut response) {
        Ok(_) => {}
        // A peer that closes without close_notify after answering is still an answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(e.into()),
    }
    let text = String::from_utf8_lossy(&response);
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .trim()
        .to_owned();
    anyhow::ensure!(
        text.starts_with("HTTP/1.1 200"),
        "unexpected answer: {}",
        text.lines().next().unwrap_or_default()
    );
    Ok(body)
}
