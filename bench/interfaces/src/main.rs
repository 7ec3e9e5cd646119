//! Benchmarks of the tls-certificates interfaces against the Python library, in one run.
//! See README.md.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context as _, bail};
use charm::testing::{Context, Relation, State};
use charm::{BagOwner, Charm, Databag, Event, HandlerError, Model, UnitName};
use pki::time::{Duration, OffsetDateTime};
use pki::{
    CertificateAuthority, CertificateKind, IssueRequest, IssuingPolicy, KeyAlgorithm, PrivateKey,
    RequestAttributes,
};
use serde_json::{Value, json};
use tls_interfaces::{
    CertificateRequest, Mode, Scope, Signer, TlsProvider, TlsRequirer, to_python_json,
};

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
        return provider_scale();
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

// ---------- the Rust side ----------

struct ProviderCharm(std::sync::Arc<CertificateAuthority>);

impl Charm for ProviderCharm {
    fn handle(&mut self, _event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let provider = TlsProvider::new("certificates".parse()?);
        let mut state = provider.load(model)?;
        state.drop_certificates_without_csr();
        let now = OffsetDateTime::from_unix_timestamp(model.now())?;
        let policy = IssuingPolicy::default();
        let signer = Signer {
            ca: &self.0,
            issuers: &[],
            policy: &policy,
            validity: Duration::days(90),
            now,
            provider_name: "bench",
            limit_per_relation: None,
            limit_hint: "",
        };
        state.sign_outstanding(&signer)?;
        // What the self-signed charm also asks each hook: the CAs to publish, the count.
        let current = self.0.certificate().pem().trim().to_owned();
        std::hint::black_box(state.trusted_cas(Some(&current), now));
        std::hint::black_box(state.issued_count());
        provider.commit(model, state)?;
        Ok(())
    }
}

fn provider_state(entries: &[Value], app_bag: bool) -> State {
    let mut rel = Relation::new(
        "certificates".parse().expect("endpoint"),
        7,
        "req".parse().expect("app"),
    )
    .without_remote_units();
    if app_bag {
        rel = rel.with_remote_unit(unit("req/0"), Databag::new());
        rel.remote_app_data.insert(
            "certificate_signing_requests".into(),
            to_python_json(entries),
        );
    } else {
        for (i, e) in entries.iter().enumerate() {
            let bag =
                Databag::from([("certificate_signing_requests".into(), to_python_json(&[e]))]);
            rel = rel.with_remote_unit(unit(&format!("req/{i}")), bag);
        }
    }
    State::new(unit("ca/0"))
        .with_leader(true)
        .with_relation(rel)
}

fn provider_hook_rust(
    ca: &CertificateAuthority,
    entries: &[Value],
    app_bag: bool,
) -> anyhow::Result<f64> {
    let ca = std::sync::Arc::new(CertificateAuthority::new(
        ca.certificate().clone(),
        PrivateKey::from_pem(&ca.key().to_pkcs8_pem())?,
    )?);
    let ctx = Context::from_charmcraft_yaml(
        "name: ca\nprovides:\n  certificates:\n    interface: tls-certificates\n",
        move || ProviderCharm(ca.clone()),
    )?;
    let state = provider_state(entries, app_bag);
    let t = Instant::now();
    let out = ctx
        .run(Event::UpdateStatus, state)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let elapsed = t.elapsed().as_secs_f64();
    let issued: Vec<Value> = serde_json::from_str(
        out.relation(7)
            .context("relation")?
            .local_app_data
            .get("certificates")
            .context("no certificates written")?,
    )?;
    if issued.len() != entries.len() {
        bail!("issued {} of {}", issued.len(), entries.len());
    }
    Ok(elapsed)
}

struct RequirerCharm;

impl Charm for RequirerCharm {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let mut a = RequestAttributes::new("me.bench.example");
        a.sans.push_str("DNS:me.bench.example")?;
        let tls = TlsRequirer::new("certificates".parse()?, Mode::Unit)
            .with_request(Scope::Unit, CertificateRequest::leaf(a))?;
        tls.handle(event, model)?;
        Ok(())
    }
}

/// The floor of a requirer hook under the harness: reads the provider's bag, parses nothing.
struct FloorCharm;

impl Charm for FloorCharm {
    fn handle(&mut self, _event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let relation: charm::RelationId = "certificates:7".parse()?;
        let bag = model.relation_data(&relation, &BagOwner::App("ca".parse()?))?;
        std::hint::black_box(bag.get("certificates").map(String::len));
        Ok(())
    }
}

fn signed_entries(ca: &CertificateAuthority, csrs: &[String]) -> anyhow::Result<Vec<Value>> {
    let now = OffsetDateTime::from_unix_timestamp(HARNESS_NOW)?;
    csrs.iter()
        .map(|c| {
            let csr = pki::Csr::from_pem(c)?;
            let cert = ca.issue(&IssueRequest { csr: &csr, kind: CertificateKind::Leaf, validity: Duration::days(90) }, &IssuingPolicy::default(), now)?;
            Ok(json!({"ca": ca.certificate().pem().trim(), "certificate_signing_request": c, "certificate": cert.pem().trim(), "chain": [cert.pem().trim(), ca.certificate().pem().trim()]}))
        })
        .collect()
}

/// Signs the CSR the requirer put in its unit bag and adds it to `others`.
fn provider_bag_with(
    ca: &CertificateAuthority,
    own_csrs: &str,
    others: &[Value],
) -> anyhow::Result<Databag> {
    let own: Vec<Value> = serde_json::from_str(own_csrs)?;
    let csr = own
        .first()
        .and_then(|e| e["certificate_signing_request"].as_str())
        .context("no CSR")?
        .to_owned();
    let mut all = others.to_vec();
    all.extend(signed_entries(ca, &[csr])?);
    Ok(Databag::from([(
        "certificates".into(),
        to_python_json(&all),
    )]))
}

fn requirer_hook_rust(
    ca: &CertificateAuthority,
    others: &[Value],
    runs: usize,
) -> anyhow::Result<(f64, f64)> {
    let yaml = "name: req\nrequires:\n  certificates:\n    interface: tls-certificates\n";
    let ctx = Context::from_charmcraft_yaml(yaml, || RequirerCharm)?;
    let floor = Context::from_charmcraft_yaml(yaml, || FloorCharm)?;
    let rel = Relation::new("certificates".parse()?, 7, "ca".parse()?);
    let state = State::new(unit("req/0"))
        .with_leader(true)
        .with_relation(rel);
    let mut state = ctx
        .run(Event::Install, state)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let own = state
        .relation(7)
        .context("rel")?
        .local_unit_data
        .get("certificate_signing_requests")
        .context("no CSR")?
        .clone();
    state.relations[0].remote_app_data = provider_bag_with(ca, &own, others)?;
    let state = ctx
        .run(Event::UpdateStatus, state)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut floor_samples = Vec::with_capacity(runs);
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let input = state.clone();
        let t = Instant::now();
        floor
            .run(Event::UpdateStatus, input)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        floor_samples.push(t.elapsed().as_secs_f64());
        let input = state.clone();
        let t = Instant::now();
        let out = ctx
            .run(Event::UpdateStatus, input)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        samples.push(t.elapsed().as_secs_f64());
        if out
            .relation(7)
            .and_then(|r| r.local_unit_data.get("certificate_signing_requests"))
            != Some(&own)
        {
            bail!("the steady-state hook changed the CSR");
        }
    }
    Ok((median(samples), median(floor_samples)))
}

// ---------- the Python side ----------

#[path = "../../../tests/python/venv.rs"]
mod venv;

fn oracle(input: &Value) -> anyhow::Result<Value> {
    venv::oracle("tls_oracle.py", input).map_err(anyhow::Error::msg)
}

fn provider_hook_python(
    ca_pem: &str,
    ca_key_pem: &str,
    entries: &[Value],
    app_bag: bool,
) -> anyhow::Result<f64> {
    let (units, app): (BTreeMap<String, Databag>, Databag) = if app_bag {
        (
            BTreeMap::from([("0".to_owned(), Databag::new())]),
            Databag::from([(
                "certificate_signing_requests".into(),
                to_python_json(entries),
            )]),
        )
    } else {
        (
            entries
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    (
                        i.to_string(),
                        Databag::from([(
                            "certificate_signing_requests".into(),
                            to_python_json(&[e]),
                        )]),
                    )
                })
                .collect(),
            Databag::new(),
        )
    };
    let out = oracle(
        &json!({"role": "provider", "ca_pem": ca_pem, "ca_key_pem": ca_key_pem, "remote_units_data": units, "remote_app_data": app, "event": "update_status"}),
    )?;
    let issued: Vec<Value> = serde_json::from_str(
        out["local_app_data"]["certificates"]
            .as_str()
            .context("no certificates")?,
    )?;
    if issued.len() != entries.len() {
        bail!(
            "the Python provider issued {} of {}",
            issued.len(),
            entries.len()
        );
    }
    out["elapsed"].as_f64().context("elapsed")
}

fn requirer_hook_python(ca: &CertificateAuthority, others: &[Value]) -> anyhow::Result<f64> {
    let request = json!({"cn": "me.bench.example", "sans_dns": ["me.bench.example"]});
    let first = oracle(
        &json!({"role": "requirer", "mode": "UNIT", "requests": [request], "event": "update_status"}),
    )?;
    let own = first["local_unit_data"]["certificate_signing_requests"]
        .as_str()
        .context("no CSR")?
        .to_owned();
    let provider = provider_bag_with(ca, &own, others)?;
    let second = oracle(
        &json!({"role": "requirer", "mode": "UNIT", "requests": [request], "event": "update_status",
        "local_unit_data": first["local_unit_data"], "remote_app_data": provider, "secrets": first["secrets"]}),
    )?;
    let third = oracle(
        &json!({"role": "requirer", "mode": "UNIT", "requests": [request], "event": "update_status",
        "local_unit_data": second["local_unit_data"], "remote_app_data": provider, "secrets": second["secrets"]}),
    )?;
    if third["local_unit_data"]["certificate_signing_requests"].as_str() != Some(own.as_str()) {
        bail!("the Python steady-state hook changed the CSR");
    }
    third["elapsed"].as_f64().context("elapsed")
}

fn unit(name: &str) -> UnitName {
    name.parse().expect("unit name")
}

// ---------- provider at scale (issue 12) ----------

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
fn provider_scale() -> anyhow::Result<()> {
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
