//! tls-client-demo under the SDK's in-memory harness, served by a small provider charm: the
//! files at the configured paths, status naming them, the `flags` action, and the CA leaving
//! the (temp dir) trust store when the relation goes.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use charm::event::{ActionEvent, RelationEvent};
use charm::testing::{Context, Relation, State};
use charm::{Charm, Event, HandlerError, Model, StatusKind};
use pki::time::{Duration, OffsetDateTime};
use pki::{CertificateAuthority, IssuingPolicy, KeyAlgorithm, PrivateKey, RequestAttributes};
use tls_client_demo::TlsClientDemo;
use tls_interfaces::{Signer, TlsProvider};

const RELATION: u32 = 3;

/// Signs every request with a CA made for the test.
struct Provider;

impl Charm for Provider {
    fn handle(&mut self, _: &Event, model: &mut Model<'_>) -> Result<(), HandlerError> {
        let start = OffsetDateTime::from_unix_timestamp(model.now())? - Duration::days(1);
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let ca = CertificateAuthority::self_signed_root(
            &RequestAttributes::new("demo CA"),
            key,
            Duration::days(365),
            start,
        )?;
        let provider = TlsProvider::new("certificates".parse()?);
        let mut state = provider.load(model)?;
        let policy = IssuingPolicy::default();
        state.sign_outstanding(&Signer {
            ca: &ca,
            issuers: &[],
            policy: &policy,
            names: None,
            validity: Duration::days(30),
            now: OffsetDateTime::from_unix_timestamp(model.now())?,
            provider_name: "ca",
            limit_per_relation: None,
            limit_hint: "",
        })?;
        provider.commit(model, state)?;
        Ok(())
    }
}

fn demo() -> Context<TlsClientDemo> {
    Context::from_charmcraft_yaml(include_str!("../charmcraft.yaml"), || TlsClientDemo).unwrap()
}

fn provider() -> Context<Provider> {
    Context::from_charmcraft_yaml(
        "name: ca\nprovides:\n  certificates:\n    interface: tls-certificates\n",
        || Provider,
    )
    .unwrap()
}

fn configured(dir: &Path) -> State {
    let p = |f: &str| dir.join(f).display().to_string();
    State::new("tls-client-demo/0".parse().unwrap())
        .with_config("server-certificate-path", p("srv/server.crt"))
        .with_config("server-key-path", p("srv/server.key"))
        .with_config("client-certificate-path", p("cli/client.crt"))
        .with_config("client-key-path", p("cli/client.key"))
        .with_config("ca-certificate-path", p("ca.crt"))
        .with_config("trust-store-dir", p("trust"))
}

fn relation_event(make: fn(RelationEvent) -> Event, remote: &str) -> Event {
    make(RelationEvent {
        relation: charm::RelationId::new("certificates".parse().unwrap(), RELATION),
        remote_app: remote.split('/').next().map(|a| a.parse().unwrap()),
        remote_unit: Some(remote.parse().unwrap()),
        departing_unit: None,
    })
}

/// The demo with a provider answering: returns the demo's state after its second hook.
fn served(dir: &Path) -> State {
    let state = configured(dir).with_relation(Relation::new(
        "certificates".parse().unwrap(),
        RELATION,
        "ca".parse().unwrap(),
    ));
    let state = demo()
        .run(relation_event(Event::RelationChanged, "ca/0"), state)
        .unwrap();
    assert_eq!(state.unit_status.kind, StatusKind::Waiting);
    assert!(
        state.unit_status.message.contains("0 of 2 saved"),
        "{:?}",
        state.unit_status
    );
    let bag = state.relation(RELATION).unwrap().local_unit_data.clone();
    let ca_state = State::new("ca/0".parse().unwrap())
        .with_leader(true)
        .with_relation(
            Relation::new(
                "certificates".parse().unwrap(),
                RELATION,
                "tls-client-demo".parse().unwrap(),
            )
            .without_remote_units()
            .with_remote_unit("tls-client-demo/0".parse().unwrap(), bag),
        );
    let ca_state = provider()
        .run(
            relation_event(Event::RelationChanged, "tls-client-demo/0"),
            ca_state,
        )
        .unwrap();
    let mut state = state;
    state
        .relations
        .iter_mut()
        .find(|r| r.id == RELATION)
        .unwrap()
        .remote_app_data = ca_state.relation(RELATION).unwrap().local_app_data.clone();
    demo()
        .run(relation_event(Event::RelationChanged, "ca/0"), state)
        .unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn without_a_provider_the_unit_says_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let out = demo().run(Event::Install, configured(dir.path())).unwrap();
    assert_eq!(out.unit_status.kind, StatusKind::Blocked);
    assert!(
        out.unit_status
            .message
            .contains("tls-certificates provider")
    );
}

#[test]
fn a_bad_option_blocks_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let state = configured(dir.path()).with_config("extra-sans", "IP:not-an-ip");
    let out = demo().run(Event::ConfigChanged, state).unwrap();
    assert_eq!(out.unit_status.kind, StatusKind::Blocked);
    assert!(
        out.unit_status.message.contains("not an IP address"),
        "{:?}",
        out.unit_status
    );
}

#[test]
fn status_and_the_flags_action_say_which_path_holds_what() {
    let dir = tempfile::tempdir().unwrap();
    let out = served(dir.path());
    let d = dir.path().display();
    assert_eq!(
        out.unit_status.kind,
        StatusKind::Active,
        "{:?}",
        out.unit_status
    );
    assert_eq!(
        out.unit_status.message,
        format!(
            "server tls-client-demo-0 -> {d}/srv/server.crt (key {d}/srv/server.key); \
             client tls-client-demo-0-client -> {d}/cli/client.crt (key {d}/cli/client.key); \
             CA -> {d}/ca.crt, {d}/trust/tls-client-demo.crt"
        )
    );
    assert_eq!(mode(&dir.path().join("srv/server.key")), 0o600);
    assert_eq!(mode(&dir.path().join("cli/client.crt")), 0o644);

    let out = demo()
        .run(
            Event::Action(ActionEvent {
                name: "flags".into(),
                id: "1".into(),
            }),
            out,
        )
        .unwrap();
    let results = &out.action.results;
    assert_eq!(
        results["set"],
        "tls_client.ca.saved tls_client.ca_installed tls_client.certs.saved"
    );
    let raised: Vec<String> = serde_json::from_str(&results["raised"]).unwrap();
    assert_eq!(
        raised,
        [
            "tls_client.ca.saved",
            "tls_client.ca_installed",
            "tls_client.server.cert.tls-client-demo-0.changed",
            "tls_client.client.cert.tls-client-demo-0-client.changed",
            "tls_client.server.certs.changed",
            "tls_client.client.certs.changed",
            "tls_client.certs.changed",
            "tls_client.certs.saved",
        ]
    );
    let files: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&results["files"]).unwrap();
    assert_eq!(
        files[&format!("{d}/srv/server.key")],
        "server key tls-client-demo-0"
    );
    assert_eq!(
        files[&format!("{d}/trust/tls-client-demo.crt")],
        "CA (trust store)"
    );
    assert_eq!(results["trust-store"], format!("{d}/trust"));
}

#[test]
fn the_relation_going_takes_the_ca_out_of_the_trust_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = served(dir.path());
    assert!(dir.path().join("trust/tls-client-demo.crt").exists());
    let out = demo()
        .run(relation_event(Event::RelationBroken, "ca/0"), out)
        .unwrap();
    assert!(!dir.path().join("trust/tls-client-demo.crt").exists());
    assert_eq!(
        out.unit_status.kind,
        StatusKind::Blocked,
        "{:?}",
        out.unit_status
    );
    let raised: Vec<String> = serde_json::from_value(out.stored["raised-flags"].clone()).unwrap();
    assert_eq!(raised.last().unwrap(), "(ca removed from the trust store)");
}

/// What a reactive-only provider (easyrsa) publishes for the demo unit that wrote `bag`: its
/// CA and, when `answer`, every request answered with a key it made.
fn reactive_provider_bag(bag: &charm::Databag, answer: bool) -> charm::Databag {
    use tls_interfaces::wire::reactive::{self, IssuedPair, RequestType, RequirerBag};
    let now = OffsetDateTime::from_unix_timestamp(State::new("x/0".parse().unwrap()).now).unwrap();
    let ca = CertificateAuthority::self_signed_root(
        &RequestAttributes::new("reactive CA"),
        PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap(),
        Duration::days(365),
        now - Duration::days(1),
    )
    .unwrap();
    let ca_pem = ca.certificate().pem().trim().to_owned();
    let mut out = charm::Databag::from([("ca".to_owned(), ca_pem.clone())]);
    out.insert("chain".into(), ca_pem);
    if !answer {
        return out;
    }
    let (parsed, errors) = RequirerBag::parse(bag);
    assert!(errors.is_empty(), "{errors:?}");
    let u = parsed.unit_name.clone().expect("unit_name");
    let mut clients = std::collections::BTreeMap::new();
    for r in parsed.all_requests() {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let csr = RequestAttributes::new(&r.common_name).to_csr(&key).unwrap();
        let cert = ca
            .issue(
                &pki::IssueRequest {
                    csr: &csr,
                    kind: pki::CertificateKind::Leaf,
                    validity: Duration::days(30),
                },
                &IssuingPolicy::default(),
                now,
            )
            .unwrap();
        let pair = IssuedPair::new(cert.pem().trim(), key.to_pkcs8_pem().trim());
        match r.kind {
            RequestType::Server => {
                let (c, k) = reactive::server_keys(&u);
                out.insert(c, pair.cert.clone());
                out.insert(k, pair.key.to_string());
            }
            _ => {
                clients.insert(r.common_name.clone(), pair);
            }
        }
    }
    out.insert(
        RequestType::Client.processed_key(&u),
        reactive::processed_value(&clients),
    );
    out
}

/// The demo on a relation whose provider unit publishes `provider_bag(demo's bag)`.
fn with_reactive_provider(
    state: State,
    provider_bag: impl Fn(&charm::Databag) -> charm::Databag,
) -> State {
    let mut state = state;
    let r = state
        .relations
        .iter_mut()
        .find(|r| r.id == RELATION)
        .unwrap();
    let bag = provider_bag(&r.local_unit_data);
    r.remote_units.insert("ca/0".parse().unwrap(), bag);
    demo()
        .run(relation_event(Event::RelationChanged, "ca/0"), state)
        .unwrap()
}

fn related(state: State) -> State {
    state.with_relation(Relation::new(
        "certificates".parse().unwrap(),
        RELATION,
        "ca".parse().unwrap(),
    ))
}

#[test]
fn a_reactive_only_provider_blocks_the_unit_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let out = with_reactive_provider(related(configured(dir.path())), |b| {
        reactive_provider_bag(b, false)
    });
    assert_eq!(out.unit_status.kind, StatusKind::Blocked);
    assert!(
        out.unit_status
            .message
            .contains("only the reactive tls-certificates wire")
            && out
                .unit_status
                .message
                .contains("set allow-reactive-wire=true"),
        "{:?}",
        out.unit_status
    );
    assert!(!dir.path().join("ca.crt").exists());
}

#[test]
fn allowed_the_reactive_wire_is_used_and_status_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let state = related(configured(dir.path()).with_config("allow-reactive-wire", true));
    let out = with_reactive_provider(state, |b| reactive_provider_bag(b, false));
    assert_eq!(out.unit_status.kind, StatusKind::Waiting);
    assert_eq!(
        out.unit_status.message,
        "reactive wire in use (keys made by the provider): waiting for certificates: 0 of 2 saved"
    );
    let out = with_reactive_provider(out, |b| reactive_provider_bag(b, true));
    assert_eq!(
        out.unit_status.kind,
        StatusKind::Active,
        "{:?}",
        out.unit_status
    );
    let d = dir.path().display();
    assert_eq!(
        out.unit_status.message,
        format!(
            "reactive wire in use (keys made by the provider): \
             server tls-client-demo-0 -> {d}/srv/server.crt (key {d}/srv/server.key); \
             client tls-client-demo-0-client -> {d}/cli/client.crt (key {d}/cli/client.key); \
             CA -> {d}/ca.crt, {d}/trust/tls-client-demo.crt"
        )
    );
    assert_eq!(mode(&dir.path().join("cli/client.key")), 0o600);
}
