//! The CA's life: creation, config, renewal, actions, leadership.

use super::*;

#[test]
fn the_leader_creates_the_ca_signs_and_publishes_it() {
    let (a, b) = (csr("a.example"), csr("b.example"));
    let out = run(
        Event::ConfigChanged,
        state(
            true,
            &[
                ("req/0", bag(&[(&a, false)])),
                ("req/1", bag(&[(&b, false)])),
            ],
        ),
    );
    let secret = out.secret_by_label(ACTIVE_LABEL).expect("CA secret");
    assert!(
        matches!(secret.owner, SecretOwnerEntity::App(_)),
        "app-owned"
    );
    assert!(secret.expire.is_some(), "expires at the renewal time");
    let ca = Certificate::from_pem(&ca_pem(&out)).unwrap();
    assert_eq!(
        ca.subject().common_name(),
        Some("self-signed-certificates-operator")
    );
    assert!(
        secret.content().unwrap()["private-key"].contains("BEGIN RSA PRIVATE KEY"),
        "rsa2048 by default"
    );

    let certs = certificates(&out);
    assert_eq!(certs.len(), 2);
    for c in &certs {
        assert_eq!(c["chain"][0], c["certificate"]);
        assert_eq!(c["chain"][1], c["ca"]);
        assert_eq!(c["ca"].as_str().unwrap(), ca_pem(&out));
        openssl_verify(c, out.now);
    }
    assert_eq!(published_cas(&out), vec![ca_pem(&out)]);
    let caps: Value =
        serde_json::from_str(&out.relation(CERTS).unwrap().local_app_data["capabilities"]).unwrap();
    assert_eq!(caps["supports_ca_certificates"], false);
    assert!(
        out.unit_status.message.contains("2 certificates issued"),
        "{:?}",
        out.unit_status
    );

    // Another hook changes nothing.
    let again = run(Event::UpdateStatus, out.clone());
    assert_eq!(certificates(&again), certs);
    assert_eq!(ca_pem(&again), ca_pem(&out));
}

#[test]
fn invalid_config_blocks_naming_each_option_and_loses_nothing() {
    let a = csr("keep.example");
    let good = issue(&[(&a, false)]);
    let before = good.relation(CERTS).unwrap().local_app_data.clone();
    let mut bad = good.clone();
    bad.config
        .insert("certificate-validity".into(), json!("1y"));
    bad.config.insert("ca-country-name".into(), json!("France"));
    bad.config.insert("ca-common-name".into(), json!(""));
    let out = run(Event::ConfigChanged, bad);
    assert_eq!(out.unit_status.kind, charm::StatusKind::Blocked);
    for option in ["certificate-validity", "ca-country-name", "ca-common-name"] {
        assert!(
            out.unit_status.message.contains(option),
            "{}",
            out.unit_status.message
        );
    }
    assert_eq!(
        out.relation(CERTS).unwrap().local_app_data,
        before,
        "nothing issued is lost"
    );
    assert_eq!(ca_pem(&out), ca_pem(&good));
}

#[test]
fn a_ca_field_change_makes_a_new_ca_and_reissues_everything() {
    let a = csr("re.example");
    let first = issue(&[(&a, false)]);
    let old_ca = ca_pem(&first);
    let mut changed = first.clone();
    changed
        .config
        .insert("ca-common-name".into(), json!("New Name CA"));
    let out = run(Event::ConfigChanged, changed);
    let new_ca = ca_pem(&out);
    assert_ne!(new_ca, old_ca);
    let certs = certificates(&out);
    assert_eq!(certs.len(), 1);
    assert_eq!(
        certs[0]["ca"].as_str().unwrap(),
        new_ca,
        "re-issued under the new CA in the same hook"
    );
    assert!(certs[0].get("revoked").is_none());
    // Both CAs are published during the change, then the old one is pruned.
    assert_eq!(published_cas(&out).len(), 2);
    let later = run(Event::UpdateStatus, out);
    assert_eq!(published_cas(&later), vec![new_ca]);
}

#[test]
fn the_ca_is_renewed_before_it_expires_without_revoking() {
    let a = csr("long.example");
    let first = issue_short_lived(&a);
    let old_ca = ca_pem(&first);
    let old_cert = certificates(&first)[0]["certificate"].clone();
    // 16 days later the CA is past root - certificate validity (15 days).
    let mut later = first.clone();
    later.now += 16 * 86_400;
    let secret = later.secret_by_label(ACTIVE_LABEL).unwrap().clone();
    let expired = Event::SecretExpired(SecretEvent {
        id: secret.id().unwrap(),
        label: Some(ACTIVE_LABEL.into()),
        revision: Some(secret.latest()),
    });
    let out = run(expired, later);
    assert_ne!(ca_pem(&out), old_ca, "a new CA");
    let certs = certificates(&out);
    assert_eq!(
        certs[0]["certificate"], old_cert,
        "nothing revoked or re-issued"
    );
    assert!(certs[0].get("revoked").is_none());
    let cas = published_cas(&out);
    assert!(
        cas.contains(&old_ca) && cas.contains(&ca_pem(&out)),
        "old and new both trusted"
    );
}

/// The next CA is published `ca-renewal-notice` before the renewal, takes over at the renewal,
/// and the old one stays published while a valid certificate chains to it.
#[test]
fn the_next_ca_is_published_ahead_then_takes_over() {
    let a = csr("notice.example");
    let mut s = leader_asked(&[(&a, false)]);
    s.config.insert("root-ca-validity".into(), json!("20d"));
    s.config.insert("certificate-validity".into(), json!("5d"));
    s.config.insert("ca-renewal-notice".into(), json!("3d"));
    let first = run(Event::ConfigChanged, s);
    let old_ca = ca_pem(&first);
    assert!(first.secret_by_label(NEXT_LABEL).is_none());
    assert!(
        first.unit_status.message.contains("next CA published from"),
        "{}",
        first.unit_status.message
    );
    let expiry = |s: &State| s.secret_by_label(ACTIVE_LABEL).unwrap().expire.clone();
    let publish_due = expiry(&first);

    // Day 13 (renewal on day 15, notice 3 days): the next CA is made and published, not used.
    let mut day13 = first.clone();
    day13.now += 13 * 86_400;
    let out = run(Event::UpdateStatus, day13);
    let next = out.secret_by_label(NEXT_LABEL).expect("next CA secret");
    let next_pem = next.content().unwrap()["ca-certificate"].clone();
    assert_eq!(ca_pem(&out), old_ca, "still signing with the current CA");
    let cas = published_cas(&out);
    assert!(cas.contains(&old_ca) && cas.contains(&next_pem), "{cas:?}");
    assert_ne!(
        expiry(&out),
        publish_due,
        "the CA secret now expires at the renewal"
    );
    assert!(
        out.unit_status
            .message
            .contains("next CA published, in use from")
    );
    // Another hook makes no other next CA.
    let again = run(Event::UpdateStatus, out.clone());
    assert_eq!(
        again
            .secret_by_label(NEXT_LABEL)
            .unwrap()
            .content()
            .unwrap()["ca-certificate"],
        next_pem
    );

    // Day 16: the next CA is the CA; the old one is published in this hook too (pruned once
    // nothing valid chains to it).
    let mut day16 = again;
    day16.now += 3 * 86_400;
    let out = run(Event::UpdateStatus, day16);
    assert_eq!(ca_pem(&out), next_pem, "the published next CA took over");
    assert!(
        out.secret_by_label(NEXT_LABEL).is_none(),
        "its secret is gone"
    );
    let cas = published_cas(&out);
    assert!(cas.contains(&old_ca) && cas.contains(&next_pem), "{cas:?}");
    assert!(
        out.unit_status
            .message
            .contains("1 previous CA(s) published"),
        "{}",
        out.unit_status.message
    );
}

#[test]
fn ca_requests_need_the_option() {
    let sub = csr("sub.example");
    let out = issue(&[(&sub, true)]);
    assert!(certificates(&out).is_empty());
    let e = errors(&out);
    assert_eq!(e[0]["error"]["code"], 999);
    assert!(
        e[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allow-ca-requests")
    );
    let mut allowed = out.clone();
    allowed
        .config
        .insert("allow-ca-requests".into(), json!(true));
    let out = run(Event::ConfigChanged, allowed);
    let certs = certificates(&out);
    assert!(
        Certificate::from_pem(certs[0]["certificate"].as_str().unwrap())
            .unwrap()
            .info()
            .is_ca
    );
    assert!(errors(&out).is_empty(), "the error is cleared once issued");
}

#[test]
fn the_certificate_limit_is_per_relation() {
    let (a, b) = (csr("one.example"), csr("two.example"));
    let mut s = leader_asked(&[(&a, false), (&b, false)]);
    s.config.insert("certificate-limit".into(), json!(1));
    let out = run(Event::ConfigChanged, s);
    assert_eq!(certificates(&out).len(), 1);
    assert!(
        errors(&out)[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("certificate-limit")
    );
}

#[test]
fn actions_return_what_the_published_charm_returns() {
    let a = csr("act.example");
    let out = issue(&[(&a, false)]);
    let got = run(action("get-ca-certificate"), out.clone());
    assert_eq!(got.action.results["ca-certificate"], ca_pem(&out));

    let got = run(action("get-issued-certificates"), out.clone());
    // The published charm's bytes, computed by Python from the same bag: `str()` of the list
    // of `ProviderCertificate.to_json()` strings.
    let rendered = &got.action.results["certificates"];
    let bag = serde_json::to_string(&certificates(&out)).unwrap();
    let script = "import json,sys\n\
        certs=json.loads(sys.argv[1])\n\
        want=str([json.dumps({'csr': c['certificate_signing_request'], 'certificate': c['certificate'], 'ca': c['ca'], 'chain': c.get('chain', []), 'revoked': c.get('revoked')}) for c in certs if not c.get('revoked')])\n\
        sys.stdout.write('same' if want == sys.argv[2] else 'want ' + want)";
    let py = Command::new("python3")
        .args(["-c", script, &bag, rendered])
        .output()
        .expect("python3");
    assert_eq!(String::from_utf8_lossy(&py.stdout), "same", "{rendered}");
    assert!(rendered.starts_with("['{\"csr\": \"-----BEGIN CERTIFICATE REQUEST-----\\\\n"));

    let rotated = run(action("rotate-private-key"), out.clone());
    assert!(rotated.action.results["result"].contains("New private key"));
    assert_ne!(ca_pem(&rotated), ca_pem(&out));
    assert_eq!(
        certificates(&rotated)[0]["ca"].as_str().unwrap(),
        ca_pem(&rotated),
        "re-issued under the new CA"
    );

    let mut follower = out.clone();
    follower.leader = false;
    let refused = run(action("rotate-private-key"), follower);
    assert_eq!(
        refused.action.failure.as_deref(),
        Some("This action can only be run on the leader unit.")
    );
}

#[test]
fn a_new_leader_continues_with_the_same_ca() {
    let a = csr("lead.example");
    let out = issue(&[(&a, false)]);
    let mut other = leader_asked(&[(&a, false)]);
    other.unit = "self-signed-certificates/1".parse().unwrap();
    other.secrets = out.secrets.clone();
    other.relations = out.relations.clone();
    let next = run(Event::LeaderElected, other);
    assert_eq!(ca_pem(&next), ca_pem(&out));
    assert_eq!(certificates(&next), certificates(&out));
}

#[test]
fn followers_stand_by() {
    let out = run(Event::ConfigChanged, state(false, &[]));
    assert_eq!(out.unit_status.kind, charm::StatusKind::Waiting);
}

#[test]
fn relation_joined_waits_for_the_relation_changed_that_follows_it() {
    // Juju runs a unit's relation-changed right after its relation-joined, with the same bags:
    // the provider reconciles there only (one read of every requirer's bag instead of two).
    let a = csr("joined.example");
    let input = leader_asked(&[(&a, false)]);
    let event = |make: fn(RelationEvent) -> Event| {
        make(RelationEvent {
            relation: RelationId::new("certificates".parse().unwrap(), CERTS),
            remote_app: Some("req".parse().unwrap()),
            remote_unit: Some("req/0".parse().unwrap()),
            departing_unit: None,
        })
    };
    let joined = run(event(Event::RelationJoined), input.clone());
    assert_eq!(joined.relations, input.relations, "joined wrote a bag");
    assert_eq!(joined.secrets, input.secrets, "joined made a CA");
    let changed = run(event(Event::RelationChanged), joined);
    assert_eq!(certificates(&changed).len(), 1, "changed signs the CSR");
}
