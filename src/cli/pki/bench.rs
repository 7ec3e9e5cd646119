//! `juju-tls pki bench`: what one issued certificate costs (parse CSR + verify its signature +
//! build + sign), next to `openssl speed` measured in the same run.
//!
//! The physical floor for one certificate is one signature with the CA key plus one
//! verification with the CSR's key (proof of possession), so we compare with the sum of the two
//! `openssl speed` figures, not with the signature alone. `openssl speed` counts CPU time, so on a
//! shared machine the CPU column (this thread's on-CPU time) is the one to compare with it.

use std::process::{Command, ExitCode};
use std::time::{Duration as StdDuration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use pki::time::{Duration, OffsetDateTime};
use pki::{
    CertificateAuthority, CertificateKind, Csr, IssueRequest, IssuingPolicy, KeyAlgorithm,
    PrivateKey, RequestAttributes,
};
use serde_json::json;

use crate::ui::Table;

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Certificates issued per CA algorithm.
    #[arg(long, default_value_t = 500)]
    count: usize,
    /// Seconds `openssl speed` runs each algorithm.
    #[arg(long, default_value_t = 3)]
    openssl_seconds: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

struct Row {
    ca: KeyAlgorithm,
    ours: StdDuration,
    /// On-CPU time of this thread per certificate, when the kernel reports it: unlike wall time
    /// it does not grow when other processes share the cores (and `openssl speed` counts CPU
    /// time too).
    ours_cpu: Option<StdDuration>,
    floor: StdDuration,
    openssl_sign: f64,
    openssl_verify: f64,
}

pub(crate) fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    eprintln!(
        "preparing {} RSA-2048 CSRs (4 keys, distinct subjects)...",
        args.count
    );
    let keys: Vec<PrivateKey> = (0..4)
        .map(|_| PrivateKey::generate(KeyAlgorithm::Rsa2048))
        .collect::<Result<_, _>>()?;
    let csr_pems: Vec<String> = (0..args.count)
        .map(|i| {
            let mut attrs = RequestAttributes::new(format!("unit-{i}.bench.example"));
            attrs
                .sans
                .push_str(&format!("DNS:unit-{i}.bench.example"))?;
            Ok(attrs.to_csr(&keys[i % keys.len()])?.pem().to_owned())
        })
        .collect::<anyhow::Result<_>>()?;

    eprintln!(
        "measuring openssl speed ({}s per algorithm)...",
        args.openssl_seconds
    );
    let (rsa_sign, rsa_verify) = openssl_speed("rsa2048", args.openssl_seconds)?;
    let (p256_sign, _) = openssl_speed("ecdsap256", args.openssl_seconds)?;

    let mut rows = Vec::new();
    for (ca_alg, sign_rate) in [
        (KeyAlgorithm::Rsa2048, rsa_sign),
        (KeyAlgorithm::EcdsaP256, p256_sign),
    ] {
        eprintln!(
            "issuing {} certificates with a {} CA...",
            args.count,
            ca_alg.describe()
        );
        let now = OffsetDateTime::now_utc();
        let ca = CertificateAuthority::self_signed_root(
            &RequestAttributes::new("Bench CA"),
            PrivateKey::generate(ca_alg)?,
            Duration::days(365),
            now,
        )?;
        let policy = IssuingPolicy::default();
        let start = Instant::now();
        let cpu_start = thread_cpu_time();
        for pem in &csr_pems {
            let csr = Csr::from_pem(pem)?;
            let request = IssueRequest {
                csr: &csr,
                kind: CertificateKind::Leaf,
                validity: Duration::days(90),
            };
            std::hint::black_box(ca.issue(&request, &policy, now)?);
        }
        let count = u32::try_from(args.count).unwrap_or(u32::MAX);
        let ours = start.elapsed() / count;
        let ours_cpu = cpu_start
            .zip(thread_cpu_time())
            .map(|(a, b)| b.saturating_sub(a) / count);
        let floor = StdDuration::from_secs_f64(1.0 / sign_rate + 1.0 / rsa_verify);
        rows.push(Row {
            ca: ca_alg,
            ours,
            ours_cpu,
            floor,
            openssl_sign: sign_rate,
            openssl_verify: rsa_verify,
        });
    }

    if args.json {
        let value: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({
                    "ca": r.ca.name(), "csr": "rsa2048", "count": args.count,
                    "ours_us": r.ours.as_secs_f64() * 1e6,
                    "ours_cpu_us": r.ours_cpu.map(|c| c.as_secs_f64() * 1e6),
                    "floor_us": r.floor.as_secs_f64() * 1e6,
                    "openssl_sign_per_s": r.openssl_sign, "openssl_verify_per_s": r.openssl_verify,
                    "fraction_of_floor": r.floor.as_secs_f64() / r.ours.as_secs_f64(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new([
        "CA key",
        "CSR key",
        "juju-tls per cert",
        "CPU per cert",
        "openssl floor (sign+verify)",
        "rate vs floor",
        "certs/s",
    ]);
    for r in &rows {
        table.row([
            r.ca.describe().to_owned(),
            "RSA 2048".to_owned(),
            format!("{:.1} µs", r.ours.as_secs_f64() * 1e6),
            r.ours_cpu.map_or_else(
                || "-".to_owned(),
                |c| format!("{:.1} µs", c.as_secs_f64() * 1e6),
            ),
            format!("{:.1} µs", r.floor.as_secs_f64() * 1e6),
            format!(
                "{:.0}%",
                100.0 * r.floor.as_secs_f64() / r.ours.as_secs_f64()
            ),
            format!("{:.0}", 1.0 / r.ours.as_secs_f64()),
        ]);
    }
    print!("{}", table.render());
    println!(
        "floor = 1/(openssl sign/s of the CA key) + 1/(openssl verify/s of RSA-2048); rsa2048 sign {rsa_sign:.0}/s, verify {rsa_verify:.0}/s; p256 sign {p256_sign:.0}/s"
    );
    Ok(ExitCode::SUCCESS)
}

/// Time this thread has spent on a CPU, from `/proc/thread-self/schedstat` (nanoseconds, first
/// field); `None` where the kernel does not say.
fn thread_cpu_time() -> Option<StdDuration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(StdDuration::from_nanos(nanos))
}

/// Runs `openssl speed -seconds N ALG` and returns (sign/s, verify/s).
fn openssl_speed(algorithm: &str, seconds: u32) -> anyhow::Result<(f64, f64)> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), algorithm])
        .output()
        .context("running `openssl speed` (install openssl)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let marker = if algorithm == "rsa2048" {
        "rsa 2048 bits"
    } else {
        "(nistp256)"
    };
    let line = text
        .lines()
        .find(|l| l.contains(marker))
        .with_context(|| format!("no '{marker}' line in openssl speed output"))?;
    let after = line
        .split_once(if algorithm == "rsa2048" { "bits" } else { ")" })
        .map_or("", |(_, rest)| rest);
    let numbers: Vec<f64> = after
        .split_whitespace()
        .filter_map(|w| w.trim_end_matches('s').parse().ok())
        .collect();
    match numbers.as_slice() {
        [_, _, sign, verify, ..] => Ok((*sign, *verify)),
        _ => bail!("cannot read sign/verify rates from openssl speed line: {line}"),
    }
}
