//! The calls a charm author finds in the Python libraries: single-certificate revocation, key
//! import and charm-supplied keys across a leader change, requests computed from the provider's
//! capabilities, the provider's own housekeeping, and the security events of issuance.

use charm::event::ActionEvent;
use charm::testing::{Context, SecretOwnerEntity};
use charm::{BagOwner, Charm, Event, HandlerError, Model};
use juju_tls_interfaces::labels;
use juju_tls_interfaces::{
    Capabilities, CertificateRequest, Mode, RequirerEvent, Scope, Signer, TlsProvider, TlsRequirer,
};
use pki::time::{Duration, OffsetDateTime};
use pki::{Certificate, Csr, IssuingPolicy, KeyAlgorithm, PrivateKey};

use crate::world::{PROVIDER_META, Wants, World, attributes, ca, endpoint, list, unit, unit_wants};

/// The certificate published for the CSR `unit` has on the relation (first one), as
/// (serial, public key DER, revoked).
fn published_for(w: &World, name: &str) -> Option<(String, Vec<u8>, bool)> {
    let csrs = list(&w.unit_csrs(name)?);
    let csr = Csr::from_pem(csrs[0]["certificate_signing_request"].as_str()?).ok()?;
    list(w.provider_bag().get("certificates")?)
        .into_iter()
        .find(|c| {
            Csr::from_pem(
                c["certificate_signing_request"]
                    .as_str()
                    .unwrap_or_default(),
            )
            .is_ok_and(|other| other.der() == csr.der())
        })
        .map(|c| {
            let cert = Certificate::from_pem(c["certificate"].as_str().unwrap()).unwrap();
            (
                cert.info().serial.clone(),
                csr.public_key_der().to_vec(),
                c["revoked"] == true,
            )
        })
}

/// A provider that revokes `unit`'s certificates, and signs again unless `sign` is false.
struct Revoker {
    unit: &'static str,
    sign: bool,
}

impl Charm for Revoker {
    fn handle(&mut self, _: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let provider = TlsProvider::new(endpoint());
        let mut state = provider.load(model)?;
        let who = BagOwner::Unit(unit(self.unit));
        let revoked = state.revoke_where(|c| c.requester.as_ref() == Some(&who));
        assert!(!revoked.is_empty(), "something to revoke");
        if self.sign {
            let ca = ca();
            let signer = Signer {
                ca: &ca,
                issuers: &[],
                policy: &IssuingPolicy::default(),
                names: None,
                validity: Duration::days(90),
                now: OffsetDateTime::from_unix_timestamp(model.now())?,
                provider_name: "ca",
                limit_per_relation: None,
                limit_hint: "",
            };
            state.sign_outstanding(&signer)?;
        }
        provider.commit(model, state)?;
        Ok(())
    }
}

fn revoke(w: &mut World, name: &'static str, sign: bool) {
    let ctx =
        Context::from_charmcraft_yaml(PROVIDER_META, move || Revoker { unit: name, sign }).unwrap();
    let state = std::mem::replace(&mut w.provider, charm::testing::State::new(unit("ca/0")));
    w.provider = ctx.run(Event::UpdateStatus, state).unwrap();
    w.sync();
}

fn two_units() -> World {
    let mut w = World::new(
        Mode::Unit,
        &["req/0", "req/1"],
        "req/0",
        unit_wants(&["a.example"]),
        IssuingPolicy::default(),
    );
    w.round();
    w.take_events();
    w
}

#[test]
fn revoking_one_units_certificate_reissues_it_with_the_same_key_in_the_same_hook() {
    let mut w = two_units();
    let (serial0, key0, _) = published_for(&w, "req/0").unwrap();
    let (serial1, _, _) = published_for(&w, "req/1").unwrap();

    revoke(&mut w, "req/0", true);
    let (new0, new_key0, revoked) = published_for(&w, "req/0").unwrap();
    assert_ne!(new0, serial0, "a new certificate");
    assert_eq!(new_key0, key0, "for the same key");
    assert!(
        !revoked,
        "replaced in the same hook: the bag never shows it revoked"
    );
    assert_eq!(
        published_for(&w, "req/1").unwrap().0,
        serial1,
        "req/1 keeps its own"
    );
    assert!(
        w.provider
            .logs
            .iter()
            .any(|(_, l)| l.contains("\"event\":\"certificate_revoked\"")),
        "{:?}",
        w.provider.logs
    );

    w.run_requirer("req/0", w.relation_event(Some("ca")));
    w.run_requirer("req/1", w.relation_event(Some("ca")));
    let events = w.take_events();
    assert_eq!(
        events.len(),
        1,
        "only req/0 hears of a new certificate: {events:?}"
    );
    let RequirerEvent::CertificateAvailable(got) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        Certificate::from_pem(&got.certificate)
            .unwrap()
            .info()
            .serial,
        new0
    );
}

#[test]
fn a_certificate_revoked_alone_makes_our_requirer_ask_again_with_the_same_key() {
    let mut w = two_units();
    let (serial0, key0, _) = published_for(&w, "req/0").unwrap();
    let csrs_before = w.unit_csrs("req/0").unwrap();

    // A provider that only flags the certificate (as Notary does).
    revoke(&mut w, "req/0", false);
    let flagged = list(&w.provider_bag()["certificates"]);
    assert_eq!(flagged.iter().filter(|c| c["revoked"] == true).count(), 1);

    w.run_requirer("req/0", w.relation_event(Some("ca")));
    let csrs_after = w.unit_csrs("req/0").unwrap();
    assert_ne!(
        csrs_after, csrs_before,
        "a new CSR replaces the revoked one"
    );
    let label = |csrs: &str| {
        let c = Csr::from_pem(
            list(csrs)[0]["certificate_signing_request"]
                .as_str()
                .unwrap(),
        );
        c.unwrap().public_key_der().to_vec()
    };
    assert_eq!(label(&csrs_after), key0, "same key");

    w.run_provider(w.relation_event(Some("req/0")));
    w.run_requirer("req/0", w.relation_event(Some("ca")));
    let (new0, new_key0, revoked) = published_for(&w, "req/0").unwrap();
    assert!(!revoked);
    assert_ne!(new0, serial0);
    assert_eq!(new_key0, key0);
}

fn action(name: &str) -> Event {
    Event::Action(ActionEvent {
        name: name.into(),
        id: "1".into(),
    })
}

/// Moves leadership from `from` to `to`, handing over the app-owned secrets as Juju would.
fn move_leadership(w: &mut World, from: &str, to: &str) {
    let app_secrets: Vec<_> = w
        .requirer(from)
        .secrets
        .iter()
        .filter(|s| matches!(s.owner, SecretOwnerEntity::App(_)))
        .cloned()
        .collect();
    let new = w.requirers.get_mut(&unit(to)).unwrap();
    new.leader = true;
    new.secrets
        .retain(|s| !matches!(s.owner, SecretOwnerEntity::App(_)));
    new.secrets.extend(app_secrets);
    w.requirers.get_mut(&unit(from)).unwrap().leader = false;
}

fn app_world() -> World {
    World::new(
        Mode::App,
        &["req/0", "req/1"],
        "req/0",
        Wants(vec![(Scope::App, "app.example".into(), false)]),
        IssuingPolicy::default(),
    )
}

fn app_csr_key(w: &World, name: &str) -> Vec<u8> {
    let csrs = list(&w.app_csrs(name).unwrap());
    Csr::from_pem(csrs[0]["certificate_signing_request"].as_str().unwrap())
        .unwrap()
        .public_key_der()
        .to_vec()
}

#[test]
fn an_imported_key_survives_a_leader_change_in_app_mode() {
    let mut w = app_world();
    w.round();
    let imported = PrivateKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
    *w.import_key.borrow_mut() = Some(imported.to_pkcs8_pem().to_string());
    w.run_requirer("req/0", action("import-key"));
    assert!(w.action_errors.borrow().is_empty(), "{:?}", w.action_errors);
    let imported_spki = app_csr_key(&w, "req/0");
    w.round();
    let csrs = w.app_csrs("req/0").unwrap();
    let label = labels::private_key(Scope::App, 0, "certificates");
    let stored = w.requirer("req/0").secret_by_label(&label).unwrap().clone();
    assert_eq!(
        PrivateKey::from_pem(&stored.content().unwrap()["private-key"])
            .unwrap()
            .public_key_der(),
        imported.public_key_der()
    );
    assert_eq!(imported_spki, imported.public_key_der());

    move_leadership(&mut w, "req/0", "req/1");
    w.run_requirer("req/1", Event::LeaderElected);
    w.run_requirer("req/1", w.relation_event(Some("ca")));
    assert_eq!(w.app_csrs("req/1").unwrap(), csrs, "no new CSR, no new key");
    assert_eq!(app_csr_key(&w, "req/1"), imported.public_key_der());
}

#[test]
fn a_key_the_charm_supplies_survives_a_leader_change_in_app_mode() {
    let mut w = app_world();
    let supplied = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    *w.supplied_key.borrow_mut() = Some(supplied.to_pkcs8_pem().to_string());
    w.round();
    let csrs = w.app_csrs("req/0").unwrap();
    assert_eq!(app_csr_key(&w, "req/0"), supplied.public_key_der());
    let label = labels::private_key(Scope::App, 0, "certificates");
    assert!(
        w.requirer("req/0").secret_by_label(&label).is_none(),
        "a supplied key is not stored"
    );

    move_leadership(&mut w, "req/0", "req/1");
    w.run_requirer("req/1", Event::LeaderElected);
    w.run_requirer("req/1", w.relation_event(Some("ca")));
    assert_eq!(w.app_csrs("req/1").unwrap(), csrs, "no new CSR");
    // And importing over a supplied key is refused, as in the Python library.
    *w.import_key.borrow_mut() = Some(supplied.to_pkcs8_pem().to_string());
    w.run_requirer("req/1", action("import-key"));
    assert!(
        w.action_errors.borrow()[0].contains("supplied by the charm"),
        "{:?}",
        w.action_errors
    );
}

/// A requirer whose requests depend on whether the provider takes IP SANs.
struct CapabilityAware;

impl Charm for CapabilityAware {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        TlsRequirer::new(endpoint(), Mode::Unit)
            .with_key_algorithm(KeyAlgorithm::EcdsaP256)
            .with_requests_from(|caps| {
                let mut a = attributes("db.example");
                if caps.is_some_and(|c| c.supports_ip_sans == Some(true)) {
                    a.sans.push_str("IP:10.0.0.5").unwrap();
                }
                vec![(Scope::Unit, CertificateRequest::leaf(a))]
            })
            .handle(event, model)?;
        Ok(())
    }
}

#[test]
fn requests_computed_from_capabilities_follow_what_the_provider_advertises() {
    let mut w = World::single("unused.example");
    let ctx =
        Context::from_charmcraft_yaml(crate::world::REQUIRER_META, || CapabilityAware).unwrap();
    let run = |w: &mut World| {
        let state = w.requirers.remove(&unit("req/0")).unwrap();
        let out = ctx.run(w.relation_event(Some("ca")), state).unwrap();
        w.requirers.insert(unit("req/0"), out);
        w.sync();
    };
    let sans = |w: &World| {
        let csrs = list(&w.unit_csrs("req/0").unwrap());
        let csr = Csr::from_pem(csrs[0]["certificate_signing_request"].as_str().unwrap());
        csr.unwrap().sans().ip.len()
    };
    run(&mut w);
    assert_eq!(sans(&w), 0, "nothing advertised yet: no IP SAN");
    // The world's provider advertises capabilities without IP SANs; then with them.
    w.run_provider(w.relation_event(Some("req/0")));
    run(&mut w);
    assert_eq!(sans(&w), 0);
    w.provider.relations[0].local_app_data.insert(
        "capabilities".into(),
        r#"{"supports_ip_sans": true}"#.into(),
    );
    w.sync();
    run(&mut w);
    assert_eq!(sans(&w), 1, "the request follows the capabilities");
}

#[test]
fn an_empty_request_is_refused() {
    let empty = CertificateRequest::leaf(pki::RequestAttributes::default());
    assert!(!empty.is_valid());
    let err = TlsRequirer::new(endpoint(), Mode::Unit)
        .with_request(Scope::Unit, empty)
        .unwrap_err();
    assert!(err.to_string().contains("common name"), "{err}");
}

/// A provider that does only what the Python provider does by itself.
struct Housekeeper;

impl Charm for Housekeeper {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        TlsProvider::new(endpoint())
            .with_capabilities(Capabilities {
                provider_type: Some("manual".into()),
                ..Capabilities::default()
            })
            .handle(event, model)?;
        Ok(())
    }
}

#[test]
fn handle_does_the_python_providers_housekeeping_on_its_events() {
    let mut w = two_units();
    // req/1 leaves the relation's bags: its certificate is unsolicited now.
    w.provider.relations[0]
        .remote_units
        .get_mut(&unit("req/1"))
        .unwrap()
        .clear();
    let ctx = Context::from_charmcraft_yaml(PROVIDER_META, || Housekeeper).unwrap();
    let state = std::mem::replace(&mut w.provider, charm::testing::State::new(unit("ca/0")));
    let state = ctx.run(Event::ConfigChanged, state).unwrap();
    assert_eq!(
        list(&state.relations[0].local_app_data["certificates"]).len(),
        2,
        "config-changed is not one of its events"
    );
    let state = ctx.run(Event::UpdateStatus, state).unwrap();
    let bag = &state.relations[0].local_app_data;
    assert_eq!(
        list(&bag["certificates"]).len(),
        1,
        "the unsolicited one withdrawn"
    );
    assert!(
        bag["capabilities"].contains("\"provider_type\": \"manual\""),
        "{bag:?}"
    );
}

#[test]
fn issuance_logs_the_certificate_generated_security_event() {
    let w = two_units();
    let generated = w
        .provider
        .logs
        .iter()
        .filter(|(_, l)| l.contains("\"event\":\"certificate_generated\""))
        .map(|(_, l)| l.matches("certificate_generated").count())
        .sum::<usize>();
    assert_eq!(generated, 2, "{:?}", w.provider.logs);
}

/// A provider that records the CA it made (as the self-signed charm does when it creates one).
struct CaMaker;

impl Charm for CaMaker {
    fn handle(&mut self, _: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let provider = TlsProvider::new(endpoint());
        let mut state = provider.load(model)?;
        state.ca_generated(ca().certificate());
        provider.commit(model, state)?;
        Ok(())
    }
}

#[test]
fn a_generated_ca_logs_the_ca_certificate_generated_security_event() {
    let ctx = Context::from_charmcraft_yaml(PROVIDER_META, || CaMaker).unwrap();
    let state = ctx
        .run(
            Event::UpdateStatus,
            charm::testing::State::new(unit("ca/0")).with_leader(true),
        )
        .unwrap();
    let line = state
        .logs
        .iter()
        .map(|(_, l)| l)
        .find(|l| l.contains("\"event\":\"ca_certificate_generated\""))
        .unwrap_or_else(|| panic!("{:?}", state.logs));
    assert!(line.contains("\"common_name\":\"Test CA\""), "{line}");
    assert!(line.contains("\"validity_days\":\"3650\""), "{line}");
}

/// Imports a key and records the library's answer.
struct Importer(std::rc::Rc<std::cell::RefCell<Option<String>>>);

impl Charm for Importer {
    fn handle(&mut self, _: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let answer = TlsRequirer::new(endpoint(), Mode::App)
            .import_private_key(model, &key, Some(Scope::App))
            .err()
            .map(|e| e.to_string());
        *self.0.borrow_mut() = answer;
        Ok(())
    }
}

#[test]
fn an_import_that_cannot_be_kept_is_an_error_not_a_silent_no_op() {
    let answer = std::rc::Rc::new(std::cell::RefCell::new(None));
    let a = answer.clone();
    let ctx =
        Context::from_charmcraft_yaml(crate::world::REQUIRER_META, move || Importer(a.clone()))
            .unwrap();
    // No relation yet.
    ctx.run(
        Event::Install,
        charm::testing::State::new(unit("req/0")).with_leader(true),
    )
    .unwrap();
    assert!(
        answer
            .borrow()
            .as_deref()
            .is_some_and(|e| e.contains("no relation")),
        "{answer:?}"
    );
    // The APP key on a non-leader.
    let relation =
        charm::testing::Relation::new(endpoint(), crate::world::RELATION_ID, "ca".parse().unwrap());
    ctx.run(
        Event::UpdateStatus,
        charm::testing::State::new(unit("req/1"))
            .with_leader(false)
            .with_relation(relation),
    )
    .unwrap();
    assert!(
        answer
            .borrow()
            .as_deref()
            .is_some_and(|e| e.contains("leader")),
        "{answer:?}"
    );
}
