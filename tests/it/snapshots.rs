//! The exact text people read, as `insta` snapshots (`snapshots/`; `CI=true` fails on a
//! mismatch, `INSTA_UPDATE=always` rewrites them): `--help` of every verb, the status table and
//! the other tables, every `--json` output, and the main error messages. Times, serials,
//! fingerprints, paths, addresses and ids are redacted (`support::snap`).

use serde_json::Value;

use crate::support::charms::write_dispatch;
use crate::support::{TestModel, juju_tls, shell_charm, snap, success, text};

/// Every verb and sub-verb, as the words before `--help`.
const VERBS: &[&[&str]] = &[
    &[],
    &["pki"],
    &["pki", "key"],
    &["pki", "ca"],
    &["pki", "csr"],
    &["pki", "sign"],
    &["pki", "sign-requests"],
    &["pki", "inspect"],
    &["pki", "verify"],
    &["pki", "bench"],
    &["demo"],
    &["pack"],
    &["model"],
    &["model", "add"],
    &["model", "destroy"],
    &["model", "list"],
    &["model", "switch"],
    &["deploy"],
    &["add-unit"],
    &["remove-unit"],
    &["remove-application"],
    &["refresh"],
    &["integrate"],
    &["remove-relation"],
    &["offer"],
    &["remove-offer"],
    &["offers"],
    &["consume"],
    &["remove-saas"],
    &["config"],
    &["run"],
    &["status"],
    &["show-unit"],
    &["secrets"],
    &["add-secret"],
    &["update-secret"],
    &["grant-secret"],
    &["revoke-secret"],
    &["remove-secret"],
    &["show-secret"],
    &["debug-log"],
    &["advance"],
    &["wait"],
    &["resolve"],
    &["set-leader"],
];

#[test]
fn help_of_every_verb() {
    for words in VERBS {
        let out = juju_tls().args(*words).arg("--help").output().expect("run");
        let help = success(&format!("juju-tls {words:?} --help"), &out);
        let name = ["help"].iter().chain(*words).copied().collect::<Vec<_>>();
        snap::plain(&name.join("_"), &help);
    }
    // Every verb the top-level help lists has its snapshot above.
    let top = success(
        "juju-tls --help",
        &juju_tls().arg("--help").output().expect("run"),
    );
    let listed = top
        .split("Commands:\n")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a command list");
    for line in listed.lines() {
        let verb = line.split_whitespace().next().unwrap_or_default();
        if line.starts_with("  ") && !line.starts_with("   ") && verb != "help" {
            assert!(
                VERBS.iter().any(|w| w == &[verb]),
                "no --help snapshot of {verb}"
            );
        }
    }
}

/// `web` (2 units, an action; `web/0` adds a secret and logs a line; requires `db`) and `db`,
/// related.
fn model() -> (TestModel, tempfile::TempDir, tempfile::TempDir) {
    let m = TestModel::new("snap");
    let web = shell_charm("web", "requires:\n  db:\n    interface: pg\n");
    std::fs::write(
        web.path().join("actions.yaml"),
        "greet:\n  description: Say hello\n  params:\n    name: {type: string}\n",
    )
    .expect("actions.yaml");
    write_dispatch(
        web.path(),
        "#!/bin/sh\n\
         if [ \"$JUJU_DISPATCH_PATH\" = actions/greet ]; then\n\
         \x20 action-set greeting=\"hello $(action-get name)\"; exit 0\n\
         fi\n\
         if [ \"$JUJU_HOOK_NAME\" = install ] && [ \"$JUJU_UNIT_NAME\" = web/0 ]; then\n\
         \x20 secret-add --label web-token token=abc >/dev/null; juju-log installed\n\
         fi\n\
         [ \"$JUJU_HOOK_NAME\" = start ] && status-set active \"level $(config-get level)\"\n\
         exit 0\n",
    );
    let db = shell_charm("db", "provides:\n  db:\n    interface: pg\n");
    m.deploy(web.path(), &["-n", "2"]);
    m.deploy(db.path(), &[]);
    m.ok(&["integrate", "web", "db"]);
    (m, web, db)
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn tables_and_json_outputs_of_the_model_verbs() {
    let (m, _web, _db) = model();
    for (name, args) in [
        ("status", &["status"][..]),
        ("show_unit", &["show-unit", "web/0"]),
        ("secrets", &["secrets"]),
        ("config", &["config", "web"]),
        ("run", &["run", "web/0", "greet", "name=bob"]),
        ("debug_log", &["debug-log"]),
    ] {
        snap::table(name, &m.ok(args));
        let mut with_json = args.to_vec();
        with_json.push("--json");
        snap::json(&format!("{name}_json"), &json(&m.ok(&with_json)));
    }
    snap::table("model_list", &m.ok(&["model", "list"]));
}

#[test]
fn pki_inspect_text_and_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = |args: &[&str]| {
        let out = juju_tls()
            .current_dir(dir.path())
            .args(["pki"])
            .args(args)
            .output()
            .expect("run");
        success(&format!("pki {args:?}"), &out)
    };
    pki(&["key", "--algorithm", "p256", "--out", "ca.key"]);
    pki(&[
        "ca",
        "--key",
        "ca.key",
        "--common-name",
        "Snapshot CA",
        "--out",
        "ca.pem",
    ]);
    snap::plain("pki_inspect", &pki(&["inspect", "ca.pem"]));
    snap::json(
        "pki_inspect_json",
        &json(&pki(&["inspect", "ca.pem", "--json"])),
    );
}

#[test]
fn main_error_messages() {
    let (m, web, _db) = model();
    let empty = tempfile::tempdir().expect("temp dir");
    let empty = empty.path().to_str().expect("utf-8");
    let web = web.path().to_str().expect("utf-8");
    let (deploy_empty, deploy_web) = (format!("deploy {empty} ghost"), format!("deploy {web}"));
    // The words of each command line (no word has a space).
    for (name, line) in [
        ("unknown_unit", "remove-unit web/7"),
        ("unknown_unit_action", "run web/9 greet"),
        ("unknown_application", "integrate nope db"),
        ("unknown_endpoint", "integrate web:nope db"),
        ("no_matching_endpoints", "integrate web web"),
        ("unknown_action", "run web/0 explode"),
        ("unknown_option", "config web colour=red"),
        ("bad_config_value", "config web level=loud"),
        ("bad_duration", "advance soon"),
        ("missing_charm_dir", "deploy /nonexistent/charm"),
        ("not_a_charm", &deploy_empty),
        ("application_exists", &deploy_web),
        ("not_in_error", "resolve web/0"),
        ("unknown_model", "status -m elsewhere"),
        (
            "bad_validity",
            "pki ca --key k --common-name x --validity 1y",
        ),
        (
            "validity_too_long",
            "pki ca --key k --common-name x --validity 3000000d",
        ),
        ("unknown_purpose", "pki verify --ca c --purpose email x"),
        ("missing_file", "pki inspect /nonexistent/file.pem"),
    ] {
        let args: Vec<&str> = line.split_whitespace().collect();
        let out = m.run(&args);
        assert!(!out.status.success(), "{args:?} succeeded");
        let code = out.status.code().map_or("signal".into(), |c| c.to_string());
        let shown = format!("exit {code}\n{}", text(&out.stderr));
        snap::plain(&format!("error_{name}"), &shown);
    }
}
