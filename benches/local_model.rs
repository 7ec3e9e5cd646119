//! Benchmark of the local model (not a test): `cargo bench --bench local_model`.
//!
//! 1. Model overhead per hook: a no-op charm (`dispatch` is `exit 0`) runs many hooks one at a
//!    time; the cost of starting that `dispatch` directly (same environment, libfaketime
//!    included) is measured in the same run and subtracted. What is left is the model: queueing,
//!    the transaction per hook, the environment, the socket server, the commit.
//! 2. Cost of one hook-tool call: a charm making 20 `is-leader` calls per hook, against the
//!    no-op charm.
//! 3. Deploy + integrate + settle of a 3-unit charm with a 1-unit charm, for a minimal Rust charm
//!    (this binary, calling hook tools as a compiled charm does) and for minimal Python `ops`
//!    charms (ops 3.9.0), each doing the same: write a databag key per relation hook, the leader
//!    an app-bag key too, and set an active status.
//!
//! Figures go to docs/performance.md ("Local model").

#[path = "../tests/it/support/python.rs"]
mod python;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use model::{Registry, SettleOptions};

mod support;

fn main() {
    // Under the local model this binary is also the Rust benchmark charm.
    if std::env::var_os("JUJU_DISPATCH_PATH").is_some() {
        rust_charm();
        return;
    }
    support::reexec_with_tool_binary();
    let data = support::private_data_dir();
    let registry = Registry::at(data.path());
    let rounds = 3;
    println!("local model benchmark ({rounds} rounds each, best round shown)\n");

    let noop = charm_dir("noop", "#!/bin/sh\nexit 0\n", "");
    let (per_hook, hooks) = best(rounds, || hooks_per_second(&registry, noop.path(), "noop"));
    let spawn = best(rounds, || (spawn_baseline(noop.path(), 200), 0)).0;
    println!(
        "no-op charm: {hooks} hooks, {:.2} ms per hook all in",
        ms(per_hook)
    );
    println!("starting dispatch directly (same env): {:.2} ms", ms(spawn));
    println!(
        "=> model overhead per hook: {:.2} ms (goal <= 5 ms)\n",
        ms(per_hook.saturating_sub(spawn))
    );

    let chatty = charm_dir(
        "chatty",
        "#!/bin/sh\nfor i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do is-leader --format=json >/dev/null; done\n",
        "",
    );
    let mut serving = Duration::MAX;
    let (per_chatty, _) = best(rounds, || {
        let (d, n, s) = hooks_and_serving(&registry, chatty.path(), "chatty");
        serving = serving.min(s);
        (d, n)
    });
    println!(
        "20 is-leader calls per hook: {:.2} ms per hook => {:.2} ms per tool call, of which the server {:.3} ms\n",
        ms(per_chatty),
        ms(per_chatty.saturating_sub(per_hook)) / 20.0,
        ms(serving)
    );

    let exe = std::env::current_exe().expect("current exe");
    let rust_dispatch = format!("#!/bin/sh\nexec {} --charm\n", exe.display());
    let rust_a = charm_dir(
        "rust-ca",
        &rust_dispatch,
        "provides:\n  certificates:\n    interface: tls-certificates\n",
    );
    let rust_b = charm_dir(
        "rust-web",
        &rust_dispatch,
        "requires:\n  certificates:\n    interface: tls-certificates\npeers:\n  cluster:\n    interface: web-peer\n",
    );
    let (rust, rust_hooks) = best(rounds, || scenario(&registry, rust_a.path(), rust_b.path()));
    println!(
        "deploy+integrate+settle, 3-unit + 1-unit Rust charms: {:.0} ms ({rust_hooks} hooks; goal < 2000 ms)",
        ms(rust)
    );

    let ops = python_ops();
    let py_a = python_charm(
        "py-ca",
        &ops,
        "provides:\n  certificates:\n    interface: tls-certificates\n",
    );
    let py_b = python_charm(
        "py-web",
        &ops,
        "requires:\n  certificates:\n    interface: tls-certificates\npeers:\n  cluster:\n    interface: web-peer\n",
    );
    let (py, py_hooks) = best(rounds, || scenario(&registry, py_a.path(), py_b.path()));
    println!(
        "deploy+integrate+settle, 3-unit + 1-unit Python ops 3.9.0 charms: {:.0} ms ({py_hooks} hooks)",
        ms(py)
    );
    println!(
        "=> Python / Rust: {:.1}x",
        py.as_secs_f64() / rust.as_secs_f64()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn best(rounds: usize, mut f: impl FnMut() -> (Duration, usize)) -> (Duration, usize) {
    (0..rounds)
        .map(|_| f())
        .min_by_key(|(d, _)| *d)
        .expect("at least one round")
}

fn charm_dir(name: &str, dispatch: &str, relations: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("metadata.yaml"),
        format!("name: {name}\n{relations}"),
    )
    .expect("metadata");
    let d = dir.path().join("dispatch");
    std::fs::write(&d, dispatch).expect("dispatch");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// Deploys 10 units of a charm and refreshes it (upgrade-charm + config-changed per unit), one
/// hook at a time. Returns wall time per hook and the number of hooks.
fn hooks_per_second(registry: &Registry, charm: &Path, app: &str) -> (Duration, usize) {
    let (per_hook, hooks, _) = hooks_and_serving(registry, charm, app);
    (per_hook, hooks)
}

/// As [`hooks_per_second`], plus the server's own time per tool call.
fn hooks_and_serving(registry: &Registry, charm: &Path, app: &str) -> (Duration, usize, Duration) {
    let name = format!("bench-{app}-{}", std::process::id());
    let model = Arc::new(registry.add(&name).expect("model"));
    let opts = SettleOptions {
        serial: true,
        jobs: 1,
        ..SettleOptions::default()
    };
    // Deploy and refresh copy the charm into every unit: set-up, not per-hook work. Only the
    // settle that runs the queued hooks is timed.
    model.deploy(charm, Some(app), 10, &[]).expect("deploy");
    model.refresh(app, charm, &[]).expect("refresh");
    let started = Instant::now();
    let report = model.settle(&opts).expect("settle");
    let elapsed = started.elapsed();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let hooks = report.runs.len();
    let calls: usize = report.runs.iter().map(|r| r.tool_calls).sum();
    let serving: Duration = report.runs.iter().map(|r| r.tool_time).sum();
    drop(model);
    registry.destroy(&name).expect("destroy");
    (
        elapsed / hooks as u32,
        hooks,
        if calls > 0 {
            serving / calls as u32
        } else {
            Duration::ZERO
        },
    )
}

/// Starting `dispatch` directly with the environment hooks get (libfaketime included).
fn spawn_baseline(charm: &Path, n: u32) -> Duration {
    let mut cmd = Command::new(charm.join("dispatch"));
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir(charm);
    if let Some(lib) = model::faketime_library() {
        let clock = charm.join("faketime");
        std::fs::write(&clock, "+0\n").expect("clock");
        cmd.env("LD_PRELOAD", lib)
            .env("FAKETIME_NO_CACHE", "1")
            .env("FAKETIME_TIMESTAMP_FILE", clock);
    }
    let started = Instant::now();
    for _ in 0..n {
        assert!(cmd.status().expect("dispatch").success());
    }
    started.elapsed() / n
}

/// Deploy 3 units of `b` and 1 of `a`, integrate, settle (units in parallel, as `juju-tls` does).
fn scenario(registry: &Registry, a: &Path, b: &Path) -> (Duration, usize) {
    let name = format!("bench-scenario-{}", std::process::id());
    let model = Arc::new(registry.add(&name).expect("model"));
    let started = Instant::now();
    model.deploy(a, Some("ca"), 1, &[]).expect("deploy ca");
    model.deploy(b, Some("web"), 3, &[]).expect("deploy web");
    model.integrate("web", "ca").expect("integrate");
    let report = model.settle(&SettleOptions::default()).expect("settle");
    let elapsed = started.elapsed();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let status = model.status().expect("status");
    for app in &status.applications {
        for u in &app.units {
            assert_eq!(
                u.workload, "active",
                "{} did not settle: {}",
                u.name, u.message
            );
        }
    }
    drop(model);
    registry.destroy(&name).expect("destroy");
    (elapsed, report.runs.len())
}

/// The Rust benchmark charm: what a compiled charm does per hook, through the hook tools.
fn rust_charm() {
    let hook = std::env::var("JUJU_HOOK_NAME").unwrap_or_default();
    let unit = std::env::var("JUJU_UNIT_NAME").unwrap_or_default();
    let tool = |args: &[&str]| -> String {
        let out = Command::new(args[0])
            .args(&args[1..])
            .output()
            .expect("hook tool");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let leader = tool(&["is-leader", "--format=json"]).trim() == "true";
    use hook_tools::RelationHook::{Changed, Created, Joined};
    if matches!(
        hook_tools::HookKind::parse(&hook).relation_kind(),
        Some(Joined | Changed | Created)
    ) {
        let rel = std::env::var("JUJU_RELATION_ID").unwrap_or_default();
        let _remote = tool(&["relation-get", "--format=json", "-r", &rel, "-", &unit]);
        tool(&["relation-set", "-r", &rel, &format!("hello={unit}")]);
        if leader {
            tool(&["relation-set", "-r", &rel, "--app", "app-hello=yes"]);
        }
    }
    tool(&["status-set", "--application=False", "active", "--", ""]);
}

/// `ops` 3.9.0 installed with the hook's python3 (shared with the tests' install).
fn python_ops() -> PathBuf {
    python::pip_target("ops", "3.9.0", &["ops==3.9.0"], python::Finish::Plain)
}

fn python_charm(name: &str, ops: &Path, relations: &str) -> tempfile::TempDir {
    let dir = charm_dir(
        name,
        "#!/bin/sh\nJUJU_DISPATCH_PATH=\"${JUJU_DISPATCH_PATH:-$0}\" PYTHONPATH=lib:venv exec ./src/charm.py\n",
        relations,
    );
    std::fs::create_dir_all(dir.path().join("src")).expect("src");
    let charm = dir.path().join("src/charm.py");
    std::fs::write(
        &charm,
        r#"#!/usr/bin/env python3
import ops

class Bench(ops.CharmBase):
    def __init__(self, framework):
        super().__init__(framework)
        for rel in self.meta.relations:
            for kind in ("created", "joined", "changed"):
                framework.observe(getattr(self.on, f"{rel.replace('-', '_')}_relation_{kind}"), self._rel)
        framework.observe(self.on.collect_unit_status, self._status)

    def _rel(self, event):
        event.relation.data[self.unit]["hello"] = self.unit.name
        if self.unit.is_leader():
            event.relation.data[self.app]["app-hello"] = "yes"

    def _status(self, event):
        event.add_status(ops.ActiveStatus())

if __name__ == "__main__":
    ops.main(Bench)
"#,
    )
    .expect("charm.py");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&charm, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::os::unix::fs::symlink(ops, dir.path().join("venv")).expect("venv link");
    dir
}
