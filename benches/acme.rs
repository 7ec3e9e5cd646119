//! The acme-certificates charm against a real ACME server (not a test):
//!
//! ```text
//! cargo bench --bench acme -- [--sizes 10,100]
//! ```
//!
//! At each size N: `acme-certificates` (HTTP-01) and N units of `cert-requirer` (P-256, UNIT
//! mode, names under `acme.test`), with Debian's pebble (`PEBBLE_VA_NOSLEEP=1`, no nonce
//! rejection, no authorization reuse) and BIND on loopback, as in `tests/it/acme.rs`. The
//! requirers' start-up hooks run first; then `integrate` and one timed settle until all N
//! certificates are delivered and every requirer holds its own.
//!
//! Reported: the total (integrate -> delivered); the acme-certificates hooks' wall time, split
//! into the time with a request to pebble in flight (the server's share, measured in the charm)
//! and the rest (our hooks' own share); the hooks' CPU time and pebble's CPU time over the run.
//! Goal: our hooks' own share under 10% of the total. Figures go to docs/performance.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

mod support;

#[allow(dead_code)]
#[path = "../tests/it/support/acme.rs"]
mod servers;

use model::{Registry, SettleOptions};
use servers::{Bind, Pebble, PebbleOptions, ZONE, free_port};

fn main() {
    support::reexec_with_tool_binary();
    let mut sizes = vec![10, 100];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sizes" => {
                sizes = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|s| s.trim().parse().ok())
                    .filter(|n| *n > 0)
                    .collect();
            }
            "--bench" => {}
            other => {
                eprintln!(
                    "unknown argument {other}\nusage: cargo bench --bench acme -- [--sizes 10,100]"
                );
                std::process::exit(2);
            }
        }
    }
    let charms = build_charms();
    let data = support::private_data_dir();
    let registry = Registry::at(data.path());
    println!("acme-certificates (HTTP-01) + N cert-requirer units against pebble on loopback");
    let mut rows = Vec::new();
    for n in sizes {
        eprintln!("N={n}...");
        rows.push((n, run(&registry, &charms, n)));
    }
    println!();
    println!(
        "| N | integrate -> delivered (s) | acme hooks | acme hooks' wall (s) | requests to pebble in flight (s) | polling while pebble validates (s) | rest of those hooks (s) | acme hooks' CPU (s) | pebble CPU (s) | **our hooks' share** | server's share | our CPU share |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (n, r) in &rows {
        let rest = r.hook_time.saturating_sub(r.in_flight + r.polling);
        let share = |d: Duration| 100.0 * d.as_secs_f64() / r.total.as_secs_f64();
        println!(
            "| {n} | {:.2} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | **{:.1}%** | {:.1}% | {:.1}% |",
            r.total.as_secs_f64(),
            r.hooks,
            r.hook_time.as_secs_f64(),
            r.in_flight.as_secs_f64(),
            r.polling.as_secs_f64(),
            rest.as_secs_f64(),
            r.cpu.as_secs_f64(),
            r.pebble_cpu.as_secs_f64(),
            share(rest),
            share(r.in_flight + r.polling),
            share(r.cpu),
        );
    }
    println!();
    println!(
        "our hooks' share: the acme hooks' wall time outside requests and polls (process start-up, {tool_calls} hook-tool calls, a process each as under Juju, and our code) over the total; server's share: requests in flight plus polls while pebble validates; our CPU: the acme hooks' CPU time (every thread, /proc schedstat)",
        tool_calls = rows
            .iter()
            .map(|(_, r)| r.tool_calls.to_string())
            .collect::<Vec<_>>()
            .join(" / ")
    );
}

struct Figures {
    total: Duration,
    hooks: usize,
    tool_calls: usize,
    hook_time: Duration,
    in_flight: Duration,
    polling: Duration,
    cpu: Duration,
    pebble_cpu: Duration,
}

fn run(registry: &Registry, charms: &Charms, n: usize) -> Figures {
    let name = format!("acme-{n}");
    let model = Arc::new(registry.add(&name).expect("model"));
    let settle = SettleOptions::default();
    let http_port = free_port();
    let kv = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    model
        .deploy(
            charms.acme.path(),
            Some("acme"),
            1,
            &[
                kv("email", "bench@acme.test"),
                kv("plugin", "http"),
                kv("http-01-port", &http_port.to_string()),
                kv("order-wait", "300"),
            ],
        )
        .expect("deploy acme");
    model.settle(&settle).expect("settle");
    let status = model.status().expect("status");
    let address = status
        .applications
        .iter()
        .flat_map(|a| a.units.iter())
        .find(|u| u.name == "acme/0")
        .map(|u| u.address.clone())
        .expect("acme/0 address");
    let bind = Bind::start(&address);
    let pebble = Pebble::start(
        bind.port,
        &PebbleOptions {
            http_port,
            ..PebbleOptions::default()
        },
    );
    model
        .set_config(
            "acme",
            &[
                kv("server", &pebble.directory()),
                kv("acme-ca-certificates", &pebble.listener_ca),
            ],
            &[],
        )
        .expect("config");
    model
        .deploy(
            charms.requirer.path(),
            Some("req"),
            n,
            &[kv("domain", ZONE)],
        )
        .expect("deploy req");
    model.settle(&settle).expect("settle the start-up hooks");
    let pebble_before = pebble.cpu_time();
    let started = Instant::now();
    model
        .integrate("req:certificates", "acme:certificates")
        .expect("integrate");
    let report = model.settle(&settle).expect("settle");
    let total = started.elapsed();
    let pebble_cpu = pebble.cpu_time().saturating_sub(pebble_before);
    assert!(report.errors.is_empty(), "errors: {:?}", report.errors);
    let status = model.status().expect("status");
    let delivered = status
        .applications
        .iter()
        .filter(|a| a.name == "req")
        .flat_map(|a| a.units.iter())
        .filter(|u| u.workload == "active" && u.message.starts_with("certificate "))
        .count();
    assert_eq!(delivered, n, "not every requirer got its certificate");
    let acme_runs: Vec<_> = report
        .runs
        .iter()
        .filter(|r| r.unit.starts_with("acme/"))
        .collect();
    let (mut in_flight, mut polling, mut cpu) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for line in model.debug_log(Some("acme/0"), 100_000).expect("log") {
        if std::env::var_os("ACME_BENCH_VERBOSE").is_some() && line.message.contains("drove") {
            eprintln!("{}", line.message);
        }
        if let Some((s, p, c)) = parse_drove(&line.message) {
            in_flight += s;
            polling += p;
            cpu += c;
        }
    }
    drop(model);
    registry.destroy(&name).expect("destroy");
    Figures {
        total,
        hooks: acme_runs.len(),
        tool_calls: acme_runs.iter().map(|r| r.tool_calls).sum(),
        hook_time: acme_runs.iter().map(|r| r.elapsed).sum(),
        in_flight,
        polling,
        cpu,
        pebble_cpu,
    }
}

/// `drove N orders in W ms (S ms with requests in flight, P ms polling, C ms CPU): ...` ->
/// (S, P, C).
fn parse_drove(message: &str) -> Option<(Duration, Duration, Duration)> {
    let rest = &message[message.find("drove ")? + "drove ".len()..];
    let (_, rest) = rest.split_once(" ms (")?;
    let (in_flight, rest) = rest.split_once(" ms with requests in flight, ")?;
    let (polling, rest) = rest.split_once(" ms polling, ")?;
    let (cpu, _) = rest.split_once(" ms CPU")?;
    let ms = |t: &str| t.parse().ok().map(Duration::from_millis);
    Some((ms(in_flight)?, ms(polling)?, ms(cpu)?))
}

struct Charms {
    acme: tempfile::TempDir,
    requirer: tempfile::TempDir,
}

fn build_charms() -> Charms {
    let mut staged = support::build_and_stage(&[
        ("charms/acme-certificates", "acme-certificates"),
        ("tests/charms/cert-requirer", "cert-requirer"),
    ])
    .into_iter();
    Charms {
        acme: staged.next().expect("staged"),
        requirer: staged.next().expect("staged"),
    }
}
