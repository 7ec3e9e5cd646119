//! The README's main job, run as a user runs it: `juju-tls demo` on a fresh local model, then
//! every chain the demo's units hold is checked by `openssl verify -x509_strict` at the model's
//! virtual time. The model is destroyed afterwards (its workload processes with it).
//!
//! Meanwhile another model of the same charms, application names and ports serves in another
//! data dir (as the README's `demo` leaves one serving): models lease their own loopback blocks,
//! so both serve side by side.

use crate::support::TestModel;

/// A model like the demo's, serving: the same charms, application names and default port.
fn serving_neighbour() -> TestModel {
    let m = TestModel::new("demo");
    for (charm, units) in [("self-signed-certificates", "1"), ("tls-demo", "3")] {
        m.deploy(&m.rust_charm(charm), &["-n", units]);
    }
    m.ok(&[
        "integrate",
        "tls-demo:certificates",
        "self-signed-certificates:certificates",
    ]);
    m
}

fn probe_neighbour(m: &TestModel) {
    for unit in ["tls-demo/0", "tls-demo/1", "tls-demo/2"] {
        let out = m.ok(&["run", unit, "probe"]);
        assert!(out.contains("2/2 peers ok"), "{unit}: {out}");
    }
}

#[test]
fn the_demo_runs_end_to_end_and_every_chain_verifies() {
    let neighbour = serving_neighbour();
    probe_neighbour(&neighbour);
    let model = TestModel::unadded("demo-test");
    let out = model.run(&["demo", "--model", &model.name]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.matches("2/2 peers ok").count(),
        3 * 3,
        "three probe rounds of three units:\n{stdout}"
    );
    // The last round runs after tls-demo/2 is removed; the final table is the model at the end.
    assert_eq!(
        stdout.matches("1/1 peers ok").count(),
        2 + 2,
        "the last probe round of two units, and the final table:\n{stdout}"
    );
    let table = &stdout[stdout.rfind("certificate serial").expect("final table")..];
    let table = &table[..table.find("step").unwrap_or(table.len())];
    assert!(
        !table.contains("tls-demo/2"),
        "removed unit listed:\n{table}"
    );
    assert!(table.contains("tls-demo/1"), "{table}");
    // Both models served side by side, on disjoint addresses.
    probe_neighbour(&neighbour);
    let mine = model.addresses();
    assert!(
        neighbour.addresses().iter().all(|a| !mine.contains(a)),
        "{mine:?}"
    );
    assert!(stdout.contains("3/3 unit certificates renewed"), "{stdout}");

    for unit in ["tls-demo/0", "tls-demo/1"] {
        model.verify_tls_file(unit, "unit.crt", Some("sslserver"));
        let tls = model.tls_dir(unit);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(tls.join("unit.key"))
                .unwrap()
                .permissions(),
        ) & 0o777;
        assert_eq!(mode, 0o600);
    }
}

/// `demo --cross-model`: the CA in a model of its own, offered; tls-demo consumes it. Every
/// step passes (issue, probe, renewal by the shared clock, CA rotation, removal, again), and
/// both models are left as the demo says.
#[test]
fn the_cross_model_demo_runs_end_to_end() {
    let model = TestModel::unadded("xdemo");
    let ca = model.rust_charm("self-signed-certificates");
    let demo = model.rust_charm("tls-demo");
    let out = model.run(&[
        "demo",
        "--model",
        &model.name,
        "--cross-model",
        "--units",
        "2",
        "--charms",
        ca.to_str().expect("utf-8"),
        demo.to_str().expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let hooks = model.run(&["debug-log", "--hooks", "-n", "5", "-m", "xdemo-ca"]);
        panic!(
            "demo --cross-model failed:\n{stdout}\n{}\nthe CA's last hooks:\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&hooks.stdout)
        );
    }
    assert!(stdout.contains("(offered by model 'xdemo-ca')"), "{stdout}");
    assert_eq!(
        stdout.matches("1/1 peers ok").count(),
        3 * 2,
        "three probe rounds of two units:\n{stdout}"
    );
    let st: serde_json::Value =
        serde_json::from_str(&model.ok(&["status", "--json"])).expect("status JSON");
    assert_eq!(st["saas"][0]["model_name"], "xdemo-ca", "{st:#}");
    let _ = model.run(&["model", "destroy", "xdemo-ca"]);
}
