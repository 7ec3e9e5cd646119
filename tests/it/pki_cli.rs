//! The `juju-tls pki` verbs, driven as a user would, judged by `openssl`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::{juju_tls, openssl, success};

/// `juju-tls ARGS` in `dir`.
fn run(dir: &Path, args: &[&str]) -> Output {
    juju_tls()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("running juju-tls")
}

/// Runs and asserts success; returns stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    success(&format!("juju-tls {args:?}"), &run(dir, args))
}

/// `pki key --algorithm p256` to `STEM.key`, then a self-signed CA `STEM.pem` named `cn`.
fn p256_ca(dir: &Path, stem: &str, cn: &str) {
    let (key, pem) = (format!("{stem}.key"), format!("{stem}.pem"));
    ok(dir, &["pki", "key", "--algorithm", "p256", "--out", &key]);
    ok(
        dir,
        &[
            "pki",
            "ca",
            "--key",
            &key,
            "--common-name",
            cn,
            "--out",
            &pem,
        ],
    );
}

/// `pki key --algorithm p256` to `STEM.key`, then a CSR `STEM.csr` for `cn` and `extra` flags.
fn p256_csr(dir: &Path, stem: &str, cn: &str, extra: &[&str]) {
    let (key, csr) = (format!("{stem}.key"), format!("{stem}.csr"));
    ok(dir, &["pki", "key", "--algorithm", "p256", "--out", &key]);
    let mut args = vec!["pki", "csr", "--key", &key, "--common-name", cn];
    args.extend_from_slice(extra);
    args.extend(["--out", &csr]);
    ok(dir, &args);
}

/// `openssl` with the words of `command` (no word has a space) in `dir`.
fn openssl_words(dir: &Path, command: &str) -> (bool, String) {
    openssl::run_in(dir, &command.split_whitespace().collect::<Vec<_>>())
}

/// [`run`] with the words of `command` (no word has a space).
fn run_words(dir: &Path, command: &str) -> Output {
    run(dir, &command.split_whitespace().collect::<Vec<_>>())
}

/// [`ok`] with the words of `command` (no word has a space).
fn ok_words(dir: &Path, command: &str) -> String {
    ok(dir, &command.split_whitespace().collect::<Vec<_>>())
}

#[test]
fn root_intermediate_leaf_walk_is_accepted_by_openssl() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok_words(d, "pki key --algorithm rsa2048 --out root.key");
    let mode = std::fs::metadata(d.join("root.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "private keys are written with mode 0600");
    ok(
        d,
        &[
            "pki",
            "ca",
            "--key",
            "root.key",
            "--common-name",
            "CLI Root",
            "--organization",
            "Example",
            "--validity",
            "30d",
            "--out",
            "root.pem",
        ],
    );
    ok_words(d, "pki key --algorithm p256 --out int.key");
    ok(
        d,
        &[
            "pki",
            "csr",
            "--key",
            "int.key",
            "--common-name",
            "CLI Intermediate",
            "--no-unique-id",
            "--out",
            "int.csr",
        ],
    );
    ok_words(
        d,
        "pki sign --ca root.pem --ca-key root.key --csr int.csr --as-ca --path-len 0 --out int.pem",
    );
    ok_words(d, "pki key --algorithm ed25519 --out app.key");
    ok_words(
        d,
        "pki csr --key app.key --common-name app.example --san DNS:app.example --san IP:127.0.0.1 --out app.csr",
    );
    ok_words(
        d,
        "pki sign --ca int.pem --ca-key int.key --csr app.csr --validity 7d --out app.pem",
    );

    let (good, text) = openssl_words(
        d,
        "verify -x509_strict -CAfile root.pem -untrusted int.pem app.pem",
    );
    assert!(good, "{text}");
    let out = ok_words(d, "pki verify --ca root.pem --untrusted int.pem app.pem");
    assert!(out.contains("OK"), "{out}");
    // Without the intermediate, and far in the future, verification fails with a reason.
    let out = run_words(d, "pki verify --ca root.pem app.pem");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("no issuer found"));
    let out = run_words(
        d,
        "pki verify --ca root.pem --untrusted int.pem --at 2040-01-01T00:00:00Z app.pem",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("is not valid at 2040-01-01T00:00:00Z"));

    let json: serde_json::Value =
        serde_json::from_str(&ok_words(d, "pki inspect app.pem --json")).unwrap();
    assert_eq!(json["type"], "certificate");
    assert_eq!(json["is_ca"], false);
    assert_eq!(
        json["sans"],
        serde_json::json!(["DNS:app.example", "IP:127.0.0.1"])
    );
    assert_eq!(json["key_algorithm"], "Ed25519");
    let json: serde_json::Value =
        serde_json::from_str(&ok_words(d, "pki inspect int.pem --json")).unwrap();
    assert_eq!(json["is_ca"], true);
    assert_eq!(json["path_len"], 0);
}

#[test]
fn refusals_exit_non_zero_and_say_why() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    p256_ca(d, "ca", "Refusing CA");
    p256_csr(d, "app", "app", &[]);

    // A tampered CSR: one character of the base64 body changed.
    let csr = std::fs::read_to_string(d.join("app.csr")).unwrap();
    let mut lines: Vec<String> = csr.lines().map(str::to_owned).collect();
    let line = &mut lines[2];
    let flipped = if line.starts_with('A') { "B" } else { "A" };
    line.replace_range(0..1, flipped);
    std::fs::write(d.join("bad.csr"), lines.join("\n")).unwrap();
    let out = run_words(
        d,
        "pki sign --ca ca.pem --ca-key ca.key --csr bad.csr --out bad.pem",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing bad.csr"), "{err}");
    assert!(!d.join("bad.pem").exists());

    // A CA key that is not the CA certificate's.
    let out = run_words(
        d,
        "pki sign --ca ca.pem --ca-key app.key --csr app.csr --out x.pem",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match"));

    // Bad validity syntax is refused by the argument parser with the accepted syntax.
    let out = run_words(
        d,
        "pki ca --key ca.key --common-name x --validity 1y --out y.pem",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("m, h, d or w"));
}

/// `.cargo/config.toml` builds aws-lc without CPU jitter entropy (it cost ~27 ms in every new
/// process, so in every hook): its collector must not be in the binary.
#[test]
fn aws_lc_is_built_without_cpu_jitter_entropy() {
    let out = Command::new("nm")
        .arg(env!("CARGO_BIN_EXE_juju-tls"))
        .output()
        .expect("nm (binutils; ./scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let symbols = String::from_utf8_lossy(&out.stdout);
    assert!(
        symbols.contains("aws_lc_"),
        "no aws-lc symbols: the check below would prove nothing"
    );
    assert!(
        !symbols.contains("jent_entropy_collector_alloc"),
        "aws-lc was built with CPU jitter entropy: is AWS_LC_SYS_NO_JITTER_ENTROPY set (.cargo/config.toml)?"
    );
}

#[test]
fn one_crypto_stack_ring_is_not_linked() {
    let out = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "--workspace",
            "--target",
            "all",
            "-e",
            "normal,build,dev",
            "-i",
            "ring",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.trim().is_empty(),
        "ring is in the dependency graph:\n{stdout}"
    );
}

#[test]
fn weak_keys_and_hashes_are_refused_by_sign_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    p256_ca(d, "ca", "Strict CA");
    for (name, bits, hash, reason) in [
        (
            "rsa1024",
            "1024",
            "-sha1",
            "RSA-1024 key: the minimum is 2048 bits",
        ),
        (
            "rsa1024-sha256",
            "1024",
            "-sha256",
            "RSA-1024 key: the minimum is 2048 bits",
        ),
        ("sha1", "2048", "-sha1", "CSR signed with SHA-1: "),
    ] {
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let (good, text) = openssl::run_in(
            d,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                &format!("rsa_keygen_bits:{bits}"),
                "-out",
                &key,
            ],
        );
        assert!(good, "{text}");
        let (good, text) = openssl::run_in(
            d,
            &[
                "req", "-new", "-key", &key, "-subj", "/CN=weak", hash, "-out", &csr,
            ],
        );
        assert!(good, "{text}");
        let out = run(
            d,
            &[
                "pki", "sign", "--ca", "ca.pem", "--ca-key", "ca.key", "--csr", &csr, "--out",
                "weak.pem",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(reason), "{name}: {err}");
        assert!(!err.contains("does not verify"), "{name}: {err}");
        assert!(!d.join("weak.pem").exists());
    }
}

#[test]
fn out_of_range_validities_are_refused_not_aborted() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    ok_words(d, "pki key --algorithm p256 --out ca.key");
    // Regression: `now + 3000000d` is past year 9999 and aborted the process.
    let out = run_words(
        d,
        "pki ca --key ca.key --common-name x --validity 3000000d --out ca.pem",
    );
    assert_eq!(out.status.code(), Some(2), "a usage error, not a panic");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'3000000d' is too long: at most 365250d"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!d.join("ca.pem").exists());
}

#[test]
fn verify_judges_the_purpose_with_webpki_and_says_who_judged() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    p256_ca(d, "root", "Purpose Root");
    p256_csr(d, "app", "app", &["--san", "DNS:app"]);
    ok_words(
        d,
        "pki sign --ca root.pem --ca-key root.key --csr app.csr --out app.pem",
    );
    for purpose in ["server", "client", "any"] {
        let out = ok(
            d,
            &[
                "pki",
                "verify",
                "--ca",
                "root.pem",
                "--purpose",
                purpose,
                "app.pem",
            ],
        );
        assert!(
            out.contains(&format!("OK (rustls-webpki, {purpose} usage)")),
            "{out}"
        );
    }
    // A client-only certificate made by openssl: refused as a server, accepted as a client.
    std::fs::write(
        d.join("client.ext"),
        "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    let (good, text) = openssl_words(
        d,
        "x509 -req -in app.csr -CA root.pem -CAkey root.key -days 2 -extfile client.ext -out client.pem",
    );
    assert!(good, "{text}");
    let out = run_words(d, "pki verify --ca root.pem --purpose server client.pem");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAILED") && stdout.contains("not allowed for server authentication"),
        "{stdout}"
    );
    ok_words(d, "pki verify --ca root.pem --purpose client client.pem");
    // The root as the certificate to verify: our own walk, and it says so.
    let out = ok_words(d, "pki verify --ca root.pem root.pem");
    assert!(
        out.contains("own walk") && out.contains("name constraints not checked"),
        "{out}"
    );
    let out = run_words(d, "pki verify --ca root.pem --purpose email app.pem");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected server, client or any"));
}

/// Inspection is not issuance: a CSR the key policy refuses (RSA-1024 signed with SHA-1) is shown
/// with its fields, each refusal with its reason, and its signature checked anyway.
#[test]
fn inspect_shows_a_refused_csr_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let (good, text) = openssl::run_in(
        d,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:1024",
            "-nodes",
            "-keyout",
            "weak.key",
            "-sha1",
            "-subj",
            "/CN=weak.example/O=Old Shop",
            "-addext",
            "subjectAltName=DNS:weak.example",
            "-out",
            "weak.csr",
        ],
    );
    assert!(good, "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&ok_words(d, "pki inspect weak.csr --json")).unwrap();
    assert_eq!(v["type"], "certificate signing request");
    assert_eq!(v["subject"], "CN=weak.example, O=Old Shop");
    assert_eq!(v["sans"], serde_json::json!(["DNS:weak.example"]));
    assert_eq!(v["key_algorithm"], "RSA-1024");
    assert_eq!(v["signature_algorithm"], "sha1WithRSAEncryption");
    assert_eq!(v["signature"], "verified", "{v:#}");
    assert!(v["key_policy"].as_str().unwrap().starts_with("refused"));
    let reasons: Vec<&str> = v["refused_because"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r.as_str())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!(reasons[0], "RSA-1024 key: the minimum is 2048 bits");
    assert!(
        reasons[1].starts_with("CSR signed with SHA-1: "),
        "{reasons:?}"
    );

    // The text form says the same, one reason per line.
    let text = ok_words(d, "pki inspect weak.csr");
    assert!(
        text.contains("RSA-1024 key: the minimum is 2048 bits\n"),
        "{text}"
    );
    assert!(text.contains("CSR signed with SHA-1"), "{text}");

    // A CSR the policy accepts says so, with nothing refused.
    let (good, text) = openssl_words(
        d,
        "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ok.key \
         -subj /CN=ok.example -out ok.csr",
    );
    assert!(good, "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&ok_words(d, "pki inspect ok.csr --json")).unwrap();
    assert_eq!(v["key_policy"], "accepted");
    assert_eq!(v["signature"], "verified");
    assert_eq!(v["refused_because"], serde_json::json!([]));
}
