//! X.509 encoding: the TBSCertificate, the CertificationRequestInfo and every extension we
//! write, in DER, then signed with `aws-lc-rs`. No decisions here: what a certificate carries
//! comes from [`crate::policy`] as a [`Profile`], what a CSR carries from its attributes.
//! `der.rs` is the generic DER writer and reader under it.

use std::net::IpAddr;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;

use crate::certificate::Certificate;
use crate::csr::{Csr, RawExtension};
use crate::der::{self, tag};
use crate::error::{CsrError, KeyError};
use crate::key::PrivateKey;
use crate::name::DistinguishedName;
use crate::oid;
use crate::policy::Profile;
use crate::san::SubjectAltNames;

/// The parts of a TBSCertificate that vary.
pub(crate) struct Tbs<'a> {
    pub(crate) issuer: &'a [u8],
    pub(crate) subject: &'a [u8],
    pub(crate) spki: &'a [u8],
    pub(crate) not_before: OffsetDateTime,
    pub(crate) not_after: OffsetDateTime,
    pub(crate) extensions: Vec<Vec<u8>>,
}

impl Tbs<'_> {
    /// Encodes the certificate with a fresh random serial and signs it with `key`.
    pub(crate) fn sign(&self, key: &PrivateKey) -> Result<Certificate, crate::Error> {
        let sig_alg = key.signature_algorithm_der();
        let ext_refs: Vec<&[u8]> = self.extensions.iter().map(Vec::as_slice).collect();
        let tbs = der::seq(&[
            &der::context(0, true, &der::small_int(2)),
            &der::uint(&random_serial()?),
            &sig_alg,
            self.issuer,
            &der::seq(&[&time(self.not_before), &time(self.not_after)]),
            self.subject,
            self.spki,
            &der::context(3, true, &der::seq(&ext_refs)),
        ]);
        let signature = key.sign(&tbs)?;
        let cert = der::seq(&[&tbs, &sig_alg, &der::bit_string(&signature)]);
        Ok(Certificate::from_der(&cert)?)
    }
}

/// The extensions of a certificate with `profile`, in a fixed order: BasicConstraints,
/// KeyUsage, ExtendedKeyUsage (when any), SKI, AKI, SubjectAltName (when any names).
pub(crate) fn certificate_extensions(
    profile: &Profile,
    sans: &SubjectAltNames,
    subject_key_id: &[u8],
    authority_key_id: &[u8],
) -> Result<Vec<Vec<u8>>, CsrError> {
    let constraints = match profile.ca {
        None => der::seq(&[]),
        Some(None) => der::seq(&[&der::boolean(true)]),
        Some(Some(n)) => der::seq(&[&der::boolean(true), &der::small_int(u32::from(n))]),
    };
    let mut out = vec![
        extension(oid::BASIC_CONSTRAINTS, true, &constraints),
        extension(oid::KEY_USAGE, true, &key_usage(profile.key_usage)),
    ];
    if !profile.extended_key_usage.is_empty() {
        let eku_oids: Vec<Vec<u8>> = profile
            .extended_key_usage
            .iter()
            .map(|o| der::oid(o))
            .collect();
        let eku_refs: Vec<&[u8]> = eku_oids.iter().map(Vec::as_slice).collect();
        out.push(extension(
            oid::EXTENDED_KEY_USAGE,
            false,
            &der::seq(&eku_refs),
        ));
    }
    out.push(extension(
        oid::SUBJECT_KEY_IDENTIFIER,
        false,
        &der::tlv(tag::OCTET_STRING, subject_key_id),
    ));
    out.push(extension(
        oid::AUTHORITY_KEY_IDENTIFIER,
        false,
        &der::seq(&[&der::context(0, false, authority_key_id)]),
    ));
    if !sans.is_empty() {
        out.push(extension(
            oid::SUBJECT_ALT_NAME,
            profile.san_critical,
            &general_names(sans)?,
        ));
    }
    Ok(out)
}

/// Encodes and signs a CSR: `subject`, `key`'s public key, and an extensionRequest with the
/// SANs (when any) and the extra extensions (marked critical).
pub(crate) fn certification_request(
    subject: &DistinguishedName,
    key: &PrivateKey,
    sans: &SubjectAltNames,
    additional_critical_extensions: &[RawExtension],
) -> Result<Csr, crate::Error> {
    let mut extensions: Vec<Vec<u8>> = Vec::new();
    if !sans.is_empty() {
        extensions.push(extension(
            oid::SUBJECT_ALT_NAME,
            false,
            &general_names(sans)?,
        ));
    }
    for ext in additional_critical_extensions {
        let arcs = der::parse_dotted_oid(&ext.oid).ok_or_else(|| CsrError::InvalidAttribute {
            attribute: "additional_critical_extensions",
            reason: format!("'{}' is not a dotted OID {}", ext.oid, der::OID_RULES),
        })?;
        extensions.push(extension(&arcs, true, &ext.value));
    }
    let refs: Vec<&[u8]> = extensions.iter().map(Vec::as_slice).collect();
    let ext_request = der::seq(&[
        &der::oid(oid::EXTENSION_REQUEST),
        &der::set_of(&[&der::seq(&refs)]),
    ]);
    let info = der::seq(&[
        &der::small_int(0),
        subject.der(),
        key.public_key_der(),
        &der::context(0, true, &ext_request),
    ]);
    let signature = key.sign(&info)?;
    let csr_der = der::seq(&[
        &info,
        &key.signature_algorithm_der(),
        &der::bit_string(&signature),
    ]);
    Ok(Csr::from_der(&csr_der)?)
}

/// DER of one `Extension`.
fn extension(arcs: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    let oid = der::oid(arcs);
    let value = der::tlv(tag::OCTET_STRING, value);
    if critical {
        der::seq(&[&oid, &der::boolean(true), &value])
    } else {
        der::seq(&[&oid, &value])
    }
}

/// A KeyUsage BIT STRING in DER: trailing zero bits are unused and must be declared so.
fn key_usage(bits: u8) -> Vec<u8> {
    let unused = bits.trailing_zeros().min(7) as u8;
    der::tlv(tag::BIT_STRING, &[unused, bits])
}

/// DER of the `SubjectAltName` extension value (a `GeneralNames` SEQUENCE).
fn general_names(sans: &SubjectAltNames) -> Result<Vec<u8>, CsrError> {
    let mut names: Vec<Vec<u8>> = Vec::new();
    for dns in &sans.dns {
        if !dns.is_ascii() || dns.is_empty() {
            return Err(CsrError::InvalidAttribute {
                attribute: "sans_dns",
                reason: format!("'{dns}' is not an ASCII DNS name"),
            });
        }
        names.push(der::context(2, false, dns.as_bytes()));
    }
    for ip in &sans.ip {
        let bytes = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        names.push(der::context(7, false, &bytes));
    }
    for oid in &sans.oid {
        let arcs = der::parse_dotted_oid(oid).ok_or_else(|| CsrError::InvalidAttribute {
            attribute: "sans_oid",
            reason: format!("'{oid}' is not a dotted OID {}", der::OID_RULES),
        })?;
        names.push(der::context(8, false, &der::oid_content(&arcs)));
    }
    for email in &sans.email {
        if !email.is_ascii() {
            return Err(CsrError::InvalidAttribute {
                attribute: "email SAN",
                reason: format!("'{email}' is not ASCII"),
            });
        }
        names.push(der::context(1, false, email.as_bytes()));
    }
    for uri in &sans.uri {
        if !uri.is_ascii() {
            return Err(CsrError::InvalidAttribute {
                attribute: "URI SAN",
                reason: format!("'{uri}' is not ASCII"),
            });
        }
        names.push(der::context(6, false, uri.as_bytes()));
    }
    let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    Ok(der::seq(&refs))
}

/// A random positive serial of 16 bytes: at least 120 bits of entropy (CA/B Forum asks 64).
fn random_serial() -> Result<[u8; 16], KeyError> {
    let mut serial = [0u8; 16];
    SystemRandom::new()
        .fill(&mut serial)
        .map_err(|_| KeyError::Crypto("draw a random serial"))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x40; // no leading zero byte, so the DER length is always 16
    Ok(serial)
}

/// UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 4.1.2.5).
fn time(t: OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let (y, mo, d, h, mi, s) = (
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    );
    if (1950..2050).contains(&y) {
        let text = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
        der::tlv(tag::UTC_TIME, text.as_bytes())
    } else {
        let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
        der::tlv(tag::GENERALIZED_TIME, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use x509_parser::prelude::FromDer;
    use x509_parser::time::ASN1Time;

    proptest! {
        #[test]
        fn validity_times_read_back_as_written(
            // 0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z
            secs in -62_167_219_200i64..=253_402_300_799,
        ) {
            let t = OffsetDateTime::from_unix_timestamp(secs)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let encoded = time(t);
            let utc = (1950..2050).contains(&t.year());
            prop_assert_eq!(encoded[0], if utc { tag::UTC_TIME } else { tag::GENERALIZED_TIME });
            let (rest, parsed) = ASN1Time::from_der(&encoded)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(rest.is_empty());
            prop_assert_eq!(parsed.timestamp(), secs);
        }
    }
}
