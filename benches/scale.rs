//! Scale benchmark of the local model (not a test):
//!
//! ```text
//! cargo bench --bench scale -- --sizes 10,100,1000 [--jobs N]
//! ```
//!
//! At each size N: `self-signed-certificates` (1 unit) and N units of `cert-requirer`
//! (`tests/charms/cert-requirer`: a tls-certificates requirer in UNIT mode with P-256 keys),
//! integrated, then one timed `settle` runs every hook until the model is settled (the units'
//! start-up hooks and the whole certificate exchange) and every requirer unit is checked to be
//! active with its certificate. Deploying (staging the unit directories) and integrating only
//! record the change and are not timed. Reported: wall time, hooks run, hook-tool calls, model
//! overhead per hook, peak RSS of this process (the settling one) during the settle.
//!
//! The floor, measured in the same run at the same size: a no-op charm (a shell `dispatch`)
//! deployed with the same units runs exactly as many hooks per unit as the real run did, each
//! making as many hook-tool calls (`is-leader`) as the real hook made, as counted by the model's
//! hook log; plus the cryptography the real run cannot avoid, timed in-process with `pki`: N
//! P-256 keys and CSRs, and N certificates issued by an RSA-2048 CA (the provider's default).
//! The no-op hooks are actions (`calls-K`), the only way to make a charm run a chosen number of
//! hooks; the scheduler runs them like any hook, one at a time per unit.
//!
//! Goal: settled within 2x the floor at every size, and linear growth. Figures go to
//! docs/performance.md ("Local model at scale").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod support;

use model::{HookRecord, Registry, SettleOptions};
use pki::time::{Duration as Validity, OffsetDateTime};
use pki::{
    CertificateAuthority, CertificateKind, Csr, IssueRequest, IssuingPolicy, KeyAlgorithm,
    PrivateKey, RequestAttributes,
};

struct Options {
    sizes: Vec<usize>,
    jobs: usize,
}

fn options() -> Options {
    let mut opts = Options {
        sizes: vec![10, 100, 1000],
        jobs: SettleOptions::default().jobs,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sizes" => {
                let list = args.next().unwrap_or_default();
                opts.sizes = list
                    .split(',')
                    .map(|s| s.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|e| usage(&format!("--sizes {list}: {e}")));
                if opts.sizes.is_empty() || opts.sizes.contains(&0) {
                    usage("--sizes needs positive numbers");
                }
            }
            "--jobs" => {
                let n = args.next().unwrap_or_default();
                opts.jobs = n
                    .parse()
                    .unwrap_or_else(|e| usage(&format!("--jobs {n}: {e}")));
            }
            // `cargo bench` passes `--bench` to every bench target.
            "--bench" => {}
            other => usage(&format!("unknown argument {other}")),
        }
    }
    opts
}

fn usage(problem: &str) -> ! {
    eprintln!("{problem}\nusage: cargo bench --bench scale -- [--sizes 10,100,1000] [--jobs N]");
    std::process::exit(2)
}

/// One settle at one size.
struct Run {
    wall: Duration,
    hooks: usize,
    tool_calls: usize,
    /// Sum of the hook processes' wall times.
    hook_time: Duration,
    peak_rss_kib: u64,
    runs: Vec<HookRecord>,
}

impl Run {
    /// Time the job slots spent outside hook processes, per hook: queue scans, the transactions
    /// before and after each hook, environments, thread hand-offs (the socket server's work is
    /// inside the hook's time).
    fn overhead_per_hook(&self, jobs: usize) -> Duration {
        let slots = self.wall * u32::try_from(jobs).unwrap_or(1);
        slots.saturating_sub(self.hook_time) / u32::try_from(self.hooks.max(1)).unwrap_or(1)
    }
}

fn main() {
    support::reexec_with_tool_binary();
    let opts = options();
    let charms = build_charms();
    let data = support::private_data_dir();
    let registry = Registry::at(data.path());
    let settle = SettleOptions {
        jobs: opts.jobs,
        ..SettleOptions::default()
    };
    println!(
        "local model at scale: self-signed-certificates + N cert-requirer units (P-256, UNIT mode), {} jobs; load average at start: {}",
        settle.jobs,
        load_average()
    );

    let mut rows = Vec::new();
    for &n in &opts.sizes {
        eprintln!("N={n}: real run...");
        let real = real_run(&registry, &charms, n, &settle);
        eprintln!(
            "N={n}: real run settled in {:.2} s ({} hooks); floor run...",
            real.wall.as_secs_f64(),
            real.hooks
        );
        let floor = floor_run(&registry, n, &real.runs, &settle);
        eprintln!(
            "N={n}: floor hooks in {:.2} s; crypto...",
            floor.wall.as_secs_f64()
        );
        let crypto = crypto_floor(n);
        rows.push((n, real, floor, crypto, load_average()));
    }

    println!();
    println!(
        "| N | settled (s) | hooks | tool calls | model overhead per hook (ms) | peak RSS (MiB) | floor: no-op hooks (s) | floor: crypto (s) | floor total (s) | settled / floor | settled per unit (ms) | load average after |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for (n, real, floor, crypto, load) in &rows {
        let floor_total = floor.wall + *crypto;
        println!(
            "| {n} | {:.2} | {} | {} | {:.2} (floor run: {:.2}) | {:.1} (floor run: {:.1}) | {:.2} | {:.3} | {:.2} | **{:.2}x** | {:.1} | {load} |",
            real.wall.as_secs_f64(),
            real.hooks,
            real.tool_calls,
            ms(real.overhead_per_hook(settle.jobs)),
            ms(floor.overhead_per_hook(settle.jobs)),
            real.peak_rss_kib as f64 / 1024.0,
            floor.peak_rss_kib as f64 / 1024.0,
            floor.wall.as_secs_f64(),
            crypto.as_secs_f64(),
            floor_total.as_secs_f64(),
            real.wall.as_secs_f64() / floor_total.as_secs_f64(),
            ms(real.wall) / *n as f64,
        );
    }
    println!();
    for (n, real, floor, _, _) in &rows {
        let by_hook = by_hook(&real.runs);
        println!(
            "N={n}: hooks per unit {:.2}, tool calls per hook {:.2}, mean hook {:.1} ms (floor hook {:.1} ms); by hook: {}",
            real.hooks as f64 / (*n + 1) as f64,
            real.tool_calls as f64 / real.hooks.max(1) as f64,
            ms(real.hook_time) / real.hooks.max(1) as f64,
            ms(floor.hook_time) / floor.hooks.max(1) as f64,
            by_hook
        );
        println!("      {}", by_app(&real.runs));
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        if last.0 > first.0 {
            let growth = last.1.wall.as_secs_f64() / first.1.wall.as_secs_f64();
            let size = last.0 as f64 / first.0 as f64;
            println!(
                "growth from N={} to N={}: size x{size:.0}, settled time x{growth:.1} (linear: x{size:.0}); hooks x{:.1}",
                first.0,
                last.0,
                last.1.hooks as f64 / first.1.hooks as f64
            );
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Hook names and counts, most frequent first.
fn by_hook(runs: &[HookRecord]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in runs {
        *counts.entry(r.hook.as_str()).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    counts
        .iter()
        .map(|(h, c)| format!("{h} {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Per application: hooks, tool calls per hook, time in hooks; the requirer's relation-changed
/// hooks per unit (each one a provider app-bag write it saw).
fn by_app(runs: &[HookRecord]) -> String {
    let mut apps: BTreeMap<&str, (usize, usize, Duration)> = BTreeMap::new();
    for r in runs {
        let app = r.unit.split('/').next().unwrap_or_default();
        let e = apps.entry(app).or_default();
        e.0 += 1;
        e.1 += r.tool_calls;
        e.2 += r.elapsed;
    }
    let units: std::collections::BTreeSet<&str> = runs
        .iter()
        .filter(|r| r.unit.starts_with("req/"))
        .map(|r| r.unit.as_str())
        .collect();
    let req_changed = runs
        .iter()
        .filter(|r| r.unit.starts_with("req/") && r.hook == "certificates-relation-changed")
        .count();
    let mut parts: Vec<String> = apps
        .iter()
        .map(|(app, (hooks, calls, time))| {
            format!(
                "{app}: {hooks} hooks, {:.1} tool calls per hook, {:.1} s in hooks",
                *calls as f64 / *hooks as f64,
                time.as_secs_f64()
            )
        })
        .collect();
    parts.push(format!(
        "requirer certificates-relation-changed per unit: {:.1}",
        req_changed as f64 / units.len().max(1) as f64
    ));
    parts.join("; ")
}

struct Charms {
    provider: tempfile::TempDir,
    requirer: tempfile::TempDir,
}

/// Builds the two charms and stages them (see [`support::build_and_stage`]).
fn build_charms() -> Charms {
    let mut staged = support::build_and_stage(&[
        (
            "charms/self-signed-certificates",
            "self-signed-certificates",
        ),
        ("tests/charms/cert-requirer", "cert-requirer"),
    ])
    .into_iter();
    Charms {
        provider: staged.next().expect("staged"),
        requirer: staged.next().expect("staged"),
    }
}

fn write_exe(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Resets this process's peak RSS (`VmHWM`): writing 5 to `clear_refs` does that on Linux.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak RSS since the last reset, in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Times one settle of whatever is queued in `model`.
fn timed_settle(model: &Arc<model::Model>, settle: &SettleOptions) -> Run {
    reset_peak_rss();
    let started = Instant::now();
    let report = model.settle(settle).expect("settle");
    let wall = started.elapsed();
    let peak_rss_kib = peak_rss_kib();
    assert!(
        report.errors.is_empty(),
        "units in error: {:?}",
        report.errors
    );
    Run {
        wall,
        hooks: report.runs.len(),
        tool_calls: report.runs.iter().map(|r| r.tool_calls).sum(),
        hook_time: report.runs.iter().map(|r| r.elapsed).sum(),
        peak_rss_kib,
        runs: report.runs,
    }
}

fn real_run(registry: &Registry, charms: &Charms, n: usize, settle: &SettleOptions) -> Run {
    let name = format!("scale-{n}");
    let model = Arc::new(registry.add(&name).expect("model"));
    model
        .deploy(
            charms.provider.path(),
            Some("ca"),
            1,
            // Its default caps a relation at 99 certificates.
            &[("certificate-limit".to_owned(), "-1".to_owned())],
        )
        .expect("deploy ca");
    model.settle(settle).expect("settle the provider");
    model
        .deploy(charms.requirer.path(), Some("req"), n, &[])
        .expect("deploy requirer");
    model
        .integrate("req:certificates", "ca:certificates")
        .expect("integrate");
    let run = timed_settle(&model, settle);
    if let Some(path) = std::env::var_os("SCALE_DUMP_RUNS") {
        let path = PathBuf::from(path).join(format!("runs-{n}.json"));
        std::fs::write(&path, serde_json::to_string(&run.runs).expect("json")).expect("dump");
    }
    let status = model.status().expect("status");
    let units: Vec<_> = status
        .applications
        .iter()
        .filter(|a| a.name == "req")
        .flat_map(|a| a.units.iter())
        .collect();
    assert_eq!(units.len(), n);
    for u in units {
        assert!(
            u.workload == "active" && u.message.starts_with("certificate "),
            "{} has no certificate: {} {}",
            u.name,
            u.workload,
            u.message
        );
    }
    drop(model);
    registry.destroy(&name).expect("destroy");
    run
}

/// The same hooks per unit, each making the same number of tool calls, by a no-op charm.
fn floor_run(registry: &Registry, n: usize, real: &[HookRecord], settle: &SettleOptions) -> Run {
    let most = real.iter().map(|r| r.tool_calls).max().unwrap_or(0);
    let noop = tempfile::tempdir().expect("temp dir");
    std::fs::write(noop.path().join("metadata.yaml"), "name: noop\n").expect("metadata");
    let actions: String = (0..=most)
        .map(|k| format!("calls-{k}:\n  description: make {k} is-leader calls\n"))
        .collect();
    std::fs::write(noop.path().join("actions.yaml"), actions).expect("actions");
    write_exe(
        &noop.path().join("dispatch"),
        "#!/bin/sh\ncase $JUJU_ACTION_NAME in calls-*) n=${JUJU_ACTION_NAME#calls-} ;; *) n=0 ;; esac\nwhile [ \"$n\" -gt 0 ]; do is-leader >/dev/null || exit 1; n=$((n-1)); done\n",
    );
    let name = format!("floor-{n}");
    let model = Arc::new(registry.add(&name).expect("model"));
    model
        .deploy(noop.path(), Some("ca"), 1, &[])
        .expect("deploy ca");
    model
        .deploy(noop.path(), Some("req"), n, &[])
        .expect("deploy req");
    model.settle(settle).expect("settle the start-up hooks");
    // In completion order: per unit that is the order the real hooks ran in.
    for r in real {
        model
            .queue_action(&r.unit, &format!("calls-{}", r.tool_calls), &[])
            .expect("queue");
    }
    let run = timed_settle(&model, settle);
    assert_eq!(run.hooks, real.len());
    assert_eq!(
        run.tool_calls,
        real.iter().map(|r| r.tool_calls).sum::<usize>()
    );
    drop(model);
    registry.destroy(&name).expect("destroy");
    run
}

/// What the real run cannot avoid: N P-256 keys and CSRs (the requirers) and N certificates
/// (CSR parsed and verified, issued, signed) by an RSA-2048 CA (the provider's default key).
fn crypto_floor(n: usize) -> Duration {
    let now = OffsetDateTime::now_utc();
    let ca = CertificateAuthority::self_signed_root(
        &RequestAttributes::new("scale floor CA"),
        PrivateKey::generate(KeyAlgorithm::Rsa2048).expect("CA key"),
        Validity::days(365),
        now,
    )
    .expect("CA");
    let policy = IssuingPolicy::default();
    let started = Instant::now();
    for i in 0..n {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
        let name = format!("req-{i}");
        let mut attrs = RequestAttributes::new(name.clone());
        attrs.sans.push_str(&format!("DNS:{name}")).expect("san");
        let pem = attrs.to_csr(&key).expect("csr").pem().to_owned();
        let csr = Csr::from_pem(&pem).expect("parse csr");
        let request = IssueRequest {
            csr: &csr,
            kind: CertificateKind::Leaf,
            validity: Validity::days(90),
        };
        std::hint::black_box(ca.issue(&request, &policy, now).expect("issue"));
    }
    started.elapsed()
}
