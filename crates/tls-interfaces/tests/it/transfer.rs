use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use charm::testing::{Context, Relation, State};
use charm::{Charm, Databag, Event, HandlerError, Model};
use juju_tls_interfaces::{
    Misuse, TransferEvent, TransferProvider, TransferRequirer, to_python_json,
};

const PROVIDER_META: &str =
    "name: ca\nprovides:\n  send-ca-cert:\n    interface: certificate_transfer\n";
const REQUIRER_META: &str =
    "name: client\nrequires:\n  receive-ca-cert:\n    interface: certificate_transfer\n";

struct Publisher(BTreeSet<String>);

impl Charm for Publisher {
    fn handle(&mut self, _e: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        TransferProvider::new("send-ca-cert".parse()?).publish(model, &self.0)?;
        Ok(())
    }
}

struct Receiver(Rc<RefCell<Vec<TransferEvent>>>);

impl Charm for Receiver {
    fn handle(&mut self, e: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let events = TransferRequirer::new("receive-ca-cert".parse()?).handle(e, model)?;
        self.0.borrow_mut().extend(events);
        Ok(())
    }
}

fn pems() -> BTreeSet<String> {
    let ca = crate::world::ca();
    BTreeSet::from([ca.certificate().pem().trim().to_owned()])
}

fn publish(requirer_app: Databag, certs: BTreeSet<String>) -> State {
    let ctx =
        Context::from_charmcraft_yaml(PROVIDER_META, move || Publisher(certs.clone())).unwrap();
    let rel = Relation::new(
        "send-ca-cert".parse().unwrap(),
        3,
        "client".parse().unwrap(),
    )
    .with_remote_app_data(requirer_app);
    let state = State::new("ca/0".parse().unwrap())
        .with_leader(true)
        .with_relation(rel);
    ctx.run(Event::UpdateStatus, state).unwrap()
}

#[test]
fn v1_requirers_get_the_set_in_the_app_bag() {
    let out = publish(Databag::from([("version".into(), "1".into())]), pems());
    let rel = out.relation(3).unwrap();
    assert_eq!(rel.local_app_data["version"], "1");
    let list: Vec<String> = serde_json::from_str(&rel.local_app_data["certificates"]).unwrap();
    assert_eq!(list.into_iter().collect::<BTreeSet<_>>(), pems());
    assert!(
        !rel.local_unit_data.contains_key("chain"),
        "no v0 data for a v1 requirer"
    );
}

#[test]
fn v0_requirers_also_get_json_quoted_unit_data_and_removal_clears_it() {
    let out = publish(Databag::new(), pems());
    let rel = out.relation(3).unwrap();
    let pem = pems().into_iter().next().unwrap();
    assert_eq!(rel.local_unit_data["version"], "0");
    assert_eq!(
        rel.local_unit_data["ca"],
        serde_json::to_string(&pem).unwrap()
    );
    assert_eq!(
        rel.local_unit_data["certificate"],
        serde_json::to_string(&pem).unwrap()
    );
    let empty = publish(Databag::new(), BTreeSet::new());
    assert!(
        !empty
            .relation(3)
            .unwrap()
            .local_unit_data
            .contains_key("ca")
    );
}

fn receive(provider_app: Databag, provider_unit: Databag) -> (State, Vec<TransferEvent>) {
    let events = Rc::new(RefCell::new(Vec::new()));
    let e = events.clone();
    let ctx = Context::from_charmcraft_yaml(REQUIRER_META, move || Receiver(e.clone())).unwrap();
    let rel = Relation::new("receive-ca-cert".parse().unwrap(), 4, "ca".parse().unwrap())
        .with_remote_app_data(provider_app)
        .with_remote_unit("ca/0".parse().unwrap(), provider_unit);
    let state = State::new("client/0".parse().unwrap())
        .with_leader(true)
        .with_relation(rel);
    let out = ctx.run(Event::UpdateStatus, state).unwrap();
    let got = events.borrow().clone();
    (out, got)
}

#[test]
fn the_requirer_announces_v1_and_reads_v1_and_both_v0_encodings() {
    let pem = pems().into_iter().next().unwrap();
    let v1 = Databag::from([
        (
            "certificates".into(),
            serde_json::to_string(&vec![pem.clone()]).unwrap(),
        ),
        ("version".into(), "1".into()),
    ]);
    let (out, events) = receive(v1, Databag::new());
    assert_eq!(out.relation(4).unwrap().local_app_data["version"], "1");
    assert_eq!(
        events,
        vec![TransferEvent::CertificatesAvailable {
            relation: "receive-ca-cert:4".into(),
            certificates: pems()
        }]
    );

    let quoted = Databag::from([
        ("ca".into(), serde_json::to_string(&pem).unwrap()),
        ("certificate".into(), serde_json::to_string(&pem).unwrap()),
        ("version".into(), "0".into()),
    ]);
    let (_, events) = receive(Databag::new(), quoted);
    assert_eq!(events.len(), 1);

    let raw = Databag::from([
        ("ca".into(), pem.clone()),
        ("certificate".into(), pem.clone()),
    ]);
    let (_, events) = receive(Databag::new(), raw);
    assert_eq!(
        events,
        vec![TransferEvent::CertificatesAvailable {
            relation: "receive-ca-cert:4".into(),
            certificates: pems()
        }]
    );
}

#[test]
fn an_unchanged_set_is_not_reported_twice_and_broken_reports_removal() {
    let events = Rc::new(RefCell::new(Vec::new()));
    let e = events.clone();
    let ctx = Context::from_charmcraft_yaml(REQUIRER_META, move || Receiver(e.clone())).unwrap();
    let pem = pems().into_iter().next().unwrap();
    let v1 = Databag::from([
        (
            "certificates".into(),
            serde_json::to_string(&vec![pem]).unwrap(),
        ),
        ("version".into(), "1".into()),
    ]);
    let rel = Relation::new("receive-ca-cert".parse().unwrap(), 4, "ca".parse().unwrap())
        .with_remote_app_data(v1);
    let state = State::new("client/0".parse().unwrap()).with_relation(rel);
    let out = ctx.run(Event::UpdateStatus, state).unwrap();
    let out = ctx.run(Event::UpdateStatus, out).unwrap();
    assert_eq!(events.borrow().len(), 1);
    let broken = Event::RelationBroken(charm::event::RelationEvent {
        relation: "receive-ca-cert:4".parse().unwrap(),
        remote_app: None,
        remote_unit: None,
        departing_unit: None,
    });
    ctx.run(broken, out).unwrap();
    assert!(matches!(
        events.borrow().last(),
        Some(TransferEvent::CertificatesRemoved { .. })
    ));
}

// ----- the per-relation calls: add, remove, remove_all, certificates_on, by relation, ready -----

type Script = Rc<dyn Fn(&mut Model<'_>) -> Result<(), HandlerError>>;

/// A charm that runs one script on every event.
struct Scripted(Script);

impl Charm for Scripted {
    fn handle(&mut self, _e: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        (self.0)(model)
    }
}

/// Runs `call` on our provider in one update-status hook of the `ca` charm.
pub(crate) fn provide(
    state: State,
    call: impl Fn(&TransferProvider, &mut Model<'_>) -> Result<(), juju_tls_interfaces::Error> + 'static,
) -> State {
    let provider = TransferProvider::new("send-ca-cert".parse().unwrap());
    let script: Script = Rc::new(move |model| Ok(call(&provider, model)?));
    let ctx =
        Context::from_charmcraft_yaml(PROVIDER_META, move || Scripted(script.clone())).unwrap();
    ctx.run(Event::UpdateStatus, state).unwrap()
}

/// Asks our requirer `query` in one update-status hook of the `client` charm.
pub(crate) fn ask<T: 'static>(
    state: State,
    query: impl Fn(&TransferRequirer, &mut Model<'_>) -> Result<T, juju_tls_interfaces::Error> + 'static,
) -> T {
    let answer = Rc::new(RefCell::new(None));
    let slot = answer.clone();
    let requirer = TransferRequirer::new("receive-ca-cert".parse().unwrap());
    let script: Script = Rc::new(move |model| {
        *slot.borrow_mut() = Some(query(&requirer, model)?);
        Ok(())
    });
    let ctx =
        Context::from_charmcraft_yaml(REQUIRER_META, move || Scripted(script.clone())).unwrap();
    ctx.run(Event::UpdateStatus, state).unwrap();
    answer.borrow_mut().take().unwrap()
}

/// A fake PEM: the provider never parses what it publishes.
pub(crate) fn pem(name: &str) -> String {
    format!("-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----")
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| pem(n)).collect()
}

fn rid(s: &str) -> charm::RelationId {
    s.parse().unwrap()
}

/// The `ca` leader related to a v1 requirer (relation 3) and a v0 one (relation 5).
fn two_requirers(leader: bool) -> State {
    let v1 = Relation::new(
        "send-ca-cert".parse().unwrap(),
        3,
        "client".parse().unwrap(),
    )
    .with_remote_app_data(Databag::from([("version".into(), "1".into())]));
    let v0 = Relation::new("send-ca-cert".parse().unwrap(), 5, "old".parse().unwrap());
    State::new("ca/0".parse().unwrap())
        .with_leader(leader)
        .with_relation(v1)
        .with_relation(v0)
}

/// The set published on relation `id` (our app bag).
fn published(state: &State, id: u32) -> BTreeSet<String> {
    let bag = &state.relation(id).unwrap().local_app_data;
    serde_json::from_str(&bag["certificates"]).unwrap()
}

#[test]
fn add_is_a_union_per_relation() {
    let out = provide(two_requirers(true), |t, m| t.add(m, &set(&["a"]), None));
    assert_eq!(published(&out, 3), set(&["a"]));
    assert_eq!(published(&out, 5), set(&["a"]));

    let out = provide(out, |t, m| {
        t.add(m, &set(&["b"]), Some(&rid("send-ca-cert:3")))
    });
    assert_eq!(published(&out, 3), set(&["a", "b"]));
    assert_eq!(published(&out, 5), set(&["a"]), "relation 5 untouched");

    let out = provide(out, |t, m| t.add(m, &set(&["c"]), None));
    assert_eq!(published(&out, 3), set(&["a", "b", "c"]));
    assert_eq!(published(&out, 5), set(&["a", "c"]));
    // v0 for the requirer that did not announce v1, sorted as the Python library sorts.
    let unit = &out.relation(5).unwrap().local_unit_data;
    assert_eq!(unit["chain"], to_python_json(&set(&["a", "c"])));
    assert_eq!(unit["ca"], to_python_json(&pem("a")));
    assert!(
        !out.relation(3)
            .unwrap()
            .local_unit_data
            .contains_key("chain")
    );

    // Whitespace around a PEM does not make it another certificate.
    let again = provide(out.clone(), |t, m| {
        t.add(m, &BTreeSet::from([format!("{}\n", pem("a"))]), None)
    });
    assert_eq!(again.relations, out.relations);
}

#[test]
fn remove_takes_one_certificate_from_one_relation_only() {
    let out = provide(two_requirers(true), |t, m| {
        t.add(m, &set(&["a", "b"]), None)
    });
    let out = provide(out, |t, m| {
        t.remove(m, &pem("a"), Some(&rid("send-ca-cert:3")))
    });
    assert_eq!(published(&out, 3), set(&["b"]));
    assert_eq!(published(&out, 5), set(&["a", "b"]), "relation 5 untouched");

    let out = provide(out, |t, m| t.remove(m, &pem("b"), None));
    assert_eq!(published(&out, 3), set(&[]));
    assert_eq!(published(&out, 5), set(&["a"]));
    let unit = &out.relation(5).unwrap().local_unit_data;
    assert_eq!(unit["chain"], to_python_json(&set(&["a"])));

    // Removing what a relation does not hold writes nothing.
    let same = provide(out.clone(), |t, m| t.remove(m, &pem("zzz"), None));
    assert_eq!(same.relations, out.relations);
}

#[test]
fn remove_all_empties_one_relation_or_all_and_withdraws_v0_keys() {
    let out = provide(two_requirers(true), |t, m| {
        t.add(m, &set(&["a", "b"]), None)
    });
    let out = provide(out, |t, m| t.remove_all(m, Some(&rid("send-ca-cert:5"))));
    assert_eq!(published(&out, 5), set(&[]));
    assert_eq!(out.relation(5).unwrap().local_app_data["version"], "1");
    let unit = &out.relation(5).unwrap().local_unit_data;
    for key in ["ca", "certificate", "chain", "version"] {
        assert!(!unit.contains_key(key), "v0 key {key} withdrawn");
    }
    assert!(
        unit.contains_key("ingress-address"),
        "Juju's keys are not ours to clear"
    );
    assert_eq!(published(&out, 3), set(&["a", "b"]), "relation 3 untouched");

    let out = provide(out, |t, m| t.remove_all(m, None));
    assert_eq!(published(&out, 3), set(&[]));

    // After a remove_all, add starts from the empty set (the Python library, on a v0 relation,
    // reads its stale unit bag and brings the removed certificates back).
    let out = provide(out, |t, m| t.add(m, &set(&["c"]), None));
    assert_eq!(published(&out, 5), set(&["c"]));
}

#[test]
fn add_keeps_what_an_earlier_v0_only_provider_left_in_the_unit_bag() {
    let mut state = two_requirers(true);
    let unit = &mut state.relations[1].local_unit_data;
    unit.insert("ca".into(), to_python_json(&pem("a")));
    unit.insert("certificate".into(), to_python_json(&pem("a")));
    unit.insert("chain".into(), to_python_json(&[pem("a")]));
    unit.insert("version".into(), "0".into());
    let out = provide(state, |t, m| t.add(m, &set(&["b"]), None));
    assert_eq!(published(&out, 5), set(&["a", "b"]));
    assert_eq!(
        published(&out, 3),
        set(&["b"]),
        "v0 data of relation 5 only"
    );
}

#[test]
fn non_leaders_and_gone_relations_write_nothing_and_another_endpoint_is_refused() {
    let before = two_requirers(false);
    let out = provide(before.clone(), |t, m| {
        t.add(m, &set(&["a"]), None)?;
        t.remove(m, &pem("a"), None)?;
        t.remove_all(m, None)?;
        t.publish(m, &set(&["a"]))
    });
    assert_eq!(
        out.relations, before.relations,
        "a non-leader writes nothing"
    );

    let before = two_requirers(true);
    let out = provide(before.clone(), |t, m| {
        t.add(m, &set(&["a"]), Some(&rid("send-ca-cert:99")))?;
        t.remove_all(m, Some(&rid("send-ca-cert:99")))
    });
    assert_eq!(out.relations, before.relations, "relation 99 is gone");

    provide(two_requirers(true), |t, m| {
        let err = t.add(m, &set(&["a"]), Some(&rid("certificates:3")));
        assert!(
            matches!(
                err,
                Err(juju_tls_interfaces::Error::Misuse(Misuse::UnknownRelation(
                    _
                )))
            ),
            "{err:?}"
        );
        Ok(())
    });
}

/// The `client` unit related to: a v1 provider (4), a v0 provider (6), a provider that has
/// published nothing (8).
fn three_providers() -> State {
    let ep = || "receive-ca-cert".parse().unwrap();
    let v1 = Relation::new(ep(), 4, "ca".parse().unwrap()).with_remote_app_data(Databag::from([
        ("certificates".into(), to_python_json(&set(&["b", "a"]))),
        ("version".into(), "1".into()),
    ]));
    let v0 = Relation::new(ep(), 6, "old".parse().unwrap()).with_remote_unit(
        "old/0".parse().unwrap(),
        Databag::from([
            ("ca".into(), to_python_json(&pem("c"))),
            ("certificate".into(), to_python_json(&pem("c"))),
            ("chain".into(), to_python_json(&[pem("c")])),
            ("version".into(), "0".into()),
        ]),
    );
    let silent = Relation::new(ep(), 8, "quiet".parse().unwrap());
    State::new("client/0".parse().unwrap())
        .with_relation(v1)
        .with_relation(v0)
        .with_relation(silent)
}

#[test]
fn certificates_are_read_per_relation_and_by_relation() {
    let on = |id: &'static str| {
        ask(three_providers(), move |t, m| {
            t.certificates_on(m, &rid(id))
        })
    };
    assert_eq!(on("receive-ca-cert:4"), set(&["a", "b"]));
    assert_eq!(on("receive-ca-cert:6"), set(&["c"]));
    assert_eq!(on("receive-ca-cert:8"), set(&[]));
    assert_eq!(on("receive-ca-cert:99"), set(&[]), "a gone relation");

    let by_relation = ask(three_providers(), |t, m| t.certificates_by_relation(m));
    assert_eq!(
        by_relation,
        BTreeMap::from([
            (rid("receive-ca-cert:4"), set(&["a", "b"])),
            (rid("receive-ca-cert:6"), set(&["c"])),
            (rid("receive-ca-cert:8"), set(&[])),
        ])
    );
    let all = ask(three_providers(), |t, m| t.certificates(m));
    assert_eq!(all, set(&["a", "b", "c"]));

    let refused = ask(three_providers(), |t, m| {
        Ok(matches!(
            t.certificates_on(m, &rid("send-ca-cert:4")),
            Err(juju_tls_interfaces::Error::Misuse(Misuse::UnknownRelation(
                _
            )))
        ))
    });
    assert!(
        refused,
        "a relation of another endpoint is the caller's bug"
    );
}

#[test]
fn a_relation_is_ready_once_the_provider_published_well_formed_data() {
    let ready = |id: &'static str, state: State| ask(state, move |t, m| t.is_ready(m, &rid(id)));
    assert!(ready("receive-ca-cert:4", three_providers()), "v1");
    assert!(ready("receive-ca-cert:6", three_providers()), "v0");
    assert!(
        !ready("receive-ca-cert:8", three_providers()),
        "nothing yet"
    );
    assert!(!ready("receive-ca-cert:99", three_providers()), "gone");

    let with_app = |bag: &[(&str, &str)]| {
        let mut state = three_providers();
        state.relations[2].remote_app_data = bag
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ready("receive-ca-cert:8", state)
    };
    assert!(
        with_app(&[("certificates", "[]"), ("version", "1")]),
        "an empty set, published"
    );
    assert!(
        !with_app(&[("version", "1")]),
        "v1 announced, nothing published"
    );
    assert!(!with_app(&[("certificates", "not json")]));
    assert!(!with_app(&[("certificates", "\"a string\"")]));
    assert!(
        !with_app(&[("certificates", "[\"a\", 1]")]),
        "one bad entry"
    );
    assert!(!with_app(&[("certificates", "[\"a\"]"), ("version", "x")]));
    assert!(with_app(&[
        ("certificates", "[\"a\"]"),
        ("version", "\"1\"")
    ]));

    let with_unit = |bag: &[(&str, String)]| {
        let mut state = three_providers();
        state.relations[2].remote_units.insert(
            "quiet/0".parse().unwrap(),
            bag.iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        );
        ready("receive-ca-cert:8", state)
    };
    assert!(
        with_unit(&[("ca", pem("r")), ("certificate", pem("r"))]),
        "raw v0 PEM"
    );
    assert!(!with_unit(&[
        ("ca", to_python_json(&pem("r"))),
        ("chain", "nope".into())
    ]));

    // One bad entry makes the relation not ready, yet the good ones are still read.
    let mut state = three_providers();
    state.relations[2].remote_app_data = Databag::from([(
        "certificates".into(),
        format!("[{}, 1]", to_python_json(&pem("a"))),
    )]);
    let read = ask(state, |t, m| {
        t.certificates_on(m, &rid("receive-ca-cert:8"))
    });
    assert_eq!(read, set(&["a"]));
}

/// A unit that published v0 data as leader withdraws it once it no longer leads (the new
/// leader's bag carries the set), and touches nothing else; Python leaves it.
#[test]
fn a_former_leader_withdraws_the_v0_keys_it_wrote() {
    let led = provide(two_requirers(true), |t, m| t.publish(m, &set(&["a"])));
    let v0_bag = &led.relation(5).unwrap().local_unit_data;
    assert!(v0_bag.contains_key("ca") && v0_bag.contains_key("chain"));
    let mut follower = led.clone();
    follower.leader = false;
    let out = provide(follower, |t, m| t.publish(m, &set(&["a"])));
    let bag = &out.relation(5).unwrap().local_unit_data;
    for key in ["ca", "certificate", "chain", "version"] {
        assert!(!bag.contains_key(key), "{key} left in {bag:?}");
    }
    assert!(bag.contains_key("ingress-address"), "Juju's keys stay");
    assert_eq!(
        out.relation(5).unwrap().local_app_data,
        led.relation(5).unwrap().local_app_data,
        "the app bag is the leader's"
    );
}
