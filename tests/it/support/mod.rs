//! The one test harness: runs the `juju-tls` binary, a [`TestModel`] per test in a private data
//! dir (destroyed on drop, ending every workload), charm staging ([`charms`]), `openssl` at the
//! model's virtual time ([`openssl`]) and Python for the test charms ([`python`]).

pub(crate) mod acme;
pub(crate) mod charms;
pub(crate) mod openssl;
pub(crate) mod python;
pub(crate) mod snap;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub(crate) use charms::{
    OPS_MID, OPS_NEW, OPS_OLD, pip_target, probe_charm, python_charm, root, shell_charm,
};

/// The binary under test.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_juju-tls");

/// `juju-tls` as every test runs it: no colours, clap's default width whatever the terminal.
pub(crate) fn juju_tls() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("NO_COLOR", "1").env("COLUMNS", "100");
    cmd
}

/// The test venv's python, with jubilant, pytest and the oracles (./scripts/test sets
/// `JUJU_TLS_TEST_PYTHON`).
pub(crate) fn venv_python() -> String {
    std::env::var("JUJU_TLS_TEST_PYTHON")
        .expect("JUJU_TLS_TEST_PYTHON names the test venv's python (./scripts/test sets it)")
}

/// A directory holding a `juju` link to the binary, to put first on PATH, and that PATH.
pub(crate) fn juju_on_path(dir: &Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::os::unix::fs::symlink(BIN, bin.join("juju")).expect("link juju");
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Lossy UTF-8 of an output stream.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts `out` succeeded; returns its stdout.
pub(crate) fn success(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A private (0700) temporary data dir: the model refuses others.
pub(crate) fn private_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("juju-tls-it-")
        .permissions(<std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700))
        .tempdir()
        .expect("temp dir")
}

/// A model in its own data dir; destroyed (workloads killed) when dropped.
pub(crate) struct TestModel {
    /// Shared by the models of one test made with [`TestModel::another`].
    data: std::sync::Arc<tempfile::TempDir>,
    pub(crate) name: String,
}

impl TestModel {
    /// `model add NAME` in a fresh data dir.
    pub(crate) fn new(name: &str) -> Self {
        let m = Self::unadded(name);
        m.ok(&["model", "add", name]);
        m
    }

    /// A fresh data dir where a verb (such as `demo --model NAME`) makes the model itself.
    pub(crate) fn unadded(name: &str) -> Self {
        Self {
            data: std::sync::Arc::new(private_dir()),
            name: name.to_owned(),
        }
    }

    /// A second model in the same data dir (cross-model tests); destroyed when dropped.
    pub(crate) fn another(&self, name: &str) -> Self {
        let m = Self {
            data: self.data.clone(),
            name: name.to_owned(),
        };
        m.ok(&["model", "add", name]);
        m
    }

    /// The model's data dir (`$JUJU_TLS_DATA_DIR`).
    pub(crate) fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// `juju-tls ARGS -m NAME` (no `-m` for the verbs that take none, or when ARGS name a
    /// model), ready to run or spawn.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = juju_tls();
        cmd.args(args).env("JUJU_TLS_DATA_DIR", self.data.path());
        let modelless = matches!(args.first(), Some(&("model" | "demo" | "pki" | "pack")));
        if !modelless && !args.iter().any(|a| matches!(*a, "-m" | "--model")) {
            cmd.args(["-m", &self.name]);
        }
        cmd
    }

    /// Runs `juju-tls ARGS -m NAME` and returns its output.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running juju-tls")
    }

    /// Runs and asserts success; returns stdout. A failure shows the last hooks run.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        if !out.status.success() {
            let hooks = self.run(&["debug-log", "--hooks", "-n", "15"]);
            panic!(
                "juju-tls {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}\nhooks:\n{}",
                out.status,
                text(&out.stdout),
                text(&out.stderr),
                text(&hooks.stdout)
            );
        }
        text(&out.stdout)
    }

    /// Runs and asserts failure with `code`; returns stderr.
    pub(crate) fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "juju-tls {args:?}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stderr)
    }

    /// `deploy CHARM ARGS` (ARGS: an application name, `-n`, `--config`, ...).
    pub(crate) fn deploy(&self, charm: &Path, args: &[&str]) {
        let mut all = vec!["deploy", charm.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        self.ok(&all);
    }

    /// Runs pending hooks until the model settles (`wait`).
    pub(crate) fn settle(&self) {
        self.ok(&["wait"]);
    }

    pub(crate) fn status(&self) -> Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).expect("status JSON")
    }

    /// Every unit of `status --json`, application by application.
    fn units_of(st: &Value) -> impl Iterator<Item = &Value> {
        st["applications"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|a| a["units"].as_array().into_iter().flatten())
    }

    /// A unit as `status --json` shows it.
    fn unit(&self, unit: &str) -> Value {
        let st = self.status();
        Self::units_of(&st)
            .find(|u| u["name"] == unit)
            .cloned()
            .unwrap_or_else(|| panic!("unit {unit} not in status: {st:#}"))
    }

    /// A unit's address as `status --json` shows it.
    pub(crate) fn address(&self, unit: &str) -> String {
        self.unit(unit)["address"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The addresses of every unit of the model.
    pub(crate) fn addresses(&self) -> Vec<String> {
        let st = self.status();
        Self::units_of(&st)
            .filter_map(|u| u["address"].as_str().map(str::to_owned))
            .collect()
    }

    /// The unit names of an application.
    pub(crate) fn units(&self, app: &str) -> Vec<String> {
        let st = self.status();
        st["applications"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["name"] == app)
            .flat_map(|a| a["units"].as_array().into_iter().flatten())
            .filter_map(|u| u["name"].as_str().map(str::to_owned))
            .collect()
    }

    /// A unit's workload status and message.
    pub(crate) fn unit_status(&self, unit: &str) -> (String, String) {
        let u = self.unit(unit);
        let field = |k: &str| u[k].as_str().unwrap_or_default().to_owned();
        (field("workload"), field("message"))
    }

    /// The model's virtual time, in Unix seconds.
    pub(crate) fn now(&self) -> i64 {
        let t = self.status()["time"].as_str().expect("time").to_owned();
        time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
            .expect("RFC 3339 time")
            .unix_timestamp()
    }

    /// Runs an action and returns its record (`results`, `status`, …).
    pub(crate) fn action(&self, unit: &str, action: &str, params: &[&str]) -> Value {
        let mut args = vec!["run", unit, action, "--json"];
        args.extend_from_slice(params);
        let out = self.run(&args);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "run {unit} {action}: {e}\nstdout:\n{}\nstderr:\n{}",
                text(&out.stdout),
                text(&out.stderr)
            )
        })
    }

    /// Runs an action and asserts it completed; returns its record.
    pub(crate) fn completed(&self, unit: &str, action: &str, params: &[&str]) -> Value {
        let v = self.action(unit, action, params);
        assert_eq!(v["status"], "completed", "{unit} {action}: {v:#}");
        v
    }

    /// The probe charm's `dump` of a unit.
    pub(crate) fn dump(&self, unit: &str) -> Value {
        let run = self.completed(unit, "dump", &[]);
        serde_json::from_str(run["results"]["state"].as_str().expect("state")).expect("state JSON")
    }

    /// A unit's charm directory.
    pub(crate) fn charm_dir(&self, unit: &str) -> PathBuf {
        self.data
            .path()
            .join("models")
            .join(&self.name)
            .join("units")
            .join(unit.replace('/', "-"))
            .join("charm")
    }

    /// The TLS directory of a unit of our charms (`charm/tls`).
    pub(crate) fn tls_dir(&self, unit: &str) -> PathBuf {
        self.charm_dir(unit).join("tls")
    }

    /// Our Rust charm `name` (of `charms/` or `tests/charms/`), staged from the build.
    pub(crate) fn rust_charm(&self, name: &str) -> PathBuf {
        charms::stage_rust_charm(self.data.path(), name)
    }

    /// A Python charm of `tests/interop/`, with `venv/` linked to the shared read-only libs.
    pub(crate) fn interop_charm(&self, name: &str) -> PathBuf {
        self.python_charm_from("tests/interop", name)
    }

    /// The charms.reactive test charm `tests/charms/<name>`, with `venv/` linked to the
    /// pinned reactive framework ([`charms::reactive_libs`]).
    pub(crate) fn reactive_charm(&self, name: &str) -> PathBuf {
        let dest = self.data.path().join("reactive-charms").join(name);
        if !dest.exists() {
            charms::stage_python_charm(
                &root().join("tests/charms").join(name),
                &dest,
                &charms::reactive_libs(),
            );
        }
        dest
    }

    /// The Python charm of the migration guide's worked example (`examples/migration/`), with
    /// `venv/` linked to the shared read-only libs.
    pub(crate) fn example_python_charm(&self, name: &str) -> PathBuf {
        self.python_charm_from("examples/migration", name)
    }

    /// The Python charm `dir/name` of the repository, staged once per model with `venv/` linked
    /// to the pinned libraries.
    fn python_charm_from(&self, dir: &str, name: &str) -> PathBuf {
        let dest = self.data.path().join("py-charms").join(name);
        if !dest.exists() {
            charms::stage_python_charm(
                &root().join(dir).join(name),
                &dest,
                &charms::interop_libs(),
            );
        }
        dest
    }

    /// `openssl verify -x509_strict` of PEM texts at the model's virtual time.
    pub(crate) fn verify_pem(
        &self,
        what: &str,
        cert: &str,
        ca: &str,
        untrusted: &[&str],
    ) -> Result<(), String> {
        openssl::verify_pem(what, self.now(), None, ca, untrusted, cert)
    }

    /// `openssl verify -x509_strict` at the model's virtual time of `file` in a unit's TLS
    /// directory against its `ca.pem`, for `purpose` when given.
    pub(crate) fn verify_tls_file(&self, unit: &str, file: &str, purpose: Option<&str>) {
        let dir = self.tls_dir(unit);
        openssl::verify_files(
            &format!("{unit} {file}"),
            self.now(),
            purpose,
            &dir.join("ca.pem"),
            None,
            &dir.join(file),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for TestModel {
    fn drop(&mut self) {
        let _ = self.run(&["model", "destroy", &self.name]);
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

/// The strings of a Python `str()` of a list of strings (what ops renders for the published
/// charm's `get-issued-certificates`), read by Python itself.
pub(crate) fn python_list(text: &str) -> Vec<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import ast,json,sys; sys.stdout.write(json.dumps(ast.literal_eval(sys.argv[1])))",
            text,
        ])
        .output()
        .expect("python3");
    assert!(out.status.success(), "not a Python list literal: {text}");
    serde_json::from_slice(&out.stdout).expect("JSON list")
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
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON rows")
}
