//! The in-memory harness: state in, event, state out; and it refuses what Juju refuses, with
//! Juju's text (`juju-hook-environment.md` §6.1, §6.5, §7.1, §8.2).

use std::collections::BTreeMap;

use juju_charm::event::{ActionEvent, RelationEvent, SecretEvent};
use juju_charm::testing::{Context, Relation, RunError, Secret, SecretOwnerEntity, State};
use juju_charm::{
    BackendError, BagOwner, Charm, CustomEvent, Error, Event, HandlerError, Model, NewSecret,
    SecretLookup, SecretOwner, SecretRead, SecretUpdate, Status,
};

const META: &str = r#"
name: web
requires:
  certificates: {interface: tls-certificates}
peers:
  cluster: {interface: web-peers}
config:
  options:
    common-name: {type: string, default: banana}
    port: {type: int, default: 8443}
actions:
  get-cert:
    params:
      format: {type: string}
"#;

/// A charm whose behaviour is a closure, so each test states what the handler does.
struct Script(fn(&Event, &mut Model<'_>) -> Result<(), HandlerError>);

impl Charm for Script {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        (self.0)(event, model)
    }
}

fn ctx(f: fn(&Event, &mut Model<'_>) -> Result<(), HandlerError>) -> Context<Script> {
    Context::from_charmcraft_yaml(META, move || Script(f)).unwrap()
}

fn unit() -> State {
    State::new("web/0".parse().unwrap())
}

fn cert_relation() -> Relation {
    Relation::new("certificates".parse().unwrap(), 7, "ca".parse().unwrap()).with_remote_app_data(
        BTreeMap::from([("certificates".to_owned(), "[]".to_owned())]),
    )
}

fn rel_id() -> juju_charm::RelationId {
    "certificates:7".parse().unwrap()
}

fn changed() -> Event {
    Event::RelationChanged(RelationEvent {
        relation: rel_id(),
        remote_app: Some("ca".parse().unwrap()),
        remote_unit: None,
        departing_unit: None,
    })
}

/// The backend error of a failed run, and the state Juju keeps.
fn refused(r: Result<State, RunError>) -> (BackendError, State) {
    match r {
        Err(RunError::Hook {
            error: Error::Handler { source, .. },
            state,
        }) => {
            let e = source.downcast::<Error>().expect("an SDK error");
            match *e {
                Error::Backend(b) => (b, *state),
                other => panic!("not a backend error: {other}"),
            }
        }
        other => panic!("expected a refused hook, got {other:?}"),
    }
}

#[test]
fn writing_a_remote_bag_is_refused() {
    let c = ctx(|_, m| {
        m.set_relation_data(&rel_id(), &BagOwner::App("ca".parse()?), "k", "v")?;
        Ok(())
    });
    let (e, _) = refused(c.run(changed(), unit().with_relation(cert_relation())));
    assert!(matches!(&e, BackendError::PermissionDenied(_)));
    assert_eq!(e.to_string(), "permission denied");

    let c = ctx(|_, m| {
        m.set_relation_data(&rel_id(), &BagOwner::Unit("ca/0".parse()?), "k", "v")?;
        Ok(())
    });
    let (e, _) = refused(c.run(changed(), unit().with_relation(cert_relation())));
    assert_eq!(e.to_string(), "permission denied");
}

#[test]
fn non_leader_writing_app_bag_is_refused_with_juju_text() {
    let c = ctx(|_, m| {
        m.set_unit_status(Status::maintenance("trying"))?;
        let app = m.own_app_bag();
        m.set_relation_data(&rel_id(), &app, "k", "v")?;
        Ok(())
    });
    let (e, kept) = refused(c.run(changed(), unit().with_relation(cert_relation())));
    assert!(matches!(e, BackendError::NotLeader(_)));
    assert_eq!(e.to_string(), "cannot write relation settings");
    assert_eq!(
        kept.unit_status,
        Status::maintenance("trying"),
        "status is immediate and survives the failure"
    );
    assert!(kept.relation(7).unwrap().local_app_data.is_empty());

    // The leader may.
    let out = c
        .run(
            changed(),
            unit().with_leader(true).with_relation(cert_relation()),
        )
        .unwrap();
    assert_eq!(out.relation(7).unwrap().local_app_data["k"], "v");
}

#[test]
fn non_leader_reads_own_app_bag_only_on_peer_relations() {
    let c = ctx(|_, m| {
        let app = m.own_app_bag();
        m.relation_data(&rel_id(), &app)?;
        Ok(())
    });
    let (e, _) = refused(c.run(changed(), unit().with_relation(cert_relation())));
    assert_eq!(e.to_string(), "permission denied");

    let peers = Relation::peer(
        "cluster".parse().unwrap(),
        1,
        "web".parse().unwrap(),
        ["web/1".parse().unwrap()],
    );
    let c = ctx(|_, m| {
        let app = m.own_app_bag();
        let bag = m.relation_data(&"cluster:1".parse()?, &app)?;
        m.store("peer-app-keys", &bag.len())?;
        Ok(())
    });
    let out = c
        .run(Event::UpdateStatus, unit().with_relation(peers))
        .unwrap();
    assert_eq!(out.stored["peer-app-keys"], 0);
}

#[test]
fn reading_a_secret_not_granted_is_refused() {
    let foreign = Secret::new(
        "cq9e1u1mp25c77ab0abc",
        SecretOwnerEntity::App("ca".parse().unwrap()),
        BTreeMap::from([("ca-cert".to_owned(), "PEM".to_owned())]),
    );
    let c = ctx(|_, m| {
        m.secret(
            &SecretLookup::Id("secret:cq9e1u1mp25c77ab0abc".parse()?),
            SecretRead::Tracked,
        )?;
        Ok(())
    });
    let (e, _) = refused(c.run(Event::UpdateStatus, unit().with_secret(foreign.clone())));
    assert!(matches!(e, BackendError::PermissionDenied(_)));
    assert_eq!(e.to_string(), "permission denied");
    // Granted: readable, and the first read starts tracking.
    let out = c
        .run(
            Event::UpdateStatus,
            unit().with_secret(foreign.with_grant()),
        )
        .unwrap();
    assert_eq!(out.secrets[0].tracked, Some(1));
}

#[test]
fn unknown_secrets_give_juju_not_found_texts() {
    let c = ctx(|_, m| {
        m.secret(&SecretLookup::Label("nope".into()), SecretRead::Tracked)?;
        Ok(())
    });
    let (e, _) = refused(c.run(Event::UpdateStatus, unit()));
    assert!(matches!(e, BackendError::SecretNotFound(_)));
    assert_eq!(e.to_string(), "secret with label \"nope\" not found");
    let c = ctx(|_, m| {
        m.secret_info(&SecretLookup::Id("secret:d0000000000000000000".parse()?))?;
        Ok(())
    });
    let (e, _) = refused(c.run(Event::UpdateStatus, unit()));
    assert_eq!(e.to_string(), "secret \"d0000000000000000000\" not found");
}

#[test]
fn app_secrets_and_app_status_need_leadership() {
    let c = ctx(|_, m| {
        m.add_secret(&NewSecret {
            content: BTreeMap::from([("key".to_owned(), "v".to_owned())]),
            label: None,
            description: None,
            expire: None,
            rotate: None,
            owner: SecretOwner::Application,
        })?;
        Ok(())
    });
    let (e, _) = refused(c.run(Event::UpdateStatus, unit()));
    assert_eq!(e.to_string(), "this unit is not the leader");
    let c = ctx(|_, m| {
        m.set_app_status(Status::active(""))?;
        Ok(())
    });
    let (e, _) = refused(c.run(Event::UpdateStatus, unit()));
    assert_eq!(e.to_string(), "this unit is not the leader");
}

#[test]
fn secret_lifecycle_revisions_and_labels() {
    // relation-created of the TLS requirer (transcripts §3.1): add a unit secret, read it back by
    // label in the same hook.
    let c = ctx(|_, m| {
        let id = m.add_secret(&NewSecret {
            content: BTreeMap::from([("private-key".to_owned(), "K1".to_owned())]),
            label: Some("tls-key".into()),
            description: None,
            expire: Some(m.expiry_in(3600)),
            rotate: None,
            owner: SecretOwner::Unit,
        })?;
        let got = m.secret(&SecretLookup::Label("tls-key".into()), SecretRead::Refresh)?;
        assert_eq!(got["private-key"], "K1");
        let info = m.secret_info(&SecretLookup::Label("tls-key".into()))?;
        assert_eq!(
            (info.revision, info.expiry.as_deref()),
            (1, Some("2026-01-01T01:00:00Z"))
        );
        assert_eq!(m.secret_ids()?, vec![id]);
        Ok(())
    });
    let out = c.run(Event::Install, unit()).unwrap();
    assert_eq!(out.secret_by_label("tls-key").unwrap().latest(), 1);

    // Later: new content makes revision 2 at commit; the owner still reads the committed one
    // without peek/refresh inside the hook. Identical content makes no revision.
    let c = ctx(|_, m| {
        let id = m.secret_info(&SecretLookup::Label("tls-key".into()))?.id;
        let update = SecretUpdate {
            content: Some(BTreeMap::from([(
                "private-key".to_owned(),
                "K2".to_owned(),
            )])),
            ..Default::default()
        };
        m.update_secret(&id, &update)?;
        assert_eq!(
            m.secret(&SecretLookup::Id(id.clone()), SecretRead::Tracked)?["private-key"],
            "K1"
        );
        assert_eq!(
            m.secret(&SecretLookup::Id(id), SecretRead::Peek)?["private-key"],
            "K2"
        );
        Ok(())
    });
    let out = c.run(Event::UpdateStatus, out).unwrap();
    assert_eq!(out.secret_by_label("tls-key").unwrap().latest(), 2);
    let same = ctx(|_, m| {
        let id = m.secret_info(&SecretLookup::Label("tls-key".into()))?.id;
        let update = SecretUpdate {
            content: Some(BTreeMap::from([(
                "private-key".to_owned(),
                "K2".to_owned(),
            )])),
            ..Default::default()
        };
        m.update_secret(&id, &update)?;
        Ok(())
    });
    let out = same.run(Event::UpdateStatus, out).unwrap();
    assert_eq!(out.secret_by_label("tls-key").unwrap().latest(), 2);
}

#[test]
fn consumers_track_revisions_peek_and_refresh() {
    let mut s = Secret::new(
        "cq9e1u1mp25c77ab0abc",
        SecretOwnerEntity::App("ca".parse().unwrap()),
        BTreeMap::from([("v".to_owned(), "1".to_owned())]),
    )
    .with_grant();
    s.revisions
        .insert(2, BTreeMap::from([("v".to_owned(), "2".to_owned())]));
    s.tracked = Some(1);
    let c = ctx(|e, m| {
        let Some(ev) = e.secret() else { return Ok(()) };
        let lookup = SecretLookup::IdWithLabel(ev.id.clone(), "ca-secret".into());
        assert_eq!(m.secret(&lookup, SecretRead::Tracked)?["v"], "1");
        assert_eq!(m.secret(&lookup, SecretRead::Peek)?["v"], "2");
        assert_eq!(
            m.secret(
                &SecretLookup::Label("ca-secret".into()),
                SecretRead::Tracked
            )?["v"],
            "1"
        );
        assert_eq!(m.secret(&lookup, SecretRead::Refresh)?["v"], "2");
        Ok(())
    });
    let ev = Event::SecretChanged(SecretEvent {
        id: s.id().unwrap(),
        label: None,
        revision: Some(2),
    });
    let out = c.run(ev, unit().with_secret(s)).unwrap();
    assert_eq!(out.secrets[0].tracked, Some(2));
    assert_eq!(out.secrets[0].consumer_label.as_deref(), Some("ca-secret"));
}

#[test]
fn failed_hook_discards_writes_and_state() {
    let c = ctx(|_, m| {
        let me = m.own_unit_bag();
        m.set_relation_data(&rel_id(), &me, "csr", "x")?;
        m.store("k", &1)?;
        m.log(juju_charm::LogLevel::Info, "about to fail")?;
        Err("no CA yet".into())
    });
    let r = c.run(changed(), unit().with_relation(cert_relation()));
    let Err(RunError::Hook { error, state }) = r else {
        panic!()
    };
    assert!(error.to_string().contains("no CA yet"));
    assert!(
        !state
            .relation(7)
            .unwrap()
            .local_unit_data
            .contains_key("csr")
    );
    assert!(state.stored.is_empty());
    assert_eq!(
        state.logs,
        [(juju_charm::LogLevel::Info, "about to fail".to_owned())]
    );
    assert_eq!(
        state.relation(7).unwrap().remote_app_data,
        cert_relation().remote_app_data,
        "the remote bags the hook saw come back with the kept state"
    );
}

#[test]
fn defer_replays_before_the_next_event_until_handled() {
    let c = ctx(|e, m| {
        let ready: bool = m.stored("ca-ready")?.unwrap_or(false);
        match e {
            Event::RelationChanged(_) if !ready => m.defer()?,
            Event::RelationChanged(_) => {
                let n: u32 = m.stored("handled")?.unwrap_or(0);
                m.store("handled", &(n + 1))?;
            }
            Event::ConfigChanged => m.store("ca-ready", &true)?,
            _ => {}
        }
        Ok(())
    });
    let out = c
        .run(changed(), unit().with_relation(cert_relation()))
        .unwrap();
    assert_eq!(out.deferred, [changed()]);
    let out = c.run(Event::UpdateStatus, out).unwrap();
    assert_eq!(out.deferred.len(), 1, "still not ready: stays deferred");
    let out = c.run(Event::ConfigChanged, out).unwrap();
    assert_eq!(
        out.deferred.len(),
        1,
        "replayed before config-changed made it ready"
    );
    let out = c.run(Event::UpdateStatus, out).unwrap();
    assert!(out.deferred.is_empty());
    assert_eq!(out.stored["handled"], 1);
}

#[test]
fn custom_events_run_after_the_handler_in_the_same_hook() {
    let c = ctx(|e, m| {
        match e {
            Event::RelationChanged(_) => {
                m.emit(CustomEvent::new("certificate-available", &"cert-pem")?)
            }
            Event::Custom(c) if c.name == "certificate-available" => {
                let pem: String = c.payload()?;
                m.store("cert", &pem)?;
                m.set_unit_status(Status::active(""))?;
            }
            _ => {}
        }
        Ok(())
    });
    let out = c
        .run(changed(), unit().with_relation(cert_relation()))
        .unwrap();
    assert_eq!(out.stored["cert"], "cert-pem");
    assert_eq!(out.unit_status, Status::active(""));
}

#[test]
fn typed_config_and_actions() {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "kebab-case")]
    struct Config {
        common_name: String,
        port: u16,
    }
    #[derive(serde::Deserialize)]
    struct Params {
        format: String,
    }
    let c = ctx(|_, m| {
        let cfg: Config = m.config()?;
        let p: Params = m.action_params()?;
        m.action_log("working")?;
        m.set_action_results(&BTreeMap::from([(
            "cert.format".to_owned(),
            format!("{}:{}:{}", p.format, cfg.common_name, cfg.port),
        )]))?;
        Ok(())
    });
    let mut state = unit().with_config("port", 9443);
    state.action.params.insert("format".into(), "pem".into());
    let ev = Event::Action(ActionEvent {
        name: "get-cert".into(),
        id: "7".into(),
    });
    let out = c.run(ev, state).unwrap();
    assert_eq!(out.action.results["cert.format"], "pem:banana:9443");
    assert_eq!(out.action.logs, ["working"]);

    // action-* outside an action: Juju's text.
    let c = ctx(|_, m| {
        m.action_log("x")?;
        Ok(())
    });
    let (e, _) = refused(c.run(Event::UpdateStatus, unit()));
    assert_eq!(e.to_string(), "not running an action");

    // Result keys: Juju's rule, reserved names refused on any segment (`stdout.x` too).
    fn set(m: &mut Model<'_>, key: &str) -> Result<(), HandlerError> {
        m.set_action_results(&BTreeMap::from([(key.to_owned(), "v".to_owned())]))?;
        Ok(())
    }
    type Handler = fn(&Event, &mut Model<'_>) -> Result<(), HandlerError>;
    let cases: [(Handler, &str); 3] = [
        (
            |_, m| set(m, "stdout.x"),
            "cannot set reserved action key \"stdout\"",
        ),
        (
            |_, m| set(m, "a.stderr"),
            "cannot set reserved action key \"stderr\"",
        ),
        (
            |_, m| set(m, "cert.Format"),
            "key \"Format\" must start and end",
        ),
    ];
    for (handler, why) in cases {
        let ev = Event::Action(ActionEvent {
            name: "get-cert".into(),
            id: "8".into(),
        });
        let (e, _) = refused(ctx(handler).run(ev, unit()));
        assert!(e.to_string().contains(why), "{e}");
    }
}

#[test]
fn relation_broken_excludes_the_relation_and_refuses_app_writes() {
    let c = ctx(|e, m| {
        let listed = m.relations(&"certificates".parse()?)?;
        m.store("listed", &listed.len())?;
        if let Event::RelationBroken(r) = e {
            let app = m.own_app_bag();
            m.set_relation_data(&r.relation, &app, "k", "")?;
        }
        Ok(())
    });
    let ev = Event::RelationBroken(RelationEvent {
        relation: rel_id(),
        remote_app: Some("ca".parse().unwrap()),
        remote_unit: None,
        departing_unit: None,
    });
    let (e, _) = refused(c.run(ev, unit().with_leader(true).with_relation(cert_relation())));
    assert_eq!(
        e.to_string(),
        "cannot read relation application settings: permission denied"
    );
}

#[test]
fn inconsistent_input_is_rejected() {
    let c = ctx(|_, _| Ok(()));
    assert!(matches!(
        c.run(changed(), unit()),
        Err(RunError::Inconsistent(_))
    ));
    let undeclared = Relation::new("db".parse().unwrap(), 9, "pg".parse().unwrap());
    assert!(matches!(
        c.run(Event::Start, unit().with_relation(undeclared)),
        Err(RunError::Inconsistent(_))
    ));
    let ev = Event::Action(ActionEvent {
        name: "nope".into(),
        id: "1".into(),
    });
    assert!(matches!(c.run(ev, unit()), Err(RunError::Inconsistent(_))));
}

#[test]
fn ports_version_and_network() {
    let c = ctx(|_, m| {
        m.open_port(juju_charm::PortSpec::tcp(8443))?;
        m.set_workload_version("1.2.3")?;
        let addr = m.binding_address("certificates", None)?;
        m.store("addr", &addr.map(|a| a.to_string()))?;
        Ok(())
    });
    let out = c.run(Event::Start, unit()).unwrap();
    assert!(out.opened_ports.contains(&juju_charm::PortSpec::tcp(8443)));
    assert_eq!(out.workload_version.as_deref(), Some("1.2.3"));
    assert_eq!(out.stored["addr"], "127.0.1.1");
}
