//! `juju-tls demo`: the main job. Until the local model exists this walks the PKI path every
//! certificate of the project takes: root -> intermediate -> leaf -> verify, with timings.

use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use pki::time::{Duration, OffsetDateTime};
use pki::{
    Certificate, CertificateAuthority, CertificateKind, IssueRequest, IssuingPolicy, KeyAlgorithm,
    PrivateKey, RequestAttributes, chain,
};

use crate::cli::pki::fmt_time;
use crate::ui::{self, Table};

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {}

pub(crate) fn run(_args: DemoArgs) -> anyhow::Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    let mut steps = Table::new(["step", "result", "took"]);
    let mut step =
        |name: &str, f: &mut dyn FnMut() -> anyhow::Result<String>| -> anyhow::Result<()> {
            println!("{} {name}", ui::bold("==>"));
            let start = Instant::now();
            let result = f();
            let took = format!("{:.1} ms", start.elapsed().as_secs_f64() * 1e3);
            match result {
                Ok(summary) => {
                    println!("    {summary}");
                    steps.row([name.to_owned(), ui::green("ok"), took]);
                    Ok(())
                }
                Err(e) => {
                    steps.row([name.to_owned(), ui::red("FAILED"), took]);
                    Err(e)
                }
            }
        };

    let mut root = None;
    step("create a root CA (ECDSA P-384)", &mut || {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP384)?;
        let ca = CertificateAuthority::self_signed_root(
            &RequestAttributes::new("juju-tls demo root"),
            key,
            Duration::days(365),
            now,
        )?;
        let summary = format!(
            "'{}' until {}",
            ca.certificate().subject(),
            fmt_time(ca.certificate().info().not_after)
        );
        root = Some(ca);
        Ok(summary)
    })?;
    let root = root.ok_or_else(|| anyhow::anyhow!("no root"))?;

    let mut inter = None;
    step(
        "issue an intermediate CA (ECDSA P-256, path length 0)",
        &mut || {
            let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
            let mut attrs = RequestAttributes::new("juju-tls demo intermediate");
            attrs.add_unique_id_to_subject_name = false;
            let csr = attrs.to_csr(&key)?;
            let request = IssueRequest {
                csr: &csr,
                kind: CertificateKind::Ca { path_len: Some(0) },
                validity: Duration::days(180),
            };
            let cert = root.issue(&request, &IssuingPolicy::allowing_ca(), now)?;
            let summary = format!("'{}' signed by '{}'", cert.subject(), cert.info().issuer);
            inter = Some(CertificateAuthority::new(cert, key)?);
            Ok(summary)
        },
    )?;
    let inter = inter.ok_or_else(|| anyhow::anyhow!("no intermediate"))?;

    let mut leaf: Option<Certificate> = None;
    step(
        "request and issue a leaf (RSA 2048 key, CSR verified first)",
        &mut || {
            let key = PrivateKey::generate(KeyAlgorithm::Rsa2048)?;
            let mut attrs = RequestAttributes::new("app-0.demo.example");
            attrs.sans.push_str("DNS:app-0.demo.example")?;
            attrs.sans.push_str("IP:127.0.0.1")?;
            let csr = attrs.to_csr(&key)?;
            let request = IssueRequest {
                csr: &csr,
                kind: CertificateKind::Leaf,
                validity: Duration::days(90),
            };
            let cert = inter.issue(&request, &IssuingPolicy::default(), now)?;
            let summary = format!(
                "serial {} for {}",
                cert.info().serial,
                cert.info().sans.to_strings().join(", ")
            );
            leaf = Some(cert);
            Ok(summary)
        },
    )?;
    let leaf = leaf.ok_or_else(|| anyhow::anyhow!("no leaf"))?;

    step("verify leaf -> intermediate -> root", &mut || {
        let path = chain::verify(
            &leaf,
            &[inter.certificate().clone()],
            root.certificate(),
            OffsetDateTime::now_utc(),
        )?;
        Ok(path
            .iter()
            .map(|c| c.subject().to_string())
            .collect::<Vec<_>>()
            .join("  ->  "))
    })?;

    step(
        "a chain without its intermediate is refused",
        &mut || match chain::verify(&leaf, &[], root.certificate(), now) {
            Ok(_) => anyhow::bail!("verification passed without the intermediate"),
            Err(e) => Ok(format!("refused as expected: {e}")),
        },
    )?;

    println!();
    print!("{}", steps.render());
    Ok(ExitCode::SUCCESS)
}
