//! The charm under the SDK's in-memory harness: every hook it gets, every action, every bad config.

use std::process::Command;

use charm::event::{ActionEvent, SecretEvent};
use charm::testing::{Context, Relation, SecretOwnerEntity, State};
use charm::{Databag, Event};
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
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let leaf = dir.path().join("leaf.pem");
    std::fs::write(&ca, entry["ca"].as_str().unwrap()).unwrap();
    std::fs::write(&leaf, entry["chain"][0].as_str().unwrap()).unwrap();
    let out = Command::new("openssl")
        .args([
            "verify",
            "-x509_strict",
            "-attime",
            &at.to_string(),
            "-CAfile",
        ])
        .arg(&ca)
        .arg(&leaf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_leader_creates_the_ca_signs_and_publishes_it() {
    let (a, b) = (csr("a.example"), csr("b.example"));
    let out = ctx()
        .run(
            Event::ConfigChanged,
            state(
                true,
                &[
                    ("req/0", bag(&[(&a, false)])),
                    ("req/1", bag(&[(&b, false)])),
                ],
            ),
        )
        .unwrap();
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
    let again = ctx().run(Event::UpdateStatus, out.clone()).unwrap();
    assert_eq!(certificates(&again), certs);
    assert_eq!(ca_pem(&again), ca_pem(&out));
}

#[test]
fn invalid_config_blocks_naming_each_option_and_loses_nothing() {
    let a = csr("keep.example");
    let good = ctx()
        .run(
            Event::ConfigChanged,
            state(true, &[("req/0", bag(&[(&a, false)]))]),
        )
        .unwrap();
    let before = good.relation(CERTS).unwrap().local_app_data.clone();
    let mut bad = good.clone();
    bad.config
        .insert("certificate-validity".into(), json!("1y"));
    bad.config.insert("ca-country-name".into(), json!("France"));
    bad.config.insert("ca-common-name".into(), json!(""));
    let out = ctx().run(Event::ConfigChanged, bad).unwrap();
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
    let first = ctx()
        .run(
            Event::ConfigChanged,
            state(true, &[("req/0", bag(&[(&a, false)]))]),
        )
        .unwrap();
    let old_ca = ca_pem(&first);
    let mut changed = first.clone();
    changed
        .config
        .insert("ca-common-name".into(), json!("New Name CA"));
    let out = ctx().run(Event::ConfigChanged, changed).unwrap();
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
    let later = ctx().run(Event::UpdateStatus, out).unwrap();
    assert_eq!(published_cas(&later), vec![new_ca]);
}

#[test]
fn the_ca_is_renewed_before_it_expires_without_revoking() {
    let a = csr("long.example");
    let mut s = state(true, &[("req/0", bag(&[(&a, false)]))]);
    s.config.insert("root-ca-validity".into(), json!("20d"));
    s.config.insert("certificate-validity".into(), json!("5d"));
    let first = ctx().run(Event::ConfigChanged, s).unwrap();
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
    let out = ctx().run(expired, later).unwrap();
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
    let out = ctx()
        .run(
            Event::ConfigChanged,
            state(true, &[("req/0", bag(&[(&sub, true)]))]),
        )
        .unwrap();
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
    let out = ctx().run(Event::ConfigChanged, allowed).unwrap();
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
    let mut s = state(true, &[("req/0", bag(&[(&a, false), (&b, false)]))]);
    s.config.insert("certificate-limit".into(), json!(1));
    let out = ctx().run(Event::ConfigChanged, s).unwrap();
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
    let out = ctx()
        .run(
            Event::ConfigChanged,
            state(true, &[("req/0", bag(&[(&a, false)]))]),
        )
        .unwrap();
    let got = ctx()
        .run(action("get-ca-certificate"), out.clone())
        .unwrap();
    assert_eq!(got.action.results["ca-certificate"], ca_pem(&out));

    let got = ctx()
        .run(action("get-issued-certificates"), out.clone())
        .unwrap();
    // The published charm's bytes, computed by Python from the same bag: `str()` of the list
    // of `ProviderCertificate.to_json()` strings.
    let rendered = &got.action.results["certificates"];
    let bag = serde_json::to_string(&certificates(&out)).unwrap();
    let script = "import json,sys\n\
        certs=json.loads(sys.argv[1])\n\
        want=str([json.dumps({'csr': c['certificate_signing_request'], 'certificate': c['certificate'], 'ca': c['ca'], 'chain': c.get('chain', []), 'revoked': c.get('revoked')}) for c in certs if not c.get('revoked')])\n\
        sys.stdout.write('same' if want == sys.argv[2] else 'want ' + want)";
    let py = std::process::Command::new("python3")
        .args(["-c", script, &bag, rendered])
        .output()
        .expect("python3");
    assert_eq!(String::from_utf8_lossy(&py.stdout), "same", "{rendered}");
    assert!(rendered.starts_with("['{\"csr\": \"-----BEGIN CERTIFICATE REQUEST-----\\\\n"));

    let rotated = ctx()
        .run(action("rotate-private-key"), out.clone())
        .unwrap();
    assert!(rotated.action.results["result"].contains("New private key"));
    assert_ne!(ca_pem(&rotated), ca_pem(&out));
    assert_eq!(
        certificates(&rotated)[0]["ca"].as_str().unwrap(),
        ca_pem(&rotated),
        "re-issued under the new CA"
    );

    let mut follower = out.clone();
    follower.leader = false;
    let refused = ctx().run(action("rotate-private-key"), follower).unwrap();
    assert_eq!(
        refused.action.failure.as_deref(),
        Some("This action can only be run on the leader unit.")
    );
}

#[test]
fn a_new_leader_continues_with_the_same_ca() {
    let a = csr("lead.example");
    let out = ctx()
        .run(
            Event::ConfigChanged,
            state(true, &[("req/0", bag(&[(&a, false)]))]),
        )
        .unwrap();
    let mut other = state(true, &[("req/0", bag(&[(&a, false)]))]);
    other.unit = "self-signed-certificates/1".parse().unwrap();
    other.secrets = out.secrets.clone();
    other.relations = out.relations.clone();
    let next = ctx().run(Event::LeaderElected, other).unwrap();
    assert_eq!(ca_pem(&next), ca_pem(&out));
    assert_eq!(certificates(&next), certificates(&out));
}

#[test]
fn followers_stand_by() {
    let out = ctx().run(Event::ConfigChanged, state(false, &[])).unwrap();
    assert_eq!(out.unit_status.kind, charm::StatusKind::Waiting);
}
