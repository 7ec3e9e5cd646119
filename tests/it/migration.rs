//! The worked example of docs/migrating-from-python.md: `examples/migration/hello-tls-py` (ops,
//! the published Python library) and `examples/migration/hello-tls` (our crates) behave the same
//! under the local model, apart from keys and serial numbers: the same relation data keys and
//! shapes, the same secret labels, the same statuses and the same action results.

use serde_json::Value;

use crate::support::TestModel;

/// Every value under a key named `key` in `v`, with the path of object keys leading to it.
fn find<'a>(v: &'a Value, key: &str, path: &mut Vec<String>, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                path.push(k.clone());
                if k == key {
                    out.push((path.join("."), child));
                }
                find(child, key, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(i.to_string());
                find(child, key, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The keys of each entry of the CSR list `unit` wrote, as the CA's leader sees it.
fn csr_entry_keys(m: &TestModel, unit: &str) -> Vec<Vec<String>> {
    let seen: Value = serde_json::from_str(&m.ok(&["show-unit", "ca/0", "--json"])).expect("JSON");
    let mut found = Vec::new();
    find(
        &seen,
        "certificate_signing_requests",
        &mut Vec::new(),
        &mut found,
    );
    let (_, value) = found
        .iter()
        .find(|(path, _)| path.contains(unit))
        .unwrap_or_else(|| panic!("no CSRs of {unit} in {seen:#}"));
    let list: Vec<Value> =
        serde_json::from_str(value.as_str().expect("a string value")).expect("JSON list");
    list.iter()
        .map(|e| e.as_object().expect("entry").keys().cloned().collect())
        .collect()
}

/// The labels of the secrets a unit owns, the CSR digest at the end of certificate labels
/// replaced by `<sha256>`.
fn secret_labels(m: &TestModel, unit: &str) -> Vec<String> {
    let secrets: Value = serde_json::from_str(&m.ok(&["secrets", "--json"])).expect("JSON");
    // The store names a unit owner as Juju's tag (`units/app-0`) or by name (`app/0`).
    let owners = [unit.to_owned(), format!("units/{}", unit.replace('/', "-"))];
    let mut labels: Vec<String> = secrets
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| {
            owners
                .iter()
                .any(|o| s["owner"].as_str() == Some(o.as_str()))
        })
        .filter_map(|s| s["label"].as_str())
        .map(|l| match l.rsplit_once('-') {
            Some((head, tail)) if tail.len() == 64 => format!("{head}-<sha256>"),
            _ => l.to_owned(),
        })
        .collect();
    labels.sort();
    labels
}

#[test]
fn the_python_charm_and_its_rust_port_behave_the_same() {
    let m = TestModel::new("migration");
    let ca = m.rust_charm("self-signed-certificates");
    let py = m.example_python_charm("hello-tls-py");
    let rs = m.rust_charm("hello-tls");
    m.deploy(&ca, &["ca"]);
    m.deploy(&py, &["hello-py", "-n", "2"]);
    m.deploy(&rs, &["hello-rs", "-n", "2"]);
    for (p, r) in [("hello-py/0", "hello-rs/0"), ("hello-py/1", "hello-rs/1")] {
        assert_eq!(m.unit_status(p), m.unit_status(r), "before the relation");
        assert_eq!(m.unit_status(r).1, "waiting for a certificate");
        let (a, b) = (
            m.action(p, "get-certificate", &[]),
            m.action(r, "get-certificate", &[]),
        );
        assert_eq!((&a["status"], &a["message"]), (&b["status"], &b["message"]));
    }
    for app in ["hello-py", "hello-rs"] {
        m.ok(&[
            "integrate",
            &format!("{app}:certificates"),
            "ca:certificates",
        ]);
    }
    for (p, r) in [("hello-py/0", "hello-rs/0"), ("hello-py/1", "hello-rs/1")] {
        let status = m.unit_status(r);
        assert_eq!(m.unit_status(p), status, "{p} and {r}");
        assert_eq!(status.0, "active", "{status:?}");
        assert!(status.1.starts_with("certificate for hello-"), "{status:?}");

        assert_eq!(csr_entry_keys(&m, p), csr_entry_keys(&m, r), "bag shapes");
        let labels = secret_labels(&m, r);
        assert_eq!(secret_labels(&m, p), labels, "secret labels");
        assert_eq!(
            labels.len(),
            2,
            "a key and a certificate: {labels:?}\n{}",
            m.ok(&["secrets", "--json"])
        );

        let (a, b) = (
            m.completed(p, "get-certificate", &[]),
            m.completed(r, "get-certificate", &[]),
        );
        let keys = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v["results"]
                .as_object()
                .expect("results")
                .keys()
                .cloned()
                .collect();
            k.sort();
            k
        };
        assert_eq!(keys(&a), keys(&b), "action result keys");
        for v in [&a, &b] {
            let r = &v["results"];
            let chain = r["chain"].as_str().expect("chain");
            assert!(chain.starts_with(r["certificate"].as_str().expect("certificate")));
            assert!(chain.contains("\n\n-----BEGIN CERTIFICATE-----"), "{chain}");
            m.verify_pem(
                p,
                r["certificate"].as_str().expect("certificate"),
                r["ca"].as_str().expect("ca"),
                &[],
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
