//! `juju-tls pki ...`: keys, CSRs, CAs, signing, inspection and verification from the shell,
//! with no Juju involved. Each verb is a thin layer over the `pki` crate.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use pki::time::{OffsetDateTime, format_description::well_known::Rfc3339};
use pki::{
    Certificate, CertificateAuthority, CertificateKind, Csr, CsrInspection, IssueRequest,
    IssuingPolicy, KeyAlgorithm, PrivateKey, RequestAttributes, SignatureCheck, chain,
};
use serde_json::json;

use crate::ui;

mod bench;
mod sign_requests;

// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum PkiCommand {
    /// Generate a private key (written with mode 0600).
    #[command(after_help = "Example:\n  juju-tls pki key --algorithm p256 --out ca.key")]
    Key(KeyArgs),
    /// Make a self-signed root CA certificate for a key.
    #[command(
        after_help = "Example:\n  juju-tls pki ca --key ca.key --common-name \"Example Root\" --validity 365d --out ca.pem"
    )]
    Ca(CaArgs),
    /// Make a certificate signing request.
    #[command(
        after_help = "Example:\n  juju-tls pki csr --key app.key --common-name app.example --san DNS:app.example --san IP:10.0.0.5 --out app.csr"
    )]
    Csr(CsrArgs),
    /// Verify a CSR and issue a certificate for it (a leaf unless --as-ca).
    #[command(
        after_help = "Examples:\n  juju-tls pki sign --ca ca.pem --ca-key ca.key --csr app.csr --validity 90d --out app.pem\n  juju-tls pki sign --ca ca.pem --ca-key ca.key --csr sub.csr --as-ca --path-len 0 --out sub.pem"
    )]
    Sign(SignArgs),
    /// Sign what manual-tls-certificates' get-outstanding-certificate-requests listed, with an
    /// offline CA, and write each provide-certificate's parameters (or run them, local model).
    #[command(
        after_help = "Every CSR is verified first; a refused one is named and the others are still signed (exit 1 if any \
failed). Per request the --out directory gets NN-<name>-relation-<id>.yaml, the provide-certificate \
parameters (base64 values, relation-id), and the certificate as .pem.\n\n\
Examples:\n  juju run manual-tls-certificates/leader get-outstanding-certificate-requests --format json > requests.json\n  \
juju-tls pki sign-requests requests.json --ca ca.pem --ca-key ca.key --validity 90d --out signed\n  \
juju run manual-tls-certificates/leader provide-certificate --params signed/01-web-0-relation-3.yaml\n  \
juju-tls pki sign-requests requests.json --ca ca.pem --ca-key ca.key --out signed --run manual-tls-certificates   # local model"
    )]
    SignRequests(sign_requests::SignRequestsArgs),
    /// Show what a certificate, CSR or key file holds.
    #[command(
        after_help = "Examples:\n  juju-tls pki inspect app.pem\n  juju-tls pki inspect app.csr --json"
    )]
    Inspect(InspectArgs),
    /// Verify a certificate's chain up to a trusted root, with rustls-webpki as the judge.
    #[command(
        after_help = "rustls-webpki judges the chain for the usage given: signatures, validity, CA-ness and path \
lengths, unknown critical extensions, extended key usages and name constraints. A refusal is \
explained in words by juju-tls' own chain walk when it sees the fault.\n\n\
What webpki will not judge, juju-tls' own walk does, and the output says so: a CA certificate \
(or the root itself) as the certificate to verify, a v1 certificate, a time before 1970. Then \
it checks names, signatures, validity, that issuers are CAs with keyCertSign, path lengths, \
that every critical extension is one webpki understands, and the usage against the \
certificate's extended key usages if it has any; name constraints are NOT checked.\n\n\
Example:\n  juju-tls pki verify --ca root.pem --untrusted inter.pem --purpose server --at 2027-01-01T00:00:00Z app.pem"
    )]
    Verify(VerifyArgs),
    /// Measure the cost of issuing a certificate next to `openssl speed`.
    Bench(bench::BenchArgs),
}

#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    /// rsa2048, rsa3072, rsa4096, p256, p384 or ed25519.
    #[arg(long, default_value = "rsa2048", value_parser = parse_algorithm)]
    algorithm: KeyAlgorithm,
    /// Write the traditional form (BEGIN RSA/EC PRIVATE KEY) the Python library stores,
    /// instead of PKCS#8.
    #[arg(long)]
    traditional: bool,
    /// Where to write the key.
    #[arg(long)]
    out: PathBuf,
}

/// Subject fields shared by `ca` and `csr`.
#[derive(Debug, Args)]
pub(crate) struct SubjectArgs {
    /// Subject common name.
    #[arg(long)]
    common_name: String,
    /// Subject organization (O).
    #[arg(long)]
    organization: Option<String>,
    /// Subject organizational unit (OU).
    #[arg(long)]
    organizational_unit: Option<String>,
    /// Subject email address.
    #[arg(long)]
    email_address: Option<String>,
    /// Subject country, two letters (C).
    #[arg(long)]
    country_name: Option<String>,
    /// Subject state or province (ST).
    #[arg(long)]
    state_or_province_name: Option<String>,
    /// Subject locality (L).
    #[arg(long)]
    locality_name: Option<String>,
}

impl SubjectArgs {
    fn attributes(&self) -> RequestAttributes {
        RequestAttributes {
            common_name: Some(self.common_name.clone()),
            organization: self.organization.clone(),
            organizational_unit: self.organizational_unit.clone(),
            email_address: self.email_address.clone(),
            country_name: self.country_name.clone(),
            state_or_province_name: self.state_or_province_name.clone(),
            locality_name: self.locality_name.clone(),
            ..RequestAttributes::default()
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct CaArgs {
    /// The CA's private key.
    #[arg(long)]
    key: PathBuf,
    #[command(flatten)]
    subject: SubjectArgs,
    /// How long the root is valid, in the charm-config dialect of `certificate-validity`: an
    /// integer with m, h, d or w; a bare number means days (`90` is 90 days).
    #[arg(long, default_value = "365d", value_parser = parse_validity)]
    validity: time::Duration,
    /// Where to write the certificate.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct CsrArgs {
    /// The requester's private key.
    #[arg(long)]
    key: PathBuf,
    #[command(flatten)]
    subject: SubjectArgs,
    /// A subject alternative name: DNS:name, IP:address, OID:dotted, email:addr or URI:uri.
    #[arg(long = "san")]
    sans: Vec<String>,
    /// Leave out the random x500UniqueIdentifier the Python library puts in every subject.
    #[arg(long)]
    no_unique_id: bool,
    /// Where to write the CSR.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The issuing CA's certificate.
    #[arg(long)]
    ca: PathBuf,
    /// The issuing CA's private key.
    #[arg(long)]
    ca_key: PathBuf,
    /// The request to sign (its signature is verified first).
    #[arg(long)]
    csr: PathBuf,
    /// How long the certificate is valid (never beyond the CA's own expiry), in the
    /// charm-config dialect: an integer with m, h, d or w; a bare number means days.
    #[arg(long, default_value = "90d", value_parser = parse_validity)]
    validity: time::Duration,
    /// Issue a CA certificate instead of a leaf.
    #[arg(long)]
    as_ca: bool,
    /// Path length constraint of the CA certificate (with --as-ca).
    #[arg(long, requires = "as_ca")]
    path_len: Option<u8>,
    /// Where to write the certificate.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// A PEM file: certificate(s), CSR or private key.
    file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The trusted root certificate.
    #[arg(long)]
    ca: PathBuf,
    /// Intermediate certificates (files may hold several).
    #[arg(long)]
    untrusted: Vec<PathBuf>,
    /// Verify at this time (RFC 3339, e.g. 2027-01-01T00:00:00Z) instead of now.
    #[arg(long, value_parser = parse_time)]
    at: Option<OffsetDateTime>,
    /// What the certificate must be good for: server (TLS server), client (TLS client) or any
    /// (either).
    #[arg(long, default_value = "any", value_parser = parse_purpose)]
    purpose: chain::Usage,
    /// The certificate to verify (the first certificate of the file).
    cert: PathBuf,
}

pub(crate) fn run(command: PkiCommand) -> anyhow::Result<ExitCode> {
    match command {
        PkiCommand::Key(args) => key(args),
        PkiCommand::Ca(args) => ca(args),
        PkiCommand::Csr(args) => csr(args),
        PkiCommand::Sign(args) => sign(args),
        PkiCommand::SignRequests(args) => sign_requests::run(args),
        PkiCommand::Inspect(args) => inspect(args),
        PkiCommand::Verify(args) => verify(args),
        PkiCommand::Bench(args) => bench::run(args),
    }
}

fn parse_algorithm(s: &str) -> Result<KeyAlgorithm, String> {
    s.parse().map_err(|e: pki::KeyError| e.to_string())
}

/// Validities are read as the charm reads its `certificate-validity` option, so a value moves
/// between the two unchanged.
fn parse_validity(s: &str) -> Result<time::Duration, String> {
    hook_tools::duration::parse_config(s).map_err(|e| e.to_string())
}

fn parse_purpose(s: &str) -> Result<chain::Usage, String> {
    match s {
        "server" => Ok(chain::Usage::Server),
        "client" => Ok(chain::Usage::Client),
        "any" => Ok(chain::Usage::Any),
        _ => Err(format!(
            "'{s}' is not a purpose (expected server, client or any)"
        )),
    }
}

fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| format!("'{s}' is not an RFC 3339 time (e.g. 2027-01-01T00:00:00Z): {e}"))
}

fn key(args: KeyArgs) -> anyhow::Result<ExitCode> {
    let key = PrivateKey::generate(args.algorithm)?;
    let pem = if args.traditional {
        key.to_traditional_pem()?
    } else {
        key.to_pkcs8_pem()
    };
    write_secret(&args.out, pem.as_bytes())?;
    println!(
        "wrote {} key to {} (mode 0600)",
        args.algorithm.describe(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn ca(args: CaArgs) -> anyhow::Result<ExitCode> {
    let key = read_key(&args.key)?;
    let ca = CertificateAuthority::self_signed_root(
        &args.subject.attributes(),
        key,
        args.validity,
        OffsetDateTime::now_utc(),
    )?;
    write_public(&args.out, ca.certificate().pem().as_bytes())?;
    let info = ca.certificate().info();
    println!(
        "wrote root CA '{}' valid until {} to {}",
        info.subject,
        fmt_time(info.not_after),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn csr(args: CsrArgs) -> anyhow::Result<ExitCode> {
    let key = read_key(&args.key)?;
    let mut attrs = args.subject.attributes();
    attrs.add_unique_id_to_subject_name = !args.no_unique_id;
    for san in &args.sans {
        attrs.sans.push_str(san)?;
    }
    let csr = attrs.to_csr(&key)?;
    write_public(&args.out, format!("{}\n", csr.pem()).as_bytes())?;
    println!(
        "wrote CSR for '{}' to {}",
        csr.subject(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    let ca = CertificateAuthority::new(read_certificate(&args.ca)?, read_key(&args.ca_key)?)
        .with_context(|| {
            format!(
                "{} and {} do not form a usable CA",
                args.ca.display(),
                args.ca_key.display()
            )
        })?;
    let csr_text = read_text(&args.csr)?;
    let csr =
        Csr::from_pem(&csr_text).with_context(|| format!("refusing {}", args.csr.display()))?;
    let kind = if args.as_ca {
        CertificateKind::Ca {
            path_len: args.path_len,
        }
    } else {
        CertificateKind::Leaf
    };
    let policy = IssuingPolicy {
        allow_ca: args.as_ca,
        allow_ca_hint: "pass --as-ca to issue a CA certificate".into(),
        ..IssuingPolicy::default()
    };
    let request = IssueRequest {
        csr: &csr,
        kind,
        validity: args.validity,
    };
    let cert = ca
        .issue(&request, &policy, OffsetDateTime::now_utc())
        .with_context(|| format!("refusing to sign {}", args.csr.display()))?;
    write_public(&args.out, cert.pem().as_bytes())?;
    let info = cert.info();
    let what = if info.is_ca {
        "CA certificate"
    } else {
        "certificate"
    };
    println!(
        "wrote {what} for '{}' (serial {}) valid until {} to {}",
        info.subject,
        info.serial,
        fmt_time(info.not_after),
        args.out.display()
    );
    for extension in csr.extensions() {
        println!(
            "  note: requested extension {} was not copied (issuing policy)",
            extension.oid
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let text = read_text(&args.file)?;
    let blocks =
        pki::pem::parse_all(&text).with_context(|| format!("reading {}", args.file.display()))?;
    let mut items = Vec::new();
    for block in &blocks {
        let item = match block.label.as_str() {
            "CERTIFICATE" => certificate_json(&Certificate::from_der(&block.der)?),
            "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => {
                csr_json(&Csr::inspect_der(&block.der)?)
            }
            label if label.ends_with("PRIVATE KEY") => {
                let key = PrivateKey::from_pem(&pki::pem::encode(label, &block.der))?;
                json!({"type": "private key", "algorithm": key.algorithm().name(), "description": key.algorithm().describe(), "bits": key.algorithm().bits()})
            }
            other => bail!("{}: unsupported PEM block '{other}'", args.file.display()),
        };
        items.push(item);
    }
    if args.json {
        let value = if items.len() == 1 {
            items.remove(0)
        } else {
            json!(items)
        };
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print_fields(item);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn certificate_json(cert: &Certificate) -> serde_json::Value {
    let info = cert.info();
    json!({
        "type": "certificate",
        "subject": info.subject.to_string(),
        "issuer": info.issuer.to_string(),
        "sans": info.sans.to_strings(),
        "serial": info.serial,
        "not_before": fmt_time(info.not_before),
        "not_after": fmt_time(info.not_after),
        "sha256_fingerprint": info.sha256_fingerprint,
        "is_ca": info.is_ca,
        "path_len": info.path_len,
        "key_algorithm": info.key_algorithm.map(|a| a.describe()),
        "subject_key_id": info.subject_key_id,
        "authority_key_id": info.authority_key_id,
        "extended_key_usages": info.extended_key_usages,
    })
}

/// A CSR's fields and what the key policy and the signature say: inspection is not issuance, so
/// a request the policy refuses is shown with the reasons rather than refused.
fn csr_json(csr: &CsrInspection) -> serde_json::Value {
    let signature = match &csr.signature {
        SignatureCheck::Verified => "verified".to_owned(),
        SignatureCheck::DoesNotVerify => {
            "does not verify (no proof of possession of the key)".to_owned()
        }
        SignatureCheck::NotChecked(why) => format!("not checked: {why}"),
    };
    let policy = if csr.refusals.is_empty() {
        "accepted".to_owned()
    } else {
        "refused (juju-tls would not sign it)".to_owned()
    };
    json!({
        "type": "certificate signing request",
        "signature": signature,
        "signature_algorithm": csr.signature_algorithm,
        "subject": csr.subject.to_string(),
        "sans": csr.sans.to_strings(),
        "key_algorithm": csr.key_algorithm.map_or_else(|| csr.key.clone(), |a| a.describe().to_owned()),
        "requested_extensions": csr.extensions.iter().map(|e| json!({"oid": e.oid, "critical": e.critical})).collect::<Vec<_>>(),
        "key_policy": policy,
        "refused_because": csr.refusals.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

fn print_fields(item: &serde_json::Value) {
    let Some(map) = item.as_object() else { return };
    let width = map.keys().map(String::len).max().unwrap_or(0);
    for (k, v) in map {
        let shown = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "-".into(),
            serde_json::Value::Array(a) if a.is_empty() => "-".into(),
            // Sentences (refusal reasons) read better one per line than comma-joined.
            serde_json::Value::Array(a) if k == "refused_because" => a
                .iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(&format!("\n{:width$}  ", "")),
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        };
        println!("{}  {shown}", ui::bold(&format!("{k:<width$}")));
    }
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let anchor = read_certificate(&args.ca)?;
    let mut intermediates = Vec::new();
    for path in &args.untrusted {
        intermediates.extend(
            Certificate::all_from_pem(&read_text(path)?)
                .with_context(|| format!("reading {}", path.display()))?,
        );
    }
    let cert = read_certificate(&args.cert)?;
    let at = args.at.unwrap_or_else(OffsetDateTime::now_utc);
    match chain::verify_for_usage(&cert, &intermediates, &anchor, at, args.purpose) {
        Ok(verified) => {
            let judge = match verified.judge {
                chain::Judge::Webpki => {
                    format!("rustls-webpki, {} usage", args.purpose.name())
                }
                chain::Judge::OwnWalk { reason } => {
                    format!("juju-tls' own walk: {reason}; name constraints not checked")
                }
            };
            println!("{}: {} ({judge})", args.cert.display(), ui::green("OK"));
            for (depth, c) in verified.path.iter().enumerate() {
                println!(
                    "  {depth}: {} (until {})",
                    c.subject(),
                    fmt_time(c.info().not_after)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{}: {} {e}", args.cert.display(), ui::red("FAILED"));
            Ok(ExitCode::from(1))
        }
    }
}

pub(crate) fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_key(path: &Path) -> anyhow::Result<PrivateKey> {
    PrivateKey::from_pem(&read_text(path)?)
        .with_context(|| format!("{} is not a usable private key", path.display()))
}

fn read_certificate(path: &Path) -> anyhow::Result<Certificate> {
    Certificate::from_pem(&read_text(path)?)
        .with_context(|| format!("{} is not a certificate", path.display()))
}

/// Writes a private key: created with mode 0600 from the start (never readable by others,
/// even briefly), replaced atomically.
fn write_secret(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomically(path, bytes, 0o600)
}

fn write_public(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomically(path, bytes, 0o644)
}

fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}
