//! The charm under the SDK's in-memory harness: both actions with every refusal, the status, the
//! withdrawal of certificates whose request is gone, leadership, and the trusted bundle.
//! Certificates are made with the `pki` crate at the harness's clock; what the checks themselves
//! decide is tested next to them (`src/provide/tests.rs`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use charm::event::ActionEvent;
use charm::testing::{Context, Relation, State};
use charm::{Databag, Event};
use manual_tls_certificates::ManualTlsCertificates;
use manual_tls_certificates::texts;
use pki::{
    Certificate, CertificateAuthority, CertificateKind, Csr, IssueRequest, IssuingPolicy,
    KeyAlgorithm, PrivateKey, RequestAttributes,
};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

const CERTS: u32 = 1;
const OTHER_CERTS: u32 = 3;
const TRUST: u32 = 2;

fn ctx() -> Context<ManualTlsCertificates> {
    Context::from_charmcraft_yaml(include_str!("../../charmcraft.yaml"), || {
        ManualTlsCertificates
    })
    .unwrap()
}

fn run(event: Event, s: State) -> State {
    ctx().run(event, s).unwrap()
}

fn key() -> PrivateKey {
    PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap()
}

fn csr_with(key: &PrivateKey, cn: &str, sans: &[&str]) -> Csr {
    let mut a = RequestAttributes::new(cn);
    for s in sans {
        a.sans.push_str(s).unwrap();
    }
    a.to_csr(key).unwrap()
}

fn csr(cn: &str) -> Csr {
    csr_with(&key(), cn, &[&format!("DNS:{cn}")])
}

fn bag(csrs: &[&Csr]) -> Databag {
    let list: Vec<Value> = csrs
        .iter()
        .map(|c| json!({"certificate_signing_request": c.pem(), "ca": false}))
        .collect();
    Databag::from([(
        "certificate_signing_requests".to_owned(),
        serde_json::to_string(&list).unwrap(),
    )])
}

fn certificates_relation(id: u32, app: &str, units: &[(&str, Databag)]) -> Relation {
    let mut rel = Relation::new("certificates".parse().unwrap(), id, app.parse().unwrap())
        .without_remote_units();
    for (u, b) in units {
        rel = rel.with_remote_unit(u.parse().unwrap(), b.clone());
    }
    rel
}

/// The leader (or not) with one requirer unit `req/0` asking for `csrs` on relation 1.
fn state(leader: bool, csrs: &[&Csr]) -> State {
    State::new("manual-tls-certificates/0".parse().unwrap())
        .with_leader(leader)
        .with_relation(certificates_relation(CERTS, "req", &[("req/0", bag(csrs))]))
}

fn with_trust(s: State) -> State {
    s.with_relation(
        Relation::new(
            "trust_certificate".parse().unwrap(),
            TRUST,
            "client".parse().unwrap(),
        )
        .with_remote_app_data(Databag::from([("version".into(), "1".into())])),
    )
}

fn now(s: &State) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(s.now).unwrap()
}

fn root(cn: &str, at: OffsetDateTime) -> CertificateAuthority {
    CertificateAuthority::self_signed_root(
        &RequestAttributes::new(cn),
        key(),
        Duration::days(365),
        at,
    )
    .unwrap()
}

fn sign(ca: &CertificateAuthority, csr: &Csr, at: OffsetDateTime, days: i64) -> Certificate {
    let request = IssueRequest {
        csr,
        kind: CertificateKind::Leaf,
        validity: Duration::days(days),
    };
    ca.issue(&request, &IssuingPolicy::default(), at).unwrap()
}

fn b64(text: &str) -> String {
    STANDARD.encode(text)
}

fn action(mut s: State, name: &str, params: Value) -> State {
    s.action.params = params.as_object().cloned().unwrap_or_default();
    run(
        Event::Action(ActionEvent {
            name: name.into(),
            id: "1".into(),
        }),
        s,
    )
}

fn provide_params(csr: &Csr, cert: &Certificate, ca: &Certificate) -> Value {
    json!({
        "certificate-signing-request": b64(csr.pem()),
        "certificate": b64(cert.pem()),
        "ca-certificate": b64(ca.pem()),
    })
}

fn provide(s: State, params: Value) -> State {
    action(s, "provide-certificate", params)
}

fn failure(s: &State) -> String {
    s.action
        .failure
        .clone()
        .unwrap_or_else(|| panic!("the action did not fail: {:?}", s.action.results))
}

fn published(s: &State, relation: u32) -> Vec<Value> {
    s.relation(relation)
        .unwrap()
        .local_app_data
        .get("certificates")
        .filter(|v| !v.is_empty())
        .map(|v| serde_json::from_str(v).unwrap())
        .unwrap_or_default()
}

fn outstanding(s: State, params: Value) -> (State, Vec<Value>) {
    let out = action(s, "get-outstanding-certificate-requests", params);
    let list = out
        .action
        .results
        .get("result")
        .map(|r| serde_json::from_str(r).unwrap())
        .unwrap_or_default();
    (out, list)
}

fn bundle(s: &State) -> Vec<String> {
    serde_json::from_str(&s.relation(TRUST).unwrap().local_app_data["certificates"]).unwrap()
}

#[test]
fn outstanding_requests_are_listed_as_the_published_charm_lists_them() {
    let (a, b) = (csr("a.example"), csr("b.example"));
    let s = state(true, &[&a]).with_relation(certificates_relation(
        OTHER_CERTS,
        "other",
        &[("other/0", bag(&[&b]))],
    ));
    let (out, list) = outstanding(s.clone(), json!({}));
    assert_eq!(
        list,
        vec![
            json!({"csr": a.pem(), "relation_id": CERTS}),
            json!({"csr": b.pem(), "relation_id": OTHER_CERTS}),
        ]
    );
    // Python's json.dumps spacing.
    assert!(out.action.results["result"].starts_with("[{\"csr\": \"-----BEGIN"));
    let (_, only) = outstanding(s.clone(), json!({"relation-id": OTHER_CERTS}));
    assert_eq!(
        only,
        vec![json!({"csr": b.pem(), "relation_id": OTHER_CERTS})]
    );
    let (out, _) = outstanding(s, json!({"relation-id": 42}));
    assert_eq!(failure(&out), texts::NO_SUCH_RELATION);
}

#[test]
fn without_a_certificates_relation_both_actions_say_so() {
    let s = State::new("manual-tls-certificates/0".parse().unwrap()).with_leader(true);
    let (out, _) = outstanding(s.clone(), json!({}));
    assert_eq!(failure(&out), texts::NO_RELATION);
    let ca = root("Offline Root", now(&s));
    let c = csr("a.example");
    let cert = sign(&ca, &c, now(&s), 30);
    let out = provide(s, provide_params(&c, &cert, ca.certificate()));
    assert_eq!(failure(&out), texts::NO_RELATION);
}

#[test]
fn a_provided_certificate_is_published_and_replaced_when_provided_again() {
    let (a, b) = (csr("a.example"), csr("b.example"));
    let s = run(Event::ConfigChanged, state(true, &[&a, &b]));
    assert_eq!(
        s.unit_status.message,
        "2 outstanding requests, use juju actions to provide certificates"
    );
    let ca = root("Offline Root", now(&s) - Duration::days(1));
    let first = sign(&ca, &a, now(&s), 30);
    let out = provide(s, provide_params(&a, &first, ca.certificate()));
    assert_eq!(out.action.failure, None);
    assert_eq!(out.action.results["result"], texts::PROVIDED);
    let list = published(&out, CERTS);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["certificate"], first.pem().trim());
    assert_eq!(list[0]["certificate_signing_request"], a.pem());
    assert_eq!(list[0]["ca"], ca.certificate().pem().trim());
    assert_eq!(
        list[0]["chain"],
        json!([first.pem().trim(), ca.certificate().pem().trim()])
    );
    let expiry = manual_tls_certificates::provide::date(first.info().not_after);
    assert_eq!(
        out.unit_status.message,
        format!(
            "1 outstanding requests, use juju actions to provide certificates; soonest expiry {expiry}"
        )
    );
    let (out, left) = outstanding(out, json!({}));
    assert_eq!(left, vec![json!({"csr": b.pem(), "relation_id": CERTS})]);

    // Re-signed (the rotation flow): the new certificate replaces the old one.
    let second = sign(&ca, &a, now(&out), 60);
    let out = provide(out, provide_params(&a, &second, ca.certificate()));
    let list = published(&out, CERTS);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["certificate"], second.pem().trim());

    let b_cert = sign(&ca, &b, now(&out), 10);
    let out = provide(out, provide_params(&b, &b_cert, ca.certificate()));
    assert_eq!(published(&out, CERTS).len(), 2);
    assert_eq!(
        out.unit_status.message,
        format!(
            "No outstanding requests; soonest expiry {}",
            manual_tls_certificates::provide::date(b_cert.info().not_after)
        )
    );
}

#[test]
fn a_certificate_whose_request_was_withdrawn_is_withdrawn() {
    let (a, b) = (csr("a.example"), csr("b.example"));
    let s = state(true, &[&a, &b]);
    let ca = root("Offline Root", now(&s));
    let cert = sign(&ca, &a, now(&s), 30);
    let mut out = provide(s, provide_params(&a, &cert, ca.certificate()));
    assert_eq!(published(&out, CERTS).len(), 1);
    let rel = out.relations.iter_mut().find(|r| r.id == CERTS).unwrap();
    rel.remote_units
        .insert("req/0".parse().unwrap(), bag(&[&b]));
    let out = run(Event::UpdateStatus, out);
    assert!(published(&out, CERTS).is_empty());
    assert_eq!(
        out.unit_status.message,
        "1 outstanding requests, use juju actions to provide certificates"
    );
}

#[test]
fn the_csr_is_looked_up_in_every_relation() {
    let a = csr("shared.example");
    let lonely = csr("nobody.asked");
    let s = state(true, &[&a]).with_relation(certificates_relation(
        OTHER_CERTS,
        "other",
        &[("other/0", bag(&[&a]))],
    ));
    let ca = root("Offline Root", now(&s));
    let cert = sign(&ca, &a, now(&s), 30);
    let p = provide_params(&a, &cert, ca.certificate());

    let out = provide(s.clone(), p.clone());
    assert_eq!(failure(&out), texts::MULTIPLE_REQUIRERS);

    let mut with_id = p.clone();
    with_id["relation-id"] = json!(OTHER_CERTS);
    let out = provide(s.clone(), with_id);
    assert_eq!(out.action.failure, None);
    assert!(published(&out, CERTS).is_empty());
    assert_eq!(published(&out, OTHER_CERTS).len(), 1);

    let mut missing = p.clone();
    missing["relation-id"] = json!(99);
    assert_eq!(
        failure(&provide(s.clone(), missing)),
        texts::NO_SUCH_RELATION
    );

    let only_a = state(true, &[&lonely]).with_relation(certificates_relation(
        OTHER_CERTS,
        "other",
        &[("other/0", bag(&[&a]))],
    ));
    let mut wrong = p.clone();
    wrong["relation-id"] = json!(CERTS);
    assert_eq!(failure(&provide(only_a, wrong)), texts::WRONG_RELATION_ID);

    let nobody = state(true, &[&a]);
    let stray = sign(&ca, &lonely, now(&s), 30);
    let out = provide(nobody, provide_params(&lonely, &stray, ca.certificate()));
    assert_eq!(failure(&out), texts::CSR_NOT_FOUND);
}

/// Every check of the certificate, through the action: refused with its text, nothing published.
#[test]
fn a_bad_certificate_is_refused_and_nothing_is_published() {
    let k = key();
    let a = csr_with(&k, "a.example", &["DNS:a.example"]);
    let s = state(true, &[&a]);
    let t = now(&s);
    let ca = root("Offline Root", t - Duration::days(10));
    let good = sign(&ca, &a, t, 30);
    let other_key = sign(&ca, &csr("a.example"), t, 30);
    let other_sans = sign(&ca, &csr_with(&k, "a.example", &["DNS:b.example"]), t, 30);
    let expired = sign(&ca, &a, t - Duration::days(5), 2);
    let future = sign(&ca, &a, t + Duration::days(2), 30);
    let stranger = root("Offline Root", t - Duration::days(1));

    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "key mismatch",
            provide_params(&a, &other_key, ca.certificate()),
            "Certificate and CSR do not match.",
        ),
        (
            "SAN mismatch",
            provide_params(&a, &other_sans, ca.certificate()),
            "The certificate's subject alternative names differ from the CSR's",
        ),
        (
            "broken chain",
            provide_params(&a, &good, stranger.certificate()),
            "Action input is not valid. The chain does not link",
        ),
        (
            "expired",
            provide_params(&a, &expired, ca.certificate()),
            "has expired",
        ),
        (
            "not yet valid",
            provide_params(&a, &future, ca.certificate()),
            "is not valid yet",
        ),
        (
            "bad base64",
            json!({"certificate-signing-request": b64(a.pem()), "certificate": "%%%", "ca-certificate": b64(ca.certificate().pem())}),
            "Action input is not valid. certificate is not base64",
        ),
        (
            "bad PEM",
            json!({"certificate-signing-request": b64(a.pem()), "certificate": b64("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "ca-certificate": b64(ca.certificate().pem())}),
            "Action input is not valid. certificate is not a PEM certificate",
        ),
    ];
    for (what, params, text) in cases {
        let out = provide(s.clone(), params);
        let message = failure(&out);
        assert!(message.contains(text), "{what}: {message}");
        assert!(
            published(&out, CERTS).is_empty(),
            "{what}: published anyway"
        );
        assert!(
            out.logs
                .iter()
                .any(|(_, l)| l.contains("provide-certificate refused")),
            "{what}: not logged"
        );
    }
}

#[test]
fn a_rewritten_subject_is_accepted_with_a_warning() {
    let k = key();
    let a = csr_with(&k, "a.example", &["DNS:a.example"]);
    let s = state(true, &[&a]);
    let ca = root("Offline Root", now(&s));
    let renamed = sign(
        &ca,
        &csr_with(&k, "A Example Inc", &["DNS:a.example"]),
        now(&s),
        30,
    );
    let out = provide(s, provide_params(&a, &renamed, ca.certificate()));
    assert_eq!(out.action.failure, None);
    assert_eq!(out.action.results["result"], texts::PROVIDED);
    let warning = &out.action.results["warning"];
    assert!(
        warning.contains("A Example Inc") && warning.contains("a.example"),
        "{warning}"
    );
    assert!(
        out.action
            .logs
            .iter()
            .any(|l| l.contains("differs from the CSR's"))
    );
    assert_eq!(published(&out, CERTS).len(), 1);
}

#[test]
fn on_a_follower_both_actions_fail_naming_the_leader() {
    let a = csr("a.example");
    let s = state(false, &[&a]);
    let (out, _) = outstanding(s.clone(), json!({}));
    let message = failure(&out);
    assert!(
        message.starts_with("This unit is not the leader"),
        "{message}"
    );
    assert!(
        message.contains(
            "juju run manual-tls-certificates/leader get-outstanding-certificate-requests"
        ),
        "{message}"
    );
    let ca = root("Offline Root", now(&s));
    let cert = sign(&ca, &a, now(&s), 30);
    let out = provide(s.clone(), provide_params(&a, &cert, ca.certificate()));
    assert!(failure(&out).contains("juju run manual-tls-certificates/leader provide-certificate"));
    assert!(
        out.relation(CERTS).unwrap().local_app_data.is_empty(),
        "wrote as a follower"
    );
    let out = run(Event::UpdateStatus, s);
    assert!(
        out.unit_status.message.starts_with("standby"),
        "{:?}",
        out.unit_status
    );
}

#[test]
fn the_trusted_bundle_is_published_exactly() {
    let t = OffsetDateTime::from_unix_timestamp(State::new("x/0".parse().unwrap()).now).unwrap();
    let (a, b) = (root("Trust A", t), root("Trust B", t));
    let (pa, pb) = (
        a.certificate().pem().trim().to_owned(),
        b.certificate().pem().trim().to_owned(),
    );
    let s = with_trust(state(true, &[]));
    let out = run(Event::ConfigChanged, s);
    assert_eq!(out.unit_status.message, texts::NO_BUNDLE);

    let mut s = out;
    s.config.insert(
        "trusted-certificate-bundle".into(),
        json!(format!("{pa}\n{pb}\n")),
    );
    let out = run(Event::ConfigChanged, s);
    let mut both = vec![pa.clone(), pb.clone()];
    both.sort();
    assert_eq!(bundle(&out), both);
    assert_eq!(out.unit_status.message, texts::NO_OUTSTANDING);

    // B removed from the option: B is withdrawn (the published charm keeps it).
    let mut s = out;
    s.config
        .insert("trusted-certificate-bundle".into(), json!(pa.clone()));
    let out = run(Event::ConfigChanged, s);
    assert_eq!(bundle(&out), vec![pa.clone()]);

    // Garbage: blocked, what was published stays.
    let mut s = out;
    s.config.insert(
        "trusted-certificate-bundle".into(),
        json!("not a certificate"),
    );
    let out = run(Event::ConfigChanged, s);
    assert_eq!(out.unit_status.kind, charm::StatusKind::Blocked);
    assert_eq!(out.unit_status.message, texts::INVALID_BUNDLE);
    assert_eq!(bundle(&out), vec![pa]);

    // Unset: nothing is trusted any more.
    let mut s = out;
    s.config.remove("trusted-certificate-bundle");
    let out = run(Event::ConfigChanged, s);
    assert!(bundle(&out).is_empty());
    assert_eq!(out.unit_status.message, texts::NO_BUNDLE);
}
