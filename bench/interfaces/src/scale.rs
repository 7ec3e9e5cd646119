//! The provider at scale (issue 12): 10 relations of 1,000 units, time and memory of the first
//! hook and of steady-state hooks.

use std::time::Instant;

use anyhow::bail;
use charm::testing::{Context, Relation, State};
use charm::{Charm, Databag, Event, HandlerError, Model};
use pki::time::{Duration, OffsetDateTime};
use pki::{CertificateAuthority, KeyAlgorithm, PrivateKey, RequestAttributes};
use serde_json::{Value, json};
use tls_interfaces::to_python_json;

use crate::rust_side::ProviderCharm;
use crate::{HARNESS_NOW, secs, unit};

const SCALE_RELATIONS: usize = 10;
const SCALE_UNITS: usize = 1_000;
/// Runs of each steady-state hook (the median is reported).
const STEADY_RUNS: usize = 5;

struct NoopCharm;

impl Charm for NoopCharm {
    fn handle(&mut self, _event: &Event, _model: &mut Model<'_>) -> Result<(), HandlerError> {
        Ok(())
    }
}

/// Counts live heap bytes and their peak, so a hook's own memory can be told from the harness's
/// copy of the whole model state (which a hook process under Juju never holds).
struct CountingAlloc;

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are added.
// The one `unsafe` of the workspace outside dependencies: a global allocator has no safe form.
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        use std::sync::atomic::Ordering::Relaxed;
        // SAFETY: same contract as the caller's.
        let p = unsafe { std::alloc::System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(live, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Starts measuring the heap peak; returns the live bytes now.
fn heap_mark() -> usize {
    let live = LIVE.load(std::sync::atomic::Ordering::Relaxed);
    PEAK.store(live, std::sync::atomic::Ordering::Relaxed);
    live
}

/// Peak heap bytes above `mark` since [`heap_mark`], in MiB.
fn heap_peak_above(mark: usize) -> f64 {
    PEAK.load(std::sync::atomic::Ordering::Relaxed)
        .saturating_sub(mark) as f64
        / (1024.0 * 1024.0)
}

/// Peak RSS of this process so far (`VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    field("VmHWM:")
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Resets the peak RSS to the current RSS (Linux: `5` in `clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs `f` over `items` on every core, as the provider spreads its signatures.
fn on_all_cores<T: Sync>(items: &[T], f: impl Fn(&T) + Sync) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for part in items.chunks(chunk) {
            let f = &f;
            scope.spawn(move || part.iter().for_each(f));
        }
    });
}

/// One provider hook with 10,000 outstanding RSA-2048 CSRs over 10 relations of 1,000 units and
/// a P-256 CA, next to the floor (10,000 P-256 signatures + 10,000 RSA-2048 verifications, on
/// every core); then the steady-state hooks with 10,000 issued.
pub(crate) fn provider_scale() -> anyhow::Result<()> {
    let n = SCALE_RELATIONS * SCALE_UNITS;
    let start = OffsetDateTime::from_unix_timestamp(HARNESS_NOW)? - Duration::days(1);
    let ca = std::sync::Arc::new(CertificateAuthority::self_signed_root(
        &RequestAttributes::new("Bench P-256 CA"),
        PrivateKey::generate(KeyAlgorithm::EcdsaP256)?,
        Duration::days(3650),
        start,
    )?);
    eprintln!("making {n} RSA-2048 CSRs (8 keys, distinct subjects)...");
    let keys: Vec<PrivateKey> = (0..8)
        .map(|_| PrivateKey::generate(KeyAlgorithm::Rsa2048))
        .collect::<Result<_, _>>()?;
    let csrs: Vec<String> = (0..n)
        .map(|i| {
            let mut a = RequestAttributes::new(format!("u{i}.scale.example"));
            a.sans.push_str(&format!("DNS:u{i}.scale.example"))?;
            Ok(a.to_csr(&keys[i % keys.len()])?.pem().to_owned())
        })
        .collect::<anyhow::Result<_>>()?;

    // The floor, on every core like the provider: one P-256 signature and one RSA-2048
    // verification (parse + verify of the CSR) per certificate.
    let t = Instant::now();
    let tbs = [0u8; 400];
    let indices: Vec<usize> = (0..n).collect();
    on_all_cores(&indices, |i| {
        std::hint::black_box(ca.key().sign(&tbs).ok());
        std::hint::black_box(pki::Csr::from_pem(&csrs[*i]).ok());
    });
    let floor = t.elapsed().as_secs_f64();

    let mut state = State::new(unit("ca/0")).with_leader(true);
    for r in 0..SCALE_RELATIONS {
        let app = format!("req{r}");
        let mut rel = Relation::new(
            "certificates".parse().expect("endpoint"),
            u32::try_from(r + 1)?,
            app.parse()?,
        )
        .without_remote_units();
        for u in 0..SCALE_UNITS {
            let e = json!({"certificate_signing_request": csrs[r * SCALE_UNITS + u], "ca": false});
            let bag =
                Databag::from([("certificate_signing_requests".into(), to_python_json(&[e]))]);
            rel = rel.with_remote_unit(unit(&format!("{app}/{u}")), bag);
        }
        state = state.with_relation(rel);
    }
    let ca2 = ca.clone();
    let ctx = Context::from_charmcraft_yaml(
        "name: ca\nprovides:\n  certificates:\n    interface: tls-certificates\n",
        move || ProviderCharm(ca2.clone()),
    )?;
    eprintln!("first hook: {n} outstanding...");
    let t = Instant::now();
    let out = ctx
        .run(Event::UpdateStatus, state)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let first = t.elapsed().as_secs_f64();
    let issued: usize = out
        .relations
        .iter()
        .map(|r| {
            r.local_app_data
                .get("certificates")
                .and_then(|v| serde_json::from_str::<Vec<Value>>(v).ok())
                .map_or(0, |l| l.len())
        })
        .sum();
    if issued != n {
        bail!("issued {issued} of {n}");
    }

    // Each steady-state hook runs STEADY_RUNS times on the state the previous run left (nothing
    // to do each time): the median time, the largest peak RSS.
    // Memory: the peak RSS of the process (which holds the harness's copy of every bag), and
    // the peak of what the hook allocated itself (counted by the allocator, above the heap in
    // use when the hook started): the part a hook process under Juju would hold.
    let steady = |event: Event, mut state: State| -> anyhow::Result<(f64, f64, f64, f64, State)> {
        let baseline = rss_mib();
        reset_peak_rss();
        let mut times = Vec::with_capacity(STEADY_RUNS);
        let mut own = 0f64;
        for _ in 0..STEADY_RUNS {
            let t = Instant::now();
            let mark = heap_mark();
            state = ctx
                .run(event.clone(), state)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            times.push(t.elapsed().as_secs_f64());
            own = own.max(heap_peak_above(mark));
        }
        times.sort_by(f64::total_cmp);
        Ok((times[STEADY_RUNS / 2], peak_rss_mib(), baseline, own, state))
    };
    let (full, full_peak, full_base, full_own, out) = steady(Event::UpdateStatus, out)?;
    let changed = Event::RelationChanged(charm::event::RelationEvent {
        relation: "certificates:1".parse()?,
        remote_app: Some("req0".parse()?),
        remote_unit: Some(unit("req0/0")),
        departing_unit: None,
    });
    let (incr, incr_peak, incr_base, incr_own, out) = steady(changed, out)?;
    // The harness alone on the same state: a charm that does nothing.
    let noop = Context::from_charmcraft_yaml(
        "name: ca\nprovides:\n  certificates:\n    interface: tls-certificates\n",
        || NoopCharm,
    )?;
    let t = Instant::now();
    let mark = heap_mark();
    noop.run(Event::UpdateStatus, out)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let harness = t.elapsed().as_secs_f64();
    let harness_own = heap_peak_above(mark);

    println!(
        "## Provider at scale: {n} RSA-2048 CSRs over {SCALE_RELATIONS} relations of {SCALE_UNITS} units, P-256 CA\n"
    );
    println!(
        "| hook | time | floor | ratio | heap the hook allocated (peak) | peak RSS of the process (baseline: the harness state) |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    println!(
        "| first hook: {n} outstanding | {} | {} | {:.2}x | - | - |",
        secs(first),
        secs(floor),
        first / floor
    );
    println!(
        "| steady state, update-status (reads every bag; median of {STEADY_RUNS}) | {} | - | - | {full_own:.1} MiB | {full_peak:.0} MiB (baseline {full_base:.0} MiB) |",
        secs(full)
    );
    println!(
        "| steady state, one unit's relation-changed (median of {STEADY_RUNS}) | {} | - | - | {incr_own:.1} MiB | {incr_peak:.0} MiB (baseline {incr_base:.0} MiB) |",
        secs(incr)
    );
    println!(
        "| the harness alone (a charm that does nothing, same state) | {} | - | - | {harness_own:.1} MiB | - |",
        secs(harness)
    );
    println!(
        "\nFloor: {n} x (one P-256 signature + one RSA-2048 CSR parse and verification) on {} cores.",
        std::thread::available_parallelism().map_or(1, |c| c.get())
    );
    Ok(())
}
