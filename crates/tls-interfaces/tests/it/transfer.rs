use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use charm::testing::{Context, Relation, State};
use charm::{Charm, Databag, Event, HandlerError, Model};
use juju_tls_interfaces::{TransferEvent, TransferProvider, TransferRequirer};

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
