//! Differential tests of the query calls: on the same relation data and secrets, the published
//! Python library (`tests/python/tls_queries_oracle.py`, through `ops.testing`) and ours give
//! the same answers: request errors, the certificate assigned to one request, the provider's
//! certificates with revoked ones, the requests sent, and on the provider side every request,
//! every certificate, the errors, the unsolicited certificates and the issued ones.
//!
//! The data: a requirer unit asks for A, B, C and D; the provider published A, B (revoked) and
//! E (nobody asks for it), and refused C.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use charm::testing::{Context, Relation, Secret, SecretOwnerEntity, State};
use charm::{BagOwner, Charm, Databag, Event, HandlerError, Model};
use juju_tls_interfaces::labels;
use juju_tls_interfaces::wire::tls_certificates::{
    CertificateEntry, ErrorBody, RequestEntry, RequestErrorEntry,
};
use juju_tls_interfaces::{CertificateRequest, Mode, Scope, TlsProvider, TlsRequirer};
use pki::time::Duration;
use pki::{CertificateKind, Csr, IssueRequest, IssuingPolicy, KeyAlgorithm, PrivateKey};
use pki::{RequestAttributes, time::OffsetDateTime};
use serde_json::{Value, json};

use crate::world::{PROVIDER_META, RELATION_ID, ca, endpoint, unit};

use crate::python::venv;

fn oracle(input: &Value) -> Value {
    venv::oracle("tls_queries_oracle.py", input).unwrap_or_else(|e| panic!("{e}"))
}

const REQUIRER_META: &str =
    "name: req\nrequires:\n  certificates:\n    interface: tls-certificates\n";

fn request(cn: &str) -> CertificateRequest {
    let mut a = RequestAttributes::new(cn);
    a.sans.dns.insert(cn.to_owned());
    CertificateRequest::leaf(a)
}

fn request_json(cn: &str) -> Value {
    json!({"cn": cn, "sans_dns": [cn]})
}

/// The data both libraries read.
struct Fixture {
    key: PrivateKey,
    csrs: BTreeMap<&'static str, Csr>,
    requirer_bag: Databag,
    provider_bag: Databag,
}

fn fixture() -> Fixture {
    let key = PrivateKey::generate(KeyAlgorithm::Rsa2048).unwrap();
    let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let mut csrs = BTreeMap::new();
    for name in ["a", "b", "c", "d"] {
        let cn = format!("{name}.example");
        csrs.insert(name, request(&cn).attributes.to_csr(&key).unwrap());
    }
    csrs.insert("e", request("e.example").attributes.to_csr(&other).unwrap());
    let ca = ca();
    let now = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
    let entry = |name: &str, revoked: Option<bool>| {
        let csr = &csrs[name];
        let cert = ca
            .issue(
                &IssueRequest {
                    csr,
                    kind: CertificateKind::Leaf,
                    validity: Duration::days(90),
                },
                &IssuingPolicy::default(),
                now,
            )
            .unwrap();
        let pem = |p: &str| p.trim().to_owned();
        CertificateEntry {
            ca: pem(ca.certificate().pem()),
            certificate_signing_request: pem(csr.pem()),
            certificate: pem(cert.pem()),
            chain: Some(vec![pem(cert.pem()), pem(ca.certificate().pem())]),
            revoked,
            recommended_expiry_notification_time: None,
        }
    };
    let requests: Vec<RequestEntry> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| RequestEntry {
            certificate_signing_request: csrs[n].pem().trim().to_owned(),
            ca: Some(false),
        })
        .collect();
    let certificates = vec![entry("a", None), entry("b", Some(true)), entry("e", None)];
    let errors = vec![RequestErrorEntry {
        csr: csrs["c"].pem().trim().to_owned(),
        error: ErrorBody {
            code: 102,
            name: "DOMAIN_NOT_ALLOWED".into(),
            message: "c.example is not ours to sign".into(),
            reason: Some("policy".into()),
            provider: Some("ca".into()),
            endpoint: None,
        },
    }];
    Fixture {
        key,
        csrs,
        requirer_bag: Databag::from([(
            "certificate_signing_requests".to_owned(),
            juju_tls_interfaces::to_python_json(&requests),
        )]),
        provider_bag: Databag::from([
            (
                "certificates".to_owned(),
                juju_tls_interfaces::to_python_json(&certificates),
            ),
            (
                "request_errors".to_owned(),
                juju_tls_interfaces::to_python_json(&errors),
            ),
        ]),
    }
}

fn bag_json(bag: &Databag) -> Value {
    serde_json::to_value(bag).unwrap()
}

fn error_json(e: &juju_tls_interfaces::RequestError) -> Value {
    json!({"relation_id": e.relation.id(), "csr": e.csr_pem, "error": e.error})
}

/// Runs `query` in a hook of a charm over `state` and returns what it produced.
fn run<F>(meta: &str, state: State, query: F) -> Value
where
    F: Fn(&mut Model<'_>) -> Value + Clone + 'static,
{
    struct Query<F> {
        query: F,
        out: Arc<Mutex<Value>>,
    }
    impl<F: Fn(&mut Model<'_>) -> Value> Charm for Query<F> {
        fn handle(&mut self, _: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
            *self.out.lock().unwrap() = (self.query)(model);
            Ok(())
        }
    }
    let out = Arc::new(Mutex::new(Value::Null));
    let shared = Arc::clone(&out);
    let ctx = Context::from_charmcraft_yaml(meta, move || Query {
        query: query.clone(),
        out: Arc::clone(&shared),
    })
    .unwrap();
    ctx.run(Event::ConfigChanged, state).unwrap();
    out.lock().unwrap().clone()
}

#[test]
fn requirer_queries_answer_as_the_python_library() {
    let f = fixture();
    let key_pem = f.key.to_traditional_pem().unwrap().to_string();
    let key_label = labels::private_key(Scope::Unit, 0, "certificates");
    let wanted: Vec<Value> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| request_json(&format!("{n}.example")))
        .collect();
    let assigned_for: Vec<Value> = ["a", "b", "d"]
        .iter()
        .map(|n| request_json(&format!("{n}.example")))
        .collect();
    let python = oracle(&json!({
        "side": "requirer", "mode": "UNIT",
        "requests": wanted,
        "local_unit_data": bag_json(&f.requirer_bag),
        "remote_app_data": bag_json(&f.provider_bag),
        "secrets": [{"label": key_label, "content": {"private-key": key_pem}, "owner": "unit"}],
        "assigned_for": assigned_for,
        "error_for": [f.csrs["c"].pem().trim(), f.csrs["a"].pem().trim()],
    }));

    let mut relation = Relation::new(endpoint(), RELATION_ID, "ca".parse().unwrap())
        .with_remote_app_data(f.provider_bag.clone());
    relation.local_unit_data.extend(f.requirer_bag.clone());
    let state = State::new(unit("req/0"))
        .with_leader(true)
        .with_relation(relation)
        .with_secret(
            Secret::new(
                "d4mk5kvmp25c77s8jd00",
                SecretOwnerEntity::Unit(unit("req/0")),
                BTreeMap::from([("private-key".to_owned(), key_pem.clone())]),
            )
            .with_label(key_label),
        );
    let csrs = f.csrs.clone();
    let ours = run(REQUIRER_META, state, move |model| {
        let mut tls = TlsRequirer::new(endpoint(), Mode::Unit);
        for n in ["a", "b", "c", "d"] {
            tls = tls
                .with_request(Scope::Unit, request(&format!("{n}.example")))
                .unwrap();
        }
        let assigned: Vec<Value> = ["a", "b", "d"]
            .iter()
            .map(|n| {
                match tls
                    .assigned_certificate(model, &request(&format!("{n}.example")))
                    .unwrap()
                {
                    None => Value::Null,
                    Some((a, key)) => json!({
                        "certificate": a.certificate.pem().trim(),
                        "key_matches": a.certificate.matches_key(&key),
                    }),
                }
            })
            .collect();
        let errors_for: Vec<Value> = [&csrs["c"], &csrs["a"]]
            .iter()
            .map(|c| match tls.request_error(model, c).unwrap() {
                Some(e) => error_json(&e),
                None => Value::Null,
            })
            .collect();
        json!({
            "request_errors": tls.request_errors(model).unwrap().iter().map(error_json).collect::<Vec<_>>(),
            "request_error": errors_for,
            "assigned": assigned,
            "provider_certificates": tls.provider_certificates(model).unwrap().iter().map(CertificateEntry::to_json).collect::<Vec<_>>(),
            "csrs_sent": tls.requests_sent(model).unwrap().iter().map(|r| json!({
                "relation_id": r.relation.id(), "csr": r.csr.pem().trim(), "is_ca": r.is_ca,
            })).collect::<Vec<_>>(),
            "has_private_key_secret_id": tls.private_key_secret_id(model, Scope::Unit).unwrap().is_some(),
        })
    });

    for key in [
        "request_errors",
        "request_error",
        "provider_certificates",
        "csrs_sent",
        "has_private_key_secret_id",
    ] {
        assert_eq!(ours[key], python[key], "{key}");
    }
    assert_eq!(ours["request_errors"].as_array().unwrap().len(), 1);
    assert_eq!(ours["provider_certificates"].as_array().unwrap().len(), 3);

    // A: both give the certificate, made for the key.
    assert_eq!(
        ours["assigned"][0]["certificate"],
        python["assigned"][0]["certificate"]
    );
    assert_eq!(ours["assigned"][0]["key_matches"], true);
    let py_key = PrivateKey::from_pem(python["assigned"][0]["private_key"].as_str().unwrap());
    assert!(py_key.is_ok(), "{python}");
    // B is revoked: the Python library still hands it out; ours does not (on purpose).
    assert_eq!(python["assigned"][1]["revoked"], true);
    assert_eq!(ours["assigned"][1], Value::Null);
    // D has no answer in either.
    assert_eq!(ours["assigned"][2], Value::Null);
    assert_eq!(python["assigned"][2], Value::Null);
}

#[test]
fn provider_queries_answer_as_the_python_library() {
    let f = fixture();
    let python = oracle(&json!({
        "side": "provider",
        "remote_units_data": {"0": bag_json(&f.requirer_bag)},
        "local_app_data": bag_json(&f.provider_bag),
    }));

    let mut relation = Relation::new(endpoint(), RELATION_ID, "req".parse().unwrap())
        .with_remote_unit(unit("req/0"), f.requirer_bag.clone());
    relation.local_app_data = f.provider_bag.clone();
    let state = State::new(unit("ca/0"))
        .with_leader(true)
        .with_relation(relation);
    let ours = run(PROVIDER_META, state, |model| {
        let provider = TlsProvider::new(endpoint());
        let mut state = provider.load(model).unwrap();
        let rel: charm::RelationId = format!("certificates:{RELATION_ID}").parse().unwrap();
        let json_of = |v: Vec<juju_tls_interfaces::IssuedCertificate>| {
            v.iter().map(|c| c.to_json()).collect::<Vec<_>>()
        };
        let requests = state.requests(Some(&rel));
        assert!(
            requests
                .iter()
                .all(|r| r.requester == BagOwner::Unit(unit("req/0")))
        );
        json!({
            "requests": requests.iter().map(|r| json!({
                "relation_id": r.relation.id(), "csr": r.csr.pem().trim(), "is_ca": r.is_ca,
            })).collect::<Vec<_>>(),
            "certificates": json_of(state.certificates(Some(&rel))),
            "errors": state.errors(Some(&rel)).iter().map(error_json).collect::<Vec<_>>(),
            "unsolicited": json_of(state.unsolicited(Some(&rel))),
            "issued": json_of(state.issued()),
            "outstanding": state.outstanding(Some(&rel)).iter().map(|r| r.csr.pem().trim().to_owned()).collect::<Vec<_>>(),
        })
    });

    for key in [
        "requests",
        "certificates",
        "errors",
        "unsolicited",
        "issued",
        "outstanding",
    ] {
        assert_eq!(ours[key], python[key], "{key}");
    }
    assert_eq!(ours["requests"].as_array().unwrap().len(), 4);
    assert_eq!(ours["certificates"].as_array().unwrap().len(), 3);
    assert_eq!(ours["unsolicited"].as_array().unwrap().len(), 1);
    assert_eq!(ours["issued"].as_array().unwrap().len(), 2);
    assert_eq!(
        ours["outstanding"].as_array().unwrap().len(),
        3,
        "B, C and D"
    );
}
