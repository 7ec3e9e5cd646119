//! tls-demo's peer relation under the SDK's in-memory harness: the charm writes nothing into its
//! peer bag (peers find it by Juju's `ingress-address` and the `port` option), returns from peer
//! events without touching anything, and an upgraded unit removes the `address`/`port` keys
//! earlier versions wrote; the peer `tls` relation is as quiet while certificates come from the
//! `certificates` relation.

use charm::event::RelationEvent;
use charm::testing::{Context, Relation, State};
use charm::{Event, Status, StatusKind};
use tls_demo::TlsDemo;

const PEERS: u32 = 3;

fn ctx() -> Context<TlsDemo> {
    Context::from_charmcraft_yaml(include_str!("../charmcraft.yaml"), || TlsDemo).unwrap()
}

fn with_peers() -> State {
    let peers = Relation::peer(
        "peers".parse().unwrap(),
        PEERS,
        "tls-demo".parse().unwrap(),
        ["tls-demo/1".parse().unwrap(), "tls-demo/2".parse().unwrap()],
    );
    let mut state = State::new("tls-demo/0".parse().unwrap());
    state.unit_status = Status::active("serving");
    state.with_relation(peers)
}

fn peer_event(make: fn(RelationEvent) -> Event) -> Event {
    make(RelationEvent {
        relation: charm::RelationId::new("peers".parse().unwrap(), PEERS),
        remote_app: Some("tls-demo".parse().unwrap()),
        remote_unit: Some("tls-demo/1".parse().unwrap()),
        departing_unit: None,
    })
}

#[test]
fn peer_events_change_nothing() {
    let input = with_peers();
    for event in [
        peer_event(Event::RelationJoined),
        peer_event(Event::RelationChanged),
    ] {
        let out = ctx().run(event.clone(), input.clone()).unwrap();
        assert_eq!(out.relations, input.relations, "{event:?} wrote a bag");
        assert_eq!(out.unit_status, input.unit_status, "{event:?} set a status");
        assert!(out.logs.is_empty(), "{event:?} logged {:?}", out.logs);
    }
}

#[test]
fn an_upgraded_unit_drops_the_keys_earlier_versions_published() {
    let mut input = with_peers();
    let own = &mut input.relations[0].local_unit_data;
    own.insert("address".into(), "127.0.1.1".into());
    own.insert("port".into(), "8443".into());
    let out = ctx().run(Event::UpgradeCharm, input).unwrap();
    let own = &out.relation(PEERS).unwrap().local_unit_data;
    assert!(
        !own.contains_key("address") && !own.contains_key("port"),
        "{own:?}"
    );
    assert_eq!(
        own.get("ingress-address").map(String::as_str),
        Some("127.0.1.1"),
        "Juju's keys stay"
    );
    // Without a certificates relation the unit waits: the upgrade reconciled as usual.
    assert_eq!(
        out.unit_status.kind,
        StatusKind::Waiting,
        "{:?}",
        out.unit_status
    );
}

#[test]
fn a_reconcile_writes_nothing_into_the_peer_bag() {
    let input = with_peers();
    let out = ctx().run(Event::ConfigChanged, input.clone()).unwrap();
    assert_eq!(
        out.relation(PEERS).unwrap().local_unit_data,
        input.relation(PEERS).unwrap().local_unit_data
    );
}

/// The peer `tls` relation (`tls-peers`) exists in every deployment; while the certificates come
/// from the `certificates` relation (the default), its events change nothing either.
#[test]
fn tls_peer_events_change_nothing_while_certificates_come_from_the_relation() {
    let tls_peers = Relation::peer(
        "tls-peers".parse().unwrap(),
        PEERS + 1,
        "tls-demo".parse().unwrap(),
        ["tls-demo/1".parse().unwrap()],
    );
    let input = with_peers().with_relation(tls_peers);
    let event = Event::RelationChanged(RelationEvent {
        relation: charm::RelationId::new("tls-peers".parse().unwrap(), PEERS + 1),
        remote_app: Some("tls-demo".parse().unwrap()),
        remote_unit: Some("tls-demo/1".parse().unwrap()),
        departing_unit: None,
    });
    let out = ctx().run(event, input.clone()).unwrap();
    assert_eq!(out.relations, input.relations);
    assert_eq!(out.unit_status, input.unit_status);
    assert!(out.secrets.is_empty(), "{:?}", out.secrets);
}

/// `certificates-from=peers` signs unit certificates only: what needs a provider blocks the unit
/// with the fix, as does a source that does not exist; the hook does not fail.
#[test]
fn peers_mode_blocks_what_needs_a_provider() {
    for (option, value, words) in [
        ("mode", "app", "set mode unit or app-and-unit"),
        (
            "request-ca-certificate",
            "true",
            "request-ca-certificate needs certificates-from=relation",
        ),
    ] {
        let value: serde_json::Value = serde_json::from_str(value).unwrap_or(value.into());
        let input = with_peers()
            .with_config("certificates-from", "peers")
            .with_config(option, value);
        let out = ctx().run(Event::ConfigChanged, input).unwrap();
        assert_eq!(out.unit_status.kind, StatusKind::Blocked, "{option}");
        assert!(
            out.unit_status.message.contains(words),
            "{:?}",
            out.unit_status
        );
    }
    let out = ctx()
        .run(
            Event::ConfigChanged,
            with_peers().with_config("certificates-from", "ca-charm"),
        )
        .unwrap();
    assert_eq!(out.unit_status.kind, StatusKind::Blocked);
    assert!(
        out.unit_status.message.starts_with("invalid config"),
        "{:?}",
        out.unit_status
    );
}
