//! `manual-tls-certificates` under the local model: a person lists the outstanding requests,
//! signs them offline (with the `openssl` CLI, or `juju-tls pki sign-requests`) and provides
//! them; our Rust requirer and the Python one on the published library accept them. Followers
//! refuse both actions; `trust_certificate` carries exactly the configured bundle to the PyPI v1
//! requirer.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::interop_pypi::Interop;
use crate::support::openssl::{run_in, verify_files};
use crate::support::{TestModel, text};

const MANUAL: &str = "manual-tls-certificates";

/// `get-outstanding-certificate-requests` on `unit`: the `(csr, relation_id)` list.
fn outstanding(m: &TestModel, unit: &str) -> Vec<(String, i64)> {
    let run = m.completed(unit, "get-outstanding-certificate-requests", &[]);
    let list: Vec<Value> =
        serde_json::from_str(run["results"]["result"].as_str().expect("result")).expect("JSON");
    list.iter()
        .map(|e| {
            (
                e["csr"].as_str().expect("csr").to_owned(),
                e["relation_id"].as_i64().expect("relation_id"),
            )
        })
        .collect()
}

/// An offline CA made with openssl in `dir` (`ca.pem`, `ca.key`).
fn openssl_ca(dir: &Path) {
    let (ok, out) = run_in(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-subj",
            "/CN=Offline Root/O=Example",
            "-days",
            "365",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            "ca.pem",
        ],
    );
    assert!(ok, "openssl req -x509: {out}");
}

/// Signs `csr` with the CA of `dir` as a person would (`openssl x509 -req`, SANs copied from the
/// request); returns the certificate PEM. Model time is real time until the clock is advanced.
fn openssl_sign(dir: &Path, name: &str, csr: &str) -> String {
    std::fs::write(dir.join(format!("{name}.csr")), csr).expect("write csr");
    std::fs::write(
        dir.join("leaf.cnf"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth,clientAuth\nsubjectKeyIdentifier=hash\n\
         authorityKeyIdentifier=keyid\n",
    )
    .expect("write cnf");
    let (csr_file, cert_file) = (format!("{name}.csr"), format!("{name}.pem"));
    let (ok, out) = run_in(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr_file,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "30",
            "-copy_extensions",
            "copy",
            "-extfile",
            "leaf.cnf",
            "-out",
            &cert_file,
        ],
    );
    assert!(ok, "openssl x509 -req: {out}");
    std::fs::read_to_string(dir.join(cert_file)).expect("certificate")
}

fn b64(text: &str) -> String {
    STANDARD.encode(text)
}

/// `provide-certificate` on `unit` with key=value parameters.
fn provide(m: &TestModel, unit: &str, csr: &str, cert: &str, ca: &str, relation: i64) -> Value {
    m.action(
        unit,
        "provide-certificate",
        &[
            &format!("certificate-signing-request={}", b64(csr)),
            &format!("certificate={}", b64(cert)),
            &format!("ca-certificate={}", b64(ca)),
            &format!("relation-id={relation}"),
        ],
    )
}

/// The common name of a PEM CSR (openssl's view).
fn csr_subject(dir: &Path, csr: &str) -> String {
    std::fs::write(dir.join("probe.csr"), csr).expect("write");
    let (ok, out) = run_in(dir, &["req", "-noout", "-subject", "-in", "probe.csr"]);
    assert!(ok, "{out}");
    out
}

#[test]
fn certificates_signed_offline_with_openssl_reach_the_rust_and_python_requirers() {
    let m = TestModel::new("manual");
    m.deploy(&m.rust_charm(MANUAL), &["manual"]);
    m.deploy(&m.rust_charm("cert-requirer"), &["web"]);
    m.deploy(
        &m.interop_charm("tls-requirer"),
        &["pyreq", "--config", "mode=unit", "--config", "count=1"],
    );
    m.ok(&["integrate", "web:certificates", "manual:certificates"]);
    m.ok(&["integrate", "pyreq:certificates", "manual:certificates"]);
    assert_eq!(
        m.unit_status("manual/0").1,
        "2 outstanding requests, use juju actions to provide certificates"
    );

    let requests = outstanding(&m, "manual/0");
    assert_eq!(requests.len(), 2, "{requests:?}");
    let dir = tempfile::tempdir().expect("temp dir");
    openssl_ca(dir.path());
    let ca = std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca.pem");
    let mut signed = Vec::new();
    for (i, (csr, relation)) in requests.iter().enumerate() {
        let cert = openssl_sign(dir.path(), &format!("leaf{i}"), csr);
        signed.push((csr.clone(), cert, *relation, csr_subject(dir.path(), csr)));
    }
    // Our checks before anything: web's request with pyreq's certificate is refused.
    let (web, py) = match signed[0].3.contains("web-0") {
        true => (&signed[0], &signed[1]),
        false => (&signed[1], &signed[0]),
    };
    let refused = provide(&m, "manual/0", &web.0, &py.1, &ca, web.2);
    assert_eq!(refused["status"], "failed", "{refused:#}");
    assert_eq!(refused["message"], "Certificate and CSR do not match.");
    // The other refusals the published charm has, through the real hook tools.
    let refusals = [
        (
            py.2,
            "Requested relation id is not the correct id of any found CSR's.",
        ),
        (99, "Relation does not exist with the provided id."),
    ];
    for (relation, message) in refusals {
        let run = provide(&m, "manual/0", &web.0, &web.1, &ca, relation);
        assert_eq!(run["message"], message, "{run:#}");
    }
    let run = m.action(
        "manual/0",
        "provide-certificate",
        &[
            "certificate-signing-request=%%%",
            &format!("certificate={}", b64(&web.1)),
            &format!("ca-certificate={}", b64(&ca)),
        ],
    );
    let message = run["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("Action input is not valid."), "{run:#}");
    let stray = openssl_sign(dir.path(), "stray", &{
        let (ok, out) = run_in(
            dir.path(),
            &[
                "req",
                "-new",
                "-key",
                "ca.key",
                "-subj",
                "/CN=nobody",
                "-out",
                "stray.csr",
            ],
        );
        assert!(ok, "{out}");
        std::fs::read_to_string(dir.path().join("stray.csr")).expect("csr")
    });
    let stray_csr = std::fs::read_to_string(dir.path().join("stray.csr")).expect("csr");
    let run = provide(&m, "manual/0", &stray_csr, &stray, &ca, web.2);
    assert_eq!(
        run["message"], "CSR was not found in any requirer databags.",
        "{run:#}"
    );

    for (csr, cert, relation, _) in &signed {
        let run = provide(&m, "manual/0", csr, cert, &ca, *relation);
        assert_eq!(run["status"], "completed", "{run:#}");
        assert_eq!(
            run["results"]["result"],
            "Certificates successfully provided."
        );
    }
    assert!(outstanding(&m, "manual/0").is_empty());
    let status = m.unit_status("manual/0").1;
    assert!(
        status.starts_with("No outstanding requests; soonest expiry 20"),
        "{status}"
    );

    // The Rust requirer took it: its file verifies against the offline CA at model time.
    let (workload, message) = m.unit_status("web/0");
    assert_eq!(workload, "active", "{message}");
    let tls = m.tls_dir("web/0");
    assert_eq!(
        std::fs::read_to_string(tls.join("unit.crt"))
            .expect("unit.crt")
            .trim(),
        web.1.trim()
    );
    verify_files(
        "web/0",
        m.now(),
        None,
        &dir.path().join("ca.pem"),
        None,
        &tls.join("unit.crt"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The Python requirer (PyPI library) holds it, for its key, verifying.
    let held = m.verify_held("pyreq/0", 1);
    assert_eq!(
        held[0]["certificate"].as_str().unwrap_or_default().trim(),
        py.1.trim()
    );
}

#[test]
fn sign_requests_runs_provide_on_the_leader_and_followers_refuse_both_actions() {
    let m = TestModel::new("manual-verb");
    m.deploy(&m.rust_charm(MANUAL), &["manual", "-n", "2"]);
    m.deploy(&m.rust_charm("cert-requirer"), &["web", "-n", "2"]);
    m.ok(&["integrate", "web:certificates", "manual:certificates"]);
    let st = m.status();
    let units: Vec<&Value> = st["applications"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["name"] == "manual")
        .flat_map(|a| a["units"].as_array().into_iter().flatten())
        .collect();
    let leader = units.iter().find(|u| u["leader"] == true).expect("leader");
    let follower = units
        .iter()
        .find(|u| u["leader"] != true)
        .expect("follower");
    let (leader, follower) = (
        leader["name"].as_str().expect("name").to_owned(),
        follower["name"].as_str().expect("name").to_owned(),
    );

    // A follower refuses both actions and says where to run them.
    let run = m.action(&follower, "get-outstanding-certificate-requests", &[]);
    assert_eq!(run["status"], "failed", "{run:#}");
    let message = run["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("not the leader") && message.contains("manual/leader"),
        "{message}"
    );
    let run = m.action(
        &follower,
        "provide-certificate",
        &[
            "certificate-signing-request=eA==",
            "certificate=eA==",
            "ca-certificate=eA==",
        ],
    );
    assert_eq!(run["status"], "failed", "{run:#}");

    // The offline CA with our own verbs; the requests as `run --json` prints them.
    let dir = tempfile::tempdir().expect("temp dir");
    let (key, ca) = (dir.path().join("ca.key"), dir.path().join("ca.pem"));
    m.ok(&[
        "pki",
        "key",
        "--algorithm",
        "p384",
        "--out",
        key.to_str().expect("utf-8"),
    ]);
    m.ok(&[
        "pki",
        "ca",
        "--key",
        key.to_str().expect("utf-8"),
        "--common-name",
        "Offline Root",
        "--validity",
        "365d",
        "--out",
        ca.to_str().expect("utf-8"),
    ]);
    let sign = |round: &str| {
        let requests = dir.path().join(format!("{round}.json"));
        std::fs::write(
            &requests,
            m.ok(&[
                "run",
                &leader,
                "get-outstanding-certificate-requests",
                "--json",
            ]),
        )
        .expect("write");
        let out_dir = dir.path().join(round);
        let args = [
            "pki",
            "sign-requests",
            requests.to_str().expect("utf-8"),
            "--ca",
            ca.to_str().expect("utf-8"),
            "--ca-key",
            key.to_str().expect("utf-8"),
            "--validity",
            "30d",
            "--out",
            out_dir.to_str().expect("utf-8"),
            "--run",
            "manual",
            "-m",
            &m.name,
        ];
        let out = m.run(&args);
        assert!(
            out.status.success(),
            "sign-requests: {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let files = std::fs::read_dir(&out_dir)
            .expect("out dir")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "yaml"))
            })
            .count();
        assert_eq!(files, 2, "one parameter file per request");
        let mut serials = Vec::new();
        for unit in ["web/0", "web/1"] {
            let (workload, message) = m.unit_status(unit);
            assert_eq!(workload, "active", "{unit}: {message}");
            verify_files(
                unit,
                m.now(),
                None,
                &ca,
                None,
                &m.tls_dir(unit).join("unit.crt"),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            serials.push(message);
        }
        assert!(outstanding(&m, &leader).is_empty());
        serials
    };
    let first = sign("first");

    // Renewal: the requirers ask again before expiry; the same verb answers at the model's time.
    m.ok(&["advance", "28d"]);
    assert_eq!(
        outstanding(&m, &leader).len(),
        2,
        "the requirers did not renew"
    );
    let second = sign("renewal");
    for s in &second {
        assert!(!first.contains(s), "not renewed: {first:?} {second:?}");
    }
}

#[test]
fn a_bundle_change_reaches_the_python_v1_requirer_exactly() {
    let m = TestModel::new("manual-trust");
    m.deploy(&m.rust_charm(MANUAL), &["manual"]);
    m.deploy(&m.interop_charm("transfer-v1"), &["v1"]);
    m.ok(&[
        "integrate",
        "v1:receive-ca-cert",
        "manual:trust_certificate",
    ]);
    assert_eq!(
        m.unit_status("manual/0").1,
        "No trusted certificate bundle configured"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let ca = |name: &str| {
        let (key, pem) = (
            dir.path().join(format!("{name}.key")),
            dir.path().join(format!("{name}.pem")),
        );
        m.ok(&[
            "pki",
            "key",
            "--algorithm",
            "p256",
            "--out",
            key.to_str().expect("utf-8"),
        ]);
        m.ok(&[
            "pki",
            "ca",
            "--key",
            key.to_str().expect("utf-8"),
            "--common-name",
            name,
            "--out",
            pem.to_str().expect("utf-8"),
        ]);
        std::fs::read_to_string(pem).expect("pem").trim().to_owned()
    };
    let (a, b) = (ca("Trust A"), ca("Trust B"));
    let received = || {
        let got = m.completed("v1/0", "get-certificates", &[]);
        let mut list: Vec<String> =
            serde_json::from_str(got["results"]["certificates"].as_str().expect("list"))
                .expect("JSON");
        list = list.iter().map(|c| c.trim().to_owned()).collect();
        list.sort();
        list
    };
    m.ok(&[
        "config",
        "manual",
        &format!("trusted-certificate-bundle={a}\n{b}\n"),
    ]);
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(received(), both);
    assert_eq!(m.unit_status("manual/0").1, "No outstanding requests.");

    // A removed from the bundle: the requirer no longer trusts it (upstream only adds).
    m.ok(&[
        "config",
        "manual",
        &format!("trusted-certificate-bundle={b}"),
    ]);
    assert_eq!(received(), vec![b.clone()]);

    m.ok(&["config", "manual", "trusted-certificate-bundle=not a PEM"]);
    assert_eq!(
        m.unit_status("manual/0"),
        (
            "blocked".to_owned(),
            "Invalid trusted certificate bundle configured".to_owned()
        )
    );
    assert_eq!(received(), vec![b]);
}

/// Offline, no model: a request that is not a CSR, and one whose signature does not verify, are
/// refused by number and relation; the good one is signed into a parameter file that decodes to
/// the CSR, a certificate openssl verifies and the CA; exit 1; the CA key is never printed.
#[test]
fn sign_requests_refuses_bad_requests_by_name_and_signs_the_others() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let cmd = |args: &[&str]| {
        crate::support::juju_tls()
            .current_dir(d)
            .args(args)
            .output()
            .expect("juju-tls")
    };
    for args in [
        &["pki", "key", "--algorithm", "p256", "--out", "ca.key"][..],
        &[
            "pki",
            "ca",
            "--key",
            "ca.key",
            "--common-name",
            "Offline Root",
            "--out",
            "ca.pem",
        ],
        &["pki", "key", "--algorithm", "p256", "--out", "app.key"],
        &[
            "pki",
            "csr",
            "--key",
            "app.key",
            "--common-name",
            "app.example",
            "--san",
            "DNS:app.example",
            "--out",
            "app.csr",
        ],
    ] {
        let out = cmd(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    let good = std::fs::read_to_string(d.join("app.csr")).expect("csr");
    // The same CSR with one bit of its signature flipped.
    let block = pki::pem::parse_one(&good, &["CERTIFICATE REQUEST"]).expect("pem");
    let mut der = block.der.clone();
    let last = der.len() - 1;
    der[last] ^= 1;
    let forged = pki::pem::encode("CERTIFICATE REQUEST", &der);
    let list = serde_json::json!([
        {"csr": "not a CSR", "relation_id": 7},
        {"csr": good.trim(), "relation_id": 8},
        {"csr": forged.trim(), "relation_id": 9},
    ]);
    std::fs::write(d.join("requests.json"), list.to_string()).expect("write");
    let out = cmd(&[
        "pki",
        "sign-requests",
        "requests.json",
        "--ca",
        "ca.pem",
        "--ca-key",
        "ca.key",
        "--out",
        "signed",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("refused: request 1 (relation 7"),
        "{stderr}"
    );
    assert!(
        stderr.contains("refused: request 3 (relation 9") && stderr.contains("signature"),
        "{stderr}"
    );
    assert!(stderr.contains("2 of 3 request(s) failed"), "{stderr}");
    let key = std::fs::read_to_string(d.join("ca.key")).expect("key");
    let key_body = key.lines().nth(1).expect("key body");
    assert!(
        !stdout.contains(key_body) && !stderr.contains(key_body),
        "the CA key was printed"
    );

    let mut files: Vec<String> = std::fs::read_dir(d.join("signed"))
        .expect("out dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "02-app.example-relation-8.pem",
            "02-app.example-relation-8.yaml"
        ]
    );
    let params: Value = serde_norway::from_str(
        &std::fs::read_to_string(d.join("signed/02-app.example-relation-8.yaml")).expect("yaml"),
    )
    .expect("YAML");
    let decoded = |k: &str| {
        String::from_utf8(
            STANDARD
                .decode(params[k].as_str().expect(k))
                .expect("base64"),
        )
        .expect("utf-8")
    };
    assert_eq!(decoded("certificate-signing-request").trim(), good.trim());
    assert_eq!(
        decoded("ca-certificate"),
        std::fs::read_to_string(d.join("ca.pem")).expect("ca")
    );
    assert_eq!(params["relation-id"], 8);
    let cert = decoded("certificate");
    assert!(decoded("ca-chain").starts_with(&cert));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let ca = std::fs::read_to_string(d.join("ca.pem")).expect("ca");
    crate::support::openssl::verify_pem("signed", now, None, &ca, &[], &cert)
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Offline, no model: signing with an intermediate, `--chain` (its root) makes the chain leaf,
/// intermediate, root and the root `ca-certificate`; openssl verifies the leaf from the root
/// with the intermediate untrusted.
#[test]
fn sign_requests_with_an_intermediate_sends_the_chain_up_to_the_root() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let cmd = |args: &[&str]| {
        let out = crate::support::juju_tls()
            .current_dir(d)
            .args(args)
            .output()
            .expect("juju-tls");
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    cmd(&["pki", "key", "--algorithm", "p256", "--out", "root.key"]);
    cmd(&[
        "pki",
        "ca",
        "--key",
        "root.key",
        "--common-name",
        "Root",
        "--out",
        "root.pem",
    ]);
    cmd(&["pki", "key", "--algorithm", "p256", "--out", "inter.key"]);
    cmd(&[
        "pki",
        "csr",
        "--key",
        "inter.key",
        "--common-name",
        "Inter",
        "--no-unique-id",
        "--out",
        "inter.csr",
    ]);
    cmd(&[
        "pki",
        "sign",
        "--ca",
        "root.pem",
        "--ca-key",
        "root.key",
        "--csr",
        "inter.csr",
        "--as-ca",
        "--path-len",
        "0",
        "--validity",
        "180d",
        "--out",
        "inter.pem",
    ]);
    cmd(&["pki", "key", "--algorithm", "p256", "--out", "app.key"]);
    cmd(&[
        "pki",
        "csr",
        "--key",
        "app.key",
        "--common-name",
        "app",
        "--san",
        "DNS:app",
        "--out",
        "app.csr",
    ]);
    let csr = std::fs::read_to_string(d.join("app.csr")).expect("csr");
    let list = serde_json::json!([{"csr": csr.trim(), "relation_id": 4}]);
    std::fs::write(d.join("requests.json"), list.to_string()).expect("write");
    let json = cmd(&[
        "pki",
        "sign-requests",
        "requests.json",
        "--ca",
        "inter.pem",
        "--ca-key",
        "inter.key",
        "--chain",
        "root.pem",
        "--out",
        "signed",
        "--json",
    ]);
    let report: Value = serde_json::from_str(&json).expect("JSON report");
    assert_eq!(report["failed"], 0, "{report:#}");
    let file = report["requests"][0]["params_file"]
        .as_str()
        .expect("params_file");
    let params: Value =
        serde_norway::from_str(&std::fs::read_to_string(d.join(file)).expect("yaml"))
            .expect("YAML");
    let decoded = |k: &str| {
        String::from_utf8(
            STANDARD
                .decode(params[k].as_str().expect(k))
                .expect("base64"),
        )
        .expect("utf-8")
    };
    let (root, inter) = (
        std::fs::read_to_string(d.join("root.pem")).expect("root"),
        std::fs::read_to_string(d.join("inter.pem")).expect("inter"),
    );
    let cert = decoded("certificate");
    assert_eq!(decoded("ca-certificate"), root);
    assert_eq!(decoded("ca-chain"), format!("{cert}{inter}{root}"));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    crate::support::openssl::verify_pem(
        "leaf via intermediate",
        now,
        None,
        &root,
        &[&inter],
        &cert,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Issuers out of order are refused before anything is signed.
    let out = crate::support::juju_tls()
        .current_dir(d)
        .args([
            "pki",
            "sign-requests",
            "requests.json",
            "--ca",
            "root.pem",
            "--ca-key",
            "root.key",
            "--chain",
            "inter.pem",
            "--out",
            "wrong",
        ])
        .output()
        .expect("juju-tls");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--chain"),
        "{}",
        text(&out.stderr)
    );
}
