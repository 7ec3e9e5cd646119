//! The example charm under the in-memory harness.

use charm::event::ActionEvent;
use charm::testing::{Context, Relation, State};
use charm::{Event, PortSpec, Status};
use example_charm::{Example, TOKEN_ID_KEY, TOKEN_LABEL};

fn ctx() -> Context<Example> {
    Context::from_charmcraft_yaml(include_str!("../charmcraft.yaml"), || Example).unwrap()
}

fn peers(others: &[&str]) -> Relation {
    Relation::peer(
        "cluster".parse().unwrap(),
        1,
        "example".parse().unwrap(),
        others.iter().map(|u| u.parse().unwrap()),
    )
}

fn website() -> Relation {
    Relation::new("website".parse().unwrap(), 5, "proxy".parse().unwrap())
}

#[test]
fn leader_creates_and_shares_the_token_and_publishes_the_url() {
    let state = State::new("example/0".parse().unwrap())
        .with_leader(true)
        .with_relation(peers(&["example/1"]))
        .with_relation(website())
        .with_config("port", 9000);
    let out = ctx().run(Event::LeaderElected, state).unwrap();

    let token = out
        .secret_by_label(TOKEN_LABEL)
        .expect("token secret created");
    let shared = &out.relation(1).unwrap().local_app_data[TOKEN_ID_KEY];
    assert_eq!(shared, &token.id().unwrap().to_string());
    let web = out.relation(5).unwrap();
    assert_eq!(web.local_app_data["port"], "9000");
    assert_eq!(web.local_app_data["greeting"], "hello");
    assert_eq!(web.local_unit_data["hostname"], "127.0.1.1");
    assert!(out.opened_ports.contains(&PortSpec::tcp(9000)));
    assert_eq!(out.unit_status, Status::active("serving on port 9000"));
    assert_eq!(
        out.workload_version.as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );

    // Idempotent: a second reconcile creates no second secret.
    let again = ctx().run(Event::UpdateStatus, out).unwrap();
    assert_eq!(again.secrets.len(), 1);
    assert_eq!(again.stored["published-port"], 9000);

    // A port change closes the old port.
    let changed = ctx()
        .run(Event::ConfigChanged, again.with_config("port", 9443))
        .unwrap();
    assert_eq!(
        changed.opened_ports.iter().copied().collect::<Vec<_>>(),
        [PortSpec::tcp(9443)]
    );
}

#[test]
fn follower_waits_for_the_token_then_reads_it() {
    let follower = State::new("example/1".parse().unwrap())
        .with_relation(peers(&["example/0"]))
        .with_relation(website());
    let out = ctx().run(Event::ConfigChanged, follower.clone()).unwrap();
    assert_eq!(
        out.unit_status,
        Status::waiting("waiting for the leader to share the token")
    );
    assert!(
        out.relation(5).unwrap().local_app_data.is_empty(),
        "only the leader writes the app bag"
    );

    // The leader's run, then copy what Juju would share: the peer app bag and the app secret.
    let leader = State::new("example/0".parse().unwrap())
        .with_leader(true)
        .with_relation(peers(&["example/1"]));
    let led = ctx().run(Event::LeaderElected, leader).unwrap();
    let mut follower = out;
    follower.relations[0].local_app_data = led.relation(1).unwrap().local_app_data.clone();
    follower.secrets = led.secrets.clone();
    let out = ctx()
        .run(
            Event::RelationChanged(charm::event::RelationEvent {
                relation: "cluster:1".parse().unwrap(),
                remote_app: Some("example".parse().unwrap()),
                remote_unit: None,
                departing_unit: None,
            }),
            follower,
        )
        .unwrap();
    assert_eq!(out.unit_status, Status::active("serving on port 8080"));
}

#[test]
fn get_url_action() {
    let mut state = State::new("example/0".parse().unwrap());
    state.action.params.insert("path".into(), "/health".into());
    let out = ctx()
        .run(
            Event::Action(ActionEvent {
                name: "get-url".into(),
                id: "1".into(),
            }),
            state,
        )
        .unwrap();
    assert_eq!(out.action.results["url"], "http://127.0.1.1:8080/health");
    assert_eq!(out.action.failure, None);

    // Without the parameter, the default declared in charmcraft.yaml applies.
    let out = ctx()
        .run(
            Event::Action(ActionEvent {
                name: "get-url".into(),
                id: "2".into(),
            }),
            State::new("example/0".parse().unwrap()),
        )
        .unwrap();
    assert_eq!(out.action.results["url"], "http://127.0.1.1:8080/");
}
