use charm::Event;
use charm::testing::SecretOwnerEntity;
use juju_tls_interfaces::labels::{self, LIBID};
use juju_tls_interfaces::{Mode, RequirerEvent, Scope};
use pki::{Certificate, Csr, IssuingPolicy, PrivateKey};

use crate::world::{RELATION_ID, Wants, World, list, unit_wants};

#[test]
fn unit_mode_end_to_end_keeps_key_and_csr_stable() {
    let mut w = World::single("req-0.example");
    w.run_requirer("req/0", Event::Install);
    // Installed but no relation event yet: the relation exists in state, so it reconciles.
    let csrs = w.unit_csrs("req/0").expect("a CSR is sent");
    let entries = list(&csrs);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["ca"], false);
    let key_label = labels::private_key(Scope::Unit, 0, "certificates");
    let key_secret = w
        .requirer("req/0")
        .secret_by_label(&key_label)
        .expect("key secret");
    assert!(matches!(key_secret.owner, SecretOwnerEntity::Unit(_)));
    let key_pem = key_secret.content().unwrap()["private-key"].clone();
    assert!(
        key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----"),
        "traditional PEM like the Python library"
    );

    // Many hooks in a row: the CSR and the key never change.
    for _ in 0..5 {
        w.run_requirer("req/0", Event::UpdateStatus);
        w.run_requirer("req/0", Event::ConfigChanged);
    }
    assert_eq!(w.unit_csrs("req/0").unwrap(), csrs);
    assert_eq!(
        w.requirer("req/0")
            .secret_by_label(&key_label)
            .unwrap()
            .content()
            .unwrap()["private-key"],
        key_pem
    );

    w.round();
    let events = w.take_events();
    let available: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RequirerEvent::CertificateAvailable(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(available.len(), 1, "{events:?}");
    let cert = Certificate::from_pem(&available[0].certificate).unwrap();
    assert!(cert.matches_key(&PrivateKey::from_pem(&key_pem).unwrap()));
    assert_eq!(available[0].chain.len(), 2, "leaf then root");

    // The certificate is stored under the Python library's label, with a renewal expiry.
    let csr = Csr::from_pem(entries[0]["certificate_signing_request"].as_str().unwrap()).unwrap();
    let sha = labels::csr_sha256(pki::pem::encode("CERTIFICATE REQUEST", csr.der()).trim());
    let label = format!("{LIBID}-certificate-0-certificates-{sha}");
    let secret = w
        .requirer("req/0")
        .secret_by_label(&label)
        .expect("certificate secret");
    assert_eq!(
        secret.content().unwrap()["csr"],
        pki::pem::encode("CERTIFICATE REQUEST", csr.der()).trim()
    );
    assert!(secret.expire.is_some());

    // Further hooks: no new event, no new CSR.
    w.round();
    assert!(
        w.take_events()
            .iter()
            .all(|e| !matches!(e, RequirerEvent::CertificateAvailable(_)))
    );
    assert_eq!(w.unit_csrs("req/0").unwrap(), csrs);
}

#[test]
fn app_mode_only_the_leader_requests_and_a_new_leader_keeps_the_key() {
    let wants = Wants(vec![(Scope::App, "app.example".into(), false)]);
    let mut w = World::new(
        Mode::App,
        &["req/0", "req/1"],
        "req/0",
        wants,
        IssuingPolicy::default(),
    );
    w.run_requirer("req/1", Event::Install);
    assert!(w.app_csrs("req/1").is_none(), "a non-leader writes nothing");
    assert!(w.unit_csrs("req/1").is_none());
    w.round();
    let csrs = w.app_csrs("req/0").expect("the leader sent the app CSR");
    let label = labels::private_key(Scope::App, 0, "certificates");
    let secret = w.requirer("req/0").secret_by_label(&label).unwrap().clone();
    assert!(matches!(secret.owner, SecretOwnerEntity::App(_)));
    assert_eq!(
        w.take_events()
            .iter()
            .filter(|e| matches!(e, RequirerEvent::CertificateAvailable(_)))
            .count(),
        1
    );

    // Leadership moves to req/1, which sees the app-owned secrets (the harness models them per
    // unit state, so hand them over as Juju would).
    let app_secrets: Vec<_> = w
        .requirer("req/0")
        .secrets
        .iter()
        .filter(|s| matches!(s.owner, SecretOwnerEntity::App(_)))
        .cloned()
        .collect();
    {
        let s1 = w.requirers.get_mut(&crate::world::unit("req/1")).unwrap();
        s1.leader = true;
        s1.secrets.extend(app_secrets);
        w.requirers
            .get_mut(&crate::world::unit("req/0"))
            .unwrap()
            .leader = false;
    }
    w.run_requirer("req/1", Event::LeaderElected);
    assert_eq!(
        w.app_csrs("req/1").unwrap(),
        csrs,
        "no new CSR after a leader change"
    );
    assert_eq!(
        w.requirer("req/1")
            .secret_by_label(&label)
            .unwrap()
            .content(),
        secret.content()
    );
}

#[test]
fn app_and_unit_mode_requests_both() {
    let wants = Wants(vec![
        (Scope::App, "app.example".into(), false),
        (Scope::Unit, "unit.example".into(), false),
    ]);
    let mut w = World::new(
        Mode::AppAndUnit,
        &["req/0", "req/1"],
        "req/0",
        wants,
        IssuingPolicy::default(),
    );
    w.round();
    assert_eq!(list(&w.app_csrs("req/0").unwrap()).len(), 1);
    assert_eq!(list(&w.unit_csrs("req/0").unwrap()).len(), 1);
    assert_eq!(list(&w.unit_csrs("req/1").unwrap()).len(), 1);
    assert_eq!(list(&w.provider_bag()["certificates"]).len(), 3);
    let events = w.take_events();
    let scopes: Vec<Scope> = events
        .iter()
        .filter_map(|e| match e {
            RequirerEvent::CertificateAvailable(a) => Some(a.scope),
            _ => None,
        })
        .collect();
    assert_eq!(scopes.iter().filter(|s| **s == Scope::App).count(), 1);
    assert_eq!(scopes.iter().filter(|s| **s == Scope::Unit).count(), 2);
}

#[test]
fn two_units_asking_for_the_same_name_get_distinct_certificates() {
    let mut w = World::new(
        Mode::Unit,
        &["req/0", "req/1"],
        "req/0",
        unit_wants(&["same.example"]),
        IssuingPolicy::default(),
    );
    w.round();
    let a = w.unit_csrs("req/0").unwrap();
    let b = w.unit_csrs("req/1").unwrap();
    assert_ne!(a, b, "the unique id keeps the requests apart");
    assert_eq!(list(&w.provider_bag()["certificates"]).len(), 2);
}

#[test]
fn changed_attributes_replace_the_csr_with_the_same_key() {
    let mut w = World::single("old.example");
    w.round();
    let before = list(&w.unit_csrs("req/0").unwrap());
    w.wants.borrow_mut().0 = vec![(Scope::Unit, "new.example".into(), false)];
    w.round();
    let after = list(&w.unit_csrs("req/0").unwrap());
    assert_eq!(after.len(), 1);
    assert_ne!(before, after);
    let csr = Csr::from_pem(after[0]["certificate_signing_request"].as_str().unwrap()).unwrap();
    assert_eq!(csr.subject().common_name(), Some("new.example"));
    let old = Csr::from_pem(before[0]["certificate_signing_request"].as_str().unwrap()).unwrap();
    assert_eq!(csr.public_key_der(), old.public_key_der(), "same key");
    // The provider dropped the certificate of the vanished CSR and issued the new one.
    let certs = list(&w.provider_bag()["certificates"]);
    assert_eq!(certs.len(), 1);
}

#[test]
fn secret_expiry_renews_with_a_new_csr_and_the_same_key() {
    let mut w = World::single("renew.example");
    w.round();
    w.take_events();
    let before = list(&w.unit_csrs("req/0").unwrap());
    let secret = w
        .requirer("req/0")
        .secrets
        .iter()
        .find(|s| s.label.as_deref().is_some_and(labels::is_certificate))
        .unwrap()
        .clone();
    let event = Event::SecretExpired(charm::event::SecretEvent {
        id: secret.id().unwrap(),
        label: secret.label.clone(),
        revision: Some(secret.latest()),
    });
    w.run_requirer("req/0", event);
    let after = list(&w.unit_csrs("req/0").unwrap());
    assert_ne!(before, after, "a new CSR");
    let (old, new) = (
        Csr::from_pem(before[0]["certificate_signing_request"].as_str().unwrap()).unwrap(),
        Csr::from_pem(after[0]["certificate_signing_request"].as_str().unwrap()).unwrap(),
    );
    assert_eq!(old.public_key_der(), new.public_key_der());
    assert!(
        w.requirer("req/0")
            .secrets
            .iter()
            .all(|s| s.xid != secret.xid),
        "the expired secret is removed"
    );
    w.round();
    assert_eq!(
        w.take_events()
            .iter()
            .filter(|e| matches!(e, RequirerEvent::CertificateAvailable(_)))
            .count(),
        1
    );
}

#[test]
fn the_safety_net_renews_when_expiry_was_missed() {
    let mut w = World::single("late.example");
    w.round();
    let before = w.unit_csrs("req/0").unwrap();
    // 90-day certificates; 0.95 of the validity is about day 85.5.
    w.advance(86 * 86_400);
    w.run_requirer("req/0", Event::UpdateStatus);
    assert_ne!(w.unit_csrs("req/0").unwrap(), before);
}

#[test]
fn revoked_certificates_are_dropped_and_requested_again() {
    let mut w = World::single("rev.example");
    w.round();
    let before = w.unit_csrs("req/0").unwrap();
    // The provider marks everything revoked.
    w.edit_provider_certificates(|certs| {
        for c in certs.iter_mut() {
            c["revoked"] = serde_json::Value::Bool(true);
        }
    });
    w.run_requirer("req/0", Event::UpdateStatus);
    assert_ne!(w.unit_csrs("req/0").unwrap(), before);
    assert!(
        w.requirer("req/0")
            .secrets
            .iter()
            .all(|s| !s.label.as_deref().is_some_and(labels::is_certificate))
    );
}

#[test]
fn relation_broken_removes_keys_and_certificate_secrets() {
    let mut w = World::single("gone.example");
    w.round();
    assert!(w.requirer("req/0").secrets.len() >= 2);
    let event = Event::RelationBroken(charm::event::RelationEvent {
        relation: charm::RelationId::new(crate::world::endpoint(), RELATION_ID),
        remote_app: Some("ca".parse().unwrap()),
        remote_unit: None,
        departing_unit: None,
    });
    w.run_requirer("req/0", event);
    assert!(
        w.requirer("req/0")
            .secrets
            .iter()
            .all(|s| !s.label.as_deref().is_some_and(|l| l.starts_with(LIBID))),
        "{:?}",
        w.requirer("req/0").secrets
    );
}

#[test]
fn a_certificate_for_another_key_is_refused_with_a_reason() {
    let mut w = World::single("mine.example");
    w.round();
    w.take_events();
    // Swap the certificate for one issued to a different key.
    let other = PrivateKey::generate(pki::KeyAlgorithm::EcdsaP256).unwrap();
    let other_csr = crate::world::attributes("mine.example")
        .to_csr(&other)
        .unwrap();
    let ca = crate::world::ca();
    let now = time::OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
    let forged = ca
        .issue(
            &pki::IssueRequest {
                csr: &other_csr,
                kind: pki::CertificateKind::Leaf,
                validity: time::Duration::days(9),
            },
            &IssuingPolicy::default(),
            now,
        )
        .unwrap();
    w.edit_provider_certificates(|certs| {
        certs[0]["certificate"] = serde_json::Value::String(forged.pem().to_owned());
    });
    w.sync();
    // Forget the stored certificate so the requirer looks again.
    w.forget_certificate_secrets("req/0");
    w.run_requirer("req/0", Event::UpdateStatus);
    assert!(w.take_events().is_empty());
    let logs = &w.requirer("req/0").logs;
    assert!(
        logs.iter()
            .any(|(_, m)| m.contains("refusing the certificate")
                && m.contains("not for our private key")),
        "{logs:?}"
    );
}

/// The delivered chain is judged as `pki verify` judges it (rustls-webpki, TLS server or client
/// use): a certificate for our key and request whose extended key usage is code signing only
/// chains by names and signatures (the old walk passed it) but is no TLS certificate. It is kept
/// (the key and request match) with a warning naming why.
#[test]
fn a_certificate_webpki_refuses_is_kept_with_a_warning_naming_why() {
    let mut w = World::single("eku.example");
    // openssl signs at the real time: move the harness clocks there first.
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    w.advance(real_now - w.requirer("req/0").now);
    w.round();
    w.take_events();
    let csr = list(&w.unit_csrs("req/0").unwrap())[0]["certificate_signing_request"]
        .as_str()
        .unwrap()
        .to_owned();
    let ca = crate::world::ca();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("req.csr"), &csr).unwrap();
    std::fs::write(d.join("ca.pem"), ca.certificate().pem()).unwrap();
    std::fs::write(
        d.join("ca.key"),
        ca.key().to_traditional_pem().unwrap().as_bytes(),
    )
    .unwrap();
    std::fs::write(
        d.join("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=codeSigning\nsubjectAltName=DNS:eku.example\n",
    )
    .unwrap();
    let out = std::process::Command::new("openssl")
        .current_dir(d)
        .args([
            "x509",
            "-req",
            "-in",
            "req.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "4242",
            "-days",
            "9",
            "-sha256",
            "-extfile",
            "ext.cnf",
            "-out",
            "leaf.pem",
        ])
        .output()
        .expect("openssl is needed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let leaf = std::fs::read_to_string(d.join("leaf.pem"))
        .unwrap()
        .trim()
        .to_owned();
    w.advance(60);
    w.edit_provider_certificates(|certs| {
        certs[0]["certificate"] = serde_json::Value::String(leaf.clone());
        certs[0]["chain"][0] = serde_json::Value::String(leaf.clone());
    });
    w.forget_certificate_secrets("req/0");
    w.run_requirer("req/0", Event::UpdateStatus);
    let events = w.take_events();
    assert!(
        events.iter().any(|e| matches!(e,
            RequirerEvent::CertificateAvailable(a) if a.certificate.trim() == leaf)),
        "the certificate was dropped: {events:?}"
    );
    let logs = &w.requirer("req/0").logs;
    assert!(
        logs.iter()
            .any(|(level, m)| *level == charm::LogLevel::Warning
                && m.contains("does not chain to the CA it came with")
                && m.contains("is not allowed for any authentication")
                && m.contains("1.3.6.1.5.5.7.3.3")),
        "{logs:?}"
    );
}

/// A CA certificate delivered for a CA request is judged as `pki verify` judges one (webpki does
/// not take a CA certificate as the end entity; our walk does): it chains, so no warning.
#[test]
fn a_ca_certificate_for_a_ca_request_chains_without_a_warning() {
    let mut w = World::new(
        Mode::App,
        &["req/0"],
        "req/0",
        Wants(vec![(Scope::App, "sub-ca.example".into(), true)]),
        IssuingPolicy::allowing_ca(),
    );
    w.round();
    let events = w.take_events();
    let available: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RequirerEvent::CertificateAvailable(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(available.len(), 1, "{events:?}");
    assert!(
        Certificate::from_pem(&available[0].certificate)
            .unwrap()
            .info()
            .is_ca
    );
    let logs = &w.requirer("req/0").logs;
    assert!(
        !logs.iter().any(|(_, m)| m.contains("does not chain")),
        "{logs:?}"
    );
}

#[test]
fn relation_joined_of_the_endpoint_is_left_to_the_relation_changed_that_follows() {
    let mut w = World::single("req-0.example");
    let Event::RelationChanged(e) = w.relation_event(Some("ca/0")) else {
        unreachable!("relation_event makes relation-changed")
    };
    // Juju follows every relation-joined with relation-changed for the same unit: the
    // joined hook reads and writes nothing (the Python library does not observe it either).
    w.run_requirer("req/0", Event::RelationJoined(e.clone()));
    assert_eq!(
        w.unit_csrs("req/0"),
        None,
        "nothing sent in relation-joined"
    );
    assert!(w.take_events().is_empty());
    w.run_requirer("req/0", Event::RelationChanged(e));
    assert!(
        w.unit_csrs("req/0").is_some(),
        "the CSR goes in relation-changed"
    );
}
