//! Crash safety: `juju-tls` killed (SIGKILL, SIGTERM) at seeded random times while it settles,
//! and aborted at named failpoints, then `wait`. Judged against the event log of the crashlog
//! test charm (`tests/charms/crashlog`): every hook appends `start` and `end` lines with its pid
//! and the unit's committed counter, holds a per-unit lock for its whole run (an `overlap` line
//! if another hook of the unit holds it) and commits the counter plus one.
//!
//! Also: a damaged store is reported by table and row and nothing is rewritten from a default,
//! and a store written by a newer binary is refused; a command waiting for a lock names its
//! holder and honours `--timeout`; `destroy` wins a race with `deploy`; a stale pidfile is not
//! trusted; a unit whose charm directory is gone fails its hook.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::charms::write_dispatch;
use crate::support::{TestModel, shell_charm, sqlite_rows};

fn crashlog_charm() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charms/crashlog")
}

/// xorshift64*: the kill schedule is the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

#[derive(Debug, Clone)]
struct Event {
    unit: String,
    kind: String,
    hook: String,
    pid: String,
    n: i64,
}

fn events(log: &Path) -> Vec<Event> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 5, "event line {l:?}");
            Event {
                unit: f[0].to_owned(),
                kind: f[1].to_owned(),
                hook: f[2].to_owned(),
                pid: f[3].to_owned(),
                n: f[4].parse().unwrap_or(-1),
            }
        })
        .collect()
}

/// Sends `signal` to `pid` (the `kill` utility: the test crate links no signal API).
fn signal(pid: u32, signal: &str) {
    let _ = std::process::Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status();
}

/// Runs a verb, waits until `recorded` says its change is in the store, then kills it `delay`
/// later with `sig` (unless it finished first). Returns whether the kill landed.
fn run_killed(
    m: &TestModel,
    args: &[&str],
    recorded: &dyn Fn() -> bool,
    delay: Duration,
    sig: &str,
) -> bool {
    let mut child = m
        .command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn juju-tls");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !recorded() && Instant::now() < deadline {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(delay);
    let landed = child.try_wait().expect("try_wait").is_none();
    if landed {
        signal(child.id(), sig);
    }
    let status = child.wait().expect("wait");
    if landed && sig == "TERM" {
        // The handler ends the running hooks and exits as SIGTERM would (128 + 15); it may
        // also have finished just before the signal.
        assert!(
            matches!(status.code(), Some(143) | Some(0)),
            "{args:?} after SIGTERM: {status}"
        );
    }
    landed
}

fn app_units(m: &TestModel, app: &str) -> usize {
    m.status()["applications"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["name"] == app)
        .map_or(0, |a| a["units"].as_array().map_or(0, Vec::len))
}

/// Processes started under this model (their environment names one of its charm dirs).
fn model_processes(m: &TestModel) -> Vec<String> {
    let want = format!(
        "JUJU_CHARM_DIR={}",
        m.data_dir().join("models").join(&m.name).display()
    );
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if env
            .split(|b| *b == 0)
            .any(|v| v.starts_with(want.as_bytes()))
        {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            found.push(format!("{name}: {}", String::from_utf8_lossy(&cmd)));
        }
    }
    found
}

/// The judge. Per unit: the committed hooks (the hook log's successes) form a chain on the
/// unit's counter, so the counter equals their number (nothing committed lost, nothing applied
/// twice); every run that started on committed state k ran the hook committed at k (an
/// interrupted hook reruns from scratch, from the same state); one-shot hooks committed once; no
/// two hooks of a unit ran at once; nothing of the model is left running. Returns the number of
/// interrupted runs seen.
fn judge(m: &TestModel, log: &Path) -> usize {
    let evs = events(log);
    let overlaps: Vec<&Event> = evs.iter().filter(|e| e.kind == "overlap").collect();
    assert!(
        overlaps.is_empty(),
        "two hooks of a unit at once: {overlaps:?}"
    );
    let runs: Value =
        serde_json::from_str(&m.ok(&["debug-log", "--hooks", "--json", "-n", "100000"]))
            .expect("hook log JSON");
    let mut committed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in runs.as_array().expect("runs") {
        let hook = r["hook"].as_str().expect("hook");
        if r["code"] == 0 && !hook_tools::HookKind::parse(hook).is_action() {
            committed
                .entry(r["unit"].as_str().expect("unit").to_owned())
                .or_default()
                .push(hook.to_owned());
        }
    }
    assert_eq!(m.status()["pending_hooks"], 0);
    let mut interrupted = 0;
    for (unit, hooks) in &committed {
        let run = m.action(unit, "count", &[]);
        let n: usize = run["results"]["n"]
            .as_str()
            .expect("n")
            .parse()
            .expect("counter");
        assert_eq!(
            n,
            hooks.len(),
            "{unit}: counter {n} but {} committed hooks {hooks:?}",
            hooks.len()
        );
        for once in ["install", "start", "mesh-relation-created"] {
            assert_eq!(
                hooks.iter().filter(|h| *h == once).count(),
                1,
                "{unit} committed {once} once: {hooks:?}"
            );
        }
        let starts: Vec<&Event> = evs
            .iter()
            .filter(|e| e.unit == *unit && e.kind == "start")
            .collect();
        for s in &starts {
            let k = usize::try_from(s.n).expect("n");
            assert!(
                k < hooks.len(),
                "{unit}: a run on state {k} never committed: {s:?}"
            );
            assert_eq!(
                s.hook, hooks[k],
                "{unit}: the run on state {k} is not the hook committed there"
            );
        }
        for (k, h) in hooks.iter().enumerate() {
            assert!(
                starts.iter().any(|s| s.n == k as i64 && s.hook == *h),
                "{unit}: committed {h} at {k} without a logged run"
            );
        }
        interrupted += starts
            .iter()
            .filter(|s| {
                !evs.iter()
                    .any(|e| e.kind == "end" && e.unit == s.unit && e.pid == s.pid)
            })
            .count();
        assert_eq!(m.unit_status(unit).0, "active", "{unit}");
    }
    let left = model_processes(m);
    assert!(left.is_empty(), "processes of the model left: {left:?}");
    interrupted
}

#[test]
fn seeded_kills_while_settling_lose_nothing_and_run_no_hook_twice() {
    let m = TestModel::new("crash");
    let charm = crashlog_charm();
    let charm = charm.to_str().expect("utf-8");
    let log = m.data_dir().join("events");
    let log_opt = format!("log={}", log.display());
    let seed = 0x5eed_0011_u64;
    let mut rng = Rng(seed);
    let mut kills = 0;
    let mut kill = |args: &[&str], recorded: &dyn Fn() -> bool| {
        // Each verb is killed once after recording its change, and the `wait` after it once.
        for args in [args, &["wait"][..]] {
            let delay = Duration::from_millis(100 + rng.below(500));
            let sig = if rng.below(3) == 0 { "TERM" } else { "KILL" };
            if run_killed(&m, args, recorded, delay, sig) {
                kills += 1;
            }
        }
    };
    kill(
        &["deploy", charm, "a", "-n", "2", "--config", &log_opt],
        &|| app_units(&m, "a") == 2,
    );
    kill(
        &["deploy", charm, "b", "-n", "2", "--config", &log_opt],
        &|| app_units(&m, "b") == 2,
    );
    kill(&["integrate", "a:feed", "b:source"], &|| {
        m.status()["relations"].as_array().map_or(0, Vec::len) == 3
    });
    let before = m.status()["time"].as_str().expect("time").to_owned();
    kill(&["advance", "10m"], &|| {
        m.status()["time"].as_str().expect("time") > before.as_str()
    });
    kill(&["add-unit", "a"], &|| app_units(&m, "a") == 3);
    m.ok(&["wait"]);
    let interrupted = judge(&m, &log);
    eprintln!("seed {seed:#x}: {kills} kills landed, {interrupted} hook runs interrupted");
    assert!(
        kills >= 5 && interrupted >= 3,
        "seed {seed:#x}: {kills} kills landed, {interrupted} hooks interrupted: the test did not exercise crashes"
    );
}

#[test]
fn failpoints_in_add_unit_spawn_settle_and_commit_lose_nothing() {
    let m = TestModel::new("failpoints");
    let charm = crashlog_charm();
    let charm = charm.to_str().expect("utf-8");
    let log = m.data_dir().join("events");
    let log_opt = format!("log={}", log.display());
    let aborts = |point: &str, args: &[&str]| {
        let out = m
            .command(args)
            .env("JUJU_TLS_FAILPOINT", point)
            .output()
            .expect("run");
        assert!(
            !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("failpoint"),
            "{point}: {args:?} did not stop at the failpoint: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    aborts("commit:2", &["deploy", charm, "f", "--config", &log_opt]);
    m.ok(&["wait"]);
    // The unit and its start-up hooks are recorded in one transaction; its files are staged
    // by the next settle.
    aborts("add-unit", &["add-unit", "f"]);
    assert_eq!(app_units(&m, "f"), 2);
    m.ok(&["wait"]);
    aborts("settle:2", &["add-unit", "f"]);
    m.ok(&["wait"]);
    aborts("after-commit:3", &["add-unit", "f"]);
    m.ok(&["wait"]);
    aborts("spawned:2", &["add-unit", "f"]);
    m.ok(&["wait"]);
    judge(&m, &log);
    assert_eq!(app_units(&m, "f"), 5);
    // The hook left running at settle:2 was found, ended and run again.
    let log = m.ok(&["debug-log", "-n", "1000"]);
    assert!(
        log.contains("was interrupted (its juju-tls process ended); running it again"),
        "{log}"
    );
}

/// A worker thread that panics (a bug in the model) ends the settle with an error naming it,
/// after the other running hooks end; it does not hang, and the next settle runs the hook.
#[test]
fn a_panicking_worker_ends_the_settle_with_an_error_not_a_hang() {
    let m = TestModel::new("panics");
    let charm = shell_charm("calm", "");
    let charm = charm.path().to_str().expect("utf-8");
    let out = m
        .command(&["deploy", charm, "-n", "2", "--timeout", "60s"])
        .env("JUJU_TLS_FAILPOINT", "worker-panic:3")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("worker for calm/") && stderr.contains("panicked"),
        "{stderr}"
    );
    m.ok(&["wait"]);
    for unit in ["calm/0", "calm/1"] {
        assert_eq!(m.unit_status(unit).0, "active", "{unit}");
    }
}

/// The first cell of the statement's first row ('' when none).
fn sql(db: &Path, statement: &str) -> String {
    sqlite_rows(db, statement)
        .first()
        .and_then(|row| row.first())
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_corrupt_json_cell_is_reported_by_name_and_never_rewritten() {
    let m = TestModel::new("corrupt");
    let charm = shell_charm("keeper", "");
    write_dispatch(
        charm.path(),
        "#!/bin/sh\nset -e\n[ \"$JUJU_HOOK_NAME\" = config-changed ] && is-leader | grep -q True && leader-set \"level=$(config-get level)\"\n[ \"$JUJU_HOOK_NAME\" = start ] && status-set active ok\nexit 0\n",
    );
    m.ok(&["deploy", charm.path().to_str().expect("utf-8")]);
    let db = m.data_dir().join("models/corrupt/model.db");
    let bad = r#"{"level": "1", "other": "kept"#;
    sql(
        &db,
        &format!("UPDATE meta SET value='{bad}' WHERE key='leader-settings:keeper'"),
    );
    // leader-set reads the settings to change them: the hook fails naming the cell.
    let err = m.fails(&["config", "keeper", "level=2"], 1);
    assert!(
        err.contains("table meta, row leader-settings:keeper, column value does not decode"),
        "{err}"
    );
    assert_eq!(
        sql(
            &db,
            "SELECT value FROM meta WHERE key='leader-settings:keeper'"
        ),
        bad,
        "nothing rewritten from a default"
    );
    // An application's config: every reader names it.
    sql(&db, "UPDATE apps SET config='[1,' WHERE name='keeper'");
    let err = m.fails(&["status"], 1);
    assert!(
        err.contains("table apps, row keeper, column config does not decode"),
        "{err}"
    );
    // A store from a newer binary is refused, not guessed at.
    sql(&db, "PRAGMA user_version=99");
    let err = m.fails(&["status"], 1);
    assert!(
        err.contains("written by a newer juju-tls (store schema 99"),
        "{err}"
    );
    // Back to a store the drop's `model destroy` can open.
    sql(&db, "PRAGMA user_version=3");
}

/// A shell charm whose install sleeps `secs` (to hold the settle lock for a while).
fn slow_charm(secs: u32) -> tempfile::TempDir {
    let charm = shell_charm("slow", "");
    write_dispatch(
        charm.path(),
        &format!(
            "#!/bin/sh\n[ \"$JUJU_HOOK_NAME\" = install ] && sleep {secs}\n[ \"$JUJU_HOOK_NAME\" = start ] && status-set active ok\nexit 0\n"
        ),
    );
    charm
}

#[test]
fn a_waiting_command_names_the_lock_holder_and_honours_timeout_and_destroy_wins_races() {
    let m = TestModel::new("locks");
    let charm = slow_charm(3);
    m.ok(&["deploy", charm.path().to_str().expect("utf-8"), "--no-wait"]);
    let settling = m
        .command(&["wait"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn wait");
    // Until the settling process holds the lock.
    let lock = m.data_dir().join("locks/locks.settle");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::fs::read_to_string(&lock).unwrap_or_default() != settling.id().to_string()
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let err = m.fails(&["wait", "--timeout", "1s"], 1);
    assert!(
        err.contains(&format!(
            "waiting for the model lock held by pid {}",
            settling.id()
        )) && err.contains("timed out after 1s"),
        "{err}"
    );
    // destroy tombstones the model, then waits for the settle; a deploy meanwhile fails cleanly.
    let destroying = m
        .command(&["model", "destroy", "locks"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn destroy");
    let tomb = m.data_dir().join("models/locks/destroying");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !tomb.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let err = m.fails(
        &["deploy", charm.path().to_str().expect("utf-8"), "other"],
        2,
    );
    assert!(err.contains("model \"locks\" is being destroyed"), "{err}");
    let out = destroying.wait_with_output().expect("destroy");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!m.data_dir().join("models/locks").exists());
    let mut settling = settling;
    let _ = settling.wait();
}

#[test]
fn a_stale_pidfile_of_another_process_is_not_trusted() {
    let m = TestModel::new("pidfile");
    let charm = shell_charm("plain", "");
    m.ok(&["deploy", charm.path().to_str().expect("utf-8"), "-n", "2"]);
    let mut bystander = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("sleep");
    let pidfile = m
        .data_dir()
        .join("models/pidfile/units/plain-1/charm/server.pid");
    std::fs::write(&pidfile, bystander.id().to_string()).expect("pidfile");
    m.ok(&["remove-unit", "plain/1"]);
    assert!(
        bystander.try_wait().expect("try_wait").is_none(),
        "remove-unit killed a process that was not the unit's"
    );
    let _ = bystander.kill();
    let _ = bystander.wait();
}

#[test]
fn a_missing_charm_directory_fails_the_hook() {
    let m = TestModel::new("nocharm");
    let charm = shell_charm("gone", "");
    m.ok(&["deploy", charm.path().to_str().expect("utf-8")]);
    std::fs::remove_dir_all(m.data_dir().join("models/nocharm/units/gone-0/charm"))
        .expect("remove unit copy");
    // Staged again from the application's charm while that exists...
    m.ok(&["config", "gone", "level=2"]);
    // ...and the hook fails, never a silent success, when it is gone too.
    std::fs::remove_dir_all(m.data_dir().join("models/nocharm/units/gone-0/charm"))
        .expect("remove unit copy");
    let path = charm.path().to_owned();
    drop(charm);
    assert!(!path.exists());
    let err = m.fails(&["config", "gone", "level=3"], 1);
    assert!(
        err.contains("gone/0: hook failed: \"config-changed\"")
            && err.contains("cannot stage the unit's charm"),
        "{err}"
    );
}
