//! Test harness: runs the `juju-tls` binary against a private data dir, destroys the model on
//! drop (ending every workload), and prepares `ops` installs for the test charms.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::python;

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_juju-tls");

/// The ops releases the tests pin, one per hook-tool calling convention (≤ 3.3, 3.4–3.7, ≥ 3.8).
pub(crate) const OPS_OLD: &str = "3.3.1";
pub(crate) const OPS_MID: &str = "3.6.0";
pub(crate) const OPS_NEW: &str = "3.9.0";

/// A model in its own data dir; destroyed (workloads killed) when dropped.
pub(crate) struct TestModel {
    data: tempfile::TempDir,
    pub(crate) name: String,
}

impl TestModel {
    pub(crate) fn new(name: &str) -> Self {
        let data = tempfile::Builder::new()
            .prefix("juju-tls-it-")
            // Data dirs must be private (0700): the model refuses others.
            .permissions(
                <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700),
            )
            .tempdir()
            .expect("temp dir");
        let m = Self {
            data,
            name: name.to_owned(),
        };
        m.ok(&["model", "add", name]);
        m
    }

    /// The model's data dir (`$JUJU_TLS_DATA_DIR`).
    pub(crate) fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// `juju-tls ARGS -m NAME`, ready to run or spawn.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("JUJU_TLS_DATA_DIR", self.data.path())
            .env("NO_COLOR", "1");
        if args.first() != Some(&"model") && !args.contains(&"-m") {
            cmd.args(["-m", &self.name]);
        }
        cmd
    }

    /// Runs `juju-tls ARGS -m NAME` and returns its output.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running juju-tls")
    }

    /// Runs and asserts success; returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "juju-tls {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs and asserts failure with `code`; returns stderr.
    pub(crate) fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "juju-tls {args:?}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub(crate) fn status(&self) -> Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).expect("status JSON")
    }

    /// A unit's address as `status --json` shows it.
    pub(crate) fn address(&self, unit: &str) -> String {
        let st = self.status();
        for app in st["applications"].as_array().into_iter().flatten() {
            for u in app["units"].as_array().into_iter().flatten() {
                if u["name"] == unit {
                    return u["address"].as_str().unwrap_or_default().to_owned();
                }
            }
        }
        panic!("unit {unit} not in status: {st:#}");
    }

    /// A unit's workload status and message.
    pub(crate) fn unit_status(&self, unit: &str) -> (String, String) {
        let st = self.status();
        for app in st["applications"].as_array().into_iter().flatten() {
            for u in app["units"].as_array().into_iter().flatten() {
                if u["name"] == unit {
                    return (
                        u["workload"].as_str().unwrap_or_default().to_owned(),
                        u["message"].as_str().unwrap_or_default().to_owned(),
                    );
                }
            }
        }
        panic!("unit {unit} not in status: {st:#}");
    }

    /// Runs an action and returns its record (`results`, `status`, …).
    pub(crate) fn action(&self, unit: &str, action: &str, params: &[&str]) -> Value {
        let mut args = vec!["run", unit, action, "--json"];
        args.extend_from_slice(params);
        let out = self.run(&args);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "run {unit} {action}: {e}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// The probe charm's `dump` of a unit.
    pub(crate) fn dump(&self, unit: &str) -> Value {
        let run = self.action(unit, "dump", &[]);
        assert_eq!(run["status"], "completed", "dump on {unit}: {run:#}");
        serde_json::from_str(run["results"]["state"].as_str().expect("state")).expect("state JSON")
    }
}

impl Drop for TestModel {
    fn drop(&mut self) {
        let _ = self.run(&["model", "destroy", &self.name]);
    }
}

/// A directory with `ops==version` installed (pip --target), made once per target dir.
pub(crate) fn ops_install(version: &str) -> PathBuf {
    pip_target(version, &[&format!("ops=={version}")])
}

/// A directory with `packages` installed by the hook PATH's python3 (pip --target), made once
/// per target dir under `key`.
pub(crate) fn pip_target(key: &str, packages: &[&str]) -> PathBuf {
    python::pip_target("ops", key, packages, python::Finish::Plain)
}

/// A test charm from `tests/charms/<name>` copied to a temp dir, `venv/` linked to `venv`.
pub(crate) fn python_charm(name: &str, venv: &Path) -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/charms")
        .join(name);
    let dir = tempfile::Builder::new()
        .prefix("charm-")
        .tempdir()
        .expect("temp dir");
    copy_dir(&src, dir.path());
    std::os::unix::fs::symlink(venv, dir.path().join("venv")).expect("venv link");
    dir
}

/// The probe test charm with `venv/` linked to an ops install.
pub(crate) fn probe_charm(ops_version: &str) -> tempfile::TempDir {
    python_charm("probe", &ops_install(ops_version))
}

/// A tiny shell charm (no Python) for fast CLI tests: `provides`/`requires` as given.
pub(crate) fn shell_charm(name: &str, relations: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("shell-charm-")
        .tempdir()
        .expect("temp dir");
    std::fs::write(
        dir.path().join("metadata.yaml"),
        format!("name: {name}\n{relations}"),
    )
    .expect("metadata");
    std::fs::write(
        dir.path().join("config.yaml"),
        "options:\n  level:\n    type: int\n    default: 1\n",
    )
    .expect("config");
    let dispatch = dir.path().join("dispatch");
    std::fs::write(&dispatch, "#!/bin/sh\n[ \"$JUJU_HOOK_NAME\" = start ] && status-set active \"level $(config-get level)\"\nexit 0\n").expect("dispatch");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dispatch, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

fn copy_dir(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).expect("mkdir");
    for e in std::fs::read_dir(src).expect("read dir") {
        let e = e.expect("entry");
        let to = dest.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).expect("copy");
        }
    }
}

/// The hook names in a dump's event list, without remote units.
pub(crate) fn events(dump: &Value) -> Vec<String> {
    dump["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Runs one SQL statement on a model's store with Python's sqlite3 (not our code: an independent
/// reader and writer) and returns its rows as text; a write is committed.
pub(crate) fn sqlite_rows(db: &Path, sql: &str) -> Vec<Vec<String>> {
    let script = "import json, sqlite3, sys\n\
                  c = sqlite3.connect(sys.argv[1])\n\
                  rows = c.execute(sys.argv[2]).fetchall()\n\
                  c.commit()\n\
                  print(json.dumps([[str(v) for v in row] for row in rows]))\n";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(db)
        .arg(sql)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON rows")
}
