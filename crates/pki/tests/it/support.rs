//! Shared helpers: a pool of RSA keys generated once (RSA generation takes 35-150 ms), CA
//! builders, and runners for the external oracles.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use juju_tls_pki::time::{Duration, OffsetDateTime};
use juju_tls_pki::{
    Certificate, CertificateAuthority, CertificateKind, Csr, IssueRequest, IssuingPolicy,
    KeyAlgorithm, PrivateKey, RequestAttributes,
};

/// PKCS#8 PEMs of a few RSA-2048 keys, generated once per test binary.
fn rsa_pool() -> &'static [String] {
    static POOL: OnceLock<Vec<String>> = OnceLock::new();
    POOL.get_or_init(|| {
        (0..4)
            .map(|_| {
                PrivateKey::generate(KeyAlgorithm::Rsa2048)
                    .unwrap()
                    .to_pkcs8_pem()
                    .to_string()
            })
            .collect()
    })
}

/// Key number `i` of the pool for RSA-2048; a fresh key for the fast algorithms.
pub(crate) fn key(algorithm: KeyAlgorithm, i: usize) -> PrivateKey {
    match algorithm {
        KeyAlgorithm::Rsa2048 => {
            let pool = rsa_pool();
            PrivateKey::from_pem(&pool[i % pool.len()]).unwrap()
        }
        other => PrivateKey::generate(other).unwrap(),
    }
}

pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub(crate) fn root(algorithm: KeyAlgorithm, cn: &str) -> CertificateAuthority {
    CertificateAuthority::self_signed_root(
        &RequestAttributes::new(cn),
        key(algorithm, 0),
        Duration::days(365),
        now(),
    )
    .unwrap()
}

/// An intermediate CA under `parent`, with path length 0.
pub(crate) fn intermediate(
    parent: &CertificateAuthority,
    algorithm: KeyAlgorithm,
    cn: &str,
) -> CertificateAuthority {
    let k = key(algorithm, 1);
    let mut attrs = RequestAttributes::new(cn);
    attrs.add_unique_id_to_subject_name = false;
    let csr = attrs.to_csr(&k).unwrap();
    let cert = parent
        .issue(
            &IssueRequest {
                csr: &csr,
                kind: CertificateKind::Ca { path_len: Some(0) },
                validity: Duration::days(180),
            },
            &IssuingPolicy::allowing_ca(),
            now(),
        )
        .unwrap();
    CertificateAuthority::new(cert, k).unwrap()
}

/// A leaf for `dns` (also its CN) and `127.0.0.1`, with its key.
pub(crate) fn leaf(
    ca: &CertificateAuthority,
    algorithm: KeyAlgorithm,
    dns: &str,
) -> (Certificate, PrivateKey) {
    let k = key(algorithm, 2);
    let mut attrs = RequestAttributes::new(dns);
    attrs.sans.push_str(&format!("DNS:{dns}")).unwrap();
    attrs.sans.push_str("IP:127.0.0.1").unwrap();
    let csr = attrs.to_csr(&k).unwrap();
    (issue_leaf(ca, &csr), k)
}

pub(crate) fn issue_leaf(ca: &CertificateAuthority, csr: &Csr) -> Certificate {
    ca.issue(
        &IssueRequest {
            csr,
            kind: CertificateKind::Leaf,
            validity: Duration::days(90),
        },
        &IssuingPolicy::default(),
        now(),
    )
    .unwrap()
}

pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub(crate) fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Runs `openssl` with `args`; returns (success, stdout+stderr).
pub(crate) fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl CLI (installed by scripts/test)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[path = "../../../../tests/python/venv.rs"]
mod venv;

/// Runs a Python script with the venv's interpreter; panics with its stderr on failure.
pub(crate) fn run_python(script: &str, args: &[&str]) -> String {
    let out = Command::new(venv::python().unwrap_or_else(|e| panic!("{e}")))
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
