//! The interface state in, state out (`charm::testing`): a leader and a follower, their bags
//! carried from one unit's output to the other's input as Juju would carry them.

use charm::testing::{Context, Relation, SecretOwnerEntity, State};
use charm::{Charm, Event, HandlerError, Model, Status, StatusKind, UnitName};
use pki::{Certificate, RequestAttributes};

use super::*;

const META: &str = "name: tls\npeers:\n  cluster:\n    interface: tls\n";

/// A charm that only runs the interface and says its state in the unit status.
struct Peer;

impl Charm for Peer {
    fn handle(&mut self, _event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let name = model.unit().to_string().replace('/', "-");
        let mut request = RequestAttributes::new(name.clone());
        request.sans.push_str(&format!("DNS:{name}"))?;
        let tls = PeerTls::new("cluster".parse()?, request);
        tls.reconcile(model)?;
        let status = match tls.state(model)? {
            UnitState::Available(c) => {
                Status::active(format!("serial {}", c.certificate.info().serial))
            }
            other => Status::waiting(format!("{other:?}")),
        };
        model.set_unit_status(status)?;
        Ok(())
    }
}

fn unit(name: &str) -> UnitName {
    name.parse().unwrap()
}

fn context() -> Context<Peer> {
    Context::from_charmcraft_yaml(META, || Peer).unwrap()
}

/// The peer relation as a unit sees it, with these other units (default bags).
fn peers(others: &[&str]) -> Relation {
    Relation::peer(
        "cluster".parse().unwrap(),
        1,
        "tls".parse().unwrap(),
        others.iter().map(|u| unit(u)),
    )
}

#[test]
fn leader_signs_itself_and_its_peers_and_a_follower_takes_its_certificate() {
    let ctx = context();
    // The follower's first hook: a key in a unit secret, a CSR in its bag; nothing signed yet.
    let follower = ctx
        .run(
            Event::UpdateStatus,
            State::new(unit("tls/1")).with_relation(peers(&["tls/0"])),
        )
        .unwrap();
    assert_eq!(follower.unit_status.kind, StatusKind::Waiting);
    let key_secret = follower
        .secret_by_label("peer-tls-private-key-cluster")
        .expect("the unit's key secret");
    assert_eq!(key_secret.owner, SecretOwnerEntity::Unit(unit("tls/1")));
    let follower_bag = follower.relation(1).unwrap().local_unit_data.clone();
    assert!(follower_bag["csr"].starts_with("-----BEGIN CERTIFICATE REQUEST-----"));

    // The leader sees that CSR, and a peer whose CSR is garbage.
    let relation = peers(&[])
        .with_remote_unit(unit("tls/1"), follower_bag.clone())
        .with_remote_unit(
            unit("tls/2"),
            [("csr".to_owned(), "not a CSR".to_owned())].into(),
        );
    let leader = ctx
        .run(
            Event::UpdateStatus,
            State::new(unit("tls/0"))
                .with_leader(true)
                .with_relation(relation),
        )
        .unwrap();
    assert_eq!(
        leader.unit_status.kind,
        StatusKind::Active,
        "{:?}",
        leader.unit_status
    );
    let ca_secret = leader
        .secret_by_label("peer-tls-ca-cluster")
        .expect("the CA secret");
    assert_eq!(
        ca_secret.owner,
        SecretOwnerEntity::App("tls".parse().unwrap())
    );
    let r = leader.relation(1).unwrap();
    let ca_pem = r.local_app_data["certificate_authority"].clone();
    let ca = Certificate::from_pem(&ca_pem).unwrap();
    assert_eq!(
        ca.pem().trim(),
        ca_secret.content().unwrap()["ca-certificate"].trim()
    );
    // No key material outside secrets.
    for value in r.local_app_data.values().chain(r.local_unit_data.values()) {
        assert!(!value.contains("PRIVATE KEY"));
    }
    assert!(r.local_unit_data.contains_key("tls/0_signed_certificate"));
    assert!(r.local_unit_data.contains_key("tls/1_signed_certificate"));
    assert!(!r.local_unit_data.contains_key("tls/2_signed_certificate"));
    let refusal = leader
        .logs
        .iter()
        .find(|(_, line)| line.contains("refused"))
        .expect("the refusal is logged");
    assert!(refusal.1.contains("unit tls/2, key csr"), "{}", refusal.1);

    // The follower's next hook sees the leader's bag and the application bag.
    let mut relation = peers(&[]).with_remote_unit(unit("tls/0"), r.local_unit_data.clone());
    relation.local_unit_data = follower_bag;
    relation.local_app_data = r.local_app_data.clone();
    let mut state = follower.clone();
    state.relations = vec![relation];
    let follower = ctx.run(Event::UpdateStatus, state).unwrap();
    assert_eq!(
        follower.unit_status.kind,
        StatusKind::Active,
        "{:?}",
        follower.unit_status
    );
    let cert = Certificate::from_pem(&r.local_unit_data["tls/1_signed_certificate"]).unwrap();
    assert!(follower.unit_status.message.contains(&cert.info().serial));
    // The key it made in its first hook is the one certified: it was not made again.
    assert_eq!(
        follower.secret_by_label("peer-tls-private-key-cluster"),
        Some(key_secret)
    );
}

/// A unit that led and no longer does keeps the certificates it published until the new
/// leader's bag holds them, so no unit is ever without one; then it drops them.
#[test]
fn a_former_leader_drops_its_entries_only_once_the_new_leader_publishes() {
    let ctx = context();
    // tls/0 leads and signs for itself and tls/1.
    let follower = ctx
        .run(
            Event::UpdateStatus,
            State::new(unit("tls/1")).with_relation(peers(&["tls/0"])),
        )
        .unwrap();
    let follower_bag = follower.relation(1).unwrap().local_unit_data.clone();
    let leader = ctx
        .run(
            Event::UpdateStatus,
            State::new(unit("tls/0"))
                .with_leader(true)
                .with_relation(peers(&[]).with_remote_unit(unit("tls/1"), follower_bag.clone())),
        )
        .unwrap();
    let signed = |bag: &Databag| {
        bag.keys()
            .filter(|k| k.ends_with("_signed_certificate"))
            .cloned()
            .collect::<Vec<_>>()
    };
    let old_bag = leader.relation(1).unwrap().local_unit_data.clone();
    assert_eq!(signed(&old_bag).len(), 2);

    // Leadership moves to tls/1; tls/0 runs first and nobody else publishes yet: it keeps them.
    let mut state = leader.clone();
    state.leader = false;
    let kept = ctx
        .run(Event::LeaderSettingsChanged, state.clone())
        .unwrap();
    assert_eq!(kept.relation(1).unwrap().local_unit_data, old_bag);
    assert_eq!(kept.unit_status.kind, StatusKind::Active);

    // tls/1 leads: it adopts both certificates byte for byte.
    let mut relation = peers(&[]).with_remote_unit(unit("tls/0"), old_bag.clone());
    relation.local_unit_data = follower_bag;
    relation.local_app_data = leader.relation(1).unwrap().local_app_data.clone();
    let mut new_leader_state = follower.clone().with_leader(true);
    new_leader_state.relations = vec![relation];
    // The application secret is the application's: the new leader sees the one tls/0 made.
    new_leader_state.secrets.push(
        leader
            .secret_by_label("peer-tls-ca-cluster")
            .expect("CA secret")
            .clone(),
    );
    let new_leader = ctx.run(Event::LeaderElected, new_leader_state).unwrap();
    let new_bag = new_leader.relation(1).unwrap().local_unit_data.clone();
    for key in signed(&old_bag) {
        assert_eq!(
            new_bag.get(&key),
            old_bag.get(&key),
            "{key} was not adopted"
        );
    }

    // tls/0 sees the new leader's bag: it drops its own entries, and keeps its certificate.
    state.relations[0] = state.relations[0]
        .clone()
        .with_remote_unit(unit("tls/1"), new_bag);
    let dropped = ctx.run(Event::UpdateStatus, state).unwrap();
    assert!(signed(&dropped.relation(1).unwrap().local_unit_data).is_empty());
    assert_eq!(dropped.unit_status, kept.unit_status);
}
