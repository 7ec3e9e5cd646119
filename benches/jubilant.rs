//! A jubilant test module on the local model through the `juju` front end: wall time, and how
//! much of it is jubilant's own polling. `bench/jubilant/test_bench_module.py` deploys
//! self-signed-certificates and 3 tls-demo units, integrates, waits for active, runs `probe`,
//! removes both and waits for an empty model; it times every `juju` call and every `wait()`,
//! noting when each wait's condition first held. What a wait spends after that is jubilant's
//! polling (once a second, three successes in a row), not the model's work.
//!
//! `cargo bench --bench jubilant -- [--runs 3]` (needs the test venv: `./scripts/test` makes
//! `.venv` with jubilant and pytest-jubilant; `JUJU_TLS_TEST_PYTHON` overrides).

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_juju-tls");

#[derive(Debug, Default, Clone, Copy)]
struct Run {
    wall: f64,
    module: f64,
    cli: f64,
    cli_calls: f64,
    wait: f64,
    wait_after_ready: f64,
    polls: f64,
}

fn main() {
    support::reexec_with_tool_binary();
    let mut runs = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(3),
            "--bench" => {}
            other => {
                eprintln!(
                    "unknown argument {other}\nusage: cargo bench --bench jubilant -- [--runs 3]"
                );
                std::process::exit(2);
            }
        }
    }
    let python = std::env::var("JUJU_TLS_TEST_PYTHON")
        .unwrap_or_else(|_| format!("{ROOT}/.venv/bin/python"));
    let staged = support::build_and_stage(&[
        (
            "charms/self-signed-certificates",
            "self-signed-certificates",
        ),
        ("charms/tls-demo", "tls-demo"),
    ]);
    let work = tempfile::tempdir().expect("tempdir");
    let charms = work.path().join("charms");
    std::fs::create_dir_all(&charms).expect("mkdir");
    for (dir, name) in staged.iter().zip(["self-signed-certificates", "tls-demo"]) {
        std::os::unix::fs::symlink(dir.path(), charms.join(name)).expect("link charm");
    }
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::os::unix::fs::symlink(BIN, bin.join("juju")).expect("link juju");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut results = Vec::new();
    for i in 0..runs {
        eprintln!("run {}/{runs}...", i + 1);
        let data = support::private_data_dir();
        let out_file = work.path().join(format!("times-{i}.json"));
        let started = Instant::now();
        let out = Command::new(&python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(Path::new(ROOT).join("bench/jubilant/test_bench_module.py"))
            .current_dir(work.path())
            .env("PATH", &path)
            .env("JUJU_TLS_DATA_DIR", data.path())
            .env("JUJU_TLS_TEST_CHARMS", &charms)
            .env("JUJU_TLS_BENCH_OUT", &out_file)
            .output()
            .expect("running pytest");
        let wall = started.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "pytest failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let t: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out_file).expect("timings")).expect("JSON");
        let f = |k: &str| t[k].as_f64().unwrap_or_default();
        results.push(Run {
            wall,
            module: f("module"),
            cli: f("cli"),
            cli_calls: f("cli_calls"),
            wait: f("wait"),
            wait_after_ready: f("wait_after_ready"),
            polls: f("polls"),
        });
    }
    results.sort_by(|a, b| a.wall.total_cmp(&b.wall));
    let m = results[results.len() / 2];
    println!("jubilant module on the local model (median of {runs}; 1 CA + 3 tls-demo units)");
    println!("{:<46} {:>9}", "", "seconds");
    println!(
        "{:<46} {:>9.2}",
        "pytest wall (python start to exit)", m.wall
    );
    println!(
        "{:<46} {:>9.2}",
        "module (first import to teardown)", m.module
    );
    println!(
        "{:<46} {:>9.2}",
        format!("in `juju` calls ({} calls)", m.cli_calls),
        m.cli
    );
    println!(
        "{:<46} {:>9.2}",
        format!("in wait() ({} status polls)", m.polls),
        m.wait
    );
    println!(
        "{:<46} {:>9.2}  ({:.0}% of the module)",
        "  of which after the condition held",
        m.wait_after_ready,
        100.0 * m.wait_after_ready / m.module.max(f64::EPSILON)
    );
    println!(
        "{:<46} {:>9.2}",
        "module minus jubilant's polling",
        m.module - m.wait_after_ready
    );
}
