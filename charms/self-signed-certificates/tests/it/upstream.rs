//! State the published (Python) charm left behind: kept and served.

use super::*;

/// Older revisions of the published charm stored chains root-first: such an entry is kept as it
/// is (not re-issued, not rewritten) as long as its request stands.
#[test]
fn a_root_first_chain_from_the_published_charm_is_kept() {
    let a = csr("old.example");
    let out = issue(&[(&a, false)]);
    let mut upstream = out.clone();
    let rel = certs_relation_mut(&mut upstream);
    let mut list: Vec<Value> = serde_json::from_str(&rel.local_app_data["certificates"]).unwrap();
    let chain = list[0]["chain"].as_array().unwrap().clone();
    list[0]["chain"] = json!([chain[1], chain[0]]);
    rel.local_app_data
        .insert("certificates".into(), serde_json::to_string(&list).unwrap());
    let before = certificates(&upstream);
    let next = run(Event::UpgradeCharm, upstream);
    assert_eq!(certificates(&next), before, "re-issued or rewritten");
    assert_eq!(
        certificates(&next)[0]["chain"][0],
        before[0]["ca"],
        "still root-first"
    );
}

/// After a refresh from the published charm that had renewed its CA: the old CA it keeps in
/// `expiring-ca-certificates` stays published while a valid certificate under it is, then it
/// goes and so does that secret (its private key); nothing is revoked or re-issued meanwhile.
#[test]
fn the_published_charms_expiring_ca_is_published_until_nothing_valid_chains_to_it() {
    use charm::testing::Secret;
    use pki::CertificateAuthority;
    use self_signed_certificates::authority::EXPIRING_LABEL;

    let a = csr("old.example");
    let first = issue_short_lived(&a);
    let old_ca = ca_pem(&first);
    let old_cert = certificates(&first)[0]["certificate"].clone();

    // The published charm's renewal, by hand: the active CA moves to the expiring secret, a new
    // CA of the same configuration becomes active.
    let mut upstream = first.clone();
    upstream.now += 3600;
    let active = upstream
        .secrets
        .iter_mut()
        .find(|x| x.label.as_deref() == Some(ACTIVE_LABEL))
        .unwrap();
    let old_content = active.content().unwrap().clone();
    let new_ca = CertificateAuthority::self_signed_root(
        &RequestAttributes::new("self-signed-certificates-operator"),
        PrivateKey::generate(KeyAlgorithm::Rsa2048).unwrap(),
        time::Duration::days(20),
        time::OffsetDateTime::from_unix_timestamp(upstream.now).unwrap(),
    )
    .unwrap();
    let new_pem = new_ca.certificate().pem().trim().to_owned();
    let rev = active.latest() + 1;
    active.revisions.insert(
        rev,
        [
            (
                "private-key".to_owned(),
                new_ca.key().to_traditional_pem().unwrap().to_string(),
            ),
            ("ca-certificate".to_owned(), new_pem.clone()),
        ]
        .into(),
    );
    let upstream = upstream.with_secret(
        Secret::new(
            "d0e0p1r1n0ca00000000",
            SecretOwnerEntity::App("self-signed-certificates".parse().unwrap()),
            old_content,
        )
        .with_label(EXPIRING_LABEL),
    );

    // Refreshed to ours: both CAs published, the secret kept, the certificate untouched.
    let refreshed = run(Event::UpgradeCharm, upstream);
    assert_eq!(ca_pem(&refreshed), new_pem, "the active CA was kept");
    let cas = published_cas(&refreshed);
    assert!(cas.contains(&old_ca) && cas.contains(&new_pem), "{cas:?}");
    assert!(refreshed.secret_by_label(EXPIRING_LABEL).is_some());
    assert_eq!(certificates(&refreshed)[0]["certificate"], old_cert);

    // Once the last certificate under the old CA has expired, the old CA and its secret go.
    let mut later = refreshed.clone();
    later.now += 5 * 86_400;
    let after = run(Event::UpdateStatus, later);
    assert_eq!(published_cas(&after), vec![new_pem.clone()]);
    assert!(
        after.secret_by_label(EXPIRING_LABEL).is_none(),
        "the expiring CA's secret (and key) lingers"
    );
    assert_eq!(ca_pem(&after), new_pem, "the active CA stays");
}
