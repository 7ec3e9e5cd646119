//! `openssl` as the judge of our certificates, at a time we choose (the model's virtual clock,
//! or an in-memory harness's). Standalone (std and tempfile only): the charm crates' tests
//! include it with `#[path]`, since they cannot depend on the root package.
// Each including test binary uses its own part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// `openssl verify -x509_strict -attime AT [-purpose PURPOSE] -CAfile ca [-untrusted ...] cert`
/// on PEM texts; `Err` carries openssl's reason, prefixed by `what`.
pub(crate) fn verify_pem(
    what: &str,
    at: i64,
    purpose: Option<&str>,
    ca: &str,
    untrusted: &[&str],
    cert: &str,
) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca_file, cert_file) = (dir.path().join("ca.pem"), dir.path().join("cert.pem"));
    std::fs::write(&ca_file, ca).expect("write ca.pem");
    std::fs::write(&cert_file, cert).expect("write cert.pem");
    let untrusted_file = (!untrusted.is_empty()).then(|| {
        let f = dir.path().join("untrusted.pem");
        std::fs::write(&f, untrusted.join("\n")).expect("write untrusted.pem");
        f
    });
    verify_files(
        what,
        at,
        purpose,
        &ca_file,
        untrusted_file.as_deref(),
        &cert_file,
    )
}

/// [`verify_pem`] on files.
pub(crate) fn verify_files(
    what: &str,
    at: i64,
    purpose: Option<&str>,
    ca: &Path,
    untrusted: Option<&Path>,
    cert: &Path,
) -> Result<(), String> {
    let mut cmd = Command::new("openssl");
    cmd.args(["verify", "-x509_strict", "-attime", &at.to_string()]);
    if let Some(p) = purpose {
        cmd.args(["-purpose", p]);
    }
    cmd.arg("-CAfile").arg(ca);
    if let Some(u) = untrusted {
        cmd.arg("-untrusted").arg(u);
    }
    let out = cmd
        .arg(cert)
        .output()
        .expect("openssl is needed: apt-get install openssl");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Whether the certificate file `cert` is for the private key file `key` (same public key).
pub(crate) fn same_public_key(cert: &Path, key: &Path) -> bool {
    let public = |args: &[&str], file: &Path| {
        let out = Command::new("openssl")
            .args(args)
            .arg(file)
            .output()
            .expect("openssl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let from_cert = public(&["x509", "-noout", "-pubkey", "-in"], cert);
    !from_cert.is_empty() && from_cert == public(&["pkey", "-pubout", "-in"], key)
}

/// Runs `openssl ARGS` in `dir`: whether it succeeded, and its stdout and stderr.
pub(crate) fn run_in(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
