//! The charm under the SDK's in-memory harness: every hook it gets, every action, every bad config.

use std::process::Command;

// The root tests' openssl judge (this crate cannot depend on the root package).
#[path = "../../../tests/it/support/openssl.rs"]
mod openssl;

use charm::event::{ActionEvent, RelationEvent, SecretEvent};
use charm::testing::{Context, Relation, SecretOwnerEntity, State};
use charm::{Databag, Event, RelationId};
use pki::{Certificate, Csr, KeyAlgorithm, PrivateKey, RequestAttributes};
use self_signed_certificates::SelfSignedCertificates;
use self_signed_certificates::authority::ACTIVE_LABEL;
use serde_json::{Value, json};

const CERTS: u32 = 1;
const TRANSFER: u32 = 2;

fn ctx() -> Context<SelfSignedCertificates> {
    Context::from_charmcraft_yaml(include_str!("../charmcraft.yaml"), || {
        SelfSignedCertificates
    })
    .unwrap()
}

/// One hook of the charm under the harness.
fn run(event: Event, s: State) -> State {
    ctx().run(event, s).unwrap()
}

/// The leader with one requirer unit, `req/0`, asking for `entries` (CSR, is a CA request).
fn leader_asked(entries: &[(&Csr, bool)]) -> State {
    state(true, &[("req/0", bag(entries))])
}

/// `config-changed` on [`leader_asked`]: the CA made, every entry answered.
fn issue(entries: &[(&Csr, bool)]) -> State {
    run(Event::ConfigChanged, leader_asked(entries))
}

/// [`issue`] of one request with a 20-day CA and 5-day certificates (the CA is due in 15 days).
fn issue_short_lived(request: &Csr) -> State {
    let mut s = leader_asked(&[(request, false)]);
    s.config.insert("root-ca-validity".into(), json!("20d"));
    s.config.insert("certificate-validity".into(), json!("5d"));
    run(Event::ConfigChanged, s)
}

/// The `certificates` relation of `s`, to edit what the charm published.
fn certs_relation_mut(s: &mut State) -> &mut Relation {
    s.relations.iter_mut().find(|r| r.id == CERTS).unwrap()
}

fn csr(cn: &str) -> Csr {
    let mut a = RequestAttributes::new(cn);
    a.sans.push_str(&format!("DNS:{cn}")).unwrap();
    a.to_csr(&PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap())
        .unwrap()
}

fn bag(entries: &[(&Csr, bool)]) -> Databag {
    let list: Vec<Value> = entries
        .iter()
        .map(|(c, ca)| json!({"certificate_signing_request": c.pem(), "ca": ca}))
        .collect();
    Databag::from([(
        "certificate_signing_requests".to_owned(),
        serde_json::to_string(&list).unwrap(),
    )])
}

fn state(leader: bool, units: &[(&str, Databag)]) -> State {
    let mut rel = Relation::new(
        "certificates".parse().unwrap(),
        CERTS,
        "req".parse().unwrap(),
    )
    .without_remote_units();
    for (u, b) in units {
        rel = rel.with_remote_unit(u.parse().unwrap(), b.clone());
    }
    let transfer = Relation::new(
        "send-ca-cert".parse().unwrap(),
        TRANSFER,
        "client".parse().unwrap(),
    )
    .with_remote_app_data(Databag::from([("version".into(), "1".into())]));
    State::new("self-signed-certificates/0".parse().unwrap())
        .with_leader(leader)
        .with_relation(rel)
        .with_relation(transfer)
}

fn certificates(s: &State) -> Vec<Value> {
    s.relation(CERTS)
        .unwrap()
        .local_app_data
        .get("certificates")
        .map(|v| serde_json::from_str(v).unwrap())
        .unwrap_or_default()
}

fn errors(s: &State) -> Vec<Value> {
    s.relation(CERTS)
        .unwrap()
        .local_app_data
        .get("request_errors")
        .map(|v| serde_json::from_str(v).unwrap())
        .unwrap_or_default()
}

fn published_cas(s: &State) -> Vec<String> {
    serde_json::from_str(&s.relation(TRANSFER).unwrap().local_app_data["certificates"]).unwrap()
}

fn ca_pem(s: &State) -> String {
    s.secret_by_label(ACTIVE_LABEL).unwrap().content().unwrap()["ca-certificate"].clone()
}

fn action(name: &str) -> Event {
    Event::Action(ActionEvent {
        name: name.into(),
        id: "1".into(),
    })
}

/// `openssl verify -x509_strict -attime` at the harness clock, with the chain sent.
fn openssl_verify(entry: &Value, at: i64) {
    openssl::verify_pem(
        "issued certificate",
        at,
        None,
        entry["ca"].as_str().unwrap(),
        &[],
        entry["chain"][0].as_str().unwrap(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_leader_creates_the_ca_signs_and_publishes_it() {
    let (a, b) = (csr("a.example"), csr("b.example"));
    let out = run(
        Event::ConfigChanged,
        state(
            true,
            &[
                ("req/0", bag(&[(&a, false)])),
                ("req/1", bag(&[(&b, false)])),
            ],
        ),
    );
    let secret = out.secret_by_label(ACTIVE_LABEL).expect("CA secret");
    assert!(
        matches!(secret.owner, SecretOwnerEntity::App(_)),
        "app-owned"
    );
    assert!(secret.expire.is_some(), "expires at the renewal time");
    let ca = Certificate::from_pem(&ca_pem(&out)).unwrap();
    assert_eq!(
        ca.subject().common_name(),
        Some("self-signed-certificates-operator")
    );
    assert!(
        secret.content().unwrap()["private-key"].contains("BEGIN RSA PRIVATE KEY"),
        "rsa2048 by default"
    );

    let certs = certificates(&out);
    assert_eq!(certs.len(), 2);
    for c in &certs {
        assert_eq!(c["chain"][0], c["certificate"]);
        assert_eq!(c["chain"][1], c["ca"]);
        assert_eq!(c["ca"].as_str().unwrap(), ca_pem(&out));
        openssl_verify(c, out.now);
    }
    assert_eq!(published_cas(&out), vec![ca_pem(&out)]);
    let caps: Value =
        serde_json::from_str(&out.relation(CERTS).unwrap().local_app_data["capabilities"]).unwrap();
    assert_eq!(caps["supports_ca_certificates"], false);
    assert!(
        out.unit_status.message.contains("2 certificates issued"),
        "{:?}",
        out.unit_status
    );

    // Another hook changes nothing.
    let again = run(Event::UpdateStatus, out.clone());
    assert_eq!(certificates(&again), certs);
    assert_eq!(ca_pem(&again), ca_pem(&out));
}

#[test]
fn invalid_config_blocks_naming_each_option_and_loses_nothing() {
    let a = csr("keep.example");
    let good = issue(&[(&a, false)]);
    let before = good.relation(CERTS).unwrap().local_app_data.clone();
    let mut bad = good.clone();
    bad.config
        .insert("certificate-validity".into(), json!("1y"));
    bad.config.insert("ca-country-name".into(), json!("France"));
    bad.config.insert("ca-common-name".into(), json!(""));
    let out = run(Event::ConfigChanged, bad);
    assert_eq!(out.unit_status.kind, charm::StatusKind::Blocked);
    for option in ["certificate-validity", "ca-country-name", "ca-common-name"] {
        assert!(
            out.unit_status.message.contains(option),
            "{}",
            out.unit_status.message
        );
    }
    assert_eq!(
        out.relation(CERTS).unwrap().local_app_data,
        before,
        "nothing issued is lost"
    );
    assert_eq!(ca_pem(&out), ca_pem(&good));
}

#[test]
fn a_ca_field_change_makes_a_new_ca_and_reissues_everything() {
    let a = csr("re.example");
    let first = issue(&[(&a, false)]);
    let old_ca = ca_pem(&first);
    let mut changed = first.clone();
    changed
        .config
        .insert("ca-common-name".into(), json!("New Name CA"));
    let out = run(Event::ConfigChanged, changed);
    let new_ca = ca_pem(&out);
    assert_ne!(new_ca, old_ca);
    let certs = certificates(&out);
    assert_eq!(certs.len(), 1);
    assert_eq!(
        certs[0]["ca"].as_str().unwrap(),
        new_ca,
        "re-issued under the new CA in the same hook"
    );
    assert!(certs[0].get("revoked").is_none());
    // Both CAs are published during the change, then the old one is pruned.
    assert_eq!(published_cas(&out).len(), 2);
    let later = run(Event::UpdateStatus, out);
    assert_eq!(published_cas(&later), vec![new_ca]);
}

#[test]
fn the_ca_is_renewed_before_it_expires_without_revoking() {
    let a = csr("long.example");
    let first = issue_short_lived(&a);
    let old_ca = ca_pem(&first);
    let old_cert = certificates(&first)[0]["certificate"].clone();
    // 16 days later the CA is past root - certificate validity (15 days).
    let mut later = first.clone();
    later.now += 16 * 86_400;
    let secret = later.secret_by_label(ACTIVE_LABEL).unwrap().clone();
    let expired = Event::SecretExpired(SecretEvent {
        id: secret.id().unwrap(),
        label: Some(ACTIVE_LABEL.into()),
        revision: Some(secret.latest()),
    });
    let out = run(expired, later);
    assert_ne!(ca_pem(&out), old_ca, "a new CA");
    let certs = certificates(&out);
    assert_eq!(
        certs[0]["certificate"], old_cert,
        "nothing revoked or re-issued"
    );
    assert!(certs[0].get("revoked").is_none());
    let cas = published_cas(&out);
    assert!(
        cas.contains(&old_ca) && cas.contains(&ca_pem(&out)),
        "old and new both trusted"
    );
}

#[test]
fn ca_requests_need_the_option() {
    let sub = csr("sub.example");
    let out = issue(&[(&sub, true)]);
    assert!(certificates(&out).is_empty());
    let e = errors(&out);
    assert_eq!(e[0]["error"]["code"], 999);
    assert!(
        e[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allow-ca-requests")
    );
    let mut allowed = out.clone();
    allowed
        .config
        .insert("allow-ca-requests".into(), json!(true));
    let out = run(Event::ConfigChanged, allowed);
    let certs = certificates(&out);
    assert!(
        Certificate::from_pem(certs[0]["certificate"].as_str().unwrap())
            .unwrap()
            .info()
            .is_ca
    );
    assert!(errors(&out).is_empty(), "the error is cleared once issued");
}

#[test]
fn the_certificate_limit_is_per_relation() {
    let (a, b) = (csr("one.example"), csr("two.example"));
    let mut s = leader_asked(&[(&a, false), (&b, false)]);
    s.config.insert("certificate-limit".into(), json!(1));
    let out = run(Event::ConfigChanged, s);
    assert_eq!(certificates(&out).len(), 1);
    assert!(
        errors(&out)[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("certificate-limit")
    );
}

#[test]
fn actions_return_what_the_published_charm_returns() {
    let a = csr("act.example");
    let out = issue(&[(&a, false)]);
    let got = run(action("get-ca-certificate"), out.clone());
    assert_eq!(got.action.results["ca-certificate"], ca_pem(&out));

    let got = run(action("get-issued-certificates"), out.clone());
    // The published charm's bytes, computed by Python from the same bag: `str()` of the list
    // of `ProviderCertificate.to_json()` strings.
    let rendered = &got.action.results["certificates"];
    let bag = serde_json::to_string(&certificates(&out)).unwrap();
    let script = "import json,sys\n\
        certs=json.loads(sys.argv[1])\n\
        want=str([json.dumps({'csr': c['certificate_signing_request'], 'certificate': c['certificate'], 'ca': c['ca'], 'chain': c.get('chain', []), 'revoked': c.get('revoked')}) for c in certs if not c.get('revoked')])\n\
        sys.stdout.write('same' if want == sys.argv[2] else 'want ' + want)";
    let py = Command::new("python3")
        .args(["-c", script, &bag, rendered])
        .output()
        .expect("python3");
    assert_eq!(String::from_utf8_lossy(&py.stdout), "same", "{rendered}");
    assert!(rendered.starts_with("['{\"csr\": \"-----BEGIN CERTIFICATE REQUEST-----\\\\n"));

    let rotated = run(action("rotate-private-key"), out.clone());
    assert!(rotated.action.results["result"].contains("New private key"));
    assert_ne!(ca_pem(&rotated), ca_pem(&out));
    assert_eq!(
        certificates(&rotated)[0]["ca"].as_str().unwrap(),
        ca_pem(&rotated),
        "re-issued under the new CA"
    );

    let mut follower = out.clone();
    follower.leader = false;
    let refused = run(action("rotate-private-key"), follower);
    assert_eq!(
        refused.action.failure.as_deref(),
        Some("This action can only be run on the leader unit.")
    );
}

#[test]
fn a_new_leader_continues_with_the_same_ca() {
    let a = csr("lead.example");
    let out = issue(&[(&a, false)]);
    let mut other = leader_asked(&[(&a, false)]);
    other.unit = "self-signed-certificates/1".parse().unwrap();
    other.secrets = out.secrets.clone();
    other.relations = out.relations.clone();
    let next = run(Event::LeaderElected, other);
    assert_eq!(ca_pem(&next), ca_pem(&out));
    assert_eq!(certificates(&next), certificates(&out));
}

#[test]
fn followers_stand_by() {
    let out = run(Event::ConfigChanged, state(false, &[]));
    assert_eq!(out.unit_status.kind, charm::StatusKind::Waiting);
}

#[test]
fn relation_joined_waits_for_the_relation_changed_that_follows_it() {
    // Juju runs a unit's relation-changed right after its relation-joined, with the same bags:
    // the provider reconciles there only (one read of every requirer's bag instead of two).
    let a = csr("joined.example");
    let input = leader_asked(&[(&a, false)]);
    let event = |make: fn(RelationEvent) -> Event| {
        make(RelationEvent {
            relation: RelationId::new("certificates".parse().unwrap(), CERTS),
            remote_app: Some("req".parse().unwrap()),
            remote_unit: Some("req/0".parse().unwrap()),
            departing_unit: None,
        })
    };
    let joined = run(event(Event::RelationJoined), input.clone());
    assert_eq!(joined.relations, input.relations, "joined wrote a bag");
    assert_eq!(joined.secrets, input.secrets, "joined made a CA");
    let changed = run(event(Event::RelationChanged), joined);
    assert_eq!(certificates(&changed).len(), 1, "changed signs the CSR");
}

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

/// Older revisions of the published charm stored chains root-first: such an entry is kept as it
/// is (not re-issued, not rewritten) as long as its request stands.
#[test]
fn a_root_first_chain_from_the_published_charm_is_kept() {
    let a = csr("old.example");
    let out = issue(&[(&a, false)]);
    let mut upstream = out.clone();
    let rel = certs_relation_mut(&mut upstream);
    let mut list: Vec<Value> = serde_json::from_str(&rel.local_app_data["certificates"]).unwrap();
    let chain = list[0]["chain"].as_array().unwrap().clone();
    list[0]["chain"] = json!([chain[1], chain[0]]);
    rel.local_app_data
        .insert("certificates".into(), serde_json::to_string(&list).unwrap());
    let before = certificates(&upstream);
    let next = run(Event::UpgradeCharm, upstream);
    assert_eq!(certificates(&next), before, "re-issued or rewritten");
    assert_eq!(
        certificates(&next)[0]["chain"][0],
        before[0]["ca"],
        "still root-first"
    );
}

/// After a refresh from the published charm that had renewed its CA: the old CA it keeps in
/// `expiring-ca-certificates` stays published while a valid certificate under it is, then it
/// goes and so does that secret (its private key); nothing is revoked or re-issued meanwhile.
#[test]
fn the_published_charms_expiring_ca_is_published_until_nothing_valid_chains_to_it() {
    use charm::testing::Secret;
    use pki::CertificateAuthority;
    use self_signed_certificates::authority::EXPIRING_LABEL;

    let a = csr("old.example");
    let first = issue_short_lived(&a);
    let old_ca = ca_pem(&first);
    let old_cert = certificates(&first)[0]["certificate"].clone();

    // The published charm's renewal, by hand: the active CA moves to the expiring secret, a new
    // CA of the same configuration becomes active.
    let mut upstream = first.clone();
    upstream.now += 3600;
    let active = upstream
        .secrets
        .iter_mut()
        .find(|x| x.label.as_deref() == Some(ACTIVE_LABEL))
        .unwrap();
    let old_content = active.content().unwrap().clone();
    let new_ca = CertificateAuthority::self_signed_root(
        &RequestAttributes::new("self-signed-certificates-operator"),
        PrivateKey::generate(KeyAlgorithm::Rsa2048).unwrap(),
        time::Duration::days(20),
        time::OffsetDateTime::from_unix_timestamp(upstream.now).unwrap(),
    )
    .unwrap();
    let new_pem = new_ca.certificate().pem().trim().to_owned();
    let rev = active.latest() + 1;
    active.revisions.insert(
        rev,
        [
            (
                "private-key".to_owned(),
                new_ca.key().to_traditional_pem().unwrap().to_string(),
            ),
            ("ca-certificate".to_owned(), new_pem.clone()),
        ]
        .into(),
    );
    let upstream = upstream.with_secret(
        Secret::new(
            "d0expiringca0000000",
            SecretOwnerEntity::App("self-signed-certificates".parse().unwrap()),
            old_content,
        )
        .with_label(EXPIRING_LABEL),
    );

    // Refreshed to ours: both CAs published, the secret kept, the certificate untouched.
    let refreshed = run(Event::UpgradeCharm, upstream);
    assert_eq!(ca_pem(&refreshed), new_pem, "the active CA was kept");
    let cas = published_cas(&refreshed);
    assert!(cas.contains(&old_ca) && cas.contains(&new_pem), "{cas:?}");
    assert!(refreshed.secret_by_label(EXPIRING_LABEL).is_some());
    assert_eq!(certificates(&refreshed)[0]["certificate"], old_cert);

    // Once the last certificate under the old CA has expired, the old CA and its secret go.
    let mut later = refreshed.clone();
    later.now += 5 * 86_400;
    let after = run(Event::UpdateStatus, later);
    assert_eq!(published_cas(&after), vec![new_pem.clone()]);
    assert!(
        after.secret_by_label(EXPIRING_LABEL).is_none(),
        "the expiring CA's secret (and key) lingers"
    );
    assert_eq!(ca_pem(&after), new_pem, "the active CA stays");
}
