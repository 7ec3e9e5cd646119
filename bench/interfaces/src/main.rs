//! Benchmarks of the tls-certificates interfaces against the Python library, in one run.
//! See README.md.

use anyhow::{Context as _, bail};
use charm::UnitName;
use pki::time::{Duration, OffsetDateTime};
use pki::{CertificateAuthority, KeyAlgorithm, PrivateKey, RequestAttributes};
use serde_json::{Value, json};

mod python_side;
mod rust_side;
mod scale;

use python_side::{provider_hook_python, requirer_hook_python};
use rust_side::{provider_hook_rust, requirer_hook_rust, signed_entries};

const HARNESS_NOW: i64 = 1_767_225_600;

struct Options {
    sizes: Vec<usize>,
    python_max: usize,
    /// Each juju-tls figure is the median of this many runs (the Python ones are single runs:
    /// they take minutes).
    runs: usize,
    requirer_only: bool,
    provider_scale: bool,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        sizes: vec![10, 100, 500, 1000],
        python_max: 500,
        runs: 5,
        requirer_only: false,
        provider_scale: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--python-max" => o.python_max = args.next().context("--python-max N")?.parse()?,
            "--sizes" => {
                o.sizes = args
                    .next()
                    .context("--sizes 10,100")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--runs" => o.runs = args.next().context("--runs K")?.parse::<usize>()?.max(1),
            "--requirer-only" => o.requirer_only = true,
            "--provider-scale" => o.provider_scale = true,
            "-h" | "--help" => {
                println!(
                    "bench-interfaces [--python-max N] [--sizes a,b,c] [--runs K] \
                     [--requirer-only] [--provider-scale]\n(see bench/interfaces/README.md)"
                );
                std::process::exit(0);
            }
            other => bail!(
                "unknown argument {other} (expected --python-max N, --sizes a,b,c, --runs K, \
                 --requirer-only, --provider-scale)"
            ),
        }
    }
    Ok(o)
}

fn main() -> anyhow::Result<()> {
    let opts = options()?;
    if opts.provider_scale {
        return scale::provider_scale();
    }
    let start = OffsetDateTime::from_unix_timestamp(HARNESS_NOW)? - Duration::days(1);
    eprintln!("making an RSA-2048 CA and a pool of RSA-2048 requester keys...");
    let ca = CertificateAuthority::self_signed_root(
        &RequestAttributes::new("Bench CA"),
        PrivateKey::generate(KeyAlgorithm::Rsa2048)?,
        Duration::days(3650),
        start,
    )?;
    let keys: Vec<PrivateKey> = (0..8)
        .map(|_| PrivateKey::generate(KeyAlgorithm::Rsa2048))
        .collect::<Result<_, _>>()?;
    let max = opts.sizes.iter().copied().max().unwrap_or(0);
    let csrs: Vec<String> = (0..max)
        .map(|i| {
            let mut a = RequestAttributes::new(format!("unit-{i}.bench.example"));
            a.sans.push_str(&format!("DNS:unit-{i}.bench.example"))?;
            Ok(a.to_csr(&keys[i % keys.len()])?.pem().to_owned())
        })
        .collect::<anyhow::Result<_>>()?;
    let ca_pem = ca.certificate().pem().to_owned();
    let ca_key_pem = ca.key().to_traditional_pem()?.to_string();

    println!(
        "juju-tls figures: median of {} runs; Python figures: one run each.\n",
        opts.runs
    );
    println!("## Provider: one hook with N outstanding CSRs (RSA-2048 CA, RSA-2048 CSRs)\n");
    println!("| N | layout | juju-tls | Python library | ratio | juju-tls per cert |");
    println!("|---|---|---|---|---|---|");
    let mut cases: Vec<(usize, bool)> = opts.sizes.iter().map(|n| (*n, false)).collect();
    if let Some(&biggest) = opts.sizes.iter().max() {
        cases.push((biggest, true));
    }
    if opts.requirer_only {
        cases.clear();
    }
    for (n, app_bag) in cases {
        let entries: Vec<Value> = csrs[..n]
            .iter()
            .map(|c| json!({"certificate_signing_request": c, "ca": false}))
            .collect();
        let rust = median(
            (0..opts.runs)
                .map(|_| provider_hook_rust(&ca, &entries, app_bag))
                .collect::<anyhow::Result<_>>()?,
        );
        let python = if n <= opts.python_max {
            eprintln!(
                "Python provider, N={n}{}...",
                if app_bag { " (app bag)" } else { "" }
            );
            Some(provider_hook_python(
                &ca_pem,
                &ca_key_pem,
                &entries,
                app_bag,
            )?)
        } else {
            None
        };
        let layout = if app_bag {
            "all in one app bag"
        } else {
            "one per unit"
        };
        println!(
            "| {n} | {layout} | {} | {} | {} | {:.2} ms |",
            secs(rust),
            python.map_or("not run".to_owned(), secs),
            python.map_or("-".to_owned(), |p| format!("{:.0}x", p / rust)),
            rust * 1e3 / n as f64
        );
    }

    println!("\n## Requirer: one steady-state hook with N certificates in the provider bag\n");
    println!(
        "| N | juju-tls | harness floor (reads the bag, parses nothing) | Python library | ratio |"
    );
    println!("|---|---|---|---|---|");
    for n in [1usize, 100, 500] {
        if n > max.max(1) {
            continue;
        }
        let others = signed_entries(&ca, &csrs[..n.saturating_sub(1)])?;
        let (rust, floor) = requirer_hook_rust(&ca, &others, opts.runs)?;
        eprintln!("Python requirer, N={n}...");
        let python = requirer_hook_python(&ca, &others)?;
        println!(
            "| {n} | {} | {} | {} | {:.0}x |",
            secs(rust),
            secs(floor),
            secs(python),
            python / rust
        );
    }
    Ok(())
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

fn unit(name: &str) -> UnitName {
    name.parse().expect("unit name")
}
