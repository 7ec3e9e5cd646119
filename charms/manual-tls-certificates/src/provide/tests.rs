//! Every check of `provide-certificate` on its own, with certificates made by the `pki` crate at
//! chosen times.

use pki::{
    CertificateAuthority, CertificateKind, IssueRequest, IssuingPolicy, KeyAlgorithm, PrivateKey,
    RequestAttributes,
};
use time::Duration;

use super::*;

fn at(days: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap() + Duration::days(days)
}

fn root(cn: &str, when: OffsetDateTime) -> CertificateAuthority {
    CertificateAuthority::self_signed_root(
        &RequestAttributes::new(cn),
        PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap(),
        Duration::days(365),
        when,
    )
    .unwrap()
}

fn csr_for(key: &PrivateKey, cn: &str, sans: &[&str]) -> Csr {
    let mut a = RequestAttributes::new(cn);
    for s in sans {
        a.sans.push_str(s).unwrap();
    }
    a.to_csr(key).unwrap()
}

fn issue(ca: &CertificateAuthority, csr: &Csr, when: OffsetDateTime, days: i64) -> Certificate {
    let request = IssueRequest {
        csr,
        kind: CertificateKind::Leaf,
        validity: Duration::days(days),
    };
    ca.issue(&request, &IssuingPolicy::default(), when).unwrap()
}

fn params(csr: &Csr, cert: &Certificate, ca: &Certificate) -> Params {
    Params {
        csr: csr.pem().to_owned(),
        certificate: cert.pem().to_owned(),
        ca_certificate: ca.pem().to_owned(),
        ca_chain: None,
        relation_id: None,
    }
}

struct Fixture {
    key: PrivateKey,
    csr: Csr,
    ca: CertificateAuthority,
}

fn fixture() -> Fixture {
    let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let csr = csr_for(&key, "web.example", &["DNS:web.example", "IP:10.0.0.5"]);
    Fixture {
        key,
        csr,
        ca: root("Offline Root", at(-10)),
    }
}

#[test]
fn a_certificate_for_the_csr_passes_with_the_default_chain() {
    let f = fixture();
    let cert = issue(&f.ca, &f.csr, at(0), 30);
    let ok = check(&params(&f.csr, &cert, f.ca.certificate()), at(1)).unwrap();
    assert_eq!(ok.chain, vec![cert, f.ca.certificate().clone()]);
    assert!(ok.warnings.is_empty());
}

#[test]
fn a_chain_through_an_intermediate_passes_with_or_without_the_leaf_in_front() {
    let f = fixture();
    let inter_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let inter_csr = csr_for(&inter_key, "Offline Intermediate", &[]);
    let inter_cert =
        f.ca.issue(
            &IssueRequest {
                csr: &inter_csr,
                kind: CertificateKind::Ca { path_len: Some(0) },
                validity: Duration::days(100),
            },
            &IssuingPolicy::allowing_ca(),
            at(-5),
        )
        .unwrap();
    let inter = CertificateAuthority::new(inter_cert.clone(), inter_key).unwrap();
    let cert = issue(&inter, &f.csr, at(0), 30);
    let root = f.ca.certificate();
    for bundle in [
        format!("{}{}{}", cert.pem(), inter_cert.pem(), root.pem()),
        format!("{}{}", inter_cert.pem(), root.pem()),
    ] {
        let mut p = params(&f.csr, &cert, root);
        p.ca_chain = Some(bundle);
        let ok = check(&p, at(1)).unwrap();
        assert_eq!(
            ok.chain,
            vec![cert.clone(), inter_cert.clone(), root.clone()]
        );
    }
    // Out of order: refused with the published charm's words first.
    let mut p = params(&f.csr, &cert, root);
    p.ca_chain = Some(format!("{}{}{}", cert.pem(), root.pem(), inter_cert.pem()));
    let e = check(&p, at(1)).unwrap_err();
    assert!(
        e.starts_with(INPUT_NOT_VALID) && e.contains("out of order"),
        "{e}"
    );
}

#[test]
fn a_certificate_for_another_key_is_refused() {
    let f = fixture();
    let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let other_csr = csr_for(&other, "web.example", &["DNS:web.example", "IP:10.0.0.5"]);
    let cert = issue(&f.ca, &other_csr, at(0), 30);
    let e = check(&params(&f.csr, &cert, f.ca.certificate()), at(1)).unwrap_err();
    assert_eq!(e, KEY_MISMATCH);
}

#[test]
fn other_subject_alternative_names_are_refused_naming_both_sets() {
    let f = fixture();
    let wider = csr_for(
        &f.key,
        "web.example",
        &["DNS:web.example", "DNS:evil.example"],
    );
    let cert = issue(&f.ca, &wider, at(0), 30);
    let e = check(&params(&f.csr, &cert, f.ca.certificate()), at(1)).unwrap_err();
    assert!(
        e.starts_with("The certificate's subject alternative names differ"),
        "{e}"
    );
    assert!(
        e.contains("DNS:evil.example") && e.contains("IP:10.0.0.5"),
        "{e}"
    );
}

#[test]
fn another_subject_is_only_a_warning() {
    let f = fixture();
    let renamed = csr_for(
        &f.key,
        "rewritten by the CA",
        &["DNS:web.example", "IP:10.0.0.5"],
    );
    let cert = issue(&f.ca, &renamed, at(0), 30);
    let ok = check(&params(&f.csr, &cert, f.ca.certificate()), at(1)).unwrap();
    assert_eq!(ok.warnings.len(), 1);
    assert!(
        ok.warnings[0].contains("rewritten by the CA"),
        "{:?}",
        ok.warnings
    );
}

#[test]
fn a_certificate_from_another_ca_is_refused_as_a_broken_chain() {
    let f = fixture();
    let cert = issue(&f.ca, &f.csr, at(0), 30);
    let stranger = root("Offline Root", at(-10));
    let e = check(&params(&f.csr, &cert, stranger.certificate()), at(1)).unwrap_err();
    assert!(
        e.starts_with(INPUT_NOT_VALID) && e.contains("does not link"),
        "{e}"
    );
    // A chain that links but ends at another CA than ca-certificate does not verify.
    let mut p = params(&f.csr, &cert, stranger.certificate());
    p.ca_chain = Some(format!("{}{}", cert.pem(), f.ca.certificate().pem()));
    let e = check(&p, at(1)).unwrap_err();
    assert!(e.starts_with("The certificate does not verify"), "{e}");
}

#[test]
fn an_expired_certificate_is_refused_at_the_models_time() {
    let f = fixture();
    let cert = issue(&f.ca, &f.csr, at(0), 30);
    assert!(check(&params(&f.csr, &cert, f.ca.certificate()), at(29)).is_ok());
    let e = check(&params(&f.csr, &cert, f.ca.certificate()), at(31)).unwrap_err();
    assert!(
        e.starts_with("The certificate 'CN=web.example") && e.contains("has expired"),
        "{e}"
    );
}

#[test]
fn a_certificate_not_yet_valid_is_refused() {
    let f = fixture();
    let cert = issue(&f.ca, &f.csr, at(3), 30);
    let e = check(&params(&f.csr, &cert, f.ca.certificate()), at(1)).unwrap_err();
    assert!(e.contains("is not valid yet"), "{e}");
}

#[test]
fn an_expired_ca_is_refused_even_when_the_leaf_is_valid() {
    let f = fixture();
    // The root lasts 365 days from day -10; a leaf not capped at its end outlives it.
    let policy = IssuingPolicy {
        cap_at_issuer_expiry: false,
        ..IssuingPolicy::default()
    };
    let request = IssueRequest {
        csr: &f.csr,
        kind: CertificateKind::Leaf,
        validity: Duration::days(30),
    };
    let cert = f.ca.issue(&request, &policy, at(340)).unwrap();
    let e = check(&params(&f.csr, &cert, f.ca.certificate()), at(360)).unwrap_err();
    assert!(
        e.starts_with("The ca-certificate 'CN=Offline Root'") && e.contains("has expired"),
        "{e}"
    );
}

#[test]
fn bad_base64_and_bad_pem_are_refused_as_invalid_input() {
    let f = fixture();
    let cert = issue(&f.ca, &f.csr, at(0), 30);
    let mut map = Map::new();
    map.insert(
        "certificate-signing-request".into(),
        b64(f.csr.pem()).into(),
    );
    map.insert("certificate".into(), "not base64!".into());
    map.insert(
        "ca-certificate".into(),
        b64(f.ca.certificate().pem()).into(),
    );
    let e = Params::from_action(&map).unwrap_err();
    assert!(
        e.starts_with(INPUT_NOT_VALID) && e.contains("certificate is not base64"),
        "{e}"
    );

    map.insert("certificate".into(), b64("hello").into());
    let p = Params::from_action(&map).unwrap();
    let e = check(&p, at(1)).unwrap_err();
    assert!(
        e.starts_with(INPUT_NOT_VALID) && e.contains("certificate is not a PEM"),
        "{e}"
    );

    map.insert("certificate".into(), b64(cert.pem()).into());
    map.insert("relation-id".into(), 7.into());
    let p = Params::from_action(&map).unwrap();
    assert_eq!(p.relation_id, Some(7));
    assert!(check(&p, at(1)).is_ok());

    map.remove("ca-certificate");
    let e = Params::from_action(&map).unwrap_err();
    assert_eq!(e, format!("{MISSING} ca-certificate is missing"));
}

#[test]
fn a_csr_whose_signature_does_not_verify_is_refused() {
    let f = fixture();
    let cert = issue(&f.ca, &f.csr, at(0), 30);
    // Flip a bit of the signature (the last byte of the DER).
    let mut der = f.csr.der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 1;
    let mut p = params(&f.csr, &cert, f.ca.certificate());
    p.csr = pki::pem::encode("CERTIFICATE REQUEST", &der);
    let e = check(&p, at(1)).unwrap_err();
    assert!(
        e.starts_with("The certificate signing request is refused"),
        "{e}"
    );
}

fn b64(text: &str) -> String {
    STANDARD.encode(text)
}
