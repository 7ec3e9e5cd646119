//! `tls_client` under the harness: a requirer charm asking for a server and a client
//! certificate at paths in a temp dir, served by the provider of `world`; files, modes, the CA
//! file, a private trust store and the events named after the reactive layer's flags.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use charm::event::RelationEvent;
use charm::testing::{Context, Relation, State};
use charm::{Charm, Databag, Event, HandlerError, Model};
use juju_tls_interfaces::tls_client::CertKind;
use juju_tls_interfaces::{Error, Misuse, TlsClient, TlsClientEvent, TrustStore};
use pki::{Certificate, IssuingPolicy, KeyAlgorithm, PrivateKey};

use crate::world::{PROVIDER_META, ProviderCharm, RELATION_ID, ca, endpoint, list, unit};

const CLIENT_META: &str =
    "name: web\nrequires:\n  certificates:\n    interface: tls-certificates\n";

/// What the charm asks for: (kind, common name, SANs, cert file, key file) under `dir`.
type Wanted = Vec<(CertKind, String, Vec<String>, String, String)>;

struct ClientCharm {
    dir: PathBuf,
    wanted: Rc<RefCell<Wanted>>,
    events: Rc<RefCell<Vec<TlsClientEvent>>>,
    allow_reactive: bool,
}

fn client(dir: &Path, wanted: &Wanted) -> Result<TlsClient, Error> {
    client_allowing(dir, wanted, false)
}

fn client_allowing(dir: &Path, wanted: &Wanted, allow_reactive: bool) -> Result<TlsClient, Error> {
    let mut c = TlsClient::new(endpoint())
        .allow_reactive_wire(allow_reactive)
        .with_key_algorithm(KeyAlgorithm::EcdsaP256)
        .with_trust_store(TrustStore::at(dir.join("trust")))
        .with_ca_certificate_path(dir.join("ca.crt"))?;
    for (kind, cn, sans, cert, key) in wanted {
        let (cert, key) = (dir.join(cert), dir.join(key));
        c = match kind {
            CertKind::Server => c.request_server_cert(cn, sans, cert, key)?,
            CertKind::Client => c.request_client_cert(cn, sans, cert, key)?,
        };
    }
    Ok(c)
}

impl Charm for ClientCharm {
    fn handle(&mut self, event: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let c = client_allowing(&self.dir, &self.wanted.borrow(), self.allow_reactive)?;
        let events = c.handle(event, model)?;
        self.events.borrow_mut().extend(events);
        Ok(())
    }
}

struct ClientWorld {
    dir: tempfile::TempDir,
    ctx: Context<ClientCharm>,
    provider_ctx: Context<ProviderCharm>,
    client: State,
    provider: State,
    wanted: Rc<RefCell<Wanted>>,
    events: Rc<RefCell<Vec<TlsClientEvent>>>,
}

fn server_and_client() -> Wanted {
    vec![
        (
            CertKind::Server,
            "web-0.example".into(),
            vec!["web-0.example".into(), "10.0.0.5".into()],
            "srv/server.crt".into(),
            "srv/server.key".into(),
        ),
        (
            CertKind::Client,
            "web-admin".into(),
            vec![],
            "cli/client.crt".into(),
            "cli/client.key".into(),
        ),
    ]
}

impl ClientWorld {
    fn new(wanted: Wanted) -> Self {
        Self::build(wanted, false)
    }

    /// A client that allows the reactive wire.
    fn allowing_reactive(wanted: Wanted) -> Self {
        Self::build(wanted, true)
    }

    fn build(wanted: Wanted, allow_reactive: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let wanted = Rc::new(RefCell::new(wanted));
        let events = Rc::new(RefCell::new(Vec::new()));
        let (d, w, e) = (dir.path().to_owned(), wanted.clone(), events.clone());
        let ctx = Context::from_charmcraft_yaml(CLIENT_META, move || ClientCharm {
            dir: d.clone(),
            wanted: w.clone(),
            events: e.clone(),
            allow_reactive,
        })
        .unwrap();
        let provider_ctx = Context::from_charmcraft_yaml(PROVIDER_META, || ProviderCharm {
            policy: IssuingPolicy::default(),
            names: None,
        })
        .unwrap();
        let client = State::new(unit("web/0"))
            .with_leader(true)
            .with_relation(Relation::new(
                endpoint(),
                RELATION_ID,
                "ca".parse().unwrap(),
            ));
        let provider = State::new(unit("ca/0")).with_leader(true).with_relation(
            Relation::new(endpoint(), RELATION_ID, "web".parse().unwrap())
                .without_remote_units()
                .with_remote_unit(unit("web/0"), Databag::new()),
        );
        Self {
            dir,
            ctx,
            provider_ctx,
            client,
            provider,
            wanted,
            events,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A relation event on the client (from `ca/0`) or on the provider (from `web/0`: the
    /// provider reads the bag of the unit that changed).
    fn event(&self, make: fn(RelationEvent) -> Event) -> Event {
        Self::event_from("ca/0", make)
    }

    fn event_from(remote: &str, make: fn(RelationEvent) -> Event) -> Event {
        let app = remote.split('/').next().unwrap_or_default();
        make(RelationEvent {
            relation: charm::RelationId::new(endpoint(), RELATION_ID),
            remote_app: Some(app.parse().unwrap()),
            remote_unit: Some(unit(remote)),
            departing_unit: None,
        })
    }

    fn run_client(&mut self, event: Event) {
        let state = std::mem::replace(&mut self.client, State::new(unit("web/0")));
        self.client = self
            .ctx
            .run(event, state)
            .unwrap_or_else(|e| panic!("client hook failed: {e}"));
        let bag = self
            .client
            .relation(RELATION_ID)
            .unwrap()
            .local_unit_data
            .clone();
        let p = self
            .provider
            .relations
            .iter_mut()
            .find(|r| r.id == RELATION_ID)
            .unwrap();
        p.remote_units.insert(unit("web/0"), bag);
    }

    /// Client, provider, client: a request answered.
    fn round(&mut self) -> Vec<TlsClientEvent> {
        self.run_client(self.event(Event::RelationChanged));
        let state = std::mem::replace(&mut self.provider, State::new(unit("ca/0")));
        self.provider = self
            .provider_ctx
            .run(Self::event_from("web/0", Event::RelationChanged), state)
            .unwrap_or_else(|e| panic!("provider hook failed: {e}"));
        let bag = self
            .provider
            .relation(RELATION_ID)
            .unwrap()
            .local_app_data
            .clone();
        self.client
            .relations
            .iter_mut()
            .find(|r| r.id == RELATION_ID)
            .unwrap()
            .remote_app_data = bag;
        self.run_client(self.event(Event::RelationChanged));
        self.take()
    }

    fn take(&self) -> Vec<TlsClientEvent> {
        std::mem::take(&mut self.events.borrow_mut())
    }

    fn csr_count(&self) -> usize {
        self.client
            .relation(RELATION_ID)
            .unwrap()
            .local_unit_data
            .get("certificate_signing_requests")
            .map_or(0, |v| list(v).len())
    }
}

fn flags(events: &[TlsClientEvent]) -> Vec<String> {
    events.iter().filter_map(TlsClientEvent::flag).collect()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn leaf(path: &Path) -> Certificate {
    let text = std::fs::read_to_string(path).unwrap();
    let end = "-----END CERTIFICATE-----";
    let first = &text[..text.find(end).unwrap() + end.len()];
    Certificate::from_pem(first).unwrap()
}

#[test]
fn both_certificates_land_at_their_paths_with_the_layers_flags() {
    let mut w = ClientWorld::new(server_and_client());
    let events = w.round();
    assert_eq!(
        flags(&events),
        [
            "tls_client.ca.saved",
            "tls_client.ca_installed",
            "tls_client.server.cert.web-0.example.changed",
            "tls_client.client.cert.web-admin.changed",
            "tls_client.server.certs.changed",
            "tls_client.client.certs.changed",
            "tls_client.certs.changed",
            "tls_client.certs.saved",
        ],
        "{events:#?}"
    );
    assert_eq!(w.csr_count(), 2, "one CSR per common name");
    for (cert, key) in [
        ("srv/server.crt", "srv/server.key"),
        ("cli/client.crt", "cli/client.key"),
    ] {
        let (cert, key) = (w.path(cert), w.path(key));
        assert_eq!(mode(&cert), 0o644);
        assert_eq!(mode(&key), 0o600);
        let key = PrivateKey::from_pem(&std::fs::read_to_string(&key).unwrap()).unwrap();
        assert!(
            leaf(&cert).matches_key(&key),
            "{} matches its key",
            cert.display()
        );
    }
    let server = leaf(&w.path("srv/server.crt"));
    assert_eq!(server.subject().common_name(), Some("web-0.example"));
    let ca_pem = format!("{}\n", ca().certificate().pem().trim());
    assert_eq!(std::fs::read_to_string(w.path("ca.crt")).unwrap(), ca_pem);
    assert_eq!(
        std::fs::read_to_string(w.path("trust/web.crt")).unwrap(),
        ca_pem
    );
    assert_eq!(mode(&w.path("trust/web.crt")), 0o644);

    // Nothing new: no event, no write.
    assert!(w.round().is_empty());
    w.run_client(Event::UpdateStatus);
    assert!(w.take().is_empty());
}

#[test]
fn new_sans_for_the_same_common_name_rewrite_that_file_only() {
    let mut w = ClientWorld::new(server_and_client());
    w.round();
    let before = std::fs::read_to_string(w.path("srv/server.crt")).unwrap();
    let key_before = std::fs::read_to_string(w.path("srv/server.key")).unwrap();
    let client_before = std::fs::read_to_string(w.path("cli/client.crt")).unwrap();
    w.wanted.borrow_mut()[0].2.push("web.example".into());
    let events = w.round();
    assert_eq!(
        flags(&events),
        [
            "tls_client.server.cert.web-0.example.changed",
            "tls_client.server.certs.changed",
            "tls_client.certs.changed",
        ],
        "{events:#?}"
    );
    assert_eq!(w.csr_count(), 2, "the old CSR is replaced, not kept");
    assert_ne!(
        std::fs::read_to_string(w.path("srv/server.crt")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::read_to_string(w.path("srv/server.key")).unwrap(),
        key_before,
        "same key"
    );
    assert_eq!(
        std::fs::read_to_string(w.path("cli/client.crt")).unwrap(),
        client_before
    );
    assert!(
        leaf(&w.path("srv/server.crt"))
            .info()
            .sans
            .dns
            .contains("web.example")
    );
}

#[test]
fn a_deleted_file_comes_back_and_is_reported() {
    let mut w = ClientWorld::new(server_and_client());
    w.round();
    std::fs::remove_file(w.path("cli/client.key")).unwrap();
    std::fs::remove_file(w.path("ca.crt")).unwrap();
    w.run_client(Event::UpdateStatus);
    let events = w.take();
    assert_eq!(
        flags(&events),
        [
            "tls_client.ca.saved",
            "tls_client.client.cert.web-admin.changed",
            "tls_client.client.certs.changed",
            "tls_client.certs.changed",
        ],
        "{events:#?}"
    );
    assert_eq!(mode(&w.path("cli/client.key")), 0o600);
}

#[test]
fn a_later_request_is_saved_again_and_the_state_says_so() {
    let mut one = server_and_client();
    let second = one.pop().unwrap();
    let mut w = ClientWorld::new(one);
    assert!(flags(&w.round()).contains(&"tls_client.certs.saved".to_owned()));
    w.wanted.borrow_mut().push(second);
    // The new CSR is out, not answered: not every certificate is saved.
    w.run_client(Event::UpdateStatus);
    assert!(w.take().is_empty());
    let events = w.round();
    assert_eq!(
        flags(&events),
        [
            "tls_client.client.cert.web-admin.changed",
            "tls_client.client.certs.changed",
            "tls_client.certs.changed",
            "tls_client.certs.saved",
        ],
        "{events:#?}"
    );
}

#[test]
fn the_same_names_for_server_and_client_share_one_request() {
    let mut wanted = server_and_client();
    wanted[1].1 = wanted[0].1.clone();
    wanted[1].2 = wanted[0].2.clone();
    let mut w = ClientWorld::new(wanted);
    let events = w.round();
    assert_eq!(w.csr_count(), 1);
    assert!(flags(&events).contains(&"tls_client.client.cert.web-0.example.changed".to_owned()));
    assert_eq!(
        leaf(&w.path("srv/server.crt")).pem(),
        leaf(&w.path("cli/client.crt")).pem()
    );
}

#[test]
fn the_relation_going_takes_the_ca_out_of_the_trust_store() {
    let mut w = ClientWorld::new(server_and_client());
    w.round();
    let trust = w.path("trust/web.crt");
    assert!(trust.exists());
    w.run_client(w.event(Event::RelationBroken));
    let events = w.take();
    assert_eq!(
        events,
        [TlsClientEvent::CaRemoved {
            paths: vec![trust.clone()]
        }]
    );
    assert!(!trust.exists());
    // The workload's files stay, as with the reactive layer; the charm state is forgotten.
    assert!(w.path("srv/server.crt").exists() && w.path("ca.crt").exists());
    assert!(
        w.client
            .stored
            .keys()
            .all(|k| !k.starts_with("tls-client:"))
    );
}

#[test]
fn the_unit_going_takes_the_ca_out_too() {
    let mut w = ClientWorld::new(server_and_client());
    w.round();
    w.run_client(Event::Remove);
    assert!(matches!(&w.take()[..], [TlsClientEvent::CaRemoved { .. }]));
    assert!(!w.path("trust/web.crt").exists());
}

#[test]
fn the_state_holds_the_lasting_flags_and_no_key() {
    let mut w = ClientWorld::new(server_and_client());
    w.round();
    let stored = serde_json::to_string(&w.client.stored).unwrap();
    assert!(!stored.contains("PRIVATE KEY"), "{stored}");
    // Read the state through a hook, as a charm would.
    struct Peek(Rc<RefCell<Option<Vec<&'static str>>>>, PathBuf, Wanted);
    impl Charm for Peek {
        fn handle(&mut self, _: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
            let c = client(&self.1, &self.2)?;
            *self.0.borrow_mut() = Some(c.state(model).flags());
            Ok(())
        }
    }
    let seen = Rc::new(RefCell::new(None));
    let (s, d, wanted) = (seen.clone(), w.dir.path().to_owned(), server_and_client());
    let peek = Context::from_charmcraft_yaml(CLIENT_META, move || {
        Peek(s.clone(), d.clone(), wanted.clone())
    })
    .unwrap();
    peek.run(Event::UpdateStatus, w.client.clone()).unwrap();
    assert_eq!(
        seen.borrow().clone().unwrap(),
        [
            "tls_client.ca.saved",
            "tls_client.ca_installed",
            "tls_client.certs.saved"
        ]
    );
}

#[test]
fn misuse_is_refused_before_anything_is_written() {
    let none: &[&str] = &[];
    let relative = TlsClient::new(endpoint()).request_server_cert("a", none, "x.crt", "/k");
    assert!(matches!(
        relative,
        Err(Error::Misuse(Misuse::RelativePath(_)))
    ));
    let empty = TlsClient::new(endpoint()).request_server_cert(" ", none, "/c", "/k");
    assert!(matches!(empty, Err(Error::Misuse(Misuse::EmptyCommonName))));
    let bad_san = TlsClient::new(endpoint()).request_server_cert("a", &["IP:nope"], "/c", "/k");
    assert!(matches!(
        bad_san,
        Err(Error::Misuse(Misuse::BadSubjectAltName(_)))
    ));
    // Two certificates at one path, or a key where the CA goes: refused by handle.
    let clash: Wanted = vec![
        (
            CertKind::Server,
            "a".into(),
            vec![],
            "same.crt".into(),
            "k".into(),
        ),
        (
            CertKind::Client,
            "b".into(),
            vec![],
            "same.crt".into(),
            "k".into(),
        ),
    ];
    let key_on_ca: Wanted = vec![(
        CertKind::Server,
        "a".into(),
        vec![],
        "a.crt".into(),
        "ca.crt".into(),
    )];
    for wanted in [clash, key_on_ca] {
        let mut w = ClientWorld::new(wanted);
        let state = std::mem::replace(&mut w.client, State::new(unit("web/0")));
        let err = w.ctx.run(Event::UpdateStatus, state).unwrap_err();
        assert!(err.to_string().contains("two different files"), "{err}");
    }
    // A key path shared by two certificates is fine: it is the unit's one key.
    let shared: Wanted = vec![
        (
            CertKind::Server,
            "a".into(),
            vec![],
            "a.crt".into(),
            "unit.key".into(),
        ),
        (
            CertKind::Client,
            "b".into(),
            vec![],
            "b.crt".into(),
            "unit.key".into(),
        ),
    ];
    let mut w = ClientWorld::new(shared);
    assert!(flags(&w.round()).contains(&"tls_client.certs.saved".to_owned()));
}

// The opt-in fallback to the reactive wire, against a provider that speaks nothing else.

/// What a reactive provider (easyrsa) publishes in its unit bag for the requiring unit that
/// wrote `client_bag`: `ca`, `chain`, and every request answered with a key made here.
fn reactive_answers(client_bag: &Databag) -> Databag {
    use juju_tls_interfaces::wire::reactive::{self, IssuedPair, RequestType, RequirerBag};
    let (parsed, errors) = RequirerBag::parse(client_bag);
    assert!(errors.is_empty(), "{errors:?}");
    let u = parsed.unit_name.clone().expect("unit_name");
    let ca = ca();
    let ca_pem = ca.certificate().pem().trim().to_owned();
    let mut out = Databag::from([
        ("ca".to_owned(), ca_pem.clone()),
        ("chain".to_owned(), ca_pem),
        ("private-address".to_owned(), "127.0.2.1".to_owned()),
    ]);
    let mut processed: BTreeMap<RequestType, BTreeMap<String, IssuedPair>> = BTreeMap::new();
    for r in parsed.all_requests() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let mut attributes = pki::RequestAttributes::new(&r.common_name);
        for san in &r.sans {
            attributes.sans.push_str(san).unwrap();
        }
        let csr = attributes.to_csr(&key).unwrap();
        let cert = ca
            .issue(
                &pki::IssueRequest {
                    csr: &csr,
                    kind: pki::CertificateKind::Leaf,
                    validity: time::Duration::days(90),
                },
                &IssuingPolicy::default(),
                time::OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap(),
            )
            .unwrap();
        let pair = IssuedPair::new(cert.pem().trim(), key.to_pkcs8_pem().trim());
        if parsed.top_level.as_ref() == Some(r) {
            let (cert_key, key_key) = reactive::server_keys(&u);
            out.insert(cert_key, pair.cert.clone());
            out.insert(key_key, pair.key.to_string());
        } else {
            processed
                .entry(r.kind)
                .or_default()
                .insert(r.common_name.clone(), pair);
        }
    }
    for (kind, entries) in processed {
        out.insert(kind.processed_key(&u), reactive::processed_value(&entries));
    }
    out
}

impl ClientWorld {
    /// The provider unit `ca/0` now holds `bag`.
    fn provider_unit_bag(&mut self, bag: Databag) {
        let r = self
            .client
            .relations
            .iter_mut()
            .find(|r| r.id == RELATION_ID)
            .unwrap();
        r.remote_units.insert(unit("ca/0"), bag);
    }

    fn own_bag(&self) -> Databag {
        self.client
            .relation(RELATION_ID)
            .unwrap()
            .local_unit_data
            .clone()
    }

    /// The client's lasting state, read through a hook as a charm reads it.
    fn state(&self, allow_reactive: bool) -> juju_tls_interfaces::tls_client::ClientState {
        struct Peek(Rc<RefCell<Option<ClientState>>>, PathBuf, Wanted, bool);
        impl Charm for Peek {
            fn handle(&mut self, _: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
                let c = client_allowing(&self.1, &self.2, self.3)?;
                *self.0.borrow_mut() = Some(c.state(model));
                Ok(())
            }
        }
        use juju_tls_interfaces::tls_client::ClientState;
        let seen = Rc::new(RefCell::new(None));
        let (s, d, wanted) = (
            seen.clone(),
            self.dir.path().to_owned(),
            self.wanted.borrow().clone(),
        );
        let peek = Context::from_charmcraft_yaml(CLIENT_META, move || {
            Peek(s.clone(), d.clone(), wanted.clone(), allow_reactive)
        })
        .unwrap();
        peek.run(Event::UpdateStatus, self.client.clone()).unwrap();
        seen.borrow_mut().take().unwrap()
    }

    fn warnings(&self, needle: &str) -> usize {
        self.client
            .logs
            .iter()
            .filter(|(level, m)| *level == charm::LogLevel::Warning && m.contains(needle))
            .count()
    }
}

fn with_juju_keys(mut bag: Databag) -> Databag {
    bag.insert("private-address".into(), "127.0.2.1".into());
    bag
}

#[test]
fn an_opted_in_client_uses_a_reactive_only_provider_and_comes_back_when_it_changes() {
    use juju_tls_interfaces::tls_client::Wire;
    let mut w = ClientWorld::allowing_reactive(server_and_client());
    // The provider joined and published its CA only, as easyrsa does.
    let ca_pem = ca().certificate().pem().trim().to_owned();
    w.provider_unit_bag(with_juju_keys(Databag::from([(
        "ca".to_owned(),
        ca_pem.clone(),
    )])));
    w.run_client(w.event(Event::RelationChanged));
    assert_eq!(
        flags(&w.take()),
        ["tls_client.ca.saved", "tls_client.ca_installed"],
        "the CA comes first on this wire"
    );
    let bag = w.own_bag();
    assert!(!bag.contains_key("certificate_signing_requests"), "{bag:?}");
    assert_eq!(bag["unit_name"], "web_0");
    assert_eq!(bag["common_name"], "web-0.example");
    assert_eq!(bag["sans"], r#"["10.0.0.5", "web-0.example"]"#);
    assert_eq!(
        bag["client_cert_requests"],
        r#"{"web-admin": {"sans": []}}"#
    );
    assert_eq!(bag["private-address"], "127.0.1.1", "Juju's keys stay");
    assert_eq!(w.state(true).wire, Wire::Reactive);
    assert_eq!(w.warnings("keys and sends them over the relation"), 1);

    // The provider answers with keys it made: they land at the paths asked, 0600.
    let answers = reactive_answers(&bag);
    w.provider_unit_bag(answers.clone());
    w.run_client(w.event(Event::RelationChanged));
    assert_eq!(
        flags(&w.take()),
        [
            "tls_client.server.cert.web-0.example.changed",
            "tls_client.client.cert.web-admin.changed",
            "tls_client.server.certs.changed",
            "tls_client.client.certs.changed",
            "tls_client.certs.changed",
            "tls_client.certs.saved",
        ]
    );
    for (cert, key, sent) in [
        (
            "srv/server.crt",
            "srv/server.key",
            &answers["web_0.server.key"],
        ),
        (
            "cli/client.crt",
            "cli/client.key",
            &answers["web_0.processed_client_requests"],
        ),
    ] {
        let (cert, key) = (w.path(cert), w.path(key));
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&cert), 0o644);
        let key_pem = std::fs::read_to_string(&key).unwrap();
        let parsed = PrivateKey::from_pem(&key_pem).unwrap();
        assert!(leaf(&cert).matches_key(&parsed), "{}", cert.display());
        let body = key_pem.lines().nth(1).unwrap();
        assert!(sent.contains(body), "the provider's key, as sent");
        // The leaf, then the provider's chain.
        let text = std::fs::read_to_string(&cert).unwrap();
        assert!(text.trim_end().ends_with(&ca_pem), "{text}");
    }
    assert_eq!(
        leaf(&w.path("srv/server.crt")).subject().common_name(),
        Some("web-0.example")
    );
    assert_eq!(
        std::fs::read_to_string(w.path("trust/web.crt")).unwrap(),
        format!("{ca_pem}\n")
    );
    let s = w.state(true);
    assert!(s.certs_saved && s.wire == Wire::Reactive, "{s:?}");
    let stored = serde_json::to_string(&w.client.stored).unwrap();
    assert!(!stored.contains("PRIVATE KEY"), "{stored}");
    // Nothing new: no event, no write.
    w.run_client(Event::UpdateStatus);
    assert!(w.take().is_empty());
    assert_eq!(
        w.warnings("keys and sends them over the relation"),
        1,
        "said once"
    );

    // The provider now speaks the current wire: the reactive requests are withdrawn and CSRs
    // sent with the unit's own key.
    let r = w
        .client
        .relations
        .iter_mut()
        .find(|r| r.id == RELATION_ID)
        .unwrap();
    r.remote_app_data = Databag::from([("certificates".to_owned(), "[]".to_owned())]);
    w.run_client(w.event(Event::RelationChanged));
    let bag = w.own_bag();
    assert_eq!(w.csr_count(), 2);
    for k in [
        "unit_name",
        "common_name",
        "sans",
        "certificate_name",
        "client_cert_requests",
    ] {
        assert!(!bag.contains_key(k), "{k} withdrawn: {bag:?}");
    }
    assert_eq!(w.state(true).wire, Wire::Current);
}

#[test]
fn without_the_opt_in_a_reactive_only_provider_is_named_and_not_used() {
    use juju_tls_interfaces::tls_client::Wire;
    let mut w = ClientWorld::new(server_and_client());
    let ca_pem = ca().certificate().pem().trim().to_owned();
    w.provider_unit_bag(with_juju_keys(Databag::from([
        ("ca".to_owned(), ca_pem.clone()),
        ("chain".to_owned(), ca_pem),
    ])));
    w.run_client(w.event(Event::RelationChanged));
    w.run_client(Event::UpdateStatus);
    assert!(w.take().is_empty(), "no CA installed, no file");
    assert!(!w.path("ca.crt").exists() && !w.path("trust/web.crt").exists());
    // The current wire is spoken (a provider that learns it would answer), no reactive key.
    assert_eq!(w.csr_count(), 2);
    assert!(!w.own_bag().contains_key("unit_name"));
    assert_eq!(w.state(false).wire, Wire::ReactiveNotAllowed);
    assert_eq!(
        w.warnings("allow_reactive_wire"),
        1,
        "one hint, not one per hook"
    );
}

#[test]
fn unusable_reactive_answers_are_named_once_and_the_rest_is_written() {
    let mut w = ClientWorld::allowing_reactive(server_and_client());
    w.provider_unit_bag(with_juju_keys(Databag::from([(
        "ca".to_owned(),
        ca().certificate().pem().to_owned(),
    )])));
    w.run_client(w.event(Event::RelationChanged));
    let mut answers = reactive_answers(&w.own_bag());
    answers.insert("web_0.processed_client_requests".into(), "{not json".into());
    w.provider_unit_bag(answers);
    w.run_client(w.event(Event::RelationChanged));
    w.run_client(Event::UpdateStatus);
    assert!(w.path("srv/server.key").exists());
    assert!(!w.path("cli/client.key").exists());
    assert_eq!(
        w.warnings("key 'web_0.processed_client_requests': invalid JSON"),
        1,
        "{:?}",
        w.client.logs
    );
    assert!(!w.state(true).certs_saved);
}
