//! The local model's security model, tried as an attacker and as an auditor would: the
//! hook-tool socket serves only the model owner's uid and only running hooks, never opens a
//! path a caller names and refuses oversized requests; data dir, model dir, store and hook
//! output are private; old CA keys leave the store once Juju would delete them; `.charm` files
//! are unpacked without trusting them, and units share the model's one copy of a packed charm.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{BIN, TestModel, sqlite_rows};

fn mode(p: &Path) -> u32 {
    fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A raw client of the hook-tool socket, as any local process could write one.
const RAW_CLIENT: &str = r#"
import json, os, socket, sys

def call(payload):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect("\0" + os.environ["JUJU_AGENT_SOCKET_ADDRESS"].lstrip("@"))
    try:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
    except OSError as e:
        print("send stopped:", e.__class__.__name__)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data.decode()

ctx = os.environ["JUJU_CONTEXT_ID"]
what = sys.argv[1]
if what == "big":
    print(call(b" " * (65 << 20)))
elif what == "path":
    print(call(json.dumps({"context": ctx, "argv": ["secret-add", "key-a#file=" + sys.argv[2]], "stdin": None}).encode()))
elif what == "get":
    print(call(json.dumps({"context": ctx, "argv": ["config-get"], "stdin": None}).encode()))
elif what == "output":
    print(call(json.dumps({"context": ctx, "argv": ["config-get", "-o", sys.argv[2]], "stdin": None}).encode()))
"#;

/// A shell charm whose hooks attack the socket and record what they got in `t`.
fn attacker_charm(t: &Path) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("attacker-charm-")
        .tempdir()
        .expect("temp dir");
    fs::write(dir.path().join("metadata.yaml"), "name: attacker\n").expect("metadata");
    fs::write(
        dir.path().join("config.yaml"),
        "options:\n  level:\n    type: int\n    default: 7\n",
    )
    .expect("config");
    let t = t.display();
    let dispatch = format!(
        r#"#!/bin/sh
T={t}
# The hook's whole environment, minus libfaketime (whose shared clock another uid may not open).
nobody() {{ env -u LD_PRELOAD setpriv --reuid nobody --regid nogroup --clear-groups "$@"; }}
case "$JUJU_HOOK_NAME" in
install)
  echo "$JUJU_CONTEXT_ID" > $T/install-ctx
  secret-add --label loot token=the-loot-value > $T/loot-uri || exit 1
  printf 'only-mine' > $T/private && chmod 600 $T/private
  secret-add --label mine "key-a#file=$T/private" > $T/mine-uri || exit 1
  ;;
start)
  stat -c '%n %a' ../../../model.db* > $T/store-modes
  mkdir -p workloads && echo started > workloads/server.log && stat -c %a workloads/server.log > $T/workload-log-mode
  if [ -e $T/as-root ]; then
    nobody python3 $T/raw.py get > $T/nobody-raw.out 2> $T/nobody-raw.err; echo $? > $T/nobody-raw.code
    nobody $T/bin/secret-get "$(cat $T/loot-uri)" > $T/nobody-secret.out 2> $T/nobody-secret.err; echo $? > $T/nobody-secret.code
  fi
  JUJU_CONTEXT_ID=$(cat $T/install-ctx) config-get > $T/stale.out 2> $T/stale.err; echo $? > $T/stale.code
  secret-get "$(cat $T/mine-uri)" key-a > $T/mine.out 2>&1
  python3 $T/raw.py big > $T/big.out 2>&1
  python3 $T/raw.py path $T/root-only > $T/path.out 2>&1
  python3 $T/raw.py output $T/written > $T/output.out 2>&1
  config-get level -o level.out && cp level.out $T/level.out
  status-set active attacked
  ;;
esac
exit 0
"#
    );
    let path = dir.path().join("dispatch");
    fs::write(&path, dispatch).expect("dispatch");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

#[test]
fn the_hook_tool_socket_serves_only_its_owner_running_hooks_and_no_paths() {
    // World-readable so that `nobody` can run the shim from here; the outputs are written by
    // the hook's (root) shell.
    let t = tempfile::Builder::new()
        .prefix("juju-tls-attack-")
        .tempdir()
        .expect("temp dir");
    fs::set_permissions(t.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::create_dir(t.path().join("bin")).expect("bin");
    for tool in ["config-get", "secret-get"] {
        std::os::unix::fs::symlink(BIN, t.path().join("bin").join(tool)).expect("link");
    }
    fs::write(t.path().join("raw.py"), RAW_CLIENT).expect("raw client");
    let root_only = t.path().join("root-only");
    fs::write(&root_only, "root-only-content").expect("root-only");
    fs::set_permissions(&root_only, fs::Permissions::from_mode(0o600)).expect("chmod");
    let root = is_root();
    if root {
        fs::write(t.path().join("as-root"), "").expect("flag");
    } else {
        eprintln!(
            "another-uid part skipped: the test must run as root to start a process as `nobody`"
        );
    }
    let charm = attacker_charm(t.path());
    let m = TestModel::new("socket");
    m.ok(&["deploy", charm.path().to_str().expect("path")]);
    assert_eq!(
        m.unit_status("attacker/0"),
        ("active".to_owned(), "attacked".to_owned())
    );
    let at = |f: &str| t.path().join(f);

    if root {
        // Another uid with the running hook's whole environment gets nothing: a raw client is
        // refused by the server, before anything about the model is said.
        let raw = read(&at("nobody-raw.out"));
        assert!(
            raw.contains("permission denied")
                && raw.contains("only to uid 0, not uid 65534")
                && !raw.contains("level"),
            "raw client as nobody: {raw} {}",
            read(&at("nobody-raw.err"))
        );
        // Our shim, run as another uid, sees the server is not its own and sends nothing.
        assert_eq!(read(&at("nobody-secret.code")).trim(), "1");
        assert_eq!(read(&at("nobody-secret.out")), "");
        let err = read(&at("nobody-secret.err"));
        assert!(
            err.contains("served by uid 0, not by this user (uid 65534): nothing sent")
                && !err.contains("the-loot-value"),
            "shim as nobody: {err}"
        );
    }
    // A finished hook's context is refused.
    assert_eq!(read(&at("stale.code")).trim(), "1");
    assert_eq!(read(&at("stale.out")), "");
    assert!(
        read(&at("stale.err")).contains("unknown context"),
        "{}",
        read(&at("stale.err"))
    );
    // The context id is the readable prefix plus 128 random bits.
    let ctx = read(&at("install-ctx"));
    let random = ctx
        .trim()
        .strip_prefix("attacker-0-install-")
        .expect("prefix");
    assert!(
        random.len() == 32 && random.bytes().all(|b| b.is_ascii_hexdigit()),
        "{ctx}"
    );
    // A 65 MiB request is refused.
    let big = read(&at("big.out"));
    assert!(big.contains("larger than 64 MiB: refused"), "{big}");
    // A raw request naming a path gets no file content: the server opens nothing.
    let path = read(&at("path.out"));
    assert!(
        path.contains("did not send its contents") && !path.contains("root-only-content"),
        "{path}"
    );
    // `-o` comes back to the caller to write; the server wrote nothing.
    let output = read(&at("output.out"));
    assert!(output.contains("\"write_to\":"), "{output}");
    assert!(
        !at("written").exists(),
        "the server wrote a file a caller named"
    );
    // Through the shim, files the caller alone can read work, and so does `-o`.
    assert_eq!(read(&at("mine.out")), "only-mine\n");
    assert_eq!(read(&at("level.out")), "7\n");
    // A workload log the hook created is private (hooks run with umask 077).
    assert_eq!(read(&at("workload-log-mode")).trim(), "600");
    // The store and its WAL files were private while the model ran.
    let modes = read(&at("store-modes"));
    for suffix in ["model.db 600", "model.db-wal 600", "model.db-shm 600"] {
        assert!(
            modes.lines().any(|l| l.ends_with(suffix)),
            "{suffix}: {modes}"
        );
    }
}

#[test]
fn data_at_rest_is_private_and_rotated_ca_keys_leave_the_store() {
    let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("charms/self-signed-certificates");
    let m = TestModel::new("private");
    m.ok(&["deploy", ca.to_str().expect("path"), "ca"]);
    let data = m.data_dir();
    let model_dir = data.join("models/private");
    for d in [data.to_owned(), data.join("models"), model_dir.clone()] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    assert_eq!(mode(&model_dir.join("model.db")), 0o600);
    for f in ["stdout", "stderr"] {
        let p = model_dir.join("units/ca-0/run").join(f);
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }

    let db = model_dir.join("model.db");
    let keys = || -> Vec<Vec<String>> {
        sqlite_rows(
            &db,
            "SELECT r.xid, r.rev, s.latest, r.content FROM secret_revisions r \
             JOIN secrets s ON s.xid = r.xid WHERE r.content LIKE '%PRIVATE KEY%' ORDER BY r.rev",
        )
    };
    let before = keys();
    assert_eq!(before.len(), 1, "{before:?}");
    let run = m.action("ca/0", "rotate-private-key", &[]);
    assert_eq!(run["status"], "completed", "{run:#}");
    // Before any other process opens the store (closing the last connection checkpoints the
    // log): neither the store nor its write-ahead log holds the old key's bytes.
    let old_key = &before[0][3];
    let marker = &old_key[old_key.len() / 2..old_key.len() / 2 + 48];
    for file in ["model.db", "model.db-wal"] {
        let bytes = fs::read(model_dir.join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "the old CA key is still in {file}'s bytes after the hook that removed it"
        );
    }
    let after = keys();
    // Only the current CA key: one revision, the latest, and not the old one.
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(
        after[0][1], after[0][2],
        "not the latest revision: {after:?}"
    );
    assert_ne!(after[0][3], before[0][3], "the key did not change");
    // Not even in the file's free pages (secure_delete), once the store is closed.
    let bytes = fs::read(&db).expect("model.db");
    assert!(
        !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
        "the old CA key is still in model.db's bytes"
    );
    assert!(!model_dir.join("model.db-wal").exists());
    let old_rev = &before[0][1];
    let hooks = m.ok(&["show-unit", "ca/0", "--json"]);
    let log = sqlite_rows(
        &db,
        "SELECT hook FROM hook_log WHERE unit='ca/0' AND hook='secret-remove'",
    );
    assert!(
        !log.is_empty(),
        "no secret-remove hook ran for revision {old_rev}: {hooks}"
    );
}

/// Writes extra entries into a `.charm` being built.
type AddEntries = dyn Fn(&mut zip::ZipWriter<fs::File>);

/// A `.charm` laid out as charmcraft packs one: `dispatch`, `hooks/*` -> `../dispatch`,
/// `venv/` with its internal `lib64` -> `lib` link.
fn charmcraft_layout(path: &Path, extra: impl FnOnce(&mut zip::ZipWriter<fs::File>)) {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(fs::File::create(path).expect("create"));
    let o = SimpleFileOptions::default();
    let x = o.unix_permissions(0o755);
    w.start_file("metadata.yaml", o).expect("entry");
    w.write_all(b"name: layout\n").expect("write");
    w.start_file("manifest.yaml", o).expect("entry");
    w.write_all(b"charmcraft-version: 3.0.0\n").expect("write");
    w.start_file("dispatch", x).expect("entry");
    w.write_all(
        b"#!/bin/sh\n[ \"$JUJU_HOOK_NAME\" = start ] || exit 0\n\
          status-set active \"$(readlink hooks/start) $(readlink venv/lib64) $(cat venv/lib64/python3.12/site-packages/marker.txt)\"\n",
    )
    .expect("write");
    w.add_directory("hooks", x).expect("dir");
    for hook in ["install", "start", "upgrade-charm"] {
        w.add_symlink(format!("hooks/{hook}"), "../dispatch", x)
            .expect("link");
    }
    w.add_directory("venv/lib/python3.12/site-packages", x)
        .expect("dir");
    w.start_file("venv/lib/python3.12/site-packages/marker.txt", o)
        .expect("entry");
    w.write_all(b"from-venv").expect("write");
    w.add_symlink("venv/lib64", "lib", x).expect("link");
    extra(&mut w);
    w.finish().expect("finish");
}

#[test]
fn a_charmcraft_charm_deploys_with_its_links_shared_by_units_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("layout.charm");
    charmcraft_layout(&good, |_| {});
    let m = TestModel::new("charms");
    m.ok(&["deploy", good.to_str().expect("path"), "-n", "2"]);
    for unit in ["layout/0", "layout/1"] {
        assert_eq!(
            m.unit_status(unit),
            ("active".to_owned(), "../dispatch lib from-venv".to_owned()),
            "{unit}"
        );
    }
    // One copy of the files: the units' dispatch is one inode, the model's kept copy.
    let model_dir = m.data_dir().join("models/charms");
    let ino = |p: PathBuf| fs::metadata(&p).expect("meta").ino();
    assert_eq!(
        ino(model_dir.join("units/layout-0/charm/dispatch")),
        ino(model_dir.join("units/layout-1/charm/dispatch"))
    );
    assert_eq!(
        ino(model_dir.join("units/layout-0/charm/dispatch")),
        ino(model_dir.join("charms/layout-1/dispatch"))
    );
    m.ok(&["remove-application", "layout"]);
    let left: Vec<_> = fs::read_dir(model_dir.join("charms"))
        .expect("charms dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "charm files left behind: {left:?}");

    // Crafted archives: each refused naming its entry, nothing deployed, nothing written.
    use zip::write::SimpleFileOptions;
    let o = SimpleFileOptions::default();
    let cases: Vec<(&str, Box<AddEntries>)> = vec![
        (
            "../evil",
            Box::new(move |w| {
                w.start_file("../evil", o).expect("entry");
                w.write_all(b"x").expect("write");
            }),
        ),
        (
            "/tmp/juju-tls-evil-abs",
            Box::new(move |w| {
                w.start_file("/tmp/juju-tls-evil-abs", o).expect("entry");
                w.write_all(b"x").expect("write");
            }),
        ),
        (
            "hooks/stop",
            Box::new(move |w| {
                w.add_symlink("hooks/stop", "../../../../etc", o)
                    .expect("link");
            }),
        ),
        (
            "bomb.bin",
            Box::new(move |w| {
                w.start_file(
                    "bomb.bin",
                    o.compression_method(zip::CompressionMethod::Deflated)
                        .large_file(true),
                )
                .expect("entry");
                let zeros = vec![0u8; 1 << 20];
                for _ in 0..1024 {
                    w.write_all(&zeros).expect("write");
                }
            }),
        ),
    ];
    for (entry, add) in cases {
        let bad = dir.path().join("bad.charm");
        charmcraft_layout(&bad, |w| add(w));
        let err = m.fails(&["deploy", bad.to_str().expect("path"), "evil"], 2);
        assert!(
            err.contains(&format!("entry \"{entry}\"")),
            "{entry}: {err}"
        );
        assert!(!Path::new("/tmp/juju-tls-evil-abs").exists());
        assert!(!m.data_dir().join("models/evil").exists());
        assert!(!model_dir.join("charms/evil").exists());
    }
    let st = m.status();
    assert!(
        st["applications"]
            .as_array()
            .is_none_or(|apps| apps.is_empty()),
        "{st:#}"
    );
}

#[test]
fn without_home_or_a_data_dir_the_cli_refuses_rather_than_share_a_path() {
    let out = Command::new(BIN)
        .args(["model", "add", "nohome"])
        .env_remove("HOME")
        .env_remove("JUJU_TLS_DATA_DIR")
        .env_remove("XDG_DATA_HOME")
        .output()
        .expect("juju-tls");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("HOME is not set") && err.contains("JUJU_TLS_DATA_DIR"),
        "{err}"
    );
    assert!(!Path::new("/tmp/.local/share/juju-tls/models/nohome").exists());
}
