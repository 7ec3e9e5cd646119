//! The charm under the SDK's in-memory harness: every hook it gets, every action, every bad config.
//! This file holds the shared helpers; the tests are in `ca.rs` (the CA's life, config, actions,
//! leadership), `limits.rs` (floods and refused requests) and `upstream.rs` (state left by the
//! published charm).

use std::process::Command;

mod ca;
mod limits;
mod upstream;

// The root tests' openssl judge (this crate cannot depend on the root package).
#[path = "../../../../tests/it/support/openssl.rs"]
mod openssl;

use charm::event::{ActionEvent, RelationEvent, SecretEvent};
use charm::testing::{Context, Relation, SecretOwnerEntity, State};
use charm::{Databag, Event, RelationId};
use pki::{Certificate, Csr, KeyAlgorithm, PrivateKey, RequestAttributes};
use self_signed_certificates::SelfSignedCertificates;
use self_signed_certificates::authority::{ACTIVE_LABEL, NEXT_LABEL};
use serde_json::{Value, json};

const CERTS: u32 = 1;
const TRANSFER: u32 = 2;

fn ctx() -> Context<SelfSignedCertificates> {
    Context::from_charmcraft_yaml(include_str!("../../charmcraft.yaml"), || {
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
