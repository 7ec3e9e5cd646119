//! Ending the long-running processes charms start. A charm detaches its workloads (own session,
//! output to a log in the unit dir, a pidfile), so they outlive the hook; the model ends them
//! when the unit stops or is removed and when the model is destroyed.
//!
//! Two ways to find them, because a charm may forget one: pidfiles (`*.pid` in the unit's
//! charm directory or its `workloads/` directory), and any process whose environment carries
//! this model's `JUJU_MODEL_UUID` and the unit's `JUJU_UNIT_NAME` (inherited from the hook that
//! started it).

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use crate::model::Model;

/// Ends every workload of one unit.
pub(crate) fn kill_unit(model: &Model, unit: &str) {
    let dir = model.unit_dir(unit);
    let mut pids = Vec::new();
    for sub in [dir.join("charm"), dir.join("workloads")] {
        pids.extend(pidfiles(&sub));
    }
    pids.extend(by_environment(model.uuid(), Some(unit)));
    terminate(&pids);
}

/// Ends every process started under the model (model destroy).
pub(crate) fn kill_model(model: &Model) {
    terminate(&by_environment(model.uuid(), None));
}

fn pidfiles(dir: &Path) -> Vec<i32> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "pid"))
        .filter_map(|e| fs::read_to_string(e.path()).ok())
        .filter_map(|s| s.trim().parse::<i32>().ok())
        .collect()
}

fn by_environment(uuid: &str, unit: Option<&str>) -> Vec<i32> {
    let me = std::process::id() as i32;
    let want_model = format!("JUJU_MODEL_UUID={uuid}");
    let want_unit = unit.map(|u| format!("JUJU_UNIT_NAME={u}"));
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let Ok(env) = fs::read(format!("/proc/{pid}/environ")) else {
                return false;
            };
            let vars: Vec<&[u8]> = env.split(|b| *b == 0).collect();
            let has = |want: &str| vars.contains(&want.as_bytes());
            has(&want_model) && want_unit.as_deref().is_none_or(has)
        })
        .collect()
}

fn alive(pid: i32) -> bool {
    // A zombie has exited; only its parent can reap it.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// SIGTERM to each process and its group, then SIGKILL to whatever is left after a grace period.
fn terminate(pids: &[i32]) {
    let pids: Vec<Pid> = pids
        .iter()
        .filter(|p| **p > 1)
        .filter_map(|p| Pid::from_raw(*p))
        .collect();
    if pids.is_empty() {
        return;
    }
    for pid in &pids {
        let _ = rustix::process::kill_process_group(*pid, Signal::TERM);
        let _ = rustix::process::kill_process(*pid, Signal::TERM);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && pids.iter().any(|p| alive(p.as_raw_nonzero().get())) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for pid in &pids {
        let _ = rustix::process::kill_process_group(*pid, Signal::KILL);
        let _ = rustix::process::kill_process(*pid, Signal::KILL);
    }
}
