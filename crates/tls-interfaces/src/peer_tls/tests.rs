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
