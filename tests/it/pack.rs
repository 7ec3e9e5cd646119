//! `juju-tls pack` on the real `charms/self-signed-certificates`, judged by tools that are not
//! ours: `unzip` for the archive and its modes, `objdump -T` for the glibc decision, the packed
//! `dispatch` run as Juju would run it, and `charmcraft analyse` (PyPI charmcraft 4.5.0) for what
//! Charmhub would say about the charm.
//!
//! The charm binary is not rebuilt: the test packs the one the test build made next to
//! `juju-tls` (`--no-build`), so `./scripts/test`'s single release build is reused.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::charms::build_dir;
use crate::support::{TestModel, juju_tls, root, text};

const CHARM: &str = "self-signed-certificates";

/// The cargo profile `juju-tls` was built in (the charm binary is built next to it).
fn profile() -> &'static str {
    let charm_bin = build_dir().join(CHARM);
    assert!(
        charm_bin.is_file(),
        "{} is missing: build the workspace first (./scripts/test does; or \
         `cargo build --release -p {CHARM}`)",
        charm_bin.display()
    );
    match build_dir().file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some("release") => "release",
        other => panic!("unexpected profile directory {other:?}"),
    }
}

/// `juju-tls ARGS` at the workspace root, with the target directory of this build.
fn pack_cli(args: &[&str]) -> Output {
    let target = build_dir()
        .parent()
        .expect("the profile directory is in a target directory");
    juju_tls()
        .current_dir(root())
        .env("CARGO_TARGET_DIR", target)
        .args(args)
        .output()
        .expect("running juju-tls")
}

/// Every file under `dir` (relative path -> (mode, bytes)); directories are implied.
fn files(dir: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (u32, Vec<u8>)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
                out.insert(rel, (mode, fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn yaml(bytes: &[u8]) -> Value {
    let v: serde_norway::Value = serde_norway::from_slice(bytes).expect("valid YAML");
    serde_json::to_value(v).unwrap()
}

/// The newest `GLIBC_x.y[.z]` that `objdump -T` shows for a binary, as numbers.
fn objdump_max_glibc(binary: &Path) -> Vec<u32> {
    let out = Command::new("objdump")
        .arg("-T")
        .arg(binary)
        .output()
        .expect("objdump (binutils) is needed by this test");
    assert!(out.status.success(), "objdump -T: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    stdout
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter_map(|word| word.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            v.split('.')
                .map(|n| n.parse::<u32>().ok())
                .collect::<Option<Vec<_>>>()
        })
        .max()
        .expect("the charm binary is dynamically linked against glibc")
}

struct Packed {
    _dir: tempfile::TempDir,
    charm: PathBuf,
    unzipped: PathBuf,
    unpacked: PathBuf,
}

/// `charm` unzipped into `<dir>/unzipped`, by the `unzip` CLI (an independent reader).
fn unzip(charm: &Path, dir: &Path) -> PathBuf {
    let unzipped = dir.join("unzipped");
    let out = Command::new("unzip")
        .arg("-q")
        .arg(charm)
        .arg("-d")
        .arg(&unzipped)
        .output()
        .expect("unzip is needed by this test (scripts/test installs it)");
    assert!(out.status.success(), "unzip: {}", text(&out.stderr));
    unzipped
}

fn pack() -> Packed {
    pack_charm(CHARM)
}

/// `juju-tls pack charms/<name> --no-build`, unzipped.
fn pack_charm(name: &str) -> Packed {
    let profile = profile();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let unpacked = dir.path().join("unpacked");
    let out_arg = out.to_str().unwrap();
    let unpacked_arg = unpacked.to_str().unwrap();
    let result = pack_cli(&[
        "pack",
        &format!("charms/{name}"),
        "--out",
        out_arg,
        "--no-build",
        "--profile",
        profile,
        "--unpack-to",
        unpacked_arg,
    ]);
    assert!(
        result.status.success(),
        "juju-tls pack failed:\n{}{}",
        text(&result.stdout),
        text(&result.stderr)
    );
    let charms: Vec<PathBuf> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(charms.len(), 1, "one file in --out: {charms:?}");
    let charm = charms[0].clone();
    assert!(
        text(&result.stdout).contains(&charm.display().to_string()),
        "pack names the file it wrote: {}",
        text(&result.stdout)
    );
    let unzipped = unzip(&charm, dir.path());
    Packed {
        _dir: dir,
        charm,
        unzipped,
        unpacked,
    }
}

#[test]
fn archive_has_the_charm_layout_and_modes() {
    let p = pack();
    let got = files(&p.unzipped);
    let mut want = vec![
        "README.md",
        "actions.yaml",
        "bin/self-signed-certificates",
        "charmcraft.yaml",
        "config.yaml",
        "dispatch",
        "manifest.yaml",
        "metadata.yaml",
    ];
    if root().join("charms").join(CHARM).join("LICENSE").is_file() {
        want.push("LICENSE");
        want.sort_unstable();
    }
    assert_eq!(got.keys().map(String::as_str).collect::<Vec<_>>(), want);
    for (name, (mode, _)) in &got {
        let expected = if name == "dispatch" || name.starts_with("bin/") {
            0o755
        } else {
            0o644
        };
        assert_eq!(*mode, expected, "mode of {name}: {mode:o}");
    }

    let built = fs::read(build_dir().join(CHARM)).unwrap();
    assert!(
        got["bin/self-signed-certificates"].1 == built,
        "the packed binary is the built one"
    );
    let source = root().join("charms").join(CHARM);
    for copied in ["dispatch", "charmcraft.yaml", "README.md"] {
        assert_eq!(
            got[copied].1,
            fs::read(source.join(copied)).unwrap(),
            "{copied}"
        );
    }

    // --unpack-to wrote the very same files and modes.
    assert!(
        files(&p.unpacked) == got,
        "the unpacked directory differs from the archive"
    );
}

#[test]
fn yaml_files_are_rendered_from_charmcraft_yaml() {
    let p = pack();
    let source =
        yaml(&fs::read(root().join("charms").join(CHARM).join("charmcraft.yaml")).unwrap());
    let meta = yaml(&fs::read(p.unzipped.join("metadata.yaml")).unwrap());
    assert_eq!(meta["name"], CHARM);
    assert_eq!(meta["display-name"], source["title"]);
    assert_eq!(meta["summary"], source["summary"]);
    assert_eq!(meta["description"], source["description"]);
    assert_eq!(meta["provides"], source["provides"]);
    assert_eq!(meta["assumes"], source["assumes"]);
    for build_only in ["type", "bases", "config", "actions", "title", "parts"] {
        assert!(
            meta.get(build_only).is_none(),
            "metadata.yaml has `{build_only}`"
        );
    }
    let config = yaml(&fs::read(p.unzipped.join("config.yaml")).unwrap());
    assert_eq!(config, source["config"]);
    let actions = yaml(&fs::read(p.unzipped.join("actions.yaml")).unwrap());
    assert_eq!(actions, source["actions"]);
}

#[test]
fn bases_follow_objdump_glibc_versions() {
    let p = pack();
    let binary = p.unzipped.join("bin").join(CHARM);
    let max = objdump_max_glibc(&binary);
    let old_enough = max <= vec![2, 35];
    let manifest = yaml(&fs::read(p.unzipped.join("manifest.yaml")).unwrap());
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let channels: Vec<&str> = manifest["bases"]
        .as_array()
        .expect("manifest.yaml lists bases")
        .iter()
        .map(|b| {
            assert_eq!(b["name"], "ubuntu");
            assert_eq!(b["architectures"], serde_json::json!([arch]));
            b["channel"].as_str().expect("channel is a string")
        })
        .collect();
    let expected: &[&str] = if old_enough {
        &["22.04", "24.04"]
    } else {
        &["24.04"]
    };
    assert_eq!(channels, expected, "objdump -T says GLIBC_{max:?} at most");
    let name = p.charm.file_name().unwrap().to_str().unwrap();
    let platforms: Vec<String> = expected
        .iter()
        .map(|c| format!("ubuntu-{c}-{arch}"))
        .collect();
    assert_eq!(name, format!("{CHARM}_{}.charm", platforms.join("_")));
    assert!(manifest["charmcraft-started-at"].is_string());
}

#[test]
fn packed_dispatch_runs_the_binary() {
    let p = pack();
    let run = |cwd: &Path, program: &Path, env: &[(&str, &str)]| -> Output {
        Command::new(program)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(env.iter().copied())
            .output()
            .expect("running dispatch")
    };
    // No JUJU_DISPATCH_PATH: the charm binary (the SDK) names the missing variable and fails.
    // Run from elsewhere by absolute path, and from the charm directory as Juju does.
    for (cwd, program) in [
        (Path::new("/"), p.unzipped.join("dispatch")),
        (p.unzipped.as_path(), PathBuf::from("./dispatch")),
    ] {
        let out = run(cwd, &program, &[]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("JUJU_DISPATCH_PATH is not set"),
            "{}",
            text(&out.stderr)
        );
    }
    // With it, the same binary moves on to the next variable: the environment reaches it.
    let out = run(
        Path::new("/"),
        &p.unzipped.join("dispatch"),
        &[("JUJU_DISPATCH_PATH", "hooks/install")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("JUJU_UNIT_NAME is not set"),
        "{}",
        text(&out.stderr)
    );
}

/// The pinned charmcraft: `$JUJU_TLS_TEST_CHARMCRAFT` (set by scripts/test), else
/// `.venv-charmcraft/bin/charmcraft` at the workspace root.
fn charmcraft() -> PathBuf {
    let path = std::env::var_os("JUJU_TLS_TEST_CHARMCRAFT")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv-charmcraft/bin/charmcraft"));
    assert!(
        path.is_file(),
        "charmcraft is not installed at {}: run ./scripts/test once, or\n  \
         python3 -m venv .venv-charmcraft && .venv-charmcraft/bin/pip install -r \
         tests/charmcraft-requirements.txt",
        path.display()
    );
    path
}

#[test]
fn charmcraft_analyse_reports_no_error() {
    analyse(&pack());
}

#[test]
fn the_manual_charm_passes_charmcraft_analyse() {
    analyse(&pack_charm("manual-tls-certificates"));
}

/// `charmcraft analyse` of a packed charm: no error or warning, and what Charmhub checks is ok.
fn analyse(p: &Packed) {
    analyse_allowing(p, &[]);
}

/// [`analyse`], with the warnings named in `allowed` (check name, and a text it must contain)
/// accepted: a deliberate choice the charm documents.
fn analyse_allowing(p: &Packed, allowed: &[(&str, &str)]) {
    let charmcraft = charmcraft();
    let version = Command::new(&charmcraft).arg("version").output().unwrap();
    assert!(
        text(&version.stdout).contains("4.5.0") || text(&version.stderr).contains("4.5.0"),
        "charmcraft 4.5.0 is pinned: {}{}",
        text(&version.stdout),
        text(&version.stderr)
    );
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(&charmcraft)
        .args(["analyse", "--format", "json"])
        .arg(&p.charm)
        .env("HOME", home.path())
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    let results: Vec<Value> = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "charmcraft analyse output is not JSON ({e}):\n{stdout}{}",
            text(&out.stderr)
        )
    });
    let by_name: BTreeMap<&str, &Value> = results
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r))
        .collect();
    let mut tolerated = false;
    for r in &results {
        let result = r["result"].as_str().unwrap();
        let text = r["text"].as_str().unwrap_or_default();
        if result == "warning"
            && allowed
                .iter()
                .any(|(name, needle)| r["name"] == *name && text.contains(needle))
        {
            tolerated = true;
            continue;
        }
        assert!(
            !matches!(result, "error" | "fatal" | "warning"),
            "charmcraft analyse: {} is {result}: {}",
            r["name"],
            r["text"]
        );
    }
    // charmcraft exits 3 when anything warned: only the tolerated warnings may have.
    assert!(
        out.status.success() || (tolerated && out.status.code() == Some(3)),
        "charmcraft analyse exit {:?}",
        out.status.code()
    );
    for must_be_ok in [
        "metadata",
        "entrypoint",
        "juju-config",
        "juju-actions",
        "naming-conventions",
    ] {
        if allowed.iter().any(|(name, _)| *name == must_be_ok) {
            continue;
        }
        assert_eq!(by_name[must_be_ok]["result"], "ok", "{must_be_ok}");
    }
    // The manifest's analysis attributes are what charmcraft itself finds.
    let manifest = yaml(&fs::read(p.unzipped.join("manifest.yaml")).unwrap());
    for attr in manifest["analysis"]["attributes"].as_array().unwrap() {
        let name = attr["name"].as_str().unwrap();
        assert_eq!(by_name[name]["check_type"], "attribute", "{name}");
        assert_eq!(by_name[name]["result"], attr["result"], "{name}");
    }
}

#[test]
fn a_directory_that_is_not_a_charm_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = pack_cli(&["pack", dir.path().to_str().unwrap(), "--no-build"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("charmcraft.yaml"),
        "{}",
        text(&out.stderr)
    );
    let out = pack_cli(&["pack", "charms/no-such-charm", "--no-build"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_local_model_deploys_the_packed_charm() {
    let p = pack();
    let model = TestModel::new("pack");
    model.deploy(&p.charm, &["-n", "1"]);
    let status: Value = serde_json::from_str(&model.ok(&["status", "--json"])).unwrap();
    let unit = &status["applications"][0]["units"][0];
    assert_eq!(unit["workload"], "active", "{status:#}");
    let action: Value = serde_json::from_str(&model.ok(&[
        "run",
        &format!("{CHARM}/0"),
        "get-ca-certificate",
        "--json",
    ]))
    .unwrap();
    let ca = action["results"]["ca-certificate"]
        .as_str()
        .unwrap_or_default();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{action:#}");
}

#[test]
fn several_charms_are_packed_in_one_go() {
    let profile = profile();
    let dir = tempfile::tempdir().unwrap();
    let (out, unpacked) = (dir.path().join("out"), dir.path().join("unpacked"));
    let result = pack_cli(&[
        "pack",
        "charms/example",
        &format!("charms/{CHARM}"),
        "--out",
        out.to_str().unwrap(),
        "--no-build",
        "--profile",
        profile,
        "--unpack-to",
        unpacked.to_str().unwrap(),
    ]);
    assert!(result.status.success(), "{}", text(&result.stderr));
    let mut names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].starts_with("example_ubuntu-"), "{names:?}");
    assert!(
        names[1].starts_with(&format!("{CHARM}_ubuntu-")),
        "{names:?}"
    );
    // Each charm is unpacked into its own directory, with its own binary.
    assert!(unpacked.join("example/bin/example-charm").is_file());
    assert!(unpacked.join(CHARM).join("bin").join(CHARM).is_file());
    let meta = yaml(&fs::read(unpacked.join("example/metadata.yaml")).unwrap());
    assert_eq!(meta["name"], "example");
}

/// The manual charm packs like the others: its entrypoint, its metadata rendered from
/// charmcraft.yaml, and the packed archive deploys on the local model and answers its actions.
#[test]
fn the_manual_charm_packs_and_its_archive_deploys() {
    let p = pack_charm("manual-tls-certificates");
    let got = files(&p.unzipped);
    for f in [
        "dispatch",
        "bin/manual-tls-certificates",
        "metadata.yaml",
        "actions.yaml",
        "config.yaml",
        "manifest.yaml",
    ] {
        assert!(got.contains_key(f), "{f} missing: {:?}", got.keys());
    }
    let dispatch = String::from_utf8_lossy(&got["dispatch"].1).into_owned();
    assert_eq!(
        dispatch.trim_end().lines().last(),
        Some("exec ./bin/manual-tls-certificates")
    );
    let actions = yaml(&got["actions.yaml"].1);
    assert_eq!(
        actions["provide-certificate"]["params"]["relation-id"]["type"],
        "integer"
    );
    let model = TestModel::new("pack-manual");
    model.deploy(&p.charm, &["manual"]);
    assert_eq!(
        model.unit_status("manual/0"),
        ("active".to_owned(), "No outstanding requests.".to_owned())
    );
    let run = model.action("manual/0", "get-outstanding-certificate-requests", &[]);
    assert_eq!(
        run["message"],
        "No certificates relation has been created yet."
    );
}

/// The intermediate CA packs too: `charmcraft analyse` is content, its `requires` endpoint is
/// rendered, and the packed archive deploys and says what it waits for.
#[test]
fn the_intermediate_charm_packs_passes_analyse_and_deploys() {
    let p = pack_charm("intermediate-ca");
    analyse(&p);
    let got = files(&p.unzipped);
    let meta = yaml(&got["metadata.yaml"].1);
    assert_eq!(
        meta["requires"]["parent-ca"]["interface"],
        "tls-certificates"
    );
    assert_eq!(meta["requires"]["parent-ca"]["limit"], 1);
    let model = TestModel::new("pack-intermediate");
    model.deploy(&p.charm, &["int"]);
    let (workload, message) = model.unit_status("int/0");
    assert_eq!(workload, "blocked", "{message}");
    assert!(message.starts_with("no CA: relate parent-ca"), "{message}");
}

/// The ACME charm packs too: `charmcraft analyse` is content, its peer and `requires`
/// endpoints are rendered, and the packed archive deploys and names the missing config with
/// lego's message.
#[test]
fn the_acme_charm_packs_passes_analyse_and_deploys() {
    let p = pack_charm("acme-certificates");
    // `expiry_ratio` is lego's name, kept so a lego config applies as it is.
    analyse_allowing(&p, &[("naming-conventions", "expiry_ratio")]);
    let got = files(&p.unzipped);
    let meta = yaml(&got["metadata.yaml"].1);
    assert_eq!(
        meta["requires"]["receive-ca-cert"]["interface"],
        "certificate_transfer"
    );
    assert_eq!(meta["peers"]["acme-state"]["interface"], "acme_state");
    let model = TestModel::new("pack-acme");
    model.deploy(&p.charm, &["acme"]);
    assert_eq!(
        model.unit_status("acme/0"),
        (
            "blocked".to_owned(),
            "email address was not provided".to_owned()
        )
    );
}

/// The tls-client demo packs too: `charmcraft analyse` is content and the packed archive
/// deploys and says what it needs.
#[test]
fn the_tls_client_demo_packs_passes_analyse_and_deploys() {
    let p = pack_charm("tls-client-demo");
    analyse(&p);
    let model = TestModel::new("pack-tls-client");
    model.deploy(&p.charm, &["client"]);
    let (workload, message) = model.unit_status("client/0");
    assert_eq!(workload, "blocked", "{message}");
    assert!(message.contains("certificates"), "{message}");
}

/// `juju-tls pack` of a Python ops charm (examples/migration/hello-tls-py), unzipped.
fn pack_python_example() -> Packed {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let unpacked = dir.path().join("unpacked");
    let result = pack_cli(&[
        "pack",
        "examples/migration/hello-tls-py",
        "--out",
        out.to_str().unwrap(),
        "--unpack-to",
        unpacked.to_str().unwrap(),
    ]);
    assert!(
        result.status.success(),
        "juju-tls pack failed:\n{}{}",
        text(&result.stdout),
        text(&result.stderr)
    );
    let charm = fs::read_dir(&out).unwrap().next().unwrap().unwrap().path();
    let unzipped = unzip(&charm, dir.path());
    Packed {
        _dir: dir,
        charm,
        unzipped,
        unpacked,
    }
}

#[test]
fn a_python_ops_charm_packs_as_charmcraft_lays_it_out_and_passes_analyse() {
    let p = pack_python_example();
    let names = files(&p.unzipped);
    for must in [
        "metadata.yaml",
        "actions.yaml",
        "manifest.yaml",
        "dispatch",
        "src/charm.py",
        "venv/ops/__init__.py",
        "venv/charmlibs/interfaces/tls_certificates/__init__.py",
    ] {
        assert!(
            names.contains_key(must),
            "{must} missing: {:?}",
            names.keys().take(12).collect::<Vec<_>>()
        );
    }
    assert_eq!(names["dispatch"].0 & 0o111, 0o111, "dispatch is executable");
    assert_eq!(
        names["src/charm.py"].0 & 0o111,
        0o111,
        "the entrypoint is executable"
    );
    // The unpacked copy is what the local model deploys; it equals the archive.
    assert_eq!(files(&p.unpacked).len(), names.len());
    let manifest = yaml(&names["manifest.yaml"].1);
    assert_eq!(manifest["bases"][0]["channel"], "24.04");
    analyse(&p);
}
