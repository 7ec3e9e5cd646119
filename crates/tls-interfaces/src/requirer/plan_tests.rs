//! The planner alone: observations built by hand (real keys, CSRs and certificates from `pki`,
//! a provider bag as JSON), no model. A table of one request in each state, and a property:
//! applying a plan and planning again plans no change.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use charm::{AppName, Databag, LogLevel, RelationId, SecretId};
use pki::time::{Duration, OffsetDateTime};
use pki::{
    CertificateAuthority, CertificateKind, Csr, IssueRequest, IssuingPolicy, KeyAlgorithm,
    PrivateKey, RequestAttributes,
};
use proptest::prelude::*;
use serde_json::{Value, json};

use super::accept;
use super::observe::ProviderData;
use super::plan::{
    BagEntry, CertificateSecret, KeySource, KeyStep, Observation, Plan, RequestState,
    ScopeObservation, Step, plan,
};
use super::{CertificateRequest, RequirerEvent, Scope};
use crate::labels;
use crate::wire::tls_certificates::RequestEntry;

/// The hook's clock in most rows: the day the certificates were issued.
const T0: i64 = 1_767_225_600;
const DAY: i64 = 86_400;
/// Past the safety net of a 90-day certificate (renewal at 90% + 5%).
const NEAR_EXPIRY: i64 = T0 + 86 * DAY;

struct Fixtures {
    ca: CertificateAuthority,
    ours: Arc<PrivateKey>,
    /// CSRs: a.example, b.example (ours), a.example (other key), c.example (ours, asks a CA).
    a: Csr,
    b: Csr,
    a_other: Csr,
    c: Csr,
}

fn fx() -> &'static Fixtures {
    static FX: OnceLock<Fixtures> = OnceLock::new();
    FX.get_or_init(|| {
        let start = at(T0 - DAY);
        let ca_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).expect("CA key");
        let ca = CertificateAuthority::self_signed_root(
            &RequestAttributes::new("Plan CA"),
            ca_key,
            Duration::days(3650),
            start,
        )
        .expect("CA");
        let ours = Arc::new(PrivateKey::generate(KeyAlgorithm::EcdsaP256).expect("key"));
        let other = Arc::new(PrivateKey::generate(KeyAlgorithm::EcdsaP256).expect("key"));
        let csr = |r: &CertificateRequest, k: &PrivateKey| r.attributes.to_csr(k).expect("CSR");
        Fixtures {
            a: csr(&request("a.example", false), &ours),
            b: csr(&request("b.example", false), &ours),
            a_other: csr(&request("a.example", false), &other),
            c: csr(&request("c.example", true), &ours),
            ca,
            ours,
        }
    })
}

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).expect("time")
}

fn request(cn: &str, is_ca: bool) -> CertificateRequest {
    let mut attributes = RequestAttributes::new(cn);
    attributes.sans.push_str(&format!("DNS:{cn}")).expect("SAN");
    CertificateRequest { attributes, is_ca }
}

fn entry(csr: &Csr, is_ca: bool) -> BagEntry {
    BagEntry {
        wire: RequestEntry {
            certificate_signing_request: csr.pem().trim().to_owned(),
            ca: Some(is_ca),
        },
        csr: Some(csr.clone()),
    }
}

fn unreadable() -> BagEntry {
    BagEntry {
        wire: RequestEntry {
            certificate_signing_request: "not a CSR".into(),
            ca: Some(false),
        },
        csr: None,
    }
}

/// A 90-day leaf for `csr`, issued at `T0`, as PEM.
fn issue(csr: &Csr) -> String {
    let issued = fx().ca.issue(
        &IssueRequest {
            csr,
            kind: CertificateKind::Leaf,
            validity: Duration::days(90),
        },
        &IssuingPolicy::default(),
        at(T0),
    );
    issued.expect("issue").pem().trim().to_owned()
}

/// A certificate entry of the provider's bag answering `csr` with `certificate`.
fn answer(csr: &Csr, certificate: &str, revoked: bool) -> Value {
    let ca = fx().ca.certificate().pem().trim().to_owned();
    let mut v = json!({
        "ca": ca,
        "certificate_signing_request": csr.pem().trim(),
        "certificate": certificate,
        "chain": [certificate, ca],
    });
    if revoked {
        v["revoked"] = json!(true);
    }
    v
}

fn refusal(csr: &Csr) -> Value {
    json!({"csr": csr.pem().trim(), "error": {"code": 102, "name": "DOMAIN_NOT_ALLOWED", "message": "no"}})
}

fn provider(certificates: &[Value], errors: &[Value]) -> ProviderData {
    let mut bag = Databag::new();
    if !certificates.is_empty() {
        bag.insert("certificates".into(), Value::from(certificates).to_string());
    }
    if !errors.is_empty() {
        bag.insert("request_errors".into(), Value::from(errors).to_string());
    }
    let relation: RelationId = "certificates:7".parse().expect("relation");
    let app: AppName = "ca".parse().expect("app");
    let mut warnings = Vec::new();
    let data = ProviderData::read(&relation, &app, Arc::new(bag), &mut warnings);
    assert!(warnings.is_empty(), "{warnings:?}");
    data
}

fn secret_id(n: usize) -> SecretId {
    format!("secret:d4mk5kvmp25c77s8j{n:03}")
        .parse()
        .expect("secret id")
}

fn secret(n: usize, certificate: Option<&str>) -> CertificateSecret {
    CertificateSecret {
        id: secret_id(n),
        certificate: certificate.map(str::to_owned),
    }
}

/// One UNIT scope wanting a.example.
fn observe(
    key: KeySource,
    bag: Vec<BagEntry>,
    provider: ProviderData,
    secrets: BTreeMap<Vec<u8>, CertificateSecret>,
) -> Observation {
    Observation {
        now: T0,
        unit: 0,
        endpoint: "certificates".into(),
        renewal: accept::Renewal::default(),
        renew: BTreeSet::new(),
        provider,
        scopes: vec![ScopeObservation {
            scope: Scope::Unit,
            wanted: vec![request("a.example", false)],
            key,
            bag,
            secrets,
        }],
    }
}

fn held() -> KeySource {
    KeySource::Held(Arc::clone(&fx().ours))
}

/// The steps of the only scope, as short names (logs by level).
fn kinds(plan: &Plan) -> Vec<&'static str> {
    plan.scopes[0]
        .steps
        .iter()
        .map(|s| match s {
            Step::Log(LogLevel::Info, _) => "info",
            Step::Log(LogLevel::Warning, _) => "warn",
            Step::Log(..) => "log",
            Step::RemoveSecret(_) => "remove-secret",
            Step::SendCsr(_) => "send-csr",
            Step::StoreCertificate(_) => "store",
            Step::Emit(RequirerEvent::CertificateAvailable(_)) => "available",
            Step::Emit(RequirerEvent::CertificateDenied(_)) => "denied",
        })
        .collect()
}

fn state(plan: &Plan) -> RequestState {
    plan.scopes[0].states[0].1
}

/// Whether the bag is rewritten, and how many entries are kept.
fn bag_write(plan: &Plan) -> Option<usize> {
    plan.scopes[0].bag.as_ref().map(Vec::len)
}

#[test]
fn each_request_state_plans_its_steps() {
    let f = fx();
    let cert_a = issue(&f.a);
    let stored = |cert: &str| BTreeMap::from([(f.a.der().to_vec(), secret(1, Some(cert)))]);
    struct Row {
        what: &'static str,
        observation: Observation,
        state: RequestState,
        steps: &'static [&'static str],
        bag: Option<usize>,
    }
    let mut renewing = observe(
        held(),
        vec![entry(&f.a, false)],
        provider(&[answer(&f.a, &cert_a, false)], &[]),
        stored(&cert_a),
    );
    renewing.renew.insert(f.a.der().to_vec());
    let mut near_expiry = observe(
        held(),
        vec![entry(&f.a, false)],
        provider(&[answer(&f.a, &cert_a, false)], &[]),
        stored(&cert_a),
    );
    near_expiry.now = NEAR_EXPIRY;
    let rows = vec![
        Row {
            what: "no key: generate one, then send a CSR",
            observation: observe(
                KeySource::Missing,
                vec![],
                provider(&[], &[]),
                BTreeMap::new(),
            ),
            state: RequestState::NoKey,
            steps: &["send-csr"],
            bag: Some(0),
        },
        Row {
            what: "a key and no CSR: send one",
            observation: observe(held(), vec![], provider(&[], &[]), BTreeMap::new()),
            state: RequestState::NotRequested,
            steps: &["send-csr"],
            bag: Some(0),
        },
        Row {
            what: "a CSR for another key is withdrawn and replaced",
            observation: observe(
                held(),
                vec![entry(&f.a_other, false)],
                provider(&[], &[]),
                BTreeMap::new(),
            ),
            state: RequestState::NotRequested,
            steps: &["send-csr"],
            bag: Some(0),
        },
        Row {
            what: "a CSR no longer wanted is withdrawn",
            observation: observe(
                held(),
                vec![entry(&f.b, false), entry(&f.a, false)],
                provider(&[], &[]),
                BTreeMap::new(),
            ),
            state: RequestState::CsrSent,
            steps: &[],
            bag: Some(1),
        },
        Row {
            what: "an unreadable entry is dropped, the good one kept",
            observation: observe(
                held(),
                vec![unreadable(), entry(&f.a, false)],
                provider(&[], &[]),
                BTreeMap::new(),
            ),
            state: RequestState::CsrSent,
            steps: &[],
            bag: Some(1),
        },
        Row {
            what: "CSR sent, no answer: nothing to do",
            observation: observe(
                held(),
                vec![entry(&f.a, false)],
                provider(&[], &[]),
                BTreeMap::new(),
            ),
            state: RequestState::CsrSent,
            steps: &[],
            bag: None,
        },
        Row {
            what: "a new certificate is stored, logged and reported",
            observation: observe(
                held(),
                vec![entry(&f.a, false)],
                provider(&[answer(&f.a, &cert_a, false)], &[]),
                BTreeMap::new(),
            ),
            state: RequestState::CertificateHeld,
            steps: &["store", "info", "available"],
            bag: None,
        },
        Row {
            what: "the certificate already stored: nothing to do",
            observation: observe(
                held(),
                vec![entry(&f.a, false)],
                provider(&[answer(&f.a, &cert_a, false)], &[]),
                stored(&cert_a),
            ),
            state: RequestState::CertificateHeld,
            steps: &[],
            bag: None,
        },
        Row {
            what: "a changed certificate updates its secret",
            observation: observe(
                held(),
                vec![entry(&f.a, false)],
                provider(&[answer(&f.a, &cert_a, false)], &[]),
                stored("an older certificate"),
            ),
            state: RequestState::CertificateHeld,
            steps: &["store", "info", "available"],
            bag: None,
        },
        Row {
            what: "a certificate for another key is refused with a reason",
            observation: observe(
                held(),
                vec![entry(&f.a, false)],
                provider(&[answer(&f.a, &issue(&f.a_other), false)], &[]),
                BTreeMap::new(),
            ),
            state: RequestState::CertificateHeld,
            steps: &["warn"],
            bag: None,
        },
        Row {
            what: "asked to renew: a new CSR, same key, no log",
            observation: renewing,
            state: RequestState::RenewalDue,
            steps: &["send-csr"],
            bag: Some(0),
        },
        Row {
            what: "the safety net renews a certificate close to expiry",
            observation: near_expiry,
            state: RequestState::RenewalDue,
            steps: &["warn", "send-csr"],
            bag: Some(0),
        },
        Row {
            what: "revoked: its secret is removed and a new CSR sent",
            observation: observe(
                held(),
                vec![entry(&f.a, false)],
                provider(&[answer(&f.a, &cert_a, true)], &[]),
                BTreeMap::from([(f.a.der().to_vec(), secret(1, None))]),
            ),
            state: RequestState::Revoked,
            steps: &["info", "remove-secret", "send-csr"],
            bag: Some(0),
        },
        Row {
            what: "denied: reported, the CSR stays",
            observation: observe(
                held(),
                vec![entry(&f.a, false)],
                provider(&[], &[refusal(&f.a)]),
                BTreeMap::new(),
            ),
            state: RequestState::Denied,
            steps: &["denied"],
            bag: None,
        },
    ];
    for row in rows {
        let plan = plan(&row.observation);
        assert_eq!(state(&plan), row.state, "{}", row.what);
        assert_eq!(kinds(&plan), row.steps, "{}", row.what);
        assert_eq!(bag_write(&plan), row.bag, "{}", row.what);
    }
}

#[test]
fn the_key_step_follows_where_the_key_is() {
    let f = fx();
    let none = |key| plan(&observe(key, vec![], provider(&[], &[]), BTreeMap::new()));
    assert!(matches!(
        none(KeySource::Missing).scopes[0].key,
        KeyStep::Generate
    ));
    assert!(matches!(none(held()).scopes[0].key, KeyStep::Use(_)));
    // A CSR made with the legacy key is kept: the key moves, the request does not change.
    let legacy = plan(&observe(
        KeySource::Legacy(Arc::clone(&f.ours)),
        vec![entry(&f.a, false)],
        provider(&[], &[]),
        BTreeMap::new(),
    ));
    assert!(matches!(legacy.scopes[0].key, KeyStep::MigrateLegacy(_)));
    assert_eq!(state(&legacy), RequestState::CsrSent);
    assert_eq!(bag_write(&legacy), None);
}

#[test]
fn a_new_certificate_is_stored_under_the_python_label_until_renewal() {
    let f = fx();
    let cert_a = issue(&f.a);
    let plan = plan(&observe(
        held(),
        vec![entry(&f.a, false)],
        provider(&[answer(&f.a, &cert_a, false)], &[]),
        BTreeMap::new(),
    ));
    let Some(Step::StoreCertificate(store)) = plan.scopes[0].steps.first() else {
        panic!("{:?}", plan.scopes[0].steps);
    };
    let canonical = pki::pem::encode("CERTIFICATE REQUEST", f.a.der());
    let sha = labels::csr_sha256(canonical.trim());
    assert_eq!(
        store.label,
        labels::certificate(Scope::Unit, 0, "certificates", &sha)
    );
    assert_eq!(store.existing, None);
    assert_eq!(store.content["certificate"], cert_a);
    assert_eq!(store.content["csr"], canonical.trim());
    // 90% of the 90 days left (the certificate ends 90 days after T0).
    assert_eq!(store.expire, T0 + (90 * DAY) * 9 / 10);
}

#[test]
fn the_same_request_twice_gets_one_csr() {
    let mut o = observe(held(), vec![], provider(&[], &[]), BTreeMap::new());
    o.scopes[0].wanted.push(request("a.example", false));
    assert_eq!(kinds(&plan(&o)), ["send-csr"]);
}

/// What `apply` would leave behind, applied to the observation itself: the next hook's view.
/// Keys and CSRs are made for real (EC P-256), secrets get fresh ids.
fn applied(mut o: Observation, plan: &Plan) -> Observation {
    let mut next_id = 100;
    for (s, p) in o.scopes.iter_mut().zip(&plan.scopes) {
        let key = match &p.key {
            KeyStep::Use(k) | KeyStep::MigrateLegacy(k) => Arc::clone(k),
            KeyStep::Generate => {
                Arc::new(PrivateKey::generate(KeyAlgorithm::EcdsaP256).expect("key"))
            }
        };
        s.key = KeySource::Held(Arc::clone(&key));
        let mut sent = Vec::new();
        for step in &p.steps {
            match step {
                Step::RemoveSecret(id) => s.secrets.retain(|_, v| v.id.xid() != id.xid()),
                Step::SendCsr(r) => {
                    let csr = r.attributes.to_csr(&key).expect("CSR");
                    sent.push(entry(&csr, r.is_ca));
                }
                Step::StoreCertificate(store) => {
                    let der = Csr::from_pem(&store.content["csr"])
                        .expect("csr")
                        .der()
                        .to_vec();
                    next_id += 1;
                    let id = store.existing.clone().unwrap_or_else(|| secret_id(next_id));
                    s.secrets.insert(
                        der,
                        CertificateSecret {
                            id,
                            certificate: store.content.get("certificate").cloned(),
                        },
                    );
                }
                Step::Log(..) | Step::Emit(_) => {}
            }
        }
        if let Some(kept) = &p.bag {
            let mut bag: Vec<BagEntry> = kept
                .iter()
                .map(|w| BagEntry {
                    csr: Csr::from_pem(&w.certificate_signing_request).ok(),
                    wire: w.clone(),
                })
                .collect();
            bag.extend(sent);
            s.bag = bag;
        }
    }
    o.renew.clear();
    o
}

/// One bag entry of the generated world: which CSR, and what the provider and secrets say.
#[derive(Debug, Clone)]
struct Arranged {
    /// 0 a.example, 1 b.example, 2 a.example for another key, 3 c.example (CA), 4 unreadable.
    csr: usize,
    /// 0 none, 1 a certificate, 2 revoked, 3 refused, 4 a certificate for another key.
    answer: usize,
    /// 0 no secret, 1 the same certificate stored, 2 something else stored.
    secret: usize,
    renew: bool,
}

fn arranged() -> impl Strategy<Value = Arranged> {
    (0..5usize, 0..5usize, 0..3usize, any::<bool>()).prop_map(|(csr, answer, secret, renew)| {
        Arranged {
            csr,
            answer,
            secret,
            renew,
        }
    })
}

fn world(key: usize, wanted: &[usize], entries: &[Arranged], late: bool) -> Observation {
    let f = fx();
    let key = match key {
        0 => KeySource::Missing,
        1 => held(),
        _ => KeySource::Legacy(Arc::clone(&f.ours)),
    };
    let requests = [
        request("a.example", false),
        request("b.example", false),
        request("c.example", true),
    ];
    let mut bag = Vec::new();
    let mut certificates = Vec::new();
    let mut errors = Vec::new();
    let mut secrets = BTreeMap::new();
    let mut renew = BTreeSet::new();
    for (i, e) in entries.iter().enumerate() {
        let csr = match e.csr {
            0 => &f.a,
            1 => &f.b,
            2 => &f.a_other,
            3 => &f.c,
            _ => {
                bag.push(unreadable());
                continue;
            }
        };
        bag.push(entry(csr, e.csr == 3));
        let certificate = match e.answer {
            1 | 2 => Some(issue(csr)),
            4 => Some(issue(if e.csr == 2 { &f.a } else { &f.a_other })),
            _ => None,
        };
        if let Some(c) = &certificate {
            certificates.push(answer(csr, c, e.answer == 2));
            let stored = match e.secret {
                0 => None,
                1 => Some(Some(c.as_str())),
                _ => Some(Some("something else")),
            };
            if let Some(stored) = stored {
                secrets.insert(csr.der().to_vec(), secret(i, stored));
            }
        }
        if e.answer == 3 {
            errors.push(refusal(csr));
        }
        if e.renew {
            renew.insert(csr.der().to_vec());
        }
    }
    Observation {
        now: if late { NEAR_EXPIRY } else { T0 },
        unit: 0,
        endpoint: "certificates".into(),
        renewal: accept::Renewal::default(),
        renew,
        provider: provider(&certificates, &errors),
        scopes: vec![ScopeObservation {
            scope: Scope::Unit,
            wanted: wanted.iter().map(|w| requests[*w].clone()).collect(),
            key,
            bag,
            secrets,
        }],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Applying a plan and planning again on the result changes nothing: the planner converges
    /// in one hook, whatever the bag, the provider, the secrets and the clock say.
    #[test]
    fn a_plan_applied_plans_no_change(
        key in 0..3usize,
        wanted in proptest::collection::vec(0..3usize, 0..4),
        entries in proptest::collection::vec(arranged(), 0..5),
        late in any::<bool>(),
    ) {
        let before = world(key, &wanted, &entries, late);
        let first = plan(&before);
        let after = applied(before, &first);
        let second = plan(&after);
        prop_assert!(second.changes_nothing(), "first: {first:#?}\nsecond: {second:#?}");
        // Every wanted request has a CSR of ours in the bag.
        for (request, state) in &second.scopes[0].states {
            prop_assert!(!state.needs_csr(), "{request:?} is {state:?}");
        }
    }
}
