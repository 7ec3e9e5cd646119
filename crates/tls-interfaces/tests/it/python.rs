//! Differential tests against the published Python libraries, driven through `ops.testing` by
//! `tests/python/tls_oracle.py` in the pinned test venv: each side accepts what the other writes,
//! both write the same keys and shapes, and a unit's state from the Python requirer is picked up
//! by ours without a new key or CSR.

use std::collections::BTreeMap;

use charm::testing::{Secret, SecretOwnerEntity};
use charm::{Databag, Event};
use pki::{Certificate, Csr, IssuingPolicy, PrivateKey};
use serde_json::{Value, json};
use tls_interfaces::labels::{self, LIBID};
use tls_interfaces::{Mode, RequirerEvent, Scope};

use crate::world::{RELATION_ID, World, list, unit, unit_wants};

#[path = "../../../../tests/python/venv.rs"]
pub(crate) mod venv;

/// Runs the oracle with `input`; returns its JSON output.
pub(crate) fn oracle(input: &Value) -> Value {
    venv::oracle("tls_oracle.py", input).unwrap_or_else(|e| panic!("{e}"))
}

fn bag(v: &Value) -> Databag {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn entry_keys(value: &str) -> Vec<Vec<String>> {
    list(value)
        .iter()
        .map(|e| e.as_object().unwrap().keys().cloned().collect())
        .collect()
}

#[test]
fn a_python_requirer_is_served_by_our_provider() {
    let request = json!({"cn": "py-req.example", "sans_dns": ["py-req.example"]});
    let first = oracle(&json!({"role": "requirer", "mode": "UNIT", "requests": [request]}));
    let py_bag = bag(&first["local_unit_data"]);

    // Our provider signs the Python CSR.
    let mut w = World::new(
        Mode::Unit,
        &["req/0"],
        "req/0",
        unit_wants(&[]),
        IssuingPolicy::default(),
    );
    w.provider.relations[0]
        .remote_units
        .insert(unit("req/0"), py_bag.clone());
    w.run_provider(Event::UpdateStatus);
    let provider_bag = w.provider_bag().clone();
    assert_eq!(list(&provider_bag["certificates"]).len(), 1);

    // The Python requirer takes it.
    let second = oracle(&json!({
        "role": "requirer", "mode": "UNIT", "requests": [request],
        "local_unit_data": py_bag, "remote_app_data": provider_bag, "secrets": first["secrets"],
    }));
    assert_eq!(second["available"].as_array().unwrap().len(), 1, "{second}");
    let cert = Certificate::from_pem(second["available"][0].as_str().unwrap()).unwrap();
    let key_pem = first["secrets"][0]["content"]["private-key"]
        .as_str()
        .unwrap();
    assert!(cert.matches_key(&PrivateKey::from_pem(key_pem).unwrap()));
    assert!(second["secrets"].as_array().unwrap().iter().any(|s| {
        s["label"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{LIBID}-certificate-0-certificates-"))
    }));
    assert_eq!(
        second["local_unit_data"], first["local_unit_data"],
        "no new CSR"
    );
}

#[test]
fn our_requirer_is_served_by_the_python_provider() {
    let ca = oracle(&json!({"role": "ca", "cn": "Py Root"}));
    let mut w = World::single("rust-req.example");
    w.run_requirer("req/0", Event::Install);
    let our_bag = w
        .requirer("req/0")
        .relation(RELATION_ID)
        .unwrap()
        .local_unit_data
        .clone();
    let out = oracle(&json!({
        "role": "provider", "ca_pem": ca["ca_pem"], "ca_key_pem": ca["ca_key_pem"],
        "remote_units_data": {"0": our_bag},
    }));
    let py_provider_bag = bag(&out["local_app_data"]);
    assert_eq!(list(&py_provider_bag["certificates"]).len(), 1);
    w.requirers.get_mut(&unit("req/0")).unwrap().relations[0].remote_app_data = py_provider_bag;
    let state = w.requirers.remove(&unit("req/0")).unwrap();
    let state = w
        .requirer_ctx
        .run(w.relation_event(Some("ca")), state)
        .unwrap();
    w.requirers.insert(unit("req/0"), state);
    let events = w.take_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RequirerEvent::CertificateAvailable(_))),
        "{events:?} {:?}",
        w.requirer("req/0").logs
    );
}

#[test]
fn both_libraries_write_the_same_keys_and_shapes() {
    let request = json!({"cn": "shape.example", "sans_dns": ["shape.example"]});
    let py_req = oracle(&json!({"role": "requirer", "mode": "UNIT", "requests": [request]}));
    let mut w = World::single("shape.example");
    w.round();
    let ours = w.unit_csrs("req/0").unwrap();
    let theirs = py_req["local_unit_data"]["certificate_signing_requests"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(entry_keys(&ours), entry_keys(&theirs));

    // Same CSR subject layout and SANs for the same attributes.
    let ours_csr = Csr::from_pem(
        list(&ours)[0]["certificate_signing_request"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let theirs_csr = Csr::from_pem(
        list(&theirs)[0]["certificate_signing_request"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let kinds = |c: &Csr| {
        c.subject()
            .attributes()
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds(&ours_csr), kinds(&theirs_csr));
    assert_eq!(ours_csr.attributes(), theirs_csr.attributes());

    // Provider side: same keys in the app bag and in each certificate entry.
    let ca = oracle(&json!({"role": "ca"}));
    let py_prov = oracle(
        &json!({"role": "provider", "ca_pem": ca["ca_pem"], "ca_key_pem": ca["ca_key_pem"], "remote_units_data": {"0": {"certificate_signing_requests": ours}}}),
    );
    let py_bag = bag(&py_prov["local_app_data"]);
    let our_certs = w.provider_bag()["certificates"].clone();
    assert_eq!(entry_keys(&our_certs), entry_keys(&py_bag["certificates"]));
    // Same JSON spelling (json.dumps separators).
    assert!(our_certs.starts_with("[{\"ca\": "), "{}", &our_certs[..20]);
    assert!(py_bag["certificates"].starts_with("[{\"ca\": "));
}

#[test]
fn a_unit_migrating_from_the_python_requirer_keeps_its_key_and_csr() {
    // The Python requirer runs, gets a certificate from our provider, and stores it.
    let request = json!({"cn": "migrate.example", "sans_dns": ["migrate.example"]});
    let first = oracle(&json!({"role": "requirer", "mode": "UNIT", "requests": [request]}));
    let mut w = World::single("migrate.example");
    w.provider.relations[0]
        .remote_units
        .insert(unit("req/0"), bag(&first["local_unit_data"]));
    w.run_provider(Event::UpdateStatus);
    let provider_bag = w.provider_bag().clone();
    let second = oracle(&json!({
        "role": "requirer", "mode": "UNIT", "requests": [request],
        "local_unit_data": first["local_unit_data"], "remote_app_data": provider_bag, "secrets": first["secrets"],
    }));

    // The same unit now runs our requirer over the state the Python library left.
    let state = w.requirers.get_mut(&unit("req/0")).unwrap();
    state.relations[0].local_unit_data = bag(&second["local_unit_data"]);
    state.relations[0].remote_app_data = provider_bag;
    state.secrets = second["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let content: BTreeMap<String, String> = bag(&s["content"]);
            let mut secret = Secret::new(
                format!("d4mk5kvmp25c77s8jd{i:02}"),
                SecretOwnerEntity::Unit(unit("req/0")),
                content,
            )
            .with_label(s["label"].as_str().unwrap());
            secret.expire = s["expire"].as_str().map(str::to_owned);
            secret
        })
        .collect();
    let secrets_before = state.secrets.len();
    // Python requests RSA keys; ours would make P-256 ones: a new key would show at once.
    w.run_requirer("req/0", Event::UpgradeCharm);
    w.run_requirer("req/0", Event::UpdateStatus);
    assert_eq!(
        w.unit_csrs("req/0").unwrap(),
        second["local_unit_data"]["certificate_signing_requests"]
            .as_str()
            .unwrap(),
        "no new CSR"
    );
    let key_label = labels::private_key(Scope::Unit, 0, "certificates");
    let key = w.requirer("req/0").secret_by_label(&key_label).unwrap();
    assert_eq!(key.latest(), 1, "the key secret was not rewritten");
    assert_eq!(
        w.requirer("req/0").secrets.len(),
        secrets_before,
        "no new secret"
    );
    assert!(
        w.take_events().is_empty(),
        "the stored certificate is recognised, not re-announced"
    );
}

#[test]
fn the_python_transfer_requirer_reads_what_our_provider_publishes() {
    use std::collections::BTreeSet;
    let pem = crate::world::ca().certificate().pem().trim().to_owned();
    for requirer_app in [
        Databag::from([("version".into(), "1".into())]),
        Databag::new(),
    ] {
        let v0 = requirer_app.is_empty();
        let ctx = charm::testing::Context::from_charmcraft_yaml(
            "name: ca\nprovides:\n  send-ca-cert:\n    interface: certificate_transfer\n",
            {
                let set = BTreeSet::from([pem.clone()]);
                move || Publisher(set.clone())
            },
        )
        .unwrap();
        let rel = charm::testing::Relation::new(
            "send-ca-cert".parse().unwrap(),
            3,
            "client".parse().unwrap(),
        )
        .with_remote_app_data(requirer_app);
        let out = ctx
            .run(
                Event::UpdateStatus,
                charm::testing::State::new(unit("ca/0"))
                    .with_leader(true)
                    .with_relation(rel),
            )
            .unwrap();
        let r = out.relation(3).unwrap();
        let (app, unit_bag) = if v0 {
            (Databag::new(), r.local_unit_data.clone())
        } else {
            (r.local_app_data.clone(), Databag::new())
        };
        let py = oracle(
            &json!({"role": "transfer-requirer", "remote_app_data": app, "remote_unit_data": unit_bag}),
        );
        assert_eq!(py["available"], json!([pem]), "v0={v0}: {py}");
        assert_eq!(
            py["local_app_data"]["version"], "1",
            "the Python requirer announced v1"
        );
    }
}

struct Publisher(std::collections::BTreeSet<String>);

impl charm::Charm for Publisher {
    fn handle(
        &mut self,
        _e: &Event,
        model: &mut charm::Model<'_>,
    ) -> Result<(), charm::HandlerError> {
        tls_interfaces::TransferProvider::new("send-ca-cert".parse()?).publish(model, &self.0)?;
        Ok(())
    }
}
