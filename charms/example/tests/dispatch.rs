//! The example charm as Juju runs it: `dispatch` execs the release-style binary with a fresh
//! environment, cwd = the charm directory, and (stub) hook tools first on PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Unit {
    _dir: tempfile::TempDir,
    charm: PathBuf,
    tools: PathBuf,
}

fn unit(leader: bool) -> Unit {
    let dir = tempfile::tempdir().unwrap();
    let charm = dir.path().join("charm");
    let tools = dir.path().join("tools");
    std::fs::create_dir_all(charm.join("bin")).unwrap();
    std::fs::create_dir_all(tools.join("answers")).unwrap();
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(here.join("charmcraft.yaml"), charm.join("charmcraft.yaml")).unwrap();
    std::fs::copy(here.join("dispatch"), charm.join("dispatch")).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_example-charm"),
        charm.join("bin/example-charm"),
    )
    .unwrap();
    let stub = here.join("../../crates/charm/tests/fixtures/stub-tool.py");
    for tool in [
        "config-get",
        "is-leader",
        "relation-ids",
        "opened-ports",
        "open-port",
        "close-port",
        "application-version-set",
        "status-set",
        "juju-log",
        "secret-info-get",
        "secret-add",
    ] {
        std::os::unix::fs::symlink(&stub, tools.join(tool)).unwrap();
    }
    std::fs::write(tools.join("identity.json"), r#"{"unit": "example/0"}"#).unwrap();
    std::fs::write(
        tools.join("answers/config-get"),
        r#"{"greeting":"hello","port":8080}"#,
    )
    .unwrap();
    std::fs::write(
        tools.join("answers/is-leader"),
        if leader { "true" } else { "false" },
    )
    .unwrap();
    std::fs::write(tools.join("answers/relation-ids"), "[]").unwrap();
    std::fs::write(tools.join("answers/opened-ports"), "[]").unwrap();
    Unit {
        _dir: dir,
        charm,
        tools,
    }
}

fn dispatch(u: &Unit, hook: &str) -> std::process::Output {
    // Juju's PATH is the tools directory, then the agent's PATH (which has python3 for the stub).
    let inherited = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
    let path = format!("{}:{inherited}", u.tools.display());
    Command::new(u.charm.join("dispatch"))
        .current_dir(&u.charm)
        .env_clear()
        .envs([
            ("JUJU_DISPATCH_PATH", format!("hooks/{hook}")),
            ("JUJU_HOOK_NAME", hook.to_owned()),
            ("JUJU_UNIT_NAME", "example/0".to_owned()),
            ("JUJU_MODEL_NAME", "dev".to_owned()),
            (
                "JUJU_MODEL_UUID",
                "cdac5656-2423-4388-8f30-41854b4cca7d".to_owned(),
            ),
            ("JUJU_VERSION", "3.6.8".to_owned()),
            ("JUJU_CHARM_DIR", u.charm.display().to_string()),
            ("JUJU_RELATION_ID", String::new()),
            ("PATH", path),
        ])
        .output()
        .unwrap()
}

fn tools_called(u: &Unit) -> Vec<String> {
    let log = std::fs::read_to_string(u.tools.join("calls.jsonl")).unwrap_or_default();
    log.lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["tool"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn update_status_as_a_follower() {
    let u = unit(false);
    let out = dispatch(&u, "update-status");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        tools_called(&u),
        [
            "config-get",
            "is-leader",
            "relation-ids",
            "opened-ports",
            "open-port",
            "application-version-set",
            "relation-ids",
            "status-set"
        ]
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(u.charm.join(".charm-state.json")).unwrap()).unwrap();
    assert_eq!(state["values"]["published-port"], 8080);
}

#[test]
fn leader_creates_the_token_secret() {
    let u = unit(true);
    let dir = u.tools.join("fail");
    std::fs::create_dir_all(&dir).unwrap();
    // First lookup: not found, as Juju says it (transcripts §3.1).
    std::fs::write(
        dir.join("secret-info-get"),
        "1\nsecret with label \"api-token\" not found",
    )
    .unwrap();
    let out = dispatch(&u, "leader-elected");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let called = tools_called(&u);
    assert_eq!(
        &called[..4],
        ["config-get", "is-leader", "relation-ids", "secret-info-get"]
    );
    assert_eq!(called[4], "secret-add");
}

#[test]
fn a_failing_tool_fails_the_hook_and_keeps_no_state() {
    let u = unit(false);
    let dir = u.tools.join("fail");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("open-port"), "1\nboom").unwrap();
    let out = dispatch(&u, "config-changed");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("open-port failed (exit 1): boom"));
    assert!(
        !u.charm.join(".charm-state.json").exists(),
        "nothing committed"
    );
    assert_eq!(
        tools_called(&u).last().map(String::as_str),
        Some("juju-log"),
        "the failure is logged"
    );
}

#[test]
fn missing_environment_is_a_clear_error() {
    let u = unit(false);
    let out = Command::new(u.charm.join("dispatch"))
        .current_dir(&u.charm)
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "charm: JUJU_DISPATCH_PATH is not set: not running under a Juju unit agent?\n"
    );
}
