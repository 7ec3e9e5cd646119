//! Validity ends far away: GeneralizedTime from 2050 on, up to 9999-12-31T23:59:59Z, judged by
//! `openssl x509` / `openssl verify`, and out-of-range validities refused instead of a panic.

use juju_tls_pki::duration::LAST_REPRESENTABLE;
use juju_tls_pki::time::{Duration, OffsetDateTime, macros::datetime};
use juju_tls_pki::{
    CertificateAuthority, CertificateError, CertificateKind, Error, IssueRequest, IssuingPolicy,
    KeyAlgorithm, RequestAttributes, ValidityError,
};

use crate::support::{key, now, openssl, tempdir, write};

fn root_from(start: OffsetDateTime, validity: Duration) -> Result<CertificateAuthority, Error> {
    CertificateAuthority::self_signed_root(
        &RequestAttributes::new("Far Root"),
        key(KeyAlgorithm::EcdsaP256, 0),
        validity,
        start,
    )
}

fn issue(
    ca: &CertificateAuthority,
    validity: Duration,
    at: OffsetDateTime,
) -> Result<juju_tls_pki::Certificate, Error> {
    let csr = RequestAttributes::new("far.example")
        .to_csr(&key(KeyAlgorithm::EcdsaP256, 1))
        .unwrap();
    let request = IssueRequest {
        csr: &csr,
        kind: CertificateKind::Leaf,
        validity,
    };
    ca.issue(&request, &IssuingPolicy::default(), at)
}

/// `openssl x509 -enddate` of a PEM certificate, and the ASN.1 time types of its validity.
fn openssl_dates(pem: &str) -> (String, String) {
    let dir = tempdir();
    let path = write(dir.path(), "c.pem", pem);
    let (ok, end) = openssl(&["x509", "-in", path.to_str().unwrap(), "-noout", "-enddate"]);
    assert!(ok, "{end}");
    let (ok, asn1) = openssl(&["asn1parse", "-in", path.to_str().unwrap()]);
    assert!(ok, "{asn1}");
    let types = asn1
        .lines()
        .filter_map(|l| {
            l.split(':')
                .find(|p| p.trim() == "UTCTIME" || p.trim() == "GENERALIZEDTIME")
        })
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(",");
    (end.trim().to_owned(), types)
}

#[test]
fn ends_after_2050_are_generalized_time_and_openssl_agrees() {
    let ca = root_from(now(), Duration::days(365 * 40)).unwrap();
    let cert = issue(&ca, Duration::days(365 * 30), now()).unwrap();
    let end = cert.info().not_after;
    assert!(end.year() >= 2050, "{end}");
    let (enddate, types) = openssl_dates(cert.pem());
    assert_eq!(
        types, "UTCTIME,GENERALIZEDTIME",
        "before 2050 UTCTime, after GeneralizedTime"
    );
    assert!(
        enddate.ends_with(&format!("{} GMT", end.year())),
        "{enddate}"
    );

    let dir = tempdir();
    let ca_path = write(dir.path(), "ca.pem", ca.certificate().pem());
    let leaf_path = write(dir.path(), "leaf.pem", cert.pem());
    // Now, and at a moment after 2050 still inside the validity.
    let after_2050 = datetime!(2052-06-01 00:00 UTC).unix_timestamp().to_string();
    for extra in [vec![], vec!["-attime", after_2050.as_str()]] {
        let mut args = vec![
            "verify",
            "-x509_strict",
            "-CAfile",
            ca_path.to_str().unwrap(),
        ];
        args.extend(extra.iter().copied());
        args.push(leaf_path.to_str().unwrap());
        let (ok, out) = openssl(&args);
        assert!(ok && out.contains(": OK"), "{extra:?}: {out}");
    }
    // And past the end, openssl refuses it as expired (the time was read, not ignored).
    let after_end = (end + Duration::days(1)).unix_timestamp().to_string();
    let (ok, out) = openssl(&[
        "verify",
        "-x509_strict",
        "-attime",
        &after_end,
        "-CAfile",
        ca_path.to_str().unwrap(),
        leaf_path.to_str().unwrap(),
    ]);
    assert!(!ok && out.contains("expired"), "{out}");
}

#[test]
fn the_last_representable_second_is_encoded_and_read_back() {
    let start = datetime!(9999-01-01 00:00 UTC);
    let ca = root_from(start, LAST_REPRESENTABLE - start).unwrap();
    assert_eq!(ca.certificate().info().not_after, LAST_REPRESENTABLE);
    let (enddate, types) = openssl_dates(ca.certificate().pem());
    assert_eq!(enddate, "notAfter=Dec 31 23:59:59 9999 GMT");
    assert_eq!(types, "GENERALIZEDTIME,GENERALIZEDTIME");
    // One second more cannot be carried: refused, not a panic.
    let err = root_from(start, LAST_REPRESENTABLE - start + Duration::seconds(1)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Certificate(CertificateError::Validity(
                ValidityError::EndOutOfRange { .. }
            ))
        ),
        "{err}"
    );
}

#[test]
fn out_of_range_validities_are_errors_not_panics() {
    // Regression: `now + validity` past year 9999 aborted the process.
    for validity in [Duration::days(3_000_000), Duration::MAX] {
        let err = root_from(now(), validity).unwrap_err();
        assert!(
            err.to_string().contains("ends after 9999-12-31T23:59:59Z"),
            "{err}"
        );
    }
    let ca = root_from(now(), Duration::days(365)).unwrap();
    let err = issue(&ca, Duration::days(3_000_000), now()).unwrap_err();
    assert!(
        err.to_string().contains("ends after 9999-12-31T23:59:59Z"),
        "{err}"
    );
    for validity in [Duration::ZERO, Duration::days(-1), Duration::MIN] {
        let err = issue(&ca, validity, now()).unwrap_err();
        assert!(err.to_string().contains("is not positive"), "{err}");
    }
}
