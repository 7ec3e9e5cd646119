use std::collections::BTreeMap;

use charm::UnitName;
use pki::{CertificateAuthority, KeyAlgorithm, PrivateKey, RequestAttributes};
use time::{Duration, OffsetDateTime};

use super::super::receive::{Offer, choose};
use super::super::refusal::RefusalReason;
use super::*;

fn unit(name: &str) -> UnitName {
    name.parse().unwrap()
}

fn start() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn ca(name: &str) -> CertificateAuthority {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let mut subject = RequestAttributes::new(name);
    subject.add_unique_id_to_subject_name = false;
    CertificateAuthority::self_signed_root(&subject, key, Duration::days(3650), start()).unwrap()
}

/// A unit's key and the CSR it publishes (its name as CN and DNS SAN).
fn requester(name: &str) -> (PrivateKey, String) {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = csr_for(&key, name, &[]);
    (key, csr)
}

fn csr_for(key: &PrivateKey, name: &str, extra: &[&str]) -> String {
    let mut attributes = RequestAttributes::new(name.replace('/', "-"));
    attributes.add_unique_id_to_subject_name = false;
    attributes
        .sans
        .push_str(&format!("DNS:{}", name.replace('/', "-")))
        .unwrap();
    for san in extra {
        attributes.sans.push_str(san).unwrap();
    }
    attributes.to_csr(key).unwrap().pem().to_owned()
}

fn view<'a>(
    ca: &'a CertificateAuthority,
    now: OffsetDateTime,
    csrs: &[(&str, Option<&str>)],
    own: BTreeMap<UnitName, String>,
    others: Vec<BTreeMap<UnitName, String>>,
) -> LeaderView<'a> {
    LeaderView {
        ca,
        now,
        validity: Duration::days(90),
        csrs: csrs
            .iter()
            .map(|(u, c)| (unit(u), c.map(str::to_owned)))
            .collect(),
        own,
        others,
    }
}

fn units(list: &[(UnitName, SignReason)]) -> Vec<String> {
    list.iter().map(|(u, _)| u.to_string()).collect()
}

#[test]
fn signs_every_csr_the_leaders_own_included_under_the_reactive_keys() {
    let ca = ca("tls peer CA");
    let (k0, c0) = requester("tls/0");
    let (k1, c1) = requester("tls/1");
    let v = view(
        &ca,
        start(),
        &[("tls/0", Some(&c0)), ("tls/1", Some(&c1)), ("tls/2", None)],
        BTreeMap::new(),
        Vec::new(),
    );
    let plan = plan(&v).unwrap();
    assert_eq!(units(&plan.signed), ["tls/0", "tls/1"]);
    assert!(plan.refusals.is_empty());
    let updates = bag_updates(&plan);
    assert_eq!(
        updates.keys().collect::<Vec<_>>(),
        ["tls/0_signed_certificate", "tls/1_signed_certificate"]
    );
    for (u, key) in [("tls/0", &k0), ("tls/1", &k1)] {
        let cert = Certificate::from_pem(&plan.publish[&unit(u)]).unwrap();
        assert!(cert.matches_key(key), "{u}");
        verify_for_usage(&cert, &[], ca.certificate(), start(), Usage::Server).unwrap();
        verify_for_usage(&cert, &[], ca.certificate(), start(), Usage::Client).unwrap();
    }
}

#[test]
fn a_published_certificate_is_kept_until_its_renewal_time_then_renewed() {
    let ca = ca("tls peer CA");
    let (_, c0) = requester("tls/0");
    let first = plan(&view(
        &ca,
        start(),
        &[("tls/0", Some(&c0))],
        BTreeMap::new(),
        Vec::new(),
    ))
    .unwrap();
    let cert = first.publish[&unit("tls/0")].clone();
    let own = BTreeMap::from([(unit("tls/0"), cert.clone())]);

    let later = start() + Duration::days(59);
    let kept = plan(&view(
        &ca,
        later,
        &[("tls/0", Some(&c0))],
        own.clone(),
        Vec::new(),
    ))
    .unwrap();
    assert!(kept.publish.is_empty() && kept.signed.is_empty());

    let due = start() + Duration::days(61);
    let renewed = plan(&view(&ca, due, &[("tls/0", Some(&c0))], own, Vec::new())).unwrap();
    assert_eq!(renewed.signed, [(unit("tls/0"), SignReason::Renewal)]);
    assert_ne!(renewed.publish[&unit("tls/0")], cert);
}

#[test]
fn a_new_leader_adopts_its_predecessors_certificates_byte_for_byte() {
    let ca = ca("tls peer CA");
    let (_, c0) = requester("tls/0");
    let (_, c1) = requester("tls/1");
    let csrs = [("tls/0", Some(c0.as_str())), ("tls/1", Some(c1.as_str()))];
    let old = plan(&view(&ca, start(), &csrs, BTreeMap::new(), Vec::new())).unwrap();

    // tls/1 now leads; tls/0's bag still holds what it published.
    let new = plan(&view(
        &ca,
        start() + Duration::days(1),
        &csrs,
        BTreeMap::new(),
        vec![old.publish.clone()],
    ))
    .unwrap();
    assert!(new.signed.is_empty(), "{:?}", new.signed);
    assert_eq!(new.adopted, [unit("tls/0"), unit("tls/1")]);
    assert_eq!(new.publish, old.publish);
}

#[test]
fn certificates_of_another_ca_are_not_adopted() {
    let ours = ca("tls peer CA");
    let theirs = ca("someone else");
    let (_, c0) = requester("tls/0");
    let foreign = plan(&view(
        &theirs,
        start(),
        &[("tls/0", Some(&c0))],
        BTreeMap::new(),
        Vec::new(),
    ))
    .unwrap();
    let p = plan(&view(
        &ours,
        start(),
        &[("tls/0", Some(&c0))],
        BTreeMap::new(),
        vec![foreign.publish],
    ))
    .unwrap();
    assert_eq!(p.signed, [(unit("tls/0"), SignReason::New)]);
}

#[test]
fn departed_units_entries_are_removed() {
    let ca = ca("tls peer CA");
    let (_, c0) = requester("tls/0");
    let (_, c1) = requester("tls/1");
    let csrs = [("tls/0", Some(c0.as_str())), ("tls/1", Some(c1.as_str()))];
    let first = plan(&view(&ca, start(), &csrs, BTreeMap::new(), Vec::new())).unwrap();
    let p = plan(&view(
        &ca,
        start(),
        &csrs[..1],
        first.publish.clone(),
        Vec::new(),
    ))
    .unwrap();
    assert_eq!(p.remove, [unit("tls/1")]);
    assert_eq!(
        bag_updates(&p),
        BTreeMap::from([("tls/1_signed_certificate".to_owned(), String::new())])
    );
}

#[test]
fn a_changed_request_is_signed_again_for_the_same_key() {
    let ca = ca("tls peer CA");
    let (k0, c0) = requester("tls/0");
    let first = plan(&view(
        &ca,
        start(),
        &[("tls/0", Some(&c0))],
        BTreeMap::new(),
        Vec::new(),
    ))
    .unwrap();
    let wider = csr_for(&k0, "tls/0", &["IP:10.0.0.7"]);
    let p = plan(&view(
        &ca,
        start(),
        &[("tls/0", Some(&wider))],
        first.publish,
        Vec::new(),
    ))
    .unwrap();
    assert_eq!(p.signed, [(unit("tls/0"), SignReason::New)]);
    let cert = Certificate::from_pem(&p.publish[&unit("tls/0")]).unwrap();
    assert!(cert.matches_key(&k0));
    assert!(cert.info().sans.ip.contains(&"10.0.0.7".parse().unwrap()));
}

#[test]
fn malformed_csrs_are_refused_by_unit_and_nothing_else_is_dropped() {
    let ca = ca("tls peer CA");
    let (_, c0) = requester("tls/0");
    let (_, c2) = requester("tls/2");
    // tls/1 had a certificate; its CSR is now garbage: refused, its certificate stays.
    let (_, c1) = requester("tls/1");
    let before = plan(&view(
        &ca,
        start(),
        &[("tls/1", Some(&c1))],
        BTreeMap::new(),
        Vec::new(),
    ))
    .unwrap();
    let p = plan(&view(
        &ca,
        start(),
        &[
            ("tls/0", Some(&c0)),
            ("tls/1", Some("-----BEGIN CERTIFICATE REQUEST-----\nnot base64!\n-----END CERTIFICATE REQUEST-----")),
            ("tls/2", Some(&c2)),
            ("tls/3", Some("hello")),
        ],
        before.publish,
        Vec::new(),
    ))
    .unwrap();
    assert_eq!(units(&p.signed), ["tls/0", "tls/2"]);
    assert!(p.remove.is_empty(), "{:?}", p.remove);
    let refused: Vec<(String, String)> = p
        .refusals
        .iter()
        .map(|r| (r.unit.to_string(), r.to_string()))
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(refused[0].0, "tls/1");
    assert!(
        refused[0].1.starts_with("unit tls/1, key csr: "),
        "{}",
        refused[0].1
    );
    assert_eq!(refused[1].0, "tls/3");
    assert!(
        p.refusals
            .iter()
            .all(|r| matches!(r.reason, RefusalReason::BadCsr(_)))
    );
}

/// A CSR whose public key was swapped for another one: its signature no longer verifies, so
/// it is no proof of possession of the key it names.
#[test]
fn a_csr_for_a_key_its_signer_does_not_hold_is_refused() {
    let ca = ca("tls peer CA");
    let (k0, c0) = requester("tls/0");
    let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let der = pki::pem::parse_one(&c0, &["CERTIFICATE REQUEST"])
        .unwrap()
        .der;
    let (ours, theirs) = (k0.public_key_der(), other.public_key_der());
    assert_eq!(ours.len(), theirs.len());
    let at = der
        .windows(ours.len())
        .position(|w| w == ours)
        .expect("the SPKI is in the CSR");
    let mut forged = der.clone();
    forged[at..at + ours.len()].copy_from_slice(theirs);
    let forged = pki::pem::encode("CERTIFICATE REQUEST", &forged);

    let p = plan(&view(
        &ca,
        start(),
        &[("tls/0", Some(&forged))],
        BTreeMap::new(),
        Vec::new(),
    ))
    .unwrap();
    assert!(p.publish.is_empty());
    assert_eq!(p.refusals.len(), 1);
    let message = p.refusals[0].to_string();
    assert!(
        message.contains("tls/0") && message.contains("signature"),
        "{message}"
    );
}

#[test]
fn a_unit_takes_the_certificate_for_its_key_and_request_and_refuses_the_rest() {
    let ca = ca("tls peer CA");
    let other_ca = ca_foreign();
    let (k0, c0) = requester("tls/0");
    let csr = Csr::from_pem(&c0).unwrap();
    let signed = plan(&view(
        &ca,
        start(),
        &[("tls/0", Some(&c0))],
        BTreeMap::new(),
        Vec::new(),
    ))
    .unwrap()
    .publish[&unit("tls/0")]
        .clone();
    let foreign = plan(&view(
        &other_ca,
        start(),
        &[("tls/0", Some(&c0))],
        BTreeMap::new(),
        Vec::new(),
    ))
    .unwrap()
    .publish[&unit("tls/0")]
        .clone();
    let (_, someone_else) = requester("tls/0");
    let not_mine = plan(&view(
        &ca,
        start(),
        &[("tls/0", Some(&someone_else))],
        BTreeMap::new(),
        Vec::new(),
    ))
    .unwrap()
    .publish[&unit("tls/0")]
        .clone();
    let (u1, u2, u3, u4) = (unit("tls/1"), unit("tls/2"), unit("tls/3"), unit("tls/4"));
    let offers = [
        Offer {
            from: &u1,
            pem: "garbage",
        },
        Offer {
            from: &u2,
            pem: &foreign,
        },
        Offer {
            from: &u3,
            pem: &not_mine,
        },
        Offer {
            from: &u4,
            pem: &signed,
        },
    ];
    let (chosen, refused) = choose(
        &unit("tls/0"),
        &k0,
        Some(&csr),
        ca.certificate(),
        start(),
        &offers,
    );
    assert_eq!(chosen.unwrap().pem().trim(), signed.trim());
    let reasons: Vec<String> = refused.iter().map(ToString::to_string).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons[0].starts_with("unit tls/1, key tls/0_signed_certificate: not a certificate"));
    assert!(matches!(refused[1].reason, RefusalReason::NotFromCa(_)));
    assert!(matches!(refused[2].reason, RefusalReason::KeyMismatch));
}

fn ca_foreign() -> CertificateAuthority {
    ca("someone else")
}
