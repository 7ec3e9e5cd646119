//! Ending the long-running processes charms start. A charm detaches its workloads (own session,
//! output to a log in the unit dir, a pidfile), so they outlive the hook; the model ends them
//! when the unit stops or is removed and when the model is destroyed.
//!
//! Two ways to find them, because a charm may forget one: pidfiles (`*.pid` in the unit's
//! charm directory or its `workloads/` directory), and any process whose environment carries
//! this model's `JUJU_MODEL_UUID` and the unit's `JUJU_UNIT_NAME` (inherited from the hook that
//! started it). A pidfile is trusted only when its process is the unit's: its environment names
//! the model and unit, or its command line names the unit's directory (a stale pidfile's pid
//! may belong to anyone by now).
//!
//! Also here: ending the process group of a hook left running by a `juju-tls` that died.

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
        pids.extend(
            pidfiles(&sub)
                .into_iter()
                .filter(|pid| is_units(*pid, model.uuid(), unit, &dir)),
        );
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

/// The NUL-separated entries of `/proc/<pid>/<file>`.
fn proc_list(pid: i32, file: &str) -> Vec<Vec<u8>> {
    fs::read(format!("/proc/{pid}/{file}"))
        .map(|b| b.split(|c| *c == 0).map(<[u8]>::to_vec).collect())
        .unwrap_or_default()
}

/// Whether `pid` is a process of `unit` of the model: its environment names both, or its
/// command line names the unit's directory.
fn is_units(pid: i32, uuid: &str, unit: &str, unit_dir: &Path) -> bool {
    let env = proc_list(pid, "environ");
    let has = |want: String| env.iter().any(|v| *v == want.as_bytes());
    if has(format!("JUJU_MODEL_UUID={uuid}")) && has(format!("JUJU_UNIT_NAME={unit}")) {
        return true;
    }
    let dir = unit_dir.to_string_lossy();
    proc_list(pid, "cmdline")
        .iter()
        .any(|arg| names_dir(&String::from_utf8_lossy(arg), &dir))
}

/// Whether a command-line argument names `dir` or a path inside it: `…/units/app-1` is a prefix
/// of `…/units/app-10`, which is another unit's.
fn names_dir(arg: &str, dir: &str) -> bool {
    arg.match_indices(dir).any(|(at, _)| {
        arg[at + dir.len()..]
            .chars()
            .next()
            .is_none_or(|c| c == '/')
    })
}

/// The process group of `pid` (from `/proc/<pid>/stat`).
fn pgrp(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name in parentheses: state ppid pgrp ...
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(2)?
        .parse()
        .ok()
}

fn all_pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// The live members of process group `pgid`.
fn members(pgid: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|p| pgrp(*p) == Some(pgid) && alive(*p))
        .collect()
}

/// Whether process group `pgid` is a hook of `unit` left running (some member's environment
/// names the model and unit, and the group is not a session of its own): a recorded group id
/// may have been reused by anyone since, the unit's own detached workloads included.
pub(crate) fn group_is_units(pgid: i32, uuid: &str, unit: &str) -> bool {
    let model = format!("JUJU_MODEL_UUID={uuid}");
    let unit = format!("JUJU_UNIT_NAME={unit}");
    members(pgid).into_iter().any(|p| {
        // A hook's group never leads a session; a detached workload's does (not ours to end).
        if group_and_session(p).is_none_or(|(_, session)| session == pgid) {
            return false;
        }
        let env = proc_list(p, "environ");
        env.iter().any(|v| *v == model.as_bytes()) && env.iter().any(|v| *v == unit.as_bytes())
    })
}

/// The process groups of hooks of `unit` running `dispatch` (their `JUJU_DISPATCH_PATH`): led
/// by a process of the model and unit that leads its group but not its session (the runner
/// starts hooks in a group of their own; detached workloads lead a session). For a hook whose
/// group was not recorded (its `juju-tls` died between starting it and recording it).
pub(crate) fn hook_groups(uuid: &str, unit: &str, dispatch: &str) -> Vec<i32> {
    let want = [
        format!("JUJU_MODEL_UUID={uuid}"),
        format!("JUJU_UNIT_NAME={unit}"),
        format!("JUJU_DISPATCH_PATH={dispatch}"),
    ];
    all_pids()
        .into_iter()
        .filter(|pid| {
            let Some((pgrp, session)) = group_and_session(*pid) else {
                return false;
            };
            pgrp == *pid && session != *pid && alive(*pid) && {
                let env = proc_list(*pid, "environ");
                want.iter().all(|w| env.iter().any(|v| *v == w.as_bytes()))
            }
        })
        .collect()
}

fn group_and_session(pid: i32) -> Option<(i32, i32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut f = stat.rsplit(')').next()?.split_whitespace().skip(2);
    Some((f.next()?.parse().ok()?, f.next()?.parse().ok()?))
}

/// SIGKILL to a process group, then waits (up to 5 s) until none of its members is left, so
/// whatever runs next for the unit never overlaps it.
pub(crate) fn kill_group(pgid: i32) {
    let Some(pid) = Pid::from_raw(pgid).filter(|_| pgid > 1) else {
        return;
    };
    let _ = rustix::process::kill_process_group(pid, Signal::KILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !members(pgid).is_empty() {
        std::thread::sleep(Duration::from_millis(10));
    }
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
    // A process's group is signalled only when it leads it: a group id equal to some other
    // pid is not ours to end.
    let leads = |p: &Pid| pgrp(p.as_raw_nonzero().get()) == Some(p.as_raw_nonzero().get());
    let leaders: Vec<bool> = pids.iter().map(leads).collect();
    for (pid, leader) in pids.iter().zip(&leaders) {
        if *leader {
            let _ = rustix::process::kill_process_group(*pid, Signal::TERM);
        }
        let _ = rustix::process::kill_process(*pid, Signal::TERM);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline && pids.iter().any(|p| alive(p.as_raw_nonzero().get())) {
        std::thread::sleep(Duration::from_millis(20));
    }
    for (pid, leader) in pids.iter().zip(&leaders) {
        if *leader {
            let _ = rustix::process::kill_process_group(*pid, Signal::KILL);
        }
        let _ = rustix::process::kill_process(*pid, Signal::KILL);
    }
}

#[cfg(test)]
mod tests {
    use super::names_dir;

    #[test]
    fn a_unit_dir_is_named_only_as_a_whole_path_component() {
        let dir = "/d/models/m/units/app-1";
        assert!(names_dir(dir, dir));
        assert!(names_dir("/d/models/m/units/app-1/charm/server", dir));
        assert!(names_dir(
            "--log=/d/models/m/units/app-1/workloads/x.log",
            dir
        ));
        assert!(!names_dir("/d/models/m/units/app-10/charm/server", dir));
        assert!(!names_dir("/d/models/m/units/app-10", dir));
        assert!(!names_dir("server", dir));
    }
}
