//! What a requirer may ask: caps per hook and relation, key rules; a flood is refused naming
//! each cap while an honest requirer is served.

use super::*;

/// CSRs with distinct subjects from a few keys (a flooder needs no more).
fn flood_csrs(n: usize, prefix: &str) -> Vec<String> {
    let keys: Vec<PrivateKey> = (0..4)
        .map(|_| PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap())
        .collect();
    (0..n)
        .map(|i| {
            let cn = format!("{prefix}-{i}.flood.example");
            let mut a = RequestAttributes::new(&cn);
            a.sans.push_str(&format!("DNS:{cn}")).unwrap();
            a.to_csr(&keys[i % keys.len()]).unwrap().pem().to_owned()
        })
        .collect()
}

fn csr_bag(pems: &[String]) -> Databag {
    let list: Vec<Value> = pems
        .iter()
        .map(|p| json!({"certificate_signing_request": p, "ca": false}))
        .collect();
    Databag::from([(
        "certificate_signing_requests".to_owned(),
        serde_json::to_string(&list).unwrap(),
    )])
}

fn csr_with_sans(cn: &str, n: usize) -> String {
    let mut a = RequestAttributes::new(cn);
    for i in 0..n {
        a.sans.push_str(&format!("DNS:h{i}.x")).unwrap();
    }
    a.to_csr(&PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap())
        .unwrap()
        .pem()
        .to_owned()
}

fn error_for<'a>(errors: &'a [Value], pem: &str) -> Option<&'a Value> {
    errors
        .iter()
        .find(|e| e["csr"].as_str().map(str::trim) == Some(pem.trim()))
}

/// One requirer floods (1,200 CSRs in one bag, an oversized value, a 20,000-SAN CSR, a CSR over
/// the SAN cap), another asks honestly on its own relation: every flood request gets an error
/// naming the cap or the limit it hit, the honest one gets its certificates in the same hook,
/// and the next hooks answer nothing again (no new events, no warnings, the bags unchanged).

#[test]
fn a_flood_is_refused_naming_each_cap_while_an_honest_requirer_is_served() {
    let many = flood_csrs(1_200, "bag");
    let oversized = flood_csrs(3, "big");
    let mut big_value = csr_bag(&oversized);
    // Padding makes the value exceed the (lowered) value cap; the CSRs in it are still found.
    let padded = big_value["certificate_signing_requests"].replace(
        "[{",
        &format!("[{{\"pad\": \"{}\", ", "x".repeat(1_100_000)),
    );
    big_value.insert("certificate_signing_requests".into(), padded);
    let huge = csr_with_sans("huge.example", 20_000);
    let wide = csr_with_sans("wide.example", 1_001);
    assert!(
        wide.len() < 64 * 1024,
        "the SAN-cap CSR must pass the size cap"
    );

    let mut s = state(
        true,
        &[
            // Answered in unit order: the SAN-cap CSR comes before the limit is reached.
            ("req/0", csr_bag(&[huge.clone(), wide.clone()])),
            ("req/1", big_value),
            ("req/2", csr_bag(&many)),
        ],
    );
    s.config
        .insert("max-databag-value-bytes".into(), json!(1_000_000));
    s.config.insert("ca-key-algorithm".into(), json!("p256"));
    let honest_a = csr("a.honest.example");
    let honest_b = csr("b.honest.example");
    let mut honest = Relation::new(
        "certificates".parse().unwrap(),
        3,
        "honest".parse().unwrap(),
    )
    .without_remote_units();
    for (u, c) in [("honest/0", &honest_a), ("honest/1", &honest_b)] {
        honest = honest.with_remote_unit(u.parse().unwrap(), bag(&[(c, false)]));
    }
    s = s.with_relation(honest);

    let started = std::time::Instant::now();
    let out = run(Event::UpdateStatus, s);
    let first_hook = started.elapsed();
    let honest_certs: Vec<Value> =
        serde_json::from_str(&out.relation(3).unwrap().local_app_data["certificates"]).unwrap();
    assert_eq!(honest_certs.len(), 2, "the honest requirer is served");

    let errs = errors(&out);
    let message = |pem: &str| -> String {
        error_for(&errs, pem)
            .unwrap_or_else(|| panic!("no error for a flood CSR"))["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // The per-relation certificate limit (99 by default) and the per-bag request cap (1,000).
    assert_eq!(certificates(&out).len(), 99);
    assert!(message(&many[500]).contains("certificate-limit"));
    let over_cap = message(&many[1_100]);
    assert!(
        over_cap.contains("max-requests-per-bag") && over_cap.contains("1200"),
        "{over_cap}"
    );
    let value_cap = message(&oversized[0]);
    assert!(value_cap.contains("max-databag-value-bytes"), "{value_cap}");
    let size_cap = message(&huge);
    assert!(size_cap.contains("max-csr-bytes"), "{size_cap}");
    let san_cap = message(&wide);
    assert!(
        san_cap.contains("max-sans-per-csr") && san_cap.contains("1001"),
        "{san_cap}"
    );
    for e in &errs {
        assert_eq!(e["error"]["code"], 999);
    }
    // One line per event up to 10, then a summary with counts.
    let security: Vec<&String> = out
        .logs
        .iter()
        .map(|(_, l)| l)
        .filter(|l| l.contains("\"appid\""))
        .collect();
    let lines: usize = security.iter().map(|l| l.lines().count()).sum();
    assert_eq!(lines, 11, "{security:?}");
    assert!(
        security
            .iter()
            .any(|l| l.contains("security_events_summarized"))
    );
    eprintln!("flood hook: {first_hook:?}");

    // The next hook answers nothing again: no events, no warnings, nothing written.
    let mut next = out.clone();
    next.logs.clear();
    let started = std::time::Instant::now();
    let again = run(Event::UpdateStatus, next);
    let steady = started.elapsed();
    eprintln!("steady hook under the flood: {steady:?}");
    assert_eq!(
        again.relation(CERTS).unwrap().local_app_data,
        out.relation(CERTS).unwrap().local_app_data
    );
    assert!(
        !again
            .logs
            .iter()
            .any(|(_, l)| l.contains("certificate_denied")
                || l.contains("skipping bad relation data")),
        "answered again: {:?}",
        again.logs
    );

    // Freed room under the limit: the next over-limit request is issued.
    let mut freed = again.clone();
    let rel = certs_relation_mut(&mut freed);
    let flooder: charm::UnitName = "req/2".parse().unwrap();
    rel.remote_units.insert(flooder, csr_bag(&many[1..]));
    let after = run(Event::UpdateStatus, freed);
    assert_eq!(certificates(&after).len(), 99);
    assert!(
        error_for(&errors(&after), &many[99]).is_none(),
        "the next in line is served"
    );
    assert!(
        certificates(&after)
            .iter()
            .any(|c| c["certificate_signing_request"].as_str().map(str::trim)
                == Some(many[99].trim()))
    );
}

/// Weak keys are refused by the issuing policy with an error naming the rule (the pki part of
/// issue 12: RSA below 2048 bits, SHA-1 signatures).
#[test]
fn weak_key_requests_get_an_error_naming_the_key_rule() {
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str, args: &[&str]| -> String {
        let out = dir.path().join(name);
        let status = Command::new("openssl")
            .args([
                "req",
                "-new",
                "-nodes",
                "-subj",
                &format!("/CN={name}.example"),
                "-keyout",
            ])
            .arg(dir.path().join(format!("{name}.key")))
            .args(args)
            .arg("-out")
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read_to_string(out).unwrap()
    };
    let rsa1024 = make("rsa1024", &["-newkey", "rsa:1024", "-sha256"]);
    let sha1 = make("sha1", &["-newkey", "rsa:2048", "-sha1"]);
    let out = run(
        Event::UpdateStatus,
        state(
            true,
            &[("req/0", csr_bag(&[rsa1024.clone(), sha1.clone()]))],
        ),
    );
    assert!(
        certificates(&out).is_empty(),
        "a weak key got a certificate"
    );
    let errs = errors(&out);
    let m1 = error_for(&errs, &rsa1024).unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    let m2 = error_for(&errs, &sha1).unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(m1.contains("2048"), "{m1}");
    assert!(
        m2.to_lowercase().contains("sha-1") || m2.to_lowercase().contains("sha1"),
        "{m2}"
    );
}
