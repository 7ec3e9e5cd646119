//! Runs one hook process the way a Juju unit agent does: `./dispatch` (or `hooks/<name>`,
//! `actions/<name>`) in the unit's own charm directory, with an environment built from scratch
//! (every `JUJU_*` variable Juju exports, empty where Juju leaves it empty; `PATH` = the unit's
//! hook-tool directory + the standard system directories, not the caller's; two of ours: the
//! virtual clock's libfaketime variables and [`TRUST_STORE_ENV`]), stdin from
//! `/dev/null`, and output to files (not pipes: a workload the hook leaves running would hold a
//! pipe open forever). A hook that runs past its timeout has its process group killed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hook_tools::{HookKind, RelationHook};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::private_file::{self, Existing};
use crate::store::{App, Hook, Unit};

/// The Juju version hooks see. ops gates features on it; 3.6 avoids ops' pre-3.6 secret-set
/// workaround (`juju-hook-environment.md` §10.4).
pub const JUJU_VERSION: &str = "3.6.8";

/// Standard system directories after the tool directory, as on a Juju machine.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Environment variable naming the binary to link as hook tools (tests and benchmarks point it
/// at a freshly built `juju-tls`); defaults to the running executable.
pub const TOOL_BINARY_ENV: &str = "JUJU_TLS_TOOL_BINARY";

/// Every tool name linked into a unit's tool directory: the tools the model serves, and the
/// legacy ones ops may still call, which the model accepts and ignores.
pub const TOOL_NAMES: &[&str] = &[
    "relation-ids",
    "relation-list",
    "relation-get",
    "relation-set",
    "relation-model-get",
    "config-get",
    "is-leader",
    "leader-get",
    "leader-set",
    "status-get",
    "status-set",
    "application-version-set",
    "juju-log",
    "action-get",
    "action-set",
    "action-log",
    "action-fail",
    "secret-add",
    "secret-set",
    "secret-get",
    "secret-info-get",
    "secret-ids",
    "secret-grant",
    "secret-revoke",
    "secret-remove",
    "open-port",
    "close-port",
    "opened-ports",
    "network-get",
    "unit-get",
    "state-get",
    "state-set",
    "state-delete",
    "storage-list",
    "storage-get",
    "storage-add",
    "goal-state",
    "resource-get",
    "juju-reboot",
    "credential-get",
    "pod-spec-set",
    "k8s-spec-set",
    "k8s-raw-set",
    "add-metric",
    "payload-register",
    "payload-unregister",
    "payload-status-set",
];

/// Environment variable giving each unit a private trust-store directory
/// (`<unit dir>/trust-store`): `tls_interfaces::tls_client` installs CA certificates there
/// instead of `/usr/local/share/ca-certificates`, and runs no `update-ca-certificates`, so no
/// charm under the local model touches the host's trust store. Not a Juju variable; the same
/// name as `tls_interfaces::tls_client::TRUST_STORE_ENV` (this crate knows no TLS library).
pub const TRUST_STORE_ENV: &str = "JUJU_TLS_TRUST_STORE_DIR";

/// The binary the tool links point to.
pub fn tool_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(TOOL_BINARY_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    std::env::current_exe().map_err(|e| Error::io("finding", "the juju-tls executable", e))
}

/// How a hook process ended.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// Exit code; `None` when killed (timeout or signal).
    pub(crate) code: Option<i32>,
    /// Whether the timeout killed it.
    pub(crate) timed_out: bool,
    /// Captured stdout.
    pub(crate) stdout: String,
    /// Captured stderr.
    pub(crate) stderr: String,
    /// Wall time.
    pub(crate) elapsed: Duration,
}

/// What a hook process needs from the caller besides the store rows.
pub(crate) struct Launch<'a> {
    pub(crate) model: &'a Model,
    pub(crate) unit: &'a Unit,
    pub(crate) app: &'a App,
    pub(crate) hook: &'a Hook,
    pub(crate) context_id: &'a str,
    pub(crate) socket: &'a str,
    pub(crate) timeout: Duration,
    pub(crate) secret_label: &'a str,
    pub(crate) endpoint: &'a str,
}

/// The environment a Juju 3.6 unit agent gives this hook, in its order (`JUJU_DISPATCH_PATH`
/// last).
pub(crate) fn environment(l: &Launch<'_>) -> Vec<(String, String)> {
    let charm_dir = l.model.unit_dir(&l.unit.name).join("charm");
    let tools = l.model.unit_dir(&l.unit.name).join("tools");
    let is_action = l.hook.hook.is_action();
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: String| env.push((k.to_owned(), v));
    set("APT_LISTCHANGES_FRONTEND", "none".into());
    set("CHARM_DIR", charm_dir.to_string_lossy().into_owned());
    set("CLOUD_API_VERSION", String::new());
    set("DEBIAN_FRONTEND", "noninteractive".into());
    set("JUJU_AGENT_SOCKET_ADDRESS", l.socket.to_owned());
    set("JUJU_AGENT_SOCKET_NETWORK", "unix".into());
    set("JUJU_API_ADDRESSES", "127.0.0.1:17070".into());
    set("JUJU_AVAILABILITY_ZONE", String::new());
    set("JUJU_CHARM_DIR", charm_dir.to_string_lossy().into_owned());
    set("JUJU_CHARM_FTP_PROXY", String::new());
    set("JUJU_CHARM_HTTPS_PROXY", String::new());
    set("JUJU_CHARM_HTTP_PROXY", String::new());
    set("JUJU_CHARM_NO_PROXY", String::new());
    set("JUJU_CONTEXT_ID", l.context_id.to_owned());
    set(
        "JUJU_HOOK_NAME",
        if is_action {
            String::new()
        } else {
            l.hook.hook.to_string()
        },
    );
    set(
        "JUJU_MACHINE_ID",
        (l.app.num * 1000 + l.unit.num).to_string(),
    );
    set("JUJU_MODEL_NAME", l.model.name().to_owned());
    set("JUJU_MODEL_UUID", l.model.uuid().to_owned());
    set("JUJU_PRINCIPAL_UNIT", String::new());
    set("JUJU_SLA", String::new());
    set("JUJU_UNIT_NAME", l.unit.name.clone());
    set("JUJU_VERSION", JUJU_VERSION.into());
    set("LANG", "C.UTF-8".into());
    set("PATH", format!("{}:{SYSTEM_PATH}", tools.to_string_lossy()));
    set("TERM", "tmux-256color".into());
    if let Some(id) = l.hook.relation_id {
        set("JUJU_RELATION", l.endpoint.to_owned());
        set("JUJU_RELATION_ID", format!("{}:{id}", l.endpoint));
        set("JUJU_REMOTE_APP", l.hook.remote_app.clone());
        set("JUJU_REMOTE_UNIT", l.hook.remote_unit.clone());
        if l.hook.hook.relation_kind() == Some(RelationHook::Departed) {
            set("JUJU_DEPARTING_UNIT", l.hook.departing.clone());
        }
    }
    if let Some(xid) = &l.hook.secret {
        // Another model's secret (cross-model) is queued under its full URI.
        let id = if xid.starts_with("secret:") {
            xid.clone()
        } else {
            crate::secret_id::uri(l.model.uuid(), xid)
        };
        set("JUJU_SECRET_ID", id);
        set("JUJU_SECRET_LABEL", l.secret_label.to_owned());
        // Juju exports the revision only when it is known (> 0); secret-rotate has none.
        if let Some(rev) = l.hook.secret_rev {
            set("JUJU_SECRET_REVISION", rev.to_string());
        }
    }
    if let (Some(name), Some(id)) = (l.hook.hook.action_name(), l.hook.action_id) {
        set("JUJU_ACTION_NAME", name.to_owned());
        set("JUJU_ACTION_TAG", format!("action-{id}"));
        set("JUJU_ACTION_UUID", id.to_string());
    }
    // The virtual clock: libfaketime reads the model's offset file on every clock call.
    if let Some(lib) = crate::clock::faketime_library() {
        set("FAKETIME_NO_CACHE", "1".into());
        set(
            "FAKETIME_TIMESTAMP_FILE",
            l.model.clock_file().to_string_lossy().into_owned(),
        );
        set("LD_PRELOAD", lib.to_string_lossy().into_owned());
    }
    // Ours, not Juju's: a unit's own CA trust directory (see TRUST_STORE_ENV).
    set(
        TRUST_STORE_ENV,
        l.model
            .unit_dir(&l.unit.name)
            .join("trust-store")
            .to_string_lossy()
            .into_owned(),
    );
    set("JUJU_DISPATCH_PATH", dispatch_path(&l.hook.hook));
    env
}

/// `JUJU_DISPATCH_PATH` of a hook (`hooks/<name>`) or action (`actions/<name>`).
pub(crate) fn dispatch_path(hook: &HookKind) -> String {
    if hook.is_action() {
        hook.to_string()
    } else {
        format!("hooks/{hook}")
    }
}

/// A hook that could not start: it fails with `why` as its output.
pub(crate) fn not_started(why: String, started: Instant) -> Outcome {
    Outcome {
        code: Some(1),
        timed_out: false,
        stdout: String::new(),
        stderr: format!("{why}\n"),
        elapsed: started.elapsed(),
    }
}

/// Runs the hook and waits for it (or its timeout). The hook's process group is recorded in
/// the store while it runs, so a later settle can end it if this process dies.
pub(crate) fn run(l: &Launch<'_>) -> Result<Outcome> {
    let charm_dir = l.model.unit_dir(&l.unit.name).join("charm");
    let started = Instant::now();
    if !charm_dir.is_dir() {
        // Never a silent success: the hook did not run.
        return Ok(not_started(
            format!(
                "the unit's charm directory {} is missing",
                charm_dir.display()
            ),
            started,
        ));
    }
    let exec_command = match (&l.hook.hook, l.hook.action_id) {
        (HookKind::Other(name), Some(id)) if name == crate::lifecycle::EXEC_HOOK => {
            let params = crate::store::actions::params(&l.model.db(), id)?;
            Some(
                params
                    .get("command")
                    .and_then(|c| c.as_str())
                    .unwrap_or_default()
                    .to_owned(),
            )
        }
        _ => None,
    };
    let exe = match &exec_command {
        Some(_) => Some(PathBuf::from("/bin/bash")),
        None => handler(&charm_dir, &l.hook.hook),
    };
    let Some(exe) = exe else {
        return Ok(Outcome {
            code: Some(0),
            timed_out: false,
            stdout: String::new(),
            stderr: String::new(),
            elapsed: started.elapsed(),
        });
    };
    let run_dir = l.model.unit_dir(&l.unit.name).join("run");
    std::fs::create_dir_all(&run_dir).map_err(|e| Error::io("creating", &run_dir, e))?;
    let out_path = run_dir.join("stdout");
    let err_path = run_dir.join("stderr");
    let out = private_file::open(&out_path, Existing::Truncate)?;
    let err = private_file::open(&err_path, Existing::Truncate)?;
    // Hooks, and the workloads they start, create private files (logs, keys on disk) as Juju's
    // root-run agents effectively do: set for this process once, inherited by each hook.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let mut cmd = Command::new(&exe);
    if let Some(command) = &exec_command {
        cmd.arg("-c").arg(command);
    }
    cmd.current_dir(&charm_dir)
        .env_clear()
        .envs(environment(l))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().map_err(|e| Error::io("running", &exe, e))?;
    let pid = child.id();
    crate::failpoints::hit("spawned");
    // process_group(0): the hook leads its own group, whose id is its pid.
    let recorded = l.model.hook_started(l.hook.seq, pid as i32);
    crate::failpoints::hit("settle");
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(());
        status
    });
    let timed_out = rx.recv_timeout(l.timeout).is_err();
    if timed_out {
        if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
    let status = waiter.join().map_err(|_| {
        Error::io(
            "waiting for",
            &exe,
            std::io::Error::other("waiter panicked"),
        )
    })?;
    let status = status.map_err(|e| Error::io("waiting for", &exe, e))?;
    l.model.hook_ended(l.hook.seq);
    recorded?;
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Ok(Outcome {
        code: if timed_out { None } else { status.code() },
        timed_out,
        stdout: read(&out_path),
        stderr: read(&err_path),
        elapsed: started.elapsed(),
    })
}

/// The executable Juju would run: `dispatch`, else the legacy `hooks/<name>` or
/// `actions/<name>`.
fn handler(charm_dir: &Path, hook: &HookKind) -> Option<PathBuf> {
    let dispatch = charm_dir.join("dispatch");
    if dispatch.exists() {
        return Some(dispatch);
    }
    let legacy = charm_dir.join(dispatch_path(hook));
    legacy.exists().then_some(legacy)
}
