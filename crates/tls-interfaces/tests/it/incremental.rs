//! A provider hook for a relation event reads only the bag that changed and the remote app bag
//! (the rest comes from the index in the charm state), and that is never wrong: after any
//! sequence of relation events, a hook that reads everything finds nothing to change and
//! rebuilds the same index.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use charm::event::RelationEvent;
use charm::testing::{Context, Relation, State};
use charm::{Charm, Databag, Event, HandlerError, Model, UnitName};
use juju_tls_interfaces::{Signer, TlsProvider};
use pki::time::{Duration, OffsetDateTime};
use pki::{CertificateAuthority, IssuingPolicy, KeyAlgorithm, PrivateKey, RequestAttributes};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::world::{PROVIDER_META, ca, endpoint};

const STATE_KEY: &str = "tls-certificates-provider/certificates";
const RELATIONS: [(u32, &str); 2] = [(7, "req"), (8, "other")];

/// What the last hook said: certificates issued, CAs still trusted, relations parsed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Summary {
    issued: usize,
    trusted_cas: BTreeSet<String>,
    relations_parsed: usize,
}

thread_local! {
    static LAST: RefCell<Summary> = RefCell::new(Summary::default());
    /// The signer's CA (`None`: the world's) and whether CA certificates may be issued.
    static SIGNER: RefCell<(Option<Arc<CertificateAuthority>>, bool)> = const { RefCell::new((None, false)) };
}

fn sign_with(ca: Option<Arc<CertificateAuthority>>, allow_ca: bool) {
    SIGNER.with(|s| *s.borrow_mut() = (ca, allow_ca));
}

/// A second CA, to change the signer.
fn other_ca() -> Arc<CertificateAuthority> {
    static CA: OnceLock<Arc<CertificateAuthority>> = OnceLock::new();
    CA.get_or_init(|| {
        let start = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap() - Duration::days(1);
        Arc::new(
            CertificateAuthority::self_signed_root(
                &RequestAttributes::new("Other CA"),
                PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap(),
                Duration::days(3650),
                start,
            )
            .unwrap(),
        )
    })
    .clone()
}

fn last() -> Summary {
    LAST.with(|l| l.borrow().clone())
}

/// Signs with a limit of 3 certificates per relation, so freed room matters; records how many
/// requirer bags each hook read, and what it reports (as the self-signed charm asks it).
struct Provider {
    bags_read: Rc<Cell<usize>>,
}

impl Charm for Provider {
    fn handle(&mut self, _event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        if !model.is_leader()? {
            return Ok(());
        }
        let provider = TlsProvider::new(endpoint());
        let mut state = provider.load(model)?;
        self.bags_read.set(state.bags_read());
        state.drop_certificates_without_csr();
        let (chosen, allow_ca) = SIGNER.with(|s| s.borrow().clone());
        let ca = chosen.unwrap_or_else(ca);
        let policy = IssuingPolicy {
            allow_ca,
            ..IssuingPolicy::default()
        };
        let signer = Signer {
            ca: &ca,
            issuers: &[],
            policy: &policy,
            names: None,
            validity: Duration::days(90),
            now: OffsetDateTime::from_unix_timestamp(model.now())?,
            provider_name: "ca",
            limit_per_relation: Some(3),
            limit_hint: "raise the limit",
        };
        state.sign_outstanding(&signer)?;
        let now = OffsetDateTime::from_unix_timestamp(model.now())?;
        let summary = Summary {
            issued: state.issued_count(),
            trusted_cas: state.trusted_cas(Some(ca.certificate().pem().trim()), now),
            relations_parsed: state.relations_parsed(),
        };
        LAST.with(|l| *l.borrow_mut() = summary);
        provider.commit(model, state)?;
        Ok(())
    }
}

fn ctx(bags_read: &Rc<Cell<usize>>) -> Context<Provider> {
    let b = bags_read.clone();
    Context::from_charmcraft_yaml(PROVIDER_META, move || Provider {
        bags_read: b.clone(),
    })
    .unwrap()
}

/// Six CSRs (P-256, made once) and one entry that is not a CSR.
fn pool() -> &'static [String] {
    static POOL: OnceLock<Vec<String>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut v: Vec<String> = (0..6)
            .map(|i| {
                let cn = format!("p{i}.example");
                let mut a = RequestAttributes::new(&cn);
                a.sans.push_str(&format!("DNS:{cn}")).unwrap();
                a.to_csr(&PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap())
                    .unwrap()
                    .pem()
                    .to_owned()
            })
            .collect();
        v.push("not a certificate request".to_owned());
        v
    })
}

fn bag(csrs: &[usize]) -> Databag {
    let list: Vec<Value> = csrs
        .iter()
        .map(|i| json!({"certificate_signing_request": pool()[*i], "ca": false}))
        .collect();
    Databag::from([(
        "certificate_signing_requests".to_owned(),
        serde_json::to_string(&list).unwrap(),
    )])
}

fn start() -> State {
    let mut s = State::new("ca/0".parse().unwrap()).with_leader(true);
    for (id, app) in RELATIONS {
        s = s.with_relation(
            Relation::new(endpoint(), id, app.parse().unwrap()).without_remote_units(),
        );
    }
    s
}

#[derive(Debug, Clone)]
enum Op {
    /// A unit writes its bag (joining if new).
    Unit {
        rel: usize,
        unit: u32,
        csrs: Vec<usize>,
    },
    /// A unit leaves.
    Depart { rel: usize, unit: u32 },
    /// The remote app writes its bag.
    App { rel: usize, csrs: Vec<usize> },
    /// update-status: a full read.
    Full,
}

fn op() -> impl Strategy<Value = Op> {
    let csrs = proptest::collection::vec(0usize..7, 0..4);
    prop_oneof![
        4 => (0usize..2, 0u32..3, csrs.clone()).prop_map(|(rel, unit, csrs)| Op::Unit { rel, unit, csrs }),
        2 => (0usize..2, 0u32..3).prop_map(|(rel, unit)| Op::Depart { rel, unit }),
        2 => (0usize..2, csrs).prop_map(|(rel, csrs)| Op::App { rel, csrs }),
        1 => Just(Op::Full),
    ]
}

fn relation(state: &mut State, rel: usize) -> &mut Relation {
    let id = RELATIONS[rel].0;
    state.relations.iter_mut().find(|r| r.id == id).unwrap()
}

/// Applies `op` to the remote side of `state` and returns the event Juju would send.
fn apply(state: &mut State, op: &Op) -> Event {
    let event = |rel: usize, unit: Option<UnitName>, departing: bool| {
        let (id, app) = RELATIONS[rel];
        let e = RelationEvent {
            relation: charm::RelationId::new(endpoint(), id),
            remote_app: Some(app.parse().unwrap()),
            remote_unit: unit.clone(),
            departing_unit: if departing { unit } else { None },
        };
        if departing {
            Event::RelationDeparted(e)
        } else {
            Event::RelationChanged(e)
        }
    };
    let unit_name = |rel: usize, unit: u32| -> UnitName {
        format!("{}/{unit}", RELATIONS[rel].1).parse().unwrap()
    };
    match op {
        Op::Unit { rel, unit, csrs } => {
            let name = unit_name(*rel, *unit);
            relation(state, *rel)
                .remote_units
                .insert(name.clone(), bag(csrs));
            event(*rel, Some(name), false)
        }
        Op::Depart { rel, unit } => {
            let name = unit_name(*rel, *unit);
            relation(state, *rel).remote_units.remove(&name);
            event(*rel, Some(name), true)
        }
        Op::App { rel, csrs } => {
            relation(state, *rel).remote_app_data = bag(csrs);
            event(*rel, None, false)
        }
        Op::Full => Event::UpdateStatus,
    }
}

fn published(state: &State) -> Vec<Databag> {
    state
        .relations
        .iter()
        .map(|r| r.local_app_data.clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn incremental_hooks_leave_what_a_full_read_would(ops in proptest::collection::vec(op(), 1..12)) {
        let bags_read = Rc::new(Cell::new(0));
        let ctx = ctx(&bags_read);
        let mut state = start();
        for op in &ops {
            let event = apply(&mut state, op);
            state = ctx.run(event, state).unwrap();
            let incremental = last();
            // The same state without the index: a full read must change nothing.
            let mut fresh = state.clone();
            let mut memory = fresh.stored[STATE_KEY].clone();
            memory["index"] = Value::Null;
            fresh.stored.insert(STATE_KEY.into(), memory);
            let full = ctx.run(Event::UpdateStatus, fresh).unwrap();
            prop_assert_eq!(published(&full), published(&state), "after {:?}", op);
            prop_assert_eq!(&full.stored[STATE_KEY]["index"], &state.stored[STATE_KEY]["index"]);
            let full = last();
            prop_assert_eq!(incremental.issued, full.issued);
            prop_assert_eq!(incremental.trusted_cas, full.trusted_cas);
        }
    }
}

/// With an index, a unit's relation-changed reads two bags (that unit's and the app's), however
/// many units there are; without one, or in update-status, every bag.
#[test]
fn a_relation_changed_reads_only_the_changed_bag_and_the_app_bag() {
    let bags_read = Rc::new(Cell::new(0));
    let ctx = ctx(&bags_read);
    let mut state = start();
    for unit in 0..3 {
        let e = apply(
            &mut state,
            &Op::Unit {
                rel: 0,
                unit,
                csrs: vec![unit as usize],
            },
        );
        state = ctx.run(e, state).unwrap();
    }
    let e = apply(
        &mut state,
        &Op::Unit {
            rel: 1,
            unit: 0,
            csrs: vec![3],
        },
    );
    state = ctx.run(e, state).unwrap();
    let e = apply(
        &mut state,
        &Op::Unit {
            rel: 0,
            unit: 1,
            csrs: vec![1, 4],
        },
    );
    state = ctx.run(e, state).unwrap();
    assert_eq!(bags_read.get(), 2, "req/1's bag and req's app bag");
    assert_eq!(
        last().relations_parsed,
        1,
        "the other relation is settled and untouched: not parsed"
    );
    assert_eq!(last().issued, 4);
    let certs: Vec<Value> =
        serde_json::from_str(&state.relations[0].local_app_data["certificates"]).unwrap();
    assert_eq!(certs.len(), 3, "limit 3: p0, p1, p2 (p4 over the limit)");
    ctx.run(Event::UpdateStatus, state).unwrap();
    assert_eq!(
        bags_read.get(),
        3 + 1 + 2,
        "every unit and app bag of both relations"
    );
}

/// An index written by an earlier leadership period is not trusted blindly: certificates another
/// leader published meanwhile for requests it does not know make the hook read everything
/// (else they would be withdrawn as unwanted).
#[test]
fn an_index_from_an_earlier_leadership_is_caught() {
    let bags_read = Rc::new(Cell::new(0));
    let ctx = ctx(&bags_read);
    let mut state = start();
    for (rel, unit, csrs) in [(0, 0, vec![0]), (0, 1, vec![1]), (1, 0, vec![2])] {
        let e = apply(&mut state, &Op::Unit { rel, unit, csrs });
        state = ctx.run(e, state).unwrap();
    }
    let old_memory = state.stored.clone();
    // Another leader (no memory of its own) serves req/1's second request.
    relation(&mut state, 0)
        .remote_units
        .insert("req/1".parse().unwrap(), bag(&[1, 3]));
    state.stored.clear();
    state = ctx.run(Event::UpdateStatus, state).unwrap();
    let before = published(&state);
    // Back to the first leader, with its old index, on another relation's event.
    state.stored = old_memory;
    let e = apply(
        &mut state,
        &Op::Unit {
            rel: 1,
            unit: 0,
            csrs: vec![2],
        },
    );
    state = ctx.run(e, state).unwrap();
    assert_eq!(
        published(&state),
        before,
        "a certificate of the other leader was dropped"
    );
    assert_eq!(
        bags_read.get(),
        5,
        "everything read: 3 unit bags and 2 app bags"
    );
}

/// The same, with the event on the relation the other leader served (the review's case: that
/// relation's own bag was trusted from the index, and the other leader's certificate dropped).
#[test]
fn an_index_from_an_earlier_leadership_is_caught_on_the_changed_relation() {
    let bags_read = Rc::new(Cell::new(0));
    let ctx = ctx(&bags_read);
    let mut state = start();
    for (rel, unit, csrs) in [(0, 0, vec![0]), (0, 1, vec![1]), (1, 0, vec![2])] {
        let e = apply(&mut state, &Op::Unit { rel, unit, csrs });
        state = ctx.run(e, state).unwrap();
    }
    let old_memory = state.stored.clone();
    relation(&mut state, 0)
        .remote_units
        .insert("req/1".parse().unwrap(), bag(&[1, 3]));
    state.stored.clear();
    state = ctx.run(Event::UpdateStatus, state).unwrap();
    let before = published(&state);
    state.stored = old_memory;
    // req/0 of the same relation changes (asks for what it asked before).
    let e = apply(
        &mut state,
        &Op::Unit {
            rel: 0,
            unit: 0,
            csrs: vec![0],
        },
    );
    state = ctx.run(e, state).unwrap();
    assert_eq!(
        published(&state),
        before,
        "a certificate of the other leader was dropped"
    );
    assert_eq!(bags_read.get(), 5, "everything read again");
}

/// A hook with nothing new leaves the charm state as it was (so the state file is not written
/// again): the memory serializes in a stable order.
#[test]
fn a_hook_with_nothing_new_leaves_the_charm_state_unchanged() {
    let bags_read = Rc::new(Cell::new(0));
    let ctx = ctx(&bags_read);
    let mut state = start();
    for unit in 0..3 {
        let e = apply(
            &mut state,
            &Op::Unit {
                rel: 0,
                unit,
                csrs: vec![unit as usize, 6],
            },
        );
        state = ctx.run(e, state).unwrap();
    }
    let settled = ctx.run(Event::UpdateStatus, state).unwrap();
    let again = ctx.run(Event::UpdateStatus, settled.clone()).unwrap();
    assert_eq!(again.stored, settled.stored);
}

/// `state` without the provider's index: what a full read starts from.
fn without_index(state: &State) -> State {
    let mut fresh = state.clone();
    let mut memory = fresh.stored[STATE_KEY].clone();
    memory["index"] = Value::Null;
    fresh.stored.insert(STATE_KEY.into(), memory);
    fresh
}

/// A request for a CA certificate, refused by the policy: an answered request, so its relation
/// is settled and later left unparsed.
fn ca_request_bag() -> Databag {
    let list = json!([{"certificate_signing_request": pool()[2], "ca": true}]);
    Databag::from([("certificate_signing_requests".to_owned(), list.to_string())])
}

/// A changed signer judges every answer again, also on a relation nothing touched: it is parsed
/// then, and the hook publishes what a full read would.
#[test]
fn a_changed_signer_reaches_relations_nothing_touched() {
    sign_with(None, false);
    let bags_read = Rc::new(Cell::new(0));
    let ctx = ctx(&bags_read);
    let mut state = start();
    relation(&mut state, 1)
        .remote_units
        .insert("other/0".parse().unwrap(), ca_request_bag());
    state = ctx.run(Event::UpdateStatus, state).unwrap();
    let refused: Value =
        serde_json::from_str(&relation(&mut state, 1).local_app_data["request_errors"]).unwrap();
    assert_eq!(
        refused.as_array().map(Vec::len),
        Some(1),
        "the CA request is refused"
    );
    let e = apply(
        &mut state,
        &Op::Unit {
            rel: 0,
            unit: 0,
            csrs: vec![0],
        },
    );
    state = ctx.run(e.clone(), state).unwrap();
    assert_eq!(
        last().relations_parsed,
        1,
        "the other relation is left unparsed"
    );

    // CA certificates are allowed now: the next relation hook on req re-judges other's refusal.
    sign_with(None, true);
    let full = ctx.run(Event::UpdateStatus, without_index(&state)).unwrap();
    let incremental = ctx.run(e, state).unwrap();
    sign_with(None, false);
    assert_eq!(
        last().relations_parsed,
        2,
        "parsed because the signer changed"
    );
    let issued: Value =
        serde_json::from_str(&incremental.relations[1].local_app_data["certificates"]).unwrap();
    assert_eq!(
        issued.as_array().map(Vec::len),
        Some(1),
        "the CA request is now issued"
    );
    assert_eq!(answered(&incremental), answered(&full));
}

/// Per relation: the CSRs that have a certificate (whose bytes differ from run to run: random
/// serials) and the errors published.
fn answered(state: &State) -> Vec<(Vec<String>, Option<String>)> {
    state
        .relations
        .iter()
        .map(|r| {
            let certs: Vec<Value> = r
                .local_app_data
                .get("certificates")
                .map(|v| serde_json::from_str(v).unwrap())
                .unwrap_or_default();
            let csrs = certs
                .iter()
                .map(|c| {
                    c["certificate_signing_request"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect();
            (csrs, r.local_app_data.get("request_errors").cloned())
        })
        .collect()
}

/// Certificates under a CA that is no longer the signer's keep that CA trusted; a relation
/// nothing touched is parsed to tell whether any of them is still valid, and says what a full
/// read says.
#[test]
fn an_old_ca_on_an_untouched_relation_is_judged_as_a_full_read_judges_it() {
    sign_with(None, false);
    let bags_read = Rc::new(Cell::new(0));
    let ctx = ctx(&bags_read);
    let mut state = start();
    for (rel, unit, csrs) in [(0, 0, vec![0]), (1, 0, vec![1])] {
        let e = apply(&mut state, &Op::Unit { rel, unit, csrs });
        state = ctx.run(e, state).unwrap();
    }
    // A new CA: the first hook under it judges everything again (nothing to re-issue: the
    // certificates under the old CA are valid).
    sign_with(Some(other_ca()), false);
    state = ctx.run(Event::UpdateStatus, state).unwrap();
    let e = apply(
        &mut state,
        &Op::Unit {
            rel: 0,
            unit: 0,
            csrs: vec![0],
        },
    );
    let incremental = ctx.run(e, state.clone()).unwrap();
    let seen = last();
    let full = ctx.run(Event::UpdateStatus, without_index(&state)).unwrap();
    sign_with(None, false);
    assert_eq!(seen.trusted_cas, last().trusted_cas);
    assert_eq!(seen.issued, 2);
    let old = ca().certificate().pem().trim().to_owned();
    assert!(
        seen.trusted_cas.contains(&old),
        "the old CA is still trusted"
    );
    assert_eq!(
        seen.relations_parsed, 2,
        "the untouched relation is parsed: its certificates are under the old CA"
    );
    assert_eq!(published(&incremental), published(&full));
}
