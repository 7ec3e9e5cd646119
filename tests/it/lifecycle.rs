//! Hook failure and rollback, hook timeouts, and workloads under the virtual clock.

use crate::support::{OPS_NEW, TestModel, probe_charm};

#[test]
fn a_failed_hook_is_rolled_back_and_resolve_reruns_it() {
    let charm = probe_charm(OPS_NEW);
    let charm = charm.path().to_str().expect("utf-8 path");
    let m = TestModel::new("fail");
    m.ok(&["deploy", charm, "alpha"]);
    m.ok(&["deploy", charm, "beta"]);
    m.ok(&["integrate", "alpha:data", "beta:source"]);

    // The hook writes a databag key and adds a secret, then raises.
    let err = m.fails(&["config", "beta", "fail-hook=config-changed"], 1);
    assert!(
        err.contains("beta/0: hook failed: \"config-changed\""),
        "{err}"
    );
    assert!(
        err.contains("failing on purpose in config-changed"),
        "the traceback from juju-log is shown: {err}"
    );
    assert_eq!(
        m.unit_status("beta/0"),
        (
            "error".to_owned(),
            "hook failed: \"config-changed\"".to_owned()
        )
    );

    // Nothing else runs on a unit in error; actions still do, and see nothing of the failed writes.
    let beta = m.dump("beta/0");
    assert_eq!(beta["doomed-secret"], false);
    for rel in beta["relations"].as_object().expect("relations").values() {
        assert!(
            rel["unit-data"].get("doomed").is_none(),
            "rolled back: {rel:#}"
        );
    }

    // Fix the config; the unit stays in error until resolve, which re-runs the failed hook.
    m.fails(&["config", "beta", "fail-hook="], 1);
    assert_eq!(m.unit_status("beta/0").0, "error");
    m.ok(&["resolve", "beta/0"]);
    assert_eq!(m.unit_status("beta/0").0, "active");
    let err = m.fails(&["resolve", "beta/0"], 2);
    assert!(err.contains("not in error"), "{err}");
}

#[test]
fn a_hung_hook_is_killed_at_the_timeout() {
    let charm = probe_charm(OPS_NEW);
    let charm = charm.path().to_str().expect("utf-8 path");
    let m = TestModel::new("hang");
    let started = std::time::Instant::now();
    let err = m.fails(
        &[
            "deploy",
            charm,
            "--config",
            "hang-hook=install",
            "--hook-timeout",
            "3s",
        ],
        1,
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "killed at the timeout"
    );
    assert!(err.contains("install (hook timed out)"), "{err}");
    let (workload, message) = m.unit_status("probe/0");
    assert_eq!(workload, "error");
    assert!(message.contains("hook timed out"), "{message}");
    m.fails(&["config", "probe", "hang-hook="], 1);
    m.ok(&["resolve", "probe/0", "--hook-timeout", "60s"]);
    assert_eq!(m.unit_status("probe/0").0, "active");
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

#[test]
fn workloads_see_the_virtual_clock_and_end_with_their_unit() {
    if model::faketime_library().is_none() {
        panic!("libfaketime is required (scripts/test installs it)");
    }
    let charm = probe_charm(OPS_NEW);
    let charm = charm.path().to_str().expect("utf-8 path");
    let m = TestModel::new("clock");
    m.ok(&["deploy", charm, "-n", "2"]);
    let started = m.action("probe/1", "start-workload", &[]);
    let pid: i32 = started["results"]["pid"]
        .as_str()
        .expect("pid")
        .parse()
        .expect("pid number");
    assert!(alive(pid));
    let t1: f64 = m.action("probe/1", "workload-time", &[])["results"]["time"]
        .as_str()
        .expect("time")
        .parse()
        .expect("float");
    m.ok(&["advance", "1d"]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    let t2: f64 = m.action("probe/1", "workload-time", &[])["results"]["time"]
        .as_str()
        .expect("time")
        .parse()
        .expect("float");
    assert!(
        t2 - t1 >= 86_400.0,
        "the running workload jumped a day: {t1} -> {t2}"
    );
    assert!(t2 - t1 < 86_400.0 + 120.0, "{t1} -> {t2}");
    m.ok(&["remove-unit", "probe/1"]);
    assert!(!alive(pid), "the workload ended with its unit");

    // Destroying the model ends the workloads of the units still there.
    let other: i32 = m.action("probe/0", "start-workload", &[])["results"]["pid"]
        .as_str()
        .expect("pid")
        .parse()
        .expect("pid number");
    assert!(alive(other));
    m.ok(&["model", "destroy", &m.name]);
    assert!(!alive(other), "model destroy ended the workload");
}
